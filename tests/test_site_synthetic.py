"""The synthetic site warehouse (reports/site/synthetic.py): its values go in as bound parameters,
and its rows are a function of the seed."""
import datetime as dt

import duckdb

from reports.site.synthetic import build_synthetic_warehouse

TABLES = ("employer_summary", "permit_status", "todo_renewals", "bureau_xtab_district_degree", "findings")


def _rows(con, table):
    return con.sql(f"SELECT * FROM {table}").fetchall()


def test_values_are_bound_not_pasted():
    con = duckdb.connect()
    run_id = "run 'quoted' $n {kind}"
    build_synthetic_warehouse(con, employers=30, as_of=dt.date(2024, 2, 29), run_id=run_id)
    assert con.sql("SELECT DISTINCT run_id FROM findings").fetchall() == [(run_id,)]
    assert con.sql("SELECT DISTINCT run_id FROM ingest_log").fetchall() == [(run_id,)]
    assert con.sql("SELECT DISTINCT as_of FROM permit_status").fetchall() == [(dt.date(2024, 2, 29),)]
    assert con.sql("SELECT count(*) FROM employer_summary").fetchall() == [(30,)]


def test_same_seed_same_rows_other_seed_other_rows():
    cons = [duckdb.connect() for _ in range(3)]
    for con, seed in zip(cons, (7, 7, 8)):
        build_synthetic_warehouse(con, employers=12, seed=seed)
    for table in TABLES:
        assert _rows(cons[0], table) == _rows(cons[1], table), table
    assert _rows(cons[0], "employer_summary") != _rows(cons[2], "employer_summary")
