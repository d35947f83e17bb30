"""Pull the marts for the site: one query per mart, grouped per employer in
polars, JSON-encoded per employer without a per-row Python loop.

Everything that leaves this module is publishable: ID numbers masked, counts
that need it suppressed, dates as ISO strings.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Optional

import duckdb
import polars as pl

from core.dates import add_months
from reports import privacy
from reports.site import labels as L

ID_COLUMNS_SUFFIX = "id_number"
# columns never shown on a page: internal, or the same on every row of an employer page
HIDDEN_COLUMNS = {"run_id", "as_of", "detail", "employer_name_en", "policy"}
# columns whose values are codes, never personal data: skip the free-text ID scan
CODE_COLUMNS = {"uscc", "withholder_uscc", "permit_no", "application_id", "rule_id", "rule_ids"}
# an 18-character resident ID inside free text (area, birth date, sequence, check)
ID_IN_TEXT_KEEP = r"(\d{6})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3}[\dXx])"


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
            exprs.append(pl.col(c).list.eval(pl.element().str.replace_all(ID_IN_TEXT_KEEP, "${1}********${3}")).alias(c))
        elif isinstance(t, (pl.Struct, pl.Object)) or (isinstance(t, pl.List) and not t.inner.is_primitive()):
            enc = pl.col(c).struct.json_encode() if isinstance(t, pl.Struct) else pl.col(c).cast(pl.String, strict=False)
            exprs.append(enc.str.replace_all(ID_IN_TEXT_KEEP, "${1}********${3}").alias(c))
        elif t == pl.String and c not in CODE_COLUMNS:
            exprs.append(mask_ids_in_text(c))
        elif t == pl.Time or isinstance(t, pl.Duration):
            exprs.append(pl.col(c).cast(pl.String).alias(c))
    if exprs:
        df = df.with_columns(exprs)
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


# ---------------------------------------------------------------- employers

@dataclass
class EmployerData:
    frame: pl.DataFrame  # uscc, name, blob (JSON object text, without the outer page wrapper)
    tables: list[dict] = field(default_factory=list)  # shared table meta for the page JS
    months: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    kpis: list[dict] = field(default_factory=list)
    rows_capped: dict[str, int] = field(default_factory=dict)
    orphans: dict[str, int] = field(default_factory=dict)  # mart -> rows whose uscc has no employer page


def _first_present(cols, candidates):
    for c in candidates:
        if c in cols:
            return c
    return None


def employer_base(con, names: set[str]) -> pl.DataFrame:
    """One row per employer: uscc, name, district, and the KPI object."""
    if "employer_summary" in names:
        df = read_table(con, "employer_summary")
    elif "employers" in names:
        df = read_table(con, "employers")
    else:
        raise SiteDataError("neither employer_summary nor employers is in the warehouse / 仓库中没有聘用单位数据")
    if "uscc" not in df.columns:
        raise SiteDataError("employer_summary has no uscc column / employer_summary 缺少 uscc 列")
    name_col = _first_present(df.columns, ("name", "employer_name"))
    district_col = _first_present(df.columns, ("district",))
    kpi_cols = []
    for cands, _zh, _en in L.EMPLOYER_KPIS:
        c = _first_present(df.columns, cands)
        if c:
            kpi_cols.append(c)
    bad = df.filter(~pl.col("uscc").cast(pl.String).str.contains(r"^[0-9A-Za-z]{1,40}$") | pl.col("uscc").is_null())
    if bad.height:
        raise SiteDataError(f"employer_summary row with an unusable uscc {bad['uscc'][0]!r} "
                            f"(cannot name a folder) / 统一社会信用代码无法作为目录名")
    out = df.select(
        pl.col("uscc").cast(pl.String),
        (pl.col(name_col).cast(pl.String) if name_col else pl.col("uscc").cast(pl.String)).alias("name"),
        (pl.col(district_col).cast(pl.String) if district_col else pl.lit(None, pl.String)).alias("district"),
        (pl.struct([pl.col(c).cast(pl.Float64) for c in kpi_cols]).struct.json_encode()
         if kpi_cols else pl.lit("{}")).alias("kpi"),
    ).unique("uscc", keep="first", maintain_order=True).sort("uscc")
    return out


def employer_kpi_meta(con, names) -> list[dict]:
    cols = con.sql("SELECT * FROM employer_summary LIMIT 0").columns if "employer_summary" in names else []
    out = []
    for cands, zh, en in L.EMPLOYER_KPIS:
        c = _first_present(cols, cands)
        out.append({"k": c or cands[0], "zh": zh, "en": en, "present": bool(c)})
    return out


def action_table(con, spec: dict, cap: int, only: Optional[list] = None) -> tuple[pl.DataFrame, dict]:
    """uscc -> '{"n":total,"c":{col:[...]}}' for one action mart (one query)."""
    df = read_table(con, spec["mart"])
    if only is not None and "uscc" in df.columns:
        df = df.filter(pl.col("uscc").is_in(only))
    if "uscc" not in df.columns:
        raise SiteDataError(f"mart {spec['mart']} has no uscc column / {spec['mart']} 缺少 uscc 列")
    meta_cols = column_meta([c for c in df.columns if c not in ("uscc", "employer_name")], spec.get("show"))
    show = payload_columns(meta_cols)
    sort_cols = [c for c in spec["sort"] if c in df.columns]
    if sort_cols:
        df = df.sort(["uscc", *sort_cols], descending=[False] + [bool(spec.get("desc"))] * len(sort_cols),
                     nulls_last=True)
    df = publishable(df, keep=set(show))
    counts = df.group_by("uscc").agg(pl.len().alias("_n"))
    df = df.filter(pl.int_range(pl.len()).over("uscc") < cap)
    grouped = df.group_by("uscc").agg([pl.col(c) for c in show]).join(counts, on="uscc", how="left")
    grouped = grouped.select(
        pl.col("uscc").cast(pl.String),
        pl.concat_str([pl.lit('{"n":'), pl.col("_n").cast(pl.String), pl.lit(',"c":'),
                       pl.struct(show).struct.json_encode(), pl.lit("}")]).alias(spec["key"]),
    )
    meta = {"key": spec["key"], "zh": spec["zh"], "en": spec["en"], "note_zh": spec["note_zh"],
            "note_en": spec["note_en"], "columns": meta_cols, "cap": cap}
    return grouped, meta


def expiry_series(con, names, as_of: dt.date) -> tuple[pl.DataFrame | None, list[str]]:
    """Active permits expiring per month, next 12 months, per employer."""
    start = as_of.replace(day=1)
    months = [add_months(start, i).strftime("%Y-%m") for i in range(12)]
    if "permit_status" not in names:
        return None, months
    cols = con.sql("SELECT * FROM permit_status LIMIT 0").columns
    if "expires_on" not in cols or "uscc" not in cols:
        raise SiteDataError("permit_status lacks uscc/expires_on / permit_status 缺少 uscc 或 expires_on")
    if "status" in cols:
        cond = "status = 'active'"
    elif "window_state" in cols:
        cond = "window_state <> 'inactive'"
    else:
        cond = "TRUE"
    end = add_months(start, 12)
    agg = con.sql(
        f"SELECT uscc, strftime(expires_on, '%Y-%m') AS m, count(*) AS n FROM permit_status "
        f"WHERE {cond} AND expires_on >= DATE '{as_of}' AND expires_on < DATE '{end}' GROUP BY ALL"
    ).pl()
    return _fixed_series(agg, months, "expiry"), months


def funnel_series(con, names) -> tuple[pl.DataFrame | None, list[str]]:
    order = L.APPLICATION_STATUS_ORDER
    if "applications" not in names:
        return None, order
    agg = con.sql("SELECT uscc, CAST(status AS VARCHAR) AS m, count(*) AS n FROM applications GROUP BY ALL").pl()
    return _fixed_series(agg, order, "funnel"), order


def _fixed_series(agg: pl.DataFrame, keys: list[str], name: str) -> pl.DataFrame:
    """(uscc, m, n) long rows -> uscc, '[n for each key]' JSON array text."""
    agg = agg.filter(pl.col("m").is_in(keys))
    if agg.height == 0:
        return pl.DataFrame({"uscc": [], name: []}, schema={"uscc": pl.String, name: pl.String})
    wide = agg.pivot(on="m", index="uscc", values="n")
    for k in keys:
        if k not in wide.columns:
            wide = wide.with_columns(pl.lit(0).alias(k))
    return wide.select(
        pl.col("uscc").cast(pl.String),
        pl.concat_str([pl.lit("["), pl.concat_str([pl.col(k).fill_null(0).cast(pl.Int64).cast(pl.String) for k in keys],
                                                 separator=","), pl.lit("]")]).alias(name),
    )


def employer_data(con, as_of: dt.date, cap: int = 300, only: Optional[list] = None) -> EmployerData:
    """Every employer's page data (``only``: just these employers)."""
    names = table_names(con)
    base = employer_base(con, names)
    if only is not None:
        base = base.filter(pl.col("uscc").is_in(only))
    tables_meta = []
    parts = []
    orphans: dict[str, int] = {}
    frame = base
    for spec in L.EMPLOYER_TABLES:
        if spec["mart"] not in names:
            tables_meta.append({"key": spec["key"], "zh": spec["zh"], "en": spec["en"], "note_zh": spec["note_zh"],
                                "note_en": spec["note_en"], "columns": [], "missing": True, "cap": cap})
            parts.append((spec["key"], None))
            continue
        grouped, meta = action_table(con, spec, cap, only)
        tables_meta.append(meta)
        lost = grouped.join(base.select("uscc"), on="uscc", how="anti")
        if lost.height:
            orphans[spec["mart"]] = int(con.sql(
                f'SELECT count(*) FROM "{spec["mart"]}" WHERE uscc IS NULL OR uscc NOT IN '
                f'(SELECT uscc FROM {"employer_summary" if "employer_summary" in names else "employers"})'
            ).fetchall()[0][0])
        frame = frame.join(grouped, on="uscc", how="left")
        parts.append((spec["key"], spec["key"]))
    expiry, months = expiry_series(con, names, as_of)
    funnel, statuses = funnel_series(con, names)
    zeros12 = "[" + ",".join(["0"] * len(months)) + "]"
    zeros_f = "[" + ",".join(["0"] * len(statuses)) + "]"
    if expiry is not None:
        frame = frame.join(expiry, on="uscc", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("expiry"))
    if funnel is not None:
        frame = frame.join(funnel, on="uscc", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("funnel"))
    empty_table = '{"n":0,"c":{}}'
    table_json = [pl.lit('"tables":{')]
    for i, (key, col) in enumerate(parts):
        sep = "," if i else ""
        val = pl.col(col).fill_null(empty_table) if col else pl.lit(empty_table)
        table_json += [pl.lit(f'{sep}"{key}":'), val]
    table_json.append(pl.lit("}"))
    blob = pl.concat_str([
        pl.struct(pl.col("uscc"), pl.col("name"), pl.col("district")).struct.json_encode().str.strip_suffix("}"),
        pl.lit(',"kpi":'), pl.col("kpi"), pl.lit(","),
        *table_json,
        pl.lit(',"charts":{"expiry":'), pl.col("expiry").fill_null(zeros12),
        pl.lit(',"funnel":'), pl.col("funnel").fill_null(zeros_f), pl.lit("}}"),
    ]).alias("blob")
    frame = frame.select("uscc", "name", "district", blob)
    return EmployerData(frame=frame, tables=tables_meta, months=months, statuses=statuses,
                        kpis=employer_kpi_meta(con, names), orphans=orphans)


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


def bureau_data(con, min_cell: int, ranking_rows: int = 100) -> dict:
    names = table_names(con)
    tag = f"<{min_cell}"
    out: dict = {"min_cell": min_cell, "suppressed": tag, "kpis": [], "dims": [], "flow": None,
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
        df = df.sort(med if med else "applications", descending=True, nulls_last=True)
        zh = [L.ENUMS["district"].get(c, (c, c))[0] for c in df["district"].to_list()]
        en = [L.ENUMS["district"].get(c, (c, c))[1] for c in df["district"].to_list()]
        if "label_zh" in df.columns:
            zh = [z or d for z, d in zip(df["label_zh"].to_list(), zh)]
        if "label_en" in df.columns:
            en = [e or d for e, d in zip(df["label_en"].to_list(), en)]
        sla = int(df["sla_working_days"].max()) if "sla_working_days" in df.columns and df.height else 15
        p90 = _first_present(df.columns, ("p90_wd", "p90_working_days"))
        share = _first_present(df.columns, ("share_within_sla", "within_sla_share"))
        out["processing"] = {
            "x_zh": zh, "x_en": en, "sla": sla,
            "median": _floats(df[med]) if med else None, "p90": _floats(df[p90]) if p90 else None,
            "share": _floats(df[share]) if share else None,
            "n": _suppressed_values(df, "district", "applications", min_cell),
            "over": _suppressed_values(df, "district", "over_sla", min_cell) if "over_sla" in df.columns else None,
        }

    if "bureau_return_reasons" in names:
        df = publishable(read_table(con, "bureau_return_reasons"))
        _require(df, "bureau_return_reasons", ("return_reason", "applications"))
        df = df.filter(pl.col("return_reason").is_not_null()).sort("applications", descending=True).head(30)
        out["returns"] = {"x": df["return_reason"].to_list(),
                          "series": [{"k": c, "zh": zh, "en": en,
                                      "y": _suppressed_values(df, "return_reason", c, min_cell)}
                                     for c, zh, en in (("applications", "全部", "All time"),
                                                       ("applications_12m", "近12个月", "Last 12 months"))
                                     if c in df.columns]}

    # findings by rule: counts of rule breaches, not a tabulation of people: not suppressed
    if "bureau_findings_by_rule" in names:
        df = read_table(con, "bureau_findings_by_rule")
        _require(df, "bureau_findings_by_rule", ("rule_id", "findings"))
        df = df.sort("findings", descending=True)
        sev = df["severity"].to_list() if "severity" in df.columns else [None] * df.height
        table = publishable(df)
        meta = column_meta(table.columns, ("rule_id", "severity", "entity_type", "findings", "employers"))
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
    """Counts as ints, suppressed cells as the tag string."""
    out = []
    for v in values:  # one value per chart bar: a few dozen per chart
        if v is None:
            out.append(None)
        elif isinstance(v, str):
            out.append(v if v.startswith("<") else int(float(v)))
        else:
            out.append(int(v))
    return out


def _col_dict(df: pl.DataFrame) -> dict:
    return {c: df[c].to_list() for c in df.columns}


# ---------------------------------------------------------------- index

def run_overview(con, run_id: str, summary: Optional[dict] = None) -> dict:
    """What the run was: inputs, row counts, findings by severity, steps.

    ``summary`` is ``assets.commit.collect_run_summary(...)`` of the current
    run when the Dagster asset builds the site; without it the same facts are
    read from ``ingest_log`` / ``findings`` / ``run_steps``."""
    names = table_names(con)
    out: dict = {"ingest": None, "quarantine": None, "findings": {}, "run_steps": None, "totals": {},
                 "policy": "", "input_files": 0}
    inputs = None
    if summary:
        inputs = pl.DataFrame(summary.get("inputs") or [],
                              schema={"file": pl.String, "table": pl.String, "rows_read": pl.Int64,
                                      "rows_loaded": pl.Int64, "rows_quarantined": pl.Int64,
                                      "rows_collapsed": pl.Int64})
        out["findings"] = {k: summary.get(f"findings_{k}", 0) for k in ("error", "warning", "info")}
        out["policy"] = str(summary.get("policy") or "")
        steps = summary.get("steps") or []
        if steps:
            sdf = pl.DataFrame([{"step_key": s["step_key"], "status": s.get("status"),
                                 "seconds": s.get("seconds")} for s in steps])
            out["run_steps"] = {"columns": column_meta(sdf.columns), "rows": _col_dict(sdf)}
    elif "ingest_log" in names:
        df = read_table(con, "ingest_log")
        if "run_id" in df.columns and df.height:
            mine = df.filter(pl.col("run_id") == run_id)
            df = mine if mine.height else df.filter(pl.col("run_id") == df["run_id"].max())
        inputs = df.rename({"source_file": "file", "table_name": "table"}, strict=False).drop(
            [c for c in ("run_id",) if c in df.columns])
    if inputs is not None:
        inputs = publishable(inputs)
        out["input_files"] = inputs["file"].n_unique() if "file" in inputs.columns else inputs.height
        out["ingest"] = {"columns": column_meta(inputs.columns), "rows": _col_dict(inputs)}
        for c in ("rows_read", "rows_loaded", "rows_quarantined", "rows_collapsed"):
            if c in inputs.columns:
                out["totals"][c] = int(inputs[c].sum() or 0)
    if "quarantine" in names:
        cols = con.sql("SELECT * FROM quarantine LIMIT 0").columns
        grp = [c for c in ("table_name", "source_file", "rule_ids") if c in cols]
        if grp:
            rid = run_id.replace("'", "''")
            where = f"WHERE run_id = '{rid}'" if "run_id" in cols and con.sql(
                f"SELECT count(*) FROM quarantine WHERE run_id = '{rid}'").fetchall()[0][0] else ""
            sel = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in grp)
            df = con.sql(f"SELECT {sel}, count(*) AS rows FROM quarantine {where} GROUP BY ALL "
                         "ORDER BY rows DESC LIMIT 500").pl()
            df = df.with_columns(pl.col("rule_ids").str.replace_all(r'[\[\]"]', "")) if "rule_ids" in df.columns else df
            meta = column_meta(df.columns)
            for m in meta:
                if m["k"] == "rule_ids":
                    m["t"] = "rule"
            out["quarantine"] = {"columns": meta, "rows": _col_dict(df)}
    if not out["findings"] and "findings" in names:
        df = con.sql("SELECT severity, count(*) AS n FROM findings GROUP BY ALL").pl()
        out["findings"] = dict(zip(df["severity"].to_list(), df["n"].to_list()))
    if out["run_steps"] is None and "run_steps" in names:
        df = con.sql("SELECT step_key, status, seconds FROM run_steps WHERE run_id = ?", params=[run_id]).pl()
        if df.height:
            out["run_steps"] = {"columns": column_meta(df.columns), "rows": _col_dict(df)}
    return out


def fill_template(text: str, policy: dict) -> str:
    """A finding message template made readable: policy parameters filled in
    with their values, every other placeholder shown as '…'."""
    import re as _re

    def one(m):
        key = m.group(1)
        v = policy.get(key)
        if isinstance(v, list):
            return "/".join(str(x) for x in v)
        return str(v) if v is not None and not isinstance(v, dict) else "…"

    return _re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}", one, text or "")


def rules_list(con, policy: Optional[dict] = None) -> list[dict]:
    """Every rule with its texts, from the warehouse's `rules` table (the rule
    book as the rule step wrote it; the site never re-reads the YAML)."""
    policy = policy or {}
    rows: dict[str, dict] = {}
    if "rules" in table_names(con):
        for r in read_table(con, "rules").iter_rows(named=True):  # ~50 rules
            rows[r["rule_id"]] = {k: (v if not isinstance(v, (dt.date,)) else v.isoformat()) for k, v in r.items()}
    out = []
    for rid in sorted(rows):
        r = rows[rid]
        out.append({
            "rule_id": rid,
            "severity": r.get("severity", ""),
            "entity_type": r.get("entity_type", ""),
            "title_zh": r.get("title_zh") or rid,
            "title_en": r.get("title_en") or rid,
            "text_zh": fill_template(_first_text(r, ("text_zh", "rule_text_zh", "description_zh", "message_zh")), policy),
            "text_en": fill_template(_first_text(r, ("text_en", "rule_text_en", "description_en", "message_en")), policy),
            "source": _first_text(r, ("source", "source_sentence", "source_zh")),
        })
    return out


def _first_text(r: dict, keys) -> str:
    for k in keys:
        v = r.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def dumps(obj) -> str:
    """JSON for embedding in a <script> element."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).replace("</", "<\\/")

