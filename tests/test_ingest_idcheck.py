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


# ---- v2: other identity documents (rules.md § Ingest DQ-BAD-ID) ----------------------------------
# Hong Kong / Macao / Taiwan residence permits (810000 / 820000 / 830000) and the 2023 foreign
# permanent-resident card (first digit 9) use the GB 11643 layout and check character; stdnum's
# ric.validate rejects them (area codes), so the oracle uses stdnum for the check character only.
prefixes = st.one_of(st.sampled_from(["810000", "820000", "830000"]),
                     st.text(alphabet="0123456789", min_size=5, max_size=5).map(lambda s: "9" + s))


@st.composite
def other_ids(draw):
    body = draw(prefixes) + draw(births).strftime("%Y%m%d") + draw(seqs)
    good = body + ric.calc_check_digit(body + "0")
    if draw(st.booleans()):
        return good
    return body + draw(st.sampled_from([c for c in "0123456789X" if c != good[-1]]))


def oracle_gb11643(s: str) -> bool:
    if len(s) != 18 or not s[:17].isdigit() or s[17] not in "0123456789X":
        return False
    try:
        birth = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= birth <= AS_OF and ric.calc_check_digit(s) == s[17]


def oracle_passport(s: str) -> bool:
    return 5 <= len(s) <= 17 and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for c in s)


def test_stdnum_rejects_what_the_contract_accepts():
    body = "810000" + "19900101" + "123"
    hk = body + ric.calc_check_digit(body + "0")
    assert not ric.is_valid(hk)  # why the oracle does not call ric.validate
    assert pl.DataFrame({"v": [hk]}).select(idcheck.id_valid(pl.col("v"), AS_OF))["v"][0] is True


passports = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-/a", min_size=0, max_size=20)
id_types = st.sampled_from(["resident_id", "hk_mo_tw_residence", "foreign_permanent_resident", "passport", None,
                            "visa"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(other_ids(), resident_ids(), passports), id_types), min_size=20, max_size=200))
def test_doc_valid_and_any_id_valid_match_the_oracle(rows):
    values = [v for v, _ in rows]
    types = [t for _, t in rows]
    df = pl.DataFrame({"v": values, "t": types}, schema={"v": pl.String, "t": pl.String})
    got = df.select(idcheck.doc_valid(pl.col("v"), pl.col("t"), AS_OF).alias("d"),
                    idcheck.any_id_valid(pl.col("v"), AS_OF).alias("a"))
    want_doc = [oracle_passport(v) if t == "passport" else
                (oracle_gb11643(v) if t in (None, "resident_id", "hk_mo_tw_residence", "foreign_permanent_resident")
                 else False) for v, t in rows]
    want_any = [oracle_gb11643(v) if len(v) == 18 else oracle_passport(v) for v in values]
    assert got["d"].to_list() == want_doc
    assert got["a"].to_list() == want_any
