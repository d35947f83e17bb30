"""Warehouse writers of the ingest layer: the contract tables, ``quarantine``,
``ingest_log``, ``ingest_files``, ``ingest_extra_values`` and the ingest
rules' findings, each with its bilingual comments.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from assets.ingest.bind import Source
from core.contract import Table, column_comment, table_comment
from assets.ingest.findings import OWNED_RULES, mismatch_findings, quarantine_reasons, record_findings
from assets.ingest.stages import TableOutcome

if TYPE_CHECKING:
    from assets.ingest.core import IngestResult


def create_table(con, table: Table, replace: bool = True):
    """(Re)create one contract table (``replace=False``: keep it as it is);
    return the sink that appends loaded rows to it."""
    if replace:
        ddl = ", ".join(f'"{c.name}" {c.sql_type}' for c in table.columns)
        con.execute(f'CREATE OR REPLACE TABLE "{table.name}" ({ddl})')
    sel = ", ".join(f'CAST("{c.name}" AS {c.sql_type})' for c in table.columns)
    return lambda frame: insert_frame(con, f'"{table.name}"', frame, f"SELECT {sel} FROM _frame")


def write_table(con, res: IngestResult, table: Table, sources: list[Source], out: TableOutcome,
                rules: dict) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """Write one contract table; return its quarantine and findings parts."""
    run_id, as_of, name = res.run_id, res.as_of, table.name
    q_parts, f_parts = [], []
    comment_table_safe(con, name, table_comment(table), {c.name: column_comment(c) for c in table.columns})
    res.tables[name] = out.n_loaded
    for s in sources:
        read, ld, q, c = out.counts[s.label]
        res.log.append({"run_id": run_id, "source_file": s.label, "table_name": name, "rows_read": read,
                        "rows_loaded": ld, "rows_quarantined": q, "rows_collapsed": c})
    if out.failures.height:
        rsn = quarantine_reasons(table, out.qinfo, out.failures)
        q = (rsn.join(out.qinfo.select("_rid", "_src", "_row"), on="_rid", how="left")
             .join(out.raw, on="_rid", how="left")
             .select(pl.lit(name).alias("table_name"), pl.col("_src").alias("source_file"),
                     pl.col("_row").alias("source_row"), "rule_ids", "reasons", "raw", pl.col("_rid")))
        q_parts.append(q.sort("_rid").drop("_rid"))
        f_parts.append(record_findings(table, out.qinfo, out.failures, run_id, as_of, rules).drop("_rid"))
    if name == "persons":
        mf = mismatch_findings(out.mismatches, run_id, as_of, rules)
        if mf.height:
            f_parts.append(mf)
    return q_parts, f_parts


# The ingest layer's own tables: (column, DuckDB type, polars type, comment) and
# the table's comment; one spec each, written by ``_replace_table``.
_S, _I = pl.String, pl.Int64
_RUN = ("run_id", "VARCHAR", _S, "Run / 运行编号")
_FILE = ("source_file", "VARCHAR", _S, "File name (<file>#<sheet> for Excel) / 来源文件")
INGEST_TABLES: dict[str, tuple[str, list[tuple]]] = {
    "quarantine": ("Rows not loaded, with their raw values and every reason / 隔离区:未载入的行、原始值及全部原因", [
        ("table_name", "VARCHAR", _S, "Contract table of the row / 所属数据表"),
        ("source_file", "VARCHAR", _S, "File name (<file>#<sheet> for Excel) / 来源文件(Excel 为 文件#工作表)"),
        ("source_row", "BIGINT", _I, "Data row number, 1 = first row under the header / 数据行号(表头下第一行为1)"),
        ("rule_ids", "VARCHAR[]", pl.List(_S), "Every rule the row breaks / 触犯的全部规则编号"),
        ("reasons", "VARCHAR[]", pl.List(_S), "Every reason, Chinese / English / 全部原因(中文 / 英文)"),
        ("raw", "JSON", _S, "The row's values as written in the file, keyed by header / 原始值(按文件表头)"),
        ("run_id", "VARCHAR", _S, "Run that read the row / 运行编号")]),
    "ingest_log": ("Rows read / loaded / quarantined / collapsed per input file; read = loaded + quarantined + "
                   "collapsed / 各输入文件的读取、载入、隔离、合并行数", [
        _RUN, _FILE, ("table_name", "VARCHAR", _S, "Contract table / 数据表"),
        ("rows_read", "BIGINT", _I, "Data rows read / 读取行数"),
        ("rows_loaded", "BIGINT", _I, "Rows loaded into the table / 载入行数"),
        ("rows_quarantined", "BIGINT", _I, "Rows put in quarantine / 隔离行数"),
        ("rows_collapsed", "BIGINT", _I, "Exact duplicate rows collapsed / 完全重复而合并的行数")]),
    "ingest_files": ("Every input file or sheet seen by the run and what happened to it / "
                     "本次运行看到的每个输入文件(工作表)及处理结果", [
        _RUN, _FILE,
        ("table_name", "VARCHAR", _S, "Recognised contract table, NULL if none / 识别出的数据表(无法识别为空)"),
        ("status", "VARCHAR", _S, "loaded | warning | empty | rejected | unrecognised | unsupported | skipped | error "
                                  "/ 处理状态"),
        ("message", "VARCHAR", _S, "What happened, Chinese / English / 说明(中文 / 英文)")]),
    "ingest_extra_values": ("Non-empty cells of unknown columns and of cells beyond the header, kept aside / "
                            "未知列及超出表头的单元格(另存,不载入)", [
        ("table_name", "VARCHAR", _S, "Contract table of the file / 数据表"),
        ("source_file", "VARCHAR", _S, "File name / 来源文件"),
        ("source_row", "BIGINT", _I, "Data row number / 数据行号"),
        ("column_name", "VARCHAR", _S, "Header as written, or #<position> for a cell beyond the header / "
                                       "列名(超出表头的单元格为 #位置)"),
        ("value", "VARCHAR", _S, "Cell value as written / 原始值"), _RUN]),
}


def ingest_schema(name: str) -> dict:
    """polars schema of one of the ingest layer's tables (``INGEST_TABLES``)."""
    return {c: t for c, _, t, _ in INGEST_TABLES[name][1]}


def _replace_table(con, name: str, frame: pl.DataFrame) -> None:
    """Create or replace one ingest table from its spec, load ``frame`` (columns
    in the spec's order, cast to the spec's types) and write its comments."""
    comment, cols = INGEST_TABLES[name]
    con.execute(f"CREATE OR REPLACE TABLE {name} (" + ", ".join(f"{c} {t}" for c, t, _, _ in cols) + ")")
    if frame.height:
        insert_frame(con, name, frame, "SELECT " + ", ".join(f"CAST({c} AS {t})" for c, t, _, _ in cols)
                     + " FROM _frame")
    comment_table_safe(con, name, comment, {c: text for c, _, _, text in cols})


def write_ingest_tables(con, res: IngestResult, q_parts: list[pl.DataFrame], f_parts: list[pl.DataFrame],
                        extras: list[pl.DataFrame]) -> None:
    run_id = res.run_id
    run_col = pl.lit(run_id).alias("run_id")
    quarantine = (pl.concat(q_parts) if q_parts else pl.DataFrame(schema=ingest_schema("quarantine"))
                  .drop("run_id")).with_columns(run_col)
    res.quarantined = quarantine.height
    _replace_table(con, "quarantine", quarantine)
    _replace_table(con, "ingest_log", pl.DataFrame(res.log, schema=ingest_schema("ingest_log")))
    _replace_table(con, "ingest_files", pl.DataFrame(res.files, schema=ingest_schema("ingest_files")))
    extra_schema = {k: v for k, v in ingest_schema("ingest_extra_values").items() if k != "run_id"}
    extra_df = (pl.concat(extras) if extras else pl.DataFrame(schema=extra_schema)) \
        .select(*extra_schema).with_columns(run_col)
    _replace_table(con, "ingest_extra_values", extra_df)

    # findings of the ingest rules
    from assets.warehouse import FINDINGS_COLUMNS, replace_findings

    names = [c for c, _, _ in FINDINGS_COLUMNS if c != "waived"]  # waivers are the rule layer's
    parts = [p.select(names) for p in f_parts if p.height]
    findings_df = pl.concat(parts) if parts else None
    if findings_df is not None:
        res.findings = {r: int(n) for r, n in findings_df.group_by("rule_id").len().iter_rows()}
        con.register("_ingest_findings", findings_df.to_arrow())
        try:
            replace_findings(con, OWNED_RULES, "SELECT run_id, as_of, rule_id, severity, entity_type, entity_key, "
                                               "uscc, id_number, due_on, message_zh, message_en, "
                                               "CAST(detail AS JSON) AS detail FROM _ingest_findings")
        finally:
            con.unregister("_ingest_findings")
    else:
        replace_findings(con, OWNED_RULES, "SELECT * FROM findings WHERE false")


def insert_frame(con, table: str, frame: pl.DataFrame, select_sql: str) -> None:
    con.register("_frame", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {table} {select_sql}")
    finally:
        con.unregister("_frame")


def comment_table_safe(con, table: str, comment: str, columns: dict[str, str]) -> None:
    from assets.warehouse import comment_table

    comment_table(con, table, comment, columns)
