"""The ledger on PostgreSQL (``--db postgresql://…``): a fresh database of the
session's cluster on 127.0.0.1 (conftest ``pg_cluster``); two runs of one day send each message once, the next day only what
is new."""
from __future__ import annotations

import duckdb

from core.serverdb import make_engine
from reports.notify import ledger as L
from reports.notify.config import load_config
from reports.notify.service import notify
from tests.notify_support import D1, D2, ENV, RobotSink, SmtpSink, build_warehouse, write_config


def test_ledger_on_postgresql_sends_each_message_once(tmp_path, pg_cluster):
    smtp, robots = SmtpSink(tmp_path), RobotSink()
    try:
        cfg = load_config(write_config(tmp_path / "n.yaml", smtp.port, robots.port), env=ENV)
        engine = make_engine(pg_cluster.new_database())
        assert engine.dialect.name == "postgresql"
        for day in (D1, D1, D2, D2):
            con = duckdb.connect(str(build_warehouse(tmp_path / f"wh-{day}.duckdb", day)), read_only=True)
            notify(con, day, cfg, engine)
            con.close()
        # day 1: A, B, bureau by e-mail, A by WeCom, B by DingTalk; day 2: A, C, bureau by e-mail, A by WeCom
        assert len(smtp.messages) == 6 and len(robots.requests) == 3
        assert L.status_counts(engine) == {"sent": 9}
        with engine.connect() as c:
            assert len(c.execute(L.digests.select()).fetchall()) == 9  # mail and chat groups are recipients
            assert len(c.execute(L.runs.select()).fetchall()) == 4
        engine.dispose()
    finally:
        smtp.stop()
        robots.stop()
