"""Printable material checklists: ``employers/<uscc>/checklists/<application>.html``,
one A4 page (two at most) per open application, from the marts
``checklist_summary``, ``checklists`` and ``checklist_findings``
(docs/checklists.md).

The page is static HTML without scripts: the template is rendered once and
each page is the template with its body filled in. Every value is HTML-escaped
(``& < > " '``) in polars, vectorised — no per-row Python, which matters at
city scale (~120,000 open applications). The applicant's ID is masked with
``reports.privacy.mask_id_expr`` and free text is scanned for IDs with
``mask_ids_in_text_expr``; the raw ID never reaches a page.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from jinja2 import Environment

from reports import privacy
from reports.files import overwrite

MARTS = ("checklist_summary", "checklists", "checklist_findings")
SEVERITY = {"error": ("错误", "error"), "warning": ("警告", "warning"), "info": ("提示", "info")}
STATE = {"ok": ("齐全", "ok"), "missing": ("缺少", "missing"), "check": ("需人工核验", "check")}
SECTIONS = (("papers", "携带材料", "Papers to bring"),
            ("conditions", "条件与网上填报", "Conditions and online data"))
RULES_HREF = "../../../rules.html#"  # from employers/<uscc>/checklists/ to the site root
STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class ChecklistPages:
    pages: int = 0
    bytes: int = 0
    removed: int = 0


def esc(col: str | pl.Expr) -> pl.Expr:
    """HTML-escape a column (``& < > " '``); NULL becomes ''."""
    e = (pl.col(col) if isinstance(col, str) else col).cast(pl.String).fill_null("")
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;")):
        e = e.str.replace_all(a, b, literal=True)
    return e


def _lit(s: str) -> pl.Expr:
    return pl.lit(s, dtype=pl.String)


def _rule_link(col: str) -> pl.Expr:
    return pl.when(pl.col(col).is_null()).then(_lit("")).otherwise(pl.concat_str(
        [_lit(' <a href="' + RULES_HREF), esc(col), _lit('">'), esc(col), _lit("</a>")]))


def _item_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """application_id, papers_html, conditions_html (the table rows of each section)."""
    df = con.sql("""SELECT application_id, section, item_no, item_zh, item_en, applies, applies_en, state, rule_id,
                           source FROM checklists""").pl()
    state_txt = pl.col("state").replace_strict({k: v[0] for k, v in STATE.items()}, default="")
    state_en = pl.col("state").replace_strict({k: v[1] for k, v in STATE.items()}, default="")
    row = pl.concat_str([
        _lit('<tr class="st-'), esc("state"), _lit('"><td class="no">'), pl.col("item_no").cast(pl.String),
        _lit('</td><td class="box"><span class="tick"></span></td><td><div>'), esc("item_zh"),
        _lit('</div><div class="en">'), esc("item_en"), _lit("</div>"),
        pl.when(pl.col("applies_en") == "always").then(_lit("")).otherwise(pl.concat_str([
            _lit('<div class="cond">适用 / applies: '), esc("applies"), _lit(' <span class="en">('), esc("applies_en"),
            _lit(")</span></div>")])),
        _lit('</td><td class="state">'), state_txt, _lit(' <span class="en">'), state_en, _lit("</span><br>"),
        _rule_link("rule_id"),
        _lit('</td><td class="src">'), esc("source"), _lit("</td></tr>")]).alias("row")
    df = df.with_columns(row).sort("application_id", "item_no")
    out = df.select("application_id").unique()
    for key, _, _ in SECTIONS:
        part = (df.filter(pl.col("section") == key).group_by("application_id", maintain_order=True)
                .agg(pl.col("row").str.join("").alias(f"{key}_html")))
        out = out.join(part, on="application_id", how="left")
    return out


def _finding_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """application_id, findings_html (an ordered list of full sentences)."""
    df = con.sql("""SELECT application_id, rule_id, severity, message_zh, message_en, waived
                    FROM checklist_findings""").pl()
    df = df.with_columns(privacy.mask_ids_in_text_expr("message_zh"), privacy.mask_ids_in_text_expr("message_en"))
    sev = pl.col("severity").replace_strict({k: v[0] for k, v in SEVERITY.items()}, default="")
    li = pl.concat_str([
        _lit('<li class="sev-'), esc("severity"), _lit('"><span class="sev">['), sev, _lit("]</span> "),
        pl.when(pl.col("waived")).then(_lit("(已批准例外 / waived) ")).otherwise(_lit("")),
        esc("message_zh"), _rule_link("rule_id"), _lit('<br><span class="en">'), esc("message_en"),
        _lit("</span></li>")]).alias("li")
    return df.with_columns(li).group_by("application_id", maintain_order=True).agg(
        pl.col("li").str.join("").alias("findings_html"))


def _heads(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """uscc, checklist_href, title, head_html per open application."""
    emp = "employer_summary" if con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'employer_summary'"
                                        ).fetchall()[0][0] else "employers"
    df = con.sql(f"""SELECT s.uscc, e.name AS employer_name, s.application_id, s.type, s.type_zh, s.status_zh,
                            s.permit_no, s.id_number, s.name, s.submitted_on, s.items, s.items_ok,
                            s.items_missing, s.items_check, s.complete, s.missing_rule_ids, s.checklist_href
                     FROM checklist_summary s LEFT JOIN {emp} e USING (uscc)""").pl()
    df = df.with_columns(privacy.mask_id_expr("id_number").alias("id_masked")).drop("id_number")
    summary = pl.concat_str([
        _lit('<p class="summary'), pl.when(pl.col("complete")).then(_lit("")).otherwise(_lit(" incomplete")),
        _lit('">共 '), pl.col("items").cast(pl.String), _lit(" 项:齐全 "), pl.col("items_ok").cast(pl.String),
        _lit(" 项,缺少 "), pl.col("items_missing").cast(pl.String), _lit(" 项,需人工核验 "),
        pl.col("items_check").cast(pl.String), _lit(" 项。"),
        pl.when(pl.col("complete")).then(_lit("按数据判断材料齐全,请逐项核对原件。"))
        .otherwise(pl.concat_str([_lit("按数据判断材料不齐全(规则 "), esc(pl.col("missing_rule_ids").list.join("、")),
                                  _lit("),请先补齐。")])),
        _lit('<br><span class="en">'), pl.col("items").cast(pl.String), _lit(" items: "),
        pl.col("items_ok").cast(pl.String), _lit(" ok, "), pl.col("items_missing").cast(pl.String),
        _lit(" missing, "), pl.col("items_check").cast(pl.String), _lit(" to check by a person.</span></p>")])
    head = pl.concat_str([
        _lit("<h1>工作居住证材料清单 <span class=\"en\">Checklist for the window</span></h1>"
             '<div class="meta"><div><b>申请编号 Application</b> '), esc("application_id"),
        _lit("</div><div><b>业务类型 Type</b> "), esc("type_zh"), _lit(' <span class="en">'), esc("type"),
        _lit("</span></div><div><b>聘用单位 Employer</b> "), esc("employer_name"), _lit(' <span class="en">'),
        esc("uscc"), _lit("</span></div><div><b>办理状态 Status</b> "), esc("status_zh"),
        _lit("</div><div><b>申请人 Applicant</b> "), esc("name"), _lit(" · "), esc("id_masked"),
        _lit("</div><div><b>证件编号 Permit</b> "), esc("permit_no"), _lit("</div><div><b>申请日期 Submitted</b> "),
        esc(pl.col("submitted_on").dt.strftime("%Y-%m-%d")), _lit("</div></div>"), summary]).alias("head_html")
    title = pl.concat_str([esc("application_id"), _lit(" "), esc("name")]).alias("title")
    return df.select("uscc", "application_id", "checklist_href", title, head)


def page_frame(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """uscc, checklist_href, title, body (HTML) for every open application."""
    df = (_heads(con).join(_item_rows(con), on="application_id", how="left")
          .join(_finding_rows(con), on="application_id", how="left"))
    parts = [pl.col("head_html")]
    for key, zh, en in SECTIONS:
        parts += [pl.when(pl.col(f"{key}_html").is_null()).then(_lit("")).otherwise(pl.concat_str([
            _lit(f'<h2>{zh} <span class="en">{en}</span></h2><table><colgroup><col class="no"><col class="box">'
                 '<col class="item"><col class="state"><col class="src"></colgroup><thead><tr><th>序号</th><th>已备</th>'
                 '<th>材料 / Item</th><th>状态 / State</th><th>出处 / Source</th></tr></thead><tbody>'),
            pl.col(f"{key}_html"), _lit("</tbody></table>")]))]
    parts += [_lit('<h2>本申请的检查结果 <span class="en">Open findings of this application</span></h2>'),
              pl.when(pl.col("findings_html").is_null())
              .then(_lit('<p>无 <span class="en">none</span></p>'))
              .otherwise(pl.concat_str([_lit('<ol class="findings">'), pl.col("findings_html"), _lit("</ol>")]))]
    return df.select("uscc", "checklist_href", "title", pl.concat_str(parts).alias("body"))


def _template(env: Environment, as_of: dt.date, run_id: str) -> tuple[str, str, str]:
    produced = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    text = env.get_template("checklist.html").render(as_of=as_of.isoformat(), run_id=run_id, produced_on=produced)
    a, rest = text.split("@@TITLE@@", 1)
    b, c = rest.split("@@BODY@@", 1)
    return a, b, c


def has_checklists(con: duckdb.DuckDBPyConnection) -> bool:
    names = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    return all(m in names for m in MARTS)


def write_checklist_pages(con: duckdb.DuckDBPyConnection, out: Path, env: Environment, as_of: dt.date,
                          run_id: str) -> ChecklistPages:
    """Write every open application's page under ``out/employers/<uscc>/checklists/``
    and remove the pages of applications no longer open (a reused site folder)."""
    res = ChecklistPages()
    emp_dir = Path(out) / "employers"
    if not has_checklists(con):
        return res
    (Path(out) / "assets").mkdir(parents=True, exist_ok=True)
    overwrite(Path(out) / "assets" / "checklist.css", (STATIC / "checklist.css").read_bytes())
    a, b, c = _template(env, as_of, run_id)
    frame = page_frame(con)
    keep: dict[str, set[str]] = {}
    for uscc, href, title, body in zip(frame["uscc"].to_list(), frame["checklist_href"].to_list(),
                                       frame["title"].to_list(), frame["body"].to_list()):
        folder = emp_dir / uscc / "checklists"
        names = keep.get(uscc)
        if names is None:
            folder.mkdir(parents=True, exist_ok=True)
            names = keep[uscc] = set()
        name = href.rsplit("/", 1)[-1]
        names.add(name)
        res.bytes += overwrite(folder / name, (a + title + b + body + c).encode("utf-8"))
        res.pages += 1
    res.removed = _remove_stale(emp_dir, keep)
    return res


def _remove_stale(emp_dir: Path, keep: dict[str, set[str]]) -> int:
    """Pages (and folders) of applications that are no longer open."""
    removed = 0
    if not emp_dir.is_dir():
        return 0
    with os.scandir(emp_dir) as it:
        for entry in it:
            folder = Path(entry.path) / "checklists"
            if not entry.is_dir() or not folder.is_dir():
                continue
            wanted = keep.get(entry.name, set())
            for f in os.listdir(folder):
                if f not in wanted:
                    (folder / f).unlink()
                    removed += 1
            if not wanted:
                folder.rmdir()
    return removed


# ----------------------------------------------------------------------------- bureau
def bureau_checklists_data(con: duckdb.DuckDBPyConnection, min_cell: int) -> dict | None:
    """Open applications by district and business type with the share whose
    checklist is complete from the data, for the bureau page; None without the mart.

    Small cells: open, complete and incomplete counts are three district x type
    tables with totals. Each gets the site's suppression pattern
    (``reports.privacy.suppression_pattern``: primary + secondary, checked by
    linear algebra), and all three publish the UNION of the three patterns, so a
    count hidden in one table cannot be worked out from another (open = complete
    + incomplete). A share is shown only where its open and complete counts are
    both published."""
    import numpy as np

    from reports.site import labels as L

    if not con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'bureau_checklists'").fetchall()[0][0]:
        return None
    df = con.sql("SELECT district, type, open_applications, complete FROM bureau_checklists").pl()
    d_order = list(L.ENUMS["district"])
    t_order = list(L.ENUMS["application_type"])
    districts = sorted({d for d in df["district"].to_list() if d is not None},
                       key=lambda d: (d_order.index(d) if d in d_order else len(d_order), d))
    types = sorted(set(df["type"].to_list()), key=lambda t: (t_order.index(t) if t in t_order else len(t_order), t))
    r, c = len(districts), len(types)
    if not r or not c:
        return None
    opened, complete = np.zeros((r, c), dtype=np.int64), np.zeros((r, c), dtype=np.int64)
    for d, t, n, k in df.iter_rows():  # one row per district x type: at most 17 x 11
        if d is None:
            continue
        opened[districts.index(d), types.index(t)] += n
        complete[districts.index(d), types.index(t)] += k
    augs, union = [], np.zeros((r + 1, c + 1), dtype=bool)
    for m in (opened, complete, opened - complete):
        aug, sup = privacy.suppression_pattern(m, min_cell)
        augs.append(aug)
        union |= sup
    a_open, a_complete = augs[0], augs[1]
    tag = f"<{min_cell}"
    d_lab = [L.ENUMS["district"].get(d, (d, d)) for d in districts] + [("全市", "City")]
    t_lab = [L.ENUMS["application_type"].get(t, (t, t)) for t in types] + [("全部业务", "All types")]
    rows: dict[str, list] = {k: [] for k in ("district_zh", "district_en", "type_zh", "type_en", "open_applications",
                                             "complete", "share_complete")}
    for i in range(r + 1):
        for j in range(c + 1):
            n = int(a_open[i, j])
            hidden = bool(union[i, j])
            if n == 0 and i < r and j < c and not hidden:
                continue  # no open application of this type in this district (a hidden zero stays hidden)
            rows["district_zh"].append(d_lab[i][0])
            rows["district_en"].append(d_lab[i][1])
            rows["type_zh"].append(t_lab[j][0])
            rows["type_en"].append(t_lab[j][1])
            rows["open_applications"].append(tag if hidden else n)
            rows["complete"].append(tag if hidden else int(a_complete[i, j]))
            rows["share_complete"].append(None if hidden or n == 0 else round(float(a_complete[i, j]) / n, 4))
    columns = [{"k": "district_zh", "ek": "district_en", "zh": "区", "en": "District", "t": "text"},
               {"k": "type_zh", "ek": "type_en", "zh": "业务类型", "en": "Business type", "t": "text"},
               {"k": "open_applications", "zh": "在办申请", "en": "Open applications", "t": "num"},
               {"k": "complete", "zh": "其中材料齐全", "en": "Complete from the data", "t": "num"},
               {"k": "share_complete", "zh": "齐全比例", "en": "Share complete", "t": "pct"}]
    return {"columns": columns, "rows": rows, "min_cell": min_cell}
