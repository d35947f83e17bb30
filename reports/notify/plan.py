"""Planning: which digests to send at ``as_of`` — per contact (recipient =
``uscc|contact_name``) the items it has not been told yet, its channels, its
frequency; plus the bureau's daily summary. Pure functions of the items, the
contacts, the configuration and the ledger's state (so a dry run plans exactly
what a real run would, without writing).

- daily: at most one digest per recipient and ``as_of``; weekly: at most one
  per 7 days (items wait for the next one); never for an ``as_of`` on or
  before the recipient's last digest (a re-run or a backfill of a past day
  sends nothing).
- recipients: each contact's e-mail address (when given; real sends need
  ``smtp`` in the configuration), and each chat group (``uscc|#channel``) that
  the configuration defines and the employer's contacts name — one digest per
  group however many contacts name it, daily when any of them is daily.
  A chat channel named by contacts of more than one employer is refused (a
  group would see another employer's people). A contact with no usable
  channel is counted; its items stay untold.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from reports.notify.config import NotifyConfig, split_channels
from reports.notify.items import KINDS
from reports.notify.render import BUREAU

WEEK = 7


def channel_owners(contacts: pl.DataFrame) -> dict[str, set[str]]:
    owners: dict[str, set[str]] = {}
    for uscc, chans in contacts.select("uscc", "channels").iter_rows():
        for ch in split_channels(chans):
            owners.setdefault(ch, set()).add(uscc)
    return owners


def _due(freq: str, last: dt.date | None, as_of: dt.date) -> bool:
    if last is None:
        return True
    if as_of <= last:
        return False
    return freq != "weekly" or (as_of - last).days >= WEEK


def plan_digests(items: pl.DataFrame, contacts: pl.DataFrame, as_of: dt.date, cfg: NotifyConfig,
                 told: pl.DataFrame, last: dict[str, dt.date], dry_run: bool = False) -> tuple[list[dict], dict]:
    """(digests, stats). ``told``: (recipient, item_key) already in the ledger."""
    owners = channel_owners(contacts)
    stats = {"contacts": contacts.height, "recipients_held_weekly": 0, "recipients_already_today": 0,
             "contacts_without_channel": 0, "channels_refused_shared": sorted(c for c, u in owners.items() if len(u) > 1),
             "channels_unconfigured": sum(1 for c in owners if c not in cfg.channels)}
    rows, chat_rows = [], {}
    for uscc, name, email, chans, freq, ename in contacts.iter_rows():
        freq = freq or "daily"
        usable = [ch for ch in split_channels(chans) if ch in cfg.channels and len(owners.get(ch, ())) == 1]
        mail = bool(email) and (cfg.smtp is not None or dry_run)
        if not mail and not usable:
            stats["contacts_without_channel"] += 1
        if mail:
            rows.append({"recipient": f"{uscc}|{name}", "uscc": uscc, "contact_name": name, "employer_name": ename,
                         "frequency": freq, "deliveries": [("email", email)]})
        for ch in usable:  # a chat group is a recipient of its own: one digest per group, whoever named it
            r = chat_rows.setdefault((uscc, ch), {"recipient": f"{uscc}|#{ch}", "uscc": uscc, "contact_name": None,
                                                  "employer_name": ename, "frequency": freq, "deliveries": [(ch, ch)]})
            if freq == "daily":
                r["frequency"] = "daily"
    due = []
    for r in rows + list(chat_rows.values()):
        lst = last.get(r["recipient"])
        if _due(r["frequency"], lst, as_of):
            due.append(r)
        else:
            stats["recipients_held_weekly" if lst is not None and as_of > lst else "recipients_already_today"] += 1
    rows = due
    if not rows:
        return [], stats
    who = pl.DataFrame({"recipient": [r["recipient"] for r in rows], "uscc": [r["uscc"] for r in rows]})
    todo = who.join(items, on="uscc", how="inner")
    if told.height:
        todo = todo.join(told, on=["recipient", "item_key"], how="anti")
    cols = ["item_key", "kind", "due_on", "ref", "line_zh", "line_en"]
    grouped = todo.group_by("recipient", maintain_order=True).agg([pl.col(c) for c in cols])
    by_recipient = {g[0]: g[1:] for g in grouped.iter_rows()}
    plan = []
    for r in rows:
        g = by_recipient.get(r["recipient"])
        if g is None:
            continue
        its = [dict(zip(cols, vals)) for vals in zip(*g)]
        plan.append({**r, "digest_key": f"{r['recipient']}|{as_of.isoformat()}", "as_of": as_of, "items": its})
    return plan, stats


def bureau_digest(plan: list[dict], stats: dict, city: dict, ledger_counts: dict, as_of: dt.date, cfg: NotifyConfig,
                  last: dict[str, dt.date], failing: list[str]) -> dict | None:
    """The bureau's daily summary (counts only, no names): planned today, city figures, what did not arrive."""
    lst = last.get(BUREAU)
    if not (cfg.bureau_email or cfg.bureau_channels) or (lst is not None and as_of <= lst):
        return None
    per_kind = {}
    for d in plan:
        for it in d["items"]:
            per_kind[it["kind"]] = per_kind.get(it["kind"], 0) + 1
    lines = [(f"今日提醒 {len({d['uscc'] for d in plan})} 家单位、{len(plan)} 位联系人,共 {sum(per_kind.values())} 项",
              f"Reminded today: {len({d['uscc'] for d in plan})} employers, {len(plan)} contacts, "
              f"{sum(per_kind.values())} items")]
    for k, (zh, en) in KINDS.items():
        if per_kind.get(k):
            lines.append((f"{zh}:{per_kind[k]} 项", f"{en}: {per_kind[k]}"))
    labels = {"employers": ("聘用单位", "employers"), "permits_active": ("有效证件", "active permits"),
              "permits_window_open": ("续签办理期内", "in renewal window"), "permits_due_soon": ("即将到期", "due soon"),
              "permits_lapsed": ("已过续签期", "lapsed"), "apps_open": ("在办申请", "open applications"),
              "todo_failing_applications": ("将被退回的申请", "applications to be returned"),
              "todo_cancellations": ("待注销证件", "permits to cancel")}
    for k, v in city.items():
        zh, en = labels.get(k, (k, k))
        lines.append((f"全市{zh}:{v}", f"City {en}: {v}"))
    bad = ledger_counts.get("failed", 0) + ledger_counts.get("uncertain", 0)
    lines.append((f"未送达或送达未知的提醒:{bad} 条" + (f"(故障渠道:{'、'.join(failing)})" if failing else ""),
                  f"Deliveries failed or uncertain: {bad}" + (f" (failing channels: {', '.join(failing)})" if failing else "")))
    if stats.get("contacts_without_channel"):
        n = stats["contacts_without_channel"]
        lines.append((f"没有可用接收渠道的联系人:{n} 位", f"Contacts without a usable channel: {n}"))
    its = [{"item_key": f"summary:{as_of.isoformat()}:{i}", "kind": "summary", "due_on": None, "ref": None,
            "line_zh": zh, "line_en": en} for i, (zh, en) in enumerate(lines)]
    deliveries = [(f"email:{a}" if len(cfg.bureau_email) > 1 else "email", a) for a in cfg.bureau_email]
    deliveries += [(c, c) for c in cfg.bureau_channels]
    return {"recipient": BUREAU, "uscc": None, "contact_name": None, "employer_name": "北京市工作居住证主管部门",
            "frequency": "daily", "deliveries": deliveries, "digest_key": f"{BUREAU}|{as_of.isoformat()}",
            "as_of": as_of, "items": its}
