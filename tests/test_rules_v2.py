"""Boundary cases of the rule book's version-2 rules (rules.md, items marked (v2)), written
from the spec: the lag L at month ends, agents valid from the middle of a window, withholders
given by name only, two withholders in one month, a transfer month, a work permit and a waiver
expiring on as_of, a district overriding L, deferrals ending, who owns a deferral finding."""
from __future__ import annotations

import json

import yaml

from assets.settings import PACKAGED_POLICY
from test_rules_helpers import E1, E2, P1, base_tables, contributions_for, pid, run_rules, usc

AS_OF = "2026-06-15"
AGENT = usc("91110105MA01AGENT")


def app(aid, submitted_on, type_="new", person=P1, uscc=E1, status="draft", **kw):
    return dict(application_id=aid, type=type_, id_number=person, uscc=uscc, submitted_on=submitted_on,
                status=status, **kw)


def permit(no="X1", issued="2024-01-10", expires="2027-01-10", status="active", uscc=E1, person=P1, **kw):
    return dict(permit_no=no, id_number=person, uscc=uscc, issued_on=issued, expires_on=expires, status=status,
                last_inspection_on="2026-01-01", **kw)


def findings_of(tables, rule_id, as_of=AS_OF, policy=None):
    rows, _, con = run_rules(tables, as_of, policy)
    con.close()
    return {r["entity_key"]: r for r in rows if r["rule_id"] == rule_id}


def policy_file(tmp_path, **districts) -> str:
    doc = yaml.safe_load(PACKAGED_POLICY.read_text(encoding="utf-8"))
    doc["districts"] = districts
    p = tmp_path / "policy.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(p)


# ---- the lag L in every contribution window -------------------------------------------------------

def test_lag_at_month_ends():
    """d on the last day of June and on 1 July: the window moves by one month at the month start."""
    t = base_tables()
    t["contributions"] = contributions_for(P1, "2025-11", "2026-04", withholder_uscc=E1)
    t["applications"] = [app("jun01", "2026-06-01"), app("jun30", "2026-06-30"), app("jul01", "2026-07-01")]
    got = findings_of(t, "ELIG-CONTRIB-6M", as_of="2026-07-15")
    assert set(got) == {"jul01"}  # needs 2025-12 .. 2026-05; May is missing
    d = json.loads(got["jul01"]["detail"])
    assert (d["window_from"], d["window_to"], d["contribution_lag_months"]) == ("2025-12", "2026-05", 2)
    assert d["missing"] == [{"month": "2026-05", "kinds": ["income_tax", "social_insurance"]}]


def test_district_overrides_lag(tmp_path):
    """haidian (E1's district) sets L = 1: its window ends one month later; other districts keep L = 2."""
    t = base_tables()
    t["employers"].append(dict(t["employers"][0], uscc=E2, district="chaoyang"))
    t["employments"].append(dict(id_number=P1, uscc=E2, hired_on="2020-01-01"))
    t["contributions"] = contributions_for(P1, "2025-11", "2026-04", withholder_uscc=E1)
    t["applications"] = [app("HD", "2026-06-10"), app("CY", "2026-06-10", uscc=E2)]
    pol = policy_file(tmp_path, haidian={"contribution_lag_months": 1})
    got = findings_of(t, "ELIG-CONTRIB-6M", policy=pol)
    assert set(got) == {"HD"}
    d = json.loads(got["HD"]["detail"])
    assert (d["window_from"], d["window_to"], d["contribution_lag_months"]) == ("2025-12", "2026-05", 1)
    assert d["policy"]["district"] == "haidian" and d["policy"]["overrides"] == ["contribution_lag_months"]
    # NC-CONTRIB-GAP follows the same override
    t["applications"] = []
    t["permits"] = [permit()]
    t["contributions"] = contributions_for(P1, "2024-01", "2026-04", withholder_uscc=E1)
    assert set(findings_of(t, "NC-CONTRIB-GAP", policy=pol)) == {"X1"}
    assert findings_of(t, "NC-CONTRIB-GAP") == {}


def test_renewal_window_uses_lag():
    t = base_tables()
    t["permits"] = [permit(issued="2025-03-20", expires="2026-07-15")]
    t["applications"] = [app("R", "2026-06-10", type_="renewal", permit_no="X1")]
    t["contributions"] = contributions_for(P1, "2025-03", "2026-04", withholder_uscc=E1)
    assert findings_of(t, "RENEW-CONTRIB-GAP") == {}
    t["contributions"] = contributions_for(P1, "2025-03", "2026-03", withholder_uscc=E1)
    d = json.loads(findings_of(t, "RENEW-CONTRIB-GAP")["R"]["detail"])
    assert d["missing"] == [{"month": "2026-04", "kinds": ["income_tax", "social_insurance"]}]


def test_lag_at_month_ends_for_renewals_and_permits(tmp_path):
    """RENEW-CONTRIB-GAP at d = 30 June / 1 July and NC-CONTRIB-GAP at as_of = 30 June / 1 July: the
    window's newest month moves from April to May at the month start; a district with L = 1 asks
    for May already on 30 June."""
    t = base_tables()
    t["permits"] = [permit(issued="2025-03-20", expires="2026-07-15")]
    t["applications"] = [app("R0630", "2026-06-30", type_="renewal", permit_no="X1"),
                         app("R0701", "2026-07-01", type_="renewal", permit_no="X1")]
    t["contributions"] = contributions_for(P1, "2025-03", "2026-04", withholder_uscc=E1)
    got = findings_of(t, "RENEW-CONTRIB-GAP", as_of="2026-07-02")
    assert set(got) == {"R0701"}
    assert json.loads(got["R0701"]["detail"])["missing"] == [
        {"month": "2026-05", "kinds": ["income_tax", "social_insurance"]}]
    lag1 = policy_file(tmp_path, haidian={"contribution_lag_months": 1})
    assert set(findings_of(t, "RENEW-CONTRIB-GAP", as_of="2026-07-02", policy=lag1)) == {"R0630", "R0701"}
    t["applications"] = []
    t["permits"] = [permit(issued="2024-01-10", expires="2027-01-10")]
    t["contributions"] = contributions_for(P1, "2024-01", "2026-04", withholder_uscc=E1)
    assert findings_of(t, "NC-CONTRIB-GAP", as_of="2026-06-30") == {}
    nc = findings_of(t, "NC-CONTRIB-GAP", as_of="2026-07-01")
    assert set(nc) == {"X1"} and json.loads(nc["X1"]["detail"])["window_to"] == "2026-05"
    assert set(findings_of(t, "NC-CONTRIB-GAP", as_of="2026-06-30", policy=lag1)) == {"X1"}


# ---- proper withholders ---------------------------------------------------------------------------

def test_agent_valid_from_the_middle_of_the_window():
    """Window 2025-11 .. 2026-04; the agent is registered from 15 Feb 2026 (its month counts)."""
    t = base_tables()
    t["withholding_agents"] = [dict(uscc=E1, agent_name="北京人力外包服务有限公司", agent_uscc=AGENT,
                                    valid_from="2026-02-15")]
    t["contributions"] = contributions_for(P1, "2025-11", "2026-04", withholder_uscc=AGENT)
    got = findings_of(t, "ELIG-WITHHOLDER")
    bad = json.loads(got["A1"]["detail"])["not_withheld"]
    assert [(b["month"], b["kind"]) for b in bad] == [
        (m, k) for m in ("2025-11", "2025-12", "2026-01") for k in ("income_tax", "social_insurance")]
    assert "2025-11 个人所得税" in got["A1"]["message_zh"]
    # registered for the whole window: proper
    t["withholding_agents"][0]["valid_from"] = None
    assert findings_of(t, "ELIG-WITHHOLDER") == {}
    # valid_to before the window's end, and an agent for social insurance only
    t["withholding_agents"] = [dict(uscc=E1, agent_name="外包", agent_uscc=AGENT, valid_to="2026-03-01"),
                               dict(uscc=E1, agent_name="外包", agent_uscc=AGENT, kind="social_insurance",
                                    valid_from="2026-04-01")]
    bad = json.loads(findings_of(t, "ELIG-WITHHOLDER")["A1"]["detail"])["not_withheld"]
    assert [(b["month"], b["kind"]) for b in bad] == [("2026-04", "income_tax")]


def test_withholder_by_name_only_full_width_and_spaces():
    t = base_tables()
    t["employers"][0]["name"] = "北京示例科技(中国)有限公司"
    rows = contributions_for(P1, "2025-11", "2026-04", withholder_name="北京示例科技（中国）　有限 公司")
    t["contributions"] = rows
    assert findings_of(t, "ELIG-WITHHOLDER") == {}
    # an agent given by name only: its name compared the same way
    t["withholding_agents"] = [dict(uscc=E1, agent_name="ＨＲ外包 服务中心")]
    t["contributions"] = contributions_for(P1, "2025-11", "2026-04", withholder_name="HR外包服务中心")
    assert findings_of(t, "ELIG-WITHHOLDER") == {}
    # a code given that is not the employer's, with the employer's name: the code decides
    t["contributions"] = contributions_for(P1, "2025-11", "2026-04", withholder_uscc=E2,
                                           withholder_name="北京示例科技(中国)有限公司")
    assert set(findings_of(t, "ELIG-WITHHOLDER")) == {"A1"}
    # no withholder at all cannot be shown to be the employer
    t["contributions"] = contributions_for(P1, "2025-11", "2026-04")
    assert set(findings_of(t, "ELIG-WITHHOLDER")) == {"A1"}


def test_month_with_two_withholders_one_proper():
    t = base_tables()
    t["contributions"] = (contributions_for(P1, "2025-11", "2026-04", withholder_uscc=E1)
                          + contributions_for(P1, "2026-02", "2026-02", withholder_uscc=E2,
                                              withholder_name="北京别家有限公司"))
    assert findings_of(t, "ELIG-WITHHOLDER") == {}   # (an exact-key duplicate would be quarantined at ingest)
    t["contributions"] = [r for r in t["contributions"]
                          if not (r["month"] == "2026-02-01" and r["withholder_uscc"] == E1 and r["kind"] == "income_tax")]
    bad = json.loads(findings_of(t, "ELIG-WITHHOLDER")["A1"]["detail"])["not_withheld"]
    assert bad == [{"month": "2026-02", "kind": "income_tax", "withholders": ["北京别家有限公司"]}]


def test_renewal_transfer_month_is_fine():
    """Holder moved from E2 to E1 on 2025-09-15: September may be paid by either; October by E2 is not."""
    t = base_tables()
    t["employers"].append(dict(t["employers"][0], uscc=E2, name="北京旧东家有限公司"))
    t["employments"] = [dict(id_number=P1, uscc=E2, hired_on="2019-01-01", left_on="2025-09-14"),
                        dict(id_number=P1, uscc=E1, hired_on="2025-09-15", contract_end_on="2030-01-01")]
    t["permits"] = [permit(issued="2023-07-01", expires="2026-07-15")]
    t["applications"] = [app("R", "2026-06-10", type_="renewal", permit_no="X1")]
    old = contributions_for(P1, "2023-07", "2025-09", withholder_uscc=E2)
    t["contributions"] = old + contributions_for(P1, "2025-10", "2026-04", withholder_uscc=E1)
    assert findings_of(t, "RENEW-WITHHOLDER") == {}
    t["contributions"] = old + contributions_for(P1, "2025-10", "2025-10", withholder_uscc=E2) + \
        contributions_for(P1, "2025-11", "2026-04", withholder_uscc=E1)
    bad = json.loads(findings_of(t, "RENEW-WITHHOLDER")["R"]["detail"])["not_withheld"]
    assert {b["month"] for b in bad} == {"2025-10"}


def test_nc_withholder_last_months_since_hire():
    """as_of 2026-06-15, L = 2, 3 watched months: 2026-02 .. 2026-04, only those >= M(hired_on)."""
    t = base_tables()
    t["applications"] = []
    t["permits"] = [permit()]
    t["contributions"] = (contributions_for(P1, "2024-01", "2026-01", withholder_uscc=E1)
                          + contributions_for(P1, "2026-02", "2026-04", withholder_name="北京别家有限公司"))
    r = findings_of(t, "NC-WITHHOLDER")["X1"]
    assert r["severity"] == "warning" and str(r["due_on"]) == "2026-12-10"
    assert {b["month"] for b in json.loads(r["detail"])["not_withheld"]} == {"2026-02", "2026-03", "2026-04"}
    # a month before the watched months does not count
    t["contributions"] = (contributions_for(P1, "2024-01", "2026-04", withholder_uscc=E1, skip={})
                          + contributions_for(P1, "2026-01", "2026-01", withholder_uscc=E2))
    t["contributions"] = [r for r in t["contributions"] if not (r["month"] == "2026-01-01" and r["withholder_uscc"] == E1)]
    assert findings_of(t, "NC-WITHHOLDER") == {}
    # hired at this employer in April 2026: only April is watched
    t["employments"] = [dict(id_number=P1, uscc=E1, hired_on="2026-04-20")]
    t["contributions"] = (contributions_for(P1, "2024-01", "2026-03", withholder_uscc=E2)
                          + contributions_for(P1, "2026-04", "2026-04", withholder_uscc=E1))
    assert findings_of(t, "NC-WITHHOLDER") == {}


# ---- foreign nationals and work permits -----------------------------------------------------------

FOREIGN = "E12345678"


def foreign_tables(wp_expires: str | None, wp_no: str | None = "WP001") -> dict:
    t = base_tables()
    t["persons"].append(dict(t["persons"][0], id_number=FOREIGN, id_type="passport", birth_date="1960-01-01",
                             gender="M", nationality="美国", work_permit_no=wp_no, work_permit_expires_on=wp_expires))
    t["employments"].append(dict(id_number=FOREIGN, uscc=E1, hired_on="2020-01-01"))
    t["contributions"] += contributions_for(FOREIGN, "2023-01", "2026-05", withholder_uscc=E1)
    t["permits"] = [permit(no="F1", person=FOREIGN, expires="2027-06-30")]
    t["applications"] = [app("FN", "2026-06-15", person=FOREIGN)]
    return t


def test_work_permit_expiring_on_as_of():
    t = foreign_tables("2026-06-15")
    assert findings_of(t, "NC-WORK-PERMIT-EXPIRED") == {}
    due = findings_of(t, "EXP-WORK-PERMIT-DUE")
    assert set(due) == {"F1"} and str(due["F1"]["due_on"]) == "2026-06-15" and due["F1"]["severity"] == "info"
    assert findings_of(t, "ELIG-WORK-PERMIT") == {}            # d = as_of = expiry: still valid
    t = foreign_tables("2026-06-14")
    assert set(findings_of(t, "NC-WORK-PERMIT-EXPIRED")) == {"F1"}
    assert set(findings_of(t, "ELIG-WORK-PERMIT")) == {"FN"}
    assert findings_of(t, "EXP-WORK-PERMIT-DUE") == {}


def test_work_permit_due_window_and_permit_end():
    assert set(findings_of(foreign_tables("2026-09-13"), "EXP-WORK-PERMIT-DUE")) == {"F1"}   # as_of + 90
    assert findings_of(foreign_tables("2026-09-14"), "EXP-WORK-PERMIT-DUE") == {}             # as_of + 91
    t = foreign_tables("2026-08-01")
    t["permits"][0]["expires_on"] = "2026-08-01"          # ends with the residence permit: not first
    assert findings_of(t, "EXP-WORK-PERMIT-DUE") == {}


def test_work_permit_missing_and_residents_exempt():
    t = foreign_tables(None)
    assert set(findings_of(t, "NC-WORK-PERMIT-EXPIRED")) == {"F1"}
    t = foreign_tables("2027-01-01", wp_no=None)
    assert set(findings_of(t, "ELIG-WORK-PERMIT")) == {"FN"}
    assert findings_of(t, "NC-WORK-PERMIT-EXPIRED") == {}   # the number is the application's concern
    # a renewal and an employer change are checked too; resident IDs never
    t = foreign_tables("2026-01-01")
    t["applications"] = [app("RN", "2026-06-10", type_="renewal", person=FOREIGN, permit_no="F1"),
                         app("XC", "2026-06-10", type_="employer_change", person=FOREIGN, permit_no="F1"),
                         app("AD", "2026-06-10", type_="address_change", person=FOREIGN, permit_no="F1"),
                         app("A1", "2026-06-10")]
    assert set(findings_of(t, "ELIG-WORK-PERMIT")) == {"RN", "XC"}


def test_passport_age_from_birth_date_column():
    t = foreign_tables("2027-01-01")   # born 1960-01-01, male: 66 > 60
    r = findings_of(t, "ELIG-AGE-LIMIT")["FN"]
    assert json.loads(r["detail"])["age"] == 66


# ---- "in principle" rules and the capital rule ----------------------------------------------------

def test_in_principle_rules_are_warnings_and_capital_by_entity_type():
    t = base_tables()
    t["employers"][0].update(established_on="2026-01-01", registered_capital_cny=None)
    got = findings_of(t, "ELIG-EMPLOYER-AGE-1Y")
    assert got["A1"]["severity"] == "warning"
    assert set(findings_of(t, "ELIG-EMPLOYER-CAPITAL")) == {"A1"}
    for et in ("public_institution", "social_organization", "private_non_enterprise", "domestic_branch"):
        t["employers"][0]["entity_type"] = et
        assert findings_of(t, "ELIG-EMPLOYER-CAPITAL") == {}, et
    t["employers"][0].update(entity_type="enterprise", registered_capital_cny=990_000)
    r = findings_of(t, "ELIG-EMPLOYER-CAPITAL")["A1"]
    assert "99万元" in r["message_zh"] and "100万元" in r["message_zh"]


# ---- deferrals ------------------------------------------------------------------------------------

def test_deferral_ending_boundaries_and_owner():
    """E = add_months(deferred_on, 6); warned when as_of <= E <= as_of + 30 days; owned by the new employer."""
    t = base_tables()
    t["employers"].append(dict(t["employers"][0], uscc=E2, name="北京新东家有限公司"))
    people = {k: pid("19880101", seq=s) for k, s in (("e0", 40), ("e30", 41), ("e31", 42), ("past", 43),
                                                     ("filed", 44), ("nonew", 45))}
    deferred = {"e0": "2025-12-15", "e30": "2026-01-15", "e31": "2026-01-16", "past": "2025-12-14",
                "filed": "2026-01-01", "nonew": "2026-01-01"}
    t["persons"] += [dict(t["persons"][0], id_number=p) for p in people.values()]
    t["permits"] = [permit(no=k, person=p, status="deferred_cancellation", deferred_on=deferred[k])
                    for k, p in people.items()]
    t["employments"] += [dict(id_number=p, uscc=E1, hired_on="2018-01-01", left_on="2025-12-01")
                         for p in people.values()]
    t["employments"] += [dict(id_number=p, uscc=E2, hired_on="2026-02-01") for k, p in people.items() if k != "nonew"]
    t["applications"] = [app("XF", "2026-03-01", type_="employer_change", person=people["filed"], uscc=E2,
                             permit_no="filed", status="under_review")]
    got = findings_of(t, "XFER-DEFERRAL-ENDING")
    assert set(got) == {"e0", "e30", "nonew"}
    assert str(got["e0"]["due_on"]) == "2026-06-15" and str(got["e30"]["due_on"]) == "2026-07-15"
    assert got["e0"]["uscc"] == E2 and got["nonew"]["uscc"] == E1
    exp = findings_of(t, "XFER-DEFERRAL-EXPIRED")
    assert set(exp) == {"past"} and exp["past"]["uscc"] == E2


# ---- waivers --------------------------------------------------------------------------------------

def waiver(rule_id, key, approved_on="2026-01-01", expires_on=None):
    return dict(rule_id=rule_id, entity_key=key, reason="重点引进企业", approved_by="海淀区人才服务中心",
                approved_on=approved_on, expires_on=expires_on)


def test_waiver_expiring_on_as_of_and_unused_waivers():
    t = base_tables()
    t["employers"][0]["established_on"] = "2026-01-01"     # ELIG-EMPLOYER-AGE-1Y fires on A1
    t["applications"].append(app("A2", "2026-06-10"))
    t["waivers"] = [waiver("ELIG-EMPLOYER-AGE-1Y", "A1", expires_on="2026-06-15"),   # in force on its last day
                    waiver("ELIG-EMPLOYER-AGE-1Y", "A2", expires_on="2026-06-14"),   # expired the day before
                    waiver("ELIG-TALENT", "A1"),                                     # in force, nothing to waive
                    waiver("ELIG-TALENT", "A2", approved_on="2026-06-16")]           # not yet approved
    rows, _, con = run_rules(t)
    by = {(r["rule_id"], r["entity_key"]): r for r in rows}
    a1 = by[("ELIG-EMPLOYER-AGE-1Y", "A1")]
    assert a1["waived"] is True
    assert json.loads(a1["detail"])["waiver"] == {"reason": "重点引进企业", "approved_by": "海淀区人才服务中心",
                                                  "approved_on": "2026-01-01", "expires_on": "2026-06-15"}
    assert by[("ELIG-EMPLOYER-AGE-1Y", "A2")]["waived"] is False
    assert "waiver" not in json.loads(by[("ELIG-EMPLOYER-AGE-1Y", "A2")]["detail"])
    unused = {k for (r, k) in by if r == "WAIVER-UNUSED"}
    assert unused == {"waivers:ELIG-TALENT:A1"}
    u = by[("WAIVER-UNUSED", "waivers:ELIG-TALENT:A1")]
    assert (u["severity"], u["entity_type"], u["uscc"], u["waived"]) == ("info", "record", E1, False)
    assert all(r["waived"] is False for r in rows if (r["rule_id"], r["entity_key"]) != ("ELIG-EMPLOYER-AGE-1Y", "A1"))
    # findings_history keeps the flag
    assert con.sql("SELECT count(*) FROM findings_history WHERE waived").fetchall() == [(1,)]
    con.close()


def test_waiver_on_an_employer_and_a_permit_finding_uscc_of_unused():
    t = base_tables()
    t["employers"][0]["entity_type"] = "foreign_branch"
    others = [pid("19900101", seq=s) for s in range(50, 56)]
    t["persons"] += [dict(t["persons"][0], id_number=o) for o in others]
    t["permits"] = [permit(no=f"B{i}", person=o) for i, o in enumerate(others)]
    t["employments"] += [dict(id_number=o, uscc=E1, hired_on="2020-01-01") for o in others]
    t["contributions"] += [r for o in others for r in contributions_for(o, "2024-01", "2026-04", withholder_uscc=E1)]
    t["applications"] = []
    t["waivers"] = [waiver("EMP-BRANCH-QUOTA", E1), waiver("NC-LEFT-NOT-CANCELLED", "B0")]
    rows, _, con = run_rules(t)
    con.close()
    by = {(r["rule_id"], r["entity_key"]): r for r in rows}
    assert by[("EMP-BRANCH-QUOTA", E1)]["waived"] is True
    assert by[("WAIVER-UNUSED", "waivers:NC-LEFT-NOT-CANCELLED:B0")]["uscc"] == E1


# ---- messages an HR officer reads without a second look (issue 15 item 2) -------------------------

def test_messages_use_the_seeds_terms():
    t = base_tables()
    t["employers"].append(dict(t["employers"][0], uscc=E2, name="北京旧东家科技有限公司", name_changed_on="2026-01-01"))
    t["persons"][0].update(housing_type="none", highest_degree="none", photo_bytes=300_000)
    t["work_history"] = []
    holder = pid("19850101", seq=60)
    t["persons"].append(dict(t["persons"][0], id_number=holder))
    t["permits"] = [permit(no="OLD", person=holder, uscc=E2, issued="2025-01-01", expires="2026-07-01"),
                    permit(no="EARLY", person=P1, issued="2024-01-10", expires="2027-03-01")]
    t["contributions"] = contributions_for(P1, "2024-01", "2026-04", withholder_uscc=E1, skip={"2025-06": ["income_tax"]})
    t["dependents"] = [dict(holder_id_number=P1, id_number=pid("19920101", male=False, seq=61), relation="spouse",
                            name="李四")]
    t["applications"] = [app("A1", "2026-06-10"),
                         app("XF", "2026-06-10", type_="employer_change", person=holder, permit_no="OLD"),
                         app("RE", "2026-06-10", type_="renewal", permit_no="EARLY"),
                         dict(app("SLA", "2026-03-01", type_="address_change", status="approved"),
                              window_submitted_on="2026-03-02", decided_on="2026-04-30")]
    rows, _, con = run_rules(t)
    con.close()
    msg = {r["rule_id"]: r["message_zh"] for r in rows}
    en = {r["rule_id"]: r["message_en"] for r in rows}
    assert "自有住房、已登记备案的租赁住房、租赁公房或借住亲友住房" in msg["ELIG-RESIDENCE"] and "公租房" not in msg["ELIG-RESIDENCE"]
    assert "学士(含)以上学位" in msg["ELIG-TALENT"] and "本科及以上学位" not in msg["ELIG-TALENT"]
    assert "未填写工作简历" in msg["ELIG-WORK-GAP-2M"] and "说明行" not in msg["ELIG-WORK-GAP-2M"]
    assert "no work history was entered" in en["ELIG-WORK-GAP-2M"]
    assert "200KB" in msg["ELIG-PHOTO"] and "字节" not in msg["ELIG-PHOTO"]
    assert "北京旧东家科技有限公司" in msg["XFER-OLD-NOT-CANCELLED"] and "北京旧东家科技有限公司" in en["XFER-OLD-NOT-CANCELLED"]
    assert "过早" in msg["RENEW-OUTSIDE-WINDOW"] and "2027-02-01 起提交" in msg["RENEW-OUTSIDE-WINDOW"]
    assert "too early" in en["RENEW-OUTSIDE-WINDOW"]
    nc = next(r["message_zh"] for r in rows if (r["rule_id"], r["entity_key"]) == ("NC-CONTRIB-GAP", "EARLY"))
    assert "补齐" not in nc and "2025-06(个人所得税)" in nc and "续签时将" in nc
    assert "李四" in msg["DEP-SPOUSE-NO-CERT"]
    assert "一般办理时限 15 个工作日" in msg["SLA-15WD"] and "承诺" not in msg["SLA-15WD"]
    assert "签发于" in msg["NC-NAME-CHANGE-REISSUE"]
    assert all("请走" not in m and "发于" not in m.replace("签发于", "") for m in msg.values())


def test_account_not_opened_message_has_no_placeholder():
    t = base_tables()
    t["employers"][0]["account_opened_on"] = None
    r = findings_of(t, "ELIG-EMPLOYER-NOT-OPENED")["A1"]
    assert "尚未开通" in r["message_zh"] and "—" not in r["message_zh"] and "has not been opened" in r["message_en"]
    t["employers"][0]["account_opened_on"] = "2026-06-20"     # after d = 2026-06-10
    r = findings_of(t, "ELIG-EMPLOYER-NOT-OPENED")["A1"]
    assert "于 2026-06-20 开通,晚于申请日 2026-06-10" in r["message_zh"]


def test_renewal_too_late_message():
    t = base_tables()
    t["permits"] = [permit(issued="2023-01-10", expires="2026-04-01")]
    t["applications"] = [app("RL", "2026-06-10", type_="renewal", permit_no="X1")]
    r = findings_of(t, "RENEW-OUTSIDE-WINDOW")["RL"]
    assert "已过续签办理期" in r["message_zh"] and "2026-05-01" in r["message_zh"]
    assert json.loads(r["detail"])["timing"] == "too_late"


def test_an_ingest_finding_can_be_waived_but_not_a_record_rule():
    """DQ-ID-MISMATCH (kept row, person) is waivable; the rule layer marks the ingest layer's row."""
    import datetime as dt

    import duckdb

    from assets.rules.core import evaluate_rulebook
    from assets.warehouse import ensure_findings_tables
    from expectations.testing import make_warehouse

    t = base_tables()
    t["waivers"] = [waiver("DQ-ID-MISMATCH", P1)]
    con = duckdb.connect()
    make_warehouse(con, **t)
    ensure_findings_tables(con)
    con.execute("INSERT INTO findings BY NAME SELECT 'ingest-run' AS run_id, 'DQ-ID-MISMATCH' AS rule_id, "
                "'warning' AS severity, 'person' AS entity_type, ? AS entity_key, CAST('{}' AS JSON) AS detail", [P1])
    evaluate_rulebook(con, dt.date.fromisoformat(AS_OF), "test-run", PACKAGED_POLICY, with_gx=False)
    rows = con.sql("SELECT rule_id, waived, detail->>'$.waiver.approved_by' FROM findings").fetchall()
    con.close()
    assert rows == [("DQ-ID-MISMATCH", True, "海淀区人才服务中心")]
