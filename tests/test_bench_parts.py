"""The benchmark's helpers: process-tree sampling, the incremental-day input
folders and the findings comparison (the benchmark itself is not a test)."""
import datetime as dt
import subprocess
import sys
import time

import duckdb
import polars as pl

from pipelines.bench import Sampler, findings_difference, median_floor, prepare_incremental


def test_sampler_counts_cpu_and_memory_of_child_processes():
    # the child holds its memory until the parent has seen a sample taken after it
    # was touched (an event, not a fixed sleep), then exits
    code = ("import sys, time\nb = bytearray(96 * 2**20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
            "t = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
            "print('ready', flush=True)\nsys.stdin.read()\n")
    with Sampler(interval=0.02) as s:
        t0 = time.time()
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        ready = time.time()
        while not any(stamp >= ready for stamp, _, _ in list(s.samples)):
            time.sleep(0.001)
        child.communicate("")
        assert child.returncode == 0
        t1 = time.time()
    w = s.window(t0, t1)
    assert w["cpu_s"] >= 0.35  # the child's CPU, not this process's (which only waited)
    assert w["peak_rss_mb"] >= 96


def _contrib(n_people: int, months: list[dt.date]) -> pl.DataFrame:
    return pl.DataFrame({
        "id_number": [f"P{i}" for i in range(n_people) for _ in months],
        "month": [m for _ in range(n_people) for m in months],
        "kind": ["income_tax"] * (n_people * len(months)),
        "amount_cny": [100.0] * (n_people * len(months)),
    })


def test_prepare_incremental_moves_the_latest_month_into_its_own_file(tmp_path):
    data = tmp_path / "city-0.1-seed1"
    data.mkdir()
    months = [dt.date(2026, m, 1) for m in (8, 9, 10)]
    a, b = _contrib(3, months), _contrib(2, months[:2])
    a.write_parquet(data / "contributions_01.parquet")
    b.write_parquet(data / "contributions_02.parquet")
    (data / "persons.csv").write_text("id_number\nP0\n", encoding="utf-8")
    (data / "dataset.json").write_text("{}", encoding="utf-8")
    (data / "expected_findings.csv").write_text("rule_id,entity_key\n", encoding="utf-8")
    before, after = prepare_incremental(data)
    new = after / "contributions_2026_10.parquet"
    assert sorted(p.name for p in after.iterdir()) == sorted(
        ["contributions_01.parquet", "contributions_02.parquet", "contributions_2026_10.parquet", "persons.csv"])
    assert sorted(p.name for p in before.iterdir()) == ["contributions_01.parquet", "contributions_02.parquet",
                                                        "persons.csv"]
    moved = pl.read_parquet(new)
    assert moved.height == 3 and moved["month"].unique().to_list() == [dt.date(2026, 10, 1)]
    union = pl.concat([pl.read_parquet(p) for p in sorted(after.glob("contributions*.parquet"))])
    assert union.sort(pl.all()).equals(pl.concat([a, b]).sort(pl.all()))
    for f in before.iterdir():  # same inode: an unchanged file for the ingest cache
        assert f.stat().st_ino == (after / f.name).stat().st_ino
    # cached: a second call does not rewrite anything
    mtime = new.stat().st_mtime_ns
    assert prepare_incremental(data) == (before, after)
    assert new.stat().st_mtime_ns == mtime


def _findings_db(path, rows):
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE findings (run_id VARCHAR, as_of DATE, rule_id VARCHAR, severity VARCHAR, "
                "entity_type VARCHAR, entity_key VARCHAR, uscc VARCHAR, id_number VARCHAR, due_on DATE, "
                "message_zh VARCHAR, message_en VARCHAR, detail JSON)")
    for run_id, rule, key, detail in rows:
        con.execute("INSERT INTO findings VALUES (?, DATE '2026-11-16', ?, 'error', 'person', ?, NULL, NULL, NULL, "
                    "'z', 'e', ?)", [run_id, rule, key, detail])
    con.close()


def test_findings_difference_ignores_run_id_and_counts_both_sides(tmp_path):
    _findings_db(tmp_path / "a.duckdb", [("r1", "R-1", "k1", '{"x": 1}'), ("r1", "R-2", "k2", "{}")])
    _findings_db(tmp_path / "b.duckdb", [("r2", "R-1", "k1", '{"x": 1}'), ("r2", "R-2", "k2", "{}")])
    _findings_db(tmp_path / "c.duckdb", [("r3", "R-1", "k1", '{"x": 2}'), ("r3", "R-2", "k2", "{}"),
                                         ("r3", "R-2", "k3", "{}")])
    same = findings_difference(tmp_path / "a.duckdb", tmp_path / "b.duckdb")
    assert same == {"findings": 2, "only_full": 0, "only_incremental": 0, "identical": True}
    diff = findings_difference(tmp_path / "a.duckdb", tmp_path / "c.duckdb")
    assert diff["only_full"] == 1 and diff["only_incremental"] == 2 and not diff["identical"]


def test_markdown_table_lists_every_step_total_floor_and_incremental():
    from pipelines.bench import markdown_table

    step = {"wall_s": 2.0, "cpu_s": 1.5, "peak_rss_mb": 100.0}
    run = {"steps": {"ingest": step, "site": step}, "total": {"wall_s": 4.0, "cpu_s": 3.0, "peak_rss_mb": 120.0}}
    report = {"scales": {"0.25": {
        "floor": {"wall_s": 0.5, "cpu_s": 0.4, "rows_scanned": 1234567}, "runs": [run, run, run],
        "median": run, "rules_over_floor": 4.0,
        "incremental": {"run": {**run, "total": {"wall_s": 1.0, "cpu_s": 1.0, "peak_rss_mb": 90.0}},
                        "findings": {"identical": True}, "speedup": 4.0, "speedup_vs_day_before": 3.5,
                        "cpu_speedup": 3.0}}}}
    md = markdown_table(report).splitlines()
    assert len(md) == 2 + 2 + 3
    assert md[2].startswith("| 0.25 | 1,234,567 | ingest | 2.0 | 1.5 | 100 |")
    assert "**total** (median of 3) | **4.0**" in md[4]
    assert "rules = 4.0x floor" in md[5]
    assert "findings identical: True" in md[6] and "(4.0x; 3.5x vs day before)" in md[6]


def test_clear_work_removes_run_folders_and_keeps_the_cached_data(tmp_path):
    from pipelines.bench import _clear_work

    for d in ("work/run-1-0/site", "run-0.1-2", "inc-1/site", "city-1-seed7", "city-1-seed7-inc/after"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "f.txt").write_text("x")
    _clear_work(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city-1-seed7", "city-1-seed7-inc"]


def test_day_before_state_restores_the_warehouse_and_the_cache_entries(tmp_path):
    from pipelines.bench import _day_before_state

    work = tmp_path / "inc-1"
    cache = work / "warehouse.duckdb.ingest-cache"
    (cache / "old-entry").mkdir(parents=True)
    (work / "warehouse.duckdb").write_bytes(b"day before")
    with _day_before_state(work) as restore:
        (work / "warehouse.duckdb").write_bytes(b"after the incremental run")
        (cache / "new-month-entry").mkdir()
        restore()
        assert (work / "warehouse.duckdb").read_bytes() == b"day before"
        assert sorted(p.name for p in cache.iterdir()) == ["old-entry"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inc-1"]  # the snapshot is gone


def test_the_demo_run_records_what_the_checklists_add(demo_run):
    """Issue 16 item 6 in `permits bench`: the marts step records its checklist marts' time and the site step
    its checklist pages' time as `timing_s` phases (read from the session demo run's own events)."""
    from assets.marts.checklists import CHECKLIST_MARTS
    from pipelines.bench import _materialization_metadata, checklist_figures, step_windows

    instance, run_id = demo_run["instance"], demo_run["summary"]["run_id"]
    meta = _materialization_metadata(instance, run_id)
    with_phases = [k for k, m in meta.items() if k != "findings" and "timing_s" in m and k != "site"]
    assert len(with_phases) == 1  # once per marts step, on its last materialization
    marts = meta[with_phases[0]]["timing_s"]
    assert set(marts) == {"prepare_s", "marts_s", "checklist_marts_s", "checklist_marts_cpu_s"}
    # the checklist phase is the checklist marts' own seconds, the other marts apart
    assert abs(marts["checklist_marts_s"] - sum(meta[m]["seconds"] for m in CHECKLIST_MARTS)) < 0.01
    others = sum(m["seconds"] for k, m in meta.items() if "policy_version" in m and k not in CHECKLIST_MARTS)
    assert abs(marts["marts_s"] - others) < 0.05 and marts["checklist_marts_s"] > 0
    site = meta["site"]["timing_s"]
    assert site["checklist_pages_s"] > 0 and site["checklist_pages_cpu_s"] >= 0 and "checklist_bureau_cpu_s" in site
    steps = {k: {"wall_s": t1 - t0} for k, (t0, t1) in step_windows(instance, run_id).items()}
    ck = checklist_figures(meta, steps)
    assert abs(ck["total_s"] - (marts["checklist_marts_s"] + site["checklist_pages_s"] + site["checklist_bureau_s"])) < 0.002
    assert abs(ck["pages_cpu_s"] - (site["checklist_pages_cpu_s"] + site["checklist_bureau_cpu_s"])) < 0.002
    assert ck["publish_s"] == round(steps["marts"]["wall_s"] + steps["site"]["wall_s"], 3)
    assert 0 < ck["share"] < 1


def test_markdown_table_reports_the_checklists_median_and_share():
    from pipelines.bench import _median_run, markdown_table

    def run(marts_s, pages_s, marts_wall, site_wall):
        steps = {"marts": {"wall_s": marts_wall, "cpu_s": 1.0, "peak_rss_mb": 1.0},
                 "site": {"wall_s": site_wall, "cpu_s": 1.0, "peak_rss_mb": 1.0}}
        return {"steps": steps, "total": {"wall_s": 9.0, "cpu_s": 9.0, "peak_rss_mb": 9.0},
                "checklists": {"marts_s": marts_s, "pages_s": pages_s, "total_s": marts_s + pages_s,
                               "marts_cpu_s": marts_s / 2, "pages_cpu_s": pages_s / 2,
                               "publish_s": marts_wall + site_wall, "share": (marts_s + pages_s) / (marts_wall + site_wall)}}

    runs = [run(2.0, 6.0, 10.0, 30.0), run(3.0, 9.0, 20.0, 20.0), run(20.0, 60.0, 50.0, 150.0)]
    med = _median_run(runs)
    assert med["checklists"]["marts_s"] == 3.0 and med["checklists"]["pages_s"] == 9.0
    assert med["checklists"]["total_s"] == 12.0 and med["checklists"]["share"] == 0.3
    report = {"scales": {"1": {"floor": {"wall_s": 1.0, "cpu_s": 1.0, "rows_scanned": 10}, "runs": runs,
                               "median": med, "rules_over_floor": 2.0}}}
    row = [ln for ln in markdown_table(report).splitlines() if "checklists" in ln]
    assert row == ["| 1 | 10 | checklists: marts s / pages s / total s | 3.0 / 9.0 / **12.0** | 1.5 / 4.5 | "
                   "30.0% of marts + site (40.0 s) |"]
    # a bench.json from before the checklists were measured still prints, without the row
    del med["checklists"]
    assert "checklists" not in markdown_table(report)


def test_the_floor_reported_is_the_median_measurement_and_errs_high_on_the_ratio():
    floors = [{"wall_s": w, "cpu_s": w * 1.5, "rows_scanned": 10} for w in (2.9, 1.4, 1.6, 3.3)]
    f = median_floor(floors)
    # of four, the lower middle one (1.6, not 2.9 nor their mean): a smaller floor, a higher ratio
    assert f["wall_s"] == 1.6 and f["cpu_s"] == 1.6 * 1.5
    assert f["walls_s"] == [2.9, 1.4, 1.6, 3.3]
    assert median_floor(floors[:3])["wall_s"] == 1.6 and median_floor(floors[:1])["wall_s"] == 2.9
