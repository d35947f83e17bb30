"""The `permits` command's own behaviour (argument errors, ad-hoc SQL)."""
import csv
import io
import json

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


@pytest.fixture()
def small_wh(tmp_path):
    p = tmp_path / "w.duckdb"
    con = duckdb.connect(str(p))
    con.execute("CREATE TABLE permit_status AS SELECT * FROM (VALUES ('P1', 'haidian', 30), ('P2', 'chaoyang', -5)) t(permit_no, district, days_to_expiry)")
    con.close()
    return p


def test_run_missing_input_is_one_clear_line(tmp_path):
    res = runner.invoke(app, ["run", "--input", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w.duckdb")])
    assert res.exit_code != 0
    assert "nope" in res.output and "Traceback" not in res.output


def test_run_bad_as_of(tmp_path):
    res = runner.invoke(app, ["run", "--input", str(tmp_path), "--as-of", "2026/13/01"])
    assert res.exit_code != 0
    assert "YYYY-MM-DD" in res.output


def test_sql_csv_and_json(small_wh):
    q = "SELECT permit_no, days_to_expiry FROM permit_status ORDER BY permit_no"
    res = runner.invoke(app, ["sql", q, "--warehouse", str(small_wh), "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.output)))
    assert rows == [["permit_no", "days_to_expiry"], ["P1", "30"], ["P2", "-5"]]
    res = runner.invoke(app, ["sql", q, "--warehouse", str(small_wh), "--format", "json"])
    assert json.loads(res.output) == [{"permit_no": "P1", "days_to_expiry": 30}, {"permit_no": "P2", "days_to_expiry": -5}]


def test_sql_table_and_errors(small_wh, tmp_path):
    res = runner.invoke(app, ["sql", "SELECT district FROM permit_status", "--warehouse", str(small_wh)])
    assert res.exit_code == 0 and "haidian" in res.output
    res = runner.invoke(app, ["sql", "SELECT nope FROM permit_status", "--warehouse", str(small_wh)])
    assert res.exit_code != 0 and "nope" in res.output
    res = runner.invoke(app, ["sql", "SELECT 1", "--warehouse", str(tmp_path / "missing.duckdb")])
    assert res.exit_code != 0 and "missing.duckdb" in res.output


def test_sql_is_read_only(small_wh):
    res = runner.invoke(app, ["sql", "DROP TABLE permit_status", "--warehouse", str(small_wh)])
    assert res.exit_code != 0
    con = duckdb.connect(str(small_wh), read_only=True)
    assert con.sql("SELECT count(*) FROM permit_status").fetchall() == [(2,)]
