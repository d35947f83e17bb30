"""What every site page's data shares.

Pull the marts for the site: one query per mart, grouped per employer in
polars, JSON-encoded per employer without a per-row Python loop. Everything
that leaves these modules is publishable: ID numbers masked, counts that need
it suppressed, dates as ISO strings.

Per page: ``employer_data.py`` (employer pages), ``bureau_data.py`` (bureau
page), ``overview_data.py`` (index: the run overview; rules page).
"""
from __future__ import annotations

import json
from typing import Optional

import duckdb
import polars as pl

from reports import privacy
from reports.site import labels as L

ID_COLUMNS_SUFFIX = "id_number"
# columns never shown on a page: internal, or the same on every row of an employer page
HIDDEN_COLUMNS = {"run_id", "as_of", "detail", "employer_name_en", "policy"}
# columns whose values are codes, never personal data: skip the free-text ID scan
CODE_COLUMNS = {"uscc", "withholder_uscc", "permit_no", "application_id", "rule_id", "rule_ids"}


class SiteDataError(ValueError):
    """A mart the site needs is missing or malformed."""


# ---------------------------------------------------------------- privacy

def mask_expr(col: str) -> pl.Expr:
    """Polars expression masking an ID column (110105********123X)."""
    return privacy.mask_id_expr(col).alias(col)


def mask_ids_in_text(col: str) -> pl.Expr:
    """Mask resident IDs embedded in free text (messages, reasons, keys)."""
    return privacy.mask_ids_in_text_expr(col).alias(col)


TOTAL_LABEL = "合计"


def suppress_table(df: pl.DataFrame, label_col: str, value_cols: list[str], min_cell: int,
                   keep_totals: bool = False) -> pl.DataFrame:
    """Small-cell suppression of raw counts: returns label_col + value_cols as
    strings, cells below min_cell shown as "<min_cell>".

    Uses ``reports.privacy.suppress_small_cells`` (primary + secondary
    suppression against the published totals; zeros are published). Without ``keep_totals`` the total row/column it adds are dropped (charts
    show the cells only)."""
    value_cols = [c for c in value_cols if c in df.columns]
    small = df.select([pl.col(label_col).cast(pl.String), *[pl.col(c).cast(pl.Int64) for c in value_cols]])
    out = privacy.suppress_small_cells(small, value_cols, min_cell=min_cell, label_cols=[label_col],
                                       total_label=TOTAL_LABEL)
    if not keep_totals:
        out = out.filter(pl.col(label_col).is_null() | (pl.col(label_col) != TOTAL_LABEL))
        if "total" in out.columns and "total" not in value_cols:
            out = out.drop("total")
    return out.with_columns([pl.col(c).cast(pl.String) for c in out.columns if c != label_col])


# ---------------------------------------------------------------- reading

def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    return {r[0] for r in rows}


def read_table(con: duckdb.DuckDBPyConnection, name: str, where: str = "") -> pl.DataFrame:
    return con.sql(f'SELECT * FROM "{name}" {where}').pl()


def publishable(df: pl.DataFrame, keep: Optional[set] = None) -> pl.DataFrame:
    """Mask IDs, render dates/decimals/JSON for the page, drop hidden columns.

    A raw ``*id_number`` column is dropped when its ``*_masked`` sibling is
    there (the marts publish that one), else masked here."""
    drop = [c for c in df.columns if c in HIDDEN_COLUMNS or (c.endswith(ID_COLUMNS_SUFFIX) and f"{c}_masked" in df.columns)]
    if keep is not None:
        drop += [c for c in df.columns if c not in keep and c != "uscc"]
    df = df.drop(sorted(set(drop)))
    exprs = []
    for c, t in df.schema.items():
        if c.endswith("_masked"):
            continue
        if c.endswith(ID_COLUMNS_SUFFIX):
            if isinstance(t, pl.List):
                exprs.append(pl.col(c).list.eval(pl.element().cast(pl.String)).alias(c))
            else:
                exprs.append(mask_expr(c))
        elif t == pl.Date:
            exprs.append(pl.col(c).dt.strftime("%Y-%m-%d").alias(c))
        elif isinstance(t, pl.Datetime):
            exprs.append(pl.col(c).dt.strftime("%Y-%m-%d %H:%M").alias(c))
        elif isinstance(t, pl.Decimal):
            exprs.append(pl.col(c).cast(pl.Float64).alias(c))
        elif isinstance(t, pl.List) and t.inner in (pl.Date,):
            exprs.append(pl.col(c).list.eval(pl.element().dt.strftime("%Y-%m")).alias(c))
        elif isinstance(t, pl.List) and t.inner == pl.String and c not in CODE_COLUMNS:
            exprs.append(pl.col(c).list.eval(pl.element().str.replace_all(privacy._ID18_POLARS, "${1}********${2}"))
                         .alias(c))
        elif isinstance(t, (pl.Struct, pl.Object)) or (isinstance(t, pl.List) and not t.inner.is_primitive()):
            enc = pl.col(c).struct.json_encode() if isinstance(t, pl.Struct) else pl.col(c).cast(pl.String, strict=False)
            exprs.append(enc.str.replace_all(privacy._ID18_POLARS, "${1}********${2}").alias(c))
        elif t == pl.String and c not in CODE_COLUMNS:
            exprs.append(mask_ids_in_text(c))
        elif t == pl.Time or isinstance(t, pl.Duration):
            exprs.append(pl.col(c).cast(pl.String).alias(c))
    if exprs:
        df = df.with_columns(exprs)
    df = df.with_columns([clip_text(pl.col(c)).alias(c) for c, t in df.schema.items() if t == pl.String])
    # list-of-ID columns: mask each element
    for c, t in df.schema.items():
        if c.endswith(ID_COLUMNS_SUFFIX) and isinstance(t, pl.List):
            df = df.with_columns(pl.col(c).list.eval(pl.element().str.replace_all(
                r"^(.{6}).{8}(.{4})$", "${1}********${2}")).alias(c))
    return df


def column_meta(columns: list[str], show: Optional[tuple] = None) -> list[dict]:
    """Header and display type of each shown column. ``X`` with a ``X_zh``
    sibling shows the Chinese label in Chinese and X (translated) in English;
    ``foo_zh`` with ``foo_en`` shows the one of the page's language."""
    cols = list(columns)
    order = [c for c in show if c in cols] if show else [c for c in cols if not _is_sibling(c, cols)]
    out = []
    for c in order:
        zh, en, kind = L.COLUMNS.get(c, (c, c.replace("_", " "), "text"))
        if c.endswith(ID_COLUMNS_SUFFIX) or c.endswith("id_number_masked"):
            kind = "id"
        m = {"k": c, "zh": zh, "en": en, "t": kind}
        if f"{c}_zh" in cols:
            m["k"], m["ek"] = f"{c}_zh", c
        elif c.endswith("_zh") and c[:-3] + "_en" in cols:
            m["ek"] = c[:-3] + "_en"
        out.append(m)
    return out


def _is_sibling(c: str, cols: list[str]) -> bool:
    """X_zh (shown through X) and foo_en (shown through foo_zh) are not columns of their own."""
    return (c.endswith("_zh") and c[:-3] in cols) or (c.endswith("_en") and c[:-3] + "_zh" in cols)


def payload_columns(meta: list[dict]) -> list[str]:
    out = []
    for m in meta:
        for k in (m["k"], m.get("ek")):
            if k and k not in out:
                out.append(k)
    return out


def _first_present(cols, candidates):
    for c in candidates:
        if c in cols:
            return c
    return None


def _col_dict(df: pl.DataFrame) -> dict:
    return {c: df[c].to_list() for c in df.columns}


_SCRIPT_ESCAPES = (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                   ("\u2029", "\\u2029"))


def script_safe(json_text: str) -> str:
    """JSON text made safe inside an HTML <script> element (and a .js file):
    ``<``, ``>``, ``&``, U+2028 and U+2029 become ``\\uXXXX`` escapes. In
    JSON they can only occur inside strings, where the escape means the same
    character, so ``JSON.parse`` gives back the same value; no ``</script>``,
    ``<!--`` or ``]]>`` can end or bend the element."""
    for ch, esc in _SCRIPT_ESCAPES:
        json_text = json_text.replace(ch, esc)
    return json_text


def dumps(obj) -> str:
    """JSON for embedding in a <script> element (``script_safe``)."""
    return script_safe(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str))


MAX_TEXT_CHARS = 500  # a longer text value is shortened for display; the warehouse keeps it whole
MAX_NAME_CHARS = 120  # employer names (page titles, headings, directory)


def clip_text(expr: pl.Expr, n: int = MAX_TEXT_CHARS) -> pl.Expr:
    """``expr`` shortened to ``n`` characters (the last one "…") when longer."""
    return pl.when(expr.str.len_chars() > n).then(expr.str.slice(0, n - 1) + pl.lit("…")).otherwise(expr)

