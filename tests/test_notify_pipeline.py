"""End to end on the demo data set, two days, each day run twice, with the
reminders going to a local SMTP server: every expected reminder arrives once,
and nothing else does (issue 18, "How it is checked").

Day 1 starts from the shared demo run (the whole Dagster job at the reference
date, without reminders; copied, never written): ``permits notify`` sends day
1, then the whole job re-runs day 1 with reminders configured and must send
nothing. Day 2 is the whole job (its ``notifications`` step sends), then
``permits notify`` again (nothing). So each day is run twice, through both
ways of sending, with two pipeline runs instead of four.

The expectation is an independent reading of the issue, taken from the
warehouse's marts, not from the reminder code: what an employer's HR officer
has to hear about on a day is its renewal windows that are open or lapsed, its
applications that will be returned (with their reasons), its error and warning
findings, every finding due within 30 days and every waiver ending within 30
days ("matters"). A contact's first digest holds every open matter; a later
digest holds exactly the matters that were not open the day before — a window
that opened or closed, a due date that entered the 30 days, a finding that is
new (a rule broken from today: a deferral or a work permit that ran out
yesterday, an inspection that fell overdue, a waiver that ended), new reasons
on an application. A matter still open stays silent: no daily repeats."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections import Counter, defaultdict

import duckdb
import pytest
from dagster import DagsterInstance, Definitions

from assets.notify import NotifySettings
from tests.notify_support import SmtpSink

REF = re.compile(r"\b(BJ\d{11}|SQ\d{12})\b")
HORIZON = dt.timedelta(days=30)
BUREAU_MAIL = "bureau@permits.local"
CASES = ("permit", "application")  # matters whose line names their permit / application number first


def _defs(base, config, db):
    from pipelines import definitions as D

    res = D.default_resources(base)
    res["notify"] = NotifySettings(config_file=str(config), db=str(db))
    d = D.defs
    return Definitions(assets=list(d.assets), asset_checks=list(d.asset_checks or []), jobs=list(d.jobs or []),
                       resources=res)


def open_matters(con, day: dt.date) -> dict[str, set[tuple]]:
    """uscc -> the matters open on ``day``: (kind, entity_type, entity_key, what makes it this matter...)."""
    out: dict[str, set[tuple]] = defaultdict(set)
    for u, p, state, start, end in con.sql(
            "SELECT uscc, permit_no, window_state, window_start, window_end FROM todo_renewals "
            "WHERE window_state IN ('open', 'lapsed')").fetchall():
        out[u].add(("window", "permit", p, state, start, end))
    for u, a, rules in con.sql("SELECT uscc, application_id, rule_ids FROM todo_failing_applications").fetchall():
        out[u].add(("returned", "application", a, rules))
    for u, rule, sev, etype, ekey, due, waived, ends in con.sql(
            "SELECT uscc, rule_id, severity, entity_type, entity_key, due_on, coalesce(waived, false), "
            "TRY_CAST(json_extract_string(detail, '$.waiver.expires_on') AS DATE) FROM findings "
            "WHERE uscc IS NOT NULL").fetchall():
        if waived:
            if ends is not None and day <= ends <= day + HORIZON:
                out[u].add(("waiver_ends", etype, ekey, rule, ends))
            continue
        if sev in ("error", "warning"):
            out[u].add(("finding", etype, ekey, rule))
        if due is not None and day <= due <= day + HORIZON:
            out[u].add(("due", etype, ekey, rule, due))
    return out


def _mail_lines(m) -> list[str]:
    return [ln for ln in m.get_body(("plain",)).get_content().splitlines() if ln.startswith("  • ")]


def check_day(day, msgs, new: dict[str, set[tuple]], contacts, owners) -> int:
    """The day's e-mails to contacts carry exactly the new matters of their employer; returns the lines seen."""
    got = Counter(m["To"] for m in msgs)
    assert all(n == 1 for n in got.values()), (day, "one digest per contact and day", got.most_common(3))
    expected_to = {e for u, e in contacts if new.get(u)}
    assert set(got) == expected_to, (day, "missing", sorted(expected_to - set(got))[:5],
                                     "unexpected", sorted(set(got) - expected_to)[:5])
    uscc_of = dict((e, u) for u, e in contacts)
    n_lines = 0
    for m in msgs:
        u = uscc_of[m["To"]]
        text = m.get_body(("plain",)).get_content()
        assert f"/employers/{u}/" in text, "the link to the employer's own page"
        assert not re.search(r"\d{17}[\dX]", text), "ID numbers are masked"
        per_case = Counter(t[2] for t in new[u] if t[1] in CASES)
        others = {(t[1], t[2], t[3]) for t in new[u] if t[1] not in CASES}
        subjects, rest = Counter(), 0
        for ln in _mail_lines(m):
            first = REF.search(ln)
            if first and first.group(1) in per_case:
                subjects[first.group(1)] += 1
            else:
                rest += 1
            if first:  # a line is about one of this employer's permits or applications
                assert u in owners.get(first.group(1), {u}), ("another employer's case", u, ln)
        n_lines += sum(subjects.values()) + rest
        assert set(subjects) == set(per_case), (day, m["To"], "every new matter once",
                                                sorted(set(per_case) - set(subjects))[:5])
        assert all(subjects[r] <= per_case[r] for r in subjects), (day, m["To"], "a case named more often than new "
                                                                    "matters on it", subjects.most_common(3))
        assert rest == len(others), (day, m["To"], "lines about nothing new", rest, sorted(others)[:5])
    return n_lines


def _state(wh, day):
    con = duckdb.connect(str(wh), read_only=True)
    try:
        contacts = con.sql("SELECT uscc, email, coalesce(frequency, 'daily') FROM employer_contacts "
                           "WHERE email IS NOT NULL").fetchall()
        # a case belongs to its permit's / application's employer, and to the employer a finding on it is
        # charged to (v2: XFER-DEFERRAL-* findings go to the new employer)
        owners: dict = {}
        for ref, u in con.sql("SELECT permit_no, uscc FROM permit_status UNION SELECT application_id, uscc "
                              "FROM applications UNION SELECT entity_key, uscc FROM findings "
                              "WHERE uscc IS NOT NULL").fetchall():
            owners.setdefault(ref, set()).add(u)
        summary = con.sql("SELECT notifications FROM run_summary ORDER BY committed_at DESC LIMIT 1").fetchall()
        return open_matters(con, day), contacts, owners, summary
    finally:
        con.close()


@pytest.mark.slow
def test_two_days_of_the_demo_run_twice_each_reminder_once(demo_run, tmp_path):
    import yaml
    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.runner import execute_run

    smtp = SmtpSink(tmp_path)
    try:
        cfg = tmp_path / "notify.yaml"
        cfg.write_text(yaml.safe_dump({
            "base_url": "http://127.0.0.1:8000",
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "from": "提醒 <n@permits.local>"},
            "bureau": {"email": [BUREAU_MAIL]}, "retries": 1}, allow_unicode=True), encoding="utf-8")
        base = tmp_path / "data"
        base.mkdir()
        wh, site, db = base / "warehouse.duckdb", base / "site", base / "server.sqlite"
        src = demo_run["warehouse"]
        shutil.copy2(src, wh)
        if src.with_name(src.name + ".ingest-cache").is_dir():
            shutil.copytree(src.with_name(src.name + ".ingest-cache"), wh.with_name(wh.name + ".ingest-cache"))
        shutil.copytree(demo_run["site"], site)
        defs = _defs(base, cfg, db)
        d1 = dt.date.fromisoformat(demo_run["as_of"])
        d2 = d1 + dt.timedelta(days=1)

        def cli_notify(*extra):
            r = CliRunner().invoke(app, ["notify", "--config", str(cfg), "--db", str(db), "--warehouse", str(wh),
                                         "--site", str(site), *extra])
            assert r.exit_code == 0, r.output
            return r.output

        def job(day):
            s = execute_run(demo_run["data"]["dir"], day.isoformat(), wh, site, instance=DagsterInstance.ephemeral(),
                            defs=defs)
            assert s["run_id"]

        def sent_by(step) -> list:
            n = len(smtp.messages)
            step()
            return smtp.parsed()[n:]

        day1 = sent_by(lambda: cli_notify("--as-of", d1.isoformat()))
        open1, contacts, owners, _ = _state(wh, d1)
        assert sent_by(lambda: job(d1)) == [], "re-running day 1 (the whole job) sends nothing"
        assert json.loads(_state(wh, d1)[3][0][0])["digests_planned"] == 0
        day2 = sent_by(lambda: job(d2))
        open2, contacts2, owners2, rs = _state(wh, d2)
        rs = json.loads(rs[0][0])
        assert rs["status"] == "sent" and rs["mode"] == "send" and rs["digests_planned"] == len(day2)
        assert 'data-status="sent"' in (site / "index.html").read_text(encoding="utf-8"), "the published index page"
        assert sent_by(cli_notify) == [], "re-running day 2 (permits notify) sends nothing"

        for day, msgs in ((d1, day1), (d2, day2)):
            assert [m["To"] for m in msgs].count(BUREAU_MAIL) == 1, "the bureau's summary once a day"
        # day 1: the first digest of every contact holds everything open; day 2: only what is new since day 1,
        # to daily contacts, and to weekly ones that had nothing on day 1 (at most one digest in 7 days)
        n1 = check_day(d1, [m for m in day1 if m["To"] != BUREAU_MAIL], open1, [(u, e) for u, e, _ in contacts],
                       owners)
        told1 = {m["To"] for m in day1}
        new2 = {u: ms - open1.get(u, set()) for u, ms in open2.items()}
        n2 = check_day(d2, [m for m in day2 if m["To"] != BUREAU_MAIL], new2,
                       [(u, e) for u, e, f in contacts2 if f == "daily" or e not in told1], owners2)
        assert any(f == "weekly" and e in told1 for _, e, f in contacts2), "the weekly rule was exercised"
        kinds2 = Counter(t[0] for ms in new2.values() for t in ms)
        assert n1 > 200 and n2 > 0 and kinds2["window"] and kinds2["finding"] and kinds2["due"], (n1, n2, kinds2)
        for msgs in (day1, day2):  # the employer's to-do workbook rides along, from the site of that run
            att = next(p for m in msgs if m["To"] != BUREAU_MAIL for p in m.iter_attachments())
            assert att.get_filename() == "todo.xlsx"
            import io

            assert load_workbook(io.BytesIO(att.get_content()), read_only=True).sheetnames
    finally:
        smtp.stop()
