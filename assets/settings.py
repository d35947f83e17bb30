"""Run settings as a Dagster resource.

Every path here is an absolute path decided by whoever builds the Definitions
(the `permits` command or `pipelines.definitions` for the UI); asset code never
resolves a path against the working directory.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import ConfigurableResource, DailyPartitionsDefinition
from pydantic import Field

SHANGHAI = ZoneInfo("Asia/Shanghai")
PACKAGED_POLICY = Path(__file__).resolve().parent.parent / "expectations" / "policy.yaml"


def today_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


# Every asset is partitioned by as_of (one partition per evaluation day), so a
# past day can be re-run or backfilled from the UI. end_offset lets a planner
# evaluate up to ~13 months ahead (renewal windows).
AS_OF_PARTITIONS = DailyPartitionsDefinition(start_date="2020-01-01", timezone="Asia/Shanghai", end_offset=400)


def resolve_as_of(context, settings: "PermitsSettings") -> dt.date:
    """The run's as_of: the partition key when partitioned, else settings.as_of."""
    if getattr(context, "has_partition_key", False) and context.has_partition_key:
        return dt.date.fromisoformat(context.partition_key)
    return settings.as_of_date()


def work_root(site_dir) -> Path:
    """Folder of the runs' scratch folders, beside the site."""
    return Path(site_dir).resolve().parent / ".permits-work"


def prune_stale_work(site_dir, keep: str, older_than_s: float = 6 * 3600) -> list[Path]:
    """Remove scratch folders of other runs older than ``older_than_s``
    (left by runs launched from the UI or killed)."""
    import shutil
    import time

    root, gone = work_root(site_dir), []
    if not root.is_dir():
        return gone
    for p in root.iterdir():
        try:
            old = time.time() - p.stat().st_mtime > older_than_s
        except OSError:
            continue
        if p.name != keep and old:
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
    return gone


class PermitsSettings(ConfigurableResource):
    """Where a run reads and writes, and which date it evaluates."""

    input_dir: str = Field(description="Folder of input files in the data contract's formats")
    site_dir: str = Field(description="Folder of the published static site")
    as_of: str = Field(default="", description="Evaluation date YYYY-MM-DD; empty = today in Asia/Shanghai")
    policy_file: str = Field(default="", description="Policy parameters YAML; empty = expectations/policy.yaml")
    inbox_dir: str = Field(default="", description="Folder the inbox sensor watches")
    archive_dir: str = Field(default="", description="Processed inbox files go to <archive_dir>/<run_id>/")
    rejected_dir: str = Field(default="", description="Unreadable inbox files go here with a reason file")
    sensor_stable_seconds: int = Field(default=30, description="A file must be unchanged this long before a run starts")

    def run_config(self, **override) -> dict:
        """This resource's run config with ``override`` applied: run config
        replaces a resource's bound values wholesale, so it carries every field
        (the one place that copies them: the runner, the schedule and the
        sensor all call this)."""
        cfg = {f: getattr(self, f) for f in type(self).model_fields}
        cfg.update(override)
        return cfg

    def as_of_date(self) -> dt.date:
        return dt.date.fromisoformat(self.as_of) if self.as_of else today_shanghai()

    def work_dir(self, run_id: str) -> Path:
        """Scratch folder of one run (GX results, Data Docs); removed when the
        run ends (``pipelines.runner.prune_work_dir``; folders of runs started
        elsewhere are pruned by the next publish: ``prune_stale_work``)."""
        return work_root(self.site_dir) / run_id

    def policy_path(self) -> Path:
        return Path(self.policy_file) if self.policy_file else PACKAGED_POLICY
