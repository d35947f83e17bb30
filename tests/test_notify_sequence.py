"""The held-out day-to-day check of issue 18, on loopback: three days of
warehouse states, each notified twice in a row, with a real SMTP server and a
local HTTP server playing WeCom and DingTalk. Every expected reminder arrives
once on every channel of its contact, nothing else arrives, and the messages
say what the issue asks (Chinese first, English line, masked IDs, link, due
dates, only that employer's people, todo.xlsx attached)."""
from __future__ import annotations

import io
import re
from collections import defaultdict

import duckdb
import openpyxl
import pytest

from core.serverdb import make_engine
from reports.notify.config import load_config
from reports.notify.service import notify
from tests.notify_support import (A, B, C, D1, D2, D3, DEP_ID, ENV, EXPECTED, RAW_ID, RobotSink, SmtpSink,
                                  build_warehouse, markers_in, write_config)

EMAIL_OF = {"zhang@a.example.cn": "A", "li@b.example.cn": "B", "wang@c.example.cn": "C",
            "bureau@permits.example.gov.cn": "bureau"}
USCC = {"A": A, "B": B, "C": C}


def _site(tmp_path):
    site = tmp_path / "site"
    for u in (A, B, C):
        (site / "employers" / u).mkdir(parents=True)
        wb = openpyxl.Workbook()
        wb.active.title = "续签待办"
        wb.active.append(["证件编号", "姓名"])
        wb.active.append([f"P-{u[-4:]}", "测试"])
        wb.save(site / "employers" / u / "todo.xlsx")
    return site


def _body(msg, subtype):
    part = msg.get_body(preferencelist=(subtype,))
    return part.get_content()


@pytest.fixture()
def servers(tmp_path):
    smtp, robots = SmtpSink(tmp_path), RobotSink()
    yield smtp, robots
    smtp.stop()
    robots.stop()


def test_three_days_twice_each_reminder_arrives_once_and_nothing_else(tmp_path, servers):
    smtp, robots = servers
    cfg = load_config(write_config(tmp_path / "notify.yaml", smtp.port, robots.port), env=ENV)
    engine = make_engine(str(tmp_path / "server.sqlite"))
    site = _site(tmp_path)
    got: dict[tuple, list[set[str]]] = defaultdict(list)
    mails = []
    for day in (D1, D2, D3):
        wh = build_warehouse(tmp_path / f"wh-{day}.duckdb", day)
        for repeat in range(2):
            n_mail, n_req = len(smtp.messages), len(robots.requests)
            con = duckdb.connect(str(wh), read_only=True)
            try:
                summary = notify(con, day, cfg, engine, site_dir=site)
            finally:
                con.close()
            assert not summary["failed_channels"], summary
            for m in smtp.parsed()[n_mail:]:
                who = EMAIL_OF[m["To"]]
                text = _body(m, "plain")
                got[(day, who, "email")].append(markers_in(text))
                mails.append((day, who, m, text))
            for r in robots.requests[n_req:]:
                who = {"/wecom": "A", "/dingtalk": "B"}[r["path"]]
                md = r["body"]["markdown"]
                got[(day, who, r["path"].strip("/"))].append(markers_in(md.get("content") or md.get("text")))
            if repeat == 1:  # the same day again: nothing new
                assert len(smtp.messages) == n_mail and len(robots.requests) == n_req
    expected = {}
    for (day, who), marks in EXPECTED.items():
        expected[(day, who, "email")] = [marks]
        chat = {"A": "wecom", "B": "dingtalk"}.get(who)
        if chat:
            expected[(day, who, chat)] = [marks]
    bureau = {k: v for k, v in got.items() if k[1] == "bureau"}
    assert sorted(bureau) == [(d, "bureau", "email") for d in (D1, D2, D3)]
    assert all(len(v) == 1 for v in bureau.values()), "one bureau summary per day"
    assert {k: v for k, v in got.items() if k[1] != "bureau"} == expected
    assert robots.bad_signatures == 0
    assert all(r["signature_ok"] for r in robots.requests if r["path"] == "/dingtalk")

    # content of the day-1 mail to employer A
    day, who, m, text = next(x for x in mails if x[0] == D1 and x[1] == "A")
    raw = smtp.messages[0].decode("ascii")  # 7-bit on the wire: the Chinese subject is RFC 2047-encoded
    assert re.search(r"^Subject: =\?utf-8\?", raw, re.M)
    assert "北京甲科技有限公司" in m["Subject"] and "新提醒" in m["Subject"]
    lines = text.splitlines()
    assert re.search(r"[\u4e00-\u9fff]", lines[0]) and lines[1].startswith("Dear"), "Chinese first, then English"
    assert "110105********1234" in text and RAW_ID not in text
    assert f"https://permits.example.gov.cn/employers/{A}/" in text
    assert "2027-01-10" in text, "the due date of the window"
    html = _body(m, "html")
    assert f'href="https://permits.example.gov.cn/employers/{A}/"' in html and RAW_ID not in html
    att = [p for p in m.iter_attachments() if p.get_filename() == "todo.xlsx"]
    assert len(att) == 1
    wb = openpyxl.load_workbook(io.BytesIO(att[0].get_content()))
    assert wb.sheetnames == ["续签待办"] and wb.active["A2"].value == f"P-{A[-4:]}"
    # only that employer's people: A's mail names none of B's or C's
    assert not {"钱二", "周四", "吴五", "PB1", "PB2"} & set(re.findall(r"[\u4e00-\u9fff]{2}|PB\d", text))
    # the dependent's ID (an entity key) is masked in C's mail and in the chat messages
    c_mail = next(x for x in mails if x[1] == "C")[3]
    assert DEP_ID not in c_mail and DEP_ID[:6] + "********" + DEP_ID[-4:] in c_mail
    for r in robots.requests:
        body = str(r["body"])
        assert RAW_ID not in body and DEP_ID not in body
    # e-mail due date of B's EXP-DUE-90 item, and the weekly contact heard nothing on day 2
    b1 = next(x for x in mails if x[0] == D1 and x[1] == "B")[3]
    assert "办理期限 2026-12-01" in b1 and "(due 2026-12-01)" in b1
    assert (D2, "B", "email") not in got
