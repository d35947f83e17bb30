"""The rule book judged for people who have not applied: the candidates' checks.

Every SQL rule with a ``candidate:`` entry in ``expectations/rules/*.yaml`` is
evaluated, with its own ``check.facts`` SQL, for a hypothetical new application
of each candidate (``candidates.sql``: status draft, no ``submitted_on``, so
``d = as_of``), turned into ``_apps`` rows by the preamble's own ``apps_of``
(so ``d``, the open flag and the employer's policy variant mean what they mean
for a real application). Nothing here
restates a rule: the rule's facts decide ``breaks``; the ``candidate:`` entry
only says how the rule's own fact columns forecast the future:

``column``      the candidates mart column of the check's state (ok | wait | blocked)
``reason_zh/en`` short reason shown when it blocks
``ok_on``       SQL over the facts row ``f`` and the candidate ``c`` (id_number,
                uscc, hired_on): the date from which the rule stops breaking if
                time passes (time-based rules); NULL or absent = waiting does not help
``ok_on_column`` the mart column showing that date; ``waiting_zh`` what is awaited
``breaks_at``   SQL predicate over ``f`` and a date ``x``: the rule breaks at ``d = x``
                (rules that can start breaking later, e.g. the age limit); judged at
                the projected date

Needs ``engine.prepare`` on the connection. Leaves TEMP tables ``_cand`` (one
row per candidate) and ``_cand_checks`` (application_id, rule_id, state,
ok_on; rows for the checks that do not pass — a candidate and rule without a
row is 'ok' — plus every row of the ``breaks_at`` rules) and
``_cand_projection`` (application_id, eligible_on).

Where it runs: the rule step judges the candidates on its own prepared
connection, right after the real applications (``save_candidates``), and keeps
the result in the warehouse tables ``candidate_applications`` and
``candidate_checks``; the candidates mart reads them back (``load_candidates``)
instead of preparing the rule book's views a second time. The mart judges them
itself (``evaluate_candidates``, the same function) only when there are no
such tables of the same run and as_of — marts built without the rule step
(tests, benchmarks).
"""
from __future__ import annotations

import re
from pathlib import Path

from core.findings import comment_table
from expectations.engine import facts_table, sql_rules, sql_str
from expectations.rulebook import RuleBookError

CANDIDATES_SQL = Path(__file__).resolve().parent / "candidates.sql"
SAVE_SQL = Path(__file__).resolve().parent / "candidates_save.sql"
LOAD_SQL = Path(__file__).resolve().parent / "candidates_load.sql"
SAVED = "candidate_applications"  # the rule step's verdicts; and per rule:
SAVED_CHECKS = "candidate_checks"
SAVED_COLUMNS = {
    "run_id": "Run of the rule step that judged the candidates / 判定所属运行",
    "as_of": "Date the hypothetical applications are judged at / 判定基准日",
    "application_id": "Key of the hypothetical new application: CAND:<uscc>:<id_number> / 假设申请编号",
    "id_number": "Candidate's ID number (warehouse only, never published unmasked) / 证件号码",
    "uscc": "Employer / 用人单位统一社会信用代码",
    "hired_on": "Earliest current hiring date at the employer / 入职日期",
    "pkey": "Policy variant applied (district, or * for the defaults) / 适用的政策参数版本",
    "projected_on": "Date every waiting check holds (as_of when none waits) / 等待条件全部满足的日期",
    "eligible_on": "projected_on, or empty when a check blocks / 预计符合条件日期(有不符合项时为空)",
}
SAVED_CHECKS_COLUMNS = {
    "application_id": "Hypothetical application (candidate_applications); only checks that do not pass have a row "
                      "/ 假设申请编号(仅记录未通过的检查)",
    "rule_id": "Candidate rule (an ELIG rule with a candidate: entry) / 规则编号",
    "breaks": "The rule's facts break for the application at as_of / 基准日是否不符合",
    "ok_on": "Date the rule stops breaking if time passes (its candidate: ok_on), else empty / 预计满足日期",
    "state": "ok | wait | blocked / 符合 | 待满足 | 不符合",
}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
STATES = ("ok", "wait", "blocked")


def candidate_rules(rules: dict[str, dict] | None = None) -> dict[str, dict]:
    """The SQL rules marked ``candidate:``, in rule-book order, validated."""
    out = {}
    columns: set[str] = set()
    for rid, r in sql_rules(rules).items():
        cand = r.get("candidate")
        if cand is None:
            continue
        where = f"{r.get('file', '?')}: {rid}: candidate"
        if not isinstance(cand, dict) or not cand.get("column"):
            raise RuleBookError(f"{where}: needs a mapping with 'column'")
        unknown = set(cand) - {"column", "reason_zh", "reason_en", "ok_on", "ok_on_column", "waiting_zh", "breaks_at"}
        if unknown:
            raise RuleBookError(f"{where}: unknown key(s) {sorted(unknown)}")
        for key in ("column", "ok_on_column"):
            name = cand.get(key)
            if name is None:
                continue
            if not _IDENT.match(name) or name in columns:
                raise RuleBookError(f"{where}: {key} {name!r} must be a new lower_case identifier")
            columns.add(name)
        if bool(cand.get("ok_on")) != bool(cand.get("ok_on_column")):
            raise RuleBookError(f"{where}: 'ok_on' and 'ok_on_column' go together")
        out[rid] = r
    return out


def _drop_temp(con, names: tuple[str, ...] = ("_cand", "_cand_checks", "_cand_projection")) -> None:
    """Drop these names whether a TEMP table (evaluate_candidates) or view (load_candidates) holds them."""
    for kind, catalog in (("VIEW", "duckdb_views()"), ("TABLE", "duckdb_tables()")):
        for (name,) in con.sql(f"SELECT {'view_name' if kind == 'VIEW' else 'table_name'} FROM {catalog} "
                               f"WHERE temporary AND {'view_name' if kind == 'VIEW' else 'table_name'} "
                               f"IN ({', '.join(sql_str(n) for n in names)})").fetchall():
            con.execute(f"DROP {kind} temp.main.{name}")


def evaluate_candidates(con, rules: dict[str, dict] | None = None) -> dict[str, dict]:
    """Judge every candidate rule for every candidate (see the module doc).
    Returns the candidate rules used."""
    crules = candidate_rules(rules)
    _drop_temp(con)
    con.execute(CANDIDATES_SQL.read_text(encoding="utf-8"))
    con.execute("CREATE OR REPLACE TEMP TABLE _cand_checks (application_id VARCHAR, rule_id VARCHAR, "
                "breaks BOOLEAN, ok_on DATE, state VARCHAR)")
    tables = {}
    con.execute("ALTER TABLE _apps RENAME TO _apps_actual")
    try:
        # the hypothetical applications, derived by the preamble's own apps_of (d, is_open, pkey)
        con.execute("CREATE OR REPLACE TEMP TABLE _cand_applications AS SELECT * FROM applications LIMIT 0")
        con.execute("INSERT INTO _cand_applications BY NAME SELECT application_id, id_number, uscc, "
                    "'new' AS type, 'draft' AS status FROM _cand")
        con.execute("CREATE TEMP TABLE _apps AS SELECT * FROM apps_of('_cand_applications')")
        for rid, r in crules.items():
            try:
                source = f"({r['check']['facts']})"
                if r["candidate"].get("breaks_at"):  # judged again at the projected date below
                    table = tables[rid] = "_cand" + facts_table(rid)
                    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {r['check']['facts']}")
                    source = table
                ok_on = r["candidate"].get("ok_on") or "NULL"
                # a check breaking now waits when its own forecast lies ahead, else it blocks; only
                # the checks that do not pass get a row (no row = 'ok', as the mart reads it), but
                # every row of a breaks_at rule, which may still turn 'blocked' below
                keep = "" if r["candidate"].get("breaks_at") else "WHERE breaks"
                con.execute(f"""INSERT INTO _cand_checks
                    SELECT entity_key, {sql_str(rid)}, breaks, ok_on,
                           CASE WHEN NOT breaks THEN 'ok' WHEN ok_on > as_of() THEN 'wait' ELSE 'blocked' END
                    FROM (SELECT f.entity_key, coalesce(f.breaks, false) AS breaks, CAST(({ok_on}) AS DATE) AS ok_on
                          FROM {source} f JOIN _cand c ON c.application_id = f.entity_key) {keep}""")
            except Exception as exc:
                raise RuleBookError(f"{r.get('file', '?')}: {rid}: candidate evaluation failed: {exc}") from exc
    finally:
        con.execute("DROP TABLE IF EXISTS _apps")
        con.execute("ALTER TABLE _apps_actual RENAME TO _apps")
    # the date every waiting check holds; then rules that may start breaking by then
    con.execute("""CREATE OR REPLACE TEMP TABLE _cand_projection AS
        SELECT c.application_id, greatest(as_of(), max(k.ok_on) FILTER (WHERE k.state = 'wait')) AS projected_on
        FROM _cand c LEFT JOIN _cand_checks k USING (application_id) GROUP BY c.application_id""")
    for rid, r in crules.items():
        later = r["candidate"].get("breaks_at")
        if not later:
            continue
        con.execute(f"""UPDATE _cand_checks k SET state = 'blocked' FROM (
            SELECT f.entity_key FROM {tables[rid]} f
            JOIN (SELECT application_id, projected_on AS x FROM _cand_projection) p ON p.application_id = f.entity_key
            WHERE coalesce(({later}), false)) b
            WHERE k.application_id = b.entity_key AND k.rule_id = {sql_str(rid)}""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _cand_projection AS
        SELECT p.application_id, p.projected_on,
               CASE WHEN NOT coalesce(bool_or(k.state = 'blocked'), false) THEN p.projected_on END AS eligible_on
        FROM _cand_projection p LEFT JOIN _cand_checks k USING (application_id)
        GROUP BY p.application_id, p.projected_on""")
    for table in tables.values():
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return crules


def save_candidates(con, run_id: str, rules: dict[str, dict] | None = None) -> int:
    """The rule step's part: judge the candidates (``evaluate_candidates``) on
    the rule step's prepared connection and write ``candidate_applications``
    (one row per candidate) and ``candidate_checks`` (one row per candidate and
    rule that does not pass; a rule without a row passes). Returns the number
    of candidates."""
    evaluate_candidates(con, rules)
    con.execute("SET VARIABLE candidates_run_id = ?", [run_id])
    con.execute(SAVE_SQL.read_text(encoding="utf-8"))
    comment_table(con, SAVED, "Candidates' hypothetical new applications, judged by the rule step (read by the "
                  "candidates mart) / 候选人的假设新办申请(规则步骤判定,供 candidates 数据集市使用)", SAVED_COLUMNS)
    comment_table(con, SAVED_CHECKS, "Each candidate rule's verdict on each hypothetical application "
                  "/ 候选人假设申请的逐条规则判定", SAVED_CHECKS_COLUMNS)
    return con.sql(f"SELECT count(*) FROM {SAVED}").fetchall()[0][0]


def load_candidates(con) -> bool:
    """The mart's part: the TEMP tables of ``evaluate_candidates`` from the
    rule step's ``candidate_applications`` / ``candidate_checks`` (views), when
    they were written at this as_of by the
    run whose rule-layer findings the warehouse holds. False (nothing loaded)
    otherwise: the caller judges the candidates itself."""
    have = con.sql(f"SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('{SAVED}', '{SAVED_CHECKS}') "
                   "AND schema_name = 'main' AND database_name = current_database()").fetchall()[0][0]
    if have < 2:
        return False
    has_rules = con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rules' "
                        "AND schema_name = 'main' AND database_name = current_database()").fetchall()[0][0]
    layer = "WHERE f.rule_id IN (SELECT rule_id FROM rules WHERE engine = 'sql')" if has_rules else ""
    ok = con.sql(f"""
        WITH s AS (SELECT DISTINCT run_id, as_of FROM {SAVED}),
        r AS (SELECT DISTINCT f.run_id FROM findings f {layer})
        SELECT (SELECT count(*) FROM s) = 1 AND (SELECT as_of FROM s) = as_of()
               AND NOT EXISTS (SELECT 1 FROM r WHERE r.run_id <> (SELECT run_id FROM s))""").fetchall()[0][0]
    if not ok:
        return False
    _drop_temp(con)
    con.execute(LOAD_SQL.read_text(encoding="utf-8"))
    return True
