"""The Dagster code location: one asset graph shared by the UI, the schedule,
the sensor and the `permits` command."""
from __future__ import annotations

import os
from pathlib import Path

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from assets.commit import commit_assets
from assets.guard import guard_checks
from assets.ingest import ingest_assets
from assets.marts import marts_assets
from assets.notify import NotifySettings, notify_assets
from assets.publish import publish_assets
from assets.rules import build_rules_checks, rules_assets
from assets.settings import PermitsSettings
from assets.warehouse import Warehouse

from pipelines.automation import JOB_NAME  # noqa: E402  (one name for the job everywhere)


REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Default data folder: $PERMITS_DATA_DIR, else <repository>/data (never
    the working directory of whoever loads the definitions)."""
    env = os.environ.get("PERMITS_DATA_DIR")
    return Path(env).expanduser().resolve() if env else REPO / "data"


def default_resources(base: Path | None = None) -> dict:
    base = base or data_dir()
    return {
        "settings": PermitsSettings(
            site_dir=str(base / "site"),
            inbox_dir=str(base / "inbox"),
            archive_dir=str(base / "archive"),
            rejected_dir=str(base / "rejected"),
        ),
        "warehouse": Warehouse(database=str(base / "warehouse.duckdb")),
        "notify": NotifySettings(config_file=os.environ.get("PERMITS_NOTIFY_CONFIG", str(base / "notify.yaml")),
                                 db=os.environ.get("PERMITS_SERVER_DB", str(base / "server.sqlite"))),
    }


permits_job = define_asset_job(
    JOB_NAME,
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Ingest → rules → marts → publish, for one as_of / 全流程批处理",
)


def build_definitions() -> Definitions:
    from pipelines.automation import schedules, sensors

    return Definitions(
        assets=[*ingest_assets, *rules_assets, *marts_assets, *publish_assets, *notify_assets, *commit_assets],
        asset_checks=[*guard_checks, *build_rules_checks()],
        jobs=[permits_job],
        schedules=schedules,
        sensors=sensors,
        resources=default_resources(),
    )


defs = build_definitions()
