"""Build the static site from the warehouse (publishing it: ``reports.site.publish``).

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
from jinja2 import Environment

from reports.site import data as D
from reports.site import employer_data as E
from reports.site import overview_data as O
from reports.site import labels as L
from reports.site import pages as P
from reports.site.checklist import write_checklist_pages
from reports.site.pages import SiteBuildError

STATIC = Path(__file__).resolve().parent / "static"

EMPLOYER_PAGE_BUDGET = 200 * 1024


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
    failed_pages: dict = field(default_factory=dict)  # page -> why it could not be built
    seconds: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        return {"pages": self.pages, "employer_pages": self.employer_pages, "site_bytes_without_workbooks": self.bytes_total,
                "largest_employer_page_bytes": self.largest_employer_page,
                "largest_employer_page_uscc": self.largest_employer_uscc,
                "bureau_page_bytes": self.bureau_page_bytes, "todo_workbooks": self.workbooks,
                "gx_data_docs": self.gx_docs, "rows_without_employer_page": self.rows_without_employer,
                "employers_with_shortened_lists": len(self.reduced_caps), "failed_pages": len(self.failed_pages),
                "timing_s": {f"{k}_s": v for k, v in self.seconds.items()}}  # phases, like the rule step's


def plotly_js_path() -> Path:
    import plotly

    p = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not p.exists():
        raise SiteBuildError(f"plotly.min.js not found in the installed plotly package ({p})")
    return p


def _employer_template(env: Environment, as_of: dt.date, run_id: str) -> tuple[str, str, str, str, str, str, str]:
    """The employer page split at its markers: pre, NAME, mid1, NAME, mid2, USCC, mid3, DATA, post."""
    ctx = P.common(as_of, run_id, "../../", "employer", True)
    ctx["show_nav"] = False  # an employer page only links to shared pages (rules), not to other employers
    ctx["data"] = "@@DATA@@"
    text = env.get_template("employer.html").render(**ctx)
    a, rest = text.split("@@NAME@@", 1)
    b, rest = rest.split("@@NAME@@", 1)
    c, rest = rest.split("@@USCC@@", 1)
    d, e = rest.split("@@DATA@@", 1)
    return a, b, c, d, e, "", ""


def fit_employer_pages(con, ed: E.EmployerData, as_of: dt.date, cap: int, env: Environment,
                       run_id: str) -> tuple[E.EmployerData, dict]:
    """Keep every employer page within EMPLOYER_PAGE_BUDGET: employers whose
    page would be larger get fewer rows per action list on the page (halving
    the cap; the heading keeps the full count and todo.xlsx has every row).
    Returns the data and {uscc: cap used} for the reduced ones."""
    import polars as pl

    shell = sum(len(x.encode("utf-8")) for x in _employer_template(env, as_of, run_id))
    reduced: dict = {}
    while cap > 5:
        size = (pl.col("blob").str.len_bytes() + 5 * pl.col("blob").str.count_matches("[<>&]")
                + 12 * pl.col("name").fill_null("").str.len_bytes() + 18 + shell)  # name escaped, twice
        over = ed.frame.filter(size > EMPLOYER_PAGE_BUDGET)["uscc"].to_list()
        if not over:
            break
        cap //= 2
        sub = E.employer_data(con, as_of, cap=cap, only=over)
        ed.frame = pl.concat([ed.frame.filter(~pl.col("uscc").is_in(over)), sub.frame]).sort("uscc")
        reduced.update({u: cap for u in over})
    return ed, reduced


def write_employer_pages(out: Path, ed: E.EmployerData, env: Environment, as_of: dt.date, run_id: str,
                         fail_after: Optional[int] = None,
                         failures: Optional[dict] = None) -> tuple[int, int, str, int]:
    """Write employers/<uscc>/index.html for every employer; returns (pages,
    bytes, largest uscc, largest bytes). A page that cannot be built (or is
    over EMPLOYER_PAGE_BUDGET) is replaced by a short "could not be built"
    page and recorded in ``failures`` ({page: reason}); the others publish.
    File-system errors (disk full, permission) stop the build."""
    a, b, c, d, e, _, _ = _employer_template(env, as_of, run_id)
    emp_dir = out / "employers"
    emp_dir.mkdir(parents=True, exist_ok=True)
    failures = {} if failures is None else failures
    n = total = biggest = 0
    biggest_uscc = ""
    frame = ed.frame
    for uscc, name, blob in zip(frame["uscc"].to_list(), frame["name"].to_list(), frame["blob"].to_list()):
        if fail_after is not None and n >= fail_after:
            raise SiteBuildError(f"simulated failure after {n} employer pages")
        folder = emp_dir / uscc
        folder.mkdir(exist_ok=True)
        try:
            ename = html.escape(name or uscc)
            text = "".join((a, ename, b, ename, c, uscc, d, D.script_safe(blob), e))
            if len(text.encode("utf-8")) > EMPLOYER_PAGE_BUDGET:
                raise SiteBuildError(f"{len(text.encode('utf-8'))} bytes, over the {EMPLOYER_PAGE_BUDGET} byte budget")
        except (ValueError, TypeError, KeyError, SiteBuildError) as exc:
            failures[f"employers/{uscc}/index.html"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            text = P.failed_page(env, as_of, run_id, "../../", f"单位 {uscc} 的页面", f"the page of employer {uscc}")
        size = P.write_text(folder / "index.html", text)
        total += size
        n += 1
        if size > biggest:
            biggest, biggest_uscc = size, uscc
    return n, total, biggest_uscc, biggest


def _shared_meta(ed: E.EmployerData, rules: list[dict], as_of: dt.date, run_id: str, workbooks: bool) -> str:
    meta = {
        "as_of": as_of.isoformat(), "run_id": run_id, "workbooks": workbooks,
        "enums": {k: {code: list(v) for code, v in vals.items()} for k, vals in L.ENUMS.items()},
        "rules": {r["rule_id"]: [r["title_zh"], r["title_en"], r["severity"]] for r in rules},
        "employer": {"kpis": ed.kpis, "tables": ed.tables, "months": ed.months, "statuses": ed.statuses},
    }
    return "window.PERMITS_META = " + D.dumps(meta) + ";\n"


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

    present = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    tables = [t for t in ("employer_summary", *dict.fromkeys(s.table for s in SHEETS)) if t in present]
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


@dataclass
class _Build:
    """What the steps of one ``build_site`` call share."""
    con: duckdb.DuckDBPyConnection
    out: Path
    env: Environment
    res: SiteResult
    as_of: dt.date
    run_id: str
    log: Callable[[str], None]


def _copy_assets(out: Path) -> Path:
    """The shared assets/ folder: plotly, site.js, site.css (meta.js is written after the pages)."""
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    shutil.copyfile(plotly_js_path(), assets / "plotly.min.js")
    shutil.copyfile(STATIC / "site.js", assets / "site.js")
    shutil.copyfile(STATIC / "site.css", assets / "site.css")
    return assets


def _employer_part(b: _Build, table_row_cap: int, fail_after: Optional[int]) -> tuple[E.EmployerData, int, int, int]:
    """Every employer's page and printable checklists; returns (data, pages, bytes, checklist pages)."""
    res, secs, log = b.res, b.res.seconds, b.log
    t = time.perf_counter()
    ed = E.employer_data(b.con, b.as_of, cap=table_row_cap)
    ed, res.reduced_caps = fit_employer_pages(b.con, ed, b.as_of, table_row_cap, b.env, b.run_id)
    secs["employer_data"] = round(time.perf_counter() - t, 2)
    res.rows_without_employer = sum(ed.orphans.values())
    for mart, n_lost in ed.orphans.items():
        log(f"WARNING {mart}: {n_lost} rows have a uscc that is not in employer_summary: no page shows them "
            f"/ {n_lost} 行的单位不在 employer_summary 中,未发布到单位页面")
    t = time.perf_counter()
    n, nbytes, big_uscc, big = write_employer_pages(b.out, ed, b.env, b.as_of, b.run_id, fail_after=fail_after,
                                                    failures=res.failed_pages)
    for page, why in list(res.failed_pages.items())[:20]:
        log(f"WARNING page {page} could not be built / 页面未能生成: {why}")
    if n and len(res.failed_pages) >= n:
        raise SiteBuildError(f"no employer page could be built (first: {next(iter(res.failed_pages.values()))}) "
                             f"/ 所有单位页面均未能生成")
    res.employer_pages, res.largest_employer_page, res.largest_employer_uscc = n, big, big_uscc
    secs["employer_pages"] = round(time.perf_counter() - t, 2)
    t, c = time.perf_counter(), time.process_time()
    ck = write_checklist_pages(b.con, b.out, b.env, b.as_of, b.run_id)  # employers/<uscc>/checklists/
    secs["checklist_pages"] = round(time.perf_counter() - t, 2)
    secs["checklist_pages_cpu"] = round(time.process_time() - c, 2)  # this process (the workbooks' are apart)
    log(f"checklist pages: {ck.pages} in {secs['checklist_pages']} s ({ck.removed} closed ones removed)")
    return ed, n, nbytes, ck.pages


def _prune_employers(out: Path, listed: list[str], workbooks: bool) -> None:
    """A reused site (publish_site): employers no longer listed go, and so do workbooks not written this time."""
    emp_dir = out / "employers"
    for name in set(os.listdir(emp_dir)) - set(listed):
        if (emp_dir / name).is_dir():
            shutil.rmtree(emp_dir / name)
    if not workbooks:
        for uscc in listed:
            (emp_dir / uscc / "todo.xlsx").unlink(missing_ok=True)


def _single_pages(b: _Build, ed: E.EmployerData, rules: list[dict], min_cell: int, validation: Optional[dict],
                  summary: Optional[dict], policy_version: str) -> None:
    """The directory, bureau, rules, validation and index pages; one that cannot be built is
    replaced by its "could not be built" page (``pages.write_page``)."""
    res, secs, env, as_of, run_id = b.res, b.res.seconds, b.env, b.as_of, b.run_id

    def write(rel, build, what):
        return P.write_page(b.out, rel, build, res.failed_pages, env, as_of, run_id, what, b.log)

    write("employers/index.html", lambda: P.directory_html(env, as_of, run_id, ed.frame),
          ("单位目录", "the employer directory"))
    t = time.perf_counter()
    (b.out / "bureau").mkdir(exist_ok=True)
    res.bureau_page_bytes = write("bureau/index.html",
                                  lambda: P.bureau_html(env, as_of, run_id, b.con, min_cell, secs),
                                  ("全市统计页面", "the city statistics page"))
    secs["bureau"] = round(time.perf_counter() - t, 2)
    write("rules.html", lambda: P.rules_html(env, as_of, run_id, rules), ("规则说明", "the rules page"))
    write("validation.html", lambda: P.validation_html(env, as_of, run_id, validation),
          ("数据质量校验结果", "the validation results"))
    res.gx_docs = bool(validation and validation.get("rules"))
    if (b.out / "gx").exists():  # a reused folder: GX's own Data Docs are no longer published
        shutil.rmtree(b.out / "gx")
    write("index.html", lambda: P.index_html(env, as_of, run_id, b.con, summary=summary, policy_version=policy_version,
                                             n_employers=res.employer_pages,
                                             gx_link="validation.html" if res.gx_docs else None,
                                             failed_pages=sorted(res.failed_pages)),
          ("运行概况", "the run overview"))


def _shared_bytes(out: Path) -> int:
    """Every file but the per-employer ones (whose sizes are known): no walk over 100,000 files."""
    shared = [f for d in out.iterdir() if d.name != "employers"
              for f in ([d] if d.is_file() else d.rglob("*")) if f.is_file()]
    return sum(f.stat().st_size for f in shared + [out / "employers" / "index.html"])


def build_site(con: duckdb.DuckDBPyConnection, out: Path, *, as_of: dt.date, run_id: str, min_cell: int = 5,
               policy_version: str = "", validation: Optional[dict] = None, workbooks: bool = True,
               table_row_cap: int = 300, fail_after: Optional[int] = None, summary: Optional[dict] = None,
               workers: int = 2, parallel_from: int = 2000, policy_defaults: Optional[dict] = None,
               log: Callable[[str], None] = lambda s: None) -> SiteResult:
    """Write the whole site into ``out``: a fresh folder, or an earlier site
    being reused (``publish_site``) — every file is then overwritten in place
    and the folders of employers no longer listed are removed."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    b = _Build(con, out, P.template_env(), SiteResult(site_dir=str(out)), as_of, run_id, log)
    res, secs = b.res, b.res.seconds
    assets = _copy_assets(out)
    if policy_defaults is None:  # the packaged policy, through the one loader
        from core.policy import PACKAGED_POLICY, load_policy

        policy_defaults = load_policy(PACKAGED_POLICY).defaults
    # the todo.xlsx worker processes start first: they run while this process
    # gathers the page data and writes the pages
    t_wb = time.perf_counter()
    finish_workbooks = _start_workbooks(con, out, workers=workers, parallel_from=parallel_from) if workbooks \
        else (lambda: 0)
    try:
        rules = O.rules_list(con, policy_defaults)
        ed, n, nbytes, ck_pages = _employer_part(b, table_row_cap, fail_after)
    except BaseException:
        try:
            finish_workbooks()  # wait for the workers and clean up; the first error is the one reported
        except Exception:  # noqa: BLE001
            pass
        raise
    res.workbooks = finish_workbooks()
    if workbooks:
        secs["workbooks"] = round(time.perf_counter() - t_wb, 2)
        log(f"todo.xlsx workbooks: {res.workbooks}")
    P.write_text(assets / "meta.js", _shared_meta(ed, rules, as_of, run_id, workbooks=res.workbooks > 0))
    _prune_employers(out, ed.frame["uscc"].to_list(), workbooks)
    log(f"employer pages: {n} in {secs['employer_pages']} s")
    _single_pages(b, ed, rules, min_cell, validation, summary, policy_version)
    res.pages = n + 5 + ck_pages
    res.bytes_total = nbytes + _shared_bytes(out)
    secs["total"] = round(time.perf_counter() - t0, 2)
    return res
