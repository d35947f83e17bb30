"""The employer's to-do lists, derived from the findings (docs/marts.md § To-do lists).

Which list a finding goes to is said once, in its rule's YAML entry: ``todo: <list>``
(and ``todo_supersedes: [<list>, …]`` for a rule whose finding makes the others
of the same entity moot — a permit to cancel needs no renewal). ``todo_items``
holds every finding that asks an employer to act, with the list it lands on;
a waived finding (``findings.waived``) lands on the ``waived`` list and nowhere
else. Each ``todo_<list>`` mart is one SQL file under ``sql/`` that shapes the
items of its list for the page and the workbook (names, dates, due_on).
"""
from __future__ import annotations

import duckdb

from assets.marts.candidates import build_todo_candidates_90d  # noqa: F401  (one of the lists)
from assets.marts.prepare import build_one
from expectations.rulebook import load_rules

# list key -> mart, in page / workbook order. ``candidates`` is the one list not fed by
# findings (people who have not applied: the candidates mart); ``waived`` takes every
# waived finding whatever its rule's list.
TODO_LISTS: dict[str, str] = {
    "renewals": "todo_renewals",
    "cancellations": "todo_cancellations",
    "contribution_gaps": "todo_contribution_gaps",
    "withholder_mismatches": "todo_withholder_mismatches",
    "applications": "todo_failing_applications",
    "candidates": "todo_candidates_90d",
    "inspections": "todo_inspections",
    "employer": "todo_employer",
    "reissues": "todo_reissues",
    "dependents": "todo_dependents",
    "deferrals_ending": "todo_deferrals_ending",
    "work_permits": "todo_work_permits",
    "waived": "todo_waived",
}
FINDING_LISTS = tuple(k for k in TODO_LISTS if k not in ("candidates", "waived"))


def todo_routes(rules: dict[str, dict] | None = None) -> dict[str, tuple[str, tuple[str, ...]]]:
    """rule_id -> (list, superseded lists) for the rules whose YAML entry names a to-do list."""
    out = {}
    for rid, r in (rules if rules is not None else load_rules()).items():
        lst, sup = r.get("todo"), tuple(r.get("todo_supersedes") or ())
        if lst is None:
            if sup:
                raise ValueError(f"{r.get('file')}: {rid}: todo_supersedes without todo")
            continue
        bad = [x for x in (lst, *sup) if x not in FINDING_LISTS]
        if bad:
            raise ValueError(f"{r.get('file')}: {rid}: unknown to-do list(s) {bad}; one of {FINDING_LISTS}")
        if lst in sup:
            raise ValueError(f"{r.get('file')}: {rid}: a list cannot supersede itself ({lst})")
        out[rid] = (lst, sup)
    return out


def build_todo_items(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    """Every finding that asks an employer to act, with its list (``_todo_routes`` /
    ``_todo_supersedes`` come from the rule YAML)."""
    routes = todo_routes()
    con.execute("CREATE OR REPLACE TEMP TABLE _todo_routes (rule_id VARCHAR, list VARCHAR, ord INTEGER)")
    con.execute("CREATE OR REPLACE TEMP TABLE _todo_supersedes (rule_id VARCHAR, list VARCHAR)")
    order = {k: i for i, k in enumerate(TODO_LISTS)}
    if routes:
        con.executemany("INSERT INTO _todo_routes VALUES (?, ?, ?)",
                        [[rid, lst, order[lst]] for rid, (lst, _) in routes.items()])
        sups = [[rid, s] for rid, (_, sup) in routes.items() for s in sup]
        if sups:
            con.executemany("INSERT INTO _todo_supersedes VALUES (?, ?)", sups)
    return build_one(con, "todo_items")


def _list_builder(mart: str):
    def build(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
        # a subset run that selects a list but not todo_items (Dagster subsetting): build it first
        if not con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'todo_items' AND NOT temporary "
                       "AND database_name = current_database() AND schema_name = 'main'").fetchall()[0][0]:
            build_todo_items(con, as_of)
        return build_one(con, mart)
    return build


# mart -> builder, in dependency order (todo_items first)
TODO_BUILDERS = {"todo_items": build_todo_items,
                 **{m: _list_builder(m) for m in TODO_LISTS.values()}}

# kept for callers of the earlier per-list functions
build_todo_renewals = _list_builder("todo_renewals")
build_todo_cancellations = _list_builder("todo_cancellations")
build_todo_failing_applications = _list_builder("todo_failing_applications")


def build_todo_contribution_gaps(con: duckdb.DuckDBPyConnection, as_of=None, policy=None) -> int:
    return build_one(con, "todo_contribution_gaps")
