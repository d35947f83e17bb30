"""Ingest-level defects of the synthetic input: rows that each break exactly one
ingest rule (DQ-*) and refer to nothing live, per table. The writer places them
among the clean rows and records their keys (file:row) in the answer key.

Every fresh ID and code comes from the writer's random generator, in this fixed
order (``ingest_defects`` calls the tables in turn)."""
from __future__ import annotations

import datetime as dt

from .v2 import _gb11643
from .writer import Writer


def _employers(w: Writer) -> dict[str, list]:
    """Employers: bad codes, a missing name, a bad date / district / amount, a duplicated code."""

    def emp_row(**kw):
        base = {"uscc": w.new_uscc(), "name": "北京新设测试科技有限公司", "entity_type": "enterprise", "district": "haidian",
                "established_on": "2015-06-01", "registered_capital_cny": "500", "category": "software",
                "account_opened_on": "2016-01-05", "last_annual_inspection_on": "2026-06-01"}
        base.update(kw)
        return base

    dup_uscc = w.new_uscc()
    employers_broken = [
        ("DQ-BAD-USCC", emp_row(uscc=w.bad_check(w.new_uscc(), "0123456789ABCDEFGHJKLMNPQRTUWXY"))),
        ("DQ-BAD-USCC", emp_row(uscc=w.new_uscc()[:17])),
        ("DQ-BAD-USCC", emp_row(uscc=w.bad_check(w.new_uscc(), "0123456789ABCDEFGHJKLMNPQRTUWXY"), name="北京错码商贸有限公司")),
        ("DQ-REQUIRED", emp_row(name="")),
        ("DQ-BAD-DATE", emp_row(established_on="2021-02-30")),
        ("DQ-BAD-ENUM", emp_row(district="雄安新区")),
        ("DQ-BAD-NUMBER", emp_row(registered_capital_cny="-50")),
        ("DQ-DUP-KEY", emp_row(uscc=dup_uscc, name="北京重码甲科技有限公司")),
        ("DQ-DUP-KEY", emp_row(uscc=dup_uscc, name="北京重码乙科技有限公司")),
    ]
    return {"employers": employers_broken}


def _persons(w: Writer) -> dict[str, list]:
    """Persons (two files): bad or missing IDs of each document type, bad values, a duplicated ID."""

    def person_row(**kw):
        pid = kw.pop("id_number") if "id_number" in kw else w.new_id()
        base = {"id_number": pid, "name": "测试人员", "highest_degree": "bachelor", "graduation_date": "2012-07-01",
                "title_level": "none", "work_start_date": "2012-08-01", "housing_type": "rented", "housing_proof": "true",
                "photo_format": "jpg", "photo_bytes": "50000", "photo_width": "358", "photo_height": "441"}
        base.update(kw)
        return base

    dup_pid = w.new_id()
    valid_id = w.new_id()
    persons_broken_a = [
        ("DQ-REQUIRED", person_row(name="")),
        ("DQ-BAD-ID", person_row(id_number=w.bad_check(w.new_id()))),
        ("DQ-BAD-ID", person_row(id_number=valid_id[:10] + "0230" + valid_id[14:17] + "1")),  # 30 February
        ("DQ-BAD-DATE", person_row(graduation_date="2019-13-01")),
        ("DQ-BAD-ENUM", person_row(highest_degree="博士后")),
        ("DQ-BAD-NUMBER", person_row(photo_bytes="-5")),
        ("DQ-DUP-KEY", person_row(id_number=dup_pid, name="张重号")),
        ("DQ-DUP-KEY", person_row(id_number=dup_pid, name="李重号")),
    ]
    hk_bad = _gb11643("810000", dt.date(1991, 4, 2), 123)
    persons_broken_b = [
        ("DQ-BAD-ID", person_row(id_number="AB12", id_type="passport", birth_date="1980-01-01", gender="M")),
        ("DQ-BAD-ID", person_row(id_number=w.bad_check(hk_bad), id_type="hk_mo_tw_residence")),
        ("DQ-BAD-ID", person_row(id_number="P1234567-8", id_type="护照", birth_date="1975-05-05", gender="F")),
        ("DQ-REQUIRED", person_row(id_number="E99887766", id_type="passport", gender="M")),   # no birth date
        ("DQ-REQUIRED", person_row(id_number="D1234567", id_type="护照", birth_date="1979-03-08")),   # no gender
        ("DQ-REQUIRED", person_row(id_number="S7654321", id_type="passport", birth_date="", gender="F")),
        ("DQ-BAD-ENUM", person_row(id_type="军官证")),
        ("DQ-BAD-ID", person_row(id_number=w.new_id()[:17])),
        ("DQ-REQUIRED", person_row(id_number="")),
        ("DQ-BAD-ENUM", person_row(housing_type="宿舍")),
        ("DQ-BAD-NUMBER", person_row(photo_width="宽")),
        ("DQ-BAD-DATE", person_row(work_start_date="1899-12-01")),
    ]
    return {"persons_a": persons_broken_a, "persons_b": persons_broken_b}


def _histories(w: Writer) -> dict[str, list]:
    """Employments, work and education history: orphans, dates out of order, bad values, duplicates."""
    q, emp0, emp1 = w.quiet_person, w.employer_list[0], w.employer_list[1]
    stranger = w.new_id()
    employments_broken = [
        ("DQ-ORPHAN", {"id_number": stranger, "uscc": emp0, "hired_on": "2020/3/1"}),
        ("DQ-ORPHAN", {"id_number": q(), "uscc": w.new_uscc(), "hired_on": "2019/7/15", "left_on": "2021/1/31"}),
        ("DQ-ORPHAN", {"id_number": w.new_id(), "uscc": emp1, "hired_on": "2018/9/1", "left_on": "2020/2/29"}),
        ("DQ-DATE-ORDER", {"id_number": q(), "uscc": emp1, "hired_on": "2022/5/10", "left_on": "2021/5/10"}),
        ("DQ-REQUIRED", {"id_number": q(), "uscc": emp0, "hired_on": ""}),
        ("DQ-BAD-DATE", {"id_number": q(), "uscc": emp1, "hired_on": "2016/1/4", "left_on": "2017/2/29"}),
    ]
    dkp = q()
    employments_broken += [
        ("DQ-DUP-KEY", {"id_number": dkp, "uscc": emp0, "hired_on": "2015/3/2", "left_on": "2016/4/30"}),
        ("DQ-DUP-KEY", {"id_number": dkp, "uscc": emp0, "hired_on": "2015/3/2", "left_on": "2016/5/31"}),
    ]
    work_broken = [
        ("DQ-DATE-ORDER", {"id_number": q(), "start_on": "2010年3月1日", "end_on": "2009年3月1日", "organization": "测试单位"}),
        ("DQ-BAD-DATE", {"id_number": q(), "start_on": "1899年12月1日", "end_on": "1900年6月1日", "organization": "测试单位"}),
        ("DQ-REQUIRED", {"id_number": q(), "start_on": "", "end_on": "2008年6月1日", "organization": "测试单位"}),
        ("DQ-ORPHAN", {"id_number": w.new_id(), "start_on": "2011年3月1日", "organization": "测试单位"}),
        ("DQ-BAD-DATE", {"id_number": q(), "start_on": "2007年2月30日", "end_on": "2007年8月1日", "organization": "测试单位"}),
    ]
    edu_broken = [
        ("DQ-BAD-ENUM", {"id_number": q(), "start_on": "2003-09-01", "end_on": "2006-07-01", "school": "测试中学", "level": "研究生班"}),
        ("DQ-BAD-DATE", {"id_number": q(), "start_on": "2003-09-01", "end_on": "2099-07-01", "school": "测试中学", "level": "high_school"}),
        ("DQ-REQUIRED", {"id_number": q(), "start_on": "2003-09-01", "end_on": "2006-07-01", "school": "测试中学", "level": ""}),
        ("DQ-DATE-ORDER", {"id_number": q(), "start_on": "2006-09-01", "end_on": "2005-07-01", "school": "测试大学", "level": "bachelor"}),
        ("DQ-ORPHAN", {"id_number": w.new_id(), "start_on": "2001-09-01", "end_on": "2004-07-01", "school": "测试中学", "level": "high_school"}),
    ]
    return {"employments": employments_broken, "work_history": work_broken, "education_history": edu_broken}


def _contributions_dependents(w: Writer) -> dict[str, list]:
    """Contributions and dependents: bad kinds and amounts, bad IDs, orphans, duplicates."""
    q, emp0 = w.quiet_person, w.employer_list[0]
    cp = q()
    contrib_broken = [
        ("DQ-BAD-ENUM", {"id_number": q(), "month": "2019-01", "kind": "公积金", "amount_cny": "800"}),
        ("DQ-BAD-NUMBER", {"id_number": q(), "month": "2019-01", "kind": "income_tax", "amount_cny": "-120.50"}),
        ("DQ-BAD-NUMBER", {"id_number": q(), "month": "2019-02", "kind": "social_insurance", "amount_cny": "十二元"}),
        ("DQ-BAD-DATE", {"id_number": q(), "month": "2026-13", "kind": "income_tax", "amount_cny": "300"}),
        ("DQ-REQUIRED", {"id_number": q(), "month": "2019-03", "kind": "", "amount_cny": "300"}),
        ("DQ-ORPHAN", {"id_number": w.new_id(), "month": "2026-03", "kind": "income_tax", "amount_cny": "300"}),
        ("DQ-DUP-KEY", {"id_number": cp, "month": "2019-04", "kind": "income_tax", "withholder_uscc": emp0, "amount_cny": "100"}),
        ("DQ-DUP-KEY", {"id_number": cp, "month": "2019-04", "kind": "income_tax", "withholder_uscc": emp0, "amount_cny": "200"}),
    ]
    dep_broken = [
        ("DQ-BAD-ID", {"holder_id_number": q(), "id_number": w.bad_check(w.new_id("2015-01-01")), "relation": "child", "name": "王小测"}),
        # (v2: a 16-digit value would pass as a passport number in this table; 18 characters are always GB 11643)
        ("DQ-BAD-ID", {"holder_id_number": q(), "id_number": w.bad_check(w.new_id("1992-01-01")), "relation": "spouse", "name": "刘测",
                       "marriage_certificate": "是"}),
        ("DQ-BAD-ENUM", {"holder_id_number": q(), "id_number": w.new_id("1960-01-01"), "relation": "父母", "name": "赵测"}),
        ("DQ-REQUIRED", {"holder_id_number": q(), "id_number": w.new_id("2016-01-01"), "relation": "child", "name": ""}),
        ("DQ-ORPHAN", {"holder_id_number": w.new_id(), "id_number": w.new_id("2017-01-01"), "relation": "child", "name": "孙小测"}),
    ]
    return {"contributions": contrib_broken, "dependents": dep_broken}


def _permits_applications(w: Writer) -> dict[str, list]:
    """Permits and applications: bad dates and statuses, orphans, duplicated numbers."""
    q, emp0, emp1 = w.quiet_person, w.employer_list[0], w.employer_list[1]
    kp = "BJ1999" + "0000009"
    permits_broken = [
        ("DQ-DATE-ORDER", {"permit_no": "BJ19990000001", "id_number": q(), "uscc": emp0, "issued_on": "2020.5.6",
                           "expires_on": "2020.5.6", "status": "已过期"}),
        ("DQ-BAD-ENUM", {"permit_no": "BJ19990000002", "id_number": q(), "uscc": emp0, "issued_on": "2020.5.6",
                         "expires_on": "2023.5.5", "status": "挂失"}),
        ("DQ-REQUIRED", {"permit_no": "", "id_number": q(), "uscc": emp1, "issued_on": "2020.5.6", "expires_on": "2023.5.5",
                         "status": "已过期"}),
        ("DQ-ORPHAN", {"permit_no": "BJ19990000003", "id_number": q(), "uscc": w.new_uscc(), "issued_on": "2020.5.6",
                       "expires_on": "2023.5.5", "status": "已过期"}),
        ("DQ-BAD-DATE", {"permit_no": "BJ19990000004", "id_number": q(), "uscc": emp1, "issued_on": "2023.2.30",
                         "expires_on": "2026.2.28", "status": "已注销", "cancelled_on": "2024.1.5"}),
        ("DQ-DUP-KEY", {"permit_no": kp, "id_number": q(), "uscc": emp0, "issued_on": "2019.5.6", "expires_on": "2022.5.5",
                        "status": "已过期"}),
        ("DQ-DUP-KEY", {"permit_no": kp, "id_number": q(), "uscc": emp0, "issued_on": "2019.6.6", "expires_on": "2022.6.5",
                        "status": "已过期"}),
    ]
    ka = "SQ2099" + "00000001"
    apps_broken = [
        ("DQ-BAD-ENUM", {"application_id": "SQ209900000002", "type": "变更", "id_number": q(), "uscc": emp0,
                         "permit_no": "BJ20209999999", "submitted_on": "2024-03-01", "decided_on": "2024-03-20", "status": "approved"}),
        ("DQ-BAD-ENUM", {"application_id": "SQ209900000003", "type": "new", "id_number": q(), "uscc": emp0,
                         "submitted_on": "2024-03-01", "status": "pending"}),
        ("DQ-REQUIRED", {"application_id": "SQ209900000004", "type": "new", "id_number": q(), "uscc": emp1,
                         "submitted_on": "2024-03-01", "status": ""}),
        ("DQ-REQUIRED", {"application_id": "SQ209900000005", "type": "new", "id_number": "", "uscc": emp1,
                         "submitted_on": "2024-03-01", "status": "rejected", "decided_on": "2024-03-20"}),
        ("DQ-BAD-DATE", {"application_id": "SQ209900000006", "type": "new", "id_number": q(), "uscc": emp1,
                         "submitted_on": "2026-02-30", "status": "rejected", "decided_on": "2026-03-20"}),
        ("DQ-ORPHAN", {"application_id": "SQ209900000007", "type": "new", "id_number": w.new_id(), "uscc": emp1,
                       "submitted_on": "2024-03-01", "status": "rejected", "decided_on": "2024-03-20"}),
        ("DQ-ORPHAN", {"application_id": "SQ209900000008", "type": "new", "id_number": q(), "uscc": w.new_uscc(),
                       "submitted_on": "2024-03-01", "status": "rejected", "decided_on": "2024-03-20"}),
        ("DQ-DUP-KEY", {"application_id": ka, "type": "new", "id_number": q(), "uscc": emp0, "submitted_on": "2024-03-01",
                        "status": "rejected", "decided_on": "2024-03-20"}),
        ("DQ-DUP-KEY", {"application_id": ka, "type": "new", "id_number": q(), "uscc": emp0, "submitted_on": "2024-03-01",
                        "status": "approved", "decided_on": "2024-03-20"}),
    ]
    return {"permits": permits_broken, "applications": apps_broken}


def _agents_waivers(w: Writer) -> dict[str, list]:
    """Withholding agents (v2): bad agent codes, an orphan; waivers: rules that cannot be waived."""
    emp0, emp1 = w.employer_list[0], w.employer_list[1]
    agents_broken = [
        ("DQ-BAD-USCC", {"uscc": emp0, "agent_name": "北京错码人力资源有限公司", "agent_uscc": w.bad_check(w.new_uscc(), "0123456789ABCDEFGHJKLMNPQRTUWXY")}),
        ("DQ-BAD-USCC", {"uscc": emp1, "agent_name": "北京短码人力资源有限公司", "agent_uscc": w.new_uscc()[:16]}),
        ("DQ-BAD-USCC", {"uscc": w.employer_list[2], "agent_name": "北京坏码劳务派遣有限公司", "agent_uscc": w.bad_check(w.new_uscc(), "0123456789ABCDEFGHJKLMNPQRTUWXY")}),
        ("DQ-ORPHAN", {"uscc": w.new_uscc(), "agent_name": "北京孤儿人力资源有限公司"}),
        ("DQ-REQUIRED", {"uscc": emp0, "agent_name": ""}),
    ]
    waivers_broken = [
        ("DQ-BAD-REF", {"rule_id": "DQ-BAD-ID", "entity_key": "persons.csv:3", "reason": "证件号码以公安系统为准",
                        "approved_by": "市人才服务中心", "approved_on": "2026-03-01"}),
        ("DQ-BAD-REF", {"rule_id": "ELIG-EMPLOYER-AGE-2Y", "entity_key": "SQ202600000001", "reason": "规则编号写错",
                        "approved_by": "海淀区人才服务中心", "approved_on": "2026-03-01"}),
        ("DQ-BAD-REF", {"rule_id": "DQ-ORPHAN", "entity_key": "employments.csv:7", "reason": "补录",
                        "approved_by": "朝阳区人才服务中心", "approved_on": "2026-03-01"}),
        ("DQ-REQUIRED", {"rule_id": "EMP-BRANCH-QUOTA", "entity_key": emp0, "reason": "", "approved_by": "市人才服务中心",
                         "approved_on": "2026-03-01"}),
    ]
    return {"withholding_agents": agents_broken, "waivers": waivers_broken}


def ingest_defects(w: Writer) -> dict[str, list[tuple[str, dict]]]:
    """{table part: [(rule_id, row values as written)]} for every input table."""
    out: dict[str, list] = {}
    for part in (_employers, _persons, _histories, _contributions_dependents, _permits_applications, _agents_waivers):
        out.update(part(w))
    return out
