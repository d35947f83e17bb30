"""Build the static site from the warehouse, and publish it atomically.

Shape (see docs/site.md):
- one page template per page kind, rendered once; employer pages are the
  template with three markers replaced (name, uscc, data);
- one shared ``assets/`` folder: plotly.min.js (from the installed plotly
  package), site.js (draws every chart and table from the page's JSON blob),
  site.css and meta.js (labels, rules, table columns shared by all pages);
- the data: one query per mart, grouped per employer in polars.
"""
from __future__ import annotations

import datetime as dt
import html
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reports.files import overwrite
from reports.site import data as D
from reports.site import labels as L

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

EMPLOYER_PAGE_BUDGET = 200 * 1024
BUREAU_PAGE_BUDGET = 3 * 1024 * 1024


class SiteBuildError(RuntimeError):
    """The site could not be built; the previously published site is untouched."""


@dataclass
class SiteResult:
    site_dir: str
    employer_pages: int = 0
    pages: int = 0
    bytes_total: int = 0
    largest_employer_page: int = 0
    largest_employer_uscc: str = ""
    bureau_page_bytes: int = 0
    workbooks: int = 0
    gx_docs: bool = False
    rows_without_employer: int = 0
    reduced_caps: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        return {"pages": self.pages, "employer_pages": self.employer_pages, "site_bytes_without_workbooks": self.bytes_total,
                "largest_employer_page_bytes": self.largest_employer_page,
                "largest_employer_page_uscc": self.largest_employer_uscc,
                "bureau_page_bytes": self.bureau_page_bytes, "todo_workbooks": self.workbooks,
                "gx_data_docs": self.gx_docs, "rows_without_employer_page": self.rows_without_employer,
                "employers_with_shortened_lists": len(self.reduced_caps), **{f"seconds_{k}": v for k, v in self.seconds.items()}}


def plotly_js_path() -> Path:
    import plotly

    p = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not p.exists():
        raise SiteBuildError(f"plotly.min.js not found in the installed plotly package ({p})")
    return p


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)


def _common(as_of: dt.date, run_id: str, root: str, page: str, charts: bool) -> dict:
    return {"as_of": as_of.isoformat(), "run_id": run_id, "root": root, "page": page, "charts": charts,
            "show_nav": True}


def _write(path: Path, text: str) -> int:
    return overwrite(path, text.encode("utf-8"))


def _employer_template(env: Environment, as_of: dt.date, run_id: str) -> tuple[str, str, str, str, str, str, str]:
    """The employer page split at its markers: pre, NAME, mid1, NAME, mid2, USCC, mid3, DATA, post."""
    ctx = _common(as_of, run_id, "../../", "employer", True)
    ctx["show_nav"] = False  # an employer page only links to shared pages (rules), not to other employers
    ctx["data"] = "@@DATA@@"
    text = env.get_template("employer.html").render(**ctx)
    a, rest = text.split("@@NAME@@", 1)
    b, rest = rest.split("@@NAME@@", 1)
    c, rest = rest.split("@@USCC@@", 1)
    d, e = rest.split("@@DATA@@", 1)
    return a, b, c, d, e, "", ""


def fit_employer_pages(con, ed: D.EmployerData, as_of: dt.date, cap: int, env: Environment,
                       run_id: str) -> tuple[D.EmployerData, dict]:
    """Keep every employer page within EMPLOYER_PAGE_BUDGET: employers whose
    page would be larger get fewer rows per action list on the page (halving
    the cap; the heading keeps the full count and todo.xlsx has every row).
    Returns the data and {uscc: cap used} for the reduced ones."""
    import polars as pl

    shell = sum(len(x.encode("utf-8")) for x in _employer_template(env, as_of, run_id))
    reduced: dict = {}
    while cap > 5:
        size = (pl.col("blob").str.len_bytes() + pl.col("blob").str.count_matches("</", literal=True)
                + 12 * pl.col("name").fill_null("").str.len_bytes() + 18 + shell)  # name escaped, twice
        over = ed.frame.filter(size > EMPLOYER_PAGE_BUDGET)["uscc"].to_list()
        if not over:
            break
        cap //= 2
        sub = D.employer_data(con, as_of, cap=cap, only=over)
        ed.frame = pl.concat([ed.frame.filter(~pl.col("uscc").is_in(over)), sub.frame]).sort("uscc")
        reduced.update({u: cap for u in over})
    return ed, reduced


def write_employer_pages(out: Path, ed: D.EmployerData, env: Environment, as_of: dt.date, run_id: str,
                         fail_after: Optional[int] = None) -> tuple[int, int, str, int]:
    """Write employers/<uscc>/index.html for every employer; returns (pages, bytes, largest uscc, largest bytes)."""
    a, b, c, d, e, _, _ = _employer_template(env, as_of, run_id)
    emp_dir = out / "employers"
    emp_dir.mkdir(parents=True, exist_ok=True)
    n = total = biggest = 0
    biggest_uscc = ""
    frame = ed.frame
    for uscc, name, blob in zip(frame["uscc"].to_list(), frame["name"].to_list(), frame["blob"].to_list()):
        if fail_after is not None and n >= fail_after:
            raise SiteBuildError(f"simulated failure after {n} employer pages")
        folder = emp_dir / uscc
        folder.mkdir(exist_ok=True)
        ename = html.escape(name or uscc)
        size = _write(folder / "index.html",
                      "".join((a, ename, b, ename, c, uscc, d, blob.replace("</", "<\\/"), e)))
        total += size
        n += 1
        if size > biggest:
            biggest, biggest_uscc = size, uscc
    return n, total, biggest_uscc, biggest


def _shared_meta(ed: D.EmployerData, rules: list[dict], as_of: dt.date, run_id: str, workbooks: bool) -> str:
    meta = {
        "as_of": as_of.isoformat(), "run_id": run_id, "workbooks": workbooks,
        "enums": {k: {code: list(v) for code, v in vals.items()} for k, vals in L.ENUMS.items()},
        "rules": {r["rule_id"]: [r["title_zh"], r["title_en"], r["severity"]] for r in rules},
        "employer": {"kpis": ed.kpis, "tables": ed.tables, "months": ed.months, "statuses": ed.statuses},
    }
    return "window.PERMITS_META = " + D.dumps(meta) + ";\n"


def _copy_gx(datadocs: Optional[Path], out: Path) -> Optional[str]:
    if not datadocs or not Path(datadocs).is_dir():
        return None
    if (out / "gx").exists():  # a reused folder (publish_site): last run's docs go
        shutil.rmtree(out / "gx")
    shutil.copytree(datadocs, out / "gx")
    for cand in ("index.html", "local_site/index.html"):
        if (out / "gx" / cand).exists():
            return "gx/" + cand
    found = sorted((out / "gx").rglob("index.html"))
    return str(found[0].relative_to(out)) if found else None


def _start_workbooks(con, out: Path, workers: int = 2, parallel_from: int = 2000) -> Callable[[], int]:
    """Start writing todo.xlsx beside every employer page (reports.workbook);
    return a function that waits for them and gives their number. At scale the
    employers are split over ``workers`` processes, which run while this process
    writes the pages: the marts the workbook reads are exported once to Parquet
    and each worker loads them into its own in-memory DuckDB (the run's staging
    file stays open in this process)."""
    from reports.workbook import SHEETS, write_exported_workbooks, write_todo_workbooks

    usccs = [r[0] for r in con.sql("SELECT uscc FROM employer_summary ORDER BY uscc").fetchall()]
    if workers <= 1 or len(usccs) < parallel_from:  # small: written in this process when asked for
        return lambda: write_todo_workbooks(con, out)
    import multiprocessing
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    tables = ["employer_summary", *dict.fromkeys(s.table for s in SHEETS)]
    export = Path(tempfile.mkdtemp(prefix=".wb-export-", dir=out.parent))
    try:
        for t in tables:
            con.execute(f"COPY (SELECT * FROM \"{t}\") TO '{export / (t + '.parquet')}' (FORMAT parquet)")
        size = -(-len(usccs) // workers)
        chunks = [usccs[i:i + size] for i in range(0, len(usccs), size)]
        ex = ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("spawn"))
        futures = [ex.submit(write_exported_workbooks, str(export), tables, str(out), c) for c in chunks]
    except BaseException:
        shutil.rmtree(export, ignore_errors=True)
        raise

    def finish() -> int:
        try:
            return sum(f.result() for f in futures)
        finally:
            ex.shutdown(cancel_futures=True)
            shutil.rmtree(export, ignore_errors=True)

    return finish


def build_site(con: duckdb.DuckDBPyConnection, out: Path, *, as_of: dt.date, run_id: str, min_cell: int = 5,
               policy_version: str = "", datadocs: Optional[Path] = None, workbooks: bool = True,
               table_row_cap: int = 300, fail_after: Optional[int] = None, summary: Optional[dict] = None,
               workers: int = 2, parallel_from: int = 2000, policy_defaults: Optional[dict] = None,
               log: Callable[[str], None] = lambda s: None) -> SiteResult:
    """Write the whole site into ``out``: a fresh folder, or an earlier site
    being reused (``publish_site``) — every file is then overwritten in place
    and the folders of employers no longer listed are removed."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = SiteResult(site_dir=str(out))
    env = _env()
    secs = res.seconds

    # shared assets
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    shutil.copyfile(plotly_js_path(), assets / "plotly.min.js")
    shutil.copyfile(STATIC / "site.js", assets / "site.js")
    shutil.copyfile(STATIC / "site.css", assets / "site.css")

    if policy_defaults is None:  # the packaged policy, through the one loader
        from core.policy import PACKAGED_POLICY, load_policy

        policy_defaults = load_policy(PACKAGED_POLICY).defaults
    # the todo.xlsx worker processes start first: they run while this process
    # gathers the page data and writes the pages
    t_wb = time.perf_counter()
    finish_workbooks = _start_workbooks(con, out, workers=workers, parallel_from=parallel_from) if workbooks \
        else (lambda: 0)
    try:
        rules = D.rules_list(con, policy_defaults)
        t = time.perf_counter()
        ed = D.employer_data(con, as_of, cap=table_row_cap)
        ed, res.reduced_caps = fit_employer_pages(con, ed, as_of, table_row_cap, env, run_id)
        secs["employer_data"] = round(time.perf_counter() - t, 2)
        res.rows_without_employer = sum(ed.orphans.values())
        for mart, n_lost in ed.orphans.items():
            log(f"WARNING {mart}: {n_lost} rows have a uscc that is not in employer_summary: no page shows them "
                f"/ {n_lost} 行的单位不在 employer_summary 中,未发布到单位页面")
        t = time.perf_counter()
        n, nbytes, big_uscc, big = write_employer_pages(out, ed, env, as_of, run_id, fail_after=fail_after)
        secs["employer_pages"] = round(time.perf_counter() - t, 2)
    except BaseException:
        try:
            finish_workbooks()  # wait for the workers and clean up; the first error is the one reported
        except Exception:  # noqa: BLE001
            pass
        raise
    nwb = finish_workbooks()
    if workbooks:
        secs["workbooks"] = round(time.perf_counter() - t_wb, 2)
        log(f"todo.xlsx workbooks: {nwb}")
    res.workbooks = nwb
    _write(assets / "meta.js", _shared_meta(ed, rules, as_of, run_id, workbooks=nwb > 0))
    res.employer_pages, res.largest_employer_page, res.largest_employer_uscc = n, big, big_uscc
    # a reused site (publish_site): employers no longer listed go, and so do workbooks not written this time
    emp_dir = out / "employers"
    listed = ed.frame["uscc"].to_list()
    for name in set(os.listdir(emp_dir)) - set(listed):
        if (emp_dir / name).is_dir():
            shutil.rmtree(emp_dir / name)
    if not workbooks:
        for uscc in listed:
            (emp_dir / uscc / "todo.xlsx").unlink(missing_ok=True)
    log(f"employer pages: {n} in {secs['employer_pages']} s")
    if big > EMPLOYER_PAGE_BUDGET:
        raise SiteBuildError(f"employer page {big_uscc} is {big} bytes, over the {EMPLOYER_PAGE_BUDGET} byte budget "
                             f"(lower table_row_cap) / 单位页面超过大小上限")

    # employer directory
    directory = ed.frame.select("uscc", "name", "district")
    cols = D.column_meta(["uscc", "name", "district"])
    cols[1] = {"k": "name", "zh": "单位名称", "en": "Employer", "t": "text"}
    ctx = _common(as_of, run_id, "../", "directory", False)
    ctx.update(n=directory.height, data=D.dumps({"columns": cols, "rows": D._col_dict(directory)}))
    _write(out / "employers" / "index.html", env.get_template("directory.html").render(**ctx))

    # bureau
    t = time.perf_counter()
    bd = D.bureau_data(con, min_cell)
    (out / "bureau").mkdir(exist_ok=True)
    ctx = _common(as_of, run_id, "../", "bureau", True)
    ctx.update(dims=bd["dims"], min_cell=min_cell, has_flow=bd["flow"] is not None,
               has_processing=bd["processing"] is not None, has_returns=bd["returns"] is not None,
               has_findings=bd["findings"] is not None, has_ranking=bd["ranking"] is not None,
               has_xtabs=bool(bd["xtabs"]), data=D.dumps(bd))
    res.bureau_page_bytes = _write(out / "bureau" / "index.html", env.get_template("bureau.html").render(**ctx))
    secs["bureau"] = round(time.perf_counter() - t, 2)
    if res.bureau_page_bytes > BUREAU_PAGE_BUDGET:
        raise SiteBuildError(f"bureau page is {res.bureau_page_bytes} bytes, over {BUREAU_PAGE_BUDGET} / 统计页面过大")

    # rules
    ctx = _common(as_of, run_id, "", "rules", False)
    ctx.update(rules=rules, sev_zh={k: v[0] for k, v in L.ENUMS["severity"].items()},
               ent_zh={k: v[0] for k, v in L.ENUMS["entity_type_rule"].items()})
    _write(out / "rules.html", env.get_template("rules.html").render(**ctx))

    # GX data docs and the index
    gx_link = _copy_gx(datadocs, out)
    res.gx_docs = gx_link is not None
    ov = D.run_overview(con, run_id, summary)
    ctx = _common(as_of, run_id, "", "index", False)
    ctx.update(
        built_at=dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M (UTC+8)"),
        policy_version=ov.get("policy") or policy_version, n_files=ov.get("input_files", 0),
        totals=ov.get("totals", {}), findings=ov.get("findings") or {}, n_employers=n, gx_link=gx_link,
        has_steps=ov.get("run_steps") is not None,
        total_labels=[("rows_read", "读取行数", "Rows read"), ("rows_loaded", "加载行数", "Rows loaded"),
                      ("rows_quarantined", "隔离行数", "Rows quarantined"),
                      ("rows_collapsed", "合并的重复行", "Exact duplicates collapsed")],
        severity_labels=[("error", "错误", "Errors"), ("warning", "警告", "Warnings"), ("info", "提示", "Info")],
        data=D.dumps({k: ov.get(k) for k in ("ingest", "quarantine", "run_steps")}),
    )
    _write(out / "index.html", env.get_template("index.html").render(**ctx))

    res.pages = n + 4
    # every file but the per-employer ones (whose sizes are known): no walk over 100,000 files
    shared = [f for d in out.iterdir() if d.name != "employers"
              for f in ([d] if d.is_file() else d.rglob("*")) if f.is_file()]
    res.bytes_total = nbytes + sum(f.stat().st_size for f in shared + [out / "employers" / "index.html"])
    secs["total"] = round(time.perf_counter() - t0, 2)
    return res


def remove_tree(path: Path, background: bool = True) -> None:
    """Delete a folder that is no longer published. Deleting a 50,000-employer
    site (150,000 entries) can take minutes on a busy disk, so by default it
    happens in a detached ``rm -rf`` that outlives this process; the next
    publish removes whatever is left."""
    path = Path(path)
    if not path.exists():
        return
    rm = shutil.which("rm")
    if background and rm:
        import subprocess

        subprocess.Popen([rm, "-rf", "--", str(path)], start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _siblings(site_dir: Path, kind: str) -> list[Path]:
    return sorted(site_dir.parent.glob(f".{site_dir.name}.{kind}-*"))


def publish_site(con: duckdb.DuckDBPyConnection, site_dir: Path, *, run_id: str, background_cleanup: bool = True,
                 build: Optional[Callable[..., SiteResult]] = None, **kw) -> SiteResult:
    """Build into a temporary sibling folder, then swap it in.

    Order: build ``.<site>.new-<run_id>``; rename the live site to
    ``.<site>.old-<run_id>``; rename the new folder to the site. The replaced
    site is kept beside it and is the next publish's build folder: its files
    are overwritten in place (no 150,000 files deleted and created per run at
    city scale, which slowed file creation on the disk for minutes —
    docs/performance.md). A failure while building deletes the temporary folder
    and leaves the published site as it was. Leftovers of a killed run are
    removed first (all but the newest replaced site). ``build(con, folder,
    run_id=…, **kw)`` writes the site (default ``build_site``; the orchestration
    tests pass a small one and keep this swap).
    """
    site_dir = Path(site_dir)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    if not site_dir.exists():
        olds = [p for p in _siblings(site_dir, "old") if (p / "index.html").exists()]
        if olds:  # killed between the two renames: the old site is the last good one
            os.replace(max(olds, key=lambda p: p.stat().st_mtime), site_dir)
    olds = sorted(_siblings(site_dir, "old"), key=lambda p: p.stat().st_mtime)
    reuse = olds[-1] if olds else None
    for stale in _siblings(site_dir, "new") + olds[:-1]:
        remove_tree(stale, background_cleanup)
    tmp = site_dir.with_name(f".{site_dir.name}.new-{run_id}")
    if tmp.exists():
        shutil.rmtree(tmp)
    if reuse is not None:
        os.replace(reuse, tmp)  # overwritten in place by the build
    try:
        res = (build or build_site)(con, tmp, run_id=run_id, **kw)
    except BaseException:
        remove_tree(tmp, background_cleanup)
        raise
    old = site_dir.with_name(f".{site_dir.name}.old-{run_id}")
    if site_dir.exists():
        os.replace(site_dir, old)
    os.replace(tmp, site_dir)
    res.site_dir = str(site_dir)
    return res
