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
ok_on) plus ``_cand_projection`` (application_id, eligible_on).
"""
from __future__ import annotations

import re
from pathlib import Path

from expectations.engine import facts_table, sql_rules, sql_str
from expectations.rulebook import RuleBookError

CANDIDATES_SQL = Path(__file__).resolve().parent / "candidates.sql"
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


def evaluate_candidates(con, rules: dict[str, dict] | None = None) -> dict[str, dict]:
    """Judge every candidate rule for every candidate (see the module doc).
    Returns the candidate rules used."""
    crules = candidate_rules(rules)
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
                # a check breaking now waits when its own forecast lies ahead, else it blocks
                con.execute(f"""INSERT INTO _cand_checks
                    SELECT entity_key, {sql_str(rid)}, breaks, ok_on,
                           CASE WHEN NOT breaks THEN 'ok' WHEN ok_on > as_of() THEN 'wait' ELSE 'blocked' END
                    FROM (SELECT f.entity_key, coalesce(f.breaks, false) AS breaks, CAST(({ok_on}) AS DATE) AS ok_on
                          FROM {source} f JOIN _cand c ON c.application_id = f.entity_key)""")
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
