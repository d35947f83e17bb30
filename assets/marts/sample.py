"""Small hand-made warehouses for tests of the marts, the workbook and privacy.

``create_contract_tables`` makes the nine contract tables with the ingest
layer's column types (``core.contract.TABLES``); ``insert`` adds rows
given as dicts (missing columns = NULL); ``make_id`` / ``make_uscc`` produce
valid GB 11643 / GB 32100 codes. ``small_world`` builds a coherent scenario:
three employers, people in every window state, leavers, contribution gaps,
failing applications, candidates, and two employers whose staff share names.
"""
from __future__ import annotations

import datetime as dt
import json

import duckdb

from assets.warehouse import ensure_findings_tables
from core.dates import add_months  # noqa: F401  (tests import it from here too)


def make_id(area: str, birth: dt.date, seq: int, male: bool) -> str:
    from stdnum.cn import ric

    s3 = (seq * 2 + (1 if male else 0)) % 1000  # digit 17 odd = male; distinct seq -> distinct id
    body = f"{area}{birth:%Y%m%d}{s3:03d}"
    return body + ric.calc_check_digit(body + "0")


def make_uscc(serial: int, district_code: str = "110108") -> str:
    from stdnum.cn import uscc

    body = f"91{district_code}MA{serial:07d}"[:17]
    return body + uscc.calc_check_digit(body)


def create_contract_tables(con: duckdb.DuckDBPyConnection) -> None:
    from core.contract import TABLES

    for name, t in TABLES.items():
        cols = ", ".join(f"{c.name} {c.sql_type}" for c in t.columns)
        con.execute(f"CREATE OR REPLACE TABLE {name} ({cols})")
    ensure_findings_tables(con)


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    cols = [r[0] for r in con.sql(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}' "
                                  "ORDER BY column_index").fetchall()]
    unknown = {k for r in rows for k in r} - set(cols)
    if unknown:
        raise KeyError(f"{table}: unknown columns {sorted(unknown)}")
    ph = ", ".join("?" for _ in cols)
    con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({ph})",
                    [[r.get(c) for c in cols] for r in rows])


def finding(rule_id: str, severity: str, entity_type: str, entity_key: str, uscc: str | None,
            id_number: str | None, as_of: dt.date, message_zh: str, message_en: str = "",
            due_on: dt.date | None = None, detail: dict | None = None) -> dict:
    return {"run_id": "test", "as_of": as_of, "rule_id": rule_id, "severity": severity, "entity_type": entity_type,
            "entity_key": entity_key, "uscc": uscc, "id_number": id_number, "due_on": due_on,
            "message_zh": message_zh, "message_en": message_en or rule_id, "detail": json.dumps(detail or {})}


GOOD_ACH = "负责核心系统研发," * 30  # > 200 characters


def good_person(id_number: str, name: str, **over) -> dict:
    p = {"id_number": id_number, "name": name, "highest_degree": "bachelor", "degree_study_mode": "full_time",
         "graduation_date": dt.date(2012, 6, 30), "title_level": "none", "special_talent": False,
         "work_start_date": dt.date(2012, 7, 15), "housing_type": "rented", "housing_proof": True,
         "achievements": GOOD_ACH, "photo_format": "jpg", "photo_bytes": 100_000, "photo_width": 358,
         "photo_height": 441}
    p.update(over)
    return p


def covered_months(id_number: str, first: dt.date, last: dt.date, kinds=("income_tax", "social_insurance"),
                   skip: tuple[dt.date, ...] = (), withholder_uscc: str | None = None) -> list[dict]:
    """One row per month and kind; ``withholder_uscc`` = the employer that withholds them (v2: a row
    without a withholder is not properly withheld for anyone)."""
    rows, m = [], dt.date(first.year, first.month, 1)
    while m <= last:
        if m not in skip:
            rows += [{"id_number": id_number, "month": m, "kind": k, "amount_cny": 100,
                      "withholder_uscc": withholder_uscc} for k in kinds]
        m = add_months(m, 1)
    return rows


def history(id_number: str, work_from: dt.date) -> tuple[list[dict], list[dict]]:
    work = [{"id_number": id_number, "start_on": work_from, "end_on": None, "organization": "某公司"}]
    edu = [{"id_number": id_number, "start_on": dt.date(2005, 9, 1), "end_on": dt.date(2008, 6, 30),
            "level": "high_school"},
           {"id_number": id_number, "start_on": dt.date(2008, 9, 1), "end_on": dt.date(2012, 6, 30),
            "level": "bachelor"}]
    return work, edu


def small_world(con: duckdb.DuckDBPyConnection, as_of: dt.date = dt.date(2026, 6, 15)) -> dict:
    """Build the scenario; returns the keys tests assert on."""
    create_contract_tables(con)
    w = _World(as_of)
    insert(con, "employers", w.employers())
    w.e1_window_states()
    w.e1_leaver_and_gap()
    w.e1_candidates()
    w.e1_applicant_and_dependent()
    w.e2_same_names()
    w.e3_and_processing_times()
    w.write(con)
    return {"as_of": as_of, "E1": w.E1, "E2": w.E2, "E3": w.E3, "ids": w.ids, "gap_months": w.gap_months,
            "cand_tenure_hired": w.cand_tenure_hired}


class _World:
    """The rows of ``small_world``, table by table, gathered scenario by scenario (in a fixed order)."""

    def __init__(self, as_of: dt.date):
        self.A, self.ma = as_of, dt.date(as_of.year, as_of.month, 1)
        self.E1, self.E2, self.E3 = make_uscc(1), make_uscc(2), make_uscc(3, "110105")
        self.ids: dict[str, str] = {}
        self.people, self.emps, self.permits, self.apps, self.contribs = [], [], [], [], []
        self.works, self.edus, self.deps, self.finds = [], [], [], []

    def employers(self) -> list[dict]:
        return [
            {"uscc": self.E1, "name": "=HYPERLINK(\"http://x\")科技有限公司", "entity_type": "enterprise",
             "district": "haidian", "established_on": dt.date(2010, 1, 1), "registered_capital_cny": 5_000_000,
             "category": "high_tech", "account_opened_on": dt.date(2011, 1, 1)},
            {"uscc": self.E2, "name": "朝阳软件有限公司", "entity_type": "enterprise", "district": "chaoyang",
             "established_on": dt.date(2015, 1, 1), "registered_capital_cny": 2_000_000, "category": "software",
             "account_opened_on": dt.date(2016, 1, 1)},
            {"uscc": self.E3, "name": "新成立公司", "entity_type": "domestic_branch", "district": "chaoyang",
             "established_on": add_months(self.A, -3), "registered_capital_cny": 500_000, "category": "other",
             "account_opened_on": None},
        ]

    def person(self, key, name, seq, male=True, birth=dt.date(1990, 3, 7), area="110105", **over):
        self.ids[key] = make_id(area, birth, seq, male)
        self.people.append(good_person(self.ids[key], name, **over))
        w, e = history(self.ids[key], dt.date(2012, 7, 15))
        self.works.extend(w)
        self.edus.extend(e)
        return self.ids[key]

    def permit(self, no, key, uscc, expires, status="active", issued=None, **over):
        self.permits.append({"permit_no": no, "id_number": self.ids[key], "uscc": uscc,
                             "issued_on": issued or add_months(expires, -36), "expires_on": expires,
                             "status": status, **over})

    def e1_window_states(self) -> None:
        """E1 permits: one per window state."""
        A, E1, ids = self.A, self.E1, self.ids
        self.person("not_due", "张伟", 101)
        self.permit("P-NOTDUE", "not_due", E1, add_months(A, 12))
        self.person("due_soon", "王芳", 102, male=False)
        self.permit("P-DUESOON", "due_soon", E1, A + dt.timedelta(days=60))
        self.person("open", "李娜", 103, male=False)
        self.permit("P-OPEN", "open", E1, A + dt.timedelta(days=10))
        self.person("lapsed", "刘洋", 104)
        self.permit("P-LAPSED", "lapsed", E1, add_months(A, -2))
        self.person("in_hand", "陈静", 105, male=False)
        self.permit("P-INHAND", "in_hand", E1, A + dt.timedelta(days=5))
        self.apps.append({"application_id": "A-RENEW-1", "type": "renewal", "id_number": ids["in_hand"],
                          "uscc": E1, "permit_no": "P-INHAND", "submitted_on": A - dt.timedelta(days=3),
                          "status": "employer_submitted"})
        self.person("cancelled", "杨磊", 106)
        self.permit("P-CANCELLED", "cancelled", E1, add_months(A, 6), status="cancelled",
                    cancelled_on=add_months(A, -1))

    def e1_leaver_and_gap(self) -> None:
        """A leaver whose permit is still active (cancellation owed), a contribution gap on an active permit,
        the window findings, and the E1 permit holders' employments."""
        A, E1, ids, ma = self.A, self.E1, self.ids, self.ma
        self.person("leaver", "赵敏", 107, male=False)
        self.permit("P-LEAVER", "leaver", E1, add_months(A, 20))
        self.emps.append({"id_number": ids["leaver"], "uscc": E1, "hired_on": dt.date(2018, 1, 1),
                          "left_on": A - dt.timedelta(days=40)})
        self.finds.append(finding("NC-LEFT-NOT-CANCELLED", "error", "permit", "P-LEAVER", E1, ids["leaver"], A,
                                  "持证人已离职,证件未注销", detail={"left_on": str(A - dt.timedelta(days=40))}))
        gap1, gap2 = self.gap_months = add_months(ma, -5), add_months(ma, -4)
        self.finds.append(finding(
            "NC-CONTRIB-GAP", "warning", "permit", "P-NOTDUE", E1, ids["not_due"], A, "缴费有缺口",
            due_on=add_months(add_months(A, 12), -1),
            detail={"missing": [{"month": f"{gap1:%Y-%m}", "kinds": ["income_tax", "social_insurance"]},
                                {"month": f"{gap2:%Y-%m}", "kinds": ["income_tax"]}]}))
        self.contribs.extend(covered_months(ids["not_due"], add_months(add_months(A, 12), -36), add_months(ma, -1),
                                            skip=(gap1,)))
        # gap2: only income tax missing
        self.contribs[:] = [c for c in self.contribs if not (c["id_number"] == ids["not_due"] and c["month"] == gap2
                                                             and c["kind"] == "income_tax")]
        self.finds.append(finding("EXP-LAPSED", "error", "permit", "P-LAPSED", E1, ids["lapsed"], A, "已过续签期"))
        self.finds.append(finding("EXP-WINDOW-OPEN", "warning", "permit", "P-OPEN", E1, ids["open"], A,
                                  "续签办理期已开始", due_on=add_months(A + dt.timedelta(days=10), 1)))
        for k in ("not_due", "due_soon", "open", "lapsed", "in_hand", "cancelled"):
            self.emps.append({"id_number": ids[k], "uscc": E1, "hired_on": dt.date(2015, 1, 1)})

    def employed(self, key: str, uscc: str, hired_on: dt.date, contrib_from: dt.date | None = None) -> None:
        """An employment of ``key`` and, from ``contrib_from``, contributions up to last month."""
        self.emps.append({"id_number": self.ids[key], "uscc": uscc, "hired_on": hired_on})
        if contrib_from is not None:
            self.contribs.extend(covered_months(self.ids[key], contrib_from, add_months(self.ma, -1)))

    def e1_candidates(self) -> None:
        A, E1, ma = self.A, self.E1, self.ma
        self.person("cand_now", "孙强", 201)  # eligible today
        self.employed("cand_now", E1, dt.date(2020, 1, 1), dt.date(2020, 1, 1))
        self.person("cand_tenure", "周杰", 202)  # hired 4 months ago -> eligible at hired + 6 months
        self.cand_tenure_hired = add_months(A, -4)
        self.employed("cand_tenure", E1, self.cand_tenure_hired, add_months(ma, -12))
        self.person("cand_contrib", "吴昊", 203)  # contributions restarted 2 months ago
        self.employed("cand_contrib", E1, dt.date(2019, 1, 1), add_months(ma, -2))
        self.person("cand_blocked", "郑爽", 204, achievements="太短")  # blocked by achievements
        self.employed("cand_blocked", E1, dt.date(2019, 1, 1), dt.date(2019, 1, 1))
        self.person("cand_exp", "冯雪", 205, male=False, work_start_date=add_months(A, -20),
                    graduation_date=add_months(A, -21))  # needs 2 years experience
        self.works[:] = [w for w in self.works if w["id_number"] != self.ids["cand_exp"]]
        self.works.append({"id_number": self.ids["cand_exp"], "start_on": add_months(A, -20), "end_on": None,
                           "organization": "E1"})
        self.employed("cand_exp", E1, add_months(A, -12), add_months(ma, -12))

    def e1_applicant_and_dependent(self) -> None:
        """An open `new` application failing two rules (every reason must be listed); a holder's dependent."""
        A, E1, ids = self.A, self.E1, self.ids
        self.person("applicant", "=cmd|' /C calc'!A0", 206)
        self.employed("applicant", E1, add_months(A, -2))
        self.apps.append({"application_id": "A-NEW-FAIL", "type": "new", "id_number": ids["applicant"], "uscc": E1,
                          "submitted_on": A - dt.timedelta(days=1), "status": "draft"})
        self.finds.append(finding("ELIG-TENURE-6M", "error", "application", "A-NEW-FAIL", E1, ids["applicant"], A,
                                  "在本单位工作不满6个月"))
        self.finds.append(finding("ELIG-ACHIEVEMENT-200", "error", "application", "A-NEW-FAIL", E1,
                                  ids["applicant"], A, "主要工作业绩不足200字"))
        self.deps.append({"holder_id_number": ids["not_due"],
                          "id_number": make_id("110105", dt.date(2015, 5, 5), 301, True),
                          "relation": "child", "name": "张小伟"})

    def e2_same_names(self) -> None:
        """E2: staff with the SAME names as E1 staff, different people."""
        A, E2, ids = self.A, self.E2, self.ids
        self.person("e2_same_name", "张伟", 401, area="110108")
        self.permit("P-E2-1", "e2_same_name", E2, A + dt.timedelta(days=20))
        self.employed("e2_same_name", E2, dt.date(2016, 1, 1))
        self.person("e2_same_name2", "孙强", 402, area="110108")
        self.employed("e2_same_name2", E2, dt.date(2020, 1, 1), dt.date(2020, 1, 1))
        self.person("e2_leaver", "李娜", 403, male=False, area="110108")
        self.permit("P-E2-LEAVER", "e2_leaver", E2, add_months(A, 10))
        self.emps.append({"id_number": ids["e2_leaver"], "uscc": E2, "hired_on": dt.date(2016, 1, 1),
                          "left_on": A - dt.timedelta(days=10)})
        self.finds.append(finding("NC-LEFT-NOT-CANCELLED", "error", "permit", "P-E2-LEAVER", E2, ids["e2_leaver"],
                                  A, "持证人已离职,证件未注销", detail={"left_on": str(A - dt.timedelta(days=10))}))
        self.apps.append({"application_id": "A-E2-FAIL", "type": "renewal", "id_number": ids["e2_same_name"],
                          "uscc": E2, "permit_no": "P-E2-1", "submitted_on": A - dt.timedelta(days=2),
                          "status": "draft"})
        self.finds.append(finding("RENEW-CONTRIB-GAP", "error", "application", "A-E2-FAIL", E2,
                                  ids["e2_same_name"], A, "续签期间个税社保有缺口"))

    def e3_and_processing_times(self) -> None:
        """E3: a new branch without an opened account; applications with window dates (processing times)."""
        A, E1, ids = self.A, self.E1, self.ids
        self.person("e3_staff", "钱多", 501)
        self.employed("e3_staff", self.E3, add_months(A, -1))
        self.apps.append({"application_id": "A-DONE-1", "type": "new", "id_number": ids["not_due"], "uscc": E1,
                          "window_submitted_on": add_months(A, -3),
                          "decided_on": add_months(A, -3) + dt.timedelta(days=7), "status": "approved"})
        self.apps.append({"application_id": "A-RET-1", "type": "new", "id_number": ids["due_soon"], "uscc": E1,
                          "window_submitted_on": add_months(A, -2), "decided_on": add_months(A, -1),
                          "status": "rejected", "return_reason": "材料不全"})

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """v2: each person's contributions are withheld by their employer (ELIG-/NC-WITHHOLDER); then insert."""
        employer_of = {e["id_number"]: e["uscc"] for e in self.emps}
        for c in self.contribs:
            c["withholder_uscc"] = c.get("withholder_uscc") or employer_of.get(c["id_number"])
        for table, rows in (("persons", self.people), ("employments", self.emps), ("permits", self.permits),
                            ("applications", self.apps), ("contributions", self.contribs),
                            ("work_history", self.works), ("education_history", self.edus),
                            ("dependents", self.deps), ("findings", self.finds)):
            insert(con, table, rows)
