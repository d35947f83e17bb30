"""The printable checklist in a real browser (Debian's headless Chromium via
Playwright, tests/browser_setup.py): reached from the employer page, printed to
PDF on A4 in one or two pages with its Chinese text, a screenshot saved under
test-output/screenshots/. Built on the demo run (the real pipeline)."""
from __future__ import annotations

import io
import re
import unicodedata

import duckdb
import pytest

from browser_setup import SCREENSHOTS, open_page

pytestmark = pytest.mark.browser

A4_PT = (595.28, 841.89)


@pytest.fixture(scope="module")
def longest(demo_run) -> dict:
    """The open new application with the longest checklist (and most findings) of the demo run."""
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    uscc, app, href, raw_id, items = con.sql(
        """SELECT uscc, application_id, checklist_href, id_number, items FROM checklist_summary
           WHERE type = 'new' ORDER BY items DESC, open_findings DESC, application_id LIMIT 1""").fetchall()[0]
    zh = [r[0] for r in con.execute("SELECT item_zh FROM checklists WHERE application_id = ? ORDER BY item_no",
                                    [app]).fetchall()]
    msgs = [r[0] for r in con.execute("SELECT message_zh FROM checklist_findings WHERE application_id = ?",
                                      [app]).fetchall()]
    con.close()
    return {"site": demo_run["site"], "uscc": uscc, "app": app, "href": href, "raw_id": raw_id, "items": items,
            "item_zh": zh, "messages": msgs}


def _clean(log, what):
    assert log.page_errors == [] and log.console_errors == [], (what, log.page_errors, log.console_errors)
    assert log.blocked == [], f"{what}: requests left the page: {log.blocked}"


def test_employer_page_links_to_the_printable_checklist(ctx, longest):
    page, log = open_page(ctx, longest["site"] / "employers" / longest["uscc"] / "index.html")
    link = page.locator(f"#t-checklists a.checklist-link[href='{longest['href']}']")
    assert link.count() == 1, "the employer page lists the application with a link to its checklist"
    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(longest["href"])
    body = page.inner_text("body")
    assert "工作居住证材料清单" in body and longest["app"] in body
    assert page.locator("tbody tr").count() == longest["items"]
    assert page.locator("tbody tr .tick").count() == longest["items"]  # a tick box per item
    for msg in longest["messages"]:  # the open findings in full sentences
        assert re.sub(r"\s+", "", msg)[:20] in re.sub(r"\s+", "", body)
    masked = longest["raw_id"][:6] + "********" + longest["raw_id"][-4:]
    assert masked in body and longest["raw_id"] not in page.content()
    _clean(log, "checklist page")
    page.close()


def test_checklist_prints_on_one_or_two_a4_pages_with_its_chinese_text(ctx, longest):
    from pypdf import PdfReader

    path = longest["site"] / "employers" / longest["uscc"] / longest["href"]
    page, log = open_page(ctx, path, wait_ready=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "checklist-a4.png"), full_page=True)
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (SCREENSHOTS / "checklist-a4.pdf").write_bytes(pdf)
    _clean(log, "checklist print")
    page.close()
    reader = PdfReader(io.BytesIO(pdf))
    assert 1 <= len(reader.pages) <= 2, f"{len(reader.pages)} pages"
    for p in reader.pages:  # A4 from the page's own @page rule (prefer_css_page_size)
        w, h = float(p.mediabox.width), float(p.mediabox.height)
        assert abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2, (w, h)
    # NFKC: the font's shared glyphs come back from the PDF as Kangxi radicals (⼯ for 工)
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", "".join(p.extract_text() for p in reader.pages)))
    assert "工作居住证材料清单" in text
    assert "携带材料" in text and "条件与网上填报" in text
    for zh in longest["item_zh"]:  # every item's Chinese words reach the paper
        assert unicodedata.normalize("NFKC", re.sub(r"\s+", "", zh))[:12] in text, zh
    assert not re.search(r"\d{17}[\dX]", text), "no unmasked ID number on paper"


def test_bureau_page_shows_the_checklist_section_with_small_cells_hidden(ctx, demo_run):
    page, log = open_page(ctx, demo_run["site"] / "bureau" / "index.html")
    rows = page.locator("#table-checklists tbody tr")
    assert rows.count() > 0
    cells = page.locator("#table-checklists tbody td").all_inner_texts()
    counts = [c for c in cells if re.fullmatch(r"\d+", c.replace(",", ""))]
    assert all(int(c.replace(",", "")) == 0 or int(c.replace(",", "")) >= 5 for c in counts), counts
    assert "<5" in cells
    page.locator("#table-checklists").screenshot(path=str(SCREENSHOTS / "bureau-checklists.png"))
    _clean(log, "bureau page")
    page.close()
