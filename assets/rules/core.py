"""The rule layer without Dagster: evaluate the rule book on a warehouse
connection, write findings / rules / findings_history, validate with Great
Expectations and save the results (JSON) and Data Docs in the run work folder.

The Dagster asset (assets/rules/__init__.py) and the tests call
``evaluate_rulebook``; asset checks read ``results_path(work_dir)``.
"""
from __future__ import annotations

import datetime as dt
import json
import resource
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from assets.warehouse import FINDINGS_COLUMNS, comment_table, ensure_findings_tables, replace_findings, sql_str
from core.policy import Policy, load_policy
from expectations.candidates import save_candidates
from expectations.engine import ensure_input_tables, evaluate, prepare, sql_rules
from expectations.rulebook import load_rules

RULES_COLUMNS = {
    "rule_id": "Rule id / 规则编号",
    "severity": "error | warning | info / 严重程度",
    "entity_type": "Entity the rule judges / 检查对象类型",
    "title_zh": "Title in Chinese / 中文标题",
    "title_en": "Title in English / 英文标题",
    "source": "Spec / seed sentence the rule comes from / 规则出处",
    "message_zh": "Chinese message template / 中文说明模板",
    "message_en": "English message template / 英文说明模板",
    "engine": "Which layer evaluates it: ingest or sql (rule layer) / 执行层",
    "guards": "Table asset whose asset check reports it / 对应数据表",
    "rule_file": "Rule-book file under expectations/rules / 规则文件",
    "check_sql": "The facts SQL of the rule (rule layer) / 规则 SQL",
}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def results_path(work_dir: Path) -> Path:
    return Path(work_dir) / "rules" / "results.json"


def datadocs_path(work_dir: Path) -> Path:
    return Path(work_dir) / "datadocs"


def guard_of(rule: dict) -> str:
    """Table asset a rule's asset check sits on."""
    chk = rule.get("check") or {}
    if chk.get("guards"):
        return chk["guards"]
    return {"record": "quarantine", "person": "persons", "employer": "employers", "permit": "permits",
            "application": "applications", "dependent": "dependents"}[rule["entity_type"]]


def write_rules_table(con, rules: dict[str, dict]) -> None:
    con.execute("CREATE OR REPLACE TABLE rules (rule_id VARCHAR PRIMARY KEY, severity VARCHAR, entity_type VARCHAR, "
                "title_zh VARCHAR, title_en VARCHAR, source VARCHAR, message_zh VARCHAR, message_en VARCHAR, "
                "engine VARCHAR, guards VARCHAR, rule_file VARCHAR, check_sql VARCHAR)")
    rows = [[r["rule_id"], r["severity"], r["entity_type"], r["title_zh"], r["title_en"], r["source"], r["message_zh"],
             r["message_en"], r["check"].get("engine"), guard_of(r), r.get("file"), r["check"].get("facts")]
            for r in sorted(rules.values(), key=lambda r: (r.get("file", ""), r["rule_id"]))]
    con.executemany("INSERT INTO rules VALUES (" + ", ".join("?" * 12) + ")", rows)
    comment_table(con, "rules", "The rule book as data (expectations/rules/*.yaml) / 规则库", RULES_COLUMNS)


class _Phases:
    """Wall and CPU seconds of the step's phases, in order (CPU of the whole
    process: DuckDB's threads and the GX thread included), and the whole
    step's user / system CPU and minor page faults (``usage``: on a virtual
    machine a page fault costs microseconds, and the step maps gigabytes)."""

    def __init__(self) -> None:
        self.start = self.t = time.perf_counter()
        self.c = time.process_time()
        self.r0 = resource.getrusage(resource.RUSAGE_SELF)
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def usage(self) -> dict:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return {"user_s": round(r.ru_utime - self.r0.ru_utime, 2), "sys_s": round(r.ru_stime - self.r0.ru_stime, 2),
                "minor_faults": r.ru_minflt - self.r0.ru_minflt}

    def done(self, name: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        self.wall[name], self.cpu[name] = round(t - self.t, 2), round(c - self.c, 2)
        self.t, self.c = t, c


@contextmanager
def deferred_checkpoints(con) -> Iterator[None]:
    """No automatic checkpoints while the rule step works. DuckDB checkpoints a
    database when a commit finds its write-ahead log above
    ``checkpoint_threshold`` (16 MiB), and that includes the connection's TEMP
    database: the rule book's scratch tables (``_apps``, ``_wh_bits``, the facts)
    were checkpointed two or three times per city run, 0.4–0.6 s each, for
    tables dropped when the step ends. The warehouse's own writes are
    checkpointed when the step's connection closes (and by
    ``warehouse_commit``), as before. The setting is restored afterwards."""
    prior = con.sql("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]
    con.execute("SET checkpoint_threshold = ?", ["1TB"])
    try:
        yield
    finally:
        con.execute("SET checkpoint_threshold = ?", [prior])


def evaluate_rulebook(con, as_of: dt.date, run_id: str, policy: Policy | Path, work_dir: Path | None = None,
                      with_gx: bool = True, rules_dir: Path | None = None, calendar_csv: Path | None = None,
                      candidates: bool = False) -> dict:
    """Evaluate every SQL rule at as_of and write the warehouse tables.

    Replaces the findings of the rule layer's rule ids, rewrites ``rules``,
    appends this run's findings (all layers) to ``findings_history``, validates
    the same facts with GX (Data Docs in ``work_dir/datadocs``) and saves
    ``work_dir/rules/results.json``. With ``candidates`` (the pipeline's rule
    step) it also judges the candidates' hypothetical applications on the same
    prepared connection (``candidate_applications`` / ``candidate_checks``, read
    by the candidates mart). Returns the results dict."""
    ph = _Phases()
    policy = policy if isinstance(policy, Policy) else load_policy(Path(policy))
    all_rules = load_rules(rules_dir) if rules_dir else load_rules()
    rules = sql_rules(all_rules)
    with deferred_checkpoints(con):
        made = ensure_input_tables(con)
        prepare(con, as_of, policy, **({"calendar_csv": Path(calendar_csv)} if calendar_csv else {}))
        ph.done("prepare")
        facts = evaluate(con, run_id, rules)
        ph.done("rules")
        gx_job = None
        if with_gx:  # GX validates the facts in a thread of its own while DuckDB judges the candidates
            from expectations.gx_suites import start_gx

            gx_job = start_gx(facts, datadocs_path(work_dir) if work_dir else None, rules)
        # the candidates' hypothetical applications, judged here on the same prepared views
        # (the candidates mart reads candidate_checks instead of preparing them again)
        if candidates:
            save_candidates(con, run_id, rules)
        ph.done("candidates")
        write_findings(con, rules, all_rules, run_id, policy)
        ph.done("write")
    gx = gx_job.result() if gx_job else {}
    ph.done("gx_wait")
    results: dict = {"run_id": run_id, "as_of": as_of.isoformat(), "policy": policy.version,
                     "policy_districts": sorted(policy.districts), "empty_input_tables": made,
                     "rules": rule_results(con, run_id, all_rules, facts, gx)}
    # phases of the step in order (wall s; CPU s of the whole process in each); GX runs beside the
    # candidates and the write: gx_s is its own wall time from its start to the Data Docs,
    # gx_wait_s what the step waited for it after the write, cpu_s.gx its thread's CPU
    meta = gx.get("_meta", {})
    results["timing"] = {**{f"{k}_s": v for k, v in ph.wall.items()}, "gx_s": meta.get("gx_seconds"),
                         "total_s": round(time.perf_counter() - ph.start, 2),
                         "cpu_s": {**ph.cpu, **({"gx": meta["gx_thread_cpu_seconds"]} if meta else {})},
                         "usage": ph.usage()}
    if work_dir is not None:
        from expectations.gx_suites import write_json

        write_json(results_path(work_dir), results)
    return results


def write_findings(con, rules: dict[str, dict], all_rules: dict[str, dict], run_id: str, policy: Policy) -> None:
    """The warehouse tables of the rule layer from the run's ``_run_findings``:
    ``findings`` (this layer's rule ids replaced), ``rules``, and this run's
    findings of every layer appended to ``findings_history``."""
    cols = ", ".join(c for c, _, _ in FINDINGS_COLUMNS)
    replace_findings(con, sorted(rules), f"SELECT {cols} FROM _run_findings")
    write_rules_table(con, all_rules)
    ensure_findings_tables(con)
    con.execute("BEGIN")
    con.execute("DELETE FROM findings_history WHERE run_id = ?", [run_id])
    ids = ", ".join(sql_str(r) for r in sorted(rules)) or "NULL"
    con.execute(f"INSERT INTO findings_history BY NAME SELECT {cols}, policy FROM _run_findings")
    con.execute(f"INSERT INTO findings_history BY NAME SELECT {cols}, {sql_str(policy.version)} AS policy FROM findings "
                f"WHERE run_id = ? AND rule_id NOT IN ({ids})", [run_id])
    con.execute("COMMIT")


def rule_results(con, run_id: str, all_rules: dict[str, dict], facts: dict, gx: dict) -> dict[str, dict]:
    """Per rule (severity order): count of findings, entities evaluated, seconds,
    GX's figures and a sample of five entity keys (ID numbers masked)."""
    counts = dict(con.sql("SELECT rule_id, count(*) FROM findings WHERE run_id = ? GROUP BY rule_id",
                          params=[run_id]).fetchall())
    samples = dict(con.sql(
        "SELECT rule_id, list(k ORDER BY k) FROM (SELECT rule_id, CASE WHEN entity_type IN ('person', 'dependent') "
        "THEN mask_id(entity_key) ELSE entity_key END AS k, row_number() OVER (PARTITION BY rule_id ORDER BY "
        "entity_key) AS rn FROM findings WHERE run_id = ?) WHERE rn <= 5 GROUP BY rule_id", params=[run_id]).fetchall())
    out = {}
    for rid, r in sorted(all_rules.items(), key=lambda kv: (SEVERITY_ORDER[kv[1]["severity"]], kv[0])):
        entry = {"rule_id": rid, "severity": r["severity"], "entity_type": r["entity_type"], "guard": guard_of(r),
                 "engine": r["check"].get("engine"), "title_zh": r["title_zh"], "title_en": r["title_en"],
                 "count": int(counts.get(rid, 0))}
        if rid in facts:
            entry.update(evaluated=facts[rid].evaluated, seconds=facts[rid].seconds, cpu_seconds=facts[rid].cpu_seconds)
            entry.update(gx.get(rid, {}))
        entry["sample"] = samples.get(rid, [])
        out[rid] = entry
    return out


def read_results(work_dir: Path) -> dict:
    return json.loads(results_path(work_dir).read_text(encoding="utf-8"))
