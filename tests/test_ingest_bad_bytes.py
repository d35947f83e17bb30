"""Issue 19 item 2: one bad byte does not drop a file. A control character is a
problem of the value holding it (a code / number / date / identifier value is
invalid: the row is quarantined with the reason; a free-text value loses the
character and the row is reported), never of the file; encodings that cannot be
read are named as encoding problems."""
import codecs

import pytest

from assets.ingest.xlsxraw import write_xlsx_raw
from fixtures.ingest.make import EMPLOYER_HEADER, PERSON_HEADER, employer_row, ingest, make_id, person_row, rows, \
    write_csv

# the class: NUL, other C0 controls (not tab / LF / CR), DEL, a C1 control
CONTROLS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85"]
P = [make_id(seq=i) for i in range(1, 7)]


def _people(ch: str) -> list[list]:
    return [person_row(P[0], name=f"张{ch}三"),                    # free text: loaded without it, reported
            person_row(P[1], birth_date=f"1990-03-07{ch}"),        # date: DQ-BAD-DATE
            person_row(P[2][:6] + ch + P[2][6:]),                  # ID: DQ-BAD-ID
            person_row(P[3], highest_degree=f"{ch}bachelor"),      # enum: DQ-BAD-ENUM
            person_row(P[4]),
            person_row(P[5])]


def _write(folder, fmt: str, ch: str, header_ch: str = "", start: bool = False):
    header = [header_ch + PERSON_HEADER[0]] + PERSON_HEADER[1:]
    write_csv(folder / "employers.csv", EMPLOYER_HEADER, [employer_row(1)])
    if fmt == "csv":
        path = write_csv(folder / "persons.csv", header, _people(ch))
        if start:
            path.write_bytes(ch.encode() + path.read_bytes())
        return "persons.csv"
    if start:
        header[0] = ch + header[0]
    write_xlsx_raw(folder / "persons.xlsx", {"persons": [header, *_people(ch)]})
    return "persons.xlsx#persons"


def _check(con, label: str, ch: str):
    status, message = rows(con, f"SELECT status, message FROM ingest_files WHERE source_file = '{label}'")[0]
    assert status == "warning", message
    loaded = {r[0]: r[1] for r in rows(con, "SELECT id_number, name FROM persons")}
    assert loaded == {P[0]: "张三", P[4]: "张三", P[5]: "张三"}
    q = {r[0]: (r[1], r[2]) for r in rows(con, "SELECT source_row, rule_ids, reasons FROM quarantine")}
    assert {k: v[0] for k, v in q.items()} == {2: ["DQ-BAD-DATE"], 3: ["DQ-BAD-ID"], 4: ["DQ-BAD-ENUM"]}
    code = f"<U+{ord(ch):04X}>"
    assert code in q[2][1][0] and code in q[4][1][0], q  # the reason shows the character (IDs are masked)
    assert "第 1 行 name" in message and "row 1 name" in message
    read, ld, qn, c = rows(con, f"SELECT rows_read, rows_loaded, rows_quarantined, rows_collapsed FROM ingest_log "
                                f"WHERE source_file = '{label}'")[0]
    assert (read, ld, qn, c) == (6, 3, 3, 0)
    # nothing in the findings or reasons carries the raw control character
    for (text,) in rows(con, "SELECT message_zh || message_en || CAST(detail AS VARCHAR) FROM findings"):
        assert ch not in text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("ch", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_a_control_character_in_a_value_is_a_value_problem(tmp_path, fmt, ch):
    label = _write(tmp_path, fmt, ch)
    con, _ = ingest(tmp_path)
    _check(con, label, ch)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("ch", ["\x00", "\x1f", "\x7f"], ids=["NUL", "US", "DEL"])
@pytest.mark.parametrize("where", ["header", "start"])
def test_a_control_character_in_the_header_or_at_the_start_of_the_file(tmp_path, fmt, ch, where):
    label = _write(tmp_path, fmt, ch, header_ch=ch if where == "header" else "", start=where == "start")
    con, _ = ingest(tmp_path)
    _check(con, label, ch)
    message = rows(con, f"SELECT message FROM ingest_files WHERE source_file = '{label}'")[0][0]
    assert f"表头含控制字符 U+{ord(ch):04X}" in message


def test_one_nul_early_in_a_big_file_costs_one_value_not_the_file(tmp_path):
    ids = [make_id(seq=i % 100, area=f"11{i // 100:04d}") for i in range(3000)]
    people = [person_row(p, name=f"人员{i}") for i, p in enumerate(ids)]
    people[4][3] = "1990-03-\x0007"  # birth_date of row 5: within the first 64 KB
    people[7][1] = "王\x00五"
    write_csv(tmp_path / "employers.csv", EMPLOYER_HEADER, [employer_row(1)])
    write_csv(tmp_path / "persons.csv", PERSON_HEADER, people)
    con, res = ingest(tmp_path)
    assert res.tables["persons"] == 2999
    assert rows(con, "SELECT source_row, rule_ids FROM quarantine") == [(5, ["DQ-BAD-DATE"])]
    assert rows(con, f"SELECT name FROM persons WHERE id_number = '{ids[7]}'") == [("王五",)]
    assert res.rejected_files() == []


def test_a_stray_byte_in_utf8_text_is_a_value_problem(tmp_path):
    write_csv(tmp_path / "employers.csv", EMPLOYER_HEADER, [employer_row(1)])
    path = write_csv(tmp_path / "persons.csv", PERSON_HEADER,
                     [person_row(P[0], name="张三XX"), person_row(P[1], birth_date="1990-03-07YY"),
                      *[person_row(p, name="李四") for p in P[2:]]])
    path.write_bytes(path.read_bytes().replace(b"XX", b"\xff").replace(b"YY", b"\xfe"))
    con, res = ingest(tmp_path)
    assert rows(con, "SELECT status FROM ingest_files WHERE source_file = 'persons.csv'") == [("warning",)]
    assert rows(con, f"SELECT name FROM persons WHERE id_number = '{P[0]}'") == [("张三",)]
    assert rows(con, "SELECT source_row, rule_ids FROM quarantine") == [(2, ["DQ-BAD-DATE"])]
    assert "<U+FFFD>" in rows(con, "SELECT reasons[1] FROM quarantine")[0][0]


_TRAD = ["身份證號碼", "姓名", "性別"]
_ROWS = [[P[0], "陳大文", "男"], [P[1], "張小明", "女"], [P[2], "黃美玲", "女"]] * 5


@pytest.mark.parametrize("encoding,expect", [
    ("big5", "big5"), ("shift_jis", "cp932"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16")])
def test_unreadable_encodings_are_named_as_encoding_problems(tmp_path, encoding, expect):
    header, data = (["id_number", "name", "gender"], _ROWS) if encoding != "shift_jis" else (
        ["id_number", "name", "gender"], [[P[0], "山田太郎", "男"], [P[1], "佐藤花子", "女"]] * 8)
    write_csv(tmp_path / "persons.csv", header, data, encoding=encoding)
    con, res = ingest(tmp_path)
    table, status, message = rows(con, "SELECT table_name, status, message FROM ingest_files")[0]
    assert (table, status) == ("persons", "rejected")
    assert "编码" in message and "encoding" in message and expect in message
    assert "缺少" not in message and "missing" not in message
    assert [f["source_file"] for f in res.rejected_files()] == ["persons.csv"]


def test_utf16_with_bom_still_reads_and_binary_is_refused_as_not_text(tmp_path):
    path = write_csv(tmp_path / "persons.csv", PERSON_HEADER, [person_row(P[0])], encoding="utf-16-le")
    path.write_bytes(codecs.BOM_UTF16_LE + path.read_bytes())
    (tmp_path / "employments.csv").write_bytes(bytes(range(256)) * 64)
    con, res = ingest(tmp_path)
    assert rows(con, "SELECT id_number FROM persons") == [(P[0],)]
    status, message = rows(con, "SELECT status, message FROM ingest_files WHERE source_file = 'employments.csv'")[0]
    assert status == "rejected" and "不是文本文件" in message


def test_gb18030_with_rare_characters_is_still_read(tmp_path):
    names = ["龘靐齉", "张三", "李四", "王五", "赵六", "孙七", "周八", "吴九", "郑十"]  # the first: rare hanzi
    write_csv(tmp_path / "persons.csv", ["身份证号", "姓名"], [[P[i % 6], n] for i, n in enumerate(names[:6])],
              encoding="gb18030")
    con, _ = ingest(tmp_path)
    assert rows(con, "SELECT count(*) FROM persons")[0][0] == 6
