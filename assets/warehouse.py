"""The DuckDB warehouse: write-then-swap staging, a single-writer lock, and the
shared DDL (findings schema, comments).

A run never writes the live file. Its first connection copies the live
warehouse to ``<name>.run-<run_id>.duckdb`` (under an exclusive lock on
``<name>.lock``); every asset of the run writes that staging copy; the final
``warehouse_commit`` asset checkpoints it and renames it over the live file
(atomic on POSIX). A run killed at any point leaves the live warehouse as it
was; the next run removes stale staging files once it holds the lock.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from dagster_duckdb import DuckDBResource

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
]
FINDINGS_DDL = ", ".join(f"{c} {t}" for c, t, _ in FINDINGS_COLUMNS)


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse lock."""


_held_locks: dict[str, object] = {}


def _lock_path(live: Path) -> Path:
    return live.with_name(live.name + ".lock")


def staging_path(live: Path, run_id: str) -> Path:
    return live.with_name(f"{live.stem}.run-{run_id}{live.suffix or '.duckdb'}")


def acquire_lock(live: Path, run_id: str) -> None:
    """Take the single-writer lock for this process (idempotent per run)."""
    key = str(live)
    if key in _held_locks:
        return
    live.parent.mkdir(parents=True, exist_ok=True)
    fh = open(_lock_path(live), "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another run"
        fh.close()
        raise WarehouseBusy(f"warehouse busy / 数据仓库正被写入: {live} is being written by {holder}") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"run {run_id} (pid {os.getpid()})")
    fh.flush()
    _held_locks[key] = fh


def release_lock(live: Path) -> None:
    fh = _held_locks.pop(str(live), None)
    if fh is not None:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


class Warehouse(DuckDBResource):
    """DuckDBResource for the live warehouse file, with per-run staging."""

    def live_path(self) -> Path:
        return Path(self.database)

    @contextmanager
    def run_connection(self, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """Connection to this run's staging copy (created on first use)."""
        live = self.live_path()
        stage = staging_path(live, run_id)
        if not stage.exists():
            acquire_lock(live, run_id)
            for stale in live.parent.glob(f"{live.stem}.run-*"):
                if stale != stage:
                    stale.unlink(missing_ok=True)
            tmp = stage.with_name(stage.name + ".copying")
            if live.exists():
                try:
                    shutil.copyfile(live, tmp)
                except OSError as exc:
                    raise OSError(f"cannot copy warehouse {live} to {tmp}: {exc.strerror}") from exc
                os.replace(tmp, stage)
        else:
            acquire_lock(live, run_id)
        con = duckdb.connect(str(stage), config=dict(self.connection_config))
        try:
            yield con
        finally:
            con.close()

    def commit(self, run_id: str) -> Path:
        """Swap this run's staging copy in as the live warehouse."""
        live = self.live_path()
        stage = staging_path(live, run_id)
        con = duckdb.connect(str(stage))
        con.execute("CHECKPOINT")
        con.close()
        os.replace(stage, live)
        wal = stage.with_name(stage.name + ".wal")
        wal.unlink(missing_ok=True)
        release_lock(live)
        return live


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def comment_table(con: duckdb.DuckDBPyConnection, table: str, comment: str, columns: dict[str, str]) -> None:
    """COMMENT ON the table and each column (English / 中文 in one string)."""
    con.execute(f"COMMENT ON TABLE {table} IS {sql_str(comment)}")
    for col, text in columns.items():
        con.execute(f"COMMENT ON COLUMN {table}.{col} IS {sql_str(text)}")


def ensure_findings_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS findings ({FINDINGS_DDL})")
    con.execute(f"CREATE TABLE IF NOT EXISTS findings_history ({FINDINGS_DDL}, policy VARCHAR)")
    comment_table(con, "findings", "Latest run's findings, one row per (rule_id, entity_key) / 最近一次运行的检查结果",
                  {c: d for c, _, d in FINDINGS_COLUMNS})
    comment_table(con, "findings_history", "Every run's findings / 历次运行的检查结果",
                  {**{c: d for c, _, d in FINDINGS_COLUMNS}, "policy": "Policy version applied / 适用的政策参数版本"})


def replace_findings(con: duckdb.DuckDBPyConnection, rule_ids: list[str], rows_relation_sql: str) -> None:
    """Replace the findings of the given rule ids with the rows of a SELECT
    that yields the findings columns in order (one transaction)."""
    ensure_findings_tables(con)
    con.execute("BEGIN")
    ids = ", ".join(sql_str(r) for r in rule_ids) or "NULL"
    con.execute(f"DELETE FROM findings WHERE rule_id IN ({ids})")
    con.execute(f"INSERT INTO findings {rows_relation_sql}")
    con.execute("COMMIT")
