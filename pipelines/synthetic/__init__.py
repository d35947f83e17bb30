"""Built-in synthetic data (issue 3).

``generate(out, scale, seed) -> dict`` writes the nine tables of the data
contract into ``out`` as a deliberately messy input folder (CSV in UTF-8 /
UTF-8 BOM / GB18030, Excel, Parquet; Chinese and English names and headers),
plus ``expected_findings.csv`` (the answer key: rule_id, entity_key) and
``dataset.json``. See docs/synthetic.md.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from . import v2
from .answer_key import apply_waivers, covered_months_indexed, evaluate, withholder_findings
from .contacts import write_contacts
from .build import build
from .state import REFERENCE_DATE, SCALES
from .writer import FileSpec, Writer

__all__ = ["generate", "REFERENCE_DATE", "SCALES"]

MANAGED_SUFFIXES = (".csv", ".xlsx", ".parquet", ".json")


def _clean_out(out: Path) -> None:
    """Remove a previous generator output in `out` (only files this generator writes)."""
    out.mkdir(parents=True, exist_ok=True)
    marker = out / "dataset.json"
    if marker.exists():
        for p in out.iterdir():
            if p.is_file() and p.suffix in MANAGED_SUFFIXES:
                p.unlink()


def _split(df: pl.DataFrame, fractions: list[float]) -> list[pl.DataFrame]:
    n = df.height
    cuts = np.round(np.cumsum([0.0] + fractions) / sum(fractions) * n).astype(int)
    return [df.slice(int(a), int(b - a)) for a, b in zip(cuts[:-1], cuts[1:])]


def generate(out: Path, scale: str = "demo", seed: int = 0, fraction: float = 1.0) -> dict:
    """Write a synthetic input folder; return the dataset description (also dataset.json).

    ``fraction`` scales the number of employers and persons of ``scale``
    (at least 1,000 employers and 20,000 persons when below 1); the injected
    defects per rule stay as in ``scale``. The benchmark's 1/10 and 1/4 of
    city are ``generate(out, "city", seed, fraction=0.1)`` and ``0.25``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, not {scale!r}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction!r}")
    t0 = time.perf_counter()
    out = Path(out)
    _clean_out(out)
    sc = SCALES[scale]
    if fraction != 1:
        sc = dataclasses.replace(sc, employers=max(1000, round(sc.employers * fraction)),
                                 persons=max(20_000, round(sc.persons * fraction)))
    b, logical, stream = build(sc, seed)
    t = logical.tables
    city = scale != "demo"
    as_of = logical.reference_date.astype(object)
    # v2 cases (foreign holders, other ID documents, agents, payers elsewhere, deferrals ending)
    scen_ids = set(b.P["ids"][b.scen != ""].tolist())
    plan = v2.plan(t, as_of, np.random.default_rng([seed, 2026]), scen_ids)
    rng = np.random.default_rng([seed, 4242])
    w = Writer(out, rng, t, scale)

    # ---- contributions: Parquet by person chunk (+ a messy CSV for 2026 of the first chunk)
    chunk = 100_000 if city else b.N
    covered_parts, wh_parts, n_contrib = [], [], 0
    side_contrib = None
    for ci, lo in enumerate(range(0, b.N, chunk)):
        persons = np.arange(lo, min(lo + chunk, b.N))
        c = v2.mutate_contributions(stream.rows(persons, keep_index=True), plan)
        covered_parts.append(covered_months_indexed(c))
        c = c.drop("pi")
        wh_parts.append(withholder_findings(t, c, as_of))
        n_contrib += c.height
        if ci == 0:
            side_contrib = c.filter(pl.col("month") >= pl.date(2026, 1, 1))
            c = c.filter(pl.col("month") < pl.date(2026, 1, 1))
            if city:
                side_contrib, rest = side_contrib.slice(0, 40_000), side_contrib.slice(40_000)
                c = pl.concat([c, rest])
        name = f"contributions_{ci + 1:02d}.parquet" if city else "contributions_2024_2025.parquet"
        w.emit(FileSpec("contributions", name, "parquet"), c)
    covered = pl.concat(covered_parts)
    t["contributions"] = None  # not kept in memory; evaluated through `covered`

    # ---- ingest defects (each row breaks exactly one rule and refers to nothing live)
    q = w.quiet_person
    emp0 = w.employer_list[0]
    emp1 = w.employer_list[1]

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
    hk_bad = v2._gb11643("810000", dt.date(1991, 4, 2), 123)
    persons_broken_b = [
        ("DQ-BAD-ID", person_row(id_number="AB12", id_type="passport", birth_date="1980-01-01", gender="M")),
        ("DQ-BAD-ID", person_row(id_number=w.bad_check(hk_bad), id_type="hk_mo_tw_residence")),
        ("DQ-BAD-ID", person_row(id_number="P1234567-8", id_type="护照", birth_date="1975-05-05", gender="F")),
        ("DQ-REQUIRED", person_row(id_number="E99887766", id_type="passport", gender="M")),   # no birth date
        ("DQ-BAD-ENUM", person_row(id_type="军官证")),
        ("DQ-BAD-ID", person_row(id_number=w.new_id()[:17])),
        ("DQ-REQUIRED", person_row(id_number="")),
        ("DQ-BAD-ENUM", person_row(housing_type="宿舍")),
        ("DQ-BAD-NUMBER", person_row(photo_width="宽")),
        ("DQ-BAD-DATE", person_row(work_start_date="1899-12-01")),
    ]
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

    # ---- DQ-ID-MISMATCH: given gender / birth date disagree with the ID (kept; the ID wins)
    mism = set(b.P["ids"][b.idx("DQ-ID-MISMATCH")].tolist())
    mism_list = sorted(mism)
    flip = {"M": "F", "F": "M", "男": "女", "女": "男"}

    def persons_mutate(f: pl.DataFrame) -> pl.DataFrame:
        ids = f["id_number"].str.replace_all(" ", "").to_list()
        g, bd = f["gender"].to_list(), f["birth_date"].to_list()
        # passports carry their own birth date and gender (required): never blanked
        blank = (rng.random(f.height) < 0.08) & ~f["id_type"].is_in(["passport", "护照"]).to_numpy()
        for i, pid in enumerate(ids):
            norm = pid.translate(str.maketrans("０１２３４５６７８９", "0123456789")).upper()
            if norm in mism:
                j = mism_list.index(norm)
                if j % 2 == 0:
                    g[i] = flip.get(g[i], "F")
                else:
                    d = np.datetime64(f"{norm[6:10]}-{norm[10:12]}-{norm[12:14]}") + np.timedelta64(1 + j, "D")
                    bd[i] = str(d)
            elif blank[i]:
                g[i], bd[i] = "", ""
        return f.with_columns(gender=pl.Series(g), birth_date=pl.Series(bd))

    key_id_mismatch = [("DQ-ID-MISMATCH", x) for x in mism_list]

    # ---- lay out files
    if not city:
        pa, pb = _split(t["persons"], [0.6, 0.4])
        w.emit(FileSpec("employers", "聘用单位.xlsx", "xlsx", zh_headers=True, date_style="mixed", labels=0.7, money="wan",
                        sheet="聘用单位"), t["employers"], employers_broken, dups=2)
        w.emit(FileSpec("persons", "persons.csv", "csv", "utf-8-sig", date_style="iso", bools=0, messy_ids=0.03), pa,
               persons_broken_a, dups=3, mutate=persons_mutate)
        w.emit(FileSpec("persons", "人员信息.csv", "csv", "gb18030", zh_headers=True, date_style="mixed", labels=0.8, bools=1,
                        messy_ids=0.05), pb, persons_broken_b, dups=2, mutate=persons_mutate)
        w.emit(FileSpec("employments", "employments.csv", "csv", "utf-8", date_style="slash", messy_ids=0.02),
               t["employments"], employments_broken, dups=3)
        w.emit(FileSpec("work_history", "工作简历.csv", "csv", "gb18030", zh_headers=True, date_style="cn", messy_ids=0.02),
               t["work_history"], work_broken, dups=3)
        w.emit(FileSpec("education_history", "education_history.xlsx", "xlsx", date_style="mixed", labels=0.5,
                        sheet="education_history"), t["education_history"], edu_broken, dups=2)
        w.emit(FileSpec("contributions", "个税社保_2026.csv", "csv", "utf-8", zh_headers=True, date_style="mixed", labels=0.5,
                        messy_ids=0.01), side_contrib, contrib_broken, dups=4)
        w.emit(FileSpec("dependents", "随往人员.csv", "csv", "utf-8-sig", zh_headers=True, labels=1.0, bools=1, messy_ids=0.05),
               t["dependents"], dep_broken, dups=2)
        pm, ps = _split(t["permits"], [0.97, 0.03])
        w.emit(FileSpec("permits", "permits.parquet", "parquet"), pm)
        w.emit(FileSpec("permits", "工作居住证_补录.csv", "csv", "gb18030", zh_headers=True, date_style="dot", labels=1.0), ps,
               permits_broken, dups=1)
        w.emit(FileSpec("applications", "applications.csv", "csv", "utf-8", date_style="mixed", labels=0.3, messy_ids=0.02),
               t["applications"], apps_broken, dups=3)
        w.emit(FileSpec("withholding_agents", "代扣代缴单位.csv", "csv", "utf-8-sig", zh_headers=True, date_style="cn",
                        labels=0.5), t["withholding_agents"], agents_broken, dups=1)
    else:
        w.emit(FileSpec("employers", "employers.csv", "csv", "gb18030", zh_headers=True, date_style="mixed", labels=0.7,
                        money="grouped"), t["employers"], employers_broken, dups=20)
        side = 10_000
        for tab, alias, enc, broken, extra in (
                ("persons", "人员信息", "gb18030", persons_broken_a + persons_broken_b, {"mutate": persons_mutate}),
                ("employments", "聘用关系", "utf-8-sig", employments_broken, {}),
                ("work_history", "工作简历", "gb18030", work_broken, {}),
                ("education_history", "教育培训简历", "utf-8", edu_broken, {}),
                ("permits", "工作居住证", "gb18030", permits_broken, {}),
                ("applications", "业务申请", "utf-8-sig", apps_broken, {})):
            df = t[tab]
            # the messy supplement holds the last rows (scenario people are generated last)
            w.emit(FileSpec(tab, f"{tab}.parquet", "parquet"), df.slice(0, df.height - side))
            w.emit(FileSpec(tab, f"{alias}_补录.csv", "csv", enc, zh_headers=True, date_style="mixed", labels=0.6, bools=1,
                            messy_ids=0.03), df.slice(df.height - side), broken, dups=5, **extra)
        w.emit(FileSpec("contributions", "个税社保_2026补录.csv", "csv", "utf-8", zh_headers=True, date_style="mixed", labels=0.5,
                        messy_ids=0.01), side_contrib, contrib_broken, dups=4)
        w.emit(FileSpec("dependents", "随往人员.csv", "csv", "utf-8-sig", zh_headers=True, labels=1.0, bools=1, messy_ids=0.05),
               t["dependents"], dep_broken, dups=5)
        w.emit(FileSpec("withholding_agents", "代扣代缴单位.csv", "csv", "gb18030", zh_headers=True, date_style="mixed",
                        labels=0.5), t["withholding_agents"], agents_broken, dups=2)

    # ---- employer contacts (v2, issue 18): own module, its defects join the key
    contact_key, contact_files = write_contacts(out, t["employers"]["uscc"].to_list(), seed, w.new_uscc)
    w.key += contact_key
    w.files.update(contact_files)

    # ---- the answer key (and the waiver register, which names findings of the data)
    rule_findings = pl.concat([evaluate(t, as_of, covered=covered), *wh_parts]).unique()
    t["waivers"] = v2.waivers(rule_findings, t, as_of)
    w.emit(FileSpec("waivers", "例外登记.csv", "csv", "utf-8-sig", zh_headers=True, date_style="cn"), t["waivers"],
           waivers_broken, dups=1)
    key = apply_waivers(pl.concat([
        rule_findings,
        pl.DataFrame(w.key + key_id_mismatch, schema={"rule_id": pl.String, "entity_key": pl.String}, orient="row"),
    ]).unique(), t, as_of).sort("rule_id", "entity_key")
    key.write_csv(out / "expected_findings.csv")
    counts = {name: (t[name].height if t.get(name) is not None else None) for name in t}
    counts["contributions"] = n_contrib
    info = {
        "reference_date": str(as_of), "scale": scale, "fraction": fraction, "seed": seed, "counts": counts,
        "findings": dict(sorted(key.group_by("rule_id").len().iter_rows())),
        "files": w.files,
        "intended": len(logical.intended),
        "v2": plan.counts,
        "waived": int(key["waived"].sum()),
    }
    (out / "dataset.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    return info
