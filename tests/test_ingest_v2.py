"""Ingest of the v2 contract (data-contract.md (v2)): identity document types, passports with
given birth date and gender, work permits, withholding_agents, waivers (DQ-BAD-REF)."""
import datetime as dt

from stdnum.cn import ric

from fixtures.ingest.make import (base_folder, corrupt_check, findings, ingest, make_id, make_uscc, rows,
                                  write_csv)

P1 = make_id(seq=1)
U1, U2 = make_uscc(1), make_uscc(2)
V2_PERSON = ["证件号码", "证件类型", "姓名", "性别", "出生日期", "国籍", "外国人工作许可证号", "工作许可证有效期至"]


def gb(prefix: str, birth: str = "19900101", seq: str = "123") -> str:
    body = prefix + birth + seq
    return body + ric.calc_check_digit(body + "0")


def test_document_types_each_get_their_own_check(tmp_path):
    base_folder(tmp_path, [P1], [1])
    hk, fpr = gb("810000"), gb("931234", "19800202", "456")
    write_csv(tmp_path / "persons_v2.csv", V2_PERSON, [
        ["e 1234567", "护照", "John", "男", "1985-03-01", "美国", "WP-1", "2027-01-31"],  # spaces removed, upper-cased
        [hk, "港澳台居民居住证", "陈大文", "", "", "中国香港", "", ""],
        [fpr, "foreign_permanent_resident", "Anna", "", "", "德国", "", ""],
        [corrupt_check(hk), "hk_mo_tw_residence", "坏码", "", "", "", "", ""],
        ["AB1", "passport", "Too Short", "M", "1980-01-01", "", "", ""],
        [hk, "passport", "Wrong Type", "M", "1980-01-01", "", "", ""],   # 18 characters are not a passport
        ["X9876543", "护照", "No Birth", "男", "", "英国", "", ""],      # passport: birth date required
    ])
    con, _ = ingest(tmp_path)
    assert findings(con, "DQ-BAD-ID") == {("DQ-BAD-ID", f"persons_v2.csv:{n}") for n in (4, 5, 6)}
    assert findings(con, "DQ-REQUIRED") == {("DQ-REQUIRED", "persons_v2.csv:7")}
    got = dict((r[0], r[1:]) for r in rows(con, "SELECT id_number, id_type, gender, birth_date, nationality, "
                                                "work_permit_no, work_permit_expires_on FROM persons"))
    assert got["E1234567"] == ("passport", "M", dt.date(1985, 3, 1), "美国", "WP-1", dt.date(2027, 1, 31))
    assert got[hk][:3] == ("hk_mo_tw_residence", "M", dt.date(1990, 1, 1))   # from the number
    assert got[fpr][:3] == ("foreign_permanent_resident", "F", dt.date(1980, 2, 2))
    assert got[P1][0] == "resident_id"  # default


def test_passport_birth_date_is_kept_and_not_a_mismatch(tmp_path):
    base_folder(tmp_path, [], [1])
    write_csv(tmp_path / "persons.csv", V2_PERSON, [
        ["G1234567", "passport", "A", "女", "1999-12-31", "法国", "", ""],
        [P1, "resident_id", "B", "女", "1999-12-31", "", "", ""],   # the ID says male, 1990-03-07: mismatch
    ])
    con, _ = ingest(tmp_path)
    assert findings(con, "DQ-ID-MISMATCH") == {("DQ-ID-MISMATCH", P1)}
    assert rows(con, "SELECT gender, birth_date FROM persons WHERE id_number = 'G1234567'") == [
        ("F", dt.date(1999, 12, 31))]


def test_other_tables_accept_a_passport_number_and_orphan_it_when_unknown(tmp_path):
    base_folder(tmp_path, [P1], [1])
    write_csv(tmp_path / "persons_f.csv", V2_PERSON, [["E7654321", "护照", "J", "M", "1980-01-01", "", "", ""]])
    write_csv(tmp_path / "employments.csv", ["id_number", "uscc", "hired_on"], [
        ["E7654321", U1, "2024-01-01"],      # a passport holder's employment: loaded
        ["Q0000000", U1, "2024-01-01"],      # passes the passport check, no such person: orphan
        [P1[:17], U1, "2024-01-01"],         # 17 digits: a passport-shaped value, no such person: orphan
        [corrupt_check(P1), U1, "2024-01-01"],  # 18 characters are always GB 11643: bad ID
    ])
    con, _ = ingest(tmp_path)
    assert findings(con, "DQ-BAD-ID") == {("DQ-BAD-ID", "employments.csv:4")}
    assert findings(con, "DQ-ORPHAN") == {("DQ-ORPHAN", "employments.csv:2"), ("DQ-ORPHAN", "employments.csv:3")}
    assert rows(con, "SELECT id_number FROM employments") == [("E7654321",)]


def test_withholding_agents_and_waivers(tmp_path):
    base_folder(tmp_path, [P1], [1])
    write_csv(tmp_path / "代扣代缴单位.csv", ["聘用单位代码", "代扣单位名称", "代扣单位代码", "险种", "起始月份", "截止月份"], [
        [U1, "北京人力外包服务有限公司", U2, "社保", "2024年3月", ""],
        [U1, "上海某某人力资源有限公司", "", "", "", "2025-06"],
        [U1, "错码代理", corrupt_check(U2), "", "", ""],
        [U2, "孤儿代理", "", "", "", ""],               # U2 is not a loaded employer
    ])
    write_csv(tmp_path / "waivers.csv", ["规则编号", "对象编号", "原因", "批准人", "批准日期", "有效期至"], [
        ["EMP-BRANCH-QUOTA", U1, "重点企业", "市人才中心", "2026-01-05", ""],
        ["ELIG-EMPLOYER-AGE-1Y", "A-1", "新设研发机构", "海淀区人才中心", "2026-02-01", "2026-12-31"],
        ["DQ-BAD-ID", "persons.csv:1", "想豁免", "某人", "2026-01-01", ""],    # ingest rules cannot be waived
        ["NO-SUCH-RULE", "x", "?", "某人", "2026-01-01", ""],
        ["DQ-ID-MISMATCH", P1, "出生日期以户籍为准", "某人", "2026-01-01", ""],  # not an ingest record rule
    ])
    con, _ = ingest(tmp_path)
    assert rows(con, "SELECT agent_name, agent_uscc, kind, valid_from, valid_to FROM withholding_agents ORDER BY 1") == [
        ("上海某某人力资源有限公司", None, None, None, dt.date(2025, 6, 1)),
        ("北京人力外包服务有限公司", U2, "social_insurance", dt.date(2024, 3, 1), None)]
    assert findings(con, "DQ-BAD-USCC") == {("DQ-BAD-USCC", "代扣代缴单位.csv:3")}
    assert findings(con, "DQ-ORPHAN") == {("DQ-ORPHAN", "代扣代缴单位.csv:4")}
    assert findings(con, "DQ-BAD-REF") == {("DQ-BAD-REF", "waivers.csv:3"), ("DQ-BAD-REF", "waivers.csv:4")}
    assert {r[0] for r in rows(con, "SELECT rule_id FROM waivers")} == {
        "EMP-BRANCH-QUOTA", "ELIG-EMPLOYER-AGE-1Y", "DQ-ID-MISMATCH"}
