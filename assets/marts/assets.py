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
from assets.marts.todo import TODO_LISTS
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
    "todo_items": ["findings"],
    **{m: ["todo_items", "persons"] for m in TODO_LISTS.values()},
    "todo_renewals": ["todo_items", "permit_status"],
    "todo_cancellations": ["todo_items", "permits", "persons"],
    "todo_failing_applications": ["todo_items", "applications", "persons"],
    "todo_dependents": ["todo_items", "dependents", "persons"],
    "todo_deferrals_ending": ["todo_items", "persons", "employers"],
    "todo_candidates_90d": ["candidates"],
    "employer_summary": ["employers", "employments", "applications", "findings", "permit_status", "candidates",
                         "todo_items", *TODO_LISTS.values()],
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
    order = [name for name in MARTS if name in selected]
    with warehouse.run_connection(context.run.run_id) as con:
        t0 = time.perf_counter()
        try:
            policy = build.prepare(con, as_of, settings.policy_path())
        except duckdb.Error as exc:  # e.g. an input table lacking a contract column: one clear line
            raise MartError(f"marts: preparing the rule book's views / 准备规则视图失败: "
                            f"{str(exc).splitlines()[0]}") from exc
        # the step's phases (s): the material checklists' marts apart (issue 16 item 6: what they add; wall and
        # this process's CPU, DuckDB's threads included) from the other marts
        phases = {"prepare_s": time.perf_counter() - t0, "marts_s": 0.0, "checklist_marts_s": 0.0,
                  "checklist_marts_cpu_s": 0.0}
        for name in order:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                rows = MARTS[name][1](con, as_of)
            except duckdb.Error as exc:  # one clear line naming the mart
                raise MartError(f"mart {name} / 数据集市 {name}: {str(exc).splitlines()[0]}") from exc
            md = rows_metadata(con, [name], t0)
            if name in CHECKLIST_MARTS:
                phases["checklist_marts_s"] += md["seconds"]
                phases["checklist_marts_cpu_s"] += time.process_time() - c0
            else:
                phases["marts_s"] += md["seconds"]
            # counts only: never names or ID numbers in metadata or logs
            context.log.info(f"{name}: {rows} rows as of {as_of} ({md.get('seconds')} s)")
            metadata = {**md, "rows": MetadataValue.int(int(rows)), "as_of": as_of.isoformat(),
                        "policy_version": policy.version}
            if name == order[-1]:  # the step's phases, once, on its last materialization (read by permits bench)
                timing = {k: round(v, 3) for k, v in phases.items()}
                metadata["timing_s"] = MetadataValue.json(timing)
                context.log.info(f"marts step phases (s): {timing}")
            yield MaterializeResult(asset_key=name, metadata=metadata)


marts_assets = [marts]
