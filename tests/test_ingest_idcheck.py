"""Vectorised GB 11643 / GB 32100 checks against python-stdnum (the oracle)."""
import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from assets.ingest import idcheck

AS_OF = dt.date(2026, 11, 29)
digits = st.text(alphabet="0123456789", min_size=17, max_size=17)
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31))
areas = st.text(alphabet="0123456789", min_size=6, max_size=6)
seqs = st.text(alphabet="0123456789", min_size=3, max_size=3)


@st.composite
def resident_ids(draw):
    """Valid IDs, IDs with a wrong check char, random 18-char strings, bad lengths, bad dates."""
    body = draw(areas) + draw(births).strftime("%Y%m%d") + draw(seqs)
    good = body + ric.calc_check_digit(body + "0")
    choice = draw(st.integers(0, 5))
    if choice <= 1:
        return good
    if choice == 2:
        wrong = draw(st.sampled_from([c for c in "0123456789X" if c != good[-1]]))
        return body + wrong
    if choice == 3:
        return draw(digits) + draw(st.sampled_from("0123456789X"))
    if choice == 4:
        return good[: draw(st.integers(0, 17))]
    # impossible month / day in the birth date
    bad = body[:10] + draw(st.sampled_from(["13", "00", "02"])) + draw(st.sampled_from(["30", "32", "00"])) + body[14:]
    return bad + ric.calc_check_digit(bad + "0")


def oracle_id_valid(s: str) -> bool:
    if len(s) != 18 or not s[:17].isdigit() or s[17] not in "0123456789X":
        return False
    try:
        birth = ric.get_birth_date(s)
    except Exception:
        return False
    return dt.date(1900, 1, 1) <= birth <= AS_OF and ric.calc_check_digit(s) == s[17]


@settings(max_examples=60, deadline=None)
@given(st.lists(resident_ids(), min_size=20, max_size=200))
def test_id_valid_matches_stdnum(values):
    got = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(
        idcheck.id_valid(pl.col("v"), AS_OF))["v"].to_list()
    assert got == [oracle_id_valid(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(digits, min_size=20, max_size=200))
def test_id_check_char_matches_stdnum(bodies):
    got = pl.DataFrame({"v": [b + "0" for b in bodies]}).select(idcheck.id_check_char(pl.col("v")).alias("v"))["v"].to_list()
    assert got == [ric.calc_check_digit(b + "0") for b in bodies]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(areas, births.filter(lambda d: d <= AS_OF), seqs), min_size=5, max_size=100))
def test_birth_date_and_gender_from_id(parts):
    ids = []
    for area, birth, seq in parts:
        body = area + birth.strftime("%Y%m%d") + seq
        ids.append(body + ric.calc_check_digit(body + "0"))
    df = pl.DataFrame({"v": ids}).select(idcheck.id_birth_date(pl.col("v")).alias("b"),
                                         idcheck.id_gender(pl.col("v")).alias("g"))
    assert df["b"].to_list() == [ric.get_birth_date(i) for i in ids]
    assert df["g"].to_list() == ["M" if int(i[16]) % 2 else "F" for i in ids]


uscc_chars = st.text(alphabet=idcheck.USCC_ALPHABET, min_size=17, max_size=17)


@settings(max_examples=60, deadline=None)
@given(st.lists(uscc_chars, min_size=20, max_size=200))
def test_uscc_check_char_matches_stdnum(bodies):
    got = pl.DataFrame({"v": [b + "0" for b in bodies]}).select(idcheck.uscc_check_char(pl.col("v")).alias("v"))["v"].to_list()
    assert got == [uscc.calc_check_digit(b) for b in bodies]


@st.composite
def usccs(draw):
    body = draw(st.text(alphabet="0123456789", min_size=8, max_size=8)) + draw(
        st.text(alphabet=idcheck.USCC_ALPHABET, min_size=9, max_size=9))
    good = body + uscc.calc_check_digit(body)
    choice = draw(st.integers(0, 4))
    if choice <= 1:
        return good
    if choice == 2:
        return body + draw(st.sampled_from([c for c in idcheck.USCC_ALPHABET if c != good[-1]]))
    if choice == 3:  # letters outside the alphabet (I O S V Z) or lower case
        pos = draw(st.integers(8, 17))
        return good[:pos] + draw(st.sampled_from("IOSVZa")) + good[pos + 1:]
    return good[: draw(st.integers(0, 17))]


@settings(max_examples=60, deadline=None)
@given(st.lists(usccs(), min_size=20, max_size=200))
def test_uscc_valid_matches_stdnum(values):
    got = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(idcheck.uscc_valid(idcheck.normalise_uscc(pl.col("v"))).alias("v"))["v"].to_list()
    assert got == [uscc.is_valid(v) for v in values]


def test_area_code_history_is_not_checked():
    # a 1964-born person carrying area code 130102 (created later) is real; stdnum.validate rejects it
    body = "130102" + "19640101" + "123"
    number = body + ric.calc_check_digit(body + "0")
    got = pl.DataFrame({"v": [number]}).select(idcheck.id_valid(pl.col("v"), AS_OF))["v"][0]
    assert got is True


def test_future_birth_date_is_invalid():
    body = "110105" + (AS_OF + dt.timedelta(days=1)).strftime("%Y%m%d") + "123"
    number = body + ric.calc_check_digit(body + "0")
    assert pl.DataFrame({"v": [number]}).select(idcheck.id_valid(pl.col("v"), AS_OF))["v"][0] is False


def test_normalise_id_full_width_spaces_lower_x():
    raw = ["１１０１０５ 1990 0307 013x", "\u3000110105199003070244 ", None, "  "]
    got = pl.DataFrame({"v": raw}).select(idcheck.normalise_id(pl.col("v")))["v"].to_list()
    assert got == ["11010519900307013X", "110105199003070244", None, None]
