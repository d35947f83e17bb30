"""Value formats of the contract as vectorised polars expressions.

Every parser takes a String expression already cleaned by :func:`clean_text`
(NFKC, trimmed, empty -> null) and returns the typed value, null when the value
cannot be parsed. "Given but unparseable" is ``raw.is_not_null() &
parsed.is_null()``.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from core.contract import enum_lookup

EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial numbers accepted in date columns: 1 (1900-01-01) .. 99999 (2173)
_SERIAL_RE = r"^[0-9]{1,5}(?:\.[0-9]+)?$"
_YMD_RE = r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?(?:[ T][0-9:.]*(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
_YMD8_RE = r"^([0-9]{4})([0-9]{2})([0-9]{2})$"
_YM_RE = r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*月?$"
_YM6_RE = r"^([0-9]{4})([0-9]{2})$"


def clean_text(expr: pl.Expr) -> pl.Expr:
    """NFKC, trim (incl. U+3000 after NFKC), empty -> null."""
    s = expr.cast(pl.String).str.normalize("NFKC").str.strip_chars()
    return pl.when(s.str.len_chars() > 0).then(s).otherwise(None)


def _iso(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    return pl.concat_str([y, pl.lit("-"), m.str.zfill(2), pl.lit("-"), d.str.zfill(2)])


def _serial_date(expr: pl.Expr) -> pl.Expr:
    n = pl.when(expr.str.contains(_SERIAL_RE)).then(expr.cast(pl.Float64, strict=False).floor().cast(pl.Int64))
    return pl.when(n >= 1).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=n))


def parse_date(expr: pl.Expr) -> pl.Expr:
    """2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, Excel serials,
    ISO date-times (time part ignored)."""
    a = expr.str.extract_groups(_YMD_RE)
    b = expr.str.extract_groups(_YMD8_RE)
    ymd = _iso(a.struct.field("1"), a.struct.field("2"), a.struct.field("3"))
    ymd8 = _iso(b.struct.field("1"), b.struct.field("2"), b.struct.field("3"))
    return pl.coalesce(
        ymd.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        ymd8.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        _serial_date(expr).cast(pl.Date),
    )


def parse_month(expr: pl.Expr) -> pl.Expr:
    """2024-03, 2024/3, 202403, 2024年3月, or any date: first day of the month."""
    a = expr.str.extract_groups(_YM_RE)
    b = expr.str.extract_groups(_YM6_RE)
    ym = _iso(a.struct.field("1"), a.struct.field("2"), pl.lit("1"))
    ym6 = _iso(b.struct.field("1"), b.struct.field("2"), pl.lit("1"))
    return pl.coalesce(
        ym.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        ym6.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        # any date; Excel serials only from 10000 (1927) so that a bare year is not a month
        pl.when(~expr.str.contains(r"^[0-9]{1,4}(?:\.[0-9]*)?$")).then(parse_date(expr).dt.month_start()),
    )


BOOL_VALUES = {
    "true": True, "t": True, "1": True, "1.0": True, "y": True, "yes": True, "是": True, "有": True,
    "false": False, "f": False, "0": False, "0.0": False, "n": False, "no": False, "否": False, "无": False,
}


def parse_bool(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().replace_strict(BOOL_VALUES, default=None, return_dtype=pl.Boolean)


_NUM_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"


def _strip_number(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(r"[,\s]", "").str.strip_prefix("¥").str.strip_prefix("CNY")


def parse_money(expr: pl.Expr, scale: pl.Expr | int = 1) -> pl.Expr:
    """1000000, 1,000,000.00, 100万 (x 10,000), optional ¥ and 元; ``scale``
    multiplies plain numbers (header 注册资本(万元)). Returns Float64 rounded
    to cents (negative values are returned, the caller flags them)."""
    s = _strip_number(expr).str.strip_suffix("元")
    wan = s.str.ends_with("万")
    num = s.str.strip_suffix("万")
    value = pl.when(num.str.contains(_NUM_RE)).then(num.cast(pl.Float64, strict=False))
    scale_e = scale if isinstance(scale, pl.Expr) else pl.lit(scale)
    mult = pl.when(wan).then(pl.lit(10000.0)).otherwise(scale_e.cast(pl.Float64))
    return (value * mult).round(2)


def parse_integer(expr: pl.Expr) -> pl.Expr:
    s = _strip_number(expr)
    s = pl.when(s.str.contains(r"^[+-]?[0-9]+(?:\.0*)?$")).then(s.str.replace(r"\.0*$", ""))
    return s.cast(pl.Int64, strict=False)


def parse_enum(expr: pl.Expr, enum: str) -> pl.Expr:
    """Code or Chinese label (any '/' part of it) -> code."""
    key = expr.str.replace_all(r"\s+", "").str.to_lowercase()
    return key.replace_strict(enum_lookup(enum), default=None, return_dtype=pl.String)


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 Feb
        return d.replace(year=d.year + years, day=28)
