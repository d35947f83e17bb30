"""Vectorised resident ID (GB 11643) and social credit code (GB 32100) generation.

Oracle side (issue 14, item 3): the check characters are computed here from the
standards, independently of the pipeline's checks (``assets/ingest/idcheck.py``
and python-stdnum), so a mistake in either shows up as a disagreement; the tests
hold these values to python-stdnum."""
from __future__ import annotations

import numpy as np

from .dates import day_of, month_of, year_of

RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
RIC_CHECK = np.array(list("10X98765432"))
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
_ALPHA = np.array(list(USCC_ALPHABET))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) array of the decimal digits of non-negative ints."""
    pows = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // pows) % 10


def ric_check_chars(body17: np.ndarray) -> np.ndarray:
    """Check characters for an (n, 17) digit array."""
    return RIC_CHECK[(body17 @ RIC_WEIGHTS) % 11]


def make_ric(area: np.ndarray, birth: np.ndarray, seq3: np.ndarray) -> np.ndarray:
    """18-character resident IDs from area code (int), birth date, 3-digit sequence (parity = gender)."""
    ymd = year_of(birth) * 10000 + month_of(birth) * 100 + day_of(birth)
    body = np.concatenate([_digits(area, 6), _digits(ymd, 8), _digits(seq3, 3)], axis=1)
    chars = np.concatenate([body.astype("U1"), ric_check_chars(body)[:, None]], axis=1)
    return np.ascontiguousarray(chars).view("<U18").ravel()


def ric_codes(area: np.ndarray, birth: np.ndarray, seq3: np.ndarray) -> np.ndarray:
    """The first 17 digits of an ID as one int64 (the check character follows from them)."""
    ymd = year_of(birth) * 10000 + month_of(birth) * 100 + day_of(birth)
    return np.asarray(area, dtype=np.int64) * 10**11 + ymd * 1000 + np.asarray(seq3, dtype=np.int64)


def unique_rics(rng: np.random.Generator, area: np.ndarray, birth: np.ndarray, male: np.ndarray,
                taken: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """IDs unique among themselves and against the int64 codes in `taken` (see ric_codes);
    the sequence's last digit follows the gender. Returns (ids, codes)."""
    n = len(area)
    seq = np.zeros(n, dtype=np.int64)
    code = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    done = np.zeros(n, dtype=bool)
    for _ in range(60):
        seq[todo] = rng.integers(0, 50, len(todo)) * 10 + rng.integers(0, 5, len(todo)) * 2 + male[todo].astype(np.int64)
        code[todo] = ric_codes(area[todo], birth[todo], seq[todo])
        # keep codes already accepted; among the new draws keep the first of each value
        order = np.concatenate([np.nonzero(done)[0], todo])
        _, first = np.unique(code[order], return_index=True)
        accepted = np.zeros(n, dtype=bool)
        accepted[order[first]] = True
        if taken is not None and len(taken):
            accepted &= ~np.isin(code, taken)
        done = accepted
        todo = np.nonzero(~done)[0]
        if len(todo) == 0:
            return make_ric(area, birth, seq), code
    raise RuntimeError("could not draw unique resident IDs")


def uscc_check_chars(body17: np.ndarray) -> np.ndarray:
    """Check characters for an (n, 17) array of alphabet indices."""
    return _ALPHA[(31 - (body17 @ USCC_WEIGHTS) % 31) % 31]


def make_usccs(rng: np.random.Generator, dept_type: np.ndarray, area: np.ndarray) -> np.ndarray:
    """USCCs: 2-digit registration department + type, 6-digit area, 9-character organisation code, check."""
    n = len(area)
    head = np.concatenate([_digits(dept_type, 2), _digits(area, 6)], axis=1)
    org = rng.integers(0, 31, (n, 9))
    org[:, 0] = rng.integers(0, 10, n)  # organisation codes mostly start with a digit
    body = np.concatenate([head, org], axis=1)
    chars = np.concatenate([_ALPHA[body], uscc_check_chars(body)[:, None]], axis=1)
    out = np.ascontiguousarray(chars).view("<U18").ravel()
    # uniqueness (collisions are astronomically rare, but be exact)
    u, first = np.unique(out, return_index=True)
    if len(u) != n:
        dup = np.setdiff1d(np.arange(n), first)
        out[dup] = make_usccs(rng, dept_type[dup], area[dup])
        return make_usccs_fix(rng, out, dept_type, area)
    return out


def make_usccs_fix(rng, out, dept_type, area):
    _, first = np.unique(out, return_index=True)
    if len(first) == len(out):
        return out
    dup = np.setdiff1d(np.arange(len(out)), first)
    out[dup] = make_usccs(rng, dept_type[dup], area[dup])
    return make_usccs_fix(rng, out, dept_type, area)


def hex_digests(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random 64-character lower-case hex strings (photo fingerprints)."""
    table = np.array([f"{i:02x}" for i in range(256)])
    raw = rng.integers(0, 256, (n, 32))
    return np.ascontiguousarray(table[raw]).view("<U64").ravel()
