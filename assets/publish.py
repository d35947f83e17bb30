"""Publish layer (issue 6): the ``site`` asset. Exports ``publish_assets``.

Reads the run's staged warehouse (marts, findings, rules, ingest_log,
quarantine), builds the static site into a temporary sibling of
``settings.site_dir`` and swaps it in (``reports.site.publish_site``).
No ``from __future__ import annotations`` here: Dagster needs real types.
"""
import time
from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.settings import AS_OF_PARTITIONS, PermitsSettings, resolve_as_of
from assets.warehouse import Warehouse


def _mart_keys() -> list[str]:
    from assets.marts import marts_assets

    return sorted({k.to_user_string() for a in marts_assets for k in a.keys})


def _policy(settings: PermitsSettings) -> dict:
    from core.policy import load_policy

    pol = load_policy(settings.policy_path())
    return {"version": pol.version, "defaults": pol.defaults, "districts": pol.districts}


def _run_summary(context, con, settings) -> dict | None:
    from assets.commit import collect_run_summary

    try:
        return collect_run_summary(context, con, settings)
    except Exception as exc:  # the index falls back to ingest_log; never fail the site for it
        context.log.warning(f"run summary unavailable for the index page: {exc}")
        return None


def _datadocs(settings: PermitsSettings, run_id: str) -> Path | None:
    from assets.rules import datadocs_dir

    p = Path(datadocs_dir(settings, run_id))
    return p if p.is_dir() else None


@asset(key="site", group_name="publish", kinds={"html", "plotly"}, partitions_def=AS_OF_PARTITIONS,
       deps=[*_mart_keys(), "findings"],
       description="Static dashboards: index, bureau page, one page + todo.xlsx per employer, rules page, "
                   "GX Data Docs; published atomically / 静态看板:运行概况、全市统计、各单位待办页面")
def site(context: AssetExecutionContext, settings: PermitsSettings, warehouse: Warehouse) -> MaterializeResult:
    from reports.site import publish_site

    t0 = time.perf_counter()
    as_of = resolve_as_of(context, settings)
    policy = _policy(settings)
    min_cell = int((policy.get("defaults") or {}).get("min_cell", 5))
    site_dir = Path(settings.site_dir)
    with warehouse.run_connection(context.run.run_id) as con:
        summary = _run_summary(context, con, settings)
        res = publish_site(con, site_dir, run_id=context.run.run_id, as_of=as_of, min_cell=min_cell,
                           policy_version=str(policy.get("version") or ""),
                           datadocs=_datadocs(settings, context.run.run_id), summary=summary,
                           policy_defaults=policy.get("defaults") or {},
                           log=context.log.info)
    meta = {k: (MetadataValue.int(v) if isinstance(v, int) and not isinstance(v, bool) else v)
            for k, v in res.metadata().items()}
    meta["site"] = MetadataValue.path(str(site_dir / "index.html"))
    meta["as_of"] = as_of.isoformat()
    meta["seconds"] = round(time.perf_counter() - t0, 2)
    meta["employer_pages_per_second"] = round(res.employer_pages / max(res.seconds.get("employer_pages", 0), 0.01), 1)
    return MaterializeResult(metadata=meta)


publish_assets = [site]
