"""The benchmark harness's measuring parts (the benchmark itself is not a test)."""
import time

import polars as pl

from pipelines.bench import Sampler, _cpu_seconds, duckdb_floor


def test_sampler_attributes_cpu_and_memory_to_the_window():
    with Sampler(interval=0.01) as s:
        t0 = time.time()
        block = bytearray(64 * 2**20)  # 64 MB touched
        for i in range(0, len(block), 4096):
            block[i] = 1
        c0, x = _cpu_seconds(), 0
        while _cpu_seconds() - c0 < 0.3:  # burn 0.3 s of CPU, however busy the machine
            x += 1
        touched = time.time()
        while not any(stamp >= touched for stamp, _, _ in list(s.samples)):  # the sampler's next sample, not a delay
            time.sleep(0.001)
        t1 = time.time()
    w = s.window(t0, t1)
    assert w["wall_s"] >= 0.3
    assert w["cpu_s"] >= 0.25
    assert w["peak_rss_mb"] >= 64
    del block


def test_duckdb_floor_counts_every_file(tmp_path):
    pl.DataFrame({"id_number": ["a", "a", "b"], "month": ["2024-01"] * 3, "kind": ["income_tax", "social_insurance", "income_tax"]}
                 ).write_parquet(tmp_path / "contributions_1.parquet")
    (tmp_path / "persons.csv").write_text("id_number,name\na,x\nb,y\n", encoding="utf-8")
    f = duckdb_floor(tmp_path)
    assert f["rows_scanned"] == 5
    assert f["groups"] == 3
