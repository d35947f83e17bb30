"""The last asset of a run: swap the staged warehouse in (issue 7 owns this).

Nothing may read the run's staging database after this asset: asset checks
report results that the rule layer saved in the run's work folder."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.warehouse import Warehouse


@asset(group_name="publish", kinds={"duckdb"}, deps=["site"],
       description="Atomically swap this run's staged warehouse in / 提交本次运行的数据仓库")
def warehouse_commit(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    live = warehouse.commit(context.run_id)
    return MaterializeResult(metadata={"warehouse": str(live)})


commit_assets = [warehouse_commit]
