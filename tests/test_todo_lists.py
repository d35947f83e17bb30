"""To-do lists cover every action the employer owes (issue 16 item 4), and waived
findings are not open work anywhere (issue 15, rules.md § Waivers).

- every finding whose rule names a to-do list (``todo:`` in the rule YAML) and that is
  charged to an employer appears on exactly ONE list of that employer: a waived one
  only on the waived list; one of an entity with a superseding finding (a permit to
  cancel) on that finding's list; else on its rule's list — on the demo warehouse
  (the session fixture) and on property-generated warehouses with random waivers;
- the counts of permit_status, employer_summary and the bureau marts leave waived
  findings out;
- every employer's ``todo.xlsx`` of the demo site has every sheet, a frozen header,
  rows sorted by the date to act by, and the columns (and row count) of its page table.

The expected list of a finding is read here from the rule YAML keys and the findings
alone (an independent reading of docs/marts.md § To-do lists), not from todo_items.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from pathlib import Path

import duckdb
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.marts.build import build_all
from assets.marts.todo import TODO_LISTS
from assets.rules.core import evaluate_rulebook
from assets.settings import PACKAGED_POLICY
from expectations.rulebook import load_rules
from reports.todo_lists import TODO_LISTS as SHOWN_LISTS
from test_drift import A, build_world, employer_st, person_st  # the drift test's generated warehouses

# the column naming a row's entity (the findings' entity_key) in each list's mart
ENTITY_COLUMN = {"renewals": "permit_no", "cancellations": "permit_no", "contribution_gaps": "permit_no",
                 "withholder_mismatches": "permit_no", "applications": "application_id", "inspections": "permit_no",
                 "employer": "uscc", "reissues": "permit_no", "dependents": "dependent_id_number",
                 "deferrals_ending": "permit_no", "work_permits": "permit_no", "waived": "entity_key"}
# rules that ask no employer to act (docs/marts.md § To-do lists): every other rule of an
# employer-facing entity must name a list
NO_LIST = {"SLA-15WD", "WAIVER-UNUSED", "DQ-DUP-ACTIVE-PERMIT", "DQ-ID-MISMATCH"}
# docs/marts.md § bureau_employer_ranking: which findings are an employer's non-compliance
NONCOMPLIANCE = "(rule_id LIKE 'NC-%' OR rule_id LIKE 'EMP-%' OR rule_id IN ('EXP-LAPSED', 'XFER-DEFERRAL-EXPIRED'))"


def yaml_routes() -> dict[str, tuple[str, set[str]]]:
    return {rid: (r["todo"], set(r.get("todo_supersedes") or ())) for rid, r in load_rules().items() if r.get("todo")}


def list_disagreements(con) -> list[str]:
    """Findings not on exactly their one expected list, and list rows that are no finding."""
    routes = yaml_routes()
    carried: dict[tuple, list[str]] = defaultdict(list)
    for key, mart in TODO_LISTS.items():
        if key == "candidates":
            continue
        cols = [c for c in con.sql(f"SELECT * FROM {mart} LIMIT 0").columns if c.endswith("rule_ids")]
        for uscc, entity, *rule_cols in con.sql(
                f"SELECT uscc, {ENTITY_COLUMN[key]}, {', '.join(cols)} FROM {mart}").fetchall():
            for v in rule_cols:
                for rid in (v or "").split(","):
                    if rid:
                        carried[(uscc, rid, entity)].append(key)
    findings = con.sql("SELECT uscc, rule_id, entity_type, entity_key, coalesce(waived, false) FROM findings "
                       "WHERE uscc IS NOT NULL").fetchall()
    superseding: dict[tuple, set[tuple[int, str]]] = defaultdict(set)
    order = {k: i for i, k in enumerate(TODO_LISTS)}
    for uscc, rid, etype, key, waived in findings:
        if rid in routes and not waived:
            for lst in routes[rid][1]:
                superseding[(uscc, etype, key, lst)].add((order[routes[rid][0]], routes[rid][0]))
    bad, expected_keys = [], set()
    for uscc, rid, etype, key, waived in findings:
        if rid not in routes:
            continue
        own = routes[rid][0]
        sup = superseding.get((uscc, etype, key, own))
        want = "waived" if waived else (min(sup)[1] if sup else own)
        got = carried.get((uscc, rid, key), [])
        expected_keys.add((uscc, rid, key))
        if got != [want]:
            bad.append(f"{rid} {key} ({uscc}): on {got or 'no list'}, expected [{want}]")
    bad += [f"{rid} {key} ({u}) on {lists}: not a finding" for (u, rid, key), lists in carried.items()
            if (u, rid, key) not in expected_keys]
    return bad


def waived_count_disagreements(con) -> list[str]:
    """The open counts of permit_status, employer_summary and the bureau marts leave waived findings out."""
    bad = []
    want = dict(con.sql("SELECT entity_key, count(*) FILTER (WHERE NOT coalesce(waived, false)) FROM findings "
                        "WHERE entity_type = 'permit' GROUP BY ALL").fetchall())
    for permit, n in con.sql("SELECT permit_no, open_findings FROM permit_status").fetchall():
        if n != want.get(permit, 0):
            bad.append(f"permit_status {permit}: open_findings {n}, not waived {want.get(permit, 0)}")
    want = {r[0]: r[1:] for r in con.sql(
        "SELECT uscc, count(*) FILTER (WHERE severity = 'error' AND NOT coalesce(waived, false)), "
        "count(*) FILTER (WHERE severity = 'warning' AND NOT coalesce(waived, false)), "
        "count(*) FILTER (WHERE coalesce(waived, false)) FROM findings WHERE uscc IS NOT NULL GROUP BY ALL").fetchall()}
    for uscc, *got in con.sql("SELECT uscc, findings_error, findings_warning, findings_waived "
                              "FROM employer_summary").fetchall():
        if tuple(got) != tuple(want.get(uscc, (0, 0, 0))):
            bad.append(f"employer_summary {uscc}: {got}, expected {want.get(uscc, (0, 0, 0))}")
    want = {r[0]: r[1:] for r in con.sql(
        "SELECT rule_id, count(*) FILTER (WHERE NOT coalesce(waived, false)), "
        "count(*) FILTER (WHERE coalesce(waived, false)) FROM findings GROUP BY ALL").fetchall()}
    got = {r[0]: r[1:] for r in con.sql("SELECT rule_id, findings, waived FROM bureau_findings_by_rule").fetchall()}
    if got != want:
        bad.append(f"bureau_findings_by_rule {got} != {want}")
    kpi = dict(con.sql("SELECT kpi, value FROM bureau_kpis").fetchall())
    errors = con.sql("SELECT count(*) FILTER (WHERE severity = 'error' AND NOT coalesce(waived, false)), "
                     "count(*) FILTER (WHERE coalesce(waived, false)) FROM findings").fetchall()[0]
    if (kpi["findings_error"], kpi["findings_waived"]) != errors:
        bad.append(f"bureau_kpis errors/waived {kpi['findings_error']}/{kpi['findings_waived']} != {errors}")
    nc = dict(con.sql(f"SELECT uscc, count(*) FROM findings WHERE NOT coalesce(waived, false) AND {NONCOMPLIANCE} "
                      "AND uscc IS NOT NULL GROUP BY ALL").fetchall())
    for uscc, n in con.sql("SELECT uscc, noncompliance_findings FROM bureau_employer_ranking").fetchall():
        if n != nc.get(uscc):
            bad.append(f"bureau_employer_ranking {uscc}: {n}, not waived {nc.get(uscc)}")
    return bad


def test_every_employer_facing_rule_names_its_list():
    rules = load_rules()
    missing = [rid for rid, r in rules.items() if r["entity_type"] in ("permit", "application", "employer", "dependent")
               and not r.get("todo") and rid not in NO_LIST]
    assert missing == []
    assert rules["NC-LEFT-NOT-CANCELLED"]["todo"] == "cancellations"
    assert "renewals" in rules["NC-LEFT-NOT-CANCELLED"]["todo_supersedes"]  # a leaver is not also a renewal
    assert set(ENTITY_COLUMN) == set(TODO_LISTS) - {"candidates"}


# --------------------------------------------------------------------------- demo warehouse
@pytest.mark.slow
def test_demo_findings_are_each_on_exactly_one_list(demo_run):
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    try:
        assert list_disagreements(con) == []
        # the demo has waivers that match, a holder who left while due for renewal is not a renewal
        assert con.sql("SELECT count(*) FROM todo_waived").fetchall()[0][0] >= 1
        assert con.sql("SELECT count(*) FROM todo_renewals r JOIN todo_cancellations c USING (permit_no)"
                       ).fetchall()[0][0] == 0
        for key, mart in TODO_LISTS.items():  # every list has rows on the demo data
            if key != "candidates":
                assert con.sql(f"SELECT count(*) FROM {mart}").fetchall()[0][0] > 0, mart
        assert waived_count_disagreements(con) == []
    finally:
        con.close()


def _page_data(path: Path) -> dict:
    m = re.search(r'<script type="application/json" id="page-data">(.*?)</script>',
                  path.read_text(encoding="utf-8"), re.S)
    return json.loads(m.group(1))


@pytest.mark.slow
def test_demo_todo_workbooks_match_their_page_tables(demo_run):
    site = Path(demo_run["site"])
    meta = json.loads((site / "assets" / "meta.js").read_text(encoding="utf-8").split("=", 1)[1].strip().rstrip(";"))
    page_tables = {t["key"]: t for t in meta["employer"]["tables"]}
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    try:
        # the employers with the most to-do rows, and every employer with a waived finding
        busiest = [r[0] for r in con.sql(
            "SELECT uscc FROM todo_items GROUP BY uscc ORDER BY count(*) DESC, uscc LIMIT 6").fetchall()]
        busiest += [r[0] for r in con.sql("SELECT DISTINCT uscc FROM todo_waived").fetchall()]
        counts = {(r[0], r[1]): r[2] for t in SHOWN_LISTS for r in con.sql(
            f"SELECT uscc, '{t.key}', count(*) FROM {t.mart} GROUP BY uscc").fetchall()}
    finally:
        con.close()
    seen_rows = 0
    for uscc in dict.fromkeys(busiest):
        wb = openpyxl.load_workbook(site / "employers" / uscc / "todo.xlsx")
        d = _page_data(site / "employers" / uscc / "index.html")
        assert wb.sheetnames == [t.sheet for t in SHOWN_LISTS] + ["说明"]
        for t in SHOWN_LISTS:
            ws = wb[t.sheet]
            assert ws.freeze_panes == "A2", t.sheet
            header = [c.value for c in ws[1]]
            assert header == [c["zh"] for c in page_tables[t.key]["columns"]], t.sheet  # same columns as the page
            rows = list(ws.iter_rows(min_row=2, values_only=True))
            assert len(rows) == d["tables"][t.key]["n"] == counts.get((uscc, t.key), 0), (uscc, t.sheet)
            seen_rows += len(rows)
            first = t.sort[0]
            j = [c for c, _, _, _ in t.columns].index(first)
            dates = [r[j] for r in rows]
            present = [x for x in dates if x is not None]
            assert present == sorted(present), (uscc, t.sheet)  # sorted by the date to act by
            assert dates[:len(present)] == present, (uscc, t.sheet)  # empty dates last
            for r in rows:
                assert not any(isinstance(v, str) and re.search(r"\d{17}[\dXx]", v) for v in r), (uscc, t.sheet)
    assert seen_rows > 0


# --------------------------------------------------------------------------- generated warehouses
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_generated_findings_are_each_on_exactly_one_list(data):
    employers = data.draw(st.lists(employer_st, min_size=3, max_size=3))
    people = data.draw(st.lists(person_st, min_size=4, max_size=9))
    con = duckdb.connect()
    try:
        build_world(con, employers, people)
        evaluate_rulebook(con, A, "t", PACKAGED_POLICY, with_gx=False)
        keys = con.sql("SELECT rule_id, entity_key FROM findings WHERE uscc IS NOT NULL ORDER BY ALL").fetchall()
        chosen = data.draw(st.sets(st.integers(0, max(len(keys) - 1, 0)), max_size=6)) if keys else set()
        for i in sorted(chosen):  # an approved exception for these findings
            con.execute("UPDATE findings SET waived = true, detail = json_merge_patch(detail, ?) "
                        "WHERE rule_id = ? AND entity_key = ?",
                        [json.dumps({"waiver": {"reason": "测试例外", "approved_by": "区人才服务中心",
                                                "approved_on": "2026-01-05", "expires_on": None}}), *keys[i]])
        build_all(con, A, PACKAGED_POLICY)
        assert list_disagreements(con) == []
        assert waived_count_disagreements(con) == []
        # a waived finding's row says why and since when
        for reason, approved in con.sql("SELECT waiver_reason, approved_on FROM todo_waived").fetchall():
            assert reason == "测试例外" and approved == dt.date(2026, 1, 5)
    finally:
        con.close()
