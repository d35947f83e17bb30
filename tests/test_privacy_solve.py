"""Small-cell statistics that are both safe and true (issue 19 item 5),
checked the way a reader would attack them: read only what is published,
then solve for every hidden count.

The reader's model is built here from the published strings alone (no code
shared with reports/privacy.py): a number is known, "<m" is 1 … m-1, "—" is
at least m (what the note under the table says), every row and column adds
up to its total. Integer programs give each hidden count's smallest and
largest possible value; a hidden count is recovered when the two are equal.
"""
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from reports.privacy import SECONDARY_MARK, suppress_small_cells


def reader_solves(grid: list[list[str]], min_cell: int, two_way: bool) -> dict:
    """grid: published strings, rows then the total row; with two_way, the
    last column is the row total. Returns {(i, j): (lo, hi)} of the hidden cells."""
    r1, c1 = len(grid), len(grid[0])
    if all(v is None for row in grid for v in row):
        return {}  # the whole table withheld: nothing to solve
    hidden = [(i, j) for i in range(r1) for j in range(c1) if not grid[i][j].isdigit()]
    if not hidden:
        return {}
    big = 10 ** 6
    ranges = _solve(grid, hidden, min_cell, two_way, small_from=1, big=big)
    if ranges is None:  # "<m" cannot all be 1 or more here: some are 0 ("fewer than m")
        ranges = _solve(grid, hidden, min_cell, two_way, small_from=0, big=big)
    assert ranges is not None, "the published table has no solution at all"
    return ranges


def _solve(grid, hidden, min_cell, two_way, small_from, big):
    r1, c1 = len(grid), len(grid[0])
    col = {cell: k for k, cell in enumerate(hidden)}
    lo = [small_from if grid[i][j] == f"<{min_cell}" else min_cell for i, j in hidden]
    hi = [min_cell - 1 if grid[i][j] == f"<{min_cell}" else big for i, j in hidden]
    for i, j in hidden:
        assert grid[i][j] in (f"<{min_cell}", SECONDARY_MARK), grid[i][j]
    lines = []  # (cells that add up, the total cell)
    cols = c1 - 1 if two_way else c1
    for j in range(cols):
        lines.append(([(i, j) for i in range(r1 - 1)], (r1 - 1, j)))
    if two_way:
        for i in range(r1):
            lines.append(([(i, j) for j in range(c1 - 1)], (i, c1 - 1)))
        lines.append(([(r1 - 1, j) for j in range(c1 - 1)], (r1 - 1, c1 - 1)))
    a, b = [], []
    for members, total in lines:
        row, rhs = np.zeros(len(hidden)), 0.0
        for cell, sign in [(m, 1.0) for m in members] + [(total, -1.0)]:
            if cell in col:
                row[col[cell]] += sign
            else:
                rhs -= sign * int(grid[cell[0]][cell[1]])
        if row.any():
            a.append(row)
            b.append(rhs)
        else:
            assert rhs == 0, "published figures do not add up"
    cons = [LinearConstraint(np.array(a), b, b)] if a else []
    out = {}
    for cell, k in col.items():
        ends = []
        for sign in (1, -1):
            c = np.zeros(len(hidden))
            c[k] = sign
            res = milp(c, integrality=np.ones(len(hidden)), bounds=Bounds(lo, hi), constraints=cons)
            if res.status != 0:
                return None
            ends.append(round(sign * res.fun))
        out[cell] = tuple(ends)
    return out


def published_grid(x: np.ndarray, min_cell: int) -> tuple[list[list[str]], bool]:
    r, c = x.shape
    cols = [f"c{j}" for j in range(c)]
    df = pl.DataFrame({"label": [f"r{i}" for i in range(r)], **{n: x[:, j] for j, n in enumerate(cols)}})
    out = suppress_small_cells(df, cols, min_cell=min_cell, label_cols=["label"])
    shown = cols + (["total"] if c > 1 else [])
    return [list(row) for row in out.select(shown).rows()], c > 1


tables = st.integers(1, 5).flatmap(lambda r: st.integers(1, 4).flatmap(
    lambda c: st.lists(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 40)), min_size=c, max_size=c),
                       min_size=r, max_size=r)))


@settings(max_examples=120, deadline=None)
@given(tables, st.sampled_from([3, 5]))
def test_no_hidden_count_can_be_solved_for(rows, min_cell):
    x = np.array(rows, dtype=np.int64)
    grid, two_way = published_grid(x, min_cell)
    ranges = reader_solves(grid, min_cell, two_way)
    for cell, (lo, hi) in ranges.items():
        assert lo < hi, f"hidden cell {cell} is recoverable: it can only be {lo} ({grid})"
    # and every published figure is the true one
    r, c = x.shape
    if all(v is None for row in grid for v in row):
        return  # withheld whole: nothing published, nothing to check
    for i in range(r):
        for j in range(c):
            if grid[i][j].isdigit():
                assert int(grid[i][j]) == x[i, j]
    # "<m" only ever stands for 1 … m-1, the other mark only for m or more
    for i in range(r):
        for j in range(c):
            if grid[i][j] == f"<{min_cell}":
                assert 0 <= x[i, j] < min_cell
            elif grid[i][j] == SECONDARY_MARK:
                assert x[i, j] >= min_cell


@pytest.mark.parametrize("rows", [
    [[1, 1]],                       # two small cells summing to a published 2: the total is small too
    [[1, 5], [7, 9]],               # a withheld 5 beside a 1 on a row of 6
    [[2, 30], [3, 40], [50, 60]],
    [[1], [1], [40]],               # one-way: two ones, a total of 42
])
def test_known_leaks_are_closed(rows):
    grid, two_way = published_grid(np.array(rows), 5)
    assert all(lo < hi for lo, hi in reader_solves(grid, 5, two_way).values()), grid
