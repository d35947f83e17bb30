"""Dependents (随往人员): spouses and children of holders, applicants,
candidates and leavers, with DEP-SPOUSE-NO-CERT and DEP-CHILD16-NO-PROOF
(one child turns 16 on the reference date). Sets ``g.frames["dependents"]``."""
from __future__ import annotations

import numpy as np

from . import vocab as V
from .dates import add_months, age_full_years
from .ids import unique_rics
from .persons import given_names
from .state import APPL, CAND, HOLDER, LEAVER, State, choice, days, frame


def build_dependents(g: State) -> None:
    rng, P = g.rng, g.P
    sp, sp_def, sp_birth, sp_male, sp_area, n_ch = _spouses(g)
    ch, ch_birth, ch_area, force16 = _children(g, n_ch)
    all_male = np.concatenate([sp_male, rng.random(len(ch)) < 0.5])
    ids, _ = unique_rics(rng, np.concatenate([sp_area, ch_area]), np.concatenate([sp_birth, ch_birth]), all_male,
                         taken=P["codes"])
    holder = np.concatenate([sp, ch])
    relation = np.array(["spouse"] * len(sp) + ["child"] * len(ch), dtype=object)
    sur = np.array([s for s, _ in V.SURNAMES])[rng.integers(0, 30, len(sp))]
    names = np.concatenate([given_names(rng, sur, sp_male), given_names(rng, P["sur"][ch], all_male[len(sp):])])
    cert = np.ones(len(holder), bool)
    cert[len(sp):] = False
    proof = np.zeros(len(holder), bool)
    ch_age = age_full_years(ch_birth, g.ref)
    proof[len(sp):] = (ch_age >= 16) | (rng.random(len(ch)) < 0.3) & (ch_age >= 6)
    cert[:len(sp)][sp_def] = False
    proof[len(sp):][force16] = False
    g.intended += [("DEP-SPOUSE-NO-CERT", x) for x in ids[:len(sp)][sp_def]]
    g.intended += [("DEP-CHILD16-NO-PROOF", x) for x in ids[len(sp):][force16]]
    g.frames["dependents"] = frame({"p": holder, "id_number": ids, "relation": relation, "name": names,
                                    "marriage_certificate": cert, "student_status_proof": proof})


def _spouses(g: State):
    """Spouses of a third of the people over 27 (and of the scenario people); which lack a certificate;
    how many children each household has."""
    rng, P, N, role, scen = g.rng, g.P, g.N, g.role, g.scen
    eligible = np.isin(role, [HOLDER, APPL, CAND, LEAVER])
    age = ((g.ref - P["birth"]).astype(int) / 365.25)
    has_sp = eligible & (age > 27) & (rng.random(N) < 0.35) & (scen == "")
    sp_force = g.idx("DEP-SPOUSE-NO-CERT")
    has_sp[sp_force] = True
    ap_spouse = np.nonzero((role == APPL) & (scen == "") & (age > 27))[0][:1]  # an applicant's spouse, no certificate
    has_sp[ap_spouse] = True
    sp = np.nonzero(has_sp)[0]
    sp_birth = P["birth"][sp] + days(rng, -1500, 1500, len(sp))
    sp_male = ~P["male"][sp]
    sp_area = choice(rng, [a for a, _ in V.AREA_CODES], [w for _, w in V.AREA_CODES], len(sp))
    n_ch = np.where(has_sp, rng.choice([0, 1, 1, 2], N), 0)
    sp_def = np.isin(sp, np.concatenate([sp_force, ap_spouse]))
    return sp, sp_def, sp_birth, sp_male, sp_area, n_ch


def _children(g: State, n_ch):
    """Children born 24+ years after their parent; DEP-CHILD16-NO-PROOF children are 16 or older."""
    rng, P, ref = g.rng, g.P, g.ref
    ch_force = g.idx("DEP-CHILD16-NO-PROOF")
    n_ch[ch_force] = 1
    ch = np.repeat(np.arange(g.N), n_ch)
    earliest = P["birth"][ch] + np.timedelta64(int(24 * 365.25), "D")
    span = np.maximum((ref - earliest).astype(int), 1)
    ch_birth = earliest + (rng.random(len(ch)) * np.minimum(span, 22 * 365)).astype("timedelta64[D]")
    force16 = np.isin(ch, ch_force)
    ch_birth[force16] = add_months(np.full(force16.sum(), ref), -12 * 16 - rng.integers(1, 40, force16.sum()))
    ch_birth[np.nonzero(force16)[0][:1]] = add_months(np.array([ref]), -12 * 16)  # 16 exactly on the reference date
    ch_area = np.where(rng.random(len(ch)) < 0.6, 110108, P["area"][ch])
    return ch, ch_birth, ch_area, force16
