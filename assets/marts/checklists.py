"""The material-checklist marts (docs/checklists.md):

- ``checklists``: one row per open application and applicable item of its
  business type's checklist (``expectations/checklists.yaml``), with the item's
  state from the findings (``ok`` / ``missing`` + the rule / ``check``);
- ``checklist_summary``: one row per open application (counts per state,
  complete-from-the-data flag, the printable page's path), for the employer
  page, ``todo.xlsx`` and the printable pages;
- ``bureau_checklists``: open applications and complete checklists by
  district and business type (raw counts; the site suppresses small cells).

SQL in ``checklists.sql``; values (as_of, open statuses) bound as parameters.
Needs the connection prepared by ``assets.marts.build.prepare``: the rule
book's macros (``age_years``, ``id_birth_date``, ``mask_id``), its ``_policy``
table and the marts' ``lab``.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb

from assets.warehouse import comment_table

from core.labels import labels
from expectations.checklists import item_frames, load_checklists

SQL_FILE = Path(__file__).resolve().parent / "checklists.sql"
OPEN_STATUSES = ["draft", "person_submitted", "employer_submitted", "under_review", "returned"]
# rules.md § People and dependents: DEP-CHILD16-NO-PROOF uses [child_proof_age = 16]; a version-1
# policy file fixes it in the rule instead of naming the parameter
PARAM_FALLBACKS = {"child_proof_age": 16}

AS_OF = "Evaluation date / 评估基准日"
USCC = "Employer unified social credit code / 聘用单位统一社会信用代码"
APP = "Application id / 申请编号"
TYPE = "Business type code / 业务类型代码"

CHECKLIST_DOCS: dict[str, tuple[str, dict[str, str]]] = {
    "checklists": (
        "Material checklist: one row per open application and applicable item (expectations/checklists.yaml) "
        "/ 材料清单:每个在办申请的每项适用材料一行",
        {"as_of": AS_OF, "application_id": APP, "uscc": USCC, "type": TYPE,
         "item_no": "Item number within the business type's checklist / 清单序号",
         "section": "papers (to carry to the window) | conditions (what the data must show) / 携带材料 | 条件与网上填报",
         "item_zh": "Item in the seed's words, Chinese / 材料(中文)", "item_en": "Item, English / 材料(英文)",
         "applies": "When the item applies, Chinese ('均需提供' = always) / 适用条件",
         "applies_en": "When the item applies, English / 适用条件(英文)",
         "state": "ok (the data shows it) | missing (rule_id has an unwaived finding) | check (only a person can "
                  "verify) / 齐全 | 缺少 | 需人工核验",
         "rule_id": "Rule deciding the state: the breaking rule when missing, else the item's first rule; empty for "
                    "check / 判定规则编号",
         "source": "Seed line(s) the item comes from / 出处(种子文本行号)"}),
    "checklist_findings": (
        "Findings each printable checklist lists: the application's own, and those of its permit, employer, "
        "applicant and dependents for the rules its checklist names / 材料清单列出的检查结果",
        {"as_of": AS_OF, "application_id": APP, "uscc": USCC, "rule_id": "Rule id / 规则编号",
         "severity": "error | warning | info / 严重程度", "entity_type": "Entity the finding is about / 对象类型",
         "message_zh": "Finding in a full sentence, Chinese / 检查结果(中文)",
         "message_en": "Finding, English / 检查结果(英文)",
         "waived": "An exception the bureau approved (not counted as missing) / 已批准例外"}),
    "checklist_summary": (
        "One row per open application: checklist counts by state and the printable page / 在办申请材料清单汇总",
        {"as_of": AS_OF, "uscc": USCC, "application_id": APP, "type": TYPE, "type_zh": "Business type / 业务类型",
         "status": "Status code / 办理状态代码", "status_zh": "Status / 办理状态",
         "permit_no": "Permit number / 证件编号",
         "id_number": "Applicant ID number, raw (internal; publish id_number_masked) / 身份证号(原值,仅内部使用)",
         "id_number_masked": "Applicant ID masked / 身份证号(脱敏)", "name": "Applicant name / 姓名",
         "submitted_on": "Submitted on / 申请日期", "district": "Employer district code / 所在区代码",
         "district_zh": "Employer district / 所在区", "items": "Applicable items / 适用材料项数",
         "items_ok": "Items ok / 齐全项数", "items_missing": "Items missing / 缺少项数",
         "items_check": "Items a person must verify / 需人工核验项数",
         "complete": "No item missing: complete as far as the data can tell / 按数据判断材料齐全",
         "missing_rule_ids": "Rules of the missing items / 缺少材料的规则编号",
         "open_findings": "Unwaived findings linked to the application / 相关检查结果数",
         "checklist_href": "Printable checklist, relative to the employer page / 可打印清单(相对单位页面)"}),
    "bureau_checklists": (
        "Open applications and complete checklists by district and business type (raw; publish suppresses small "
        "cells) / 各区各业务类型在办申请及材料齐全情况",
        {"as_of": AS_OF, "district": "District code / 区代码", "district_zh": "District / 区",
         "type": TYPE, "type_zh": "Business type / 业务类型", "open_applications": "Open applications / 在办申请数",
         "complete": "Of which complete from the data / 其中材料齐全数",
         "share_complete": "complete / open_applications / 材料齐全比例"}),
}


def _statements() -> dict[str, str]:
    """name -> statement of checklists.sql (each starts with a line '-- @@ <name>'), comment lines removed."""
    parts = re.split(r"^-- @@ (\w+)$", SQL_FILE.read_text(encoding="utf-8"), flags=re.M)
    return {name: "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("--")).strip()
            for name, body in zip(parts[1::2], parts[2::2])}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.sql("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                  "AND schema_name = 'main' AND database_name = current_database()",
                                  params=[table]).fetchall()}


def _document(con: duckdb.DuckDBPyConnection, table: str) -> None:
    comment, cols = CHECKLIST_DOCS[table]
    actual = [r[0] for r in con.sql("SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND "
                                    "schema_name = 'main' AND database_name = current_database() "
                                    "ORDER BY column_index", params=[table]).fetchall()]
    missing = [c for c in actual if c not in cols]
    if missing:
        raise RuntimeError(f"mart {table}: no comment for column(s) {', '.join(missing)}")
    comment_table(con, table, comment, {c: cols[c] for c in actual})


def _prepare(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy=None) -> None:
    """The checklist tables and the shape-neutral views (_ck_persons, _ck_dependents, _ck_findings)."""
    params = _params(con, policy)
    items, item_rules = item_frames(load_checklists(), params, labels())
    for name, frame in (("_ck_items", items), ("_ck_item_rules", item_rules)):
        con.register(f"{name}_df", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_df")
        con.unregister(f"{name}_df")
    pcols, dcols, fcols = _columns(con, "persons"), _columns(con, "dependents"), _columns(con, "findings")
    # version-2 columns (id_type, dependents.birth_date, findings.waived) when the warehouse has them
    id_type = "id_type" if "id_type" in pcols else "NULL::VARCHAR"
    birth = "coalesce(id_birth_date(id_number), birth_date)" if "birth_date" in dcols else "id_birth_date(id_number)"
    waived = "coalesce(waived, false)" if "waived" in fcols else "false"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _ck_persons AS
        SELECT id_number, housing_type, highest_degree, title_level, {id_type} AS id_type FROM persons""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ck_dependents AS
        SELECT holder_id_number, id_number, relation, age_years({birth}, CAST($as_of AS DATE)) AS age FROM dependents""",
                {"as_of": as_of})
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _ck_findings AS
        SELECT rule_id, severity, entity_type, entity_key, message_zh, message_en, {waived} AS waived
        FROM findings""")


def _run(con: duckdb.DuckDBPyConnection, sql: str, as_of: dt.date) -> None:
    names = [n for n in ("as_of", "open") if f"${n}" in sql]
    values = {"as_of": as_of, "open": OPEN_STATUSES}
    con.execute(sql, {n: values[n] for n in names})


def _params(con: duckdb.DuckDBPyConnection, policy=None) -> dict:
    """Policy parameters the conditions name: the rule book's ``_policy`` table
    on this connection (its default variant, pkey '*') when it has the
    parameter, else ``policy`` (a dict with ``defaults`` or an object with
    ``.defaults``), else the fallbacks."""
    defaults = policy.get("defaults") if isinstance(policy, dict) else getattr(policy, "defaults", None)
    out = {**PARAM_FALLBACKS, **(defaults or {})}
    have = {r[0] for r in con.sql("SELECT column_name FROM duckdb_columns() WHERE table_name = '_policy'").fetchall()}
    for name in PARAM_FALLBACKS:
        if name in have:
            row = con.sql(f'SELECT "{name}" FROM _policy WHERE pkey = \'*\'').fetchall()
            if row and row[0][0] is not None:
                out[name] = row[0][0]
    return out


def build_checklists(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy=None) -> int:
    """checklists and checklist_findings (and the connection-local _ck_apps/_ck_links the summary reads)."""
    _prepare(con, as_of, policy)
    sql = _statements()
    for name in ("apps", "deps", "links", "checklists", "checklist_findings"):
        _run(con, sql[name], as_of)
    _document(con, "checklists")
    _document(con, "checklist_findings")
    return con.sql("SELECT count(*) FROM checklists").fetchall()[0][0]


def _temp_ready(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.sql("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '_ck_links'")
                .fetchall()[0][0])


def build_checklist_summary(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy=None) -> int:
    if not _temp_ready(con):  # run on its own (a subset run): rebuild the inputs
        build_checklists(con, as_of, policy)
    _run(con, _statements()["checklist_summary"], as_of)
    _document(con, "checklist_summary")
    return con.sql("SELECT count(*) FROM checklist_summary").fetchall()[0][0]


def build_bureau_checklists(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy=None) -> int:
    _run(con, _statements()["bureau_checklists"], as_of)
    _document(con, "bureau_checklists")
    return con.sql("SELECT count(*) FROM bureau_checklists").fetchall()[0][0]


def build_all_checklists(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy=None) -> dict[str, int]:
    return {"checklists": build_checklists(con, as_of, policy),
            "checklist_findings": build_checklist_findings(con, as_of, policy),
            "checklist_summary": build_checklist_summary(con, as_of, policy),
            "bureau_checklists": build_bureau_checklists(con, as_of, policy)}


def build_checklist_findings(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy=None) -> int:
    """Written together with checklists (same temp inputs); rebuilt here only on a subset run."""
    if not _temp_ready(con):
        build_checklists(con, as_of, policy)
    return con.sql("SELECT count(*) FROM checklist_findings").fetchall()[0][0]


# mart -> (deps, builder(con, as_of, policy) -> rows), merged into assets.marts.assets.MARTS
CHECKLIST_MARTS = {
    "checklists": (["applications", "employers", "persons", "dependents", "findings"], build_checklists),
    "checklist_findings": (["checklists", "findings"], build_checklist_findings),
    "checklist_summary": (["checklists", "applications", "persons", "findings"], build_checklist_summary),
    "bureau_checklists": (["checklist_summary"], build_bureau_checklists),
}
