"""Benchmark of the material checklists (docs/checklists.md): the checklist
marts and the printable pages for every open application, on a fraction of a
city warehouse. Not a test: it prints figures (and writes them as JSON).

A fraction f keeps the employers whose ``hash(uscc)`` falls in the first f of
the range, with their applications, the applicants, their dependents and the
findings (everything the checklists read), copied read-only from the source
warehouse into a scratch DuckDB file. It then times, in one process:
the marts (``build_all_checklists`` after ``prepare``), the pages written into
an empty folder, the pages written again over the same folder (what a
published site's rebuild does: ``publish_site`` reuses the previous folder),
and the bureau data. Scaling to the whole city is linear in open applications
(one row per open application and item; one file per open application):
the report says so and gives the factor.

    .venv/bin/python -m pipelines.bench_checklists --source /work/city/warehouse.duckdb --fraction 0.1
"""
from __future__ import annotations

import datetime as dt
import json
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import typer

from assets.marts.build import prepare
from assets.marts.checklists import build_all_checklists
from assets.settings import PACKAGED_POLICY
from reports.site.builder import _env
from reports.site.checklist import bureau_checklists_data, write_checklist_pages

SAMPLED = ("employers", "applications", "persons", "dependents", "findings", "rules")


def sample_warehouse(source: Path, target: Path, fraction: float) -> dict:
    """Copy the tables the checklists read for a fraction of the employers."""
    con = duckdb.connect(str(target))
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    cut = int(fraction * 2**32)
    con.execute(f"CREATE TABLE employers AS SELECT * FROM src.employers WHERE hash(uscc) % 4294967296 < {cut}")
    con.execute("CREATE TABLE applications AS SELECT * FROM src.applications WHERE uscc IN (SELECT uscc FROM employers)")
    con.execute("""CREATE TABLE persons AS SELECT * FROM src.persons
                   WHERE id_number IN (SELECT id_number FROM applications)""")
    con.execute("""CREATE TABLE dependents AS SELECT * FROM src.dependents
                   WHERE holder_id_number IN (SELECT id_number FROM persons)""")
    con.execute("""CREATE TABLE findings AS SELECT * FROM src.findings
                   WHERE uscc IN (SELECT uscc FROM employers) OR entity_type IN ('person', 'dependent')""")
    con.execute("CREATE TABLE rules AS SELECT * FROM src.rules")
    counts = {t: con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in SAMPLED}
    as_of = con.sql("SELECT max(as_of) FROM findings").fetchall()[0][0]
    con.execute("DETACH src")
    con.close()
    return {"rows": counts, "as_of": as_of.isoformat() if as_of else None}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(db: Path, site: Path, as_of: dt.date) -> dict:
    """Wall seconds (``*_s``) and this process's CPU seconds (``*_cpu``) per step:
    on a shared machine the wall time includes waiting for the other processes."""
    con = duckdb.connect(str(db))
    out: dict = {}

    def step(label, fn):
        t, c = time.perf_counter(), _cpu()
        value = fn()
        out[f"{label}_s"], out[f"{label}_cpu"] = round(time.perf_counter() - t, 3), round(_cpu() - c, 3)
        return value

    policy = step("prepare", lambda: prepare(con, as_of, PACKAGED_POLICY))
    out["rows"] = step("marts", lambda: build_all_checklists(con, as_of, policy))
    env = _env()
    for label in ("pages_fresh", "pages_rewrite"):
        res = step(label, lambda: write_checklist_pages(con, site, env, as_of, "bench"))
        out["pages"], out["pages_bytes"] = res.pages, res.bytes
    step("bureau", lambda: bureau_checklists_data(con, 5))
    con.close()
    return out


def main(source: Path = typer.Option(Path("/work/city/warehouse.duckdb"), help="city warehouse (read only)"),
         fraction: float = typer.Option(0.1), repeats: int = typer.Option(1),
         city_open: int = typer.Option(0, help="open applications of the whole city, for the extrapolation "
                                                "(0: counted in the source, read only)"),
         json_out: Path = typer.Option(None, help="write the figures here")) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-checklists-"))
    try:
        db = work / "sample.duckdb"
        t = time.perf_counter()
        info = sample_warehouse(source, db, fraction)
        info["sample_s"] = round(time.perf_counter() - t, 2)
        as_of = dt.date.fromisoformat(info["as_of"])
        runs = []
        for i in range(repeats):
            site = work / f"site-{i}"
            runs.append(measure(db, site, as_of))
            shutil.rmtree(site, ignore_errors=True)
        if not city_open:
            src = duckdb.connect(str(source), read_only=True)
            city_open = src.sql("SELECT count(*) FROM applications WHERE status IN ('draft', 'person_submitted', "
                                "'employer_submitted', 'under_review', 'returned')").fetchall()[0][0]
            src.close()
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k.endswith(("_s", "_cpu"))}
        pages = runs[0]["pages"]
        factor = city_open / pages if pages else 0.0
        added = med["marts_s"] + med["pages_rewrite_s"] + med["bureau_s"]
        added_cpu = med["marts_cpu"] + med["pages_rewrite_cpu"] + med["bureau_cpu"]
        report = {"when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "fraction": fraction,
                  "sample": info, "runs": runs, "median": med, "open_applications_sample": pages,
                  "open_applications_city": city_open, "scale_factor": round(factor, 2),
                  "added_publish_s_sample": round(added, 2),
                  "added_publish_s_city_linear": round(added * factor, 1),
                  "added_publish_cpu_s_sample": round(added_cpu, 2),
                  "added_publish_cpu_s_city_linear": round(added_cpu * factor, 1)}
        print(json.dumps(report, indent=2, ensure_ascii=False))
        if json_out:
            Path(json_out).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    typer.run(main)
