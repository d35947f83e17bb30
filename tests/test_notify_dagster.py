"""The ``notifications`` asset: it runs after ``site``, sends through the
configured channels, records its status in the run's warehouse (table
``notifications`` → ``run_summary.notifications``) and on the index page; with
no configuration it sends nothing and says so."""
from __future__ import annotations

import json

import duckdb
from dagster import DagsterInstance, materialize

from assets.notify import NotifySettings, notifications
from assets.settings import PermitsSettings
from assets.warehouse import Warehouse, staging_path
from reports.notify.status import BEGIN, END
from tests.notify_support import D1, ENV, RobotSink, SmtpSink, build_warehouse, write_config


def test_the_asset_sends_records_and_shows_its_status(tmp_path, monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    smtp, robots = SmtpSink(tmp_path), RobotSink()
    robots.fail = {"/dingtalk"}
    try:
        live = build_warehouse(tmp_path / "warehouse.duckdb", D1)
        site = tmp_path / "site"
        site.mkdir()
        (site / "index.html").write_text(f"<html>{BEGIN}{END}</html>", encoding="utf-8")
        cfg = write_config(tmp_path / "notify.yaml", smtp.port, robots.port)
        res = materialize(
            [notifications], partition_key=D1.isoformat(), instance=DagsterInstance.ephemeral(),
            resources={"settings": PermitsSettings(site_dir=str(site)),
                       "warehouse": Warehouse(database=str(live)),
                       "notify": NotifySettings(config_file=str(cfg), db=str(tmp_path / "server.sqlite"))})
        assert res.success, "a failing channel does not fail the run"
        meta = res.asset_materializations_for_node("notifications")[0].metadata
        assert meta["status"].value == "failed-channels" and meta["failed_channels"].value == "dingtalk-b"
        assert meta["digests"].value == 5  # A, B by e-mail and by their chat groups; the bureau
        assert len(smtp.messages) == 3 and len(robots.ok("/wecom")) == 1
        page = (site / "index.html").read_text(encoding="utf-8")
        assert 'data-status="failed-channels"' in page and "dingtalk-b" in page
        con = duckdb.connect(str(staging_path(live, res.run_id)), read_only=True)
        status, summary = con.sql("SELECT status, summary FROM notifications").fetchall()[0]
        con.close()
        assert status == "failed-channels" and json.loads(summary)["channels"]["dingtalk-b"]["failed"] == 1
    finally:
        smtp.stop()
        robots.stop()


def test_an_unreachable_ledger_is_reported_and_does_not_fail_the_run(tmp_path, monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    from tests.notify_support import free_port

    live = build_warehouse(tmp_path / "warehouse.duckdb", D1)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(f"<html>{BEGIN}{END}</html>", encoding="utf-8")
    cfg = write_config(tmp_path / "notify.yaml", free_port(), free_port())
    res = materialize(
        [notifications], partition_key=D1.isoformat(), instance=DagsterInstance.ephemeral(),
        resources={"settings": PermitsSettings(site_dir=str(site)),
                   "warehouse": Warehouse(database=str(live)),
                   "notify": NotifySettings(config_file=str(cfg),
                                            db=f"postgresql://u:pw-s3cret@127.0.0.1:{free_port()}/x")})
    assert res.success
    meta = res.asset_materializations_for_node("notifications")[0].metadata
    assert meta["status"].value == "error" and "OperationalError" in str(meta["summary"].value)
    page = (site / "index.html").read_text(encoding="utf-8")
    assert 'data-status="error"' in page and "pw-s3cret" not in page and "pw-s3cret" not in str(meta["summary"].value)


def test_backfill_runs_of_past_days_send_nothing(tmp_path, monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    smtp, robots = SmtpSink(tmp_path), RobotSink()
    try:
        live = build_warehouse(tmp_path / "warehouse.duckdb", D1)
        site = tmp_path / "site"
        site.mkdir()
        cfg = write_config(tmp_path / "notify.yaml", smtp.port, robots.port)
        resources = {"settings": PermitsSettings(site_dir=str(site)),
                     "warehouse": Warehouse(database=str(live)),
                     "notify": NotifySettings(config_file=str(cfg), db=str(tmp_path / "server.sqlite"))}
        past = materialize([notifications], partition_key=D1.isoformat(), instance=DagsterInstance.ephemeral(),
                           resources=resources, tags={"permits/backfill": "2026-11-01..2026-11-20"})
        meta = past.asset_materializations_for_node("notifications")[0].metadata
        assert meta["status"].value == "skipped" and smtp.messages == []
        newest = materialize([notifications], partition_key=D1.isoformat(), instance=DagsterInstance.ephemeral(),
                             resources=resources, tags={"permits/backfill": f"2026-10-20..{D1.isoformat()}"})
        assert newest.asset_materializations_for_node("notifications")[0].metadata["status"].value == "sent"
        assert len(smtp.messages) == 3
    finally:
        smtp.stop()
        robots.stop()


def test_without_configuration_nothing_is_sent_and_the_run_summary_says_so(demo_run, tmp_path):
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    try:
        status, summary = con.sql("SELECT status, summary FROM notifications").fetchall()[0]
        rs = json.loads(con.sql("SELECT notifications FROM run_summary").fetchall()[-1][0])
    finally:
        con.close()
    assert status == "skipped" and "no notification configuration" in json.loads(summary)["reason"]
    assert rs["status"] == "skipped"
    page = (demo_run["site"] / "index.html").read_text(encoding="utf-8")
    assert 'data-status="skipped"' in page
