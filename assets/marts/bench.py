"""Measurements of the mart layer (not a test): workbook files/s at city
employer count, and mart build time on a generated warehouse.

    .venv/bin/python -m assets.marts.bench workbooks --employers 50000 --write 5000
    .venv/bin/python -m assets.marts.bench marts --persons 100000
    .venv/bin/python -m assets.marts.bench compare v1=/tmp/v1 now=. --persons 100000   (checkouts side by side)
    .venv/bin/python -m assets.marts.bench xlsx --employers 5000     (lean writer vs xlsxwriter, same data)

Prints medians of repeated runs; see docs/marts.md § Measured.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from assets.marts.build import build_all
from assets.marts.sample import make_uscc
from assets.settings import PACKAGED_POLICY

AS_OF = dt.date(2026, 6, 15)


def make_todo_scale(con: duckdb.DuckDBPyConnection, employers: int, rows: int = 4) -> None:
    """employer_summary + todo_* tables for ``employers`` employers with about
    ``rows`` rows per employer in each list (vectorised SQL, fake masked IDs)."""
    A = f"DATE '{AS_OF}'"
    con.execute(f"""CREATE OR REPLACE TABLE employer_summary AS
        SELECT {A} AS as_of, '91110108MA' || lpad(CAST(i AS VARCHAR), 7, '0') || 'X' AS uscc,
               '北京某某科技有限公司' || i AS name FROM range({employers}) t(i)""")
    base = f"""SELECT e.uscc, CAST(j AS INTEGER) AS j, '110105********' || lpad(CAST((e.i * 7 + j) % 10000 AS VARCHAR), 4, '0')
                   AS id_number_masked, '张伟' || j AS name, 'P-' || e.i || '-' || j AS permit_no
               FROM (SELECT i, '91110108MA' || lpad(CAST(i AS VARCHAR), 7, '0') || 'X' AS uscc
                     FROM range({employers}) t(i)) e, range({rows}) r(j)"""
    con.execute(f"""CREATE OR REPLACE TABLE todo_renewals AS SELECT uscc, permit_no, name, id_number_masked,
        {A} + j AS expires_on, {A} + j - 30 AS window_start, {A} + j + 30 AS window_end,
        '续签办理期内' AS window_state_zh, j - 30 AS days_to_window_start, j + 30 AS days_left,
        {A} + j + 30 AS due_on, 'EXP-WINDOW-OPEN' AS rule_ids FROM ({base})""")
    con.execute(f"""CREATE OR REPLACE TABLE todo_cancellations AS SELECT uscc, permit_no, name, id_number_masked,
        '持证人已离职,证件尚未注销' AS reason_zh, {A} - 10 AS left_on, NULL::DATE AS deferred_on,
        10 AS days_overdue, '有效' AS status_zh, {A} - 10 AS due_on, 'NC-LEFT-NOT-CANCELLED' AS rule_ids,
        NULL::VARCHAR AS superseded_rule_ids FROM ({base}) WHERE j < {max(1, rows // 2)}""")
    con.execute(f"""CREATE OR REPLACE TABLE todo_contribution_gaps AS SELECT uscc, permit_no, name, id_number_masked,
        2 AS missing_month_count, '2026-01(个人所得税,社会保险)、2026-02(个人所得税)' AS missing_detail_zh,
        DATE '2026-01-01' AS first_missing_month, DATE '2026-02-01' AS last_missing_month, {A} + 200 AS due_on,
        'NC-CONTRIB-GAP' AS rule_ids FROM ({base}) WHERE j < {max(1, rows // 2)}""")
    con.execute(f"""CREATE OR REPLACE TABLE todo_failing_applications AS SELECT uscc, 'A-' || permit_no AS application_id,
        '新办' AS type_zh, '草稿' AS status_zh, name, id_number_masked, {A} - 3 AS submitted_on, 2 AS reason_count,
        '主要工作业绩不足200字；在本单位工作不满6个月' AS reasons_zh, NULL AS warnings_zh,
        'ELIG-ACHIEVEMENT-200,ELIG-TENURE-6M' AS rule_ids, true AS will_be_returned, {A} AS due_on FROM ({base})""")
    con.execute(f"""CREATE OR REPLACE TABLE todo_candidates_90d AS SELECT uscc, name, id_number_masked,
        {A} - 100 AS hired_on, {A} + j AS eligible_on, j AS days_to_eligible, j = 0 AS eligible_now,
        '任职满6个月' AS waiting_for_zh, {A} + j AS due_on FROM ({base})""")


def bench_workbooks(employers: int, write: int, rows: int, repeats: int, workers: int = 1) -> dict:
    from reports import workbook

    con = duckdb.connect()
    make_todo_scale(con, employers, rows)
    usccs = [r[0] for r in con.sql(f"SELECT uscc FROM employer_summary ORDER BY uscc LIMIT {write}").fetchall()]
    times, read_times = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            frames = [workbook._read_table(con, s, None) for s in workbook.SHEETS]  # all employers, once each
            read_times.append(time.perf_counter() - t0)
            del frames
            t0 = time.perf_counter()
            n = workbook.write_todo_workbooks(con, Path(d), usccs=usccs, workers=workers)
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"employers_in_marts": employers, "rows_per_list": rows, "files_written": n, "workers": workers,
            "median_seconds": round(med, 2), "files_per_second": round(n / med, 1),
            "median_read_all_lists_seconds": round(statistics.median(read_times), 2),
            "projected_seconds_for_all": round(employers / (n / med), 0)}


def _xlsxwriter_workbooks(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """The same to-do workbooks written with xlsxwriter (the baseline of
    reports.xlsx_lean): same sheets, headers, formats (bold shaded header,
    yyyy-mm-dd dates, quote prefix for neutralised text), frozen header,
    autofilter, column widths and 说明 sheet; each list read once for all
    employers, split per employer in polars."""
    import xlsxwriter

    from reports import workbook as W

    emp = con.sql("SELECT uscc, name, as_of FROM employer_summary ORDER BY uscc").pl()
    parts = {}
    for s in W.SHEETS:
        df = W._read_table(con, s, None)
        parts[s.table] = {k[0]: g for k, g in df.partition_by("uscc", as_dict=True).items()} if df.height else {}
    n = 0
    for uscc, name, as_of in emp.iter_rows():
        path = out / "employers" / uscc / "todo.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
        date = wb.add_format({"num_format": "yyyy-mm-dd"})
        quoted = wb.add_format({"quote_prefix": True})
        counts = {}
        for s in W.SHEETS:
            ws = wb.add_worksheet(s.name)
            ws.write_row(0, 0, [zh for _, zh, _, _ in s.columns], head)
            ws.freeze_panes(1, 0)
            df = parts[s.table].get(uscc)
            rows = df.select([c for c, _, _, _ in s.columns]).iter_rows() if df is not None else []
            widths = [W._str_width(zh) + 4 for _, zh, _, _ in s.columns]
            k = 0
            for k, row in enumerate(rows, start=1):
                for j, ((_, _, _, kind), v) in enumerate(zip(s.columns, row)):
                    if v is None:
                        continue
                    if kind == "date":
                        ws.write_datetime(k, j, dt.datetime.combine(v, dt.time()), date)
                    elif kind == "int":
                        ws.write_number(k, j, int(v))
                    else:
                        text = ("是" if v else "否") if kind == "bool" else str(v)
                        text, danger = W.neutralise(text)
                        ws.write_string(k, j, text, quoted if danger else None)
                        widths[j] = max(widths[j], W._str_width(text) + 2)
            counts[s.table] = k
            for j, w in enumerate(widths):
                ws.set_column(j, j, min(w, 60))
            ws.autofilter(0, 0, max(k, 1), len(s.columns) - 1)
        rd = wb.add_worksheet(W.README_SHEET)
        rd.write_row(0, 0, ["项目 / Item", "内容 / Value"], head)
        for i, (a, b) in enumerate((("单位名称 / Employer", name), ("统一社会信用代码 / USCC", uscc),
                                    ("评估基准日 / As of", str(as_of))), start=1):
            rd.write_string(i, 0, a)
            v, danger = W.neutralise(b or "")
            rd.write_string(i, 1, v, quoted if danger else None)
        for i, s in enumerate(W.SHEETS, start=6):
            rd.write_string(i, 0, f"{s.name} / {s.title_en}")
            rd.write_string(i, 1, f"{counts[s.table]} 行 / rows")
        rd.set_column(0, 0, 26)
        rd.set_column(1, 1, 70)
        wb.close()
        n += 1
    return n


def _cells(path: Path) -> dict:
    """Every data sheet's cell values as openpyxl reads them (header and rows)."""
    import openpyxl

    from reports import workbook as W

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {s.name: [tuple(r) for r in wb[s.name].iter_rows(values_only=True)] for s in W.SHEETS}
    finally:
        wb.close()


def bench_xlsx(employers: int, rows: int, repeats: int) -> dict:
    """lean vs xlsxwriter on the same to-do lists, alternating, one process, one core."""
    from reports import workbook

    con = duckdb.connect()
    con.execute("SET threads = 1")
    make_todo_scale(con, employers, rows)
    lean, xw = [], []
    with tempfile.TemporaryDirectory() as d:
        for r in range(repeats):
            for name, fn, times in (("lean", lambda o: workbook.write_todo_workbooks(con, o), lean),
                                    ("xlsxwriter", lambda o: _xlsxwriter_workbooks(con, o), xw)):
                out = Path(d) / f"{name}{r}"
                t0, c0 = time.perf_counter(), time.process_time()
                n = fn(out)
                times.append((time.perf_counter() - t0, time.process_time() - c0))
                assert n == employers
        # both outputs open in openpyxl and hold the same cells (dates as datetimes in both)
        sample = [r[0] for r in con.sql("SELECT uscc FROM employer_summary USING SAMPLE 50 ROWS "
                                        "(reservoir, 7)").fetchall()]
        same = all(_cells(Path(d) / "lean0" / "employers" / u / "todo.xlsx")
                   == _cells(Path(d) / "xlsxwriter0" / "employers" / u / "todo.xlsx") for u in sample)
        size = lambda p: sum(f.stat().st_size for f in Path(p).rglob("todo.xlsx"))  # noqa: E731
        sizes = {"lean_bytes": size(Path(d) / "lean0"), "xlsxwriter_bytes": size(Path(d) / "xlsxwriter0")}
    ml, mx = statistics.median(w for w, _ in lean), statistics.median(w for w, _ in xw)
    cl, cx = statistics.median(c for _, c in lean), statistics.median(c for _, c in xw)
    return {"employers": employers, "rows_per_list": rows, "repeats": repeats,
            "lean_wall_cpu_s": [(round(w, 2), round(c, 2)) for w, c in lean],
            "xlsxwriter_wall_cpu_s": [(round(w, 2), round(c, 2)) for w, c in xw],
            "lean_median_wall_s": round(ml, 2), "xlsxwriter_median_wall_s": round(mx, 2),
            "lean_median_cpu_s": round(cl, 2), "xlsxwriter_median_cpu_s": round(cx, 2),
            "lean_files_per_s": round(employers / ml, 1), "xlsxwriter_files_per_s": round(employers / mx, 1),
            "speedup_wall": round(mx / ml, 2), "speedup_cpu": round(cx / cl, 2),
            "same_cells_in_50_sampled_files": same, **sizes}


def make_people_scale(con: duckdb.DuckDBPyConnection, persons: int, employers: int) -> None:
    """A generated warehouse: ``persons`` people, 60% with a permit, 24 months of
    contributions each, work/education history, some applications and findings."""
    from assets.marts.sample import create_contract_tables

    create_contract_tables(con)
    A = f"DATE '{AS_OF}'"
    usccs = [make_uscc(i) for i in range(employers)]
    con.execute("CREATE TEMP TABLE _u (k BIGINT, uscc VARCHAR)")
    con.executemany("INSERT INTO _u VALUES (?, ?)", list(enumerate(usccs)))
    dist = "['haidian','chaoyang','dongcheng','xicheng','fengtai','tongzhou','changping','daxing']"
    con.execute(f"""INSERT INTO employers SELECT uscc, '单位' || k, 'enterprise', {dist}[1 + k % 8],
        DATE '2010-01-01', 5000000, 'high_tech', DATE '2011-01-01', NULL, NULL FROM _u""")
    # fake but well-formed 18-char IDs (check digits are irrelevant to the marts)
    con.execute(f"""CREATE TEMP TABLE _p AS SELECT CAST(i AS INTEGER) AS i, '110105' || strftime(DATE '1980-01-01' + CAST(i % 9000 AS INTEGER),
        '%Y%m%d') || lpad(CAST(i // 9000 % 1000 AS VARCHAR), 3, '0') || CAST(i % 10 AS VARCHAR) AS id, i % {employers} AS k
        FROM range({persons}) t(i)""")
    con.execute("""INSERT INTO persons (id_number, name, highest_degree, degree_study_mode, graduation_date,
        title_level, special_talent, work_start_date, housing_type, housing_proof, achievements, photo_format,
        photo_bytes, photo_width, photo_height)
        SELECT id, '张' || i, 'bachelor', 'full_time', DATE '2008-06-30', 'none', false, DATE '2008-07-15',
               'rented', true, repeat('业绩', 120), 'jpg', 100000, 358, 441 FROM _p""")
    con.execute(f"""INSERT INTO employments SELECT id, u.uscc, DATE '2015-01-01' + CAST(i % 3000 AS INTEGER), NULL,
        CASE WHEN i % 50 = 0 THEN {A} - 30 END FROM _p JOIN _u u USING (k)""")
    con.execute(f"""INSERT INTO permits SELECT 'P' || i, id, u.uscc, {A} - CAST(i % 1000 AS INTEGER) - 30,
        {A} - CAST(i % 1000 AS INTEGER) - 30 + 1095, CASE WHEN i % 20 = 0 THEN 'cancelled' ELSE 'active' END,
        CASE WHEN i % 20 = 0 THEN {A} - CAST(i % 600 AS INTEGER) END, NULL, NULL, NULL
        FROM _p JOIN _u u USING (k) WHERE i % 5 < 3""")
    con.execute(f"""INSERT INTO contributions SELECT id, CAST(date_trunc('month', {A}) AS DATE) - to_months(m + 1), kind,
        NULL, NULL, 100 FROM _p, range(24) t(m), (VALUES ('income_tax'), ('social_insurance')) k(kind)
        WHERE NOT (i % 37 = 0 AND m = 5)""")
    con.execute("""INSERT INTO work_history SELECT id, DATE '2008-07-15', NULL, '某公司', NULL, NULL FROM _p""")
    con.execute("""INSERT INTO education_history SELECT id, DATE '2002-09-01', DATE '2005-06-30', '某中学',
        'high_school', NULL, NULL FROM _p""")
    con.execute(f"""INSERT INTO applications SELECT 'A' || i, CASE WHEN i % 3 = 0 THEN 'renewal' ELSE 'new' END, id,
        u.uscc, CASE WHEN i % 3 = 0 THEN 'P' || i END, {A} - CAST(i % 400 AS INTEGER), NULL,
        {A} - CAST(i % 400 AS INTEGER), CASE WHEN i % 4 <> 0 THEN {A} - CAST(i % 400 AS INTEGER) + 12 + i % 20 END,
        CASE WHEN i % 4 = 0 THEN 'draft' WHEN i % 4 = 1 THEN 'approved' WHEN i % 4 = 2 THEN 'returned'
             ELSE 'rejected' END, CASE WHEN i % 4 = 2 THEN '材料不全' END, NULL
        FROM _p JOIN _u u USING (k) WHERE i % 10 = 0""")
    con.execute(f"""INSERT INTO findings SELECT 'bench', {A}, 'NC-CONTRIB-GAP', 'warning', 'permit', p.permit_no,
        p.uscc, p.id_number, NULL, '缴费有缺口', 'gap', '{{}}', false FROM permits p JOIN _p ON _p.id = p.id_number
        WHERE _p.i % 37 = 0 AND p.status = 'active'""")
    con.execute(f"""INSERT INTO findings SELECT 'bench', {A}, 'ELIG-TENURE-6M', 'error', 'application',
        application_id, uscc, id_number, NULL, '在本单位工作不满6个月', 'tenure', '{{}}', false FROM applications
        WHERE status = 'draft'""")


def rule_step_candidates(con: duckdb.DuckDBPyConnection, run_id: str = "bench") -> tuple[float, float]:
    """What the rule step adds for the candidates mart (``save_candidates`` on the
    rule step's prepared connection: a cursor of its own, as the rule step has);
    returns (wall s, CPU s) of that part alone (the preparation is the rule
    step's anyway)."""
    from core.policy import load_policy
    from expectations.candidates import save_candidates
    from expectations.engine import ensure_input_tables, prepare

    cur = con.cursor()
    try:
        ensure_input_tables(cur)
        prepare(cur, AS_OF, load_policy(PACKAGED_POLICY))
        t0, c0 = time.perf_counter(), time.process_time()
        save_candidates(cur, run_id)
        return time.perf_counter() - t0, time.process_time() - c0
    finally:
        cur.close()


def bench_marts(persons: int, employers: int, repeats: int, with_rule_step: bool = True) -> dict:
    """build_all on a generated warehouse (wall and CPU of the whole process,
    per mart wall), after the rule step's part for the candidates when
    ``with_rule_step`` (as in a pipeline run); without it the mart judges the
    candidates itself."""
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(str(Path(d) / "w.duckdb"))
        con.execute("SET enable_progress_bar = false")
        t0 = time.perf_counter()
        make_people_scale(con, persons, employers)
        gen = time.perf_counter() - t0
        contrib = con.sql("SELECT count(*) FROM contributions").fetchall()[0][0]
        times, last, per, rule_part = [], {}, [], []
        for _ in range(repeats):
            if with_rule_step:
                rule_part.append(rule_step_candidates(con))
            t0, c0 = time.perf_counter(), time.process_time()
            tm: dict[str, float] = {}
            last = build_all(con, AS_OF, PACKAGED_POLICY, timings=tm)
            times.append((time.perf_counter() - t0, time.process_time() - c0))
            per.append(tm)
        con.close()
    out = {"persons": persons, "employers": employers, "contribution_rows": contrib,
           "generate_seconds": round(gen, 1),
           "median_build_all_seconds": round(statistics.median(w for w, _ in times), 2),
           "median_build_all_cpu_seconds": round(statistics.median(c for _, c in times), 2),
           "median_seconds_per_mart": {k: round(statistics.median(t[k] for t in per), 2) for k in per[0]},
           "rows": last}
    if rule_part:
        out["rule_step_candidates_wall_cpu_s"] = [(round(w, 2), round(c, 2)) for w, c in rule_part]
    return out


# One measurement in a fresh process of any checkout (this one or an older commit
# exported with `git archive`): generate, [the rule step's candidates part,] build_all.
_ONCE = r"""
import json, sys, tempfile, time
from pathlib import Path
import duckdb
from assets.marts.bench import AS_OF, make_people_scale
from assets.settings import PACKAGED_POLICY
try:
    from assets.marts.bench import rule_step_candidates
except ImportError:  # a checkout whose marts judge the candidates themselves
    rule_step_candidates = None
import assets.marts.build as B
persons, employers = int(sys.argv[1]), int(sys.argv[2])
cpu = {}
def timed(name, fn):
    def run(*a, **k):
        c0 = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            cpu[name] = cpu.get(name, 0.0) + time.process_time() - c0
    return run
# CPU per mart: the builders are looked up in these dicts / module names when build_all runs
for table in ("BUILDERS", "BUREAU_BUILDERS"):
    if isinstance(getattr(B, table, None), dict):
        getattr(B, table).update({m: timed(m, f) for m, f in getattr(B, table).items()})
for name in [n for n in vars(B) if n.startswith("build_") and n != "build_all"] + ["prepare"]:
    if callable(getattr(B, name)):
        setattr(B, name, timed(name.removeprefix("build_"), getattr(B, name)))
with tempfile.TemporaryDirectory() as d:
    con = duckdb.connect(str(Path(d) / "w.duckdb"))
    con.execute("SET enable_progress_bar = false")
    make_people_scale(con, persons, employers)
    rw, rc = rule_step_candidates(con) if rule_step_candidates else (0.0, 0.0)
    tm = {}
    t0, c0 = time.perf_counter(), time.process_time()
    rows = B.build_all(con, AS_OF, PACKAGED_POLICY, timings=tm)
    w, c = time.perf_counter() - t0, time.process_time() - c0
    con.close()
print(json.dumps({"wall": w, "cpu": c, "rule_wall": rw, "rule_cpu": rc, "timings": tm, "cpu_per_mart": cpu,
                  "rows": rows}))
"""


def bench_compare(trees: dict[str, Path], persons: int, employers: int, repeats: int) -> dict:
    """build_all of several checkouts in one run: for each repeat, one fresh
    process per checkout in turn (PYTHONPATH = that checkout), so load swings
    hit all alike. Per checkout: medians of build_all wall / CPU, of the marts
    that exist in every checkout (``common``: build_all minus the marts some
    checkout lacks, e.g. checklists; ``prepare`` counts as a mart), and of the
    rule step's candidates part (0 where the marts judge them)."""
    import json
    import os
    import subprocess
    import sys

    runs: dict[str, list[dict]] = {k: [] for k in trees}
    for _ in range(repeats):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree)}
            res = subprocess.run([sys.executable, "-c", _ONCE, str(persons), str(employers)], cwd=tree, env=env,
                                 capture_output=True, text=True, check=True)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            r["load"] = os.getloadavg()[0]
            runs[name].append(r)
            print(f"{name}: build_all {r['wall']:.2f} s wall {r['cpu']:.2f} s CPU; rule step part "
                  f"{r['rule_wall']:.2f} / {r['rule_cpu']:.2f} s; load {r['load']:.1f}", flush=True)
    # prepare is in every build_all (some checkouts do not time it separately)
    common = set.intersection(*(set(rs[0]["timings"]) for rs in runs.values())) | {"prepare"}
    extra = {k: sorted(set(rs[0]["timings"]) - common) for k, rs in runs.items()}
    out: dict = {"persons": persons, "employers": employers, "repeats": repeats, "common_marts": sorted(common),
                 "not_common": extra, "trees": {}}
    med = statistics.median
    for name, rs in runs.items():
        common_wall = [r["wall"] - sum(r["timings"][m] for m in extra[name]) for r in rs]
        common_cpu = [r["cpu"] - sum(r["cpu_per_mart"].get(m, 0.0) for m in extra[name]) for r in rs]
        out["trees"][name] = {
            "tree": str(trees[name]),
            "build_all_wall_s": [round(r["wall"], 2) for r in rs], "build_all_cpu_s": [round(r["cpu"], 2) for r in rs],
            "common_wall_s": [round(w, 2) for w in common_wall],
            "rule_part_wall_s": [round(r["rule_wall"], 2) for r in rs],
            "rule_part_cpu_s": [round(r["rule_cpu"], 2) for r in rs],
            "median_build_all_wall_s": round(med(r["wall"] for r in rs), 2),
            "median_build_all_cpu_s": round(med(r["cpu"] for r in rs), 2),
            "median_common_wall_s": round(med(common_wall), 2),
            "median_common_plus_rule_part_wall_s": round(med(w + r["rule_wall"] for w, r in zip(common_wall, rs)), 2),
            "common_cpu_s": [round(c, 2) for c in common_cpu],
            "median_common_cpu_s": round(med(common_cpu), 2),
            "median_common_plus_rule_part_cpu_s": round(med(c + r["rule_cpu"] for c, r in zip(common_cpu, rs)), 2),
            "median_cpu_per_mart": {m: round(med(r["cpu_per_mart"].get(m, 0.0) for r in rs), 3)
                                    for m in rs[0]["cpu_per_mart"]},
            "median_seconds_per_mart": {m: round(med(r["timings"][m] for r in rs), 2) for m in rs[0]["timings"]},
            "load": [round(r["load"], 1) for r in rs],
            "rows": rs[-1]["rows"]}
    names = list(trees)
    base = out["trees"][names[0]]
    for name in names[1:]:
        t = out["trees"][name]
        t["ratio_to_" + names[0]] = {
            "build_all_wall": round(t["median_build_all_wall_s"] / base["median_build_all_wall_s"], 2),
            "common_wall": round(t["median_common_wall_s"] / base["median_common_wall_s"], 2),
            "common_plus_rule_part_wall": round(t["median_common_plus_rule_part_wall_s"]
                                                / base["median_common_plus_rule_part_wall_s"], 2),
            "build_all_cpu": round(t["median_build_all_cpu_s"] / base["median_build_all_cpu_s"], 2),
            "common_cpu": round(t["median_common_cpu_s"] / base["median_common_cpu_s"], 2),
            "common_plus_rule_part_cpu": round(t["median_common_plus_rule_part_cpu_s"]
                                               / base["median_common_plus_rule_part_cpu_s"], 2)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    w = sub.add_parser("workbooks")
    w.add_argument("--employers", type=int, default=50_000)
    w.add_argument("--write", type=int, default=2_000)
    w.add_argument("--rows", type=int, default=4)
    w.add_argument("--repeats", type=int, default=3)
    w.add_argument("--workers", type=int, default=1)
    m = sub.add_parser("marts")
    m.add_argument("--persons", type=int, default=100_000)
    m.add_argument("--employers", type=int, default=5_000)
    m.add_argument("--repeats", type=int, default=3)
    m.add_argument("--without-rule-step", action="store_true",
                   help="no candidate_checks from the rule step: the mart judges the candidates itself")
    c = sub.add_parser("compare")
    c.add_argument("trees", nargs="+", help="NAME=PATH of checkouts (first = baseline), e.g. v1=/tmp/v1 now=.")
    c.add_argument("--persons", type=int, default=100_000)
    c.add_argument("--employers", type=int, default=5_000)
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--out", type=Path, help="write the figures as JSON here")
    x = sub.add_parser("xlsx")
    x.add_argument("--employers", type=int, default=5_000)
    x.add_argument("--rows", type=int, default=4)
    x.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if a.what == "xlsx":
        print(bench_xlsx(a.employers, a.rows, a.repeats))
    elif a.what == "workbooks":
        print(bench_workbooks(a.employers, a.write, a.rows, a.repeats, a.workers))
    elif a.what == "compare":
        import json

        trees = {k: Path(v).resolve() for k, v in (t.split("=", 1) for t in a.trees)}
        res = bench_compare(trees, a.persons, a.employers, a.repeats)
        if a.out:
            a.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
        print(json.dumps({k: {x: v for x, v in t.items() if x.startswith(("median_b", "median_common", "ratio", "load"))}
                          for k, t in res["trees"].items()}, indent=1))
    else:
        print(bench_marts(a.persons, a.employers, a.repeats, not a.without_rule_step))


if __name__ == "__main__":
    main()
