"""Benchmark the rule layer on a synthetic contract-shaped warehouse built
with DuckDB range() (not the realistic generator: only sizes matter here).

    .venv/bin/python -m assets.rules.bench --people 1000000 --db /tmp/bench.duckdb [--gx] [--repeat 3]

Prints medians: the baseline (one scan + group-by of contributions, the
measure in the issue) and the whole rule layer without GX, and GX separately.

On a real warehouse (the city loop: the pipeline's rule step, candidates
included, on a copy of a warehouse that holds the ingested tables):

    .venv/bin/python -m assets.rules.bench --warehouse CITY.duckdb --db /tmp/copy.duckdb \
        --as-of 2026-11-16 [--gx] [--save DIR] [--json OUT.json]
    .venv/bin/python -m assets.rules.bench --compare DIR_BEFORE DIR_AFTER

``--save`` keeps the step's output (findings without run_id / as_of,
candidate_applications, candidate_checks) as Parquet; ``--compare`` says
whether two such folders hold the same rows (EXCEPT ALL both ways).
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

import duckdb

from core.contract import TABLES



def _create_contract_tables(con) -> None:
    for name, table in TABLES.items():
        con.execute(f"CREATE OR REPLACE TABLE {name} (" + ", ".join(f"{c.name} {c.sql_type}" for c in table.columns) + ")")


def build(con, people: int, months: int = 24, as_of: str = "2026-06-15") -> None:
    _create_contract_tables(con)
    n_emp = max(people // 20, 10)
    con.execute(f"""
        INSERT INTO employers SELECT
            'E' || lpad(CAST(i AS VARCHAR), 17, '0'), 'employer ' || i,
            CASE WHEN i % 50 = 0 THEN 'foreign_branch' ELSE 'enterprise' END,
            (['haidian','chaoyang','dongcheng','xicheng','fengtai','tongzhou'])[1 + i % 6],
            DATE '2005-01-01' + CAST(i % 6000 AS INTEGER), 1000000 + (i % 7) * 500000, 'other',
            DATE '2010-01-01' + CAST(i % 4000 AS INTEGER), DATE '2025-06-01' + CAST(i % 400 AS INTEGER),
            CASE WHEN i % 97 = 0 THEN DATE '2025-10-01' END
        FROM range({n_emp}) t(i)""")
    con.execute(f"""
        CREATE TEMP TABLE _ids AS SELECT i,
            '110105' || strftime(DATE '1966-01-01' + CAST(i % 15000 AS INTEGER), '%Y%m%d')
                || lpad(CAST(i // 15000 AS VARCHAR), 3, '0') || 'X' AS id,
            'E' || lpad(CAST(i % {n_emp} AS VARCHAR), 17, '0') AS uscc
        FROM range({people}) t(i)""")
    con.execute("""
        INSERT INTO persons (id_number, name, highest_degree, degree_study_mode, graduation_date, title_level,
                             special_talent, work_start_date, housing_type, housing_proof, achievements,
                             photo_format, photo_bytes, photo_width, photo_height)
        SELECT id, 'p', 'bachelor', 'full_time', DATE '2008-07-01', 'none', false, DATE '2008-08-01', 'owned',
               i % 100 <> 0, repeat('业', CASE WHEN i % 100 = 7 THEN 150 ELSE 200 + i % 50 END), 'jpg', 100000, 300, 420 FROM _ids""")
    con.execute("INSERT INTO employments (id_number, uscc, hired_on, contract_end_on, left_on) "
                "SELECT id, uscc, DATE '2018-01-01' + CAST(i % 2500 AS INTEGER), DATE '2029-01-01', "
                "CASE WHEN i % 200 = 0 THEN DATE '2026-01-01' END FROM _ids")
    con.execute("INSERT INTO work_history (id_number, start_on, end_on, organization) "
                "SELECT id, DATE '2008-08-01', DATE '2017-12-31', 'old' FROM _ids UNION ALL "
                "SELECT id, DATE '2018-01-01' + CAST(i % 200 AS INTEGER), NULL, 'now' FROM _ids")
    con.execute("INSERT INTO education_history (id_number, start_on, end_on, level) "
                "SELECT id, DATE '2001-09-01', DATE '2004-07-01', 'high_school' FROM _ids UNION ALL "
                "SELECT id, DATE '2004-09-01', DATE '2008-07-01', 'bachelor' FROM _ids")
    # months x 2 kinds per person, a few holes
    first = dt.date.fromisoformat(as_of).replace(day=1)
    con.execute(f"""
        INSERT INTO contributions (id_number, month, kind, withholder_uscc, amount_cny)
        SELECT id, CAST(DATE '{first.isoformat()}' - to_months(CAST(m AS INTEGER)) AS DATE), k,
               CASE WHEN i % 53 = 0 AND m <= 3 THEN 'OTHER' ELSE uscc END, 100
        FROM _ids, range(1, {months} + 1) r(m), (VALUES ('income_tax'), ('social_insurance')) kk(k)
        WHERE NOT (i % 37 = 0 AND m = 5 AND k = 'social_insurance')""")
    con.execute("""
        INSERT INTO permits (permit_no, id_number, uscc, issued_on, expires_on, status, last_inspection_on)
        SELECT 'P' || i, id, uscc, DATE '2026-06-15' - CAST(i % 660 AS INTEGER),
               CAST(DATE '2026-06-15' - CAST(i % 660 AS INTEGER) + INTERVAL 3 YEAR AS DATE) - CASE WHEN i % 50 = 0 THEN 700 ELSE 0 END,
               CASE WHEN i % 40 = 0 THEN 'cancelled' WHEN i % 301 = 0 THEN 'deferred_cancellation' ELSE 'active' END,
               DATE '2025-07-01' + CAST(i % 365 AS INTEGER)
        FROM _ids WHERE i % 5 <> 0""")
    con.execute("UPDATE permits SET deferred_on = DATE '2025-10-01' WHERE status = 'deferred_cancellation'")
    con.execute("""
        INSERT INTO applications (application_id, type, id_number, uscc, permit_no, submitted_on,
                                  window_submitted_on, decided_on, status)
        SELECT 'A' || i, CASE WHEN i % 5 = 0 THEN 'new' ELSE 'renewal' END, id, uscc,
               CASE WHEN i % 5 = 0 THEN NULL ELSE 'P' || i END, DATE '2025-06-15' + CAST(i % 365 AS INTEGER),
               DATE '2025-06-16' + CAST(i % 365 AS INTEGER),
               CASE WHEN i % 5 IN (2, 4) THEN DATE '2025-06-16' + CAST(i % 365 + 10 + i % 13 AS INTEGER) END,
               CASE WHEN i % 365 < 355 THEN (['approved','approved','approved','approved','rejected'])[1 + i % 5]
                    ELSE (['draft','under_review','approved','returned','rejected'])[1 + i % 5] END
        FROM _ids WHERE i % 4 = 0""")
    con.execute("INSERT INTO dependents (holder_id_number, id_number, relation, name, marriage_certificate) "
                "SELECT id, '110105' || strftime(DATE '2005-01-01' + CAST(i % 6000 AS INTEGER), '%Y%m%d') "
                "|| lpad(CAST(i // 6000 AS VARCHAR), 3, '0') || '1', CASE WHEN i % 2 = 0 THEN 'spouse' ELSE 'child' END, "
                "'d', i % 10 <> 0 FROM _ids WHERE i % 3 = 0")
    con.execute("DROP TABLE _ids")
    con.execute("CHECKPOINT")


CPU: list[float] = []


def timed(fn, repeat: int) -> tuple[float, list[float]]:
    """Median wall seconds (and CPU seconds of this process in CPU[-1])."""
    runs, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU.append(statistics.median(cpu))
    return statistics.median(runs), runs


SAVED = {"findings": "SELECT * EXCLUDE (run_id, as_of) FROM findings",
         "candidate_applications": "SELECT * EXCLUDE (run_id, as_of) FROM candidate_applications",
         "candidate_checks": "SELECT * FROM candidate_checks"}


def load_text() -> str:
    import os

    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run_warehouse(a) -> None:
    """The rule step as the pipeline runs it, on a copy of a real warehouse."""
    import json
    import shutil

    from assets.rules.core import evaluate_rulebook
    from assets.settings import PACKAGED_POLICY

    before = load_text()
    shutil.copyfile(a.warehouse, a.db)
    con = duckdb.connect(str(a.db))
    con.execute("SET enable_progress_bar = false")
    if a.threads:
        con.execute(f"SET threads = {a.threads}")
    if a.gx:  # GX imported before the step, as the pipeline does (gx_suites.prefetch_gx during ingest)
        from expectations.gx_suites import build_suites

        build_suites()
    t0, c0 = time.perf_counter(), time.process_time()
    con.sql("SELECT id_number, kind, count(*) FROM contributions GROUP BY ALL").fetchall()
    base = {"what": "group-by", "wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - c0, 2)}
    print(f"{before}; contributions grouped by person and kind: {base['wall_s']} s wall, {base['cpu_s']} s CPU")
    t0, c0 = time.perf_counter(), time.process_time()
    res = evaluate_rulebook(con, dt.date.fromisoformat(a.as_of), "bench", PACKAGED_POLICY, candidates=True,
                            with_gx=a.gx, work_dir=Path(a.db).with_suffix(".work") if a.gx else None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    con.close()  # the pipeline's step ends so too: DuckDB checkpoints the step's writes
    close_s = round(time.perf_counter() - t1, 2)
    after = load_text()
    print(f"rule step: {wall:.2f} s wall, {cpu:.2f} s CPU, then closing the connection {close_s} s; {after}")
    print("phases:", res["timing"])
    per_rule = sorted(((r.get("cpu_seconds") or 0, r.get("seconds") or 0, k) for k, r in res["rules"].items()),
                      reverse=True)
    print("slowest rules (cpu s, wall s):", per_rule[:10])
    print("sum of rule wall / cpu s:", round(sum(x[1] for x in per_rule), 2), round(sum(x[0] for x in per_rule), 2))
    con = duckdb.connect(str(a.db))
    if a.save:
        a.save.mkdir(parents=True, exist_ok=True)
        for name, q in SAVED.items():
            con.execute(f"COPY ({q}) TO '{a.save / (name + '.parquet')}' (FORMAT parquet)")
    if a.json:
        Path(a.json).write_text(json.dumps({
            "as_of": a.as_of, "load_before": before, "load_after": after, "baseline": base,
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "close_s": close_s, "timing": res["timing"],
            "rules": {k: {"cpu_s": c, "wall_s": w} for c, w, k in per_rule}}, indent=1) + "\n")
    con.close()


def compare(a_dir: Path, b_dir: Path) -> bool:
    """Same rows (EXCEPT ALL both ways) in every table saved by --save."""
    con = duckdb.connect()
    same = True
    for name in SAVED:
        a, b = f"read_parquet('{a_dir / (name + '.parquet')}')", f"read_parquet('{b_dir / (name + '.parquet')}')"
        n = con.sql(f"SELECT count(*) FROM {a}").fetchall()[0][0]
        only_a = con.sql(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchall()[0][0]
        only_b = con.sql(f"SELECT count(*) FROM (FROM {b} EXCEPT ALL FROM {a})").fetchall()[0][0]
        print(f"{name}: {n} rows; only in first {only_a}, only in second {only_b}")
        same = same and only_a == only_b == 0
    print("identical" if same else "DIFFERENT")
    return same


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--db", type=Path, default=Path("/tmp/rules-bench.duckdb"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gx", action="store_true")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--warehouse", type=Path, help="copy this warehouse to --db and run the rule step on it")
    ap.add_argument("--as-of", default="2026-11-16")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--compare", type=Path, nargs=2)
    a = ap.parse_args()
    if a.compare:
        raise SystemExit(0 if compare(*a.compare) else 1)
    if a.warehouse:
        return run_warehouse(a)
    from assets.rules.core import evaluate_rulebook
    from assets.settings import PACKAGED_POLICY

    if not a.db.exists():
        t0 = time.perf_counter()
        with duckdb.connect(str(a.db)) as con:
            build(con, a.people)
        print(f"built {a.db} in {time.perf_counter() - t0:.1f} s")
    con = duckdb.connect(str(a.db))
    if a.threads:
        con.execute(f"SET threads = {a.threads}")
    sizes = {t: con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0]
             for t in ("persons", "contributions", "permits", "applications", "dependents")}
    print("sizes", sizes)
    base, runs = timed(lambda: con.sql("SELECT id_number, count(*), max(month) FROM contributions "
                                       "GROUP BY id_number").fetchall(), a.repeat)
    base_cpu = CPU[-1]
    print(f"baseline scan+group-by of contributions: median {base:.2f} s wall, {base_cpu:.2f} s CPU  "
          f"{[round(x, 2) for x in runs]}")
    as_of = dt.date(2026, 6, 15)
    last = {}

    def rules_only():
        last.update(evaluate_rulebook(con, as_of, "bench", PACKAGED_POLICY, with_gx=False))

    med, runs = timed(rules_only, a.repeat)
    print(f"rule layer (all SQL rules, findings, history): median {med:.2f} s wall, {CPU[-1]:.2f} s CPU "
          f"{[round(x, 2) for x in runs]} = {med / base:.1f}x baseline wall, {CPU[-1] / base_cpu:.1f}x CPU; "
          f"{last['timing']}")
    slow = sorted(((r.get("cpu_seconds") or 0, r.get("seconds") or 0, k) for k, r in last["rules"].items()),
                  reverse=True)[:8]
    print("slowest rules (cpu s, wall s):", slow)
    print("sum of rule cpu s:", round(sum(r.get("cpu_seconds") or 0 for r in last["rules"].values()), 2))
    print("findings:", sum(r["count"] for r in last["rules"].values()))
    if a.gx:
        import tempfile

        work = Path(tempfile.mkdtemp())
        t0 = time.perf_counter()
        res = evaluate_rulebook(con, as_of, "bench", PACKAGED_POLICY, work_dir=work, with_gx=True)
        print(f"with GX: {time.perf_counter() - t0:.1f} s; {res['timing']}")


if __name__ == "__main__":
    main()
