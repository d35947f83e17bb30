"""What the per-entity builders of the logical data share: the scale, one numpy
Generator, the people's roles and scenarios, the employer and person columns,
and the logical frames each builder hands on.

Every builder is a function ``build_x(g: State)`` that reads what earlier
builders left in ``g`` and adds its own part. They run in the fixed order of
``build.build`` -- every random draw comes from ``g.rng`` in that order, so a
(scale, seed) gives byte-identical output.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl

from .dates import d64

REFERENCE_DATE = d64("2026-11-16")

# roles of a person in the data set
HOLDER, CAND, APPL, LEAVER, DEFER = 0, 1, 2, 3, 4
# years from the start of high school to the end of the highest degree
DEG_OFFSET = {"none": 7, "bachelor": 7, "master": 10, "doctor": 14}


@dataclasses.dataclass(frozen=True)
class Scale:
    employers: int
    persons: int
    defects: int  # injected defects per rule id


SCALES = {"demo": Scale(200, 5000, 4), "city": Scale(50_000, 1_000_000, 25)}


@dataclasses.dataclass
class Logical:
    reference_date: np.datetime64
    tables: dict[str, pl.DataFrame]
    intended: list[tuple[str, str]]  # (rule_id, entity_key) injected on purpose


@dataclasses.dataclass
class State:
    """The one object the builders share (instead of one class with every step as a method).

    ``E`` holds employer columns (numpy arrays indexed by employer number), ``P``
    person columns (indexed by person number); ``frames`` the logical tables
    keyed by those numbers (``p``, ``e``), joined to IDs and codes in ``build``."""
    sc: Scale
    rng: np.random.Generator
    ref: np.datetime64 = REFERENCE_DATE
    intended: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    seed_int: int = 0                       # seeds the contribution stream (drawn first)
    # roles (roles.py)
    N: int = 0
    nb: int = 0                             # people without a scenario
    role: np.ndarray | None = None
    scen: np.ndarray | None = None
    # columns
    E: dict = dataclasses.field(default_factory=dict)
    P: dict = dataclasses.field(default_factory=dict)
    n_emp: int = 0
    # logical frames by entity
    frames: dict[str, pl.DataFrame] = dataclasses.field(default_factory=dict)
    # facts one builder leaves for a later one
    cur_permit: dict = dataclasses.field(default_factory=dict)   # person -> current permit_no
    renew_d: np.ndarray | None = None       # person -> date of the open renewal
    app_d: dict = dataclasses.field(default_factory=dict)        # applicant -> d of the open new application

    @property
    def k(self) -> int:
        return self.sc.defects

    def idx(self, scen: str) -> np.ndarray:
        """Person numbers of one scenario."""
        return np.nonzero(self.scen == scen)[0]


# ------------------------------------------------------------------ small vectorised helpers
def days(rng, lo, hi, n):
    """n random day spans in [lo, hi]."""
    return rng.integers(lo, hi + 1, n).astype("timedelta64[D]")


def strs(a) -> pl.Series:
    """A polars String series from a numpy array that may hold None."""
    return pl.Series(np.asarray(a, dtype=object).tolist(), dtype=pl.String)


def frame(cols: dict) -> pl.DataFrame:
    """DataFrame from numpy arrays; object arrays become String, scalars are broadcast."""
    n = next(len(v) for v in cols.values() if hasattr(v, "__len__") and not isinstance(v, str))
    out = {}
    for k, v in cols.items():
        if v is None or isinstance(v, str):
            out[k] = pl.Series([v] * n, dtype=pl.String)
        elif isinstance(v, np.ndarray) and v.dtype == object:
            out[k] = strs(v)
        else:
            out[k] = v
    return pl.DataFrame(out)


def pick_s(values, idx) -> pl.Series:
    """values[idx] as a polars String series (a gather: no per-row Python strings)."""
    return pl.Series([str(v) for v in values], dtype=pl.String).gather(pl.Series(np.asarray(idx, dtype=np.uint32)))


def choice(rng, items, weights, n):
    """n draws of items with the given (unnormalised) weights."""
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
