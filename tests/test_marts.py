"""Marts on a small hand-made warehouse (assets.marts.sample.small_world)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from assets.marts.build import build_all
from assets.marts.comments import MART_DOCS
from assets.marts.sample import add_months, small_world
from assets.settings import PACKAGED_POLICY

REPO = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def world():
    con = duckdb.connect()
    w = small_world(con)
    w["rows"] = build_all(con, w["as_of"], PACKAGED_POLICY)
    yield con, w
    con.close()


def q(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_every_mart_built_and_fully_commented(world):
    con, w = world
    assert set(w["rows"]) == set(MART_DOCS)
    for table in MART_DOCS:
        (tc,) = q(con, "SELECT comment FROM duckdb_tables() WHERE table_name = ?", table)[0]
        assert tc and CJK.search(tc) and re.search("[A-Za-z]", tc), table
        cols = q(con, "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?", table)
        assert cols, table
        for name, comment in cols:
            assert comment and CJK.search(comment) and re.search("[A-Za-z]", comment), (table, name)


def test_docs_list_every_mart_and_column(world):
    con, _ = world
    doc = (REPO / "docs" / "marts.md").read_text(encoding="utf-8")
    for table in MART_DOCS:
        assert f"{table}" in doc, table
        for (name,) in q(con, "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", table):
            assert re.search(rf"\b{re.escape(name)}\b", doc), (table, name)


def test_permit_status_window_states(world):
    con, w = world
    got = dict(q(con, "SELECT permit_no, window_state FROM permit_status"))
    assert got["P-NOTDUE"] == "not_due"
    assert got["P-DUESOON"] == "due_soon"
    assert got["P-OPEN"] == "open"
    assert got["P-LAPSED"] == "lapsed"
    assert got["P-INHAND"] == "renewal_in_hand"
    assert got["P-CANCELLED"] == "inactive"
    ws, we, days = q(con, "SELECT window_start, window_end, days_to_expiry FROM permit_status "
                          "WHERE permit_no = 'P-DUESOON'")[0]
    exp = q(con, "SELECT expires_on FROM permits WHERE permit_no = 'P-DUESOON'")[0][0]
    assert (ws, we) == (add_months(exp, -1), add_months(exp, 1))
    assert days == (exp - w["as_of"]).days
    # open findings counted per permit from `findings`
    assert q(con, "SELECT open_findings, open_errors FROM permit_status WHERE permit_no = 'P-LAPSED'")[0] == (1, 1)


def test_todo_renewals_and_cancellations(world):
    con, w = world
    ren = {r[0]: r[1:] for r in q(con, "SELECT permit_no, uscc, days_left, window_state FROM todo_renewals")}
    # the lists come from the findings: this hand-made world has EXP-WINDOW-OPEN / EXP-LAPSED
    # findings and no EXP-DUE-90 one, so P-DUESOON (due_soon in permit_status) is not listed
    assert set(ren) == {"P-OPEN", "P-LAPSED"}
    assert {r[0] for r in q(con, "SELECT entity_key FROM findings WHERE rule_id LIKE 'EXP-%'")} == set(ren)
    assert ren["P-LAPSED"][1] < 0 and ren["P-OPEN"][1] > 0
    can = {r[0]: r[1:] for r in q(con, "SELECT permit_no, uscc, left_on, days_overdue FROM todo_cancellations")}
    assert set(can) == {"P-LEAVER", "P-E2-LEAVER"}
    assert can["P-LEAVER"][0] == w["E1"] and can["P-E2-LEAVER"][0] == w["E2"]
    left = q(con, "SELECT left_on FROM employments WHERE id_number = ?", w["ids"]["leaver"])[0][0]
    assert can["P-LEAVER"][1] == left and can["P-LEAVER"][2] == (w["as_of"] - left).days


def test_contribution_gaps_list_the_missing_months(world):
    con, w = world
    months, n, detail = q(con, "SELECT missing_months, missing_month_count, missing_detail_zh "
                               "FROM todo_contribution_gaps WHERE permit_no = 'P-NOTDUE'")[0]
    assert months == list(w["gap_months"]) and n == 2
    gap1, gap2 = w["gap_months"]
    # gap1 lacks both kinds, gap2 only income tax
    assert f"{gap1:%Y-%m}(" in detail and f"{gap2:%Y-%m}(" in detail
    part2 = detail.split(f"{gap2:%Y-%m}(")[1]
    assert "社" not in part2.split(")")[0]


def test_failing_applications_list_every_reason(world):
    con, w = world
    rows = q(con, "SELECT application_id, uscc, reason_count, reasons_zh, rule_ids FROM todo_failing_applications")
    by = {r[0]: r[1:] for r in rows}
    assert set(by) == {"A-NEW-FAIL", "A-E2-FAIL"}
    uscc, n, zh, ids = by["A-NEW-FAIL"]
    assert uscc == w["E1"] and n == 2
    assert "在本单位工作不满6个月" in zh and "主要工作业绩不足200字" in zh
    assert set(ids.split(",")) == {"ELIG-TENURE-6M", "ELIG-ACHIEVEMENT-200"}


def test_candidates_eligible_on(world):
    con, w = world
    ids, A = w["ids"], w["as_of"]
    c = {r[0]: r[1:] for r in q(con, "SELECT id_number, eligible_on, eligible_now, blocking_rule_ids, chk_tenure, "
                                     "chk_contrib, chk_talent FROM candidates")}
    # excluded: active permit holders and people with an open `new` application
    assert ids["not_due"] not in c and ids["applicant"] not in c
    assert c[ids["cand_now"]][0] == A and c[ids["cand_now"]][1] is True
    assert c[ids["cand_tenure"]][0] == add_months(w["cand_tenure_hired"], 6)
    assert c[ids["cand_tenure"]][3] == "wait"
    # contributions restarted at M(as_of)-2: the v2 window M(d)-7 .. M(d)-2 (L = 2) starts there at d = +7 months
    ma = dt.date(A.year, A.month, 1)
    assert c[ids["cand_contrib"]][0] == add_months(add_months(ma, -2), 7)
    assert c[ids["cand_contrib"]][4] == "wait"
    # experience: work start + 24 months
    ws = q(con, "SELECT work_start_date FROM persons WHERE id_number = ?", ids["cand_exp"])[0][0]
    assert c[ids["cand_exp"]][0] == add_months(ws, 24) and c[ids["cand_exp"]][5] == "wait"
    # non-time-based block: no date, reasons given
    assert c[ids["cand_blocked"]][0] is None and c[ids["cand_blocked"]][2] == ["ELIG-ACHIEVEMENT-200"]
    e3 = c[ids["e3_staff"]]
    # v2: E3 is a branch: the capital rule does not judge it (capital_entity_types = enterprise)
    assert e3[0] is None and "ELIG-EMPLOYER-NOT-OPENED" in e3[2] and "ELIG-EMPLOYER-CAPITAL" not in e3[2]
    zh = q(con, "SELECT blocking_reasons_zh FROM candidates WHERE id_number = ?", ids["e3_staff"])[0][0]
    assert "注册资本" not in zh and "开通" in zh  # v2: no capital rule for a branch


def test_candidates_90d_window(world):
    con, w = world
    rows = q(con, "SELECT id_number, eligible_on FROM todo_candidates_90d")
    A = w["as_of"]
    assert rows and all(A <= e <= A + dt.timedelta(days=90) for _, e in rows)
    got = {i for i, _ in rows}
    assert w["ids"]["cand_tenure"] in got and w["ids"]["cand_now"] in got
    assert w["ids"]["cand_contrib"] not in got  # eligible in ~3.5 months
    assert w["ids"]["cand_blocked"] not in got


def test_employer_summary_agrees_with_detail(world):
    con, w = world
    s = dict(zip(*[[d[0] for d in con.execute("SELECT * FROM employer_summary WHERE uscc = ?", [w["E1"]]).description],
                   con.execute("SELECT * FROM employer_summary WHERE uscc = ?", [w["E1"]]).fetchall()[0]]))
    assert s["permits_active"] == q(con, "SELECT count(*) FROM permits WHERE uscc = ? AND status = 'active'",
                                    w["E1"])[0][0]
    assert s["permits_lapsed"] == 1 and s["permits_window_open"] == 1 and s["permits_renewal_in_hand"] == 1
    assert s["todo_failing_applications"] == 1 and s["todo_cancellations"] == 1
    assert s["findings_error"] == q(con, "SELECT count(*) FROM findings WHERE uscc = ? AND severity = 'error'",
                                    w["E1"])[0][0]
    assert s["apps_open"] == 2 and s["apps_draft"] == 1 and s["apps_employer_submitted"] == 1
    assert q(con, "SELECT count(*) FROM employer_summary")[0][0] == 3


def test_bureau_marts(world):
    con, w = world
    by = dict(q(con, "SELECT code, permits FROM bureau_permits_by_dimension WHERE dimension = 'district'"))
    assert len(by) == 17 and by["haidian"] == 6 and by["chaoyang"] == 2
    assert sum(r[0] for r in q(con, "SELECT permits FROM bureau_permits_by_dimension WHERE dimension = 'gender'")) \
        == q(con, "SELECT count(*) FROM permits WHERE status = 'active'")[0][0]
    flow = q(con, "SELECT month, cancelled, new_permits FROM bureau_monthly_flow ORDER BY month")
    assert len(flow) == 24 and flow[-1][0] == dt.date(w["as_of"].year, w["as_of"].month, 1)
    assert sum(r[1] for r in flow) == 1 and sum(r[2] for r in flow) == 1
    hd = q(con, "SELECT applications, within_sla, over_sla, sla_working_days FROM bureau_processing_by_district "
                "WHERE district = 'haidian'")[0]
    assert hd == (2, 1, 1, 15)
    assert q(con, "SELECT return_reason, applications FROM bureau_return_reasons") == [("材料不全", 1)]
    rk = q(con, "SELECT uscc, rank, noncompliance_findings, permits_active FROM bureau_employer_ranking ORDER BY rank")
    assert [r[0] for r in rk] == [w["E1"], w["E2"]] and rk[0][2] == 3
    kpi = dict(q(con, "SELECT kpi, value FROM bureau_kpis"))
    assert kpi["permits_active"] == 8 and kpi["employers"] == 3
    xt = q(con, "SELECT sum(permits), count(*) FROM bureau_xtab_district_category")[0]
    assert xt == (8, 17 * 8)


def test_processing_working_days_use_the_official_calendar():
    """A submission before the National Day holiday: holidays are not working days,
    the make-up Saturday is."""
    con = duckdb.connect()
    from assets.marts.sample import create_contract_tables, insert, make_uscc
    from assets.marts.build import BUILDERS, prepare

    create_contract_tables(con)
    u = make_uscc(9)
    insert(con, "employers", [{"uscc": u, "name": "x", "entity_type": "enterprise", "district": "haidian",
                               "established_on": dt.date(2010, 1, 1)}])
    # 2025-09-30 -> 2025-10-11: Oct 1-8 holidays, Oct 11 (Sat) a make-up working day
    insert(con, "applications", [{"application_id": "a", "type": "new", "id_number": "x", "uscc": u,
                                  "window_submitted_on": dt.date(2025, 9, 30), "decided_on": dt.date(2025, 10, 11),
                                  "status": "approved"}])
    prepare(con, dt.date(2025, 12, 1), PACKAGED_POLICY)
    BUILDERS["bureau_processing_by_district"](con, dt.date(2025, 12, 1))
    import chinese_calendar

    expected = sum(chinese_calendar.is_workday(dt.date(2025, 9, 30) + dt.timedelta(days=i)) for i in range(1, 12))
    got = q(con, "SELECT median_wd FROM bureau_processing_by_district WHERE district = 'haidian'")[0][0]
    assert got == expected == 3


def test_marts_are_idempotent(world):
    con, w = world
    before = q(con, "SELECT * FROM permit_status ORDER BY permit_no")
    build_all(con, w["as_of"], PACKAGED_POLICY)
    assert q(con, "SELECT * FROM permit_status ORDER BY permit_no") == before


def test_policy_override_by_district(tmp_path):
    """A district override of expiry_notice_days changes due_soon for that district only."""
    con = duckdb.connect()
    w = small_world(con)
    pol = tmp_path / "policy.yaml"
    pol.write_text(PACKAGED_POLICY.read_text(encoding="utf-8").replace(
        "districts: {}", "districts:\n  haidian:\n    expiry_notice_days: 30"), encoding="utf-8")
    build_all(con, w["as_of"], pol)
    assert q(con, "SELECT window_state FROM permit_status WHERE permit_no = 'P-DUESOON'")[0][0] == "not_due"


def test_bad_policy_file_names_the_file(tmp_path):
    from core.policy import PolicyError, load_policy

    p = tmp_path / "p.yaml"
    p.write_text("defaults: {min_cell: 5}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="p.yaml.*expiry_notice_days"):
        load_policy(p)


def test_employer_facing_marts_carry_uscc_and_masked_ids(world):
    con, _ = world
    from assets.marts.todo import TODO_LISTS

    for t in ("permit_status", "candidates", "employer_summary", "todo_items", *TODO_LISTS.values()):
        cols = [r[0] for r in q(con, "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", t)]
        assert "uscc" in cols, t
        assert q(con, f"SELECT count(*) FROM {t} WHERE uscc IS NULL")[0][0] == 0, t
        if "id_number" in cols:
            bad = q(con, f"SELECT count(*) FROM {t} WHERE id_number_masked IS DISTINCT FROM "
                         "left(id_number, 6) || '********' || right(id_number, 4)")[0][0]
            assert bad == 0, t
