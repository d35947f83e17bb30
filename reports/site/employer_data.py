"""The employer pages' data: one row per employer (name, district, KPIs, the
action tables, expiry and funnel charts), JSON-encoded per employer in polars."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

import polars as pl

from core.dates import add_months
from reports.site import labels as L
from reports.site.data import (MAX_NAME_CHARS, SiteDataError, _first_present, clip_text, column_meta, payload_columns, publishable, read_table,
                               table_names)


@dataclass
class EmployerData:
    frame: pl.DataFrame  # uscc, name, blob (JSON object text, without the outer page wrapper)
    tables: list[dict] = field(default_factory=list)  # shared table meta for the page JS
    months: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    kpis: list[dict] = field(default_factory=list)
    rows_capped: dict[str, int] = field(default_factory=dict)
    orphans: dict[str, int] = field(default_factory=dict)  # mart -> rows whose uscc has no employer page


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
        clip_text(pl.col(name_col).cast(pl.String) if name_col else pl.col("uscc").cast(pl.String),
                  MAX_NAME_CHARS).alias("name"),
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
    if spec.get("columns"):  # the list's own headers (reports/todo_lists.py: the same as its todo.xlsx sheet)
        meta_cols = list_column_meta(spec["columns"], df.columns)
    else:
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


def list_column_meta(columns, present) -> list[dict]:
    """Page column meta of a to-do list, in its order and under its headers; a Chinese text
    column with an English twin (``x_zh`` / ``x_en``) shows the twin on the English page."""
    out = []
    for c, zh, en, kind in columns:
        if c not in present:
            continue
        m = {"k": c, "zh": zh, "en": en, "t": kind}
        if c.endswith("_zh") and c[:-3] + "_en" in present:
            m["ek"] = c[:-3] + "_en"
        out.append(m)
    return out


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
