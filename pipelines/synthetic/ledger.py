"""The permit and application rows being written: numbering pools, one row
builder each, and the date patterns of closed and open applications."""
from __future__ import annotations

import numpy as np
import polars as pl

from . import vocab as V
from .dates import NAT, add_working_days, sub_working_days, year_of
from .state import Pool, State, choice, days, frame, strs


class Ledger:
    """Permits and applications, appended in the order they are made (the order numbers are drawn in)."""

    def __init__(self, g: State):
        self.g, self.rng, self.ref = g, g.rng, g.ref
        self.sha = g.P["sha"]
        self.pool = Pool(self.rng, 10_000_000, int(g.N * 1.6) + 100)
        self.app_pool = Pool(self.rng, 100_000_000, int(g.N * 2.5) + 100)
        self.permits: list[pl.DataFrame] = []
        self.apps: list[pl.DataFrame] = []

    def permit(self, p, e, issued, expires, status, cancelled=None, deferred=None, last_insp=None, sha=None):
        """Permit rows; returns their numbers (BJ + issue year + 7 digits)."""
        n = len(p)
        no = np.char.add(np.char.add("BJ", year_of(issued).astype(str)), np.char.zfill(self.pool.take(n).astype(str), 7))
        self.permits.append(frame({
            "permit_no": no, "p": p, "e": e, "issued_on": issued, "expires_on": expires, "status": status,
            "cancelled_on": np.full(n, NAT) if cancelled is None else cancelled,
            "deferred_on": np.full(n, NAT) if deferred is None else deferred,
            "last_inspection_on": np.full(n, NAT) if last_insp is None else last_insp,
            "photo_sha256": self.sha[p] if sha is None else sha}))
        return no

    def app(self, p, e, typ, status, submitted, emp_sub, window, decided, permit_no=None, reason=None, sha=None):
        """Application rows; returns their ids (SQ + year submitted + 8 digits)."""
        n = len(p)
        yr = year_of(np.where(np.isnat(submitted), self.ref, submitted))
        aid = np.char.add(np.char.add("SQ", yr.astype(str)), np.char.zfill(self.app_pool.take(n).astype(str), 8))
        self.apps.append(frame({
            "application_id": aid, "type": strs(np.broadcast_to(np.asarray(typ, dtype=object), (n,))), "p": p, "e": e,
            "permit_no": strs(np.full(n, None, dtype=object) if permit_no is None else permit_no),
            "submitted_on": submitted, "employer_submitted_on": emp_sub, "window_submitted_on": window,
            "decided_on": decided, "status": strs(np.broadcast_to(np.asarray(status, dtype=object), (n,))),
            "return_reason": strs(np.full(n, None, dtype=object) if reason is None else reason),
            "photo_sha256": self.sha[p] if sha is None else sha}))
        return aid

    def closed(self, decided, n_wd_lo=2, n_wd_hi=15):
        """(submitted, employer submitted, window, decided) of an application decided on `decided`."""
        rng = self.rng
        n = len(decided)
        window = sub_working_days(decided, rng.integers(n_wd_lo, n_wd_hi + 1, n))
        emp_sub = window - days(rng, 0, 7, n)
        sub = emp_sub - days(rng, 0, 10, n)
        return sub, emp_sub, window, decided

    def open_dates(self, sub_d, statuses, keep_sub=False):
        """(submitted, employer submitted, window, decided, return reason) of open applications."""
        rng, ref = self.rng, self.ref
        n = len(sub_d)
        statuses = np.asarray(statuses, dtype=object)
        sub = sub_d.copy()
        if not keep_sub:
            sub = np.where((statuses == "draft") & (rng.random(n) < 0.5) & (sub_d == ref), NAT, sub)
        emp_sub = np.where(np.isin(statuses, ["employer_submitted", "under_review", "returned"]),
                           np.minimum(sub_d + days(rng, 0, 3, n), ref), NAT)
        window = np.where(np.isin(statuses, ["under_review", "returned"]),
                          np.maximum(add_working_days(emp_sub, 0), sub_working_days(np.full(n, ref), rng.integers(1, 11, n))), NAT)
        window = np.where(window > ref, sub_working_days(np.full(n, ref), 1), window)
        window = np.where(np.isnat(window), NAT, np.maximum(window, np.where(np.isnat(emp_sub), window, emp_sub)))
        decided = np.where(statuses == "returned", np.minimum(add_working_days(window, rng.integers(1, 6, n)), ref), NAT)
        reason = np.where(statuses == "returned", np.array(V.RETURN_REASONS)[rng.integers(0, len(V.RETURN_REASONS), n)], None)
        return sub, emp_sub, window, decided, reason

    def open_status(self, n):
        return choice(self.rng, V.OPEN_STATUSES, [0.2, 0.25, 0.2, 0.25, 0.1], n)

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        return pl.concat(self.permits), pl.concat(self.apps, how="vertical_relaxed")
