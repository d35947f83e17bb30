"""The last asset of a run: write the run summary, swap the staged warehouse
in, then swap the staged site in (``assets.publish.commit_site``): a failed
warehouse commit leaves the previous site live.

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
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.settings import AS_OF_PARTITIONS, PermitsSettings, resolve_as_of, run_input_dir
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
    ("notifications", "JSON", "Reminder run: status, counts per channel, failed channels (no URLs) / 提醒发送情况"),
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
    notifications = None
    if "notifications" in have:  # written by the notifications asset (issue 18)
        rows = con.execute("SELECT status, summary FROM notifications WHERE run_id = ?", [run_id]).fetchall()
        if rows:
            notifications = {"status": rows[0][0], **json.loads(rows[0][1] or "{}")}
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
        "as_of": resolve_as_of(context),
        "policy": policy_version(settings),
        "policy_file": str(settings.policy_path()),
        "input_dir": str(run_input_dir(context.run, settings) or ""),
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
        "notifications": notifications,
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
    n = summary.get("notifications")
    if n:
        lines.append(f"提醒 / reminders: {n.get('status')}  digests {n.get('digests_planned', 0)}  "
                     f"failed channels: {', '.join(n.get('failed_channels') or []) or '-'}")
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
    con.execute("ALTER TABLE run_summary ADD COLUMN IF NOT EXISTS notifications JSON")  # warehouses before issue 18
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
    vals[[c for c, _, _ in RUN_SUMMARY_COLUMNS].index("notifications")] = json.dumps(
        summary.get("notifications"), ensure_ascii=False, default=str)
    con.execute(f"INSERT INTO run_summary ({', '.join(c for c, _, _ in RUN_SUMMARY_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(vals))})", vals)
    if summary["steps"]:
        con.executemany("INSERT INTO run_steps VALUES (?, ?, ?, ?, ?, ?)",
                        [[rid, s["step_key"], s["status"], s["started_at"], s["finished_at"], s["seconds"]]
                         for s in summary["steps"]])
    con.execute("COMMIT")


# a run of a past day keeps these rows of its own; everything else of the live warehouse stays
PAST_DAY_TABLES = ["findings_history", "run_summary", "run_steps"]


class CommitConfig(Config):
    snapshot: bool = Field(default=False, description=(
        "For a run of a day before the newest one already committed: also publish its site as a dated "
        "snapshot beside the live one (<site>-<as_of>/) / 过去日期的运行另存一份带日期的网站"))


def newest_committed_as_of(live: Path) -> dt.date | None:
    """The newest as_of of the committed runs (None: no committed run)."""
    if not Path(live).exists():
        return None
    con = duckdb.connect(str(live), read_only=True)
    try:
        if "run_summary" not in existing_tables(con):
            return None
        return con.sql("SELECT max(as_of) FROM run_summary").fetchall()[0][0]
    finally:
        con.close()


def snapshot_dir(site_dir: Path, as_of: dt.date) -> Path:
    site_dir = Path(site_dir)
    return site_dir.with_name(f"{site_dir.name}-{as_of.isoformat()}")


@asset(group_name="publish", kinds={"duckdb"}, deps=["site", "notifications"], partitions_def=AS_OF_PARTITIONS,
       description="Write the run summary, then atomically swap this run's staged warehouse in / "
                   "写入运行摘要并提交本次运行的数据仓库")
def warehouse_commit(context: AssetExecutionContext, config: CommitConfig, warehouse: Warehouse,
                     settings: PermitsSettings) -> MaterializeResult:
    """Commit the run. The live warehouse and site show the newest as_of that
    has run: a run of an earlier day commits only its own findings_history and
    run summary rows (and, with ``snapshot``, publishes its site as
    ``<site>-<as_of>/``), leaving the live tables and site alone."""
    from assets.publish import commit_site, release_site, snapshot_site

    t0 = time.perf_counter()
    run_id = context.run.run_id
    as_of = resolve_as_of(context)
    newest = newest_committed_as_of(warehouse.live_path())
    past = newest is not None and as_of < newest
    with warehouse.run_connection(run_id) as con:
        summary = collect_run_summary(context, con, settings)
        if past:
            summary["tags"] = {**summary["tags"], "permits/past_day": f"newest committed as_of is {newest}"}
        write_run_summary(con, summary)
        counts = table_counts(con, sorted(existing_tables(con)))
    context.log.info(format_run_summary(summary))
    snapshot = None
    if past:
        context.log.warning(f"as_of {as_of} is before the newest committed day {newest}: only this run's "
                            f"findings_history and run summary are kept; the live tables and site stay at {newest} "
                            f"/ 过去日期的运行: 只保留历史结果, 当前视图不变")
        live = warehouse.commit_rows_only(run_id, PAST_DAY_TABLES)
        if config.snapshot:
            snapshot = snapshot_site(Path(settings.site_dir), run_id, snapshot_dir(Path(settings.site_dir), as_of))
        release_site(Path(settings.site_dir), run_id)
        swapped = False
    else:
        live = warehouse.commit(run_id)
        swapped = commit_site(Path(settings.site_dir), run_id)
    return MaterializeResult(metadata={
        "warehouse": MetadataValue.path(str(live)),
        "site_swapped": swapped,
        "past_day": past,
        **({"snapshot": MetadataValue.path(str(snapshot))} if snapshot else {}),
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
