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


def write_ingest_tables(con, res: IngestResult, q_parts: list[pl.DataFrame], f_parts: list[pl.DataFrame],
                        extras: list[pl.DataFrame]) -> None:
    run_id = res.run_id
    log_parts = res.log

    quarantine = (pl.concat(q_parts) if q_parts else pl.DataFrame(schema={
        "table_name": pl.String, "source_file": pl.String, "source_row": pl.Int64,
        "rule_ids": pl.List(pl.String), "reasons": pl.List(pl.String), "raw": pl.String}))
    quarantine = quarantine.with_columns(pl.lit(run_id).alias("run_id"))
    res.quarantined = quarantine.height
    con.execute("CREATE OR REPLACE TABLE quarantine (table_name VARCHAR, source_file VARCHAR, source_row BIGINT, "
                "rule_ids VARCHAR[], reasons VARCHAR[], raw JSON, run_id VARCHAR)")
    if quarantine.height:
        insert_frame(con, "quarantine", quarantine, "SELECT table_name, source_file, source_row, rule_ids, reasons, "
                "CAST(raw AS JSON), run_id FROM _frame")
    comment_table_safe(con, "quarantine", "Rows not loaded, with their raw values and every reason / 隔离区:未载入的行、原始值及全部原因", {
        "table_name": "Contract table of the row / 所属数据表",
        "source_file": "File name (<file>#<sheet> for Excel) / 来源文件(Excel 为 文件#工作表)",
        "source_row": "Data row number, 1 = first row under the header / 数据行号(表头下第一行为1)",
        "rule_ids": "Every rule the row breaks / 触犯的全部规则编号",
        "reasons": "Every reason, Chinese / English / 全部原因(中文 / 英文)",
        "raw": "The row's values as written in the file, keyed by header / 原始值(按文件表头)",
        "run_id": "Run that read the row / 运行编号",
    })

    log_df = pl.DataFrame(log_parts, schema={"run_id": pl.String, "source_file": pl.String, "table_name": pl.String,
                                             "rows_read": pl.Int64, "rows_loaded": pl.Int64,
                                             "rows_quarantined": pl.Int64, "rows_collapsed": pl.Int64})
    con.execute("CREATE OR REPLACE TABLE ingest_log (run_id VARCHAR, source_file VARCHAR, table_name VARCHAR, "
                "rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, rows_collapsed BIGINT)")
    if log_df.height:
        insert_frame(con, "ingest_log", log_df, "SELECT * FROM _frame")
    comment_table_safe(con, "ingest_log", "Rows read / loaded / quarantined / collapsed per input file; read = loaded + quarantined + collapsed / 各输入文件的读取、载入、隔离、合并行数", {
        "run_id": "Run / 运行编号", "source_file": "File name (<file>#<sheet> for Excel) / 来源文件",
        "table_name": "Contract table / 数据表", "rows_read": "Data rows read / 读取行数",
        "rows_loaded": "Rows loaded into the table / 载入行数",
        "rows_quarantined": "Rows put in quarantine / 隔离行数",
        "rows_collapsed": "Exact duplicate rows collapsed / 完全重复而合并的行数",
    })

    files_df = pl.DataFrame(res.files, schema={"run_id": pl.String, "source_file": pl.String,
                                               "table_name": pl.String, "status": pl.String, "message": pl.String})
    con.execute("CREATE OR REPLACE TABLE ingest_files (run_id VARCHAR, source_file VARCHAR, table_name VARCHAR, "
                "status VARCHAR, message VARCHAR)")
    if files_df.height:
        insert_frame(con, "ingest_files", files_df, "SELECT * FROM _frame")
    comment_table_safe(con, "ingest_files", "Every input file or sheet seen by the run and what happened to it / 本次运行看到的每个输入文件(工作表)及处理结果", {
        "run_id": "Run / 运行编号", "source_file": "File name (<file>#<sheet> for Excel) / 来源文件",
        "table_name": "Recognised contract table, NULL if none / 识别出的数据表(无法识别为空)",
        "status": "loaded | warning | empty | rejected | unrecognised | unsupported | skipped | error / 处理状态",
        "message": "What happened, Chinese / English / 说明(中文 / 英文)",
    })

    extra_df = (pl.concat(extras) if extras else pl.DataFrame(schema={
        "source_row": pl.Int64, "column_name": pl.String, "value": pl.String, "source_file": pl.String,
        "table_name": pl.String})).select("table_name", "source_file", "source_row", "column_name", "value") \
        .with_columns(pl.lit(run_id).alias("run_id"))
    con.execute("CREATE OR REPLACE TABLE ingest_extra_values (table_name VARCHAR, source_file VARCHAR, "
                "source_row BIGINT, column_name VARCHAR, value VARCHAR, run_id VARCHAR)")
    if extra_df.height:
        insert_frame(con, "ingest_extra_values", extra_df, "SELECT * FROM _frame")
    comment_table_safe(con, "ingest_extra_values", "Non-empty cells of unknown columns and of cells beyond the header, kept aside / 未知列及超出表头的单元格(另存,不载入)", {
        "table_name": "Contract table of the file / 数据表", "source_file": "File name / 来源文件",
        "source_row": "Data row number / 数据行号",
        "column_name": "Header as written, or #<position> for a cell beyond the header / 列名(超出表头的单元格为 #位置)",
        "value": "Cell value as written / 原始值", "run_id": "Run / 运行编号",
    })

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
