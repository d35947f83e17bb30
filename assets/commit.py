"""The last asset of a run: write the run summary and swap the staged
warehouse in (issue 7 owns this).

Nothing may read the run's staging database after this asset: asset checks
report results that the rule layer saved in the run's work folder.

``collect_run_summary`` is shared: the site asset calls it to show the current
run on the index page (the summary of the steps finished so far), and
``warehouse_commit`` writes it to the ``run_summary`` / ``run_steps`` tables.
"""
import datetime as dt
import json
import time
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.settings import AS_OF_PARTITIONS, PermitsSettings, resolve_as_of
from assets.warehouse import Warehouse, comment_table, existing_tables, sql_str, table_counts

RUN_SUMMARY_COLUMNS: list[tuple[str, str, str]] = [
    ("run_id", "VARCHAR", "Dagster run id / 运行编号"),
    ("as_of", "DATE", "Evaluation date / 评估基准日"),
    ("policy", "VARCHAR", "Policy version applied / 适用的政策参数版本"),
    ("policy_file", "VARCHAR", "Policy file used / 政策参数文件"),
    ("input_dir", "VARCHAR", "Folder of input files / 输入文件夹"),
    ("started_at", "TIMESTAMPTZ", "Run start / 运行开始时间"),
    ("committed_at", "TIMESTAMPTZ", "When the warehouse was committed / 数据仓库提交时间"),
    ("seconds", "DOUBLE", "Seconds from start to commit / 运行耗时(秒)"),
    ("input_files", "INTEGER", "Input files read / 读取的输入文件数"),
    ("rows_read", "BIGINT", "Rows read from the input files / 读取行数"),
    ("rows_loaded", "BIGINT", "Rows loaded into the tables / 入库行数"),
    ("rows_quarantined", "BIGINT", "Rows quarantined / 隔离行数"),
    ("rows_collapsed", "BIGINT", "Exact duplicate rows collapsed / 合并的重复行数"),
    ("findings_error", "BIGINT", "Findings of severity error / 错误数"),
    ("findings_warning", "BIGINT", "Findings of severity warning / 警告数"),
    ("findings_info", "BIGINT", "Findings of severity info / 提示数"),
    ("inputs", "JSON", "Per input file: table and row counts / 各输入文件的行数"),
    ("tags", "JSON", "Dagster run tags (schedule, sensor, backfill) / 运行标签"),
]
RUN_STEPS_COLUMNS: list[tuple[str, str, str]] = [
    ("run_id", "VARCHAR", "Dagster run id / 运行编号"),
    ("step_key", "VARCHAR", "Dagster step (asset) / 步骤"),
    ("status", "VARCHAR", "SUCCESS | FAILURE | SKIPPED / 步骤状态"),
    ("started_at", "TIMESTAMPTZ", "Step start / 开始时间"),
    ("finished_at", "TIMESTAMPTZ", "Step end / 结束时间"),
    ("seconds", "DOUBLE", "Step duration / 耗时(秒)"),
]


def policy_version(settings: PermitsSettings) -> str:
    from core.policy import PolicyError, load_policy

    try:
        return load_policy(settings.policy_path()).version
    except PolicyError:
        return "unreadable"


def _ts(t: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc) if t else None


def collect_run_summary(context, con: duckdb.DuckDBPyConnection, settings: PermitsSettings) -> dict:
    """The run summary so far: inputs, rows in/loaded/quarantined, findings by
    severity, and time per finished step. Reads only this run's rows of
    ``ingest_log`` and ``findings`` in the staging connection ``con``."""
    run_id = context.run.run_id
    have = existing_tables(con)
    inputs: list[dict] = []
    if "ingest_log" in have:
        rel = con.sql(f"""SELECT source_file, table_name, sum(rows_read), sum(rows_loaded), sum(rows_quarantined),
                                 sum(rows_collapsed)
                          FROM ingest_log WHERE run_id = {sql_str(run_id)}
                          GROUP BY ALL ORDER BY source_file, table_name""")
        for f, t, r, lo, q, c in rel.fetchall():
            inputs.append({"file": f, "table": t, "rows_read": int(r or 0), "rows_loaded": int(lo or 0),
                           "rows_quarantined": int(q or 0), "rows_collapsed": int(c or 0)})
    sev = {"error": 0, "warning": 0, "info": 0}
    if "findings" in have:
        for s, n in con.sql(f"SELECT severity, count(*) FROM findings WHERE run_id = {sql_str(run_id)} "
                            "GROUP BY ALL").fetchall():
            sev[str(s)] = int(n)
    steps = []
    started = None
    try:
        stats = context.instance.get_run_stats(run_id)
        started = stats.start_time or stats.launch_time
        for s in context.instance.get_run_step_stats(run_id):
            if s.end_time is None:
                continue
            steps.append({"step_key": s.step_key, "status": s.status.value if s.status else None,
                          "started_at": _ts(s.start_time), "finished_at": _ts(s.end_time),
                          "seconds": round((s.end_time - (s.start_time or s.end_time)), 3)})
    except Exception as exc:  # summary must never fail a run
        context.log.warning(f"step statistics unavailable: {exc}")
    steps.sort(key=lambda s: s["started_at"] or dt.datetime.min.replace(tzinfo=dt.timezone.utc))
    now = time.time()
    return {
        "run_id": run_id,
        "as_of": resolve_as_of(context, settings),
        "policy": policy_version(settings),
        "policy_file": str(settings.policy_path()),
        "input_dir": settings.input_dir,
        "started_at": _ts(started),
        "committed_at": _ts(now),
        "seconds": round(now - started, 3) if started else None,
        "input_files": len({i["file"] for i in inputs}),
        "rows_read": sum(i["rows_read"] for i in inputs),
        "rows_loaded": sum(i["rows_loaded"] for i in inputs),
        "rows_quarantined": sum(i["rows_quarantined"] for i in inputs),
        "rows_collapsed": sum(i["rows_collapsed"] for i in inputs),
        "findings_error": sev.get("error", 0),
        "findings_warning": sev.get("warning", 0),
        "findings_info": sev.get("info", 0),
        "inputs": inputs,
        "tags": {k: v for k, v in (context.run.tags or {}).items()} if getattr(context, "run", None) else {},
        "steps": steps,
    }


def format_run_summary(summary: dict) -> str:
    """One page of plain text for the run log (counts only: no names or IDs)."""
    lines = [
        f"运行摘要 / run summary  run {summary['run_id']}  as_of {summary['as_of']}",
        f"政策 / policy: {summary['policy']}",
        f"输入 / inputs: {summary['input_files']} files from {summary['input_dir']}",
        f"行数 / rows: read {summary['rows_read']:,}  loaded {summary['rows_loaded']:,}  "
        f"quarantined {summary['rows_quarantined']:,}  collapsed {summary['rows_collapsed']:,}",
        f"检查结果 / findings: error {summary['findings_error']:,}  warning {summary['findings_warning']:,}  "
        f"info {summary['findings_info']:,}",
    ]
    for i in summary["inputs"][:40]:
        lines.append(f"  {i['file']} → {i['table']}: read {i['rows_read']:,}, loaded {i['rows_loaded']:,}, "
                     f"quarantined {i['rows_quarantined']:,}")
    if len(summary["inputs"]) > 40:
        lines.append(f"  … {len(summary['inputs']) - 40} more files")
    lines.append("步骤耗时 / time per step:")
    for s in summary["steps"]:
        lines.append(f"  {s['step_key']:<40} {s['status'] or '':<8} {s['seconds']:>9.2f} s")
    if summary["seconds"] is not None:
        lines.append(f"合计 / total: {summary['seconds']:.1f} s")
    return "\n".join(lines)


def write_run_summary(con: duckdb.DuckDBPyConnection, summary: dict) -> None:
    """Upsert this run's rows of ``run_summary`` and ``run_steps`` (idempotent)."""
    con.execute("CREATE TABLE IF NOT EXISTS run_summary ("
                + ", ".join(f"{c} {t}" for c, t, _ in RUN_SUMMARY_COLUMNS) + ")")
    con.execute("CREATE TABLE IF NOT EXISTS run_steps ("
                + ", ".join(f"{c} {t}" for c, t, _ in RUN_STEPS_COLUMNS) + ")")
    comment_table(con, "run_summary", "One row per committed run: inputs, row counts, findings by severity, "
                  "policy / 每次运行的摘要", {c: d for c, _, d in RUN_SUMMARY_COLUMNS})
    comment_table(con, "run_steps", "Time per step of each committed run / 每次运行各步骤耗时",
                  {c: d for c, _, d in RUN_STEPS_COLUMNS})
    rid = summary["run_id"]
    con.execute("BEGIN")
    con.execute("DELETE FROM run_summary WHERE run_id = ?", [rid])
    con.execute("DELETE FROM run_steps WHERE run_id = ?", [rid])
    vals = [summary[c] for c, _, _ in RUN_SUMMARY_COLUMNS]
    vals[[c for c, _, _ in RUN_SUMMARY_COLUMNS].index("inputs")] = json.dumps(summary["inputs"], ensure_ascii=False)
    vals[[c for c, _, _ in RUN_SUMMARY_COLUMNS].index("tags")] = json.dumps(summary["tags"], ensure_ascii=False)
    con.execute(f"INSERT INTO run_summary VALUES ({', '.join('?' * len(vals))})", vals)
    if summary["steps"]:
        con.executemany("INSERT INTO run_steps VALUES (?, ?, ?, ?, ?, ?)",
                        [[rid, s["step_key"], s["status"], s["started_at"], s["finished_at"], s["seconds"]]
                         for s in summary["steps"]])
    con.execute("COMMIT")


@asset(group_name="publish", kinds={"duckdb"}, deps=["site"], partitions_def=AS_OF_PARTITIONS,
       description="Write the run summary, then atomically swap this run's staged warehouse in / "
                   "写入运行摘要并提交本次运行的数据仓库")
def warehouse_commit(context: AssetExecutionContext, warehouse: Warehouse,
                     settings: PermitsSettings) -> MaterializeResult:
    t0 = time.perf_counter()
    with warehouse.run_connection(context.run.run_id) as con:
        summary = collect_run_summary(context, con, settings)
        write_run_summary(con, summary)
        counts = table_counts(con, sorted(existing_tables(con)))
    context.log.info(format_run_summary(summary))
    live = warehouse.commit(context.run.run_id)
    return MaterializeResult(metadata={
        "warehouse": MetadataValue.path(str(live)),
        "as_of": str(summary["as_of"]),
        "policy": summary["policy"],
        "rows_read": summary["rows_read"], "rows_loaded": summary["rows_loaded"],
        "rows_quarantined": summary["rows_quarantined"],
        "findings_error": summary["findings_error"], "findings_warning": summary["findings_warning"],
        "findings_info": summary["findings_info"],
        "tables": MetadataValue.json(counts),
        "seconds": round(time.perf_counter() - t0, 3),
    })


commit_assets = [warehouse_commit]
