"""Channels on loopback: SMTP with STARTTLS and with implicit TLS (certificate
checked against a CA file), DingTalk's signature, WeCom's payload and size
limit, and a failing channel: retried with back-off, the run goes on, the
failure shows in the summary and on the index page, and the next run delivers
it once."""
from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import duckdb
import pytest

from core.serverdb import make_engine
from reports.notify import ledger as L
from reports.notify.channels import dingtalk_sign, dingtalk_url
from reports.notify.config import load_config
from reports.notify.render import WECOM_LIMIT, markdown
from reports.notify.service import notify
from reports.notify.status import BEGIN, END, patch_index
from tests.notify_support import (A, D1, ENV, WECOM_KEY, RobotSink, SmtpSink, build_warehouse,
                                  write_config)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_smtp_over_starttls_and_tls_delivers_parseable_mail(tmp_path, security):
    smtp, robots = SmtpSink(tmp_path, security=security), RobotSink()
    try:
        cfg = load_config(write_config(tmp_path / "n.yaml", smtp.port, robots.port, security=security,
                                       cafile=smtp.cafile), env=ENV)
        wh = build_warehouse(tmp_path / "wh.duckdb", D1)
        con = duckdb.connect(str(wh), read_only=True)
        s = notify(con, D1, cfg, make_engine(str(tmp_path / "s.sqlite")))
        con.close()
        assert s["channels"]["email"]["sent"] == 3 and s["channels"]["email"]["failed"] == 0
        tos = sorted(m["To"] for m in smtp.parsed())
        assert tos == ["bureau@permits.example.gov.cn", "li@b.example.cn", "zhang@a.example.cn"]
        m = next(m for m in smtp.parsed() if m["To"] == "zhang@a.example.cn")
        assert m["From"].addresses[0].display_name == "工作居住证提醒" and "北京甲科技有限公司" in m["Subject"]
        assert m.get_body(("plain",)).get_content().startswith("张三 您好")
    finally:
        smtp.stop()
        robots.stop()


def test_smtp_login_with_the_password_from_the_environment_which_never_leaks(tmp_path):
    import json

    import yaml

    user, pw = "notify@permits.example.cn", "pw-SMTP-4242-s3cret"
    smtp, robots = SmtpSink(tmp_path, security="starttls", login=(user, pw)), RobotSink()
    try:
        path = write_config(tmp_path / "n.yaml", smtp.port, robots.port, security="starttls", cafile=smtp.cafile)
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["smtp"].update(username=user, password="${TEST_SMTP_PASSWORD}")
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        con = duckdb.connect(str(build_warehouse(tmp_path / "wh.duckdb", D1)), read_only=True)
        wrong = "wrong-" + pw
        bad = notify(con, D1, load_config(path, env={**ENV, "TEST_SMTP_PASSWORD": wrong}),
                     make_engine(str(tmp_path / "bad.sqlite")), sleep=lambda s: None)
        assert smtp.messages == [] and smtp.logins == [] and "email" in bad["failed_channels"]
        assert bad["channels"]["email"]["error"] == "smtp: SMTPAuthenticationError 535"  # name and code only
        good = notify(con, D1, load_config(path, env={**ENV, "TEST_SMTP_PASSWORD": pw}),
                      make_engine(str(tmp_path / "good.sqlite")))
        con.close()
        assert good["channels"]["email"] == {"sent": 3, "failed": 0, "deferred": 0, "error": None}
        assert len(smtp.messages) == 3 and smtp.logins == [user], "one login for the run's connection"
        for text in (json.dumps(bad), json.dumps(good), (tmp_path / "bad.sqlite").read_bytes().decode("utf-8", "replace"),
                     (tmp_path / "good.sqlite").read_bytes().decode("utf-8", "replace")):
            assert pw not in text and wrong not in text
    finally:
        smtp.stop()
        robots.stop()


def test_smtp_tls_refuses_an_untrusted_certificate(tmp_path):
    smtp, robots = SmtpSink(tmp_path, security="tls"), RobotSink()
    try:  # no cafile: the self-signed certificate is not trusted, nothing is sent, the run completes
        cfg = load_config(write_config(tmp_path / "n.yaml", smtp.port, robots.port, security="tls"), env=ENV)
        con = duckdb.connect(str(build_warehouse(tmp_path / "wh.duckdb", D1)), read_only=True)
        s = notify(con, D1, cfg, make_engine(str(tmp_path / "s.sqlite")))
        con.close()
        assert smtp.messages == [] and "email" in s["failed_channels"]
        assert "SSL" in s["channels"]["email"]["error"] or "Certificate" in s["channels"]["email"]["error"]
    finally:
        smtp.stop()
        robots.stop()


def test_dingtalk_signature_is_hmac_sha256_of_timestamp_and_secret():
    ts = 1700000000000
    expected = base64.b64encode(hmac.new(b"s3cret", b"1700000000000\ns3cret", hashlib.sha256).digest()).decode()
    assert urllib.parse.unquote_plus(dingtalk_sign("s3cret", ts)) == expected
    url = dingtalk_url("http://127.0.0.1:1/robot/send?access_token=t", "s3cret", ts)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert q["timestamp"] == [str(ts)] and q["sign"] == [expected] and q["access_token"] == ["t"]


def test_wecom_markdown_stays_under_the_robot_limit_and_says_what_was_left_out():
    items = [{"item_key": f"k{i}", "kind": "window_open", "line_zh": "证件 P%d:续签办理期已开始,请在 2027-01-10 前提交" % i,
              "line_en": f"permit P{i}: renewal window open, file by 2027-01-10"} for i in range(300)]
    d = {"recipient": f"{A}|张三", "uscc": A, "employer_name": "北京甲科技有限公司", "contact_name": "张三",
         "as_of": D1, "items": items}
    title, text = markdown(d, "https://x.example/employers/A/", WECOM_LIMIT)
    assert len(text.encode("utf-8")) <= WECOM_LIMIT
    assert "另有" in text and "more in the e-mail" in text and "https://x.example/employers/A/" in text


def test_a_failing_channel_is_retried_does_not_fail_the_run_shows_and_is_delivered_next_run(tmp_path):
    smtp, robots = SmtpSink(tmp_path), RobotSink()
    robots.fail = {"/wecom"}
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(f"<html><body><h1>运行概况</h1>{BEGIN}{END}</body></html>", encoding="utf-8")
    try:
        cfg = load_config(write_config(tmp_path / "n.yaml", smtp.port, robots.port, retries=3), env=ENV)
        engine = make_engine(str(tmp_path / "s.sqlite"))
        wh = build_warehouse(tmp_path / "wh.duckdb", D1)
        con = duckdb.connect(str(wh), read_only=True)
        waits: list[float] = []
        s = notify(con, D1, cfg, engine, site_dir=site, sleep=waits.append)
        assert [r["path"] for r in robots.requests].count("/wecom") == 3, "three attempts"
        assert waits == [0.01, 0.02], "back-off doubles"
        assert s["failed_channels"] == ["wecom-a"] and s["channels"]["wecom-a"]["failed"] == 1
        assert s["channels"]["email"]["sent"] == 3 and len(robots.ok("/dingtalk")) == 1, "other channels went"
        assert s["outbox"]["failed"] == 1
        patch_index(site, "failed-channels", s)
        page = (site / "index.html").read_text(encoding="utf-8")
        assert 'data-status="failed-channels"' in page and "wecom-a" in page and WECOM_KEY not in page
        # the next run (same day: nothing new is planned) delivers the failed message once
        robots.fail = set()
        s2 = notify(con, D1, cfg, engine, site_dir=site)
        assert s2["digests_planned"] == 0 and s2["channels"]["wecom-a"]["sent"] == 1
        assert len(robots.ok("/wecom")) == 1 and len(smtp.messages) == 3
        s3 = notify(con, D1, cfg, engine, site_dir=site)
        assert s3["channels"] == {} and len(robots.ok("/wecom")) == 1
        con.close()
    finally:
        smtp.stop()
        robots.stop()


def test_a_dead_channel_is_left_for_the_next_run_after_the_breaker_trips(tmp_path):
    robots = RobotSink()
    try:
        port = robots.port  # SMTP: nothing listens on this port: connection refused every time
        from tests.notify_support import free_port

        cfg = load_config(write_config(tmp_path / "n.yaml", free_port(), port, retries=2), env=ENV)
        cfg.breaker_failures = 2
        engine = make_engine(str(tmp_path / "s.sqlite"))
        con = duckdb.connect(str(build_warehouse(tmp_path / "wh.duckdb", D1)), read_only=True)
        s = notify(con, D1, cfg, engine, sleep=lambda s: None)
        con.close()
        st = s["channels"]["email"]
        assert st["failed"] == 2 and st["deferred"] == 1 and st["sent"] == 0
        assert len(robots.ok("/wecom")) == 1 and len(robots.ok("/dingtalk")) == 1
        assert L.status_counts(engine) == {"failed": 2, "pending": 1, "sent": 2}
    finally:
        robots.stop()
