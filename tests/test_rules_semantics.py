"""Rule semantics at their boundaries (rules.md), on small warehouses built
in the test. Several cases share one warehouse: each case is its own
application / permit / employer, so one evaluation checks day before / on /
after a threshold together."""
from __future__ import annotations

import json

import pytest

from test_rules_helpers import E1, E2, P1, base_tables, contributions_for, keys, pid, run_rules

AS_OF = "2026-06-15"


def app(aid, submitted_on, type_="new", person=P1, uscc=E1, status="draft", **kw):
    return dict(application_id=aid, type=type_, id_number=person, uscc=uscc, submitted_on=submitted_on,
                status=status, **kw)


def with_apps(t, *apps):
    t["applications"] = list(apps)
    return t


def fired_keys(tables, rule_id, as_of=AS_OF, policy=None):
    rows, _, con = run_rules(tables, as_of, policy)
    con.close()
    return {k for r, k in keys(rows) if r == rule_id}, rows


def test_clean_applicant_has_no_findings():
    rows, res, con = run_rules(base_tables())
    assert rows == []
    assert res["rules"]["ELIG-TALENT"]["evaluated"] == 1  # the rule did look at A1


def test_employer_not_opened_boundary_and_types():
    t = base_tables()
    t["employers"][0]["account_opened_on"] = "2026-06-10"
    t = with_apps(t, app("before", "2026-06-09"), app("on", "2026-06-10"), app("after", "2026-06-11"),
                  app("xfer", "2026-06-09", type_="employer_change"), app("renew", "2026-06-09", type_="renewal"),
                  app("approved", "2026-06-09", status="approved"))
    got, _ = fired_keys(t, "ELIG-EMPLOYER-NOT-OPENED")
    assert got == {"before", "xfer"}
    t["employers"][0]["account_opened_on"] = None
    got, _ = fired_keys(t, "ELIG-EMPLOYER-NOT-OPENED")
    assert got == {"before", "on", "after", "xfer"}


def test_employer_age_one_year_month_end_clamping():
    t = base_tables()
    # established 2024-02-29: add_months(.., 12) = 2025-02-28
    t["employers"][0]["established_on"] = "2024-02-29"
    t = with_apps(t, app("d0227", "2025-02-27"), app("d0228", "2025-02-28"), app("d0301", "2025-03-01"),
                  app("xfer", "2025-02-27", type_="employer_change"))
    got, rows = fired_keys(t, "ELIG-EMPLOYER-AGE-1Y")
    assert got == {"d0227"}
    msg = next(r for r in rows if r["rule_id"] == "ELIG-EMPLOYER-AGE-1Y")
    assert "2025-02-28" in msg["message_zh"] and json.loads(msg["detail"])["eligible_from"] == "2025-02-28"


def test_capital_threshold_and_empty():
    t = base_tables()
    t["employers"].append(dict(t["employers"][0], uscc=E2, registered_capital_cny=999_999.99))
    t["employers"][0]["registered_capital_cny"] = 1_000_000
    t = with_apps(t, app("exact", "2026-06-10"), app("below", "2026-06-10", uscc=E2),
                  app("xfer_below", "2026-06-10", type_="employer_change", uscc=E2))
    got, _ = fired_keys(t, "ELIG-EMPLOYER-CAPITAL")
    assert got == {"below", "xfer_below"}
    t["employers"][0]["registered_capital_cny"] = None
    got, _ = fired_keys(t, "ELIG-EMPLOYER-CAPITAL")
    assert "exact" in got


@pytest.mark.parametrize("n_active,expect", [(4, False), (5, True), (6, True)])
def test_branch_quota_application_ge_and_employer_gt(n_active, expect):
    t = base_tables()
    t["employers"][0]["entity_type"] = "foreign_branch"
    t["permits"] = [dict(permit_no=f"P{i}", id_number=pid(seq=20 + i), uscc=E1, issued_on="2025-01-01",
                         expires_on="2028-01-01", status="active", last_inspection_on="2026-01-01")
                    for i in range(n_active)]
    rows, _, con = run_rules(t)
    k = keys(rows)
    assert (("ELIG-BRANCH-QUOTA", "A1") in k) is expect
    assert (("EMP-BRANCH-QUOTA", E1) in k) is (n_active > 5)


def test_talent_experience_boundary():
    t = base_tables()
    t["persons"][0]["work_start_date"] = "2024-06-10"  # 24 months reached on 2026-06-10
    t["persons"][0]["graduation_date"] = "2024-06-01"
    t = with_apps(t, app("before", "2026-06-09"), app("on", "2026-06-10"), app("after", "2026-06-11"))
    got, rows = fired_keys(t, "ELIG-TALENT")
    assert got == {"before"}
    assert "2026-06-10" in next(r for r in rows if r["rule_id"] == "ELIG-TALENT")["message_zh"]


@pytest.mark.parametrize("change,expect", [
    (dict(highest_degree="none"), True),
    (dict(highest_degree="none", title_level="intermediate"), False),
    (dict(highest_degree="none", title_level="junior"), True),
    (dict(highest_degree="none", special_talent=True), False),
    (dict(highest_degree="doctor", work_start_date=None), True),
])
def test_talent_alternatives(change, expect):
    t = base_tables()
    t["persons"][0].update(change)
    got, _ = fired_keys(t, "ELIG-TALENT")
    assert ("A1" in got) is expect


def test_tenure_six_months_and_left():
    t = base_tables()
    t["employments"] = [dict(id_number=P1, uscc=E1, hired_on="2025-12-10")]  # 6 months on 2026-06-10
    t = with_apps(t, app("before", "2026-06-09"), app("on", "2026-06-10"), app("after", "2026-06-11"))
    got, rows = fired_keys(t, "ELIG-TENURE-6M")
    assert got == {"before"}
    r = next(r for r in rows if r["rule_id"] == "ELIG-TENURE-6M")
    assert json.loads(r["detail"])["tenure_met_on"] == "2026-06-10"
    # left_on > d still employed at d; left_on == d no longer
    t["employments"] = [dict(id_number=P1, uscc=E1, hired_on="2020-01-01", left_on="2026-06-10")]
    got, _ = fired_keys(t, "ELIG-TENURE-6M")
    assert got == {"on", "after"}
    # employment at another employer does not count
    t["employments"] = [dict(id_number=P1, uscc=E2, hired_on="2020-01-01")]
    got, _ = fired_keys(t, "ELIG-TENURE-6M")
    assert got == {"before", "on", "after"}


def test_age_limit_full_years_and_29_feb():
    man = pid("19650615", male=True)     # 61 on 2026-06-15
    woman = pid("19720229", male=False)  # born 29 Feb 1972: 56 on 2028-02-29 (a leap year)
    t = base_tables()
    for p in (man, woman):
        t["persons"].append(dict(t["persons"][0], id_number=p))
    t = with_apps(t, app("m_before", "2026-06-14", person=man), app("m_on", "2026-06-15", person=man),
                  app("w_0228", "2028-02-28", person=woman), app("w_0229", "2028-02-29", person=woman))
    got, rows = fired_keys(t, "ELIG-AGE-LIMIT", as_of="2028-03-01")
    assert got == {"m_on", "w_0229"}
    d = json.loads(next(r for r in rows if r["entity_key"] == "w_0229" and r["rule_id"] == "ELIG-AGE-LIMIT")["detail"])
    assert (d["age"], d["age_limit"], d["gender"]) == (56, 55, "F")


def test_age_29_feb_birthday_in_common_year():
    man = pid("19640229", male=True, seq=14)  # 61 in 2025, a common year: reached on 2025-03-01
    t = base_tables()
    t["persons"].append(dict(t["persons"][0], id_number=man))
    t = with_apps(t, app("m_0228", "2025-02-28", person=man), app("m_0301", "2025-03-01", person=man))
    got, _ = fired_keys(t, "ELIG-AGE-LIMIT", as_of="2025-03-05")
    assert got == {"m_0301"}
    _, _, con = run_rules(base_tables(), "2024-03-05")
    assert con.sql("SELECT age_years(DATE '2004-02-29', DATE '2021-02-28'), age_years(DATE '2004-02-29', "
                   "DATE '2021-03-01'), age_years(DATE '2004-02-29', DATE '2024-02-29')").fetchall() == [(16, 17, 20)]


def _per_person_cases(cases, seq0):
    """One applicant (own person row and open `new` application c<i>) per case of person changes."""
    t = base_tables()
    t["applications"] = []
    for i, (change, _) in enumerate(cases):
        person = pid(seq=seq0 + i)
        t["persons"].append(dict(t["persons"][0], id_number=person, **change))
        t["applications"].append(app(f"c{i}", "2026-06-10", person=person))
    return t, {f"c{i}" for i, (_, expect) in enumerate(cases) if expect}


def test_residence():
    cases = [(dict(housing_type="owned", housing_proof=True), False), (dict(housing_type="none"), True),
             (dict(housing_type=None), True), (dict(housing_type="rented", housing_proof=False), True),
             (dict(housing_type="lodging", housing_proof=None), True)]
    t, want = _per_person_cases(cases, 300)
    assert fired_keys(t, "ELIG-RESIDENCE")[0] == want


def test_contrib_6m_window_and_missing_detail():
    t = base_tables()
    # d = 2026-06-10, L = 2 -> window 2025-11 .. 2026-04 (v2)
    t["contributions"] = (contributions_for(P1, "2025-11", "2026-04", withholder_uscc=E1, skip={"2026-02": ["social_insurance"],
                                                                               "2026-04": ["income_tax"]}))
    got, rows = fired_keys(t, "ELIG-CONTRIB-6M")
    assert got == {"A1"}
    r = next(r for r in rows if r["rule_id"] == "ELIG-CONTRIB-6M")
    d = json.loads(r["detail"])
    assert d["missing"] == [{"month": "2026-02", "kinds": ["social_insurance"]},
                            {"month": "2026-04", "kinds": ["income_tax"]}]
    assert "2026-02(社会保险)" in r["message_zh"] and "2026-04 (income tax)" in r["message_en"]
    assert d["missing_months"] == 2
    # exactly the window, amount 0 counts, May and June (not yet declared) not needed
    t["contributions"] = contributions_for(P1, "2025-11", "2026-04", withholder_uscc=E1)
    t["contributions"][0]["amount_cny"] = 0
    got, _ = fired_keys(t, "ELIG-CONTRIB-6M")
    assert got == set()
    t["contributions"] = contributions_for(P1, "2025-12", "2026-05", withholder_uscc=E1)  # misses 2025-11
    got, rows = fired_keys(t, "ELIG-CONTRIB-6M")
    assert got == {"A1"}


def test_work_before_graduation():
    cases = [(dict(degree_study_mode="full_time", work_start_date="2012-07-01", graduation_date="2012-07-01"), True),
             (dict(degree_study_mode="full_time", work_start_date="2012-07-02", graduation_date="2012-07-01"), False),
             (dict(degree_study_mode="part_time", work_start_date="2010-01-01", graduation_date="2012-07-01"), False),
             (dict(degree_study_mode="full_time", work_start_date=None, graduation_date="2012-07-01"), False)]
    t, want = _per_person_cases([(dict(c, title_level="senior"), e) for c, e in cases], 320)
    assert fired_keys(t, "ELIG-WORK-BEFORE-GRAD")[0] == want


def _wh(*rows):
    return [dict(start_on=st, end_on=e, organization=o, note=n) for st, e, o, n in rows]


GAP_CASES = {
    # gap of exactly two months: e=2015-01-31, s=2015-03-31 = add_months(e, 2) -> ok
    "exact_2m": (_wh(("2012-08-01", "2015-01-31", "甲", None), ("2015-03-31", None, "乙", None)), False),
    # two months + 1 day
    "2m_plus_1d": (_wh(("2012-08-01", "2015-01-31", "甲", None), ("2015-04-01", None, "乙", None)), True),
    # month-end clamping: e=2014-12-31 -> add_months = 2015-02-28; s=2015-02-28 ok, 03-01 breaks
    "clamp_ok": (_wh(("2012-08-01", "2014-12-31", "甲", None), ("2015-02-28", None, "乙", None)), False),
    "clamp_break": (_wh(("2012-08-01", "2014-12-31", "甲", None), ("2015-03-01", None, "乙", None)), True),
    # an explanation row (empty organization, a note) covers the gap
    "explained": (_wh(("2012-08-01", "2014-12-31", "甲", None), ("2015-01-01", "2015-12-31", None, "待业在家"),
                      ("2016-01-01", None, "乙", None)), False),
    # overlapping intervals merge: the inner short job does not create a gap
    "overlap": (_wh(("2012-08-01", "2020-12-31", "甲", None), ("2013-01-01", "2013-02-01", "丙", None),
                    ("2021-01-01", None, "乙", None)), False),
    # touching (next start = end + 1 day) merges
    "touching": (_wh(("2012-08-01", "2014-12-31", "甲", None), ("2015-01-01", None, "乙", None)), False),
    # final gap: last end 2026-04-10, d = 2026-06-10 = add_months -> ok; 2026-04-09 -> breaks
    "final_ok": (_wh(("2012-08-01", "2026-04-10", "甲", None)), False),
    "final_break": (_wh(("2012-08-01", "2026-04-09", "甲", None)), True),
    # no rows at all
    "no_rows": ([], True),
}


def test_work_gap_walk():
    t = base_tables()
    t["work_history"], t["applications"] = [], []
    for i, (case, (rows, _)) in enumerate(GAP_CASES.items()):
        person = pid(seq=100 + i)
        t["persons"].append(dict(t["persons"][0], id_number=person))
        t["work_history"] += [dict(r, id_number=person) for r in rows]
        t["applications"].append(app(case, "2026-06-10", person=person))
    got, res_rows = fired_keys(t, "ELIG-WORK-GAP-2M")
    assert got == {case for case, (_, expect) in GAP_CASES.items() if expect}
    d = json.loads(next(r for r in res_rows if r["entity_key"] == "2m_plus_1d"
                        and r["rule_id"] == "ELIG-WORK-GAP-2M")["detail"])
    assert d["gaps"] == [{"from": "2015-01-31", "to": "2015-04-01", "final": False}]


def test_education_starts_at_high_school():
    t = base_tables()
    got, _ = fired_keys(t, "ELIG-EDU-NO-HIGH-SCHOOL")
    assert got == set()
    t["education_history"][0]["level"] = "secondary_vocational"
    assert fired_keys(t, "ELIG-EDU-NO-HIGH-SCHOOL")[0] == set()
    t["education_history"] = t["education_history"][1:]
    assert fired_keys(t, "ELIG-EDU-NO-HIGH-SCHOOL")[0] == {"A1"}
    t["education_history"] = []
    assert fired_keys(t, "ELIG-EDU-NO-HIGH-SCHOOL")[0] == {"A1"}


def test_achievement_length_ignores_unicode_whitespace():
    t = base_tables()
    t = with_apps(t, app("A1", "2026-06-10"), app("R1", "2026-06-10", type_="renewal", permit_no="X1"))
    t["permits"] = [dict(permit_no="X1", id_number=P1, uscc=E1, issued_on="2023-07-01", expires_on="2026-07-01",
                         status="active", last_inspection_on="2026-01-01")]
    t["persons"][0]["achievements"] = "业" * 199 + " \u3000\t\n\u00a0"
    got, rows = fired_keys(t, "ELIG-ACHIEVEMENT-200")
    assert got == {"A1"}
    assert ("RENEW-ACHIEVEMENT-200", "R1") in keys(rows)
    t["persons"][0]["achievements"] = "业" * 100 + "\u3000" + "绩" * 100
    _, rows = fired_keys(t, "ELIG-ACHIEVEMENT-200")
    assert not {k for k in keys(rows) if k[0].endswith("ACHIEVEMENT-200")}


PHOTO_CASES = [({}, False), (dict(photo_format="JPEG"), False), (dict(photo_format="png"), True),
               (dict(photo_format=None), True), (dict(photo_bytes=204800), False), (dict(photo_bytes=204801), True),
               (dict(photo_width=295, photo_height=413), False), (dict(photo_width=294), True),
               (dict(photo_height=412), True), (dict(photo_height=None), True)]


def test_photo():
    t = base_tables()
    t["applications"] = []
    for i, (change, _) in enumerate(PHOTO_CASES):
        person = pid(seq=200 + i)
        t["persons"].append(dict(t["persons"][0], id_number=person, **change))
        t["applications"].append(app(f"c{i}", "2026-06-10", person=person))
    got, _ = fired_keys(t, "ELIG-PHOTO")
    assert got == {f"c{i}" for i, (_, expect) in enumerate(PHOTO_CASES) if expect}


def test_dup_registration_and_transfer_old_not_cancelled():
    t = base_tables()
    t["permits"] = [dict(permit_no="X1", id_number=P1, uscc=E2, issued_on="2025-01-01", expires_on="2028-01-01",
                         status="active", last_inspection_on="2026-01-01")]
    t["employers"].append(dict(t["employers"][0], uscc=E2))
    t = with_apps(t, app("A1", "2026-06-10"), app("X", "2026-06-10", type_="employer_change", permit_no="X1"),
                  app("Xsame", "2026-06-10", type_="employer_change", uscc=E2, permit_no="X1"))
    rows, _, con = run_rules(t)
    k = keys(rows)
    assert ("ELIG-DUP-REGISTRATION", "A1") in k
    assert ("XFER-OLD-NOT-CANCELLED", "X") in k and ("XFER-OLD-NOT-CANCELLED", "Xsame") not in k
    t["permits"][0]["status"] = "cancelled"
    rows, _, con = run_rules(t)
    assert not {x for x in keys(rows) if x[0] in ("ELIG-DUP-REGISTRATION", "XFER-OLD-NOT-CANCELLED")}


def _permit(no="X1", issued="2023-07-01", expires="2026-07-15", status="active", uscc=E1, person=P1, **kw):
    return dict(permit_no=no, id_number=person, uscc=uscc, issued_on=issued, expires_on=expires, status=status,
                last_inspection_on=kw.pop("last_inspection_on", "2026-01-01"), **kw)


def test_renewal_window_boundaries():
    t = base_tables()
    # expires 2026-03-31: W0 = 2026-02-28, W1 = 2026-04-30 (clamped)
    t["permits"] = [_permit(expires="2026-03-31")]
    t = with_apps(t, *[app(k, d, type_="renewal", permit_no="X1") for k, d in
                       [("w0m1", "2026-02-27"), ("w0", "2026-02-28"), ("w1", "2026-04-30"), ("w1p1", "2026-05-01")]])
    got, rows = fired_keys(t, "RENEW-OUTSIDE-WINDOW")
    assert got == {"w0m1", "w1p1"}
    d = json.loads(next(r for r in rows if r["rule_id"] == "RENEW-OUTSIDE-WINDOW")["detail"])
    assert (d["window_start"], d["window_end"]) == ("2026-02-28", "2026-04-30")


def test_renewal_contrib_window_starts_at_issue_month():
    t = base_tables()
    t["permits"] = [_permit(issued="2025-03-20", expires="2026-07-15")]
    t = with_apps(t, app("R", "2026-06-10", type_="renewal", permit_no="X1"))
    # v2: window max(M(2025-03-20), 2023-05) .. 2026-04 = 2025-03 .. 2026-04 (L = 2, 36 months)
    t["contributions"] = contributions_for(P1, "2025-03", "2026-04", withholder_uscc=E1)
    assert fired_keys(t, "RENEW-CONTRIB-GAP")[0] == set()
    t["contributions"] = contributions_for(P1, "2025-04", "2026-04", withholder_uscc=E1)
    got, rows = fired_keys(t, "RENEW-CONTRIB-GAP")
    assert got == {"R"}
    assert json.loads(next(r for r in rows if r["rule_id"] == "RENEW-CONTRIB-GAP")["detail"])["missing"] == [
        {"month": "2025-03", "kinds": ["income_tax", "social_insurance"]}]
    # 36-month cap: issued long ago, window 2023-05 .. 2026-04
    t["permits"] = [_permit(issued="2015-01-01", expires="2026-07-15")]
    t["contributions"] = contributions_for(P1, "2023-05", "2026-04", withholder_uscc=E1)
    assert fired_keys(t, "RENEW-CONTRIB-GAP")[0] == set()
    t["contributions"] = contributions_for(P1, "2023-06", "2026-04", withholder_uscc=E1)
    assert fired_keys(t, "RENEW-CONTRIB-GAP")[0] == {"R"}


def test_renewal_contract_short():
    t = base_tables()
    t["permits"] = [_permit()]
    t = with_apps(t, app("R", "2026-06-10", type_="renewal", permit_no="X1"))
    for end, expect in [("2026-12-09", True), ("2026-12-10", False), (None, False)]:
        t["employments"] = [dict(id_number=P1, uscc=E1, hired_on="2020-01-01", contract_end_on=end)]
        assert ("R" in fired_keys(t, "RENEW-CONTRACT-SHORT")[0]) is expect, end


def test_reissue_photo_mismatch():
    t = base_tables()
    t["permits"] = [_permit(photo_sha256="abc")]
    t = with_apps(t, app("S", "2026-06-10", type_="reissue", permit_no="X1", photo_sha256="abc"),
                  app("D", "2026-06-10", type_="reissue", permit_no="X1", photo_sha256="def"),
                  app("N", "2026-06-10", type_="reissue", permit_no="X1"))
    assert fired_keys(t, "REISSUE-PHOTO-MISMATCH")[0] == {"D"}


def test_only_open_applications_are_judged():
    t = base_tables()
    t["persons"][0]["highest_degree"] = "none"
    t = with_apps(t, *[app(s, "2026-06-10", status=s) for s in
                       ["draft", "person_submitted", "employer_submitted", "under_review", "returned", "approved",
                        "rejected"]])
    got, _ = fired_keys(t, "ELIG-TALENT")
    assert got == {"draft", "person_submitted", "employer_submitted", "under_review", "returned"}


def test_d_is_as_of_when_not_submitted():
    t = base_tables()
    t["employments"] = [dict(id_number=P1, uscc=E1, hired_on="2025-12-15")]  # 6 months on 2026-06-15
    t = with_apps(t, app("nodate", None))
    assert fired_keys(t, "ELIG-TENURE-6M", as_of="2026-06-14")[0] == {"nodate"}
    assert fired_keys(t, "ELIG-TENURE-6M", as_of="2026-06-15")[0] == set()


def test_expiry_states_and_due_dates():
    t = with_apps(base_tables())
    # expires 2026-09-30 -> W0 2026-08-30, W1 2026-10-30
    t["permits"] = [_permit("due", expires="2026-09-12"), _permit("far", expires="2026-09-14", person=pid(seq=31)),
                    _permit("open", expires="2026-07-01", person=pid(seq=32)),
                    _permit("inhand", expires="2026-07-01", person=pid(seq=33)),
                    _permit("oldrenew", expires="2026-07-01", person=pid(seq=34)),
                    _permit("lapsed", expires="2026-05-10", person=pid(seq=35)),
                    _permit("w1", expires="2026-05-15", person=pid(seq=36))]
    t["applications"] = [app("R1", "2026-06-01", type_="renewal", permit_no="inhand", person=pid(seq=33)),
                         app("R0", "2026-05-31", type_="renewal", permit_no="oldrenew", person=pid(seq=34))]
    rows, _, con = run_rules(t)
    by = {(r["rule_id"], r["entity_key"]): r for r in rows}
    # as_of 2026-06-15 + 90 = 2026-09-13: due (09-12) is in, far (09-14) is out
    assert ("EXP-DUE-90", "due") in by and ("EXP-DUE-90", "far") not in by
    assert str(by[("EXP-DUE-90", "due")]["due_on"]) == "2026-08-12"
    assert ("EXP-WINDOW-OPEN", "open") in by and str(by[("EXP-WINDOW-OPEN", "open")]["due_on"]) == "2026-08-01"
    assert ("EXP-WINDOW-OPEN", "inhand") not in by
    assert ("EXP-WINDOW-OPEN", "oldrenew") in by  # submitted before W0: not in hand
    # lapsed: W1 = 2026-06-10 < as_of; w1: W1 = 2026-06-15 = as_of -> still window open
    assert ("EXP-LAPSED", "lapsed") in by and ("EXP-LAPSED", "w1") not in by
    assert ("EXP-WINDOW-OPEN", "w1") in by


def test_left_not_cancelled():
    t = with_apps(base_tables())
    t["permits"] = [_permit()]
    for emps, expect in [
        ([dict(hired_on="2020-01-01", left_on="2026-06-15")], True),
        ([dict(hired_on="2020-01-01", left_on="2026-06-16")], False),
        ([dict(hired_on="2020-01-01", left_on="2024-01-01"), dict(hired_on="2024-02-01")], False),
    ]:
        t["employments"] = [dict(id_number=P1, uscc=E1, **e) for e in emps]
        assert ("X1" in fired_keys(t, "NC-LEFT-NOT-CANCELLED")[0]) is expect


def test_nc_contrib_gap_lag_two_months():
    t = with_apps(base_tables())
    t["permits"] = [_permit(issued="2024-01-10", expires="2027-01-10")]
    # as_of 2026-06-15: window 2024-01 .. 2026-04 (May not yet required)
    t["contributions"] = contributions_for(P1, "2024-01", "2026-04", withholder_uscc=E1)
    assert fired_keys(t, "NC-CONTRIB-GAP")[0] == set()
    t["contributions"] = contributions_for(P1, "2024-01", "2026-03", withholder_uscc=E1)
    got, rows = fired_keys(t, "NC-CONTRIB-GAP")
    r = next(r for r in rows if r["rule_id"] == "NC-CONTRIB-GAP")
    assert got == {"X1"} and str(r["due_on"]) == "2026-12-10"
    assert json.loads(r["detail"])["missing"] == [{"month": "2026-04", "kinds": ["income_tax", "social_insurance"]}]


def test_inspections_overdue():
    t = with_apps(base_tables())
    t["permits"] = [_permit("on", last_inspection_on="2025-06-15"), _permit("over", last_inspection_on="2025-06-14",
                                                                           person=pid(seq=41)),
                    _permit("issued", issued="2025-06-14", last_inspection_on=None, person=pid(seq=42))]
    t["employers"][0].update(last_annual_inspection_on="2025-06-14")
    rows, _, con = run_rules(t)
    k = keys(rows)
    assert ("NC-INSPECTION-OVERDUE", "over") in k and ("NC-INSPECTION-OVERDUE", "issued") in k
    assert ("NC-INSPECTION-OVERDUE", "on") not in k
    assert ("EMP-INSPECTION-OVERDUE", E1) in k
    t["employers"][0].update(last_annual_inspection_on=None, account_opened_on=None)
    assert fired_keys(t, "EMP-INSPECTION-OVERDUE")[0] == set()


def test_name_change_reissue():
    t = with_apps(base_tables())
    t["employers"][0]["name_changed_on"] = "2026-03-01"
    t["permits"] = [_permit("old", issued="2025-01-01"), _permit("new", issued="2026-03-01", person=pid(seq=51)),
                    _permit("fixed", issued="2025-01-01", person=pid(seq=52))]
    t["applications"] = [app("RS", "2026-03-05", type_="reissue", permit_no="fixed", person=pid(seq=52),
                             status="approved", decided_on="2026-03-10")]
    assert fired_keys(t, "NC-NAME-CHANGE-REISSUE")[0] == {"old"}
    assert fired_keys(t, "NC-NAME-CHANGE-REISSUE", as_of="2026-02-28")[0] == set()


def test_deferral_expired():
    t = with_apps(base_tables())
    t["permits"] = [_permit("d_on", status="deferred_cancellation", deferred_on="2025-12-15"),
                    _permit("d_over", status="deferred_cancellation", deferred_on="2025-12-14", person=pid(seq=61))]
    assert fired_keys(t, "XFER-DEFERRAL-EXPIRED")[0] == {"d_over"}


def test_dup_active_permit_person():
    t = with_apps(base_tables())
    t["permits"] = [_permit("X1"), _permit("X2", uscc=E2)]
    rows, _, con = run_rules(t)
    r = [r for r in rows if r["rule_id"] == "DQ-DUP-ACTIVE-PERMIT"]
    assert [(x["entity_key"], x["uscc"], x["entity_type"]) for x in r] == [(P1, None, "person")]


def test_dependents_and_uscc_routing():
    spouse = pid("19920101", male=False, seq=71)
    kid16 = pid("20100615", male=True, seq=72)   # 16 on 2026-06-15
    kid15 = pid("20100616", male=True, seq=73)
    holder2 = pid("19850101", seq=74)
    spouse2 = pid("19860101", male=False, seq=75)
    t = base_tables()
    t["permits"] = [_permit(uscc=E2)]
    t["employers"].append(dict(t["employers"][0], uscc=E2))
    t["persons"].append(dict(t["persons"][0], id_number=holder2))
    t["applications"] = [app("H2", "2026-06-01", person=holder2, uscc=E1)]
    t["dependents"] = [dict(holder_id_number=P1, id_number=spouse, relation="spouse", name="李", marriage_certificate=False),
                       dict(holder_id_number=P1, id_number=kid16, relation="child", name="王"),
                       dict(holder_id_number=P1, id_number=kid15, relation="child", name="赵"),
                       dict(holder_id_number=holder2, id_number=spouse2, relation="spouse", name="钱")]
    rows, _, con = run_rules(t)
    by = {(r["rule_id"], r["entity_key"]): r for r in rows}
    assert by[("DEP-SPOUSE-NO-CERT", spouse)]["uscc"] == E2   # holder's active permit
    assert by[("DEP-SPOUSE-NO-CERT", spouse2)]["uscc"] == E1  # holder's open application
    assert ("DEP-CHILD16-NO-PROOF", kid16) in by and ("DEP-CHILD16-NO-PROOF", kid15) not in by
    # no active permit and no open application: nothing
    t["permits"], t["applications"] = [], []
    rows, _, con = run_rules(t)
    assert not [r for r in rows if r["rule_id"].startswith("DEP-")]


def test_findings_columns_and_uniqueness():
    t = base_tables()
    t["persons"][0].update(highest_degree="none", housing_type="none", photo_format="png")
    t["permits"] = [_permit(expires="2026-05-01")]
    rows, res, con = run_rules(t)
    cols = [c for c, in con.sql("SELECT column_name FROM (DESCRIBE findings)").fetchall()]
    from assets.warehouse import FINDINGS_COLUMNS

    assert cols == [c for c, _, _ in FINDINGS_COLUMNS]
    assert con.sql("SELECT count(*) - count(DISTINCT (rule_id, entity_key)) FROM findings").fetchall() == [(0,)]
    for r in rows:
        assert r["message_zh"] and r["message_en"] and "{" not in r["message_zh"]
        assert r["run_id"] == "test-run" and str(r["as_of"]) == AS_OF
        assert json.loads(r["detail"])["policy"]["version"]
    hist = con.sql("SELECT count(*), count(DISTINCT policy) FROM findings_history WHERE run_id = 'test-run'").fetchall()
    assert hist == [(len(rows), 1)]
