"""Every ```sql block of docs/marts.md runs on a sample warehouse and returns rows."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from assets.marts.build import build_all
from assets.marts.sample import small_world
from assets.settings import PACKAGED_POLICY

DOC = Path(__file__).resolve().parent.parent / "docs" / "marts.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqldocs") / "w.duckdb"
    c = duckdb.connect(str(path))
    w = small_world(c)
    build_all(c, w["as_of"], PACKAGED_POLICY)
    c.close()
    ro = duckdb.connect(str(path), read_only=True)  # as `permits sql` opens it
    yield ro
    ro.close()


def test_there_are_at_least_five_queries():
    assert len(QUERIES) >= 5


@pytest.mark.parametrize("sql", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
def test_documented_query_runs(con, sql):
    rel = con.sql(sql)
    rows = rel.fetchall()
    assert rows, sql
    for r in rows:  # nothing raw: published columns only
        for v in r:
            assert not (isinstance(v, str) and re.search(r"\d{17}[\dX]", v))


def test_permits_sql_command_prints_json(tmp_path):
    """The documented interface itself: `permits sql --format json`."""
    import json

    from typer.testing import CliRunner

    from pipelines.cli import app

    path = tmp_path / "w.duckdb"
    c = duckdb.connect(str(path))
    w = small_world(c)
    build_all(c, w["as_of"], PACKAGED_POLICY)
    c.close()
    res = CliRunner().invoke(app, ["sql", QUERIES[0], "--warehouse", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert {r["permit_no"] for r in rows} >= {"P-OPEN", "P-LAPSED"}
