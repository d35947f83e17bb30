"""Rule messages show enum values as labels in the message's language."""
import re

import duckdb
import pytest

from expectations.engine import compile_template
from expectations.rulebook import RuleBookError


def _render(template, lang, row_sql):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE f AS {row_sql}")
    cols = {c: t for c, t in con.sql("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name='f'").fetchall()}
    return con.sql(f"SELECT {compile_template(template, cols, 'test', lang)} FROM f").fetchall()[0][0]


def test_enum_spec_renders_labels_in_each_language():
    row = "SELECT 'bachelor' AS d, 'none' AS h, ['bachelor', 'high_school'] AS lv, 'unknown_code' AS u"
    assert _render("学位:{d:degree};住所:{h:housing_type};{lv:edu_level}", "zh", row) == "学位:学士;住所:无;本科/高中"
    assert _render("degree: {d:degree}", "en", row) == "degree: Bachelor"
    # a code the table does not know is shown as it is, never dropped
    assert _render("{u:degree}", "zh", row) == "unknown_code"


def test_unknown_enum_in_a_template_is_a_rule_book_error():
    with pytest.raises(RuleBookError, match="nope"):
        _render("{d:nope}", "zh", "SELECT 'x' AS d")


def test_demo_messages_of_enum_rules_carry_no_codes(ro_con):
    rows = ro_con.sql("SELECT rule_id, message_zh FROM findings WHERE rule_id IN "
                      "('ELIG-TALENT', 'ELIG-RESIDENCE', 'ELIG-EDU-NO-HIGH-SCHOOL')").fetchall()
    assert {r for r, _ in rows} == {"ELIG-TALENT", "ELIG-RESIDENCE", "ELIG-EDU-NO-HIGH-SCHOOL"}
    codes = r"\b(none|bachelor|master|doctor|junior|intermediate|senior|owned|rented|lodging|high_school|junior_college)\b"
    assert [m for _, m in rows if re.search(codes, m)] == []
