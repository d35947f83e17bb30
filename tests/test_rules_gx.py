"""Great Expectations agrees with the findings, rule by rule; Data Docs are
built; the suites load whole; the Dagster asset and its checks run."""
from __future__ import annotations

import json

import pytest

from test_rules_helpers import E1, E2, P1, base_tables, contributions_for, pid, run_rules, usc

import great_expectations  # noqa: E402,F401  (a dependency: missing = a failure, not a skip)

AS_OF = "2026-06-15"
PB = pid("19500101", male=True, seq=81)   # 76 years old
PR = pid("19880101", male=False, seq=82)
E3 = usc("91110108MA01QQQQ1")


def kitchen_sink() -> dict:
    """A small warehouse in which every rule of the rule layer fires at least once."""
    t = base_tables()
    bad_person = dict(t["persons"][0], id_number=PB, highest_degree="none", title_level="none", housing_type="none",
                      degree_study_mode="full_time", work_start_date="2010-06-01", graduation_date="2010-07-01",
                      achievements="短", photo_format="png")
    t["persons"] += [bad_person, dict(t["persons"][0], id_number=PR, achievements="短")]
    t["employers"] += [dict(t["employers"][0], uscc=E2, entity_type="foreign_branch", account_opened_on=None,
                            established_on="2026-01-01", registered_capital_cny=None, name_changed_on="2026-01-01",
                            district="chaoyang"),
                       dict(t["employers"][0], uscc=E3, last_annual_inspection_on="2024-01-01")]
    others = [pid("19900101", seq=s) for s in range(83, 89)]
    t["persons"] += [dict(t["persons"][0], id_number=o) for o in others]
    t["permits"] = [dict(permit_no=f"B{i}", id_number=o, uscc=E2, issued_on="2025-01-01", expires_on=e,
                         status="active", last_inspection_on="2026-01-01")
                    for i, (o, e) in enumerate(zip(others, ["2026-09-01", "2026-07-01", "2026-05-01",
                                                            "2028-01-01", "2028-01-01", "2028-01-01"]))]
    t["permits"] += [dict(permit_no="PB1", id_number=PB, uscc=E2, issued_on="2024-01-01", expires_on="2028-01-01",
                          status="active", last_inspection_on="2024-01-01", photo_sha256="aa"),
                     dict(permit_no="PB2", id_number=PB, uscc=E3, issued_on="2024-01-01", expires_on="2028-01-01",
                          status="active", last_inspection_on="2026-01-01"),
                     dict(permit_no="XR", id_number=PR, uscc=E1, issued_on="2024-12-31", expires_on="2027-12-31",
                          status="active", last_inspection_on="2026-01-01"),
                     dict(permit_no="DF", id_number=others[0], uscc=E1, issued_on="2020-01-01",
                          expires_on="2027-01-01", status="deferred_cancellation", deferred_on="2025-01-01")]
    t["employments"] += [dict(id_number=PR, uscc=E1, hired_on="2020-01-01", contract_end_on="2026-07-01"),
                         dict(id_number=others[0], uscc=E2, hired_on="2020-01-01", left_on="2026-01-01")]
    t["contributions"] += contributions_for(PR, "2025-01", "2025-12")
    t["applications"] += [
        dict(application_id="BAD", type="new", id_number=PB, uscc=E2, submitted_on="2026-06-10", status="draft"),
        dict(application_id="REN", type="renewal", id_number=PR, uscc=E1, permit_no="XR", submitted_on="2026-06-10",
             status="employer_submitted"),
        dict(application_id="XF", type="employer_change", id_number=PB, uscc=E1, permit_no="PB1",
             submitted_on="2026-06-10", status="under_review"),
        dict(application_id="RS", type="reissue", id_number=PB, uscc=E2, permit_no="PB1", photo_sha256="bb",
             submitted_on="2026-06-10", status="returned"),
        dict(application_id="SLA", type="address_change", id_number=P1, uscc=E1, window_submitted_on="2025-12-20",
             decided_on="2026-01-30", status="approved"),
    ]
    t["dependents"] = [dict(holder_id_number=PR, id_number=pid("19900505", male=True, seq=91), relation="spouse",
                            name="配偶"),
                       dict(holder_id_number=PR, id_number=pid("20080101", male=False, seq=92), relation="child",
                            name="子女")]
    # v2: an enterprise below the capital threshold (P1 applies there: paid by E1, so ELIG-WITHHOLDER too)
    t["employers"][2]["registered_capital_cny"] = 500_000
    t["applications"].append(dict(application_id="CAP", type="new", id_number=P1, uscc=E3, submitted_on="2026-06-10",
                                  status="draft"))
    # v2: the renewing holder PR is paid by another company in the last months (NC-WITHHOLDER)
    t["contributions"] += contributions_for(PR, "2026-01", "2026-04", withholder_name="北京别家科技有限公司")
    # v2: foreign holders with passports and work permits
    t["persons"] += [dict(t["persons"][0], id_number="E12345678", id_type="passport", birth_date="1985-03-01",
                          gender="F", nationality="美国", work_permit_no="WP1", work_permit_expires_on="2026-07-01"),
                     dict(t["persons"][0], id_number="G7654321", id_type="passport", birth_date="1980-03-01",
                          gender="M", nationality="德国", work_permit_no="WP2", work_permit_expires_on="2026-01-01")]
    t["permits"] += [dict(permit_no="FP1", id_number="E12345678", uscc=E1, issued_on="2025-01-01",
                          expires_on="2028-01-01", status="active", last_inspection_on="2026-01-01"),
                     dict(permit_no="FP2", id_number="G7654321", uscc=E1, issued_on="2025-01-01",
                          expires_on="2028-01-01", status="active", last_inspection_on="2026-01-01"),
                     dict(permit_no="DF2", id_number=others[1], uscc=E1, issued_on="2020-01-01",
                          expires_on="2027-01-01", status="deferred_cancellation", deferred_on="2026-01-01")]
    t["applications"].append(dict(application_id="FWP", type="new", id_number="G7654321", uscc=E1,
                                  submitted_on="2026-06-10", status="draft"))
    # v2: one waiver in use (E2's branch quota), one whose condition is gone (E1 is no branch)
    t["waivers"] = [dict(rule_id="EMP-BRANCH-QUOTA", entity_key=E2, reason="重点企业", approved_by="市人才中心",
                         approved_on="2026-01-01"),
                    dict(rule_id="EMP-BRANCH-QUOTA", entity_key=E1, reason="重点企业", approved_by="市人才中心",
                         approved_on="2026-01-01", expires_on="2026-06-15")]
    return t


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    work = tmp_path_factory.mktemp("rules-work")
    rows, res, con = run_rules(kitchen_sink(), AS_OF, work_dir=work, with_gx=True)
    yield {"rows": rows, "res": res, "con": con, "work": work}
    con.close()


def test_every_rule_fires_in_the_kitchen_sink(sink):
    from expectations.engine import sql_rules

    counts = {rid: r["count"] for rid, r in sink["res"]["rules"].items()}
    silent = [rid for rid in sql_rules() if counts.get(rid, 0) == 0]
    assert silent == []


def test_gx_unexpected_count_equals_findings_count_for_every_rule(sink):
    from expectations.engine import sql_rules

    con = sink["con"]
    db = dict(con.sql("SELECT rule_id, count(*) FROM findings GROUP BY rule_id").fetchall())
    for rid in sql_rules():
        r = sink["res"]["rules"][rid]
        assert r["gx_unexpected"] == r["count"] == db.get(rid, 0), rid
        assert r["gx_success"] is (r["count"] == 0)
        assert r["gx_evaluated"] == r["evaluated"], rid


def test_samples_mask_id_numbers(sink):
    r = sink["res"]["rules"]["DQ-DUP-ACTIVE-PERMIT"]
    assert r["sample"] == [PB[:6] + "********" + PB[-4:]]
    text = json.dumps(sink["res"], ensure_ascii=False)
    assert PB not in text and PR not in text


def test_datadocs_and_results_written(sink):
    from assets.rules.core import read_results

    docs = sink["work"] / "datadocs"
    assert (docs / "index.html").exists()
    pages = list(docs.rglob("*.html"))
    html = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in pages)
    assert "ELIG-TALENT" in html
    for guard in ("applications", "permits", "employers", "persons", "dependents"):
        assert f"rulebook_{guard}" in html, guard  # every suite's validation is in the site
    assert PB not in html
    saved = read_results(sink["work"])
    assert saved["rules"]["ELIG-TALENT"]["count"] == sink["res"]["rules"]["ELIG-TALENT"]["count"]


def test_district_override_changes_a_finding_and_is_named(tmp_path):
    pol = tmp_path / "policy.yaml"
    import yaml

    from assets.settings import PACKAGED_POLICY

    doc = yaml.safe_load(PACKAGED_POLICY.read_text(encoding="utf-8"))
    doc["districts"] = {"haidian": {"min_capital_cny": 6_000_000}}
    pol.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    t = base_tables()  # E1 in haidian with capital 5,000,000
    rows, _, con = run_rules(t, AS_OF)
    assert not [r for r in rows if r["rule_id"] == "ELIG-EMPLOYER-CAPITAL"]
    rows, _, con = run_rules(t, AS_OF, policy=pol)
    r = [r for r in rows if r["rule_id"] == "ELIG-EMPLOYER-CAPITAL"]
    assert len(r) == 1
    d = json.loads(r[0]["detail"])
    assert d["policy"]["district"] == "haidian" and d["policy"]["overrides"] == ["min_capital_cny"]
    assert float(d["min_capital_cny"]) == 6_000_000
    assert con.sql("SELECT DISTINCT policy FROM findings_history").fetchall() == [(f"{doc['version']} / haidian",)]
    # another district keeps the defaults
    t["employers"][0]["district"] = "chaoyang"
    rows, _, con = run_rules(t, AS_OF, policy=pol)
    assert not [r for r in rows if r["rule_id"] == "ELIG-EMPLOYER-CAPITAL"]


def test_rerun_is_idempotent_and_keeps_other_layers(sink):
    from assets.rules.core import evaluate_rulebook
    from assets.settings import PACKAGED_POLICY
    import datetime as dt

    con = sink["con"]
    con.execute("INSERT INTO findings (run_id, rule_id, severity, entity_type, entity_key) "
                "VALUES ('test-run', 'DQ-REQUIRED', 'error', 'record', 'persons.csv:3')")
    before = con.sql("SELECT count(*) FROM findings").fetchall()[0][0]
    evaluate_rulebook(con, dt.date.fromisoformat(AS_OF), "test-run", PACKAGED_POLICY, with_gx=False)
    assert con.sql("SELECT count(*) FROM findings").fetchall()[0][0] == before
    assert con.sql("SELECT count(*) FROM findings_history WHERE run_id = 'test-run'").fetchall()[0][0] == before
    assert con.sql("SELECT count(*) FROM findings WHERE rule_id = 'DQ-REQUIRED'").fetchall()[0][0] == 1
