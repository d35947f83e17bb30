"""Vectorised date helpers for the generator (numpy datetime64[D]): the
generator's own notion of the rule book's date arithmetic (rules.md
§ Definitions: add_months with month-end clamping, age in full years, working
days).

Part of the oracle side (issue 14, item 3), like ``answer_key.py``: the data and
its answer key are built with this arithmetic, and the pipeline's is checked
against it, so it deliberately shares no code with the pipeline's -- not
``core/dates.py``'s add_months, not the project's working-day calendar file
(``expectations/calendar/cn_workdays.csv`` via ``core/calendar.py``). The
working-day calendar here is read straight from the chinese-calendar package
(Monday to Friday outside the years it covers), an independent source for the
same facts; the property tests (tests/test_synthetic_props.py) hold it to
plain-Python and polars definitions.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np

D = "datetime64[D]"
NAT = np.datetime64("NaT", "D")
CAL_START = np.datetime64("2000-01-01", "D")
CAL_END = np.datetime64("2032-12-31", "D")


def d64(x) -> np.datetime64:
    return np.datetime64(x, "D")


def add_months(d: np.ndarray, n) -> np.ndarray:
    """Same day n calendar months later, clamped to the month's last day. NaT stays NaT."""
    d = np.asarray(d, dtype=D)
    nat = np.isnat(d)
    safe = np.where(nat, np.datetime64("2000-01-01", "D"), d)
    m = safe.astype("datetime64[M]")
    day = (safe - m.astype(D)).astype(np.int64)
    tm = m + np.asarray(n, dtype=np.int64)
    last = ((tm + 1).astype(D) - tm.astype(D)).astype(np.int64)
    out = tm.astype(D) + np.minimum(day, last - 1)
    return np.where(nat, NAT, out)


def month_start(d: np.ndarray) -> np.ndarray:
    return np.asarray(d, dtype=D).astype("datetime64[M]").astype(D)


def year_of(d: np.ndarray) -> np.ndarray:
    return np.asarray(d, dtype=D).astype("datetime64[Y]").astype(np.int64) + 1970


def month_of(d: np.ndarray) -> np.ndarray:
    return np.asarray(d, dtype=D).astype("datetime64[M]").astype(np.int64) % 12 + 1


def day_of(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=D)
    return (d - d.astype("datetime64[M]").astype(D)).astype(np.int64) + 1


def make_date(y, m, day) -> np.ndarray:
    """Vectorised date(y, m, day) with day clamped to the month's length."""
    y = np.asarray(y, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    mm = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    last = ((mm + 1).astype(D) - mm.astype(D)).astype(np.int64)
    return mm.astype(D) + np.minimum(np.asarray(day, dtype=np.int64), last) - 1


def age_full_years(birth: np.ndarray, at) -> np.ndarray:
    """age(b, d) of rules.md: full years (周岁)."""
    b = np.asarray(birth, dtype=D)
    a = np.broadcast_to(np.asarray(at, dtype=D), b.shape)
    by, ay = year_of(b), year_of(a)
    before = (month_of(a) * 100 + day_of(a)) < (month_of(b) * 100 + day_of(b))
    return ay - by - before.astype(np.int64)


def _nat_safe(fn):
    """Wrap a calendar function so NaT inputs give NaT (or 0 counts) instead of index errors."""
    import functools

    @functools.wraps(fn)
    def wrapper(a, *rest):
        a = np.asarray(a, dtype=D)
        nat = np.isnat(a)
        rest = [np.asarray(r, dtype=D) if fn.__name__ == "working_days_between" else r for r in rest]
        if fn.__name__ == "working_days_between":
            nat = nat | np.isnat(rest[0])
            rest = [np.where(nat, CAL_START, rest[0])]
        out = fn(np.where(nat, CAL_START, a), *rest)
        if np.issubdtype(np.asarray(out).dtype, np.datetime64):
            return np.where(nat, NAT, out)
        return np.where(nat, 0, out)
    return wrapper


@lru_cache(maxsize=1)
def _calendar() -> tuple[np.ndarray, np.ndarray]:
    """(is_workday per day from CAL_START, cumulative working-day count)."""
    import chinese_calendar

    days = np.arange(CAL_START, CAL_END + 1, dtype=D)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday -> 0 = Monday
    is_wd = weekday < 5
    lo, hi = 2004, 2026  # years chinese_calendar 1.11 covers; Monday-Friday outside
    for i, day in enumerate(days.tolist()):
        if lo <= day.year <= hi:
            is_wd[i] = chinese_calendar.is_workday(day)
    return is_wd, np.cumsum(is_wd)


@_nat_safe
def is_workday(d: np.ndarray) -> np.ndarray:
    is_wd, _ = _calendar()
    return is_wd[(np.asarray(d, dtype=D) - CAL_START).astype(np.int64)]


@_nat_safe
def working_days_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of working days in the half-open interval (a, b]."""
    _, cum = _calendar()
    ia = (np.asarray(a, dtype=D) - CAL_START).astype(np.int64)
    ib = (np.asarray(b, dtype=D) - CAL_START).astype(np.int64)
    return cum[ib] - cum[ia]


@_nat_safe
def add_working_days(a: np.ndarray, n) -> np.ndarray:
    """The n-th working day after a (n >= 1); n = 0 gives the first working day on or after a."""
    is_wd, cum = _calendar()
    ia = (np.asarray(a, dtype=D) - CAL_START).astype(np.int64)
    n = np.asarray(n, dtype=np.int64)
    base = cum[ia] - is_wd[ia].astype(np.int64) * (n == 0)
    target = base + np.maximum(n, 1) * (n > 0) + (n == 0)
    idx = np.searchsorted(cum, target, side="left")
    return CAL_START + idx.astype("timedelta64[D]")


def to_py(d: np.datetime64) -> dt.date:
    return d.astype(object)


@_nat_safe
def sub_working_days(b: np.ndarray, n) -> np.ndarray:
    """The working day w with exactly n working days in (w, b] (n >= 1)."""
    _, cum = _calendar()
    ib = (np.asarray(b, dtype=D) - CAL_START).astype(np.int64)
    target = cum[ib] - np.asarray(n, dtype=np.int64)
    idx = np.searchsorted(cum, target, side="left")
    return CAL_START + idx.astype("timedelta64[D]")
