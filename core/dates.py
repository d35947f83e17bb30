"""Month arithmetic: the one ``add_months`` (rules.md § Definitions) as a Python
function and as the DuckDB macro ``ADD_MONTHS_SQL`` (created by
``core.sql.create_macros``); tests/test_core.py checks them against each other.
The synthetic generator's answer key keeps its own reading on purpose (an oracle
must not share code with what it checks)."""
from __future__ import annotations

import calendar
import datetime as dt

# DuckDB's date + to_months() clamps to the month end (2024-08-31 + 6 months = 2025-02-28)
ADD_MONTHS_SQL = ("CREATE OR REPLACE TEMP MACRO add_months(d, n) AS "
                  "CAST(CAST(d AS DATE) + to_months(CAST(n AS INTEGER)) AS DATE)")


def add_months(d: dt.date, n: int) -> dt.date:
    """Same day n calendar months later (n may be negative), clamped to the
    last day of the target month: add_months(2024-08-31, 6) = 2025-02-28."""
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))
