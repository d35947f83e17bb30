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
         "open_warnings": "... of severity warning / 其中警告数",
         "window_waived": "The finding that sets window_state is waived (not counted as open) / 续签状态所依检查结果已批准例外",
         "waived_findings": "Waived findings of this permit (not in the open counts) / 已批准例外数"}),
    "candidates": (
        "Current employees without an active permit or open application, with eligibility checks and "
        "eligible_on / 可申请人员:在职且无有效证件或在办申请,含各项条件与预计符合日期",
        {"as_of": AS_OF, "uscc": USCC, "employer_name": "Employer name / 单位名称", "district": DISTRICT,
         "district_zh": DISTRICT_ZH, "id_number": ID, "id_number_masked": IDM, "name": NAME,
         "gender": "Gender, M | F: from the ID; a passport holder's from the persons table / 性别(护照按人员表)",
         "birth_date": "Birth date: from the ID; a passport holder's from the persons table / 出生日期",
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
         "findings_warning": "Warning findings (not waived) / 警告数", "findings_info": "Info findings / 提示数",
         "candidates": "Candidates / 可申请人员数", "candidates_90d": "Eligible within 90 days / 90天内符合条件人数",
         "todo_renewals": "Renewals to file / 续签待办数", "todo_cancellations": "Cancellations owed / 待注销数",
         "todo_contribution_gaps": "Permits with contribution gaps / 缴费缺口数",
         "todo_failing_applications": "Open applications with findings / 需补正的在办申请数",
         "todo_withholder_mismatches": "Permits with withholder mismatches / 扣缴单位不符数",
         "todo_inspections": "Holders' inspections overdue / 员工年检待办数",
         "todo_employer": "The employer's own duties / 单位事项数", "todo_reissues": "Reissues owed / 待换发数",
         "todo_dependents": "Dependents' papers owed / 随往人员材料待办数",
         "todo_deferrals_ending": "Deferrals ending (new employer) / 延期注销即将到期数",
         "todo_work_permits": "Work permits ending / 工作许可即将到期数",
         "todo_waived": "Waived findings (not counted as open) / 已批准例外数",
         "permits_window_waived": "Permits whose window finding is waived (not in the state counts) / 续签状态已批准例外",
         "findings_waived": "Waived findings (not in the error/warning/info counts) / 已批准例外数",
         "noncompliance_findings": "Non-compliance findings (NC-*, EMP-*, EXP-LAPSED, XFER-DEFERRAL-EXPIRED) / 违规数",
         "noncompliance_per_100": "Non-compliance per 100 active permits / 每百证违规数"}),
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
         "title_en": "Rule title, English / 规则名称(英文)", "findings": "Open (not waived) findings / 结果数",
         "employers": "Distinct employers with open findings / 涉及单位数",
         "waived": "Waived findings (approved exceptions) / 已批准例外数"}),
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

# ------------------------------------------------------------------ to-do lists (assets/marts/todo.py)
RULE_IDS = "Rule ids of the findings this row carries (the rule book's `todo:` list) / 规则编号"
REASON_ZH = "Every finding's own message, Chinese / 原因(检查结果原文)"
REASON_EN = "Every finding's own message, English / 原因(英文)"
DUE = "Date by which to act (the list's sort key; docs/marts.md § To-do lists) / 办理期限"
OVERDUE = "as_of - due_on in days, 0 when not yet due / 逾期天数"
_PERSON = {"as_of": AS_OF, "uscc": USCC, "permit_no": PERMIT, "id_number": ID, "id_number_masked": IDM, "name": NAME}
_LIST = {"due_on": DUE, "rule_ids": RULE_IDS, "reason_zh": REASON_ZH, "reason_en": REASON_EN}
MART_DOCS.update({
    "todo_items": (
        "Every finding that asks an employer to act, with the to-do list it lands on (waived ones on 'waived') "
        "/ 需单位办理的检查结果及其所在待办清单",
        {"as_of": AS_OF, "uscc": "Employer the finding is charged to (findings.uscc) / 负责单位", "list":
         "To-do list it lands on: its rule's, a superseding rule's, or waived / 所在待办清单",
         "rule_list": "The list its rule names (todo: in the rule YAML) / 规则指定的清单", "rule_id": "Rule id / 规则编号",
         "severity": "error | warning | info / 严重程度", "entity_type": "Entity type of the finding / 对象类型",
         "entity_key": "Entity key of the finding (raw) / 对象编号(原值)", "id_number": ID, "id_number_masked": IDM,
         "due_on": "The finding's due_on / 检查结果的办理期限", "message_zh": "Message, Chinese / 说明",
         "message_en": "Message, English / 说明(英文)", "detail": "The finding's detail JSON / 明细",
         "waived": "Waived by an approved exception / 已批准例外"}),
    "todo_renewals": (
        "Renewals to file: permits with an EXP-DUE-90 / EXP-WINDOW-OPEN / EXP-LAPSED finding, not of holders who "
        "left / 续签待办(不含已离职人员)",
        {**_PERSON, **_LIST, "expires_on": "Expiry date / 有效期至", "window_start": "Renewal window start / 续签办理期开始",
         "window_end": "Renewal window end (= due_on) / 续签办理期结束", "window_state": "Window state code / 续签状态代码",
         "window_state_zh": "Window state / 续签状态",
         "days_to_window_start": "window_start - as_of / 距办理期开始天数",
         "days_left": "window_end - as_of (negative = lapsed) / 剩余天数"}),
    "todo_cancellations": (
        "Cancellations owed: holder left, deferral expired or work permit expired / 待注销",
        {**_PERSON, **_LIST, "superseded_rule_ids": "Findings of the same permit this cancellation makes moot "
         "(todo_supersedes) / 因注销而无需办理的事项", "left_on": "Date the holder left / 离职日期",
         "deferred_on": "Deferred-cancellation date / 延期注销日期", "deferral_end": "End of the deferral / 延期截止日期",
         "work_permit_expires_on": "Work permit expiry / 工作许可到期日期", "days_overdue": OVERDUE,
         "status": "Permit status code / 证件状态代码", "status_zh": "Permit status / 证件状态"}),
    "todo_contribution_gaps": (
        "Permits with uncovered contribution months (NC-CONTRIB-GAP) / 缴费缺口",
        {**_PERSON, **_LIST, "missing_months": "Uncovered months (first day) / 缺缴月份",
         "missing_month_count": "Number of uncovered months / 缺缴月数",
         "missing_detail_zh": "Months and missing kinds / 缺缴明细", "first_missing_month": "First uncovered month / 最早缺缴月份",
         "last_missing_month": "Last uncovered month / 最近缺缴月份"}),
    "todo_withholder_mismatches": (
        "Months someone else paid the holder's tax / social insurance (NC-WITHHOLDER) / 扣缴单位不符",
        {**_PERSON, **_LIST, "month_count": "Months not properly withheld / 扣缴不符月数",
         "months_detail_zh": "Each month and kind with who paid / 月份、险种及扣缴单位",
         "paid_by_zh": "Every withholder found / 实际扣缴单位", "first_month": "First such month / 最早月份",
         "last_month": "Last such month / 最近月份"}),
    "todo_failing_applications": (
        "Open applications with findings: errors (will be returned) and warnings / 需补正的在办申请",
        {**_PERSON, **_LIST, "permit_no": "Permit of the application / 申请对应证件编号",
         "application_id": "Application id / 申请编号", "type": "Business type code / 业务类型代码",
         "type_zh": "Business type / 业务类型", "status": "Status code / 办理状态代码", "status_zh": "Status / 办理状态",
         "submitted_on": "Submitted on / 申请日期", "reason_count": "Error findings / 错误数",
         "warning_count": "Warning findings / 提醒数", "will_be_returned": "Has an error: returned as it stands / 将被退回",
         "reasons_zh": "Every error's message, Chinese / 全部退回原因",
         "reasons_en": "Every error's message, English / 全部退回原因(英文)",
         "warnings_zh": "Warnings, Chinese / 提醒", "warnings_en": "Warnings, English / 提醒(英文)"}),
    "todo_candidates_90d": (
        "Candidates eligible within 90 days / 90天内符合条件的人员",
        {"as_of": AS_OF, "uscc": USCC, "id_number": ID, "id_number_masked": IDM, "name": NAME,
         "hired_on": "Hired on / 入职日期", "eligible_on": "Eligible on / 预计符合条件日期",
         "days_to_eligible": "Days until eligible (0 = now) / 距符合条件天数", "eligible_now": "Can apply now / 现在即可申请",
         "waiting_for_zh": "Conditions still awaited / 尚待满足的条件", "due_on": "= eligible_on / 可申请日期"}),
    "todo_inspections": (
        "Holders' annual inspections overdue (NC-INSPECTION-OVERDUE) / 员工年检",
        {**_PERSON, **_LIST, "last_inspection_basis": "Last inspection (or issue) date / 上次年检(或发证)日期",
         "days_overdue": OVERDUE}),
    "todo_employer": (
        "The employer's own duties: its annual inspection, the branch quota / 单位年检及单位事项",
        {"as_of": AS_OF, "uscc": USCC, **_LIST, "rule_ids": "Rule id / 规则编号",
         "last_inspection_basis": "Last employer inspection (or account opening) / 上次单位年检(或开户)日期",
         "days_overdue": OVERDUE}),
    "todo_reissues": (
        "Permits to reissue after the employer's change of name (NC-NAME-CHANGE-REISSUE) / 单位更名后换发",
        {**_PERSON, **_LIST, "issued_on": "Issue date / 发证日期", "name_changed_on": "Employer renamed on / 单位更名日期",
         "days_overdue": OVERDUE}),
    "todo_dependents": (
        "Dependents' papers to hand in (DEP-*) / 随往人员材料",
        {"as_of": AS_OF, "uscc": USCC, **_LIST,
         "dependent_id_number": "Dependent's ID number, raw (internal) / 随往人员身份证号(原值)",
         "dependent_id_number_masked": "Dependent's ID number, masked / 随往人员身份证号(脱敏)",
         "dependent_name": "Dependent's name / 随往人员姓名", "relation": "spouse | child / 关系代码",
         "relation_zh": "Relation / 关系", "holder_id_number": "Holder's ID number, raw (internal) / 持证人身份证号(原值)",
         "holder_id_number_masked": "Holder's ID number, masked / 持证人身份证号(脱敏)",
         "holder_name": "Holder's name / 持证人姓名", "holder_permit_no": "Holder's permit / 持证人证件编号",
         "holder_application_id": "Holder's open application / 持证人在办申请编号"}),
    "todo_deferrals_ending": (
        "Deferred cancellations ending within the notice days, on the new employer's list (XFER-DEFERRAL-ENDING) "
        "/ 延期注销即将到期(新单位办理)",
        {**_PERSON, **_LIST, "old_employer_uscc": "Former employer (the permit's) / 原单位统一社会信用代码",
         "old_employer_name": "Former employer's name / 原单位名称", "deferred_on": "Deferred on / 延期注销日期",
         "deferral_end": "End of the deferral / 延期截止日期", "days_left": "due_on - as_of / 剩余天数"}),
    "todo_work_permits": (
        "Work permits ending before the residence permit (EXP-WORK-PERMIT-DUE) / 工作许可即将到期",
        {**_PERSON, **_LIST, "work_permit_expires_on": "Work permit expiry (= due_on) / 工作许可到期日期",
         "expires_on": "Residence permit expiry / 工作居住证有效期至", "days_left": "due_on - as_of / 剩余天数"}),
    "todo_waived": (
        "Waived findings (approved exceptions) with the waiver's reason and end / 已批准例外",
        {"as_of": AS_OF, "uscc": USCC, **_LIST, "rule_ids": "Rule id / 规则编号", "severity": "Severity / 严重程度",
         "entity_type": "Entity type / 对象类型", "entity_key": "Entity key, raw (internal) / 对象编号(原值)",
         "entity_key_masked": "Entity key, an ID number masked / 对象编号(身份证号脱敏)", "id_number": ID,
         "id_number_masked": IDM, "name": NAME, "waiver_reason": "Reason of the exception / 例外理由",
         "approved_by": "Approved by / 批准单位", "approved_on": "Approved on / 批准日期",
         "due_on": "The exception's end (waiver expires_on; empty = none) / 例外有效期至"}),
})

# the material-checklist marts document themselves beside their SQL (docs/checklists.md)
from assets.marts.checklists import CHECKLIST_DOCS  # noqa: E402

MART_DOCS.update(CHECKLIST_DOCS)
