"""Shared builders for the rule-book tests (imported by tests/test_rules_*.py;
the one test here checks the builders themselves)."""
from __future__ import annotations

import copy
import datetime as dt

import duckdb

from expectations.testing import contributions_for, make_warehouse

from stdnum.cn import ric as stdnum_ric  # noqa: E402  (a dependency: missing = a failure, not a skip)


def pid(birth: str = "19900101", male: bool = True, area: str = "110105", seq: int = 12) -> str:
    """A valid resident ID number (GB 11643 check character via python-stdnum)."""
    body = f"{area}{birth}{seq:02d}{1 if male else 2}"
    return body + stdnum_ric.calc_check_digit(body + "0")


def usc(body17: str) -> str:
    from stdnum.cn import uscc

    return body17 + uscc.calc_check_digit(body17)


E1 = usc("91110108MA01ABCDE")
E2 = usc("91110105MA01XY123")
P1 = pid()


def base_tables(as_of: str = "2026-06-15", person: str = P1) -> dict[str, list[dict]]:
    """One employer and one fully eligible applicant with an open `new`
    application submitted 2026-06-10: no rule fires on it."""
    return {
        "employers": [dict(uscc=E1, name="北京示例科技有限公司", entity_type="enterprise", district="haidian",
                           established_on="2010-01-01", registered_capital_cny=5_000_000, category="high_tech",
                           account_opened_on="2015-01-01", last_annual_inspection_on="2026-01-01")],
        "persons": [dict(id_number=person, name="张三", gender="M", highest_degree="bachelor",
                         degree_study_mode="full_time", graduation_date="2012-07-01", title_level="none",
                         special_talent=False, work_start_date="2012-08-01", housing_type="owned",
                         housing_proof=True, achievements="业" * 200, photo_format="jpg", photo_bytes=100_000,
                         photo_width=300, photo_height=420, photo_sha256="aa")],
        "employments": [dict(id_number=person, uscc=E1, hired_on="2020-01-01", contract_end_on="2030-01-01")],
        "work_history": [dict(id_number=person, start_on="2012-08-01", end_on=None, organization="北京示例科技有限公司")],
        "education_history": [dict(id_number=person, start_on="2005-09-01", end_on="2008-07-01", school="一中",
                                   level="high_school"),
                              dict(id_number=person, start_on="2008-09-01", end_on="2012-07-01", school="北大",
                                   level="bachelor")],
        "contributions": contributions_for(person, "2023-01", "2026-05", withholder_uscc=E1),
        "dependents": [],
        "permits": [],
        "applications": [dict(application_id="A1", type="new", id_number=person, uscc=E1, submitted_on="2026-06-10",
                              status="draft")],
    }


def run_rules(tables: dict, as_of: str = "2026-06-15", policy=None, work_dir=None, with_gx: bool = False):
    """Evaluate the rule book on a fresh in-memory warehouse; returns
    (findings rows as dicts, results dict, connection)."""
    from assets.rules.core import evaluate_rulebook
    from assets.settings import PACKAGED_POLICY

    con = duckdb.connect()
    make_warehouse(con, **copy.deepcopy(tables))
    res = evaluate_rulebook(con, dt.date.fromisoformat(as_of), "test-run", policy or PACKAGED_POLICY,
                            work_dir=work_dir, with_gx=with_gx)
    rel = con.sql("SELECT * FROM findings ORDER BY rule_id, entity_key")
    cols = rel.columns
    rows = [dict(zip(cols, r)) for r in rel.fetchall()]
    return rows, res, con


def keys(rows, rule_id: str | None = None) -> set:
    return {(r["rule_id"], r["entity_key"]) for r in rows if rule_id is None or r["rule_id"] == rule_id}


def fired(tables, rule_id: str, key: str, as_of: str = "2026-06-15", policy=None) -> bool:
    rows, _, con = run_rules(tables, as_of, policy)
    con.close()
    return (rule_id, key) in keys(rows)


def test_helpers_valid_codes():
    from stdnum.cn import uscc

    assert stdnum_ric.is_valid(P1) and stdnum_ric.is_valid(pid("20000229", male=False))
    assert uscc.is_valid(E1) and uscc.is_valid(E2)
