"""The logical (clean, typed) synthetic data set and its deliberate rule defects.

Everything is drawn with one numpy Generator and assembled with numpy/polars,
vectorised over people; only the handful of injected defects are set one by
one. The result is the data the pipeline should *load*: ingest-level defects
(broken rows, duplicates, encodings) are added later by ``writer``.

``build`` runs the per-entity builders in a fixed order over one shared
:class:`~.state.State` (employers, roles, timelines, persons, permits and
applications, employments and histories, the contribution plan, dependents)
and joins their frames to the contract's tables.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from . import vocab as V
from .contributions import Contributions
from .dates import NAT
from .dependents import build_dependents
from .employers import build_employers
from .history import build_history
from .ledger import Ledger
from .movers import build_mover_permits
from .permits import build_holder_permits
from .persons import build_persons
from .roles import SCENARIOS_RENEW, build_roles
from .state import SCALES, Logical, Scale, State, frame
from .timeline import build_timeline


def build(scale: Scale | str = "demo", seed: int = 0) -> tuple[State, Logical, Contributions]:
    """(shared state, logical tables, contribution stream) for a scale and seed."""
    g = State(SCALES[scale] if isinstance(scale, str) else scale, np.random.default_rng(seed))
    g.seed_int = int(g.rng.integers(1 << 31))
    build_employers(g)
    build_roles(g)
    build_timeline(g)
    build_persons(g)
    g.renew_d = np.full(g.N, NAT)
    ledger = Ledger(g)  # renewal dates first: contract ends depend on them
    build_holder_permits(g, ledger)
    build_mover_permits(g, ledger)
    g.frames["permits"], g.frames["applications"] = ledger.frames()
    build_history(g)
    contrib = Contributions(g)
    build_dependents(g)
    tables = _tables(g)
    _renewal_defects(g, tables["applications"])
    return g, Logical(g.ref, tables, g.intended), contrib


def _tables(g: State) -> dict[str, pl.DataFrame]:
    """The frames keyed by person / employer number, joined to ID numbers and USCCs."""
    P, E, f = g.P, g.E, g.frames
    uscc = E["uscc"]
    idmap = frame({"p": np.arange(g.N), "id_number": P["ids"]})
    emap = frame({"e": np.arange(g.n_emp), "uscc": uscc})
    t = {"employers": frame({
        "uscc": uscc, "name": E["name"], "entity_type": E["etype"], "district": E["district"], "established_on": E["est"],
        "registered_capital_cny": E["capital"], "category": E["category"], "account_opened_on": E["opened"],
        "last_annual_inspection_on": E["last_insp"], "name_changed_on": E["name_changed"]}
    ).with_columns(pl.col("registered_capital_cny").fill_nan(None))}
    t["persons"] = f["persons"]
    t["employments"] = f["employments"].join(idmap, on="p").join(emap, on="e").select(
        "id_number", "uscc", "hired_on", "contract_end_on", "left_on").sort("id_number", "hired_on")
    t["work_history"] = f["work_history"].join(idmap, on="p").select(
        "id_number", "start_on", "end_on", "organization", "position", "note").sort("id_number", "start_on")
    t["education_history"] = f["education_history"].join(idmap, on="p").select(
        "id_number", "start_on", "end_on", "school", "level", "study_mode", "note").sort("id_number", "start_on")
    t["dependents"] = f["dependents"].join(idmap.rename({"id_number": "holder_id_number"}), on="p").select(
        "holder_id_number", "id_number", "relation", "name", "marriage_certificate", "student_status_proof")
    t["permits"] = f["permits"].join(idmap, on="p").join(emap, on="e").select(
        "permit_no", "id_number", "uscc", "issued_on", "expires_on", "status", "cancelled_on", "deferred_on",
        "last_inspection_on", "photo_sha256").sort("permit_no")
    t["applications"] = f["applications"].join(idmap, on="p").join(emap, on="e").select(
        "application_id", "type", "id_number", "uscc", "permit_no", "submitted_on", "employer_submitted_on",
        "window_submitted_on", "decided_on", "status", "return_reason", "photo_sha256").sort("application_id")
    g.intended += [("EMP-BRANCH-QUOTA", uscc[e]) for e in np.nonzero(E["kind"] == "branch_over")[0]]
    return t


def _renewal_defects(g: State, apps: pl.DataFrame) -> None:
    """The renewal scenarios' open renewals (their ids are known only now); v2: the renewal's
    contribution gap lies in the permit's NC-CONTRIB-GAP window too."""
    ids = g.P["ids"]
    for s in SCENARIOS_RENEW:
        sel = apps.filter((pl.col("type") == "renewal") & pl.col("id_number").is_in(ids[g.idx(s)].tolist())
                          & pl.col("status").is_in(V.OPEN_STATUSES))
        g.intended += [(s, a) for a in sel["application_id"].to_list()]
    g.intended += [("NC-CONTRIB-GAP", g.cur_permit[p]) for p in g.idx("RENEW-CONTRIB-GAP")]
