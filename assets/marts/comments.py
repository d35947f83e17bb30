"""COMMENT ON text (English / 中文) of every mart and column. ``prepare.document``
refuses to finish a mart whose column has no comment here. The candidates'
per-rule columns are described from the rule book (``candidates.candidate_columns``)."""
from __future__ import annotations

AS_OF = "Evaluation date / 评估基准日"
USCC = "Employer unified social credit code / 聘用单位统一社会信用代码"
ID = "Person ID number, raw (internal; publish id_number_masked) / 身份证号(原值,仅内部使用)"
IDM = "Person ID number masked (core.masking: first 6 + 8 * + last 4; shorter than 15 characters all *) / 身份证号(脱敏)"
NAME = "Person name / 姓名"
PERMIT = "Permit number / 证件编号"
DISTRICT = "Employer district code / 所在区代码"
DISTRICT_ZH = "Employer district, Chinese / 所在区"

MART_DOCS: dict[str, tuple[str, dict[str, str]]] = {
    "permit_status": (
        "One row per permit with its renewal window and state / 每证一行:续签办理期与状态",
        {"as_of": AS_OF, "permit_no": PERMIT, "id_number": ID, "id_number_masked": IDM,
         "holder_name": "Holder name / 持证人姓名", "uscc": USCC, "employer_name": "Employer name / 单位名称",
         "district": DISTRICT, "district_zh": DISTRICT_ZH,
         "status": "Permit status code / 证件状态代码", "status_zh": "Permit status, Chinese / 证件状态",
         "issued_on": "Issue date / 发证日期", "expires_on": "Expiry date / 有效期至",
         "cancelled_on": "Cancellation date / 注销日期", "deferred_on": "Deferred-cancellation date / 延期注销日期",
         "days_to_expiry": "expires_on - as_of in days (negative = past) / 距到期天数",
         "window_start": "Renewal window start W0 of an active permit (the rule book's _permits_x) / 续签办理期开始",
         "window_end": "Renewal window end W1 of an active permit (the rule book's _permits_x) / 续签办理期结束",
         "window_state": "not_due | due_soon | open | renewal_in_hand | lapsed | inactive / 续签状态代码",
         "window_state_zh": "Window state, Chinese / 续签状态",
         "renewal_application_id": "Renewal application in hand, if any / 已提交的续签申请编号",
         "open_findings": "Findings of this permit in the latest run / 本证检查结果数",
         "open_errors": "... of severity error / 其中错误数",
         "open_warnings": "... of severity warning / 其中警告数"}),
    "candidates": (
        "Current employees without an active permit or open application, with eligibility checks and "
        "eligible_on / 可申请人员:在职且无有效证件或在办申请,含各项条件与预计符合日期",
        {"as_of": AS_OF, "uscc": USCC, "employer_name": "Employer name / 单位名称", "district": DISTRICT,
         "district_zh": DISTRICT_ZH, "id_number": ID, "id_number_masked": IDM, "name": NAME,
         "gender": "Gender from the ID, M | F / 性别(按身份证号)", "birth_date": "Birth date from the ID / 出生日期",
         "age": "Full years at as_of / 周岁", "hired_on": "Hired on (earliest current employment) / 入职日期",
         "highest_degree": "Highest degree code / 最高学位代码", "highest_degree_zh": "Highest degree / 最高学位",
         "title_level": "Professional title level code / 职称级别代码", "title_level_zh": "Title level / 职称级别",
         "eligible_on": "Earliest date every condition holds; empty when something blocks / 预计符合条件日期",
         "eligible_now": "eligible_on = as_of / 现在即可申请",
         "days_to_eligible": "eligible_on - as_of / 距符合条件天数",
         "blocking_rule_ids": "Rule ids of blocked checks / 不符合的规则编号",
         "blocking_reasons_zh": "Blocking reasons, Chinese / 不符合原因",
         "blocking_reasons_en": "Blocking reasons, English / 不符合原因(英文)",
         "waiting_for_zh": "Time-based conditions still awaited / 尚待满足的时间条件"}),
    "employer_summary": (
        "One row per employer: headcounts, permits by window state, open applications, findings / 单位汇总",
        {"as_of": AS_OF, "uscc": USCC, "name": "Employer name / 单位名称",
         "entity_type": "Entity type code / 单位性质代码", "entity_type_zh": "Entity type / 单位性质",
         "district": DISTRICT, "district_zh": DISTRICT_ZH, "category": "Category code / 单位分类代码",
         "category_zh": "Category / 单位分类", "employees_current": "Current employees / 在职人数",
         "permits_total": "All permits / 证件总数", "permits_active": "Active permits / 有效证件数",
         "permits_not_due": "Permits not due / 未到期", "permits_due_soon": "Permits due soon / 即将到期",
         "permits_window_open": "Renewal window open, not filed / 续签办理期内未申请",
         "permits_renewal_in_hand": "Renewal in hand / 已申请续签", "permits_lapsed": "Lapsed / 已过续签期",
         "permits_inactive": "Inactive permits / 非有效证件",
         "apps_open": "Open applications / 在办申请", "apps_draft": "Drafts / 草稿",
         "apps_person_submitted": "Submitted by person / 个人已提交",
         "apps_employer_submitted": "Submitted by employer / 单位已提交", "apps_under_review": "Under review / 审核中",
         "apps_returned": "Returned / 已退回", "findings_error": "Error findings / 错误数",
         "findings_warning": "Warning findings / 警告数", "findings_info": "Info findings / 提示数",
         "candidates": "Candidates / 可申请人员数", "candidates_90d": "Eligible within 90 days / 90天内符合条件人数",
         "todo_renewals": "Renewals to file / 续签待办数", "todo_cancellations": "Cancellations owed / 待注销数",
         "todo_contribution_gaps": "Permits with contribution gaps / 缴费缺口数",
         "todo_failing_applications": "Applications that will be returned / 将被退回的申请数",
         "noncompliance_findings": "Non-compliance findings (NC-*, EMP-*, EXP-LAPSED, XFER-DEFERRAL-EXPIRED) / 违规数",
         "noncompliance_per_100": "Non-compliance per 100 active permits / 每百证违规数"}),
    "todo_renewals": (
        "Renewals to file: active permits due soon, window open or lapsed / 续签待办",
        {"as_of": AS_OF, "uscc": USCC, "permit_no": PERMIT, "id_number": ID, "id_number_masked": IDM, "name": NAME,
         "expires_on": "Expiry date / 有效期至", "window_start": "Renewal window start / 续签办理期开始",
         "window_end": "Renewal window end / 续签办理期结束", "window_state": "Window state code / 续签状态代码",
         "window_state_zh": "Window state / 续签状态",
         "days_to_window_start": "window_start - as_of / 距办理期开始天数",
         "days_left": "window_end - as_of (negative = lapsed) / 剩余天数"}),
    "todo_cancellations": (
        "Cancellations owed: holder left or deferral expired / 待注销",
        {"as_of": AS_OF, "uscc": USCC, "permit_no": PERMIT, "id_number": ID, "id_number_masked": IDM, "name": NAME,
         "rule_id": "Rule id / 规则编号", "reason_zh": "Reason, Chinese / 原因", "reason_en": "Reason, English / 原因(英文)",
         "left_on": "Date the holder left / 离职日期", "deferred_on": "Deferred-cancellation date / 延期注销日期",
         "days_overdue": "Days since the obligation arose / 逾期天数",
         "status": "Permit status code / 证件状态代码", "status_zh": "Permit status / 证件状态"}),
    "todo_contribution_gaps": (
        "Active permits with uncovered contribution months (NC-CONTRIB-GAP) / 缴费缺口",
        {"as_of": AS_OF, "uscc": USCC, "permit_no": PERMIT, "id_number": ID, "id_number_masked": IDM, "name": NAME,
         "missing_months": "Uncovered months (first day) / 缺缴月份",
         "missing_month_count": "Number of uncovered months / 缺缴月数",
         "missing_detail_zh": "Months and missing kinds / 缺缴明细", "first_missing_month": "First uncovered month / 最早缺缴月份",
         "last_missing_month": "Last uncovered month / 最近缺缴月份", "due_on": "Act by (window start) / 办理期限"}),
    "todo_failing_applications": (
        "Open applications with error findings: will be returned as they stand / 将被退回的申请",
        {"as_of": AS_OF, "uscc": USCC, "application_id": "Application id / 申请编号", "id_number": ID,
         "id_number_masked": IDM, "name": NAME, "type": "Business type code / 业务类型代码",
         "type_zh": "Business type / 业务类型", "status": "Status code / 办理状态代码", "status_zh": "Status / 办理状态",
         "permit_no": PERMIT, "submitted_on": "Submitted on / 申请日期", "reason_count": "Error findings / 问题数",
         "rule_ids": "Rule ids / 规则编号", "reasons_zh": "Every reason, Chinese / 全部原因",
         "reasons_en": "Every reason, English / 全部原因(英文)", "warnings_zh": "Warnings, Chinese / 提醒"}),
    "todo_candidates_90d": (
        "Candidates eligible within 90 days / 90天内符合条件的人员",
        {"as_of": AS_OF, "uscc": USCC, "id_number": ID, "id_number_masked": IDM, "name": NAME,
         "hired_on": "Hired on / 入职日期", "eligible_on": "Eligible on / 预计符合条件日期",
         "days_to_eligible": "Days until eligible (0 = now) / 距符合条件天数", "eligible_now": "Can apply now / 现在即可申请",
         "waiting_for_zh": "Conditions still awaited / 尚待满足的条件"}),
    "bureau_kpis": (
        "City KPIs, one row per KPI / 全市关键指标",
        {"as_of": AS_OF, "kpi": "KPI code / 指标代码", "label_zh": "Label, Chinese / 指标名称",
         "label_en": "Label, English / 指标名称(英文)", "value": "Value / 数值", "sort_order": "Display order / 显示顺序"}),
    "bureau_permits_by_dimension": (
        "Active permits by one dimension (raw counts; publish suppresses small cells) / 有效证件按维度统计",
        {"as_of": AS_OF, "dimension": "district | category | degree | title | age_band | gender / 维度",
         "code": "Category code / 分类代码", "label_zh": "Label, Chinese / 分类名称",
         "label_en": "Label, English / 分类名称(英文)", "permits": "Active permits / 有效证件数",
         "sort_order": "Display order / 显示顺序"}),
    "bureau_monthly_flow": (
        "Monthly new / renewed / cancelled permits, 24 months / 每月新办、续签、注销",
        {"as_of": AS_OF, "month": "Month (first day) / 月份", "month_label": "Month YYYY-MM / 月份",
         "new_permits": "Approved new applications / 新办", "transfers_in": "Approved employer changes / 单位变更转入",
         "renewed": "Approved renewals / 续签", "cancelled": "Permits cancelled / 注销"}),
    "bureau_processing_by_district": (
        "Processing working days by district against the promise (last 365 days) / 各区办理时长(工作日)",
        {"as_of": AS_OF, "district": DISTRICT, "label_zh": DISTRICT_ZH, "label_en": "District, English / 区(英文)",
         "applications": "Applications handed in at the window / 窗口受理数", "decided": "Decided / 已办结",
         "within_sla": "Within the promise / 一般办理时限内", "over_sla": "Over the promise / 超时",
         "share_within_sla": "Share within the promise / 按时办结比例", "median_wd": "Median working days / 工作日中位数",
         "p90_wd": "90th percentile working days / 工作日90分位", "mean_wd": "Mean working days / 平均工作日",
         "sla_working_days": "Promised working days / 一般办理时限(工作日)"}),
    "bureau_return_reasons": (
        "Return reasons of applications / 退回原因统计",
        {"as_of": AS_OF, "return_reason": "Return reason / 退回原因", "applications": "Applications / 申请数",
         "applications_12m": "Applications, last 365 days / 近一年申请数"}),
    "bureau_findings_by_rule": (
        "Findings by rule / 按规则统计的检查结果",
        {"as_of": AS_OF, "rule_id": "Rule id / 规则编号", "severity": "Severity / 严重程度",
         "entity_type": "Entity type / 对象类型", "title_zh": "Rule title, Chinese / 规则名称",
         "title_en": "Rule title, English / 规则名称(英文)", "findings": "Findings / 结果数",
         "employers": "Distinct employers / 涉及单位数"}),
    "bureau_employer_ranking": (
        "Employers ranked by non-compliance per 100 active permits / 单位违规排名(每百证)",
        {"as_of": AS_OF, "rank": "Rank, 1 = worst / 排名", "uscc": USCC, "name": "Employer name / 单位名称",
         "district": DISTRICT, "district_zh": DISTRICT_ZH, "permits_active": "Active permits / 有效证件数",
         "noncompliance_findings": "Non-compliance findings / 违规数",
         "noncompliance_per_100": "Per 100 active permits / 每百证违规数",
         "top_rule_id": "Most frequent rule / 最常见规则"}),
}
for _t, _what in (("bureau_xtab_district_category", "category / 单位分类"), ("bureau_xtab_district_degree",
                                                                            "degree / 学位")):
    MART_DOCS[_t] = (
        f"Active permits by district x {_what} (raw; publish suppresses small cells) / 有效证件交叉表",
        {"as_of": AS_OF, "row_code": "District code / 区代码", "row_label_zh": DISTRICT_ZH,
         "col_code": "Column category code / 列分类代码", "col_label_zh": "Column label, Chinese / 列分类名称",
         "permits": "Active permits / 有效证件数"})

# the material-checklist marts document themselves beside their SQL (docs/checklists.md)
from assets.marts.checklists import CHECKLIST_DOCS  # noqa: E402

MART_DOCS.update(CHECKLIST_DOCS)
