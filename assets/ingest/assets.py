"""The Dagster multi-asset of the ingest layer (no postponed annotations here:
Dagster needs the real context type)."""
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from core.contract import TABLE_ORDER, TABLES
from assets.settings import AS_OF_PARTITIONS, INGEST_OP, IngestConfig, PermitsSettings, resolve_as_of
from assets.warehouse import Warehouse

INGEST_KEYS = [*TABLE_ORDER, "quarantine", "ingest_log"]

_DESCRIPTIONS = {
    **{t: f"{TABLES[t].description} / {TABLES[t].zh} (contract table, cleaned and typed)" for t in TABLE_ORDER},
    "quarantine": "Rows not loaded, with raw values and every reason / 隔离区",
    "ingest_log": "Rows read / loaded / quarantined / collapsed per input file / 载入日志",
}


@multi_asset(
    specs=[AssetSpec(k, description=_DESCRIPTIONS[k], group_name="ingest", kinds={"polars", "duckdb"})
           for k in INGEST_KEYS],
    partitions_def=AS_OF_PARTITIONS,
    name=INGEST_OP,
    can_subset=False,
)
def ingest_tables(context: AssetExecutionContext, config: IngestConfig, settings: PermitsSettings,
                  warehouse: Warehouse):
    """Read every file of the run's input folder (``config.input_dir``, else the
    deployment's inbox) into the warehouse, quarantining bad rows."""
    from assets.ingest.cache import default_cache_dir
    from assets.ingest.core import ingest_folder
    from assets.ingest.limits import Limits

    as_of = resolve_as_of(context)
    input_dir = config.folder(settings)
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input folder not found / 输入文件夹不存在: {input_dir}")
    with warehouse.run_connection(context.run.run_id) as con:
        res = ingest_folder(input_dir, con, context.run.run_id, as_of, progress=context.log.debug,
                            cache_dir=default_cache_dir(warehouse.live_path()),
                            limits=Limits.from_policy(settings.policy_path()))
    # file-level problems to the log: file names, statuses and counts only (no personal data)
    for f in res.files:
        if f["status"] not in ("loaded",):
            context.log.warning(f"{f['source_file']}: {f['status']} — {f['message']}")
    context.log.info(f"ingest: {res.tables} quarantined={res.quarantined} findings={res.findings} "
                     f"in {res.seconds:.1f}s; cache {res.cache}; kept {res.skipped}; appended {res.appended}")
    by_table: dict[str, list[dict]] = {}
    for row in res.log:
        by_table.setdefault(row["table_name"], []).append(row)
    for key in TABLE_ORDER:
        rows = by_table.get(key, [])
        files_md = "\n".join(
            f"| {r['source_file']} | {r['rows_read']} | {r['rows_loaded']} | {r['rows_quarantined']} | "
            f"{r['rows_collapsed']} |" for r in rows)
        yield MaterializeResult(asset_key=key, metadata={
            "as_of": as_of.isoformat(),
            "rows_loaded": MetadataValue.int(res.tables.get(key, 0)),
            "rows_read": MetadataValue.int(sum(r["rows_read"] for r in rows)),
            "rows_quarantined": MetadataValue.int(sum(r["rows_quarantined"] for r in rows)),
            "rows_collapsed": MetadataValue.int(sum(r["rows_collapsed"] for r in rows)),
            "files": MetadataValue.md(
                "| file | read | loaded | quarantined | collapsed |\n|---|---|---|---|---|\n" + files_md
                if rows else "no file / 无文件"),
        })
    problems = [f for f in res.files if f["status"] not in ("loaded",)]
    yield MaterializeResult(asset_key="quarantine", metadata={
        "rows": MetadataValue.int(res.quarantined),
        "findings_by_rule": MetadataValue.json(res.findings),
    })
    yield MaterializeResult(asset_key="ingest_log", metadata={
        "files": MetadataValue.int(len(res.log)),
        "file_problems": MetadataValue.md(
            "| file | table | status | message |\n|---|---|---|---|\n" + "\n".join(
                f"| {f['source_file']} | {f['table_name'] or ''} | {f['status']} | {f['message']} |"
                for f in problems)) if problems else MetadataValue.text("none / 无"),
        "seconds": MetadataValue.float(round(res.seconds, 2)),
        "cache_hits": MetadataValue.int(res.cache.get("hits", 0)),
        "cache_misses": MetadataValue.int(res.cache.get("misses", 0)),
        # what the run step's data-loss check reads (issue 19 item 3): per-table loaded rows, and the
        # files / sheets rejected whole (ingest_files status rejected / error)
        "rows_loaded_by_table": MetadataValue.json({t: res.tables.get(t, 0) for t in TABLE_ORDER}),
        "rejected_files": MetadataValue.json([{k: f[k] for k in ("source_file", "table_name", "status", "message")}
                                              for f in res.rejected_files()]),
        "tables_kept": MetadataValue.json(res.skipped),
        "tables_appended": MetadataValue.json(res.appended),
    })
