"""The logical (clean, typed) synthetic data set and its deliberate rule defects.

Everything is drawn with one numpy Generator and assembled with numpy/polars,
vectorised over people; only the handful of injected defects are set one by
one. The result is the data the pipeline should *load*: ingest-level defects
(broken rows, duplicates, encodings) are added later by ``writer``.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import polars as pl

from . import vocab as V
from .dates import (D, NAT, add_months, add_working_days, d64, make_date, month_start, sub_working_days,
                    working_days_between, year_of)
from .ids import hex_digests, make_usccs, unique_rics

REFERENCE_DATE = d64("2026-11-16")


@dataclasses.dataclass(frozen=True)
class Scale:
    employers: int
    persons: int
    defects: int  # injected defects per rule id


SCALES = {"demo": Scale(200, 5000, 4), "city": Scale(50_000, 1_000_000, 25)}

HOLDER, CAND, APPL, LEAVER, DEFER = 0, 1, 2, 3, 4
DEG_OFFSET = {"none": 7, "bachelor": 7, "master": 10, "doctor": 14}


def _days(rng, lo, hi, n):
    return rng.integers(lo, hi + 1, n).astype("timedelta64[D]")


def _strs(a) -> pl.Series:
    """A polars String series from a numpy array that may hold None."""
    return pl.Series(np.asarray(a, dtype=object).tolist(), dtype=pl.String)


def _df(cols: dict, schema_overrides=None) -> pl.DataFrame:
    """DataFrame from numpy arrays; object arrays become String, scalars are broadcast."""
    n = next(len(v) for v in cols.values() if hasattr(v, "__len__") and not isinstance(v, str))
    out = {}
    for k, v in cols.items():
        if v is None or isinstance(v, str):
            out[k] = pl.Series([v] * n, dtype=pl.String)
        elif isinstance(v, np.ndarray) and v.dtype == object:
            out[k] = _strs(v)
        else:
            out[k] = v
    return pl.DataFrame(out)


def _pick_s(values, idx) -> pl.Series:
    """values[idx] as a polars String series (a gather: no per-row Python strings)."""
    return pl.Series([str(v) for v in values], dtype=pl.String).gather(pl.Series(np.asarray(idx, dtype=np.uint32)))


def _choice(rng, items, weights, n):
    w = np.asarray(weights, dtype=float)
    return np.asarray(items)[rng.choice(len(items), n, p=w / w.sum())]


class Pool:
    """Unique serial numbers drawn without replacement, handed out in order."""

    def __init__(self, rng, size, n):
        self.values = rng.choice(size, n, replace=False)
        self.pos = 0

    def take(self, n):
        out = self.values[self.pos:self.pos + n]
        self.pos += n
        if len(out) < n:
            raise RuntimeError("serial pool exhausted")
        return out


@dataclasses.dataclass
class Logical:
    reference_date: np.datetime64
    tables: dict[str, pl.DataFrame]
    intended: list[tuple[str, str]]  # (rule_id, entity_key) injected on purpose
    covered: pl.DataFrame | None = None  # (id_number, month) fully covered months, precomputed at city scale
    contributions_parts: list[pl.DataFrame] | None = None


def build(scale: str = "demo", seed: int = 0) -> Logical:
    return _Builder(SCALES[scale], seed).run()


class _Builder:
    def __init__(self, sc: Scale, seed: int):
        self.sc = sc
        self.rng = np.random.default_rng(seed)
        self.ref = REFERENCE_DATE
        self.k = sc.defects
        self.intended: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ employers
    def employers(self):
        rng, k = self.rng, self.k
        nb = self.sc.employers - 5 * k - 2  # base employers; the rest are special ones
        n = self.sc.employers
        kind = np.array(["base"] * nb + ["not_opened"] * k + ["young"] * k + ["lowcap"] * k + ["branch5"] * 2
                        + ["branch_over"] * k + ["spare"] * k)[:n]
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
        category[~np.isin(etype, ["enterprise", "foreign_branch", "domestic_branch"])] = "other"
        ref = self.ref
        est = ref - np.timedelta64(7 * 365, "D") - np.minimum(rng.exponential(8 * 365, n), 28 * 365).astype("timedelta64[D]")
        opened = np.minimum(est + _days(rng, 30, 400, n), ref - np.timedelta64(int(6.5 * 365), "D"))
        capital = np.round(10 ** rng.uniform(6.0, 9.3, n) / 10_000) * 10_000
        capital[:3] = 1_000_000.0  # boundary: exactly the minimum is enough
        last_insp = ref - _days(rng, 5, 330, n)
        # special employers
        sel = kind == "not_opened"
        opened = np.where(sel, NAT, opened)
        last_insp = np.where(sel, NAT, last_insp)
        first_not_opened = np.nonzero(sel)[0][0]
        opened[first_not_opened] = ref - np.timedelta64(6, "D")  # opened after the applicant's d
        last_insp[first_not_opened] = NAT
        sel = kind == "young"
        est = np.where(sel, add_months(np.full(n, ref), -9) - _days(rng, 0, 10, n), est)
        opened = np.where(sel, est + _days(rng, 5, 12, n), opened)
        last_insp = np.where(sel, NAT, last_insp)
        sel = kind == "lowcap"
        capital = np.where(sel, rng.choice([300_000.0, 500_000.0, 800_000.0, 990_000.0], n), capital)
        capital[np.nonzero(sel)[0][0]] = np.nan  # empty capital breaks the rule too
        # employer annual inspections overdue (EMP-INSPECTION-OVERDUE): k base employers
        base_idx = np.nonzero(kind == "base")[0]
        overdue = rng.choice(base_idx, self.k, replace=False)
        last_insp[overdue] = add_months(np.full(self.k, ref), -12) - _days(rng, 3, 200, self.k)
        last_insp[overdue[0]] = NAT  # coalesce(last, opened) = opened years ago
        for i in overdue:
            self.intended.append(("EMP-INSPECTION-OVERDUE", uscc[i]))
        # name changes on a few base enterprises (not the overdue ones, not branches)
        cand = np.setdiff1d(base_idx[np.isin(etype[base_idx], ["enterprise"])], overdue)
        n_ren = max(3, int(0.03 * nb))
        renamed = rng.choice(cand, n_ren, replace=False)
        name_changed = np.full(n, NAT)
        name_changed[renamed] = ref - _days(rng, 60, 540, n_ren)
        self.E = dict(kind=kind, etype=etype, district=district, uscc=uscc, category=category, est=est,
                      opened=opened, capital=capital, last_insp=last_insp, name_changed=name_changed,
                      size=np.exp(rng.normal(0, 1.1, n)), overdue=overdue, renamed=renamed)
        self.E["name"] = self._employer_names(etype, category, district)
        self.n_emp = n

    def _employer_names(self, etype, category, district):
        rng = self.rng
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
        s = pl.Series(name.astype(str))
        dup = s.is_duplicated().to_numpy()
        name = np.where(dup, name + serial + "号", name)
        return np.asarray(name, dtype=str)

    # ------------------------------------------------------------------ persons: roles and scenarios
    SCENARIOS_APPL = ["ELIG-EMPLOYER-NOT-OPENED", "ELIG-EMPLOYER-AGE-1Y", "ELIG-EMPLOYER-CAPITAL", "ELIG-BRANCH-QUOTA",
                      "ELIG-TALENT", "ELIG-TENURE-6M", "ELIG-AGE-LIMIT", "ELIG-RESIDENCE", "ELIG-CONTRIB-6M",
                      "ELIG-WORK-BEFORE-GRAD", "ELIG-WORK-GAP-2M", "ELIG-EDU-NO-HIGH-SCHOOL", "ELIG-ACHIEVEMENT-200",
                      "ELIG-PHOTO"]
    SCENARIOS_HOLDER = ["ELIG-DUP-REGISTRATION", "RENEW-OUTSIDE-WINDOW", "RENEW-CONTRIB-GAP", "RENEW-ACHIEVEMENT-200",
                        "RENEW-CONTRACT-SHORT", "XFER-OLD-NOT-CANCELLED", "REISSUE-PHOTO-MISMATCH", "EXP-LAPSED",
                        "NC-LEFT-NOT-CANCELLED", "NC-CONTRIB-GAP", "NC-INSPECTION-OVERDUE", "NC-NAME-CHANGE-REISSUE",
                        "DQ-DUP-ACTIVE-PERMIT", "DEP-SPOUSE-NO-CERT", "DEP-CHILD16-NO-PROOF", "SLA-15WD",
                        "EMP-BRANCH-QUOTA-HOLDER", "ELIG-BRANCH-QUOTA-HOLDER", "DQ-ID-MISMATCH"]

    def roles(self):
        rng, k, N = self.rng, self.k, self.sc.persons
        scen = []
        for s in self.SCENARIOS_APPL:
            scen += [(s, APPL)] * k
        for s in self.SCENARIOS_HOLDER:
            cnt = k
            if s == "EMP-BRANCH-QUOTA-HOLDER":
                cnt = 7 * k  # 6 or 7 active permits at each of the k over-quota branches
            elif s == "ELIG-BRANCH-QUOTA-HOLDER":
                cnt = 10  # 5 active permits at each of the two branch5 employers
            scen += [(s, HOLDER)] * cnt
        scen += [("XFER-DEFERRAL-EXPIRED", DEFER)] * k
        ns = len(scen)
        nb = N - ns
        base_role = _choice(rng, [HOLDER, CAND, APPL, LEAVER, DEFER], [0.52, 0.30, 0.05, 0.10, 0.03], nb)
        self.role = np.concatenate([base_role, np.array([r for _, r in scen])])
        self.scen = np.array([""] * nb + [s for s, _ in scen], dtype=object)
        self.N = N
        self.nb = nb

    def idx(self, scen):
        return np.nonzero(self.scen == scen)[0]

    # ------------------------------------------------------------------ persons: timeline
    def timeline(self):
        rng, ref, N, E = self.rng, self.ref, self.N, self.E
        role, scen = self.role, self.scen
        kind = E["kind"]
        base_emp = np.nonzero(kind == "base")[0]
        base_nonbranch = base_emp[~np.isin(E["etype"][base_emp], ["foreign_branch", "domestic_branch"])]
        base_branch = base_emp[np.isin(E["etype"][base_emp], ["foreign_branch", "domestic_branch"])]
        w = E["size"][base_nonbranch]
        w = w / w.sum()
        empA = base_nonbranch[rng.choice(len(base_nonbranch), N, p=w)]
        empB = np.full(N, -1)
        wa = E["size"][base_emp] / E["size"][base_emp].sum()
        cand = role == CAND
        empA[cand] = base_emp[rng.choice(len(base_emp), cand.sum(), p=wa)]
        # base branches: at most 4 holders each
        base_holders = np.nonzero((role == HOLDER) & (scen == ""))[0]
        take = rng.integers(0, 5, len(base_branch))
        pick = rng.choice(base_holders, min(take.sum(), len(base_holders) // 4), replace=False)
        empA[pick] = np.repeat(base_branch, take)[:len(pick)]
        # special employers
        for s, ek in [("ELIG-EMPLOYER-NOT-OPENED", "not_opened"), ("ELIG-EMPLOYER-AGE-1Y", "young"),
                      ("ELIG-EMPLOYER-CAPITAL", "lowcap")]:
            empA[self.idx(s)] = np.nonzero(kind == ek)[0][:len(self.idx(s))]
        b5 = np.nonzero(kind == "branch5")[0]
        empA[self.idx("ELIG-BRANCH-QUOTA")] = b5[np.arange(len(self.idx("ELIG-BRANCH-QUOTA"))) % 2]
        empA[self.idx("ELIG-BRANCH-QUOTA-HOLDER")] = np.repeat(b5, 5)
        bo = np.nonzero(kind == "branch_over")[0]
        hb = self.idx("EMP-BRANCH-QUOTA-HOLDER")
        counts = np.where(np.arange(len(bo)) % 2 == 0, 6, 7)
        assign = np.repeat(bo, counts)
        empA[hb[:len(assign)]] = assign
        # leftover over-quota holders (7k - sum(counts)) go to ordinary employers
        # name-change holders sit at renamed employers
        ren = E["renamed"]
        empA[self.idx("NC-NAME-CHANGE-REISSUE")] = ren[np.arange(self.k) % len(ren)]

        male = rng.random(N) < 0.52
        # degrees
        deg = _choice(rng, ["none", "bachelor", "master", "doctor"], [0.08, 0.52, 0.32, 0.08], N)
        deg[cand] = _choice(rng, ["none", "bachelor", "master", "doctor"], [0.25, 0.50, 0.20, 0.05], cand.sum())
        # --- permit / application anchor dates
        issued = np.full(N, NAT)
        renewed = np.zeros(N, bool)
        transferred = np.zeros(N, bool)
        hol = role == HOLDER
        lo = add_months(np.array([ref]), -37)[0] + np.timedelta64(3, "D")
        span = (ref - np.timedelta64(7, "D") - lo).astype(int)
        issued[hol] = lo + rng.integers(0, span, hol.sum()).astype("timedelta64[D]")
        issued = np.where(hol, add_working_days(issued, 0), issued)
        # scenario issue dates
        far = np.isin(scen, self.SCENARIOS_HOLDER) & ~np.isin(scen, ["RENEW-OUTSIDE-WINDOW", "RENEW-CONTRIB-GAP",
                                                                       "RENEW-ACHIEVEMENT-200", "RENEW-CONTRACT-SHORT",
                                                                       "EXP-LAPSED"])
        nf = far.sum()
        issued[far] = add_working_days(add_months(np.full(nf, ref), -rng.integers(14, 30, nf)) - _days(rng, 0, 25, nf), 0)
        for s, lo_d, hi_d in [("RENEW-OUTSIDE-WINDOW", 130, 230), ("RENEW-CONTRIB-GAP", -12, 22),
                              ("RENEW-ACHIEVEMENT-200", -25, 25), ("RENEW-CONTRACT-SHORT", -25, 25),
                              ("EXP-LAPSED", -130, -50)]:
            i = self.idx(s)
            target_exp = ref + _days(rng, lo_d, hi_d, len(i))
            issued[i] = add_months(target_exp + np.timedelta64(1, "D"), -36)
        nn = self.idx("NC-NAME-CHANGE-REISSUE")
        issued[nn] = np.minimum(issued[nn], E["name_changed"][empA[nn]] - _days(rng, 30, 200, len(nn)))
        expires = add_months(issued, 36) - np.timedelta64(1, "D")
        base_h = hol & (scen == "")
        renewed[base_h] = rng.random(base_h.sum()) < 0.35
        transferred[base_h & ~renewed] = rng.random((base_h & ~renewed).sum()) < 0.15
        first_issue = np.where(renewed, add_months(issued, -36), issued)
        # transferred holders: the old permit at A, the current one at B
        tr = np.nonzero(transferred)[0]
        nt = len(tr)
        issued_old = np.full(N, NAT)
        issued_old[tr] = add_working_days(add_months(issued[tr], -rng.integers(10, 30, nt)), 0)
        first_issue[tr] = issued_old[tr]
        leftA = np.full(N, NAT)
        hiredB = np.full(N, NAT)
        leftA[tr] = issued[tr] - _days(rng, 40, 100, nt)
        hiredB[tr] = leftA[tr] + _days(rng, 1, 20, nt)
        empB[tr] = empA[tr]
        empA[tr] = base_emp[rng.choice(len(base_emp), nt, p=wa)]
        empA[tr] = np.where(empA[tr] == empB[tr], base_nonbranch[0] if base_nonbranch[0] != empB[tr][0] else base_nonbranch[1], empA[tr])
        # applications' d
        d_app = np.full(N, NAT)
        ap = role == APPL
        d_app[ap] = ref - _days(rng, 0, 40, ap.sum())
        d_app[self.idx("ELIG-EMPLOYER-NOT-OPENED")] = ref - _days(rng, 10, 30, self.k)
        for s in ("ELIG-CONTRIB-6M",):
            i = self.idx(s)
            d_app[i] = ref - _days(rng, 0, 14, len(i))  # November, so M(d)-2 is September
        # leavers
        lv = np.nonzero(role == LEAVER)[0]
        nl = len(lv)
        issued_L = np.full(N, NAT)
        issued_L[lv] = add_working_days(ref - _days(rng, 150, 1800, nl), 0)
        exp_L = add_months(issued_L, 36) - np.timedelta64(1, "D")
        lo_l = issued_L[lv] + np.timedelta64(60, "D")
        hi_l = np.minimum(exp_L[lv] - np.timedelta64(30, "D"), ref - np.timedelta64(15, "D"))
        leftA[lv] = lo_l + (rng.random(nl) * (hi_l - lo_l).astype(int)).astype("timedelta64[D]")
        emp_b = rng.random(nl) < 0.5
        hiredB[lv[emp_b]] = np.minimum(leftA[lv[emp_b]] + _days(rng, 5, 50, emp_b.sum()), ref - np.timedelta64(1, "D"))
        empB[lv[emp_b]] = base_emp[rng.choice(len(base_emp), emp_b.sum(), p=wa)]
        # deferred cancellations
        df = np.nonzero(role == DEFER)[0]
        ndf = len(df)
        issued_D = np.full(N, NAT)
        issued_D[df] = add_working_days(add_months(np.full(ndf, ref), -rng.integers(8, 30, ndf)), 0)
        expired_def = scen[df] == "XFER-DEFERRAL-EXPIRED"
        leftA[df] = np.where(expired_def, ref - _days(rng, 230, 320, ndf), ref - _days(rng, 20, 140, ndf))
        deferred_on = np.full(N, NAT)
        deferred_on[df] = leftA[df] + _days(rng, 3, 15, ndf)
        # boundary: deferred exactly six months before the reference date is still within the deferral
        edge = df[~expired_def][:2]
        deferred_on[edge] = add_months(np.full(len(edge), ref), -6)
        leftA[edge] = deferred_on[edge] - np.timedelta64(10, "D")
        hiredB[df] = deferred_on[df] + _days(rng, 1, 10, ndf)
        empB[df] = base_nonbranch[rng.choice(len(base_nonbranch), ndf, p=w)]
        # Special holder scenarios with a second employer
        for s in ("XFER-OLD-NOT-CANCELLED", "DQ-DUP-ACTIVE-PERMIT"):
            i = self.idx(s)
            empB[i] = base_nonbranch[rng.choice(len(base_nonbranch), len(i), p=w)]
            empB[i] = np.where(empB[i] == empA[i], base_nonbranch[(np.searchsorted(base_nonbranch, empA[i]) + 1) % len(base_nonbranch)], empB[i])
            hiredB[i] = ref - _days(rng, 200, 400, len(i)) if s == "DQ-DUP-ACTIVE-PERMIT" else ref - _days(rng, 20, 60, len(i))
        # two holders have given notice: left_on after the reference date (not yet a finding)
        notice = np.nonzero((role == HOLDER) & (scen == "") & ~transferred)[0][:2]
        leftA[notice] = ref + _days(rng, 15, 40, len(notice))
        self.notice = notice
        i = self.idx("NC-LEFT-NOT-CANCELLED")
        leftA[i] = ref - _days(rng, 20, 100, len(i))
        hiredB[i] = leftA[i] + _days(rng, 1, 10, len(i))
        empB[i] = base_nonbranch[rng.choice(len(base_nonbranch), len(i), p=w)]
        empB[i] = np.where(empB[i] == empA[i], base_nonbranch[(np.searchsorted(base_nonbranch, empA[i]) + 1) % len(base_nonbranch)], empB[i])
        # --- hire dates at A and work start
        latest = np.full(N, NAT)
        exp_req = np.full(N, NAT)
        latest[hol] = add_months(first_issue[hol], -6) - np.timedelta64(7, "D")
        exp_req[hol] = add_months(first_issue[hol], -24) - np.timedelta64(10, "D")
        dd = np.where(np.isnat(d_app), ref, d_app)
        latest[ap] = add_months(dd[ap], -6) - np.timedelta64(7, "D")
        exp_req[ap] = add_months(dd[ap], -24) - np.timedelta64(10, "D")
        latest[cand] = ref - _days(rng, 30, 1500, cand.sum())
        exp_req[cand] = latest[cand]
        for arr_issued, sel in ((issued_L, role == LEAVER), (issued_D, role == DEFER)):
            latest[sel] = add_months(arr_issued[sel], -6) - np.timedelta64(7, "D")
            exp_req[sel] = add_months(arr_issued[sel], -24) - np.timedelta64(10, "D")
        # young-employer applicants are hired right after the employer was founded
        i = self.idx("ELIG-EMPLOYER-AGE-1Y")
        latest[i] = E["est"][empA[i]] + _days(rng, 5, 15, len(i))
        i = self.idx("ELIG-TENURE-6M")
        latest[i] = add_months(dd[i], -rng.integers(1, 5, len(i)))
        exact6 = np.nonzero((role == APPL) & (scen == ""))[0][5:8]
        latest[exact6] = add_months(dd[exact6], -6)  # boundary: exactly six months of tenure
        tenure_fixed = np.isin(scen, ["ELIG-EMPLOYER-AGE-1Y", "ELIG-TENURE-6M"])
        tenure_fixed[exact6] = True
        hiredA = latest - np.where(tenure_fixed, 0, np.minimum(rng.exponential(700, N), 12 * 365)).astype("timedelta64[D]")
        gap = np.where(rng.random(N) < 0.25, 0, np.minimum(rng.exponential(3 * 365, N), 15 * 365)).astype("timedelta64[D]")
        # scenarios that need prior jobs (work-history gap) get a long prior career
        gap = np.where(np.isin(scen, ["ELIG-WORK-GAP-2M"]), np.timedelta64(3 * 365, "D"), gap)
        # parents of a 16-year-old are old enough to have one
        gap = np.where(scen == "DEP-CHILD16-NO-PROOF", np.timedelta64(16 * 365, "D"), gap)
        ws = np.minimum(hiredA, exp_req) - gap
        # ELIG-TALENT: a young graduate variant (bachelor, < 2 years of experience) and no-degree variants
        i = self.idx("ELIG-TALENT")
        deg[i] = "none"
        deg[i[0]] = "bachelor"
        ws[i[0]] = add_months(np.array([dd[i[0]]]), -20)[0]
        hiredA[i[0]] = add_months(np.array([dd[i[0]]]), -12)[0]
        # career caps from the age limits (women 53, men 58 at the reference date)
        off = np.vectorize(DEG_OFFSET.get)(deg)
        cap = np.where(male, 58, 53)
        career_max = ((cap - 16 - off - 1.3) * 365.25).astype("timedelta64[D]")
        ws = np.maximum(ws, ref - career_max)
        # age-limit scenario: born so that the applicant is over the limit at d
        i = self.idx("ELIG-AGE-LIMIT")
        male[i] = np.arange(len(i)) % 2 == 0
        by_force = np.where(male[i], 2026 - 62, 2026 - 57)
        gy = by_force + 16 + off[i]
        ws[i] = make_date(gy, 7, 1) + _days(rng, 40, 200, len(i))
        hiredA = np.maximum(hiredA, ws)
        # graduation and birth from work start
        g = ws - np.timedelta64(20, "D")
        gy = year_of(g) - (g < make_date(year_of(g), 7, 1))
        grad = make_date(gy, 7, 1)
        hs_start = gy - off
        birth = make_date(hs_start - 16, 1, 1) + rng.integers(0, 365, N).astype("timedelta64[D]")
        # prior Beijing employer for some people with a long prior career
        empP = np.full(N, -1)
        hasP = (rng.random(N) < 0.2) & ((hiredA - ws).astype(int) > 500) & (scen == "")
        empP[hasP] = base_emp[rng.choice(len(base_emp), hasP.sum(), p=wa)]
        clash = hasP & ((empP == empA) | (empP == empB))
        empP[clash] = -1
        hasP = empP >= 0
        self.P = dict(male=male, deg=deg, off=off, issued=issued, expires=expires, renewed=renewed,
                      transferred=transferred, issued_old=issued_old, first_issue=first_issue, empA=empA, empB=empB,
                      empP=empP, hiredA=hiredA, leftA=leftA, hiredB=hiredB, d_app=d_app, issued_L=issued_L,
                      issued_D=issued_D, deferred_on=deferred_on, ws=ws, grad=grad, hs_start=hs_start, birth=birth)

    # ------------------------------------------------------------------ persons table
    def persons(self):
        rng, N, P, ref = self.rng, self.N, self.P, self.ref
        role, scen = self.role, self.scen
        area = _choice(rng, [a for a, _ in V.AREA_CODES], [w for _, w in V.AREA_CODES], N)
        ids, codes = unique_rics(rng, area, P["birth"], P["male"])
        P["codes"] = codes
        sur = _choice(rng, [s for s, _ in V.SURNAMES], [w for _, w in V.SURNAMES], N)
        names = self._given(sur, P["male"])
        P["sur"] = sur
        career_years = (ref - P["ws"]).astype(int) / 365.25
        title = _choice(rng, ["none", "junior", "intermediate", "associate_senior", "senior"], [0.45, 0.25, 0.22, 0.07, 0.01], N)
        title = np.where((career_years < 3) & np.isin(title, ["associate_senior", "senior"]), "intermediate", title)
        need_title = (P["deg"] == "none") & (role != CAND)
        title[need_title] = _choice(rng, ["intermediate", "associate_senior"], [0.8, 0.2], need_title.sum())
        i = self.idx("ELIG-TALENT")
        title[i] = np.where(np.arange(len(i)) % 2 == 0, "none", "junior")
        tname = np.full(N, None, dtype=object)
        for lvl, names_l in V.TITLE_NAMES.items():
            sel = title == lvl
            tname[sel] = np.array(names_l)[rng.integers(0, len(names_l), sel.sum())]
        special = (rng.random(N) < 0.01) & (role == CAND)
        study = _choice(rng, [m for m, _ in V.STUDY_MODES], [0.86, 0.06, 0.03, 0.03, 0.02], N)
        study = np.where(P["deg"] == "none", None, study).astype(object)
        wsd = P["ws"].copy()
        i = self.idx("ELIG-WORK-BEFORE-GRAD")
        study[i] = "full_time"
        P["deg"][i] = np.where(P["deg"][i] == "none", "bachelor", P["deg"][i])
        wsd[i] = P["grad"][i] - _days(rng, 0, 90, len(i))  # internship counted as work: on or before graduation
        P["ws_reported"] = wsd
        dname = [d[1] for d in V.DISTRICTS[:16]]
        addr = pl.select(pl.concat_str([
            pl.lit("北京市"), _pick_s(dname, rng.integers(0, 16, N)), _pick_s(V.STREETS, rng.integers(0, len(V.STREETS), N)),
            pl.Series(rng.integers(1, 300, N)).cast(pl.String), pl.lit("号院"),
            pl.Series(rng.integers(1, 30, N)).cast(pl.String), pl.lit("号楼")])).to_series()
        housing = _choice(rng, ["owned", "rented", "public_rented", "lodging"], [0.32, 0.55, 0.04, 0.09], N).astype(object)
        proof = np.ones(N, bool)
        cand = role == CAND
        housing[cand & (rng.random(N) < 0.1)] = "none"
        proof[cand & (rng.random(N) < 0.1)] = False
        i = self.idx("ELIG-RESIDENCE")
        housing[i] = np.array(["none", None, "rented", "owned"] * self.k, dtype=object)[:len(i)]
        proof[i] = np.array([True, True, False, False] * self.k)[:len(i)]
        # achievements: paragraphs of 8-10 sentences (>= 200 characters)
        sents = np.array(V.ACHIEVEMENT_SENTENCES, dtype=object)
        n_par = 400
        par = []
        prng = np.random.default_rng(rng.integers(1 << 30))
        for _ in range(n_par):
            par.append("".join(prng.permutation(sents)[:8]))
        short = "负责项目研发与交付。" * 19  # 190 characters
        extra = ["负责日常工作。", short, "参与 软件 开发 " * 10, None, short + "\u3000" * 5 + "完成九项",
                 "负责项目研发与交付。 \u3000" * 20]  # the last: exactly 200 characters without whitespace
        ach_idx = rng.integers(0, n_par, N)
        ach_idx[cand & (rng.random(N) < 0.15)] = n_par
        for j, p in enumerate(np.concatenate([self.idx("ELIG-ACHIEVEMENT-200"), self.idx("RENEW-ACHIEVEMENT-200")])):
            ach_idx[p] = n_par + 1 + j % 4
        ach = pl.Series(par + extra, dtype=pl.String).gather(pl.Series(ach_idx.astype(np.uint32)))
        fmt = _choice(rng, ["jpg", "jpeg", "JPG"], [0.8, 0.15, 0.05], N).astype(object)
        pbytes = rng.integers(25_000, 200_000, N).astype(float)
        pw = _choice(rng, [358, 295, 390], [0.7, 0.2, 0.1], N).astype(float)
        ph = np.where(pw == 358, 441, np.where(pw == 295, 413, 567)).astype(float)
        # boundary values that still pass (exact limits) on a few clean applicants
        clean_ap = np.nonzero((role == APPL) & (scen == ""))[0]
        pbytes[clean_ap[:2]], pw[clean_ap[:2]], ph[clean_ap[:2]] = 204_800, 295, 413
        ach_idx[clean_ap[2:5]] = n_par + 5
        i = self.idx("ELIG-PHOTO")
        for j, p in enumerate(i):
            v = j % 4
            if v == 0:
                fmt[p] = "png"
            elif v == 1:
                pbytes[p] = 250_000
            elif v == 2:
                pw[p], ph[p] = 280, 400
            else:
                fmt[p], pbytes[p], pw[p], ph[p] = None, np.nan, np.nan, np.nan
        sha = hex_digests(rng, N)
        self.P.update(ids=ids, area=area, sha=sha, name=names, ach=ach)
        gender = np.where(P["male"], "M", "F").astype(object)
        self.persons_df = _df({
            "id_number": ids, "name": names, "gender": gender, "birth_date": P["birth"],
            "highest_degree": P["deg"], "degree_study_mode": study, "graduation_date": np.where(P["deg"] == "none", P["grad"], P["grad"]),
            "title_level": title, "title_name": tname, "special_talent": special, "work_start_date": wsd,
            "residence_address": addr, "housing_type": housing, "housing_proof": proof, "achievements": ach,
            "photo_format": fmt, "photo_bytes": pbytes, "photo_width": pw, "photo_height": ph, "photo_sha256": sha,
        }).with_columns(pl.col("photo_bytes", "photo_width", "photo_height").fill_nan(None).cast(pl.Int64))

    def _given(self, sur, male):
        rng = self.rng
        n = len(sur)
        m1 = np.array(V.GIVEN_MALE)[rng.integers(0, len(V.GIVEN_MALE), n)]
        f1 = np.array(V.GIVEN_FEMALE)[rng.integers(0, len(V.GIVEN_FEMALE), n)]
        a1 = np.array(V.GIVEN_ANY)[rng.integers(0, len(V.GIVEN_ANY), n)]
        first = np.where(male, m1, f1)
        two = rng.random(n) < 0.7
        mid = np.where(rng.random(n) < 0.5, a1, np.where(male, np.array(V.GIVEN_MALE)[rng.integers(0, len(V.GIVEN_MALE), n)],
                                                           np.array(V.GIVEN_FEMALE)[rng.integers(0, len(V.GIVEN_FEMALE), n)]))
        return np.asarray(sur.astype(object) + np.where(two, mid.astype(object) + first, first.astype(object)), dtype=str)

    # ------------------------------------------------------------------ employments, work and education history
    def employments(self):
        rng, P, E, ref, N = self.rng, self.P, self.E, self.ref, self.N
        ids, uscc = P["ids"], E["uscc"]

        def contract_end(hired, n, left=None):
            open_ended = rng.random(n) < 0.3
            yrs = rng.choice([3, 5], n)
            ce = add_months(hired, 12 * yrs) - np.timedelta64(1, "D")
            target = add_months(np.full(n, ref), 8)
            for _ in range(12):
                ce = np.where(ce < target, add_months(ce + np.timedelta64(1, "D"), 12 * yrs) - np.timedelta64(1, "D"), ce)
            if left is not None:
                ce = np.where(np.isnat(left), ce, np.maximum(left, hired + np.timedelta64(30, "D")))
            return np.where(open_ended & (left is None or True), NAT, ce) if left is None else np.where(open_ended & np.isnat(left), NAT, ce)

        empA, empB, empP = P["empA"], P["empB"], P["empP"]
        hasA = np.ones(N, bool)
        rows = []
        ce_A = contract_end(P["hiredA"], N, P["leftA"])
        i = self.idx("RENEW-CONTRACT-SHORT")
        dd = self.renew_d[i]
        ce_A[i] = dd + _days(rng, 20, 150, len(i))
        self.contract_end_A = ce_A
        rows.append(_df({"p": np.arange(N)[hasA], "e": empA[hasA], "hired_on": P["hiredA"][hasA],
                                  "contract_end_on": ce_A[hasA], "left_on": P["leftA"][hasA]}))
        hb = empB >= 0
        rows.append(_df({"p": np.arange(N)[hb], "e": empB[hb], "hired_on": P["hiredB"][hb],
                                  "contract_end_on": contract_end(P["hiredB"][hb], hb.sum()), "left_on": np.full(hb.sum(), NAT)}))
        # two holders were employed by the same employer once before (a left row and a current row)
        P_ = self.P
        re_ = np.nonzero((self.role == HOLDER) & (self.scen == "") & ~P_["transferred"] & np.isnat(P_["leftA"])
                         & ((P_["hiredA"] - P_["ws"]).astype(int) > 4 * 365))[0][:2]
        rows.append(_df({"p": re_, "e": empA[re_], "hired_on": P_["hiredA"][re_] - np.timedelta64(3 * 365, "D"),
                         "contract_end_on": P_["hiredA"][re_] - np.timedelta64(2 * 365, "D"),
                         "left_on": P_["hiredA"][re_] - np.timedelta64(2 * 365, "D")}))
        self.emp_rows = rows
        # work history: prior jobs between work start and the first Beijing hire
        hp = empP >= 0
        first_hire = P["hiredA"].copy()
        span = (first_hire - P["ws"]).astype(int)
        nj = np.where(span <= 0, 0, 1 + (span > 730) + (span > 1800) * (rng.random(N) < 0.6))
        i = self.idx("ELIG-WORK-GAP-2M")
        nj[i] = np.maximum(nj[i], 2)
        maxj = 3
        cuts = np.sort(rng.random((N, maxj - 1)), axis=1)
        starts = np.zeros((N, maxj), dtype="datetime64[D]")
        ends = np.zeros((N, maxj), dtype="datetime64[D]")
        ws_rep = P["ws_reported"]
        for j in range(maxj):
            # boundaries: job j covers [b_j, b_{j+1} - 1] with b_0 = ws, b_nj = first_hire
            frac_lo = np.where(j == 0, 0.0, cuts[:, min(j - 1, maxj - 2)] if j > 0 else 0.0)
            frac_hi = np.where(j + 1 >= nj, 1.0, cuts[:, min(j, maxj - 2)])
            frac_lo = np.where(j >= nj, 1.0, frac_lo)
            lo_d = P["ws"] + (frac_lo * span).astype("timedelta64[D]")
            hi_d = P["ws"] + (frac_hi * span).astype("timedelta64[D]") - np.timedelta64(1, "D")
            if j > 0:
                lo_d = lo_d + np.minimum(rng.integers(0, 21, N), np.maximum((hi_d - lo_d).astype(int) // 2, 0)).astype("timedelta64[D]")
            else:
                lo_d = np.where(nj > 0, ws_rep, lo_d)
            starts[:, j] = lo_d
            ends[:, j] = hi_d
        pj = np.repeat(np.arange(N), nj)
        # index of the job within its person (pj is sorted by construction)
        jj = np.arange(len(pj)) - np.repeat(np.cumsum(nj) - nj, nj)
        w_start, w_end = starts[pj, jj], ends[pj, jj]
        # drop degenerate jobs (two cut points on the same day): each row keeps a start of its own
        valid = w_end >= w_start
        pj, jj, w_start, w_end = pj[valid], jj[valid], w_start[valid], w_end[valid]
        # the last prior job of people with a previous Beijing employer is that employer
        is_P = hp[pj] & (jj == nj[pj] - 1)
        n_pj = len(pj)
        org = pl.select(pl.concat_str([
            _pick_s(V.HOMETOWNS, rng.integers(0, len(V.HOMETOWNS), n_pj)),
            _pick_s(V.BRAND_CHARS, rng.integers(0, len(V.BRAND_CHARS), n_pj)),
            _pick_s(V.BRAND_CHARS, rng.integers(0, len(V.BRAND_CHARS), n_pj)),
            _pick_s(["科技有限公司", "信息技术有限公司", "商贸有限公司", "建设集团有限公司", "设计院"], rng.integers(0, 5, n_pj))])).to_series()
        ename = pl.Series(E["name"].tolist(), dtype=pl.String)
        org = pl.select(pl.when(pl.Series(is_P)).then(ename.gather(pl.Series(np.maximum(empP[pj], 0).astype(np.uint32))))
                        .otherwise(org)).to_series()
        # ELIG-WORK-GAP-2M: cut the end of the job before the last one short (> 2 months gap)
        gap_people = self.idx("ELIG-WORK-GAP-2M")
        self.no_work_rows = gap_people[:1]
        sel = np.isin(pj, gap_people[1:]) & (jj == nj[pj] - 1)
        w_end = np.where(sel, np.maximum(w_start, w_end - np.timedelta64(100, "D")), w_end)
        w_end = np.maximum(w_end, w_start)  # very short jobs: at least one day
        # explained gaps (待业在家 ...) and boundary gaps of exactly two months, on clean applicants
        last_prior = (jj == nj[pj] - 1) & ~is_P & (self.scen[pj] == "") & (self.role[pj] == APPL)
        cand_rows = np.nonzero(last_prior & ((w_end - w_start).astype(int) > 200))[0]
        expl = cand_rows[rng.random(len(cand_rows)) < 0.3]
        old_end = w_end[expl].copy()
        w_end[expl] = w_end[expl] - _days(rng, 70, 150, len(expl))
        explain = _df({"p": pj[expl], "start_on": w_end[expl] + np.timedelta64(1, "D"), "end_on": old_end,
                       "organization": None, "position": None,
                       "note": np.array(V.GAP_NOTES, dtype=object)[rng.integers(0, len(V.GAP_NOTES), len(expl))]})
        rest = np.setdiff1d(cand_rows, expl)[:3]
        h = P["hiredA"][pj[rest]]
        e2 = add_months(h, -2)
        ok = add_months(e2, 2) == h
        w_end[rest[ok]] = np.maximum(e2[ok], w_start[rest[ok]])
        prior = _df({"p": pj, "start_on": w_start, "end_on": w_end, "organization": org,
                              "position": np.array(V.POSITIONS)[rng.integers(0, len(V.POSITIONS), len(pj))], "note": None})
        prior = pl.concat([prior, explain.select(prior.columns)], how="vertical_relaxed")
        # previous Beijing employments (left)
        pP = pj[is_P]
        rows.append(_df({"p": pP, "e": empP[pP], "hired_on": w_start[is_P],
                                  "contract_end_on": w_end[is_P], "left_on": w_end[is_P]}))
        cur_rows = [_df({"p": np.arange(N), "start_on": P["hiredA"], "end_on": P["leftA"],
                                  "organization": ename.gather(pl.Series(empA.astype(np.uint32))), "position": np.array(V.POSITIONS)[rng.integers(0, len(V.POSITIONS), N)],
                                  "note": None})]
        cur_rows.append(_df({"p": np.arange(N)[hb], "start_on": P["hiredB"][hb], "end_on": np.full(hb.sum(), NAT),
                                      "organization": ename.gather(pl.Series(empB[hb].astype(np.uint32))),
                                      "position": np.array(V.POSITIONS)[rng.integers(0, len(V.POSITIONS), hb.sum())], "note": None}))
        wh = pl.concat([prior] + cur_rows).filter(~pl.col("p").is_in(self.no_work_rows.tolist()))
        # first row starts on the reported work start date for people without prior jobs
        self.work_df = wh
        self.emp_df = pl.concat(rows)
        # education
        deg, hs = P["deg"], P["hs_start"]
        lv_rows = []
        none = deg == "none"
        voc = none & (rng.random(N) < 0.25)
        hs_end = np.where(none, hs + 4, hs + 3)
        note = np.where(none & ~voc, "复读", None).astype(object)
        school_hs = np.array(V.HOMETOWNS)[rng.integers(0, len(V.HOMETOWNS), N)].astype(object) + np.array(V.HIGH_SCHOOLS)[rng.integers(0, len(V.HIGH_SCHOOLS), N)].astype(object)
        school_voc = np.array(V.HOMETOWNS)[rng.integers(0, len(V.HOMETOWNS), N)].astype(object) + np.array(V.VOC_SCHOOLS)[rng.integers(0, len(V.VOC_SCHOOLS), N)].astype(object)
        lv_rows.append(_df({"p": np.arange(N), "start_on": make_date(hs, 9, 1), "end_on": make_date(hs_end, 7, 1),
                                     "school": np.where(voc, school_voc, school_hs), "level": np.where(voc, "secondary_vocational", "high_school"),
                                     "study_mode": "full_time", "note": note}))
        uni = np.array(V.SCHOOLS)
        for lvl, lo_off, hi_off, sel in (("junior_college", 4, 7, none), ("bachelor", 3, 7, ~none),
                                         ("master", 7, 10, np.isin(deg, ["master", "doctor"])),
                                         ("doctor", 10, 14, deg == "doctor")):
            ii = np.nonzero(sel)[0]
            last = (lvl == "junior_college") | (lvl == deg[ii])
            mode = np.where(last & (deg[ii] != "none"), self.persons_df["degree_study_mode"].to_numpy()[ii], "full_time")
            sch = np.where(lvl == "junior_college", school_voc[ii], uni[rng.integers(0, len(uni), len(ii))].astype(object))
            lv_rows.append(_df({"p": ii, "start_on": make_date(hs[ii] + lo_off, 9, 1), "end_on": make_date(hs[ii] + hi_off, 7, 1),
                                         "school": sch, "level": lvl, "study_mode": mode, "note": None}))
        edu = pl.concat(lv_rows, how="vertical_relaxed")
        i = self.idx("ELIG-EDU-NO-HIGH-SCHOOL")
        edu = edu.filter(~(pl.col("p").is_in(i[1:].tolist()) & pl.col("level").is_in(["high_school", "secondary_vocational"])))
        edu = edu.filter(~pl.col("p").is_in(i[:1].tolist()))
        self.edu_df = edu

    # ------------------------------------------------------------------ permits and applications
    def permits_and_apps(self):
        rng, P, E, ref, N, k = self.rng, self.P, self.E, self.ref, self.N, self.k
        role, scen = self.role, self.scen
        npermits_est = int(N * 1.6) + 100
        pool = Pool(rng, 10_000_000, npermits_est)
        app_pool = Pool(rng, 100_000_000, int(N * 2.5) + 100)
        permits, apps = [], []

        def mk_permit(p, e, issued, expires, status, cancelled=None, deferred=None, last_insp=None, sha=None):
            n = len(p)
            no = np.char.add(np.char.add("BJ", year_of(issued).astype(str)), np.char.zfill(pool.take(n).astype(str), 7))
            permits.append(_df({
                "permit_no": no, "p": p, "e": e, "issued_on": issued, "expires_on": expires, "status": status,
                "cancelled_on": np.full(n, NAT) if cancelled is None else cancelled,
                "deferred_on": np.full(n, NAT) if deferred is None else deferred,
                "last_inspection_on": np.full(n, NAT) if last_insp is None else last_insp,
                "photo_sha256": P["sha"][p] if sha is None else sha}))
            return no

        def mk_app(p, e, typ, status, submitted, emp_sub, window, decided, permit_no=None, reason=None, sha=None):
            n = len(p)
            yr = year_of(np.where(np.isnat(submitted), ref, submitted))
            aid = np.char.add(np.char.add("SQ", yr.astype(str)), np.char.zfill(app_pool.take(n).astype(str), 8))
            apps.append(_df({
                "application_id": aid, "type": _strs(np.broadcast_to(np.asarray(typ, dtype=object), (n,))), "p": p, "e": e,
                "permit_no": _strs(np.full(n, None, dtype=object) if permit_no is None else permit_no),
                "submitted_on": submitted, "employer_submitted_on": emp_sub, "window_submitted_on": window,
                "decided_on": decided, "status": _strs(np.broadcast_to(np.asarray(status, dtype=object), (n,))),
                "return_reason": _strs(np.full(n, None, dtype=object) if reason is None else reason),
                "photo_sha256": P["sha"][p] if sha is None else sha}))
            return aid

        def closed(decided, n_wd_lo=2, n_wd_hi=15):
            n = len(decided)
            window = sub_working_days(decided, rng.integers(n_wd_lo, n_wd_hi + 1, n))
            emp_sub = window - _days(rng, 0, 7, n)
            sub = emp_sub - _days(rng, 0, 10, n)
            return sub, emp_sub, window, decided

        def open_dates(sub_d, statuses, keep_sub=False):
            n = len(sub_d)
            statuses = np.asarray(statuses, dtype=object)
            sub = sub_d.copy()
            if not keep_sub:
                sub = np.where((statuses == "draft") & (rng.random(n) < 0.5) & (sub_d == ref), NAT, sub)
            emp_sub = np.where(np.isin(statuses, ["employer_submitted", "under_review", "returned"]),
                               np.minimum(sub_d + _days(rng, 0, 3, n), ref), NAT)
            window = np.where(np.isin(statuses, ["under_review", "returned"]),
                              np.maximum(add_working_days(emp_sub, 0), sub_working_days(np.full(n, ref), rng.integers(1, 11, n))), NAT)
            window = np.where(window > ref, sub_working_days(np.full(n, ref), 1), window)
            window = np.where(np.isnat(window), NAT, np.maximum(window, np.where(np.isnat(emp_sub), window, emp_sub)))
            decided = np.where(statuses == "returned", np.minimum(add_working_days(window, rng.integers(1, 6, n)), ref), NAT)
            reason = np.where(statuses == "returned", np.array(V.RETURN_REASONS)[rng.integers(0, len(V.RETURN_REASONS), n)], None)
            return sub, emp_sub, window, decided, reason

        def open_status(n):
            return _choice(rng, V.OPEN_STATUSES, [0.2, 0.25, 0.2, 0.25, 0.1], n)

        def last_inspection(issued, n):
            li = add_working_days(ref - _days(rng, 10, 330, n), 0)
            return np.where(li <= issued, NAT, li)

        hol = np.nonzero(role == HOLDER)[0]
        cur_emp = np.where(P["transferred"][hol], P["empB"][hol], P["empA"][hol])
        issued, expires = P["issued"][hol], P["expires"][hol]
        li = last_inspection(issued, len(hol))
        sc_h = scen[hol]
        # boundary: inspected exactly twelve months ago is not overdue
        edge = np.nonzero((sc_h == "") & (issued < add_months(np.full(len(hol), ref), -13)))[0][:3]
        li[edge] = add_months(np.full(len(edge), ref), -12)
        nc_insp = sc_h == "NC-INSPECTION-OVERDUE"
        li[nc_insp] = np.where(np.arange(nc_insp.sum()) % 3 == 0, NAT, add_months(np.full(nc_insp.sum(), ref), -12) - _days(rng, 5, 90, nc_insp.sum()))
        issued[nc_insp] = np.minimum(issued[nc_insp], add_months(np.full(nc_insp.sum(), ref), -14))
        expires[nc_insp] = add_months(issued[nc_insp], 36) - np.timedelta64(1, "D")
        P["issued"][hol], P["expires"][hol] = issued, expires
        cur_no = mk_permit(hol, cur_emp, issued, expires, "active", last_insp=li)
        self.cur_permit = dict(zip(hol.tolist(), cur_no.tolist()))
        # the application each current permit came from
        dec = add_working_days(issued - _days(rng, 2, 8, len(hol)), 0)
        dec = np.minimum(dec, issued)
        sub, es, win, dec = closed(dec)
        sla = sc_h == "SLA-15WD"
        typ = np.where(P["renewed"][hol], "renewal", np.where(P["transferred"][hol], "employer_change", "new")).astype(object)
        # renewed: the previous permit, expired
        rn = P["renewed"][hol]
        prev_issued = add_months(issued[rn], -36)
        prev_no = mk_permit(hol[rn], cur_emp[rn], prev_issued, issued[rn] - np.timedelta64(1, "D"), "expired",
                            sha=hex_digests(rng, rn.sum()))
        # transferred: the old permit at A, cancelled; then deferred cancellation
        tr = P["transferred"][hol]
        ht = hol[tr]
        iold = P["issued_old"][ht]
        canc = P["leftA"][ht] + _days(rng, 1, 10, len(ht))
        old_no = mk_permit(ht, P["empA"][ht], iold, add_months(iold, 36) - np.timedelta64(1, "D"), "cancelled", cancelled=canc,
                           last_insp=np.where(add_months(iold, 12) < canc, add_months(iold, 12), NAT))
        permit_ref = np.full(len(hol), None, dtype=object)
        permit_ref[rn] = prev_no
        permit_ref[tr] = old_no
        mk_app(hol, cur_emp, typ, "approved", sub, es, win, dec, permit_no=permit_ref)
        # cancellations of the old permits (by the old employer) — approved
        s2 = closed(add_working_days(canc, 0))
        mk_app(ht, P["empA"][ht], "cancellation", "approved", *s2, permit_no=old_no)
        # first applications of renewed holders
        s3 = closed(add_working_days(prev_issued - _days(rng, 2, 8, rn.sum()), 0))
        mk_app(hol[rn], cur_emp[rn], "new", "approved", *s3)
        # renewal in hand for base holders in their window (65 %); in-window renewal scenarios
        W0 = add_months(expires, -1)
        W1 = add_months(expires, 1)
        in_win = (W0 <= ref) & (ref <= W1) & (sc_h == "")
        gets = in_win & (rng.random(len(hol)) < 0.65)
        renew_sc = np.isin(sc_h, ["RENEW-CONTRIB-GAP", "RENEW-ACHIEVEMENT-200", "RENEW-CONTRACT-SHORT", "RENEW-OUTSIDE-WINDOW"])
        rsel = gets | renew_sc
        lo = np.maximum(W0[rsel], ref - np.timedelta64(40, "D"))
        lo = np.where(sc_h[rsel] == "RENEW-CONTRIB-GAP", np.maximum(lo, d64("2026-11-01")), lo)
        rd = lo + (rng.random(rsel.sum()) * ((ref - lo).astype(int) + 1)).astype("timedelta64[D]")
        rd = np.minimum(rd, ref)
        ow = sc_h[rsel] == "RENEW-OUTSIDE-WINDOW"
        rd[ow] = ref - _days(rng, 1, 30, ow.sum())
        self.renew_d = np.full(N, NAT)
        self.renew_d[hol[rsel]] = rd
        st = open_status(rsel.sum())
        st[renew_sc[rsel]] = "person_submitted"
        o = [np.array(x, copy=True) for x in open_dates(rd, st, keep_sub=True)]
        # two never-submitted drafts: not "in hand" (no submission on or after W0) -> EXP-WINDOW-OPEN
        dr = np.nonzero(gets[rsel])[0][:2]
        st[dr] = "draft"
        for x in o[:4]:
            x[dr] = NAT
        o[4][dr] = None
        mk_app(hol[rsel], cur_emp[rsel], "renewal", st, o[0], o[1], o[2], o[3], permit_no=cur_no[rsel], reason=o[4])
        # name changes: approved reissues for permits issued before the employer's new name
        nchg = E["name_changed"][cur_emp]
        need = ~np.isnat(nchg) & (issued < nchg) & (sc_h != "NC-NAME-CHANGE-REISSUE")
        d_re = np.minimum(add_working_days(nchg[need] + _days(rng, 10, 60, need.sum()), 0), sub_working_days(np.full(need.sum(), ref), 1))
        mk_app(hol[need], cur_emp[need], "reissue", "approved", *closed(d_re), permit_no=cur_no[need])
        nn = sc_h == "NC-NAME-CHANGE-REISSUE"
        for p in hol[nn]:
            self.intended.append(("NC-NAME-CHANGE-REISSUE", self.cur_permit[p]))
        # one name-change holder has an open (not approved) reissue: still a finding
        nn_i = np.nonzero(nn)[0][:1]
        mk_app(hol[nn_i], cur_emp[nn_i], "reissue", "under_review",
               *open_dates(np.full(len(nn_i), ref - np.timedelta64(5, "D")), ["under_review"])[:4], permit_no=cur_no[nn_i])
        # misc applications of holders (most approved, some open, a few rejected)
        base_h = sc_h == ""
        m = base_h & (rng.random(len(hol)) < 0.25)
        mt = _choice(rng, ["address_change", "dependent_change", "general_change", "history_change", "reissue", "annual_inspection"],
                     [0.3, 0.15, 0.2, 0.15, 0.1, 0.1], m.sum())
        ms = _choice(rng, ["approved", "rejected", "open"], [0.78, 0.05, 0.17], m.sum())
        dec = add_working_days(np.maximum(issued[m] + np.timedelta64(40, "D"), ref - _days(rng, 5, 700, m.sum())), 0)
        dec = np.minimum(dec, sub_working_days(np.full(m.sum(), ref), 1))
        c = closed(dec)
        op = ms == "open"
        ost = open_status(op.sum())
        od = ref - _days(rng, 0, 30, op.sum())
        oo = open_dates(od, ost)
        sub, es, win, dd = [np.array(x, copy=True) for x in c]
        for arr, new in zip((sub, es, win, dd), oo[:4]):
            arr[op] = new
        status = np.where(op, "", ms).astype(object)
        status[op] = ost
        reason = np.where(ms == "rejected", np.array(V.REJECT_REASONS)[rng.integers(0, len(V.REJECT_REASONS), m.sum())], None).astype(object)
        reason[op] = oo[4]
        mk_app(hol[m], cur_emp[m], mt, status, sub, es, win, dd, permit_no=cur_no[m], reason=reason)
        # SLA-15WD: approved later than 15 working days (and one still under review for too long)
        hs = hol[sla]
        dsl = sub_working_days(np.full(len(hs), ref), rng.integers(3, 60, len(hs)))
        w_sl = sub_working_days(dsl, rng.integers(16, 30, len(hs)))
        dsl[0] = NAT
        w_sl[0] = sub_working_days(np.array([ref]), 18)[0]
        aid = mk_app(hs, cur_emp[sla], "address_change", np.where(np.isnat(dsl), "under_review", "approved"),
                     w_sl - np.timedelta64(3, "D"), w_sl - np.timedelta64(1, "D"), w_sl, dsl, permit_no=cur_no[sla])
        self.intended += [("SLA-15WD", a) for a in aid]
        # annual inspections approved on the inspection date
        ai = base_h & ~np.isnat(li) & (rng.random(len(hol)) < 0.5)
        mk_app(hol[ai], cur_emp[ai], "annual_inspection", "approved", *closed(li[ai]), permit_no=cur_no[ai])
        # scenario applications of holders
        for s, typ_s in (("ELIG-DUP-REGISTRATION", "new"), ("REISSUE-PHOTO-MISMATCH", "reissue"),
                         ("XFER-OLD-NOT-CANCELLED", "employer_change")):
            ii = np.nonzero(sc_h == s)[0]
            d = ref - _days(rng, 0, 20, len(ii))
            st = open_status(len(ii))
            o = open_dates(d, st)
            e = cur_emp[ii] if s != "XFER-OLD-NOT-CANCELLED" else P["empB"][hol[ii]]
            sha = P["sha"][hol[ii]] if s != "REISSUE-PHOTO-MISMATCH" else hex_digests(rng, len(ii))
            aid = mk_app(hol[ii], e, typ_s, st, o[0], o[1], o[2], o[3], permit_no=None if typ_s == "new" else cur_no[ii],
                         reason=o[4], sha=sha)
            self.intended += [(s, a) for a in aid]
        for s in ("RENEW-OUTSIDE-WINDOW", "RENEW-CONTRIB-GAP", "RENEW-ACHIEVEMENT-200", "RENEW-CONTRACT-SHORT"):
            pass  # application ids recorded by the evaluator cross-check (renewal apps above)
        # second active permit (DQ-DUP-ACTIVE-PERMIT)
        dup = hol[sc_h == "DQ-DUP-ACTIVE-PERMIT"]
        i2 = add_working_days(P["hiredB"][dup] + _days(rng, 190, 200, len(dup)), 0)
        mk_permit(dup, P["empB"][dup], i2, add_months(i2, 36) - np.timedelta64(1, "D"), "active",
                  last_insp=np.where(add_months(i2, 12) < ref, ref - _days(rng, 5, 100, len(dup)), NAT))
        self.intended += [("DQ-DUP-ACTIVE-PERMIT", P["ids"][p]) for p in dup]
        for s in ("EXP-LAPSED", "NC-LEFT-NOT-CANCELLED", "NC-CONTRIB-GAP", "NC-INSPECTION-OVERDUE"):
            self.intended += [(s, self.cur_permit[p]) for p in hol[sc_h == s]]
        # leavers: permit cancelled by the employer after the person left
        lv = np.nonzero(role == LEAVER)[0]
        iL = P["issued_L"][lv]
        cancL = np.minimum(P["leftA"][lv] + _days(rng, 1, 20, len(lv)), ref - np.timedelta64(1, "D"))
        noL = mk_permit(lv, P["empA"][lv], iL, add_months(iL, 36) - np.timedelta64(1, "D"), "cancelled", cancelled=cancL,
                        last_insp=np.where(add_months(iL, 12) < cancL, add_months(iL, 12) + _days(rng, -30, 0, len(lv)), NAT))
        mk_app(lv, P["empA"][lv], "new", "approved", *closed(add_working_days(iL - _days(rng, 2, 8, len(lv)), 0)))
        mk_app(lv, P["empA"][lv], "cancellation", "approved", *closed(add_working_days(cancL, 0)), permit_no=noL)
        # deferred cancellations
        df = np.nonzero(role == DEFER)[0]
        iD = P["issued_D"][df]
        noD = mk_permit(df, P["empA"][df], iD, add_months(iD, 36) - np.timedelta64(1, "D"), "deferred_cancellation",
                        deferred=P["deferred_on"][df],
                        last_insp=np.where(add_months(iD, 12) < P["leftA"][df], add_months(iD, 12), NAT))
        mk_app(df, P["empA"][df], "new", "approved", *closed(add_working_days(iD - _days(rng, 2, 8, len(df)), 0)))
        mk_app(df, P["empA"][df], "deferred_cancellation", "approved", *closed(add_working_days(P["deferred_on"][df], 0)), permit_no=noD)
        expd = scen[df] == "XFER-DEFERRAL-EXPIRED"
        self.intended += [("XFER-DEFERRAL-EXPIRED", x) for x in noD[expd]]
        ok = ~expd
        dch = np.minimum(P["hiredB"][df[ok]] + _days(rng, 0, 5, ok.sum()), ref)
        st = open_status(ok.sum())
        o = open_dates(dch, st)
        mk_app(df[ok], P["empB"][df[ok]], "employer_change", st, o[0], o[1], o[2], o[3], permit_no=noD[ok], reason=o[4])
        # rejected employer change for one expired deferral (closed: no finding)
        ex = df[expd][:1]
        mk_app(ex, P["empB"][ex], "employer_change", "rejected",
               *closed(add_working_days(P["hiredB"][ex] + np.timedelta64(30, "D"), 0)), permit_no=noD[expd][:1],
               reason=np.array(["不符合申办条件"], dtype=object))
        # applicants: open new applications
        ap = np.nonzero(role == APPL)[0]
        d = P["d_app"][ap]
        st = open_status(len(ap))
        keep = np.isin(scen[ap], ["ELIG-EMPLOYER-NOT-OPENED", "ELIG-CONTRIB-6M"])
        st[keep & (st == "draft")] = "person_submitted"
        o = open_dates(d, st)
        aid = mk_app(ap, P["empA"][ap], "new", st, o[0], o[1], o[2], o[3], reason=o[4])
        for s in self.SCENARIOS_APPL:
            self.intended += [(s, a) for a, sc_ in zip(aid, scen[ap]) if sc_ == s]
        self.app_d_of_applicant = dict(zip(ap.tolist(), np.where(np.isnat(o[0]), ref, o[0]).tolist()))
        # candidates: some rejected new applications in the past
        cd = np.nonzero((role == CAND) & (rng.random(N) < 0.06))[0]
        cdec = add_working_days(ref - _days(rng, 30, 600, len(cd)), 0)
        mk_app(cd, P["empA"][cd], "new", "rejected", *closed(cdec),
               reason=np.array(V.REJECT_REASONS, dtype=object)[rng.integers(0, len(V.REJECT_REASONS), len(cd))])
        self.permits_df = pl.concat(permits)
        self.apps_df = pl.concat(apps, how="vertical_relaxed")

    # ------------------------------------------------------------------ contributions
    def contribution_plan(self):
        """Per person: first and last covered month (month index) and withholder switch points."""
        P, ref, N, role = self.P, self.ref, self.N, self.role
        mref = month_start(np.array([ref]))[0]
        m_idx = lambda d: month_start(d).astype("datetime64[M]").astype(np.int64)
        ref_m = m_idx(np.array([ref]))[0]
        start = np.maximum(m_idx(P["ws"]), ref_m - 24)
        hol = role == HOLDER
        start[hol] = np.maximum(m_idx(P["ws"][hol]), np.minimum(ref_m - 24, m_idx(P["issued"][hol])))
        employed_now = (P["empB"] >= 0) | np.isnat(P["leftA"])
        end = np.minimum(np.where(employed_now, ref_m - 1, m_idx(np.where(np.isnat(P["leftA"]), ref, P["leftA"]))), ref_m - 1)
        self.c_start, self.c_end = start, end
        # removed (person, month, kind) for injected gaps
        rm = []
        rng = self.rng
        for p in self.idx("ELIG-CONTRIB-6M"):
            dd = self.app_d_of_applicant[int(p)]
            mm = np.datetime64(dd, "M").astype(np.int64) - 2
            rm.append((p, mm, "income_tax"))
        for j, p in enumerate(self.idx("NC-CONTRIB-GAP")):
            rm.append((p, ref_m - 3 - (j % 5), "social_insurance" if j % 2 else "income_tax"))
        for p in self.idx("RENEW-CONTRIB-GAP"):
            # v2: windows end at M(d) - L (L = 2); these renewals are filed in the reference month, so the
            # newest required month is ref - 2 -- also the permit's NC-CONTRIB-GAP window (same length)
            rm.append((p, ref_m - 2, "social_insurance"))
        self.removed = rm

    def contributions(self, persons: np.ndarray | None = None, keep_index: bool = False) -> pl.DataFrame:
        """Contribution rows of the given people (all when None), vectorised."""
        P, E, N = self.P, self.E, self.N
        if persons is None:
            persons = np.arange(N)
        rng = np.random.default_rng([int(persons[0]) if len(persons) else 0, 77, self.seed_int])
        n_m = np.maximum(self.c_end[persons] - self.c_start[persons] + 1, 0)
        pp = np.repeat(persons, n_m)
        mm = self.c_start[pp] + (np.arange(len(pp)) - np.repeat(np.cumsum(n_m) - n_m, n_m))
        m_of = lambda d: d.astype("datetime64[M]").astype(np.int64)
        hb = P["empB"][pp] >= 0
        useB = hb & (mm >= m_of(np.where(np.isnat(P["hiredB"][pp]), d64("2100-01-01"), P["hiredB"][pp])))
        useA = ~useB & (mm >= m_of(P["hiredA"][pp]))
        useP = ~useB & ~useA & (P["empP"][pp] >= 0)
        emp = np.where(useB, P["empB"][pp], np.where(useA, P["empA"][pp], np.where(useP, P["empP"][pp], -1)))
        salary = np.exp(rng.normal(9.6, 0.45, len(persons)))
        sal = salary[np.searchsorted(persons, pp)] * rng.uniform(0.95, 1.1, len(pp))
        tax = np.round(np.maximum(0, (sal - 5000 - 3500) * 0.1 - 210), 2)
        tax = np.where(rng.random(len(pp)) < 0.03, 0.0, tax)
        si = np.round(np.clip(sal, 6326, 35283) * 0.105, 2)
        month = (mm.astype("datetime64[M]")).astype(D)
        if not hasattr(self, "_ids_s"):
            self._ids_s = pl.Series(P["ids"])
            self._uscc_s = pl.Series(E["uscc"])
            self._ename_s = pl.Series(E["name"])
        known = emp >= 0
        e_idx = pl.Series(np.maximum(emp, 0).astype(np.uint32))
        base = pl.DataFrame({
            "pi": pp.astype(np.int32), "id_number": self._ids_s.gather(pl.Series(pp.astype(np.uint32))), "month": month,
            "withholder_uscc": self._uscc_s.gather(e_idx), "withholder_name": self._ename_s.gather(e_idx),
            "known": known, "tax": tax, "si": si})
        base = base.with_columns(
            withholder_uscc=pl.when("known").then("withholder_uscc"),
            withholder_name=pl.when("known").then("withholder_name").otherwise(pl.lit("外地单位(京外缴纳)")))
        cols = ["pi", "id_number", "month", "kind", "withholder_uscc", "withholder_name", "amount_cny"]
        df = pl.concat([
            base.with_columns(kind=pl.lit("income_tax"), amount_cny=pl.col("tax")).select(cols),
            base.with_columns(kind=pl.lit("social_insurance"), amount_cny=pl.col("si")).select(cols)])
        lo, hi = (int(persons[0]), int(persons[-1])) if len(persons) else (0, -1)
        rm = [(int(p), np.int64(m).astype("datetime64[M]").astype(D), k) for p, m, k in self.removed if lo <= p <= hi]
        if rm:
            rdf = pl.DataFrame({"pi": np.array([r[0] for r in rm], dtype=np.int32), "month": np.array([r[1] for r in rm], dtype=D),
                                "kind": [r[2] for r in rm]})
            df = df.join(rdf, on=["pi", "month", "kind"], how="anti")
        return df if keep_index else df.drop("pi")

    # ------------------------------------------------------------------ dependents
    def dependents(self):
        rng, P, ref, N, role, scen = self.rng, self.P, self.ref, self.N, self.role, self.scen
        eligible = np.isin(role, [HOLDER, APPL, CAND, LEAVER])
        age = ((ref - P["birth"]).astype(int) / 365.25)
        has_sp = eligible & (age > 27) & (rng.random(N) < 0.35) & (scen == "")
        sp_force = self.idx("DEP-SPOUSE-NO-CERT")
        has_sp[sp_force] = True
        ap_spouse = np.nonzero((role == APPL) & (scen == "") & (age > 27))[0][:1]  # an applicant's spouse, no certificate
        has_sp[ap_spouse] = True
        sp = np.nonzero(has_sp)[0]
        sp_birth = P["birth"][sp] + _days(rng, -1500, 1500, len(sp))
        sp_male = ~P["male"][sp]
        sp_area = _choice(rng, [a for a, _ in V.AREA_CODES], [w for _, w in V.AREA_CODES], len(sp))
        n_ch = np.where(has_sp, rng.choice([0, 1, 1, 2], N), 0)
        ch_force = self.idx("DEP-CHILD16-NO-PROOF")
        n_ch[ch_force] = 1
        ch = np.repeat(np.arange(N), n_ch)
        earliest = P["birth"][ch] + np.timedelta64(int(24 * 365.25), "D")
        span = np.maximum((ref - earliest).astype(int), 1)
        ch_birth = earliest + (rng.random(len(ch)) * np.minimum(span, 22 * 365)).astype("timedelta64[D]")
        force16 = np.isin(ch, ch_force)
        ch_birth[force16] = add_months(np.full(force16.sum(), ref), -12 * 16 - rng.integers(1, 40, force16.sum()))
        ch_birth[np.nonzero(force16)[0][:1]] = add_months(np.array([ref]), -12 * 16)  # 16 exactly on the reference date
        ch_area = np.where(rng.random(len(ch)) < 0.6, 110108, P["area"][ch])
        all_birth = np.concatenate([sp_birth, ch_birth])
        all_area = np.concatenate([sp_area, ch_area])
        all_male = np.concatenate([sp_male, rng.random(len(ch)) < 0.5])
        ids, _ = unique_rics(rng, all_area, all_birth, all_male, taken=P["codes"])
        holder = np.concatenate([sp, ch])
        relation = np.array(["spouse"] * len(sp) + ["child"] * len(ch), dtype=object)
        sur = np.array([s for s, _ in V.SURNAMES])[rng.integers(0, 30, len(sp))]
        names = np.concatenate([self._given(sur, sp_male), self._given(P["sur"][ch], all_male[len(sp):])])
        cert = np.ones(len(holder), bool)
        cert[len(sp):] = False
        proof = np.zeros(len(holder), bool)
        from .dates import age_full_years
        ch_age = age_full_years(ch_birth, ref)
        proof[len(sp):] = (ch_age >= 16) | (rng.random(len(ch)) < 0.3) & (ch_age >= 6)
        sp_def = np.isin(sp, np.concatenate([sp_force, ap_spouse]))
        cert[:len(sp)][sp_def] = False
        proof[len(sp):][force16] = False
        self.intended += [("DEP-SPOUSE-NO-CERT", x) for x in ids[:len(sp)][sp_def]]
        self.intended += [("DEP-CHILD16-NO-PROOF", x) for x in ids[len(sp):][force16]]
        self.dep_df = _df({"p": holder, "id_number": ids, "relation": relation, "name": names,
                                    "marriage_certificate": cert, "student_status_proof": proof})

    # ------------------------------------------------------------------ assemble
    def run(self) -> Logical:
        self.seed_int = int(self.rng.integers(1 << 31))
        self.employers()
        self.roles()
        self.timeline()
        self.persons()
        self.renew_d = np.full(self.N, NAT)
        self.permits_and_apps()  # renewal dates first: contract ends depend on them
        self.employments()
        self.contribution_plan()
        self.dependents()
        P, E = self.P, self.E
        ids, uscc = P["ids"], E["uscc"]
        tables = {}
        tables["employers"] = _df({
            "uscc": uscc, "name": E["name"], "entity_type": E["etype"], "district": E["district"], "established_on": E["est"],
            "registered_capital_cny": E["capital"], "category": E["category"], "account_opened_on": E["opened"],
            "last_annual_inspection_on": E["last_insp"], "name_changed_on": E["name_changed"]}
        ).with_columns(pl.col("registered_capital_cny").fill_nan(None))
        tables["persons"] = self.persons_df
        idmap = _df({"p": np.arange(self.N), "id_number": ids})
        emap = _df({"e": np.arange(self.n_emp), "uscc": uscc})
        tables["employments"] = self.emp_df.join(idmap, on="p").join(emap, on="e").select(
            "id_number", "uscc", "hired_on", "contract_end_on", "left_on").sort("id_number", "hired_on")
        tables["work_history"] = self.work_df.join(idmap, on="p").select(
            "id_number", "start_on", "end_on", "organization", "position", "note").sort("id_number", "start_on")
        tables["education_history"] = self.edu_df.join(idmap, on="p").select(
            "id_number", "start_on", "end_on", "school", "level", "study_mode", "note").sort("id_number", "start_on")
        tables["dependents"] = self.dep_df.join(idmap.rename({"id_number": "holder_id_number"}), on="p").select(
            "holder_id_number", "id_number", "relation", "name", "marriage_certificate", "student_status_proof")
        tables["permits"] = self.permits_df.join(idmap, on="p").join(emap, on="e").select(
            "permit_no", "id_number", "uscc", "issued_on", "expires_on", "status", "cancelled_on", "deferred_on",
            "last_inspection_on", "photo_sha256").sort("permit_no")
        tables["applications"] = self.apps_df.join(idmap, on="p").join(emap, on="e").select(
            "application_id", "type", "id_number", "uscc", "permit_no", "submitted_on", "employer_submitted_on",
            "window_submitted_on", "decided_on", "status", "return_reason", "photo_sha256").sort("application_id")
        for e in np.nonzero(E["kind"] == "branch_over")[0]:
            self.intended.append(("EMP-BRANCH-QUOTA", uscc[e]))
        # intended renewal-application defects (ids known only now)
        apps = tables["applications"]
        for s in ("RENEW-OUTSIDE-WINDOW", "RENEW-CONTRIB-GAP", "RENEW-ACHIEVEMENT-200", "RENEW-CONTRACT-SHORT"):
            people = ids[self.idx(s)]
            sel = apps.filter((pl.col("type") == "renewal") & pl.col("id_number").is_in(people.tolist())
                              & pl.col("status").is_in(V.OPEN_STATUSES))
            self.intended += [(s, a) for a in sel["application_id"].to_list()]
        # v2: the renewal's contribution gap lies in the permit's NC-CONTRIB-GAP window too
        self.intended += [("NC-CONTRIB-GAP", self.cur_permit[p]) for p in self.idx("RENEW-CONTRIB-GAP")]
        return Logical(self.ref, tables, self.intended)
