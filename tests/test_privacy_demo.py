"""Privacy on generated data: the demo data set run through the whole job
(conftest ``demo_run``). Every published file is scanned for unmasked ID
numbers; every employer's to-do workbook holds only that employer's people,
including employers whose staff share names with another employer's staff."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import duckdb
import openpyxl
import pytest

from reports.workbook import write_todo_workbooks

pytestmark = pytest.mark.slow

RAW_ID = re.compile(r"\d{17}[\dXx]")
MASKED = re.compile(r"\d{6}\*{8}\d{3}[\dX]")
VENDOR = {"plotly.min.js"}


def _known_ids(con) -> set[str]:
    rows = con.sql("SELECT id_number FROM persons UNION SELECT id_number FROM dependents "
                   "UNION SELECT holder_id_number FROM dependents").fetchall()
    return {r[0] for r in rows if r[0]}


def _text_of(path: Path) -> str:
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    return path.read_bytes().decode("utf-8", errors="replace")


def test_no_unmasked_id_in_any_published_file(demo_run):
    site = Path(demo_run["site"])
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    known = _known_ids(con)
    con.close()
    files = [p for p in site.rglob("*") if p.is_file() and p.suffix in (".html", ".json", ".js", ".csv", ".xlsx",
                                                                          ".txt", ".md")]
    assert files
    for p in files:
        text = _text_of(p)
        hits = set(RAW_ID.findall(text))
        assert not (hits & known), (p, sorted(hits & known)[:3])
        if p.name not in VENDOR:
            assert not hits, (p, sorted(hits)[:3])


def _allowed(con) -> dict[str, set[str]]:
    """uscc -> masked IDs of its own people (permit holders, applicants,
    employees and their dependents), by ID number."""
    rows = con.sql("""
        WITH own AS (SELECT uscc, id_number FROM permits UNION SELECT uscc, id_number FROM applications
                     UNION SELECT uscc, id_number FROM employments)
        SELECT uscc, id_number FROM own
        UNION SELECT o.uscc, d.id_number FROM dependents d JOIN own o ON d.holder_id_number = o.id_number""").fetchall()
    out: dict[str, set[str]] = defaultdict(set)
    for u, i in rows:
        out[u].add(i[:6] + "********" + i[-4:])
    return out


def test_workbooks_hold_only_own_people_on_generated_data(demo_run, tmp_path):
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    n = write_todo_workbooks(con, tmp_path)
    assert n == con.sql("SELECT count(*) FROM employer_summary").fetchall()[0][0] > 0
    allowed = _allowed(con)
    # names shared by people of different employers (the trap: filtering by name would mix them)
    shared = con.sql("""
        WITH pe AS (SELECT DISTINCT p.name, e.uscc, p.id_number FROM persons p JOIN employments e USING (id_number))
        SELECT a.name, a.uscc, b.uscc FROM pe a JOIN pe b ON a.name = b.name AND a.uscc < b.uscc
                                                       AND a.id_number <> b.id_number""").fetchall()
    assert shared, "the generated data should contain namesakes at different employers"
    permits_of = defaultdict(set)
    # an employer's permits, and those whose finding is charged to it (v2: a deferral's
    # XFER-DEFERRAL-* findings go to the holder's new employer, rules.md § Permits)
    for u, no in con.sql("SELECT uscc, permit_no FROM permits UNION SELECT uscc, entity_key FROM findings "
                         "WHERE entity_type = 'permit' AND uscc IS NOT NULL").fetchall():
        permits_of[u].add(no)
    all_permits = {no for s in permits_of.values() for no in s}
    rows_seen = 0
    for book in (tmp_path / "employers").glob("*/todo.xlsx"):
        u = book.parent.name
        wb = openpyxl.load_workbook(book, read_only=True)
        for ws in wb.worksheets[:5]:
            for row in ws.iter_rows(min_row=2, values_only=True):
                rows_seen += 1
                for v in row:
                    if not isinstance(v, str):
                        continue
                    assert not RAW_ID.search(v), (u, ws.title)
                    for m in MASKED.findall(v):
                        assert m in allowed[u], (u, ws.title, m)
                    if v in all_permits:
                        assert v in permits_of[u], (u, ws.title, v)
    assert rows_seen > 0
    con.close()
