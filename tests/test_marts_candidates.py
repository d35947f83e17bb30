"""candidates: each non-time-based check blocks with its own rule id and reason;
time-based ones give a date."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from assets.marts.build import build_candidates, prepare
from expectations.candidates import candidate_rules
from assets.marts.sample import (add_months, covered_months, create_contract_tables, good_person, history, insert,
                                 make_id, make_uscc)
from assets.settings import PACKAGED_POLICY

A = dt.date(2026, 6, 15)
MA = dt.date(2026, 6, 1)
GOOD_EMP = {"entity_type": "enterprise", "district": "haidian", "established_on": dt.date(2010, 1, 1),
            "registered_capital_cny": 5_000_000, "account_opened_on": dt.date(2011, 1, 1)}

FOREIGN = {"id_type": "passport", "birth_date": dt.date(1990, 3, 7), "gender": "M", "nationality": "美国",
           "work_permit_no": "WP0001", "work_permit_expires_on": dt.date(2027, 1, 1)}

# case -> (person overrides, employer overrides, extra setup key, expected blocking rule ids)
CASES = {
    "ok": ({}, {}, None, []),
    "not_opened": ({}, {"account_opened_on": None}, None, ["ELIG-EMPLOYER-NOT-OPENED"]),
    "capital": ({}, {"registered_capital_cny": 999_999}, None, ["ELIG-EMPLOYER-CAPITAL"]),
    "branch": ({}, {"entity_type": "domestic_branch"}, "five_permits", ["ELIG-BRANCH-QUOTA"]),
    "talent": ({"highest_degree": "none"}, {}, None, ["ELIG-TALENT"]),
    "old_man": ({}, {}, ("birth", dt.date(1965, 6, 14), True), ["ELIG-AGE-LIMIT"]),
    "old_woman": ({}, {}, ("birth", dt.date(1970, 6, 14), False), ["ELIG-AGE-LIMIT"]),
    "residence": ({"housing_proof": False}, {}, None, ["ELIG-RESIDENCE"]),
    "no_housing": ({"housing_type": "none"}, {}, None, ["ELIG-RESIDENCE"]),
    "contrib_stopped": ({}, {}, "stopped", ["ELIG-CONTRIB-6M"]),
    "work_before_grad": ({"work_start_date": dt.date(2012, 6, 1)}, {}, None, ["ELIG-WORK-BEFORE-GRAD"]),
    "work_gap": ({}, {}, "gap", ["ELIG-WORK-GAP-2M"]),
    "no_high_school": ({}, {}, "edu", ["ELIG-EDU-NO-HIGH-SCHOOL"]),
    "achievement_199": ({"achievements": "业" * 199 + "\u3000 \t" * 20}, {}, None, ["ELIG-ACHIEVEMENT-200"]),
    "achievement_200": ({"achievements": " ".join("业" * 200)}, {}, None, []),
    "photo_png": ({"photo_format": "PNG"}, {}, None, ["ELIG-PHOTO"]),
    "photo_small": ({"photo_width": 294}, {}, None, ["ELIG-PHOTO"]),
    "photo_JPG_ok": ({"photo_format": "JPG"}, {}, None, []),
    "title_route": ({"highest_degree": "none", "title_level": "intermediate"}, {}, None, []),
    # (v2) foreign nationals (passport): a valid work permit is an eligibility check too (ELIG-WORK-PERMIT)
    "foreign_no_permit": ({**FOREIGN, "work_permit_no": None}, {}, "passport", ["ELIG-WORK-PERMIT"]),
    "foreign_permit_expired": ({**FOREIGN, "work_permit_expires_on": A - dt.timedelta(days=1)}, {}, "passport",
                               ["ELIG-WORK-PERMIT"]),
    "foreign_permit_ends_on_as_of": ({**FOREIGN, "work_permit_expires_on": A}, {}, "passport", []),
    # (v2) paid by a company that is neither the employer nor its registered agent (ELIG-WITHHOLDER)
    "other_withholder": ({}, {}, "other_withholder", ["ELIG-WITHHOLDER"]),
}


@pytest.fixture(scope="module")
def cands():
    con = duckdb.connect()
    create_contract_tables(con)
    rows = {t: [] for t in ("employers", "persons", "employments", "contributions", "work_history",
                            "education_history", "permits")}
    ids = {}
    for k, (case, (pover, eover, extra, _)) in enumerate(CASES.items()):
        u = make_uscc(100 + k)
        rows["employers"].append({"uscc": u, "name": f"单位{k}", **GOOD_EMP, **eover})
        birth, male = dt.date(1990, 3, 7), True
        if isinstance(extra, tuple):
            _, birth, male = extra
        pid = make_id("110105", birth, 10 + k, male) if extra != "passport" else f"E{9000000 + k}"
        ids[case] = pid
        rows["persons"].append(good_person(pid, f"人{k}", **pover))
        hired = dt.date(2020, 1, 1) if case not in ("old_man", "old_woman") else add_months(A, -4)
        rows["employments"].append({"id_number": pid, "uscc": u, "hired_on": hired})
        last = add_months(MA, -1) if extra != "stopped" else add_months(MA, -5)
        rows["contributions"] += covered_months(pid, dt.date(2020, 1, 1), last,
                                                withholder_uscc=u if extra != "other_withholder" else make_uscc(99))
        w, e = history(pid, pover.get("work_start_date", dt.date(2012, 7, 15)))
        if extra == "gap":
            w = [{"id_number": pid, "start_on": dt.date(2012, 7, 15), "end_on": dt.date(2015, 1, 31),
                  "organization": "甲"},
                 {"id_number": pid, "start_on": dt.date(2015, 5, 1), "end_on": None, "organization": "乙"}]
        if extra == "edu":
            e = [x for x in e if x["level"] != "high_school"]
        rows["work_history"] += w
        rows["education_history"] += e
        if extra == "five_permits":
            for j in range(5):
                other = make_id("110108", dt.date(1988, 1, 1), 500 + 10 * k + j, True)
                rows["permits"].append({"permit_no": f"Q{k}-{j}", "id_number": other, "uscc": u,
                                        "issued_on": dt.date(2025, 1, 1), "expires_on": dt.date(2028, 1, 1),
                                        "status": "active"})
    for t, r in rows.items():
        insert(con, t, r)
    prepare(con, A, PACKAGED_POLICY)
    build_candidates(con, A)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT id_number, blocking_rule_ids, eligible_on, blocking_reasons_zh, chk_age_limit, gender, birth_date, age "
        "FROM candidates"
    ).fetchall()}
    yield ids, got
    con.close()


@pytest.mark.parametrize("case", list(CASES))
def test_each_check_blocks_with_its_rule(cands, case):
    ids, got = cands
    blocking, eligible_on, reasons_zh = got[ids[case]][:3]
    expected = CASES[case][3]
    assert blocking == expected
    if expected:
        assert eligible_on is None
        zh = {r["candidate"]["reason_zh"] for rid, r in candidate_rules().items() if rid in expected}
        assert all(z in reasons_zh for z in zh)
    else:
        assert eligible_on == A and reasons_zh == ""


@pytest.mark.parametrize("case", list(CASES))
def test_birth_date_and_gender_for_every_id_type(cands, case):
    """(v2) passports carry no birth date or gender: the candidate shows the persons table's columns (the rule
    book's person_birth_on / person_sex); the 18-character IDs give them."""
    ids, got = cands
    _, _, _, _, gender, birth, age = got[ids[case]]
    extra = CASES[case][2]
    want_birth, male = extra[1:] if isinstance(extra, tuple) else (dt.date(1990, 3, 7), True)
    assert (gender, birth) == ("M" if male else "F", want_birth)
    assert age == A.year - want_birth.year - ((A.month, A.day) < (want_birth.month, want_birth.day))


def test_age_limit_passed_before_tenure_completes():
    """A man of 60 years 10 months, hired 4 months ago: at hired+6 months he is 61
    (> 60), so waiting does not help — blocked, no date."""
    con = duckdb.connect()
    create_contract_tables(con)
    u = make_uscc(7)
    insert(con, "employers", [{"uscc": u, "name": "x", **GOOD_EMP}])
    birth = dt.date(1965, 8, 20)  # 60 on 2025-08-20, 61 on 2026-08-20
    pid = make_id("110105", birth, 3, True)
    insert(con, "persons", [good_person(pid, "老王")])
    hired = add_months(A, -4)  # tenure complete 2026-08-15, before his 61st birthday -> still ok
    insert(con, "employments", [{"id_number": pid, "uscc": u, "hired_on": hired}])
    insert(con, "contributions", covered_months(pid, dt.date(2020, 1, 1), add_months(MA, -1), withholder_uscc=u))
    w, e = history(pid, dt.date(2012, 7, 15))
    insert(con, "work_history", w)
    insert(con, "education_history", e)
    prepare(con, A, PACKAGED_POLICY)
    build_candidates(con, A)
    assert con.execute("SELECT eligible_on, chk_age_limit FROM candidates").fetchall() == [
        (add_months(hired, 6), "ok")]
    # hired one month later: tenure completes 2026-09-15, after he turns 61
    con.execute("UPDATE employments SET hired_on = ?", [add_months(A, -3)])
    build_candidates(con, A)
    assert con.execute("SELECT eligible_on, chk_age_limit, blocking_rule_ids FROM candidates").fetchall() == [
        (None, "blocked", ["ELIG-AGE-LIMIT"])]


def test_withholder_forecast():
    """ELIG-WITHHOLDER for candidates (window M(d)-7 .. M(d)-2, as_of 2026-06-15: 2025-11 .. 2026-04).
    Paid by another company up to 2026-01, by the employer since: waits until the window starts after
    January (2026-09-01). Joined on 2026-05-10 from an old employer that paid every window month:
    waits until the window starts at the hire month (2026-12-01). Paid by another company now: blocked."""
    con = duckdb.connect()
    create_contract_tables(con)
    u, other = make_uscc(7), make_uscc(8)
    insert(con, "employers", [{"uscc": u, "name": "x", **GOOD_EMP}])
    people = {"mid": (dt.date(2019, 1, 1), dt.date(2026, 1, 1)), "joined": (dt.date(2026, 5, 10), dt.date(2026, 4, 1)),
              "now": (dt.date(2019, 1, 1), None)}
    pids = {}
    for k, (key, (hired, other_until)) in enumerate(people.items()):
        pid = pids[key] = make_id("110105", dt.date(1990, 3, 7), 60 + k, True)
        insert(con, "persons", [good_person(pid, key)])
        insert(con, "employments", [{"id_number": pid, "uscc": u, "hired_on": hired}])
        w, e = history(pid, dt.date(2012, 7, 15))
        insert(con, "work_history", w)
        insert(con, "education_history", e)
        last_other = other_until or add_months(MA, -1)
        rows = covered_months(pid, dt.date(2024, 1, 1), last_other, withholder_uscc=other)
        if other_until:
            rows += covered_months(pid, add_months(other_until, 1), add_months(MA, -1), withholder_uscc=u)
        insert(con, "contributions", rows)
    prepare(con, A, PACKAGED_POLICY)
    build_candidates(con, A)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT id_number, chk_withholder, withholder_ok_on FROM candidates").fetchall()}
    assert got[pids["mid"]] == ("wait", dt.date(2026, 9, 1))
    assert got[pids["joined"]][0] == "wait" and got[pids["joined"]][1] == dt.date(2026, 12, 1)
    assert got[pids["now"]] == ("blocked", None)

