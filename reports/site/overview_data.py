"""The index page's run overview and the rules page's rule list, read from the
warehouse (the `rules` table, never the rule-book YAML)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

import polars as pl

from reports.site.data import _col_dict, column_meta, publishable, read_table, table_names


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
