"""Schedules and sensors (issue 7).

- ``permits_daily`` — every day at 02:00 Asia/Shanghai, the whole graph for
  partition as_of = that day.
- ``inbox_sensor`` — watches ``settings.inbox_dir``. When every file there has
  been unchanged for ``settings.sensor_stable_seconds``, it rejects files it
  cannot read (moved to ``rejected_dir`` with ``<file>.reason.txt``), snapshots
  the rest (hard links) into ``<archive_dir>/.incoming/<run_key>/`` and requests
  a run for partition as_of = today whose ingest step reads that snapshot. The
  run key is a hash of the file set (names, sizes, mtimes): the same file set
  never runs twice.
- ``inbox_archive_sensor`` — when such a run succeeds, moves its files out of the
  inbox to ``<archive_dir>/<run_id>/``; files the ingest layer could not read
  (``ingest_files.status`` rejected / unsupported / unrecognised / error) go to
  ``rejected_dir`` with the ingest message as their reason file.
  A run-status sensor sees only runs that end after its first tick (or while it
  runs): a run that succeeded while it was stopped, or before its first tick,
  would stay in ``.incoming`` and its files in the inbox for good. So every
  ``inbox_sensor`` tick first archives the snapshots whose run succeeded
  (``archive_succeeded``; the same ``archive_run``).

Both launch with a partition key (the as_of) and one value of run config, the
ingest step's input folder (``ingest_run_config``); the runs use the code
location's resources as they are (its warehouse waits up to an hour for a
`permits run` holding the lock).

Exports ``schedules`` and ``sensors`` (lists) for ``pipelines.definitions``;
``build_schedules``/``build_sensors`` make the same for another job name.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

from dagster import (DagsterInvariantViolationError, DagsterRunStatus, DefaultScheduleStatus, DefaultSensorStatus,
                     RunConfig, RunRequest, RunsFilter, ScheduleEvaluationContext, SensorEvaluationContext, SkipReason,
                     run_status_sensor, schedule, sensor)

from assets.settings import INGEST_OP, SHANGHAI, IngestConfig, PermitsSettings, today_shanghai
from assets.warehouse import Warehouse

JOB_NAME = "permits_job"  # == pipelines.definitions.JOB_NAME (not imported: definitions imports this module)
SCHEDULE_NAME = "permits_daily"
INBOX_SENSOR_NAME = "inbox_sensor"
ARCHIVE_SENSOR_NAME = "inbox_archive_sensor"

TAG_KEY = "permits/inbox_key"
TAG_SNAPSHOT = "permits/inbox_snapshot"
TAG_INBOX = "permits/inbox_dir"
TAG_ARCHIVE = "permits/archive_dir"
TAG_REJECTED = "permits/rejected_dir"
TAG_WAREHOUSE = "permits/warehouse"

SUPPORTED_SUFFIXES = {".csv", ".xlsx", ".parquet"}
# names that are still being written or are not data
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".filepart", ".reason.txt")
NOT_READ_STATUSES = {"rejected", "unsupported", "unrecognised", "error"}


# ---------------------------------------------------------------- schedule

def latest_delivery(settings: PermitsSettings) -> Path | None:
    """The input of the nightly run: the newest archived inbox delivery
    (``<archive_dir>/<run_id>/`` with its manifest), else ``settings.inbox_dir``
    when it holds data files, else None. Every delivery is a full set of the
    contract's tables (a table with no file is empty), so the newest one is the
    current data; the nightly run re-evaluates it at the new as_of."""
    if settings.archive_dir and Path(settings.archive_dir).is_dir():
        done = [m for m in Path(settings.archive_dir).glob("*/manifest.json") if not m.parent.name.startswith(".")]
        if done:
            return max(done, key=lambda m: m.stat().st_mtime_ns).parent
    inp = Path(settings.inbox_dir) if settings.inbox_dir else None
    if inp is not None and inp.is_dir() and any(p.suffix.lower() in SUPPORTED_SUFFIXES for p in inp.iterdir()):
        return inp
    return None


def build_schedules(job_name: str = JOB_NAME) -> list:
    @schedule(name=SCHEDULE_NAME, cron_schedule="0 2 * * *", execution_timezone="Asia/Shanghai", job_name=job_name,
              default_status=DefaultScheduleStatus.STOPPED,
              description="每天 02:00 (北京时间) 用最新一批数据运行全流程, 基准日为当天 / "
                          "daily 02:00 Asia/Shanghai on the latest delivery, as_of = that day")
    def permits_daily(context: ScheduleEvaluationContext, settings: PermitsSettings):
        day = context.scheduled_execution_time.astimezone(SHANGHAI).date().isoformat()
        src = latest_delivery(settings)
        if src is None:
            return SkipReason(f"还没有输入数据 / no input delivered yet (archive {settings.archive_dir or '-'}, "
                              f"inbox {settings.inbox_dir or '-'})")
        return RunRequest(run_key=f"daily-{day}", partition_key=day, run_config=ingest_run_config(src),
                          tags={"permits/as_of": day, "permits/trigger": "schedule", "permits/input": str(src)})

    return [permits_daily]


# ---------------------------------------------------------------- inbox

def inbox_files(inbox: Path) -> list[Path]:
    """Data files directly in the inbox (hidden, lock and partial files left out)."""
    if not inbox.is_dir():
        return []
    out = []
    for p in sorted(inbox.iterdir()):
        name = p.name
        if name.startswith((".", "~$")) or name.lower().endswith(PARTIAL_SUFFIXES):
            continue
        if p.is_file():
            out.append(p)
    return out


def file_set_key(entries: list[tuple[str, int, int]]) -> str:
    """Run key of a file set: sha256 of sorted (name, size, mtime_ns)."""
    h = hashlib.sha256()
    for name, size, mtime in sorted(entries):
        h.update(f"{name}\0{size}\0{mtime}\n".encode("utf-8"))
    return "inbox-" + h.hexdigest()[:24]


def probe_readable(path: Path) -> str | None:
    """A quick check that a file can be read as its format; None when it can,
    else the reason (Chinese / English). Deeper problems (encoding, missing
    columns) are the ingest layer's and come back through ``ingest_files``."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return (f"不支持的文件类型 {suffix or '(无扩展名)'}, 仅支持 CSV、Excel (.xlsx)、Parquet / "
                f"unsupported file type {suffix or '(none)'}: only .csv, .xlsx and .parquet are read")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if suffix == ".parquet" and size >= 8:
                fh.seek(-4, os.SEEK_END)
                tail = fh.read(4)
    except OSError as exc:
        return f"无法读取文件 / cannot read the file: {exc.strerror or exc}"
    if size == 0:
        return "文件为空 (0 字节) / the file is empty (0 bytes)"
    if suffix == ".xlsx":
        try:
            with zipfile.ZipFile(path) as zf:
                if "xl/workbook.xml" not in zf.namelist():
                    return "不是有效的 Excel (.xlsx) 文件: 缺少 xl/workbook.xml / not a valid .xlsx: no xl/workbook.xml"
        except (zipfile.BadZipFile, OSError) as exc:
            return f"不是有效的 Excel (.xlsx) 文件 / not a valid .xlsx file (not a zip archive): {exc}"
    elif suffix == ".parquet":
        if size < 12 or head[:4] != b"PAR1" or tail != b"PAR1":
            return "不是有效的 Parquet 文件 (缺少 PAR1 标记, 可能不完整) / not a valid Parquet file (no PAR1 magic; truncated?)"
    return None


def _unique_target(folder: Path, name: str) -> Path:
    target = folder / name
    if not target.exists() and not Path(str(target) + ".reason.txt").exists():
        return target
    stamp = dt.datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M%S")
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while True:
        target = folder / f"{stem}.{stamp}-{n}{suffix}"
        if not target.exists():
            return target
        n += 1


def reject_file(path: Path, rejected_dir: Path, reason: str, source: str) -> Path:
    """Move a file to rejected_dir with ``<file>.reason.txt`` beside it."""
    rejected_dir.mkdir(parents=True, exist_ok=True)
    target = _unique_target(rejected_dir, path.name)
    st = path.stat()
    shutil.move(str(path), str(target))
    Path(str(target) + ".reason.txt").write_text(
        f"文件 / file: {path.name}\n"
        f"原因 / reason: {reason}\n"
        f"发现于 / found by: {source}\n"
        f"大小 / size: {st.st_size} bytes\n"
        f"修改时间 / modified: {dt.datetime.fromtimestamp(st.st_mtime, SHANGHAI).isoformat(timespec='seconds')}\n"
        f"移出时间 / moved: {dt.datetime.now(SHANGHAI).isoformat(timespec='seconds')}\n"
        "处理办法: 修正后重新放入收件箱 / fix the file and drop it into the inbox again\n",
        encoding="utf-8")
    return target


def snapshot_files(files: list[Path], snap: Path, manifest: dict) -> Path:
    """Hard-link (or copy, across file systems) the files into ``snap``
    atomically (build in a temp folder, then rename)."""
    if (snap / "manifest.json").exists():
        return snap
    tmp = snap.with_name(snap.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in files:
        try:
            os.link(f, tmp / f.name)
        except OSError:
            shutil.copy2(f, tmp / f.name)
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    if snap.exists():  # a half-made snapshot without manifest
        shutil.rmtree(snap)
    os.replace(tmp, snap)
    return snap


def ingest_run_config(input_dir: Path) -> dict:
    """Run config of a run that reads ``input_dir`` (its only per-run value
    besides the partition key)."""
    return {"ops": RunConfig(ops={INGEST_OP: IngestConfig(input_dir=str(input_dir))}).to_config_dict()["ops"]}


def archive_dir_of(settings: PermitsSettings) -> Path:
    """Where deliveries are archived: ``settings.archive_dir``, else ``archive`` beside the inbox."""
    return Path(settings.archive_dir or Path(settings.inbox_dir).parent / "archive")


def evaluate_inbox(settings: PermitsSettings, warehouse: Warehouse, cursor: str | None, now: float | None = None,
                   log=None) -> tuple[RunRequest | SkipReason, str | None]:
    """One sensor tick: (RunRequest or SkipReason, new cursor)."""
    now = time.time() if now is None else now
    inbox = Path(settings.inbox_dir)
    if not settings.inbox_dir or not inbox.is_dir():
        return SkipReason(f"收件箱不存在 / inbox folder not found: {settings.inbox_dir or '(not set)'}"), cursor
    stats = {}
    for f in inbox_files(inbox):
        try:
            stats[f] = f.stat()
        except FileNotFoundError:  # moved away between listing and stat
            continue
    files = list(stats)
    if not files:
        return SkipReason(f"收件箱为空 / inbox is empty: {inbox}"), cursor
    stable = max(0, int(settings.sensor_stable_seconds))
    settling = [f.name for f in files if now - stats[f].st_mtime < stable]
    if settling:
        return SkipReason(f"等待文件写完 / waiting for {len(settling)} file(s) to be unchanged for {stable} s: "
                          + ", ".join(settling[:5])), cursor
    rejected_dir = Path(settings.rejected_dir or inbox.parent / "rejected")
    keep = []
    for f in files:
        reason = probe_readable(f)
        if reason is None:
            keep.append(f)
        else:
            target = reject_file(f, rejected_dir, reason, "inbox sensor probe / 收件箱传感器检查")
            if log is not None:
                log.warning(f"rejected {f.name} → {target}: {reason}")
    if not keep:
        return SkipReason("收件箱中没有可读取的文件 / no readable file in the inbox (unreadable ones moved to "
                          f"{rejected_dir})"), cursor
    entries = [(f.name, stats[f].st_size, stats[f].st_mtime_ns) for f in keep]
    key = file_set_key(entries)
    last = json.loads(cursor).get("last_key") if cursor else None
    if key == last:
        return SkipReason(f"这批文件已经运行过 / this file set was already run (run key {key})"), cursor
    archive_dir = archive_dir_of(settings)
    snap = snapshot_files(keep, archive_dir / ".incoming" / key,
                          {"run_key": key, "inbox": str(inbox),
                           "files": [{"name": n, "size": s, "mtime_ns": m} for n, s, m in entries]})
    as_of = today_shanghai().isoformat()
    req = RunRequest(
        run_key=key, partition_key=as_of,
        run_config=ingest_run_config(snap),
        tags={TAG_KEY: key, TAG_SNAPSHOT: str(snap), TAG_INBOX: str(inbox), TAG_ARCHIVE: str(archive_dir),
              TAG_REJECTED: str(rejected_dir), TAG_WAREHOUSE: str(Path(warehouse.database).resolve()),
              "permits/as_of": as_of,
              "permits/trigger": "inbox"})
    return req, json.dumps({"last_key": key})


def not_read_files(warehouse: Path, run_id: str) -> dict[str, str]:
    """Files of a run that the ingest layer could not read: name -> message
    (from ``ingest_files`` of the live warehouse; {} when there is none)."""
    import duckdb

    if not warehouse.is_file():
        return {}
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return {}
    try:
        have = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "ingest_files" not in have:
            return {}
        rows = con.execute("SELECT source_file, status, message FROM ingest_files WHERE run_id = ?", [run_id]).fetchall()
    finally:
        con.close()
    per_file: dict[str, list[tuple[str, str]]] = {}
    for src, status, msg in rows:
        per_file.setdefault(str(src).split("#", 1)[0], []).append((str(status), str(msg or status)))
    # a workbook is "not read" only when none of its sheets was read
    return {f: "; ".join(m for _, m in v) for f, v in per_file.items()
            if all(s in NOT_READ_STATUSES for s, _ in v)}


def archive_run(run_id: str, tags: dict, log=None) -> dict:
    """After a successful inbox run: inbox files of the snapshot (unchanged
    since) leave the inbox; the snapshot becomes ``<archive>/<run_id>/``; files
    the ingest could not read go to rejected_dir with a reason file."""
    snap = Path(tags[TAG_SNAPSHOT])
    inbox = Path(tags[TAG_INBOX])
    archive = Path(tags[TAG_ARCHIVE]) / run_id
    rejected_dir = Path(tags[TAG_REJECTED])
    out = {"archived": [], "rejected": [], "left_in_inbox": []}
    if not snap.is_dir():
        if archive.is_dir():
            return out  # already archived (sensor evaluated twice)
        raise FileNotFoundError(f"inbox snapshot missing / 快照不存在: {snap}")
    manifest = json.loads((snap / "manifest.json").read_text(encoding="utf-8"))
    bad = not_read_files(Path(tags[TAG_WAREHOUSE]), run_id) if tags.get(TAG_WAREHOUSE) else {}
    for f in manifest["files"]:
        src = inbox / f["name"]
        try:
            st = src.stat()
        except FileNotFoundError:
            continue
        if (st.st_size, st.st_mtime_ns) != (f["size"], f["mtime_ns"]):
            out["left_in_inbox"].append(f["name"])  # replaced since the snapshot: a new file set
            continue
        if f["name"] in bad:
            reject_file(src, rejected_dir, bad[f["name"]], f"ingest of run {run_id} / 运行 {run_id} 的导入")
            (snap / f["name"]).unlink(missing_ok=True)
            out["rejected"].append(f["name"])
        else:
            src.unlink()
            out["archived"].append(f["name"])
    archive.parent.mkdir(parents=True, exist_ok=True)
    os.replace(snap, archive)
    if log is not None:
        log.info(f"archived {len(out['archived'])} file(s) to {archive}; rejected {len(out['rejected'])}; "
                 f"left in inbox (changed since) {len(out['left_in_inbox'])}")
    return out


def archive_succeeded(instance, archive_dir: Path, log=None) -> list[str]:
    """Archive (``archive_run``) every snapshot in ``<archive_dir>/.incoming``
    whose inbox run succeeded; the ids of those runs. Snapshots of runs queued,
    running or failed stay."""
    incoming = archive_dir / ".incoming"
    if not incoming.is_dir():
        return []
    done = []
    for snap in sorted(p for p in incoming.iterdir() if p.is_dir()):
        runs = instance.get_runs(filters=RunsFilter(tags={TAG_KEY: snap.name}, statuses=[DagsterRunStatus.SUCCESS]),
                                 limit=1)
        if runs and runs[0].tags.get(TAG_SNAPSHOT) == str(snap):
            try:
                archive_run(runs[0].run_id, dict(runs[0].tags), log=log)
            except OSError as exc:  # one delivery that cannot be archived must not hold back new ones
                if log is not None:
                    log.error(f"归档失败 / could not archive run {runs[0].run_id} ({snap}): {exc}")
                continue
            done.append(runs[0].run_id)
    return done


def build_sensors(job_name: str = JOB_NAME) -> list:
    @sensor(name=INBOX_SENSOR_NAME, job_name=job_name, minimum_interval_seconds=15,
            default_status=DefaultSensorStatus.STOPPED,
            description="收件箱有新文件且稳定后启动运行 / start a run when new inbox files are stable")
    def inbox_sensor(context: SensorEvaluationContext, settings: PermitsSettings, warehouse: Warehouse):
        try:
            instance = context.instance
        except DagsterInvariantViolationError:  # a context built without an instance (tests of the inbox alone)
            instance = None
        if instance is not None and settings.inbox_dir:  # the runs the archive sensor did not see
            archive_succeeded(instance, archive_dir_of(settings), log=context.log)
        result, cursor = evaluate_inbox(settings, warehouse, context.cursor, log=context.log)
        if cursor != context.cursor:
            context.update_cursor(cursor)
        return result

    @run_status_sensor(name=ARCHIVE_SENSOR_NAME, run_status=DagsterRunStatus.SUCCESS,
                       minimum_interval_seconds=15, default_status=DefaultSensorStatus.STOPPED,
                       description="运行成功后归档收件箱文件 / archive inbox files after a successful run")
    def inbox_archive_sensor(context):
        run = context.dagster_run
        if run.job_name != job_name or TAG_KEY not in run.tags:
            return SkipReason("not an inbox run")
        archive_run(run.run_id, dict(run.tags), log=context.log)
        return None

    return [inbox_sensor, inbox_archive_sensor]


schedules: list = build_schedules()
sensors: list = build_sensors()
