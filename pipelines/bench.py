"""City-scale benchmark (issue 8). Not a test: it prints figures and writes
them to JSON so runs can be compared.

For each scale fraction it generates the synthetic data set once (cached by
scale and seed), runs the whole Dagster job in this process N times, and
reports per step: wall time, CPU time and peak RSS (sampled every 50 ms by a
thread; steps are the Dagster step boundaries from the event log). In the same
run it measures the floor: DuckDB scanning every input file and grouping the
largest table (contributions) by person and kind.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from dagster import DagsterEventType, DagsterInstance


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Sampler:
    """Samples (time, rss, cpu) of this process every `interval` seconds."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.samples: list[tuple[float, int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), _rss_bytes(), _cpu_seconds()))
            self._stop.wait(self.interval)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), _rss_bytes(), _cpu_seconds()))

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


def run_once(input_dir: Path, as_of: str, work: Path) -> dict:
    from pipelines.runner import execute_run

    instance = DagsterInstance.ephemeral()
    with Sampler() as sampler:
        t0, c0 = time.time(), _cpu_seconds()
        summary = execute_run(input_dir=input_dir, as_of=as_of, warehouse=work / "warehouse.duckdb",
                              site=work / "site", instance=instance)
        t1, c1 = time.time(), _cpu_seconds()
    steps = {k: sampler.window(*w) for k, w in sorted(step_windows(instance, summary["run_id"]).items(),
                                                        key=lambda kv: kv[1][0])}
    total = sampler.window(t0, t1)
    total["cpu_s"] = round(c1 - c0, 3)
    return {"steps": steps, "total": total, "run_id": summary["run_id"]}


def _median_run(runs: list[dict]) -> dict:
    steps = {}
    for name in runs[0]["steps"]:
        vals = [r["steps"][name] for r in runs if name in r["steps"]]
        steps[name] = {k: statistics.median(v[k] for v in vals) for k in vals[0]}
    total = {k: statistics.median(r["total"][k] for r in runs) for k in runs[0]["total"]}
    return {"steps": steps, "total": total}


def generate_fraction(out: Path, frac: float, seed: int) -> dict:
    """Write the `city` data set scaled by `frac` (employers, persons; the
    defects per rule stay as in `city`) through the generator's own writer
    path. Registers a temporary scale in `pipelines.synthetic.core.SCALES`
    (removed afterwards) so that `generate` runs unchanged."""
    import dataclasses

    from pipelines.synthetic import generate
    from pipelines.synthetic.core import SCALES

    if frac == 1:
        return generate(out, scale="city", seed=seed)
    city = SCALES["city"]
    name = f"city-{frac:g}"
    SCALES[name] = dataclasses.replace(city, employers=max(1000, round(city.employers * frac)),
                                       persons=max(20_000, round(city.persons * frac)))
    try:
        return generate(out, scale=name, seed=seed)
    finally:
        SCALES.pop(name, None)


def bench(out_dir: Path, fractions: list[float], repeats: int, seed: int,
          log: Callable[[str], None] = print, generate: Optional[Callable] = None) -> dict:
    generate = generate or (lambda out, scale, seed, fraction=1.0: generate_fraction(out, fraction, seed))
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
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
        floor = duckdb_floor(data)
        log(f"[{frac:g}] DuckDB floor: {floor['wall_s']} s wall for {floor['rows_scanned']:,} rows")
        runs = []
        for i in range(repeats):
            work = out_dir / f"run-{frac:g}-{i}"
            import shutil

            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            r = run_once(data, info["reference_date"], work)
            runs.append(r)
            log(f"[{frac:g}] run {i + 1}/{repeats}: {r['total']['wall_s']} s wall, "
                f"{r['total']['cpu_s']} s CPU, peak {r['total']['peak_rss_mb']} MB")
        med = _median_run(runs)
        report["scales"][f"{frac:g}"] = {"data": str(data), "counts": info.get("counts"), "floor": floor,
                                         "median": med, "runs": runs}
    fr = sorted(report["scales"])
    if len(fr) > 1:
        base = report["scales"][fr[0]]["median"]["total"]["wall_s"]
        report["growth"] = {f: round(report["scales"][f]["median"]["total"]["wall_s"] / base, 2) for f in fr}
    (out_dir / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report
