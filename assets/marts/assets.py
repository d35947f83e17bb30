"""Dagster assets of the mart layer: one asset key per mart table (group
``marts``), produced by one subsettable multi-asset (one step, one connection,
one preparation of labels/policy/calendar), each mart a DuckDB
``CREATE OR REPLACE TABLE … AS`` in the run's staging warehouse."""
import datetime as dt
import time
from typing import Callable

import duckdb
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from assets.marts import build
from assets.marts.checklists import CHECKLIST_MARTS
from core.contract import TABLES as CONTRACT_TABLES
from assets.marts.comments import MART_DOCS
from assets.settings import AS_OF_PARTITIONS, PermitsSettings, resolve_as_of
from assets.warehouse import Warehouse, rows_metadata

TABLES = list(CONTRACT_TABLES)

class MartError(RuntimeError):
    """A mart could not be built (names the mart and the database error)."""


Builder = Callable[[duckdb.DuckDBPyConnection, dt.date], int]

# mart -> deps (build.BUILDERS holds the builders, in dependency order)
DEPS: dict[str, list[str]] = {
    "permit_status": ["permits", "employers", "persons", "applications", "findings"],
    "candidates": TABLES + ["findings"],
    "todo_renewals": ["permit_status"],
    "todo_cancellations": ["findings", "permits", "persons"],
    "todo_contribution_gaps": ["findings", "persons"],
    "todo_failing_applications": ["findings", "applications", "persons"],
    "todo_candidates_90d": ["candidates"],
    "employer_summary": ["employers", "employments", "applications", "findings", "permit_status", "candidates",
                         "todo_renewals", "todo_cancellations", "todo_contribution_gaps",
                         "todo_failing_applications", "todo_candidates_90d"],
    "bureau_permits_by_dimension": ["permits", "employers", "persons"],
    **{t: ["permits", "employers", "persons"] for t in build.XTABS},
    "bureau_monthly_flow": ["applications", "permits"],
    "bureau_processing_by_district": ["applications", "employers"],
    "bureau_return_reasons": ["applications"],
    "bureau_findings_by_rule": ["findings"],
    "bureau_employer_ranking": ["findings", "permits", "employers"],
    "bureau_kpis": ["employers", "permits", "applications", "findings", "permit_status", "candidates",
                    "bureau_processing_by_district"],
}
DEPS.update({name: deps for name, (deps, _) in CHECKLIST_MARTS.items()})  # docs/checklists.md
MARTS: dict[str, tuple[list[str], Builder]] = {name: (DEPS[name], fn) for name, fn in build.BUILDERS.items()}


@multi_asset(
    specs=[AssetSpec(name, deps=deps, group_name="marts", kinds={"duckdb"}, description=MART_DOCS[name][0]) for name, (deps, _) in MARTS.items()],
    partitions_def=AS_OF_PARTITIONS,
    can_subset=True,
    name="marts",
    description="Monitoring marts, employer action lists and bureau marts / 监控数据集市",
)
def marts(context: AssetExecutionContext, settings: PermitsSettings, warehouse: Warehouse):
    """Builds the selected marts in dependency order (MARTS is topologically
    ordered) on one connection to the run's staging warehouse."""
    as_of = resolve_as_of(context)
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    with warehouse.run_connection(context.run.run_id) as con:
        try:
            policy = build.prepare(con, as_of, settings.policy_path())
        except duckdb.Error as exc:  # e.g. an input table lacking a contract column: one clear line
            raise MartError(f"marts: preparing the rule book's views / 准备规则视图失败: "
                            f"{str(exc).splitlines()[0]}") from exc
        for name, (_, builder) in MARTS.items():
            if name not in selected:
                continue
            t0 = time.perf_counter()
            try:
                rows = builder(con, as_of)
            except duckdb.Error as exc:  # one clear line naming the mart
                raise MartError(f"mart {name} / 数据集市 {name}: {str(exc).splitlines()[0]}") from exc
            md = rows_metadata(con, [name], t0)
            # counts only: never names or ID numbers in metadata or logs
            context.log.info(f"{name}: {rows} rows as of {as_of} ({md.get('seconds')} s)")
            yield MaterializeResult(asset_key=name, metadata={
                **md, "rows": MetadataValue.int(int(rows)), "as_of": as_of.isoformat(),
                "policy_version": policy.version})


marts_assets = [marts]
