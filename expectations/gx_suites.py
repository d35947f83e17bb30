"""Great Expectations Core 1.x as the runner and reporter of the rule book.

One expectation per rule: ``expect_column_values_to_be_in_set`` on the
rule's column of its facts frame, value set ``[True]``; the expectations
are grouped by the table they guard (applications, permits, employers,
persons, dependents, waivers: ``expectation_dicts``), and each is
validated as a suite of its own, ``rulebook_<guard>.<RULE-ID>``, on a
one-column frame: the rule's ``ok`` (NOT breaks) for every entity it
applies to. So GX's ``unexpected_count`` is the number of findings of the
rule, and its ``element_count`` the entities the rule evaluated, from the
same SQL facts that produce the complete findings rows (a test checks they
agree for every rule). GX reports counts only: the frames carry no entity
keys, and the masked samples come from the findings.

Why a suite per rule rather than one per guarded table (until 2026-12-03):
a table's frame had to hold every rule's column padded to the table's
entities, and GX's pandas engine takes all columns of the frame once per
metric of each expectation and hashes the whole frame for its batch id —
at city scale 1.8–2.0 s against 1.0–1.1 s for the same counts validated
per rule (docs/performance.md).

``great_expectations`` is imported inside functions: the import costs seconds.
"""
from __future__ import annotations

import json
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from expectations.engine import RuleFacts, sql_rules
from expectations.rulebook import RuleBookError

SUITE_PREFIX = "rulebook_"
# BASIC: counts only. Asking GX for unexpected index lists (SUMMARY with
# unexpected_index_column_names) costs ~3x more at city scale; the masked
# sample comes from the findings instead (same facts, complete).
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


def expectation_dicts(rules: dict[str, dict] | None = None) -> dict[str, list[dict]]:
    """The suites as data: guard -> list of expectation configurations."""
    out: dict[str, list[dict]] = {}
    for rid, r in sql_rules(rules).items():
        out.setdefault(r["check"]["guards"], []).append({
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": rid, "value_set": [True]},
            "meta": {"rule_id": rid, "severity": r["severity"], "entity_type": r["entity_type"],
                     "title_zh": r["title_zh"], "title_en": r["title_en"], "source": r["source"]},
            "description": f"{rid}: {r['title_zh']} / {r['title_en']}",
        })
    return out


def prefetch_gx() -> None:
    """Import GX in a background thread. ``import great_expectations`` takes
    about 8 s (scipy, the expectation registry); a run starts it with its
    ingest step so that the rule step does not wait for it. Any failure here
    is ignored: the rule step then imports GX itself (and reports errors)."""
    import importlib
    import threading

    def _import() -> None:
        try:
            importlib.import_module("great_expectations")
        except Exception:  # noqa: BLE001 - the rule step's own import reports the problem
            pass

    if "great_expectations" not in sys.modules:
        import pandas  # noqa: F401 - shared with the ingest step's libraries: imported here, not raced

        threading.Thread(target=_import, name="gx-prefetch", daemon=True).start()


def build_suites(rules: dict[str, dict] | None = None) -> dict[str, list]:
    """Per guard, one ExpectationSuite per rule (``rulebook_<guard>.<RULE-ID>``,
    its one expectation); raises if GX dropped an expectation (GX logs and
    drops invalid expectation dicts instead of raising)."""
    import great_expectations as gx

    suites: dict[str, list] = {}
    for guard, exps in expectation_dicts(rules).items():
        for exp in exps:
            suite = gx.ExpectationSuite(name=f"{SUITE_PREFIX}{guard}.{exp['meta']['rule_id']}", expectations=[exp])
            if len(suite.expectations) != 1:
                raise RuleBookError(f"GX suite {suite.name}: expectation dropped: {exp['meta']['rule_id']}")
            suites.setdefault(guard, []).append(suite)
    return suites


def values_frame(rule_id: str, values):
    """The one-column pandas frame a rule's suite validates: plain numpy
    booleans (``ok`` is never NULL; GX hashes a nullable column's mask too)."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame({rule_id: np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)})


def run_gx(facts: dict[str, RuleFacts], datadocs_dir: Path | None,
           rules: dict[str, dict] | None = None) -> dict[str, dict]:
    """Validate every rule's facts with GX; build Data Docs into datadocs_dir.
    Returns rule_id -> {gx_success, gx_unexpected, gx_evaluated, gx_exception}
    (and ``_meta``)."""
    return start_gx(facts, datadocs_dir, rules).result()


def start_gx(facts: dict[str, RuleFacts], datadocs_dir: Path | None,
             rules: dict[str, dict] | None = None) -> Future:
    """``run_gx`` in the background: validate every rule's ``ok`` values (read
    by the engine as it judged the rule, ``RuleFacts.ok``) and build Data Docs
    in a thread of its own, and return its Future (result: ``run_gx``'s dict;
    errors are raised by ``result()``). GX is Python and pandas on one core;
    the rule step judges the candidates in DuckDB meanwhile, which releases
    the GIL while it runs."""
    t0 = time.perf_counter()
    rules = sql_rules(rules)
    missing = sorted(rid for rid in rules if rid not in facts or facts[rid].ok is None)
    if missing:
        raise RuleBookError(f"no ok values to validate for {missing}")
    inputs = {rid: facts[rid].ok for rid in rules}
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx-validate")
    try:
        return pool.submit(_validate, inputs, datadocs_dir, rules, t0)
    finally:
        pool.shutdown(wait=False)


def _validate(inputs: dict, datadocs_dir: Path | None, rules: dict[str, dict], t0: float) -> dict[str, dict]:
    """Validate every rule's values (``start_gx``'s thread)."""
    import logging

    import great_expectations as gx

    c0 = time.thread_time()
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    suites = build_suites(rules)
    ctx = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # older/newer GX without the setting: only cosmetic
        pass
    if datadocs_dir is not None:
        Path(datadocs_dir).mkdir(parents=True, exist_ok=True)
        ctx.add_data_docs_site(site_name="permits", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(datadocs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    # one data asset and batch definition for every rule (each validation passes its own frame):
    # GX re-serialises the context's configuration for every asset added (0.5 s for 43)
    batch_def = ctx.data_sources.add_pandas("rulebook").add_dataframe_asset("facts") \
        .add_batch_definition_whole_dataframe("as_of")
    out: dict[str, dict] = {}
    for guard_suites in suites.values():
        for suite in guard_suites:
            rid = suite.expectations[0].meta["rule_id"]
            suite = ctx.suites.add(suite)
            vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch_def, suite=suite))
            vr = vd.run(batch_parameters={"dataframe": values_frame(rid, inputs[rid])}, result_format=RESULT_FORMAT)
            for r in vr.results:
                result = r.result or {}
                out[rid] = {"gx_success": bool(r.success), "gx_unexpected": int(result.get("unexpected_count") or 0),
                            "gx_evaluated": int((result.get("element_count") or 0) - (result.get("missing_count") or 0)),
                            "gx_exception": (r.exception_info or {}).get("exception_message")
                            if isinstance(r.exception_info, dict) else None}
    if datadocs_dir is not None:  # once, for every suite (building per validation costs seconds each)
        ctx.build_data_docs(site_names=["permits"])
    missing = set(rules) - set(out)
    if missing:
        raise RuleBookError(f"GX returned no result for {sorted(missing)}")
    out["_meta"] = {"gx_seconds": round(time.perf_counter() - t0, 2),
                    "gx_thread_cpu_seconds": round(time.thread_time() - c0, 2), "gx_version": gx.__version__}
    return out


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)
