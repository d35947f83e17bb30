"""Vectorised identifier checks (polars expressions).

- Resident ID (GB 11643): 18 characters, digits 1-17, digits 7-14 a real date
  not after ``as_of``, mod-11 check character (``X`` = 10). Deliberately NOT the
  "area code existed in the birth year" check (spec/tech-notes).
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
