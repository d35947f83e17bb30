"""The candidates judged in the rule step (candidate_applications / candidate_checks)
give the candidates mart the rule book's verdicts, as the mart judging them itself
does, and a stale result (other as_of, other run) is not read (docs/performance.md,
"The marts after issue 14")."""
from __future__ import annotations

import datetime as dt

import duckdb

import assets.marts.candidates as mart
from assets.marts.prepare import prepare
from assets.marts.sample import small_world
from assets.rules.core import evaluate_rulebook
from assets.settings import PACKAGED_POLICY

A = dt.date(2026, 6, 15)


def _candidates(con, as_of: dt.date = A) -> list[tuple]:
    """The candidates mart alone (its preparation and builder, as build_all runs them)."""
    prepare(con, as_of, PACKAGED_POLICY)
    mart.build_candidates(con, as_of)
    return con.sql("SELECT * EXCLUDE (as_of) FROM candidates ORDER BY ALL").fetchall()


def test_rule_step_verdicts_equal_the_marts_own_and_stale_ones_are_not_read(monkeypatch):
    calls: list[str] = []  # each time the mart judges the candidates itself
    real = mart.evaluate_candidates
    monkeypatch.setattr(mart, "evaluate_candidates", lambda *a, **k: calls.append("mart") or real(*a, **k))
    con = duckdb.connect()
    small_world(con)
    evaluate_rulebook(con, A, "r1", PACKAGED_POLICY, with_gx=False, candidates=True)
    assert con.sql("SELECT count(*) FROM candidate_applications").fetchall()[0][0] > 0
    assert con.sql("SELECT count(DISTINCT state) FROM candidate_checks").fetchall()[0][0] >= 2
    from_rule_step = _candidates(con)
    assert calls == [] and from_rule_step  # read from the rule step
    later = A + dt.timedelta(days=40)
    _candidates(con, later)  # another as_of than the rule step's: judged in the mart
    assert calls == ["mart"]
    assert {r[0] for r in con.sql("SELECT DISTINCT as_of FROM candidates").fetchall()} == {later}
    # another run's rule-layer findings in the warehouse: the saved verdicts are not read,
    # and the mart's own verdicts are the rule step's
    con.execute("UPDATE findings SET run_id = 'r2' WHERE rule_id IN (SELECT rule_id FROM rules WHERE engine = 'sql')")
    assert _candidates(con) == from_rule_step
    assert calls == ["mart", "mart"]
