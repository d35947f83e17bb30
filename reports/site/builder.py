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
from reports.site import bureau_data as B
from reports.site import data as D
from reports.site import employer_data as E
from reports.site import overview_data as O
from reports.site import labels as L
from reports.site.checklist import bureau_checklists_data, write_checklist_pages

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


def failed_page(env: Environment, as_of: dt.date, run_id: str, root: str, what_zh: str, what_en: str) -> str:
    """A page that stands in for one that could not be built: it says so and
    carries none of the values that broke it."""
    ctx = _common(as_of, run_id, root, "failed", False)
    ctx.update(what_zh=what_zh, what_en=what_en)
    return env.get_template("failed.html").render(**ctx)


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
            text = failed_page(env, as_of, run_id, "../../", f"单位 {uscc} 的页面", f"the page of employer {uscc}")
        size = _write(folder / "index.html", text)
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


def _page(out: Path, rel: str, build: Callable[[], str], res: "SiteResult", env: Environment, as_of: dt.date,
          run_id: str, what: tuple[str, str], log: Callable[[str], None]) -> int:
    """Write one page; when building it fails (any error but the file
    system's), write the "could not be built" page instead, record it in
    ``res.failed_pages`` and go on: no single page can fail the whole site."""
    root = "../" * rel.count("/")
    try:
        text = build()
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported, the rest of the site still publishes
        res.failed_pages[rel] = f"{type(exc).__name__}: {str(exc)[:300]}"
        log(f"WARNING page {rel} could not be built / 页面未能生成: {res.failed_pages[rel]}")
        text = failed_page(env, as_of, run_id, root, *what)
    return _write(out / rel, text)


def validation_rows(results: Optional[dict]) -> list[dict]:
    """One row per rule of the run's validation results (``assets.rules``'
    results.json): counts and pass/fail only — no samples, no personal data."""
    rows = []
    for rid, r in sorted(((results or {}).get("rules") or {}).items()):
        rows.append({"rule_id": rid, "title_zh": str(r.get("title_zh") or ""), "title_en": str(r.get("title_en") or ""),
                     "severity": str(r.get("severity") or ""), "guard": str(r.get("guard") or ""),
                     "evaluated": r.get("gx_evaluated", r.get("evaluated")), "unexpected": r.get("gx_unexpected"),
                     "count": int(r.get("count") or 0), "success": r.get("gx_success"),
                     "exception": str(r["gx_exception"])[:200] if r.get("gx_exception") else ""})
    return rows


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
        rules = O.rules_list(con, policy_defaults)
        t = time.perf_counter()
        ed = E.employer_data(con, as_of, cap=table_row_cap)
        ed, res.reduced_caps = fit_employer_pages(con, ed, as_of, table_row_cap, env, run_id)
        secs["employer_data"] = round(time.perf_counter() - t, 2)
        res.rows_without_employer = sum(ed.orphans.values())
        for mart, n_lost in ed.orphans.items():
            log(f"WARNING {mart}: {n_lost} rows have a uscc that is not in employer_summary: no page shows them "
                f"/ {n_lost} 行的单位不在 employer_summary 中,未发布到单位页面")
        t = time.perf_counter()
        n, nbytes, big_uscc, big = write_employer_pages(out, ed, env, as_of, run_id, fail_after=fail_after,
                                                        failures=res.failed_pages)
        for page, why in list(res.failed_pages.items())[:20]:
            log(f"WARNING page {page} could not be built / 页面未能生成: {why}")
        if n and len(res.failed_pages) >= n:
            raise SiteBuildError(f"no employer page could be built (first: {next(iter(res.failed_pages.values()))}) "
                                 f"/ 所有单位页面均未能生成")
        secs["employer_pages"] = round(time.perf_counter() - t, 2)
        t, c = time.perf_counter(), time.process_time()
        ck = write_checklist_pages(con, out, env, as_of, run_id)  # employers/<uscc>/checklists/ (docs/checklists.md)
        secs["checklist_pages"] = round(time.perf_counter() - t, 2)
        secs["checklist_pages_cpu"] = round(time.process_time() - c, 2)  # this process (the workbooks' are apart)
        log(f"checklist pages: {ck.pages} in {secs['checklist_pages']} s ({ck.removed} closed ones removed)")
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

    # employer directory
    def directory_page() -> str:
        directory = ed.frame.select("uscc", "name", "district")
        cols = D.column_meta(["uscc", "name", "district"])
        cols[1] = {"k": "name", "zh": "单位名称", "en": "Employer", "t": "text"}
        ctx = _common(as_of, run_id, "../", "directory", False)
        ctx.update(n=directory.height, data=D.dumps({"columns": cols, "rows": D._col_dict(directory)}))
        return env.get_template("directory.html").render(**ctx)

    _page(out, "employers/index.html", directory_page, res, env, as_of, run_id, ("单位目录", "the employer directory"),
          log)

    # bureau
    t = time.perf_counter()

    def bureau_page() -> str:
        bd = B.bureau_data(con, min_cell)
        t_ck, c_ck = time.perf_counter(), time.process_time()
        bd["checklists"] = bureau_checklists_data(con, min_cell)  # docs/checklists.md
        secs["checklist_bureau"] = round(time.perf_counter() - t_ck, 3)
        secs["checklist_bureau_cpu"] = round(time.process_time() - c_ck, 3)
        ctx = _common(as_of, run_id, "../", "bureau", True)
        ctx.update(dims=bd["dims"], min_cell=min_cell, note_zh=bd["note_zh"], note_en=bd["note_en"],
                   has_flow=bd["flow"] is not None,
                   has_processing=bd["processing"] is not None, has_returns=bd["returns"] is not None,
                   has_findings=bd["findings"] is not None, has_ranking=bd["ranking"] is not None,
                   has_xtabs=bool(bd["xtabs"]), has_checklists=bd["checklists"] is not None, data=D.dumps(bd))
        text = env.get_template("bureau.html").render(**ctx)
        if len(text.encode("utf-8")) > BUREAU_PAGE_BUDGET:
            raise SiteBuildError(f"bureau page is {len(text.encode('utf-8'))} bytes, over {BUREAU_PAGE_BUDGET} "
                                 f"/ 统计页面过大")
        return text

    (out / "bureau").mkdir(exist_ok=True)
    res.bureau_page_bytes = _page(out, "bureau/index.html", bureau_page, res, env, as_of, run_id,
                                  ("全市统计页面", "the city statistics page"), log)
    secs["bureau"] = round(time.perf_counter() - t, 2)

    # rules
    def rules_page() -> str:
        ctx = _common(as_of, run_id, "", "rules", False)
        ctx.update(rules=rules, sev_zh={k: v[0] for k, v in L.ENUMS["severity"].items()},
                   ent_zh={k: v[0] for k, v in L.ENUMS["entity_type_rule"].items()})
        return env.get_template("rules.html").render(**ctx)

    _page(out, "rules.html", rules_page, res, env, as_of, run_id, ("规则说明", "the rules page"), log)

    # GX data docs and the index
    # validation results: our own page (GX's Data Docs load ~20 remote resources; this one loads nothing)
    def validation_page() -> str:
        rows = validation_rows(validation)
        ctx = _common(as_of, run_id, "", "validation", False)
        ctx.update(rows=rows, passed=sum(1 for r in rows if r["success"]),
                   failed=sum(1 for r in rows if r["success"] is False),
                   gx_version=((validation or {}).get("gx") or {}).get("gx_version", ""),
                   sev_zh={k: v[0] for k, v in L.ENUMS["severity"].items()})
        return env.get_template("validation.html").render(**ctx)

    _page(out, "validation.html", validation_page, res, env, as_of, run_id, ("数据质量校验结果", "the validation results"),
          log)
    res.gx_docs = bool(validation and validation.get("rules"))
    gx_link = "validation.html" if res.gx_docs else None
    if (out / "gx").exists():  # a reused folder: GX's own Data Docs are no longer published
        shutil.rmtree(out / "gx")

    def index_page() -> str:
        ov = O.run_overview(con, run_id, summary)
        ctx = _common(as_of, run_id, "", "index", False)
        ctx.update(
            built_at=dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M (UTC+8)"),
            policy_version=ov.get("policy") or policy_version, n_files=ov.get("input_files", 0),
            totals=ov.get("totals", {}), findings=ov.get("findings") or {}, n_employers=n, gx_link=gx_link,
            has_steps=ov.get("run_steps") is not None, failed_pages=sorted(res.failed_pages),
            total_labels=[("rows_read", "读取行数", "Rows read"), ("rows_loaded", "加载行数", "Rows loaded"),
                          ("rows_quarantined", "隔离行数", "Rows quarantined"),
                          ("rows_collapsed", "合并的重复行", "Exact duplicates collapsed")],
            severity_labels=[("error", "错误", "Errors"), ("warning", "警告", "Warnings"), ("info", "提示", "Info")],
            data=D.dumps({k: ov.get(k) for k in ("ingest", "quarantine", "run_steps")}),
        )
        return env.get_template("index.html").render(**ctx)

    _page(out, "index.html", index_page, res, env, as_of, run_id, ("运行概况", "the run overview"), log)

    res.pages = n + 5 + ck.pages
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


def staged_path(site_dir: Path, run_id: str) -> Path:
    """The folder a run builds its site in before it is swapped in."""
    site_dir = Path(site_dir)
    return site_dir.with_name(f".{site_dir.name}.new-{run_id}")


def stage_site(con: duckdb.DuckDBPyConnection, site_dir: Path, *, run_id: str, background_cleanup: bool = True,
               build: Optional[Callable[..., SiteResult]] = None, **kw) -> SiteResult:
    """Build the site of run ``run_id`` into ``.<site>.new-<run_id>`` beside
    ``site_dir``; the published site is not touched (``swap_site`` publishes
    it, ``discard_staged_site`` drops it).

    The replaced site of the last publish is reused as the build folder: its
    files are overwritten in place (no 150,000 files deleted and created per
    run at city scale, which slowed file creation on the disk for minutes —
    docs/performance.md). A failure while building deletes the folder and
    leaves the published site as it was. Leftovers of a killed run are removed
    first (all but the newest replaced site). ``build(con, folder, run_id=…,
    **kw)`` writes the site (default ``build_site``; the orchestration tests
    pass a small one and keep this staging and swap). Call it while holding
    the site lock (``assets.publish``)."""
    site_dir = Path(site_dir)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    if not site_dir.exists():
        olds = [p for p in _siblings(site_dir, "old") if (p / "index.html").exists()]
        if olds:  # killed between the two renames: the old site is the last good one
            os.replace(max(olds, key=lambda p: p.stat().st_mtime), site_dir)
    olds = sorted(_siblings(site_dir, "old"), key=lambda p: p.stat().st_mtime)
    reuse = olds[-1] if olds else None
    tmp = staged_path(site_dir, run_id)
    for stale in _siblings(site_dir, "new") + olds[:-1]:
        if stale != tmp:
            remove_tree(stale, background_cleanup)
    if tmp.exists():
        shutil.rmtree(tmp)
    if reuse is not None:
        os.replace(reuse, tmp)  # overwritten in place by the build
    try:
        res = (build or build_site)(con, tmp, run_id=run_id, **kw)
    except BaseException:
        remove_tree(tmp, background_cleanup)
        raise
    res.site_dir = str(site_dir)
    return res


def swap_site(site_dir: Path, run_id: str) -> bool:
    """Publish the staged site of ``run_id``: rename the live site to
    ``.<site>.old-<run_id>``, then the staged folder to the site (two renames;
    a kill between them is repaired by the next ``stage_site``). Returns False
    when the run staged nothing."""
    site_dir = Path(site_dir)
    tmp = staged_path(site_dir, run_id)
    if not tmp.is_dir():
        return False
    old = site_dir.with_name(f".{site_dir.name}.old-{run_id}")
    if site_dir.exists():
        os.replace(site_dir, old)
    os.replace(tmp, site_dir)
    return True


def discard_staged_site(site_dir: Path, run_id: str, background: bool = True) -> None:
    """Drop the staged site of a run that did not commit."""
    remove_tree(staged_path(Path(site_dir), run_id), background)


def publish_site(con: duckdb.DuckDBPyConnection, site_dir: Path, *, run_id: str, background_cleanup: bool = True,
                 build: Optional[Callable[..., SiteResult]] = None, **kw) -> SiteResult:
    """Build into a temporary sibling folder, then swap it in (``stage_site``
    then ``swap_site``; the Dagster job does the two in separate assets so the
    site is swapped only after the warehouse commit)."""
    res = stage_site(con, site_dir, run_id=run_id, background_cleanup=background_cleanup, build=build, **kw)
    swap_site(site_dir, run_id)
    return res
