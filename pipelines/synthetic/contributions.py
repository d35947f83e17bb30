"""Monthly tax and social-insurance rows: which months each person is covered
(from the work start or two years back, to the month before the reference date
or the month they left), the injected gaps (ELIG-CONTRIB-6M, NC-CONTRIB-GAP,
RENEW-CONTRIB-GAP), and the rows themselves, made per chunk of people (at city
scale they are never all in memory)."""
from __future__ import annotations

import numpy as np
import polars as pl

from .dates import D, d64, month_start
from .state import HOLDER, State


def _month_index(d):
    return month_start(d).astype("datetime64[M]").astype(np.int64)


class Contributions:
    """The contribution plan of every person; ``rows(persons)`` makes their rows."""

    def __init__(self, g: State):
        P, ref = g.P, g.ref
        self.P, self.E, self.N, self.seed_int = P, g.E, g.N, g.seed_int
        ref_m = _month_index(np.array([ref]))[0]
        start = np.maximum(_month_index(P["ws"]), ref_m - 24)
        hol = g.role == HOLDER
        start[hol] = np.maximum(_month_index(P["ws"][hol]), np.minimum(ref_m - 24, _month_index(P["issued"][hol])))
        employed_now = (P["empB"] >= 0) | np.isnat(P["leftA"])
        end = np.minimum(np.where(employed_now, ref_m - 1,
                                  _month_index(np.where(np.isnat(P["leftA"]), ref, P["leftA"]))), ref_m - 1)
        self.c_start, self.c_end = start, end
        self.removed = _injected_gaps(g, ref_m)
        self._ids_s = pl.Series(P["ids"])
        self._uscc_s = pl.Series(g.E["uscc"])
        self._ename_s = pl.Series(g.E["name"])

    def rows(self, persons: np.ndarray | None = None, keep_index: bool = False) -> pl.DataFrame:
        """Contribution rows of the given people (all when None), vectorised; ``pi`` = person number."""
        if persons is None:
            persons = np.arange(self.N)
        rng = np.random.default_rng([int(persons[0]) if len(persons) else 0, 77, self.seed_int])
        n_m = np.maximum(self.c_end[persons] - self.c_start[persons] + 1, 0)
        pp = np.repeat(persons, n_m)
        mm = self.c_start[pp] + (np.arange(len(pp)) - np.repeat(np.cumsum(n_m) - n_m, n_m))
        base = self._withholders(pp, mm, _amounts(rng, persons, pp))
        cols = ["pi", "id_number", "month", "kind", "withholder_uscc", "withholder_name", "amount_cny"]
        df = pl.concat([
            base.with_columns(kind=pl.lit("income_tax"), amount_cny=pl.col("tax")).select(cols),
            base.with_columns(kind=pl.lit("social_insurance"), amount_cny=pl.col("si")).select(cols)])
        df = self._remove_gaps(df, persons)
        return df if keep_index else df.drop("pi")

    def _withholders(self, pp, mm, amounts: dict) -> pl.DataFrame:
        """(pi, id_number, month, withholder): the employer of the month (B, A, previous, or outside Beijing)."""
        P = self.P
        m_of = lambda d: d.astype("datetime64[M]").astype(np.int64)  # noqa: E731
        hb = P["empB"][pp] >= 0
        useB = hb & (mm >= m_of(np.where(np.isnat(P["hiredB"][pp]), d64("2100-01-01"), P["hiredB"][pp])))
        useA = ~useB & (mm >= m_of(P["hiredA"][pp]))
        useP = ~useB & ~useA & (P["empP"][pp] >= 0)
        emp = np.where(useB, P["empB"][pp], np.where(useA, P["empA"][pp], np.where(useP, P["empP"][pp], -1)))
        e_idx = pl.Series(np.maximum(emp, 0).astype(np.uint32))
        base = pl.DataFrame({
            "pi": pp.astype(np.int32), "id_number": self._ids_s.gather(pl.Series(pp.astype(np.uint32))),
            "month": (mm.astype("datetime64[M]")).astype(D),
            "withholder_uscc": self._uscc_s.gather(e_idx), "withholder_name": self._ename_s.gather(e_idx),
            "known": emp >= 0, **amounts})
        return base.with_columns(
            withholder_uscc=pl.when("known").then("withholder_uscc"),
            withholder_name=pl.when("known").then("withholder_name").otherwise(pl.lit("外地单位(京外缴纳)")))

    def _remove_gaps(self, df: pl.DataFrame, persons) -> pl.DataFrame:
        lo, hi = (int(persons[0]), int(persons[-1])) if len(persons) else (0, -1)
        rm = [(int(p), np.int64(m).astype("datetime64[M]").astype(D), k) for p, m, k in self.removed if lo <= p <= hi]
        if not rm:
            return df
        rdf = pl.DataFrame({"pi": np.array([r[0] for r in rm], dtype=np.int32), "month": np.array([r[1] for r in rm], dtype=D),
                            "kind": [r[2] for r in rm]})
        return df.join(rdf, on=["pi", "month", "kind"], how="anti")


def _amounts(rng, persons, pp) -> dict:
    """Income tax and social insurance of each row (salaries drawn per person)."""
    salary = np.exp(rng.normal(9.6, 0.45, len(persons)))
    sal = salary[np.searchsorted(persons, pp)] * rng.uniform(0.95, 1.1, len(pp))
    tax = np.round(np.maximum(0, (sal - 5000 - 3500) * 0.1 - 210), 2)
    tax = np.where(rng.random(len(pp)) < 0.03, 0.0, tax)
    si = np.round(np.clip(sal, 6326, 35283) * 0.105, 2)
    return {"tax": tax, "si": si}


def _injected_gaps(g: State, ref_m) -> list[tuple]:
    """(person, month index, kind) rows left out on purpose."""
    rm = []
    for p in g.idx("ELIG-CONTRIB-6M"):
        mm = np.datetime64(g.app_d[int(p)], "M").astype(np.int64) - 2
        rm.append((p, mm, "income_tax"))
    for j, p in enumerate(g.idx("NC-CONTRIB-GAP")):
        rm.append((p, ref_m - 3 - (j % 5), "social_insurance" if j % 2 else "income_tax"))
    for p in g.idx("RENEW-CONTRIB-GAP"):
        # v2: windows end at M(d) - L (L = 2); these renewals are filed in the reference month, so the
        # newest required month is ref - 2 -- also the permit's NC-CONTRIB-GAP window (same length)
        rm.append((p, ref_m - 2, "social_insurance"))
    return rm
