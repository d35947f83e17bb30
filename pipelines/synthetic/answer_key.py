"""The answer key: the generator's own, independent reading of rules.md,
evaluated on the logical (loaded) tables. It produces every non-ingest finding
the rule book should report on the generated data; the tests compare the
pipeline's ``findings`` with it row by row (tests/test_answer_key.py).

Why it is a second copy of the rules (issue 14, item 3): this module is the
oracle the rule book is checked against, and an oracle must not share code
with what it checks -- a mistake in a shared helper would be made twice and
the comparison would still agree. So it is written from the spec alone and
imports nothing of the rule engine or its helpers: not ``expectations/`` (rule
YAML, SQL views and macros), not ``assets/`` (ingest, marts), not ``core/``
(month arithmetic, calendar, policy loader). Its date arithmetic is its own
(``polars`` month offsets here, ``pipelines/synthetic/dates.py`` for working
days). This is the one deliberate exception to "say each thing once"; the
non-oracle parts of the generator (file formats, header aliases, enum labels)
take their facts from ``core/`` instead (see ``writer.py``).

Parameters are the defaults of rules.md (the packaged policy has no district
overrides); they are passed in as a dict so a test can vary them.

Version 2 of the rule book (the lag L, withholders, work permits, deferrals
ending, waivers) is read here a second time as well (``withholder_findings``
and ``apply_waivers`` below are the v2 parts that need more than the tables).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .dates import working_days_between

DEFAULTS = {
    "min_capital_cny": 1_000_000, "branch_quota": 5, "max_age_male": 60, "max_age_female": 55,
    "min_achievement_chars": 200, "photo_formats": ["jpg", "jpeg"], "photo_max_bytes": 204_800,
    "photo_min_width": 295, "photo_min_height": 413, "contribution_kinds": ["income_tax", "social_insurance"],
    "expiry_notice_days": 90, "annual_inspection": True, "sla_working_days": 15,
    # v2
    "contribution_lag_months": 2, "renewal_window_months": 1, "employer_age_months": 12,
    "capital_entity_types": ["enterprise"], "tenure_months": 6, "talent_work_months": 24,
    "new_contribution_months": 6, "renewal_contribution_months": 36, "work_gap_months": 2,
    "contract_margin_months": 6, "deferral_months": 6, "deferral_notice_days": 30, "child_proof_age": 16,
    "inspection_cycle_months": 12, "work_permit_notice_days": 90, "withholder_watch_months": 3,
}
OPEN = ["draft", "person_submitted", "employer_submitted", "under_review", "returned"]
BRANCHES = ["foreign_branch", "domestic_branch"]


def _am(e: pl.Expr, n: int) -> pl.Expr:
    """add_months (polars clamps to the month's last day, as rules.md requires)."""
    return e.dt.offset_by(f"{n}mo")


def _mi(e: pl.Expr) -> pl.Expr:
    """Month index of a date: year * 12 + month - 1."""
    return e.dt.year().cast(pl.Int32) * 12 + e.dt.month().cast(pl.Int32) - 1


def covered_months(contributions: pl.DataFrame, kinds=DEFAULTS["contribution_kinds"]) -> pl.DataFrame:
    """(id_number, m) for every month with a row of each kind."""
    return (contributions.filter(pl.col("kind").is_in(kinds))
            .select("id_number", m=_mi(pl.col("month")), kind="kind").unique()
            .group_by("id_number", "m").agg(pl.len().alias("n")).filter(pl.col("n") == len(kinds))
            .select("id_number", "m"))


def covered_months_indexed(contributions: pl.DataFrame, kinds=DEFAULTS["contribution_kinds"]) -> pl.DataFrame:
    """As covered_months, keyed by the integer person index `pi`; counted with numpy
    (rows are unique per person, month and kind by construction -- a test checks it)."""
    k = contributions.filter(pl.col("kind").is_in(kinds))
    if k.height == 0:
        return pl.DataFrame({"pi": [], "m": []}, schema={"pi": pl.Int32, "m": pl.Int32})
    pi = k["pi"].to_numpy().astype(np.int64)
    m = k["month"].to_numpy().astype("datetime64[M]").astype(np.int64) + 1970 * 12
    p0, m0 = pi.min(), m.min()
    span = int(m.max() - m0 + 1)
    counts = np.bincount((pi - p0) * span + (m - m0))
    code = np.nonzero(counts == len(kinds))[0]
    return pl.DataFrame({"pi": (code // span + p0).astype(np.int32), "m": (code % span + m0).astype(np.int32)})


def _uncovered(req: pl.DataFrame, covered: pl.DataFrame) -> pl.DataFrame:
    """req(key, id_number[, pi], a, b) month-index ranges -> keys with at least one uncovered month."""
    req = req.filter(pl.col("b") >= pl.col("a"))
    on = "pi" if "pi" in covered.columns else "id_number"
    hits = (req.join(covered, on=on, how="inner")
            .filter((pl.col("m") >= pl.col("a")) & (pl.col("m") <= pl.col("b")))
            .group_by("key").agg(pl.col("m").n_unique().alias("hit")))
    return (req.join(hits, on="key", how="left")
            .filter(pl.col("hit").fill_null(0) < pl.col("b") - pl.col("a") + 1).select("key"))


def _id_birth_gender(col: str = "id_number") -> list[pl.Expr]:
    return [pl.col(col).str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias("_birth"),
            (pl.col(col).str.slice(16, 1).cast(pl.Int32, strict=False) % 2 == 1).alias("_male")]


def _person_birth_gender() -> list[pl.Expr]:
    """v2: from the number for the 18-character document types, from the columns for passports."""
    pas = pl.col("id_type").fill_null("resident_id") == "passport"
    return [pl.when(pas).then(pl.col("p_birth_date"))
            .otherwise(pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False)).alias("_birth"),
            pl.when(pas).then(pl.col("p_gender") == "M")
            .otherwise(pl.col("id_number").str.slice(16, 1).cast(pl.Int32, strict=False) % 2 == 1).alias("_male")]


def _age(birth: pl.Expr, at: pl.Expr) -> pl.Expr:
    # dt.month()/dt.day() are Int8: widen before arithmetic (Int8 * 100 wraps around)
    md = lambda e: e.dt.month().cast(pl.Int32) * 100 + e.dt.day().cast(pl.Int32)  # noqa: E731
    before = md(at) < md(birth)
    return at.dt.year().cast(pl.Int32) - birth.dt.year().cast(pl.Int32) - before.cast(pl.Int32)


def _nonspace_len(e: pl.Expr) -> pl.Expr:
    return e.fill_null("").str.replace_all(r"\s", "").str.len_chars()


@dataclass
class _Facts:
    """What the rule sections share: the policy, as_of, the tables and the open applications."""
    pol: dict
    A: pl.Expr
    L: int
    RW: int
    covered: pl.DataFrame
    emp: pl.DataFrame
    per: pl.DataFrame
    empl: pl.DataFrame
    pidx: pl.DataFrame
    permits: pl.DataFrame
    apps: pl.DataFrame
    deps: pl.DataFrame
    wh: pl.DataFrame
    edu: pl.DataFrame
    active: pl.DataFrame
    active_by_emp: pl.DataFrame
    oa: pl.DataFrame
    out: list = field(default_factory=list)

    def add(self, rule, keys: pl.Series | pl.DataFrame):
        s = keys.to_series() if isinstance(keys, pl.DataFrame) else keys
        self.out.append(pl.DataFrame({"rule_id": [rule] * len(s), "entity_key": s.cast(pl.String)}))


def evaluate(t: dict[str, pl.DataFrame], as_of: dt.date, covered: pl.DataFrame | None = None,
             policy: dict | None = None) -> pl.DataFrame:
    """All non-ingest findings: DataFrame(rule_id, entity_key)."""
    f = _facts(t, as_of, covered, policy)
    _new_application_rules(f)
    _other_application_rules(f)
    ap = _permit_rules(f)
    _work_permit_rules(f, ap)
    _employer_rules(f)
    _people_rules(f)
    _sla_rule(f)
    return pl.concat(f.out).unique().sort("rule_id", "entity_key")


def _facts(t: dict[str, pl.DataFrame], as_of: dt.date, covered: pl.DataFrame | None, policy: dict | None) -> _Facts:
    """Defaults for the v2 person columns, covered months, active permits and the open applications
    joined to their employer and person."""
    pol = {**DEFAULTS, **(policy or {})}
    A = pl.lit(as_of)
    L = pol["contribution_lag_months"]
    RW = pol["renewal_window_months"]
    per0 = t["persons"]
    for c, v in (("id_type", "resident_id"), ("work_permit_no", None), ("work_permit_expires_on", None)):
        if c not in per0.columns:
            per0 = per0.with_columns(pl.lit(v, dtype=pl.Date if c.endswith("_on") else pl.String).alias(c))
    t = {**t, "persons": per0}
    if covered is None:
        covered = covered_months(t["contributions"], pol["contribution_kinds"])
    emp, per, empl = t["employers"], t["persons"], t["employments"]
    pidx = per.select("id_number").with_row_index("pi").with_columns(pl.col("pi").cast(pl.Int32))
    permits, apps, deps, wh, edu = t["permits"], t["applications"], t["dependents"], t["work_history"], t["education_history"]
    active = permits.filter(pl.col("status") == "active")
    active_by_emp = active.group_by("uscc").agg(pl.len().alias("n_active"))
    oa = (apps.filter(pl.col("status").is_in(OPEN))
          .with_columns(d=pl.coalesce("submitted_on", A))
          .join(emp.rename(lambda c: "e_" + c if c != "uscc" else c), on="uscc", how="left")
          .join(per.select("id_number", "highest_degree", "degree_study_mode", "graduation_date", "title_level",
                           "special_talent", "work_start_date", "housing_type", "housing_proof", "achievements",
                           "photo_format", "photo_bytes", "photo_width", "photo_height", "id_type", "work_permit_no",
                           "work_permit_expires_on", p_birth_date="birth_date", p_gender="gender"),
                on="id_number", how="left")
          .join(active_by_emp, on="uscc", how="left")
          .with_columns(pl.col("n_active").fill_null(0), *_person_birth_gender()))
    return _Facts(pol, A, L, RW, covered, emp, per, empl, pidx, permits, apps, deps, wh, edu, active, active_by_emp, oa)


def _new_application_rules(f: _Facts) -> None:
    """rules.md § New applications (ELIG-*), on open `new` / `employer_change` applications."""
    pol, L, covered, empl, pidx, wh, edu, active, oa = f.pol, f.L, f.covered, f.empl, f.pidx, f.wh, f.edu, f.active, f.oa
    new = oa.filter(pl.col("type") == "new")
    nec = oa.filter(pl.col("type").is_in(["new", "employer_change"]))
    f.add("ELIG-EMPLOYER-NOT-OPENED", nec.filter(pl.col("e_account_opened_on").is_null() | (pl.col("e_account_opened_on") > pl.col("d")))["application_id"])
    f.add("ELIG-EMPLOYER-AGE-1Y", new.filter(_am(pl.col("e_established_on"), pol["employer_age_months"]) > pl.col("d"))["application_id"])
    f.add("ELIG-EMPLOYER-CAPITAL", nec.filter(pl.col("e_entity_type").is_in(pol["capital_entity_types"]) & (
        pl.col("e_registered_capital_cny").is_null()
        | (pl.col("e_registered_capital_cny") < pol["min_capital_cny"])))["application_id"])
    f.add("ELIG-BRANCH-QUOTA", new.filter(pl.col("e_entity_type").is_in(BRANCHES) & (pl.col("n_active") >= pol["branch_quota"]))["application_id"])
    talent = ((pl.col("highest_degree").is_in(["bachelor", "master", "doctor"]) & pl.col("work_start_date").is_not_null()
               & (_am(pl.col("work_start_date"), pol["talent_work_months"]) <= pl.col("d")))
              | pl.col("title_level").is_in(["intermediate", "associate_senior", "senior"])
              | pl.col("special_talent").fill_null(False))
    f.add("ELIG-TALENT", new.filter(~talent.fill_null(False))["application_id"])
    ten = (new.select("application_id", "id_number", "uscc", "d").join(empl, on=["id_number", "uscc"], how="inner")
           .filter((_am(pl.col("hired_on"), pol["tenure_months"]) <= pl.col("d")) & (pl.col("left_on").is_null() | (pl.col("left_on") > pl.col("d"))))
           ["application_id"].unique())
    f.add("ELIG-TENURE-6M", new.filter(~pl.col("application_id").is_in(ten.implode()))["application_id"])
    age = _age(pl.col("_birth"), pl.col("d"))
    f.add("ELIG-AGE-LIMIT", new.filter((pl.col("_male") & (age > pol["max_age_male"]))
                                     | (~pl.col("_male") & (age > pol["max_age_female"])))["application_id"])
    f.add("ELIG-RESIDENCE", new.filter(pl.col("housing_type").is_null() | (pl.col("housing_type") == "none")
                                     | ~pl.col("housing_proof").fill_null(False))["application_id"])
    req = new.select(key="application_id", id_number="id_number",
                     a=_mi(pl.col("d")) - L - pol["new_contribution_months"] + 1, b=_mi(pl.col("d")) - L)
    f.add("ELIG-CONTRIB-6M", _uncovered(req.join(pidx, on="id_number", how="left"), covered))
    f.add("ELIG-WORK-BEFORE-GRAD", new.filter((pl.col("degree_study_mode") == "full_time") & pl.col("work_start_date").is_not_null()
                                            & pl.col("graduation_date").is_not_null()
                                            & (pl.col("work_start_date") <= pl.col("graduation_date")))["application_id"])
    # work-history gaps
    w = (new.select("application_id", "id_number", "d").join(wh.select("id_number", "start_on", "end_on"), on="id_number", how="inner")
         .with_columns(end=pl.coalesce("end_on", "d")).sort("application_id", "start_on", "end")
         .with_columns(prev_max=pl.col("end").cum_max().shift(1).over("application_id")))
    gm = pol["work_gap_months"]
    gap_inner = w.filter(pl.col("prev_max").is_not_null() & (pl.col("start_on") > _am(pl.col("prev_max"), gm)))["application_id"]
    last = w.group_by("application_id").agg(pl.col("end").max(), pl.col("d").first())
    gap_final = last.filter(pl.col("d") > _am(pl.col("end"), gm))["application_id"]
    no_rows = new.filter(~pl.col("application_id").is_in(w["application_id"].unique().implode()))["application_id"]
    f.add("ELIG-WORK-GAP-2M", pl.concat([gap_inner, gap_final, no_rows]).unique())
    first_edu = (edu.sort("id_number", "start_on").group_by("id_number", maintain_order=True).agg(pl.col("level").first()))
    e1 = new.join(first_edu, on="id_number", how="left")
    f.add("ELIG-EDU-NO-HIGH-SCHOOL", e1.filter(~pl.col("level").is_in(["high_school", "secondary_vocational"]).fill_null(False))["application_id"])
    f.add("ELIG-ACHIEVEMENT-200", new.filter(_nonspace_len(pl.col("achievements")) < pol["min_achievement_chars"])["application_id"])
    photo_ok = (pl.col("photo_format").str.to_lowercase().is_in(pol["photo_formats"])
                & (pl.col("photo_bytes") <= pol["photo_max_bytes"]) & (pl.col("photo_width") >= pol["photo_min_width"])
                & (pl.col("photo_height") >= pol["photo_min_height"]))
    f.add("ELIG-PHOTO", new.filter(~photo_ok.fill_null(False))["application_id"])
    f.add("ELIG-DUP-REGISTRATION", new.filter(pl.col("id_number").is_in(active["id_number"].implode()))["application_id"])



def _other_application_rules(f: _Facts) -> None:
    """rules.md § Other applications: renewals, employer changes, reissues."""
    pol, L, RW, covered, empl, pidx, permits, active, oa = f.pol, f.L, f.RW, f.covered, f.empl, f.pidx, f.permits, f.active, f.oa
    # other open applications
    ren = oa.filter(pl.col("type") == "renewal").join(
        permits.select("permit_no", p_issued="issued_on", p_expires="expires_on"), on="permit_no", how="left")
    f.add("RENEW-OUTSIDE-WINDOW", ren.filter((pl.col("d") < _am(pl.col("p_expires"), -RW)) | (pl.col("d") > _am(pl.col("p_expires"), RW)))["application_id"])
    req = ren.filter(pl.col("p_issued").is_not_null()).select(
        key="application_id", id_number="id_number",
        a=pl.max_horizontal(_mi(pl.col("p_issued")), _mi(pl.col("d")) - L - pol["renewal_contribution_months"] + 1),
        b=_mi(pl.col("d")) - L)
    f.add("RENEW-CONTRIB-GAP", _uncovered(req.join(pidx, on="id_number", how="left"), covered))
    f.add("RENEW-ACHIEVEMENT-200", ren.filter(_nonspace_len(pl.col("achievements")) < pol["min_achievement_chars"])["application_id"])
    short = (ren.select("application_id", "id_number", "uscc", "d").join(empl.filter(pl.col("left_on").is_null()), on=["id_number", "uscc"])
             .filter(pl.col("contract_end_on") < _am(pl.col("d"), pol["contract_margin_months"]))["application_id"].unique())
    f.add("RENEW-CONTRACT-SHORT", short)
    xf = oa.filter(pl.col("type") == "employer_change").select("application_id", "id_number", "uscc").join(
        active.select("id_number", a_uscc="uscc"), on="id_number").filter(pl.col("a_uscc") != pl.col("uscc"))
    f.add("XFER-OLD-NOT-CANCELLED", xf["application_id"].unique())
    rs = oa.filter(pl.col("type") == "reissue").join(permits.select("permit_no", p_sha="photo_sha256"), on="permit_no", how="left")
    f.add("REISSUE-PHOTO-MISMATCH", rs.filter(pl.col("photo_sha256").is_not_null() & pl.col("p_sha").is_not_null()
                                            & (pl.col("photo_sha256") != pl.col("p_sha")))["application_id"])



def _permit_rules(f: _Facts) -> pl.DataFrame:
    """rules.md § Permits: expiry, leaving, contributions, inspections, name changes, deferrals. Returns the active permits with their window."""
    pol, A, L, RW, covered = f.pol, f.A, f.L, f.RW, f.covered
    emp, empl, pidx, permits, apps, active = f.emp, f.empl, f.pidx, f.permits, f.apps, f.active
    # permits
    ap = active.with_columns(W0=_am(pl.col("expires_on"), -RW), W1=_am(pl.col("expires_on"), RW))
    in_hand = (apps.filter((pl.col("type") == "renewal") & pl.col("status").is_in(OPEN + ["approved"]))
               .join(ap.select("permit_no", "W0"), on="permit_no").filter(pl.col("submitted_on") >= pl.col("W0"))["permit_no"].unique())
    ap = ap.with_columns(in_hand=pl.col("permit_no").is_in(in_hand.implode()))
    f.add("EXP-DUE-90", ap.filter((A < pl.col("W0")) & (pl.col("expires_on") <= A + pl.duration(days=pol["expiry_notice_days"])))["permit_no"])
    f.add("EXP-WINDOW-OPEN", ap.filter((pl.col("W0") <= A) & (A <= pl.col("W1")) & ~pl.col("in_hand"))["permit_no"])
    f.add("EXP-LAPSED", ap.filter((A > pl.col("W1")) & ~pl.col("in_hand"))["permit_no"])
    pe = ap.select("permit_no", "id_number", "uscc").join(empl, on=["id_number", "uscc"], how="inner")
    left = pe.filter(pl.col("left_on") <= A)["permit_no"].unique()
    still = pe.filter(pl.col("left_on").is_null())["permit_no"].unique()
    f.add("NC-LEFT-NOT-CANCELLED", left.filter(~left.is_in(still.implode())))
    req = ap.select(key="permit_no", id_number="id_number",
                    a=pl.max_horizontal(_mi(pl.col("issued_on")), _mi(A) - L - pol["renewal_contribution_months"] + 1),
                    b=_mi(A) - L)
    f.add("NC-CONTRIB-GAP", _uncovered(req.join(pidx, on="id_number", how="left"), covered))
    if pol["annual_inspection"]:
        f.add("NC-INSPECTION-OVERDUE", ap.filter(_am(pl.coalesce("last_inspection_on", "issued_on"), pol["inspection_cycle_months"]) < A)["permit_no"])
    nm = ap.join(emp.select("uscc", "name_changed_on"), on="uscc").filter(
        (pl.col("name_changed_on") <= A) & (pl.col("issued_on") < pl.col("name_changed_on")))
    done = (apps.filter((pl.col("type") == "reissue") & (pl.col("status") == "approved"))
            .join(nm.select("permit_no", "name_changed_on"), on="permit_no")
            .filter(pl.col("decided_on") >= pl.col("name_changed_on"))["permit_no"].unique())
    f.add("NC-NAME-CHANGE-REISSUE", nm.filter(~pl.col("permit_no").is_in(done.implode()))["permit_no"])
    dfr = permits.filter(pl.col("status") == "deferred_cancellation").with_columns(
        E=_am(pl.col("deferred_on"), pol["deferral_months"]))
    f.add("XFER-DEFERRAL-EXPIRED", dfr.filter(pl.col("E") < A)["permit_no"])
    xfer_filed = (dfr.select("permit_no", "id_number", "deferred_on")
                  .join(apps.filter((pl.col("type") == "employer_change") & pl.col("status").is_in(OPEN + ["approved"]))
                        .select("id_number", "submitted_on"), on="id_number")
                  .filter(pl.col("submitted_on") >= pl.col("deferred_on"))["permit_no"].unique())
    f.add("XFER-DEFERRAL-ENDING", dfr.filter((A <= pl.col("E")) & (pl.col("E") <= A + pl.duration(days=pol["deferral_notice_days"]))
                                           & ~pl.col("permit_no").is_in(xfer_filed.implode()))["permit_no"])
    return ap


def _work_permit_rules(f: _Facts, ap: pl.DataFrame) -> None:
    """v2: foreign nationals (passport holders) and their work permits."""
    pol, A, oa = f.pol, f.A, f.oa
    # v2: foreign nationals (passport holders) and their work permits
    fp = f.per.filter(pl.col("id_type") == "passport").select("id_number", "work_permit_no", wpe="work_permit_expires_on")
    wpa = oa.filter(pl.col("type").is_in(["new", "renewal", "employer_change"]) & (pl.col("id_type") == "passport"))
    f.add("ELIG-WORK-PERMIT", wpa.filter(pl.col("work_permit_no").fill_null("").str.strip_chars().eq("")
                                       | pl.col("work_permit_expires_on").is_null()
                                       | (pl.col("work_permit_expires_on") < pl.col("d")))["application_id"])
    fa = ap.join(fp, on="id_number", how="inner")
    f.add("NC-WORK-PERMIT-EXPIRED", fa.filter(pl.col("wpe").is_null() | (pl.col("wpe") < A))["permit_no"])
    f.add("EXP-WORK-PERMIT-DUE", fa.filter((A <= pl.col("wpe")) & (pl.col("wpe") <= A + pl.duration(days=pol["work_permit_notice_days"]))
                                         & (pl.col("wpe") < pl.col("expires_on")))["permit_no"])


def _employer_rules(f: _Facts) -> None:
    """rules.md § Employers."""
    pol, A, emp, active_by_emp = f.pol, f.A, f.emp, f.active_by_emp
    # employers
    e2 = emp.join(active_by_emp, on="uscc", how="left").with_columns(pl.col("n_active").fill_null(0))
    f.add("EMP-BRANCH-QUOTA", e2.filter(pl.col("entity_type").is_in(BRANCHES) & (pl.col("n_active") > pol["branch_quota"]))["uscc"])
    if pol["annual_inspection"]:
        f.add("EMP-INSPECTION-OVERDUE", emp.filter(pl.col("account_opened_on").is_not_null() & (
            _am(pl.coalesce("last_annual_inspection_on", "account_opened_on"), pol["inspection_cycle_months"]) < A))["uscc"])


def _people_rules(f: _Facts) -> None:
    """rules.md § People and dependents (and DQ-DUP-ACTIVE-PERMIT)."""
    pol, A, apps, deps, active = f.pol, f.A, f.apps, f.deps, f.active
    # people and dependents
    f.add("DQ-DUP-ACTIVE-PERMIT", active.group_by("id_number").agg(pl.len()).filter(pl.col("len") > 1)["id_number"])
    live = pl.concat([active["id_number"], apps.filter(pl.col("status").is_in(OPEN))["id_number"]]).unique()
    if "birth_date" not in deps.columns:
        deps = deps.with_columns(birth_date=pl.lit(None, dtype=pl.Date))
    dl = deps.filter(pl.col("holder_id_number").is_in(live.implode())).with_columns(*_id_birth_gender()).with_columns(
        _birth=pl.when(pl.col("id_number").str.len_chars() == 18).then(pl.col("_birth")).otherwise(pl.col("birth_date")))
    f.add("DEP-SPOUSE-NO-CERT", dl.filter((pl.col("relation") == "spouse") & ~pl.col("marriage_certificate").fill_null(False))["id_number"])
    f.add("DEP-CHILD16-NO-PROOF", dl.filter((pl.col("relation") == "child") & (_age(pl.col("_birth"), A) >= pol["child_proof_age"])
                                          & ~pl.col("student_status_proof").fill_null(False))["id_number"])


def _sla_rule(f: _Facts) -> None:
    """rules.md § Processing time (working days from the window to the decision or as_of)."""
    pol, A, apps = f.pol, f.A, f.apps
    # processing time
    sl = apps.filter(pl.col("window_submitted_on").is_not_null()).with_columns(end=pl.coalesce("decided_on", A))
    wd = working_days_between(sl["window_submitted_on"].to_numpy().astype("datetime64[D]"), sl["end"].to_numpy().astype("datetime64[D]"))
    f.add("SLA-15WD", sl.filter(pl.Series(wd > pol["sla_working_days"]))["application_id"])


# ---- v2: withholders and waivers (read from rules.md again, independently of the rule YAML) ---------

def _name_key(e: pl.Expr) -> pl.Expr:
    """rules.md: names compared NFKC-normalised with all whitespace removed."""
    return e.str.normalize("NFKC").str.replace_all(r"\s", "")


def withholder_findings(t: dict[str, pl.DataFrame], contrib: pl.DataFrame, as_of: dt.date,
                        policy: dict | None = None) -> pl.DataFrame:
    """ELIG-WITHHOLDER, RENEW-WITHHOLDER and NC-WITHHOLDER for the people whose contribution rows
    are in ``contrib`` (all rows of each of them: the generator calls this per chunk of people)."""
    pol = {**DEFAULTS, **(policy or {})}
    L, A = pol["contribution_lag_months"], pl.lit(as_of)
    a_mi = as_of.year * 12 + as_of.month - 1
    people = contrib["id_number"].unique().implode()
    apps = t["applications"].filter(pl.col("status").is_in(OPEN) & pl.col("id_number").is_in(people)).with_columns(
        d=pl.coalesce("submitted_on", A))
    permits, empl = t["permits"], t["employments"]
    far = 10 ** 6
    # windows (key, rule, id_number, a, b) and the employers a row may be proper for (key, uscc, lo, hi)
    new = apps.filter(pl.col("type") == "new").select(
        key="application_id", id_number="id_number", uscc="uscc",
        a=_mi(pl.col("d")) - L - pol["new_contribution_months"] + 1, b=_mi(pl.col("d")) - L)
    ren = apps.filter(pl.col("type") == "renewal").join(permits.select("permit_no", p_issued="issued_on"),
                                                        on="permit_no", how="left").select(
        key="application_id", id_number="id_number",
        a=pl.max_horizontal(_mi(pl.col("p_issued")), _mi(pl.col("d")) - L - pol["renewal_contribution_months"] + 1),
        b=_mi(pl.col("d")) - L)
    ren_emps = ren.select("key", "id_number").join(empl, on="id_number").select(
        "key", "uscc", lo=_mi(pl.col("hired_on")), hi=pl.when(pl.col("left_on").is_null()).then(far)
        .otherwise(_mi(pl.col("left_on"))))
    act = permits.filter((pl.col("status") == "active") & pl.col("id_number").is_in(people))
    h = (act.select("permit_no", "id_number", "uscc").join(empl.filter(pl.col("left_on").is_null()),
                                                          on=["id_number", "uscc"])
         .group_by("permit_no").agg(pl.col("hired_on").min()))
    nc = act.join(h, on="permit_no", how="inner").select(
        key="permit_no", id_number="id_number", uscc="uscc",
        a=pl.max_horizontal(_mi(pl.col("issued_on")), pl.lit(a_mi - L - pol["renewal_contribution_months"] + 1),
                            pl.lit(a_mi - L - pol["withholder_watch_months"] + 1), _mi(pl.col("hired_on"))),
        b=pl.lit(a_mi - L))
    c = contrib.filter(pl.col("kind").is_in(pol["contribution_kinds"])).select(
        "id_number", "kind", m=_mi(pl.col("month")), wu="withholder_uscc", wkey=_name_key(pl.col("withholder_name")))
    emp_names = t["employers"].select("uscc", ekey=_name_key(pl.col("name")))
    ag = t.get("withholding_agents")
    if ag is None or ag.height == 0:
        ag = pl.DataFrame(schema={"uscc": pl.String, "agent_name": pl.String, "agent_uscc": pl.String, "kind": pl.String,
                                  "valid_from": pl.Date, "valid_to": pl.Date})
    ag = ag.select("uscc", "agent_uscc", akind="kind", akey=_name_key(pl.col("agent_name")),
                   vf=_mi(pl.col("valid_from")), vt=_mi(pl.col("valid_to")))
    out = []
    for rule, win, emps in (("ELIG-WITHHOLDER", new.drop("uscc"), new.select("key", "uscc", lo="a", hi="b")),
                            ("RENEW-WITHHOLDER", ren, ren_emps),
                            ("NC-WITHHOLDER", nc.drop("uscc"), nc.select("key", "uscc", lo="a", hi="b"))):
        rows = win.join(c, on="id_number").filter((pl.col("m") >= pl.col("a")) & (pl.col("m") <= pl.col("b")))
        if rows.height == 0:
            continue
        cand = rows.join(emps, on="key").filter((pl.col("m") >= pl.col("lo")) & (pl.col("m") <= pl.col("hi")))
        direct = cand.join(emp_names, on="uscc", how="left").filter(
            (pl.col("wu").is_not_null() & (pl.col("wu") == pl.col("uscc")))
            | (pl.col("wu").is_null() & (pl.col("wkey") == pl.col("ekey"))))
        agent = cand.join(ag, on="uscc").filter(
            (pl.col("vf").is_null() | (pl.col("vf") <= pl.col("m"))) & (pl.col("vt").is_null() | (pl.col("m") <= pl.col("vt")))
            & (pl.col("akind").is_null() | (pl.col("akind") == pl.col("kind")))
            & ((pl.col("wu").is_not_null() & (pl.col("agent_uscc") == pl.col("wu")))
               | (pl.col("wu").is_null() & (pl.col("akey") == pl.col("wkey")))))
        cells = ["key", "m", "kind"]
        proper = pl.concat([direct.select(cells), agent.select(cells)]).unique()
        bad = rows.select(cells).unique().join(proper, on=cells, how="anti")
        keys = bad["key"].unique()
        out.append(pl.DataFrame({"rule_id": [rule] * len(keys), "entity_key": keys.cast(pl.String)}))
    if not out:
        return pl.DataFrame(schema={"rule_id": pl.String, "entity_key": pl.String})
    return pl.concat(out)


def apply_waivers(key: pl.DataFrame, t: dict[str, pl.DataFrame], as_of: dt.date) -> pl.DataFrame:
    """key(rule_id, entity_key) of every finding -> the same rows with ``waived`` plus a
    WAIVER-UNUSED row (waived = false) for each in-force waiver that matched none of them."""
    w = t.get("waivers")
    key = key.with_columns(waived=pl.lit(False))
    if w is None or w.height == 0:
        return key
    force = w.filter((pl.col("approved_on") <= as_of) & (pl.col("expires_on").is_null() | (pl.col("expires_on") >= as_of)))
    pairs = force.select("rule_id", "entity_key").unique()
    key = key.join(pairs.with_columns(hit=pl.lit(True)), on=["rule_id", "entity_key"], how="left").with_columns(
        waived=pl.col("hit").fill_null(False)).drop("hit")
    unused = pairs.join(key, on=["rule_id", "entity_key"], how="anti").select(
        rule_id=pl.lit("WAIVER-UNUSED"),
        entity_key=pl.concat_str([pl.lit("waivers:"), pl.col("rule_id"), pl.lit(":"), pl.col("entity_key")]),
        waived=pl.lit(False))
    return pl.concat([key, unused])
