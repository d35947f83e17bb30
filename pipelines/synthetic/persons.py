"""The persons table: resident IDs and names, titles and study modes, address
and housing, achievements and photos, with the person-level scenarios
(ELIG-TALENT, ELIG-WORK-BEFORE-GRAD, ELIG-RESIDENCE, ELIG-/RENEW-ACHIEVEMENT-200,
ELIG-PHOTO). Sets ``g.frames["persons"]`` and the person columns later
builders need (ids, codes, surname, photo fingerprint)."""
from __future__ import annotations

import numpy as np
import polars as pl

from . import vocab as V
from .ids import hex_digests, unique_rics
from .state import APPL, CAND, State, choice, days, frame, pick_s


def build_persons(g: State) -> None:
    rng, N, P = g.rng, g.N, g.P
    area = choice(rng, [a for a, _ in V.AREA_CODES], [w for _, w in V.AREA_CODES], N)
    ids, codes = unique_rics(rng, area, P["birth"], P["male"])
    sur = choice(rng, [s for s, _ in V.SURNAMES], [w for _, w in V.SURNAMES], N)
    names = given_names(rng, sur, P["male"])
    P.update(codes=codes, sur=sur)
    title, tname, special, study = _titles_and_study(g)
    addr, housing, proof = _address_and_housing(g)
    ach = _achievements(g)
    photo = _photos(g)
    sha = hex_digests(rng, N)
    P.update(ids=ids, area=area, sha=sha, name=names, ach=ach)
    gender = np.where(P["male"], "M", "F").astype(object)
    g.frames["persons"] = frame({
        "id_number": ids, "name": names, "gender": gender, "birth_date": P["birth"],
        "highest_degree": P["deg"], "degree_study_mode": study, "graduation_date": P["grad"],
        "title_level": title, "title_name": tname, "special_talent": special, "work_start_date": P["ws_reported"],
        "residence_address": addr, "housing_type": housing, "housing_proof": proof, "achievements": ach,
        **photo, "photo_sha256": sha,
    }).with_columns(pl.col("photo_bytes", "photo_width", "photo_height").fill_nan(None).cast(pl.Int64))


def given_names(rng, sur, male):
    """Full names: surname + one or two given characters by gender."""
    n = len(sur)
    m1 = np.array(V.GIVEN_MALE)[rng.integers(0, len(V.GIVEN_MALE), n)]
    f1 = np.array(V.GIVEN_FEMALE)[rng.integers(0, len(V.GIVEN_FEMALE), n)]
    a1 = np.array(V.GIVEN_ANY)[rng.integers(0, len(V.GIVEN_ANY), n)]
    first = np.where(male, m1, f1)
    two = rng.random(n) < 0.7
    mid = np.where(rng.random(n) < 0.5, a1, np.where(male, np.array(V.GIVEN_MALE)[rng.integers(0, len(V.GIVEN_MALE), n)],
                                                       np.array(V.GIVEN_FEMALE)[rng.integers(0, len(V.GIVEN_FEMALE), n)]))
    return np.asarray(sur.astype(object) + np.where(two, mid.astype(object) + first, first.astype(object)), dtype=str)


def _titles_and_study(g: State):
    """Professional titles (people without a degree need one), special talents, study modes;
    the reported work start (ELIG-WORK-BEFORE-GRAD: on or before graduation)."""
    rng, N, P, role = g.rng, g.N, g.P, g.role
    career_years = (g.ref - P["ws"]).astype(int) / 365.25
    title = choice(rng, ["none", "junior", "intermediate", "associate_senior", "senior"], [0.45, 0.25, 0.22, 0.07, 0.01], N)
    title = np.where((career_years < 3) & np.isin(title, ["associate_senior", "senior"]), "intermediate", title)
    need_title = (P["deg"] == "none") & (role != CAND)
    title[need_title] = choice(rng, ["intermediate", "associate_senior"], [0.8, 0.2], need_title.sum())
    i = g.idx("ELIG-TALENT")
    title[i] = np.where(np.arange(len(i)) % 2 == 0, "none", "junior")
    tname = np.full(N, None, dtype=object)
    for lvl, names_l in V.TITLE_NAMES.items():
        sel = title == lvl
        tname[sel] = np.array(names_l)[rng.integers(0, len(names_l), sel.sum())]
    special = (rng.random(N) < 0.01) & (role == CAND)
    study = choice(rng, V.STUDY_MODES, [0.86, 0.06, 0.03, 0.03, 0.02], N)
    study = np.where(P["deg"] == "none", None, study).astype(object)
    wsd = P["ws"].copy()
    i = g.idx("ELIG-WORK-BEFORE-GRAD")
    study[i] = "full_time"
    P["deg"][i] = np.where(P["deg"][i] == "none", "bachelor", P["deg"][i])
    wsd[i] = P["grad"][i] - days(rng, 0, 90, len(i))  # internship counted as work: on or before graduation
    P["ws_reported"] = wsd
    return title, tname, special, study


def _address_and_housing(g: State):
    """A Beijing address; housing type and proof (ELIG-RESIDENCE: none, empty, no proof)."""
    rng, N = g.rng, g.N
    dname = [d[1] for d in V.DISTRICTS[:16]]
    addr = pl.select(pl.concat_str([
        pl.lit("北京市"), pick_s(dname, rng.integers(0, 16, N)), pick_s(V.STREETS, rng.integers(0, len(V.STREETS), N)),
        pl.Series(rng.integers(1, 300, N)).cast(pl.String), pl.lit("号院"),
        pl.Series(rng.integers(1, 30, N)).cast(pl.String), pl.lit("号楼")])).to_series()
    housing = choice(rng, ["owned", "rented", "public_rented", "lodging"], [0.32, 0.55, 0.04, 0.09], N).astype(object)
    proof = np.ones(N, bool)
    cand = g.role == CAND
    housing[cand & (rng.random(N) < 0.1)] = "none"
    proof[cand & (rng.random(N) < 0.1)] = False
    i = g.idx("ELIG-RESIDENCE")
    housing[i] = np.array(["none", None, "rented", "owned"] * g.k, dtype=object)[:len(i)]
    proof[i] = np.array([True, True, False, False] * g.k)[:len(i)]
    return addr, housing, proof


def _achievements(g: State) -> pl.Series:
    """Paragraphs of 8 sentences (>= 200 characters); short or empty ones for the scenarios."""
    rng, N = g.rng, g.N
    sents = np.array(V.ACHIEVEMENT_SENTENCES, dtype=object)
    n_par = 400
    prng = np.random.default_rng(rng.integers(1 << 30))
    par = ["".join(prng.permutation(sents)[:8]) for _ in range(n_par)]
    short = "负责项目研发与交付。" * 19  # 190 characters
    extra = ["负责日常工作。", short, "参与 软件 开发 " * 10, None, short + "\u3000" * 5 + "完成九项",
             "负责项目研发与交付。 \u3000" * 20]  # the last: exactly 200 characters without whitespace
    ach_idx = rng.integers(0, n_par, N)
    ach_idx[(g.role == CAND) & (rng.random(N) < 0.15)] = n_par
    for j, p in enumerate(np.concatenate([g.idx("ELIG-ACHIEVEMENT-200"), g.idx("RENEW-ACHIEVEMENT-200")])):
        ach_idx[p] = n_par + 1 + j % 4
    # boundary that still passes: exactly 200 characters once whitespace (incl. U+3000) is removed,
    # on three clean applicants (their photos and tenure are the other boundaries: [:2], [5:8])
    ach_idx[np.nonzero((g.role == APPL) & (g.scen == ""))[0][2:5]] = n_par + 5
    return pl.Series(par + extra, dtype=pl.String).gather(pl.Series(ach_idx.astype(np.uint32)))


def _photos(g: State) -> dict:
    """Photo format, size and dimensions; exact limits on clean applicants, ELIG-PHOTO variants."""
    rng, N = g.rng, g.N
    fmt = choice(rng, ["jpg", "jpeg", "JPG"], [0.8, 0.15, 0.05], N).astype(object)
    pbytes = rng.integers(25_000, 200_000, N).astype(float)
    pw = choice(rng, [358, 295, 390], [0.7, 0.2, 0.1], N).astype(float)
    ph = np.where(pw == 358, 441, np.where(pw == 295, 413, 567)).astype(float)
    # boundary values that still pass (exact limits) on a few clean applicants
    clean_ap = np.nonzero((g.role == APPL) & (g.scen == ""))[0]
    pbytes[clean_ap[:2]], pw[clean_ap[:2]], ph[clean_ap[:2]] = 204_800, 295, 413
    for j, p in enumerate(g.idx("ELIG-PHOTO")):
        v = j % 4
        if v == 0:
            fmt[p] = "png"
        elif v == 1:
            pbytes[p] = 250_000
        elif v == 2:
            pw[p], ph[p] = 280, 400
        else:
            fmt[p], pbytes[p], pw[p], ph[p] = None, np.nan, np.nan, np.nan
    return {"photo_format": fmt, "photo_bytes": pbytes, "photo_width": pw, "photo_height": ph}
