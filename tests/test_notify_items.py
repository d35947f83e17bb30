"""Reminder items read from the warehouse: waived findings leave the digest and
expiring waivers enter it when ``findings.waived`` exists (issue 15); without
it nothing is waived; IDs masked whatever the source."""
from __future__ import annotations

import datetime as dt

import duckdb

from reports.notify.items import collect_items
from tests.notify_support import A, D1, DEP_ID, build_warehouse


def _add_waived(con, with_column: bool) -> None:
    exp = (D1 + dt.timedelta(days=10)).isoformat()
    if with_column:
        con.execute("ALTER TABLE findings ADD COLUMN waived BOOLEAN DEFAULT false")
        con.execute("UPDATE findings SET waived = false")
    detail = f'{{"waiver": {{"reason": "总部批准", "expires_on": "{exp}"}}}}'
    con.execute("INSERT INTO findings (run_id, as_of, rule_id, severity, entity_type, entity_key, uscc, id_number, "
                "due_on, message_zh, message_en, detail) VALUES ('r', ?, 'EMP-BRANCH-QUOTA', 'error', 'employer', ?, ?, "
                "NULL, NULL, '分支机构有效证件超过5个 QUOTA', 'Branch over quota QUOTA', ?)", [D1, A, A, detail])
    if with_column:
        con.execute("UPDATE findings SET waived = true WHERE rule_id = 'EMP-BRANCH-QUOTA'")
    else:
        con.execute("CREATE TABLE waivers (rule_id VARCHAR, entity_key VARCHAR, reason VARCHAR, approved_by VARCHAR, "
                    "approved_on DATE, expires_on DATE)")
        con.execute("INSERT INTO waivers VALUES ('EMP-BRANCH-QUOTA', ?, '总部批准', '市人社局', DATE '2026-01-01', ?)",
                    [A, exp])


def test_waived_findings_leave_and_expiring_waivers_enter_the_digest(tmp_path):
    wh = build_warehouse(tmp_path / "wh.duckdb", D1)
    con = duckdb.connect(str(wh))
    _add_waived(con, with_column=True)
    items = collect_items(con, D1)
    con.close()
    keys = set(items["item_key"])
    assert f"finding:EMP-BRANCH-QUOTA:{A}" not in keys, "a waived finding is not reminded"
    w = items.filter(items["kind"] == "waiver_expiring")
    assert w["item_key"].to_list() == [f"waiver:EMP-BRANCH-QUOTA:{A}:{(D1 + dt.timedelta(days=10)).isoformat()}"]
    assert "将于 2026-11-26 到期" in w["line_zh"][0] and "expires on 2026-11-26" in w["line_en"][0]


def test_with_only_a_waivers_table_nothing_is_waived(tmp_path):
    wh = build_warehouse(tmp_path / "wh.duckdb", D1)
    con = duckdb.connect(str(wh))
    _add_waived(con, with_column=False)
    items = collect_items(con, D1)
    con.close()
    # without findings.waived the rule layer applied no waiver: the finding is reported, no waiver item
    assert f"finding:EMP-BRANCH-QUOTA:{A}" in set(items["item_key"])
    assert items.filter(items["kind"] == "waiver_expiring").height == 0


def test_without_waivers_nothing_is_waived_and_ids_are_masked(tmp_path):
    from tests.notify_support import D2

    wh = build_warehouse(tmp_path / "wh.duckdb", D2)
    con = duckdb.connect(str(wh), read_only=True)
    items = collect_items(con, D2)
    con.close()
    dep = items.filter(items["item_key"].str.starts_with("finding:DEP-SPOUSE-NO-CERT:"))
    assert dep.height == 1 and DEP_ID not in dep["item_key"][0], "the ID number is hashed in the key"
    for col in ("line_zh", "line_en", "ref", "id_masked"):
        assert not any(DEP_ID in (v or "") for v in items[col].to_list()), col
    assert dep["id_masked"][0] == DEP_ID[:6] + "********" + DEP_ID[-4:]
