"""The working-day calendar data file and the SLA count on it."""
from __future__ import annotations

import csv
import datetime as dt
import json

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expectations.calendar.build_calendar import CALENDAR_CSV, calendar_rows
from expectations.engine import materialise_facts
from expectations.rulebook import load_rules
from test_rules_helpers import E1, P1, base_tables, run_rules

import chinese_calendar as cc  # noqa: E402  (a dependency: missing = a failure, not a skip)


def _file_rows():
    with open(CALENDAR_CSV, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_calendar_file_matches_chinese_calendar_every_day():
    rows = _file_rows()
    assert rows[0]["date"] == "2004-01-01" and rows[-1]["date"] == "2026-12-31"
    assert len(rows) == (dt.date(2026, 12, 31) - dt.date(2004, 1, 1)).days + 1
    wrong = [r["date"] for r in rows
             if (r["is_workday"] == "true") != cc.is_workday(dt.date.fromisoformat(r["date"]))]
    assert wrong == []
    kinds = {r["kind"] for r in rows}
    assert kinds == {"weekday", "weekend", "holiday", "makeup_workday"}


def test_calendar_script_regenerates_the_same_file():
    assert calendar_rows(2004, 2026) == _file_rows()


def _sla_app(aid, ws, decided=None):
    return dict(application_id=aid, type="address_change", id_number=P1, uscc=E1, window_submitted_on=ws,
                decided_on=decided, status="approved" if decided else "under_review")


def _oracle(ws: str, end: str) -> int:
    a, b = dt.date.fromisoformat(ws), dt.date.fromisoformat(end)
    n, d = 0, a + dt.timedelta(days=1)
    while d <= b:
        try:
            n += cc.is_workday(d)
        except NotImplementedError:
            n += d.isoweekday() <= 5
        d += dt.timedelta(days=1)
    return n


def test_sla_counts_makeup_working_day_and_boundary():
    # 2024-09-29 (Sunday) and 2024-10-12 (Saturday) were make-up working days; 10-01..10-07 National Day
    t = base_tables()
    t["applications"] = [_sla_app("national", "2024-09-27", "2024-10-24"),
                         _sla_app("fifteen", "2024-09-27", "2024-10-23"),
                         _sla_app("open", "2026-05-20")]
    assert _oracle("2024-09-27", "2024-10-24") == 16  # includes the two make-up days
    assert _oracle("2024-09-27", "2024-10-23") == 15
    weekdays = sum((dt.date(2024, 9, 27) + dt.timedelta(days=i)).isoweekday() <= 5 for i in range(1, 28))
    assert weekdays == 19  # a plain Monday-Friday count would be wrong here
    rows, res, con = run_rules(t, "2026-06-15")
    by = {r["entity_key"]: r for r in rows if r["rule_id"] == "SLA-15WD"}
    assert set(by) == {"national", "open"}
    d = json.loads(by["national"]["detail"])
    assert d["working_days"] == 16 and d["calendar_fallback_years"] == []
    assert json.loads(by["open"]["detail"])["working_days"] == _oracle("2026-05-20", "2026-06-15")
    # the window day itself is excluded: (ws, end] (the step drops each rule's facts once judged:
    # materialised again on the run's prepared connection to read a passing application's count)
    table = materialise_facts(con, load_rules()["SLA-15WD"]).table
    facts = dict(con.sql(f"SELECT entity_key, working_days FROM {table}").fetchall())
    assert facts["fifteen"] == 15


def test_sla_falls_back_to_monday_friday_for_2027_and_says_so(tmp_path):
    t = base_tables()
    t["applications"] = [_sla_app("cross", "2026-12-24", "2027-01-20")]
    rows, _, con = run_rules(t, "2027-02-01")
    r = next(r for r in rows if r["rule_id"] == "SLA-15WD")
    d = json.loads(r["detail"])
    assert d["working_days"] == _oracle("2026-12-24", "2027-01-20")
    assert d["calendar_fallback_years"] == [2027]
    assert "2027" in r["message_zh"] and "Monday to Friday" in r["message_en"]
    # adding the year = adding rows to the data file: a 2027 holiday changes the count, no fallback
    cal = tmp_path / "cal.csv"
    text = CALENDAR_CSV.read_text(encoding="utf-8")
    extra = []
    day = dt.date(2027, 1, 1)
    while day.year == 2027:
        work = day.isoweekday() <= 5 and day != dt.date(2027, 1, 1)
        extra.append(f"{day},{'true' if work else 'false'},{'weekday' if work else 'holiday'},test notice")
        day += dt.timedelta(days=1)
    cal.write_text(text + "\n".join(extra) + "\n", encoding="utf-8")
    from assets.rules.core import evaluate_rulebook
    from assets.settings import PACKAGED_POLICY

    evaluate_rulebook(con, dt.date(2027, 2, 1), "run2", PACKAGED_POLICY, with_gx=False, calendar_csv=cal)
    d2 = json.loads(con.sql("SELECT detail FROM findings WHERE rule_id = 'SLA-15WD'").fetchall()[0][0])
    assert d2["calendar_fallback_years"] == [] and d2["working_days"] == d["working_days"] - 1


@pytest.fixture(scope="module")
def cal_con():
    import datetime as dt

    from expectations.engine import prepare
    from core.policy import load_policy
    from expectations.testing import make_warehouse
    from assets.settings import PACKAGED_POLICY

    con = duckdb.connect()
    make_warehouse(con, applications=[dict(application_id="x", type="new", id_number=P1, uscc=E1,
                                           window_submitted_on="2004-01-01", decided_on="2027-12-31",
                                           status="approved")])
    prepare(con, dt.date(2027, 6, 1), load_policy(PACKAGED_POLICY))
    yield con
    con.close()


@settings(max_examples=60, deadline=None)
@given(a=st.dates(dt.date(2004, 1, 1), dt.date(2027, 12, 1)), n=st.integers(0, 60))
def test_working_days_match_official_calendar(cal_con, a, n):
    b = min(a + dt.timedelta(days=n), dt.date(2027, 12, 31))
    got = cal_con.sql("SELECT c1.cum_wd - c0.cum_wd FROM _cal c0, _cal c1 WHERE c0.day = ? AND c1.day = ?",
                      params=[a, b]).fetchall()[0][0]
    assert got == _oracle(a.isoformat(), b.isoformat())
