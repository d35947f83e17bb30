"""Execute the Dagster job for one as_of: the single code path behind
`permits run`, `permits demo` and the benchmark."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from dagster import DagsterEventType, DagsterInstance


def run_config_for(input_dir: Path, as_of: Optional[str], warehouse: Path, site: Path,
                   policy: Optional[Path] = None) -> dict:
    from assets.settings import PermitsSettings
    from pipelines.definitions import default_resources

    base = default_resources()["settings"]
    # run config replaces the bound values wholesale: start from all of them
    settings = {f: getattr(base, f) for f in PermitsSettings.model_fields}
    settings.update({"input_dir": str(input_dir), "site_dir": str(site), "as_of": as_of or ""})
    if policy:
        settings["policy_file"] = str(policy)
    return {"resources": {"settings": {"config": settings}, "warehouse": {"config": {"database": str(warehouse)}}}}


def execute_run(input_dir: Path, as_of: Optional[str], warehouse: Path, site: Path,
                policy: Optional[Path] = None, console=None, instance: Optional[DagsterInstance] = None) -> dict:
    from pipelines.definitions import JOB_NAME, defs

    job = defs.get_job_def(JOB_NAME)
    instance = instance or DagsterInstance.get()
    import datetime as dt

    from assets.settings import today_shanghai

    as_of = as_of or today_shanghai().isoformat()
    dt.date.fromisoformat(as_of)
    t0 = time.perf_counter()
    run_config = run_config_for(input_dir, as_of, warehouse, site, policy)
    tags = {"permits/as_of": as_of or "today", "permits/input": str(input_dir)}
    if console is not None:
        with console.status("运行中 / running the asset graph (ingest → rules → marts → publish)…"):
            result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False, tags=tags,
                                          partition_key=as_of)
    else:
        result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False, tags=tags,
                                          partition_key=as_of)
    steps = {}
    for ev in result.all_events:
        if ev.event_type == DagsterEventType.STEP_SUCCESS and ev.step_key:
            steps[ev.step_key] = round(ev.event_specific_data.duration_ms / 1000, 2)
    if not result.success:
        failures = [ev for ev in result.all_events if ev.event_type == DagsterEventType.STEP_FAILURE]
        if failures:
            err = failures[0].event_specific_data.error
            msg = err.message.strip().splitlines()[-1] if err else "step failed"
            raise RuntimeError(f"run {result.run_id} failed in {failures[0].step_key}: {msg}")
        raise RuntimeError(f"run {result.run_id} failed")
    return {
        "run_id": result.run_id,
        "as_of": as_of or "today",
        "warehouse": str(warehouse),
        "site": str(site / "index.html"),
        "seconds": round(time.perf_counter() - t0, 1),
        **{f"step {k} (s)": v for k, v in steps.items()},
    }
