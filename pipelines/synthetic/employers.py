"""Employers: entity types, districts, codes, dates, capital and names, with the
special employers the scenarios need (not opened, young, low capital, branches
at and over the quota, spares) and the employer-level defects
(EMP-INSPECTION-OVERDUE, name changes). Fills ``g.E``."""
from __future__ import annotations

import numpy as np
import polars as pl

from . import vocab as V
from .dates import NAT, add_months
from .ids import make_usccs
from .state import State, days

BRANCHES = ["foreign_branch", "domestic_branch"]


def build_employers(g: State) -> None:
    rng, k, n = g.rng, g.k, g.sc.employers
    nb = n - 5 * k - 2  # base employers; the rest are special ones
    kind = np.array(["base"] * nb + ["not_opened"] * k + ["young"] * k + ["lowcap"] * k + ["branch5"] * 2
                    + ["branch_over"] * k + ["spare"] * k)[:n]
    etype, district, uscc, category = _identity(rng, kind, n)
    est, opened, capital, last_insp = _dates_and_capital(g, kind, n)
    overdue = _inspections_overdue(g, kind, last_insp, uscc)
    base_idx = np.nonzero(kind == "base")[0]
    # name changes on a few base enterprises (not the overdue ones, not branches)
    cand = np.setdiff1d(base_idx[np.isin(etype[base_idx], ["enterprise"])], overdue)
    n_ren = max(3, int(0.03 * nb))
    renamed = rng.choice(cand, n_ren, replace=False)
    name_changed = np.full(n, NAT)
    name_changed[renamed] = g.ref - days(rng, 60, 540, n_ren)
    g.E = dict(kind=kind, etype=etype, district=district, uscc=uscc, category=category, est=est,
               opened=opened, capital=capital, last_insp=last_insp, name_changed=name_changed,
               size=np.exp(rng.normal(0, 1.1, n)), overdue=overdue, renamed=renamed)
    g.E["name"] = _employer_names(rng, etype, category, district)
    g.n_emp = n


def _identity(rng, kind, n):
    """Entity type (fixed for the special kinds), district, USCC and category."""
    etype_idx = rng.choice(len(V.ENTITY_TYPES), n, p=np.array([e[2] for e in V.ENTITY_TYPES]) / 100)
    etype = np.array([e[0] for e in V.ENTITY_TYPES])[etype_idx]
    etype[np.isin(kind, ["not_opened", "young", "lowcap", "spare"])] = "enterprise"
    etype[kind == "branch5"] = "foreign_branch"
    etype[kind == "branch_over"] = np.array(["domestic_branch", "foreign_branch"])[np.arange((kind == "branch_over").sum()) % 2]
    dept = np.vectorize({e[0]: e[3] for e in V.ENTITY_TYPES}.get)(etype)
    dist_w = np.array([d[3] for d in V.DISTRICTS])
    dist_i = rng.choice(len(V.DISTRICTS), n, p=dist_w / dist_w.sum())
    district = np.array([d[0] for d in V.DISTRICTS])[dist_i]
    area = np.array([d[2] for d in V.DISTRICTS])[dist_i]
    uscc = make_usccs(rng, dept, area)
    cat_w = np.array([c[2] for c in V.CATEGORIES])
    category = np.array([c[0] for c in V.CATEGORIES])[rng.choice(len(V.CATEGORIES), n, p=cat_w / cat_w.sum())]
    category[~np.isin(etype, ["enterprise", *BRANCHES])] = "other"
    return etype, district, uscc, category


def _dates_and_capital(g: State, kind, n):
    """Established / opened / last inspection dates and capital, then the special employers'."""
    rng, ref = g.rng, g.ref
    est = ref - np.timedelta64(7 * 365, "D") - np.minimum(rng.exponential(8 * 365, n), 28 * 365).astype("timedelta64[D]")
    opened = np.minimum(est + days(rng, 30, 400, n), ref - np.timedelta64(int(6.5 * 365), "D"))
    capital = np.round(10 ** rng.uniform(6.0, 9.3, n) / 10_000) * 10_000
    capital[:3] = 1_000_000.0  # boundary: exactly the minimum is enough
    last_insp = ref - days(rng, 5, 330, n)
    sel = kind == "not_opened"
    opened = np.where(sel, NAT, opened)
    last_insp = np.where(sel, NAT, last_insp)
    first_not_opened = np.nonzero(sel)[0][0]
    opened[first_not_opened] = ref - np.timedelta64(6, "D")  # opened after the applicant's d
    last_insp[first_not_opened] = NAT
    sel = kind == "young"
    est = np.where(sel, add_months(np.full(n, ref), -9) - days(rng, 0, 10, n), est)
    opened = np.where(sel, est + days(rng, 5, 12, n), opened)
    last_insp = np.where(sel, NAT, last_insp)
    sel = kind == "lowcap"
    capital = np.where(sel, rng.choice([300_000.0, 500_000.0, 800_000.0, 990_000.0], n), capital)
    capital[np.nonzero(sel)[0][0]] = np.nan  # empty capital breaks the rule too
    return est, opened, capital, last_insp


def _inspections_overdue(g: State, kind, last_insp, uscc):
    """EMP-INSPECTION-OVERDUE on k base employers (last_insp changed in place)."""
    rng, k = g.rng, g.k
    base_idx = np.nonzero(kind == "base")[0]
    overdue = rng.choice(base_idx, k, replace=False)
    last_insp[overdue] = add_months(np.full(k, g.ref), -12) - days(rng, 3, 200, k)
    last_insp[overdue[0]] = NAT  # coalesce(last, opened) = opened years ago
    g.intended += [("EMP-INSPECTION-OVERDUE", uscc[i]) for i in overdue]
    return overdue


def _employer_names(rng, etype, category, district):
    n = len(etype)
    b1 = np.array(V.BRAND_CHARS)[rng.integers(0, len(V.BRAND_CHARS), n)]
    b2 = np.array(V.BRAND_CHARS)[rng.integers(0, len(V.BRAND_CHARS), n)]
    word = np.empty(n, dtype=object)
    for c, words in V.CATEGORY_WORDS.items():
        sel = category == c
        word[sel] = np.array(words)[rng.integers(0, len(words), sel.sum())]
    suffix = np.where(rng.random(n) < 0.2, "股份有限公司", "有限公司")
    dname = dict((d[0], d[1]) for d in V.DISTRICTS)
    city = np.array(V.HOMETOWNS)[rng.integers(0, len(V.HOMETOWNS), n)]
    serial = rng.integers(1, 100, n).astype(str)
    brand = b1.astype(object) + b2.astype(object)
    name = "北京" + brand + word + suffix
    name = np.where(etype == "public_institution", "北京市" + np.vectorize(dname.get)(district) + brand + "研究所", name)
    name = np.where(etype == "social_organization", "北京" + brand + "协会", name)
    name = np.where(etype == "private_non_enterprise", "北京" + brand + "培训学校", name)
    name = np.where(etype == "foreign_branch", brand + word + "(中国)有限公司北京分公司", name)
    name = np.where(etype == "domestic_branch", city + brand + word + "有限公司北京分公司", name)
    name = np.where(etype == "other", "北京" + brand + "合伙企业(有限合伙)", name)
    # make names unique with a serial where they collide
    dup = pl.Series(name.astype(str)).is_duplicated().to_numpy()
    name = np.where(dup, name + serial + "号", name)
    return np.asarray(name, dtype=str)
