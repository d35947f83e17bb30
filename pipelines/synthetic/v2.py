"""Version-2 cases of the synthetic data (rules.md (v2)), laid over the logical tables the
builder made: foreign holders with passports and work permits, Hong Kong / Macao / Taiwan and
foreign permanent-resident ID numbers, employers paying through registered agents (some months
through an unregistered one), holders paid elsewhere, deferrals ending soon, and the waiver
register, and holders who changed employer during their permit's holding period (clean). Each
defect is a handful of rows next to many clean ones; the answer key finds them
from the tables (pipelines/synthetic/answer_key.py), so nothing here lists expected findings.

Deterministic: everything is drawn from ``rng`` in a fixed order.
"""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from core.contract import TABLE_LIST

from .dates import add_months
from .ids import make_usccs, ric_check_chars

NATIONALITIES = ["美国", "德国", "法国", "英国", "日本", "韩国", "加拿大", "澳大利亚", "新加坡", "意大利", "西班牙", "荷兰"]
AGENCIES = ["北京外企人力资源服务有限公司", "北京中智人力资源管理有限公司", "北京易才人力资源顾问有限公司",
            "北京科锐人才服务有限公司", "北京仕邦人力资源服务有限公司"]
UNREGISTERED = "北京某某劳务派遣有限公司"
PAID_ELSEWHERE = "北京别处科技发展有限公司"
# every column that names a person (the contract's references to persons), except the contribution
# stream's (remapped per chunk in ``mutate_contributions``)
ID_TABLE_COLS = {"persons": ["id_number"]} | {
    t.name: [c for c, ref in t.references if ref == "persons"] for t in TABLE_LIST
    if t.name != "contributions" and any(ref == "persons" for _, ref in t.references)}
OPEN = ["draft", "person_submitted", "employer_submitted", "under_review", "returned"]


def _mi(d) -> int:
    return d.year * 12 + d.month - 1


def _month(mi: int) -> dt.date:
    return dt.date(mi // 12, mi % 12 + 1, 1)


def _add_months(d: dt.date, n: int) -> dt.date:
    """The generator's add_months (dates.py) for one date."""
    return add_months(np.array([d], dtype="datetime64[D]"), n)[0].astype(object)


def _gb11643(prefix6: str, birth: dt.date, seq3: int) -> str:
    body = f"{prefix6}{birth:%Y%m%d}{seq3:03d}"
    digits = np.array([[int(c) for c in body]])
    return body + str(ric_check_chars(digits)[0])


@dataclass
class ContribChange:
    """Rows of one person (final id) in months lo..hi (month indexes), of one kind or both,
    get another withholder."""
    id_number: str
    lo: int
    hi: int
    uscc: str | None
    name: str | None
    kind: str | None = None


@dataclass
class V2Plan:
    remap: dict[str, str] = field(default_factory=dict)     # old id -> new id (passports, HK/MO/TW, foreign PR)
    changes: list[ContribChange] = field(default_factory=list)
    agent_switch: list[tuple[str, int, str | None, str | None, str | None]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _clean_people(t: dict[str, pl.DataFrame], scen_ids: set[str]) -> pl.DataFrame:
    """Active permit holders with one current employment at the permit's employer, no dependents,
    not part of any v1 scenario."""
    act = t["permits"].filter(pl.col("status") == "active")
    one = act.group_by("id_number").len().filter(pl.col("len") == 1)["id_number"]
    cur = t["employments"].filter(pl.col("left_on").is_null())
    deps = t["dependents"]["holder_id_number"].unique()
    return (act.filter(pl.col("id_number").is_in(one.implode()) & ~pl.col("id_number").is_in(deps.implode())
                       & ~pl.col("id_number").is_in(list(scen_ids)))
            .join(cur.select("id_number", "uscc", "hired_on"), on=["id_number", "uscc"], how="inner")
            .unique("id_number", keep="first").sort("id_number"))


def plan(t: dict[str, pl.DataFrame], ref: dt.date, rng: np.random.Generator, scen_ids: set[str]) -> V2Plan:
    """Change ``t`` in place (dict entries replaced) and return what the contribution stream must do.
    The steps draw from ``rng`` in this order."""
    p = V2Plan()
    holders = _clean_people(t, scen_ids)
    busy_apps = set(t["applications"].filter(pl.col("status").is_in(OPEN))["id_number"].to_list())
    quiet_holders = holders.filter(~pl.col("id_number").is_in(list(busy_apps)))
    pick = quiet_holders.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))["id_number"].to_list()
    rest, foreign_app = _other_documents(p, t, ref, rng, scen_ids, pick)
    agent_emps = _agents(p, t, ref, rng, holders)
    _paid_elsewhere(p, t, ref, holders, rest, agent_emps)
    _application_payers(p, t, ref, scen_ids, foreign_app)
    _deferrals_ending(p, t, ref, scen_ids)
    _transfers_in_holding_period(p, t, ref, scen_ids, agent_emps)
    return p


def _other_documents(pl_: V2Plan, t, ref, rng, scen_ids, pick) -> tuple[list[str], list[str]]:
    """Foreign nationals with passports (~2 %) and other 18-character documents (~1 %); every table
    that names a person is remapped. Returns (the quiet holders left over, the foreign applicants)."""
    persons, apps = t["persons"], t["applications"]
    n = persons.height
    n_f, n_hk, n_pr = max(12, round(0.02 * n)), max(6, round(0.008 * n)), max(3, round(0.003 * n))
    foreign, hk, fpr = pick[:n_f], pick[n_f:n_f + n_hk], pick[n_f + n_hk:n_f + n_hk + n_pr]
    rest = pick[n_f + n_hk + n_pr:]
    # foreigners with an open new / renewal / employer-change application: ELIG-WORK-PERMIT cases
    app_people = (apps.filter(pl.col("status").is_in(OPEN) & pl.col("type").is_in(["new", "renewal", "employer_change"]))
                  .filter(~pl.col("id_number").is_in(list(scen_ids)))["id_number"].unique().sort().to_list())
    dep_holders = set(t["dependents"]["holder_id_number"].to_list())  # once, not per person (city: quadratic)
    app_people = [p for p in app_people if p not in dep_holders]
    rng.shuffle(app_people)
    foreign_app = app_people[:max(6, round(0.01 * len(app_people)))]
    taken = set(persons["id_number"].to_list()) | set(t["dependents"]["id_number"].to_list())
    info = _passports(pl_, t, ref, rng, taken, foreign, foreign_app)
    info.update(_eighteen_character_ids(pl_, rng, taken, hk, fpr))
    rm = pl_.remap
    for table, cols in ID_TABLE_COLS.items():
        t[table] = t[table].with_columns(pl.col(c).replace(rm) for c in cols)
    ext = pl.DataFrame([{"id_number": k, **v} for k, v in info.items()],
                       schema={"id_number": pl.String, "id_type": pl.String, "nationality": pl.String,
                               "work_permit_no": pl.String, "work_permit_expires_on": pl.Date})
    t["persons"] = (t["persons"].join(ext, on="id_number", how="left")
                    .with_columns(pl.col("id_type").fill_null("resident_id")))
    pl_.counts.update(passport=len(foreign) + len(foreign_app), hk_mo_tw=len(hk), foreign_pr=len(fpr))
    return rest, foreign_app


def _passport_numbers(rng, taken: set):
    """Fresh passport numbers (a letter and 8 digits, or two letters and 7)."""
    while True:
        v = str(rng.choice(["E", "G", "P", "K", "C"])) + str(rng.integers(10_000_000, 99_999_999))
        if rng.random() < 0.3:
            v = str(rng.choice(["AB", "XD", "PA"])) + str(rng.integers(1_000_000, 9_999_999))
        if v not in taken:
            taken.add(v)
            yield v


def _work_permit_end(j: int, foreign_holder: bool, wpe, pexp, ref, rng):
    """The work permit's end for the j-th foreign holder / applicant (None: not on record)."""
    if foreign_holder:
        if j < 3:            # NC-WORK-PERMIT-EXPIRED: expired before as_of
            return ref - dt.timedelta(days=int(rng.integers(1, 90)))
        if j == 3:           # NC-WORK-PERMIT-EXPIRED: no expiry on record
            return None
        if j < 7:            # EXP-WORK-PERMIT-DUE: within 90 days, before the permit (as_of itself once)
            return ref + dt.timedelta(days=[0, 45, 90][j - 4])
        if j == 7:           # clean: 91 days ahead
            return ref + dt.timedelta(days=91)
        if j == 8:           # clean: ends on the same day as the permit (not first)
            return pexp
        return wpe
    if j < 2:                # ELIG-WORK-PERMIT: expired before the application date
        return ref - dt.timedelta(days=int(rng.integers(200, 400)))
    return wpe


def _passports(pl_: V2Plan, t, ref, rng, taken: set, foreign: list, foreign_app: list) -> dict[str, dict]:
    """Passports and work permits of the foreign holders and applicants (a clean work permit runs
    beyond the permit; the first few of each group break one v2 rule each)."""
    info: dict[str, dict] = {}
    numbers = _passport_numbers(rng, taken)
    expires = dict(zip(t["permits"]["id_number"].to_list(), t["permits"]["expires_on"].to_list()))
    for holder, group in ((True, foreign), (False, foreign_app)):
        for j, old in enumerate(group):
            new = next(numbers)
            pl_.remap[old] = new
            pexp = expires.get(old) or _add_months(ref, 24)
            wpe = pexp + dt.timedelta(days=int(rng.integers(30, 400)))    # clean: beyond the permit
            wpno = f"11000{int(rng.integers(10**12, 10**13 - 1))}"
            wpe = _work_permit_end(j, holder, wpe, pexp, ref, rng)
            if not holder and j == 2:   # ELIG-WORK-PERMIT: no work-permit number
                wpno = None
            info[new] = {"id_type": "passport", "nationality": str(rng.choice(NATIONALITIES)), "work_permit_no": wpno,
                         "work_permit_expires_on": wpe}
    return info


def _eighteen_character_ids(pl_: V2Plan, rng, taken: set, hk: list, fpr: list) -> dict[str, dict]:
    """Hong Kong / Macao / Taiwan residence permits and foreign permanent-resident cards: the same
    birth date and sequence, another prefix, a valid GB 11643 check character."""
    info: dict[str, dict] = {}
    hk_set = set(hk)
    for old in hk + fpr:
        birth = dt.date(int(old[6:10]), int(old[10:12]), int(old[12:14]))
        seq = int(old[14:17])
        if old in hk_set:
            prefix, typ = str(rng.choice(["810000", "820000", "830000"])), "hk_mo_tw_residence"
            nat = {"810000": "中国香港", "820000": "中国澳门", "830000": "中国台湾"}[prefix]
        else:
            prefix, typ, nat = "9" + str(rng.choice(["11", "31", "44"])) + str(rng.choice(["840", "276", "392"])), \
                "foreign_permanent_resident", str(rng.choice(NATIONALITIES))
        new = _gb11643(prefix, birth, seq)
        while new in taken:
            seq = (seq + 10) % 1000
            new = _gb11643(prefix, birth, seq)
        taken.add(new)
        pl_.remap[old] = new
        info[new] = {"id_type": typ, "nationality": nat, "work_permit_no": None, "work_permit_expires_on": None}
    return info


def _agents(pl_: V2Plan, t, ref, rng, holders) -> list[str]:
    """Employers paying through registered agents (~5 %: a quarter registered by name only, one in
    five for social insurance only, two thirds from a month on); the people of two of them paid by
    an unregistered agency in the two newest declared months. Returns the agent employers."""
    ref_m = _mi(ref)
    emp_with_holders = (holders.group_by("uscc").len().filter(pl.col("len").is_between(1, 8))
                        .sort("uscc")["uscc"].to_list())
    rng.shuffle(emp_with_holders)
    n_ag = max(4, round(0.05 * t["employers"].height))
    agent_emps = emp_with_holders[:n_ag]
    agent_usccs = [str(u) for u in make_usccs(rng, np.array([91] * len(AGENCIES)), np.array([110105] * len(AGENCIES)))]
    rows = []
    for i, e in enumerate(agent_emps):
        a = i % len(AGENCIES)
        by_name = i % 4 == 3                          # a quarter registered by name only
        kind = "social_insurance" if i % 5 == 1 else None
        vf = _month(ref_m - int(rng.integers(8, 30))) if i % 3 else None
        rows.append({"uscc": e, "agent_name": AGENCIES[a], "agent_uscc": None if by_name else agent_usccs[a],
                     "kind": kind, "valid_from": vf, "valid_to": None})
        # name-only agents are written as HR systems do: with a stray space (compared without whitespace)
        pl_.agent_switch.append((e, _mi(vf) if vf else -1, kind, None if by_name else agent_usccs[a],
                                 AGENCIES[a].replace("有限公司", " 有限公司") if by_name else AGENCIES[a]))
    t["withholding_agents"] = pl.DataFrame(rows, schema={"uscc": pl.String, "agent_name": pl.String,
                                                         "agent_uscc": pl.String, "kind": pl.String,
                                                         "valid_from": pl.Date, "valid_to": pl.Date})
    for e in agent_emps[:2]:
        for p in holders.filter(pl.col("uscc") == e)["id_number"].to_list():
            pl_.changes.append(ContribChange(pl_.remap.get(p, p), ref_m - 3, ref_m - 2, None, UNREGISTERED))
    pl_.counts["agent_employers"] = len(agent_emps)
    return agent_emps


def _paid_elsewhere(pl_: V2Plan, t, ref, holders, rest: list, agent_emps: list) -> None:
    """Holders paid by another employer for the last months (人在别处), and clean cases next to them
    whose other payer paid three years ago (outside every watched month)."""
    ref_m, rm = _mi(ref), pl_.remap
    emp_of = dict(zip(holders["id_number"].to_list(), holders["uscc"].to_list()))
    agent_set = set(agent_emps)
    elsewhere = list(itertools.islice((p for p in rest if emp_of[p] not in agent_set), 4))
    other = t["employers"]["uscc"][0]
    for p in elsewhere:
        pl_.changes.append(ContribChange(rm.get(p, p), ref_m - 4, ref_m - 2, other, None))
    for p in rest[4:6]:
        pl_.changes.append(ContribChange(rm.get(p, p), ref_m - 44, ref_m - 44, other, None))
    pl_.counts["paid_elsewhere"] = len(elsewhere)


def _application_payers(pl_: V2Plan, t, ref, scen_ids, foreign_app: list) -> None:
    """Open new / renewal applications with one month in the window paid by someone else."""
    oa = t["applications"].filter(pl.col("status").is_in(OPEN) & ~pl.col("id_number").is_in(list(scen_ids)))
    foreign_set = set(foreign_app)
    for typ, back in (("new", 4), ("renewal", 10)):
        cand = oa.filter(pl.col("type") == typ).sort("application_id")["id_number", "submitted_on"].rows()
        cand = [c for c in cand if c[0] not in foreign_set][:3]
        for pid, sub in cand:
            m = _mi(sub or ref) - 2 - (back % 5)
            pl_.changes.append(ContribChange(pid, m, m, None, PAID_ELSEWHERE, kind="income_tax"))


def _deferrals_ending(pl_: V2Plan, t, ref, scen_ids) -> None:
    """Deferred cancellations ending within 30 days whose new employer's transfer was rejected (the
    holder must file again before the period ends); the others nearby have one in hand. When too
    few end in the window, the next deferrals' dates are brought back so that E = as_of + 0 / 30."""
    pm = t["permits"]
    deferrals = (pm.filter((pl.col("status") == "deferred_cancellation") & ~pl.col("id_number").is_in(list(scen_ids))
                           & pl.col("deferred_on").is_not_null()).sort("permit_no"))
    dfr = [r for r in deferrals.iter_rows(named=True)
           if ref <= _add_months(r["deferred_on"], 6) <= ref + dt.timedelta(days=30)]
    rejected = [r["id_number"] for r in dfr[:3]]
    if len(rejected) < 3:
        later = [r for r in deferrals.iter_rows(named=True)
                 if ref + dt.timedelta(days=30) < _add_months(r["deferred_on"], 6) <= ref + dt.timedelta(days=120)]
        moved = {}
        for k, r in zip((0, 30), later[:3 - len(rejected)]):
            moved[r["permit_no"]] = _add_months(ref + dt.timedelta(days=k), -6)
            rejected.append(r["id_number"])
        t["permits"] = pm.with_columns(deferred_on=pl.col("permit_no").replace_strict(
            moved, default=pl.col("deferred_on"), return_dtype=pl.Date))
    a = t["applications"]
    hit = (pl.col("type") == "employer_change") & pl.col("id_number").is_in(rejected) & pl.col("status").is_in(OPEN)
    t["applications"] = a.with_columns(
        status=pl.when(hit).then(pl.lit("rejected")).otherwise("status"),
        decided_on=pl.when(hit).then(pl.col("submitted_on") + pl.duration(days=9)).otherwise("decided_on"),
        return_reason=pl.when(hit).then(pl.lit("新单位注册资本不足,转入未获批准")).otherwise("return_reason"))
    pl_.counts["deferrals_ending"] = len(rejected)


def _transfers_in_holding_period(pl_: V2Plan, t, ref, scen_ids, agent_emps: list) -> None:
    """Holders who changed employer during their permit's holding period (the permit moved with
    them): the renewal window's first months are withheld by the old employer, which was their
    employer then -- proper (rules.md: a transfer during the holding period is fine). Clean cases
    next to RENEW-WITHHOLDER: three open renewals, no finding."""
    changed = {c.id_number for c in pl_.changes}
    empl = t["employments"]
    one_job = empl.group_by("id_number").len().filter(pl.col("len") == 1)["id_number"]
    permits = t["permits"].filter(pl.col("status") == "active").select("permit_no", "issued_on")
    cand = (t["applications"].filter((pl.col("type") == "renewal") & pl.col("status").is_in(OPEN)
                                     & ~pl.col("id_number").is_in(list(scen_ids | changed))
                                     & ~pl.col("uscc").is_in(agent_emps) & pl.col("id_number").is_in(one_job.implode()))
            .join(permits, on="permit_no").join(empl.filter(pl.col("left_on").is_null()), on=["id_number", "uscc"])
            .filter(pl.col("hired_on") < pl.col("issued_on") - pl.duration(days=60))
            .sort("application_id").head(3))
    employers = t["employers"].filter(pl.col("entity_type") == "enterprise").sort("uscc")
    agent_set = set(agent_emps)
    olds = [u for u in employers["uscc"].to_list() if u not in agent_set]
    names = dict(employers.select("uscc", "name").rows())
    moved, rows = {}, []
    for i, r in enumerate(cand.iter_rows(named=True)):
        old = next(u for u in olds[i:] if u != r["uscc"])
        left = _add_months(r["issued_on"].replace(day=1), 6) - dt.timedelta(days=1)   # the 6th month's last day
        moved[r["id_number"]] = left + dt.timedelta(days=1)
        rows.append({"id_number": r["id_number"], "uscc": old, "hired_on": r["hired_on"], "contract_end_on": left,
                     "left_on": left})
        pl_.changes.append(ContribChange(r["id_number"], _mi(r["hired_on"]), _mi(left), old, names[old]))
    hit = pl.col("id_number").is_in(list(moved)) & pl.col("left_on").is_null()
    t["employments"] = pl.concat([
        empl.with_columns(hired_on=pl.when(hit).then(pl.col("id_number").replace_strict(
            moved, default=None, return_dtype=pl.Date)).otherwise("hired_on")),
        pl.DataFrame(rows, schema=empl.select("id_number", "uscc", "hired_on", "contract_end_on", "left_on").schema)
        .select(empl.columns)]).sort("id_number", "hired_on")
    pl_.counts["holding_period_transfers"] = len(rows)


def mutate_contributions(c: pl.DataFrame, p: V2Plan) -> pl.DataFrame:
    """Apply the plan to one chunk of contribution rows (ids remapped, agents and other payers)."""
    if p.remap:
        c = c.with_columns(pl.col("id_number").replace(p.remap))
    mi = pl.col("month").dt.year().cast(pl.Int32) * 12 + pl.col("month").dt.month().cast(pl.Int32) - 1
    if p.agent_switch:   # one join for every agent employer (one agent row each)
        ag = pl.DataFrame(p.agent_switch, schema={"_e": pl.String, "_vf": pl.Int32, "_kind": pl.String,
                                                  "_au": pl.String, "_an": pl.String}, orient="row")
        c = c.join(ag, left_on="withholder_uscc", right_on="_e", how="left", maintain_order="left")
        hit = (pl.col("_vf").is_not_null() & (mi >= pl.col("_vf"))
               & (pl.col("_kind").is_null() | (pl.col("_kind") == pl.col("kind"))))
        c = c.with_columns(withholder_name=pl.when(hit).then(pl.col("_an")).otherwise("withholder_name"),
                           withholder_uscc=pl.when(hit).then(pl.col("_au")).otherwise("withholder_uscc")
                           ).drop("_vf", "_kind", "_au", "_an")
    ids = set(c["id_number"].unique().to_list())
    for ch in p.changes:
        if ch.id_number not in ids:
            continue
        hit = (pl.col("id_number") == ch.id_number) & (mi >= ch.lo) & (mi <= ch.hi)
        if ch.kind:
            hit = hit & (pl.col("kind") == ch.kind)
        c = c.with_columns(withholder_uscc=pl.when(hit).then(pl.lit(ch.uscc, dtype=pl.String)).otherwise("withholder_uscc"),
                           withholder_name=pl.when(hit).then(pl.lit(ch.name, dtype=pl.String)).otherwise("withholder_name"))
    return c


def waivers(key: pl.DataFrame, t: dict[str, pl.DataFrame], ref: dt.date) -> pl.DataFrame:
    """The waiver register: approved exceptions on 原则上 findings (in force, one expiring on as_of),
    one expired the day before, one not yet approved, and waivers whose condition is gone."""
    def pick(rule: str, n: int) -> list[str]:
        return key.filter(pl.col("rule_id") == rule).sort("entity_key")["entity_key"].to_list()[:n]

    rows = []

    def add(rule, k, reason, by, approved, expires=None):
        rows.append({"rule_id": rule, "entity_key": k, "reason": reason, "approved_by": by, "approved_on": approved,
                     "expires_on": expires})

    y1 = pick("ELIG-EMPLOYER-AGE-1Y", 3)
    for i, k in enumerate(y1):
        exp = [None, ref, ref - dt.timedelta(days=1)][i]     # in force, in force on its last day, expired
        add("ELIG-EMPLOYER-AGE-1Y", k, "新设立的重点产业研发机构,经审核同意", "海淀区人才服务中心", ref - dt.timedelta(days=60), exp)
    for k in pick("EMP-BRANCH-QUOTA", 1):
        add("EMP-BRANCH-QUOTA", k, "跨国公司在京分支机构,业务需要增加名额", "市人才服务中心", ref - dt.timedelta(days=200))
    for k in pick("ELIG-BRANCH-QUOTA", 1):
        add("ELIG-BRANCH-QUOTA", k, "同意第六张工作居住证", "市人才服务中心", ref + dt.timedelta(days=1))   # not yet approved
    # conditions gone: an enterprise (no branch quota), an employer without findings, a permit now fine
    found = set(key.filter(pl.col("rule_id") == "EMP-BRANCH-QUOTA")["entity_key"].to_list())
    ents = [u for u in t["employers"].filter(pl.col("entity_type") == "enterprise").sort("uscc")["uscc"].to_list()
            if u not in found][:2]
    for u in ents:
        add("EMP-BRANCH-QUOTA", u, "曾为分支机构,已批准超额", "市人才服务中心", ref - dt.timedelta(days=400))
    nc = set(key.filter(pl.col("rule_id") == "NC-INSPECTION-OVERDUE")["entity_key"].to_list())
    ok = [p for p in t["permits"].filter(pl.col("status") == "active").sort("permit_no")["permit_no"].to_list()
          if p not in nc][:1]
    for p in ok:
        add("NC-INSPECTION-OVERDUE", p, "持证人长期外派,年检延后", "朝阳区人才服务中心", ref - dt.timedelta(days=90),
            ref + dt.timedelta(days=180))
    return pl.DataFrame(rows, schema={"rule_id": pl.String, "entity_key": pl.String, "reason": pl.String,
                                      "approved_by": pl.String, "approved_on": pl.Date, "expires_on": pl.Date})
