"""Regenerate cn_workdays.csv (the official mainland-China working-day
calendar) from the `chinese_calendar` package.

    .venv/bin/python -m expectations.calendar.build_calendar [FIRST_YEAR LAST_YEAR]

Columns: date (ISO), is_workday (true/false), kind (weekday | weekend |
holiday | makeup_workday), source. Years the package does not cover are not
written; the rule layer falls back to Monday–Friday for them and says so in
the finding's detail. When the State Council publishes a new year, either
upgrade chinese_calendar and re-run this script, or append the year's rows by
hand with source "State Council notice <number>".
"""
from __future__ import annotations

import csv
import datetime as dt
import sys
from importlib.metadata import version
from pathlib import Path

from core.calendar import CALENDAR_CSV

FIELDS = ("date", "is_workday", "kind", "source")


def calendar_rows(first_year: int = 2004, last_year: int = 2026) -> list[dict]:
    import chinese_calendar as cc

    source = f"chinese_calendar {version('chinese-calendar')}"
    rows = []
    day, end = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    while day <= end:
        try:
            work = cc.is_workday(day)
        except NotImplementedError:
            day += dt.timedelta(days=1)
            continue
        weekend = day.isoweekday() >= 6
        kind = ("makeup_workday" if weekend else "weekday") if work else ("weekend" if weekend else "holiday")
        rows.append({"date": day.isoformat(), "is_workday": "true" if work else "false", "kind": kind,
                     "source": source})
        day += dt.timedelta(days=1)
    return rows


def write_calendar(path: Path = CALENDAR_CSV, first_year: int = 2004, last_year: int = 2026) -> int:
    rows = calendar_rows(first_year, last_year)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    years = [int(a) for a in sys.argv[1:3]] or [2004, 2026]
    n = write_calendar(CALENDAR_CSV, *years)
    print(f"wrote {n} days to {CALENDAR_CSV}")
