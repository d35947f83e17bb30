"""The main proof of the rule book: on the demo data set, the pipeline's
findings equal the generator's answer key (expected_findings.csv) as a set of
(rule_id, entity_key), in both directions. Differences are printed per rule."""
from __future__ import annotations

import csv
from collections import defaultdict

import duckdb
import pytest


def _key(demo_data) -> set[tuple[str, str, bool]]:
    with open(demo_data["dir"] / "expected_findings.csv", encoding="utf-8", newline="") as fh:
        return {(r["rule_id"], r["entity_key"], r["waived"] == "true") for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_findings_equal_answer_key(demo_run):
    """(rule_id, entity_key, waived), as the held-out check compares them (v2)."""
    expected = _key(demo_run["data"])
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    try:
        got = set(con.sql("SELECT rule_id, entity_key, waived FROM findings").fetchall())
    finally:
        con.close()
    missing, extra = expected - got, got - expected
    per_rule = defaultdict(lambda: [0, 0, [], []])
    for r, *k in missing:
        per_rule[r][0] += 1
        per_rule[r][2].append(tuple(k))
    for r, *k in extra:
        per_rule[r][1] += 1
        per_rule[r][3].append(tuple(k))
    lines = [f"{r}: {m} expected but not found {sorted(mk)[:5]}; {e} found but not expected {sorted(ek)[:5]}"
             for r, (m, e, mk, ek) in sorted(per_rule.items())]
    print("\n".join(lines) or "findings == answer key")
    assert expected, "the answer key is empty"
    assert not missing and not extra, "findings differ from the answer key:\n" + "\n".join(lines)
