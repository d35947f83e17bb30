"""Ingest speed benchmark: a synthetic contributions Parquet of N rows.

    .venv/bin/python -m assets.ingest.bench --rows 5000000 --repeat 3

Writes persons.parquet (N / 48 people, 24 months x 2 kinds each) and contributions_bench.parquet into a
temporary folder, runs ``ingest_folder`` into a fresh DuckDB file and prints
the median wall time, rows/s and the process's peak RSS.
"""
from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from assets.ingest import idcheck


def make_inputs(folder: Path, rows: int, seed: int = 7, files: int = 1) -> None:
    people = max(1, rows // 48 + 1)
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 365 * 40, people)
    persons = pl.DataFrame({"d": days, "s": rng.integers(0, 1000, people)}).select(pl.concat_str([
        pl.lit("110105"), (pl.col("d").cast(pl.Int32).cast(pl.Date) + pl.duration(days=3650)).dt.strftime("%Y%m%d"),
        pl.col("s").cast(pl.String).str.zfill(3)]).alias("body")).with_columns(
        (pl.col("body") + "0").alias("tmp")).with_columns(
        (pl.col("body") + idcheck.id_check_char(pl.col("tmp"))).alias("id_number")).unique("id_number")
    persons = persons.select("id_number", pl.lit("测试").alias("name"))
    persons.write_parquet(folder / "persons.parquet")
    months = pl.date_range(dt.date(2023, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True).dt.strftime("%Y-%m")
    contrib = (persons.select("id_number")
               .join(pl.DataFrame({"month": months}), how="cross")
               .join(pl.DataFrame({"kind": ["income_tax", "社保"]}), how="cross")
               .head(rows))
    contrib = contrib.with_columns(
        amount_cny=pl.Series(rng.integers(0, 100000, contrib.height) / 100).cast(pl.String),
        withholder_uscc=pl.lit("91110108000000001A"), withholder_name=pl.lit("测试公司"))
    if files == 1:
        contrib.write_parquet(folder / "contributions_bench.parquet")
    else:  # like the city data set: one file per slice of people
        per = -(-contrib.height // files)
        for i in range(files):
            contrib.slice(i * per, per).write_parquet(folder / f"contributions_{i + 1:02d}.parquet")


def main() -> None:
    from assets.ingest.core import ingest_folder

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--files", type=int, default=1, help="split the contributions into this many Parquet files")
    ap.add_argument("--write-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write_only:
        make_inputs(args.write_only, args.rows, files=args.files)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        t = time.perf_counter()
        # inputs are written by a child process so that peak RSS below is the ingest's alone
        subprocess.run([sys.executable, "-m", "assets.ingest.bench", "--rows", str(args.rows),
                        "--files", str(args.files), "--write-only", str(folder)], check=True)
        print(f"wrote inputs in {time.perf_counter() - t:.1f}s")
        times = []
        for i in range(args.repeat):
            db = Path(tmp) / f"w{i}.duckdb"
            con = duckdb.connect(str(db))
            t = time.perf_counter()
            res = ingest_folder(folder, con, f"bench{i}", dt.date(2025, 1, 1))
            times.append(time.perf_counter() - t)
            n = sum(r["rows_read"] for r in res.log if r["table_name"] == "contributions")
            con.close()
            db.unlink()
            print(f"run {i + 1}: {times[-1]:.1f}s read={sum(r['rows_read'] for r in res.log if r['table_name'] == 'contributions')} loaded={res.tables['contributions']} "
                  f"quarantined={res.quarantined}")
        med = statistics.median(times)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"contributions rows={n} (+ {res.tables['persons']} persons) median={med:.1f}s "
              f"rows/s={n / med:,.0f} "
              f"peak_rss={rss:,.0f} MB")


if __name__ == "__main__":
    main()
