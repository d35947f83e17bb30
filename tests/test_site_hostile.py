"""Pages that one value cannot break (issue 19 item 4): the JSON embedded in
pages is escaped for HTML, over-long values are shortened, one failing page
does not fail the site, free text stays text, IDs inside free text are masked
however they are written. Property tests over hostile strings, and the real
browser on a site built from hostile names."""
import datetime as dt
import json
import re

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.privacy import ID_SEP, find_unmasked_ids, mask_ids_in_text, mask_ids_in_text_expr
from reports.site import bureau_data as B
from reports.site import data as D
from reports.site import publish_site

AS_OF = dt.date(2026, 6, 30)
SCRIPT_BLOB = re.compile(r'<script type="application/json" id="page-data">(.*?)</script>', re.S)

HOSTILE = ["<!--<script>", "</script><script>alert(1)</script>", "a\u2028b\u2029c", "]]><![CDATA[", "&lt;&amp;",
           "<img src=x onerror=alert(1)>", "<a href=\"https://evil.example/\">点此</a>", "</SCRIPT >", "<!-- x --!>",
           "\u0000\u0001\u001f", "'\"`${x}`\\"]
hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60),
                         st.lists(st.sampled_from(HOSTILE + ["<", ">", "&", "/", "!", "-", "s", "\u2028"]),
                                  max_size=12).map("".join))


@given(st.recursive(st.one_of(st.none(), st.integers(), hostile_text),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(hostile_text, inner, max_size=4)), max_leaves=20))
@settings(max_examples=300, deadline=None)
def test_embedded_json_cannot_leave_its_script_element(value):
    text = D.dumps(value)
    # nothing in the block can open a tag, a comment or an entity, or end a JS line
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text) == json.loads(json.dumps(value, default=str))


def _id(seed: int) -> str:
    from stdnum.cn import ric

    body = f"110105{1950 + seed % 60:04d}{1 + seed % 12:02d}{1 + seed % 28:02d}{seed % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


@given(seed=st.integers(0, 10**6), seps=st.lists(st.sampled_from(["", " ", "-", "\u2013", "\u2014", "\u3000", "\uff0d"]),
                                                  min_size=17, max_size=17),
       before=st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=8),
       after=st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=8))
@settings(max_examples=300, deadline=None)
def test_ids_in_free_text_are_masked_however_written(seed, seps, before, after):
    pid = _id(seed)
    written = "".join(ch + sep for ch, sep in zip(pid, seps)) + pid[-1]
    text = f"{before}身份证{written}号{after}"
    out = pl.DataFrame({"t": [text]}).select(mask_ids_in_text_expr("t"))["t"][0]
    assert out == mask_ids_in_text(text)
    assert pid[6:14] not in re.sub(ID_SEP, "", out)  # the birth date is gone
    assert pid[:6] in re.sub(ID_SEP, "", out) and "********" in out
    assert find_unmasked_ids(out) == []


# ------------------------------------------------------------------ a site built from hostile values

@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    from reports.site.synthetic import build_synthetic_warehouse

    base = tmp_path_factory.mktemp("hostile-site")
    con = duckdb.connect(str(base / "wh.duckdb"))
    build_synthetic_warehouse(con, employers=8, as_of=AS_OF)
    usccs = [r[0] for r in con.sql("SELECT uscc FROM employer_summary ORDER BY uscc").fetchall()]
    names = {usccs[0]: "<!--<script>", usccs[1]: "甲" * 120_000, usccs[2]: "</script><script>window.__xss=1</script>",
             usccs[3]: "行\u2028分\u2029隔"}
    for u, n in names.items():
        con.execute("UPDATE employer_summary SET name = ? WHERE uscc = ?", [n, u])
    if "bureau_employer_ranking" in {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}:
        con.execute("UPDATE bureau_employer_ranking SET name = (SELECT name FROM employer_summary e "
                    "WHERE e.uscc = bureau_employer_ranking.uscc)")
    reason = '<a href="https://evil.example/x">材料不全</a> 身份证 110105 19900307 123X 联系 https://evil.example'
    con.execute("UPDATE bureau_return_reasons SET return_reason = ? WHERE applications = "
                "(SELECT max(applications) FROM bureau_return_reasons)", [reason])
    con.execute("UPDATE bureau_return_reasons SET return_reason = ? WHERE applications = "
                "(SELECT min(applications) FROM bureau_return_reasons)", ["原因" * 50_000])
    res = publish_site(con, base / "site", run_id="hostile", as_of=AS_OF, background_cleanup=False)
    con.close()
    return {"site": base / "site", "usccs": usccs, "names": names, "res": res}


def _blob(path):
    m = SCRIPT_BLOB.search(path.read_text(encoding="utf-8"))
    assert m, path
    return m.group(1), json.loads(m.group(1))


def test_every_page_publishes_and_its_data_parses(hostile_site):
    site = hostile_site["site"]
    assert hostile_site["res"].failed_pages == {}
    pages = [site / "index.html", site / "bureau" / "index.html", site / "employers" / "index.html",
             *[site / "employers" / u / "index.html" for u in hostile_site["usccs"]]]
    for p in pages:
        raw, data = _blob(p)
        assert "<" not in raw and "\u2028" not in raw, p
    _, directory = _blob(site / "employers" / "index.html")
    names = dict(zip(directory["rows"]["uscc"], directory["rows"]["name"]))
    u = hostile_site["usccs"]
    assert names[u[0]] == "<!--<script>" and names[u[2]] == "</script><script>window.__xss=1</script>"
    assert names[u[1]].endswith("…") and len(names[u[1]]) == D.MAX_NAME_CHARS  # shortened for display
    _, emp = _blob(site / "employers" / u[1] / "index.html")
    assert len(emp["name"]) == D.MAX_NAME_CHARS


def test_free_text_is_text_and_ids_in_it_are_masked(hostile_site):
    raw, bureau = _blob(hostile_site["site"] / "bureau" / "index.html")
    reasons = bureau["returns"]["x"]
    evil = [r for r in reasons if "evil.example" in r][0]
    assert "110105********123X" in evil and "19900307" not in evil
    assert find_unmasked_ids(raw) == []
    assert max(len(r) for r in reasons) <= D.MAX_TEXT_CHARS


def test_one_failing_page_does_not_fail_the_site(tmp_path, monkeypatch):
    from reports.site.synthetic import build_synthetic_warehouse

    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    build_synthetic_warehouse(con, employers=4, as_of=AS_OF)

    def broken(*a, **k):
        raise ValueError("a mart the bureau page reads is malformed")

    monkeypatch.setattr(B, "bureau_data", broken)
    res = publish_site(con, tmp_path / "site", run_id="r", as_of=AS_OF, background_cleanup=False)
    assert list(res.failed_pages) == ["bureau/index.html"]
    bureau = (tmp_path / "site" / "bureau" / "index.html").read_text(encoding="utf-8")
    assert 'id="failed-notice"' in bureau and "malformed" not in bureau
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "bureau/index.html" in index and 'id="failed-pages"' in index
    assert len(list((tmp_path / "site" / "employers").glob("*/index.html"))) == 4


@pytest.mark.browser
def test_hostile_names_render_as_text_in_the_browser(hostile_site):
    from browser_setup import browser, ensure_browser, open_page

    ensure_browser()
    site, u = hostile_site["site"], hostile_site["usccs"]
    with browser() as ctx:
        for path in [site / "employers" / "index.html", site / "bureau" / "index.html",
                     *[site / "employers" / x / "index.html" for x in u[:4]]]:
            page, log = open_page(ctx, path)
            assert log.page_errors == [] and log.blocked == [], (path, log.page_errors, log.blocked)
            assert all(r.startswith(("file://", "data:", "blob:")) for r in log.requested), log.requested
            assert page.evaluate("() => window.__xss === undefined")
            # no link on the page leads off the site
            hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
            assert all(h.startswith("file://") for h in hrefs), [h for h in hrefs if not h.startswith("file://")]
            assert page.evaluate("() => document.querySelectorAll('svg a, .plot a').length") == 0
            text = page.evaluate("() => document.body.innerText")
            if path.parent.name == u[0]:
                assert "<!--<script>" in text  # the name shows as written
            if path.parent.name == "employers":
                assert "<!--<script>" in text and "</script><script>window.__xss=1</script>" in text
            page.close()
