"""The published pages in a real browser: Debian's headless Chromium driven by
Playwright, pages opened from disk (file://), every other request aborted.

The set-up installs chromium and fonts-noto-cjk when missing (tests fail, not
skip, when that is impossible). Screenshots go to test-output/screenshots/.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from browser_setup import SCREENSHOTS, open_page

pytestmark = pytest.mark.browser

AS_OF = dt.date(2026, 6, 30)

CHART_CHECK = """() => Array.from(document.querySelectorAll('.plot')).map(d => ({
    id: d.id,
    traces: (d.data || []).length,
    points: (d.data || []).reduce((n, t) => n + ((t.x || []).length + (t.y || []).length), 0),
    svg: !!d.querySelector('.main-svg'),
    marks: d.querySelectorAll('.trace .point, .trace path.point, .scatterlayer .trace path, .funnellayer .trace').length,
    attr: d.getAttribute('data-traces')
}))"""


@pytest.fixture(scope="module")
def synth_site(tmp_path_factory) -> dict:
    from reports.site import publish_site
    from reports.site.synthetic import build_synthetic_warehouse

    base = tmp_path_factory.mktemp("browser-site")
    con = duckdb.connect(str(base / "wh.duckdb"))
    build_synthetic_warehouse(con, employers=12, as_of=AS_OF, big_employer_rows=400)
    publish_site(con, base / "site", run_id="browser-run", as_of=AS_OF)
    # an employer with renewals, a cancellation and a failing application
    uscc = con.sql("""SELECT r.uscc FROM todo_renewals r JOIN todo_failing_applications f USING (uscc)
                      GROUP BY r.uscc HAVING count(DISTINCT r.permit_no) >= 2 ORDER BY r.uscc LIMIT 1""").fetchall()[0][0]
    con.close()
    return {"site": base / "site", "uscc": uscc}


def assert_clean(log, what, origin: str = ""):
    assert log.page_errors == [], f"{what}: page errors {log.page_errors}"
    assert log.console_errors == [], f"{what}: console errors {log.console_errors}"
    assert log.blocked == [], f"{what}: network requests left the page: {log.blocked}"
    allowed = ("file://", "data:", "blob:") + ((origin,) if origin else ())
    assert all(u.startswith(allowed) for u in log.requested), log.requested


def assert_charts(page, what, expected: int):
    charts = page.evaluate(CHART_CHECK)
    assert len(charts) == expected, f"{what}: {len(charts)} charts, expected {expected}"
    for c in charts:
        assert c["svg"] and c["traces"] > 0 and c["attr"] == str(c["traces"]), f"{what}: chart {c['id']} not drawn: {c}"
        assert c["points"] > 0, f"{what}: chart {c['id']} has no data"


def platform_fonts(page, selector: str) -> list[str]:
    """The fonts Chromium actually used to draw the text of an element (DevTools CSS domain)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})
    node = cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    cdp.detach()
    return [f["familyName"] for f in fonts if f.get("glyphCount", 0) > 0]


def test_employer_page_renders_filters_and_links(ctx, synth_site):
    site, uscc = synth_site["site"], synth_site["uscc"]
    page, log = open_page(ctx, site / "employers" / uscc / "index.html")
    assert_clean(log, "employer page")
    assert_charts(page, "employer page", 2)
    kpis = page.locator("#kpis .kpi").count()
    assert kpis == 7
    # filter the renewals table down to one permit, then back
    table = page.locator("#t-renewals table.data")
    rows = table.locator("tbody tr")
    n = rows.count()
    assert n >= 2
    first_permit = rows.nth(1).locator("td").first.inner_text()
    page.fill("#t-renewals input.table-filter", first_permit)
    assert rows.count() == 1 and rows.first.locator("td").first.inner_text() == first_permit
    page.fill("#t-renewals input.table-filter", "no-such-permit")
    assert rows.count() == 0 or rows.first.get_attribute("class") == "empty"
    page.fill("#t-renewals input.table-filter", "")
    assert rows.count() == n
    # sorting by the permit number, both ways
    page.click("#t-renewals th button[data-col='permit_no']")
    asc = [rows.nth(i).locator("td").first.inner_text() for i in range(n)]
    page.click("#t-renewals th button[data-col='permit_no']")
    desc = [rows.nth(i).locator("td").first.inner_text() for i in range(n)]
    assert asc == sorted(asc) and desc == sorted(asc, reverse=True)
    # masked IDs only
    body = page.inner_text("body")
    assert re.search(r"\d{6}\*{8}\d{3}[\dX]", body)
    assert not re.search(r"\d{17}[\dX]", body.replace(uscc, ""))
    # a failing application's reason links to the rule's explanation
    link = page.locator("#t-failing_applications a.rule-link").first
    rule_id = link.get_attribute("data-rule")
    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"rules.html#{rule_id}")
    art = page.locator(f"article[id='{rule_id}']")
    assert art.is_visible() and re.search(r"[\u4e00-\u9fff]", art.inner_text())


def test_chinese_text_is_drawn_with_a_cjk_font(ctx, synth_site):
    page, log = open_page(ctx, synth_site["site"] / "bureau" / "index.html")
    fonts = platform_fonts(page, "h1 .i18n[lang='zh-CN']")
    assert fonts and all("CJK" in f or "Source Han" in f for f in fonts), f"Chinese heading drawn with {fonts}"
    # Chart labels are SVG text: a CJK glyph must be as wide as a full-width character, not a narrow fallback box
    width = page.evaluate("""() => { const c = document.createElement('canvas').getContext('2d');
        c.font = '20px ' + getComputedStyle(document.body).fontFamily; return [c.measureText('统计').width,
        c.measureText('ii').width]; }""")
    assert width[0] >= 38 and width[0] > 2 * width[1]
    assert_clean(log, "bureau page")


def test_bureau_page_every_chart_and_small_cells(ctx, synth_site):
    page, log = open_page(ctx, synth_site["site"] / "bureau" / "index.html")
    assert_clean(log, "bureau page")
    assert_charts(page, "bureau page", 6 + 4)  # six dimensions, flow, processing, returns, findings
    text = page.inner_text("#xtabs")
    assert "<5" in text
    page.fill("#table-ranking input.table-filter", "朝阳区")
    shown = page.locator("#table-ranking tbody tr").all_inner_texts()
    assert shown and all("朝阳区" in r for r in shown)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def test_english_version(ctx, synth_site):
    site, uscc = synth_site["site"], synth_site["uscc"]
    page, log = open_page(ctx, site / "employers" / uscc / "index.html", "?lang=en")
    assert_clean(log, "employer page (en)")
    assert page.locator("h2:has-text('Renewals to file')").is_visible()
    assert not page.locator("h3 .i18n[lang='zh-CN']").first.is_visible()
    axis = page.evaluate("() => document.getElementById('chart-expiry').layout.xaxis.title.text")
    assert axis == "Month of expiry"
    href = page.locator("header a[href*='rules.html']").get_attribute("href")
    assert href.endswith("?lang=en")
    page2, log2 = open_page(ctx, site / "bureau" / "index.html", "?lang=en")
    assert_clean(log2, "bureau page (en)")
    assert page2.locator("h1 .i18n[lang='en']").is_visible()


def test_index_directory_and_rules_pages(ctx, synth_site):
    site = synth_site["site"]
    for rel in ("index.html", "employers/index.html", "rules.html"):
        page, log = open_page(ctx, site / rel)
        assert_clean(log, rel)
    page, _ = open_page(ctx, site / "employers" / "index.html")
    page.fill("#table-employers input.table-filter", synth_site["uscc"])
    rows = page.locator("#table-employers tbody tr")
    assert rows.count() == 1
    rows.first.locator("a").click()
    page.wait_for_selector("body[data-ready='1']")
    assert synth_site["uscc"] in page.url


def _screens(ctx, site: Path, uscc: str, prefix: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for rel, name in (("bureau/index.html", "bureau"), (f"employers/{uscc}/index.html", "employer"),
                      ("index.html", "index")):
        page, log = open_page(ctx, site / rel)
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"{prefix}-{name}.png"), full_page=True)
        assert_clean(log, f"{prefix} {rel}")


def test_screenshots_of_the_synthetic_site(ctx, synth_site):
    _screens(ctx, synth_site["site"], synth_site["uscc"], "synthetic")
    assert (SCREENSHOTS / "synthetic-bureau.png").stat().st_size > 20_000


@pytest.mark.slow
def test_demo_site_in_the_browser(ctx, demo_run):
    """The site the whole pipeline publishes from the demo data."""
    site = Path(demo_run["site"])
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    uscc = con.sql("""SELECT uscc FROM employer_summary ORDER BY todo_renewals + todo_failing_applications
                      + todo_cancellations DESC, uscc LIMIT 1""").fetchall()[0][0]
    n_employers = con.sql("SELECT count(*) FROM employer_summary").fetchall()[0][0]
    con.close()
    assert len(list((site / "employers").glob("*/index.html"))) == n_employers
    page, log = open_page(ctx, site / "employers" / uscc / "index.html")
    assert_clean(log, "demo employer page")
    assert_charts(page, "demo employer page", 2)
    rows = page.locator("#t-renewals tbody tr")
    if rows.count() >= 2:
        v = rows.nth(1).locator("td").first.inner_text()
        page.fill("#t-renewals input.table-filter", v)
        assert rows.count() == 1
    page, log = open_page(ctx, site / "bureau" / "index.html")
    assert_clean(log, "demo bureau page")
    charts = page.evaluate(CHART_CHECK)
    assert len(charts) >= 10 and all(c["svg"] and c["points"] > 0 for c in charts), charts
    page, log = open_page(ctx, site / "index.html")
    assert_clean(log, "demo index")
    assert page.locator("#gx-link").count() == 1, "validation results not linked from the index"
    # the validation results (GX) are our own page: no remote resource, every rule listed
    page.click("#gx-link")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    assert page.url.endswith("validation.html")
    assert page.locator("#validation-table tbody tr").count() == len(list((site / "rules.html").read_text(
        encoding="utf-8").split('<article class="rule"')[1:]))
    assert_clean(log, "demo validation page")
    # no page of the published site asks for anything but its own files
    for html_file in sorted(p for p in site.rglob("*.html") if "/employers/" not in p.as_posix()[len(str(site)):]
                            or p.parent.name == uscc):
        pg, lg = open_page(ctx, html_file)
        assert_clean(lg, str(html_file.relative_to(site)))
        pg.close()
    assert not (site / "gx").exists()
    _screens(ctx, site, uscc, "demo")


def test_the_network_guard_catches_a_request(ctx, tmp_path):
    """The request routing the tests rely on does see and abort an http request from a file:// page."""
    page_file = tmp_path / "leaky.html"
    page_file.write_text('<!DOCTYPE html><html><body data-ready="1"><img src="http://example.invalid/x.png">'
                         "</body></html>", encoding="utf-8")
    page, log = open_page(ctx, page_file)
    page.wait_for_timeout(300)
    assert log.blocked == ["http://example.invalid/x.png"]


def test_served_site_requests_only_its_own_files(ctx, synth_site):
    """Served over HTTP (any static server), a page asks only its own server for files."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(synth_site["site"]))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for rel in ("bureau/index.html", f"employers/{synth_site['uscc']}/index.html", "index.html"):
            page, log = open_page(ctx, origin + rel, allow_origin=origin)
            assert_clean(log, f"served {rel}", origin)
            assert any(u.endswith("assets/plotly.min.js") for u in log.requested) or rel == "index.html"
        assert_charts(page, "served index", 0)
    finally:
        server.shutdown()
