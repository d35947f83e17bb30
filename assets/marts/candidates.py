"""candidates and todo_candidates_90d: the ELIG rules judged for a hypothetical
new application of every current employee without a permit or open
application (``expectations.candidates``), one state column per rule marked
``candidate:`` in the rule book; the columns follow the rule book, so a new
rule with a ``candidate:`` entry appears here without a change to this file.

The verdicts come from the rule step (table ``candidate_checks``, written on
the rule step's prepared connection: ``expectations.candidates.save_candidates``);
only when that table is missing or from another run / as_of does the mart judge
the candidates itself, with the same function (``evaluate_candidates``)."""
from __future__ import annotations

import duckdb

from assets.marts.prepare import build_one, document, rows
from expectations.candidates import candidate_rules, evaluate_candidates, load_candidates
from expectations.engine import prepare_rule_tables, sql_str
from expectations.rulebook import load_rules


def candidate_columns(rules: dict[str, dict] | None = None) -> dict[str, str]:
    """COMMENT text of the rule-book-driven columns (state and forecast date per rule)."""
    out = {}
    for rid, r in candidate_rules(rules if rules is not None else load_rules()).items():
        c = r["candidate"]
        out[c["column"]] = (f"{r['title_en']} ({rid}) for a new application at as_of: ok | wait | blocked "
                            f"/ {r['title_zh']}:符合 | 待满足 | 不符合")
        if c.get("ok_on_column"):
            out[c["ok_on_column"]] = (f"Date {rid} will hold if time passes (its own facts), when it breaks now "
                                      f"/ {r['title_zh']}:预计满足日期")
    return out


def build_candidates(con: duckdb.DuckDBPyConnection, as_of=None, policy=None) -> int:
    rules = load_rules()
    if load_candidates(con):
        crules = candidate_rules(rules)
    else:  # no verdicts of this run's rule step: judge them here, with the rule tables they read
        prepare_rule_tables(con)
        crules = evaluate_candidates(con, rules)
    states, forecasts, blocked_ids, blocked_zh, blocked_en, waits = [], [], [], [], [], []
    for rid, r in crules.items():
        c = r["candidate"]
        col, rid_s = c["column"], sql_str(rid)
        # no facts row = the rule does not apply to this candidate (e.g. capital for entity types
        # without registered capital): nothing to fix, 'ok'
        states.append(f"coalesce(any_value(k.state) FILTER (WHERE k.rule_id = {rid_s}), 'ok') AS {col}")
        if c.get("ok_on_column"):
            forecasts.append(f"any_value(k.ok_on) FILTER (WHERE k.rule_id = {rid_s} AND k.breaks) "
                             f"AS {c['ok_on_column']}")
        blocked_ids.append(f"CASE WHEN {col} = 'blocked' THEN {rid_s} END")
        blocked_zh.append(f"CASE WHEN {col} = 'blocked' THEN {sql_str(c.get('reason_zh') or r['title_zh'])} END")
        blocked_en.append(f"CASE WHEN {col} = 'blocked' THEN {sql_str(c.get('reason_en') or r['title_en'])} END")
        if c.get("waiting_zh"):
            waits.append(f"CASE WHEN {col} = 'wait' THEN {sql_str(c['waiting_zh'])} END")
    cols = [c["candidate"]["column"] for c in crules.values()]
    fcols = [c["candidate"]["ok_on_column"] for c in crules.values() if c["candidate"].get("ok_on_column")]
    con.execute(f"""
    CREATE OR REPLACE TABLE candidates AS
    WITH k AS (
        SELECT {", ".join(["application_id"] + states + forecasts)}
        FROM _cand_checks k GROUP BY application_id),
    x AS (
        SELECT c.*, e.name AS employer_name, e.district, p.name,
               person_sex(p.id_type, c.id_number, p.gender) AS gender,
               person_birth_on(p.id_type, c.id_number, p.birth_date) AS birth_date,
               coalesce(p.highest_degree, 'none') AS highest_degree, coalesce(p.title_level, 'none') AS title_level,
               k.* EXCLUDE (application_id), pr.eligible_on
        FROM _cand c JOIN employers e USING (uscc) LEFT JOIN persons p USING (id_number)
        LEFT JOIN k USING (application_id) LEFT JOIN _cand_projection pr USING (application_id))
    SELECT as_of() AS as_of, uscc, employer_name, district, lab('district', district) AS district_zh,
           id_number, mask_id(id_number) AS id_number_masked, name, gender, birth_date,
           age_years(birth_date, as_of()) AS age, hired_on,
           highest_degree, lab('degree', highest_degree) AS highest_degree_zh,
           title_level, lab('title_level', title_level) AS title_level_zh,
           {", ".join([f"coalesce({c}, 'ok') AS {c}" for c in cols] + fcols)},
           eligible_on, coalesce(eligible_on = as_of(), false) AS eligible_now,
           CAST(eligible_on - as_of() AS INTEGER) AS days_to_eligible,
           list_filter([{", ".join(blocked_ids) or "NULL"}], lambda v: v IS NOT NULL) AS blocking_rule_ids,
           array_to_string(list_filter([{", ".join(blocked_zh) or "NULL"}], lambda v: v IS NOT NULL), '；')
               AS blocking_reasons_zh,
           array_to_string(list_filter([{", ".join(blocked_en) or "NULL"}], lambda v: v IS NOT NULL), '; ')
               AS blocking_reasons_en,
           array_to_string(list_filter([{", ".join(waits) or "NULL"}], lambda v: v IS NOT NULL), '、')
               AS waiting_for_zh
    FROM x ORDER BY uscc, eligible_on NULLS LAST, id_number""")
    document(con, "candidates", candidate_columns())
    return rows(con, "candidates")


def build_todo_candidates_90d(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    return build_one(con, "todo_candidates_90d")
