"""A synthetic warehouse holding only what the site reads (the marts of
docs/marts.md, `rules`, `findings`, `ingest_log`, `quarantine`,
`applications`), generated in DuckDB SQL at any number of employers.

Used by the site tests (small) and the site benchmark (50,000 employers),
so the builder is exercised independently of the rest of the pipeline.
"""
from __future__ import annotations

import datetime as dt

import duckdb

from core.sql import create_macros

DISTRICTS = ["haidian", "chaoyang", "dongcheng", "xicheng", "fengtai", "shijingshan", "mentougou", "fangshan",
             "tongzhou", "shunyi", "changping", "daxing", "huairou", "pinggu", "miyun", "yanqing", "etdz"]
DISTRICT_ZH = ["海淀区", "朝阳区", "东城区", "西城区", "丰台区", "石景山区", "门头沟区", "房山区", "通州区", "顺义区",
               "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区", "经开区"]
CATEGORIES = ["high_tech", "software", "integrated_circuit", "rnd_center", "financial", "cultural_creative",
              "regional_hq", "other"]
CATEGORY_ZH = ["高新技术企业", "软件企业", "集成电路企业", "驻京研发机构", "金融企业", "文化创意企业", "跨国公司地区总部", "其他"]
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
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华"


def _list(xs):
    return "[" + ", ".join("'" + x + "'" for x in xs) + "]"


def build_synthetic_warehouse(con: duckdb.DuckDBPyConnection, employers: int = 20, as_of: dt.date = dt.date(2026, 6, 30),
                              big_employer_rows: int = 0, seed: int = 7, run_id: str = "synthetic-run") -> None:
    """Create every table the site reads. ``big_employer_rows`` gives the first
    employer that many renewal rows (page-size cap test)."""
    a = f"DATE '{as_of.isoformat()}'"
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    create_macros(con)  # mask_id: the one masking rule (core.masking)
    con.execute(f"CREATE OR REPLACE MACRO h(x, k) AS (hash(x * 7919 + k + {seed}) % 1000000)::BIGINT")
    con.execute("CREATE OR REPLACE MACRO pick(lst, x, k) AS lst[1 + (h(x, k) % len(lst))::INTEGER]")
    con.execute(f"""CREATE OR REPLACE MACRO pname(x) AS
        substr('{SURNAMES}', 1 + (h(x, 11) % {len(SURNAMES)})::INTEGER, 1)
        || substr('{GIVEN}', 1 + (h(x, 12) % {len(GIVEN)})::INTEGER, 1)
        || CASE WHEN h(x, 13) % 2 = 0 THEN substr('{GIVEN}', 1 + (h(x, 14) % {len(GIVEN)})::INTEGER, 1) ELSE '' END""")
    con.execute("""CREATE OR REPLACE MACRO pid(x) AS
        '110105' || strftime(DATE '1970-01-01' + INTERVAL (h(x, 21) % 12000) DAY, '%Y%m%d')
        || lpad(CAST(h(x, 22) % 1000 AS VARCHAR), 3, '0') || CASE WHEN h(x, 23) % 11 = 0 THEN 'X' ELSE CAST(h(x, 23) % 10 AS VARCHAR) END""")
    con.execute("CREATE OR REPLACE MACRO uscc_of(i) AS '9111010' || 'MA' || lpad(CAST(i AS VARCHAR), 8, '0') || 'X'")
    n = employers
    con.execute(f"""CREATE OR REPLACE TABLE employer_summary AS
        SELECT {a} AS as_of, uscc_of(i) AS uscc,
               '北京' || pick({_list(['星辰', '华科', '云途', '智汇', '博远', '中关', '天工', '数联'])}, i, 1)
                 || pick({_list(['科技', '软件', '信息', '金融', '文化', '研发'])}, i, 2) || '有限公司' || i AS name,
               'enterprise' AS entity_type, '企业法人' AS entity_type_zh,
               {_list(DISTRICTS)}[1 + (h(i, 3) % 17)::INTEGER] AS district,
               {_list(DISTRICT_ZH)}[1 + (h(i, 3) % 17)::INTEGER] AS district_zh,
               {_list(CATEGORIES)}[1 + (h(i, 4) % 8)::INTEGER] AS category,
               {_list(CATEGORY_ZH)}[1 + (h(i, 4) % 8)::INTEGER] AS category_zh,
               (5 + h(i, 5) % 40)::INTEGER AS employees_current,
               (2 + h(i, 6) % 20)::INTEGER AS permits_total,
               (1 + h(i, 6) % 15)::INTEGER AS permits_active,
               (h(i, 7) % 3)::INTEGER AS permits_due_soon,
               (h(i, 8) % 3)::INTEGER AS permits_window_open,
               (h(i, 9) % 2)::INTEGER AS permits_lapsed,
               (h(i, 10) % 5)::INTEGER AS apps_open,
               (h(i, 15) % 6)::INTEGER AS findings_error,
               (h(i, 16) % 9)::INTEGER AS findings_warning,
               (h(i, 17) % 4)::INTEGER AS findings_info
        FROM range({n}) t(i)""")
    # permits: ~8 per employer
    con.execute(f"""CREATE OR REPLACE TABLE permit_status AS
        SELECT {a} AS as_of, 'BJ' || lpad(CAST(p AS VARCHAR), 9, '0') AS permit_no, pid(p) AS id_number,
               mask_id(pid(p)) AS id_number_masked,
               pname(p) AS holder_name, uscc_of(p // 8 % {n}) AS uscc,
               CASE WHEN h(p, 31) % 10 < 8 THEN 'active' ELSE 'cancelled' END AS status,
               {a} - INTERVAL (h(p, 32) % 1000) DAY AS issued_on,
               ({a} + INTERVAL (h(p, 33) % 400 - 30) DAY)::DATE AS expires_on
        FROM range({n * 8}) t(p)""")
    con.execute(f"""CREATE OR REPLACE TABLE applications AS
        SELECT 'A' || lpad(CAST(x AS VARCHAR), 9, '0') AS application_id, uscc_of(x // 5 % {n}) AS uscc,
               pid(x + 10000000) AS id_number,
               pick({_list(['new', 'renewal', 'reissue', 'cancellation'])}, x, 41) AS type,
               pick({_list(['draft', 'person_submitted', 'employer_submitted', 'under_review', 'returned', 'approved',
                            'approved', 'approved', 'rejected'])}, x, 42) AS status
        FROM range({n * 5}) t(x)""")
    big = f"UNION ALL SELECT 0 AS e, r FROM range({big_employer_rows}) t(r)" if big_employer_rows else ""
    con.execute(f"""CREATE OR REPLACE TABLE todo_renewals AS
        WITH rows AS (SELECT i AS e, r FROM range({n}) t(i), range(3) s(r) WHERE h(i * 10 + r, 51) % 4 <> 0 {big}),
        k AS (SELECT e, r, e * 100000 + r AS x FROM rows)
        SELECT {a} AS as_of, uscc_of(e) AS uscc, pid(x) AS id_number,
               mask_id(pid(x)) AS id_number_masked, pname(x) AS name,
               'BJ' || lpad(CAST(x AS VARCHAR), 9, '0') AS permit_no,
               ({a} + INTERVAL (h(x, 52) % 120 - 40) DAY)::DATE AS expires_on,
               ({a} + INTERVAL (h(x, 52) % 120 - 70) DAY)::DATE AS window_start,
               ({a} + INTERVAL (h(x, 52) % 120 - 10) DAY)::DATE AS window_end,
               pick({_list(['due_soon', 'open', 'lapsed'])}, x, 53) AS window_state,
               CASE pick({_list(['due_soon', 'open', 'lapsed'])}, x, 53) WHEN 'due_soon' THEN '即将到期'
                    WHEN 'open' THEN '续签办理期内' ELSE '已过续签期' END AS window_state_zh,
               (h(x, 52) % 120 - 70)::INTEGER AS days_to_window_start, (h(x, 52) % 120 - 10)::INTEGER AS days_left,
               ({a} + INTERVAL (h(x, 52) % 120 - 10) DAY)::DATE AS due_on, 'EXP-WINDOW-OPEN' AS rule_ids
        FROM k""")
    con.execute(f"""CREATE OR REPLACE TABLE todo_cancellations AS
        SELECT {a} AS as_of, uscc_of(i) AS uscc, pid(i + 20000000) AS id_number,
               mask_id(pid(i + 20000000)) AS id_number_masked,
               pname(i + 20000000) AS name, 'BJC' || lpad(CAST(i AS VARCHAR), 8, '0') AS permit_no,
               'NC-LEFT-NOT-CANCELLED' AS rule_id, 'NC-LEFT-NOT-CANCELLED' AS rule_ids,
               NULL::VARCHAR AS superseded_rule_ids, '持证人已离职,证件未注销' AS reason_zh,
               'Holder left; permit not cancelled' AS reason_en,
               ({a} - INTERVAL (h(i, 61) % 200) DAY)::DATE AS left_on, NULL::DATE AS deferred_on,
               (h(i, 61) % 200)::INTEGER AS days_overdue, 'active' AS status, '有效' AS status_zh,
               ({a} - INTERVAL (h(i, 61) % 200) DAY)::DATE AS due_on
        FROM range({n}) t(i) WHERE h(i, 60) % 3 = 0""")
    con.execute(f"""CREATE OR REPLACE TABLE todo_contribution_gaps AS
        SELECT {a} AS as_of, uscc_of(i) AS uscc, pid(i + 30000000) AS id_number,
               mask_id(pid(i + 30000000)) AS id_number_masked,
               pname(i + 30000000) AS name, 'BJG' || lpad(CAST(i AS VARCHAR), 8, '0') AS permit_no,
               [DATE '2025-03-01', DATE '2025-04-01'] AS missing_months, 2 AS missing_month_count,
               '2025-03(个税)、2025-04(个税,社保)' AS missing_detail_zh,
               DATE '2025-03-01' AS first_missing_month, DATE '2025-04-01' AS last_missing_month,
               ({a} + INTERVAL 30 DAY)::DATE AS due_on, 'NC-CONTRIB-GAP' AS rule_ids
        FROM range({n}) t(i) WHERE h(i, 70) % 2 = 0""")
    con.execute(f"""CREATE OR REPLACE TABLE todo_failing_applications AS
        SELECT {a} AS as_of, uscc_of(i) AS uscc, pid(i + 40000000) AS id_number,
               mask_id(pid(i + 40000000)) AS id_number_masked,
               pname(i + 40000000) AS name, 'AF' || lpad(CAST(i AS VARCHAR), 8, '0') AS application_id,
               'new' AS type, '新办' AS type_zh, 'draft' AS status, '草稿' AS status_zh, NULL::VARCHAR AS permit_no,
               ({a} - INTERVAL 5 DAY)::DATE AS submitted_on, 2 AS reason_count,
               'ELIG-TALENT,ELIG-PHOTO' AS rule_ids,
               '不满足人才条件:无学士以上学位且无中级以上职称；照片格式 png 不符合要求(应为 jpg/jpeg)' AS reasons_zh,
               'Talent condition not met; photo format png not accepted' AS reasons_en, NULL::VARCHAR AS warnings_zh,
               true AS will_be_returned, {a} AS due_on
        FROM range({n}) t(i) WHERE h(i, 80) % 2 = 1""")
    con.execute(f"""CREATE OR REPLACE TABLE todo_candidates_90d AS
        SELECT {a} AS as_of, uscc_of(i) AS uscc, pid(i + 50000000) AS id_number,
               mask_id(pid(i + 50000000)) AS id_number_masked,
               pname(i + 50000000) AS name, ({a} - INTERVAL 150 DAY)::DATE AS hired_on,
               'bachelor' AS highest_degree, '学士' AS highest_degree_zh, 'none' AS title_level, '无' AS title_level_zh,
               ({a} + INTERVAL (h(i, 90) % 90) DAY)::DATE AS eligible_on, (h(i, 90) % 90)::INTEGER AS days_to_eligible,
               h(i, 90) % 90 = 0 AS eligible_now, '任职满6个月' AS waiting_for_zh,
               ({a} + INTERVAL (h(i, 90) % 90) DAY)::DATE AS due_on
        FROM range({n}) t(i) WHERE h(i, 91) % 2 = 0""")
    # bureau
    kpis = [("employers", "聘用单位", "Employers", n), ("permits_active", "有效证件", "Active permits", n * 6),
            ("permits_due_90d", "90天内到期", "Due in 90 days", n), ("permits_lapsed", "已过续签期", "Lapsed", n // 3),
            ("applications_open", "在办申请", "Open applications", n * 2),
            ("sla_within_share_12m", "15个工作日内办结占比(近12个月)", "Within 15 working days (12 months)", 0.87),
            ("median_processing_wd_12m", "办理工作日中位数(近12个月)", "Median working days (12 months)", 9.0),
            ("findings_error", "错误", "Errors", n * 2), ("findings_warning", "警告", "Warnings", n * 3)]
    con.execute("CREATE OR REPLACE TABLE bureau_kpis (as_of DATE, kpi VARCHAR, label_zh VARCHAR, label_en VARCHAR, "
                "value DOUBLE, sort_order INTEGER)")
    con.executemany("INSERT INTO bureau_kpis VALUES (?, ?, ?, ?, ?, ?)",
                    [[as_of, k, zh, en, v, i] for i, (k, zh, en, v) in enumerate(kpis)])
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
    con.execute("CREATE OR REPLACE TABLE bureau_permits_by_dimension (as_of DATE, dimension VARCHAR, code VARCHAR, "
                "label_zh VARCHAR, label_en VARCHAR, permits BIGINT, sort_order INTEGER)")
    con.executemany("INSERT INTO bureau_permits_by_dimension VALUES (?, ?, ?, ?, ?, ?, ?)", [[as_of, *r] for r in dims])
    con.execute(f"""CREATE OR REPLACE TABLE bureau_monthly_flow AS
        SELECT {a} AS as_of, (date_trunc('month', {a}) - INTERVAL (23 - m) MONTH)::DATE AS month,
               strftime((date_trunc('month', {a}) - INTERVAL (23 - m) MONTH), '%Y-%m') AS month_label,
               ({n} // 4 + h(m, 101) % 50)::BIGINT AS new_permits, (h(m, 102) % 9)::BIGINT AS transfers_in,
               ({n} // 6 + h(m, 103) % 40)::BIGINT AS renewed, (h(m, 104) % 30)::BIGINT AS cancelled
        FROM range(24) t(m)""")
    con.execute(f"""CREATE OR REPLACE TABLE bureau_processing_by_district AS
        SELECT {a} AS as_of, d AS district, z AS label_zh, d AS label_en,
               (CASE WHEN i > 14 THEN 3 ELSE {n} // (i + 1) + 5 END)::BIGINT AS applications,
               (CASE WHEN i > 14 THEN 3 ELSE {n} // (i + 1) END)::BIGINT AS decided,
               0::BIGINT AS within_sla, (i % 7)::BIGINT AS over_sla, 0.8 + (i % 5) / 25.0 AS share_within_sla,
               6.0 + i % 9 AS median_wd, 12.0 + i % 11 AS p90_wd, 7.5 AS mean_wd, 15 AS sla_working_days
        FROM (SELECT unnest({_list(DISTRICTS)}) AS d, unnest({_list(DISTRICT_ZH)}) AS z,
                     generate_subscripts({_list(DISTRICTS)}, 1) AS i)""")
    con.execute(f"""CREATE OR REPLACE TABLE bureau_return_reasons AS
        SELECT {a} AS as_of, r AS return_reason, (40 - 9 * i)::BIGINT AS applications,
               (20 - 5 * i)::BIGINT AS applications_12m
        FROM (SELECT unnest(['材料不全', '社保缴纳记录不连续', '照片不符合要求', '工作业绩描述不足']) AS r,
                     generate_subscripts(['a', 'b', 'c', 'd'], 1) AS i)""")
    con.execute("CREATE OR REPLACE TABLE rules (rule_id VARCHAR, severity VARCHAR, entity_type VARCHAR, "
                "title_zh VARCHAR, title_en VARCHAR, source VARCHAR, message_zh VARCHAR, message_en VARCHAR)")
    con.executemany("INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [[r, s, e, zh, en, f"rules.md: {zh}", zh + "。", en + "."] for r, s, e, zh, en in RULES])
    con.execute(f"""CREATE OR REPLACE TABLE bureau_findings_by_rule AS
        SELECT {a} AS as_of, rule_id, severity, entity_type, title_zh, title_en,
               (h(hash(rule_id) % 1000, 111) % ({n} * 2) + 1)::BIGINT AS findings,
               (h(hash(rule_id) % 1000, 112) % {n} + 1)::BIGINT AS employers
        FROM rules""")
    con.execute(f"""CREATE OR REPLACE TABLE bureau_employer_ranking AS
        SELECT {a} AS as_of, row_number() OVER (ORDER BY findings_error DESC, uscc) AS rank, uscc, name, district,
               district_zh, permits_active::BIGINT AS permits_active,
               (findings_error + 1)::BIGINT AS noncompliance_findings,
               100.0 * (findings_error + 1) / permits_active AS noncompliance_per_100,
               'NC-LEFT-NOT-CANCELLED' AS top_rule_id
        FROM employer_summary WHERE permits_active > 0""")
    for kind, codes, zhs in (("category", CATEGORIES, CATEGORY_ZH),
                             ("degree", ["none", "bachelor", "master", "doctor"], ["无", "学士", "硕士", "博士"])):
        con.execute(f"""CREATE OR REPLACE TABLE bureau_xtab_district_{kind} AS
            SELECT {a} AS as_of, d AS row_code, dz AS row_label_zh, c AS col_code, cz AS col_label_zh,
                   (CASE WHEN di > 12 THEN h(di * 10 + ci, 121) % 6 ELSE {n} // (di + ci) + h(di * 10 + ci, 122) % 9 END)::BIGINT AS permits
            FROM (SELECT unnest({_list(DISTRICTS)}) AS d, unnest({_list(DISTRICT_ZH)}) AS dz,
                         generate_subscripts({_list(DISTRICTS)}, 1) AS di),
                 (SELECT unnest({_list(codes)}) AS c, unnest({_list(zhs)}) AS cz, generate_subscripts({_list(codes)}, 1) AS ci)""")
        con.execute(f"COMMENT ON TABLE bureau_xtab_district_{kind} IS '有效证件:区 × {'单位分类' if kind == 'category' else '学位'} / "
                    f"Active permits by district and {kind}'")
    con.execute(f"""CREATE OR REPLACE TABLE findings AS
        SELECT '{run_id}' AS run_id, {a} AS as_of, 'NC-LEFT-NOT-CANCELLED' AS rule_id, 'error' AS severity,
               'permit' AS entity_type, permit_no AS entity_key, uscc, id_number, NULL::DATE AS due_on,
               reason_zh AS message_zh, reason_en AS message_en, '{{}}'::JSON AS detail
        FROM todo_cancellations""")
    con.execute(f"""CREATE OR REPLACE TABLE ingest_log AS
        SELECT '{run_id}' AS run_id, f AS source_file, t AS table_name, r::BIGINT AS rows_read,
               (r - q - c)::BIGINT AS rows_loaded, q::BIGINT AS rows_quarantined, c::BIGINT AS rows_collapsed
        FROM (VALUES ('employers.csv', 'employers', {n} + 3, 2, 1), ('人员.xlsx', 'persons', {n * 10}, 4, 0),
                     ('permits.parquet', 'permits', {n * 8}, 1, 0)) v(f, t, r, q, c)""")
    con.execute(f"""CREATE OR REPLACE TABLE quarantine AS
        SELECT 'persons' AS table_name, '人员.xlsx' AS source_file, 3 + i AS source_row, ['DQ-BAD-ID'] AS rule_ids,
               ['身份证号校验不通过'] AS reasons, '{{"身份证号": "110105198001011235"}}'::JSON AS raw, '{run_id}' AS run_id
        FROM range(4) t(i)""")
