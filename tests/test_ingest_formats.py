"""Every value format of the contract, table recognition and header aliases."""
import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.contract import ENUMS, TABLES, enum_lookup, header_map, norm_name, recognise_table
from assets.ingest.normalize import (clean_text, parse_bool, parse_date, parse_enum, parse_integer, parse_money,
                                     parse_month)
from fixtures.ingest.make import (EMPLOYER_HEADER, employer_row, ingest, make_id, make_uscc, write_csv)


def run(expr_fn, values):
    df = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return df.select(expr_fn(clean_text(pl.col("v"))).alias("out"))["out"].to_list()


D = dt.date(2024, 3, 5)


@pytest.mark.parametrize("text", ["2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日", "20240305", "45356",
                                  "45356.0", "２０２４－０３－０５", " 2024-3-5 ", "2024-03-05 00:00:00",
                                  "2024-03-05T08:30:00", "2024年03月05日", "2024-03-05T00:00:00Z",
                                  "2024-03-05 08:00:00+08:00", "2024/03/05 00:00:00"])
def test_date_spellings(text):
    assert run(parse_date, [text]) == [D]


@pytest.mark.parametrize("text", ["2024-02-30", "abc", "2024-13-01", "2024/3", "3/5/2024", "0", "-5"])
def test_date_unparseable(text):
    assert run(parse_date, [text]) == [None]


@settings(max_examples=80, deadline=None)
@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2099, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日", "{y}{m:02d}{d:02d}",
                        "serial"]))
def test_date_roundtrip_property(d, fmt):
    text = str((d - dt.date(1899, 12, 30)).days) if fmt == "serial" else fmt.format(y=d.year, m=d.month, d=d.day)
    assert run(parse_date, [text]) == [d]
    if fmt != "serial" or d >= dt.date(1927, 5, 18):  # month columns take serials from 10000 on
        assert run(parse_month, [text]) == [d.replace(day=1)]


@pytest.mark.parametrize("text", ["2024-03", "2024/3", "202403", "2024年3月", "2024-03-17", "2024年3月17日", "45366"])
def test_month_spellings(text):
    assert run(parse_month, [text]) == [dt.date(2024, 3, 1)]


def test_month_unparseable():
    # a bare year is not a month (and not taken as an Excel serial number)
    assert run(parse_month, ["2024-13", "x", "2024", "999"]) == [None, None, None, None]


def test_bool_spellings():
    values = ["true", "FALSE", "1", "0", "Y", "n", "yes", "No", "是", "否", "有", "无", "maybe", None]
    assert run(parse_bool, values) == [True, False, True, False, True, False, True, False, True, False, True,
                                        False, None, None]


def test_money_spellings():
    values = ["1000000", "1,000,000.00", "100万", "100.5万", "¥1,234.5元", "１２３", "abc", "-5", "12.346"]
    assert run(parse_money, values) == [1e6, 1e6, 1e6, 1005000.0, 1234.5, 123.0, None, -5.0, 12.35]


def test_money_scale_for_wan_header():
    df = pl.DataFrame({"v": ["100", "100万", "1,5"]})
    got = df.select(parse_money(clean_text(pl.col("v")), 10000))["v"].to_list()
    assert got == [1e6, 1e6, 150000.0]  # "1,5" = 15 with the thousands separator removed


def test_integer_spellings():
    assert run(parse_integer, ["204800", "1,024", "300.0", "３００", "3.5", "x", "-1"]) == [
        204800, 1024, 300, 300, None, None, -1]


def test_enum_codes_and_labels():
    assert run(lambda e: parse_enum(e, "district"), ["haidian", "海淀区", "HAIDIAN", "北京经济技术开发区", "经开区",
                                                      "海淀", None]) == [
        "haidian", "haidian", "haidian", "etdz", "etdz", None, None]
    assert run(lambda e: parse_enum(e, "study_mode"), ["非全日制", "在职", "非全日制/在职", "自考", "part_time"]) == [
        "part_time"] * 3 + ["self_taught", "part_time"]
    assert run(lambda e: parse_enum(e, "application_status"), ["单位已提交，未办理完成", "审核中"]) == [
        "employer_submitted", "under_review"]
    assert run(lambda e: parse_enum(e, "gender"), ["男", "女", "M", "f"]) == ["M", "F", "M", "F"]


def test_every_enum_label_and_code_parses():
    for enum, codes in ENUMS.items():
        values = list(codes) + list(codes.values())
        assert run(lambda e: parse_enum(e, enum), values) == list(codes) * 2, enum


def test_enums_are_plain_dicts_for_other_layers():
    assert ENUMS["district"]["haidian"] == "海淀区"
    assert ENUMS["contribution_kind"]["income_tax"] == "个人所得税/个税"
    assert all(isinstance(v, dict) for v in ENUMS.values())


def test_text_is_nfkc_and_trimmed():
    assert run(lambda e: e, ["\u3000ＡＢＣ１ ", "  ", "a  b"]) == ["ABC1", None, "a  b"]


@pytest.mark.parametrize("stem,table", [
    ("persons", "persons"), ("人员", "persons"), ("contributions_2025", "contributions"),
    ("employers", "employers"), ("employments", "employments"), ("employments_extra", "employments"),
    ("聘用单位", "employers"), ("聘用关系2024", "employments"), ("随往人员", "dependents"),
    ("工作居住证", "permits"), ("业务申请-导出", "applications"), ("个税社保_1", "contributions"),
    ("教育培训简历", "education_history"), ("工作简历", "work_history"), ("Persons", "persons"),
    ("ｐｅｒｓｏｎｓ", "persons"), ("readme", None), ("expected_findings", None),
])
def test_table_recognition(stem, table):
    assert recognise_table(stem) == table


def test_header_aliases_cover_the_contract():
    for t in TABLES.values():
        hm = header_map(t.name)
        for c in t.columns:
            assert hm[norm_name(c.name)][0] == c.name
            for a in c.aliases:
                assert hm[norm_name(a)][0] == c.name, (t.name, a)
    assert header_map("employers")[norm_name("注册资本（万元）")] == ("registered_capital_cny", 10000)
    assert header_map("persons")[norm_name(" 身份证号码 ")] == ("id_number", 1)


def test_enum_lookup_has_no_ambiguous_spelling():
    for enum in ENUMS:
        lk = enum_lookup(enum)
        assert set(lk.values()) == set(ENUMS[enum]), enum


def test_wan_header_and_formats_end_to_end(tmp_path):
    """A file using Chinese headers, 万元 capital, labels and odd date spellings loads typed values."""
    header = ["统一社会信用代码", "单位名称", "单位性质", "所在区", "成立日期", "注册资本（万元）", "单位分类", "系统开通日期"]
    write_csv(tmp_path / "聘用单位.csv", header, [
        [make_uscc(1).lower(), "甲公司", "企业法人", "海淀区", "2015年3月5日", "150", "高新技术企业", "20200101"],
        [make_uscc(2), "乙公司", "enterprise", "经开区", "2016/1/2", "1,000万", "", ""],
    ])
    con, res = ingest(tmp_path)
    got = con.sql("SELECT uscc, entity_type, district, established_on, registered_capital_cny::DOUBLE, category, "
                  "account_opened_on FROM employers ORDER BY uscc").fetchall()
    assert got == [
        (make_uscc(1), "enterprise", "haidian", dt.date(2015, 3, 5), 1500000.0, "high_tech", dt.date(2020, 1, 1)),
        (make_uscc(2), "enterprise", "etdz", dt.date(2016, 1, 2), 10000000.0, "other", None),
    ]
    types = dict(con.sql("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name='employers'").fetchall())
    assert types["registered_capital_cny"] == "DECIMAL(18,2)" and types["established_on"] == "DATE"


def test_person_defaults_and_types(tmp_path):
    idn = make_id(seq=5)
    write_csv(tmp_path / "persons.csv", ["身份证号", "姓名", "特殊人才", "住所证明", "照片大小", "照片宽度"],
              [[idn, "张三", "", "有", "204,800", "295"]])
    con, _ = ingest(tmp_path)
    got = con.sql("SELECT highest_degree, title_level, special_talent, housing_proof, photo_bytes, photo_width, "
                  "gender, birth_date FROM persons").fetchall()
    assert got == [("none", "none", False, True, 204800, 295, "M", dt.date(1990, 3, 7))]
    types = dict(con.sql("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name='persons'").fetchall())
    assert types["photo_bytes"] == "BIGINT" and types["special_talent"] == "BOOLEAN"


def test_every_table_and_column_has_a_bilingual_comment(tmp_path):
    write_csv(tmp_path / "employers.csv", EMPLOYER_HEADER, [employer_row(1)])
    con, _ = ingest(tmp_path)
    for t in [*TABLES, "quarantine", "ingest_log", "ingest_files", "ingest_extra_values"]:
        comment = con.sql(f"SELECT comment FROM duckdb_tables() WHERE table_name = '{t}'").fetchall()
        assert comment and comment[0][0] and " / " in comment[0][0], t
        cols = con.sql(f"SELECT column_name, comment FROM duckdb_columns() WHERE table_name = '{t}'").fetchall()
        assert cols and all(c and " / " in c for _, c in cols), (t, cols)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10**12), st.sampled_from(["plain", "thousands", "wan", "yuan"]))
def test_money_roundtrip_property(cents, style):
    value = cents / 100
    if style == "plain":
        text = f"{value:.2f}"
    elif style == "thousands":
        text = f"{value:,.2f}"
    elif style == "wan":
        text = f"{value / 10000:.6f}万"
    else:
        text = f"¥{value:,.2f}元"
    assert run(parse_money, [text]) == [pytest.approx(value, abs=0.005)]
