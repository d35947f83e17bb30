"""Chinese / English labels of the contract's enum codes, for mart label columns.

The ingest layer owns the authoritative map (``core.contract.ENUMS``,
``ENUMS[enum][code] -> zh label``). Until it exists, and for the English
labels, this module keeps its own copy; when the ingest map is importable its
Chinese labels win.
"""
from __future__ import annotations

import polars as pl

_LOCAL: dict[str, dict[str, tuple[str, str]]] = {
    "entity_type": {
        "enterprise": ("企业法人", "Enterprise"),
        "public_institution": ("事业单位", "Public institution"),
        "private_non_enterprise": ("民办非企业单位", "Private non-enterprise unit"),
        "social_organization": ("社会团体", "Social organisation"),
        "foreign_branch": ("外国(地区)在京非法人分支机构", "Foreign branch"),
        "domestic_branch": ("外埠在京非法人分支机构", "Out-of-town branch"),
        "other": ("其他", "Other"),
    },
    "district": {
        "dongcheng": ("东城区", "Dongcheng"), "xicheng": ("西城区", "Xicheng"),
        "chaoyang": ("朝阳区", "Chaoyang"), "fengtai": ("丰台区", "Fengtai"),
        "shijingshan": ("石景山区", "Shijingshan"), "haidian": ("海淀区", "Haidian"),
        "mentougou": ("门头沟区", "Mentougou"), "fangshan": ("房山区", "Fangshan"),
        "tongzhou": ("通州区", "Tongzhou"), "shunyi": ("顺义区", "Shunyi"),
        "changping": ("昌平区", "Changping"), "daxing": ("大兴区", "Daxing"),
        "huairou": ("怀柔区", "Huairou"), "pinggu": ("平谷区", "Pinggu"),
        "miyun": ("密云区", "Miyun"), "yanqing": ("延庆区", "Yanqing"),
        "etdz": ("北京经济技术开发区", "Beijing Economic-Technological Development Area"),
    },
    "category": {
        "high_tech": ("高新技术企业", "High-tech enterprise"), "software": ("软件企业", "Software enterprise"),
        "integrated_circuit": ("集成电路企业", "Integrated-circuit enterprise"),
        "rnd_center": ("驻京研发机构", "R&D centre"), "financial": ("金融企业", "Financial enterprise"),
        "cultural_creative": ("文化创意企业", "Cultural-creative enterprise"),
        "regional_hq": ("跨国公司地区总部", "Regional headquarters"), "other": ("其他", "Other"),
    },
    "gender": {"M": ("男", "Male"), "F": ("女", "Female")},
    "degree": {"none": ("无", "None"), "bachelor": ("学士", "Bachelor"), "master": ("硕士", "Master"),
               "doctor": ("博士", "Doctor")},
    "title_level": {"none": ("无", "None"), "junior": ("初级", "Junior"), "intermediate": ("中级", "Intermediate"),
                    "associate_senior": ("副高级", "Associate senior"), "senior": ("正高级", "Senior")},
    "permit_status": {"active": ("有效", "Active"), "cancelled": ("已注销", "Cancelled"),
                      "deferred_cancellation": ("延期注销", "Deferred cancellation"), "expired": ("已过期", "Expired")},
    "application_type": {
        "new": ("新办", "New"), "renewal": ("续签", "Renewal"), "employer_change": ("聘用单位变更", "Employer change"),
        "address_change": ("居住地址变更", "Address change"), "dependent_change": ("随往人员变更", "Dependent change"),
        "general_change": ("一般资料变更", "General change"), "history_change": ("简历变更", "History change"),
        "reissue": ("证件补办", "Reissue"), "annual_inspection": ("员工年检", "Annual inspection"),
        "cancellation": ("证件注销", "Cancellation"), "deferred_cancellation": ("延期注销", "Deferred cancellation"),
    },
    "application_status": {
        "draft": ("草稿", "Draft"), "person_submitted": ("个人已提交", "Submitted by person"),
        "employer_submitted": ("单位已提交,未办理完成", "Submitted by employer"),
        "under_review": ("审核中", "Under review"), "returned": ("已退回", "Returned"),
        "approved": ("审批通过", "Approved"), "rejected": ("不予通过", "Rejected"),
    },
    "contribution_kind": {"income_tax": ("个税", "Income tax"), "social_insurance": ("社保", "Social insurance")},
    # mart-only enums
    "window_state": {
        "not_due": ("未到期", "Not due"), "due_soon": ("即将到期", "Due soon"),
        "open": ("续签办理期内", "Renewal window open"), "renewal_in_hand": ("已申请续签", "Renewal in hand"),
        "lapsed": ("已过续签期", "Lapsed"), "inactive": ("非有效", "Inactive"),
    },
    "age_band": {
        "under_25": ("25岁以下", "Under 25"), "25_29": ("25-29岁", "25-29"), "30_34": ("30-34岁", "30-34"),
        "35_39": ("35-39岁", "35-39"), "40_44": ("40-44岁", "40-44"), "45_49": ("45-49岁", "45-49"),
        "50_54": ("50-54岁", "50-54"), "55_plus": ("55岁及以上", "55 and over"),
    },
}

# The mart dimension name -> contract enum name
DIMENSIONS = {"district": "district", "category": "category", "degree": "degree", "title": "title_level",
              "age_band": "age_band", "gender": "gender"}


def _ingest_enums() -> dict:
    try:  # the ingest engineer's authoritative map, when present
        from core.contract import ENUMS  # type: ignore
    except Exception:
        return {}
    return ENUMS if isinstance(ENUMS, dict) else {}


def labels() -> dict[str, dict[str, tuple[str, str]]]:
    """enum -> code -> (label_zh, label_en)."""
    out = {e: dict(codes) for e, codes in _LOCAL.items()}
    for enum, codes in _ingest_enums().items():
        if not isinstance(codes, dict):
            continue
        tgt = out.setdefault(enum, {})
        for code, zh in codes.items():
            if isinstance(zh, str) and zh:
                en = tgt.get(code, ("", code.replace("_", " ").capitalize()))[1]
                tgt[code] = (zh.split("/")[0], en)
    return out


def label_frame() -> pl.DataFrame:
    """Long table (enum, code, label_zh, label_en, sort_order) for SQL joins."""
    rows = [(e, c, zh, en, i) for e, codes in labels().items() for i, (c, (zh, en)) in enumerate(codes.items())]
    return pl.DataFrame(rows, schema=["enum", "code", "label_zh", "label_en", "sort_order"], orient="row")
