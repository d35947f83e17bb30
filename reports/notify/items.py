"""What there is to say: every reminder item of every employer at ``as_of``,
read from the warehouse (``sql/*.sql``, values bound as parameters), with ID
numbers masked by the project's one masking function (``reports.privacy``).

An item has a stable ``item_key`` (e.g. ``window_open:<permit_no>:<window_start>``):
the ledger records which keys each recipient has been sent, so a digest holds
only what is new to its recipient. Kinds, in digest order:

| kind | 中文 | from |
|---|---|---|
| lapsed | 已过续签期 | todo_renewals, window_state lapsed |
| due | 30天内到期 | findings with due_on in [as_of, as_of + 30] (not waived) |
| window_open | 续签办理期已开始 | todo_renewals, window_state open (more than 30 days left) |
| returned | 将被退回的申请 | todo_failing_applications (new reasons = new item) |
| waiver_expiring | 例外即将到期 | findings.waived with detail.waiver.expires_on in [as_of, as_of + 30] |
| finding | 新发现的问题 | other error / warning findings of the employer (not waived) |
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from reports.privacy import mask_id_expr, mask_ids_in_text_expr

SQL = Path(__file__).resolve().parent / "sql"
HORIZON_DAYS = 30
KINDS: dict[str, tuple[str, str]] = {
    "lapsed": ("已过续签期", "Renewal window closed"),
    "due": ("30天内到期的事项", "Due within 30 days"),
    "window_open": ("续签办理期已开始", "Renewal windows open"),
    "returned": ("将被退回的申请", "Applications that will be returned"),
    "waiver_expiring": ("即将到期的例外", "Approved exceptions expiring"),
    "finding": ("新发现的问题", "New findings"),
}
KIND_ORDER = {k: i for i, k in enumerate(KINDS)}
# parts whose lines already start with the person's name and masked ID (built from the to-do marts)
_PREFIXED = {"window_open", "lapsed", "returned"}
ITEM_SCHEMA = {"uscc": pl.String, "kind": pl.String, "item_key": pl.String, "due_on": pl.Date, "name": pl.String,
               "id_number": pl.String, "ref": pl.String, "line_zh": pl.String, "line_en": pl.String}


def _tables(con) -> set[str]:
    return {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views()")
            .fetchall()}


def _columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table])
            .fetchall()}


def _findings_view(con, have: set[str]) -> bool:
    """``_notify_findings``: findings with ``waived``, ``waiver_expires_on`` and ``key_safe`` (an entity key that
    is the person's ID number is hashed, so no ID number reaches the ledger). Built against the columns present:
    without ``findings.waived`` (a warehouse before issue 15) nothing is waived, so no waiver can expire either
    (a ``waivers`` table alone does not waive anything: the rule layer applies waivers)."""
    if "findings" not in have:
        return False
    cols = _columns(con, "findings")
    waived = "coalesce(f.waived, false)" if "waived" in cols else "false"
    # the waiver's end date as the rule layer recorded it (rules.md § Waivers: detail.waiver.expires_on)
    expires = ("TRY_CAST(json_extract_string(f.detail, '$.waiver.expires_on') AS DATE)" if "waived" in cols
               else "NULL::DATE")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _notify_findings AS
        SELECT f.*, {waived} AS waived, {expires} AS waiver_expires_on,
               CASE WHEN f.entity_key = f.id_number THEN md5(f.entity_key) ELSE f.entity_key END AS key_safe
        FROM findings f WHERE f.uscc IS NOT NULL""")
    return True


def collect_items(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame:
    """Every current item of every employer (all employers at once: one query per part)."""
    have = _tables(con)
    has_findings = _findings_view(con, have)
    need = {"window_open": {"todo_renewals"}, "lapsed": {"todo_renewals"},
            "returned": {"todo_failing_applications"},
            "due": {"permit_status"}, "finding": {"permit_status", "todo_failing_applications"},
            "waivers": {"permit_status"}}
    params = {"as_of": as_of, "horizon": as_of + dt.timedelta(days=HORIZON_DAYS)}
    parts = []
    for name, tables in need.items():
        if not tables <= have or (name in ("due", "finding", "waivers") and not has_findings):
            continue
        sql = (SQL / f"{name}.sql").read_text(encoding="utf-8")
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        parts.append(con.sql(sql, params=used).pl().cast(ITEM_SCHEMA))
    if not parts:
        return pl.DataFrame(schema={**ITEM_SCHEMA, "id_masked": pl.String})
    df = pl.concat(parts).filter(pl.col("uscc").is_not_null()).unique("item_key", keep="first", maintain_order=True)
    masked = mask_id_expr("id_number").alias("id_masked")
    df = df.with_columns(masked)
    prefix = pl.concat_str([pl.col("name").fill_null(""), pl.lit(" "), pl.col("id_masked").fill_null("")]
                           ).str.strip_chars()
    fix = []
    for col in ("line_zh", "line_en", "ref"):
        # the row's own ID number (also a passport number) replaced by its mask, then any other 18-char ID
        e = pl.when(pl.col("id_number").is_not_null()).then(
            pl.col(col).str.split(pl.col("id_number")).list.join(pl.col("id_masked"))).otherwise(pl.col(col))
        fix.append(e.alias(col))
    df = df.with_columns(fix).with_columns(mask_ids_in_text_expr("line_zh"), mask_ids_in_text_expr("line_en"),
                                           mask_ids_in_text_expr("ref"))
    df = df.with_columns(
        pl.when(pl.col("kind").is_in(list(_PREFIXED)) | (prefix == "")).then(pl.col("line_zh"))
        .otherwise(pl.concat_str([prefix, pl.lit(":"), pl.col("line_zh")])).alias("line_zh"),
        pl.when(pl.col("kind").is_in(list(_PREFIXED)) | (prefix == "")).then(pl.col("line_en"))
        .otherwise(pl.concat_str([prefix, pl.lit(": "), pl.col("line_en")])).alias("line_en"),
        pl.col("kind").replace_strict(KIND_ORDER, return_dtype=pl.Int32).alias("kind_order"),
    )
    return df.drop("id_number").sort(["uscc", "kind_order", "due_on", "item_key"], nulls_last=True)


def collect_contacts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``employer_contacts`` with the employer's name; empty when the table is absent."""
    schema = {"uscc": pl.String, "contact_name": pl.String, "email": pl.String, "channels": pl.String,
              "frequency": pl.String, "employer_name": pl.String}
    have = _tables(con)
    if "employer_contacts" not in have:
        return pl.DataFrame(schema=schema)
    name = "e.name" if "employers" in have else "NULL"
    join = "LEFT JOIN employers e USING (uscc)" if "employers" in have else ""
    return con.sql(f"""SELECT c.uscc, c.contact_name, c.email, c.channels, coalesce(c.frequency, 'daily') AS frequency,
                              {name} AS employer_name
                       FROM employer_contacts c {join} ORDER BY c.uscc, c.contact_name""").pl().cast(schema)


def city_figures(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """City totals for the bureau's daily summary (counts only)."""
    if "employer_summary" not in _tables(con):
        return {}
    cols = ["permits_active", "permits_window_open", "permits_due_soon", "permits_lapsed", "apps_open",
            "todo_failing_applications", "todo_cancellations"]
    have = _columns(con, "employer_summary")
    cols = [c for c in cols if c in have]
    if not cols:
        return {}
    row = con.sql("SELECT count(*), " + ", ".join(f"coalesce(sum({c}), 0)" for c in cols)
                  + " FROM employer_summary").fetchall()[0]
    return {"employers": int(row[0]), **{c: int(v) for c, v in zip(cols, row[1:])}}
