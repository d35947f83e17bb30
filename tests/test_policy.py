"""Policy file: every bracketed parameter of rules.md, validation with clear
errors, and the typed _policy table."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml

from assets.settings import PACKAGED_POLICY
from core.policy import PolicyError, load_policy
from expectations.engine import create_policy_table

# the bracketed parameters of rules.md ("[name = default]") and outputs.md ([min_cell = 5])
SPEC_PARAMETERS = {
    "min_capital_cny": 1_000_000, "branch_quota": 5, "max_age_male": 60, "max_age_female": 55,
    "min_achievement_chars": 200, "photo_formats": ["jpg", "jpeg"], "photo_max_bytes": 204800,
    "photo_min_width": 295, "photo_min_height": 413, "contribution_kinds": ["income_tax", "social_insurance"],
    "expiry_notice_days": 90, "annual_inspection": True, "sla_working_days": 15, "min_cell": 5,
    # v2 (rules.md § Policy parameters)
    "contribution_lag_months": 2, "renewal_window_months": 1, "employer_age_months": 12,
    "capital_entity_types": ["enterprise"], "tenure_months": 6, "talent_work_months": 24,
    "new_contribution_months": 6, "renewal_contribution_months": 36, "work_gap_months": 2,
    "contract_margin_months": 6, "deferral_months": 6, "deferral_notice_days": 30, "child_proof_age": 16,
    "inspection_cycle_months": 12, "work_permit_notice_days": 90, "withholder_watch_months": 3,
}
SPEC_RULES = Path(__file__).resolve().parent.parent.parent / "shared" / "spec" / "rules.md"  # ../shared/spec of the checkout


def test_packaged_policy_has_every_spec_parameter_with_its_default():
    pol = load_policy(PACKAGED_POLICY)
    assert pol.defaults == SPEC_PARAMETERS


def test_bracket_names_in_rules_md_are_all_known():
    names = set(re.findall(r"\[([a-z_]+) =", SPEC_RULES.read_text(encoding="utf-8")))
    assert names and names <= set(SPEC_PARAMETERS)


def _write(tmp_path, doc) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize("districts,needle", [
    ({"atlantis": {"branch_quota": 3}}, "districts.atlantis"),
    ({"haidian": {"no_such_param": 1}}, "districts.haidian.no_such_param"),
    ({"haidian": {"min_capital_cny": "lots"}}, "districts.haidian.min_capital_cny"),
    ({"haidian": {"annual_inspection": 1}}, "districts.haidian.annual_inspection"),
])
def test_bad_overrides_name_file_and_key(tmp_path, districts, needle):
    p = _write(tmp_path, {"version": "t", "defaults": SPEC_PARAMETERS, "districts": districts})
    with pytest.raises(PolicyError) as e:
        load_policy(p)
    assert needle in str(e.value) and str(p) in str(e.value)


def test_parameter_names_must_be_identifiers(tmp_path):
    with pytest.raises(PolicyError, match="bad-name"):
        load_policy(_write(tmp_path, {"version": "x", "defaults": {**SPEC_PARAMETERS, "bad-name": 1}}))


def test_missing_file_and_missing_defaults(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match="defaults"):
        load_policy(_write(tmp_path, {"version": "x"}))


def test_policy_table_has_one_row_per_variant_with_bound_values(tmp_path):
    p = _write(tmp_path, {"version": "v1", "defaults": SPEC_PARAMETERS,
                          "districts": {"haidian": {"min_capital_cny": 2_000_000, "contribution_kinds": ["income_tax"]},
                                        "chaoyang": {"annual_inspection": False}}})
    pol = load_policy(p)
    con = duckdb.connect()
    create_policy_table(con, pol, {"income_tax": 1, "social_insurance": 2})
    rows = {r[0]: r[1:] for r in con.sql("SELECT pkey, policy_label, min_capital_cny, kinds_mask, annual_inspection, "
                                         "policy_overrides FROM _policy").fetchall()}
    assert rows["*"] == ("v1", 1_000_000, 3, True, [])
    assert rows["haidian"] == ("v1 / haidian", 2_000_000, 1, True, ["contribution_kinds", "min_capital_cny"])
    assert rows["chaoyang"] == ("v1 / chaoyang", 1_000_000, 3, False, ["annual_inspection"])


def test_contribution_kinds_override_changes_coverage(tmp_path):
    """A district that only asks for income tax does not flag a missing social-insurance month."""
    from test_rules_helpers import P1, base_tables, contributions_for, run_rules

    t = base_tables()
    t["contributions"] = contributions_for(P1, "2023-01", "2026-05", skip={"2026-03": ["social_insurance"]},
                                           withholder_uscc=base_tables()["employers"][0]["uscc"])
    rows, _, _ = run_rules(t)
    assert [r["rule_id"] for r in rows] == ["ELIG-CONTRIB-6M"]
    p = _write(tmp_path, {"version": "v1", "defaults": SPEC_PARAMETERS,
                          "districts": {"haidian": {"contribution_kinds": ["income_tax"]}}})
    rows, _, _ = run_rules(t, policy=p)
    assert rows == []
