"""One notify run: collect → plan (one transaction) → send each delivery and
mark it (outbox) — or, for a dry run, write every message to a folder.

``notify(con, as_of, cfg, engine=..., site_dir=..., dry_run_dir=None)`` returns
the run's summary (counts, channel states; no URL, secret or personal data),
which the Dagster asset stores in the warehouse and shows on the index page.
"""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import re
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

import polars as pl
import sqlalchemy as sa

from reports.notify import ledger as L
from reports.notify.channels import ChatSender, SendError, SmtpSender, chat_payload
from reports.notify.config import NotifyConfig
from reports.notify.items import city_figures, collect_contacts, collect_items
from reports.notify.plan import bureau_digest, plan_digests
from reports.notify.render import (BUREAU, DINGTALK_LIMIT, WECOM_LIMIT, build_email, link_for, markdown, subject,
                                   text_body)


def _attachment(site_dir: Path | None, uscc: str | None) -> bytes | None:
    if not site_dir or not uscc:
        return None
    p = Path(site_dir) / "employers" / uscc / "todo.xlsx"
    return p.read_bytes() if p.is_file() else None


def _chat(cfg: NotifyConfig, channel: str, d: dict, link: str) -> dict:
    ch = cfg.channels[channel]
    title, text = markdown(d, link, WECOM_LIMIT if ch.type == "wecom" else DINGTALK_LIMIT)
    return chat_payload(ch, title, text)


def _state(engine: sa.Engine | None) -> tuple[pl.DataFrame, dict[str, dt.date], dict[str, int]]:
    empty = pl.DataFrame(schema={"recipient": pl.String, "item_key": pl.String})
    if engine is None or not sa.inspect(engine).has_table("notify_items"):
        return empty, {}, {}
    with engine.connect() as c:
        told = pl.read_database(sa.select(L.items.c.recipient, L.items.c.item_key), c, schema_overrides=empty.schema)
        last = L.last_digest_dates(c)
    return (told if told.height else empty), last, L.status_counts(engine)


def _failing_channels(engine: sa.Engine | None) -> list[str]:
    if engine is None or not sa.inspect(engine).has_table("notify_runs"):
        return []
    with engine.connect() as c:
        row = c.execute(sa.select(L.runs.c.summary).where(L.runs.c.finished_at.is_not(None))
                        .order_by(L.runs.c.id.desc()).limit(1)).first()
    if not row or not row[0]:
        return []
    return sorted(k for k, v in (json.loads(row[0]).get("channels") or {}).items() if v.get("failed"))


def make_plan(con, as_of: dt.date, cfg: NotifyConfig, engine: sa.Engine | None, dry_run: bool = False):
    items = collect_items(con, as_of)
    contacts = collect_contacts(con)
    told, last, counts = _state(engine)
    plan, stats = plan_digests(items, contacts, as_of, cfg, told, last, dry_run=dry_run)
    b = bureau_digest(plan, stats, city_figures(con), counts, as_of, cfg, last, _failing_channels(engine))
    if b is not None:
        plan.append(b)
    stats["items_current"] = items.height
    return plan, stats


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s)[:60]


_DRY: dict = {}  # the plan of a dry run, inherited by forked workers


def _write_chunk(lo: int, hi: int) -> tuple[int, int]:
    plan, cfg, site_dir, out, date = (_DRY[k] for k in ("plan", "cfg", "site_dir", "out", "date"))
    sender = cfg.smtp.sender if cfg.smtp else "permits-notify@localhost"
    n_eml = n_json = 0
    for seq in range(lo, hi):
        d = plan[seq]
        link = link_for(cfg.base_url, d.get("uscc"))
        stem = f"{seq + 1:06d}-{d.get('uscc') or BUREAU}"
        att = None
        for ch, addr in d["deliveries"]:
            name = f"{stem}-{_slug(ch)}"
            if ch.startswith("email"):
                if att is None:
                    att = _attachment(site_dir, d.get("uscc")) or b""
                text = text_body(d, link, bool(att))
                msg = build_email(d, sender, addr, link, att or None, date=date, text=text,
                                  message_id=f"<dry-{seq + 1}-{_slug(ch)}@permits.notify>")
                (out / f"{name}.eml").write_bytes(msg.as_bytes())
                n_eml += 1
                doc = {"channel": ch, "to": addr, "subject": subject(d), "text": text,
                       "attachment": "todo.xlsx" if att else None}
            else:
                doc = {"channel": ch, "type": cfg.channels[ch].type, "request_body": _chat(cfg, ch, d, link)}
            doc.update({"digest_key": d["digest_key"], "items": [it["item_key"] for it in d["items"]]})
            (out / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str),
                                              encoding="utf-8")
            n_json += 1
    return n_eml, n_json


def write_dry_run(plan: list[dict], cfg: NotifyConfig, site_dir: Path | None, out: Path, workers: int = 2,
                  parallel_from: int = 2000) -> dict:
    """Every message as ``.eml`` (e-mail) and ``.json`` (every delivery) in ``out``; nothing is sent or
    recorded. Large plans are written by ``workers`` forked processes (each a slice of the plan)."""
    out.mkdir(parents=True, exist_ok=True)
    _DRY.update(plan=plan, cfg=cfg, site_dir=site_dir, out=out, date=dt.datetime.now(dt.timezone.utc))
    try:
        if workers > 1 and len(plan) >= parallel_from and "fork" in mp.get_all_start_methods():
            step = -(-len(plan) // (workers * 4))
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
                parts = list(ex.map(_write_chunk, range(0, len(plan), step),
                                    [min(i + step, len(plan)) for i in range(0, len(plan), step)]))
        else:
            parts = [_write_chunk(0, len(plan))]
    finally:
        _DRY.clear()
    return {"eml_files": sum(p[0] for p in parts), "json_files": sum(p[1] for p in parts), "folder": str(out)}


def _deliver(engine: sa.Engine, cfg: NotifyConfig, dv: dict, d: dict, site_dir: Path | None, me: str, sender,
             sleep: Callable[[float], None]) -> str | None:
    """Send one delivery with up to ``cfg.retries`` attempts (``sending`` committed before each, ``failed``
    after each failure, back-off ``backoff_seconds × 2^k`` between them); None when it went, else the error."""
    link = link_for(cfg.base_url, d.get("uscc"))
    error = None
    for attempt in range(cfg.retries):
        L.set_status(engine, dv["id"], "sending", me, attempt=True)
        try:
            if isinstance(sender, SmtpSender):
                sender.send(build_email(d, cfg.smtp.sender, dv["address"], link, _attachment(site_dir, d.get("uscc")),
                                        message_id=f"<digest-{d['id']}-{dv['id']}@permits.notify>"))
            else:
                sender.send(cfg.channels[dv["channel"]], _chat(cfg, dv["channel"], d, link))
            return None
        except SendError as exc:
            error = cfg.scrub(str(exc))
            L.set_status(engine, dv["id"], "failed", me, error=error)
            if attempt + 1 < cfg.retries:
                sleep(cfg.backoff_seconds * (2 ** attempt))
    return error


def send_outbox(engine: sa.Engine, cfg: NotifyConfig, site_dir: Path | None, me: str,
                log: Callable[[str], None], sleep: Callable[[float], None] = time.sleep) -> dict:
    """Send every pending / failed delivery (oldest first); retries with back-off; a channel failing
    ``breaker_failures`` times in a row is left for the next run. Never raises for a channel's failure."""
    channels: dict[str, dict] = {}
    smtp = SmtpSender(cfg.smtp, cfg) if cfg.smtp else None
    chat = ChatSender(cfg)
    cache: dict[int, dict] = {}
    last_renew = time.monotonic()
    try:
        for dv in L.open_deliveries(engine):
            is_mail = dv["channel"].startswith("email")
            key = "email" if is_mail else dv["channel"]
            st = channels.setdefault(key, {"sent": 0, "failed": 0, "deferred": 0, "streak": 0, "error": None})
            usable = (smtp is not None) if is_mail else (dv["channel"] in cfg.channels)
            if not usable or st["streak"] >= cfg.breaker_failures:
                st["deferred"] += 1
                continue
            if time.monotonic() - last_renew > 60:
                L.renew_lease(engine, me)
                last_renew = time.monotonic()
            d = cache.get(dv["digest_id"]) or L.load_digest(engine, dv["digest_id"])
            cache = {dv["digest_id"]: d}
            error = _deliver(engine, cfg, dv, d, site_dir, me, smtp if is_mail else chat, sleep)
            if error is None:
                L.set_status(engine, dv["id"], "sent", me)
                st["sent"] += 1
                st["streak"] = 0
            else:
                st["failed"] += 1
                st["streak"] += 1
                st["error"] = error
                log(f"delivery {dv['id']} on {key} failed after {cfg.retries} attempts: {error}")
    finally:
        if smtp is not None:
            smtp.close()
        chat.close()
    for st in channels.values():
        st.pop("streak")
    return channels


def notify(con, as_of: dt.date, cfg: NotifyConfig, engine: sa.Engine | None = None, site_dir: Path | None = None,
           dry_run_dir: Path | None = None, log: Callable[[str], None] = lambda s: None,
           run_key: str | None = None, sleep: Callable[[float], None] = time.sleep) -> dict:
    t0 = time.perf_counter()
    run_key = run_key or str(uuid.uuid4())
    summary: dict = {"as_of": as_of.isoformat(), "mode": "dry-run" if dry_run_dir else "send", "run_key": run_key}
    if dry_run_dir is not None:
        plan, stats = make_plan(con, as_of, cfg, engine, dry_run=True)
        t1 = time.perf_counter()
        summary.update(stats, digests_planned=len(plan), items_planned=sum(len(d["items"]) for d in plan),
                       seconds_plan=round(t1 - t0, 2))
        summary.update(write_dry_run(plan, cfg, site_dir, Path(dry_run_dir)))
        summary["seconds_write"] = round(time.perf_counter() - t1, 2)
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        return summary
    assert engine is not None, "a real run needs the server database"
    L.create(engine)
    me = L.holder_id(run_key)
    L.take_lease(engine, me)
    try:  # holding the lease, any `sending` row is left by a run that ended (killed or crashed) mid-send
        n = L.mark_orphans_uncertain(engine)
        if n:
            log(f"{n} deliveries were being sent when an earlier run ended: marked uncertain, not resent")
        run_id = L.start_run(engine, run_key, as_of)
        plan, stats = make_plan(con, as_of, cfg, engine)
        with engine.begin() as c:  # the whole plan or nothing
            L.insert_plan(c, run_id, plan)
        summary.update(stats, digests_planned=len(plan), items_planned=sum(len(d["items"]) for d in plan))
        log(f"planned {len(plan)} digests with {summary['items_planned']} items")
        summary["channels"] = send_outbox(engine, cfg, site_dir, me, log, sleep=sleep)
        summary["outbox"] = L.status_counts(engine)
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        summary["failed_channels"] = sorted(k for k, v in summary["channels"].items() if v["failed"] or v["deferred"])
        L.finish_run(engine, run_id, summary)
    finally:
        L.release_lease(engine, me)
    return summary
