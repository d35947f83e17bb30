"""The configuration file: ``${ENV}`` values, clear errors that name the key
but never a secret, and secrets (webhook URLs, robot secret, SMTP password)
that never reach the ledger, the warehouse, the logs, the site or a dry-run
file. Also: frequency, dry runs record nothing, planning is a pure function."""
from __future__ import annotations

import json
import logging
import re

import duckdb
import polars as pl
import pytest

from core.serverdb import make_engine
from reports.notify import ledger as L
from reports.notify.config import ConfigError, load_config, parse_config, split_channels
from reports.notify.plan import plan_digests
from reports.notify.service import notify
from reports.notify.status import BEGIN, END, patch_index
from tests.notify_support import (A, B, D1, D2, D3, ENV, SECRET, WECOM_KEY, RobotSink, SmtpSink, build_warehouse,
                                  write_config)


def test_environment_variables_are_expanded_and_a_missing_one_is_named(tmp_path):
    cfg = parse_config({"channels": {"g": {"type": "dingtalk", "url": "http://127.0.0.1/x?t=${T}", "secret": "${S}"}}},
                       env={"T": "tok123", "S": "sec456"})
    assert cfg.channels["g"].url == "http://127.0.0.1/x?t=tok123" and cfg.channels["g"].secret == "sec456"
    with pytest.raises(ConfigError, match=r"channels\.g\.secret: environment variable S is not set"):
        parse_config({"channels": {"g": {"type": "dingtalk", "url": "http://127.0.0.1/", "secret": "${S}"}}}, env={})
    with pytest.raises(ConfigError, match="wecom or dingtalk"):
        parse_config({"channels": {"g": {"type": "slack", "url": "u"}}}, env={})
    with pytest.raises(ConfigError, match="loopback"):
        parse_config({"smtp": {"host": "smtp.example.cn", "security": "none", "from": "a@b.cn"}}, env={})
    (tmp_path / "bad.yaml").write_text("channels: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(tmp_path / "bad.yaml")
    assert load_config(tmp_path / "absent.yaml") is None


def test_scrub_removes_every_secret_and_url():
    cfg = parse_config({"smtp": {"host": "127.0.0.1", "security": "none", "from": "a@b.cn", "password": "pw-999999"},
                        "channels": {"g": {"type": "wecom", "url": "http://127.0.0.1:1/w?key=KEY-777777"}}}, env={})
    text = cfg.scrub("failed http://127.0.0.1:1/w?key=KEY-777777 with pw-999999 and KEY-777777")
    assert "KEY-777777" not in text and "pw-999999" not in text and "http" not in text


def test_channel_names_split_on_the_contract_separators():
    assert split_channels("wecom-a, dingtalk-b、x;y；z，w") == ["wecom-a", "dingtalk-b", "x", "y", "z", "w"]
    assert split_channels(None) == [] and split_channels("  ") == []


def test_secrets_never_reach_ledger_warehouse_logs_site_or_dry_run(tmp_path, caplog):
    smtp, robots = SmtpSink(tmp_path), RobotSink()
    robots.fail = {"/wecom"}  # a failure: its error text is where a URL would most likely leak
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(f"<html>{BEGIN}{END}</html>", encoding="utf-8")
    try:
        cfg = load_config(write_config(tmp_path / "n.yaml", smtp.port, robots.port), env=ENV)
        db = tmp_path / "server.sqlite"
        wh = build_warehouse(tmp_path / "wh.duckdb", D1)
        caplog.set_level(logging.DEBUG)
        con = duckdb.connect(str(wh))
        logs: list[str] = []
        s = notify(con, D1, cfg, make_engine(str(db)), site_dir=site, log=logs.append)
        from assets.notify import run_status, write_status

        write_status(con, "run-1", D1, run_status(s), s)
        patch_index(site, run_status(s), s)
        stored = json.dumps(con.sql("SELECT * FROM notifications").fetchall(), default=str, ensure_ascii=False)
        con.close()
        dry = tmp_path / "dry"
        con = duckdb.connect(str(build_warehouse(tmp_path / "wh2.duckdb", D2)), read_only=True)
        notify(con, D2, cfg, None, dry_run_dir=dry)
        con.close()
        texts = {
            "ledger": db.read_bytes().decode("utf-8", "replace") + "".join(
                p.read_bytes().decode("utf-8", "replace") for p in tmp_path.glob("server.sqlite*")),
            "warehouse": stored, "logs": caplog.text + "\n".join(logs),
            "site": (site / "index.html").read_text(encoding="utf-8"),
            "dry-run": "".join(p.read_text(encoding="utf-8", errors="replace") for p in dry.iterdir()),
            "summary": json.dumps(s, default=str, ensure_ascii=False),
        }
        assert "wecom-a" in texts["site"] and s["failed_channels"] == ["wecom-a"]
        for where, text in texts.items():
            assert WECOM_KEY not in text, where
            assert SECRET not in text, where
            assert not re.search(rf"127\.0\.0\.1:{robots.port}", text), where
    finally:
        smtp.stop()
        robots.stop()


def test_dry_run_writes_every_message_and_records_nothing(tmp_path):
    cfg = load_config(write_config(tmp_path / "n.yaml", 1, 1), env=ENV)
    engine = make_engine(str(tmp_path / "s.sqlite"))
    L.create(engine)
    con = duckdb.connect(str(build_warehouse(tmp_path / "wh.duckdb", D1)), read_only=True)
    s = notify(con, D1, cfg, engine, dry_run_dir=tmp_path / "dry")
    again = notify(con, D1, cfg, engine, dry_run_dir=tmp_path / "dry2")
    con.close()
    names = sorted(p.name for p in (tmp_path / "dry").iterdir())
    # A: e-mail + WeCom, B: e-mail + DingTalk, bureau: e-mail → 3 .eml, 5 .json
    assert sum(n.endswith(".eml") for n in names) == 3 and sum(n.endswith(".json") for n in names) == 5
    assert s["eml_files"] == 3 and s["json_files"] == 5 and again["digests_planned"] == s["digests_planned"] == 5
    ding = json.loads(next((tmp_path / "dry").glob("*dingtalk-b.json")).read_text(encoding="utf-8"))
    assert ding["request_body"]["msgtype"] == "markdown" and "PB1" in ding["request_body"]["markdown"]["text"]
    assert "url" not in json.dumps(ding).lower().replace("curl", "")
    assert L.status_counts(engine) == {}
    with engine.connect() as c:
        assert c.execute(L.digests.select()).fetchall() == []


def _items(uscc_items: dict[str, list[str]]) -> pl.DataFrame:
    rows = [{"uscc": u, "kind": "finding", "item_key": k, "due_on": None, "ref": k, "line_zh": k, "line_en": k}
            for u, ks in uscc_items.items() for k in ks]
    return pl.DataFrame(rows, schema={"uscc": pl.String, "kind": pl.String, "item_key": pl.String, "due_on": pl.Date,
                                      "ref": pl.String, "line_zh": pl.String, "line_en": pl.String})


def _contacts(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"uscc": pl.String, "contact_name": pl.String, "email": pl.String,
                                      "channels": pl.String, "frequency": pl.String, "employer_name": pl.String},
                        orient="row")


def test_frequency_daily_weekly_and_no_going_back():
    cfg = parse_config({"smtp": {"host": "127.0.0.1", "security": "none", "from": "n@x.cn"}}, env={})
    items = _items({A: ["k1", "k2"], B: ["k3"]})
    contacts = _contacts([(A, "a", "a@x.cn", None, "daily", "甲"), (B, "b", "b@x.cn", None, "weekly", "乙")])
    told = pl.DataFrame(schema={"recipient": pl.String, "item_key": pl.String})
    plan, _ = plan_digests(items, contacts, D1, cfg, told, {})
    assert {d["recipient"]: len(d["items"]) for d in plan} == {f"{A}|a": 2, f"{B}|b": 1}
    told = pl.DataFrame({"recipient": [f"{A}|a", f"{A}|a", f"{B}|b"], "item_key": ["k1", "k2", "k3"]})
    more = _items({A: ["k1", "k2", "k4"], B: ["k3", "k5"]})
    last = {f"{A}|a": D1, f"{B}|b": D1}
    plan, stats = plan_digests(more, contacts, D2, cfg, told, last)
    assert [(d["recipient"], [i["item_key"] for i in d["items"]]) for d in plan] == [(f"{A}|a", ["k4"])]
    assert stats["recipients_held_weekly"] == 1
    plan, _ = plan_digests(more, contacts, D3, cfg, told, {f"{A}|a": D2, f"{B}|b": D1})
    assert [(d["recipient"], [i["item_key"] for i in d["items"]]) for d in plan] == [(f"{A}|a", ["k4"]), (f"{B}|b", ["k5"])]
    plan, stats = plan_digests(more, contacts, D1, cfg, told, {f"{A}|a": D2})  # a backfill of an earlier day
    assert f"{A}|a" not in {d["recipient"] for d in plan} and stats["recipients_already_today"] == 1
    plan, _ = plan_digests(items, contacts, D1, cfg, pl.DataFrame({"recipient": [f"{A}|a"] * 2, "item_key": ["k1", "k2"]}), {})
    assert f"{A}|a" not in {d["recipient"] for d in plan}, "nothing new: no message"


def test_a_chat_channel_named_by_two_employers_is_refused():
    cfg = parse_config({"channels": {"g": {"type": "wecom", "url": "http://127.0.0.1/w"}}}, env={})
    contacts = _contacts([(A, "a", None, "g", "daily", "甲"), (B, "b", None, "g", "daily", "乙")])
    told = pl.DataFrame(schema={"recipient": pl.String, "item_key": pl.String})
    plan, stats = plan_digests(_items({A: ["k1"], B: ["k2"]}), contacts, D1, cfg, told, {})
    assert plan == [] and stats["channels_refused_shared"] == ["g"] and stats["contacts_without_channel"] == 2


def test_permits_notify_command_dry_run_and_clear_errors(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    wh = build_warehouse(tmp_path / "wh.duckdb", D1)
    runner = CliRunner()
    r = runner.invoke(app, ["notify", "--dry-run", "--out", str(tmp_path / "out"), "--warehouse", str(wh),
                            "--config", str(tmp_path / "absent.yaml"), "--site", str(tmp_path / "no-site"),
                            "--as-of", D1.isoformat()])
    assert r.exit_code == 0, r.output
    # without a configuration a dry run still writes the e-mails (no chat channel is known)
    assert len(list((tmp_path / "out").glob("*.eml"))) == 2 and not list((tmp_path / "out").glob("*wecom*"))
    # the whole path on one line, however long and whatever the terminal's width (an operator copies it)
    absent = tmp_path / ("配置目录-" + "x" * 90) / "absent.yaml"
    r = runner.invoke(app, ["notify", "--warehouse", str(wh), "--config", str(absent), "--db", str(tmp_path / "s.sqlite")])
    assert r.exit_code == 2 and str(absent) in r.output, r.output
    (tmp_path / "broken.yaml").write_text("channels: {x: {type: wecom, url: '${NOPE_NOT_SET}'}}", encoding="utf-8")
    r = runner.invoke(app, ["notify", "--warehouse", str(wh), "--config", str(tmp_path / "broken.yaml"),
                            "--db", str(tmp_path / "s.sqlite")])
    assert r.exit_code == 2 and "NOPE_NOT_SET" in r.output


def test_chat_markdown_never_exceeds_its_limit_and_counts_what_it_leaves_out():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from reports.notify.render import markdown

    line = st.text(alphabet=st.sampled_from(list("续签证件办理期限到期ABC0123 -:,。")), min_size=1, max_size=120)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(["due", "lapsed", "finding", "returned"]), line, line), max_size=120),
           st.integers(min_value=600, max_value=5000))
    def check(rows, limit):
        items = [{"item_key": f"k{i}", "kind": k, "line_zh": zh, "line_en": en} for i, (k, zh, en) in enumerate(rows)]
        d = {"recipient": "u|c", "uscc": "U", "employer_name": "甲", "contact_name": "c", "as_of": D1, "items": items}
        _, text = markdown(d, "https://x.example/employers/U/", limit)
        assert len(text.encode("utf-8")) <= limit
        shown = text.count("\n- ")
        if shown < len(items):
            assert f"另有 {len(items) - shown} 项" in text

    check()


def test_a_group_named_by_two_contacts_of_one_employer_gets_one_digest():
    cfg = parse_config({"smtp": {"host": "127.0.0.1", "security": "none", "from": "n@x.cn"},
                        "channels": {"g": {"type": "wecom", "url": "http://127.0.0.1/w"}}}, env={})
    contacts = _contacts([(A, "a", "a@x.cn", "g", "weekly", "甲"), (A, "b", None, "g、g", "daily", "甲")])
    told = pl.DataFrame(schema={"recipient": pl.String, "item_key": pl.String})
    plan, stats = plan_digests(_items({A: ["k1"]}), contacts, D1, cfg, told, {})
    assert sorted((d["recipient"], d["frequency"], d["deliveries"]) for d in plan) == [
        (f"{A}|#g", "daily", [("g", "g")]), (f"{A}|a", "weekly", [("email", "a@x.cn")])]
    assert stats["contacts_without_channel"] == 0
