"""The HR to-do workbook: layout, formula neutralisation and privacy."""
from __future__ import annotations

import datetime as dt
import re

import duckdb
import openpyxl
import pytest

from assets.marts.build import build_all
from assets.marts.sample import small_world
from assets.settings import PACKAGED_POLICY
from reports.workbook import SHEETS, WorkbookError, write_todo_workbooks

RAW_ID = re.compile(r"\d{17}[\dX]")
SHEET_NAMES = ["续签待办", "待注销", "缴费缺口", "扣缴单位不符", "待补正的申请", "材料清单", "即将符合条件", "员工年检",
               "单位年检及事项", "更名换发", "随往人员材料", "延期注销到期", "工作许可到期", "已批准例外", "说明"]


def header_col(ws, zh: str) -> int:
    """1-based column of the header ``zh`` in row 1."""
    return [c.value for c in ws[1]].index(zh) + 1


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    con = duckdb.connect()
    w = small_world(con)
    build_all(con, w["as_of"], PACKAGED_POLICY)
    out = tmp_path_factory.mktemp("wb")
    n = write_todo_workbooks(con, out)
    yield con, w, out, n
    con.close()


def col_width(ws, idx: int) -> float:
    """Width of column idx (1-based); a writer may merge equal neighbours into one <col min max>."""
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= idx <= dim.max and dim.customWidth:
            return dim.width
    return 0.0


def display_width(s: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def cells(path):
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    yield ws, c


def test_one_workbook_per_employer_with_chinese_sheets(books):
    con, w, out, n = books
    assert n == 3
    for u in (w["E1"], w["E2"], w["E3"]):
        p = out / "employers" / u / "todo.xlsx"
        assert p.is_file()
        wb = openpyxl.load_workbook(p)
        assert wb.sheetnames == SHEET_NAMES
        for s in SHEETS:
            ws = wb[s.name]
            assert [c.value for c in ws[1]] == [zh for _, zh, _, _ in s.columns]
            assert ws.freeze_panes == "A2"
            assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
            # widths fit Chinese headers: a CJK character needs ~2 columns
            for j, (_, zh, _, _) in enumerate(s.columns):
                assert col_width(ws, j + 1) >= display_width(zh), (s.name, zh)


def test_rows_dates_and_widths(books):
    con, w, out, _ = books
    wb = openpyxl.load_workbook(out / "employers" / w["E1"] / "todo.xlsx")
    ws = wb["续签待办"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    pn, ws0, ws1, left = (header_col(ws, h) - 1 for h in ("证件编号", "续签办理期开始", "续签办理期结束", "剩余天数"))
    expected = con.execute("SELECT permit_no, window_start, window_end, days_left FROM todo_renewals "
                           "WHERE uscc = ? ORDER BY due_on, permit_no", [w["E1"]]).fetchall()
    assert [(r[pn], r[ws0].date(), r[ws1].date(), r[left]) for r in rows] == expected
    # real Excel dates with a date format, not text
    c = ws.cell(2, ws0 + 1)
    assert c.is_date and "yy" in c.number_format
    # the reasons column is wide enough for the longest reason
    ws2 = wb["待补正的申请"]
    j = header_col(ws2, "退回原因")
    reasons = ws2.cell(2, j).value
    assert "；" in reasons and col_width(ws2, j) >= min(60, display_width(reasons))
    assert col_width(ws2, j) > col_width(ws2, header_col(ws2, "错误数"))  # wider than the short count column


def test_no_formula_and_dangerous_text_neutralised(books):
    con, w, out, _ = books
    seen = False
    for u in (w["E1"], w["E2"], w["E3"]):
        for ws, c in cells(out / "employers" / u / "todo.xlsx"):
            assert c.data_type != "f", (ws.title, c.coordinate, c.value)
            if isinstance(c.value, str):
                assert not c.value.startswith(("=", "+", "-", "@")), (ws.title, c.coordinate)
                if c.value.startswith("'="):
                    seen = True
                    assert c.quotePrefix
    assert seen  # the malicious applicant name and employer name were present and neutralised


def test_ids_masked_everywhere(books):
    con, w, out, _ = books
    masked_seen = 0
    for p in out.rglob("*.xlsx"):
        for ws, c in cells(p):
            if isinstance(c.value, str):
                assert not RAW_ID.search(c.value), (p, ws.title, c.coordinate)
                masked_seen += bool(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", c.value))
    assert masked_seen >= 5


def _allowed_ids(con, uscc: str) -> set[str]:
    """Masked IDs of an employer's own people: its permit holders, applicants,
    employees and their dependents (by ID number, never by name)."""
    rows = con.execute("""
        WITH own AS (SELECT id_number FROM permits WHERE uscc = $u
                     UNION SELECT id_number FROM applications WHERE uscc = $u
                     UNION SELECT id_number FROM employments WHERE uscc = $u)
        SELECT id_number FROM own
        UNION SELECT d.id_number FROM dependents d JOIN own o ON d.holder_id_number = o.id_number""",
                       {"u": uscc}).fetchall()
    return {r[0][:6] + "********" + r[0][-4:] for r in rows}


def test_employer_sees_only_its_own_people_even_with_shared_names(books):
    con, w, out, _ = books
    # precondition: E1 and E2 employ different people with the same names
    shared = con.execute("""SELECT count(*) FROM persons a JOIN persons b ON a.name = b.name
                            AND a.id_number <> b.id_number""").fetchall()[0][0]
    assert shared >= 2
    keys = {}
    for u in (w["E1"], w["E2"], w["E3"]):
        allowed = _allowed_ids(con, u)
        own_permits = {r[0] for r in con.execute("SELECT permit_no FROM permits WHERE uscc = ?", [u]).fetchall()}
        own_apps = {r[0] for r in con.execute("SELECT application_id FROM applications WHERE uscc = ?",
                                              [u]).fetchall()}
        found_ids, found_keys = set(), set()
        for ws, c in cells(out / "employers" / u / "todo.xlsx"):
            v = str(c.value)
            for m in re.findall(r"\d{6}\*{8}\d{3}[\dX]", v):
                found_ids.add(m)
            if re.fullmatch(r"(P|A)-[A-Z0-9-]+", v):
                found_keys.add(v)
        assert found_ids <= allowed, (u, found_ids - allowed)
        assert found_keys <= own_permits | own_apps, (u, found_keys - own_permits - own_apps)
        keys[u] = found_keys
    # E1's 张伟 (P-NOTDUE) and E2's 张伟 (P-E2-1, A-E2-FAIL) stay apart
    assert "P-NOTDUE" in keys[w["E1"]] and "A-E2-FAIL" in keys[w["E2"]]
    assert "A-E2-FAIL" not in keys[w["E1"]] and "P-NOTDUE" not in keys[w["E2"]]


def test_subset_of_employers(tmp_path, books):
    con, w, _, _ = books
    n = write_todo_workbooks(con, tmp_path, usccs=[w["E2"]])
    assert n == 1
    assert [p.name for p in (tmp_path / "employers").iterdir()] == [w["E2"]]
    assert openpyxl.load_workbook(tmp_path / "employers" / w["E2"] / "todo.xlsx").sheetnames == SHEET_NAMES


def test_missing_mart_gives_a_clear_error(tmp_path):
    con = duckdb.connect()
    with pytest.raises(WorkbookError, match="employer_summary"):
        write_todo_workbooks(con, tmp_path)


def test_every_row_written_with_real_dates(tmp_path):
    """The renewals sheet holds every row of the mart for that employer, dates as real Excel dates."""
    con = duckdb.connect()
    w = small_world(con)
    build_all(con, w["as_of"], PACKAGED_POLICY)
    write_todo_workbooks(con, tmp_path, usccs=[w["E1"]])
    ws = openpyxl.load_workbook(tmp_path / "employers" / w["E1"] / "todo.xlsx")["续签待办"]
    expected = con.execute("SELECT permit_no, expires_on FROM todo_renewals WHERE uscc = ? ORDER BY permit_no",
                           [w["E1"]]).fetchall()
    assert ws.max_row == 1 + len(expected) and len(expected) > 0
    pn, exp = header_col(ws, "证件编号"), header_col(ws, "有效期至")
    got = sorted((ws.cell(r, pn).value, ws.cell(r, exp).value.date()) for r in range(2, ws.max_row + 1))
    assert got == sorted(expected)
    assert ws.cell(2, exp).is_date and isinstance(ws.cell(2, exp).value, dt.datetime)


@pytest.mark.slow
def test_worker_processes_write_the_same_workbooks(tmp_path):
    from assets.marts.bench import make_todo_scale

    con = duckdb.connect()
    make_todo_scale(con, 12, rows=3)
    n1 = write_todo_workbooks(con, tmp_path / "one")
    n2 = write_todo_workbooks(con, tmp_path / "two", workers=2)
    assert n1 == n2 == 12
    for p in sorted((tmp_path / "one").rglob("todo.xlsx")):
        q = tmp_path / "two" / p.relative_to(tmp_path / "one")

        def values(path):
            wb = openpyxl.load_workbook(path, read_only=True)
            return [[list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets]

        assert values(p) == values(q)
    # an employer's rows are its own (the generated permit numbers carry the employer's index)
    wb = openpyxl.load_workbook(next((tmp_path / "two").rglob("todo.xlsx")), read_only=True)
    u = next((tmp_path / "two").rglob("todo.xlsx")).parent.name
    k = int(u[10:17])
    rows = list(wb["续签待办"].iter_rows(values_only=True))
    pn = list(rows[0]).index("证件编号")
    nos = [r[pn] for r in rows[1:]]
    assert nos == [f"P-{k}-{j}" for j in range(3)]


def test_lean_zip_members_are_the_sheet_xml_and_pass_crc_checks():
    """The hand-written zip container (reports.xlsx_lean): every member
    decompresses, with a correct CRC, to exactly the XML of its part — empty
    sheets come from a cache, and equal content gives equal bytes."""
    import io
    import zipfile

    from reports import xlsx_lean as X

    rows = "".join(f'<row r="{i}">{X.text_cell(f"A{i}", "名字&<" * i, None)}</row>' for i in range(2, 400))
    sheets = [X.SheetXml("名单", ["姓名"], [20], rows, 398), X.SheetXml("空", ["甲", "乙"], [8, 9], "", 0),
              X.SheetXml("说明", ["项目"], [30], "", 0, autofilter=False)]
    data = X.workbook_bytes(sheets)
    assert data == X.workbook_bytes(sheets)
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None
    assert z.namelist() == ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                            "xl/styles.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
                            "xl/worksheets/sheet3.xml"]
    for i, s in enumerate(sheets, start=1):
        assert z.read(f"xl/worksheets/sheet{i}.xml").decode("utf-8") == s.xml()
    wb = z.read("xl/workbook.xml").decode("utf-8")
    assert "$A$1:$A$399" in wb and "$A$1:$B$1" in wb and wb.count("_FilterDatabase") == 2
    assert z.read("xl/styles.xml").decode("utf-8") == X.STYLES_XML


def test_the_workbook_worker_module_does_not_import_dagster():
    """Each site-build worker process imports reports.workbook (spawn): keeping
    Dagster (2+ s to import) out of it is a per-run saving at city scale."""
    import subprocess
    import sys

    code = ("import sys, reports.workbook as w; assert callable(w.write_exported_workbooks); "
            "print(sorted(m for m in ('dagster', 'great_expectations', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "[]"
