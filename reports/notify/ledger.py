"""The notification ledger and outbox in the server database (``core.serverdb``):
SQLAlchemy Core tables on their own ``MetaData`` (SQLite by default, PostgreSQL by URL).

- ``notify_digests``: one row per digest planned (``digest_key`` unique: recipient + as_of).
- ``notify_items``: every item a digest carried; unique per (recipient, item_key), so
  an item is told to a recipient once.
- ``notify_deliveries``: the outbox, one row per digest and channel; status
  ``pending`` → ``sending`` (committed before the network call) → ``sent`` | ``failed``
  (retried by later runs); a ``sending`` row found by the next run (its run was killed
  or crashed mid-send) becomes ``uncertain`` and is never sent again (no duplicates;
  reported for a person to check).
- ``notify_runs``: one row per notify run (counts and channel states, never URLs or secrets).
- ``notify_lease``: one row; the run holding it is the only one planning or sending.

No URL, webhook secret or password is stored; e-mail addresses of contacts are
(they are where the digest went).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket

import sqlalchemy as sa

metadata = sa.MetaData()

runs = sa.Table(
    "notify_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.String(120), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("summary", sa.Text),
)
digests = sa.Table(
    "notify_digests", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("digest_key", sa.String(200), nullable=False, unique=True),
    sa.Column("recipient", sa.String(200), nullable=False, index=True),
    sa.Column("uscc", sa.String(32)),
    sa.Column("contact_name", sa.String(200)),
    sa.Column("employer_name", sa.String(400)),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("frequency", sa.String(16), nullable=False),
    sa.Column("n_items", sa.Integer, nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("notify_runs.id")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
items = sa.Table(
    "notify_items", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest_id", sa.Integer, sa.ForeignKey("notify_digests.id"), nullable=False, index=True),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("item_key", sa.String(400), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("due_on", sa.Date),
    sa.Column("ref", sa.String(200)),
    sa.Column("line_zh", sa.Text, nullable=False),
    sa.Column("line_en", sa.Text, nullable=False),
    sa.UniqueConstraint("recipient", "item_key", name="uq_notify_items_recipient_item"),
)
deliveries = sa.Table(
    "notify_deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest_id", sa.Integer, sa.ForeignKey("notify_digests.id"), nullable=False, index=True),
    sa.Column("channel", sa.String(200), nullable=False),  # "email" or a configured chat channel name
    sa.Column("address", sa.String(400)),  # the e-mail address; chat: the channel name again
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("claimed_by", sa.String(200)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("digest_id", "channel", name="uq_notify_deliveries_digest_channel"),
)
lease = sa.Table(
    "notify_lease", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holder", sa.String(200)),
    sa.Column("until", sa.DateTime(timezone=True)),
)

LEASE_SECONDS = 600


class NotifyBusy(RuntimeError):
    """Another notify run holds the ledger."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is not None and t.tzinfo is None:  # SQLite returns naive date-times
        return t.replace(tzinfo=dt.timezone.utc)
    return t


def create(engine: sa.Engine) -> None:
    metadata.create_all(engine)
    with engine.begin() as c:
        if c.execute(sa.select(sa.func.count()).select_from(lease)).scalar() == 0:
            c.execute(lease.insert().values(id=1, holder=None, until=None))


def holder_id(run_key: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{run_key}"[:200]


def _dead(holder: str) -> bool:
    """The holder ran on this host and its process is gone."""
    try:
        host, pid, _ = holder.split(":", 2)
        if host != socket.gethostname():
            return False
        os.kill(int(pid), 0)
        return False
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False


def take_lease(engine: sa.Engine, me: str) -> str | None:
    """Take the lease (compare-and-set on the holder that was read, so two runs starting together cannot
    both win); returns the previous holder when it was taken over from a dead or expired run."""
    with engine.begin() as c:
        row = c.execute(sa.select(lease.c.holder, lease.c.until).where(lease.c.id == 1).with_for_update()).first()
        prev, until = (row[0], _aware(row[1])) if row else (None, None)
        if prev and prev != me and not (until is None or until < now() or _dead(prev)):
            raise NotifyBusy(f"another notify run holds the ledger ({prev.split(':', 2)[-1]}) / 另一个提醒任务正在运行")
        same = lease.c.holder.is_(None) if prev is None else lease.c.holder == prev
        r = c.execute(lease.update().where(lease.c.id == 1, same)
                      .values(holder=me, until=now() + dt.timedelta(seconds=LEASE_SECONDS)))
        if r.rowcount != 1:
            raise NotifyBusy("another notify run took the ledger just now / 另一个提醒任务正在运行")
    return prev if prev and prev != me else None


def renew_lease(engine: sa.Engine, me: str) -> None:
    with engine.begin() as c:
        c.execute(lease.update().where(lease.c.id == 1, lease.c.holder == me)
                  .values(until=now() + dt.timedelta(seconds=LEASE_SECONDS)))


def release_lease(engine: sa.Engine, me: str) -> None:
    with engine.begin() as c:
        c.execute(lease.update().where(lease.c.id == 1, lease.c.holder == me).values(holder=None, until=None))


def mark_orphans_uncertain(engine: sa.Engine) -> int:
    """Deliveries a dead run left in ``sending``: the message may or may not have gone; never resend."""
    with engine.begin() as c:
        r = c.execute(deliveries.update().where(deliveries.c.status == "sending")
                      .values(status="uncertain", updated_at=now(),
                              last_error="run ended while sending / 发送过程中运行中断,是否送达未知"))
        return r.rowcount or 0


def last_digest_dates(conn) -> dict[str, dt.date]:
    q = sa.select(digests.c.recipient, sa.func.max(digests.c.as_of)).group_by(digests.c.recipient)
    return {r: (d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))) for r, d in conn.execute(q)}


def told_items(conn) -> list[tuple[str, str]]:
    return [tuple(r) for r in conn.execute(sa.select(items.c.recipient, items.c.item_key))]


def insert_plan(conn, run_id: int, plan: list[dict]) -> int:
    """Insert planned digests with their items and pending deliveries (inside the caller's transaction)."""
    if not plan:
        return 0
    base = conn.execute(sa.select(sa.func.coalesce(sa.func.max(digests.c.id), 0))).scalar() or 0
    t = now()
    drows, irows, orows = [], [], []
    for i, d in enumerate(plan, start=base + 1):
        d["id"] = i
        drows.append({"id": i, "digest_key": d["digest_key"], "recipient": d["recipient"], "uscc": d.get("uscc"),
                      "contact_name": d.get("contact_name"), "employer_name": d.get("employer_name"),
                      "as_of": d["as_of"], "frequency": d["frequency"], "n_items": len(d["items"]), "run_id": run_id,
                      "created_at": t})
        for pos, it in enumerate(d["items"]):
            irows.append({"digest_id": i, "recipient": d["recipient"], "item_key": it["item_key"], "kind": it["kind"],
                          "position": pos, "due_on": it.get("due_on"), "ref": it.get("ref"),
                          "line_zh": it["line_zh"], "line_en": it["line_en"]})
        for ch, addr in d["deliveries"]:
            orows.append({"digest_id": i, "channel": ch, "address": addr, "status": "pending", "attempts": 0,
                          "updated_at": t})
    conn.execute(digests.insert(), drows)
    for k in range(0, len(irows), 50_000):
        conn.execute(items.insert(), irows[k:k + 50_000])
    conn.execute(deliveries.insert(), orows)
    return len(drows)


def start_run(engine: sa.Engine, run_key: str, as_of: dt.date) -> int:
    with engine.begin() as c:
        return c.execute(runs.insert().values(run_key=run_key, as_of=as_of, started_at=now())).inserted_primary_key[0]


def finish_run(engine: sa.Engine, run_id: int, summary: dict) -> None:
    with engine.begin() as c:
        c.execute(runs.update().where(runs.c.id == run_id).values(
            finished_at=now(), summary=json.dumps(summary, ensure_ascii=False, default=str)))


def open_deliveries(engine: sa.Engine) -> list[dict]:
    """Deliveries still to send (pending, or failed in an earlier attempt), oldest first."""
    q = (sa.select(deliveries.c.id, deliveries.c.digest_id, deliveries.c.channel, deliveries.c.address,
                   deliveries.c.attempts, deliveries.c.status)
         .where(deliveries.c.status.in_(("pending", "failed"))).order_by(deliveries.c.id))
    with engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(q)]


def load_digest(engine: sa.Engine, digest_id: int) -> dict:
    with engine.connect() as c:
        d = dict(c.execute(sa.select(digests).where(digests.c.id == digest_id)).first()._mapping)
        d["items"] = [dict(r._mapping) for r in c.execute(
            sa.select(items.c.item_key, items.c.kind, items.c.due_on, items.c.ref, items.c.line_zh, items.c.line_en)
            .where(items.c.digest_id == digest_id).order_by(items.c.position))]
    return d


def set_status(engine: sa.Engine, delivery_id: int, status: str, me: str, error: str | None = None,
               attempt: bool = False) -> None:
    vals = {"status": status, "updated_at": now(), "claimed_by": me}
    if status == "sent":
        vals["sent_at"] = now()
        vals["last_error"] = None
    if error is not None:
        vals["last_error"] = error[:500]
    if attempt:
        vals["attempts"] = deliveries.c.attempts + 1
    with engine.begin() as c:
        c.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(**vals))


def status_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {s: int(n) for s, n in c.execute(
            sa.select(deliveries.c.status, sa.func.count()).group_by(deliveries.c.status))}
