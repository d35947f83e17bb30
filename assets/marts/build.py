"""DuckDB SQL that builds every mart from the contract tables and ``findings``.

Pure functions of a connection and an as_of date (no Dagster), so tests build
marts on small hand-made warehouses. ``prepare`` registers connection-local
temp tables (labels, effective policy per employer, working-day calendar) and
macros; every ``build_*`` calls it. Each mart is ``CREATE OR REPLACE TABLE … AS``
and documented with ``COMMENT ON`` (``assets.marts.comments``).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from assets.marts.comments import MART_DOCS
from assets.marts.labels import label_frame, labels
from assets.marts.policy import DEFAULT_KEY, load_policy, policy_frame
from assets.marts.workdays import workday_frame
from assets.warehouse import comment_table, ensure_findings_tables, sql_str

OPEN = ("draft", "person_submitted", "employer_submitted", "under_review", "returned")
OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN) + ")"
# employer-side obligations counted as non-compliance (bureau ranking)
NONCOMPLIANCE_SQL = "(rule_id LIKE 'NC-%' OR rule_id LIKE 'EMP-%' OR rule_id IN ('EXP-LAPSED', 'XFER-DEFERRAL-EXPIRED'))"

# candidate checks: column -> (rule_id, reason zh, reason en)
CHECKS: dict[str, tuple[str, str, str]] = {
    "chk_employer_opened": ("ELIG-EMPLOYER-NOT-OPENED", "单位尚未开通系统账户", "employer account not opened"),
    "chk_employer_age": ("ELIG-EMPLOYER-AGE-1Y", "单位成立不满1年", "employer registered less than 1 year"),
    "chk_employer_capital": ("ELIG-EMPLOYER-CAPITAL", "单位注册资本不足或未填写", "registered capital too low or missing"),
    "chk_branch_quota": ("ELIG-BRANCH-QUOTA", "非法人分支机构持证人数已达上限", "branch permit quota reached"),
    "chk_talent": ("ELIG-TALENT", "不符合学历+工作经历、中级及以上职称或特殊人才条件",
                   "no bachelor+2 years experience, intermediate title or special-talent status"),
    "chk_tenure": ("ELIG-TENURE-6M", "在本单位连续工作不满6个月", "less than 6 months with this employer"),
    "chk_age_limit": ("ELIG-AGE-LIMIT", "超过年龄上限(男60周岁/女55周岁)", "over the age limit (men 60, women 55)"),
    "chk_residence": ("ELIG-RESIDENCE", "在京住所类型或住所证明缺失", "no lawful stable residence with proof"),
    "chk_contrib": ("ELIG-CONTRIB-6M", "近期个税社保缴纳中断,需恢复连续缴纳", "recent tax/social-insurance payments interrupted"),
    "chk_work_before_grad": ("ELIG-WORK-BEFORE-GRAD", "参加工作时间早于全日制毕业时间",
                             "work start date not after full-time graduation"),
    "chk_work_gap": ("ELIG-WORK-GAP-2M", "工作简历存在超过2个月未说明的空档", "unexplained work-history gap over 2 months"),
    "chk_education": ("ELIG-EDU-NO-HIGH-SCHOOL", "教育培训简历未从高中(中专)填起", "education history does not start at high school"),
    "chk_achievement": ("ELIG-ACHIEVEMENT-200", "主要工作业绩不足200字", "work achievements shorter than 200 characters"),
    "chk_photo": ("ELIG-PHOTO", "照片格式或尺寸不符合要求", "photo format or size not accepted"),
}
# time-based conditions: ok-on column -> (awaited zh, awaited en)
WAITS = {
    "employer_ok_on": ("单位成立满1年/开通账户", "employer 1 year old / account opened"),
    "tenure_ok_on": ("任职满6个月", "6 months with employer"),
    "experience_ok_on": ("工作经历满2年", "2 years of work experience"),
    "contrib_ok_on": ("连续缴费满6个月", "6 covered contribution months"),
}
AGE_BANDS = [(25, "under_25"), (30, "25_29"), (35, "30_34"), (40, "35_39"), (45, "40_44"), (50, "45_49"),
             (55, "50_54")]


def d(x: dt.date) -> str:
    return f"DATE '{x.isoformat()}'"


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.sql(f"SELECT count(*) FROM duckdb_tables() WHERE table_name = '{table}' "
                        "AND NOT temporary").fetchall()[0][0])


def prepare(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy_path: Path) -> dict:
    """Temp tables _labels, _policy, _emp_pol, _wd and macros for this connection.
    Returns the loaded policy."""
    policy = load_policy(policy_path)
    ensure_findings_tables(con)
    lab = label_frame()
    pol = policy_frame(policy, list(labels()["district"]))
    con.register("_labels_df", lab.to_arrow())
    con.execute("CREATE OR REPLACE TEMP TABLE _labels AS SELECT * FROM _labels_df")
    con.unregister("_labels_df")
    con.register("_policy_df", pol.to_arrow())
    con.execute("CREATE OR REPLACE TEMP TABLE _policy AS SELECT * FROM _policy_df")
    con.unregister("_policy_df")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _emp_pol AS
        SELECT e.uscc, p.* EXCLUDE (district) FROM employers e
        JOIN _policy p ON p.district = CASE WHEN e.district IN (SELECT district FROM _policy)
                                            THEN e.district ELSE '{DEFAULT_KEY}' END""")
    con.execute("CREATE OR REPLACE TEMP MACRO mask_id(s) AS CASE WHEN s IS NULL THEN NULL "
                "WHEN length(s) < 10 THEN repeat('*', length(s)) ELSE left(s, 6) || '********' || right(s, 4) END")
    con.execute("CREATE OR REPLACE TEMP MACRO add_months(x, n) AS CAST(x + to_months(CAST(n AS INTEGER)) AS DATE)")
    con.execute("CREATE OR REPLACE TEMP MACRO m_of(x) AS CAST(date_trunc('month', x) AS DATE)")
    con.execute("CREATE OR REPLACE TEMP MACRO birth_of(id) AS try_strptime(substr(id, 7, 8), '%Y%m%d')::DATE")
    con.execute("CREATE OR REPLACE TEMP MACRO gender_of(id) AS "
                "CASE WHEN try_cast(substr(id, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END")
    con.execute("CREATE OR REPLACE TEMP MACRO age_at(b, x) AS year(x) - year(b) - "
                "CASE WHEN month(x) * 100 + day(x) < month(b) * 100 + day(b) THEN 1 ELSE 0 END")
    # label lookup as a constant MAP (a per-row scalar subquery is slow at city scale)
    entries = ", ".join(f"{sql_str(r['enum'] + ':' + r['code'])}: {sql_str(r['label_zh'])}"
                        for r in lab.iter_rows(named=True))
    con.execute(f"CREATE OR REPLACE TEMP MACRO lab(e, c) AS coalesce(MAP {{{entries}}}[e || ':' || c], c)")
    # working-day calendar over the span the processing mart needs
    lo, hi = con.sql(f"""SELECT min(window_submitted_on), max(greatest(decided_on, {d(as_of)}))
                         FROM applications WHERE window_submitted_on IS NOT NULL""").fetchall()[0]
    lo = min(lo or as_of, as_of - dt.timedelta(days=400))
    hi = max(hi or as_of, as_of)
    con.register("_wd_df", workday_frame(lo - dt.timedelta(days=1), hi).to_arrow())
    con.execute("CREATE OR REPLACE TEMP TABLE _wd AS SELECT * FROM _wd_df")
    con.unregister("_wd_df")
    return policy


def _document(con: duckdb.DuckDBPyConnection, table: str) -> None:
    comment, cols = MART_DOCS[table]
    actual = [r[0] for r in con.sql(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}' "
                                    "AND database_name = current_database() AND schema_name = 'main' "
                                    "ORDER BY column_index").fetchall()]
    missing = [c for c in actual if c not in cols]
    if missing:
        raise RuntimeError(f"mart {table}: no comment for column(s) {', '.join(missing)}")
    comment_table(con, table, comment, {c: cols[c] for c in actual})


def _rows(con, table: str) -> int:
    return con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]


# --------------------------------------------------------------------------- permit_status
def build_permit_status(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE permit_status AS
    WITH p AS (
        SELECT p.*, e.name AS employer_name, e.district,
               add_months(p.expires_on, -1) AS window_start, add_months(p.expires_on, 1) AS window_end,
               coalesce(ep.expiry_notice_days, (SELECT expiry_notice_days FROM _policy
                                                 WHERE district = '{DEFAULT_KEY}')) AS notice_days
        FROM permits p LEFT JOIN employers e USING (uscc) LEFT JOIN _emp_pol ep USING (uscc)),
    inhand AS (
        SELECT p.permit_no, arg_max(a.application_id, coalesce(a.submitted_on, {A})) AS application_id
        FROM p JOIN applications a ON a.permit_no = p.permit_no
        WHERE a.type = 'renewal' AND (a.status IN {OPEN_SQL} OR a.status = 'approved')
          AND coalesce(a.submitted_on, {A}) >= p.window_start
        GROUP BY p.permit_no),
    f AS (
        SELECT entity_key AS permit_no, count(*) AS n,
               count(*) FILTER (WHERE severity = 'error') AS ne,
               count(*) FILTER (WHERE severity = 'warning') AS nw
        FROM findings WHERE entity_type = 'permit' GROUP BY entity_key),
    s AS (
        SELECT p.*, ih.application_id AS renewal_application_id,
               CASE WHEN p.status <> 'active' THEN 'inactive'
                    WHEN ih.application_id IS NOT NULL THEN 'renewal_in_hand'
                    WHEN {A} > p.window_end THEN 'lapsed'
                    WHEN {A} >= p.window_start THEN 'open'
                    WHEN p.expires_on <= {A} + p.notice_days THEN 'due_soon'
                    ELSE 'not_due' END AS window_state,
               coalesce(f.n, 0) AS open_findings, coalesce(f.ne, 0) AS open_errors,
               coalesce(f.nw, 0) AS open_warnings
        FROM p LEFT JOIN inhand ih USING (permit_no) LEFT JOIN f USING (permit_no))
    SELECT {A} AS as_of, s.permit_no, s.id_number, mask_id(s.id_number) AS id_number_masked,
           pe.name AS holder_name, s.uscc, s.employer_name, s.district, lab('district', s.district) AS district_zh,
           s.status, lab('permit_status', s.status) AS status_zh,
           s.issued_on, s.expires_on, s.cancelled_on, s.deferred_on,
           CAST(s.expires_on - {A} AS INTEGER) AS days_to_expiry, s.window_start, s.window_end,
           s.window_state, lab('window_state', s.window_state) AS window_state_zh,
           s.renewal_application_id,
           CAST(s.open_findings AS INTEGER) AS open_findings, CAST(s.open_errors AS INTEGER) AS open_errors,
           CAST(s.open_warnings AS INTEGER) AS open_warnings
    FROM s LEFT JOIN persons pe USING (id_number)
    ORDER BY s.uscc, s.expires_on, s.permit_no""")
    _document(con, "permit_status")
    return _rows(con, "permit_status")


# --------------------------------------------------------------------------- candidates
def build_candidates(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy: dict) -> int:
    A = d(as_of)
    MA = f"m_of({A})"
    kinds = [str(k) for k in policy["defaults"]["contribution_kinds"]]
    kinds_sql = "(" + ", ".join(f"'{k}'" for k in kinds) + ")"
    kind_bits = "CASE c.kind " + " ".join(f"WHEN '{k}' THEN {2 ** i}" for i, k in enumerate(kinds)) + " END"
    ws = r"'[\s\p{Z}\x{000B}\x{001C}-\x{001F}\x{0085}]'"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _cand_base AS
    WITH cur AS (
        SELECT id_number, uscc, min(hired_on) AS hired_on FROM employments
        WHERE hired_on <= {A} AND (left_on IS NULL OR left_on > {A}) GROUP BY id_number, uscc),
    excl AS (
        SELECT id_number FROM permits WHERE status = 'active'
        UNION SELECT id_number FROM applications WHERE status IN {OPEN_SQL})
    SELECT cur.* FROM cur ANTI JOIN excl USING (id_number)""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _cand_contrib AS
    WITH cov AS (
        -- covered months in the last 7 full months only: enough to decide the
        -- 6-month check, its projection, and "payments are current"
        SELECT c.id_number, c.month AS m FROM contributions c SEMI JOIN _cand_base b ON b.id_number = c.id_number
        WHERE c.kind IN {kinds_sql} AND c.month < {MA} AND c.month >= add_months({MA}, -7)
        GROUP BY c.id_number, c.month HAVING bit_or({kind_bits}) = {2 ** len(kinds) - 1}),
    isl AS (
        SELECT id_number, m, datediff('month', DATE '1900-01-01', m)
               - row_number() OVER (PARTITION BY id_number ORDER BY m) AS g FROM cov),
    runs AS (SELECT id_number, min(m) AS s, max(m) AS l FROM isl GROUP BY id_number, g)
    SELECT id_number, arg_max(s, l) AS run_start, max(l) AS run_last FROM runs GROUP BY id_number""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _cand_work AS
    WITH w AS (
        SELECT id_number, start_on AS s, coalesce(end_on, {A}) AS e FROM work_history
        WHERE id_number IN (SELECT id_number FROM _cand_base) AND start_on <= {A}),
    w2 AS (
        SELECT *, max(e) OVER (PARTITION BY id_number ORDER BY s, e
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_e FROM w)
    SELECT id_number,
           bool_or(prev_e IS NOT NULL AND s > add_months(prev_e, 2)) OR {A} > add_months(max(e), 2) AS has_gap
    FROM w2 GROUP BY id_number""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _cand_edu AS
    SELECT id_number, arg_min(level, start_on) AS first_level FROM education_history
    WHERE id_number IN (SELECT id_number FROM _cand_base) GROUP BY id_number""")
    blocked_ids = ", ".join(f"CASE WHEN {c} = 'blocked' THEN '{r}' END" for c, (r, _, _) in CHECKS.items())
    blocked_zh = ", ".join(f"CASE WHEN {c} = 'blocked' THEN '{z}' END" for c, (_, z, _) in CHECKS.items())
    blocked_en = ", ".join(f"CASE WHEN {c} = 'blocked' THEN '{e}' END" for c, (_, _, e) in CHECKS.items())
    any_blocked = " OR ".join(f"{c} = 'blocked'" for c in CHECKS if c != "chk_age_limit")
    waits_zh = ", ".join(f"CASE WHEN {c} > {A} THEN '{z}' END" for c, (z, _) in WAITS.items())
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _cand_checks AS
    WITH ap AS (
        SELECT uscc, count(*) AS n FROM permits WHERE status = 'active' GROUP BY uscc),
    b AS (
        SELECT cb.id_number, cb.uscc, cb.hired_on, e.name AS employer_name, e.district, e.entity_type,
               e.established_on, e.account_opened_on, e.registered_capital_cny,
               p.name, gender_of(cb.id_number) AS gender, birth_of(cb.id_number) AS birth_date,
               coalesce(p.highest_degree, 'none') AS highest_degree, coalesce(p.title_level, 'none') AS title_level,
               coalesce(p.special_talent, false) AS special_talent, p.work_start_date, p.graduation_date,
               p.degree_study_mode, p.housing_type, coalesce(p.housing_proof, false) AS housing_proof,
               p.achievements, p.photo_format, p.photo_bytes, p.photo_width, p.photo_height,
               coalesce(ap.n, 0) AS active_permits_of_employer,
               cc.run_start, cc.run_last, cw.has_gap, ce.first_level,
               ep.min_capital_cny, ep.branch_quota, ep.max_age_male, ep.max_age_female, ep.min_achievement_chars,
               ep.photo_formats, ep.photo_max_bytes, ep.photo_min_width, ep.photo_min_height
        FROM _cand_base cb
        JOIN employers e USING (uscc) JOIN _emp_pol ep USING (uscc)
        LEFT JOIN persons p USING (id_number) LEFT JOIN ap USING (uscc)
        LEFT JOIN _cand_contrib cc USING (id_number) LEFT JOIN _cand_work cw USING (id_number)
        LEFT JOIN _cand_edu ce USING (id_number)),
    t AS (
        SELECT b.*,
          CASE WHEN title_level IN ('intermediate', 'associate_senior', 'senior') THEN 'title'
               WHEN special_talent THEN 'special_talent'
               WHEN highest_degree IN ('bachelor', 'master', 'doctor') THEN 'degree_experience'
               ELSE 'none' END AS talent_route,
          greatest(add_months(established_on, 12), account_opened_on) AS employer_ok_on,
          add_months(hired_on, 6) AS tenure_ok_on,
          CASE WHEN run_last = add_months({MA}, -1) THEN add_months(run_start, 6)
               WHEN run_last = add_months({MA}, -2) THEN greatest(add_months(run_start, 6), add_months({MA}, 1))
               WHEN m_of(hired_on) >= add_months({MA}, -1) THEN add_months(m_of(hired_on), 6)
          END AS contrib_ok_on
        FROM b),
    c AS (
        SELECT t.*,
          CASE WHEN talent_route = 'degree_experience' THEN add_months(work_start_date, 24) END AS experience_ok_on,
          CASE WHEN account_opened_on IS NULL THEN 'blocked' WHEN account_opened_on > {A} THEN 'wait'
               ELSE 'ok' END AS chk_employer_opened,
          CASE WHEN established_on IS NULL THEN 'blocked' WHEN add_months(established_on, 12) > {A} THEN 'wait'
               ELSE 'ok' END AS chk_employer_age,
          CASE WHEN registered_capital_cny IS NULL OR registered_capital_cny < min_capital_cny THEN 'blocked'
               ELSE 'ok' END AS chk_employer_capital,
          CASE WHEN entity_type IN ('foreign_branch', 'domestic_branch')
                    AND active_permits_of_employer >= branch_quota THEN 'blocked' ELSE 'ok' END AS chk_branch_quota,
          CASE WHEN talent_route IN ('title', 'special_talent') THEN 'ok'
               WHEN talent_route = 'degree_experience' AND work_start_date IS NULL THEN 'blocked'
               WHEN talent_route = 'degree_experience' AND add_months(work_start_date, 24) > {A} THEN 'wait'
               WHEN talent_route = 'degree_experience' THEN 'ok'
               ELSE 'blocked' END AS chk_talent,
          CASE WHEN tenure_ok_on > {A} THEN 'wait' ELSE 'ok' END AS chk_tenure,
          CASE WHEN housing_type IS NULL OR housing_type = 'none' OR NOT housing_proof THEN 'blocked'
               ELSE 'ok' END AS chk_residence,
          CASE WHEN contrib_ok_on IS NULL THEN 'blocked' WHEN contrib_ok_on > {A} THEN 'wait'
               ELSE 'ok' END AS chk_contrib,
          CASE WHEN degree_study_mode = 'full_time' AND work_start_date IS NOT NULL
                    AND graduation_date IS NOT NULL AND work_start_date <= graduation_date THEN 'blocked'
               ELSE 'ok' END AS chk_work_before_grad,
          CASE WHEN has_gap IS NULL OR has_gap THEN 'blocked' ELSE 'ok' END AS chk_work_gap,
          CASE WHEN first_level IN ('high_school', 'secondary_vocational') THEN 'ok'
               ELSE 'blocked' END AS chk_education,
          CASE WHEN achievements IS NULL
                    OR length(regexp_replace(achievements, {ws}, '', 'g')) < min_achievement_chars THEN 'blocked'
               ELSE 'ok' END AS chk_achievement,
          CASE WHEN photo_format IS NULL OR NOT list_contains(photo_formats, lower(photo_format))
                    OR photo_bytes IS NULL OR photo_bytes > photo_max_bytes
                    OR photo_width IS NULL OR photo_width < photo_min_width
                    OR photo_height IS NULL OR photo_height < photo_min_height THEN 'blocked'
               ELSE 'ok' END AS chk_photo
        FROM t),
    g AS (
        SELECT c.*, CASE WHEN gender = 'M' THEN max_age_male ELSE max_age_female END AS max_age,
          greatest({A}, employer_ok_on, tenure_ok_on, experience_ok_on, contrib_ok_on) AS projected_on
        FROM c)
    SELECT g.*,
      CASE WHEN birth_date IS NULL THEN 'blocked'
           WHEN age_at(birth_date, {A}) > max_age THEN 'blocked'
           WHEN age_at(birth_date, projected_on) > max_age THEN 'blocked'
           ELSE 'ok' END AS chk_age_limit
    FROM g""")
    con.execute(f"""
    CREATE OR REPLACE TABLE candidates AS
    WITH x AS (
        SELECT *, ({any_blocked} OR chk_age_limit = 'blocked') AS is_blocked FROM _cand_checks)
    SELECT {A} AS as_of, uscc, employer_name, district, lab('district', district) AS district_zh,
           id_number, mask_id(id_number) AS id_number_masked, name, gender, birth_date,
           age_at(birth_date, {A}) AS age, hired_on,
           highest_degree, lab('degree', highest_degree) AS highest_degree_zh,
           title_level, lab('title_level', title_level) AS title_level_zh, talent_route,
           {", ".join(CHECKS)},
           employer_ok_on, tenure_ok_on, experience_ok_on, contrib_ok_on,
           CASE WHEN NOT is_blocked THEN projected_on END AS eligible_on,
           coalesce(NOT is_blocked AND projected_on = {A}, false) AS eligible_now,
           CASE WHEN NOT is_blocked THEN CAST(projected_on - {A} AS INTEGER) END AS days_to_eligible,
           list_filter([{blocked_ids}], lambda v: v IS NOT NULL) AS blocking_rule_ids,
           array_to_string(list_filter([{blocked_zh}], lambda v: v IS NOT NULL), '；') AS blocking_reasons_zh,
           array_to_string(list_filter([{blocked_en}], lambda v: v IS NOT NULL), '; ') AS blocking_reasons_en,
           array_to_string(list_filter([{waits_zh}], lambda v: v IS NOT NULL), '、') AS waiting_for_zh
    FROM x ORDER BY uscc, eligible_on NULLS LAST, id_number""")
    _document(con, "candidates")
    return _rows(con, "candidates")


# --------------------------------------------------------------------------- todo lists
def build_todo_renewals(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE todo_renewals AS
    SELECT {A} AS as_of, uscc, permit_no, id_number, id_number_masked, holder_name AS name,
           expires_on, window_start, window_end, window_state, window_state_zh,
           CAST(window_start - {A} AS INTEGER) AS days_to_window_start,
           CAST(window_end - {A} AS INTEGER) AS days_left
    FROM permit_status
    WHERE status = 'active' AND window_state IN ('due_soon', 'open', 'lapsed')
    ORDER BY uscc, window_end, permit_no""")
    _document(con, "todo_renewals")
    return _rows(con, "todo_renewals")


def build_todo_cancellations(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE todo_cancellations AS
    WITH f AS (
        SELECT rule_id, entity_key AS permit_no, any_value(message_zh) AS message_zh,
               any_value(message_en) AS message_en
        FROM findings WHERE entity_type = 'permit'
          AND rule_id IN ('NC-LEFT-NOT-CANCELLED', 'XFER-DEFERRAL-EXPIRED')
        GROUP BY rule_id, entity_key),
    lft AS (
        SELECT id_number, uscc, max(left_on) AS left_on FROM employments
        WHERE left_on IS NOT NULL AND left_on <= {A} GROUP BY id_number, uscc)
    SELECT {A} AS as_of, p.uscc, p.permit_no, p.id_number, mask_id(p.id_number) AS id_number_masked,
           pe.name, f.rule_id,
           coalesce(f.message_zh, CASE f.rule_id WHEN 'NC-LEFT-NOT-CANCELLED' THEN '持证人已离职,证件尚未注销'
                                  ELSE '延期注销已超过6个月' END) AS reason_zh,
           coalesce(f.message_en, CASE f.rule_id WHEN 'NC-LEFT-NOT-CANCELLED'
                                  THEN 'holder left, permit not cancelled'
                                  ELSE 'deferred cancellation older than 6 months' END) AS reason_en,
           CASE WHEN f.rule_id = 'NC-LEFT-NOT-CANCELLED' THEN lft.left_on END AS left_on, p.deferred_on,
           CAST({A} - CASE WHEN f.rule_id = 'NC-LEFT-NOT-CANCELLED' THEN lft.left_on
                           ELSE add_months(p.deferred_on, 6) END AS INTEGER) AS days_overdue,
           p.status, lab('permit_status', p.status) AS status_zh
    FROM f JOIN permits p USING (permit_no)
    LEFT JOIN lft ON lft.id_number = p.id_number AND lft.uscc = p.uscc
    LEFT JOIN persons pe ON pe.id_number = p.id_number
    ORDER BY p.uscc, days_overdue DESC NULLS LAST, p.permit_no""")
    _document(con, "todo_cancellations")
    return _rows(con, "todo_cancellations")


def build_todo_contribution_gaps(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy: dict) -> int:
    A = d(as_of)
    MA = f"m_of({A})"
    kinds = [str(k) for k in policy["defaults"]["contribution_kinds"]]
    kinds_values = ", ".join(f"('{k}', lab('contribution_kind', '{k}'))" for k in kinds)
    con.execute(f"""
    CREATE OR REPLACE TABLE todo_contribution_gaps AS
    WITH g AS (
        SELECT p.permit_no, p.id_number, p.uscc, min(f.due_on) AS due_on,
               greatest(m_of(p.issued_on), add_months({MA}, -36)) AS m0, add_months({MA}, -2) AS m1
        FROM findings f JOIN permits p ON p.permit_no = f.entity_key
        WHERE f.rule_id = 'NC-CONTRIB-GAP' AND f.entity_type = 'permit'
        GROUP BY p.permit_no, p.id_number, p.uscc, p.issued_on),
    months AS (
        SELECT permit_no, id_number, CAST(unnest(generate_series(m0, m1, INTERVAL 1 MONTH)) AS DATE) AS m
        FROM g WHERE m0 <= m1),
    kinds(kind, kind_zh) AS (VALUES {kinds_values}),
    have AS (
        SELECT DISTINCT id_number, m_of(month) AS m, kind FROM contributions
        WHERE id_number IN (SELECT id_number FROM g)),
    miss AS (
        SELECT months.permit_no, months.m, k.kind, k.kind_zh
        FROM months CROSS JOIN kinds k
        ANTI JOIN have h ON h.id_number = months.id_number AND h.m = months.m AND h.kind = k.kind),
    pm AS (
        SELECT permit_no, m, string_agg(kind_zh, ',' ORDER BY kind) AS kinds_zh FROM miss GROUP BY permit_no, m),
    agg AS (
        SELECT permit_no, list(m ORDER BY m) AS missing_months, count(*) AS n,
               string_agg(strftime(m, '%Y-%m') || '(' || kinds_zh || ')', '、' ORDER BY m) AS detail,
               min(m) AS first_m, max(m) AS last_m
        FROM pm GROUP BY permit_no)
    SELECT {A} AS as_of, g.uscc, g.permit_no, g.id_number, mask_id(g.id_number) AS id_number_masked, pe.name,
           coalesce(agg.missing_months, []::DATE[]) AS missing_months,
           CAST(coalesce(agg.n, 0) AS INTEGER) AS missing_month_count,
           agg.detail AS missing_detail_zh, agg.first_m AS first_missing_month, agg.last_m AS last_missing_month,
           g.due_on
    FROM g LEFT JOIN agg USING (permit_no) LEFT JOIN persons pe ON pe.id_number = g.id_number
    ORDER BY g.uscc, g.due_on NULLS LAST, g.permit_no""")
    _document(con, "todo_contribution_gaps")
    return _rows(con, "todo_contribution_gaps")


def build_todo_failing_applications(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE todo_failing_applications AS
    WITH f AS (
        SELECT f.entity_key AS application_id, f.rule_id, f.severity,
               coalesce(f.message_zh, f.rule_id) AS mzh, coalesce(f.message_en, f.rule_id) AS men
        FROM findings f WHERE f.entity_type = 'application'),
    agg AS (
        SELECT application_id,
               count(*) FILTER (WHERE severity = 'error') AS n_err,
               string_agg(rule_id, ',' ORDER BY rule_id) FILTER (WHERE severity = 'error') AS rule_ids,
               string_agg(mzh, '；' ORDER BY rule_id) FILTER (WHERE severity = 'error') AS reasons_zh,
               string_agg(men, '; ' ORDER BY rule_id) FILTER (WHERE severity = 'error') AS reasons_en,
               string_agg(mzh, '；' ORDER BY rule_id) FILTER (WHERE severity <> 'error') AS warnings_zh
        FROM f GROUP BY application_id)
    SELECT {A} AS as_of, a.uscc, a.application_id, a.id_number, mask_id(a.id_number) AS id_number_masked,
           pe.name, a.type, lab('application_type', a.type) AS type_zh, a.status,
           lab('application_status', a.status) AS status_zh, a.permit_no, a.submitted_on,
           CAST(agg.n_err AS INTEGER) AS reason_count, agg.rule_ids, agg.reasons_zh, agg.reasons_en, agg.warnings_zh
    FROM applications a JOIN agg USING (application_id) LEFT JOIN persons pe ON pe.id_number = a.id_number
    WHERE a.status IN {OPEN_SQL} AND agg.n_err > 0
    ORDER BY a.uscc, a.submitted_on NULLS LAST, a.application_id""")
    _document(con, "todo_failing_applications")
    return _rows(con, "todo_failing_applications")


def build_todo_candidates_90d(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE todo_candidates_90d AS
    SELECT {A} AS as_of, uscc, id_number, id_number_masked, name, hired_on, eligible_on, days_to_eligible,
           eligible_now, waiting_for_zh
    FROM candidates WHERE eligible_on IS NOT NULL AND eligible_on <= {A} + 90
    ORDER BY uscc, eligible_on, id_number""")
    _document(con, "todo_candidates_90d")
    return _rows(con, "todo_candidates_90d")


# --------------------------------------------------------------------------- employer summary
def build_employer_summary(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    states = ["not_due", "due_soon", "open", "renewal_in_hand", "lapsed", "inactive"]
    state_cols = {"open": "permits_window_open"}
    st = ", ".join(f"count(*) FILTER (WHERE window_state = '{s}') AS {state_cols.get(s, 'permits_' + s)}"
                   for s in states)
    app_st = ", ".join(f"count(*) FILTER (WHERE status = '{s}') AS apps_{s}" for s in OPEN)
    todo = {"todo_renewals": "todo_renewals", "todo_cancellations": "todo_cancellations",
            "todo_contribution_gaps": "todo_contribution_gaps",
            "todo_failing_applications": "todo_failing_applications", "candidates_90d": "todo_candidates_90d"}
    todo_ctes = ",\n".join(f"{k} AS (SELECT uscc, count(*) AS n FROM {t} GROUP BY uscc)" for k, t in todo.items())
    todo_joins = " ".join(f"LEFT JOIN {k} ON {k}.uscc = e.uscc" for k in todo)
    todo_cols = ", ".join(f"CAST(coalesce({k}.n, 0) AS INTEGER) AS {k}" for k in todo)
    ints = (["permits_total", "permits_active"] + [state_cols.get(s, "permits_" + s) for s in states]
            + ["apps_open"] + [f"apps_{s}" for s in OPEN])
    con.execute(f"""
    CREATE OR REPLACE TABLE employer_summary AS
    WITH emp AS (
        SELECT uscc, count(DISTINCT id_number) AS n FROM employments
        WHERE hired_on <= {A} AND (left_on IS NULL OR left_on > {A}) GROUP BY uscc),
    ps AS (
        SELECT uscc, count(*) AS permits_total, count(*) FILTER (WHERE status = 'active') AS permits_active, {st}
        FROM permit_status GROUP BY uscc),
    ap AS (
        SELECT uscc, count(*) AS apps_open, {app_st} FROM applications WHERE status IN {OPEN_SQL} GROUP BY uscc),
    fs AS (
        SELECT uscc, count(*) FILTER (WHERE severity = 'error') AS fe,
               count(*) FILTER (WHERE severity = 'warning') AS fw, count(*) FILTER (WHERE severity = 'info') AS fi,
               count(*) FILTER (WHERE {NONCOMPLIANCE_SQL}) AS nc
        FROM findings WHERE uscc IS NOT NULL GROUP BY uscc),
    cand AS (SELECT uscc, count(*) AS n FROM candidates GROUP BY uscc),
    {todo_ctes}
    SELECT {A} AS as_of, e.uscc, e.name, e.entity_type, lab('entity_type', e.entity_type) AS entity_type_zh,
           e.district, lab('district', e.district) AS district_zh, coalesce(e.category, 'other') AS category,
           lab('category', coalesce(e.category, 'other')) AS category_zh,
           CAST(coalesce(emp.n, 0) AS INTEGER) AS employees_current,
           {", ".join(f"CAST(coalesce({c}, 0) AS INTEGER) AS {c}" for c in ints)},
           CAST(coalesce(fs.fe, 0) AS INTEGER) AS findings_error,
           CAST(coalesce(fs.fw, 0) AS INTEGER) AS findings_warning,
           CAST(coalesce(fs.fi, 0) AS INTEGER) AS findings_info,
           CAST(coalesce(cand.n, 0) AS INTEGER) AS candidates, {todo_cols},
           CAST(coalesce(fs.nc, 0) AS INTEGER) AS noncompliance_findings,
           CASE WHEN coalesce(ps.permits_active, 0) > 0
                THEN round(100.0 * coalesce(fs.nc, 0) / ps.permits_active, 2) END AS noncompliance_per_100
    FROM employers e LEFT JOIN emp USING (uscc) LEFT JOIN ps USING (uscc) LEFT JOIN ap USING (uscc)
    LEFT JOIN fs USING (uscc) LEFT JOIN cand USING (uscc) {todo_joins}
    ORDER BY e.uscc""")
    _document(con, "employer_summary")
    return _rows(con, "employer_summary")


# --------------------------------------------------------------------------- bureau marts
def _age_band_sql(age: str) -> str:
    parts = " ".join(f"WHEN {age} < {lim} THEN '{code}'" for lim, code in AGE_BANDS)
    return f"CASE {parts} ELSE '55_plus' END"


def _active_holders_sql(as_of: dt.date) -> str:
    A = d(as_of)
    return f"""SELECT p.permit_no, p.uscc, e.district, coalesce(e.category, 'other') AS category,
                      coalesce(pe.highest_degree, 'none') AS degree, coalesce(pe.title_level, 'none') AS title,
                      gender_of(p.id_number) AS gender,
                      {_age_band_sql(f"age_at(birth_of(p.id_number), {A})")} AS age_band
               FROM permits p LEFT JOIN employers e USING (uscc) LEFT JOIN persons pe USING (id_number)
               WHERE p.status = 'active'"""


def build_bureau_permits_by_dimension(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    from assets.marts.labels import DIMENSIONS

    A = d(as_of)
    parts = []
    for dim, enum in DIMENSIONS.items():
        parts.append(f"""
        SELECT '{dim}' AS dimension, l.code, l.label_zh, l.label_en, coalesce(c.n, 0) AS permits,
               l.sort_order FROM (SELECT * FROM _labels WHERE enum = '{enum}') l
        LEFT JOIN (SELECT {dim} AS code, count(*) AS n FROM h GROUP BY {dim}) c USING (code)
        UNION ALL
        SELECT '{dim}', c.code, coalesce(c.code, '未知'), coalesce(c.code, 'unknown'), c.n, 999
        FROM (SELECT {dim} AS code, count(*) AS n FROM h GROUP BY {dim}) c
        WHERE c.code IS NULL OR c.code NOT IN (SELECT code FROM _labels WHERE enum = '{enum}')""")
    con.execute(f"""
    CREATE OR REPLACE TABLE bureau_permits_by_dimension AS
    WITH h AS ({_active_holders_sql(as_of)})
    SELECT {A} AS as_of, dimension, code, label_zh, label_en, CAST(permits AS BIGINT) AS permits,
           CAST(sort_order AS INTEGER) AS sort_order
    FROM ({" UNION ALL ".join(parts)}) ORDER BY dimension, sort_order, code""")
    _document(con, "bureau_permits_by_dimension")
    return _rows(con, "bureau_permits_by_dimension")


XTABS = {"bureau_xtab_district_category": ("category", "category"),
         "bureau_xtab_district_degree": ("degree", "degree")}


def build_bureau_xtab(con: duckdb.DuckDBPyConnection, as_of: dt.date, table: str) -> int:
    """District x <dimension> of active permits, long format, every combination."""
    A = d(as_of)
    col, enum = XTABS[table]
    con.execute(f"""
    CREATE OR REPLACE TABLE {table} AS
    WITH h AS ({_active_holders_sql(as_of)}),
    r AS (SELECT code, label_zh, sort_order FROM _labels WHERE enum = 'district'),
    c AS (SELECT code, label_zh, sort_order FROM _labels WHERE enum = '{enum}'),
    n AS (SELECT district, {col}, count(*) AS n FROM h GROUP BY district, {col})
    SELECT {A} AS as_of, r.code AS row_code, r.label_zh AS row_label_zh, c.code AS col_code,
           c.label_zh AS col_label_zh, CAST(coalesce(n.n, 0) AS BIGINT) AS permits
    FROM r CROSS JOIN c LEFT JOIN n ON n.district = r.code AND n.{col} = c.code
    ORDER BY r.sort_order, c.sort_order""")
    _document(con, table)
    return _rows(con, table)


def build_bureau_monthly_flow(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    MA = f"m_of({A})"
    con.execute(f"""
    CREATE OR REPLACE TABLE bureau_monthly_flow AS
    WITH months AS (
        SELECT CAST(unnest(generate_series(add_months({MA}, -23), {MA}, INTERVAL 1 MONTH)) AS DATE) AS month),
    ap AS (
        SELECT m_of(decided_on) AS month,
               count(*) FILTER (WHERE type = 'new') AS new_permits,
               count(*) FILTER (WHERE type = 'employer_change') AS transfers_in,
               count(*) FILTER (WHERE type = 'renewal') AS renewed
        FROM applications WHERE status = 'approved' AND decided_on <= {A} GROUP BY 1),
    ca AS (SELECT m_of(cancelled_on) AS month, count(*) AS cancelled FROM permits
           WHERE cancelled_on IS NOT NULL AND cancelled_on <= {A} GROUP BY 1)
    SELECT {A} AS as_of, months.month, strftime(months.month, '%Y-%m') AS month_label,
           CAST(coalesce(ap.new_permits, 0) AS BIGINT) AS new_permits,
           CAST(coalesce(ap.transfers_in, 0) AS BIGINT) AS transfers_in,
           CAST(coalesce(ap.renewed, 0) AS BIGINT) AS renewed,
           CAST(coalesce(ca.cancelled, 0) AS BIGINT) AS cancelled
    FROM months LEFT JOIN ap USING (month) LEFT JOIN ca USING (month) ORDER BY months.month""")
    _document(con, "bureau_monthly_flow")
    return _rows(con, "bureau_monthly_flow")


def build_bureau_processing_by_district(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE bureau_processing_by_district AS
    WITH a AS (
        SELECT e.district, a.decided_on, ep.sla_working_days AS sla,
               w1.wd_index - w0.wd_index AS wd
        FROM applications a JOIN employers e USING (uscc) JOIN _emp_pol ep USING (uscc)
        JOIN _wd w0 ON w0.d = a.window_submitted_on
        JOIN _wd w1 ON w1.d = coalesce(a.decided_on, {A})
        WHERE a.window_submitted_on IS NOT NULL AND a.window_submitted_on > {A} - 365
          AND a.window_submitted_on <= {A}),
    r AS (SELECT code, label_zh, label_en, sort_order FROM _labels WHERE enum = 'district'),
    g AS (
        SELECT district, count(*) AS applications, count(decided_on) AS decided,
               count(*) FILTER (WHERE wd <= sla) AS within_sla, count(*) FILTER (WHERE wd > sla) AS over_sla,
               median(wd) AS median_wd, quantile_cont(wd, 0.9) AS p90_wd, avg(wd) AS mean_wd
        FROM a GROUP BY district)
    SELECT {A} AS as_of, r.code AS district, r.label_zh, r.label_en,
           CAST(coalesce(g.applications, 0) AS BIGINT) AS applications,
           CAST(coalesce(g.decided, 0) AS BIGINT) AS decided,
           CAST(coalesce(g.within_sla, 0) AS BIGINT) AS within_sla,
           CAST(coalesce(g.over_sla, 0) AS BIGINT) AS over_sla,
           CASE WHEN g.applications > 0 THEN round(g.within_sla / g.applications, 4) END AS share_within_sla,
           CAST(g.median_wd AS DOUBLE) AS median_wd, CAST(g.p90_wd AS DOUBLE) AS p90_wd,
           round(g.mean_wd, 2) AS mean_wd,
           CAST(p.sla_working_days AS INTEGER) AS sla_working_days
    FROM r LEFT JOIN g ON g.district = r.code
    LEFT JOIN _policy p ON p.district = r.code
    ORDER BY r.sort_order""")
    _document(con, "bureau_processing_by_district")
    return _rows(con, "bureau_processing_by_district")


def build_bureau_return_reasons(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE bureau_return_reasons AS
    SELECT {A} AS as_of, trim(return_reason) AS return_reason, count(*) AS applications,
           count(*) FILTER (WHERE coalesce(decided_on, employer_submitted_on, submitted_on) > {A} - 365)
               AS applications_12m
    FROM applications WHERE return_reason IS NOT NULL AND trim(return_reason) <> ''
      AND coalesce(decided_on, employer_submitted_on, submitted_on, {A}) <= {A}
    GROUP BY trim(return_reason) ORDER BY applications DESC, return_reason""")
    _document(con, "bureau_return_reasons")
    return _rows(con, "bureau_return_reasons")


def build_bureau_findings_by_rule(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    if _exists(con, "rules"):
        titles = "LEFT JOIN rules r ON r.rule_id = f.rule_id"
        tz, te = "coalesce(any_value(r.title_zh), f.rule_id)", "coalesce(any_value(r.title_en), f.rule_id)"
    else:
        titles, tz, te = "", "f.rule_id", "f.rule_id"
    con.execute(f"""
    CREATE OR REPLACE TABLE bureau_findings_by_rule AS
    SELECT {A} AS as_of, f.rule_id, any_value(f.severity) AS severity, any_value(f.entity_type) AS entity_type,
           {tz} AS title_zh, {te} AS title_en, count(*) AS findings, count(DISTINCT f.uscc) AS employers
    FROM findings f {titles}
    GROUP BY f.rule_id ORDER BY findings DESC, f.rule_id""")
    _document(con, "bureau_findings_by_rule")
    return _rows(con, "bureau_findings_by_rule")


def build_bureau_employer_ranking(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE bureau_employer_ranking AS
    WITH nc AS (
        SELECT uscc, count(*) AS n, mode(rule_id) AS top_rule_id FROM findings
        WHERE uscc IS NOT NULL AND {NONCOMPLIANCE_SQL} GROUP BY uscc),
    ap AS (SELECT uscc, count(*) AS n FROM permits WHERE status = 'active' GROUP BY uscc),
    j AS (
        SELECT e.uscc, e.name, e.district, lab('district', e.district) AS district_zh,
               ap.n AS permits_active, nc.n AS noncompliance_findings,
               round(100.0 * nc.n / ap.n, 2) AS noncompliance_per_100, nc.top_rule_id
        FROM nc JOIN ap USING (uscc) JOIN employers e USING (uscc))
    SELECT {A} AS as_of,
           row_number() OVER (ORDER BY noncompliance_per_100 DESC, noncompliance_findings DESC, uscc) AS rank,
           uscc, name, district, district_zh, CAST(permits_active AS BIGINT) AS permits_active,
           CAST(noncompliance_findings AS BIGINT) AS noncompliance_findings, noncompliance_per_100, top_rule_id
    FROM j ORDER BY rank""")
    _document(con, "bureau_employer_ranking")
    return _rows(con, "bureau_employer_ranking")


def build_bureau_kpis(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    A = d(as_of)
    kpis = [
        ("employers", "聘用单位数", "Employers", "SELECT count(*) FROM employers"),
        ("employers_with_permits", "有持证人的单位数", "Employers with active permits",
         "SELECT count(DISTINCT uscc) FROM permits WHERE status = 'active'"),
        ("permits_active", "有效工作居住证", "Active permits", "SELECT count(*) FROM permits WHERE status = 'active'"),
        ("permits_due_90d", "90天内到期", "Due within 90 days",
         "SELECT count(*) FROM permit_status WHERE window_state = 'due_soon'"),
        ("permits_window_open", "续签办理期内未申请", "Renewal window open, not filed",
         "SELECT count(*) FROM permit_status WHERE window_state = 'open'"),
        ("permits_lapsed", "已过续签期", "Lapsed", "SELECT count(*) FROM permit_status WHERE window_state = 'lapsed'"),
        ("applications_open", "在办申请", "Open applications",
         f"SELECT count(*) FROM applications WHERE status IN {OPEN_SQL}"),
        ("new_12m", "近12个月新办", "New permits, last 12 months",
         f"SELECT count(*) FROM applications WHERE status = 'approved' AND type = 'new' "
         f"AND decided_on > {A} - 365 AND decided_on <= {A}"),
        ("renewed_12m", "近12个月续签", "Renewals, last 12 months",
         f"SELECT count(*) FROM applications WHERE status = 'approved' AND type = 'renewal' "
         f"AND decided_on > {A} - 365 AND decided_on <= {A}"),
        ("cancelled_12m", "近12个月注销", "Cancelled, last 12 months",
         f"SELECT count(*) FROM permits WHERE cancelled_on > {A} - 365 AND cancelled_on <= {A}"),
        ("sla_within_share_12m", "15个工作日内办结比例", "Share within the working-day promise",
         "SELECT CASE WHEN sum(applications) > 0 THEN round(sum(within_sla) / sum(applications), 4) END "
         "FROM bureau_processing_by_district"),
        ("median_processing_wd_12m", "办理工作日中位数", "Median processing working days",
         f"""SELECT median(w1.wd_index - w0.wd_index) FROM applications a
             JOIN _wd w0 ON w0.d = a.window_submitted_on JOIN _wd w1 ON w1.d = coalesce(a.decided_on, {A})
             WHERE a.window_submitted_on > {A} - 365 AND a.window_submitted_on <= {A}"""),
        ("findings_error", "错误", "Errors", "SELECT count(*) FROM findings WHERE severity = 'error'"),
        ("findings_warning", "警告", "Warnings", "SELECT count(*) FROM findings WHERE severity = 'warning'"),
        ("findings_info", "提示", "Notices", "SELECT count(*) FROM findings WHERE severity = 'info'"),
        ("candidates", "可申请人员", "Candidates", "SELECT count(*) FROM candidates"),
        ("candidates_eligible_now", "现在即可申请", "Candidates eligible now",
         "SELECT count(*) FROM candidates WHERE eligible_now"),
    ]
    union = " UNION ALL ".join(
        f"SELECT '{k}' AS kpi, '{z}' AS label_zh, '{e}' AS label_en, CAST(({q}) AS DOUBLE) AS value, {i} AS sort_order"
        for i, (k, z, e, q) in enumerate(kpis))
    con.execute(f"CREATE OR REPLACE TABLE bureau_kpis AS SELECT {A} AS as_of, * FROM ({union}) ORDER BY sort_order")
    _document(con, "bureau_kpis")
    return _rows(con, "bureau_kpis")


BUREAU_BUILDERS = {
    "bureau_permits_by_dimension": build_bureau_permits_by_dimension,
    **{t: (lambda con, as_of, _t=t: build_bureau_xtab(con, as_of, _t)) for t in XTABS},
    "bureau_monthly_flow": build_bureau_monthly_flow,
    "bureau_processing_by_district": build_bureau_processing_by_district,
    "bureau_return_reasons": build_bureau_return_reasons,
    "bureau_findings_by_rule": build_bureau_findings_by_rule,
    "bureau_employer_ranking": build_bureau_employer_ranking,
    "bureau_kpis": build_bureau_kpis,
}


def build_all(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy_path: Path,
              timings: dict[str, float] | None = None) -> dict[str, int]:
    """Every mart in dependency order (tests and the benchmark); returns row
    counts, and fills ``timings`` (seconds per mart) when given."""
    import time

    from assets.marts.checklists import CHECKLIST_MARTS

    policy = prepare(con, as_of, policy_path)
    steps = [
        ("permit_status", lambda: build_permit_status(con, as_of)),
        ("candidates", lambda: build_candidates(con, as_of, policy)),
        ("todo_renewals", lambda: build_todo_renewals(con, as_of)),
        ("todo_cancellations", lambda: build_todo_cancellations(con, as_of)),
        ("todo_contribution_gaps", lambda: build_todo_contribution_gaps(con, as_of, policy)),
        ("todo_failing_applications", lambda: build_todo_failing_applications(con, as_of)),
        ("todo_candidates_90d", lambda: build_todo_candidates_90d(con, as_of)),
        ("employer_summary", lambda: build_employer_summary(con, as_of)),
        *[(name, (lambda fn=fn: fn(con, as_of))) for name, fn in BUREAU_BUILDERS.items()],
        *[(name, (lambda fn=fn: fn(con, as_of, policy))) for name, (_, fn) in CHECKLIST_MARTS.items()],
    ]
    out = {}
    for name, fn in steps:
        t0 = time.perf_counter()
        out[name] = fn()
        if timings is not None:
            timings[name] = round(time.perf_counter() - t0, 3)
    return out
