"""The employer's action lists (to-do): each is one SQL file under ``sql/``
reading permit_status, candidates and the findings (messages and detail as
the rule book wrote them)."""
from __future__ import annotations

import duckdb

from assets.marts.candidates import build_todo_candidates_90d  # noqa: F401  (one of the lists)
from assets.marts.prepare import build_one


def build_todo_renewals(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    return build_one(con, "todo_renewals")


def build_todo_cancellations(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    return build_one(con, "todo_cancellations")


def build_todo_contribution_gaps(con: duckdb.DuckDBPyConnection, as_of=None, policy=None) -> int:
    return build_one(con, "todo_contribution_gaps")


def build_todo_failing_applications(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    return build_one(con, "todo_failing_applications")
