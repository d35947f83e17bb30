"""Execute the Dagster job for one as_of: the single code path behind
`permits run`, `permits demo` and the benchmark.

- The run id is chosen up front, so the warehouse lock is taken before the
  job starts: a second run gets "warehouse busy" at once (or after waiting
  ``lock_timeout`` seconds), never a half-done run.
- Progress: every step start/finish of the run is pushed to the console as it
  happens (an instance event listener; the job runs in this thread).
- A run that fails or is interrupted drops its staging copy and its lock; a run
  killed outright leaves them for the next run, which removes them itself.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from dagster import DagsterEventType, DagsterInstance

DAGSTER_YAML = """\
# Written by `permits` (pipelines/runner.py::ensure_dagster_home).
# One run at a time: runs queued by the schedule, the inbox sensor or a UI
# backfill wait for each other instead of colliding on the warehouse lock.
concurrency:
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
"""


def ensure_dagster_home(home: Path) -> Path:
    """Create DAGSTER_HOME with a dagster.yaml that queues runs one at a time
    (only when the file is missing or empty: an operator's own file wins)."""
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists() or not cfg.read_text(encoding="utf-8").strip():
        cfg.write_text(DAGSTER_YAML, encoding="utf-8")
    return cfg


class RunInterrupted(RuntimeError):
    """The operator interrupted the run (Ctrl-C); the message says what was committed."""


class RunRefused(RuntimeError):
    """The run was stopped before commit by the input guard (or refused before it started)."""


def as_of_range() -> tuple[str, str]:
    """First and last as_of a run may evaluate (the job's daily partitions)."""
    from assets.settings import AS_OF_PARTITIONS

    return AS_OF_PARTITIONS.get_first_partition_key(), AS_OF_PARTITIONS.get_last_partition_key()


def terminal_instance() -> DagsterInstance:
    """The DAGSTER_HOME instance for a run started from a terminal, without
    compute-log capture: the run's output goes to the terminal itself, and no
    `tail` / watcher helper processes are started (they share the terminal's
    process group, so a Ctrl-C made each print a traceback)."""
    import os

    from dagster._core.instance.ref import InstanceRef

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.get()
    return DagsterInstance.from_ref(InstanceRef.from_dir(home, overrides={"compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}}))


def check_as_of(as_of: str) -> str:
    """``as_of`` when it is a real date within the partitions; else ValueError
    naming the valid range."""
    first, last = as_of_range()
    try:
        day = dt.date.fromisoformat(as_of)
    except (TypeError, ValueError):
        raise ValueError(f"--as-of {as_of!r} 不是有效日期 / is not a valid date (YYYY-MM-DD); "
                         f"有效范围 / valid range {first} … {last}") from None
    if not first <= day.isoformat() <= last:
        raise ValueError(f"--as-of {as_of} 超出范围 / is out of range; 有效范围 / valid range {first} … {last}")
    return day.isoformat()


def run_config_for(input_dir: Path, accept_drop: Sequence[str] = (), snapshot: bool = False) -> dict:
    """The run's own values, as the config of the steps that read them: the
    input folder (ingest), the accepted drops (input guard) and the dated
    snapshot (commit). The evaluation day is the run's partition key."""
    from dagster import RunConfig

    from assets.commit import CommitConfig
    from assets.guard import GUARD_OP, GuardConfig
    from assets.settings import INGEST_OP, IngestConfig

    cfg = RunConfig(ops={INGEST_OP: IngestConfig(input_dir=str(input_dir)),
                         GUARD_OP: GuardConfig(accept_drop=list(accept_drop)),
                         **({"warehouse_commit": CommitConfig(snapshot=True)} if snapshot else {})})
    return {"ops": cfg.to_config_dict()["ops"]}


def run_resources(warehouse: Path, site: Path, policy: Optional[Path] = None, lock_timeout: float = 0.0) -> dict:
    """The deployment of one `permits run`: its warehouse file, site folder and
    policy (command-line options), as resources bound for that run. The other
    resources (notifications) are the code location's."""
    from assets.settings import PermitsSettings
    from assets.warehouse import Warehouse

    return {"settings": PermitsSettings(site_dir=str(site), policy_file=str(policy) if policy else ""),
            "warehouse": Warehouse(database=str(warehouse), lock_timeout_seconds=float(lock_timeout))}


def _innermost_message(err) -> str:
    """The user's own error, first line (Dagster wraps user errors in its own
    step errors; the outermost non-Dagster error usually carries the context:
    file, row, rule)."""
    chain = []
    while err is not None:
        chain.append(err)
        err = getattr(err, "cause", None) or getattr(err, "context", None)
    user = [e for e in chain if not (e.cls_name or "").startswith("Dagster")]
    pick = user[0] if user else (chain[-1] if chain else None)
    if pick is None:
        return "step failed"
    lines = [ln.strip() for ln in (pick.message or "").strip().splitlines() if ln.strip()]
    first = lines[0] if lines else (pick.cls_name or "step failed")
    if (pick.cls_name or "").startswith("Dagster") and first.split(": ", 1)[0].endswith(pick.cls_name):
        # Dagster's own "dagster._core.errors.X: text" -> "text"
        first = first.split(": ", 1)[1] if ": " in first else first
    return first


class _Progress:
    """Prints each step as it starts and finishes (rich console)."""

    def __init__(self, console, status):
        self.console, self.status, self.started = console, status, {}
        self.done = 0
        self.checks = {True: 0, False: 0}

    def __call__(self, entry) -> None:
        ev = entry.dagster_event
        if ev is None or not ev.step_key:
            return
        try:
            if ev.event_type == DagsterEventType.STEP_START:
                self.started[ev.step_key] = entry.timestamp
                if self.status is not None:
                    self.status.update(f"运行中 / running: {ev.step_key} …")
            elif ev.event_type == DagsterEventType.STEP_SUCCESS:
                self.done += 1
                secs = ev.event_specific_data.duration_ms / 1000
                self.console.print(f"  [green]✓[/] {ev.step_key}  [dim]{secs:.1f} s[/]")
            elif ev.event_type == DagsterEventType.STEP_FAILURE:
                err = ev.event_specific_data.error if ev.event_specific_data else None
                # on one line however narrow the terminal: the message names a file, row and column
                self.console.print(f"  [red]✗ {ev.step_key}[/]: {_innermost_message(err)}", highlight=False,
                                   soft_wrap=True)
            elif ev.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                data = ev.event_specific_data
                if data is not None:
                    self.checks[bool(data.passed)] += 1
        except Exception:  # progress output must never break a run
            pass


def prune_work_dir(site: Path, run_id: str) -> None:
    """Remove the run's scratch folder (GX results, Data Docs) once the run
    has ended; the folder of work folders goes when it is empty."""
    import shutil

    from assets.settings import work_root

    root = work_root(site)
    shutil.rmtree(root / run_id, ignore_errors=True)
    try:
        root.rmdir()
    except OSError:
        pass


def _blocked_checks(result) -> list[str]:
    """Messages of the blocking checks that failed with severity ERROR."""
    out = []
    for ev in result.all_events:
        if ev.event_type != DagsterEventType.ASSET_CHECK_EVALUATION:
            continue
        data = ev.event_specific_data
        if data is None or data.passed or not getattr(data, "blocking", False):
            continue
        if str(getattr(data.severity, "value", data.severity)).upper() != "ERROR":
            continue
        msg = data.description or (data.metadata.get("message").value if "message" in data.metadata else "")
        out.append(msg or f"{data.asset_key.to_user_string()}: {data.check_name}")
    return out


def _interrupted_message(committed: bool) -> str:
    if committed:
        return ("运行被中断 (Ctrl-C), 但数据仓库已在中断前提交 / the run was interrupted (Ctrl-C) after the warehouse "
                "commit: the warehouse holds this run; run again to make sure the site matches it")
    return ("运行被中断 (Ctrl-C), 未提交任何内容: 数据仓库与网站保持原样 / the run was interrupted (Ctrl-C); "
            "nothing was committed: the warehouse and the site are as they were")


@dataclass
class _RunPlan:
    """Everything decided before any lock is taken: what runs, where, with which configuration."""
    job: object
    instance: DagsterInstance
    as_of: str
    run_id: str
    run_config: dict
    resources: dict
    tags: dict
    started: float  # perf_counter() once the arguments are checked: the summary's "seconds" count from here


def _plan_run(input_dir: Path, as_of: Optional[str], warehouse: Path, site: Path, policy: Optional[Path],
              console, instance: Optional[DagsterInstance], lock_timeout: float, tags: Optional[dict], defs,
              accept_drop: Sequence[str], snapshot: bool) -> _RunPlan:
    import uuid

    from assets.publish import check_site_dir
    from assets.settings import today_shanghai

    from pipelines.automation import JOB_NAME

    if defs is None:
        from pipelines.definitions import defs
    job = defs.resolve_job_def(JOB_NAME)
    instance = instance or (terminal_instance() if console is not None else DagsterInstance.get())
    as_of = check_as_of(as_of or today_shanghai().isoformat())
    check_site_dir(Path(site), Path(input_dir), warehouse)
    started = time.perf_counter()
    return _RunPlan(job, instance, as_of,
                    run_id=str(uuid.uuid4()),  # what Dagster uses; chosen here so the lock is taken first
                    run_config=_job_run_config(job, input_dir, accept_drop, snapshot, console),
                    resources=run_resources(warehouse, site, policy, lock_timeout),
                    tags={"permits/as_of": as_of, "permits/input": str(input_dir), **(tags or {})},
                    started=started)


def _job_run_config(job, input_dir: Path, accept_drop: Sequence[str], snapshot: bool, console) -> dict:
    run_config = run_config_for(input_dir, accept_drop, snapshot)
    nodes = {n.name for n in job.graph.nodes}
    run_config["ops"] = {op: cfg for op, cfg in run_config["ops"].items() if op in nodes}  # tests' stand-in graphs
    if console is not None:  # the progress lines replace Dagster's own console log
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    return run_config


def _take_locks(warehouse: Path, site: Path, run_id: str, lock_timeout: float, console) -> None:
    """The warehouse lock (the job's assets reuse it: same process, same run), then the site lock and a probe
    of the warehouse file; the warehouse lock is given back when either of those fails."""
    from assets.publish import acquire_site_lock
    from assets.warehouse import abandon_run, acquire_lock, lock_holder, probe_warehouse

    if lock_timeout > 0 and console is not None and lock_holder(warehouse):
        console.print(f"[yellow]数据仓库正被写入, 等待最多 {lock_timeout:g} 秒 / warehouse busy "
                      f"({lock_holder(warehouse)}), waiting up to {lock_timeout:g} s…[/]")
    acquire_lock(warehouse, run_id, lock_timeout)
    from expectations.gx_suites import prefetch_gx

    prefetch_gx()  # the rule step needs GX (~8 s import); the wiring starts it so it overlaps ingest
    try:
        acquire_site_lock(Path(site), run_id, lock_timeout)
        probe_warehouse(warehouse)
    except BaseException:
        abandon_run(warehouse, run_id)
        raise


def _execute_job(plan: _RunPlan, console):
    """Run the job in this process (with progress lines on ``console`` when given); the result, not raised."""
    def execute():
        return plan.job.execute_in_process(run_config=plan.run_config, instance=plan.instance,
                                           raise_on_error=False, tags=plan.tags, partition_key=plan.as_of,
                                           run_id=plan.run_id, resources=plan.resources)
    if console is None:
        return execute()
    console.print(f"运行 / run {plan.run_id}  as_of {plan.as_of}")
    with console.status("运行中 / running the asset graph (ingest → rules → marts → publish)…") as status:
        progress = _Progress(console, status)
        plan.instance.add_event_listener(plan.run_id, progress)
        result = execute()
    if sum(progress.checks.values()):
        console.print(f"  检查 / asset checks: {progress.checks[True]} passed, "
                      f"{progress.checks[False]} with findings / 发现问题")
    return result


def _run_locked(plan: _RunPlan, warehouse: Path, site: Path, console):
    """Execute the planned run (locks already held); whatever happens, drop what it left uncommitted."""
    from assets.publish import release_site
    from assets.warehouse import _committed, abandon_run

    try:
        return _execute_job(plan, console)
    except KeyboardInterrupt:
        raise RunInterrupted(_interrupted_message((str(warehouse), plan.run_id) in _committed)) from None
    finally:
        abandon_run(warehouse, plan.run_id)  # no-op after a commit; else drop staging + lock
        release_site(Path(site), plan.run_id)  # no-op after the swap; else drop the staged site + lock
        prune_work_dir(Path(site), plan.run_id)


def _raise_for_failure(result, warehouse: Path) -> None:
    """RunRefused (input guard), RunInterrupted, or RuntimeError naming the failed step, for a failed run."""
    from assets.warehouse import _committed

    blocked = _blocked_checks(result)
    if blocked:
        raise RunRefused("运行已停止, 未提交也未发布 / run stopped before commit and publish (previous warehouse "
                         "and site kept): " + " | ".join(blocked)
                         + " — 如确属正常减少, 用 --accept-drop TABLE 重新运行 / if the drop is real, run again "
                           "with --accept-drop TABLE")
    if any(ev.event_type == DagsterEventType.RUN_FAILURE and "interrupt" in (ev.message or "").lower()
           for ev in result.all_events):
        raise RunInterrupted(_interrupted_message((str(warehouse), result.run_id) in _committed))
    failures = [ev for ev in result.all_events if ev.event_type == DagsterEventType.STEP_FAILURE]
    if failures:
        msg = _innermost_message(failures[0].event_specific_data.error)
        raise RuntimeError(f"run {result.run_id} failed in {failures[0].step_key}: {msg}")
    raise RuntimeError(f"run {result.run_id} failed")


def _step_seconds(result) -> dict:
    return {ev.step_key: round(ev.event_specific_data.duration_ms / 1000, 2) for ev in result.all_events
            if ev.event_type == DagsterEventType.STEP_SUCCESS and ev.step_key}


def execute_run(input_dir: Path, as_of: Optional[str], warehouse: Path, site: Path,
                policy: Optional[Path] = None, console=None, instance: Optional[DagsterInstance] = None,
                lock_timeout: float = 0.0, tags: Optional[dict] = None, defs=None,
                accept_drop: Sequence[str] = (), snapshot: bool = False) -> dict:
    """Run the whole job for partition ``as_of``; returns the run summary.

    Raises WarehouseBusy / SiteBusy when another run holds the warehouse or the
    site folder (after waiting ``lock_timeout`` seconds), ValueError for an
    impossible ``as_of`` or site folder, WarehouseDamaged for a broken
    warehouse file, RunRefused when the input guard stopped the run (nothing
    committed), RunInterrupted on Ctrl-C, and RuntimeError naming the failed
    step and its error otherwise. ``defs`` defaults to
    ``pipelines.definitions.defs``."""
    warehouse = Path(warehouse)
    plan = _plan_run(input_dir, as_of, warehouse, site, policy, console, instance, lock_timeout, tags, defs,
                     accept_drop, snapshot)
    _take_locks(warehouse, site, plan.run_id, lock_timeout, console)
    result = _run_locked(plan, warehouse, site, console)
    steps = _step_seconds(result)
    if not result.success:
        _raise_for_failure(result, warehouse)
    return {
        "run_id": result.run_id,
        "as_of": plan.as_of,
        "warehouse": str(warehouse),
        "site": str(Path(site) / "index.html"),
        "seconds": round(time.perf_counter() - plan.started, 1),
        **_committed_counts(warehouse, result.run_id),
        **{f"step {k} (s)": v for k, v in steps.items()},
    }


def _committed_counts(warehouse: Path, run_id: str) -> dict:
    """Rows and findings of the run, from ``run_summary`` of the live warehouse."""
    import duckdb

    cols = ["input_files", "rows_read", "rows_loaded", "rows_quarantined", "findings_error", "findings_warning",
            "findings_info"]
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return {}
    try:
        row = con.execute(f"SELECT {', '.join(cols)} FROM run_summary WHERE run_id = ?", [run_id]).fetchall()
    except duckdb.Error:
        return {}
    finally:
        con.close()
    return dict(zip(cols, row[0])) if row else {}


def backfill_dates(end: str, days: int) -> list[str]:
    """The ``days`` as_of dates ending with ``end`` (oldest first)."""
    if days < 1:
        raise ValueError("--backfill-days must be at least 1")
    last = dt.date.fromisoformat(end)
    return [(last - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def execute_backfill(input_dir: Path, end_as_of: Optional[str], days: int, warehouse: Path, site: Path,
                     policy: Optional[Path] = None, console=None, instance: Optional[DagsterInstance] = None,
                     lock_timeout: float = 0.0, defs=None, accept_drop: Sequence[str] = (),
                     snapshot: bool = False) -> list[dict]:
    """Run ``days`` partitions ending at ``end_as_of`` one after the other
    (oldest first), each a separate Dagster run tagged with the backfill.
    Stops at the first failure (earlier partitions stay committed)."""
    from assets.settings import today_shanghai

    dates = backfill_dates(end_as_of or today_shanghai().isoformat(), days)
    tag = {"permits/backfill": f"{dates[0]}..{dates[-1]}"}
    out = []
    for i, d in enumerate(dates, 1):
        if console is not None:
            console.rule(f"回填 / backfill {i}/{len(dates)}: as_of {d}")
        out.append(execute_run(input_dir, d, warehouse, site, policy, console=console, instance=instance,
                               lock_timeout=lock_timeout, tags=tag, defs=defs, accept_drop=accept_drop,
                               snapshot=snapshot))
    return out
