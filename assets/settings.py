"""Where the pipeline lives (a resource) and what one run reads (run config).

- ``PermitsSettings`` (a ConfigurableResource): the deployment's folders and
  policy file, bound once by ``pipelines.definitions`` (or by the ``permits``
  command for its own run). Runs never override it field by field.
- The run's own values: the evaluation day is the run's partition key
  (``resolve_as_of``; the runner, the schedule, the inbox sensor and backfills
  always launch with one); the input folder is ``IngestConfig`` of the
  ``ingest`` step (empty = the deployment's inbox folder, which is what a run
  launched from the UI with the defaults reads).

Every path here is an absolute path decided by whoever builds the Definitions
(the `permits` command or `pipelines.definitions` for the UI); asset code never
resolves a path against the working directory.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import Config, ConfigurableResource, DailyPartitionsDefinition
from pydantic import Field

SHANGHAI = ZoneInfo("Asia/Shanghai")
PACKAGED_POLICY = Path(__file__).resolve().parent.parent / "expectations" / "policy.yaml"


def today_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


# Every asset is partitioned by as_of (one partition per evaluation day), so a
# past day can be re-run or backfilled from the UI. end_offset lets a planner
# evaluate up to ~13 months ahead (renewal windows).
AS_OF_PARTITIONS = DailyPartitionsDefinition(start_date="2020-01-01", timezone="Asia/Shanghai", end_offset=400)


class NoPartition(ValueError):
    """A run of the as_of-partitioned graph was launched without a partition."""


def resolve_as_of(context) -> dt.date:
    """The run's as_of: its partition key (one partition per evaluation day)."""
    if not getattr(context, "has_partition_key", False):
        raise NoPartition("运行缺少评估基准日分区 / the run has no partition: every asset is partitioned by as_of; "
                          "launch it for a partition (the day to evaluate), e.g. `permits run --as-of YYYY-MM-DD` "
                          "or pick a partition in the UI")
    return dt.date.fromisoformat(context.partition_key)


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
    """The deployment: where the site is published, which policy applies, and
    the folders of the inbox automation. Per-run values are not here (see the
    module docstring)."""

    site_dir: str = Field(description="Folder of the published static site")
    policy_file: str = Field(default="", description="Policy parameters YAML; empty = expectations/policy.yaml")
    inbox_dir: str = Field(default="", description="Folder the inbox sensor watches; also the input folder of a run "
                                                   "whose ingest config names none")
    archive_dir: str = Field(default="", description="Processed inbox files go to <archive_dir>/<run_id>/")
    rejected_dir: str = Field(default="", description="Unreadable inbox files go here with a reason file")
    sensor_stable_seconds: int = Field(default=30, description="A file must be unchanged this long before a run starts")

    def work_dir(self, run_id: str) -> Path:
        """Scratch folder of one run (GX results, Data Docs); removed when the
        run ends (``pipelines.runner.prune_work_dir``; folders of runs started
        elsewhere are pruned by the next publish: ``prune_stale_work``)."""
        return work_root(self.site_dir) / run_id

    def policy_path(self) -> Path:
        return Path(self.policy_file) if self.policy_file else PACKAGED_POLICY


# the op of the ingest multi-asset (assets.ingest.assets), which takes IngestConfig
INGEST_OP = "ingest"


class IngestConfig(Config):
    """Run config of the ``ingest`` step: the folder this run reads."""

    input_dir: str = Field(default="", description="Folder of input files in the data contract's formats; empty = "
                                                   "the deployment's inbox folder (settings.inbox_dir) / 输入文件夹")

    def folder(self, settings: PermitsSettings) -> Path:
        """The input folder: ``input_dir``, else the deployment's inbox."""
        folder = self.input_dir or settings.inbox_dir
        if not folder:
            raise ValueError("没有输入文件夹 / no input folder: set input_dir in the run config of the ingest step "
                             "(ops.ingest.config.input_dir) or the inbox folder of the deployment")
        return Path(folder)


def run_input_dir(run, settings: PermitsSettings) -> Path | None:
    """The input folder of ``run`` (a DagsterRun), as its ingest step was
    configured: for the steps after ingest that record or guard it (the run
    summary, the site's overlap check). None when it cannot be told."""
    cfg = ((getattr(run, "run_config", None) or {}).get("ops") or {}).get(INGEST_OP) or {}
    try:
        return IngestConfig(**(cfg.get("config") or {})).folder(settings)
    except ValueError:
        return None
