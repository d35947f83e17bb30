"""Property tests of the marts' date arithmetic against independent Python
statements of rules.md (add_months, age, renewal window states, working days,
eligible_on)."""
from __future__ import annotations

import calendar
import datetime as dt

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.marts.build import build_candidates, build_permit_status, prepare
from assets.marts.sample import covered_months, create_contract_tables, good_person, history, insert, make_id, make_uscc
from assets.settings import PACKAGED_POLICY

dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2035, 12, 31))
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ref_add_months(d: dt.date, n: int) -> dt.date:
    """rules.md: same day n months later, clamped to the month's last day."""
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    m += 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def ref_age(b: dt.date, d: dt.date) -> int:
    return d.year - b.year - 1 if (d.month, d.day) < (b.month, b.day) else d.year - b.year


def _con(as_of: dt.date | None = None) -> duckdb.DuckDBPyConnection:
    """Empty contract tables; prepared (macros, labels, policy) when as_of is given."""
    con = duckdb.connect()
    create_contract_tables(con)
    if as_of is not None:
        prepare(con, as_of, PACKAGED_POLICY)
    return con


_MACROS: list = []


def _macro_con() -> duckdb.DuckDBPyConnection:
    if not _MACROS:
        _MACROS.append(_con(dt.date(2026, 1, 1)))
    return _MACROS[0]


@SETTINGS
@given(st.lists(st.tuples(dates, st.integers(-48, 48)), min_size=1, max_size=40))
def test_add_months_macro(pairs):
    con = _macro_con()
    rows = con.execute("SELECT add_months(d, n) FROM (SELECT unnest(?) AS d, unnest(?) AS n)",
                       [[p[0] for p in pairs], [p[1] for p in pairs]]).fetchall()
    assert [r[0] for r in rows] == [ref_add_months(d, n) for d, n in pairs]


@SETTINGS
@given(st.lists(st.tuples(dates, dates), min_size=1, max_size=40))
def test_age_macro_full_years(pairs):
    con = _macro_con()
    rows = con.execute("SELECT age_years(b, d) FROM (SELECT unnest(?) AS b, unnest(?) AS d)",
                       [[p[0] for p in pairs], [p[1] for p in pairs]]).fetchall()
    assert [r[0] for r in rows] == [ref_age(b, d) for b, d in pairs]


def test_age_of_29_february_birthday():
    con = _macro_con()
    b = dt.date(2000, 2, 29)
    got = [con.execute("SELECT age_years(?, ?)", [b, d]).fetchall()[0][0]
           for d in (dt.date(2018, 2, 28), dt.date(2018, 3, 1))]
    assert got == [17, 18]


@SETTINGS
@given(st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2030, 12, 31)), st.integers(1, 400))
def test_workdays_follow_the_official_calendar_then_monday_to_friday(start, span):
    import chinese_calendar

    from core.calendar import is_workday

    for i in range(span):
        d = start + dt.timedelta(days=i)
        try:
            expected = chinese_calendar.is_workday(d)
        except NotImplementedError:  # year not covered: Monday-Friday (rules.md fallback)
            expected = d.weekday() < 5
        assert is_workday(d)[0] == expected, d


permit_case = st.tuples(
    st.integers(-500, 500),                      # expires_on - as_of (days)
    st.sampled_from(["active", "active", "active", "cancelled", "expired"]),
    st.one_of(st.none(), st.tuples(st.integers(-120, 10), st.sampled_from(
        ["draft", "employer_submitted", "under_review", "returned", "approved", "rejected"]))),
)


def ref_window_state(as_of, expires, status, renewal) -> str:
    w0, w1 = ref_add_months(expires, -1), ref_add_months(expires, 1)
    if status != "active":
        return "inactive"
    if renewal is not None:
        sub, st_ = renewal
        if st_ in ("draft", "person_submitted", "employer_submitted", "under_review", "returned", "approved") \
                and sub >= w0:
            return "renewal_in_hand"
    if as_of > w1:
        return "lapsed"
    if w0 <= as_of <= w1:
        return "open"
    if expires <= as_of + dt.timedelta(days=90):
        return "due_soon"
    return "not_due"


@SETTINGS
@given(dates, st.lists(permit_case, min_size=1, max_size=30))
def test_window_state_matches_the_exp_rules(as_of, cases):
    con = _con()
    u = make_uscc(1)
    insert(con, "employers", [{"uscc": u, "name": "x", "entity_type": "enterprise", "district": "haidian",
                               "established_on": dt.date(2000, 1, 1)}])
    permits, apps, expected = [], [], {}
    for i, (off, status, ren) in enumerate(cases):
        exp = as_of + dt.timedelta(days=off)
        no = f"P{i}"
        permits.append({"permit_no": no, "id_number": f"id{i}", "uscc": u, "issued_on": exp - dt.timedelta(days=1000),
                        "expires_on": exp, "status": status})
        r = None
        if ren is not None:
            r = (as_of + dt.timedelta(days=ren[0]), ren[1])
            apps.append({"application_id": f"A{i}", "type": "renewal", "id_number": f"id{i}", "uscc": u,
                         "permit_no": no, "submitted_on": r[0], "status": r[1]})
        expected[no] = ref_window_state(as_of, exp, status, r)
    insert(con, "permits", permits)
    insert(con, "applications", apps)
    prepare(con, as_of, PACKAGED_POLICY)
    build_permit_status(con, as_of)
    got = dict(con.execute("SELECT permit_no, window_state FROM permit_status").fetchall())
    assert got == expected


cand_case = st.tuples(
    st.integers(0, 30),       # months since hired
    st.integers(0, 60),       # months since work start (degree route)
    st.one_of(st.none(), st.integers(1, 30)),  # contributions: current run length in months, None = no payments
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2027, 12, 31)), st.lists(cand_case, min_size=1,
                                                                                          max_size=12))
def test_eligible_on_is_the_latest_time_condition(as_of, cases):
    """eligible_on = max(as_of, hired+6m, work start+24m, run start+7m (v2: L = 2)) for degree-route
    candidates whose contributions are current; empty when they are not."""
    con = _con()
    u = make_uscc(2)
    insert(con, "employers", [{"uscc": u, "name": "x", "entity_type": "enterprise", "district": "haidian",
                               "established_on": dt.date(2000, 1, 1), "registered_capital_cny": 5_000_000,
                               "account_opened_on": dt.date(2001, 1, 1)}])
    ma = dt.date(as_of.year, as_of.month, 1)
    people, emps, contribs, works, edus, expected = [], [], [], [], [], {}
    for i, (hired_m, work_m, run) in enumerate(cases):
        pid = make_id("110105", dt.date(1992, 5, 5), 100 + i, True)
        hired = ref_add_months(as_of, -hired_m)
        ws = ref_add_months(as_of, -work_m)
        people.append(good_person(pid, f"p{i}", work_start_date=ws, graduation_date=ws - dt.timedelta(days=30)))
        emps.append({"id_number": pid, "uscc": u, "hired_on": hired})
        w, e = history(pid, ws)
        works += w
        edus += e
        if run is not None:
            start = ref_add_months(ma, -run)
            # run = 1 (only the month before as_of on record) lies after the window M(d)-7 .. M(d)-2:
            # the forecast must still see it (ELIG-CONTRIB-6M's _run_from)
            contribs += covered_months(pid, start, ref_add_months(ma, -1), withholder_uscc=u)
            c_ok = ref_add_months(start, 6 + 1)  # v2: the window M(d)-7 .. M(d)-2 (L = 2) starts at `start`
        elif dt.date(hired.year, hired.month, 1) >= ref_add_months(ma, -2):  # v2: hired in or after M(d)-L
            c_ok = ref_add_months(dt.date(hired.year, hired.month, 1), 6 + 1)  # new hire: payments assumed to start
        else:
            c_ok = None
        expected[pid] = None if c_ok is None else max(as_of, ref_add_months(hired, 6), ref_add_months(ws, 24), c_ok)
    for t, rows in (("persons", people), ("employments", emps), ("contributions", contribs),
                    ("work_history", works), ("education_history", edus)):
        insert(con, t, rows)
    policy = prepare(con, as_of, PACKAGED_POLICY)
    build_candidates(con, as_of, policy)
    got = dict(con.execute("SELECT id_number, eligible_on FROM candidates").fetchall())
    assert got == expected
