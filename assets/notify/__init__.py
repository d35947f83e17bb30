"""The ``notifications`` asset (issue 18): after the site is published, send each
employer's digest of what changed since its last one, and the bureau's daily
summary (``reports.notify``). Exports ``notify_assets`` and ``NotifySettings``.

Without a configuration file (``NotifySettings.config_file``, default
``$PERMITS_NOTIFY_CONFIG`` or ``<data>/notify.yaml``) nothing is sent and the
asset says so; so do the runs of a backfill, but for the newest day of a
``permits run --backfill-days`` (tag ``permits/backfill`` = ``first..last``). A failing channel never fails the run: it is retried with
back-off, left in the outbox for the next run, and reported in the asset's
metadata, the warehouse table ``notifications`` (→ ``run_summary.notifications``)
and on the site's index page. No URL or secret reaches any of them.
No ``from __future__ import annotations`` here: Dagster needs real types.
"""
import json
import time
from pathlib import Path

from dagster import AssetExecutionContext, ConfigurableResource, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.settings import AS_OF_PARTITIONS, PermitsSettings, resolve_as_of
from assets.warehouse import Warehouse, comment_table

NOTIFICATIONS_COLUMNS = [
    ("run_id", "VARCHAR", "Dagster run id / 运行编号"),
    ("as_of", "DATE", "Evaluation date / 评估基准日"),
    ("status", "VARCHAR", "sent | skipped | failed-channels | error / 提醒发送状态"),
    ("summary", "JSON", "Counts per channel and outbox state; no URLs, secrets or personal data / 发送统计"),
]


class NotifySettings(ConfigurableResource):
    """Where reminders go: the channel configuration file and the server database (ledger)."""

    config_file: str = Field(default="", description="Notification configuration YAML; missing file = send nothing")
    db: str = Field(default="", description="Server database: a SQLite path or postgresql:// URL (core.serverdb)")
    dry_run_dir: str = Field(default="", description="Write .eml / .json here instead of sending (review)")


def write_status(con, run_id: str, as_of, status: str, summary: dict) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS notifications ("
                + ", ".join(f"{c} {t}" for c, t, _ in NOTIFICATIONS_COLUMNS) + ")")
    comment_table(con, "notifications", "Reminder runs: what was sent and which channel failed / 提醒发送记录",
                  {c: d for c, _, d in NOTIFICATIONS_COLUMNS})
    con.execute("DELETE FROM notifications WHERE run_id = ?", [run_id])
    con.execute("INSERT INTO notifications VALUES (?, ?, ?, ?)",
                [run_id, as_of, status, json.dumps(summary, ensure_ascii=False, default=str)])


def run_status(summary: dict) -> str:
    if summary.get("error") and not summary.get("skipped"):
        return "error"
    if summary.get("skipped"):
        return "skipped"
    return "failed-channels" if summary.get("failed_channels") else "sent"


@asset(key="notifications", group_name="publish", kinds={"email"}, deps=["site"], partitions_def=AS_OF_PARTITIONS,
       description="Reminder digests per employer (e-mail, WeCom, DingTalk) and the bureau's daily summary, "
                   "sent exactly once through the outbox ledger / 向各单位发送提醒摘要(邮件、企业微信、钉钉)")
def notifications(context: AssetExecutionContext, settings: PermitsSettings, warehouse: Warehouse,
                  notify: NotifySettings) -> MaterializeResult:
    from core.serverdb import make_engine
    from reports.notify.config import ConfigError, load_config
    from reports.notify.service import notify as run_notify
    from reports.notify.status import patch_index

    t0 = time.perf_counter()
    as_of = resolve_as_of(context)
    from reports.site import staged_path

    live_site = Path(settings.site_dir)
    # the site step stages this run's site and warehouse_commit swaps it in afterwards: the
    # attachments and the index page's status block are this run's, so read and patch the staged one
    staged = staged_path(live_site.resolve(), context.run.run_id)
    site_dir = staged if staged.is_dir() else live_site
    tags = context.run.tags or {}
    backfill = tags.get("permits/backfill") or tags.get("dagster/backfill")
    try:
        cfg = load_config(notify.config_file)
    except ConfigError as exc:  # a broken configuration is reported, never fails the run
        cfg, summary = None, {"skipped": True, "error": str(exc)}
    else:
        summary = {"skipped": True, "reason": "no notification configuration / 未配置提醒渠道"}
    if cfg is not None and backfill and not tags.get("permits/backfill", "").endswith(f"..{as_of.isoformat()}"):
        # re-evaluating past days sends nothing: only the newest day of a `permits run --backfill-days` does
        cfg, summary = None, {"skipped": True, "reason": "backfill of a past day / 回填历史日期,不发送提醒"}
    if cfg is not None:
        with warehouse.run_connection(context.run.run_id) as con:
            engine = make_engine(notify.db or None, default_path=live_site.parent / "server.sqlite")
            try:
                summary = run_notify(con, as_of, cfg, engine, site_dir,
                                     Path(notify.dry_run_dir) if notify.dry_run_dir else None,
                                     log=context.log.info, run_key=context.run.run_id)
            except Exception as exc:  # noqa: BLE001 - reminders never block the warehouse commit
                summary = {"error": cfg.scrub(f"{type(exc).__name__}: {exc}")[:300]}
            finally:
                engine.dispose()
    status = run_status(summary)
    with warehouse.run_connection(context.run.run_id) as con:
        write_status(con, context.run.run_id, as_of, status, summary)
    patch_index(site_dir, status, summary)
    if status != "sent":
        context.log.warning(f"notifications: {status} {summary.get('failed_channels') or summary.get('reason') or ''}")
    return MaterializeResult(metadata={
        "status": status, "as_of": as_of.isoformat(),
        "digests": int(summary.get("digests_planned", 0)), "items": int(summary.get("items_planned", 0)),
        "failed_channels": ", ".join(summary.get("failed_channels") or []),
        "summary": MetadataValue.json(json.loads(json.dumps(summary, default=str))),
        "seconds": round(time.perf_counter() - t0, 2),
    })


notify_assets = [notifications]
