"""The rule book as data: every file loads whole, every spec rule is there
once, templates compile, the rules table holds every rule (ingest too)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from expectations.rulebook import RULES_DIR, RuleBookError, load_rules

RULE_LAYER_IDS = {
    "ELIG-EMPLOYER-NOT-OPENED", "ELIG-EMPLOYER-AGE-1Y", "ELIG-EMPLOYER-CAPITAL", "ELIG-BRANCH-QUOTA", "ELIG-TALENT",
    "ELIG-TENURE-6M", "ELIG-AGE-LIMIT", "ELIG-RESIDENCE", "ELIG-CONTRIB-6M", "ELIG-WORK-BEFORE-GRAD",
    "ELIG-WORK-GAP-2M", "ELIG-EDU-NO-HIGH-SCHOOL", "ELIG-ACHIEVEMENT-200", "ELIG-PHOTO", "ELIG-DUP-REGISTRATION",
    "RENEW-OUTSIDE-WINDOW", "RENEW-CONTRIB-GAP", "RENEW-ACHIEVEMENT-200", "RENEW-CONTRACT-SHORT",
    "XFER-OLD-NOT-CANCELLED", "REISSUE-PHOTO-MISMATCH", "EXP-DUE-90", "EXP-WINDOW-OPEN", "EXP-LAPSED",
    "NC-LEFT-NOT-CANCELLED", "NC-CONTRIB-GAP", "NC-INSPECTION-OVERDUE", "NC-NAME-CHANGE-REISSUE",
    "XFER-DEFERRAL-EXPIRED", "EMP-BRANCH-QUOTA", "EMP-INSPECTION-OVERDUE", "DQ-DUP-ACTIVE-PERMIT",
    "DEP-SPOUSE-NO-CERT", "DEP-CHILD16-NO-PROOF", "SLA-15WD",
    # v2
    "ELIG-WITHHOLDER", "ELIG-WORK-PERMIT", "RENEW-WITHHOLDER", "NC-WITHHOLDER", "NC-WORK-PERMIT-EXPIRED",
    "EXP-WORK-PERMIT-DUE", "XFER-DEFERRAL-ENDING", "WAIVER-UNUSED",
}
ENTITY = {"EMP-": "employer", "DQ-DUP-ACTIVE-PERMIT": "person", "DEP-": "dependent", "EXP-": "permit",
          "NC-": "permit", "XFER-DEFERRAL": "permit", "WAIVER-": "record"}
SPEC_RULES = Path(__file__).resolve().parent.parent.parent / "shared" / "spec" / "rules.md"  # ../shared/spec of the checkout


def test_every_rule_file_loads_whole():
    raw = 0
    for p in sorted(RULES_DIR.glob("*.yaml")):
        raw += len(yaml.safe_load(p.read_text(encoding="utf-8")) or [])
    assert len(load_rules()) == raw


def test_rule_layer_has_exactly_the_spec_rules():
    from expectations.engine import sql_rules

    assert set(sql_rules()) == RULE_LAYER_IDS
    for rid, r in sql_rules().items():
        want = next((v for k, v in ENTITY.items() if rid.startswith(k)), "application")
        assert r["entity_type"] == want, rid
        assert r["title_zh"] and r["title_en"] and r["source"]


def test_spec_rule_ids_match():
    text = SPEC_RULES.read_text(encoding="utf-8")
    ingest = text[text.index("## Ingest"):text.index("## New applications")]
    row = r"^\| ([A-Z0-9-]+)(?: \*\(v2\)\*)? \|"  # v2 rows carry a "*(v2)*" mark after the id
    spec_ids = set(re.findall(row, text, re.M)) - set(re.findall(row, ingest, re.M))
    assert spec_ids == RULE_LAYER_IDS
    sev = {m[0]: m[1] for m in re.findall(row + r" \**(error|warning|info)\**", text, re.M)}
    assert sev["ELIG-EMPLOYER-AGE-1Y"] == "warning" and sev["WAIVER-UNUSED"] == "info"
    rules = load_rules()
    for rid in RULE_LAYER_IDS:
        if rid in sev:
            assert rules[rid]["severity"] == sev[rid], rid


def test_gx_suites_load_whole():
    from expectations.gx_suites import build_suites, expectation_dicts

    suites = build_suites()
    dicts = expectation_dicts()
    assert sum(len(s.expectations) for ss in suites.values() for s in ss) == len(RULE_LAYER_IDS)
    for guard, ss in suites.items():  # one suite per rule, named after its guard and rule
        assert [len(s.expectations) for s in ss] == [1] * len(ss)
        assert {s.name: s.expectations[0].meta["rule_id"] for s in ss} == {
            f"rulebook_{guard}.{d['meta']['rule_id']}": d["meta"]["rule_id"] for d in dicts[guard]}


def test_broken_rule_files_fail_loudly(tmp_path):
    (tmp_path / "a.yaml").write_text("- rule_id: X\n  severity: fatal\n", encoding="utf-8")
    with pytest.raises(RuleBookError, match="a.yaml"):
        load_rules(tmp_path)
    (tmp_path / "a.yaml").write_text("- rule_id: X\n  title_en: a: b\n", encoding="utf-8")
    with pytest.raises(RuleBookError, match="a.yaml"):
        load_rules(tmp_path)


def test_template_with_unknown_field_is_refused():
    import duckdb

    from expectations.engine import compile_template

    with pytest.raises(RuleBookError, match="nope"):
        compile_template("x {nope}", {"a": "DATE"}, "t")
    con = duckdb.connect()
    con.execute("CREATE TEMP MACRO dstr(d) AS strftime(d, '%Y-%m-%d')")
    sql = compile_template("到 {a} 为止 {b}", {"a": "DATE", "b": "INTEGER"}, "t")
    assert con.sql(f"SELECT {sql} FROM (SELECT DATE '2024-02-29' AS a, 7 AS b) f").fetchall() == [("到 2024-02-29 为止 7",)]


def test_rules_table_holds_all_rules_including_ingest():
    from test_rules_helpers import base_tables, run_rules

    _, _, con = run_rules(base_tables())
    ids = {r for (r,) in con.sql("SELECT rule_id FROM rules").fetchall()}
    assert ids == set(load_rules())
    assert RULE_LAYER_IDS < ids
    cols = [c for (c,) in con.sql("SELECT column_name FROM (DESCRIBE rules)").fetchall()]
    assert cols[:6] == ["rule_id", "severity", "entity_type", "title_zh", "title_en", "source"]


def test_every_threshold_a_finding_used_is_named_in_its_detail(ro_con):
    """rules.md § Policy parameters (v2): a finding's detail names the policy version and the values
    it used. Every policy parameter a rule's facts read from `_policy` (``p.<name>``) is a key of the
    detail of each of its findings on the demo data."""
    from assets.settings import PACKAGED_POLICY
    from core.policy import load_policy

    params = set(load_policy(PACKAGED_POLICY).defaults) - {"contribution_kinds"}  # kinds: a list, named as such
    checked = 0
    for rid, r in load_rules().items():
        facts = (r.get("check") or {}).get("facts") or ""
        if "_policy p" not in facts:
            continue
        used = set(re.findall(r"\bp\.([a-z_]+)", facts)) & params
        for (detail,) in ro_con.execute("SELECT detail FROM findings WHERE rule_id = ?", [rid]).fetchall():
            d = json.loads(detail)
            assert "policy" in d and not (used - set(d)), (rid, sorted(used - set(d)))
            checked += 1
    assert checked > 100


def test_rule_step_judges_rule_by_rule_drops_the_facts_and_checks_one_finding_per_entity():
    """evaluate (the rule step) judges each rule in turn: its breaking rows go to
    _run_findings, its ok values (what GX validates) stay with its RuleFacts, and its facts
    table is dropped; a rule with two findings for one entity is named."""
    import datetime as dt

    import duckdb

    from assets.settings import PACKAGED_POLICY
    from core.policy import load_policy
    from expectations.engine import STANDARD, ensure_input_tables, evaluate, prepare
    from expectations.testing import make_warehouse
    from test_rules_helpers import base_tables

    con = duckdb.connect()
    make_warehouse(con, **base_tables())
    ensure_input_tables(con)
    prepare(con, dt.date(2026, 6, 15), load_policy(PACKAGED_POLICY))
    std = ", ".join(f"NULL AS {c}" for c in STANDARD if c not in ("entity_key", "breaks"))

    def rule(rid: str, facts: str) -> dict:
        return {"rule_id": rid, "file": "t.yaml", "severity": "warning", "entity_type": "person",
                "message_zh": "{n}", "message_en": "{n}", "check": {"engine": "sql", "guards": "persons", "facts": facts}}

    good = rule("T-GOOD", f"SELECT 'a' AS entity_key, true AS breaks, 1 AS n, {std} UNION ALL "
                          f"SELECT 'b', NULL, 2, NULL, NULL, NULL, NULL UNION ALL SELECT 'c', false, 3, NULL, NULL, NULL, NULL")
    facts = evaluate(con, "t", {"T-GOOD": good})
    assert (facts["T-GOOD"].evaluated, facts["T-GOOD"].broken) == (3, 1)
    assert sorted(facts["T-GOOD"].ok.to_pylist()) == [False, True, True]  # NULL breaks = passes
    assert con.sql("SELECT entity_key, message_zh FROM _run_findings").fetchall() == [("a", "1")]
    assert con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%facts%'").fetchall() == [(0,)]
    dup = rule("T-DUP", f"SELECT 'a' AS entity_key, true AS breaks, 1 AS n, {std} UNION ALL "
                        f"SELECT 'a', true, 2, NULL, NULL, NULL, NULL")
    with pytest.raises(RuleBookError, match="t.yaml: T-DUP: facts have 1 duplicate"):
        evaluate(con, "t", {"T-GOOD": good, "T-DUP": dup})


def test_facts_are_checked_per_rule_and_name_it():
    """materialise_rules checks every rule's facts (its columns from the catalog, one count
    query for all of them) and names the rule whose facts are wrong."""
    import duckdb

    from expectations.engine import STANDARD, materialise_rules

    con = duckdb.connect()
    std = ", ".join(f"NULL AS {c}" for c in STANDARD if c not in ("entity_key", "breaks"))

    def rule(rid: str, facts: str) -> dict:
        return {"rule_id": rid, "file": "t.yaml", "check": {"facts": facts}}

    good = rule("T-GOOD", f"SELECT 'a' AS entity_key, true AS breaks, 1 AS n, {std} UNION ALL "
                          f"SELECT 'b', false, 2, NULL, NULL, NULL, NULL")
    facts = materialise_rules(con, {"T-GOOD": good})
    assert (facts["T-GOOD"].evaluated, facts["T-GOOD"].broken, facts["T-GOOD"].detail_cols) == (2, 1, ["n"])
    dup = rule("T-DUP", f"SELECT 'a' AS entity_key, true AS breaks, {std} UNION ALL SELECT 'a', true, NULL, NULL, NULL, NULL")
    with pytest.raises(RuleBookError, match="t.yaml: T-DUP: facts have 1 duplicate"):
        materialise_rules(con, {"T-GOOD": good, "T-DUP": dup})
    lacking = rule("T-LACK", "SELECT 'a' AS entity_key, true AS breaks")
    with pytest.raises(RuleBookError, match="T-LACK: facts lack column"):
        materialise_rules(con, {"T-GOOD": good, "T-LACK": lacking})
    with pytest.raises(RuleBookError, match="T-BAD: facts SQL failed"):
        materialise_rules(con, {"T-BAD": rule("T-BAD", "SELECT nope FROM nowhere")})
