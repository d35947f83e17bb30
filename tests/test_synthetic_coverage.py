"""Issue 15, item 3: the synthetic data covers every version-2 rule with at least
three injected defects, with realistic clean cases around them. Read from the
demo files and answer key (the session's ``demo_data``: generated once), the way
a reader of the folder would see them."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from pathlib import Path

import polars as pl
from stdnum.cn import ric

from csv_support import read_generated_csv as _rows
from core.contract import ENUMS
from pipelines.synthetic.v2 import UNREGISTERED

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO.parent / "shared" / "spec" / "rules.md"
# rules new in version 2 or changed by it (rules.md *(v2)*; issue 15, item 1)
V2_NEW = ["DQ-BAD-REF", "ELIG-WITHHOLDER", "ELIG-WORK-PERMIT", "RENEW-WITHHOLDER", "NC-WITHHOLDER",
          "NC-WORK-PERMIT-EXPIRED", "EXP-WORK-PERMIT-DUE", "XFER-DEFERRAL-ENDING", "WAIVER-UNUSED",
          "ELIG-EMPLOYER-AGE-1Y"]
V2_CHANGED = ["ELIG-CONTRIB-6M", "RENEW-CONTRIB-GAP", "NC-CONTRIB-GAP", "ELIG-EMPLOYER-CAPITAL", "ELIG-BRANCH-QUOTA",
              "EMP-BRANCH-QUOTA", "XFER-DEFERRAL-EXPIRED", "DQ-BAD-ID", "DQ-REQUIRED", "DQ-ORPHAN", "DEP-CHILD16-NO-PROOF"]
OPEN = {"draft", "person_submitted", "employer_submitted", "under_review", "returned"}



def _key(d: Path) -> list[dict]:
    return _rows(d / "expected_findings.csv")


def _code(enum: str, v: str) -> str:
    """An enum value as written (code or Chinese label) -> its code."""
    labels = {lb: code for code, lb in ENUMS[enum].items()}
    labels.update({part: code for code, lb in ENUMS[enum].items() for part in lb.split("/")})
    return labels.get(v, v)


def _date(v: str) -> dt.date | None:
    """The generator's date spellings: 2026-11-16, 2026/11/16, 2026.11.16, 2026年11月16日, 20261116."""
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", v or "") or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", v or "")
    try:
        return dt.date(*map(int, m.groups())) if m else None
    except ValueError:
        return None


def _norm(v: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", v or "")).upper()


def test_every_v2_rule_has_at_least_three_findings_in_the_demo_key(demo_data):
    counts = Counter(r["rule_id"] for r in _key(demo_data["dir"]))
    short = {r: counts.get(r, 0) for r in V2_NEW + V2_CHANGED if counts.get(r, 0) < 3}
    assert not short, f"v2 rules with fewer than three findings in the demo answer key: {short}"


def test_the_v2_list_names_every_rule_the_spec_marks():
    assert SPEC.is_file(), f"spec rules.md not found at {SPEC} (../shared/spec/ next to the repository)"
    marked = set(re.findall(r"^\|\s*([A-Z]+(?:-[A-Z0-9]+)+)[^\n]*\(v2\)", SPEC.read_text("utf-8"), flags=re.M))
    assert marked and marked <= set(V2_NEW + V2_CHANGED), marked - set(V2_NEW + V2_CHANGED)


def _persons(d: Path) -> list[dict]:
    out = []
    for name in ("persons.csv", "人员信息.csv"):
        for r in _rows(d / name):
            out.append({"id": _norm(r.get("id_number", r.get("证件号码"))),
                        "type": _code("id_type", r.get("id_type", r.get("证件类型")) or "resident_id")})
    return out


def test_other_identity_documents(demo_data):
    """About 2 % passport holders; Hong Kong / Macao / Taiwan and foreign permanent-resident numbers
    with valid check characters; at least three injected bad numbers of the other types, and three
    passport rows without birth date or gender."""
    d = demo_data["dir"]
    people = _persons(d)
    types = Counter(p["type"] for p in people)
    assert 0.015 <= types["passport"] / len(people) <= 0.03
    for typ in ("hk_mo_tw_residence", "foreign_permanent_resident"):
        valid = [p for p in people if p["type"] == typ and len(p["id"]) == 18 and ric.calc_check_digit(p["id"]) == p["id"][17]]
        assert len(valid) >= 3, typ
    written = _rows(d / "人员信息.csv")

    def doc_type(k: str) -> str:
        return _code("id_type", written[int(k.split(":")[1]) - 1]["证件类型"] or "resident_id")

    for rule, types in (("DQ-BAD-ID", {"passport", "hk_mo_tw_residence"}), ("DQ-REQUIRED", {"passport"})):
        keys = [r["entity_key"] for r in _key(d) if r["rule_id"] == rule and r["entity_key"].startswith("人员信息.csv:")]
        assert sum(doc_type(k) in types for k in keys) >= 3, rule


def test_agents_and_unregistered_payers(demo_data):
    """About 5 % of employers pay through a registered agent; some months are paid by an unregistered one."""
    d = demo_data["dir"]
    agents = {r["聘用单位代码"] for r in _rows(d / "代扣代缴单位.csv") if r["代扣代缴单位"]}
    assert 0.03 <= len(agents) / demo_data["counts"]["employers"] <= 0.08
    names = Counter(_norm(r["扣缴单位名称"]) for r in _rows(d / "个税社保_2026.csv"))
    registered = {_norm(r["代扣代缴单位"]) for r in _rows(d / "代扣代缴单位.csv")}
    assert sum(names[n] for n in registered) >= 100, "months paid by registered agents"
    assert _norm(UNREGISTERED) not in registered and names[_norm(UNREGISTERED)] >= 3, "months paid by an unregistered agency"


def test_transfers_during_a_holding_period_are_clean(demo_data):
    """At least three open renewals of holders who changed employer after their permit was issued
    (old row left, new row hired the next day, the permit at the new employer); none of them is a
    RENEW-WITHHOLDER finding although the old employer withheld the window's first months."""
    d = demo_data["dir"]
    jobs: dict[str, list] = {}
    for r in _rows(d / "employments.csv"):
        hired, left = _date(r["hired_on"]), _date(r["left_on"])
        if hired:
            jobs.setdefault(_norm(r["id_number"]), []).append((r["uscc"], hired, left))
    issued = dict(pl.read_parquet(d / "permits.parquet").select("permit_no", "issued_on").rows())
    issued.update({r["证件编号"]: _date(r["发证日期"]) for r in _rows(d / "工作居住证_补录.csv")})
    renewals = [r for r in _rows(d / "applications.csv")
                if _code("application_type", r["type"]) == "renewal" and _code("application_status", r["status"]) in OPEN]
    moved = []
    for r in renewals:
        rows = jobs.get(_norm(r["id_number"]), [])
        start = issued.get(r["permit_no"])
        cur = [j for j in rows if j[2] is None and j[0] == r["uscc"]]
        old = [j for j in rows if j[2] is not None and j[0] != r["uscc"]]
        if start and any(o[2] >= start and c[1] == o[2] + dt.timedelta(days=1) for o in old for c in cur):
            moved.append(r["application_id"])
    assert len(moved) >= 3
    flagged = {k["entity_key"] for k in _key(d) if k["rule_id"] == "RENEW-WITHHOLDER"}
    assert not flagged & set(moved)
