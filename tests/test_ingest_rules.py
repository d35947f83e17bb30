"""Every ingest rule (spec/rules.md § Ingest) on its own small fixture."""
import datetime as dt
import json

import polars as pl
import pytest

from assets.ingest.core import ingest_folder
from fixtures.ingest.make import (AS_OF, EMPLOYER_HEADER, PERSON_HEADER, base_folder, corrupt_check, employer_row,
                                  findings, ingest, make_id, make_uscc, person_row, rows, write_csv, write_xlsx)

P1, P2, P3 = make_id(seq=1), make_id(seq=2, male=False), make_id(dt.date(1985, 12, 31), seq=3)
U1, U2 = make_uscc(1), make_uscc(2)


@pytest.fixture()
def folder(tmp_path):
    base_folder(tmp_path, [P1, P2, P3], [1, 2])
    return tmp_path


def quarantine(con):
    return {(f, r): (ids, json.loads(raw)) for f, r, ids, raw in
            con.sql("SELECT source_file, source_row, rule_ids, raw FROM quarantine").fetchall()}


def test_required_value_empty(folder):
    write_csv(folder / "persons_more.csv", PERSON_HEADER, [person_row(make_id(seq=7), name=""),
                                                            person_row(make_id(seq=8), name="  ")])
    con, _ = ingest(folder)
    assert findings(con, "DQ-REQUIRED") == {("DQ-REQUIRED", "persons_more.csv:1"), ("DQ-REQUIRED", "persons_more.csv:2")}
    q = quarantine(con)
    assert q[("persons_more.csv", 1)][0] == ["DQ-REQUIRED"]
    assert q[("persons_more.csv", 1)][1]["id_number"] == make_id(seq=7)  # raw values kept
    assert rows(con, "SELECT count(*) FROM persons") == [(3,)]


def test_permit_no_required_except_for_new(folder):
    header = ["application_id", "type", "id_number", "uscc", "permit_no", "status"]
    write_csv(folder / "applications.csv", header, [
        ["A1", "new", P1, U1, "", "draft"],
        ["A2", "renewal", P1, U1, "", "draft"],
        ["A3", "续签", P1, U1, "P-1", "草稿"],
    ])
    con, _ = ingest(folder)
    assert findings(con, "DQ-REQUIRED") == {("DQ-REQUIRED", "applications.csv:2")}
    assert rows(con, "SELECT application_id, type, status FROM applications ORDER BY 1") == [
        ("A1", "new", "draft"), ("A3", "renewal", "draft")]


def test_bad_id_in_persons_and_dependent_holder(folder):
    bad = corrupt_check(make_id(seq=9))
    write_csv(folder / "persons_2.csv", PERSON_HEADER, [person_row(bad), person_row("12345"),
                                                        person_row(make_id(dt.date(2027, 1, 1), seq=4))])
    write_csv(folder / "dependents.csv", ["holder_id_number", "id_number", "relation", "name"], [
        [corrupt_check(P1), make_id(dt.date(2015, 1, 1), seq=11), "child", "小明"],
        [P1, make_id(dt.date(2015, 1, 1), seq=12), "子女", "小红"],
    ])
    con, _ = ingest(folder)
    assert findings(con, "DQ-BAD-ID") == {("DQ-BAD-ID", "persons_2.csv:1"), ("DQ-BAD-ID", "persons_2.csv:2"),
                                          ("DQ-BAD-ID", "persons_2.csv:3"), ("DQ-BAD-ID", "dependents.csv:1")}
    # findings never carry an invalid id_number; messages mask the value
    fr = con.sql("SELECT id_number, message_zh, detail FROM findings WHERE entity_key = 'persons_2.csv:1'").fetchall()
    assert fr[0][0] is None
    assert bad not in fr[0][1] and bad[:6] + "********" + bad[-4:] in fr[0][1]
    assert json.loads(fr[0][2])["value"] == bad[:6] + "********" + bad[-4:]
    assert rows(con, "SELECT relation FROM dependents") == [("child",)]


def test_bad_uscc_only_for_employers(folder):
    write_csv(folder / "employers_2.csv", EMPLOYER_HEADER, [employer_row(3, uscc=corrupt_check(make_uscc(3))),
                                                            employer_row(4, uscc="91110108MA0000000")])
    write_csv(folder / "employments.csv", ["id_number", "uscc", "hired_on"], [[P1, corrupt_check(U2), "2020-01-01"]])
    con, _ = ingest(folder)
    assert findings(con, "DQ-BAD-USCC") == {("DQ-BAD-USCC", "employers_2.csv:1"), ("DQ-BAD-USCC", "employers_2.csv:2")}
    # another table's bad uscc is an orphan, not DQ-BAD-USCC
    assert findings(con, "DQ-ORPHAN") == {("DQ-ORPHAN", "employments.csv:1")}
    fr = con.sql("SELECT uscc, id_number FROM findings WHERE entity_key='employments.csv:1'").fetchall()
    assert fr == [(None, P1)]


def test_bad_date_unparseable_too_late_too_early(folder):
    header = ["id_number", "start_on", "end_on", "organization"]
    ten_years = AS_OF.replace(year=AS_OF.year + 10)
    write_csv(folder / "work_history.csv", header, [
        [P1, "2020-13-01", "", "甲"],
        [P1, (ten_years + dt.timedelta(days=1)).isoformat(), "", "乙"],
        [P1, "1899-12-31", "", "丙"],
        [P1, "2010-01-01", ten_years.isoformat(), "丁"],  # exactly as_of + 10 years is fine
        [P1, "1900-01-01", "1900-01-02", "戊"],
    ])
    con, _ = ingest(folder)
    assert findings(con, "DQ-BAD-DATE") == {("DQ-BAD-DATE", f"work_history.csv:{i}") for i in (1, 2, 3)}
    assert rows(con, "SELECT count(*) FROM work_history") == [(2,)]


def test_bad_month_in_contributions(folder):
    header = ["id_number", "month", "kind", "amount_cny"]
    write_csv(folder / "contributions.csv", header, [
        [P1, "2024-13", "income_tax", "100"], [P1, "2024年3月", "个税", "100"], [P1, "202404", "社保", "0"]])
    con, _ = ingest(folder)
    assert findings(con, "DQ-BAD-DATE") == {("DQ-BAD-DATE", "contributions.csv:1")}
    assert rows(con, "SELECT month, kind, amount_cny::DOUBLE FROM contributions ORDER BY 1") == [
        (dt.date(2024, 3, 1), "income_tax", 100.0), (dt.date(2024, 4, 1), "social_insurance", 0.0)]


def test_bad_enum_and_bad_bool(folder):
    write_csv(folder / "employers_x.csv", EMPLOYER_HEADER + ["category"], [
        employer_row(5, district="火星区") + [""], employer_row(6) + ["高科技"]])
    write_csv(folder / "dependents.csv", ["holder_id_number", "id_number", "relation", "name", "结婚证"], [
        [P1, make_id(dt.date(1991, 1, 1), seq=20, male=False), "配偶", "王芳", "也许"]])
    con, _ = ingest(folder)
    assert findings(con, "DQ-BAD-ENUM") == {("DQ-BAD-ENUM", "employers_x.csv:1"), ("DQ-BAD-ENUM", "employers_x.csv:2"),
                                            ("DQ-BAD-ENUM", "dependents.csv:1")}
    msg = con.sql("SELECT message_zh, message_en FROM findings WHERE entity_key='employers_x.csv:1'").fetchall()[0]
    assert "employers_x.csv" in msg[0] and "第1行" in msg[0] and "district" in msg[0] and "火星区" in msg[0]
    assert "row 1" in msg[1] and "district" in msg[1]


def test_bad_number_unparseable_or_negative(folder):
    write_csv(folder / "employers_n.csv", EMPLOYER_HEADER, [
        employer_row(7, registered_capital_cny="-100"), employer_row(8, registered_capital_cny="一百万"),
        employer_row(9, registered_capital_cny="0")])
    write_csv(folder / "persons_n.csv", ["id_number", "name", "photo_bytes"], [[make_id(seq=30), "甲", "1.5"]])
    con, _ = ingest(folder)
    assert findings(con, "DQ-BAD-NUMBER") == {("DQ-BAD-NUMBER", "employers_n.csv:1"),
                                              ("DQ-BAD-NUMBER", "employers_n.csv:2"),
                                              ("DQ-BAD-NUMBER", "persons_n.csv:1")}
    fr = con.sql("SELECT uscc FROM findings WHERE entity_key='employers_n.csv:1'").fetchall()
    assert fr == [(make_uscc(7),)]  # a valid uscc of the row is the finding's employer


def test_date_order(folder):
    write_csv(folder / "work_history.csv", ["id_number", "start_on", "end_on"], [
        [P1, "2020-01-02", "2020-01-01"], [P1, "2021-01-01", "2021-01-01"]])
    write_csv(folder / "education_history.csv", ["id_number", "start_on", "end_on", "level"], [
        [P1, "2010-09-01", "2006-07-01", "本科"], [P2, "2010-09-01", "2014-07-01", "bachelor"]])
    write_csv(folder / "permits.csv", ["permit_no", "id_number", "uscc", "issued_on", "expires_on", "status"], [
        ["P-1", P1, U1, "2024-01-01", "2024-01-01", "active"], ["P-2", P2, U1, "2024-01-01", "2027-01-01", "有效"]])
    write_csv(folder / "employments.csv", ["id_number", "uscc", "hired_on", "left_on"], [
        [P1, U1, "2020-05-01", "2020-04-30"], [P2, U1, "2020-05-01", "2020-05-01"]])
    con, _ = ingest(folder)
    assert findings(con, "DQ-DATE-ORDER") == {("DQ-DATE-ORDER", k) for k in (
        "work_history.csv:1", "education_history.csv:1", "permits.csv:1", "employments.csv:1")}
    assert rows(con, "SELECT count(*) FROM work_history") == [(1,)]


def test_exact_duplicates_collapse_across_files(folder):
    # same person again in another file, spelled differently but equal after normalisation
    write_csv(folder / "persons_dup.csv", ["身份证号", "姓名", "学位"],
              [[P1.lower()[:-1] + P1[-1].lower(), " 张三 ", "学士"], [make_id(seq=40), "赵六", "无"]])
    write_csv(folder / "persons_dup2.csv", ["身份证号", "姓名", "学位"],
              [[make_id(seq=40), "赵六", "none"], [make_id(seq=40), "赵六", "none"]])
    con, _ = ingest(folder)
    log = {r[0]: r[1:] for r in con.sql("SELECT source_file, rows_read, rows_loaded, rows_quarantined, "
                                        "rows_collapsed FROM ingest_log WHERE table_name='persons'").fetchall()}
    assert log["persons.csv"] == (3, 3, 0, 0)
    assert log["persons_dup.csv"] == (2, 1, 0, 1)
    assert log["persons_dup2.csv"] == (2, 0, 0, 2)
    assert rows(con, "SELECT count(*) FROM persons") == [(4,)]
    assert findings(con) == set()


def test_conflicting_duplicate_key_quarantines_all_and_cascades(folder):
    write_csv(folder / "persons_conflict.csv", PERSON_HEADER, [person_row(P2, name="另一个人")])
    write_csv(folder / "contributions.csv", ["id_number", "month", "kind"], [
        [P2, "2024-01", "income_tax"], [P1, "2024-01", "income_tax"]])
    write_csv(folder / "employments.csv", ["id_number", "uscc", "hired_on", "contract_end_on"], [
        [P1, U1, "2020-01-01", "2025-01-01"], [P1, U1, "2020-01-01", "2026-01-01"], [P3, U1, "2020-01-01", ""]])
    con, _ = ingest(folder)
    assert findings(con, "DQ-DUP-KEY") == {("DQ-DUP-KEY", "persons.csv:2"), ("DQ-DUP-KEY", "persons_conflict.csv:1"),
                                           ("DQ-DUP-KEY", "employments.csv:1"), ("DQ-DUP-KEY", "employments.csv:2")}
    # the person is gone, so its contribution is an orphan (cascade)
    assert findings(con, "DQ-ORPHAN") == {("DQ-ORPHAN", "contributions.csv:1")}
    assert rows(con, "SELECT id_number FROM persons ORDER BY 1") == sorted([(P1,), (P3,)])
    assert rows(con, "SELECT id_number FROM employments") == [(P3,)]


def test_orphans(folder):
    stranger = make_id(seq=50)
    write_csv(folder / "contributions.csv", ["id_number", "month", "kind", "withholder_uscc"], [
        [stranger, "2024-01", "income_tax", U1], [P1, "2024-01", "income_tax", make_uscc(99)]])
    write_csv(folder / "dependents.csv", ["holder_id_number", "id_number", "relation", "name"], [
        [stranger, make_id(dt.date(2016, 1, 1), seq=51), "child", "甲"],
        [P1, make_id(dt.date(2016, 1, 1), seq=52), "child", "乙"]])  # the dependent itself is no person: fine
    write_csv(folder / "permits.csv", ["permit_no", "id_number", "uscc", "issued_on", "expires_on", "status"], [
        ["P-1", P1, make_uscc(98), "2024-01-01", "2027-01-01", "active"]])
    write_csv(folder / "applications.csv", ["application_id", "type", "id_number", "uscc", "status"], [
        ["A-1", "new", stranger, U1, "draft"], ["A-2", "new", P1, U1, "draft"]])
    write_csv(folder / "education_history.csv", ["id_number", "start_on", "level"], [[stranger, "2001-09-01", "高中"]])
    con, _ = ingest(folder)
    assert findings(con, "DQ-ORPHAN") == {("DQ-ORPHAN", k) for k in (
        "contributions.csv:1", "dependents.csv:1", "permits.csv:1", "applications.csv:1", "education_history.csv:1")}
    assert rows(con, "SELECT withholder_uscc FROM contributions") == [(make_uscc(99),)]


def test_id_mismatch_kept_and_id_wins(folder):
    write_csv(folder / "persons.csv", PERSON_HEADER, [
        person_row(P1, gender="女", birth_date="1990-03-08"), person_row(P2, gender="F", birth_date="1990/3/7"),
        person_row(P3)])
    con, _ = ingest(folder)
    assert findings(con, "DQ-ID-MISMATCH") == {("DQ-ID-MISMATCH", P1)}
    f = con.sql("SELECT entity_type, id_number, uscc, severity, message_zh, detail FROM findings "
                "WHERE rule_id='DQ-ID-MISMATCH'").fetchall()[0]
    assert f[:4] == ("person", P1, None, "warning")
    assert P1 not in f[4] and P1 not in f[5]
    assert rows(con, f"SELECT gender, birth_date FROM persons WHERE id_number='{P1}'") == [("M", dt.date(1990, 3, 7))]
    assert rows(con, f"SELECT gender, birth_date FROM persons WHERE id_number='{P3}'") == [("M", dt.date(1985, 12, 31))]


def test_every_failing_check_is_a_reason(folder):
    write_csv(folder / "employers_bad.csv", EMPLOYER_HEADER, [
        [corrupt_check(make_uscc(60)), "", "外星企业", "haidian", "2015-02-30", "-1"]])
    con, _ = ingest(folder)
    got = findings(con)
    key = "employers_bad.csv:1"
    assert got == {(r, key) for r in ("DQ-BAD-USCC", "DQ-REQUIRED", "DQ-BAD-ENUM", "DQ-BAD-DATE", "DQ-BAD-NUMBER")}
    q = con.sql("SELECT rule_ids, len(reasons), raw->>'name' FROM quarantine").fetchall()
    assert len(q) == 1 and sorted(q[0][0]) == sorted(r for r, _ in got) and q[0][1] == 5


def test_entity_keys_for_excel_and_parquet(tmp_path):
    base_folder(tmp_path, [P1], [1])
    write_xlsx(tmp_path / "book.xlsx", {"聘用关系": [["身份证号", "统一社会信用代码", "入职日期"],
                                                   [P1, U1, dt.date(2020, 1, 1)],
                                                   [P1, U2, dt.date(2020, 1, 1)]]})
    pl.DataFrame({"id_number": [P1, P2], "month": ["2024-01", "2024-01"], "kind": ["个税", "个税"]}).write_parquet(
        tmp_path / "contributions_2024.parquet")
    con, _ = ingest(tmp_path)
    assert findings(con, "DQ-ORPHAN") == {("DQ-ORPHAN", "book.xlsx#聘用关系:2"),
                                          ("DQ-ORPHAN", "contributions_2024.parquet:2")}
    assert ("book.xlsx#聘用关系", 2) in quarantine(con)


def test_findings_schema_and_rerun_is_idempotent(folder):
    write_csv(folder / "persons_bad.csv", PERSON_HEADER, [person_row("x")])
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE findings AS SELECT 'r0' run_id, DATE '2020-01-01' as_of, 'ELIG-TALENT' rule_id, "
                "'error' severity, 'application' entity_type, 'A1' entity_key, NULL::VARCHAR uscc, "
                "NULL::VARCHAR id_number, NULL::DATE due_on, 'x' message_zh, 'x' message_en, '{}'::JSON detail")
    for run in ("r1", "r2"):
        ingest_folder(folder, con, run, AS_OF)
    assert con.sql("SELECT run_id, rule_id, entity_key FROM findings ORDER BY rule_id").fetchall() == [
        ("r2", "DQ-BAD-ID", "persons_bad.csv:1"), ("r0", "ELIG-TALENT", "A1")]
    assert rows(con, "SELECT count(*), min(run_id) FROM quarantine") == [(1, "r2")]
    assert rows(con, "SELECT count(*) FROM persons") == [(3,)]
    assert rows(con, "SELECT DISTINCT run_id FROM ingest_log") == [("r2",)]
    cols = con.sql("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name='findings'").fetchall()
    assert [c for c, _ in cols] == ["run_id", "as_of", "rule_id", "severity", "entity_type", "entity_key", "uscc",
                                    "id_number", "due_on", "message_zh", "message_en", "detail", "waived"]
    d = json.loads(con.sql("SELECT detail FROM findings WHERE rule_id='DQ-BAD-ID'").fetchall()[0][0])
    assert d["file"] == "persons_bad.csv" and d["row"] == 1 and d["column"] == "id_number"


def test_rule_book_entries_render(folder):
    from expectations.rulebook import load_rules

    from assets.ingest.core import OWNED_RULES

    rules = load_rules()
    for r in OWNED_RULES:
        assert rules[r]["check"] == {"engine": "ingest"}
        assert rules[r]["entity_type"] == ("person" if r == "DQ-ID-MISMATCH" else "record")
    detail = {"file": "a.csv", "row": 3, "column": "x", "column_zh": "某", "value": "v", "id_number": "1",
              "id_value": "M"}
    for r in OWNED_RULES:
        assert rules[r]["message_zh"].format(**detail) and rules[r]["message_en"].format(**detail)


def test_id_like_values_are_masked_in_any_column(folder):
    write_csv(folder / "work_history.csv", ["id_number", "start_on"], [[P1, P2]])  # an ID typed into a date column
    con, _ = ingest(folder)
    msg, detail = con.sql("SELECT message_zh || message_en, detail FROM findings WHERE rule_id='DQ-BAD-DATE'").fetchall()[0]
    assert P2 not in msg and P2 not in detail and P2[:6] + "********" + P2[-4:] in msg
    # the warehouse quarantine keeps the raw value (not published)
    assert json.loads(con.sql("SELECT raw FROM quarantine").fetchall()[0][0])["start_on"] == P2


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, "a", "b"]), st.integers(0, 2) | st.none()), max_size=40))
def test_hash_then_exact_duplicate_masks(rows_):
    """The candidate-only masks equal the plain definitions: first distinct
    row over all columns; among those, rows whose key value is shared."""
    from assets.ingest.stages import duplicate_masks as _duplicates

    df = pl.DataFrame(rows_, schema={"s": pl.String, "i": pl.Int64}, orient="row")
    first, conflict = _duplicates(df, ["s", "i"], ["s"])
    expected_first = df.select(pl.struct("s", "i").is_first_distinct())[:, 0]
    assert first.to_list() == expected_first.to_list()
    survivors = df.with_row_index("n").filter(expected_first)
    shared = set(survivors.filter(pl.len().over("s") > 1)["n"].to_list())
    assert conflict.to_list() == [n in shared for n in range(df.height)]
