"""Employments, work history and education history of every person, with the
scenarios that live there (RENEW-CONTRACT-SHORT, ELIG-WORK-GAP-2M,
ELIG-EDU-NO-HIGH-SCHOOL) and explained or exactly-two-month gaps on clean
applicants. Sets ``g.frames`` employments / work_history / education_history."""
from __future__ import annotations

import numpy as np
import polars as pl

from . import vocab as V
from .dates import NAT, add_months, make_date
from .state import APPL, HOLDER, State, days, frame, pick_s


def build_history(g: State) -> None:
    rows = _employments(g)
    work, previous = _work_history(g)
    g.frames["work_history"] = work
    g.frames["employments"] = pl.concat(rows + [previous])
    g.frames["education_history"] = _education(g)


def _contract_end(g: State, hired, n, left=None):
    """Contract ends of 3 or 5 years renewed past the reference date + 8 months; 30 % open-ended."""
    rng = g.rng
    open_ended = rng.random(n) < 0.3
    yrs = rng.choice([3, 5], n)
    ce = add_months(hired, 12 * yrs) - np.timedelta64(1, "D")
    target = add_months(np.full(n, g.ref), 8)
    for _ in range(12):
        ce = np.where(ce < target, add_months(ce + np.timedelta64(1, "D"), 12 * yrs) - np.timedelta64(1, "D"), ce)
    if left is None:
        return np.where(open_ended, NAT, ce)
    ce = np.where(np.isnat(left), ce, np.maximum(left, hired + np.timedelta64(30, "D")))
    return np.where(open_ended & np.isnat(left), NAT, ce)


def _employments(g: State) -> list[pl.DataFrame]:
    """Rows at A (all), at B (the next employer), and two earlier stints at the same employer."""
    rng, P, N = g.rng, g.P, g.N
    empA, empB = P["empA"], P["empB"]
    ce_A = _contract_end(g, P["hiredA"], N, P["leftA"])
    i = g.idx("RENEW-CONTRACT-SHORT")
    ce_A[i] = g.renew_d[i] + days(rng, 20, 150, len(i))
    rows = [frame({"p": np.arange(N), "e": empA, "hired_on": P["hiredA"], "contract_end_on": ce_A,
                   "left_on": P["leftA"]})]
    hb = empB >= 0
    rows.append(frame({"p": np.arange(N)[hb], "e": empB[hb], "hired_on": P["hiredB"][hb],
                       "contract_end_on": _contract_end(g, P["hiredB"][hb], hb.sum()), "left_on": np.full(hb.sum(), NAT)}))
    # two holders were employed by the same employer once before (a left row and a current row)
    re_ = np.nonzero((g.role == HOLDER) & (g.scen == "") & ~P["transferred"] & np.isnat(P["leftA"])
                     & ((P["hiredA"] - P["ws"]).astype(int) > 4 * 365))[0][:2]
    rows.append(frame({"p": re_, "e": empA[re_], "hired_on": P["hiredA"][re_] - np.timedelta64(3 * 365, "D"),
                       "contract_end_on": P["hiredA"][re_] - np.timedelta64(2 * 365, "D"),
                       "left_on": P["hiredA"][re_] - np.timedelta64(2 * 365, "D")}))
    return rows


def _prior_jobs(g: State):
    """1-3 prior jobs between the work start and the hire at A: (person, job index, start, end, count)."""
    rng, P, N = g.rng, g.P, g.N
    span = (P["hiredA"] - P["ws"]).astype(int)
    nj = np.where(span <= 0, 0, 1 + (span > 730) + (span > 1800) * (rng.random(N) < 0.6))
    i = g.idx("ELIG-WORK-GAP-2M")
    nj[i] = np.maximum(nj[i], 2)
    maxj = 3
    cuts = np.sort(rng.random((N, maxj - 1)), axis=1)
    starts = np.zeros((N, maxj), dtype="datetime64[D]")
    ends = np.zeros((N, maxj), dtype="datetime64[D]")
    for j in range(maxj):
        # boundaries: job j covers [b_j, b_{j+1} - 1] with b_0 = ws, b_nj = first hire
        frac_lo = np.where(j == 0, 0.0, cuts[:, min(j - 1, maxj - 2)] if j > 0 else 0.0)
        frac_hi = np.where(j + 1 >= nj, 1.0, cuts[:, min(j, maxj - 2)])
        frac_lo = np.where(j >= nj, 1.0, frac_lo)
        lo_d = P["ws"] + (frac_lo * span).astype("timedelta64[D]")
        hi_d = P["ws"] + (frac_hi * span).astype("timedelta64[D]") - np.timedelta64(1, "D")
        if j > 0:
            lo_d = lo_d + np.minimum(rng.integers(0, 21, N), np.maximum((hi_d - lo_d).astype(int) // 2, 0)).astype("timedelta64[D]")
        else:
            lo_d = np.where(nj > 0, P["ws_reported"], lo_d)
        starts[:, j] = lo_d
        ends[:, j] = hi_d
    pj = np.repeat(np.arange(N), nj)
    # index of the job within its person (pj is sorted by construction)
    jj = np.arange(len(pj)) - np.repeat(np.cumsum(nj) - nj, nj)
    w_start, w_end = starts[pj, jj], ends[pj, jj]
    # drop degenerate jobs (two cut points on the same day): each row keeps a start of its own
    valid = w_end >= w_start
    return pj[valid], jj[valid], w_start[valid], w_end[valid], nj


def _work_history(g: State) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(work_history rows, previous Beijing employments); the last prior job of people with a
    previous Beijing employer is that employer."""
    rng, P, E, N = g.rng, g.P, g.E, g.N
    empA, empB, empP = P["empA"], P["empB"], P["empP"]
    pj, jj, w_start, w_end, nj = _prior_jobs(g)
    is_P = (empP >= 0)[pj] & (jj == nj[pj] - 1)
    n_pj = len(pj)
    org = pl.select(pl.concat_str([
        pick_s(V.HOMETOWNS, rng.integers(0, len(V.HOMETOWNS), n_pj)),
        pick_s(V.BRAND_CHARS, rng.integers(0, len(V.BRAND_CHARS), n_pj)),
        pick_s(V.BRAND_CHARS, rng.integers(0, len(V.BRAND_CHARS), n_pj)),
        pick_s(["科技有限公司", "信息技术有限公司", "商贸有限公司", "建设集团有限公司", "设计院"], rng.integers(0, 5, n_pj))])).to_series()
    ename = pl.Series(E["name"].tolist(), dtype=pl.String)
    org = pl.select(pl.when(pl.Series(is_P)).then(ename.gather(pl.Series(np.maximum(empP[pj], 0).astype(np.uint32))))
                    .otherwise(org)).to_series()
    w_end, explain = _gaps(g, pj, jj, nj, is_P, w_start, w_end)
    prior = frame({"p": pj, "start_on": w_start, "end_on": w_end, "organization": org,
                   "position": np.array(V.POSITIONS)[rng.integers(0, len(V.POSITIONS), len(pj))], "note": None})
    prior = pl.concat([prior, explain.select(prior.columns)], how="vertical_relaxed")
    pP = pj[is_P]
    previous = frame({"p": pP, "e": empP[pP], "hired_on": w_start[is_P], "contract_end_on": w_end[is_P],
                      "left_on": w_end[is_P]})
    hb = empB >= 0
    cur_rows = [frame({"p": np.arange(N), "start_on": P["hiredA"], "end_on": P["leftA"],
                       "organization": ename.gather(pl.Series(empA.astype(np.uint32))),
                       "position": np.array(V.POSITIONS)[rng.integers(0, len(V.POSITIONS), N)], "note": None}),
                frame({"p": np.arange(N)[hb], "start_on": P["hiredB"][hb], "end_on": np.full(hb.sum(), NAT),
                       "organization": ename.gather(pl.Series(empB[hb].astype(np.uint32))),
                       "position": np.array(V.POSITIONS)[rng.integers(0, len(V.POSITIONS), hb.sum())], "note": None})]
    # ELIG-WORK-GAP-2M: the first scenario person has no work history rows at all
    no_rows = g.idx("ELIG-WORK-GAP-2M")[:1]
    work = pl.concat([prior] + cur_rows).filter(~pl.col("p").is_in(no_rows.tolist()))
    return work, previous


def _gaps(g: State, pj, jj, nj, is_P, w_start, w_end):
    """ELIG-WORK-GAP-2M gaps (> 2 months), explained gaps (待业在家 ...) and gaps of exactly two months."""
    rng = g.rng
    gap_people = g.idx("ELIG-WORK-GAP-2M")
    sel = np.isin(pj, gap_people[1:]) & (jj == nj[pj] - 1)
    w_end = np.where(sel, np.maximum(w_start, w_end - np.timedelta64(100, "D")), w_end)
    w_end = np.maximum(w_end, w_start)  # very short jobs: at least one day
    last_prior = (jj == nj[pj] - 1) & ~is_P & (g.scen[pj] == "") & (g.role[pj] == APPL)
    cand_rows = np.nonzero(last_prior & ((w_end - w_start).astype(int) > 200))[0]
    expl = cand_rows[rng.random(len(cand_rows)) < 0.3]
    old_end = w_end[expl].copy()
    w_end[expl] = w_end[expl] - days(rng, 70, 150, len(expl))
    explain = frame({"p": pj[expl], "start_on": w_end[expl] + np.timedelta64(1, "D"), "end_on": old_end,
                     "organization": None, "position": None,
                     "note": np.array(V.GAP_NOTES, dtype=object)[rng.integers(0, len(V.GAP_NOTES), len(expl))]})
    rest = np.setdiff1d(cand_rows, expl)[:3]
    h = g.P["hiredA"][pj[rest]]
    e2 = add_months(h, -2)
    ok = add_months(e2, 2) == h
    w_end[rest[ok]] = np.maximum(e2[ok], w_start[rest[ok]])
    return w_end, explain


def _education(g: State) -> pl.DataFrame:
    """High school (or vocational school, sometimes repeated) and the degrees up to the highest one."""
    rng, P, N = g.rng, g.P, g.N
    deg, hs = P["deg"], P["hs_start"]
    none = deg == "none"
    voc = none & (rng.random(N) < 0.25)
    hs_end = np.where(none, hs + 4, hs + 3)
    note = np.where(none & ~voc, "复读", None).astype(object)
    school_hs = np.array(V.HOMETOWNS)[rng.integers(0, len(V.HOMETOWNS), N)].astype(object) + np.array(V.HIGH_SCHOOLS)[rng.integers(0, len(V.HIGH_SCHOOLS), N)].astype(object)
    school_voc = np.array(V.HOMETOWNS)[rng.integers(0, len(V.HOMETOWNS), N)].astype(object) + np.array(V.VOC_SCHOOLS)[rng.integers(0, len(V.VOC_SCHOOLS), N)].astype(object)
    lv_rows = [frame({"p": np.arange(N), "start_on": make_date(hs, 9, 1), "end_on": make_date(hs_end, 7, 1),
                      "school": np.where(voc, school_voc, school_hs), "level": np.where(voc, "secondary_vocational", "high_school"),
                      "study_mode": "full_time", "note": note})]
    uni = np.array(V.SCHOOLS)
    study_mode = g.frames["persons"]["degree_study_mode"].to_numpy()
    for lvl, lo_off, hi_off, sel in (("junior_college", 4, 7, none), ("bachelor", 3, 7, ~none),
                                     ("master", 7, 10, np.isin(deg, ["master", "doctor"])),
                                     ("doctor", 10, 14, deg == "doctor")):
        ii = np.nonzero(sel)[0]
        last = (lvl == "junior_college") | (lvl == deg[ii])
        mode = np.where(last & (deg[ii] != "none"), study_mode[ii], "full_time")
        sch = np.where(lvl == "junior_college", school_voc[ii], uni[rng.integers(0, len(uni), len(ii))].astype(object))
        lv_rows.append(frame({"p": ii, "start_on": make_date(hs[ii] + lo_off, 9, 1), "end_on": make_date(hs[ii] + hi_off, 7, 1),
                              "school": sch, "level": lvl, "study_mode": mode, "note": None}))
    edu = pl.concat(lv_rows, how="vertical_relaxed")
    i = g.idx("ELIG-EDU-NO-HIGH-SCHOOL")
    edu = edu.filter(~(pl.col("p").is_in(i[1:].tolist()) & pl.col("level").is_in(["high_school", "secondary_vocational"])))
    return edu.filter(~pl.col("p").is_in(i[:1].tolist()))
