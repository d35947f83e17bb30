"""Built-in synthetic data (issue 3).

``generate(out, scale, seed) -> dict`` writes the twelve input tables of the data
contract into ``out`` as a deliberately messy input folder (CSV in UTF-8 /
UTF-8 BOM / GB18030, Excel, Parquet; Chinese and English names and headers),
plus ``expected_findings.csv`` (the answer key: rule_id, entity_key, waived) and
``dataset.json``. See docs/synthetic.md.

Where things are: ``build`` (the logical tables, one builder module per entity
over a shared ``state.State``), ``v2`` (version-2 cases laid over them),
``contributions`` (the monthly rows, streamed per chunk), ``defects`` and
``layout`` (ingest defects and which file holds what), ``writer`` (file
formats), ``contacts`` (employer contacts). The answer key is ``answer_key``
with its own date arithmetic in ``dates``: an independent second reading of the
rule book that shares no code with what it checks.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import polars as pl

from . import v2
from .answer_key import apply_waivers, covered_months_indexed, evaluate, withholder_findings
from .build import build
from .contacts import write_contacts
from .defects import ingest_defects
from .layout import lay_out_city, lay_out_demo, persons_mutator
from .state import REFERENCE_DATE, SCALES
from .writer import FileSpec, Writer

__all__ = ["generate", "REFERENCE_DATE", "SCALES"]

MANAGED_SUFFIXES = (".csv", ".xlsx", ".parquet", ".json")


def _clean_out(out: Path) -> None:
    """Remove a previous generator output in `out` (only files this generator writes)."""
    out.mkdir(parents=True, exist_ok=True)
    marker = out / "dataset.json"
    if marker.exists():
        for p in out.iterdir():
            if p.is_file() and p.suffix in MANAGED_SUFFIXES:
                p.unlink()


def generate(out: Path, scale: str = "demo", seed: int = 0, fraction: float = 1.0) -> dict:
    """Write a synthetic input folder; return the dataset description (also dataset.json).

    ``fraction`` scales the number of employers and persons of ``scale``
    (at least 1,000 employers and 20,000 persons when below 1); the injected
    defects per rule stay as in ``scale``. The benchmark's 1/10 and 1/4 of
    city are ``generate(out, "city", seed, fraction=0.1)`` and ``0.25``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, not {scale!r}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction!r}")
    out = Path(out)
    _clean_out(out)
    sc = SCALES[scale]
    if fraction != 1:
        sc = dataclasses.replace(sc, employers=max(1000, round(sc.employers * fraction)),
                                 persons=max(20_000, round(sc.persons * fraction)))
    g, logical, stream = build(sc, seed)
    t = logical.tables
    city = scale != "demo"
    as_of = logical.reference_date.astype(object)
    # v2 cases (foreign holders, other ID documents, agents, payers elsewhere, deferrals ending)
    plan = v2.plan(t, as_of, np.random.default_rng([seed, 2026]), set(g.P["ids"][g.scen != ""].tolist()))
    rng = np.random.default_rng([seed, 4242])
    w = Writer(out, rng, t, scale)
    covered, wh_parts, n_contrib, side_contrib = _write_contributions(w, g.N, stream, plan, t, as_of, city)
    t["contributions"] = None  # not kept in memory; evaluated through `covered`
    broken = ingest_defects(w)
    mism_list = sorted(set(g.P["ids"][g.idx("DQ-ID-MISMATCH")].tolist()))
    (lay_out_city if city else lay_out_demo)(w, t, side_contrib, broken, persons_mutator(rng, mism_list))
    # employer contacts (v2, issue 18): own module, its defects join the key
    contact_key, contact_files = write_contacts(out, t["employers"]["uscc"].to_list(), seed, w.new_uscc)
    w.key += contact_key
    w.files.update(contact_files)
    key = _answer_key(w, t, as_of, covered, wh_parts, broken["waivers"], [("DQ-ID-MISMATCH", x) for x in mism_list])
    key.write_csv(out / "expected_findings.csv")
    counts = {name: (t[name].height if t.get(name) is not None else None) for name in t}
    counts["contributions"] = n_contrib
    info = {
        "reference_date": str(as_of), "scale": scale, "fraction": fraction, "seed": seed, "counts": counts,
        "findings": dict(sorted(key.group_by("rule_id").len().iter_rows())),
        "files": w.files,
        "intended": len(logical.intended),
        "v2": plan.counts,
        "waived": int(key["waived"].sum()),
    }
    (out / "dataset.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    return info


def _write_contributions(w: Writer, n_people: int, stream, plan, t: dict, as_of, city: bool):
    """Parquet by person chunk (+ a messy CSV part for 2026 of the first chunk, returned).
    Returns (covered months, withholder findings per chunk, row count, the CSV part)."""
    chunk = 100_000 if city else n_people
    covered_parts, wh_parts, n_contrib = [], [], 0
    side_contrib = None
    for ci, lo in enumerate(range(0, n_people, chunk)):
        persons = np.arange(lo, min(lo + chunk, n_people))
        c = v2.mutate_contributions(stream.rows(persons, keep_index=True), plan)
        covered_parts.append(covered_months_indexed(c))
        c = c.drop("pi")
        wh_parts.append(withholder_findings(t, c, as_of))
        n_contrib += c.height
        if ci == 0:
            side_contrib = c.filter(pl.col("month") >= pl.date(2026, 1, 1))
            c = c.filter(pl.col("month") < pl.date(2026, 1, 1))
            if city:
                side_contrib, rest = side_contrib.slice(0, 40_000), side_contrib.slice(40_000)
                c = pl.concat([c, rest])
        name = f"contributions_{ci + 1:02d}.parquet" if city else "contributions_2024_2025.parquet"
        w.emit(FileSpec("contributions", name, "parquet"), c)
    return pl.concat(covered_parts), wh_parts, n_contrib, side_contrib


def _answer_key(w: Writer, t: dict, as_of, covered, wh_parts, waivers_broken, key_id_mismatch) -> pl.DataFrame:
    """The answer key; first the waiver register (it names findings of the data) is written."""
    rule_findings = pl.concat([evaluate(t, as_of, covered=covered), *wh_parts]).unique()
    t["waivers"] = v2.waivers(rule_findings, t, as_of)
    w.emit(FileSpec("waivers", "例外登记.csv", "csv", "utf-8-sig", zh_headers=True, date_style="cn"), t["waivers"],
           waivers_broken, dups=1)
    return apply_waivers(pl.concat([
        rule_findings,
        pl.DataFrame(w.key + key_id_mismatch, schema={"rule_id": pl.String, "entity_key": pl.String}, orient="row"),
    ]).unique(), t, as_of).sort("rule_id", "entity_key")
