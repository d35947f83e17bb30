"""Each person's timeline: employers (current A, next B, previous P), permit
anchor dates (issue, renewal, transfer), application dates, leaving and
deferral dates, hire and work-start dates, degree, graduation and birth.
Fills ``g.P`` (person columns); the permit and application rows follow from it
in ``permits.py``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dates import NAT, add_months, add_working_days, make_date, year_of
from .roles import SCENARIOS_HOLDER
from .state import APPL, CAND, DEFER, DEG_OFFSET, HOLDER, LEAVER, State, choice, days


@dataclass
class Employers:
    """Employer numbers people are drawn from, with size weights."""
    base: np.ndarray        # ordinary employers
    nonbranch: np.ndarray   # ordinary employers that are not branches
    w: np.ndarray           # weights over nonbranch
    wa: np.ndarray          # weights over base

    def pick(self, rng, n, branches=True):
        if branches:
            return self.base[rng.choice(len(self.base), n, p=self.wa)]
        return self.nonbranch[rng.choice(len(self.nonbranch), n, p=self.w)]

    def other_than(self, rng, current):
        """A non-branch employer for each person, never the current one."""
        e = self.pick(rng, len(current), branches=False)
        nxt = self.nonbranch[(np.searchsorted(self.nonbranch, current) + 1) % len(self.nonbranch)]
        return np.where(e == current, nxt, e)


def build_timeline(g: State) -> None:
    pool = _employer_a(g)
    _sex_and_degree(g)
    _permit_anchors(g)
    _transfers(g, pool)
    _application_dates(g)
    _leavers(g, pool)
    _deferrals(g, pool)
    _second_employers(g, pool)
    _hire_and_work_start(g)
    _age_limits_and_birth(g)
    _previous_employer(g, pool)


def _employer_a(g: State) -> Employers:
    """The current (first Beijing) employer; scenario people at their special employers."""
    rng, N, E, role, scen = g.rng, g.N, g.E, g.role, g.scen
    kind = E["kind"]
    base_emp = np.nonzero(kind == "base")[0]
    is_branch = np.isin(E["etype"][base_emp], ["foreign_branch", "domestic_branch"])
    base_nonbranch, base_branch = base_emp[~is_branch], base_emp[is_branch]
    w = E["size"][base_nonbranch]
    w = w / w.sum()
    empA = base_nonbranch[rng.choice(len(base_nonbranch), N, p=w)]
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
        empA[g.idx(s)] = np.nonzero(kind == ek)[0][:len(g.idx(s))]
    b5 = np.nonzero(kind == "branch5")[0]
    empA[g.idx("ELIG-BRANCH-QUOTA")] = b5[np.arange(len(g.idx("ELIG-BRANCH-QUOTA"))) % 2]
    empA[g.idx("ELIG-BRANCH-QUOTA-HOLDER")] = np.repeat(b5, 5)
    bo = np.nonzero(kind == "branch_over")[0]
    hb = g.idx("EMP-BRANCH-QUOTA-HOLDER")
    assign = np.repeat(bo, np.where(np.arange(len(bo)) % 2 == 0, 6, 7))
    empA[hb[:len(assign)]] = assign
    # leftover over-quota holders (7k - sum(counts)) stay at ordinary employers;
    # name-change holders sit at renamed employers
    ren = E["renamed"]
    empA[g.idx("NC-NAME-CHANGE-REISSUE")] = ren[np.arange(g.k) % len(ren)]
    g.P.update(empA=empA, empB=np.full(N, -1))
    return Employers(base_emp, base_nonbranch, w, wa)


def _sex_and_degree(g: State) -> None:
    rng, N = g.rng, g.N
    cand = g.role == CAND
    male = rng.random(N) < 0.52
    deg = choice(rng, ["none", "bachelor", "master", "doctor"], [0.08, 0.52, 0.32, 0.08], N)
    deg[cand] = choice(rng, ["none", "bachelor", "master", "doctor"], [0.25, 0.50, 0.20, 0.05], cand.sum())
    g.P.update(male=male, deg=deg)


def _permit_anchors(g: State) -> None:
    """Issue dates of current permits (scenarios: far back, or expiring around the reference date)."""
    rng, ref, N, scen, P = g.rng, g.ref, g.N, g.scen, g.P
    issued = np.full(N, NAT)
    hol = g.role == HOLDER
    lo = add_months(np.array([ref]), -37)[0] + np.timedelta64(3, "D")
    span = (ref - np.timedelta64(7, "D") - lo).astype(int)
    issued[hol] = lo + rng.integers(0, span, hol.sum()).astype("timedelta64[D]")
    issued = np.where(hol, add_working_days(issued, 0), issued)
    near = ["RENEW-OUTSIDE-WINDOW", "RENEW-CONTRIB-GAP", "RENEW-ACHIEVEMENT-200", "RENEW-CONTRACT-SHORT", "EXP-LAPSED"]
    far = np.isin(scen, SCENARIOS_HOLDER) & ~np.isin(scen, near)
    nf = far.sum()
    issued[far] = add_working_days(add_months(np.full(nf, ref), -rng.integers(14, 30, nf)) - days(rng, 0, 25, nf), 0)
    for s, lo_d, hi_d in [("RENEW-OUTSIDE-WINDOW", 130, 230), ("RENEW-CONTRIB-GAP", -12, 22),
                          ("RENEW-ACHIEVEMENT-200", -25, 25), ("RENEW-CONTRACT-SHORT", -25, 25),
                          ("EXP-LAPSED", -130, -50)]:
        i = g.idx(s)
        target_exp = ref + days(rng, lo_d, hi_d, len(i))
        issued[i] = add_months(target_exp + np.timedelta64(1, "D"), -36)
    nn = g.idx("NC-NAME-CHANGE-REISSUE")
    issued[nn] = np.minimum(issued[nn], g.E["name_changed"][P["empA"][nn]] - days(rng, 30, 200, len(nn)))
    P.update(issued=issued, expires=add_months(issued, 36) - np.timedelta64(1, "D"))


def _transfers(g: State, pool: Employers) -> None:
    """Renewed and transferred base holders; the transferred hold their old permit at A, the current at B."""
    rng, N, P = g.rng, g.N, g.P
    issued, empA, empB = P["issued"], P["empA"], P["empB"]
    base_h = (g.role == HOLDER) & (g.scen == "")
    renewed = np.zeros(N, bool)
    transferred = np.zeros(N, bool)
    renewed[base_h] = rng.random(base_h.sum()) < 0.35
    transferred[base_h & ~renewed] = rng.random((base_h & ~renewed).sum()) < 0.15
    first_issue = np.where(renewed, add_months(issued, -36), issued)
    tr = np.nonzero(transferred)[0]
    nt = len(tr)
    issued_old = np.full(N, NAT)
    issued_old[tr] = add_working_days(add_months(issued[tr], -rng.integers(10, 30, nt)), 0)
    first_issue[tr] = issued_old[tr]
    leftA = np.full(N, NAT)
    hiredB = np.full(N, NAT)
    leftA[tr] = issued[tr] - days(rng, 40, 100, nt)
    hiredB[tr] = leftA[tr] + days(rng, 1, 20, nt)
    empB[tr] = empA[tr]
    empA[tr] = pool.pick(rng, nt)
    nb = pool.nonbranch
    empA[tr] = np.where(empA[tr] == empB[tr], nb[0] if nb[0] != empB[tr][0] else nb[1], empA[tr])
    P.update(renewed=renewed, transferred=transferred, issued_old=issued_old, first_issue=first_issue,
             leftA=leftA, hiredB=hiredB)


def _application_dates(g: State) -> None:
    """d of the open new applications."""
    rng, ref = g.rng, g.ref
    d_app = np.full(g.N, NAT)
    ap = g.role == APPL
    d_app[ap] = ref - days(rng, 0, 40, ap.sum())
    d_app[g.idx("ELIG-EMPLOYER-NOT-OPENED")] = ref - days(rng, 10, 30, g.k)
    i = g.idx("ELIG-CONTRIB-6M")
    d_app[i] = ref - days(rng, 0, 14, len(i))  # November, so M(d)-2 is September
    g.P["d_app"] = d_app


def _leavers(g: State, pool: Employers) -> None:
    """Leavers: a permit at A, left A; half of them joined another employer."""
    rng, ref, P = g.rng, g.ref, g.P
    leftA, hiredB, empB = P["leftA"], P["hiredB"], P["empB"]
    lv = np.nonzero(g.role == LEAVER)[0]
    nl = len(lv)
    issued_L = np.full(g.N, NAT)
    issued_L[lv] = add_working_days(ref - days(rng, 150, 1800, nl), 0)
    exp_L = add_months(issued_L, 36) - np.timedelta64(1, "D")
    lo_l = issued_L[lv] + np.timedelta64(60, "D")
    hi_l = np.minimum(exp_L[lv] - np.timedelta64(30, "D"), ref - np.timedelta64(15, "D"))
    leftA[lv] = lo_l + (rng.random(nl) * (hi_l - lo_l).astype(int)).astype("timedelta64[D]")
    emp_b = rng.random(nl) < 0.5
    hiredB[lv[emp_b]] = np.minimum(leftA[lv[emp_b]] + days(rng, 5, 50, emp_b.sum()), ref - np.timedelta64(1, "D"))
    empB[lv[emp_b]] = pool.pick(rng, emp_b.sum())
    P["issued_L"] = issued_L


def _deferrals(g: State, pool: Employers) -> None:
    """Deferred cancellations: left A, deferred, hired by B (expired ones: deferred long ago)."""
    rng, ref, P = g.rng, g.ref, g.P
    leftA, hiredB, empB = P["leftA"], P["hiredB"], P["empB"]
    df = np.nonzero(g.role == DEFER)[0]
    ndf = len(df)
    issued_D = np.full(g.N, NAT)
    issued_D[df] = add_working_days(add_months(np.full(ndf, ref), -rng.integers(8, 30, ndf)), 0)
    expired_def = g.scen[df] == "XFER-DEFERRAL-EXPIRED"
    leftA[df] = np.where(expired_def, ref - days(rng, 230, 320, ndf), ref - days(rng, 20, 140, ndf))
    deferred_on = np.full(g.N, NAT)
    deferred_on[df] = leftA[df] + days(rng, 3, 15, ndf)
    # boundary: deferred exactly six months before the reference date is still within the deferral
    edge = df[~expired_def][:2]
    deferred_on[edge] = add_months(np.full(len(edge), ref), -6)
    leftA[edge] = deferred_on[edge] - np.timedelta64(10, "D")
    hiredB[df] = deferred_on[df] + days(rng, 1, 10, ndf)
    empB[df] = pool.pick(rng, ndf, branches=False)
    P.update(issued_D=issued_D, deferred_on=deferred_on)


def _second_employers(g: State, pool: Employers) -> None:
    """Holder scenarios with a second employer; two holders who gave notice; leavers not cancelled."""
    rng, ref, P = g.rng, g.ref, g.P
    empA, empB, leftA, hiredB = P["empA"], P["empB"], P["leftA"], P["hiredB"]
    for s in ("XFER-OLD-NOT-CANCELLED", "DQ-DUP-ACTIVE-PERMIT"):
        i = g.idx(s)
        empB[i] = pool.other_than(rng, empA[i])
        hiredB[i] = ref - days(rng, 200, 400, len(i)) if s == "DQ-DUP-ACTIVE-PERMIT" else ref - days(rng, 20, 60, len(i))
    # two holders have given notice: left_on after the reference date (not yet a finding)
    notice = np.nonzero((g.role == HOLDER) & (g.scen == "") & ~P["transferred"])[0][:2]
    leftA[notice] = ref + days(rng, 15, 40, len(notice))
    i = g.idx("NC-LEFT-NOT-CANCELLED")
    leftA[i] = ref - days(rng, 20, 100, len(i))
    hiredB[i] = leftA[i] + days(rng, 1, 10, len(i))
    empB[i] = pool.other_than(rng, empA[i])


def _hire_and_work_start(g: State) -> None:
    """Hire dates at A (tenure before the first permit / application) and the work start."""
    rng, ref, N, role, scen, P = g.rng, g.ref, g.N, g.role, g.scen, g.P
    hol, ap, cand = role == HOLDER, role == APPL, role == CAND
    latest = np.full(N, NAT)
    exp_req = np.full(N, NAT)
    latest[hol] = add_months(P["first_issue"][hol], -6) - np.timedelta64(7, "D")
    exp_req[hol] = add_months(P["first_issue"][hol], -24) - np.timedelta64(10, "D")
    dd = np.where(np.isnat(P["d_app"]), ref, P["d_app"])
    latest[ap] = add_months(dd[ap], -6) - np.timedelta64(7, "D")
    exp_req[ap] = add_months(dd[ap], -24) - np.timedelta64(10, "D")
    latest[cand] = ref - days(rng, 30, 1500, cand.sum())
    exp_req[cand] = latest[cand]
    for arr_issued, sel in ((P["issued_L"], role == LEAVER), (P["issued_D"], role == DEFER)):
        latest[sel] = add_months(arr_issued[sel], -6) - np.timedelta64(7, "D")
        exp_req[sel] = add_months(arr_issued[sel], -24) - np.timedelta64(10, "D")
    # young-employer applicants are hired right after the employer was founded
    i = g.idx("ELIG-EMPLOYER-AGE-1Y")
    latest[i] = g.E["est"][P["empA"][i]] + days(rng, 5, 15, len(i))
    i = g.idx("ELIG-TENURE-6M")
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
    i = g.idx("ELIG-TALENT")
    P["deg"][i] = "none"
    P["deg"][i[0]] = "bachelor"
    ws[i[0]] = add_months(np.array([dd[i[0]]]), -20)[0]
    hiredA[i[0]] = add_months(np.array([dd[i[0]]]), -12)[0]
    P.update(hiredA=hiredA, ws=ws)


def _age_limits_and_birth(g: State) -> None:
    """Careers capped by the age limits; the age-limit scenario; graduation and birth from work start."""
    rng, ref, N, P = g.rng, g.ref, g.N, g.P
    male, deg = P["male"], P["deg"]
    # career caps from the age limits (women 53, men 58 at the reference date)
    off = np.vectorize(DEG_OFFSET.get)(deg)
    cap = np.where(male, 58, 53)
    career_max = ((cap - 16 - off - 1.3) * 365.25).astype("timedelta64[D]")
    ws = np.maximum(P["ws"], ref - career_max)
    # age-limit scenario: born so that the applicant is over the limit at d
    i = g.idx("ELIG-AGE-LIMIT")
    male[i] = np.arange(len(i)) % 2 == 0
    by_force = np.where(male[i], 2026 - 62, 2026 - 57)
    gy = by_force + 16 + off[i]
    ws[i] = make_date(gy, 7, 1) + days(rng, 40, 200, len(i))
    hiredA = np.maximum(P["hiredA"], ws)
    # graduation and birth from work start
    gdate = ws - np.timedelta64(20, "D")
    gy = year_of(gdate) - (gdate < make_date(year_of(gdate), 7, 1))
    hs_start = gy - off
    birth = make_date(hs_start - 16, 1, 1) + rng.integers(0, 365, N).astype("timedelta64[D]")
    P.update(off=off, ws=ws, hiredA=hiredA, grad=make_date(gy, 7, 1), hs_start=hs_start, birth=birth)


def _previous_employer(g: State, pool: Employers) -> None:
    """A previous Beijing employer for some people with a long prior career."""
    rng, N, P = g.rng, g.N, g.P
    empP = np.full(N, -1)
    hasP = (rng.random(N) < 0.2) & ((P["hiredA"] - P["ws"]).astype(int) > 500) & (g.scen == "")
    empP[hasP] = pool.pick(rng, hasP.sum())
    clash = hasP & ((empP == P["empA"]) | (empP == P["empB"]))
    empP[clash] = -1
    P["empP"] = empP
