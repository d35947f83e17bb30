"""core/: one masking rule and one add_months, the same in Python, polars and
DuckDB SQL (property-tested against each other and an independent statement)."""
from __future__ import annotations

import calendar
import datetime as dt

import duckdb
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dates import add_months
from core.masking import mask_id, mask_id_expr
from core.sql import create_macros

ALPHABET = "0123456789XABCDEFGHJKLMNPQRSTUVWYZ"
ids = st.one_of(
    st.none(),
    st.text(ALPHABET, min_size=0, max_size=24),  # any length: passports (8-9), old 15-digit IDs, 18
    st.from_regex(r"\A(11|81|82|83|9\d)\d{15}[\dX]\Z"),  # resident / HK-MO-TW / foreign permanent resident
    st.from_regex(r"\A[EGPDS]\d{8}\Z"),  # passports
)


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_macros(con)
    return con


@settings(max_examples=100, deadline=None)
@given(st.lists(ids, min_size=1, max_size=30))
def test_masking_is_one_rule_in_python_polars_and_sql(values):
    con = _con()
    sql = [r[0] for r in con.execute("SELECT mask_id(v) FROM (SELECT unnest(?::VARCHAR[]) AS v)", [values]).fetchall()]
    pol = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(mask_id_expr("v"))["v"].to_list()
    py = [mask_id(v) for v in values]
    assert py == pol == sql
    for v, m in zip(values, py):
        if v is None:
            assert m is None
            continue
        if len(v) >= 15:  # outputs.md: 110105********123X
            assert m == v[:6] + "********" + v[-4:]
        else:  # short numbers (passports) publish nothing of themselves
            assert m == "*" * len(v)


def test_masking_examples():
    assert mask_id("11010519900307123X") == "110105********123X"
    assert mask_id("E12345678") == "*********"
    assert mask_id("110105900307123") == "110105********7123"


def _oracle(d: dt.date, n: int) -> dt.date:
    """rules.md add_months, stated month by month."""
    y, m = d.year, d.month
    for _ in range(abs(n)):
        y, m = (y + 1, 1) if n > 0 and m == 12 else (y - 1, 12) if n < 0 and m == 1 else (y, m + (1 if n > 0 else -1))
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.dates(dt.date(1950, 1, 1), dt.date(2060, 12, 31)), st.integers(-120, 120)),
                min_size=1, max_size=30))
def test_add_months_python_and_sql_agree_with_rules_md(pairs):
    con = _con()
    sql = [r[0] for r in con.execute("SELECT add_months(d, n) FROM (SELECT unnest(?::DATE[]) AS d, "
                                     "unnest(?::INTEGER[]) AS n)", [[p[0] for p in pairs], [p[1] for p in pairs]]
                                     ).fetchall()]
    assert [add_months(d, n) for d, n in pairs] == sql == [_oracle(d, n) for d, n in pairs]


def test_add_months_clamps():
    assert add_months(dt.date(2024, 8, 31), 6) == dt.date(2025, 2, 28)
