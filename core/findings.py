"""The findings tables (outputs.md: exactly these columns) and table comments:
shared by the ingest layer, the rule book and the marts, so they live below all
of them (``assets.warehouse`` re-exports them)."""
from __future__ import annotations

import duckdb

from core.sql import sql_str

FINDINGS_COLUMNS: list[tuple[str, str, str]] = [
    ("run_id", "VARCHAR", "Dagster run that produced the finding / 产生该结果的运行编号"),
    ("as_of", "DATE", "Evaluation date / 评估基准日"),
    ("rule_id", "VARCHAR", "Rule id from the rule book / 规则编号"),
    ("severity", "VARCHAR", "error | warning | info / 严重程度"),
    ("entity_type", "VARCHAR", "record | person | employer | permit | application | dependent / 对象类型"),
    ("entity_key", "VARCHAR", "Key of the entity that breaks the rule / 对象键"),
    ("uscc", "VARCHAR", "Employer the finding belongs to / 所属聘用单位统一社会信用代码"),
    ("id_number", "VARCHAR", "Person concerned, if any / 相关人员身份证号"),
    ("due_on", "DATE", "Date by which to act, where the rule gives one / 办理期限"),
    ("message_zh", "VARCHAR", "Message in Chinese / 中文说明"),
    ("message_en", "VARCHAR", "Message in English / 英文说明"),
    ("detail", "JSON", "Figures behind the finding / 明细(JSON)"),
    ("waived", "BOOLEAN DEFAULT false", "Matched an approved exception (waivers) / 已批准例外"),
]
FINDINGS_DDL = ", ".join(f"{c} {t}" for c, t, _ in FINDINGS_COLUMNS)


def comment_table(con: duckdb.DuckDBPyConnection, table: str, comment: str, columns: dict[str, str]) -> None:
    """COMMENT ON the table and each column (English / 中文 in one string)."""
    con.execute(f"COMMENT ON TABLE {table} IS {sql_str(comment)}")
    for col, text in columns.items():
        con.execute(f"COMMENT ON COLUMN {table}.{col} IS {sql_str(text)}")


def ensure_findings_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS findings ({FINDINGS_DDL})")
    con.execute(f"CREATE TABLE IF NOT EXISTS findings_history ({FINDINGS_DDL}, policy VARCHAR)")
    for t in ("findings", "findings_history"):  # warehouses written before v2 lack `waived`
        con.execute(f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS waived BOOLEAN DEFAULT false")
    comment_table(con, "findings", "Latest run's findings, one row per (rule_id, entity_key) / 最近一次运行的检查结果",
                  {c: d for c, _, d in FINDINGS_COLUMNS})
    comment_table(con, "findings_history", "Every run's findings / 历次运行的检查结果",
                  {**{c: d for c, _, d in FINDINGS_COLUMNS}, "policy": "Policy version applied / 适用的政策参数版本"})


def replace_findings(con: duckdb.DuckDBPyConnection, rule_ids: list[str], rows_relation_sql: str) -> None:
    """Replace the findings of the given rule ids with the rows of a SELECT
    that yields the findings columns by name (one transaction; a missing
    ``waived`` is false)."""
    ensure_findings_tables(con)
    con.execute("BEGIN")
    ids = ", ".join(sql_str(r) for r in rule_ids) or "NULL"
    con.execute(f"DELETE FROM findings WHERE rule_id IN ({ids})")
    con.execute(f"INSERT INTO findings BY NAME {rows_relation_sql}")
    con.execute("COMMIT")
