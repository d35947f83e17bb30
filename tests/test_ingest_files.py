"""File-level behaviour: encodings, Excel, Parquet, bad files, unknown columns,
and conservation (read = loaded + quarantined + collapsed) on a messy folder."""
import codecs
import datetime as dt
import json

import polars as pl
import pytest

from fixtures.ingest.make import (EMPLOYER_HEADER, PERSON_HEADER, base_folder, corrupt_check, employer_row, ingest,
                                  make_id, make_uscc, person_row, rows, write_csv, write_xlsx)

P1, P2 = make_id(seq=1), make_id(seq=2, male=False)
CN_HEADER = ["身份证号", "姓名", "性别", "最高学位"]


def files(con):
    return {r[0]: r[1:] for r in con.sql("SELECT source_file, table_name, status, message FROM ingest_files").fetchall()}


def test_gb18030_is_detected(tmp_path):
    write_csv(tmp_path / "人员.csv", CN_HEADER, [[P1, "张三", "男", "学士"], [P2, "李四", "女", "硕士"]],
              encoding="gb18030")
    raw = (tmp_path / "人员.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really not UTF-8
    con, _ = ingest(tmp_path)
    assert rows(con, "SELECT name, highest_degree FROM persons ORDER BY name") == [
        ("张三", "bachelor"), ("李四", "master")]


def test_utf8_bom_is_detected(tmp_path):
    path = write_csv(tmp_path / "persons.csv", CN_HEADER, [[P1, "张三", "男", "学士"]])
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    con, _ = ingest(tmp_path)
    # the BOM must not stick to the first header (身份证号 is required: the file would be rejected)
    assert rows(con, "SELECT id_number, name FROM persons") == [(P1, "张三")]
    assert files(con)["persons.csv"][1] == "loaded"


def test_utf16_with_bom_and_full_width_header(tmp_path):
    path = tmp_path / "persons.csv"
    path.write_bytes(("\ufeff" + "　身份证号码 ,ＮＡＭＥ\n" + f"{P1},张三\n").encode("utf-16-le"))
    con, _ = ingest(tmp_path)
    assert rows(con, "SELECT id_number, name FROM persons") == [(P1, "张三")]


def test_unexpected_encoding_gives_a_clear_message(tmp_path):
    # Shift-JIS text: decodes as neither UTF-8 nor (sensibly) GB18030; must not crash
    (tmp_path / "persons.csv").write_bytes("ｶﾅ,名前\nｱｲｳ,テスト\n".encode("shift_jis"))
    con, _ = ingest(tmp_path)
    table, status, msg = files(con)["persons.csv"]
    assert status == "rejected" and "persons.csv" in msg


def test_bad_files_never_stop_the_run(tmp_path):
    base_folder(tmp_path, [P1], [1])
    (tmp_path / "employments.csv").write_bytes(b"")  # empty
    write_csv(tmp_path / "work_history.csv", ["id_number", "start_on"], [])  # header only
    (tmp_path / "education_history.csv").write_bytes(bytes(range(256)) * 20)  # binary named .csv
    good = write_xlsx(tmp_path / "permits.xlsx", {"permits": [["permit_no"], ["P-1"]]})
    (tmp_path / "permits.xlsx").write_bytes(good.read_bytes()[:300])  # truncated xlsx
    (tmp_path / "notes.txt").write_text("hello")  # unsupported type
    (tmp_path / "readme.csv").write_text("a,b\n1,2\n")  # no known table
    (tmp_path / "applications.parquet").write_bytes(b"PAR1 not really")  # broken parquet
    con, res = ingest(tmp_path)
    f = files(con)
    assert f["employments.csv"][1] == "empty" and "employments.csv" in f["employments.csv"][2]
    assert f["work_history.csv"][:2] == ("work_history", "empty")
    assert f["education_history.csv"][1] == "rejected" and "education_history.csv" in f["education_history.csv"][2]
    assert f["permits.xlsx"][1] == "rejected" and "permits.xlsx" in f["permits.xlsx"][2]
    assert f["notes.txt"][1] == "unsupported"
    assert f["readme.csv"] == (None, "unrecognised", f["readme.csv"][2]) and "readme.csv" in f["readme.csv"][2]
    assert f["applications.parquet"][1] == "rejected"
    # the good files still loaded
    assert rows(con, "SELECT count(*) FROM persons") == [(1,)] and rows(con, "SELECT count(*) FROM employers") == [(1,)]
    assert rows(con, "SELECT rows_read FROM ingest_log WHERE source_file='work_history.csv'") == [(0,)]
    for t in ("employments", "work_history", "education_history", "permits", "applications"):
        assert rows(con, f"SELECT count(*) FROM {t}") == [(0,)]  # empty tables still exist


def test_missing_required_column_rejects_the_file_only(tmp_path):
    base_folder(tmp_path, [P1], [1])
    write_csv(tmp_path / "persons_b.csv", ["身份证号", "性别"], [[P2, "女"]])
    con, _ = ingest(tmp_path)
    table, status, msg = files(con)["persons_b.csv"]
    assert (table, status) == ("persons", "rejected")
    assert "persons_b.csv" in msg and "name" in msg and "姓名" in msg
    assert rows(con, "SELECT id_number FROM persons") == [(P1,)]
    assert rows(con, "SELECT count(*) FROM ingest_log WHERE source_file='persons_b.csv'") == [(0,)]


def test_unknown_columns_kept_aside_and_reported(tmp_path):
    write_csv(tmp_path / "persons.csv", ["身份证号", "姓名", "微信号", "", "备注2"],
              [[P1, "张三", "wx123", "loose", ""], [P2, "李四", "", "", "n"]])
    con, res = ingest(tmp_path)
    assert rows(con, "SELECT source_file, source_row, column_name, value FROM ingest_extra_values ORDER BY 2, 3") == [
        ("persons.csv", 1, "#4", "loose"), ("persons.csv", 1, "微信号", "wx123"), ("persons.csv", 2, "备注2", "n")]
    table, status, msg = files(con)["persons.csv"]
    assert status == "warning" and "微信号" in msg and "备注2" in msg
    assert rows(con, "SELECT count(*) FROM persons") == [(2,)]


def test_ragged_rows(tmp_path):
    base_folder(tmp_path, [P1], [1])
    path = tmp_path / "employments.csv"
    path.write_text("id_number,uscc,hired_on,left_on\n"
                    f"{P1},{make_uscc(1)}\n"  # short: hired_on missing -> DQ-REQUIRED
                    f"{P1},{make_uscc(1)},2020-01-01,,surplus,more\n"  # long: extra cells kept aside
                    f"{P1},{make_uscc(1)},2021-01-01\n", encoding="utf-8")  # short but complete
    con, _ = ingest(tmp_path)
    q = con.sql("SELECT source_row, rule_ids, reasons FROM quarantine").fetchall()
    assert len(q) == 1 and q[0][0] == 1 and q[0][1] == ["DQ-REQUIRED"]
    assert any("2 个单元格" in r and "2 cells" in r for r in q[0][2])
    assert rows(con, "SELECT source_row, column_name, value FROM ingest_extra_values ORDER BY 2") == [
        (2, "#5", "surplus"), (2, "#6", "more")]
    assert rows(con, "SELECT hired_on FROM employments ORDER BY 1") == [(dt.date(2020, 1, 1),), (dt.date(2021, 1, 1),)]
    msg = files(con)["employments.csv"][2]
    assert "employments.csv" in msg and "fewer cells" in msg and "more cells" in msg


def test_two_hundred_columns(tmp_path):
    header = ["身份证号", "姓名"] + [f"col{i}" for i in range(198)]
    write_csv(tmp_path / "persons.csv", header, [[P1, "张三"] + [str(i) for i in range(198)]])
    con, _ = ingest(tmp_path)
    assert rows(con, "SELECT count(*) FROM persons") == [(1,)]
    assert rows(con, "SELECT count(*) FROM ingest_extra_values") == [(198,)]


def test_excel_date_cells_serials_formulas_and_sheets(tmp_path):
    write_xlsx(tmp_path / "单位资料.xlsx", {
        "聘用单位": [["统一社会信用代码", "单位名称", "单位性质", "所在区", "成立日期", "注册资本", "系统开通日期"],
                 [make_uscc(1), "甲", "企业法人", "海淀区", dt.datetime(2015, 3, 5), 1000000, 45356],
                 [make_uscc(2), "乙", "enterprise", "chaoyang", "2016-01-01", "=1000*1000", "2020年1月2日"],
                 [None, None, None, None, None, None, None],
                 [make_uscc(3), "丙", "enterprise", "chaoyang", 42370, 2000000.0, None]],
        "说明": [["这是说明"]],
        "Sheet3": [],
    })
    write_xlsx(tmp_path / "persons.xlsx", {"Sheet1": [["身份证号", "姓名", "出生日期"], [P1, "张三", dt.date(1990, 3, 7)]]})
    con, _ = ingest(tmp_path)
    got = con.sql("SELECT uscc, established_on, registered_capital_cny::DOUBLE, account_opened_on FROM employers "
                  "ORDER BY uscc").fetchall()
    assert got == [(make_uscc(1), dt.date(2015, 3, 5), 1e6, dt.date(2024, 3, 5)),
                   (make_uscc(2), dt.date(2016, 1, 1), None, dt.date(2020, 1, 2)),  # uncached formula reads as empty
                   (make_uscc(3), dt.date(2016, 1, 1), 2e6, None)]
    f = files(con)
    assert f["单位资料.xlsx#说明"][1] == "unrecognised" and f["单位资料.xlsx#Sheet3"][1] == "empty"
    # a sheet with a generic name takes the table of its file
    assert rows(con, "SELECT id_number FROM persons") == [(P1,)]
    assert rows(con, "SELECT source_file, rows_read FROM ingest_log WHERE table_name='employers'") == [
        ("单位资料.xlsx#聘用单位", 3)]


def test_excel_formula_with_cached_value(tmp_path):
    import openpyxl

    path = tmp_path / "employers.xlsx"
    write_xlsx(path, {"employers": [EMPLOYER_HEADER, employer_row(1, registered_capital_cny="=2*500000")]})
    # write a cached value into the formula cell as Excel would
    import zipfile

    src = zipfile.ZipFile(path)
    out = tmp_path / "employers_cached.xlsx"
    with zipfile.ZipFile(out, "w") as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b"<f>2*500000</f><v />", b"<f>2*500000</f><v>1000000</v>")
                assert b"<v>1000000</v>" in data
            z.writestr(item, data)
    src.close()
    path.unlink()
    assert openpyxl.load_workbook(out, data_only=True)["employers"]["F2"].value == 1000000
    con, _ = ingest(tmp_path)
    assert rows(con, "SELECT registered_capital_cny::DOUBLE FROM employers") == [(1e6,)]


def test_parquet_with_typed_columns(tmp_path):
    pl.DataFrame({"id_number": [P1], "name": ["张三"], "birth_date": [dt.date(1990, 3, 7)],
                  "photo_bytes": [1000], "special_talent": [True]}).write_parquet(tmp_path / "persons.parquet")
    con, _ = ingest(tmp_path)
    assert rows(con, "SELECT birth_date, photo_bytes, special_talent FROM persons") == [
        (dt.date(1990, 3, 7), 1000, True)]


def test_conservation_on_a_messy_folder(tmp_path):
    """read = loaded + quarantined + collapsed for every file, and every read row is accounted for."""
    persons = [make_id(dt.date(1980 + i % 20, 1 + i % 12, 1 + i % 28), seq=i, male=i % 2 == 0) for i in range(30)]
    base_folder(tmp_path, persons[:20], list(range(1, 6)))
    write_csv(tmp_path / "persons_2.csv", PERSON_HEADER, [
        person_row(persons[0]),  # exact duplicate of persons.csv
        person_row(persons[1], name="冲突"),  # conflicting key
        person_row(persons[20], gender="女"), person_row(persons[20], gender="女"),  # dup inside file
        person_row(corrupt_check(persons[21])), person_row(persons[22], highest_degree="博士后"),
        person_row(""),
    ], encoding="gb18030")
    write_xlsx(tmp_path / "hr.xlsx", {
        "聘用关系": [["身份证号", "统一社会信用代码", "入职日期", "离职日期"]] + [
            [p, make_uscc(1 + i % 5), dt.date(2020, 1, 1), None] for i, p in enumerate(persons)] + [
            [persons[2], make_uscc(3), dt.date(2020, 1, 1), None],  # exact dup of a row above
            [persons[3], make_uscc(9), "2020-13-01", "2019-01-01"]],
        "contributions": [["id_number", "month", "kind", "amount_cny"]] + [
            [p, f"2024-{m:02d}", k, "1,000"] for p in persons for m in (1, 2) for k in ("个税", "社保")],
    })
    pl.DataFrame({"permit_no": [f"P{i}" for i in range(25)], "id_number": persons[:25],
                  "uscc": [make_uscc(1)] * 25, "issued_on": ["2024-01-01"] * 25,
                  "expires_on": ["2027-01-01"] * 24 + ["2023-01-01"], "status": ["active"] * 25}).write_parquet(
        tmp_path / "permits.parquet")
    (tmp_path / "junk.csv").write_bytes(b"\x00\x01")
    (tmp_path / "employments_ragged.csv").write_text("id_number,uscc,hired_on\n" + f"{persons[0]},{make_uscc(2)}\n"
                                                     f"{persons[4]},{make_uscc(2)},2021-01-01,x\n\n", encoding="utf-8")
    con, res = ingest(tmp_path)
    log = con.sql("SELECT source_file, rows_read, rows_loaded, rows_quarantined, rows_collapsed FROM ingest_log").fetchall()
    assert len(log) == 7
    for f, read, loaded, quarantined, collapsed in log:
        assert read == loaded + quarantined + collapsed, f
    # totals agree with the tables themselves
    by_table = dict(con.sql("SELECT table_name, sum(rows_loaded) FROM ingest_log GROUP BY 1").fetchall())
    for t, n in by_table.items():
        assert rows(con, f"SELECT count(*) FROM {t}") == [(n,)], t
    q = dict(con.sql("SELECT source_file, count(*) FROM quarantine GROUP BY 1").fetchall())
    for f, read, loaded, quarantined, collapsed in log:
        assert q.get(f, 0) == quarantined, f
    assert sum(r[4] for r in log) >= 3 and sum(r[3] for r in log) >= 6
    # nothing lost: quarantine keeps raw values of every quarantined row
    raws = [json.loads(r[0]) for r in con.sql("SELECT raw FROM quarantine").fetchall()]
    assert all(isinstance(r, dict) and r for r in raws)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

cell = st.lists(st.sampled_from(list('ab,"\n 中文 ') + ["\r\n"]), max_size=6).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 4).flatmap(lambda n: st.lists(st.lists(cell, min_size=n, max_size=n), max_size=8)),
       st.lists(st.integers(0, 9), max_size=3))
def test_polars_fast_path_equals_careful_path(body, blank_at):
    """The polars CSV path must give exactly what the csv-module path gives
    (cells, row numbers, skipped blank records)."""
    import csv as csv_mod
    import io

    from assets.ingest import readers

    n = len(body[0]) if body else 2
    header = [f"h{j}" for j in range(n)]
    buf = io.StringIO()
    w = csv_mod.writer(buf, lineterminator="\n")
    w.writerow(header)
    lines = [r for r in body]
    for pos in sorted(blank_at, reverse=True):
        lines.insert(min(pos, len(lines)), None)
    for r in lines:
        if r is None:
            buf.write("\n")
        else:
            w.writerow(r)
    text = buf.getvalue()
    records = list(csv_mod.reader(io.StringIO(text, newline="")))
    careful = readers._records_to_sheet("t.csv", "t.csv", None, records, [])
    fast = readers._polars_csv(text, ",", "t.csv", None, header, len(records), [])
    if fast is None:  # allowed: the caller then uses the careful path
        return
    assert fast.frame.select(careful.frame.columns).to_dicts() == careful.frame.to_dicts()


def test_polars_fast_path_is_taken_for_a_quoted_file():
    import csv as csv_mod
    import io

    from assets.ingest import readers

    text = 'h0,h1\n"a,b","x\ny"\n\n"",""\n"q""",2\n'
    records = list(csv_mod.reader(io.StringIO(text, newline="")))
    fast = readers._polars_csv(text, ",", "t.csv", None, ["h0", "h1"], len(records), [])
    assert fast is not None
    assert fast.frame.select("c0", "c1", "_row").rows() == [("a,b", "x\ny", 1), ('q"', "2", 4)]
    careful = readers._records_to_sheet("t.csv", "t.csv", None, records, [])
    assert careful.frame.select("c0", "c1", "_row").rows() == fast.frame.select("c0", "c1", "_row").rows()


def test_excel_title_row_above_the_header(tmp_path):
    write_xlsx(tmp_path / "人员.xlsx", {"人员": [["2026年人员信息表"], [], ["身份证号", "姓名"], [P1, "张三"],
                                                 ["bad", "李四"]]})
    con, _ = ingest(tmp_path)
    assert rows(con, "SELECT id_number FROM persons") == [(P1,)]
    assert rows(con, "SELECT source_file, source_row FROM quarantine") == [("人员.xlsx#人员", 2)]
