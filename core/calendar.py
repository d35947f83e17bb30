"""The working-day calendar: one data file (``expectations/calendar/cn_workdays.csv``,
rebuilt by ``expectations/calendar/build_calendar.py`` from chinese-calendar),
read here and nowhere else. Days the file does not cover fall back to
Monday–Friday (rules.md), and callers can tell which days did."""
from __future__ import annotations

import csv
import datetime as dt
from functools import lru_cache
from pathlib import Path

CALENDAR_CSV = Path(__file__).resolve().parent.parent / "expectations" / "calendar" / "cn_workdays.csv"
CALENDAR_COLUMNS = {"date": "DATE", "is_workday": "BOOLEAN", "kind": "VARCHAR", "source": "VARCHAR"}


def create_calendar_table(con, table: str = "_cal_file", path: Path = CALENDAR_CSV) -> None:
    """TEMP TABLE ``table`` (date, is_workday, kind, source) from the calendar file."""
    cols = ", ".join(f"'{c}': '{t}'" for c, t in CALENDAR_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv(?, header = true, "
                f"columns = {{{cols}}})", [str(path)])


@lru_cache(maxsize=2)
def workdays(path: Path = CALENDAR_CSV) -> dict[dt.date, bool]:
    """date -> is_workday for every day the file covers."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {dt.date.fromisoformat(r["date"]): r["is_workday"].strip().lower() in ("true", "1")
                for r in csv.DictReader(fh)}


def is_workday(d: dt.date, path: Path = CALENDAR_CSV) -> tuple[bool, bool]:
    """(is_workday, fallback): the file's answer, else Monday–Friday with fallback True."""
    days = workdays(path)
    if d in days:
        return days[d], False
    return d.isoweekday() <= 5, True
