"""A synthetic warehouse holding only what the site reads (the marts of
docs/marts.md, `rules`, `findings`, `ingest_log`, `quarantine`,
`applications`), generated in DuckDB SQL at any number of employers.

Used by the site tests (small) and the site benchmark (50,000 employers),
so the builder is exercised independently of the rest of the pipeline.
The SQL is in ``synthetic_sql/<table>.sql`` (macros in ``macros.sql``); the
values (as_of, the number of employers, run id, the district and category
lists) go in as bound parameters, the seed as the variable ``synthetic_seed``.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb

from core.sql import create_macros, sql_str
from reports.site import labels as L

SQL_DIR = Path(__file__).with_name("synthetic_sql")  # one statement per file; values as $name parameters

DISTRICTS = ["haidian", "chaoyang", "dongcheng", "xicheng", "fengtai", "shijingshan", "mentougou", "fangshan",
             "tongzhou", "shunyi", "changping", "daxing", "huairou", "pinggu", "miyun", "yanqing", "etdz"]
CATEGORIES = ["high_tech", "software", "integrated_circuit", "rnd_center", "financial", "cultural_creative",
              "regional_hq", "other"]
# the labels as the site shows them (reports/site/labels.py), in this builder's order
DISTRICT_ZH = [L.ENUMS["district"][d][0] for d in DISTRICTS]
CATEGORY_ZH = [L.ENUMS["category"][c][0] for c in CATEGORIES]
RULES = [
    ("ELIG-TALENT", "error", "application", "人才条件不符合", "Talent condition not met"),
    ("ELIG-CONTRIB-6M", "error", "application", "近6个月个税社保不连续", "6 months of contributions missing"),
    ("ELIG-PHOTO", "error", "application", "照片不符合要求", "Photo does not meet requirements"),
    ("ELIG-ACHIEVEMENT-200", "error", "application", "主要工作业绩不足200字", "Achievements under 200 characters"),
    ("NC-LEFT-NOT-CANCELLED", "error", "permit", "人员离职未注销证件", "Holder left, permit not cancelled"),
    ("XFER-DEFERRAL-EXPIRED", "error", "permit", "延期注销已超过6个月", "Deferred cancellation over 6 months"),
    ("NC-CONTRIB-GAP", "warning", "permit", "持证期间个税社保缺缴", "Contribution gap during the term"),
    ("EXP-DUE-90", "info", "permit", "证件90天内到期", "Permit expires within 90 days"),
    ("EXP-WINDOW-OPEN", "warning", "permit", "续签办理期已开始", "Renewal window open"),
    ("EXP-LAPSED", "error", "permit", "已过续签办理期", "Renewal window passed"),
    ("DQ-BAD-ID", "error", "record", "身份证号校验不通过", "ID number fails the check"),
]


def _sql(con: duckdb.DuckDBPyConnection, name: str, values: dict, kind: str = "") -> None:
    """Run ``synthetic_sql/<name>.sql`` with the values it names (``$as_of`` …) bound."""
    sql = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8").replace("{kind}", kind)
    used = set(re.findall(r"\$(\w+)", sql))
    con.execute(sql, {k: v for k, v in values.items() if k in used})


def build_synthetic_warehouse(con: duckdb.DuckDBPyConnection, employers: int = 20,
                              as_of: dt.date = dt.date(2026, 6, 30), big_employer_rows: int = 0, seed: int = 7,
                              run_id: str = "synthetic-run") -> None:
    """Create every table the site reads. ``big_employer_rows`` gives the first
    employer that many renewal rows (page-size cap test)."""
    values = {"as_of": as_of, "n": employers, "big_rows": big_employer_rows, "run_id": run_id,
              "districts": DISTRICTS, "district_zh": DISTRICT_ZH, "categories": CATEGORIES, "category_zh": CATEGORY_ZH}
    con.execute("SELECT setseed(?)", [(seed % 1000) / 1000])
    create_macros(con)  # mask_id: the one masking rule (core.masking)
    con.execute("SET VARIABLE synthetic_seed = ?", [seed])
    con.execute((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))
    for name in ("employer_summary", "permit_status", "applications", "todo_renewals", "todo_cancellations",
                 "todo_contribution_gaps", "todo_failing_applications", "todo_candidates_90d"):
        _sql(con, name, values)
    _bureau(con, values)
    for name in ("findings", "ingest_log", "quarantine"):
        _sql(con, name, values)


def _bureau(con: duckdb.DuckDBPyConnection, values: dict) -> None:
    """The bureau page's tables (and ``rules``, which one of them reads)."""
    as_of, n = values["as_of"], values["n"]
    _sql(con, "bureau_kpis", values)
    con.executemany("INSERT INTO bureau_kpis VALUES (?, ?, ?, ?, ?, ?)",
                    [[as_of, k, zh, en, v, i] for i, (k, zh, en, v) in enumerate(_kpis(n))])
    _sql(con, "bureau_permits_by_dimension", values)
    con.executemany("INSERT INTO bureau_permits_by_dimension VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [[as_of, *r] for r in _permits_by_dimension(n)])
    for name in ("bureau_monthly_flow", "bureau_processing_by_district", "bureau_return_reasons"):
        _sql(con, name, values)
    _sql(con, "rules", values)
    con.executemany("INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [[r, s, e, zh, en, f"rules.md: {zh}", zh + "。", en + "."] for r, s, e, zh, en in RULES])
    _sql(con, "bureau_findings_by_rule", values)
    _sql(con, "bureau_employer_ranking", values)
    for kind, codes, zhs in (("category", CATEGORIES, CATEGORY_ZH),
                             ("degree", ["none", "bachelor", "master", "doctor"], ["无", "学士", "硕士", "博士"])):
        _sql(con, "bureau_xtab_district", {**values, "codes": codes, "labels_zh": zhs}, kind=kind)
        title = f"有效证件:区 × {'单位分类' if kind == 'category' else '学位'} / Active permits by district and {kind}"
        con.execute(f"COMMENT ON TABLE bureau_xtab_district_{kind} IS {sql_str(title)}")


def _kpis(n: int) -> list[tuple]:
    return [("employers", "聘用单位", "Employers", n), ("permits_active", "有效证件", "Active permits", n * 6),
            ("permits_due_90d", "90天内到期", "Due in 90 days", n), ("permits_lapsed", "已过续签期", "Lapsed", n // 3),
            ("applications_open", "在办申请", "Open applications", n * 2),
            ("sla_within_share_12m", "15个工作日内办结占比(近12个月)", "Within 15 working days (12 months)", 0.87),
            ("median_processing_wd_12m", "办理工作日中位数(近12个月)", "Median working days (12 months)", 9.0),
            ("findings_error", "错误", "Errors", n * 2), ("findings_warning", "警告", "Warnings", n * 3)]


def _permits_by_dimension(n: int) -> list[tuple]:
    """dimension, code, label_zh, label_en, permits, sort_order."""
    dims = []
    for i, (d, zh) in enumerate(zip(DISTRICTS, DISTRICT_ZH)):
        dims.append(("district", d, zh, d.title(), (n * 6) // (i + 2) if i < 14 else i - 13, i))
    for i, (c, zh) in enumerate(zip(CATEGORIES, CATEGORY_ZH)):
        dims.append(("category", c, zh, c, n // (i + 1), i))
    for i, (c, zh, en) in enumerate([("none", "无", "None"), ("bachelor", "学士", "Bachelor"),
                                     ("master", "硕士", "Master"), ("doctor", "博士", "Doctor")]):
        dims.append(("degree", c, zh, en, [n, n * 3, n * 2, 3][i], i))
    for i, (c, zh, en) in enumerate([("none", "无", "None"), ("junior", "初级", "Junior"),
                                     ("intermediate", "中级", "Intermediate"),
                                     ("associate_senior", "副高级", "Associate senior"), ("senior", "正高级", "Senior")]):
        dims.append(("title", c, zh, en, [n * 3, n, n, n // 2, 2][i], i))
    bands = ["under_25", "25_29", "30_34", "35_39", "40_44", "45_49", "50_54", "55_plus"]
    bzh = ["25岁以下", "25-29岁", "30-34岁", "35-39岁", "40-44岁", "45-49岁", "50-54岁", "55岁及以上"]
    for i, (c, zh) in enumerate(zip(bands, bzh)):
        dims.append(("age_band", c, zh, c.replace("_", "-"), [n // 2, n * 2, n * 2, n, n // 2, n // 4, 4, 0][i], i))
    dims += [("gender", "M", "男", "Male", n * 3, 0), ("gender", "F", "女", "Female", n * 3 - 7, 1)]
    return dims
