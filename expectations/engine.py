"""Evaluate the SQL rules of the rule book in DuckDB.

Each rule with ``check.engine: sql`` carries ``check.facts``: one SELECT that
yields, for every entity the rule applies to, the columns

    entity_key, uscc, id_number, due_on, pkey, breaks, <detail columns...>

(``pkey`` = the policy variant used, ``'*'`` for the defaults; ``breaks`` =
the entity breaks the rule; NULL counts as not breaking). Columns whose name
starts with ``_`` feed the messages only; every other extra column goes into
the finding's ``detail`` JSON together with the policy that applied.
The facts are materialised once per rule (a ``_facts_<n>`` TEMP table, dropped
once judged: ``judge_rule``); the findings are their ``breaks`` rows, and Great
Expectations validates the same facts' ``ok`` values (``expectations/gx_suites.py``).
"""
from __future__ import annotations

import datetime as dt
import re
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.calendar import CALENDAR_CSV, create_calendar_table
from core.sql import create_macros, sql_str
from core.contract import TABLES
from core.findings import FINDINGS_DDL, ensure_findings_tables
from core.policy import Policy
from expectations.rulebook import RuleBookError, load_rules

PREAMBLE = Path(__file__).resolve().parent / "preamble.sql"
# the tables only rules read (persons' derived fields, the contributions aggregated per
# person and kind: _persons_x, _wh_bits, _cov_kind, _cov): the costly part of the preparation
RULE_TABLES = Path(__file__).resolve().parent / "rule_tables.sql"
# macros over the rules' fact columns (forecasts for the candidates mart, month lists)
MACROS = Path(__file__).resolve().parent / "forecast.sql"
STANDARD = ("entity_key", "uscc", "id_number", "due_on", "pkey", "breaks")
GUARDS = {"applications", "permits", "employers", "persons", "dependents", "quarantine", "waivers"}
# rules with ``check.phase: after_findings`` (WAIVER-UNUSED) read the run's other findings
# (TEMP VIEW _all_findings); waivers.sql then marks the waived findings
AFTER_FINDINGS = "after_findings"
WAIVERS_SQL = Path(__file__).resolve().parent / "waivers.sql"
FINDINGS_SELECT_COLS = ("run_id", "as_of", "rule_id", "severity", "entity_type", "entity_key", "uscc", "id_number",
                        "due_on", "message_zh", "message_en", "detail")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def facts_table(rule_id: str) -> str:
    return "_facts_" + re.sub(r"[^A-Za-z0-9]", "_", rule_id)


def sql_rules(rules: dict[str, dict] | None = None) -> dict[str, dict]:
    rules = load_rules() if rules is None else rules
    out = {}
    for rid, r in rules.items():
        chk = r["check"]
        if chk.get("engine") != "sql":
            continue
        if not chk.get("facts") or chk.get("guards") not in GUARDS:
            raise RuleBookError(f"{r.get('file')}: {rid}: check needs 'facts' SQL and 'guards' in {sorted(GUARDS)}")
        out[rid] = r
    return out


def prepare(con, as_of: dt.date, policy: Policy, calendar_csv: Path = CALENDAR_CSV, rule_tables: bool = True) -> None:
    """Create the run's helper objects (TEMP): _run, _kinds, _policy, _cal_file
    and everything in preamble.sql; with ``rule_tables`` also the tables only
    rules read (``prepare_rule_tables``) — the marts, which judge no rule,
    leave them out (then they do not exist: whatever reads them fails)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _run AS SELECT CAST(? AS DATE) AS as_of", [as_of])
    con.execute("SET VARIABLE as_of = CAST(? AS DATE)", [as_of])
    kinds = sorted({k for v in policy.variants() for k in (v.get("contribution_kinds") or [])})
    bits = {k: 1 << i for i, k in enumerate(kinds)}
    con.execute("CREATE OR REPLACE TEMP TABLE _kinds (kind VARCHAR, bit INTEGER)")
    if bits:
        con.executemany("INSERT INTO _kinds VALUES (?, ?)", list(bits.items()))
    # the same kinds as a list (rule_tables.sql filters the 48.7 M city contributions with
    # list_contains on it: a semi join with _kinds cost 0.2 s wall / 0.4 CPU s more)
    con.execute("SET VARIABLE kinds = CAST(? AS VARCHAR[])", [kinds])
    create_policy_table(con, policy, bits)
    # the month index (year * 12 + month - 1) of the first and last contribution month: min and max
    # of the dates themselves come from the table's statistics (0.002 s against 0.1 s at city)
    lo, hi = con.sql("SELECT year(lo) * 12 + month(lo) - 1, year(hi) * 12 + month(hi) - 1 "
                     "FROM (SELECT min(month) AS lo, max(month) AS hi FROM contributions)").fetchall()[0]
    con.execute("SET VARIABLE cov_min = ?", [int(lo) if lo is not None else 0])
    con.execute("SET VARIABLE cov_max = ?", [int(hi) if hi is not None else 0])
    create_calendar_table(con, "_cal_file", calendar_csv)
    create_macros(con)
    con.execute(PREAMBLE.read_text(encoding="utf-8"))
    con.execute(MACROS.read_text(encoding="utf-8"))
    if rule_tables:
        prepare_rule_tables(con)
    else:  # absent, not empty: SQL that reads them without prepare_rule_tables fails loudly
        con.execute("DROP TABLE _cov; DROP TABLE _cov_kind; DROP TABLE _wh_bits")


def prepare_rule_tables(con) -> None:
    """Create _persons_x and fill _wh_bits / _cov_kind / _cov (rule_tables.sql) on a prepared connection."""
    con.execute(RULE_TABLES.read_text(encoding="utf-8"))


def ensure_input_tables(con) -> list[str]:
    """Missing contract tables become empty TEMP tables (never written to the file)."""
    have = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    made = []
    for name, table in TABLES.items():
        if name not in have:
            con.execute(f"CREATE TEMP TABLE {name} (" + ", ".join(f"{c.name} {c.sql_type}" for c in table.columns) + ")")
            made.append(name)
    return made


def _enum_map(enum: str, lang: str, where: str) -> str:
    """A DuckDB MAP literal code -> label of one contract enum, in ``lang``
    (the product's one label table: core.labels)."""
    from core.labels import labels

    table = labels().get(enum)
    if not table:
        raise RuleBookError(f"{where}: template names unknown enum {enum!r}")
    i = 0 if lang == "zh" else 1
    return "MAP {" + ", ".join(f"{sql_str(code)}: {sql_str(lab[i])}" for code, lab in table.items()) + "}"


def compile_template(template: str, columns: dict[str, str], where: str, lang: str = "zh") -> str:
    """A str.format template over fact columns -> a SQL concat() expression.

    ``{column:enum}`` shows an enum code (or each code of a list column) as its
    label in the template's language, e.g. ``{highest_degree:degree}`` → 学士."""
    parts = []
    for literal, name, spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append(sql_str(literal))
        if name is None:
            continue
        if name not in columns:
            raise RuleBookError(f"{where}: template field {{{name}}} is not a column of the facts "
                                f"({', '.join(columns)})")
        typ = columns[name]
        col = f'f."{name}"'
        if spec:
            m = _enum_map(spec, lang, where)
            if typ.endswith("[]"):
                parts.append(f"coalesce(array_to_string(list_transform({col}, lambda x: coalesce({m}[x], x)), '/'), '')")
            else:
                parts.append(f"coalesce({m}[CAST({col} AS VARCHAR)], CAST({col} AS VARCHAR), '—')")
        elif typ == "DATE":
            parts.append(f"dstr({col})")
        elif typ.endswith("[]"):
            parts.append(f"coalesce(array_to_string({col}, ', '), '—')")
        else:
            parts.append(f"coalesce(CAST({col} AS VARCHAR), '—')")
    return "concat(" + ", ".join(parts or ["''"]) + ")"


@dataclass
class RuleFacts:
    rule_id: str
    table: str
    columns: dict[str, str]
    evaluated: int = 0
    broken: int = 0
    seconds: float = 0.0
    detail_cols: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0
    # NOT breaks, one value per entity the rule evaluated (a pyarrow BooleanArray, never NULL):
    # what Great Expectations validates (gx_suites); set by ``judge_rule``
    ok: Any = None


def _where(rule: dict) -> str:
    """How errors name a rule: its file and id."""
    return f"{rule.get('file', '?')}: {rule['rule_id']}"


def create_facts(con, rule: dict) -> RuleFacts:
    """One rule's facts as a TEMP table (``facts_table``), its columns checked:
    the standard columns present, identifiers only. Counts and timing are left
    to the caller."""
    rid = rule["rule_id"]
    where = _where(rule)
    table = facts_table(rid)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {rule['check']['facts']}")
    except Exception as exc:  # duckdb errors carry the SQL problem; name the rule
        raise RuleBookError(f"{where}: facts SQL failed: {exc}") from exc
    rel = con.table(table)  # the catalog's columns and types, without a query
    cols = {c: str(t) for c, t in zip(rel.columns, rel.types)}
    missing = [c for c in STANDARD if c not in cols]
    if missing:
        raise RuleBookError(f"{where}: facts lack column(s) {', '.join(missing)}")
    bad = [c for c in cols if not _IDENT.match(c)]
    if bad:
        raise RuleBookError(f"{where}: facts column names must be identifiers: {bad}")
    detail = [c for c in cols if c not in STANDARD and not c.startswith("_")]
    return RuleFacts(rid, table, cols, detail_cols=detail)


def _duplicates_error(rule: dict, n: int) -> RuleBookError:
    return RuleBookError(f"{_where(rule)}: facts have {n} duplicate entity_key rows "
                         "(one row per entity)")


def materialise_facts(con, rule: dict) -> RuleFacts:
    """One rule's facts table (``materialise_rules`` of that rule)."""
    return materialise_rules(con, {rule["rule_id"]: rule})[rule["rule_id"]]


def materialise_rules(con, rules: dict[str, dict]) -> dict[str, RuleFacts]:
    """Each rule's facts as a TEMP table (``create_facts``), kept, counted and
    checked: one row per breaking entity (one count query for all the rules).
    For readers of the facts themselves (the marts' window states); the rule
    step judges rule by rule instead (``judge_rule``)."""
    out = {rid: create_facts(con, rule) for rid, rule in rules.items()}
    if not out:
        return {}
    # one finding per (rule_id, entity_key): checked on the breaking rows (the entity sets
    # come from keyed tables; a full distinct count over every entity costs a hash of all keys)
    counts = {r[0]: r[1:] for r in con.execute(" UNION ALL ".join(
        f"SELECT {sql_str(rid)}, count(*), count(*) FILTER (WHERE coalesce(breaks, false)), "
        f"count(DISTINCT entity_key) FILTER (WHERE coalesce(breaks, false)) FROM {f.table}"
        for rid, f in out.items())).fetchall()}
    for rid, rule in rules.items():
        n, broken, distinct = counts[rid]
        if broken != distinct:
            raise _duplicates_error(rule, broken - distinct)
        out[rid].evaluated, out[rid].broken = n, broken
    return out


def ok_values(con, table: str, where: str):
    """NOT breaks of every row of a facts table, as a pyarrow BooleanArray."""
    import pyarrow as pa

    ok = con.sql(f"SELECT NOT coalesce(breaks, false) AS ok FROM {table}").to_arrow_table()
    values = ok.column(0).combine_chunks() if ok.num_rows else pa.array([], pa.bool_())
    if values.null_count:  # NOT coalesce(...) is never NULL: a facts table that says otherwise is a bug
        raise RuleBookError(f"{where}: NULL in the ok values of {table}")
    return values


def judge_rule(con, rule: dict, run_id: str) -> RuleFacts:
    """One rule of the rule step: its facts table, its breaking rows into
    ``_run_findings``, its ``ok`` values (what GX validates), then the facts
    table dropped — held together until the step ended, the 43 rules' facts
    took 1.1 GB at city scale, memory the candidates then had to map again."""
    t0, c0 = time.perf_counter(), time.process_time()
    f = create_facts(con, rule)
    try:
        con.execute("INSERT INTO _run_findings BY NAME " + findings_sql(rule, f, run_id))
        f.ok = ok_values(con, f.table, _where(rule))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {f.table}")
    f.evaluated = len(f.ok)
    f.broken = f.evaluated - f.ok.true_count
    f.seconds, f.cpu_seconds = round(time.perf_counter() - t0, 3), round(time.process_time() - c0, 3)
    return f


def findings_sql(rule: dict, facts: RuleFacts, run_id: str) -> str:
    """SELECT of the findings rows (FINDINGS_COLUMNS order, plus ``policy``)."""
    where = _where(rule)
    msg_zh = compile_template(rule["message_zh"], facts.columns, where + " message_zh", "zh")
    msg_en = compile_template(rule["message_en"], facts.columns, where + " message_en", "en")
    detail_fields = [f'"{c}" := f."{c}"' for c in facts.detail_cols]
    detail_fields.append("policy := struct_pack(version := p.policy_version, district := p.policy_district, "
                         "overrides := p.policy_overrides)")
    return (
        f"SELECT {sql_str(run_id)} AS run_id, as_of() AS as_of, {sql_str(rule['rule_id'])} AS rule_id, "
        f"{sql_str(rule['severity'])} AS severity, {sql_str(rule['entity_type'])} AS entity_type, "
        f"CAST(f.entity_key AS VARCHAR) AS entity_key, CAST(f.uscc AS VARCHAR) AS uscc, "
        f"CAST(f.id_number AS VARCHAR) AS id_number, CAST(f.due_on AS DATE) AS due_on, "
        f"{msg_zh} AS message_zh, {msg_en} AS message_en, "
        f"CAST(to_json(struct_pack({', '.join(detail_fields)})) AS JSON) AS detail, false AS waived, "
        f"p.policy_label AS policy "
        f"FROM {facts.table} f LEFT JOIN _policy p ON p.pkey = coalesce(f.pkey, '*') "
        f"WHERE coalesce(f.breaks, false)"
    )


def _rule_entities(con, rules: dict[str, dict]) -> None:
    """TEMP TABLE _rule_entities(rule_id, entity_type, engine): the whole rule
    book's (a waiver may name any rule, also one without findings)."""
    book = {**load_rules(), **rules}
    con.execute("CREATE OR REPLACE TEMP TABLE _rule_entities (rule_id VARCHAR, entity_type VARCHAR, engine VARCHAR)")
    con.executemany("INSERT INTO _rule_entities VALUES (?, ?, ?)",
                    [[rid, r["entity_type"], r["check"].get("engine")] for rid, r in sorted(book.items())])


def evaluate(con, run_id: str, rules: dict[str, dict] | None = None) -> dict[str, RuleFacts]:
    """Judge every SQL rule (``judge_rule``: TEMP TABLE _run_findings gets the
    findings columns + policy of the breaking rows of all of them), check one
    finding per entity, then mark the waived findings (waivers.sql; also the
    ingest layer's rows in ``findings``). Needs prepare()."""
    rules = sql_rules(rules)
    first = {rid: r for rid, r in rules.items() if r["check"].get("phase") != AFTER_FINDINGS}
    after = {rid: r for rid, r in rules.items() if r["check"].get("phase") == AFTER_FINDINGS}
    con.execute(f"CREATE OR REPLACE TEMP TABLE _run_findings ({FINDINGS_DDL}, policy VARCHAR)")
    facts = {rid: judge_rule(con, rule, run_id) for rid, rule in first.items()}
    _rule_entities(con, rules)
    ensure_findings_tables(con)  # the ingest layer's findings of this run (absent in bare test warehouses)
    con.execute("CREATE OR REPLACE TEMP VIEW _all_findings AS SELECT rule_id, entity_type, entity_key, uscc "
                "FROM _run_findings UNION ALL SELECT rule_id, entity_type, entity_key, uscc FROM findings "
                "WHERE rule_id IN (SELECT rule_id FROM _rule_entities WHERE engine = 'ingest')")
    facts.update({rid: judge_rule(con, rule, run_id) for rid, rule in after.items()})
    # one finding per (rule_id, entity_key), on the breaking rows (the entity sets come from keyed tables)
    dups = con.sql("SELECT rule_id, count(*) - count(DISTINCT entity_key) AS n FROM _run_findings "
                   "GROUP BY rule_id HAVING n > 0 ORDER BY rule_id").fetchall()
    if dups:
        raise _duplicates_error(rules[dups[0][0]], dups[0][1])
    con.execute(WAIVERS_SQL.read_text(encoding="utf-8"))
    return facts


def _duck_type(values: list) -> str:
    vals = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in vals):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "BIGINT"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "DOUBLE"
    if all(isinstance(v, list) for v in vals):
        return "VARCHAR[]"
    return "VARCHAR"


def create_policy_table(con, policy: Policy, kind_bits: dict[str, int]) -> None:
    """CREATE TEMP TABLE _policy (one row per variant) with bound values; adds
    ``kinds_mask`` (bit mask of contribution_kinds over ``kind_bits``)."""
    rows = policy.variants()
    for r in rows:
        r["kinds_mask"] = sum(kind_bits[k] for k in set(r.get("contribution_kinds") or []))
    cols = list(rows[0])
    types = {c: _duck_type([r[c] for r in rows]) for c in cols}
    types["policy_district"] = "VARCHAR"
    types["policy_overrides"] = "VARCHAR[]"
    con.execute("CREATE OR REPLACE TEMP TABLE _policy (" + ", ".join(f'"{c}" {types[c]}' for c in cols) + ")")
    con.executemany("INSERT INTO _policy VALUES (" + ", ".join("?" for _ in cols) + ")",
                    [[r[c] for c in cols] for r in rows])
