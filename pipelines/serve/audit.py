"""The audit log: who (user, role), what (event, path, status), when (UTC),
from where (source address). Written to the server database, so it survives
restarts and runs. Page views and downloads go through a write-behind queue
(one INSERT per batch, at most ``flush_seconds`` later — a page view must not
wait for a database commit); logins, failures and logouts are written at once.
The queue is drained when the server stops."""
from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from typing import Optional

import sqlalchemy as sa

from pipelines.serve.db import audit, utcnow

EVENTS = ("login", "login_failed", "login_locked", "logout", "activation", "activation_failed",
          "password_changed", "page_view", "download", "denied")


class AuditLog:
    def __init__(self, engine: sa.Engine, flush_seconds: float = 0.5, batch: int = 500):
        self.engine = engine
        self.flush_seconds = flush_seconds
        self.batch = batch
        self._q: "queue.Queue[dict | None]" = queue.Queue()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._q.put(None)
            self._thread.join(timeout=30)
            self._thread = None
        self._drain()

    def record(self, event: str, *, username: Optional[str], role: Optional[str], path: Optional[str] = None,
               status: Optional[int] = None, source: Optional[str] = None, detail: Optional[str] = None,
               now: bool = False) -> None:
        row = dict(at=utcnow(), username=username, role=role, event=event, path=(path or None) and path[:2000],
                   status=status, source=(source or "")[:64] or None, detail=detail)
        if now or self._thread is None:
            with self.engine.begin() as c:
                c.execute(audit.insert(), [row])
        else:
            self._q.put(row)

    def _drain(self, first: Optional[dict] = None) -> bool:
        rows, stop = ([first] if first else []), False
        while len(rows) < self.batch:
            try:
                r = self._q.get_nowait()
            except queue.Empty:
                break
            if r is None:
                stop = True
                continue
            rows.append(r)
        if rows:
            with self.engine.begin() as c:
                c.execute(audit.insert(), rows)
        return stop

    def _run(self) -> None:
        while True:
            try:
                first = self._q.get(timeout=self.flush_seconds)
            except queue.Empty:
                continue
            if first is None:
                return
            time.sleep(self.flush_seconds)  # gather a batch: one commit for many page views
            try:
                if self._drain(first):
                    return
            except Exception as exc:  # noqa: BLE001 - keep serving; say so on stderr
                import sys

                print(f"audit write failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def query(engine: sa.Engine, user: Optional[str] = None, since: Optional[dt.datetime] = None,
          limit: Optional[int] = None) -> list[dict]:
    q = sa.select(audit).order_by(audit.c.at, audit.c.id)
    if user:
        q = q.where(sa.func.lower(audit.c.username) == user.strip().casefold())
    if since:
        q = q.where(audit.c.at >= since)
    if limit:
        q = sa.select(q.order_by(None).order_by(audit.c.at.desc(), audit.c.id.desc()).limit(limit).subquery())
    with engine.connect() as c:
        rows = [dict(r._mapping) for r in c.execute(q)]
    return sorted(rows, key=lambda r: (r["at"], r["id"]))
