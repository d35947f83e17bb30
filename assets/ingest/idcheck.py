"""Vectorised identifier checks (polars expressions).

- Resident ID (GB 11643): 18 characters, digits 1-17, digits 7-14 a real date
  not after ``as_of``, mod-11 check character (``X`` = 10). Deliberately NOT the
  "area code existed in the birth year" check (spec/tech-notes).
- The other 18-character identity documents (Hong Kong / Macao / Taiwan
  residence permits, prefix 81/82/83; the 2023 foreign permanent-resident
  card, first digit 9) use the same layout and check character, so
  ``id_valid`` accepts them too; python-stdnum's ``cn.ric`` rejects them
  (area-code lookup), so the tests use it for the check character only.
- Passport numbers: 5 to 17 characters of A-Z and 0-9 after normalising.
- Unified social credit code (GB 32100): 18 characters over the alphabet
  ``0-9A-HJ-NPQRTUWXY``, positions 3-8 digits, mod-31 check character.

Everything is an expression over a String column, so it runs on tens of
millions of rows (call it on distinct values for even less work).
"""
from __future__ import annotations

import datetime as dt

import polars as pl

ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
ID_CHECK = "10X98765432"  # index = weighted sum mod 11
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
ID_RE = r"^[0-9]{17}[0-9X]$"
PASSPORT_RE = r"^[0-9A-Z]{5,17}$"
# id_type codes whose number is an 18-character GB 11643 number (birth date and gender inside)
GB11643_TYPES = ("resident_id", "hk_mo_tw_residence", "foreign_permanent_resident")
USCC_RE = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"


def normalise_id(expr: pl.Expr) -> pl.Expr:
    """NFKC, drop all whitespace, upper-case x; empty -> null."""
    s = (expr.cast(pl.String).str.normalize("NFKC").str.replace_all(" ", "", literal=True)
         .str.replace_all(r"\s", "").str.to_uppercase())
    return pl.when(s.str.len_chars() > 0).then(s).otherwise(None)


normalise_uscc = normalise_id


def id_birth_date(expr: pl.Expr) -> pl.Expr:
    """Birth date from digits 7-14 (null when not a real date)."""
    return expr.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)


def id_gender(expr: pl.Expr) -> pl.Expr:
    """'M' when digit 17 is odd, else 'F' (null when not a digit)."""
    d = expr.str.slice(16, 1).cast(pl.Int32, strict=False)
    return pl.when(d.is_null()).then(None).when(d % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F"))


def id_check_char(expr: pl.Expr) -> pl.Expr:
    """GB 11643 check character computed from the first 17 characters."""
    total = pl.sum_horizontal(
        [expr.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(ID_WEIGHTS)]
    )
    return (total % 11).replace_strict({i: c for i, c in enumerate(ID_CHECK)}, default=None, return_dtype=pl.String)


def id_valid(expr: pl.Expr, as_of: dt.date) -> pl.Expr:
    """True when the (already normalised) ID passes length, birth date and check character."""
    birth = id_birth_date(expr)
    ok = (
        expr.str.contains(ID_RE)
        & birth.is_not_null()
        & (birth <= pl.lit(as_of))
        & (birth >= pl.lit(dt.date(1900, 1, 1)))
        & (expr.str.slice(17, 1) == id_check_char(expr))
    )
    return ok.fill_null(False)


def passport_valid(expr: pl.Expr) -> pl.Expr:
    """True when the (already normalised) value is 5-17 characters of A-Z and 0-9."""
    return expr.str.contains(PASSPORT_RE).fill_null(False)


def doc_valid(expr: pl.Expr, id_type: pl.Expr, as_of: dt.date) -> pl.Expr:
    """The check of the row's document type (persons): GB 11643 for the
    18-character types (an empty type means ``resident_id``), the passport
    check for ``passport``; an unknown type passes neither."""
    t = id_type.fill_null("resident_id")
    return (pl.when(t.is_in(GB11643_TYPES)).then(id_valid(expr, as_of))
            .when(t == "passport").then(passport_valid(expr))
            .otherwise(pl.lit(False)))


def any_id_valid(expr: pl.Expr, as_of: dt.date) -> pl.Expr:
    """Tables other than persons: an 18-character value must pass GB 11643,
    any other value the passport check (DQ-ORPHAN ties it to a person)."""
    return (pl.when(expr.str.len_chars() == 18).then(id_valid(expr, as_of))
            .otherwise(passport_valid(expr))).fill_null(False)


def uscc_check_char(expr: pl.Expr) -> pl.Expr:
    """GB 32100 check character computed from the first 17 characters."""
    values = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
    total = pl.sum_horizontal(
        [expr.str.slice(i, 1).replace_strict(values, default=None, return_dtype=pl.Int64) * w
         for i, w in enumerate(USCC_WEIGHTS)]
    )
    return ((31 - total % 31) % 31).replace_strict(
        {i: c for i, c in enumerate(USCC_ALPHABET)}, default=None, return_dtype=pl.String)


def uscc_valid(expr: pl.Expr) -> pl.Expr:
    ok = expr.str.contains(USCC_RE) & (expr.str.slice(17, 1) == uscc_check_char(expr))
    return ok.fill_null(False)
