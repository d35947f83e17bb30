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
from assets.marts.comments import MART_DOCS
from assets.settings import AS_OF_PARTITIONS, PermitsSettings, resolve_as_of
from assets.warehouse import Warehouse, rows_metadata

TABLES = ["employers", "persons", "employments", "work_history", "education_history", "contributions",
          "dependents", "permits", "applications"]

class MartError(RuntimeError):
    """A mart could not be built (names the mart and the database error)."""


Builder = Callable[[duckdb.DuckDBPyConnection, dt.date, dict], int]

# mart -> (deps, builder(con, as_of, policy) -> rows)
MARTS: dict[str, tuple[list[str], Builder]] = {
    "permit_status": (["permits", "employers", "persons", "applications", "findings"],
                      lambda con, a, p: build.build_permit_status(con, a)),
    "candidates": (TABLES + ["findings"], build.build_candidates),
    "todo_renewals": (["permit_status"], lambda con, a, p: build.build_todo_renewals(con, a)),
    "todo_cancellations": (["findings", "permits", "employments", "persons"],
                           lambda con, a, p: build.build_todo_cancellations(con, a)),
    "todo_contribution_gaps": (["findings", "permits", "contributions", "persons"],
                               build.build_todo_contribution_gaps),
    "todo_failing_applications": (["findings", "applications", "persons"],
                                  lambda con, a, p: build.build_todo_failing_applications(con, a)),
    "todo_candidates_90d": (["candidates"], lambda con, a, p: build.build_todo_candidates_90d(con, a)),
    "employer_summary": (["employers", "employments", "applications", "findings", "permit_status", "candidates",
                          "todo_renewals", "todo_cancellations", "todo_contribution_gaps",
                          "todo_failing_applications", "todo_candidates_90d"],
                         lambda con, a, p: build.build_employer_summary(con, a)),
    "bureau_permits_by_dimension": (["permits", "employers", "persons"],
                                    lambda con, a, p: build.build_bureau_permits_by_dimension(con, a)),
    **{t: (["permits", "employers", "persons"], lambda con, a, p, _t=t: build.build_bureau_xtab(con, a, _t))
       for t in build.XTABS},
    "bureau_monthly_flow": (["applications", "permits"],
                            lambda con, a, p: build.build_bureau_monthly_flow(con, a)),
    "bureau_processing_by_district": (["applications", "employers"],
                                      lambda con, a, p: build.build_bureau_processing_by_district(con, a)),
    "bureau_return_reasons": (["applications"], lambda con, a, p: build.build_bureau_return_reasons(con, a)),
    "bureau_findings_by_rule": (["findings"], lambda con, a, p: build.build_bureau_findings_by_rule(con, a)),
    "bureau_employer_ranking": (["findings", "permits", "employers"],
                                lambda con, a, p: build.build_bureau_employer_ranking(con, a)),
    "bureau_kpis": (["employers", "permits", "applications", "findings", "permit_status", "candidates",
                     "bureau_processing_by_district"], lambda con, a, p: build.build_bureau_kpis(con, a)),
}

MARTS.update(CHECKLIST_MARTS)  # material checklists (docs/checklists.md), after findings and the other marts


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
    as_of = resolve_as_of(context, settings)
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    with warehouse.run_connection(context.run.run_id) as con:
        policy = build.prepare(con, as_of, settings.policy_path())
        for name, (_, builder) in MARTS.items():
            if name not in selected:
                continue
            t0 = time.perf_counter()
            try:
                rows = builder(con, as_of, policy)
            except duckdb.Error as exc:  # one clear line naming the mart
                raise MartError(f"mart {name} / 数据集市 {name}: {str(exc).splitlines()[0]}") from exc
            md = rows_metadata(con, [name], t0)
            # counts only: never names or ID numbers in metadata or logs
            context.log.info(f"{name}: {rows} rows as of {as_of} ({md.get('seconds')} s)")
            yield MaterializeResult(asset_key=name, metadata={
                **md, "rows": MetadataValue.int(int(rows)), "as_of": as_of.isoformat(),
                "policy_version": policy["version"]})


marts_assets = [marts]
