"""permit_status and employer_summary: the per-permit window state and the
per-employer counts, read from the rule book's facts and views."""
from __future__ import annotations

import duckdb

from assets.marts.prepare import document, rows, run_sql
from assets.marts.todo import TODO_LISTS
from expectations.engine import materialise_facts, sql_rules
from expectations.rulebook import load_rules

WINDOW_STATES = ("not_due", "due_soon", "open", "renewal_in_hand", "lapsed", "inactive")
OPEN_STATUSES = ("draft", "person_submitted", "employer_submitted", "under_review", "returned")


def window_rules(rules: dict[str, dict] | None = None) -> dict[str, str]:
    """rule_id -> window_state for the permit rules whose YAML names one, in book order."""
    out = {}
    for rid, r in sql_rules(rules if rules is not None else load_rules()).items():
        state = r.get("window_state")
        if state is None:
            continue
        if state not in WINDOW_STATES or r["entity_type"] != "permit":
            raise ValueError(f"{r.get('file')}: {rid}: window_state {state!r} needs a permit rule and one of "
                             f"{WINDOW_STATES}")
        out[rid] = state
    return out


def build_permit_status(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    """Needs ``prepare``. ``as_of`` is the prepared one (kept for the builder signature)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _window_hits (permit_no VARCHAR, state VARCHAR, ord INTEGER, "
                "rule_id VARCHAR)")
    rules = load_rules()
    for i, (rid, state) in enumerate(window_rules(rules).items()):
        facts = materialise_facts(con, rules[rid])
        con.execute(f"INSERT INTO _window_hits SELECT CAST(entity_key AS VARCHAR), ?, ?, ? FROM {facts.table} "
                    f"WHERE coalesce(breaks, false)", [state, i, rid])
        con.execute(f"DROP TABLE {facts.table}")
    run_sql(con, "permit_status")
    document(con, "permit_status")
    return rows(con, "permit_status")


def build_employer_summary(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    """Per-employer counts. Waived findings are not open work (rules.md § Waivers): the
    findings counts, the window-state counts (a permit whose state-setting finding is waived,
    permit_status.window_waived, is counted in permits_window_waived instead) and the to-do
    counts leave them out; findings_waived and todo_waived count them apart."""
    state_cols = {"open": "permits_window_open"}
    st = ", ".join(f"count(*) FILTER (WHERE window_state = '{s}' AND NOT window_waived) "
                   f"AS {state_cols.get(s, 'permits_' + s)}" for s in WINDOW_STATES)
    st += ", count(*) FILTER (WHERE window_waived) AS permits_window_waived"
    app_st = ", ".join(f"count(*) FILTER (WHERE status = '{s}') AS apps_{s}" for s in OPEN_STATUSES)
    todo = {("candidates_90d" if t == "todo_candidates_90d" else t): t for t in TODO_LISTS.values()}
    todo_ctes = ",\n".join(f"{k} AS (SELECT uscc, count(*) AS n FROM {t} GROUP BY uscc)" for k, t in todo.items())
    todo_joins = " ".join(f"LEFT JOIN {k} ON {k}.uscc = e.uscc" for k in todo)
    todo_cols = ", ".join(f"CAST(coalesce({k}.n, 0) AS INTEGER) AS {k}" for k in todo)
    ints = (["permits_total", "permits_active"] + [state_cols.get(s, "permits_" + s) for s in WINDOW_STATES]
            + ["permits_window_waived"]
            + ["apps_open"] + [f"apps_{s}" for s in OPEN_STATUSES])
    con.execute(f"""
    CREATE OR REPLACE TABLE employer_summary AS
    WITH emp AS (
        SELECT uscc, count(DISTINCT id_number) AS n FROM employments
        WHERE hired_on <= as_of() AND (left_on IS NULL OR left_on > as_of()) GROUP BY uscc),
    ps AS (
        SELECT uscc, count(*) AS permits_total, count(*) FILTER (WHERE status = 'active') AS permits_active, {st}
        FROM permit_status GROUP BY uscc),
    ap AS (SELECT uscc, count(*) AS apps_open, {app_st} FROM applications WHERE is_open(status) GROUP BY uscc),
    fs AS (
        SELECT uscc, count(*) FILTER (WHERE severity = 'error' AND NOT w) AS fe,
               count(*) FILTER (WHERE severity = 'warning' AND NOT w) AS fw,
               count(*) FILTER (WHERE severity = 'info' AND NOT w) AS fi,
               count(*) FILTER (WHERE is_noncompliance(rule_id) AND NOT w) AS nc, count(*) FILTER (WHERE w) AS fwv
        FROM (SELECT *, coalesce(waived, false) AS w FROM findings) WHERE uscc IS NOT NULL GROUP BY uscc),
    cand AS (SELECT uscc, count(*) AS n FROM candidates GROUP BY uscc),
    {todo_ctes}
    SELECT as_of() AS as_of, e.uscc, e.name, e.entity_type, lab('entity_type', e.entity_type) AS entity_type_zh,
           e.district, lab('district', e.district) AS district_zh, coalesce(e.category, 'other') AS category,
           lab('category', coalesce(e.category, 'other')) AS category_zh,
           CAST(coalesce(emp.n, 0) AS INTEGER) AS employees_current,
           {", ".join(f"CAST(coalesce({c}, 0) AS INTEGER) AS {c}" for c in ints)},
           CAST(coalesce(fs.fe, 0) AS INTEGER) AS findings_error,
           CAST(coalesce(fs.fw, 0) AS INTEGER) AS findings_warning,
           CAST(coalesce(fs.fi, 0) AS INTEGER) AS findings_info,
           CAST(coalesce(fs.fwv, 0) AS INTEGER) AS findings_waived,
           CAST(coalesce(cand.n, 0) AS INTEGER) AS candidates, {todo_cols},
           CAST(coalesce(fs.nc, 0) AS INTEGER) AS noncompliance_findings,
           CASE WHEN coalesce(ps.permits_active, 0) > 0
                THEN round(100.0 * coalesce(fs.nc, 0) / ps.permits_active, 2) END AS noncompliance_per_100
    FROM employers e LEFT JOIN emp USING (uscc) LEFT JOIN ps USING (uscc) LEFT JOIN ap USING (uscc)
    LEFT JOIN fs USING (uscc) LEFT JOIN cand USING (uscc) {todo_joins}
    ORDER BY e.uscc""")
    document(con, "employer_summary")
    return rows(con, "employer_summary")
