"""The employer's to-do lists as shown: one definition per list, read by both the
employer page (``reports.site.labels.EMPLOYER_TABLES``) and ``todo.xlsx``
(``reports.workbook.SHEETS``), so a sheet has exactly the columns of its page
table, in the same order, under the same headers (Chinese first, English beside).

Which findings go to which list is not said here: each rule's YAML entry names its
list (``todo:``) and the ``todo_*`` marts are built from that (docs/marts.md
§ To-do lists). Every list is sorted by ``due_on`` (the date by which to act),
then by its key column.

Column kinds: ``text``, ``id`` (a masked ID number), ``rule`` (rule ids, linked on
the page), ``date``, ``month`` (a month's first day), ``int``, ``bool``,
``checklist`` (the printable checklist's link).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TodoList:
    key: str  # the page's table key
    mart: str
    sheet: str  # Chinese sheet name (Excel: at most 31 characters)
    title_zh: str
    title_en: str
    note_zh: str
    note_en: str
    columns: tuple[tuple[str, str, str, str], ...]  # (mart column, 中文, English, kind)
    sort: tuple[str, ...] = ("due_on",)
    # the mart may be absent (a warehouse built before the list existed): the sheet is then empty and the
    # page says the list is missing
    optional: bool = False


DUE = ("due_on", "办理期限", "Act by", "date")
RULES = ("rule_ids", "规则", "Rules", "rule")
REASON = ("reason_zh", "说明", "What to do", "text")
PERMIT = (("permit_no", "证件编号", "Permit no.", "text"), ("name", "姓名", "Name", "text"),
          ("id_number_masked", "身份证号", "ID number (masked)", "id"))
OVERDUE = ("days_overdue", "逾期天数", "Days overdue", "int")

TODO_LISTS: tuple[TodoList, ...] = (
    TodoList("renewals", "todo_renewals", "续签待办", "待办续签", "Renewals to file",
             "续签办理期为到期日前后各一个月;请在办理期截止前提交续签申请。已离职人员的证件列在“待注销”。",
             "The renewal window runs from one month before to one month after expiry; file before it closes. "
             "Permits of holders who left are under cancellations.",
             (PERMIT[0], DUE, *PERMIT[1:], ("expires_on", "有效期至", "Expires on", "date"),
              ("window_start", "续签办理期开始", "Window opens", "date"),
              ("window_end", "续签办理期结束", "Window closes", "date"),
              ("window_state_zh", "状态", "State", "text"),
              ("days_to_window_start", "距办理期开始天数", "Days to window start", "int"),
              ("days_left", "剩余天数", "Days left", "int"), RULES), sort=("due_on", "permit_no")),
    TodoList("cancellations", "todo_cancellations", "待注销", "待办注销", "Cancellations owed",
             "持证人已离职、延期注销已届满或外国人工作许可已失效,单位应办理证件注销;这些证件无需再续签。",
             "Holders who left, deferrals that ran out, or expired work permits: cancel the permit; "
             "no renewal is needed for them.",
             (PERMIT[0], DUE, *PERMIT[1:], REASON, ("left_on", "离职日期", "Left on", "date"),
              ("deferred_on", "延期注销日期", "Deferred on", "date"), OVERDUE,
              ("status_zh", "证件状态", "Permit status", "text"), RULES,
              ("superseded_rule_ids", "因注销无需办理", "Not needed once cancelled", "rule")),
             sort=("due_on", "permit_no")),
    TodoList("contribution_gaps", "todo_contribution_gaps", "缴费缺口", "个税社保缺缴", "Contribution gaps",
             "持证期间缺少个税或社保记录的月份;续签时将逐月核查,请核实并准备说明。",
             "Months of the holding period without income tax or social insurance on record; the renewal checks "
             "every month.",
             (PERMIT[0], DUE, *PERMIT[1:], ("missing_month_count", "缺缴月数", "Missing months", "int"),
              ("missing_detail_zh", "缺缴明细", "Missing months and kinds", "text"),
              ("first_missing_month", "最早缺缴月份", "First missing month", "month"),
              ("last_missing_month", "最近缺缴月份", "Last missing month", "month"), RULES),
             sort=("due_on", "permit_no")),
    TodoList("withholder_mismatches", "todo_withholder_mismatches", "扣缴单位不符", "扣缴单位不符",
             "Withholder mismatches",
             "近几个月的个税或社保不是由本单位或登记的代扣代缴单位扣缴:列出月份和实际扣缴单位;续签将被退回。",
             "Recent months whose tax or social insurance was paid by someone other than this employer or its "
             "registered agent: the months and who paid. The renewal will be returned.",
             (PERMIT[0], DUE, *PERMIT[1:], ("month_count", "月数", "Months", "int"),
              ("months_detail_zh", "月份及扣缴单位", "Months, kinds and who paid", "text"),
              ("paid_by_zh", "实际扣缴单位", "Paid by", "text"),
              ("first_month", "最早月份", "First month", "month"),
              ("last_month", "最近月份", "Last month", "month"), RULES), sort=("due_on", "permit_no"), optional=True),
    TodoList("failing_applications", "todo_failing_applications", "待补正的申请", "待补正的在办申请",
             "Applications to put right",
             "在办申请中不符合规则的项目:有错误的申请按现状将被退回;提醒项为原则性条件或需先办理的事项。",
             "Open applications that break a rule: those with errors will be returned as they stand; warnings "
             "are in-principle conditions or steps to take first.",
             (("application_id", "申请编号", "Application id", "text"), DUE,
              ("type_zh", "业务类型", "Type", "text"), ("status_zh", "办理状态", "Status", "text"),
              ("name", "姓名", "Name", "text"), ("id_number_masked", "身份证号", "ID number (masked)", "id"),
              ("submitted_on", "申请日期", "Submitted on", "date"),
              ("will_be_returned", "将被退回", "Will be returned", "bool"),
              ("reason_count", "错误数", "Errors", "int"), ("reasons_zh", "退回原因", "Reasons", "text"),
              ("warnings_zh", "提醒", "Warnings", "text"), RULES), sort=("due_on", "application_id")),
    TodoList("checklists", "checklist_summary", "材料清单", "在办申请材料清单", "Checklists of open applications",
             "每个在办申请到窗口需携带的材料,以及按数据判断的状态;点击“打印清单”打开可用A4纸打印的清单。",
             "What to bring to the window for each open application, with each item's state from the data; "
             "\"Print checklist\" opens a page to print on A4.",
             (("application_id", "申请编号", "Application id", "text"),
              ("checklist_href", "可打印清单", "Printable checklist", "checklist"),
              ("type_zh", "业务类型", "Type", "text"), ("status_zh", "办理状态", "Status", "text"),
              ("name", "姓名", "Name", "text"), ("id_number_masked", "身份证号", "ID number (masked)", "id"),
              ("submitted_on", "申请日期", "Submitted on", "date"), ("items", "材料项数", "Items", "int"),
              ("items_ok", "齐全", "OK", "int"), ("items_missing", "缺少", "Missing", "int"),
              ("items_check", "需人工核验", "To check", "int"), ("complete", "按数据齐全", "Complete (data)", "bool"),
              ("missing_rule_ids", "缺少材料的规则", "Rules of missing items", "rule")),
             sort=("submitted_on", "application_id"), optional=True),
    TodoList("candidates_90d", "todo_candidates_90d", "即将符合条件", "90天内可申请人员",
             "Candidates eligible within 90 days",
             "尚未持证的在职员工,90天内将满足全部时间条件;办理期限为可申请日期。",
             "Current employees without a permit who will meet every time-based condition within 90 days; "
             "'act by' is the first day they can apply.",
             (("name", "姓名", "Name", "text"), DUE, ("id_number_masked", "身份证号", "ID number (masked)", "id"),
              ("hired_on", "入职日期", "Hired on", "date"), ("eligible_on", "预计符合条件日期", "Eligible on", "date"),
              ("days_to_eligible", "距符合条件天数", "Days to eligible", "int"),
              ("eligible_now", "现在即可申请", "Can apply now", "bool"),
              ("waiting_for_zh", "尚待满足的条件", "Still waiting for", "text")), sort=("due_on", "name")),
    TodoList("inspections", "todo_inspections", "员工年检", "员工年检", "Holders' annual inspections",
             "持证人员年检已逾期,请办理员工年检。", "The holder's annual inspection is overdue.",
             (PERMIT[0], DUE, *PERMIT[1:], ("last_inspection_basis", "上次年检(或发证)日期", "Last inspection (or issue)", "date"),
              OVERDUE, REASON, RULES), sort=("due_on", "permit_no"), optional=True),
    TodoList("employer", "todo_employer", "单位年检及事项", "单位年检及单位事项", "Employer inspection and duties",
             "单位自身的事项:单位年检、分支机构持证数量。", "The employer's own duties: its annual inspection, the "
             "branch quota.",
             (RULES, DUE, REASON, ("last_inspection_basis", "上次年检(或开户)日期", "Last inspection (or opening)",
                                   "date"), OVERDUE), sort=("due_on", "rule_ids"), optional=True),
    TodoList("reissues", "todo_reissues", "更名换发", "单位更名后换发证件", "Reissues after the change of name",
             "单位名称变更后,此前发放的证件需办理换发。", "Permits issued before the employer's change of name must be "
             "reissued.",
             (PERMIT[0], DUE, *PERMIT[1:], ("issued_on", "发证日期", "Issued on", "date"),
              ("name_changed_on", "单位更名日期", "Renamed on", "date"), OVERDUE, REASON, RULES),
             sort=("due_on", "permit_no"), optional=True),
    TodoList("dependents", "todo_dependents", "随往人员材料", "随往人员材料", "Dependents' papers",
             "随往配偶、子女缺少的证明材料,请补交。", "Papers missing for an accompanying spouse or child.",
             (("dependent_name", "随往人员", "Dependent", "text"), DUE,
              ("dependent_id_number_masked", "随往人员身份证号", "Dependent's ID (masked)", "id"),
              ("relation_zh", "关系", "Relation", "text"), ("holder_name", "持证人", "Holder", "text"),
              ("holder_id_number_masked", "持证人身份证号", "Holder's ID (masked)", "id"),
              ("holder_permit_no", "持证人证件编号", "Holder's permit", "text"),
              ("holder_application_id", "持证人申请编号", "Holder's application", "text"), REASON, RULES),
             sort=("due_on", "dependent_id_number_masked"), optional=True),
    TodoList("deferrals_ending", "todo_deferrals_ending", "延期注销到期", "延期注销即将到期(转入)",
             "Deferrals ending (transfer in)",
             "原单位已办理延期注销的人员,保留期即将届满:请本单位(新单位)在届满前提交单位变更(转入)申请。",
             "Holders in deferred cancellation at their former employer whose grace period ends soon: this (new) "
             "employer files the employer change before it ends.",
             (PERMIT[0], DUE, *PERMIT[1:], ("old_employer_name", "原单位", "Former employer", "text"),
              ("deferred_on", "延期注销日期", "Deferred on", "date"),
              ("days_left", "剩余天数", "Days left", "int"), REASON, RULES), sort=("due_on", "permit_no"),
             optional=True),
    TodoList("work_permits", "todo_work_permits", "工作许可到期", "外国人工作许可即将到期", "Work permits ending",
             "外国人工作许可将先于工作居住证到期;工作许可失效,工作居住证同时失效。",
             "The foreign holder's work permit ends before the residence permit; when it lapses, so does the "
             "residence permit.",
             (PERMIT[0], DUE, *PERMIT[1:], ("expires_on", "工作居住证有效期至", "Permit expires", "date"),
              ("days_left", "剩余天数", "Days left", "int"), REASON, RULES), sort=("due_on", "permit_no"),
             optional=True),
    TodoList("waived", "todo_waived", "已批准例外", "已批准例外", "Waived findings (approved exceptions)",
             "经批准的例外:这些检查结果不计入待办事项;办理期限为例外的有效期(空白为长期)。",
             "Approved exceptions: these findings are not open work; 'act by' is the end of the exception "
             "(empty: no end).",
             (RULES, ("entity_key_masked", "对象", "Entity", "text"), DUE, ("name", "姓名", "Name", "text"),
              ("id_number_masked", "身份证号", "ID number (masked)", "id"), REASON,
              ("waiver_reason", "例外理由", "Reason of the exception", "text"),
              ("approved_by", "批准单位", "Approved by", "text"), ("approved_on", "批准日期", "Approved on", "date")),
             sort=("due_on", "rule_ids", "entity_key_masked"), optional=True),
)

# how each kind is written in the workbook
SHEET_KIND = {"text": "text", "id": "text", "rule": "text", "checklist": "text", "date": "date", "month": "date",
              "int": "int", "bool": "bool"}
# how each kind is shown on the page (reports/site/static/site.js)
PAGE_KIND = {"text": "text", "id": "id", "rule": "rule", "checklist": "checklist", "date": "date", "month": "month",
             "int": "num", "bool": "bool"}
