"""Every mart, in dependency order, on one prepared connection (tests, the
benchmark and the Dagster asset all go through here).

Where things live: ``prepare`` (the rule book's views, macros, calendar and
policy on the connection), ``status`` (permit_status, employer_summary),
``candidates`` (the ELIG rules judged for people who have not applied),
``todo`` (the employer's action lists), ``bureau`` (the bureau's marts); the
SQL of the marts that are plain queries is in ``sql/<mart>.sql``.
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import duckdb

from assets.marts.bureau import BUREAU_BUILDERS, XTABS, build_bureau_xtab  # noqa: F401
from assets.marts.checklists import CHECKLIST_MARTS
from assets.marts.candidates import build_candidates, build_todo_candidates_90d
from assets.marts.prepare import prepare
from assets.marts.status import build_employer_summary, build_permit_status
from assets.marts.todo import (TODO_BUILDERS, build_todo_cancellations, build_todo_contribution_gaps,
                               build_todo_failing_applications, build_todo_renewals)
from core.policy import Policy

__all__ = ["prepare", "build_all", "build_permit_status", "build_candidates", "build_todo_renewals",
           "build_todo_cancellations", "build_todo_contribution_gaps", "build_todo_failing_applications",
           "build_todo_candidates_90d", "build_employer_summary", "BUREAU_BUILDERS", "XTABS"]

# mart -> builder(con, as_of) in dependency order
BUILDERS = {
    "permit_status": build_permit_status,
    "candidates": build_candidates,
    **TODO_BUILDERS,  # todo_items, then one mart per to-do list (assets/marts/todo.py)
    "employer_summary": build_employer_summary,
    **BUREAU_BUILDERS,
    **{name: fn for name, (_, fn) in CHECKLIST_MARTS.items()},  # material checklists (docs/checklists.md)
}


def build_all(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy_path: Path | Policy,
              timings: dict[str, float] | None = None) -> dict[str, int]:
    """Every mart in dependency order; returns row counts, and fills ``timings``
    (seconds per mart, ``prepare`` included) when given."""
    t0 = time.perf_counter()
    prepare(con, as_of, policy_path)
    if timings is not None:
        timings["prepare"] = round(time.perf_counter() - t0, 3)
    out = {}
    for name, fn in BUILDERS.items():
        t0 = time.perf_counter()
        out[name] = fn(con, as_of)
        if timings is not None:
            timings[name] = round(time.perf_counter() - t0, 3)
    return out
