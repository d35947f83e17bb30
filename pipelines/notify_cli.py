"""``permits notify``: send the reminder digests of the warehouse's latest run
(or write them to a folder with ``--dry-run``). Registered in ``pipelines/cli.py``.

Exit 0 when the run completed — also when a channel failed (it is retried by
the next run and shown in the summary); 2 when it could not run (no warehouse,
a broken configuration, another notify run holding the ledger).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from pipelines.console import console, err
from pipelines.console import fail as _fail


def _latest_as_of(con) -> dt.date | None:
    for q in ("SELECT max(as_of) FROM run_summary", "SELECT max(as_of) FROM findings"):
        try:
            v = con.sql(q).fetchall()[0][0]
        except Exception:  # noqa: BLE001 - table absent in an older or partial warehouse
            continue
        if v is not None:
            return v
    return None


def notify(
    dry_run: bool = typer.Option(False, "--dry-run", help="只写出 .eml / .json 文件,不发送 / write messages, send nothing"),
    out: Path = typer.Option(Path("data/notify-dry-run"), "--out", help="--dry-run 的输出文件夹 / dry-run folder"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="评估基准日 YYYY-MM-DD (默认: 数据仓库最近一次运行)"),
    config: Path = typer.Option(Path("data/notify.yaml"), "--config", help="提醒渠道配置文件 / channel configuration"),
    db: Optional[str] = typer.Option(None, "--db", help="服务器数据库: SQLite 路径或 postgresql://… (默认 data/server.sqlite)"),
    warehouse: Path = typer.Option(Path("data/warehouse.duckdb"), "--warehouse", help="DuckDB 数据仓库文件"),
    site: Path = typer.Option(Path("data/site"), "--site", help="已发布的网站 (todo.xlsx 附件, 运行概况页)"),
) -> None:
    """发送提醒摘要(邮件、企业微信、钉钉)/ Send reminder digests (e-mail, WeCom, DingTalk), exactly once."""
    import duckdb

    from core.serverdb import make_engine, redacted
    from reports.notify.config import ConfigError, NotifyConfig, load_config
    from reports.notify.ledger import NotifyBusy
    from reports.notify.service import notify as run_notify
    from reports.notify.status import patch_index

    if not warehouse.exists():
        _fail(f"数据仓库不存在 / no warehouse: {warehouse}")
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
    if cfg is None:
        if not dry_run:
            _fail(f"没有提醒渠道配置文件 / no configuration file: {config} (see docs/notify.md)")
        cfg = NotifyConfig(path="")
    con = duckdb.connect(str(warehouse), read_only=True)
    engine = None
    try:
        day = dt.date.fromisoformat(as_of) if as_of else _latest_as_of(con)
        if day is None:
            _fail("数据仓库中没有运行记录,请用 --as-of 指定日期 / the warehouse has no run: give --as-of")
        engine = make_engine(db) if (db or not dry_run or Path("data/server.sqlite").exists()) else None
        try:
            summary = run_notify(con, day, cfg, engine, site if site.exists() else None, out if dry_run else None,
                                 log=lambda s: console.print(f"[dim]{s}[/]"))
        except NotifyBusy as exc:
            _fail(str(exc))
    finally:
        con.close()
        if engine is not None:
            engine.dispose()
    from assets.notify import run_status

    status = run_status(summary)
    if not dry_run:
        patch_index(site, status, summary)
    t = Table(title=f"提醒 / notify {day} ({'dry run' if dry_run else 'send'}; ledger {redacted(db) if engine else '-'})")
    t.add_column("项目 / item")
    t.add_column("值 / value", justify="right")
    for k in ("contacts", "digests_planned", "items_planned", "contacts_without_channel", "recipients_held_weekly",
              "recipients_already_today", "eml_files", "json_files", "seconds"):
        if k in summary:
            t.add_row(k, str(summary[k]))
    for name, st in sorted((summary.get("channels") or {}).items()):
        t.add_row(f"channel {name}", f"sent {st['sent']} failed {st['failed']} deferred {st['deferred']}"
                  + (f" ({st['error']})" if st.get("error") else ""))
    if summary.get("outbox"):
        t.add_row("outbox", ", ".join(f"{k} {v}" for k, v in sorted(summary["outbox"].items())))
    console.print(t)
    if dry_run:
        console.print(f"预览文件 / messages written to: {summary.get('folder')}")
    if summary.get("failed_channels"):
        err.print(f"[yellow]未送达的渠道 / failing channels (retried next run): {', '.join(summary['failed_channels'])}[/]")
