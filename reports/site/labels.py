"""Every word the site shows, Chinese first, English beside it.

Column labels are looked up by column name, so a mart that gains a column
still publishes it with a sensible header (the raw name when unknown).
"""
from __future__ import annotations

from core.labels import labels as _contract_labels
from reports.todo_lists import PAGE_KIND, TODO_LISTS

# column name -> (中文, English, display type)
# display types: text, num, date, month, id (masked ID), rule (rule id or list
# of rule ids, linked to rules.html), enum:<enum name>, uscc (link to employer
# page), pct (share 0..1), list (list of strings)
COLUMNS: dict[str, tuple[str, str, str]] = {
    "uscc": ("统一社会信用代码", "USCC", "uscc"),
    # material checklists (docs/checklists.md)
    "items": ("材料项数", "Items", "num"),
    "items_ok": ("齐全", "OK", "num"),
    "items_missing": ("缺少", "Missing", "num"),
    "items_check": ("需人工核验", "To check", "num"),
    "complete": ("按数据齐全", "Complete (data)", "bool"),
    "missing_rule_ids": ("缺少材料的规则", "Rules of missing items", "rule"),
    "checklist_href": ("材料清单", "Checklist", "checklist"),
    "employer_name": ("单位名称", "Employer", "text"),
    "name": ("姓名", "Name", "text"),
    "person_name": ("姓名", "Name", "text"),
    "holder_name": ("持证人姓名", "Holder", "text"),
    "id_number": ("身份证号", "ID number", "id"),
    "holder_id_number": ("持证人身份证号", "Holder ID number", "id"),
    "permit_no": ("证件编号", "Permit no.", "text"),
    "application_id": ("申请编号", "Application id", "text"),
    "type": ("业务类型", "Type", "enum:application_type"),
    "application_type": ("业务类型", "Type", "enum:application_type"),
    "status": ("状态", "Status", "enum:status"),
    "permit_status": ("证件状态", "Permit status", "enum:permit_status"),
    "application_status": ("办理状态", "Application status", "enum:application_status"),
    "issued_on": ("发证日期", "Issued on", "date"),
    "expires_on": ("有效期至", "Expires on", "date"),
    "days_to_expiry": ("距到期天数", "Days to expiry", "num"),
    "window_start": ("续签期开始", "Window opens", "date"),
    "window_end": ("续签期截止", "Window closes", "date"),
    "window_state": ("续签状态", "Window state", "enum:window_state"),
    "due_on": ("办理期限", "Due on", "date"),
    "hired_on": ("入职日期", "Hired on", "date"),
    "left_on": ("离职日期", "Left on", "date"),
    "contract_end_on": ("合同到期日期", "Contract ends", "date"),
    "submitted_on": ("申请日期", "Submitted on", "date"),
    "employer_submitted_on": ("单位提交日期", "Employer submitted", "date"),
    "window_submitted_on": ("窗口递交日期", "Window submitted", "date"),
    "decided_on": ("办结日期", "Decided on", "date"),
    "eligible_on": ("预计符合条件日期", "Eligible on", "date"),
    "days_to_eligible": ("距符合条件天数", "Days to eligible", "num"),
    "missing_months": ("缺缴月份", "Missing months", "list"),
    "missing_month_count": ("缺缴月数", "Missing months (count)", "num"),
    "gap_months": ("缺缴月数", "Missing months (count)", "num"),
    "first_missing_month": ("最早缺缴月份", "First missing month", "month"),
    "last_missing_month": ("最近缺缴月份", "Last missing month", "month"),
    "missing_kinds": ("缺缴险种", "Missing kinds", "list"),
    "rule_id": ("规则", "Rule", "rule"),
    "rule_ids": ("规则", "Rules", "rule"),
    "reasons_zh": ("退回原因(全部)", "Reasons (zh)", "list"),
    "reasons_en": ("原因(英文)", "Reasons (en)", "list"),
    "reasons": ("原因", "Reasons", "list"),
    "message_zh": ("说明", "Message (zh)", "text"),
    "message_en": ("说明(英文)", "Message", "text"),
    "severity": ("严重程度", "Severity", "enum:severity"),
    "error_count": ("错误数", "Errors", "num"),
    "warning_count": ("警告数", "Warnings", "num"),
    "reason_count": ("原因数", "Reasons", "num"),
    "open_findings": ("未处理问题数", "Open findings", "num"),
    "open_finding_count": ("未处理问题数", "Open findings", "num"),
    "highest_degree": ("最高学位", "Degree", "enum:degree"),
    "title_level": ("职称级别", "Title level", "enum:title_level"),
    "district": ("所在区", "District", "enum:district"),
    "category": ("单位分类", "Category", "enum:category"),
    "entity_type": ("单位性质", "Entity type", "enum:entity_type"),
    "tenure_ok": ("任职满6个月", "Tenure ≥ 6 months", "bool"),
    "talent_ok": ("人才条件", "Talent condition", "bool"),
    "contrib_ok": ("近6个月缴纳", "6 months contributions", "bool"),
    "blocked_by": ("其他阻碍", "Blocked by", "rule"),
    # bureau
    "label_zh": ("类别", "Category (zh)", "text"),
    "label_en": ("类别(英文)", "Category", "text"),
    "permits": ("持证人数", "Permits", "num"),
    "active_permits": ("有效证件", "Active permits", "num"),
    "employers": ("单位数", "Employers", "num"),
    "findings": ("问题数", "Findings", "num"),
    "waived": ("已批准例外", "Waived (approved exceptions)", "num"),
    "errors": ("错误", "Errors", "num"),
    "warnings": ("警告", "Warnings", "num"),
    "infos": ("提示", "Info", "num"),
    "applications": ("申请数", "Applications", "num"),
    "decided": ("已办结", "Decided", "num"),
    "median_working_days": ("办理工作日(中位数)", "Median working days", "num"),
    "p90_working_days": ("办理工作日(90分位)", "90th percentile working days", "num"),
    "within_sla_share": ("15个工作日内办结占比", "Share within 15 working days", "pct"),
    "over_sla": ("超过15个工作日", "Over 15 working days", "num"),
    "rank": ("排名", "Rank", "num"),
    "title_zh": ("规则名称", "Rule (zh)", "text"),
    "title_en": ("规则名称(英文)", "Rule", "text"),
    "return_reason": ("退回原因", "Return reason", "text"),
    "reason": ("退回原因", "Return reason", "text"),
    "month": ("月份", "Month", "month"),
    "month_label": ("月份", "Month", "month"),
    "id_number_masked": ("身份证号", "ID number", "id"),
    "reason_zh": ("原因", "Reason", "text"),
    "days_overdue": ("逾期天数", "Days overdue", "num"),
    "deferred_on": ("延期注销日期", "Deferred on", "date"),
    "days_to_window_start": ("距续签期开始天数", "Days to window", "num"),
    "days_left": ("距续签期截止天数", "Days left", "num"),
    "missing_detail_zh": ("缺缴明细", "Missing months and kinds", "text"),
    "warnings_zh": ("警告", "Warnings", "text"),
    "eligible_now": ("现在即可申请", "Can apply now", "bool"),
    "waiting_for_zh": ("尚待满足", "Waiting for", "text"),
    "talent_route": ("人才条件途径", "Talent route", "enum:talent_route"),
    "permits_active": ("有效证件", "Active permits", "num"),
    "noncompliance_findings": ("不合规问题数", "Non-compliance findings", "num"),
    "noncompliance_per_100": ("每百证问题数", "Per 100 active permits", "num"),
    "top_rule_id": ("最多的问题", "Most frequent rule", "rule"),
    "findings_error": ("错误", "Errors", "num"),
    "findings_warning": ("警告", "Warnings", "num"),
    "findings_info": ("提示", "Info", "num"),
    "employees_current": ("在职人数", "Current employees", "num"),
    "source_file": ("文件", "File", "text"),
    "file": ("文件", "File", "text"),
    "table_name": ("表", "Table", "text"),
    "table": ("表", "Table", "text"),
    "rows_read": ("读取行数", "Rows read", "num"),
    "rows_loaded": ("加载行数", "Rows loaded", "num"),
    "rows_quarantined": ("隔离行数", "Rows quarantined", "num"),
    "rows_collapsed": ("合并的重复行", "Duplicates collapsed", "num"),
    "rows": ("行数", "Rows", "num"),
    "step_key": ("步骤", "Step", "text"),
    "seconds": ("耗时(秒)", "Seconds", "num"),
    "started_at": ("开始时间", "Started", "text"),
    "finished_at": ("结束时间", "Finished", "text"),
    "total": ("合计", "Total", "num"),
    "row_label_zh": ("区", "District", "text"),
}

# Contract enums: one table for the whole product (core.labels, whose
# Chinese labels come from the ingest contract). The site only shortens the
# labels that do not fit a chart axis or a funnel bar.
ENUMS: dict[str, dict[str, tuple[str, str]]] = {e: dict(codes) for e, codes in _contract_labels().items()}
ENUMS["district"]["etdz"] = ("经开区", "Economic-Technological Dev. Area")
ENUMS["application_status"]["employer_submitted"] = ("单位已提交", "Submitted by employer")
ENUMS.update({
    "severity": {"error": ("错误", "Error"), "warning": ("警告", "Warning"), "info": ("提示", "Info")},
    "entity_type_rule": {
        "record": ("记录", "Record"), "person": ("人员", "Person"), "employer": ("单位", "Employer"),
        "permit": ("证件", "Permit"), "application": ("申请", "Application"), "dependent": ("随往人员", "Dependent"),
    },
    "age_band": {},
    "talent_route": {"title": ("职称", "Professional title"), "special_talent": ("特殊人才", "Special talent"),
                     "degree_experience": ("学位+工作经历", "Degree and experience"), "none": ("无", "None")},
})
# "status" columns hold either permit or application statuses: merge both
ENUMS["status"] = {**ENUMS["permit_status"], **ENUMS["application_status"],
                   "SUCCESS": ("成功", "Success"), "FAILURE": ("失败", "Failure"), "SKIPPED": ("跳过", "Skipped")}
ENUMS["edu_level"] = {}

APPLICATION_STATUS_ORDER = ["draft", "person_submitted", "employer_submitted", "under_review", "returned",
                            "approved", "rejected"]

# Employer KPIs: (employer_summary column candidates, 中文, English)
EMPLOYER_KPIS: list[tuple[tuple[str, ...], str, str]] = [
    (("permits_active", "active_permits"), "有效证件", "Active permits"),
    (("permits_due_soon", "due_90d"), "90天内到期", "Due in 90 days"),
    (("permits_window_open", "window_open"), "续签期内", "Window open"),
    (("permits_lapsed", "lapsed"), "已过续签期", "Lapsed"),
    (("apps_open", "open_applications"), "在办申请", "Open applications"),
    (("findings_error", "errors"), "错误", "Errors"),
    (("findings_warning", "warnings"), "警告", "Warnings"),
]

# Employer action tables: one per to-do list (reports/todo_lists.py, shared with todo.xlsx:
# the same columns, headers and order as its sheet), see docs/marts.md
EMPLOYER_TABLES: list[dict] = [
    dict(key=t.key, mart=t.mart, zh=t.title_zh, en=t.title_en, note_zh=t.note_zh, note_en=t.note_en, sort=t.sort,
         show=tuple(c for c, _, _, _ in t.columns),
         columns=tuple((c, zh, en, PAGE_KIND[k]) for c, zh, en, k in t.columns))
    for t in TODO_LISTS]

# Bureau: permits by dimension, in this order
DIMENSIONS: list[tuple[str, str, str, str]] = [
    ("district", "各区持证人数", "Permits by district", "有效证件按持证人所在单位的区统计。"),
    ("category", "按单位分类", "Permits by employer category", "有效证件按聘用单位分类统计。"),
    ("degree", "按学位", "Permits by degree", "有效证件按持证人最高学位统计。"),
    ("title", "按职称", "Permits by professional title", "有效证件按持证人职称级别统计。"),
    ("age_band", "按年龄段", "Permits by age band", "有效证件按持证人在评估基准日的周岁年龄段统计。"),
    ("gender", "按性别", "Permits by gender", "有效证件按持证人性别统计。"),
]
DIMENSION_NOTES_EN = {
    "district": "Active permits by the employer's district.",
    "category": "Active permits by employer category.",
    "degree": "Active permits by the holder's highest degree.",
    "title": "Active permits by the holder's professional title level.",
    "age_band": "Active permits by the holder's full-year age at as_of.",
    "gender": "Active permits by the holder's gender.",
}
DIMENSION_ALIASES = {"title": ("title", "title_level"), "degree": ("degree", "highest_degree"),
                     "age_band": ("age_band", "age"), "district": ("district",), "category": ("category",),
                     "gender": ("gender",)}

FLOW_SERIES = [  # (column candidates, 中文, English)
    (("new_permits", "new", "issued"), "新办", "New"),
    (("transfers_in",), "转入(单位变更)", "Transfers in"),
    (("renewed", "renewals", "renewed_count"), "续签", "Renewed"),
    (("cancelled", "cancellations", "cancelled_count"), "注销", "Cancelled"),
]

BUREAU_KPI_LABELS: dict[str, tuple[str, str]] = {
    "active_permits": ("有效证件", "Active permits"),
    "employers": ("聘用单位", "Employers"),
    "employers_with_permits": ("有持证人的单位", "Employers with permits"),
    "persons": ("人员", "People"),
    "open_applications": ("在办申请", "Open applications"),
    "due_90d": ("90天内到期", "Due in 90 days"),
    "window_open": ("续签期内", "Window open"),
    "lapsed": ("已逾期", "Lapsed"),
    "errors": ("错误", "Errors"),
    "warnings": ("警告", "Warnings"),
    "findings": ("问题", "Findings"),
    "within_sla_share": ("15个工作日内办结占比", "Decided within 15 working days"),
    "median_working_days": ("办理工作日中位数", "Median processing (working days)"),
    "new_12m": ("近12个月新办", "New in last 12 months"),
    "renewed_12m": ("近12个月续签", "Renewed in last 12 months"),
    "cancelled_12m": ("近12个月注销", "Cancelled in last 12 months"),
}
