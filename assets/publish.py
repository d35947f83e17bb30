"""Publish layer (issue 6): the ``site`` asset. Exports ``publish_assets``.

Reads the run's staged warehouse (marts, findings, rules, ingest_log,
quarantine) and builds the static site into ``.<site>.new-<run_id>`` beside
``settings.site_dir`` (``reports.site.stage_site``). The staged site is swapped
in by ``warehouse_commit`` right after the warehouse commit (``commit_site``),
so a failed commit leaves the previous site live. From the start of the build
to the swap the run holds the site lock (``<site>.lock``): two runs publishing
to one site folder (even from two warehouses) take turns.

A site folder that is, contains or sits inside the input folder, or that is or
contains the warehouse's folder, is refused (``check_site_dir``).
No ``from __future__ import annotations`` here: Dagster needs real types.
"""
import os
import time
from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.settings import AS_OF_PARTITIONS, PermitsSettings, prune_stale_work, resolve_as_of, run_input_dir
from assets.warehouse import Warehouse, WarehouseIOError, acquire_lock, io_error, release_lock, _held_locks


class SiteBusy(RuntimeError):
    """Another run is publishing to the same site folder."""


class SiteDirError(ValueError):
    """The site folder overlaps the input folder or the warehouse's folder."""


def _inside(a: Path, b: Path) -> bool:
    return a == b or b in a.parents


def check_site_dir(site_dir: Path, input_dir: Path | None, warehouse: Path) -> None:
    """Refuse a site folder that would publish the input files or swap the
    warehouse away: the site may not be, contain or sit inside the input
    folder, and may not be or contain the warehouse's folder. (A site beside
    the warehouse, e.g. data/site and data/warehouse.duckdb, is the default
    layout and is fine.) ``input_dir`` None: the input folder is not known."""
    site, wh = (Path(p).expanduser().resolve() for p in (site_dir, warehouse))
    inp = Path(input_dir).expanduser().resolve() if input_dir is not None else None
    if inp is not None and (_inside(site, inp) or _inside(inp, site)):
        raise SiteDirError(f"网站文件夹与输入文件夹重叠,会发布原始输入文件 / the site folder {site} overlaps the "
                           f"input folder {inp}: the raw input files would be published; choose another --site")
    if _inside(wh.parent, site):
        raise SiteDirError(f"网站文件夹包含数据仓库 / the site folder {site} is or contains the warehouse's folder "
                           f"{wh.parent}; choose another --site")


def acquire_site_lock(site_dir: Path, run_id: str, timeout: float = 0.0) -> None:
    """Take the lock of a site folder for this run (idempotent per run)."""
    acquire_lock(Path(site_dir).resolve(), run_id, timeout,
                 what="site busy / 网站正被另一次运行发布", busy=SiteBusy)


def release_site(site_dir: Path, run_id: str) -> None:
    """Drop the run's staged site (if any) and its site lock (no-op when
    another run holds it)."""
    from reports.site import discard_staged_site

    key = Path(site_dir).resolve()
    held = _held_locks.get(str(key))
    if held is not None and held[1] == run_id:
        discard_staged_site(key, run_id)
        release_lock(key)


def snapshot_site(site_dir: Path, run_id: str, target: Path) -> Path | None:
    """Publish the run's staged site as ``target`` (a dated snapshot of a
    past day) instead of the live site; a snapshot already there is replaced."""
    from reports.site import remove_tree, staged_path

    staged = staged_path(Path(site_dir).resolve(), run_id)
    if not staged.is_dir():
        return None
    target = Path(target)
    old = target.with_name(f".{target.name}.old-{run_id}")
    try:
        if target.exists():
            os.replace(target, old)
        os.replace(staged, target)
    except OSError as exc:
        raise io_error("无法写入网站快照 / cannot write the site snapshot", target, exc) from exc
    remove_tree(old)
    return target


def commit_site(site_dir: Path, run_id: str, log=None) -> bool:
    """Swap the run's staged site in (after the warehouse commit) and release
    the site lock. An error names the site folder; the previous site stays."""
    from reports.site import swap_site

    key = Path(site_dir).resolve()
    try:
        return swap_site(key, run_id)
    except OSError as exc:
        raise io_error("数据仓库已提交, 但网站未能替换, 旧网站仍在 / the warehouse was committed but the site could "
                       "not be swapped in (the previous site stays; run again to publish)", key, exc) from exc
    finally:
        release_site(key, run_id)


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


def _validation(settings: PermitsSettings, run_id: str) -> dict | None:
    """This run's validation results (saved by the rule layer in the run's
    work folder); None when the run has none."""
    from assets.rules.core import read_results

    try:
        return read_results(settings.work_dir(run_id))
    except (OSError, ValueError):
        return None


@asset(key="site", group_name="publish", kinds={"html", "plotly"}, partitions_def=AS_OF_PARTITIONS,
       deps=[*_mart_keys(), "findings", "ingest_log"],
       description="Static dashboards: index, bureau page, one page + todo.xlsx per employer, rules page, "
                   "GX Data Docs; published atomically / 静态看板:运行概况、全市统计、各单位待办页面")
def site(context: AssetExecutionContext, settings: PermitsSettings, warehouse: Warehouse) -> MaterializeResult:
    from reports.site import stage_site, staged_path

    t0 = time.perf_counter()
    as_of = resolve_as_of(context)
    policy = _policy(settings)
    min_cell = int((policy.get("defaults") or {}).get("min_cell", 5))
    site_dir = Path(settings.site_dir).resolve()
    run_id = context.run.run_id
    check_site_dir(site_dir, run_input_dir(context.run, settings), warehouse.live_path())
    acquire_site_lock(site_dir, run_id, warehouse.lock_timeout_seconds)
    prune_stale_work(site_dir, keep=run_id)
    try:
        with warehouse.run_connection(run_id) as con:
            summary = _run_summary(context, con, settings)
            res = stage_site(con, site_dir, run_id=run_id, as_of=as_of, min_cell=min_cell,
                             policy_version=str(policy.get("version") or ""),
                             validation=_validation(settings, run_id), summary=summary,
                             policy_defaults=policy.get("defaults") or {},
                             log=context.log.info)
    except OSError as exc:
        release_site(site_dir, run_id)
        if isinstance(exc, WarehouseIOError):
            raise
        raise io_error("无法写入网站 / cannot write the site", exc.filename or staged_path(site_dir, run_id),
                       exc) from exc
    except BaseException:
        release_site(site_dir, run_id)
        raise
    meta = {k: (MetadataValue.int(v) if isinstance(v, int) and not isinstance(v, bool)
                else MetadataValue.json(v) if isinstance(v, dict) else v)
            for k, v in res.metadata().items()}
    for page, why in res.failed_pages.items():
        context.log.warning(f"page not built / 页面未能生成: {page}: {why}")
    if res.failed_pages:
        meta["failed_pages_list"] = MetadataValue.json(res.failed_pages)
    meta["site"] = MetadataValue.path(str(site_dir / "index.html"))
    meta["published"] = "staged; swapped in by warehouse_commit / 已生成, 提交后发布"
    meta["as_of"] = as_of.isoformat()
    meta["seconds"] = round(time.perf_counter() - t0, 2)
    meta["employer_pages_per_second"] = round(res.employer_pages / max(res.seconds.get("employer_pages", 0), 0.01), 1)
    return MaterializeResult(metadata=meta)


publish_assets = [site]
