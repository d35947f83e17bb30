"""`permits sql` reads the warehouse and nothing else (issue 19 item 6)."""
import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


@pytest.fixture()
def wh(tmp_path):
    p = tmp_path / "w.duckdb"
    con = duckdb.connect(str(p))
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(x, y)")
    con.close()
    return p


def _q(wh, query):
    return runner.invoke(app, ["sql", query, "--warehouse", str(wh), "--format", "csv"])


def test_select_works(wh):
    res = _q(wh, "SELECT sum(x) AS s FROM t")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == ["s", "3"]


@pytest.mark.parametrize("make", [
    lambda d: f"COPY (SELECT 1) TO '{d / 'out.csv'}'",
    lambda d: f"COPY t TO '{d / 'out.csv'}' (FORMAT csv)",
    lambda d: f"EXPORT DATABASE '{d / 'exp'}'",
])
def test_no_file_is_written(wh, tmp_path, make):
    before = sorted(p.name for p in tmp_path.iterdir())
    res = _q(wh, make(tmp_path))
    assert res.exit_code != 0
    assert "read-only" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("query", [
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
])
def test_no_other_file_is_read(wh, query):
    res = _q(wh, query)
    assert res.exit_code != 0
    assert "root:" not in res.output and "read-only" in res.output


def test_no_extension_attach_or_set(wh, tmp_path):
    for query in ["INSTALL httpfs", "LOAD httpfs", f"ATTACH '{tmp_path / 'other.duckdb'}' AS o",
                  "SET enable_external_access = true", "SET autoinstall_known_extensions = true",
                  "RESET lock_configuration", "SELECT * FROM read_parquet('https://example.invalid/x.parquet')"]:
        res = _q(wh, query)
        assert res.exit_code != 0, query
    assert not (tmp_path / "other.duckdb").exists()
    # and after all that the warehouse reads as before
    assert _q(wh, "SELECT count(*) AS n FROM t").output.splitlines() == ["n", "2"]


def test_no_write_to_the_warehouse(wh):
    for query in ["DROP TABLE t", "INSERT INTO t VALUES (3, 'c')", "CREATE TABLE u (x INT)"]:
        assert _q(wh, query).exit_code != 0, query
    con = duckdb.connect(str(wh), read_only=True)
    assert con.sql("SELECT count(*) FROM t").fetchall() == [(2,)]
    con.close()


def test_damaged_warehouse_names_the_way_back(tmp_path):
    bad = tmp_path / "w.duckdb"
    bad.write_bytes(b"not a database" * 1000)
    res = _q(bad, "SELECT 1")
    assert res.exit_code != 0
    assert "damaged" in res.output and "mv " in res.output and "Traceback" not in res.output
