"""The built-in synthetic data set against its answer key: every ingest
finding (rule_id, entity_key) and every file's four counts must match."""
import datetime as dt
import json

import duckdb
import polars as pl
import pytest

from assets.ingest.core import OWNED_RULES, ingest_folder


@pytest.mark.slow
def test_demo_ingest_matches_the_answer_key(demo_data):
    folder = demo_data["dir"]
    info = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    con = duckdb.connect(":memory:")
    ingest_folder(folder, con, "demo", dt.date.fromisoformat(info["reference_date"]))
    expected = pl.read_csv(folder / "expected_findings.csv", infer_schema=False).filter(
        pl.col("rule_id").is_in(OWNED_RULES))
    want = set(expected.select("rule_id", "entity_key").iter_rows())
    got = set(con.sql("SELECT rule_id, entity_key FROM findings").fetchall())
    assert len(want) > 20
    assert got == want, {"missing": sorted(want - got)[:10], "extra": sorted(got - want)[:10]}
    log = {r[0]: r[1:] for r in con.sql("SELECT source_file, rows_read, rows_loaded, rows_quarantined, "
                                        "rows_collapsed FROM ingest_log").fetchall()}
    for name, c in info["files"].items():
        mine = [v for k, v in log.items() if k == name or k.startswith(name + "#")]
        assert mine == [(c["rows"], c["loaded"], c["quarantined"], c["collapsed"])], name
    for table, n in info["counts"].items():
        assert con.sql(f"SELECT count(*) FROM {table}").fetchall() == [(n,)], table
