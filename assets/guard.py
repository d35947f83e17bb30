"""The input guard: a blocking asset check that stops a run which lost data
before anything is committed or published (issue 19 item 3).

After ingest, for each of the nine contract tables (one check each, on the
table's asset) and for the folder as a whole (a check on ``ingest_log``):

- a file of the table rejected whole (``ingest_files.status`` in
  ``BLOCKING_STATUSES``) fails the table's check; such a file whose table
  could not be told fails the ``ingest_log`` check;
- the table's loaded rows (``ingest_log.rows_loaded`` summed) falling by more
  than ``run_guard.max_row_drop_share`` of ``expectations/policy.yaml``
  (default 0.20) against the last committed run (the live warehouse's
  ``ingest_log``) fails the table's check;
- a folder with no recognised input file fails the ``ingest_log`` check.

The checks are blocking with severity ERROR: the rules, marts, site and
``warehouse_commit`` are skipped, so the previous warehouse and site stay
live. ``permits run --accept-drop TABLE`` (run config ``accept_drop`` of this
op; a table name or an input file name, repeatable) accepts a real drop: the
check then passes and records what was accepted.

The checks read this run's own staging copy (``Warehouse.run_connection``)
and the live file (read-only): never another run's results.
No ``from __future__ import annotations`` here: Dagster needs real types.
"""
from pathlib import Path
from typing import Optional

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, Config, MetadataValue, multi_asset_check
from pydantic import Field

from core.contract import TABLE_ORDER
from core.policy import load_max_row_drop_share
from assets.settings import AS_OF_PARTITIONS, PermitsSettings
from assets.warehouse import Warehouse, existing_tables

CHECK = "no_data_loss"
FOLDER_CHECK = "input_files_complete"
GUARD_OP = "input_guard"
# ingest_files statuses that mean "this file's rows did not reach the warehouse at all"
BLOCKING_STATUSES = ("rejected", "error", "unreadable", "too_large")
# statuses of a file whose table was recognised and read
READ_STATUSES = ("loaded", "warning", "empty")


class GuardConfig(Config):
    accept_drop: list[str] = Field(
        default=[],
        description="Tables (or input file names) whose rejected files or drop in loaded rows the operator "
                    "accepts for this run / 本次运行接受的数据减少(表名或文件名)")


def max_drop_share(policy_file: Path) -> float:
    """``run_guard.max_row_drop_share`` of the policy file (default 0.20; core.policy reads it)."""
    return load_max_row_drop_share(policy_file)


def _loaded(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    if "ingest_log" not in existing_tables(con):
        return {}
    return {t: int(n or 0) for t, n in
            con.execute("SELECT table_name, sum(rows_loaded) FROM ingest_log WHERE table_name IS NOT NULL "
                        "GROUP BY ALL").fetchall()}


def previous_loaded(live: Path) -> Optional[dict[str, int]]:
    """Loaded rows per table of the last committed run (None: no committed run)."""
    if not Path(live).exists():
        return None
    con = duckdb.connect(str(live), read_only=True)
    try:
        have = existing_tables(con)
        if "run_summary" not in have or not con.sql("SELECT count(*) FROM run_summary").fetchall()[0][0]:
            return None
        return _loaded(con)
    finally:
        con.close()


def assess(con: duckdb.DuckDBPyConnection, run_id: str, previous: Optional[dict[str, int]], max_share: float,
           accept: list[str]) -> dict[str, dict]:
    """Per table (and ``ingest_log`` for the folder): passed, accepted, message, figures."""
    now = _loaded(con)
    files: list[tuple] = []
    if "ingest_files" in existing_tables(con):
        files = con.execute("SELECT source_file, table_name, status, message FROM ingest_files WHERE run_id = ? "
                            "ORDER BY source_file", [run_id]).fetchall()
    accepted = set(accept)

    def ok(f: str) -> bool:  # a file is named as written (Excel: "<file>#<sheet>" or just "<file>")
        return f in accepted or f.split("#", 1)[0] in accepted
    out: dict[str, dict] = {}
    for table in TABLE_ORDER:
        problems, figures = [], {"rows_loaded": now.get(table, 0)}
        rejected = [f for f in files if f[1] == table and f[2] in BLOCKING_STATUSES]
        for f, _, status, msg in rejected:
            if not ok(f):
                problems.append(f"文件 {f} 被整体拒收 / file {f} was rejected whole ({status}: "
                                f"{(msg or '').splitlines()[0][:200] if msg else ''})")
        if previous is not None:
            before = previous.get(table, 0)
            figures["rows_loaded_last_run"] = before
            if before > 0:
                drop = (before - now.get(table, 0)) / before
                figures["drop_share"] = round(drop, 4)
                if drop > max_share:
                    problems.append(f"{table} 载入行数从 {before:,} 降至 {now.get(table, 0):,} (减少 {drop:.1%}, "
                                    f"上限 {max_share:.0%}) / {table}: loaded rows fell from {before:,} to "
                                    f"{now.get(table, 0):,} ({drop:.1%}, more than {max_share:.0%}) against the "
                                    f"last committed run")
        ok_by_accept = bool(problems) and table in accepted
        out[table] = {"passed": not problems or ok_by_accept, "accepted": ok_by_accept,
                      "message": "; ".join(problems), "figures": figures}
    problems = []
    for f, t, status, msg in files:
        if t is None and status in BLOCKING_STATUSES and not ok(f):
            problems.append(f"文件 {f} 无法读取 / file {f} could not be read ({status}: "
                            f"{(msg or '').splitlines()[0][:200] if msg else ''})")
    if not any(t is not None and status in READ_STATUSES for _, t, status, _ in files):
        problems.append("输入文件夹中没有可识别的输入文件 / no recognised input file in the input folder "
                        "(nothing to load: the previous warehouse and site are kept)")
    out["ingest_log"] = {"passed": not problems, "accepted": False, "message": "; ".join(problems),
                         "figures": {"files": len(files)}}
    return out


def _specs() -> list[AssetCheckSpec]:
    import warnings

    with warnings.catch_warnings():  # partitions_def on AssetCheckSpec is a Dagster "preview" feature
        warnings.simplefilter("ignore")
        specs = [AssetCheckSpec(CHECK, asset=t, blocking=True, partitions_def=AS_OF_PARTITIONS,
                                description="No input file of this table rejected whole, and loaded rows not down by "
                                            "more than the policy share against the last committed run / "
                                            "无整体拒收的文件,载入行数未超比例下降")
                 for t in TABLE_ORDER]
        specs.append(AssetCheckSpec(FOLDER_CHECK, asset="ingest_log", blocking=True, partitions_def=AS_OF_PARTITIONS,
                                    description="At least one recognised input file, and every file readable / "
                                                "至少一个可识别的输入文件且均可读取"))
    return specs


@multi_asset_check(specs=_specs(), name=GUARD_OP,
                   description="Stop the run before commit and publish when input data was lost / "
                               "输入数据缺失时在提交和发布前停止运行")
def input_guard(context, config: GuardConfig, settings: PermitsSettings, warehouse: Warehouse):
    run_id = context.run.run_id
    previous = previous_loaded(warehouse.live_path())
    share = max_drop_share(settings.policy_path())
    with warehouse.run_connection(run_id) as con:
        verdicts = assess(con, run_id, previous, share, list(config.accept_drop))
    for key, v in verdicts.items():
        if not v["passed"]:
            context.log.error(v["message"])
        elif v["accepted"]:
            context.log.warning(f"accepted by the operator (--accept-drop) / 操作员已确认: {v['message']}")
        yield AssetCheckResult(
            asset_key=key, check_name=FOLDER_CHECK if key == "ingest_log" else CHECK, passed=v["passed"],
            severity=AssetCheckSeverity.ERROR, description=v["message"] or None,
            metadata={"max_row_drop_share": share, "accepted": v["accepted"], "message": v["message"],
                      **{k: MetadataValue.float(float(x)) if isinstance(x, float) else MetadataValue.int(int(x))
                         for k, x in v["figures"].items()}})


guard_checks = [input_guard]
