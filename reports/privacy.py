"""Personal-data protection for everything published.

- ``mask_id`` / ``mask_id_expr``: ID numbers as ``110105********123X`` (first 6,
  eight ``*``, last 4); the rule itself lives in ``core.masking``.
- ``mask_ids_in_text_expr`` / ``find_unmasked_ids``: defensive masking and
  scanning of free text for 18-character resident ID numbers.
- ``suppress_small_cells``: small-cell suppression for published counts in
  cross-tabulations and one-way tables with totals. Primary suppression hides
  counts ``1 … min_cell-1`` (shown as ``"<5"``); secondary suppression adds
  complementary cells until no suppressed value can be worked out from the
  published cells and totals (checked by linear algebra, so also chains of
  rows and columns, not only single subtraction).
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np
import polars as pl

from core.masking import mask_id, mask_id_expr  # noqa: F401  (the one masking rule, re-exported)

# any run of 17 digits + digit/X counts, even glued to other text
ID18 = re.compile(r"\d{17}[\dXx]")
_ID18_POLARS = r"(\d{6})\d{8}(\d{3}[\dXx])"


def mask_ids_in_text_expr(col: str) -> pl.Expr:
    """Mask every 18-character ID number embedded in free text."""
    return pl.col(col).cast(pl.String).str.replace_all(_ID18_POLARS, "${1}********${2}").alias(col)


def find_unmasked_ids(text: str) -> list[str]:
    """Every unmasked 18-character ID number in ``text``."""
    return ID18.findall(text or "")


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


def suppression_pattern(counts: np.ndarray, min_cell: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Augmented table (cells + row totals + column totals + grand total, shape
    (r+1, c+1); for one column only the column total is meaningful) and the
    boolean suppression mask of the same shape."""
    x = np.asarray(counts, dtype=np.int64)
    if x.ndim != 2:
        raise ValueError("counts must be a 2-D array (rows x columns)")
    if (x < 0).any():
        raise ValueError("counts must be non-negative")
    r, c = x.shape
    aug = np.zeros((r + 1, c + 1), dtype=np.int64)
    aug[:r, :c] = x
    aug[:r, c] = x.sum(axis=1)
    aug[r, :c] = x.sum(axis=0)
    aug[r, c] = x.sum()
    if c == 1:
        aug[:, 1] = aug[:, 0]  # one-way: the "row total" column mirrors the cells, never published separately
    a, lines = _lines(r, c)
    flat = aug.ravel()
    valid = np.zeros(flat.size, dtype=bool)
    for m in lines:
        valid[m] = True
    interior = np.zeros_like(valid)
    interior[[i * (c + 1) + j for i in range(r) for j in range(c)]] = True
    sup = valid & (flat > 0) & (flat < min_cell)  # primary

    def pick(members: Iterable[int]) -> int | None:
        cand = [k for k in members if not sup[k]]
        if not cand:
            return None
        # smallest non-zero interior cell first, then non-zero totals, then zeros
        return min(cand, key=lambda k: (flat[k] == 0, not interior[k], flat[k], k))

    while True:
        changed = True
        while changed:  # every line with a suppressed cell has at least two
            changed = False
            for m in lines:
                if sum(sup[k] for k in m) == 1:
                    k = pick(m)
                    if k is not None:
                        sup[k] = True
                        changed = True
        det = determined_cells(a, sup)
        if not det:
            break
        k0 = det[0]  # break the chain: add the smallest other cell on one of its lines
        choices = [pick(m) for m in lines if k0 in m]
        choices = [k for k in choices if k is not None]
        if not choices:
            rest = [k for k in range(flat.size) if valid[k] and not sup[k]]
            if not rest:
                break  # everything suppressed
            choices = rest
        sup[min(choices, key=lambda k: (flat[k] == 0, not interior[k], flat[k], k))] = True
    return aug, sup.reshape(aug.shape)


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
    aug, sup = suppression_pattern(counts.reshape(len(df), len(value_cols)), min_cell)
    hidden = f"<{min_cell}"
    txt = np.where(sup, hidden, aug.astype(str))
    r, c = counts.shape[0], len(value_cols)
    out_cols: dict[str, list] = {}
    for lc in label_cols:
        vals = df[lc].cast(pl.String).to_list()
        out_cols[lc] = vals + [total_label]
    for j, vc in enumerate(value_cols):
        out_cols[vc] = list(txt[:, j])
    if c > 1:
        out_cols[total_col] = list(txt[:, c])
    return pl.DataFrame(out_cols, schema={k: pl.String for k in out_cols})
