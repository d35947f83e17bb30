"""The site's single pages (index, employer directory, bureau, rules,
validation results) and what every page's rendering shares: the template
environment, the common context, the file writer and the stand-in page for
one that could not be built. Employer pages and the whole build:
``reports.site.builder``."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Callable, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reports.files import overwrite
from reports.site import bureau_data as B
from reports.site import data as D
from reports.site import labels as L
from reports.site import overview_data as O
from reports.site.checklist import bureau_checklists_data

TEMPLATES = Path(__file__).resolve().parent / "templates"
BUREAU_PAGE_BUDGET = 3 * 1024 * 1024


class SiteBuildError(RuntimeError):
    """The site could not be built; the previously published site is untouched."""


def template_env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)


def common(as_of: dt.date, run_id: str, root: str, page: str, charts: bool) -> dict:
    return {"as_of": as_of.isoformat(), "run_id": run_id, "root": root, "page": page, "charts": charts,
            "show_nav": True}


def write_text(path: Path, text: str) -> int:
    return overwrite(path, text.encode("utf-8"))


def failed_page(env: Environment, as_of: dt.date, run_id: str, root: str, what_zh: str, what_en: str) -> str:
    """A page that stands in for one that could not be built: it says so and
    carries none of the values that broke it."""
    ctx = common(as_of, run_id, root, "failed", False)
    ctx.update(what_zh=what_zh, what_en=what_en)
    return env.get_template("failed.html").render(**ctx)


def write_page(out: Path, rel: str, build: Callable[[], str], failures: dict, env: Environment, as_of: dt.date,
               run_id: str, what: tuple[str, str], log: Callable[[str], None]) -> int:
    """Write one page; when building it fails (any error but the file
    system's), write the "could not be built" page instead, record it in
    ``failures`` ({page: reason}) and go on: no single page can fail the whole site."""
    root = "../" * rel.count("/")
    try:
        text = build()
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported, the rest of the site still publishes
        failures[rel] = f"{type(exc).__name__}: {str(exc)[:300]}"
        log(f"WARNING page {rel} could not be built / 页面未能生成: {failures[rel]}")
        text = failed_page(env, as_of, run_id, root, *what)
    return write_text(out / rel, text)


def directory_html(env: Environment, as_of: dt.date, run_id: str, frame) -> str:
    """employers/index.html: every employer with a page (uscc, name, district)."""
    directory = frame.select("uscc", "name", "district")
    cols = D.column_meta(["uscc", "name", "district"])
    cols[1] = {"k": "name", "zh": "单位名称", "en": "Employer", "t": "text"}
    ctx = common(as_of, run_id, "../", "directory", False)
    ctx.update(n=directory.height, data=D.dumps({"columns": cols, "rows": D._col_dict(directory)}))
    return env.get_template("directory.html").render(**ctx)


def bureau_html(env: Environment, as_of: dt.date, run_id: str, con, min_cell: int, secs: dict) -> str:
    """bureau/index.html: the bureau marts (``bureau_data``) and the checklists' bureau view; the
    checklist part's wall and CPU seconds go into ``secs`` (docs/checklists.md)."""
    bd = B.bureau_data(con, min_cell)
    t_ck, c_ck = time.perf_counter(), time.process_time()
    bd["checklists"] = bureau_checklists_data(con, min_cell)
    secs["checklist_bureau"] = round(time.perf_counter() - t_ck, 3)
    secs["checklist_bureau_cpu"] = round(time.process_time() - c_ck, 3)
    ctx = common(as_of, run_id, "../", "bureau", True)
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


def rules_html(env: Environment, as_of: dt.date, run_id: str, rules: list[dict]) -> str:
    """rules.html: the rule book as the warehouse's ``rules`` table has it."""
    ctx = common(as_of, run_id, "", "rules", False)
    ctx.update(rules=rules, sev_zh={k: v[0] for k, v in L.ENUMS["severity"].items()},
               ent_zh={k: v[0] for k, v in L.ENUMS["entity_type_rule"].items()})
    return env.get_template("rules.html").render(**ctx)


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


def validation_html(env: Environment, as_of: dt.date, run_id: str, validation: Optional[dict]) -> str:
    """validation.html: our own page of the GX results (GX's Data Docs load ~20 remote resources;
    this one loads nothing)."""
    rows = validation_rows(validation)
    ctx = common(as_of, run_id, "", "validation", False)
    ctx.update(rows=rows, passed=sum(1 for r in rows if r["success"]),
               failed=sum(1 for r in rows if r["success"] is False),
               gx_version=((validation or {}).get("gx") or {}).get("gx_version", ""),
               sev_zh={k: v[0] for k, v in L.ENUMS["severity"].items()})
    return env.get_template("validation.html").render(**ctx)


TOTAL_LABELS = [("rows_read", "读取行数", "Rows read"), ("rows_loaded", "加载行数", "Rows loaded"),
                ("rows_quarantined", "隔离行数", "Rows quarantined"),
                ("rows_collapsed", "合并的重复行", "Exact duplicates collapsed")]
SEVERITY_LABELS = [("error", "错误", "Errors"), ("warning", "警告", "Warnings"), ("info", "提示", "Info")]


def index_html(env: Environment, as_of: dt.date, run_id: str, con, *, summary: Optional[dict], policy_version: str,
               n_employers: int, gx_link: Optional[str], failed_pages: list[str]) -> str:
    """index.html: the run overview (files, rows, findings, steps) and links to every page."""
    ov = O.run_overview(con, run_id, summary)
    ctx = common(as_of, run_id, "", "index", False)
    ctx.update(
        built_at=dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M (UTC+8)"),
        policy_version=ov.get("policy") or policy_version, n_files=ov.get("input_files", 0),
        totals=ov.get("totals", {}), findings=ov.get("findings") or {}, n_employers=n_employers, gx_link=gx_link,
        has_steps=ov.get("run_steps") is not None, failed_pages=failed_pages,
        total_labels=TOTAL_LABELS, severity_labels=SEVERITY_LABELS,
        data=D.dumps({k: ov.get(k) for k in ("ingest", "quarantine", "run_steps")}),
    )
    return env.get_template("index.html").render(**ctx)
