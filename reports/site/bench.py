"""Measure site publishing at city scale on a synthetic mart set.

    .venv/bin/python -m reports.site.bench --employers 50000 --repeat 3 [--workbooks]

Prints the median of each phase and pages per second. The synthetic
warehouse holds the marts of docs/marts.md (reports/site/synthetic.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from reports.site import publish_site
from reports.site.publish import remove_tree
from reports.site.synthetic import build_synthetic_warehouse


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--employers", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workbooks", action="store_true", help="also write todo.xlsx per employer (reports.workbook)")
    ap.add_argument("--out", type=Path, default=None, help="folder for the warehouse and site (default: a temp dir)")
    args = ap.parse_args(argv)
    base = args.out or Path(tempfile.mkdtemp(prefix="site-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    wh = base / "bench.duckdb"
    t = time.perf_counter()
    con = duckdb.connect(str(wh))
    build_synthetic_warehouse(con, employers=args.employers, as_of=dt.date(2026, 6, 30), big_employer_rows=2000)
    rows = {t_: con.sql(f"SELECT count(*) FROM {t_}").fetchall()[0][0] for t_ in
            ("employer_summary", "permit_status", "applications", "todo_renewals", "todo_cancellations",
             "todo_contribution_gaps", "todo_failing_applications", "todo_candidates_90d")}
    print(f"synthetic warehouse: {time.perf_counter() - t:.1f} s, rows {rows}")
    runs = []
    for i in range(args.repeat):
        t = time.perf_counter()
        res = publish_site(con, base / "site", run_id=f"bench-{i}", as_of=dt.date(2026, 6, 30),
                           workbooks=args.workbooks)
        wall = time.perf_counter() - t
        runs.append({"wall": wall, **res.seconds, "pages": res.employer_pages, "largest": res.largest_employer_page,
                     "bytes": res.bytes_total, "bureau": res.bureau_page_bytes})
        print(f"run {i + 1}: {wall:.1f} s wall, phases {res.seconds}, {res.employer_pages} employer pages, "
              f"largest {res.largest_employer_page / 1024:.0f} KB, bureau {res.bureau_page_bytes / 1024:.0f} KB, "
              f"site {res.bytes_total / 1e6:.0f} MB")
    med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "employer_data", "employer_pages", "total")}
    if args.workbooks:
        med["workbooks"] = statistics.median(r.get("workbooks", 0) for r in runs)
    pages = runs[0]["pages"]
    print(f"MEDIAN of {len(runs)}: publish {med['wall']:.1f} s for {pages} employer pages "
          f"({pages / med['wall']:.0f} pages/s overall; data {med['employer_data']:.1f} s, page writing "
          f"{med['employer_pages']:.1f} s = {pages / max(med['employer_pages'], 1e-9):.0f} pages/s)"
          + (f"; todo.xlsx {med['workbooks']:.1f} s" if args.workbooks else ""))
    con.close()
    if args.out is None:
        remove_tree(base)
    return med


if __name__ == "__main__":
    main()
