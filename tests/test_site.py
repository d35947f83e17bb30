"""The static site builder (issue 6), on a synthetic warehouse holding the
marts of docs/marts.md: pages, privacy, size budgets, atomic publish."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.privacy import find_unmasked_ids
from reports.site import SiteBuildError, build_site, publish_site
from reports.site import data as D
from reports.site import employer_data as E
from reports.site.synthetic import build_synthetic_warehouse

AS_OF = dt.date(2026, 6, 30)
BIG_ROWS = 1500  # the first employer's renewal list: far beyond what fits a 200 KB page


def page_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', text, re.S)
    assert m, f"no page data in {path}"
    return json.loads(m.group(1))


def meta_js(site: Path) -> dict:
    text = (site / "assets" / "meta.js").read_text(encoding="utf-8")
    return json.loads(text.split("=", 1)[1].strip().rstrip(";"))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("site-wh") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    build_synthetic_warehouse(con, employers=25, as_of=AS_OF, big_employer_rows=BIG_ROWS)
    con.close()
    return path


@pytest.fixture(scope="module")
def site(warehouse, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site-out") / "site"
    con = duckdb.connect(str(warehouse), read_only=True)
    res = publish_site(con, out, run_id="run-1", as_of=AS_OF, min_cell=5, policy_version="test")
    con.close()
    assert res.employer_pages == 25
    return out


@pytest.fixture()
def ro(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


def test_every_page_exists_and_one_shared_plotly(site, ro):
    usccs = [r[0] for r in ro.sql("SELECT uscc FROM employer_summary").fetchall()]
    for rel in ("index.html", "bureau/index.html", "rules.html", "employers/index.html", "assets/site.js",
                "assets/site.css", "assets/meta.js"):
        assert (site / rel).is_file(), rel
    for u in usccs:
        assert (site / "employers" / u / "index.html").is_file()
    plotly_copies = [p for p in site.rglob("*") if p.is_file() and "plotly" in p.name]
    assert [p.relative_to(site).as_posix() for p in plotly_copies] == ["assets/plotly.min.js"]
    import plotly

    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (site / "assets/plotly.min.js").stat().st_size == bundled.stat().st_size


def test_no_page_references_the_network(site):
    for p in site.rglob("*"):
        if p.suffix not in (".html", ".css") and p.name not in ("site.js", "meta.js"):
            continue
        text = p.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', text), p
        assert "cdn" not in text.lower() or p.name == "rules.html", p
        assert "@import" not in text and "url(http" not in text


def test_employer_page_holds_only_its_own_people(site, ro):
    usccs = [r[0] for r in ro.sql("SELECT uscc FROM employer_summary ORDER BY uscc").fetchall()]
    names = dict(ro.sql("SELECT uscc, name FROM employer_summary").fetchall())
    for u in usccs[1:8]:
        page = site / "employers" / u / "index.html"
        d = page_data(page)
        assert d["uscc"] == u
        text = page.read_text(encoding="utf-8")
        for other in usccs:
            if other != u:
                assert other not in text, f"{other} appears on the page of {u}"
                assert names[other] + "<" not in text and f'"{names[other]}"' not in text
        for key, mart in (("renewals", "todo_renewals"), ("cancellations", "todo_cancellations"),
                          ("failing_applications", "todo_failing_applications")):
            col = "application_id" if key == "failing_applications" else "permit_no"
            want = sorted(r[0] for r in ro.sql(f"SELECT {col} FROM {mart} WHERE uscc = ?", params=[u]).fetchall())
            got = sorted(d["tables"][key]["c"].get(col, []))
            assert got == want, (u, key)
            assert d["tables"][key]["n"] == len(want)
        own = {r[0] for r in ro.sql("SELECT name FROM todo_renewals WHERE uscc = ?", params=[u]).fetchall()}
        assert set(d["tables"]["renewals"]["c"].get("name", [])) == own


def test_ids_are_masked_everywhere(site, ro):
    raw = {r[0] for r in ro.sql("SELECT id_number FROM todo_renewals UNION SELECT id_number FROM todo_cancellations "
                                "UNION SELECT id_number FROM todo_candidates_90d").fetchall()}
    assert len(raw) > 50
    pages = [p for p in site.rglob("*.html")] + [site / "assets" / "meta.js"]
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert find_unmasked_ids(text) == [], p
        assert not (raw & set(re.findall(r"\d{17}[\dX]", text))), p
    d = page_data(next(site.glob("employers/9*/index.html")))
    masked = [m for t in d["tables"].values() for m in t["c"].get("id_number_masked", [])]
    assert masked and all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", m) for m in masked)


def test_bureau_small_counts_shown_as_less_than_five(site, ro):
    d = page_data(site / "bureau" / "index.html")
    raw = dict(((dim, code), n) for dim, code, n in
               ro.sql("SELECT dimension, code, permits FROM bureau_permits_by_dimension").fetchall())
    dims = {x["dim"]: x for x in d["dims"]}
    assert set(dims) == {"district", "category", "degree", "title", "age_band", "gender"}
    small = [(k, n) for k, n in raw.items() if 0 < n < 5]
    assert small, "fixture must contain small cells"
    for dim, x in dims.items():
        for v in x["y"]:  # "<5" a small count, "—" one withheld (5 or more) so that a small one stays hidden
            assert v in ("<5", "—") or v == 0 or (isinstance(v, int) and v >= 5), (dim, v)
    assert "<5" in dims["district"]["y"]
    for xt in d["xtabs"]:
        vals = [v for c in xt["columns"][1:] for v in xt["rows"][c["k"]]]
        assert "<5" in vals
        assert all(v in ("<5", "—") or int(v) == 0 or int(v) >= 5 for v in vals)
    # processing counts suppressed as well
    assert all(v in ("<5", "—") or v == 0 or v >= 5 for v in d["processing"]["n"])


def test_big_employer_page_within_budget_and_says_the_rest_is_in_the_workbook(site, ro):
    big = ro.sql("SELECT uscc FROM todo_renewals GROUP BY uscc ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]
    page = site / "employers" / big / "index.html"
    assert page.stat().st_size <= 200 * 1024
    d = page_data(page)
    assert d["tables"]["renewals"]["n"] >= BIG_ROWS
    assert len(d["tables"]["renewals"]["c"]["permit_no"]) < d["tables"]["renewals"]["n"]
    assert "todo.xlsx" in (site / "assets" / "site.js").read_text(encoding="utf-8")
    assert (site / "bureau" / "index.html").stat().st_size <= 3 * 1024 * 1024


def test_rule_links_resolve_to_rule_explanations(site, ro):
    rules_html = (site / "rules.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<article class="rule" id="([^"]+)"', rules_html))
    table_ids = {r[0] for r in ro.sql("SELECT rule_id FROM rules").fetchall()}
    assert table_ids <= anchors
    meta = meta_js(site)
    assert table_ids <= set(meta["rules"])
    cited = set()
    for p in site.glob("employers/9*/index.html"):
        d = page_data(p)
        for v in d["tables"]["failing_applications"]["c"].get("rule_ids", []):
            cited |= set(v.split(","))
        cited |= set(d["tables"]["cancellations"]["c"].get("rule_id", []))
    assert cited and cited <= anchors
    # each explanation carries the Chinese title and its source sentence
    art = re.search(r'<article class="rule" id="ELIG-TALENT">(.*?)</article>', rules_html, re.S).group(1)
    assert "人才条件不符合" in art and "出处" in art and "rules.md" in art


def test_every_chinese_text_has_an_english_twin(site):
    for p in [site / "index.html", site / "bureau/index.html", site / "rules.html",
              next(site.glob("employers/9*/index.html"))]:
        text = p.read_text(encoding="utf-8")
        zh = len(re.findall(r'class="i18n" lang="zh-CN"', text))
        en = len(re.findall(r'class="i18n" lang="en"', text))
        assert zh > 3 and zh == en, p
    meta = meta_js(site)
    for t in meta["employer"]["tables"]:
        assert t["zh"] and t["en"] and t["note_zh"] and t["note_en"]
        for c in t["columns"]:
            assert re.search(r"[\u4e00-\u9fff]", c["zh"]), c


def test_index_shows_run_facts(site):
    text = (site / "index.html").read_text(encoding="utf-8")
    assert "run-1" in text and "2026-06-30" in text
    d = page_data(site / "index.html")
    assert sorted(d["ingest"]["rows"]["file"]) == sorted(["employers.csv", "人员.xlsx", "permits.parquet"])
    assert 'id="total-rows_quarantined"' in text
    assert d["quarantine"]["rows"]["rows"] == [4]
    assert "110105198001011235" not in text  # quarantine raw values never published


def test_publish_is_atomic_when_the_build_fails(site, warehouse, tmp_path):
    con = duckdb.connect(str(warehouse), read_only=True)
    out = tmp_path / "site"
    publish_site(con, out, run_id="good", as_of=AS_OF, background_cleanup=False)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    index_before = (out / "index.html").read_text(encoding="utf-8")
    with pytest.raises(SiteBuildError, match="simulated failure"):
        publish_site(con, out, run_id="bad", as_of=AS_OF, fail_after=5, background_cleanup=False)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert (out / "index.html").read_text(encoding="utf-8") == index_before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no half-written sibling left
    # a run killed between the two renames: the old site is restored by the next publish
    (out).rename(tmp_path / ".site.old-killed")
    publish_site(con, out, run_id="next", as_of=AS_OF, background_cleanup=False)
    assert "next" in (out / "index.html").read_text(encoding="utf-8")
    # the replaced site stays beside it, as the next publish's build folder
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.old-next", "site"]
    publish_site(con, out, run_id="last", as_of=AS_OF, background_cleanup=False)
    assert "last" in (out / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.old-last", "site"]
    con.close()


def test_missing_uscc_column_is_a_clear_error(tmp_path):
    con = duckdb.connect()
    build_synthetic_warehouse(con, employers=3, as_of=AS_OF)
    con.execute("ALTER TABLE todo_renewals DROP COLUMN uscc")
    with pytest.raises(D.SiteDataError, match="todo_renewals.*uscc"):
        build_site(con, tmp_path / "s", run_id="x", as_of=AS_OF)


def test_expiry_series_counts_active_permits_per_month(ro):
    frame, months = E.expiry_series(ro, D.table_names(ro), AS_OF)
    assert months[0] == "2026-06" and months[-1] == "2027-05" and len(months) == 12
    u = frame["uscc"][0]
    got = json.loads(frame.filter(pl.col("uscc") == u)["expiry"][0])
    want = dict(ro.sql("SELECT strftime(expires_on, '%Y-%m'), count(*) FROM permit_status WHERE uscc = ? "
                       "AND status = 'active' AND expires_on >= DATE '2026-06-30' AND expires_on < DATE '2027-06-01' "
                       "GROUP BY ALL", params=[u]).fetchall())
    assert got == [want.get(m, 0) for m in months]


def test_funnel_counts_every_status(ro):
    frame, statuses = E.funnel_series(ro, D.table_names(ro))
    total = sum(sum(json.loads(x)) for x in frame["funnel"].to_list())
    assert total == ro.sql("SELECT count(*) FROM applications").fetchall()[0][0]


def test_publishable_masks_raw_ids_and_ids_in_text():
    df = pl.DataFrame({"id_number": ["11010519800101123X", None], "message_zh": ["人员 110105198001011234 缺缴", "无"],
                       "uscc": ["911100000000000001", "911100000000000002"], "as_of": [AS_OF, AS_OF]})
    out = D.publishable(df)
    assert out["id_number"].to_list() == ["110105********123X", None]
    assert out["message_zh"][0] == "人员 110105********1234 缺缴"
    assert out["uscc"].to_list() == df["uscc"].to_list()  # codes untouched
    assert "as_of" not in out.columns


def test_suppress_table_hides_small_cells_and_keeps_zeros():
    df = pl.DataFrame({"code": ["a", "b", "c", "d"], "n": [0, 3, 12, 40]})
    out = D.suppress_table(df, "code", ["n"], 5)
    vals = dict(zip(out["code"].to_list(), out["n"].to_list()))
    assert vals["a"] == "0" and vals["b"] == "<5" and vals["d"] == "40"
    assert vals["c"] == "—"  # secondary (its own mark): the total would give b away otherwise
    assert "合计" not in vals


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31)), st.integers(-60, 60))
def test_add_months_keeps_the_day_or_clamps(d, n):
    from core.dates import add_months

    r = add_months(d, n)
    assert (r.year * 12 + r.month) - (d.year * 12 + d.month) == n
    assert r.day == d.day or (r.day < d.day and (r + dt.timedelta(days=1)).day == 1)


@pytest.mark.slow
def test_todo_workbooks_beside_every_employer_page_in_two_processes(warehouse, tmp_path):
    from openpyxl import load_workbook

    con = duckdb.connect(str(warehouse), read_only=True)
    res = publish_site(con, tmp_path / "site", run_id="wb", as_of=AS_OF, workers=2, parallel_from=1)
    usccs = sorted(r[0] for r in con.sql("SELECT uscc FROM employer_summary").fetchall())
    con.close()
    got = sorted(p.parent.name for p in (tmp_path / "site" / "employers").glob("*/todo.xlsx"))
    assert res.workbooks == len(usccs) and got == usccs
    assert not list(tmp_path.glob(".wb-export-*"))  # the Parquet hand-over is cleaned up
    for u in usccs:  # openpyxl reads every written file
        wb = load_workbook(tmp_path / "site" / "employers" / u / "todo.xlsx", read_only=True)
        assert "续签待办" in wb.sheetnames
        wb.close()
    meta = json.loads((tmp_path / "site" / "assets" / "meta.js").read_text(encoding="utf-8").split("=", 1)[1].strip().rstrip(";"))
    assert meta["workbooks"] is True


@pytest.mark.slow
def test_site_asset_publishes_from_the_run_staging_copy(warehouse, tmp_path):
    """The Dagster asset `site`: reads the run's staged warehouse, stages the site beside settings.site_dir
    (published by warehouse_commit through commit_site, after the warehouse), reports metadata."""
    import shutil

    from dagster import DagsterInstance, materialize

    from assets.publish import commit_site
    from assets.publish import site as site_asset
    from assets.settings import PermitsSettings
    from assets.warehouse import Warehouse, abandon_run

    live = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, live)
    settings = PermitsSettings(site_dir=str(tmp_path / "site"))
    result = materialize([site_asset], partition_key=AS_OF.isoformat(), instance=DagsterInstance.ephemeral(),
                         resources={"settings": settings, "warehouse": Warehouse(database=str(live))})
    try:
        assert result.success
        mats = result.asset_materializations_for_node("site")
        meta = mats[0].metadata
        assert meta["employer_pages"].value == 25
        assert meta["largest_employer_page_bytes"].value <= 200 * 1024
        assert meta["employer_pages_per_second"].value > 0
        assert not (tmp_path / "site").exists()  # staged only: nothing published before the commit
        assert (tmp_path / f".site.new-{result.run_id}" / "index.html").exists()
        assert commit_site(tmp_path / "site", result.run_id)
        index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
        assert result.run_id in index and AS_OF.isoformat() in index
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == []
    finally:
        abandon_run(live, result.run_id)


def test_rows_of_an_unknown_employer_are_reported_not_silently_dropped(tmp_path):
    con = duckdb.connect()
    build_synthetic_warehouse(con, employers=4, as_of=AS_OF)
    con.execute("INSERT INTO todo_renewals SELECT * REPLACE ('9111010MA99999999X' AS uscc) FROM todo_renewals LIMIT 1")
    logged = []
    res = build_site(con, tmp_path / "s", run_id="x", as_of=AS_OF, workbooks=False, log=logged.append)
    assert res.rows_without_employer == 1 and res.metadata()["rows_without_employer_page"] == 1
    assert any("todo_renewals: 1 rows" in m for m in logged)


def test_an_employer_with_huge_lists_still_gets_a_page_within_budget(tmp_path):
    con = duckdb.connect()
    build_synthetic_warehouse(con, employers=6, as_of=AS_OF)
    u = con.sql("SELECT uscc FROM employer_summary ORDER BY uscc LIMIT 1").fetchall()[0][0]
    # 5 lists x hundreds of rows with long reasons: far over 200 KB at 300 rows per list
    for t in ("todo_failing_applications", "todo_cancellations", "todo_renewals", "todo_contribution_gaps",
              "todo_candidates_90d"):
        long = {"todo_failing_applications": "reasons_zh", "todo_cancellations": "reason_zh",
                "todo_contribution_gaps": "missing_detail_zh", "todo_candidates_90d": "waiting_for_zh"}.get(t)
        repl = f"'{u}' AS uscc" + (f", repeat({long}, 12) AS {long}" if long else "")
        con.execute(f"INSERT INTO {t} SELECT x.* REPLACE ({repl}) FROM (SELECT * FROM {t} LIMIT 1) x, range(400) r")
    res = build_site(con, tmp_path / "s", run_id="x", as_of=AS_OF, workbooks=False)
    page = tmp_path / "s" / "employers" / u / "index.html"
    assert page.stat().st_size <= 200 * 1024
    assert u in res.reduced_caps and res.reduced_caps[u] < 300
    d = page_data(page)
    fa = d["tables"]["failing_applications"]
    assert fa["n"] >= 400 and 0 < len(fa["c"]["application_id"]) == res.reduced_caps[u]
    others = [p for p in (tmp_path / "s" / "employers").glob("*/index.html") if p.parent.name != u]
    assert others and all(page_data(p)["tables"]["renewals"]["n"] == len(page_data(p)["tables"]["renewals"]["c"].get("permit_no", []))
                          for p in others)


@pytest.mark.slow
def test_a_failed_build_waits_for_the_workbook_processes_and_leaves_nothing(warehouse, tmp_path):
    """The workbook processes run beside the page writer; a page failure still
    waits for them, removes their Parquet hand-over and the half-built site."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        with pytest.raises(SiteBuildError, match="simulated failure"):
            publish_site(con, tmp_path / "site", run_id="bad", as_of=AS_OF, fail_after=3, workers=2,
                         parallel_from=1, background_cleanup=False)
    finally:
        con.close()
    assert list(tmp_path.iterdir()) == []


def test_a_reused_site_folder_gives_the_files_of_a_fresh_build(warehouse, tmp_path):
    """publish_site builds into the site it replaced last time (files
    overwritten in place): the result has exactly the files and bytes of a
    fresh build of the same data — employers no longer listed are gone."""
    import shutil

    wh = tmp_path / "w.duckdb"
    shutil.copyfile(warehouse, wh)
    con = duckdb.connect(str(wh))
    try:
        out = tmp_path / "pub" / "site"
        publish_site(con, out, run_id="r1", as_of=AS_OF, background_cleanup=False)
        publish_site(con, out, run_id="r2", as_of=AS_OF, background_cleanup=False)
        gone = con.sql("SELECT min(uscc) FROM employer_summary").fetchall()[0][0]
        assert (out / "employers" / gone).is_dir()
        for t in ("employer_summary", "permit_status", "todo_renewals", "todo_cancellations",
                  "todo_contribution_gaps", "todo_failing_applications", "todo_candidates_90d"):
            con.execute(f"DELETE FROM {t} WHERE uscc = ?", [gone])
        reused = tmp_path / "pub" / ".site.old-r2"
        assert reused.is_dir()
        publish_site(con, out, run_id="r3", as_of=AS_OF, background_cleanup=False)  # built in r1's folder
        assert not reused.exists() and (tmp_path / "pub" / ".site.old-r3").is_dir()
        fresh = tmp_path / "fresh"
        build_site(con, fresh, run_id="r3", as_of=AS_OF)
    finally:
        con.close()

    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    a, b = files(out), files(fresh)
    assert sorted(a) == sorted(b) and not (out / "employers" / gone).exists()
    differ = [k for k in a if a[k] != b[k]]
    assert set(differ) <= {"index.html"}  # its build time (to the minute) at most
