"""Personal-data protection for everything published.

- ``mask_id`` / ``mask_id_expr``: ID numbers as ``110105********123X`` (first 6,
  eight ``*``, last 4); the rule itself lives in ``core.masking``.
- ``mask_ids_in_text_expr`` / ``find_unmasked_ids``: defensive masking and
  scanning of free text for 18-character resident ID numbers.
- ``suppress_small_cells``: small-cell suppression for published counts in
  cross-tabulations and one-way tables with totals. Primary suppression hides
  counts ``1 … min_cell-1`` (shown as ``"<5"``); secondary suppression adds
  complementary non-zero cells (shown as ``"—"``) until no suppressed value
  can be worked out from the published cells and totals — checked by linear
  algebra (chains of rows and columns) and by integer programs that also use
  what the marks say (a "<5" is 1–4, a "—" at least 5). docs/privacy.md.
"""
from __future__ import annotations

import functools
import re
from typing import Iterable, Sequence

import numpy as np
import polars as pl

from core.masking import mask_id, mask_id_expr  # noqa: F401  (the one masking rule, re-exported)

# any run of 17 digits + digit/X counts, even glued to other text
ID18 = re.compile(r"\d{17}[\dXx]")
# ... and so does one written with a space or a dash between any two of its
# characters ("110105 19900307 123X", "110105-1990-0307-123X"): free text is
# typed by people. One optional separator between characters.
ID_SEP = r"[ \t\u00a0\u3000\-\u2010-\u2015\uff0d]"
ID18_IN_TEXT = re.compile(rf"\d(?:{ID_SEP}?\d){{16}}{ID_SEP}?[\dXx]")
_ID18_POLARS = rf"(\d(?:{ID_SEP}?\d){{5}}){ID_SEP}?(?:\d{ID_SEP}?){{8}}((?:\d{ID_SEP}?){{3}}[\dXx])"


def mask_ids_in_text_expr(col: str) -> pl.Expr:
    """Mask every 18-character ID number embedded in free text, also when
    written with spaces or dashes inside (the middle eight characters go)."""
    return pl.col(col).cast(pl.String).str.replace_all(_ID18_POLARS, "${1}********${2}").alias(col)


def mask_ids_in_text(text: str | None) -> str | None:
    """Python form of :func:`mask_ids_in_text_expr` (one string)."""
    if text is None:
        return None
    return re.sub(_ID18_POLARS, r"\1********\2", text)


def find_unmasked_ids(text: str) -> list[str]:
    """Every unmasked 18-character ID number in ``text`` (with or without
    spaces or dashes inside)."""
    return ID18_IN_TEXT.findall(text or "")


# --------------------------------------------------------------------------- small-cell suppression
def _lines(r: int, c: int) -> tuple[np.ndarray, list[list[int]]]:
    """Constraints of the augmented table (cells, row totals, column totals,
    grand total) as a matrix over the flattened (r+1) x (c+1) grid, and each
    constraint's member indices. A one-way table (c == 1) has only the column
    constraint (its row totals would repeat the cells)."""
    w = c + 1
    rows: list[list[tuple[int, int]]] = []
    if c > 1:
        for i in range(r + 1):  # row i: cells + (-row total); i == r: column totals vs grand total
            rows.append([(i * w + j, 1) for j in range(c)] + [(i * w + c, -1)])
        for j in range(c + 1):  # column j: cells + (-column total); j == c: row totals vs grand total
            rows.append([(i * w + j, 1) for i in range(r)] + [(r * w + j, -1)])
    else:
        rows.append([(i * w, 1) for i in range(r)] + [(r * w, -1)])
    a = np.zeros((len(rows), (r + 1) * w))
    for k, members in enumerate(rows):
        for idx, coef in members:
            a[k, idx] = coef
    return a, [[idx for idx, _ in m] for m in rows]


def determined_cells(a: np.ndarray, suppressed: np.ndarray) -> list[int]:
    """Suppressed variables whose value is fixed by the published ones: e_k lies
    in the row space of the constraint matrix restricted to suppressed columns."""
    s = np.flatnonzero(suppressed)
    if s.size == 0:
        return []
    sub = a[:, s]
    base = np.linalg.matrix_rank(sub) if sub.any() else 0
    out = []
    for pos, k in enumerate(s):
        e = np.zeros((1, s.size))
        e[0, pos] = 1.0
        if np.linalg.matrix_rank(np.vstack([sub, e])) == base:
            out.append(int(k))
    return out


SECONDARY_MARK = "—"  # a count withheld so that a small one cannot be worked out (shown beside "<5")


def secondary_note(min_cell: int) -> tuple[str, str]:
    """The sentence under a table that explains both marks (zh, en)."""
    return (f"“<{min_cell}”:少于{min_cell};“{SECONDARY_MARK}”:为防止推算出小数而隐去的数"
            f"(不小于{min_cell})。",
            f"“<{min_cell}”: fewer than {min_cell}; “{SECONDARY_MARK}”: a count of {min_cell} or more, "
            f"withheld so that a small count cannot be worked out from the totals.")


def feasible_ranges(aug: np.ndarray, sup: np.ndarray, primary: np.ndarray, min_cell: int,
                    cells: Iterable[int] | None = None, small_from: int = 1,
                    stop_at_fixed: bool = False) -> dict[int, tuple[float, float]] | None:
    """What a reader can work out about each suppressed cell: its smallest
    and largest integer value given every published cell and total, the
    additive constraints of the table, and what the marks say (a primary cell
    is 1 … min_cell-1, a secondary one at least min_cell). Integer linear
    programs (scipy ``milp``), one minimisation and one maximisation per
    cell. ``cells`` limits the answer to those flat indices. ``small_from``:
    the smallest value a reader takes "<m" to mean (1, or 0 once zeros may be
    hidden too). None when that reading has no solution. ``stop_at_fixed``:
    stop after the first cell (in flat order) whose range is one value — all
    the suppression loop needs, since it protects one such cell at a time;
    the answer then holds the cells up to it. (Whether there is a solution
    does not depend on the objective, so the first program already tells.)"""
    from scipy.optimize import Bounds, LinearConstraint, milp

    r1, c1 = aug.shape
    a, _ = _lines(r1 - 1, c1 - 1)
    flat, supf, prim = aug.ravel(), sup.ravel(), primary.ravel()
    s = np.flatnonzero(supf)
    if s.size == 0:
        return {}
    known = np.where(supf, 0, flat).astype(float)
    rows = a[:, s]
    keep = np.abs(rows).sum(axis=1) > 0
    rows, rhs = rows[keep], -(a[keep] @ known)
    big = float(max(flat.max(), 1)) * 4 + 10
    lo = np.where(prim[s], float(small_from), float(min_cell))
    hi = np.where(prim[s], float(min_cell - 1), big)
    cons = [LinearConstraint(rows, rhs, rhs)] if rows.size else []
    out = {}
    for pos, k in enumerate(s):
        if cells is not None and k not in cells:
            continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(s.size)
            c[pos] = sign
            res = milp(c, integrality=np.ones(s.size), bounds=Bounds(lo, hi), constraints=cons)
            if res.status != 0:
                return None
            ends.append(sign * res.fun)
        out[int(k)] = (round(ends[0]), round(ends[1]))
        if stop_at_fixed and out[int(k)][0] == out[int(k)][1]:
            break
    return out


def suppression_pattern(counts: np.ndarray, min_cell: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Augmented table (cells + row totals + column totals + grand total, shape
    (r+1, c+1); for one column only the column total is meaningful) and the
    boolean suppression mask of the same shape. ``suppression_marks`` gives
    which suppressed cells are primary."""
    aug, sup, _, _ = suppression_marks(counts, min_cell)
    return aug, sup


def suppression_marks(counts: np.ndarray, min_cell: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(augmented table, suppressed mask, primary mask, withheld).

    Primary: every published count (cell or total) from 1 to min_cell-1
    (and, only where needed, a zero on the same line: "<m" is "fewer than m").
    Secondary: further non-zero cells (never a zero: so the secondary mark
    always means "min_cell or more") until (1) no line of the table has a
    single suppressed entry, (2) no suppressed value is fixed by the linear
    equations of the published cells and totals (rank test), and (3) no
    suppressed value is fixed by those equations together with what the
    marks say about the hidden values (integer programs,
    ``feasible_ranges``): each hidden count has at least two possible values.
    When even hiding every non-zero count leaves one that can be worked out
    (a tiny table: two 1s and their total of 2), ``withheld`` is True and the
    whole table is withheld (every count, zeros and totals too).
    """
    x = np.asarray(counts, dtype=np.int64)
    if x.ndim != 2:
        raise ValueError("counts must be a 2-D array (rows x columns)")
    if (x < 0).any():
        raise ValueError("counts must be non-negative")
    aug, sup, primary, withheld = _marks_of(x.shape, x.tobytes(), int(min_cell))
    return aug.copy(), sup.copy(), primary.copy(), withheld  # copies: the remembered answer stays as it was


@functools.lru_cache(maxsize=256)
def _marks_of(shape: tuple[int, int], data: bytes, min_cell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``suppression_marks`` of one table, remembered: the pattern is a pure
    function of the counts and min_cell, and its integer programs are most of
    a small site build (the bureau's checklist tables: ~2,500 ``milp`` calls
    at demo scale), which a process building the same data again (a re-run,
    the test suite's runs on the demo) need not repeat."""
    aug = _augmented(np.frombuffer(data, dtype=np.int64).reshape(shape))
    s = _Suppression(aug, min_cell)
    withheld = s.settle()
    sup = s.valid.copy() if withheld else s.sup
    return aug, sup.reshape(aug.shape), (s.primary & sup).reshape(aug.shape), withheld


def forget_suppression_patterns() -> None:
    """Forget the remembered patterns (``_marks_of``), so the next build pays for its integer
    programs as a fresh process would (the benchmark runs every repeat in one process)."""
    _marks_of.cache_clear()


def _augmented(x: np.ndarray) -> np.ndarray:
    """Cells + row totals + column totals + grand total, shape (r+1, c+1)."""
    r, c = x.shape
    aug = np.zeros((r + 1, c + 1), dtype=np.int64)
    aug[:r, :c] = x
    aug[:r, c] = x.sum(axis=1)
    aug[r, :c] = x.sum(axis=0)
    aug[r, c] = x.sum()
    if c == 1:
        aug[:, 1] = aug[:, 0]  # one-way: the "row total" column mirrors the cells, never published separately
    return aug


class _Suppression:
    """The suppression pattern of one augmented table, grown from its primary
    cells (see ``suppression_marks``); masks over the flattened table."""

    def __init__(self, aug: np.ndarray, min_cell: int):
        r, c = aug.shape[0] - 1, aug.shape[1] - 1
        self.aug, self.min_cell = aug, min_cell
        self.a, self.lines = _lines(r, c)
        self.flat = flat = aug.ravel()
        self.valid = np.zeros(flat.size, dtype=bool)
        for m in self.lines:
            self.valid[m] = True
        self.interior = np.zeros_like(self.valid)
        self.interior[[i * (c + 1) + j for i in range(r) for j in range(c)]] = True
        self.primary = self.valid & (flat > 0) & (flat < min_cell)
        self.sup = self.primary.copy()

    def settle(self) -> bool:
        """Suppress until nothing hidden can be worked out; True when the whole table must be withheld."""
        for _ in range(3 * self.flat.size + 3):
            self.close_lines()
            det = determined_cells(self.a, self.sup)
            if det:
                if not self.protect(det[0]):
                    return True
                continue
            pinned = self.pinned()
            if not pinned:
                return False
            if not self.protect(pinned[0]):
                return True
        return True  # no stable pattern within the bound: publish nothing of the table

    def close_lines(self) -> None:
        """Every line with a suppressed cell gets at least two."""
        changed = True
        while changed:
            changed = False
            for m in self.lines:
                if sum(self.sup[k] for k in m) == 1:
                    k = self.pick(m)
                    if k is not None:
                        self.sup[k] = True
                        changed = True

    def pinned(self) -> list[int]:
        """Hidden cells whose value the marks fix. A reader takes "<m" as 1 … m-1, or, where that has no
        solution (hidden zeros), as 0 … m-1; only the first reading that pins a cell is tried."""
        shape, pinned = self.aug.shape, []
        for small_from in ((1, 0) if (self.primary & (self.flat == 0)).any() else (1,)):
            if pinned:  # only the first pinned cell is protected next: the other reading can wait
                break
            ranges = feasible_ranges(self.aug, self.sup.reshape(shape), self.primary.reshape(shape), self.min_cell,
                                     small_from=small_from, stop_at_fixed=True)
            pinned += [k for k, (lo, hi) in (ranges or {}).items() if lo == hi]
        return pinned

    def _order(self, k: int) -> tuple:
        # smallest non-zero interior cell first, then non-zero totals
        return (not self.interior[k], self.flat[k], k)

    def pick(self, members: Iterable[int]) -> int | None:
        cand = [k for k in members if not self.sup[k] and self.flat[k] > 0]
        return min(cand, key=self._order) if cand else None

    def widen(self, k0: int) -> bool:
        """Suppress one more cell on a line of k0 (or anywhere); False when nothing is left."""
        choices = [k for k in (self.pick(m) for m in self.lines if k0 in m) if k is not None]
        if not choices:
            choices = [k for k in range(self.flat.size) if self.valid[k] and not self.sup[k] and self.flat[k] > 0]
            if not choices:
                return False
        self.sup[min(choices, key=self._order)] = True
        return True

    def protect(self, k0: int) -> bool:
        """Hide one more cell so that k0 can no longer be worked out; False when nothing is left."""
        if self.widen(k0):
            return True
        # every non-zero count on its lines is hidden and it can still be worked out (e.g. four 1s and
        # their total of 4, since "<5" is read as 1 … 4): hide the zeros of those lines too, as "<m"
        # (fewer than m is true of 0), so the reader no longer knows how many of the cells are non-zero
        zeros = [k for m in self.lines if k0 in m for k in m
                 if self.valid[k] and not self.sup[k] and self.flat[k] == 0]
        if not zeros:
            return False
        self.sup[zeros] = True
        self.primary[zeros] = True
        return True


def suppress_small_cells(df: pl.DataFrame, value_cols: Sequence[str], min_cell: int = 5,
                         label_cols: Sequence[str] | None = None, total_label: str = "合计",
                         total_col: str = "total") -> pl.DataFrame:
    """Publishable version of a table of raw counts.

    ``df`` has label column(s) and the count columns ``value_cols`` (one column
    = a one-way table). Returns the same rows plus a total row (labels set to
    ``total_label``) and, for two or more value columns, a ``total_col`` row
    total; every count is a string, suppressed ones ``"<{min_cell}"``.
    """
    value_cols = list(value_cols)
    if not value_cols:
        raise ValueError("suppress_small_cells: no value columns")
    missing = [c for c in value_cols if c not in df.columns]
    if missing:
        raise ValueError(f"suppress_small_cells: missing columns {missing}")
    label_cols = list(label_cols) if label_cols is not None else [c for c in df.columns if c not in value_cols]
    counts = df.select(pl.col(value_cols).fill_null(0).cast(pl.Int64)).to_numpy()
    if counts.size and (counts < 0).any():
        raise ValueError("suppress_small_cells: negative counts")
    aug, sup, primary, withheld = suppression_marks(counts.reshape(len(df), len(value_cols)), min_cell)
    txt = np.where(primary, f"<{min_cell}", np.where(sup, SECONDARY_MARK, aug.astype(str))).astype(object)
    if withheld:  # nothing of the table can be shown: every count None (the page says "withheld")
        txt[:] = None
    c = len(value_cols)
    out_cols: dict[str, list] = {}
    for lc in label_cols:
        vals = df[lc].cast(pl.String).to_list()
        out_cols[lc] = vals + [total_label]
    for j, vc in enumerate(value_cols):
        out_cols[vc] = list(txt[:, j])
    if c > 1:
        out_cols[total_col] = list(txt[:, c])
    return pl.DataFrame(out_cols, schema={k: pl.String for k in out_cols})
