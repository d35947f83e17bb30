"""What every site page's data shares, and the bureau page's data.

Pull the marts for the site: one query per mart, grouped per employer in
polars, JSON-encoded per employer without a per-row Python loop. Everything
that leaves these modules is publishable: ID numbers masked, counts that need
it suppressed, dates as ISO strings.

Per page: ``employer_data.py`` (employer pages), this module's bureau section
(bureau page), ``overview_data.py`` (index: the run overview; rules page).
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


# ---------------------------------------------------------------- bureau

def _numeric_cols(df: pl.DataFrame, exclude=()) -> list[str]:
    return [c for c, t in df.schema.items() if t.is_numeric() and c not in exclude]


def _require(df: pl.DataFrame, mart: str, cols: tuple[str, ...]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SiteDataError(f"mart {mart} lacks column(s) {', '.join(missing)} / {mart} 缺少列 {', '.join(missing)}")


def _suppressed_values(df: pl.DataFrame, label_col: str, col: str, min_cell: int) -> list:
    """The published values of one count column, in df's row order."""
    sup = suppress_table(df, label_col, [col], min_cell)
    lookup = dict(zip(sup[label_col].to_list(), sup[col].to_list()))
    return _counts_out([lookup.get(k) for k in df[label_col].cast(pl.String).to_list()], f"<{min_cell}")


def _shown(v) -> bool:
    """A published count (not a suppression mark, not withheld)."""
    return isinstance(v, int)


def _published_order(values: list, labels: list) -> list[int]:
    """Row order by published value, largest first; hidden values last in
    label order: never by a value that is not published."""
    return sorted(range(len(values)), key=lambda i: (not _shown(values[i]),
                                                     -(values[i] if _shown(values[i]) else 0), str(labels[i])))


def bureau_data(con, min_cell: int, ranking_rows: int = 100) -> dict:
    names = table_names(con)
    tag = f"<{min_cell}"
    note_zh, note_en = privacy.secondary_note(min_cell)
    out: dict = {"min_cell": min_cell, "suppressed": tag, "withheld_mark": privacy.SECONDARY_MARK,
                 "note_zh": note_zh, "note_en": note_en, "kpis": [], "dims": [], "flow": None,
                 "processing": None, "returns": None, "findings": None, "ranking": None, "xtabs": []}

    if "bureau_kpis" in names:  # long format: kpi, label_zh, label_en, value, sort_order
        df = read_table(con, "bureau_kpis")
        _require(df, "bureau_kpis", ("kpi", "value"))
        if "sort_order" in df.columns:
            df = df.sort("sort_order")
        for r in df.iter_rows(named=True):  # ~20 KPI rows
            zh, en = L.BUREAU_KPI_LABELS.get(r["kpi"], (r["kpi"], r["kpi"]))
            k = str(r["kpi"])
            out["kpis"].append({"k": k, "zh": r.get("label_zh") or zh, "en": r.get("label_en") or en,
                                "v": r["value"], "pct": "share" in k or "rate" in k,
                                "cls": "bad" if k in ("findings_error", "permits_lapsed") else
                                "warn" if k == "findings_warning" else ""})

    if "bureau_permits_by_dimension" in names:
        df = read_table(con, "bureau_permits_by_dimension")
        _require(df, "bureau_permits_by_dimension", ("dimension", "code", "permits"))
        for dim, zh_title, en_title, note_zh in L.DIMENSIONS:
            part = df.filter(pl.col("dimension").is_in(list(L.DIMENSION_ALIASES[dim])))
            if part.height == 0:
                continue
            part = part.sort("sort_order" if "sort_order" in part.columns else "code")
            zh = part["label_zh"] if "label_zh" in part.columns else part["code"]
            en = part["label_en"] if "label_en" in part.columns else part["code"]
            out["dims"].append({"dim": dim, "zh": zh_title, "en": en_title, "note_zh": note_zh,
                                "note_en": L.DIMENSION_NOTES_EN[dim],
                                "x_zh": zh.cast(pl.String).to_list(), "x_en": en.cast(pl.String).to_list(),
                                "y": _suppressed_values(part, "code", "permits", min_cell)})

    if "bureau_monthly_flow" in names:
        df = read_table(con, "bureau_monthly_flow")
        _require(df, "bureau_monthly_flow", ("month",))
        df = df.sort("month").tail(24)
        df = df.with_columns(pl.col("month").cast(pl.Date).dt.strftime("%Y-%m").alias("_m"))
        series = [(c, zh, en) for cands, zh, en in L.FLOW_SERIES
                  if (c := _first_present(df.columns, cands))]
        sup = suppress_table(df, "_m", [c for c, _, _ in series], min_cell)
        out["flow"] = {"months": df["_m"].to_list(),
                       "series": [{"k": c, "zh": zh, "en": en, "y": _counts_out(sup[c].to_list(), tag)}
                                  for c, zh, en in series]}

    if "bureau_processing_by_district" in names:
        df = read_table(con, "bureau_processing_by_district")
        _require(df, "bureau_processing_by_district", ("district", "applications"))
        med = _first_present(df.columns, ("median_wd", "median_working_days"))
        p90 = _first_present(df.columns, ("p90_wd", "p90_working_days"))
        share = _first_present(df.columns, ("share_within_sla", "within_sla_share"))
        n_pub = _suppressed_values(df, "district", "applications", min_cell)
        over = _suppressed_values(df, "district", "over_sla", min_cell) if "over_sla" in df.columns else None
        # a median, a percentile or a share describes its n people: none for n < min_cell or a hidden n;
        # a share with its n gives its count: none where that count (over the promise) is hidden
        stat_ok = [_shown(v) and v >= min_cell for v in n_pub]
        share_ok = [ok and (over is None or _shown(o)) for ok, o in zip(stat_ok, over or [None] * len(n_pub))]

        def gated(col, ok):
            return [v if k else None for v, k in zip(_floats(df[col]), ok)] if col else None

        medians = gated(med, stat_ok)
        order = _published_order([None if m is None else int(m * 1000) for m in medians] if medians else n_pub,
                                 df["district"].to_list())
        zh = [L.ENUMS["district"].get(c, (c, c))[0] for c in df["district"].to_list()]
        en = [L.ENUMS["district"].get(c, (c, c))[1] for c in df["district"].to_list()]
        if "label_zh" in df.columns:
            zh = [z or d for z, d in zip(df["label_zh"].to_list(), zh)]
        if "label_en" in df.columns:
            en = [e or d for e, d in zip(df["label_en"].to_list(), en)]
        sla = int(df["sla_working_days"].max()) if "sla_working_days" in df.columns and df.height else 15

        def ordered(xs):
            return [xs[i] for i in order] if xs is not None else None

        out["processing"] = {
            "x_zh": ordered(zh), "x_en": ordered(en), "sla": sla,
            "median": ordered(medians), "p90": ordered(gated(p90, stat_ok)),
            "share": ordered(gated(share, share_ok)), "n": ordered(n_pub), "over": ordered(over),
        }

    if "bureau_return_reasons" in names:
        df = publishable(read_table(con, "bureau_return_reasons"))
        _require(df, "bureau_return_reasons", ("return_reason", "applications"))
        df = df.filter(pl.col("return_reason").is_not_null())
        df = df.group_by("return_reason", maintain_order=True).agg(pl.col(c).sum() for c in df.columns
                                                                    if c in ("applications", "applications_12m"))
        cols = [(c, zh, en) for c, zh, en in (("applications", "全部", "All time"),
                                              ("applications_12m", "近12个月", "Last 12 months")) if c in df.columns]
        # suppressed over the whole list (its totals), then ordered by what is published and cut to 30
        sup = suppress_table(df, "return_reason", [c for c, _, _ in cols], min_cell)
        ys = {c: _counts_out(sup[c].to_list(), tag) for c, _, _ in cols}
        reasons = sup["return_reason"].to_list()
        order = _published_order(ys["applications"], reasons)[:30]
        out["returns"] = {"x": [reasons[i] for i in order],
                          "series": [{"k": c, "zh": zh, "en": en, "y": [ys[c][i] for i in order]}
                                     for c, zh, en in cols]}

    # findings by rule: counts of rule breaches, not a tabulation of people: not suppressed
    if "bureau_findings_by_rule" in names:
        df = read_table(con, "bureau_findings_by_rule")
        _require(df, "bureau_findings_by_rule", ("rule_id", "findings"))
        df = df.sort("findings", descending=True)
        sev = df["severity"].to_list() if "severity" in df.columns else [None] * df.height
        table = publishable(df)
        # open findings; waived ones (approved exceptions) in a column of their own (docs/marts.md)
        meta = column_meta(table.columns, ("rule_id", "severity", "entity_type", "findings", "employers", "waived"))
        for m in meta:
            if m["k"] == "entity_type":
                m["t"] = "enum:entity_type_rule"
        out["findings"] = {"rule": df["rule_id"].to_list(), "y": [int(v or 0) for v in df["findings"].to_list()],
                           "severity": sev, "table": {"columns": meta, "rows": _col_dict(table.select(payload_columns(meta)))}}

    if "bureau_employer_ranking" in names:
        df = publishable(read_table(con, "bureau_employer_ranking"))
        if "rank" in df.columns:
            df = df.sort("rank")
        df = df.head(ranking_rows)
        meta = column_meta(df.columns, ("rank", "uscc", "name", "district", "permits_active", "noncompliance_findings",
                                        "noncompliance_per_100", "top_rule_id"))
        for m in meta:
            if m["k"] == "name":
                m["zh"], m["en"] = "单位名称", "Employer"
        out["ranking"] = {"columns": meta, "rows": _col_dict(df.select(payload_columns(meta)))}

    for name in sorted(n for n in names if n.startswith("bureau_xtab_")):
        df = read_table(con, name)
        _require(df, name, ("row_code", "col_code", "permits"))
        out["xtabs"].append(_xtab(con, name, df, min_cell))
    return out


def _xtab(con, name: str, df: pl.DataFrame, min_cell: int) -> dict:
    """Long (row, col, permits) -> wide table with totals, small cells suppressed."""
    row_label = "row_label_zh" if "row_label_zh" in df.columns else "row_code"
    col_label = "col_label_zh" if "col_label_zh" in df.columns else "col_code"
    cols = df.select("col_code", col_label).unique("col_code", maintain_order=True)
    if "col_sort" in df.columns:
        cols = df.select("col_code", col_label, "col_sort").unique("col_code").sort("col_sort")
    col_codes = [str(c) for c in cols["col_code"].to_list()]
    wide = (df.with_columns(pl.col("col_code").cast(pl.String), pl.col(row_label).cast(pl.String))
            .pivot(on="col_code", index=["row_code", row_label], values="permits", aggregate_function="sum")
            .fill_null(0))
    order = {c: i for i, c in enumerate(L.ENUMS["district"])}
    wide = (wide.with_columns(pl.col("row_code").replace_strict(order, default=len(order)).alias("_o"))
            .sort("_o", "row_code").drop("_o"))
    col_codes = [c for c in col_codes if c in wide.columns]
    sup = suppress_table(wide, row_label, col_codes, min_cell, keep_totals=True)
    kind = name.replace("bureau_xtab_district_", "")
    enum = {"degree": "degree", "category": "category", "title": "title_level", "gender": "gender"}.get(kind, kind)
    meta = [{"k": row_label, "zh": "区", "en": "District", "t": "text"}]
    en_rows = [L.ENUMS["district"].get(c, (c, c))[1] for c in wide["row_code"].to_list()] + ["Total"]
    for code, lab in zip(cols["col_code"].to_list(), cols[col_label].to_list()):
        if str(code) in col_codes:
            meta.append({"k": str(code), "zh": str(lab), "en": L.ENUMS.get(enum, {}).get(code, (lab, code))[1], "t": "num"})
    if "total" in sup.columns:
        meta.append({"k": "total", "zh": "合计", "en": "Total", "t": "num"})
    rows = _col_dict(sup)
    rows["_en"] = en_rows[: sup.height] if sup.height == len(en_rows) else sup[row_label].to_list()
    meta[0]["ek"] = "_en"
    dims_zh = {"category": "单位分类", "degree": "学位", "title": "职称", "title_level": "职称", "gender": "性别",
               "age_band": "年龄段"}
    if kind in dims_zh:
        zh, en = f"有效证件:区 × {dims_zh[kind]}", f"Active permits: district × {kind.replace('_', ' ')}"
    else:
        zh = en = _table_comment(con, name) or name
    return {"name": name, "columns": meta, "rows": rows, "zh": zh, "en": en}


def _table_comment(con, name) -> str:
    rows = con.sql(f"SELECT comment FROM duckdb_tables() WHERE table_name = '{name}'").fetchall()
    return (rows[0][0] or "") if rows else ""


def _floats(s: pl.Series) -> list:
    return [None if v is None else round(float(v), 3) for v in s.to_list()]


def _counts_out(values: list, tag: str) -> list:
    """Counts as ints, suppressed cells as their mark ("<5" or the secondary
    mark), a withheld table's cells as None."""
    out = []
    for v in values:  # one value per chart bar: a few dozen per chart
        if v is None:
            out.append(None)
        elif isinstance(v, str):
            out.append(v if v.startswith("<") or v == privacy.SECONDARY_MARK else int(float(v)))
        else:
            out.append(int(v))
    return out


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

