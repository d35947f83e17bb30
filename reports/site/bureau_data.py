"""The bureau page's data: one function per bureau mart, each returning the
publishable (suppressed, labelled) form of its chart or table.

Every count that tabulates people goes through ``suppress_table`` (small cells
and their secondary cells hidden, docs/privacy.md); statistics of a hidden or
small group are left out; findings by rule count rule breaches, not people,
and are not suppressed.
"""
from __future__ import annotations

import polars as pl

from reports import privacy
from reports.site import labels as L
from reports.site.data import (SiteDataError, _col_dict, _first_present, column_meta, payload_columns, publishable,
                               read_table, suppress_table, table_names)


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


# ---------------------------------------------------------------- one function per mart

def kpis(df: pl.DataFrame, min_cell: int) -> list[dict]:
    """bureau_kpis, long format: kpi, label_zh, label_en, value, sort_order (~20 rows)."""
    _require(df, "bureau_kpis", ("kpi", "value"))
    if "sort_order" in df.columns:
        df = df.sort("sort_order")
    out = []
    for r in df.iter_rows(named=True):
        zh, en = L.BUREAU_KPI_LABELS.get(r["kpi"], (r["kpi"], r["kpi"]))
        k = str(r["kpi"])
        out.append({"k": k, "zh": r.get("label_zh") or zh, "en": r.get("label_en") or en,
                    "v": r["value"], "pct": "share" in k or "rate" in k,
                    "cls": "bad" if k in ("findings_error", "permits_lapsed") else
                    "warn" if k == "findings_warning" else ""})
    return out


def dimensions(df: pl.DataFrame, min_cell: int) -> list[dict]:
    """bureau_permits_by_dimension: one bar chart per dimension, small counts suppressed."""
    _require(df, "bureau_permits_by_dimension", ("dimension", "code", "permits"))
    out = []
    for dim, zh_title, en_title, note_zh in L.DIMENSIONS:
        part = df.filter(pl.col("dimension").is_in(list(L.DIMENSION_ALIASES[dim])))
        if part.height == 0:
            continue
        part = part.sort("sort_order" if "sort_order" in part.columns else "code")
        zh = part["label_zh"] if "label_zh" in part.columns else part["code"]
        en = part["label_en"] if "label_en" in part.columns else part["code"]
        out.append({"dim": dim, "zh": zh_title, "en": en_title, "note_zh": note_zh,
                    "note_en": L.DIMENSION_NOTES_EN[dim],
                    "x_zh": zh.cast(pl.String).to_list(), "x_en": en.cast(pl.String).to_list(),
                    "y": _suppressed_values(part, "code", "permits", min_cell)})
    return out


def monthly_flow(df: pl.DataFrame, min_cell: int) -> dict:
    """bureau_monthly_flow: the last 24 months of each series, suppressed over the whole table."""
    _require(df, "bureau_monthly_flow", ("month",))
    df = df.sort("month").tail(24)
    df = df.with_columns(pl.col("month").cast(pl.Date).dt.strftime("%Y-%m").alias("_m"))
    series = [(c, zh, en) for cands, zh, en in L.FLOW_SERIES if (c := _first_present(df.columns, cands))]
    sup = suppress_table(df, "_m", [c for c, _, _ in series], min_cell)
    return {"months": df["_m"].to_list(),
            "series": [{"k": c, "zh": zh, "en": en, "y": _counts_out(sup[c].to_list(), f"<{min_cell}")}
                       for c, zh, en in series]}


def _district_labels(df: pl.DataFrame) -> tuple[list, list]:
    zh = [L.ENUMS["district"].get(c, (c, c))[0] for c in df["district"].to_list()]
    en = [L.ENUMS["district"].get(c, (c, c))[1] for c in df["district"].to_list()]
    if "label_zh" in df.columns:
        zh = [z or d for z, d in zip(df["label_zh"].to_list(), zh)]
    if "label_en" in df.columns:
        en = [e or d for e, d in zip(df["label_en"].to_list(), en)]
    return zh, en


def processing(df: pl.DataFrame, min_cell: int) -> dict:
    """bureau_processing_by_district: medians, 90th percentiles and on-time shares by district.

    A median, a percentile or a share describes its n people: none for n < min_cell or a hidden n;
    a share with its n gives its count: none where that count (over the promise) is hidden."""
    _require(df, "bureau_processing_by_district", ("district", "applications"))
    med = _first_present(df.columns, ("median_wd", "median_working_days"))
    p90 = _first_present(df.columns, ("p90_wd", "p90_working_days"))
    share = _first_present(df.columns, ("share_within_sla", "within_sla_share"))
    n_pub = _suppressed_values(df, "district", "applications", min_cell)
    over = _suppressed_values(df, "district", "over_sla", min_cell) if "over_sla" in df.columns else None
    stat_ok = [_shown(v) and v >= min_cell for v in n_pub]
    share_ok = [ok and (over is None or _shown(o)) for ok, o in zip(stat_ok, over or [None] * len(n_pub))]

    def gated(col, ok):
        return [v if k else None for v, k in zip(_floats(df[col]), ok)] if col else None

    medians = gated(med, stat_ok)
    order = _published_order([None if m is None else int(m * 1000) for m in medians] if medians else n_pub,
                             df["district"].to_list())
    zh, en = _district_labels(df)
    sla = int(df["sla_working_days"].max()) if "sla_working_days" in df.columns and df.height else 15

    def ordered(xs):
        return [xs[i] for i in order] if xs is not None else None

    return {"x_zh": ordered(zh), "x_en": ordered(en), "sla": sla,
            "median": ordered(medians), "p90": ordered(gated(p90, stat_ok)),
            "share": ordered(gated(share, share_ok)), "n": ordered(n_pub), "over": ordered(over)}


def return_reasons(df: pl.DataFrame, min_cell: int) -> dict:
    """bureau_return_reasons: suppressed over the whole list (its totals), then ordered by what is
    published and cut to 30."""
    df = publishable(df)
    _require(df, "bureau_return_reasons", ("return_reason", "applications"))
    df = df.filter(pl.col("return_reason").is_not_null())
    df = df.group_by("return_reason", maintain_order=True).agg(pl.col(c).sum() for c in df.columns
                                                                if c in ("applications", "applications_12m"))
    cols = [(c, zh, en) for c, zh, en in (("applications", "全部", "All time"),
                                          ("applications_12m", "近12个月", "Last 12 months")) if c in df.columns]
    sup = suppress_table(df, "return_reason", [c for c, _, _ in cols], min_cell)
    ys = {c: _counts_out(sup[c].to_list(), f"<{min_cell}") for c, _, _ in cols}
    reasons = sup["return_reason"].to_list()
    order = _published_order(ys["applications"], reasons)[:30]
    return {"x": [reasons[i] for i in order],
            "series": [{"k": c, "zh": zh, "en": en, "y": [ys[c][i] for i in order]} for c, zh, en in cols]}


def findings_by_rule(df: pl.DataFrame, min_cell: int) -> dict:
    """bureau_findings_by_rule: counts of rule breaches, not a tabulation of people: not suppressed.
    Open findings; waived ones (approved exceptions) in a column of their own (docs/marts.md)."""
    _require(df, "bureau_findings_by_rule", ("rule_id", "findings"))
    df = df.sort("findings", descending=True)
    sev = df["severity"].to_list() if "severity" in df.columns else [None] * df.height
    table = publishable(df)
    meta = column_meta(table.columns, ("rule_id", "severity", "entity_type", "findings", "employers", "waived"))
    for m in meta:
        if m["k"] == "entity_type":
            m["t"] = "enum:entity_type_rule"
    return {"rule": df["rule_id"].to_list(), "y": [int(v or 0) for v in df["findings"].to_list()],
            "severity": sev, "table": {"columns": meta, "rows": _col_dict(table.select(payload_columns(meta)))}}


def employer_ranking(df: pl.DataFrame, ranking_rows: int) -> dict:
    """bureau_employer_ranking: the first ``ranking_rows`` employers by rank."""
    df = publishable(df)
    if "rank" in df.columns:
        df = df.sort("rank")
    df = df.head(ranking_rows)
    meta = column_meta(df.columns, ("rank", "uscc", "name", "district", "permits_active", "noncompliance_findings",
                                    "noncompliance_per_100", "top_rule_id"))
    for m in meta:
        if m["k"] == "name":
            m["zh"], m["en"] = "单位名称", "Employer"
    return {"columns": meta, "rows": _col_dict(df.select(payload_columns(meta)))}


SECTIONS = (("kpis", "bureau_kpis", kpis), ("dims", "bureau_permits_by_dimension", dimensions),
            ("flow", "bureau_monthly_flow", monthly_flow), ("processing", "bureau_processing_by_district", processing),
            ("returns", "bureau_return_reasons", return_reasons),
            ("findings", "bureau_findings_by_rule", findings_by_rule))


def bureau_data(con, min_cell: int, ranking_rows: int = 100) -> dict:
    """Everything the bureau page shows, from the bureau marts present in the warehouse (a missing
    mart leaves its section empty; a malformed one raises SiteDataError)."""
    names = table_names(con)
    note_zh, note_en = privacy.secondary_note(min_cell)
    out: dict = {"min_cell": min_cell, "suppressed": f"<{min_cell}", "withheld_mark": privacy.SECONDARY_MARK,
                 "note_zh": note_zh, "note_en": note_en, "kpis": [], "dims": [], "flow": None,
                 "processing": None, "returns": None, "findings": None, "ranking": None, "xtabs": []}
    for key, mart, build in SECTIONS:
        if mart in names:
            out[key] = build(read_table(con, mart), min_cell)
    if "bureau_employer_ranking" in names:
        out["ranking"] = employer_ranking(read_table(con, "bureau_employer_ranking"), ranking_rows)
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
    rows = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()
    return (rows[0][0] or "") if rows else ""
