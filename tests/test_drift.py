"""The marts say what the rule book says (issue 14, items 1-2).

- ``permit_status.window_state`` agrees one to one with the EXP-* findings of
  the rule step, and with an independent Python reading of rules.md § Permits;
- every candidate's check states agree with the ELIG findings the rule step
  writes for the same person's real draft application (submitted_on empty,
  so d = as_of) at the same employer;
- a district override of the policy changes both the same way;
on the demo data and on property-generated warehouses.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too

from assets.marts.build import build_all  # noqa: E402
from assets.marts.sample import create_contract_tables, insert, make_id, make_uscc  # noqa: E402
from assets.rules.core import evaluate_rulebook  # noqa: E402
from assets.settings import PACKAGED_POLICY  # noqa: E402
from core.contract import TABLE_ORDER  # noqa: E402
from core.dates import add_months  # noqa: E402

# rules.md § Permits: the rule whose finding puts an active permit in each state
STATE_OF_RULE = {"EXP-DUE-90": "due_soon", "EXP-WINDOW-OPEN": "open", "EXP-LAPSED": "lapsed"}
OPEN = ("draft", "person_submitted", "employer_submitted", "under_review", "returned")
A = dt.date(2026, 6, 15)


# --------------------------------------------------------------------------- comparisons
def window_disagreements(con) -> list[str]:
    """Active permits whose window_state and EXP-* findings disagree."""
    states = dict(con.sql("SELECT permit_no, window_state FROM permit_status WHERE status = 'active'").fetchall())
    found: dict[str, set[str]] = {}
    for rid, key in con.sql("SELECT rule_id, entity_key FROM findings WHERE rule_id IN "
                            "('EXP-DUE-90', 'EXP-WINDOW-OPEN', 'EXP-LAPSED')").fetchall():
        found.setdefault(key, set()).add(STATE_OF_RULE[rid])
    bad = []
    for permit, state in states.items():
        f = found.get(permit, set())
        if state in ("open", "lapsed", "due_soon"):
            ok = f == {state}
        elif state == "renewal_in_hand":  # in hand: no open/lapsed finding (due-90 still informs)
            ok = f <= {"due_soon"}
        else:
            ok = not f
        if not ok:
            bad.append(f"{permit}: window_state {state}, findings {sorted(f)}")
    bad += [f"{k}: findings {sorted(v)} but not an active permit" for k, v in found.items() if k not in states]
    return bad


def window_oracle(con, policy: dict) -> dict[str, str]:
    """rules.md § Permits read in Python (independent of the SQL)."""
    notice = {None: policy["defaults"]["expiry_notice_days"],
              **{d: o.get("expiry_notice_days", policy["defaults"]["expiry_notice_days"])
                 for d, o in (policy.get("districts") or {}).items()}}
    apps = con.sql("SELECT permit_no, type, status, submitted_on FROM applications").fetchall()
    out = {}
    for permit, expires, district in con.sql(
            "SELECT p.permit_no, p.expires_on, e.district FROM permits p LEFT JOIN employers e USING (uscc) "
            "WHERE p.status = 'active'").fetchall():
        w0, w1 = add_months(expires, -1), add_months(expires, 1)
        in_hand = any(pn == permit and t == "renewal" and (s in OPEN or s == "approved") and sub is not None
                      and sub >= w0 for pn, t, s, sub in apps)
        days = notice.get(district, notice[None])
        out[permit] = ("renewal_in_hand" if in_hand else "lapsed" if A > w1 else "open" if A >= w0
                       else "due_soon" if expires <= A + dt.timedelta(days=days) else "not_due")
    return out


def candidate_disagreements(con, policy_path: Path, as_of: dt.date = A) -> list[str]:
    """Copy the warehouse, file a draft new application for every candidate, run
    the rule step on the copy and compare its ELIG findings with the candidate's
    check states (ok <=> no finding of that rule). A rule with a ``breaks_at`` entry
    (e.g. the age limit) is judged at the date every waiting check holds: a check
    'blocked' without a finding at as_of must then break in the rule step run again
    at that date (the candidate's projected date: as_of, or the latest forecast date
    of its waiting checks)."""
    from expectations.candidates import candidate_rules

    crules = candidate_rules()
    cols = {rid: r["candidate"]["column"] for rid, r in crules.items()}
    ok_on = {rid: r["candidate"]["ok_on_column"] for rid, r in crules.items() if r["candidate"].get("ok_on_column")}
    later = {rid for rid, r in crules.items() if r["candidate"].get("breaks_at")}
    cands = con.sql(f"SELECT uscc, id_number, {', '.join(list(cols.values()) + list(ok_on.values()))} "
                    "FROM candidates").fetchall()
    copy = duckdb.connect()
    create_contract_tables(copy)
    for table in TABLE_ORDER:  # every contract table (agents and waivers decide rules too)
        df = con.sql(f"SELECT * FROM {table}").df()  # noqa: F841  (read by the INSERT below)
        copy.execute(f"INSERT INTO {table} SELECT * FROM df")
    apps = [{"application_id": f"T{i}", "type": "new", "id_number": idn, "uscc": u, "status": "draft"}
            for i, (u, idn, *_) in enumerate(cands)]
    insert(copy, "applications", apps)
    evaluate_rulebook(copy, as_of, "drift", policy_path, with_gx=False)
    found = set(copy.sql("SELECT entity_key, rule_id FROM findings").fetchall())
    bad, recheck = [], {}
    for i, (u, idn, *values) in enumerate(cands):
        states = dict(zip(cols, values[:len(cols)]))
        dates = dict(zip(ok_on, values[len(cols):]))
        projected = max([as_of] + [d for rid, d in dates.items() if states[rid] == "wait" and d is not None])
        for rid, state in states.items():
            breaks = (f"T{i}", rid) in found
            if rid in later and state == "blocked" and not breaks and projected > as_of:
                recheck.setdefault(projected, []).append((i, u, idn, rid))
            elif breaks != (state != "ok"):
                bad.append(f"{u}/{idn[:6]}…: {cols[rid]} = {state}, rule step {'breaks' if breaks else 'passes'} {rid}")
    for day, items in sorted(recheck.items()):
        evaluate_rulebook(copy, day, "drift-later", policy_path, with_gx=False)
        found = set(copy.sql("SELECT entity_key, rule_id FROM findings").fetchall())
        bad += [f"{u}/{idn[:6]}…: {cols[rid]} = blocked, rule step passes {rid} at as_of and at {day}"
                for i, u, idn, rid in items if (f"T{i}", rid) not in found]
    copy.close()
    return bad


def run_both(con, policy_path: Path) -> None:
    evaluate_rulebook(con, A, "t", policy_path, with_gx=False)
    build_all(con, A, policy_path)


# --------------------------------------------------------------------------- demo data
@pytest.mark.slow
def test_demo_marts_agree_with_findings(demo_run):
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    try:
        assert str(con.sql("SELECT as_of FROM permit_status LIMIT 1").fetchall()[0][0]) == str(demo_run["as_of"])
        assert window_disagreements(con) == []
        renewals = {r[0] for r in con.sql("SELECT permit_no FROM todo_renewals").fetchall()}
        flagged = {r[0] for r in con.sql("SELECT entity_key FROM findings WHERE rule_id IN "
                                         "('EXP-WINDOW-OPEN', 'EXP-LAPSED')").fetchall()}
        assert flagged <= renewals
        assert con.sql("SELECT count(*) FROM candidates").fetchall()[0][0] > 0
        as_of = dt.date.fromisoformat(str(demo_run["as_of"]))
        assert candidate_disagreements(con, PACKAGED_POLICY, as_of) == []
    finally:
        con.close()


# --------------------------------------------------------------------------- generated warehouses
DISTRICTS = ("haidian", "chaoyang")
employer_st = st.fixed_dictionaries({
    "district": st.sampled_from(DISTRICTS),
    "entity_type": st.sampled_from(("enterprise", "domestic_branch")),
    "established_on": st.one_of(st.none(), st.dates(dt.date(2010, 1, 1), A)),
    "account_opened_on": st.one_of(st.none(), st.dates(dt.date(2015, 1, 1), A + dt.timedelta(days=60))),
    "registered_capital_cny": st.sampled_from((None, 500_000, 1_500_000, 5_000_000)),
})
person_st = st.fixed_dictionaries({
    "employer": st.integers(0, 2),
    "birth": st.dates(dt.date(1960, 1, 1), dt.date(2002, 12, 31)),
    "male": st.booleans(),
    "highest_degree": st.sampled_from((None, "none", "bachelor", "master")),
    "title_level": st.sampled_from((None, "none", "junior", "intermediate")),
    "special_talent": st.sampled_from((None, False, True)),
    "work_start": st.dates(dt.date(2005, 1, 1), A),
    "housing_type": st.sampled_from((None, "none", "owned", "rented")),
    "housing_proof": st.sampled_from((None, False, True)),
    "achievements": st.sampled_from((None, "短", "业绩" * 100, " 业" * 199 + "业")),
    "photo_format": st.sampled_from((None, "jpg", "PNG", "JPEG")),
    "photo_width": st.sampled_from((None, 200, 358)),
    "hired": st.dates(A - dt.timedelta(days=900), A),
    "left": st.sampled_from((None, None, -30, 30)),
    "contrib_from": st.integers(-30, 0),
    "contrib_to": st.integers(-4, 0),
    "contrib_hole": st.one_of(st.none(), st.integers(-8, -1)),
    "edu_first": st.sampled_from(("high_school", "bachelor")),
    "permit": st.one_of(st.none(), st.tuples(st.integers(-80, 150), st.sampled_from(("active", "active", "cancelled")))),
    "renewal": st.one_of(st.none(), st.tuples(st.sampled_from(("draft", "under_review", "approved", "rejected")),
                                              st.one_of(st.none(), st.integers(-70, 0)))),
})


# a person and an employer every rule passes (the deterministic tests below vary one thing)
GOOD_PERSON = dict(employer=0, birth=dt.date(1990, 1, 1), male=True, highest_degree="bachelor", title_level=None,
                   special_talent=None, work_start=dt.date(2012, 1, 1), housing_type="owned", housing_proof=True,
                   achievements="业绩" * 100, photo_format="jpg", photo_width=358, hired=dt.date(2015, 1, 1),
                   left=None, contrib_from=-30, contrib_to=0, contrib_hole=None, edu_first="high_school",
                   permit=None, renewal=None)
GOOD_EMPLOYER = dict(district="chaoyang", entity_type="enterprise", established_on=dt.date(2010, 1, 1),
                     account_opened_on=dt.date(2011, 1, 1), registered_capital_cny=5_000_000)


def build_world(con, employers: list[dict], people: list[dict]) -> None:
    create_contract_tables(con)
    ma = dt.date(A.year, A.month, 1)
    emps = [{"uscc": make_uscc(10 + i), "name": f"单位{i}", **e} for i, e in enumerate(employers)]
    rows: dict[str, list] = {t: [] for t in ("persons", "employments", "contributions", "work_history",
                                             "education_history", "permits", "applications")}
    for k, p in enumerate(people):
        pid = make_id("110105", p["birth"], 100 + k, p["male"])
        u = emps[p["employer"]]["uscc"]
        rows["persons"].append({
            "id_number": pid, "name": f"人{k}", "highest_degree": p["highest_degree"], "title_level": p["title_level"],
            "special_talent": p["special_talent"], "work_start_date": p["work_start"], "degree_study_mode": "full_time",
            "graduation_date": p["work_start"] - dt.timedelta(days=30), "housing_type": p["housing_type"],
            "housing_proof": p["housing_proof"], "achievements": p["achievements"], "photo_format": p["photo_format"],
            "photo_bytes": 100_000, "photo_width": p["photo_width"], "photo_height": 441})
        left = None if p["left"] is None else A + dt.timedelta(days=p["left"])
        rows["employments"].append({"id_number": pid, "uscc": u, "hired_on": p["hired"], "left_on": left})
        m = add_months(ma, p["contrib_from"])
        while m <= add_months(ma, p["contrib_to"] - 1):
            if p["contrib_hole"] is None or m != add_months(ma, p["contrib_hole"]):
                rows["contributions"] += [{"id_number": pid, "month": m, "kind": kind, "amount_cny": 100,
                                           "withholder_uscc": u} for kind in ("income_tax", "social_insurance")]
            m = add_months(m, 1)
        rows["work_history"].append({"id_number": pid, "start_on": p["work_start"], "end_on": None,
                                     "organization": "某公司"})
        rows["education_history"].append({"id_number": pid, "start_on": dt.date(2000, 9, 1),
                                          "end_on": dt.date(2003, 6, 30), "level": p["edu_first"]})
        if p["permit"] is not None:
            days, status = p["permit"]
            expires = A + dt.timedelta(days=days)
            rows["permits"].append({"permit_no": f"P{k}", "id_number": pid, "uscc": u, "status": status,
                                    "issued_on": add_months(expires, -36), "expires_on": expires,
                                    "last_inspection_on": A - dt.timedelta(days=30)})
            if p["renewal"] is not None:
                status_r, sub = p["renewal"]
                rows["applications"].append({
                    "application_id": f"R{k}", "type": "renewal", "id_number": pid, "uscc": u, "permit_no": f"P{k}",
                    "status": status_r, "submitted_on": None if sub is None else A + dt.timedelta(days=sub)})
    insert(con, "employers", emps)
    for table, r in rows.items():
        insert(con, table, r)


def override_policy(tmp: Path) -> tuple[Path, dict]:
    doc = yaml.safe_load(PACKAGED_POLICY.read_text(encoding="utf-8"))
    doc["districts"] = {"haidian": {"min_capital_cny": 2_000_000, "expiry_notice_days": 30, "max_age_male": 50,
                                    "contribution_lag_months": 1}}
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path, doc


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(employer_st, min_size=3, max_size=3), st.lists(person_st, min_size=4, max_size=9))
def test_generated_marts_agree_with_the_rule_step(tmp_path, employers, people):
    policy_path, policy = override_policy(tmp_path)
    con = duckdb.connect()
    build_world(con, employers, people)
    run_both(con, policy_path)
    assert window_disagreements(con) == []
    got = dict(con.sql("SELECT permit_no, window_state FROM permit_status WHERE status = 'active'").fetchall())
    assert got == window_oracle(con, policy)
    assert candidate_disagreements(con, policy_path) == []
    con.close()


def test_draft_renewal_without_date_is_not_in_hand():
    """The drift this issue fixed: an open-window permit whose only renewal is a
    draft with an empty submitted_on has EXP-WINDOW-OPEN and is 'open'."""
    con = duckdb.connect()
    person = GOOD_PERSON | dict(permit=(10, "active"), renewal=("draft", None))
    emp = dict(GOOD_EMPLOYER)
    build_world(con, [emp, emp, emp], [person, {**person, "renewal": ("draft", -3)}])
    run_both(con, PACKAGED_POLICY)
    assert dict(con.sql("SELECT permit_no, window_state FROM permit_status").fetchall()) == {
        "P0": "open", "P1": "renewal_in_hand"}
    assert con.sql("SELECT entity_key FROM findings WHERE rule_id = 'EXP-WINDOW-OPEN'").fetchall() == [("P0",)]
    assert {r[0] for r in con.sql("SELECT permit_no FROM todo_renewals").fetchall()} == {"P0"}
    con.close()


def test_age_limit_reached_while_waiting_is_judged_at_the_projected_date():
    """A man of 60 hired 2026-04-28 waits for tenure until 2026-10-28; born 1965-09-25 he is 61 by
    then (blocked, and the rule step breaks at that date); born a year later he is not (ok)."""
    person = GOOD_PERSON | dict(birth=dt.date(1965, 9, 25), hired=dt.date(2026, 4, 28))
    emp = dict(GOOD_EMPLOYER)
    con = duckdb.connect()
    build_world(con, [emp, emp, emp], [person, {**person, "birth": dt.date(1966, 9, 25)}])
    run_both(con, PACKAGED_POLICY)
    assert sorted(con.sql("SELECT chk_age_limit, chk_tenure FROM candidates").fetchall()) == [
        ("blocked", "wait"), ("ok", "wait")]
    assert candidate_disagreements(con, PACKAGED_POLICY) == []
    con.execute("UPDATE candidates SET chk_age_limit = 'blocked'")   # a mart blocking both would be caught
    assert len(candidate_disagreements(con, PACKAGED_POLICY)) == 1
    con.close()


def test_district_override_changes_both_sides_the_same_way(tmp_path):
    """haidian: capital 1.5M passes the default (1M) but not the override (2M);
    a permit 60 days from expiry is due within 90 days but not within 30; payments on record up
    to M(as_of)-2 cover the default window (L = 2) but not the override's (L = 1)."""
    person = dict(GOOD_PERSON)
    emp = GOOD_EMPLOYER | dict(district="haidian", registered_capital_cny=1_500_000)
    people = [person, {**person, "permit": (60, "active")}, {**person, "contrib_to": -1}]
    policy_path, _ = override_policy(tmp_path)
    seen = {}
    for name, path in (("default", PACKAGED_POLICY), ("override", policy_path)):
        con = duckdb.connect()
        build_world(con, [emp, emp, emp], people)
        run_both(con, path)
        seen[name] = (con.sql("SELECT chk_employer_capital FROM candidates").fetchall(),
                      con.sql("SELECT window_state FROM permit_status").fetchall(),
                      con.sql("SELECT chk_contrib FROM candidates ORDER BY id_number").fetchall())
        assert window_disagreements(con) == [] and candidate_disagreements(con, path) == []
        con.close()
    assert seen["default"][:2] == ([("ok",), ("ok",)], [("due_soon",)])
    assert seen["override"][:2] == ([("blocked",), ("blocked",)], [("not_due",)])
    assert sorted(seen["default"][2]) == [("ok",), ("ok",)]
    assert sorted(seen["override"][2]) == [("ok",), ("wait",)]   # only M(as_of)-1 missing: declared late


if __name__ == "__main__":  # the same comparisons on any built warehouse (e.g. a held-out input folder's)
    if len(sys.argv) < 2:
        sys.exit("usage: python tests/test_drift.py WAREHOUSE.duckdb [POLICY.yaml]")
    wh = duckdb.connect(sys.argv[1], read_only=True)
    day = wh.sql("SELECT max(as_of) FROM permit_status").fetchall()[0][0]
    problems = window_disagreements(wh) + candidate_disagreements(
        wh, Path(sys.argv[2]) if len(sys.argv) > 2 else PACKAGED_POLICY, day)
    n_p = wh.sql("SELECT count(*) FROM permit_status WHERE status = 'active'").fetchall()[0][0]
    n_c = wh.sql("SELECT count(*) FROM candidates").fetchall()[0][0]
    print(f"as_of {day}: {n_p} active permits, {n_c} candidates compared; {len(problems)} disagreements")
    print("\n".join(problems[:50]))
    sys.exit(1 if problems else 0)
