"""Material checklists: the YAML loader, and the marts whose item states come
from findings only (the rule id is the link)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
import yaml

from assets.marts.build import prepare
from assets.marts.checklists import build_all_checklists
from assets.marts.sample import create_contract_tables, finding, good_person, insert, make_id, make_uscc
from assets.settings import PACKAGED_POLICY
from expectations.checklists import CHECKLISTS_FILE, BUSINESS_TYPES, ChecklistError, load_checklists
from expectations.rulebook import load_rules

AS_OF = dt.date(2026, 6, 15)
SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds" / "000_d695fdbde70c0a91.txt"


# ----------------------------------------------------------------------------- the YAML
def test_every_business_type_has_a_checklist_and_every_rule_exists():
    lists = load_checklists()
    assert set(lists) == set(BUSINESS_TYPES)
    rules = load_rules()
    for items in lists.values():
        assert [i.item_no for i in items] == list(range(1, len(items) + 1))
        for it in items:
            assert all(r in rules for r in it.rules)
            assert re.search(r"[\u4e00-\u9fff]", it.zh) and re.search("[A-Za-z]", it.en)


def test_items_cite_seed_lines_that_say_so():
    """Each item's seed line exists and shares wording with the item (a wrong line number fails)."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for items in load_checklists().values():
        for it in items:
            nums = [int(n) for n in re.findall(r"\d+", it.seed)]
            assert nums and all(1 <= n <= len(lines) for n in nums), it
            text = "".join(lines[n - 1] for a in it.seed.split(",")
                           for n in range(int(a.split("-")[0]), int(a.split("-")[-1]) + 1))
            grams = {it.zh[k:k + 2] for k in range(len(it.zh) - 1)} - {"原件", "及复", "复印", "印件"}
            assert sum(g in text for g in grams) >= 3, (it.type, it.item_no, it.seed)


def _broken(tmp_path, mutate) -> Path:
    doc = yaml.safe_load(CHECKLISTS_FILE.read_text(encoding="utf-8"))
    mutate(doc)
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["business_types"]["new"]["items"][1].update(rules=["NO-SUCH-RULE"]), "NO-SUCH-RULE"),
    (lambda d: d["business_types"]["new"]["items"][0].update(when={"moon_phase": ["full"]}), "moon_phase"),
    (lambda d: d["business_types"]["new"]["items"][0].pop("state"), "either"),
    (lambda d: d["business_types"].pop("reissue"), "reissue"),
    (lambda d: d["business_types"]["new"]["items"].append({"include": "nothing"}), "nothing"),
])
def test_loader_names_the_problem(tmp_path, mutate, message):
    with pytest.raises(ChecklistError, match=message):
        load_checklists(_broken(tmp_path, mutate))


# ----------------------------------------------------------------------------- the marts
E1 = make_uscc(1)


def _world(con, findings: list[dict], housing="lodging", spouse=True, child_birth=dt.date(2008, 1, 1)):
    create_contract_tables(con)
    holder = make_id("110105", dt.date(1990, 3, 7), 1, True)
    other = make_id("110105", dt.date(1991, 3, 7), 2, False)
    insert(con, "employers", [{"uscc": E1, "name": "海淀科技有限公司", "entity_type": "enterprise",
                               "district": "haidian", "established_on": dt.date(2010, 1, 1),
                               "registered_capital_cny": 5_000_000, "category": "high_tech",
                               "account_opened_on": dt.date(2011, 1, 1)}])
    insert(con, "persons", [good_person(holder, "张三", housing_type=housing),
                            good_person(other, "李四", housing_type="owned")])
    deps = [{"holder_id_number": holder, "id_number": make_id("110105", child_birth, 7, True), "relation": "child",
             "name": "张小"}]
    if spouse:
        deps.append({"holder_id_number": holder, "id_number": make_id("110105", dt.date(1992, 1, 1), 8, False),
                     "relation": "spouse", "name": "王五"})
    insert(con, "dependents", deps)
    insert(con, "applications", [
        {"application_id": "A-NEW", "type": "new", "id_number": holder, "uscc": E1, "status": "draft"},
        {"application_id": "A-NEW2", "type": "new", "id_number": other, "uscc": E1, "status": "returned"},
        {"application_id": "A-DONE", "type": "new", "id_number": other, "uscc": E1, "status": "approved"},
        {"application_id": "A-REISSUE", "type": "reissue", "id_number": other, "uscc": E1, "status": "draft",
         "permit_no": "P-1"}])
    insert(con, "findings", findings)
    prepare(con, AS_OF, PACKAGED_POLICY)
    build_all_checklists(con, AS_OF, {"defaults": {"child_proof_age": 16}})
    return holder, deps


def _states(con, app: str) -> dict[str, tuple[str, str | None]]:
    return {z: (s, r) for z, s, r in con.execute(
        "SELECT item_zh, state, rule_id FROM checklists WHERE application_id = ?", [app]).fetchall()}


def _item(states: dict, needle: str):
    hits = [v for k, v in states.items() if needle in k]
    assert len(hits) == 1, (needle, list(states))
    return hits[0]


def test_states_follow_the_findings_and_nothing_else():
    con = duckdb.connect()
    _world(con, [])
    clean = _states(con, "A-NEW")
    assert _item(clean, "借住亲友房屋") == ("ok", "ELIG-RESIDENCE")
    assert _item(clean, "《诚信声明》") == ("check", None)
    assert _item(clean, "个人所得税证明") == ("ok", "ELIG-CONTRIB-6M")
    # the same data with findings: the items those rules decide turn missing, naming the rule
    con = duckdb.connect()
    _world(con, [
        finding("ELIG-RESIDENCE", "error", "application", "A-NEW", E1, None, AS_OF, "申请 A-NEW:住所证明缺失。"),
        finding("DEP-SPOUSE-NO-CERT", "warning", "dependent", make_id("110105", dt.date(1992, 1, 1), 8, False),
                E1, None, AS_OF, "随往人员(配偶)缺少结婚证。"),
        finding("ELIG-CONTRIB-6M", "error", "application", "A-NEW2", E1, None, AS_OF, "申请 A-NEW2:缺缴。")])
    st = _states(con, "A-NEW")
    assert _item(st, "借住亲友房屋") == ("missing", "ELIG-RESIDENCE")
    assert _item(st, "结婚证书") == ("missing", "DEP-SPOUSE-NO-CERT")
    assert _item(st, "个人所得税证明") == ("ok", "ELIG-CONTRIB-6M")  # that finding is the other application's
    assert _item(_states(con, "A-NEW2"), "个人所得税证明") == ("missing", "ELIG-CONTRIB-6M")
    summary = dict(con.sql("SELECT application_id, complete FROM checklist_summary").fetchall())
    assert summary == {"A-NEW": False, "A-NEW2": False, "A-REISSUE": True}  # approved A-DONE is not open


def test_waived_findings_do_not_make_an_item_missing():
    con = duckdb.connect()
    holder, _ = _world(con, [])
    con.execute("ALTER TABLE findings ADD COLUMN IF NOT EXISTS waived BOOLEAN")
    insert(con, "findings", [finding("ELIG-EMPLOYER-AGE-1Y", "warning", "application", "A-NEW", E1, holder, AS_OF,
                                     "申请 A-NEW:单位成立未满一年。")])
    con.execute("UPDATE findings SET waived = true")
    build_all_checklists(con, AS_OF, {"defaults": {}})
    assert _item(_states(con, "A-NEW"), "注册成立满一年") == ("ok", "ELIG-EMPLOYER-AGE-1Y")
    con.execute("UPDATE findings SET waived = false")
    build_all_checklists(con, AS_OF, {"defaults": {}})
    assert _item(_states(con, "A-NEW"), "注册成立满一年") == ("missing", "ELIG-EMPLOYER-AGE-1Y")


def test_items_apply_only_when_their_condition_holds():
    con = duckdb.connect()
    _world(con, [])
    st = _states(con, "A-NEW")  # lodging, spouse, a child born 2008 (18 at as_of)
    assert not any("自有住房" in k or "租赁房屋" in k for k in st)
    assert any("结婚证书" in k for k in st) and any("学籍证明" in k for k in st)
    assert not any("二胎" in k for k in st)  # one child only
    applies = con.execute("SELECT applies, applies_en FROM checklists WHERE application_id = 'A-NEW' "
                          "AND item_zh LIKE '%借住亲友房屋%'").fetchall()
    assert applies == [("住所类型为借住亲友", "kind of home is Lodging")]
    other = _states(con, "A-NEW2")  # owned home, no dependents
    assert any("自有住房" in k for k in other) and not any("结婚证书" in k for k in other)
    con = duckdb.connect()
    _world(con, [], housing="rented", spouse=False, child_birth=dt.date(2015, 1, 1))
    st = _states(con, "A-NEW")
    assert any("租赁房屋" in k for k in st) and not any("借住" in k for k in st)
    assert not any("结婚证书" in k for k in st)
    assert not any("学籍证明" in k for k in st)  # the child is 11
    assert any("独生子女证" in k for k in st)


def test_rename_items_follow_the_permit_finding():
    con = duckdb.connect()
    _world(con, [])
    assert not any("单位名称变更后" in k for k in _states(con, "A-REISSUE"))
    con = duckdb.connect()
    _world(con, [finding("NC-NAME-CHANGE-REISSUE", "warning", "permit", "P-1", E1, None, AS_OF, "单位更名,需补办。")])
    renamed = _states(con, "A-REISSUE")
    assert sum("单位名称变更后" in k for k in renamed) == 7  # high_tech: the 高新证书 item too
    assert all(v == ("check", None) for k, v in renamed.items() if "单位名称变更后" in k)


def test_bureau_counts_and_comments():
    con = duckdb.connect()
    holder, _ = _world(con, [finding("ELIG-RESIDENCE", "error", "application", "A-NEW", E1, None, AS_OF, "x")])
    rows = con.sql("SELECT district, type, open_applications, complete, share_complete FROM bureau_checklists "
                   "ORDER BY type").fetchall()
    assert rows == [("haidian", "new", 2, 1, 0.5), ("haidian", "reissue", 1, 1, 1.0)]
    for t in ("checklists", "checklist_summary", "bureau_checklists"):
        (c,) = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = ?", [t]).fetchall()[0]
        assert re.search(r"[\u4e00-\u9fff]", c) and re.search("[A-Za-z]", c)
        for name, cc in con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?",
                                    [t]).fetchall():
            assert cc and re.search(r"[\u4e00-\u9fff]", cc), (t, name)
    href = con.sql("SELECT checklist_href FROM checklist_summary WHERE application_id = 'A-NEW'").fetchall()
    assert href == [("checklists/A-NEW.html",)]


def test_demo_every_application_finding_is_a_missing_item(demo_run):
    """On the demo run: for the business types whose checklist has rule-decided items, the
    missing items of an application are exactly its unwaived findings of those rules, and
    every application finding but the bureau's processing time (SLA-15WD) is on its checklist."""
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    missing = {(a, r) for a, r in con.sql("SELECT application_id, rule_id FROM checklists "
                                          "WHERE state = 'missing'").fetchall()}
    assert missing, "the demo data has failing applications"
    cols = {r[0] for r in con.sql("SELECT column_name FROM duckdb_columns() WHERE table_name = 'findings'").fetchall()}
    unwaived = "AND NOT coalesce(f.waived, false)" if "waived" in cols else ""  # v2: approved exceptions are ok
    found = {(a, r) for a, r in con.sql(
        f"""SELECT f.entity_key, f.rule_id FROM findings f JOIN checklist_summary s ON s.application_id = f.entity_key
            WHERE f.entity_type = 'application' AND f.rule_id <> 'SLA-15WD' {unwaived}""").fetchall()}
    assert found <= missing
    other = missing - found  # the rest come from the applicant's dependents or the permit
    assert {r for _, r in other} <= {"DEP-SPOUSE-NO-CERT", "DEP-CHILD16-NO-PROOF", "NC-NAME-CHANGE-REISSUE"}
    n_open = con.sql("SELECT count(*) FROM applications WHERE status IN ('draft', 'person_submitted', "
                     "'employer_submitted', 'under_review', 'returned')").fetchall()[0][0]
    assert con.sql("SELECT count(*) FROM checklist_summary").fetchall()[0][0] == n_open
    con.close()


def test_bureau_small_cells_cannot_be_worked_out(tmp_path):
    """Open, complete and incomplete counts each stay hidden below min_cell, and the
    hidden pattern leaves no hidden cell determined by the published ones and totals."""
    import numpy as np

    from reports.privacy import _lines, determined_cells
    from reports.site.checklist import bureau_checklists_data

    con = duckdb.connect()
    rows = [("haidian", "new", 7, 3), ("haidian", "renewal", 20, 12), ("haidian", "reissue", 9, 9),
            ("chaoyang", "new", 12, 6), ("chaoyang", "renewal", 30, 26), ("chaoyang", "reissue", 2, 1),
            ("dongcheng", "new", 15, 15), ("dongcheng", "renewal", 11, 5), ("dongcheng", "reissue", 6, 0)]
    con.execute("CREATE TABLE bureau_checklists (district VARCHAR, type VARCHAR, open_applications BIGINT, "
                "complete BIGINT)")
    con.executemany("INSERT INTO bureau_checklists VALUES (?, ?, ?, ?)", rows)
    out = bureau_checklists_data(con, 5)["rows"]
    raw = {(d, t): (n, k) for d, t, n, k in rows}
    zh = {"haidian": "海淀区", "chaoyang": "朝阳区", "dongcheng": "东城区"}
    tz = {"new": "新办", "renewal": "续签", "reissue": "证件补办"}
    published = {(d, t): (o, k) for d, t, o, k in zip(out["district_zh"], out["type_zh"], out["open_applications"],
                                                      out["complete"])}
    for (d, t), (n, k) in raw.items():
        o_pub, k_pub = published[(zh[d], tz[t])]
        if o_pub == "<5":
            assert k_pub == "<5"
            continue
        assert (o_pub, k_pub) == (n, k)
        for v in (n, k, n - k):  # nothing small is published, directly or as a difference
            assert v == 0 or v >= 5, (d, t, n, k)
    assert published[("朝阳区", "续签")][0] == "<5"  # 30 open, 26 complete: only the 4 incomplete are small
    assert published[("东城区", "新办")] == (15, 15)
    # the hidden pattern over the augmented 3 x 3 table (cells + totals) determines nothing
    order_d = sorted({d for d, _ in published if d != "全市"}, key=lambda d: out["district_zh"].index(d))
    order_t = sorted({t for _, t in published if t != "全部业务"}, key=lambda t: out["type_zh"].index(t))
    grid_d, grid_t = order_d + ["全市"], order_t + ["全部业务"]
    hidden = np.array([[published[(d, t)][0] == "<5" for t in grid_t] for d in grid_d])
    a, _ = _lines(len(order_d), len(order_t))
    assert hidden.any() and determined_cells(a, hidden.ravel()) == []


def test_child_age_condition_follows_the_rule_books_policy():
    """The 16-years item reads [child_proof_age] from the rule book's _policy table when it has it."""
    con = duckdb.connect()
    _world(con, [], child_birth=dt.date(2011, 1, 1))  # 15 at as_of
    assert not any("学籍证明" in k for k in _states(con, "A-NEW"))
    con.execute("ALTER TABLE _policy ADD COLUMN IF NOT EXISTS child_proof_age INTEGER")
    con.execute("UPDATE _policy SET child_proof_age = 15")
    build_all_checklists(con, AS_OF)
    assert _item(_states(con, "A-NEW"), "学籍证明") == ("ok", "DEP-CHILD16-NO-PROOF")
    assert "15周岁" in con.sql("SELECT applies FROM checklists WHERE item_zh LIKE '%学籍证明%'").fetchall()[0][0]
