"""Working-day calendar as a table: the official mainland-China calendar
(chinese-calendar: public holidays off, make-up days 调休 on) for the years it
covers, Monday–Friday for other years (rules.md)."""
from __future__ import annotations

import datetime as dt

import polars as pl


def _official():
    from chinese_calendar import constants

    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    return set(constants.holidays), set(constants.workdays), min(years), max(years)


def workday_frame(start: dt.date, end: dt.date) -> pl.DataFrame:
    """Columns d (DATE), is_workday (BOOL), official (BOOL: calendar data covered
    the year), wd_index (number of working days in [start, d])."""
    holidays, makeups, y0, y1 = _official()
    df = pl.DataFrame({"d": pl.date_range(start, end, interval="1d", eager=True)})
    hol = pl.Series(sorted(holidays), dtype=pl.Date).implode()
    mk = pl.Series(sorted(makeups), dtype=pl.Date).implode()
    official = pl.col("d").dt.year().is_between(y0, y1)
    weekday = pl.col("d").dt.weekday() <= 5  # polars: Monday=1 … Sunday=7
    is_wd = (pl.when(official).then((weekday & ~pl.col("d").is_in(hol)) | pl.col("d").is_in(mk))
             .otherwise(weekday))
    return (df.with_columns(official.alias("official"), is_wd.alias("is_workday"))
              .with_columns(pl.col("is_workday").cast(pl.Int64).cum_sum().alias("wd_index")))
