"""City-scale benchmark (issue 8). Not a test: it prints figures and writes
them to JSON so runs can be compared.

For each scale fraction it generates the synthetic data set once (cached by
scale and seed), runs the whole Dagster job in this process N times, and
reports per step: wall time, CPU time and peak RSS (sampled every 50 ms by a
thread; steps are the Dagster step boundaries from the event log). In the same
run it measures the floor: DuckDB scanning every input file and grouping the
largest table (contributions) by person and kind — three times before the runs
and once after each, reporting the median (``median_floor``). From the steps' own
``timing_s`` metadata it reports the rule step's phases and what the material
checklists add to the marts and site steps (issue 16 item 6).
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

from dagster import DagsterEventType, DagsterInstance


_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _descendants(root: int) -> list[int]:
    """Live descendant processes of `root` (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _tree_usage() -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of this process and all its descendants: live
    ones from /proc (utime + stime + their reaped children), reaped ones from
    RUSAGE_CHILDREN. RSS is the sum over the tree (shared pages count twice)."""
    rss, cpu = _rss_bytes(), _cpu_seconds()
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += r.ru_utime + r.ru_stime
    for pid in _descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                f = fh.read()
            with open(f"/proc/{pid}/statm") as fh:
                rss += int(fh.read().split()[1]) * _PAGE
        except OSError:
            continue
        fields = f[f.rindex(b")") + 2:].split()
        cpu += sum(int(x) for x in fields[11:15]) / _TICK  # utime stime cutime cstime
    return rss, cpu


class Sampler:
    """Samples (time, rss, cpu) of this process tree every `interval` seconds."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.samples: list[tuple[float, int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        # stamp first: a sample stamped at or after a window's end then began
        # after everything inside the window finished (a child reaped during the
        # reads would otherwise be missing from both RUSAGE_CHILDREN and /proc)
        t = time.time()
        rss, cpu = _tree_usage()
        self.samples.append((t, rss, cpu))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def window(self, t0: float, t1: float) -> dict:
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        before = [s for s in self.samples if s[0] <= t0][-1:] or inside[:1]
        after = [s for s in self.samples if s[0] >= t1][:1] or inside[-1:]
        peak = max((s[1] for s in inside + before + after), default=0)
        cpu = (after[0][2] - before[0][2]) if before and after else 0.0
        return {"wall_s": round(t1 - t0, 3), "cpu_s": round(cpu, 3), "peak_rss_mb": round(peak / 2**20, 1)}


def step_windows(instance: DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    starts: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for entry in instance.all_logs(run_id):
        ev = entry.dagster_event
        if ev is None or not entry.step_key:
            continue
        if ev.event_type == DagsterEventType.STEP_START:
            starts[entry.step_key] = entry.timestamp
        elif ev.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            out[entry.step_key] = (starts.get(entry.step_key, entry.timestamp), entry.timestamp)
    return out


def duckdb_floor(input_dir: Path) -> dict:
    """The floor: DuckDB reading every input file once and grouping the
    contributions by person and kind."""
    import duckdb

    con = duckdb.connect()
    t0, c0 = time.perf_counter(), _cpu_seconds()
    rows = 0
    for f in sorted(input_dir.iterdir()):
        if f.suffix == ".parquet":
            rows += con.sql(f"SELECT count(*) FROM read_parquet('{f}')").fetchall()[0][0]
        elif f.suffix == ".csv":
            rows += con.sql(f"SELECT count(*) FROM read_csv('{f}', all_varchar=true, ignore_errors=true)").fetchall()[0][0]
    contrib = [f for f in input_dir.glob("*.parquet") if f.stem.startswith(("contributions", "个税社保"))]
    groups = 0
    if contrib:
        files = ", ".join(f"'{f}'" for f in contrib)
        rel = con.sql(f"SELECT * FROM read_parquet([{files}], union_by_name=true) LIMIT 0")
        cols = rel.columns
        idc, kindc = cols[0], cols[2] if len(cols) > 2 else cols[-1]
        groups = con.sql(f'SELECT count(*) FROM (SELECT "{idc}", "{kindc}", count(*) FROM read_parquet([{files}], '
                         f'union_by_name=true) GROUP BY ALL)').fetchall()[0][0]
    return {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(_cpu_seconds() - c0, 3),
            "rows_scanned": rows, "groups": groups}


# the floor is measured this many times before the runs, and once after each run; the
# figure reported is the median measurement (one 1.4-3 s measurement moved the ratio by 20 %)
FLOORS_BEFORE = 3


def median_floor(floors: list[dict]) -> dict:
    """The measurement of median wall time among ``floors`` (each ``duckdb_floor``'s
    dict; of an even number the lower middle one, so the rules ÷ floor ratio errs high),
    with every measurement's wall time, in the order taken, under ``walls_s``."""
    ranked = sorted(floors, key=lambda f: f["wall_s"])
    return {**ranked[(len(ranked) - 1) // 2], "walls_s": [f["wall_s"] for f in floors]}


def _materialization_metadata(instance: DagsterInstance, run_id: str) -> dict[str, dict]:
    """asset key -> metadata (plain values) of the run's materializations."""
    out: dict[str, dict] = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.dagster_event.event_specific_data.materialization
        out[mat.asset_key.to_user_string()] = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    return out


def rule_suites(meta: dict) -> dict:
    """Per rule suite (rule book file) seconds and CPU seconds, from the
    findings step's results file; plus the step's own phases (timing_s)."""
    out: dict = {"phases": meta.get("timing_s") or {}}
    results = meta.get("results")
    if results and Path(str(results)).exists():
        from expectations.rulebook import load_rules

        files = {rid: r["file"].removesuffix(".yaml") for rid, r in load_rules().items()}
        data = json.loads(Path(str(results)).read_text(encoding="utf-8"))
        suites: dict[str, dict] = {}
        for rid, r in data.get("rules", {}).items():
            if r.get("seconds") is None:
                continue
            sd = suites.setdefault(files.get(rid, "?"), {"wall_s": 0.0, "cpu_s": 0.0, "rules": 0})
            sd["wall_s"] = round(sd["wall_s"] + (r.get("seconds") or 0), 3)
            sd["cpu_s"] = round(sd["cpu_s"] + (r.get("cpu_seconds") or 0), 3)
            sd["rules"] += 1
        out["suites"] = dict(sorted(suites.items()))
    return out


PUBLISH_STEPS = ("marts", "site")  # the steps that build what is published, after the rule step


def checklist_figures(meta: dict, steps: dict) -> dict | None:
    """What the material checklists add to publishing (issue 16 item 6), from
    one run: their marts (the marts step's ``timing_s`` phases, on the step's
    last materialization) and their pages (the ``site`` step's ``timing_s``:
    the printable pages and the bureau page's checklist table with its
    small-cell suppression), in wall seconds and this process's CPU seconds;
    ``publish_s`` is the marts + site steps' wall and ``share`` the
    checklists' part of it. None when the run lacks them."""
    marts = next((m["timing_s"] for m in meta.values()
                  if isinstance(m.get("timing_s"), dict) and "checklist_marts_s" in m["timing_s"]), None)
    site = (meta.get("site") or {}).get("timing_s") or {}
    if marts is None or "checklist_pages_s" not in site:
        return None
    pages = site["checklist_pages_s"] + site.get("checklist_bureau_s", 0.0)
    out = {"marts_s": marts["checklist_marts_s"], "pages_s": round(pages, 3),
           "bureau_s": site.get("checklist_bureau_s"),  # of pages_s: the bureau table (suppression)
           "total_s": round(marts["checklist_marts_s"] + pages, 3),
           "marts_cpu_s": marts.get("checklist_marts_cpu_s"),
           "pages_cpu_s": round(site.get("checklist_pages_cpu_s", 0.0) + site.get("checklist_bureau_cpu_s", 0.0), 3)}
    publish = sum(steps[s]["wall_s"] for s in PUBLISH_STEPS if s in steps)
    if publish:
        out.update(publish_s=round(publish, 3), share=round(out["total_s"] / publish, 3))
    return out


def _median_checklists(runs: list[dict]) -> dict | None:
    figs = [r.get("checklists") for r in runs]
    if not figs or any(f is None for f in figs):
        return None
    return {k: round(statistics.median(f[k] for f in figs), 3) for k in figs[0]
            if all(f.get(k) is not None for f in figs)}


def run_once(input_dir: Path, as_of: str, work: Path) -> dict:
    from pipelines.runner import execute_run
    from reports.privacy import forget_suppression_patterns

    # every run starts as a run in its own process does: the remembered small-cell suppression
    # patterns (integer programs; seconds for the bureau's checklist tables) of an earlier run of
    # the same data in this process would make the repeats after the first look cheaper
    forget_suppression_patterns()
    instance = DagsterInstance.ephemeral()
    with Sampler() as sampler:
        t0 = time.time()
        summary = execute_run(input_dir=input_dir, as_of=as_of, warehouse=work / "warehouse.duckdb",
                              site=work / "site", instance=instance)
        t1 = time.time()
    steps = {k: sampler.window(*w) for k, w in sorted(step_windows(instance, summary["run_id"]).items(),
                                                        key=lambda kv: kv[1][0])}
    meta = _materialization_metadata(instance, summary["run_id"])
    return {"steps": steps, "total": sampler.window(t0, t1), "run_id": summary["run_id"],
            "rules": rule_suites(meta.get("findings", {})), "checklists": checklist_figures(meta, steps),
            "ingest_cache": {k: meta.get("ingest_log", {}).get(f"cache_{k}") for k in ("hits", "misses")},
            "ingest_tables": {k: meta.get("ingest_log", {}).get(f"tables_{k}") for k in ("kept", "appended")}}


def _median_run(runs: list[dict]) -> dict:
    steps = {}
    for name in runs[0]["steps"]:
        vals = [r["steps"][name] for r in runs if name in r["steps"]]
        steps[name] = {k: statistics.median(v[k] for v in vals) for k in vals[0]}
    total = {k: statistics.median(r["total"][k] for r in runs) for k in runs[0]["total"]}
    return {"steps": steps, "total": total, "checklists": _median_checklists(runs)}


def generate_fraction(out: Path, frac: float, seed: int) -> dict:
    """Write the `city` data set scaled by `frac` (employers and persons x
    frac; the defects per rule stay as in `city`)."""
    from pipelines.synthetic import generate

    return generate(out, scale="city", seed=seed, fraction=frac)


def prepare_incremental(data: Path) -> tuple[Path, Path]:
    """Two input folders for the incremental day, derived once from `data`
    (cached beside it): `after` = the data with the latest month of the
    Parquet contributions moved into its own file `contributions_<YYYY_MM>.parquet`;
    `before` = `after` without that file (hard links, so the unchanged files
    keep their size and mtime). Full runs use `after` too, so the full and
    the incremental figures are over the same input."""
    import shutil

    import polars as pl

    root = data.with_name(data.name + "-inc")
    before, after = root / "before", root / "after"
    marker = root / "ready.json"
    if marker.exists():
        return before, after
    shutil.rmtree(root, ignore_errors=True)
    before.mkdir(parents=True)
    after.mkdir()
    contrib = sorted(f for f in data.glob("*.parquet") if f.stem.startswith("contributions"))
    month = pl.scan_parquet(contrib).select(pl.col("month").max()).collect().item()
    new = after / f"contributions_{month:%Y_%m}.parquet"
    pl.scan_parquet(contrib).filter(pl.col("month") == month).sink_parquet(new)
    for f in sorted(data.iterdir()):
        if f.suffix.lower() not in (".csv", ".xlsx", ".parquet") or f.name == "expected_findings.csv":
            continue
        if f in contrib:
            pl.scan_parquet(f).filter(pl.col("month") != month).sink_parquet(after / f.name)
        else:
            shutil.copy2(f, after / f.name)
        os.link(after / f.name, before / f.name)
    marker.write_text(json.dumps({"month": str(month), "new_file": new.name}), encoding="utf-8")
    return before, after


FINDING_COLS = "rule_id, severity, entity_type, entity_key, uscc, id_number, due_on, message_zh, message_en, " \
               "CAST(detail AS VARCHAR)"


def findings_difference(a: Path, b: Path) -> dict:
    """Rows of `findings` (run_id and as_of aside) in one warehouse and not the other."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        n = con.sql("SELECT count(*) FROM a.findings").fetchall()[0][0]
        only_a = con.sql(f"SELECT count(*) FROM (SELECT {FINDING_COLS} FROM a.findings EXCEPT ALL "
                         f"SELECT {FINDING_COLS} FROM b.findings)").fetchall()[0][0]
        only_b = con.sql(f"SELECT count(*) FROM (SELECT {FINDING_COLS} FROM b.findings EXCEPT ALL "
                         f"SELECT {FINDING_COLS} FROM a.findings)").fetchall()[0][0]
    finally:
        con.close()
    return {"findings": n, "only_full": only_a, "only_incremental": only_b, "identical": only_a == only_b == 0}


def _print_scale(frac: str, r: dict, log: Callable[[str], None]) -> None:
    rules = r["median"]["rules_step_s"]
    log(f"[{frac}] floor {r['floor']['wall_s']} s; rules step {rules} s = {r['rules_over_floor']}x floor")
    if "rule_book_s" in r:
        log(f"[{frac}]   of which the candidates' applications {r['candidates_in_rule_step_s']} s; the rule book "
            f"alone {r['rule_book_s']} s = {r['rule_book_over_floor']}x floor")
    log(f"[{frac}]   rules step phases (s): {r['runs'][0]['rules'].get('phases')}")
    ck = r["median"].get("checklists")
    if ck:
        log(f"[{frac}] checklists: marts {ck['marts_s']} s / pages {ck['pages_s']} s / total {ck['total_s']} s "
            f"= {ck.get('share', 0):.1%} of the marts + site steps ({ck.get('publish_s')} s)")
    for name, v in (r["runs"][0]["rules"].get("suites") or {}).items():
        log(f"[{frac}]   suite {name:<22} {v['wall_s']:>8.2f} s wall {v['cpu_s']:>8.2f} s CPU ({v['rules']} rules)")
    if "incremental" in r:
        inc = r["incremental"]
        log(f"[{frac}] incremental day: {inc['run']['total']['wall_s']} s wall vs full {r['median']['total']['wall_s']} s "
            f"= {inc['speedup']}x faster (CPU {inc['cpu_speedup']}x; vs the full run of the day before, same load: "
            f"{inc['speedup_vs_day_before']}x); cache {inc['run']['ingest_cache']}; tables "
            f"{inc['run'].get('ingest_tables')}; findings identical: "
            f"{inc['findings']['identical']} ({inc['findings']})")
        ck = inc["run"].get("checklists")
        if ck:  # over the day before's site: the pages are rewritten in place
            log(f"[{frac}]   incremental checklists: marts {ck['marts_s']} s / pages {ck['pages_s']} s / total "
                f"{ck['total_s']} s = {ck.get('share', 0):.1%} of the marts + site steps")
        for name, v in inc["run"]["steps"].items():
            log(f"[{frac}]   incremental {name:<18} {v['wall_s']:>8.2f} s wall {v['cpu_s']:>8.2f} s CPU "
                f"{v['peak_rss_mb']:>8.0f} MB")


def _clear_work(out_dir: Path) -> None:
    """Delete the run folders of an earlier bench (and of versions that kept them
    beside the data) and flush: deleting ~150,000 site files slows every file
    operation of the disk for a while, so it must not overlap a measured run."""
    import shutil

    for d in [out_dir / "work", *out_dir.glob("run-*"), *out_dir.glob("inc-*")]:
        if d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
    os.sync()


@contextmanager
def _day_before_state(work: Path):
    """Snapshot the day-before state of an incremental work folder (warehouse
    file and the set of ingest cache entries); yields ``restore()``, which puts
    it back — so the incremental run can be repeated (median of N, like the
    full runs), and flushes. The site is not restored: each run publishes a
    whole site anyway (into the one the previous run replaced)."""
    import shutil

    wh = work / "warehouse.duckdb"
    cache = work / "warehouse.duckdb.ingest-cache"
    snap = work.with_name(work.name + "-day-before.duckdb")
    shutil.copyfile(wh, snap)
    entries = set(os.listdir(cache)) if cache.is_dir() else set()

    def restore() -> None:
        shutil.copyfile(snap, wh)
        for name in (set(os.listdir(cache)) if cache.is_dir() else set()) - entries:
            shutil.rmtree(cache / name, ignore_errors=True)
        os.sync()

    try:
        yield restore
    finally:
        snap.unlink(missing_ok=True)


def bench(out_dir: Path, fractions: list[float], repeats: int, seed: int,
          log: Callable[[str], None] = print, generate: Optional[Callable] = None,
          incremental: bool = True, keep: bool = False) -> dict:
    """Run the benchmark (module docstring). The runs' warehouses and sites go
    under ``<out_dir>/work/`` and are deleted at the end unless ``keep``; the
    data sets stay cached. Deletions happen outside the measured runs."""
    import shutil

    generate = generate or (lambda out, scale, seed, fraction=1.0: generate_fraction(out, fraction, seed))
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_work(out_dir)
    work_root = out_dir / "work"
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                    "load_at_start": os.getloadavg()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seed": seed, "scales": {},
    }
    for frac in fractions:
        data = out_dir / f"city-{frac:g}-seed{seed}"
        marker = data / "dataset.json"
        if not marker.exists():
            log(f"generating city data at fraction {frac:g} → {data}")
            t0 = time.perf_counter()
            kwargs = {} if frac == 1 else {"fraction": frac}
            generate(data, scale="city", seed=seed, **kwargs)
            log(f"  generated in {time.perf_counter() - t0:.1f} s")
        info = json.loads(marker.read_text(encoding="utf-8"))
        before, after = prepare_incremental(data)
        floors = [duckdb_floor(after) for _ in range(FLOORS_BEFORE)]
        log(f"[{frac:g}] DuckDB floor: {[f['wall_s'] for f in floors]} s wall for {floors[0]['rows_scanned']:,} rows")
        runs = []
        for i in range(repeats):
            work = work_root / f"run-{frac:g}-{i}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            r = run_once(after, info["reference_date"], work)
            r["load_after"] = os.getloadavg()
            floors.append(duckdb_floor(after))  # the floor after each run too: the machine's speed drifts
            r["floor_after_s"] = floors[-1]["wall_s"]
            runs.append(r)
            log(f"[{frac:g}] run {i + 1}/{repeats}: {r['total']['wall_s']} s wall, "
                f"{r['total']['cpu_s']} s CPU, peak {r['total']['peak_rss_mb']} MB, load {r['load_after']}")
        med = _median_run(runs)
        med["rules_step_s"] = med["steps"].get("findings", {}).get("wall_s")
        floor = median_floor(floors)
        entry = {"data": str(after), "counts": info.get("counts"), "floor": floor, "median": med, "runs": runs,
                 "rules_over_floor": round(med["rules_step_s"] / floor["wall_s"], 1)
                 if med["rules_step_s"] and floor["wall_s"] else None}
        # the rule step also judges the candidates' hypothetical applications (for the candidates
        # mart): the rule book alone is the step without that phase
        cands = [r["rules"].get("phases", {}).get("candidates_s") for r in runs]
        if med["rules_step_s"] and floor["wall_s"] and all(c is not None for c in cands):
            book = statistics.median(r["steps"]["findings"]["wall_s"] - c for r, c in zip(runs, cands))
            entry.update(candidates_in_rule_step_s=statistics.median(cands), rule_book_s=round(book, 3),
                         rule_book_over_floor=round(book / floor["wall_s"], 1))
        if incremental:
            work = work_root / f"inc-{frac:g}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            warm = run_once(before, info["reference_date"], work)  # the day before: fills the ingest cache
            log(f"[{frac:g}] day before (cache filled): {warm['total']['wall_s']} s wall")
            incs, diffs = [], []
            with _day_before_state(work) as restore:
                for i in range(repeats):
                    if i:
                        restore()  # back to the day before: its warehouse and cache entries
                    incs.append(run_once(after, info["reference_date"], work))
                    diffs.append(findings_difference(work_root / f"run-{frac:g}-{repeats - 1}" / "warehouse.duckdb",
                                                     work / "warehouse.duckdb"))
                    log(f"[{frac:g}] incremental run {i + 1}/{repeats}: {incs[-1]['total']['wall_s']} s wall, "
                        f"findings identical: {diffs[-1]['identical']}")
            inc = {**_median_run(incs), "ingest_cache": incs[-1]["ingest_cache"],
                   "ingest_tables": incs[-1]["ingest_tables"]}
            diff = {**diffs[-1], "identical": all(d["identical"] for d in diffs), "runs": len(diffs)}
            entry["incremental"] = {"run": inc, "runs": incs, "day_before": warm, "findings": diff,
                                    "speedup": round(med["total"]["wall_s"] / inc["total"]["wall_s"], 2),
                                    "speedup_vs_day_before": round(warm["total"]["wall_s"] / inc["total"]["wall_s"], 2),
                                    "cpu_speedup": round(med["total"]["cpu_s"] / inc["total"]["cpu_s"], 2)}
        report["scales"][f"{frac:g}"] = entry
        _print_scale(f"{frac:g}", entry, log)
        (out_dir / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    fr = sorted(report["scales"], key=float)
    if len(fr) > 1:
        base = report["scales"][fr[0]]["median"]
        report["growth"] = {f: round(report["scales"][f]["median"]["total"]["wall_s"] / base["total"]["wall_s"], 2)
                            for f in fr}
        report["growth_per_step"] = {
            step: {f: round(report["scales"][f]["median"]["steps"].get(step, {}).get("wall_s", 0) / v["wall_s"], 2)
                   for f in fr} for step, v in base["steps"].items() if v["wall_s"] > 0}
        report["scale_ratio"] = {f: round(float(f) / float(fr[0]), 2) for f in fr}
        log(f"growth of total wall vs {fr[0]} (scale ratio {report['scale_ratio']}): {report['growth']}")
        for step, g in report["growth_per_step"].items():
            log(f"  {step:<20} {g}")
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report["load_at_end"] = os.getloadavg()
    (out_dir / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if not keep:
        _clear_work(out_dir)
    return report


def markdown_table(report: dict) -> str:
    """The figures of a bench.json as a Markdown table (for the README / docs)."""
    lines = ["| scale | rows in | step | wall s (median) | CPU s | peak RSS MB |", "|---|---|---|---|---|---|"]
    for frac, r in sorted(report["scales"].items(), key=lambda kv: float(kv[0])):
        rows = f"{r['floor']['rows_scanned']:,}"
        n = len(r["runs"])
        for name, v in r["median"]["steps"].items():
            lines.append(f"| {frac} | {rows} | {name} | {v['wall_s']:.1f} | {v['cpu_s']:.1f} | {v['peak_rss_mb']:.0f} |")
        t = r["median"]["total"]
        lines.append(f"| {frac} | {rows} | **total** (median of {n}) | **{t['wall_s']:.1f}** | {t['cpu_s']:.1f} | "
                     f"{t['peak_rss_mb']:.0f} |")
        lines.append(f"| {frac} | {rows} | DuckDB floor; rules / floor | {r['floor']['wall_s']:.1f} | "
                     f"{r['floor']['cpu_s']:.1f} | rules = {r['rules_over_floor']}x floor"
                     + (f" (rule book alone {r['rule_book_over_floor']}x)" if "rule_book_over_floor" in r else "")
                     + " |")
        ck = r["median"].get("checklists")
        if ck:
            cpu = (f"{ck['marts_cpu_s']:.1f} / {ck['pages_cpu_s']:.1f}"
                   if ck.get("marts_cpu_s") is not None and ck.get("pages_cpu_s") is not None else "—")
            lines.append(f"| {frac} | {rows} | checklists: marts s / pages s / total s | {ck['marts_s']:.1f} / "
                         f"{ck['pages_s']:.1f} / **{ck['total_s']:.1f}** | {cpu} | "
                         f"{ck.get('share', 0):.1%} of marts + site ({ck.get('publish_s', 0):.1f} s) |")
        if "incremental" in r:
            inc = r["incremental"]
            t = inc["run"]["total"]
            lines.append(f"| {frac} | {rows} | incremental day (findings identical: {inc['findings']['identical']}) | "
                         f"{t['wall_s']:.1f} ({inc['speedup']}x; {inc['speedup_vs_day_before']}x vs day before) | "
                         f"{t['cpu_s']:.1f} ({inc['cpu_speedup']}x) | {t['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m pipelines.bench bench.json -> Markdown table
    import sys

    print(markdown_table(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
