"""A small stand-in asset graph with the real run machinery (PermitsSettings,
Warehouse staging + lock, the real `warehouse_commit`, `execute_run`), used
by the orchestration, fault and sensor tests. It can pause at a named point
(env PERMITS_FAULT=<point>, PERMITS_FAULT_MARKER=<file>) so a test can SIGKILL
the process there.

Run as a script it executes one run:
    python tests/test_orchestration_toy.py INPUT AS_OF WAREHOUSE SITE
and prints the run summary as JSON.
"""
import csv
import datetime as dt
import json
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dagster import (AssetCheckResult, AssetExecutionContext, AssetSpec, Definitions, MaterializeResult,  # noqa: E402
                     asset, asset_check, define_asset_job, in_process_executor, multi_asset)

from assets.commit import warehouse_commit  # noqa: E402
from assets.settings import AS_OF_PARTITIONS, INGEST_OP, IngestConfig, PermitsSettings, resolve_as_of  # noqa: E402
from assets.warehouse import Warehouse, ensure_findings_tables, rows_metadata  # noqa: E402
from reports.site.builder import SiteResult  # noqa: E402
from reports.site.publish import stage_site  # noqa: E402

FAULT_POINTS = ("between_assets", "mid_warehouse", "mid_site", "before_commit")


def fault_point(name: str) -> None:
    """Pause here (until killed) when the test asked for this point
    (PERMITS_FAULT); raise here when PERMITS_FAULT_RAISE names it."""
    if os.environ.get("PERMITS_FAULT_RAISE") == name:
        raise ValueError(f"people.csv row 3 column born: injected failure at {name} (rule TOY-AGE)")
    if os.environ.get("PERMITS_FAULT") == name:
        marker = os.environ.get("PERMITS_FAULT_MARKER")
        if marker:
            Path(marker).write_text(name)
        threading.Event().wait()  # paused here until the test kills the process


@multi_asset(specs=[AssetSpec("people", group_name="ingest", kinds={"duckdb"})], partitions_def=AS_OF_PARTITIONS,
             name=INGEST_OP)  # the real ingest step's name and config: the runner and the automation configure it
def people(context: AssetExecutionContext, config: IngestConfig, settings: PermitsSettings,
           warehouse: Warehouse) -> MaterializeResult:
    t0 = time.perf_counter()
    src = sorted(config.folder(settings).glob("*.csv"))
    rows, log, files = [], [], []
    rid = context.run.run_id
    for f in src:
        with f.open(encoding="utf-8") as fh:
            got = list(csv.DictReader(fh))
        if got and "pid" not in got[0]:  # like the ingest layer: a missing required column rejects the file
            files.append((rid, f.name, None, "rejected", f"文件 {f.name} 缺少必填列 pid / {f.name} is missing pid"))
            continue
        rows += [(r["pid"], r["born"], r["uscc"]) for r in got]
        log.append((rid, f.name, "people", len(got), len(got), 0, 0))
        files.append((rid, f.name, "people", "loaded", ""))
    with warehouse.run_connection(context.run.run_id) as con:
        con.execute("CREATE OR REPLACE TABLE people (pid VARCHAR, born DATE, uscc VARCHAR)")
        half = len(rows) // 2
        con.execute("BEGIN")
        if rows[:half]:
            con.executemany("INSERT INTO people VALUES (?, ?, ?)", rows[:half])
        fault_point("mid_warehouse")  # killed inside an open transaction of the staging copy
        if rows[half:]:
            con.executemany("INSERT INTO people VALUES (?, ?, ?)", rows[half:])
        con.execute("COMMIT")
        con.execute("CREATE TABLE IF NOT EXISTS ingest_log (run_id VARCHAR, source_file VARCHAR, table_name VARCHAR, "
                    "rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, rows_collapsed BIGINT)")
        con.execute("DELETE FROM ingest_log")
        if log:
            con.executemany("INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?)", log)
        con.execute("CREATE OR REPLACE TABLE ingest_files (run_id VARCHAR, source_file VARCHAR, table_name VARCHAR, "
                    "status VARCHAR, message VARCHAR)")
        if files:
            con.executemany("INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?)", files)
        return MaterializeResult(metadata=rows_metadata(con, ["people", "ingest_log"], t0))


@asset(group_name="rules", kinds={"duckdb"}, deps=[people], partitions_def=AS_OF_PARTITIONS)
def findings(context: AssetExecutionContext, settings: PermitsSettings, warehouse: Warehouse) -> MaterializeResult:
    """TOY-AGE (error): born more than 60 years before as_of; TOY-YOUNG (info): under 25."""
    t0 = time.perf_counter()
    as_of = resolve_as_of(context)
    rid = context.run.run_id
    with warehouse.run_connection(rid) as con:
        ensure_findings_tables(con)
        con.execute("DELETE FROM findings")
        con.execute(f"""
            INSERT INTO findings
            SELECT '{rid}', DATE '{as_of}', rule_id, severity, 'person', pid, uscc, pid, NULL,
                   msg_zh, msg_en, to_json({{'age': age}}), false
            FROM (SELECT *, date_diff('year', born, DATE '{as_of}') -
                         CASE WHEN strftime(born, '%m%d') > strftime(DATE '{as_of}', '%m%d') THEN 1 ELSE 0 END AS age
                  FROM people) p,
                 (VALUES ('TOY-AGE', 'error', '超龄', 'over age', 60, 200),
                         ('TOY-YOUNG', 'info', '年轻', 'young', -1, 25)) r(rule_id, severity, msg_zh, msg_en, lo, hi)
            WHERE (rule_id = 'TOY-AGE' AND age >= lo) OR (rule_id = 'TOY-YOUNG' AND age < hi)""")
        con.execute(f"DELETE FROM findings_history WHERE run_id = '{rid}'")
        con.execute("INSERT INTO findings_history SELECT *, 'toy-policy v1' FROM findings")
        return MaterializeResult(metadata=rows_metadata(con, ["findings", "findings_history"], t0))


@asset_check(asset=findings)
def findings_have_keys(context) -> AssetCheckResult:
    return AssetCheckResult(passed=True)


@asset(group_name="marts", kinds={"duckdb"}, deps=[findings], partitions_def=AS_OF_PARTITIONS)
def employer_summary(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    fault_point("between_assets")  # rules finished, marts not started writing
    t0 = time.perf_counter()
    with warehouse.run_connection(context.run.run_id) as con:
        con.execute("""CREATE OR REPLACE TABLE employer_summary AS
                       SELECT p.uscc, count(DISTINCT p.pid) AS people, count(f.rule_id) AS findings
                       FROM people p LEFT JOIN findings f ON f.entity_key = p.pid GROUP BY ALL ORDER BY 1""")
        return MaterializeResult(metadata=rows_metadata(con, ["employer_summary"], t0))


def _toy_pages(con, out: Path, *, run_id: str, as_of) -> object:
    """The toy's site content, written by the real publish (reports.site.publish.stage_site)."""
    emp = con.sql("SELECT uscc, people, findings FROM employer_summary ORDER BY uscc").fetchall()
    pages = {"index.html": f"<html><body>as_of {as_of} run {run_id}</body></html>"}
    for uscc, n, f in emp:
        pages[f"employers/{uscc}/index.html"] = f"<html><body>{uscc} {n} {f} run {run_id}</body></html>"
    out.mkdir(parents=True, exist_ok=True)
    for i, (name, html) in enumerate(pages.items()):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(html, encoding="utf-8")
        if i == len(pages) // 2:
            fault_point("mid_site")
    return SiteResult(site_dir=str(out), pages=len(pages))


@asset(group_name="publish", kinds={"html"}, deps=[employer_summary], partitions_def=AS_OF_PARTITIONS)
def site(context: AssetExecutionContext, settings: PermitsSettings, warehouse: Warehouse) -> MaterializeResult:
    as_of = resolve_as_of(context)
    with warehouse.run_connection(context.run.run_id) as con:
        # staged like the real site asset; the real warehouse_commit swaps it in after the warehouse
        res = stage_site(con, Path(settings.site_dir).resolve(), run_id=context.run.run_id, background_cleanup=False,
                         build=_toy_pages, as_of=as_of)
    fault_point("before_commit")
    return MaterializeResult(metadata={"pages": res.pages})


def toy_defs(data: Path | None = None, schedules=(), sensors=()) -> Definitions:
    from pipelines.automation import JOB_NAME

    base = data or Path("/nonexistent-toy")
    job = define_asset_job(JOB_NAME, executor_def=in_process_executor)
    return Definitions(
        assets=[people, findings, employer_summary, site, warehouse_commit],
        asset_checks=[findings_have_keys],
        jobs=[job], schedules=list(schedules), sensors=list(sensors),
        resources={
            "settings": PermitsSettings(site_dir=str(base / "site"),
                                        inbox_dir=str(base / "inbox"), archive_dir=str(base / "archive"),
                                        rejected_dir=str(base / "rejected"), sensor_stable_seconds=5),
            "warehouse": Warehouse(database=str(base / "warehouse.duckdb")),
        },
    )


def write_people(folder: Path, n: int, name: str = "people.csv", seed: int = 0) -> Path:
    """n synthetic people (no real data), born 1950–2005."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    with p.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["pid", "born", "uscc"])
        for i in range(n):
            k = (i * 7919 + seed) % 20089
            born = dt.date(1950, 1, 1) + dt.timedelta(days=k)
            w.writerow([f"P{seed}-{i:05d}", born.isoformat(), f"U{i % 7}"])
    return p


def main(argv: list[str]) -> int:
    from dagster import DagsterInstance

    from pipelines.runner import execute_run

    inp, as_of, wh, site_dir = argv[:4]
    timeout = float(argv[4]) if len(argv) > 4 else 0.0
    try:
        summary = execute_run(Path(inp), as_of, Path(wh), Path(site_dir), instance=DagsterInstance.ephemeral(),
                              defs=toy_defs(), lock_timeout=timeout)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(summary))
    return 0


def __getattr__(name: str):
    """``defs`` for a workspace file (UI tests): the toy graph with its schedule
    and sensors, data under $PERMITS_TOY_DATA."""
    if name == "defs":
        from pipelines.automation import build_schedules, build_sensors

        return toy_defs(Path(os.environ["PERMITS_TOY_DATA"]), schedules=build_schedules(), sensors=build_sensors())
    raise AttributeError(name)


# --- tests of the stand-in graph itself -------------------------------------

def test_toy_run_writes_summary_tables_and_metadata(tmp_path):
    import duckdb
    from dagster import DagsterInstance

    from pipelines.runner import execute_run

    write_people(tmp_path / "in", 40)
    inst = DagsterInstance.ephemeral()
    s = execute_run(tmp_path / "in", "2026-03-01", tmp_path / "w.duckdb", tmp_path / "site", instance=inst,
                    defs=toy_defs())
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    summ = con.sql("SELECT run_id, as_of, rows_read, rows_loaded, findings_error + findings_warning + findings_info, "
                   "input_files FROM run_summary").fetchall()
    n_find = con.sql("SELECT count(*) FROM findings").fetchall()[0][0]
    assert summ == [(s["run_id"], dt.date(2026, 3, 1), 40, 40, n_find, 1)]
    steps = {r[0] for r in con.sql("SELECT step_key FROM run_steps").fetchall()}
    assert {"ingest", "findings", "employer_summary", "site"} <= steps
    assert con.sql("SELECT min(seconds) >= 0 FROM run_steps").fetchall() == [(True,)]
    # row counts as Dagster metadata
    mat = inst.get_latest_materialization_event(__import__("dagster").AssetKey("people"))
    md = mat.asset_materialization.metadata
    assert md["rows people"].value == 40 and md["seconds"].value >= 0
    assert (tmp_path / "site" / "index.html").read_text().count(s["run_id"]) == 1
    assert not list(tmp_path.glob("w.run-*")) and not list(tmp_path.glob(".site.new-*"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
