"""Property tests of the SQL date and text helpers (expectations/preamble.sql)
against plain-Python references written from rules.md § Definitions."""
from __future__ import annotations

import calendar
import datetime as dt
import re

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + \
    "\u2028\u2029\u202f\u205f\u3000"


@pytest.fixture(scope="module")
def con():
    from assets.settings import PACKAGED_POLICY
    from expectations.engine import prepare
    from core.policy import load_policy
    from expectations.testing import make_warehouse

    c = duckdb.connect()
    make_warehouse(c)
    prepare(c, dt.date(2026, 6, 15), load_policy(PACKAGED_POLICY))
    yield c
    c.close()


def ref_add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return dt.date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def ref_age(b: dt.date, d: dt.date) -> int:
    return d.year - b.year - 1 if (d.month, d.day) < (b.month, b.day) else d.year - b.year


def test_add_months_examples(con):
    got = con.sql("SELECT add_months(DATE '2024-08-31', 6), add_months(DATE '2024-03-31', -1), "
                  "add_months(DATE '2024-02-29', 12), add_months(DATE '2023-01-31', 1)").fetchall()[0]
    assert [str(x) for x in got] == ["2025-02-28", "2024-02-29", "2025-02-28", "2023-02-28"]


@settings(max_examples=200, deadline=None)
@given(d=st.dates(dt.date(1950, 1, 1), dt.date(2040, 12, 31)), n=st.integers(-60, 60))
def test_add_months_matches_reference(con, d, n):
    assert con.sql("SELECT add_months(?, ?)", params=[d, n]).fetchall()[0][0] == ref_add_months(d, n)


@settings(max_examples=200, deadline=None)
@given(b=st.dates(dt.date(1940, 1, 1), dt.date(2020, 12, 31)), d=st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)))
def test_age_matches_reference(con, b, d):
    assert con.sql("SELECT age_years(?, ?)", params=[b, d]).fetchall()[0][0] == ref_age(b, d)


@settings(max_examples=150, deadline=None)
@given(s=st.text(alphabet=st.sampled_from(list("业绩ab1,。") + list(WHITE_SPACE)), max_size=60))
def test_text_len_ignores_unicode_white_space(con, s):
    expected = len(re.sub("[" + re.escape(WHITE_SPACE) + "]", "", s))
    assert con.sql("SELECT text_len(?)", params=[s]).fetchall()[0][0] == expected


def test_white_space_test_and_removal_agree_on_every_code_point(con):
    # has_white_space names the White_Space characters one by one (fast), strip_white_space
    # removes them by a regular-expression class: both must be exactly WHITE_SPACE
    got = con.sql("""SELECT list(c ORDER BY c) FILTER (WHERE has_white_space(chr(c))),
                            list(c ORDER BY c) FILTER (WHERE strip_white_space(chr(c)) = '')
                     FROM (SELECT CAST(range AS INTEGER) AS c FROM range(1, 1114112))
                     WHERE c NOT BETWEEN 55296 AND 57343""").fetchall()[0]
    assert got[0] == got[1] == sorted(ord(ch) for ch in WHITE_SPACE)


def test_id_birth_and_gender(con):
    assert con.sql("SELECT id_birth_date('11010519720229123X'), id_gender('11010519720229123X'), "
                   "id_gender('110105197202291243'), mask_id('11010519720229123X')").fetchall()[0] == (
        dt.date(1972, 2, 29), "M", "F", "110105********123X")


def ref_name_key(s: str) -> str | None:
    """rules.md § Definitions: full-width ASCII forms mapped to ASCII, all white space removed."""
    folded = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in s)
    return re.sub("[" + re.escape(WHITE_SPACE) + "]", "", folded) or None


@settings(max_examples=200, deadline=None)
@given(s=st.text(alphabet=st.sampled_from(list("北京科技有限公司abAB1()（）ａＢ１！～｛") + list(WHITE_SPACE)), max_size=30))
def test_name_key_folds_full_width_and_drops_white_space(con, s):
    # the macro rewrites only names holding such characters; the others are returned as they are
    assert con.sql("SELECT name_key(?)", params=[s]).fetchall()[0][0] == ref_name_key(s)
