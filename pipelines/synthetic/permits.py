"""Permit holders' permits and applications: the current permit and the
application it came from, earlier permits (renewed, transferred), renewals in
the window, reissues after a name change, everyday applications, and the holder
scenarios (SLA-15WD, ELIG-DUP-REGISTRATION, REISSUE-PHOTO-MISMATCH,
XFER-OLD-NOT-CANCELLED, DQ-DUP-ACTIVE-PERMIT, EXP-LAPSED, NC-*)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vocab as V
from .dates import NAT, add_months, add_working_days, d64, sub_working_days
from .ids import hex_digests
from .ledger import Ledger
from .roles import SCENARIOS_RENEW
from .state import HOLDER, State, choice, days


@dataclass
class Holders:
    """Current permit holders (person numbers) and their current permit's columns, aligned."""
    p: np.ndarray
    emp: np.ndarray       # employer of the current permit
    issued: np.ndarray
    expires: np.ndarray
    li: np.ndarray        # last inspection
    sc: np.ndarray        # scenario
    no: np.ndarray        # permit number


def build_holder_permits(g: State, L: Ledger) -> None:
    h = _current_permits(g, L)
    _origins(g, L, h)
    _renewals(g, L, h)
    _name_changes(g, L, h)
    _everyday_apps(g, L, h)
    _sla(g, L, h)
    _scenario_apps(g, L, h)
    _second_active_permit(g, L, h)
    for s in ("EXP-LAPSED", "NC-LEFT-NOT-CANCELLED", "NC-CONTRIB-GAP", "NC-INSPECTION-OVERDUE"):
        g.intended += [(s, g.cur_permit[p]) for p in h.p[h.sc == s]]


def _current_permits(g: State, L: Ledger) -> Holders:
    """Active permits with their last inspection (exactly 12 months ago on a few; NC-INSPECTION-OVERDUE)."""
    rng, P, ref = g.rng, g.P, g.ref
    hol = np.nonzero(g.role == HOLDER)[0]
    cur_emp = np.where(P["transferred"][hol], P["empB"][hol], P["empA"][hol])
    issued, expires = P["issued"][hol], P["expires"][hol]
    li = add_working_days(ref - days(rng, 10, 330, len(hol)), 0)
    li = np.where(li <= issued, NAT, li)
    sc_h = g.scen[hol]
    # boundary: inspected exactly twelve months ago is not overdue
    edge = np.nonzero((sc_h == "") & (issued < add_months(np.full(len(hol), ref), -13)))[0][:3]
    li[edge] = add_months(np.full(len(edge), ref), -12)
    nc = sc_h == "NC-INSPECTION-OVERDUE"
    n = nc.sum()
    li[nc] = np.where(np.arange(n) % 3 == 0, NAT, add_months(np.full(n, ref), -12) - days(rng, 5, 90, n))
    issued[nc] = np.minimum(issued[nc], add_months(np.full(n, ref), -14))
    expires[nc] = add_months(issued[nc], 36) - np.timedelta64(1, "D")
    P["issued"][hol], P["expires"][hol] = issued, expires
    cur_no = L.permit(hol, cur_emp, issued, expires, "active", last_insp=li)
    g.cur_permit = dict(zip(hol.tolist(), cur_no.tolist()))
    return Holders(hol, cur_emp, issued, expires, li, sc_h, cur_no)


def _origins(g: State, L: Ledger, h: Holders) -> None:
    """The application each current permit came from; renewed holders' expired permit and first
    application; transferred holders' old permit at A, cancelled by A."""
    rng, P = g.rng, g.P
    dec = add_working_days(h.issued - days(rng, 2, 8, len(h.p)), 0)
    sub, es, win, dec = L.closed(np.minimum(dec, h.issued))
    typ = np.where(P["renewed"][h.p], "renewal", np.where(P["transferred"][h.p], "employer_change", "new")).astype(object)
    rn = P["renewed"][h.p]
    prev_issued = add_months(h.issued[rn], -36)
    prev_no = L.permit(h.p[rn], h.emp[rn], prev_issued, h.issued[rn] - np.timedelta64(1, "D"), "expired",
                       sha=hex_digests(rng, rn.sum()))
    tr = P["transferred"][h.p]
    ht = h.p[tr]
    iold = P["issued_old"][ht]
    canc = P["leftA"][ht] + days(rng, 1, 10, len(ht))
    old_no = L.permit(ht, P["empA"][ht], iold, add_months(iold, 36) - np.timedelta64(1, "D"), "cancelled", cancelled=canc,
                      last_insp=np.where(add_months(iold, 12) < canc, add_months(iold, 12), NAT))
    permit_ref = np.full(len(h.p), None, dtype=object)
    permit_ref[rn] = prev_no
    permit_ref[tr] = old_no
    L.app(h.p, h.emp, typ, "approved", sub, es, win, dec, permit_no=permit_ref)
    L.app(ht, P["empA"][ht], "cancellation", "approved", *L.closed(add_working_days(canc, 0)), permit_no=old_no)
    s3 = L.closed(add_working_days(prev_issued - days(rng, 2, 8, rn.sum()), 0))
    L.app(h.p[rn], h.emp[rn], "new", "approved", *s3)


def _renewals(g: State, L: Ledger, h: Holders) -> None:
    """Renewals in hand for 65 % of base holders in their window, and the renewal scenarios;
    two never-submitted drafts are not "in hand" (EXP-WINDOW-OPEN)."""
    rng, ref = g.rng, g.ref
    W0 = add_months(h.expires, -1)
    W1 = add_months(h.expires, 1)
    in_win = (W0 <= ref) & (ref <= W1) & (h.sc == "")
    gets = in_win & (rng.random(len(h.p)) < 0.65)
    renew_sc = np.isin(h.sc, SCENARIOS_RENEW)
    rsel = gets | renew_sc
    lo = np.maximum(W0[rsel], ref - np.timedelta64(40, "D"))
    lo = np.where(h.sc[rsel] == "RENEW-CONTRIB-GAP", np.maximum(lo, d64("2026-11-01")), lo)
    rd = lo + (rng.random(rsel.sum()) * ((ref - lo).astype(int) + 1)).astype("timedelta64[D]")
    rd = np.minimum(rd, ref)
    ow = h.sc[rsel] == "RENEW-OUTSIDE-WINDOW"
    rd[ow] = ref - days(rng, 1, 30, ow.sum())
    g.renew_d = np.full(g.N, NAT)
    g.renew_d[h.p[rsel]] = rd
    st = L.open_status(rsel.sum())
    st[renew_sc[rsel]] = "person_submitted"
    o = [np.array(x, copy=True) for x in L.open_dates(rd, st, keep_sub=True)]
    dr = np.nonzero(gets[rsel])[0][:2]
    st[dr] = "draft"
    for x in o[:4]:
        x[dr] = NAT
    o[4][dr] = None
    L.app(h.p[rsel], h.emp[rsel], "renewal", st, o[0], o[1], o[2], o[3], permit_no=h.no[rsel], reason=o[4])


def _name_changes(g: State, L: Ledger, h: Holders) -> None:
    """Approved reissues for permits issued before the employer's new name; NC-NAME-CHANGE-REISSUE
    holders have none (one has an open reissue: still a finding)."""
    rng, ref = g.rng, g.ref
    nchg = g.E["name_changed"][h.emp]
    need = ~np.isnat(nchg) & (h.issued < nchg) & (h.sc != "NC-NAME-CHANGE-REISSUE")
    d_re = np.minimum(add_working_days(nchg[need] + days(rng, 10, 60, need.sum()), 0),
                      sub_working_days(np.full(need.sum(), ref), 1))
    L.app(h.p[need], h.emp[need], "reissue", "approved", *L.closed(d_re), permit_no=h.no[need])
    nn = h.sc == "NC-NAME-CHANGE-REISSUE"
    g.intended += [("NC-NAME-CHANGE-REISSUE", g.cur_permit[p]) for p in h.p[nn]]
    nn_i = np.nonzero(nn)[0][:1]
    L.app(h.p[nn_i], h.emp[nn_i], "reissue", "under_review",
          *L.open_dates(np.full(len(nn_i), ref - np.timedelta64(5, "D")), ["under_review"])[:4], permit_no=h.no[nn_i])


def _everyday_apps(g: State, L: Ledger, h: Holders) -> None:
    """Changes, reissues and inspections of a quarter of the base holders (most approved, some open,
    a few rejected); annual inspections approved on the inspection date."""
    rng, ref = g.rng, g.ref
    base_h = h.sc == ""
    m = base_h & (rng.random(len(h.p)) < 0.25)
    mt = choice(rng, ["address_change", "dependent_change", "general_change", "history_change", "reissue", "annual_inspection"],
                [0.3, 0.15, 0.2, 0.15, 0.1, 0.1], m.sum())
    ms = choice(rng, ["approved", "rejected", "open"], [0.78, 0.05, 0.17], m.sum())
    dec = add_working_days(np.maximum(h.issued[m] + np.timedelta64(40, "D"), ref - days(rng, 5, 700, m.sum())), 0)
    dec = np.minimum(dec, sub_working_days(np.full(m.sum(), ref), 1))
    c = L.closed(dec)
    op = ms == "open"
    ost = L.open_status(op.sum())
    oo = L.open_dates(ref - days(rng, 0, 30, op.sum()), ost)
    sub, es, win, dd = [np.array(x, copy=True) for x in c]
    for arr, new in zip((sub, es, win, dd), oo[:4]):
        arr[op] = new
    status = np.where(op, "", ms).astype(object)
    status[op] = ost
    reason = np.where(ms == "rejected", np.array(V.REJECT_REASONS)[rng.integers(0, len(V.REJECT_REASONS), m.sum())], None).astype(object)
    reason[op] = oo[4]
    L.app(h.p[m], h.emp[m], mt, status, sub, es, win, dd, permit_no=h.no[m], reason=reason)


def _sla(g: State, L: Ledger, h: Holders) -> None:
    """SLA-15WD: approved later than 15 working days (one still under review for too long); then
    the base holders' annual inspections."""
    rng, ref = g.rng, g.ref
    sla = h.sc == "SLA-15WD"
    hs = h.p[sla]
    dsl = sub_working_days(np.full(len(hs), ref), rng.integers(3, 60, len(hs)))
    w_sl = sub_working_days(dsl, rng.integers(16, 30, len(hs)))
    dsl[0] = NAT
    w_sl[0] = sub_working_days(np.array([ref]), 18)[0]
    aid = L.app(hs, h.emp[sla], "address_change", np.where(np.isnat(dsl), "under_review", "approved"),
                w_sl - np.timedelta64(3, "D"), w_sl - np.timedelta64(1, "D"), w_sl, dsl, permit_no=h.no[sla])
    g.intended += [("SLA-15WD", a) for a in aid]
    ai = (h.sc == "") & ~np.isnat(h.li) & (rng.random(len(h.p)) < 0.5)
    L.app(h.p[ai], h.emp[ai], "annual_inspection", "approved", *L.closed(h.li[ai]), permit_no=h.no[ai])


def _scenario_apps(g: State, L: Ledger, h: Holders) -> None:
    """Open applications of holders that break one rule each."""
    rng, ref, P = g.rng, g.ref, g.P
    for s, typ_s in (("ELIG-DUP-REGISTRATION", "new"), ("REISSUE-PHOTO-MISMATCH", "reissue"),
                     ("XFER-OLD-NOT-CANCELLED", "employer_change")):
        ii = np.nonzero(h.sc == s)[0]
        d = ref - days(rng, 0, 20, len(ii))
        st = L.open_status(len(ii))
        o = L.open_dates(d, st)
        e = h.emp[ii] if s != "XFER-OLD-NOT-CANCELLED" else P["empB"][h.p[ii]]
        sha = P["sha"][h.p[ii]] if s != "REISSUE-PHOTO-MISMATCH" else hex_digests(rng, len(ii))
        aid = L.app(h.p[ii], e, typ_s, st, o[0], o[1], o[2], o[3], permit_no=None if typ_s == "new" else h.no[ii],
                    reason=o[4], sha=sha)
        g.intended += [(s, a) for a in aid]


def _second_active_permit(g: State, L: Ledger, h: Holders) -> None:
    """DQ-DUP-ACTIVE-PERMIT: a second active permit at B."""
    rng, ref, P = g.rng, g.ref, g.P
    dup = h.p[h.sc == "DQ-DUP-ACTIVE-PERMIT"]
    i2 = add_working_days(P["hiredB"][dup] + days(rng, 190, 200, len(dup)), 0)
    L.permit(dup, P["empB"][dup], i2, add_months(i2, 36) - np.timedelta64(1, "D"), "active",
             last_insp=np.where(add_months(i2, 12) < ref, ref - days(rng, 5, 100, len(dup)), NAT))
    g.intended += [("DQ-DUP-ACTIVE-PERMIT", P["ids"][p]) for p in dup]
