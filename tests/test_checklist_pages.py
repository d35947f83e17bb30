"""The printable checklist pages as files: escaping, masking, file names, the
employer page's link, the todo.xlsx sheet, stale pages removed on a rebuild."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import duckdb
import openpyxl
import pytest

from assets.marts.build import build_all
from assets.marts.sample import create_contract_tables, finding, good_person, insert, make_id, make_uscc
from assets.settings import PACKAGED_POLICY
from reports.site import build_site

AS_OF = dt.date(2026, 6, 15)
E1 = make_uscc(11)
HOSTILE_NAME = "<script>alert('x')</script>&张"
HOSTILE_APP = "A/../<b>1"


def _world(con, open_status="draft"):
    create_contract_tables(con)
    holder = make_id("110105", dt.date(1990, 3, 7), 1, True)
    insert(con, "employers", [{"uscc": E1, "name": "海淀<i>科技</i>有限公司", "entity_type": "enterprise",
                               "district": "haidian", "established_on": dt.date(2010, 1, 1),
                               "registered_capital_cny": 5_000_000, "category": "software",
                               "account_opened_on": dt.date(2011, 1, 1)}])
    insert(con, "persons", [good_person(holder, HOSTILE_NAME)])
    insert(con, "employments", [{"id_number": holder, "uscc": E1, "hired_on": dt.date(2020, 1, 1)}])
    insert(con, "applications", [
        {"application_id": "A-OK", "type": "new", "id_number": holder, "uscc": E1, "status": open_status},
        {"application_id": HOSTILE_APP, "type": "address_change", "id_number": holder, "uscc": E1,
         "status": "draft", "permit_no": "P-1"}])
    insert(con, "findings", [finding("ELIG-PHOTO", "error", "application", "A-OK", E1, holder, AS_OF,
                                     f"申请 A-OK:照片不符合要求({holder})<img src=x>。", "photo <bad>")])
    build_all(con, AS_OF, PACKAGED_POLICY)
    return holder


@pytest.fixture()
def site(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    holder = _world(con)
    out = tmp_path / "site"
    build_site(con, out, as_of=AS_OF, run_id="t-run", workers=1)
    yield {"con": con, "out": out, "holder": holder, "tmp": tmp_path}
    con.close()


def test_pages_are_escaped_masked_and_named_safely(site):
    folder = site["out"] / "employers" / E1 / "checklists"
    names = sorted(p.name for p in folder.iterdir())
    hashed = "app-" + hashlib.md5(HOSTILE_APP.encode()).hexdigest() + ".html"
    assert names == sorted(["A-OK.html", hashed])
    page = (folder / "A-OK.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;张" in page
    assert "<img" not in page and "&lt;img src=x&gt;" in page and "<i>" not in page
    assert site["holder"] not in page and site["holder"][:6] + "********" + site["holder"][-4:] in page
    assert not re.search(r"\d{17}[\dX]", page)
    assert "工作居住证材料清单" in page and "ELIG-PHOTO" in page and "缺少" in page
    assert "生成日期" in page and AS_OF.isoformat() in page
    assert (site["out"] / "assets" / "checklist.css").read_text().count("size: A4") == 1


def test_employer_page_and_workbook_list_every_open_application(site):
    html = (site["out"] / "employers" / E1 / "index.html").read_text(encoding="utf-8")
    blob = json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
                      .group(1).replace("<\\/", "</"))
    table = blob["tables"]["checklists"]
    assert table["n"] == 2
    assert sorted(table["c"]["checklist_href"]) == sorted(
        ["checklists/A-OK.html", "checklists/app-" + hashlib.md5(HOSTILE_APP.encode()).hexdigest()
         + ".html"])
    wb = openpyxl.load_workbook(site["out"] / "employers" / E1 / "todo.xlsx")
    ws = wb["材料清单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "申请编号" and len(rows) == 3
    assert {r[0] for r in rows[1:]} == {"A-OK", HOSTILE_APP}
    assert ws.freeze_panes == "A2"


def test_rebuild_removes_pages_of_closed_applications(site):
    con, out = site["con"], site["out"]
    con.execute("UPDATE applications SET status = 'approved' WHERE application_id = 'A-OK'")
    build_all(con, AS_OF, PACKAGED_POLICY)
    build_site(con, out, as_of=AS_OF, run_id="t-run-2", workers=1)
    names = [p.name for p in (out / "employers" / E1 / "checklists").iterdir()]
    assert names == ["app-" + hashlib.md5(HOSTILE_APP.encode()).hexdigest() + ".html"]
    con.execute("UPDATE applications SET status = 'approved'")
    build_all(con, AS_OF, PACKAGED_POLICY)
    build_site(con, out, as_of=AS_OF, run_id="t-run-3", workers=1)
    assert not (out / "employers" / E1 / "checklists").exists()
