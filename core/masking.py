"""ID-number masking: the one rule, as a Python function, a polars expression
and a DuckDB macro (``MASK_ID_SQL``, created by ``core.sql.create_macros``)
that give the same output for every value (tests/test_core.py checks all three
against each other on generated IDs of every type and length).

Rule: a value of 15 or more characters (resident IDs, Hong Kong / Macao / Taiwan
and foreign permanent-resident IDs, old 15-digit IDs) keeps its first 6 and
last 4 characters with exactly eight ``*`` between them
(``11010519900307123X`` -> ``110105********123X``, outputs.md); anything shorter
(passports and other documents) is starred whole, one ``*`` per character, so
no part of a short number is ever published. NULL stays NULL.
"""
from __future__ import annotations

import polars as pl

KEEP_FROM = 15  # shortest value that keeps its first 6 and last 4 characters

MASK_ID_SQL = (f"CREATE OR REPLACE TEMP MACRO mask_id(id) AS CASE WHEN id IS NULL THEN NULL "
               f"WHEN length(CAST(id AS VARCHAR)) >= {KEEP_FROM} "
               f"THEN left(CAST(id AS VARCHAR), 6) || '********' || right(CAST(id AS VARCHAR), 4) "
               f"ELSE repeat('*', length(CAST(id AS VARCHAR))) END")


def mask_id(s: str | None) -> str | None:
    """``11010519900307123X`` -> ``110105********123X``; short values all ``*``."""
    if s is None:
        return None
    s = str(s)
    if len(s) < KEEP_FROM:
        return "*" * len(s)
    return s[:6] + "********" + s[-4:]


def mask_id_expr(expr: pl.Expr | str) -> pl.Expr:
    """Polars form of :func:`mask_id` (vectorised); keeps the column name."""
    c = (pl.col(expr) if isinstance(expr, str) else expr).cast(pl.String)
    n = c.str.len_chars()
    out = (pl.when(c.is_null()).then(None)
           .when(n < KEEP_FROM).then(pl.lit("*").repeat_by(n).list.join(""))
           .otherwise(pl.concat_str([c.str.slice(0, 6), pl.lit("********"), c.str.slice(-4, 4)])))
    return out.alias(expr) if isinstance(expr, str) else out
