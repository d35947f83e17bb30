"""Permits and applications of the people who are not (only) holders: leavers
(permit cancelled), deferred cancellations (XFER-DEFERRAL-EXPIRED), applicants
with an open new application (the ELIG-* scenarios) and candidates' rejected
applications of the past."""
from __future__ import annotations

import numpy as np

from . import vocab as V
from .dates import NAT, add_months, add_working_days
from .ledger import Ledger
from .roles import SCENARIOS_APPL
from .state import APPL, CAND, DEFER, LEAVER, State, days


def build_mover_permits(g: State, L: Ledger) -> None:
    _leavers(g, L)
    _deferrals(g, L)
    _applicants(g, L)
    _candidates(g, L)


def _leavers(g: State, L: Ledger) -> None:
    """Permit cancelled by the employer after the person left."""
    rng, ref, P = g.rng, g.ref, g.P
    lv = np.nonzero(g.role == LEAVER)[0]
    iL = P["issued_L"][lv]
    cancL = np.minimum(P["leftA"][lv] + days(rng, 1, 20, len(lv)), ref - np.timedelta64(1, "D"))
    noL = L.permit(lv, P["empA"][lv], iL, add_months(iL, 36) - np.timedelta64(1, "D"), "cancelled", cancelled=cancL,
                   last_insp=np.where(add_months(iL, 12) < cancL, add_months(iL, 12) + days(rng, -30, 0, len(lv)), NAT))
    L.app(lv, P["empA"][lv], "new", "approved", *L.closed(add_working_days(iL - days(rng, 2, 8, len(lv)), 0)))
    L.app(lv, P["empA"][lv], "cancellation", "approved", *L.closed(add_working_days(cancL, 0)), permit_no=noL)


def _deferrals(g: State, L: Ledger) -> None:
    """Deferred cancellations; the new employer's change application (open), except for the expired
    deferrals (one has a rejected one: closed, no finding)."""
    rng, ref, P = g.rng, g.ref, g.P
    df = np.nonzero(g.role == DEFER)[0]
    iD = P["issued_D"][df]
    noD = L.permit(df, P["empA"][df], iD, add_months(iD, 36) - np.timedelta64(1, "D"), "deferred_cancellation",
                   deferred=P["deferred_on"][df],
                   last_insp=np.where(add_months(iD, 12) < P["leftA"][df], add_months(iD, 12), NAT))
    L.app(df, P["empA"][df], "new", "approved", *L.closed(add_working_days(iD - days(rng, 2, 8, len(df)), 0)))
    L.app(df, P["empA"][df], "deferred_cancellation", "approved", *L.closed(add_working_days(P["deferred_on"][df], 0)),
          permit_no=noD)
    expd = g.scen[df] == "XFER-DEFERRAL-EXPIRED"
    g.intended += [("XFER-DEFERRAL-EXPIRED", x) for x in noD[expd]]
    ok = ~expd
    dch = np.minimum(P["hiredB"][df[ok]] + days(rng, 0, 5, ok.sum()), ref)
    st = L.open_status(ok.sum())
    o = L.open_dates(dch, st)
    L.app(df[ok], P["empB"][df[ok]], "employer_change", st, o[0], o[1], o[2], o[3], permit_no=noD[ok], reason=o[4])
    ex = df[expd][:1]
    L.app(ex, P["empB"][ex], "employer_change", "rejected",
          *L.closed(add_working_days(P["hiredB"][ex] + np.timedelta64(30, "D"), 0)), permit_no=noD[expd][:1],
          reason=np.array(["不符合申办条件"], dtype=object))


def _applicants(g: State, L: Ledger) -> None:
    """Open new applications; each ELIG-* scenario's application is an intended finding."""
    ref, P, scen = g.ref, g.P, g.scen
    ap = np.nonzero(g.role == APPL)[0]
    st = L.open_status(len(ap))
    keep = np.isin(scen[ap], ["ELIG-EMPLOYER-NOT-OPENED", "ELIG-CONTRIB-6M"])
    st[keep & (st == "draft")] = "person_submitted"
    o = L.open_dates(P["d_app"][ap], st)
    aid = L.app(ap, P["empA"][ap], "new", st, o[0], o[1], o[2], o[3], reason=o[4])
    for s in SCENARIOS_APPL:
        g.intended += [(s, a) for a, sc_ in zip(aid, scen[ap]) if sc_ == s]
    g.app_d = dict(zip(ap.tolist(), np.where(np.isnat(o[0]), ref, o[0]).tolist()))


def _candidates(g: State, L: Ledger) -> None:
    """Some candidates had a new application rejected in the past."""
    rng = g.rng
    cd = np.nonzero((g.role == CAND) & (rng.random(g.N) < 0.06))[0]
    cdec = add_working_days(g.ref - days(rng, 30, 600, len(cd)), 0)
    L.app(cd, g.P["empA"][cd], "new", "rejected", *L.closed(cdec),
          reason=np.array(V.REJECT_REASONS, dtype=object)[rng.integers(0, len(V.REJECT_REASONS), len(cd))])
