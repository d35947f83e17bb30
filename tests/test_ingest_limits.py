"""Issue 19 item 1: every reader works within the policy's ``ingest_limits``,
checked while the file streams by, before its data is held in memory; a file
over a limit is rejected with a message naming the file and the limit, and the
run goes on. Small limits exercise the same code paths as the real ones (the
memory figures are measured by assets/ingest/bench_hostile.py)."""
import datetime as dt
import pathlib

import duckdb
import polars as pl
import pytest

from assets.ingest.core import ingest_folder
from assets.ingest.limits import Limits, default_limits
from assets.ingest.xlsxraw import write_xlsx_raw
from core.policy import PolicyError, load_ingest_limits
from fixtures.ingest.make import EMPLOYER_HEADER, PERSON_HEADER, employer_row, make_id, person_row, rows, write_csv

AS_OF = dt.date(2026, 11, 29)
SMALL = default_limits().but(max_file_bytes=20_000, max_xlsx_uncompressed_bytes=40_000, max_line_bytes=2_000,
                             max_columns=40, max_rows=50, max_cells=400, max_xlsx_cells=400)
P = [make_id(seq=i % 100, area=f"11{i // 100:04d}") for i in range(200)]


def _run(folder, limits=SMALL):
    write_csv(folder / "employers.csv", EMPLOYER_HEADER, [employer_row(1)])
    con = duckdb.connect(":memory:")
    res = ingest_folder(folder, con, "t", AS_OF, limits=limits)
    return con, res


def _status(con, label):
    got = rows(con, f"SELECT status, message FROM ingest_files WHERE source_file = '{label}'")
    assert got, rows(con, "SELECT * FROM ingest_files")
    return got[0]


def _rejected_for(con, res, label, key):
    status, message = _status(con, label)
    assert status == "rejected", message
    assert f"ingest_limits.{key}" in message and label.split("#")[0] in message and "超出读取限制" in message
    assert label in [f["source_file"] for f in res.rejected_files()]
    assert res.tables["employers"] == 1  # the run went on


@pytest.fixture
def no_whole_reads(monkeypatch):
    """Reading a whole file or handing it to the Excel reader fails: a limit must be found before."""
    real = pathlib.Path.read_bytes

    def refuse(*a, **k):
        raise AssertionError("the file was materialised before its limits were checked")
    monkeypatch.setattr(pathlib.Path, "read_bytes", lambda self: real(self) if self.name == "employers.csv"
                        else refuse())
    import fastexcel
    monkeypatch.setattr(fastexcel, "read_excel", refuse)


# ------------------------------------------------------------------ CSV

def test_csv_line_over_the_limit_is_found_while_streaming(tmp_path, no_whole_reads):
    (tmp_path / "contributions.csv").write_bytes(b"id_number,month,kind\n" + b"1," * 5_000 + b"1\n")
    con, res = _run(tmp_path)
    _rejected_for(con, res, "contributions.csv", "max_line_bytes")


def test_csv_file_over_the_size_limit(tmp_path, no_whole_reads):
    write_csv(tmp_path / "persons.csv", PERSON_HEADER, [person_row(p, name="张" * 30) for p in P[:200]])
    con, res = _run(tmp_path, SMALL.but(max_rows=1000, max_cells=10_000))
    _rejected_for(con, res, "persons.csv", "max_file_bytes")


def test_csv_too_many_columns(tmp_path):
    write_csv(tmp_path / "persons.csv", PERSON_HEADER + [f"x{i}" for i in range(60)],
              [person_row(P[0]) + ["1"] * 60])
    con, res = _run(tmp_path)
    _rejected_for(con, res, "persons.csv", "max_columns")


def test_csv_a_ragged_record_with_too_many_cells(tmp_path):
    write_csv(tmp_path / "persons.csv", PERSON_HEADER, [person_row(P[0]), person_row(P[1]) + ["1"] * 60])
    con, res = _run(tmp_path)
    _rejected_for(con, res, "persons.csv", "max_columns")


@pytest.mark.parametrize("n,ok", [(50, True), (51, False)])
def test_csv_rows_limit_is_exact(tmp_path, n, ok):
    write_csv(tmp_path / "persons.csv", ["id_number", "name"], [[p, "张三"] for p in P[:n]])
    con, res = _run(tmp_path, SMALL.but(max_cells=10_000))
    if ok:
        assert _status(con, "persons.csv")[0] == "loaded" and res.tables["persons"] == n
    else:
        _rejected_for(con, res, "persons.csv", "max_rows")


def test_csv_cells_limit(tmp_path):
    write_csv(tmp_path / "persons.csv", PERSON_HEADER, [person_row(p) for p in P[:49]])  # 250 cells
    con, res = _run(tmp_path, SMALL.but(max_cells=200))
    _rejected_for(con, res, "persons.csv", "max_cells")


# ------------------------------------------------------------------ Excel

def _sheet(n_rows, extra_cols=0):
    return [PERSON_HEADER + [f"x{i}" for i in range(extra_cols)]] + [person_row(p) + ["1"] * extra_cols
                                                                      for p in P[:n_rows]]


def test_xlsx_that_inflates_beyond_the_limit(tmp_path, no_whole_reads):
    # highly compressible: a few KB on disk, > 40 KB inflated
    rows_xml = iter(['<row><c t="inlineStr"><is><t>id_number</t></is></c></row>']
                    + ['<row><c t="inlineStr"><is><t>110105199003070011</t></is></c></row>'] * 3_000)
    path = write_xlsx_raw(tmp_path / "persons.xlsx", {"persons": rows_xml}, level=9)
    assert path.stat().st_size < 10_000
    con, res = _run(tmp_path, SMALL.but(max_rows=10_000, max_xlsx_cells=100_000))
    _rejected_for(con, res, "persons.xlsx", "max_xlsx_uncompressed_bytes")


def test_xlsx_declared_sizes_over_the_limit_are_refused_before_inflating(tmp_path, monkeypatch):
    import zipfile
    write_xlsx_raw(tmp_path / "persons.xlsx", {"persons": _sheet(3)})
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a) or real_open(self, *a, **k))
    con, res = _run(tmp_path, SMALL.but(max_xlsx_uncompressed_bytes=500))
    _rejected_for(con, res, "persons.xlsx", "max_xlsx_uncompressed_bytes")
    assert not [a for a in opened if "worksheets" in str(a[0])]


def test_xlsx_too_many_columns_in_a_row(tmp_path, no_whole_reads):
    write_xlsx_raw(tmp_path / "persons.xlsx", {"persons": _sheet(2, extra_cols=50)})
    con, res = _run(tmp_path, SMALL.but(max_xlsx_cells=100_000))
    _rejected_for(con, res, "persons.xlsx", "max_columns")


def test_xlsx_a_far_cell_reference_spans_too_many_columns(tmp_path, no_whole_reads):
    far = '<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c><c r="ZZ2" t="inlineStr"><is><t>y</t></is></c></row>'
    write_xlsx_raw(tmp_path / "persons.xlsx", {"persons": iter(['<row r="1"><c r="A1" t="inlineStr"><is><t>id_number'
                                                                '</t></is></c></row>', far])})
    con, res = _run(tmp_path, SMALL.but(max_xlsx_cells=100_000))
    _rejected_for(con, res, "persons.xlsx", "max_columns")


def test_xlsx_too_many_rows_and_a_far_row_number(tmp_path, no_whole_reads):
    write_xlsx_raw(tmp_path / "persons.xlsx", {"persons": _sheet(60)})
    far = '<row r="900000"><c t="inlineStr"><is><t>x</t></is></c></row>'
    write_xlsx_raw(tmp_path / "persons_far.xlsx", {"persons": iter([
        '<row r="1"><c t="inlineStr"><is><t>id_number</t></is></c></row>', far])})
    con, res = _run(tmp_path, SMALL.but(max_xlsx_cells=10_000_000, max_cells=10_000_000))
    _rejected_for(con, res, "persons.xlsx", "max_rows")
    _rejected_for(con, res, "persons_far.xlsx", "max_rows")


def test_xlsx_cells_limit(tmp_path, no_whole_reads):
    write_xlsx_raw(tmp_path / "persons.xlsx", {"persons": _sheet(45)})  # 230 cells
    con, res = _run(tmp_path, SMALL.but(max_xlsx_cells=200))
    _rejected_for(con, res, "persons.xlsx", "max_xlsx_cells")


def test_xlsx_within_the_limits_is_read(tmp_path):
    write_xlsx_raw(tmp_path / "persons.xlsx", {"persons": _sheet(20)})
    con, res = _run(tmp_path)
    assert _status(con, "persons.xlsx#persons")[0] == "loaded" and res.tables["persons"] == 20


# ------------------------------------------------------------------ Parquet

@pytest.mark.parametrize("key,n_rows,n_cols", [("max_rows", 60, 2), ("max_columns", 2, 45), ("max_cells", 45, 9)])
def test_parquet_limits_from_the_metadata(tmp_path, monkeypatch, key, n_rows, n_cols):
    df = pl.DataFrame({"id_number": P[:n_rows], **{f"x{i}": ["1"] * n_rows for i in range(n_cols - 1)}})
    df.write_parquet(tmp_path / "persons.parquet")
    monkeypatch.setattr(pl, "read_parquet", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read")))
    con, res = _run(tmp_path)
    _rejected_for(con, res, "persons.parquet", key)


# ------------------------------------------------------------------ the policy

def test_limits_come_from_the_policy_file_and_are_validated(tmp_path):
    base = load_ingest_limits()
    assert set(base) == {f for f in Limits.__dataclass_fields__}
    p = tmp_path / "policy.yaml"
    p.write_text("defaults: {min_cell: 5}\ningest_limits:\n  max_rows: 7\n", encoding="utf-8")
    assert Limits.from_policy(p) == Limits(**{**base, "max_rows": 7})
    p.write_text("defaults: {min_cell: 5}\ningest_limits:\n  max_rows: -1\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="max_rows"):
        load_ingest_limits(p)
    p.write_text("defaults: {min_cell: 5}\ningest_limits:\n  max_rowz: 5\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="max_rowz"):
        load_ingest_limits(p)
