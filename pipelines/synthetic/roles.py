"""Roles and scenarios: which people hold a permit, are candidates, applicants,
leavers or in a deferred cancellation, and which carry one injected defect
(a scenario named after the rule it breaks). Scenario people come last."""
from __future__ import annotations

import numpy as np

from .state import APPL, CAND, DEFER, HOLDER, LEAVER, State, choice

SCENARIOS_APPL = ["ELIG-EMPLOYER-NOT-OPENED", "ELIG-EMPLOYER-AGE-1Y", "ELIG-EMPLOYER-CAPITAL", "ELIG-BRANCH-QUOTA",
                  "ELIG-TALENT", "ELIG-TENURE-6M", "ELIG-AGE-LIMIT", "ELIG-RESIDENCE", "ELIG-CONTRIB-6M",
                  "ELIG-WORK-BEFORE-GRAD", "ELIG-WORK-GAP-2M", "ELIG-EDU-NO-HIGH-SCHOOL", "ELIG-ACHIEVEMENT-200",
                  "ELIG-PHOTO"]
SCENARIOS_HOLDER = ["ELIG-DUP-REGISTRATION", "RENEW-OUTSIDE-WINDOW", "RENEW-CONTRIB-GAP", "RENEW-ACHIEVEMENT-200",
                    "RENEW-CONTRACT-SHORT", "XFER-OLD-NOT-CANCELLED", "REISSUE-PHOTO-MISMATCH", "EXP-LAPSED",
                    "NC-LEFT-NOT-CANCELLED", "NC-CONTRIB-GAP", "NC-INSPECTION-OVERDUE", "NC-NAME-CHANGE-REISSUE",
                    "DQ-DUP-ACTIVE-PERMIT", "DEP-SPOUSE-NO-CERT", "DEP-CHILD16-NO-PROOF", "SLA-15WD",
                    "EMP-BRANCH-QUOTA-HOLDER", "ELIG-BRANCH-QUOTA-HOLDER", "DQ-ID-MISMATCH"]
# renewal scenarios: holders whose permit expires around the reference date
SCENARIOS_RENEW = ["RENEW-OUTSIDE-WINDOW", "RENEW-CONTRIB-GAP", "RENEW-ACHIEVEMENT-200", "RENEW-CONTRACT-SHORT"]


def build_roles(g: State) -> None:
    rng, k, N = g.rng, g.k, g.sc.persons
    scen = []
    for s in SCENARIOS_APPL:
        scen += [(s, APPL)] * k
    for s in SCENARIOS_HOLDER:
        cnt = k
        if s == "EMP-BRANCH-QUOTA-HOLDER":
            cnt = 7 * k  # 6 or 7 active permits at each of the k over-quota branches
        elif s == "ELIG-BRANCH-QUOTA-HOLDER":
            cnt = 10  # 5 active permits at each of the two branch5 employers
        scen += [(s, HOLDER)] * cnt
    scen += [("XFER-DEFERRAL-EXPIRED", DEFER)] * k
    ns = len(scen)
    nb = N - ns
    base_role = choice(rng, [HOLDER, CAND, APPL, LEAVER, DEFER], [0.52, 0.30, 0.05, 0.10, 0.03], nb)
    g.role = np.concatenate([base_role, np.array([r for _, r in scen])])
    g.scen = np.array([""] * nb + [s for s, _ in scen], dtype=object)
    g.N = N
    g.nb = nb
