"""The input data contract (spec/data-contract.md) as data.

``TABLES`` maps each contract table name to a :class:`Table` (columns with
Chinese aliases, value kind, required / key flags, defaults). ``ENUMS`` maps an
enum name to ``{code: 中文 label}`` exactly as in the contract; other layers
import it for display labels (``ENUMS["district"]["haidian"] == "海淀区"``).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ENUMS: dict[str, dict[str, str]] = {
    "entity_type": {
        "enterprise": "企业法人",
        "public_institution": "事业单位",
        "private_non_enterprise": "民办非企业单位",
        "social_organization": "社会团体",
        "foreign_branch": "外国(地区)在京非法人分支机构",
        "domestic_branch": "外埠在京非法人分支机构",
        "other": "其他",
    },
    "district": {
        "dongcheng": "东城区",
        "xicheng": "西城区",
        "chaoyang": "朝阳区",
        "fengtai": "丰台区",
        "shijingshan": "石景山区",
        "haidian": "海淀区",
        "mentougou": "门头沟区",
        "fangshan": "房山区",
        "tongzhou": "通州区",
        "shunyi": "顺义区",
        "changping": "昌平区",
        "daxing": "大兴区",
        "huairou": "怀柔区",
        "pinggu": "平谷区",
        "miyun": "密云区",
        "yanqing": "延庆区",
        "etdz": "北京经济技术开发区",
    },
    "category": {
        "high_tech": "高新技术企业",
        "software": "软件企业",
        "integrated_circuit": "集成电路企业",
        "rnd_center": "驻京研发机构",
        "financial": "金融企业",
        "cultural_creative": "文化创意企业",
        "regional_hq": "跨国公司地区总部",
        "other": "其他",
    },
    "gender": {"M": "男", "F": "女"},
    "frequency": {"daily": "每日", "weekly": "每周"},
    "id_type": {
        "resident_id": "居民身份证",
        "hk_mo_tw_residence": "港澳台居民居住证",
        "foreign_permanent_resident": "外国人永久居留身份证",
        "passport": "护照",
    },
    "degree": {"none": "无", "bachelor": "学士", "master": "硕士", "doctor": "博士"},
    "study_mode": {
        "full_time": "全日制",
        "part_time": "非全日制/在职",
        "self_taught": "自学考试/自考",
        "adult_exam": "成人高考/成考",
        "online": "网络教育",
    },
    "title_level": {
        "none": "无",
        "junior": "初级",
        "intermediate": "中级",
        "associate_senior": "副高级",
        "senior": "正高级",
    },
    "housing_type": {
        "owned": "自有住房",
        "rented": "租赁住房",
        "public_rented": "租赁公房",
        "lodging": "借住亲友",
        "none": "无",
    },
    "edu_level": {
        "high_school": "高中",
        "secondary_vocational": "中专",
        "junior_college": "大专",
        "bachelor": "本科",
        "master": "硕士研究生",
        "doctor": "博士研究生",
        "other": "其他",
    },
    "contribution_kind": {"income_tax": "个人所得税/个税", "social_insurance": "社会保险/社保"},
    "relation": {"spouse": "配偶", "child": "子女"},
    "permit_status": {
        "active": "有效",
        "cancelled": "已注销",
        "deferred_cancellation": "延期注销",
        "expired": "已过期",
    },
    "application_type": {
        "new": "新办",
        "renewal": "续签",
        "employer_change": "聘用单位变更",
        "address_change": "居住地址变更",
        "dependent_change": "随往人员变更",
        "general_change": "一般资料变更",
        "history_change": "简历变更",
        "reissue": "证件补办",
        "annual_inspection": "员工年检",
        "cancellation": "证件注销",
        "deferred_cancellation": "延期注销",
    },
    "application_status": {
        "draft": "草稿",
        "person_submitted": "个人已提交",
        "employer_submitted": "单位已提交,未办理完成",
        "under_review": "审核中",
        "returned": "已退回",
        "approved": "审批通过",
        "rejected": "不予通过",
    },
}

# Further spellings the contract lists beside a label (e.g. "北京经济技术开发区 (经开区)").
ENUM_EXTRA_LABELS: dict[str, dict[str, str]] = {
    "district": {"经开区": "etdz", "北京经济技术开发区(经开区)": "etdz"},
}

KINDS = ("date", "month", "bool", "id_number", "money", "integer", "text")

SQL_TYPES = {
    "date": "DATE",
    "month": "DATE",
    "bool": "BOOLEAN",
    "money": "DECIMAL(18,2)",
    "integer": "BIGINT",
    "id_number": "VARCHAR",
    "text": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    kind: str  # one of KINDS or "enum:<name>"
    required: bool = False
    key: bool = False
    default: object = None
    description: str = ""  # English description for COMMENT ON
    # header alias -> multiplier (注册资本(万元) means x 10,000)
    scaled_aliases: tuple[tuple[str, int], ...] = ()

    @property
    def enum(self) -> str | None:
        return self.kind.split(":", 1)[1] if self.kind.startswith("enum:") else None

    @property
    def base_kind(self) -> str:
        return "enum" if self.enum else self.kind

    @property
    def sql_type(self) -> str:
        return "VARCHAR" if self.enum else SQL_TYPES[self.kind]

    @property
    def zh(self) -> str:
        return self.aliases[0] if self.aliases else self.name


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    description: str
    columns: tuple[Column, ...]
    # (column, referenced table) pairs checked by DQ-ORPHAN
    references: tuple[tuple[str, str], ...] = ()
    # (start column, end column, strict) checked by DQ-DATE-ORDER: strict=True means end <= start breaks it
    date_orders: tuple[tuple[str, str, bool], ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.key]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


C = Column

TABLE_LIST: list[Table] = [
    Table("employers", "聘用单位", "Employers registered with the permit system", (
        C("uscc", ("统一社会信用代码", "单位代码"), "text", True, True, description="Unified social credit code (GB 32100)"),
        C("name", ("单位名称", "单位全称"), "text", True, description="Employer name"),
        C("entity_type", ("单位性质", "单位类型"), "enum:entity_type", True, description="Legal entity type"),
        C("district", ("所在区", "区县"), "enum:district", True, description="Beijing district"),
        C("established_on", ("成立日期", "注册日期"), "date", True, description="Date of establishment"),
        C("registered_capital_cny", ("注册资本", "注册资本(元)"), "money", description="Registered capital in CNY",
          scaled_aliases=(("注册资本(万元)", 10000), ("注册资本(万)", 10000))),
        C("category", ("聘用单位分类", "单位分类"), "enum:category", default="other", description="Employer category"),
        C("account_opened_on", ("系统开通日期", "开通日期"), "date", description="System account opened on (empty = not opened)"),
        C("last_annual_inspection_on", ("单位年检日期", "年检日期"), "date", description="Last employer annual inspection"),
        C("name_changed_on", ("名称变更日期",), "date", description="Date of the last name change"),
    )),
    Table("persons", "人员", "Employees registered by employers", (
        C("id_number", ("身份证号", "身份证号码", "公民身份号码", "证件号码"), "id_number", True, True,
          description="Identity document number: GB 11643 for the 18-character types, passport number otherwise"),
        C("id_type", ("证件类型",), "enum:id_type", default="resident_id", description="Identity document type"),
        C("name", ("姓名",), "text", True, description="Name"),
        C("gender", ("性别",), "enum:gender", description="Gender (from the ID number; given for passports)"),
        C("birth_date", ("出生日期",), "date", description="Birth date (from the ID number; given for passports)"),
        C("nationality", ("国籍", "国籍(地区)"), "text", description="Nationality (empty = 中国)"),
        C("work_permit_no", ("外国人工作许可证号", "工作许可证号"), "text",
          description="Foreigner's work permit number (passport holders)"),
        C("work_permit_expires_on", ("工作许可证有效期至", "工作许可有效期"), "date",
          description="Foreigner's work permit valid until"),
        C("highest_degree", ("最高学位", "学位"), "enum:degree", default="none", description="Highest degree"),
        C("degree_study_mode", ("学习形式", "学习方式"), "enum:study_mode", description="Study mode of the highest degree"),
        C("graduation_date", ("毕业日期", "毕业时间"), "date", description="Graduation date"),
        C("title_level", ("职称级别", "职称等级"), "enum:title_level", default="none", description="Professional title level"),
        C("title_name", ("职称", "职称名称", "资格名称"), "text", description="Professional title name"),
        C("special_talent", ("特殊人才", "紧缺急需人才"), "bool", default=False, description="Special talent"),
        C("work_start_date", ("参加工作日期", "参加工作时间"), "date", description="Date the person started working"),
        C("residence_address", ("在京住址", "居住地址"), "text", description="Residence address in Beijing"),
        C("housing_type", ("住所类型", "住房类型"), "enum:housing_type", description="Housing type"),
        C("housing_proof", ("住所证明", "住所证明齐全"), "bool", default=False, description="Housing proof complete"),
        C("achievements", ("主要工作业绩", "工作业绩"), "text", description="Main work achievements"),
        C("photo_format", ("照片格式",), "text", description="Photo file format"),
        C("photo_bytes", ("照片大小", "照片字节数"), "integer", description="Photo size in bytes"),
        C("photo_width", ("照片宽度",), "integer", description="Photo width in pixels"),
        C("photo_height", ("照片高度",), "integer", description="Photo height in pixels"),
        C("photo_sha256", ("照片指纹",), "text", description="Photo SHA-256"),
    )),
    Table("employments", "聘用关系", "Employment relations between persons and employers", (
        C("id_number", ("身份证号",), "id_number", True, True, description="Employee ID number"),
        C("uscc", ("统一社会信用代码",), "text", True, True, description="Employer USCC"),
        C("hired_on", ("聘用开始时间", "入职日期"), "date", True, True, description="Hired on"),
        C("contract_end_on", ("聘用结束时间", "合同到期日期"), "date", description="Labour contract end date"),
        C("left_on", ("离职日期",), "date", description="Left on (empty = still employed)"),
    ), references=(("id_number", "persons"), ("uscc", "employers")), date_orders=(("hired_on", "left_on", False),)),
    Table("work_history", "工作简历", "Work history of persons", (
        C("id_number", ("身份证号",), "id_number", True, True, description="Person ID number"),
        C("start_on", ("开始日期", "起始时间"), "date", True, True, description="Start date"),
        C("end_on", ("结束日期", "截止时间"), "date", description="End date (empty = to date)"),
        C("organization", ("工作单位", "单位"), "text", description="Organisation (empty with a note = explained gap)"),
        C("position", ("职务", "岗位"), "text", description="Position"),
        C("note", ("说明", "备注"), "text", description="Note"),
    ), references=(("id_number", "persons"),), date_orders=(("start_on", "end_on", False),)),
    Table("education_history", "教育培训简历", "Education and training history of persons", (
        C("id_number", ("身份证号",), "id_number", True, True, description="Person ID number"),
        C("start_on", ("开始日期", "入学时间"), "date", True, True, description="Start date"),
        C("end_on", ("结束日期", "毕业时间"), "date", description="End date"),
        C("school", ("学校", "院校"), "text", description="School"),
        C("level", ("学历层次", "层次"), "enum:edu_level", True, description="Education level"),
        C("study_mode", ("学习形式",), "enum:study_mode", description="Study mode"),
        C("note", ("说明", "备注"), "text", description="Note"),
    ), references=(("id_number", "persons"),), date_orders=(("start_on", "end_on", False),)),
    Table("contributions", "个税社保", "Monthly income-tax and social-insurance records", (
        C("id_number", ("身份证号",), "id_number", True, True, description="Person ID number"),
        C("month", ("所属期", "缴纳月份", "月份"), "month", True, True, description="Month (first day)"),
        C("kind", ("类型", "险种"), "enum:contribution_kind", True, True, description="Income tax or social insurance"),
        C("withholder_uscc", ("扣缴单位代码",), "text", key=True, description="Withholding employer USCC"),
        C("withholder_name", ("扣缴单位", "扣缴单位名称"), "text", description="Withholding employer name"),
        C("amount_cny", ("金额", "缴纳金额"), "money", description="Amount in CNY (0 is a real declaration)"),
    ), references=(("id_number", "persons"),)),
    Table("dependents", "随往人员", "Accompanying family members of permit holders", (
        C("holder_id_number", ("持证人身份证号", "申请人身份证号"), "id_number", True, description="Holder ID number"),
        C("id_number", ("身份证号", "随往人员身份证号"), "id_number", True, True, description="Dependent ID number"),
        C("relation", ("关系", "与申请人关系"), "enum:relation", True, description="Relation to the holder"),
        C("name", ("姓名",), "text", True, description="Dependent name"),
        C("birth_date", ("出生日期",), "date", description="Birth date (used when the ID is a passport number)"),
        C("marriage_certificate", ("结婚证",), "bool", default=False, description="Marriage certificate provided"),
        C("student_status_proof", ("学籍证明",), "bool", default=False, description="Proof of school enrolment provided"),
    ), references=(("holder_id_number", "persons"),)),
    Table("permits", "工作居住证", "Work residence permits", (
        C("permit_no", ("证件编号", "证号"), "text", True, True, description="Permit number"),
        C("id_number", ("身份证号",), "id_number", True, description="Holder ID number"),
        C("uscc", ("统一社会信用代码",), "text", True, description="Employer USCC"),
        C("issued_on", ("发证日期", "签发日期"), "date", True, description="Issued on"),
        C("expires_on", ("有效期至", "到期日期"), "date", True, description="Expires on"),
        C("status", ("证件状态", "状态"), "enum:permit_status", True, description="Permit status"),
        C("cancelled_on", ("注销日期",), "date", description="Cancelled on"),
        C("deferred_on", ("延期注销日期",), "date", description="Deferred cancellation on"),
        C("last_inspection_on", ("年检日期",), "date", description="Last annual inspection"),
        C("photo_sha256", ("照片指纹",), "text", description="Photo SHA-256 on the card"),
    ), references=(("id_number", "persons"), ("uscc", "employers")), date_orders=(("issued_on", "expires_on", True),)),
    Table("applications", "业务申请", "Applications (business transactions) of the permit system", (
        C("application_id", ("申请编号", "业务编号"), "text", True, True, description="Application id"),
        C("type", ("业务类型",), "enum:application_type", True, description="Business type"),
        C("id_number", ("身份证号",), "id_number", True, description="Applicant ID number"),
        C("uscc", ("统一社会信用代码",), "text", True, description="Employer USCC"),
        C("permit_no", ("证件编号",), "text", description="Permit number (required for every type but new)"),
        C("submitted_on", ("申请日期", "个人提交日期"), "date", description="Submitted by the person on"),
        C("employer_submitted_on", ("单位提交日期",), "date", description="Submitted by the employer on"),
        C("window_submitted_on", ("窗口递交日期", "受理日期"), "date", description="Handed in at the district window on"),
        C("decided_on", ("办结日期", "审批日期"), "date", description="Decided on"),
        C("status", ("办理状态", "状态"), "enum:application_status", True, description="Processing status"),
        C("return_reason", ("退回原因",), "text", description="Return reason"),
        C("photo_sha256", ("照片指纹",), "text", description="Photo SHA-256 of the application"),
    ), references=(("id_number", "persons"), ("uscc", "employers"))),
    Table("withholding_agents", "代扣代缴单位", "Registered agents paying an employer's tax or social insurance", (
        C("uscc", ("统一社会信用代码", "聘用单位代码"), "text", True, True, description="Employer USCC"),
        C("agent_name", ("代扣代缴单位", "代扣单位名称"), "text", True, True, description="Agent name"),
        C("agent_uscc", ("代扣代缴单位代码", "代扣单位代码"), "text", description="Agent USCC (GB 32100 when given)"),
        C("kind", ("类型", "险种"), "enum:contribution_kind", description="Kind the agent pays (empty = both)"),
        C("valid_from", ("起始月份", "开始日期"), "month", description="First month (empty = no start)"),
        C("valid_to", ("截止月份", "结束日期"), "month", description="Last month (empty = open)"),
    ), references=(("uscc", "employers"),)),
    Table("waivers", "例外登记", "Exceptions the bureau approved to a rule for one entity", (
        C("rule_id", ("规则编号",), "text", True, True, description="Rule id (a non-ingest rule of the rule book)"),
        C("entity_key", ("对象编号", "对象"), "text", True, True, description="The finding's entity_key"),
        C("reason", ("原因", "批准理由"), "text", True, description="Reason"),
        C("approved_by", ("批准人", "批准部门"), "text", True, description="Approved by"),
        C("approved_on", ("批准日期",), "date", True, description="Approved on"),
        C("expires_on", ("有效期至",), "date", description="Valid until (empty = no end)"),
    )),
    # v2, for reminders (issue 18); the e-mail format is checked by DQ-BAD-REF (EMAIL_PATTERN)
    Table("employer_contacts", "单位联系人", "Who at an employer receives its reminders, and where", (
        C("uscc", ("统一社会信用代码",), "text", True, True, description="Employer USCC"),
        C("contact_name", ("联系人", "经办人"), "text", True, True, description="Contact name"),
        C("email", ("邮箱", "电子邮箱"), "text", description="E-mail address (empty = chat channels only)"),
        C("channels", ("接收渠道",), "text",
          description="Chat channel names of the notification configuration, separated by , 、 or ; (empty = e-mail only)"),
        C("frequency", ("提醒频率",), "enum:frequency", default="daily", description="Digest frequency"),
    ), references=(("uscc", "employers"),)),
]
del C

TABLES: dict[str, Table] = {t.name: t for t in TABLE_LIST}
# Load order: parents first (DQ-ORPHAN looks at what persons/employers loaded).
TABLE_ORDER: list[str] = [t.name for t in TABLE_LIST]
# Columns holding a USCC (normalised like an identifier: NFKC, no spaces, upper case).
USCC_COLUMNS = {"uscc", "withholder_uscc", "agent_uscc"}
# employer_contacts.email must look like an e-mail address (DQ-BAD-REF, spec/rules.md § Ingest)
EMAIL_PATTERN = r"^[^@\s,;、]+@[^@\s,;、]+\.[^@\s,;、]+$"


def norm_name(s: str) -> str:
    """Normalise a header / file stem / sheet name for matching: NFKC,
    all whitespace removed, lower case."""
    s = unicodedata.normalize("NFKC", str(s))
    return re.sub(r"\s+", "", s).lower()


def _table_prefixes() -> list[tuple[str, str]]:
    pairs = []
    for t in TABLE_LIST:
        pairs.append((norm_name(t.name), t.name))
        pairs.append((norm_name(t.zh), t.name))
    return sorted(pairs, key=lambda p: -len(p[0]))


_PREFIXES = _table_prefixes()


def recognise_table(stem_or_sheet: str) -> str | None:
    """Table of a file stem or sheet name: it starts with the English table
    name or the Chinese alias; the longest match wins."""
    n = norm_name(stem_or_sheet)
    for prefix, table in _PREFIXES:
        if n.startswith(prefix):
            return table
    return None


def header_map(table: str) -> dict[str, tuple[str, int]]:
    """Normalised header -> (column name, multiplier)."""
    out: dict[str, tuple[str, int]] = {}
    for c in TABLES[table].columns:
        out.setdefault(norm_name(c.name), (c.name, 1))
        for a in c.aliases:
            out.setdefault(norm_name(a), (c.name, 1))
        for a, scale in c.scaled_aliases:
            out.setdefault(norm_name(a), (c.name, scale))
    return out


def enum_lookup(enum: str) -> dict[str, str]:
    """Accepted spelling (normalised, lower case) -> code. Accepts the code,
    the full label, each part of a label written with '/', and the extra
    spellings of ENUM_EXTRA_LABELS."""
    out: dict[str, str] = {}
    for code, label in ENUMS[enum].items():
        out[norm_name(code)] = code
        out[norm_name(label)] = code
        for part in label.split("/"):
            out.setdefault(norm_name(part), code)
    for spelling, code in ENUM_EXTRA_LABELS.get(enum, {}).items():
        out[norm_name(spelling)] = code
    return out


def column_comment(col: Column) -> str:
    extra = ""
    if col.enum:
        extra = " (codes: " + ", ".join(f"{k}={v}" for k, v in ENUMS[col.enum].items()) + ")"
    return f"{col.description}{extra} / {'、'.join(col.aliases) or col.name}"


def table_comment(t: Table) -> str:
    return f"{t.description} (contract table {t.name}) / {t.zh}"
