"""ID masking and small-cell suppression (reports/privacy.py)."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.privacy import (ID18, find_unmasked_ids, mask_id, mask_id_expr, mask_ids_in_text_expr,
                             suppress_small_cells, suppression_pattern)

ids = st.from_regex(r"\A\d{17}[\dX]\Z", fullmatch=True)


@given(ids)
def test_mask_id_keeps_first_6_and_last_4(s):
    m = mask_id(s)
    assert m == s[:6] + "*" * 8 + s[-4:]
    assert len(m) == 18 and not ID18.search(m)


def test_mask_id_example_and_short_values():
    assert mask_id("11010519900307123X") == "110105********123X"
    assert mask_id("12345") == "*****"
    assert mask_id(None) is None


@given(st.lists(st.one_of(ids, st.text(max_size=12), st.none()), max_size=30))
def test_mask_id_expr_equals_mask_id(values):
    df = pl.DataFrame({"v": values}, schema={"v": pl.String})
    assert df.select(mask_id_expr("v"))["v"].to_list() == [mask_id(v) for v in values]


@given(st.lists(st.one_of(ids, st.text(alphabet="张伟 ,;abc", max_size=5)), min_size=1, max_size=8))
def test_ids_embedded_in_text_are_masked(parts):
    text = "".join(parts)
    out = pl.DataFrame({"t": [text]}).select(mask_ids_in_text_expr("t"))["t"][0]
    assert find_unmasked_ids(out) == []
    for p in parts:
        if ID18.fullmatch(p):
            assert p not in out


# --------------------------------------------------------------------------- suppression
def determined_by_nullspace(aug: np.ndarray, sup: np.ndarray) -> list[tuple[int, int]]:
    """Independent check (SVD null space, not the implementation's rank test):
    a suppressed cell is recoverable from the published cells and totals iff
    every solution of the additive constraints gives it the same value, i.e.
    its coordinate is zero in every null-space vector."""
    r1, c1 = aug.shape
    r, c = r1 - 1, c1 - 1
    idx = {(i, j): k for k, (i, j) in enumerate(zip(*np.nonzero(sup)))}
    if c > 1:
        lines = [[(i, j) for j in range(c)] + [(i, c)] for i in range(r + 1)]
        lines += [[(i, j) for i in range(r)] + [(r, j)] for j in range(c + 1)]
    else:
        lines = [[(i, 0) for i in range(r)] + [(r, 0)]]
    # each line: its members sum to its total (the last member)
    a = np.zeros((len(lines), len(idx)))
    for li, line in enumerate(lines):
        total = line[-1]
        for cell in line:
            if cell in idx:
                a[li, idx[cell]] = -1.0 if cell == total else 1.0
    if not idx:
        return []
    _, s, vt = np.linalg.svd(a) if a.size else (None, np.array([]), np.eye(len(idx)))
    rank = int((s > 1e-9).sum())
    null = vt[rank:]
    out = []
    for cell, k in idx.items():
        if null.shape[0] == 0 or np.allclose(null[:, k], 0, atol=1e-9):
            out.append(cell)
    return out


tables = st.integers(1, 6).flatmap(lambda r: st.integers(1, 5).flatmap(
    lambda c: st.lists(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 60)), min_size=c, max_size=c),
                       min_size=r, max_size=r)))


@settings(max_examples=150, deadline=None)
@given(tables, st.sampled_from([3, 5, 10]))
def test_no_suppressed_count_is_recoverable(rows, min_cell):
    x = np.array(rows, dtype=np.int64)
    aug, sup = suppression_pattern(x, min_cell)
    r, c = x.shape
    # totals are right
    assert (aug[:r, :c] == x).all() and aug[r, c] == x.sum()
    # primary: every published small count (cells and totals) is hidden
    cells = [(i, j) for i in range(r + 1) for j in range(c + 1) if c > 1 or j == 0]
    for i, j in cells:
        if 0 < aug[i, j] < min_cell:
            assert sup[i, j], (i, j)
    # secondary: single subtraction never works ...
    lines = ([[(i, j) for j in range(c + 1)] for i in range(r + 1)] +
             [[(i, j) for i in range(r + 1)] for j in range(c + 1)]) if c > 1 else [[(i, 0) for i in range(r + 1)]]
    for line in lines:
        assert sum(bool(sup[cell]) for cell in line) != 1, line
    # ... nor any combination of rows and columns
    assert determined_by_nullspace(aug, sup) == []


def test_bridge_between_two_blocks_is_not_recoverable():
    """Each line has two suppressed cells, yet the cell joining two blocks would
    be recoverable by adding rows and subtracting columns; it must be protected."""
    x = np.array([[2, 1, 50, 50], [1, 2, 50, 50], [50, 50, 2, 1], [50, 50, 1, 2]])
    aug, sup = suppression_pattern(x, 5)
    assert determined_by_nullspace(aug, sup) == []


def test_suppress_small_cells_output():
    df = pl.DataFrame({"district": ["东城区", "西城区", "海淀区"], "M": [3, 10, 40], "F": [12, 8, 30]})
    out = suppress_small_cells(df, ["M", "F"], min_cell=5)
    assert out.columns == ["district", "M", "F", "total"]
    assert out["district"].to_list()[-1] == "合计"
    row = dict(zip(out.columns, out.row(0)))
    # 3 hidden ("<5"), and 12 withheld with it (row total 15 published): a different mark, not "<5"
    assert row["M"] == "<5" and row["F"] == "—"
    # the column M also needs a second hidden cell: the smallest other one (10), withheld
    assert out["M"].to_list()[:3] == ["<5", "—", "40"]
    assert out["total"].to_list()[-1] == "103"
    # no published number equals a hidden small one
    published = {v for col in ["M", "F", "total"] for v in out[col].to_list() if v not in ("<5", "—")}
    assert "3" not in published


def test_one_way_table_needs_two_suppressed_cells():
    df = pl.DataFrame({"band": ["<25", "25-29", "30-34", "35+"], "n": [2, 40, 33, 9]})
    out = suppress_small_cells(df, ["n"], min_cell=5)
    vals = out["n"].to_list()
    assert vals[-1] == "84"  # the grand total stays
    assert vals[0] == "<5" and vals.count("<5") == 1 and vals[3] == "—"  # 9 is the smallest other cell


def test_suppress_small_cells_rejects_bad_input():
    with pytest.raises(ValueError, match="missing columns"):
        suppress_small_cells(pl.DataFrame({"a": [1]}), ["b"])
    with pytest.raises(ValueError, match="negative"):
        suppress_small_cells(pl.DataFrame({"k": ["x"], "a": [-1]}), ["a"])


def test_the_independent_check_detects_a_recoverable_bridge():
    """The oracle above can fail: two suppressed 2x2 blocks joined by one
    suppressed cell leave that cell recoverable although every line has >= 2."""
    x = np.array([[2, 1, 3, 50], [1, 2, 50, 50], [50, 50, 2, 1], [50, 50, 1, 2]])
    aug = np.zeros((5, 5), dtype=np.int64)
    aug[:4, :4] = x
    aug[:4, 4] = x.sum(1)
    aug[4, :4] = x.sum(0)
    aug[4, 4] = x.sum()
    sup = np.zeros_like(aug, dtype=bool)
    for cell in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (0, 2)]:
        sup[cell] = True
    assert determined_by_nullspace(aug, sup) == [(0, 2)]
    _, fixed = suppression_pattern(x, 5)
    assert determined_by_nullspace(aug, fixed) == []
