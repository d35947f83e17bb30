"""Chinese / English labels of enum codes: the one label table of the product.

The Chinese labels of the contract's enums come from the contract module
(``core.contract.ENUMS``, ``ENUMS[enum][code] -> zh label``, the part before a
``/``); this module adds the English labels and the enums the marts define
(window_state, age_band). The rule book's messages, the marts' label columns
and the site all read ``labels()``.
"""
from __future__ import annotations

import polars as pl

from core.contract import ENUMS

# English labels of the contract's enums (the Chinese ones are the contract's)
_EN: dict[str, dict[str, str]] = {
    'entity_type': {
        'enterprise': 'Enterprise',
        'public_institution': 'Public institution',
        'private_non_enterprise': 'Private non-enterprise unit',
        'social_organization': 'Social organisation',
        'foreign_branch': 'Foreign branch',
        'domestic_branch': 'Out-of-town branch',
        'other': 'Other',
    },
    'district': {
        'dongcheng': 'Dongcheng',
        'xicheng': 'Xicheng',
        'chaoyang': 'Chaoyang',
        'fengtai': 'Fengtai',
        'shijingshan': 'Shijingshan',
        'haidian': 'Haidian',
        'mentougou': 'Mentougou',
        'fangshan': 'Fangshan',
        'tongzhou': 'Tongzhou',
        'shunyi': 'Shunyi',
        'changping': 'Changping',
        'daxing': 'Daxing',
        'huairou': 'Huairou',
        'pinggu': 'Pinggu',
        'miyun': 'Miyun',
        'yanqing': 'Yanqing',
        'etdz': 'Beijing Economic-Technological Development Area',
    },
    'category': {
        'high_tech': 'High-tech enterprise',
        'software': 'Software enterprise',
        'integrated_circuit': 'Integrated-circuit enterprise',
        'rnd_center': 'R&D centre',
        'financial': 'Financial enterprise',
        'cultural_creative': 'Cultural-creative enterprise',
        'regional_hq': 'Regional headquarters',
        'other': 'Other',
    },
    'gender': {
        'M': 'Male',
        'F': 'Female',
    },
    'degree': {
        'none': 'None',
        'bachelor': 'Bachelor',
        'master': 'Master',
        'doctor': 'Doctor',
    },
    'title_level': {
        'none': 'None',
        'junior': 'Junior',
        'intermediate': 'Intermediate',
        'associate_senior': 'Associate senior',
        'senior': 'Senior',
    },
    'permit_status': {
        'active': 'Active',
        'cancelled': 'Cancelled',
        'deferred_cancellation': 'Deferred cancellation',
        'expired': 'Expired',
    },
    'application_type': {
        'new': 'New',
        'renewal': 'Renewal',
        'employer_change': 'Employer change',
        'address_change': 'Address change',
        'dependent_change': 'Dependent change',
        'general_change': 'General change',
        'history_change': 'History change',
        'reissue': 'Reissue',
        'annual_inspection': 'Annual inspection',
        'cancellation': 'Cancellation',
        'deferred_cancellation': 'Deferred cancellation',
    },
    'application_status': {
        'draft': 'Draft',
        'person_submitted': 'Submitted by person',
        'employer_submitted': 'Submitted by employer',
        'under_review': 'Under review',
        'returned': 'Returned',
        'approved': 'Approved',
        'rejected': 'Rejected',
    },
    'contribution_kind': {
        'income_tax': 'Income tax',
        'social_insurance': 'Social insurance',
    },
}
# enums the marts define (not in the input contract): code -> (zh, en)
_MART: dict[str, dict[str, tuple[str, str]]] = {
    'window_state': {
        'not_due': ('未到期', 'Not due'),
        'due_soon': ('即将到期', 'Due soon'),
        'open': ('续签办理期内', 'Renewal window open'),
        'renewal_in_hand': ('已申请续签', 'Renewal in hand'),
        'lapsed': ('已过续签期', 'Lapsed'),
        'inactive': ('非有效', 'Inactive'),
    },
    'age_band': {
        'under_25': ('25岁以下', 'Under 25'),
        '25_29': ('25-29岁', '25-29'),
        '30_34': ('30-34岁', '30-34'),
        '35_39': ('35-39岁', '35-39'),
        '40_44': ('40-44岁', '40-44'),
        '45_49': ('45-49岁', '45-49'),
        '50_54': ('50-54岁', '50-54'),
        '55_plus': ('55岁及以上', '55 and over'),
    },
}

# The mart dimension name -> contract enum name
DIMENSIONS = {"district": "district", "category": "category", "degree": "degree", "title": "title_level",
              "age_band": "age_band", "gender": "gender"}


def labels() -> dict[str, dict[str, tuple[str, str]]]:
    """enum -> code -> (label_zh, label_en), contract enums first."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for enum, codes in ENUMS.items():
        en = _EN.get(enum, {})
        out[enum] = {code: (zh.split("/")[0], en.get(code, code.replace("_", " ").capitalize()))
                     for code, zh in codes.items()}
    for enum, codes in _MART.items():
        out[enum] = dict(codes)
    return out


def label_frame() -> pl.DataFrame:
    """Long table (enum, code, label_zh, label_en, sort_order) for SQL joins."""
    rows = [(e, c, zh, en, i) for e, codes in labels().items() for i, (c, (zh, en)) in enumerate(codes.items())]
    return pl.DataFrame(rows, schema=["enum", "code", "label_zh", "label_en", "sort_order"], orient="row")
