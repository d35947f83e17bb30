"""Great Expectations Core 1.x as the runner and reporter of the rule book.

One suite per guarded table (applications, permits, employers, persons,
dependents), one expectation per rule: ``expect_column_values_to_be_in_set``
on the rule's column of a per-entity facts frame, value set ``[True]``. The
frame holds, for every entity of the guarded table a rule applies to, the
rule's ``ok`` (NOT breaks) — NULL where the rule does not apply, which GX
skips. So GX's ``unexpected_count`` is the number of findings of the rule,
from the same SQL facts that produce the complete findings rows (a test
checks they agree for every rule). GX reports counts only: the frames
carry no entity keys, and the masked samples come from the findings.

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


def build_suites(rules: dict[str, dict] | None = None) -> dict:
    """ExpectationSuite objects per guard; raises if GX dropped any expectation
    (GX logs and drops invalid expectation dicts instead of raising)."""
    import great_expectations as gx

    suites = {}
    for guard, exps in expectation_dicts(rules).items():
        suite = gx.ExpectationSuite(name=SUITE_PREFIX + guard, expectations=exps)
        if len(suite.expectations) != len(exps):
            got = {e.meta.get("rule_id") for e in suite.expectations}
            lost = [e["meta"]["rule_id"] for e in exps if e["meta"]["rule_id"] not in got]
            raise RuleBookError(f"GX suite {suite.name}: expectation(s) dropped: {lost}")
        suites[guard] = suite
    return suites


def facts_columns(con, guard_rules: list[dict], facts: dict[str, RuleFacts]) -> tuple[int, dict]:
    """One guard's GX input, read from the facts tables (TEMP tables of the
    rule step's connection ``con``): the guard's entity count (the distinct
    entity keys of its rules' facts) and, per rule, its ``ok`` values (NOT
    breaks) as an Arrow array."""
    import pyarrow as pa

    tabs = [facts[r["rule_id"]].table for r in guard_rules]
    keys = " UNION ".join(f"SELECT entity_key FROM {t}" for t in tabs)
    n = con.sql(f"SELECT count(*) FROM ({keys})").fetchall()[0][0]
    columns = {}
    for r in guard_rules:
        ok = con.sql(f"SELECT NOT coalesce(breaks, false) AS ok FROM {facts[r['rule_id']].table}").to_arrow_table()
        columns[r["rule_id"]] = ok.column(0).combine_chunks() if ok.num_rows else pa.array([], pa.bool_())
    return n, columns


def columns_frame(n: int, columns: dict):
    """Wide pandas frame: one nullable boolean column per rule (True ok, False
    broken, NULL not applicable), ``n`` rows (the guard's entities). A column
    holds its rule's ``ok`` values followed by NULLs for the entities the rule
    does not apply to: the rows are not aligned by entity across columns,
    because nothing reads them that way — with the BASIC result format GX
    reports counts only (element, missing and unexpected counts per column,
    the same as for an entity-aligned frame; the masked samples come from the
    findings), and aligning 1.5 M entities over two dozen rules costs a join
    per rule."""
    import pandas as pd
    import pyarrow as pa

    padded = {rid: pa.concat_arrays([v, pa.nulls(n - len(v), pa.bool_())]) for rid, v in columns.items()}
    df = pa.table(padded).to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    if df.empty:  # GX needs at least the columns; an empty frame validates as success
        df = pd.DataFrame({rid: pd.Series([], dtype="boolean") for rid in columns})
    return df


def facts_frame(con, guard_rules: list[dict], facts: dict[str, RuleFacts]):
    """The GX frame of one guard (``columns_frame`` of ``facts_columns``)."""
    return columns_frame(*facts_columns(con, guard_rules, facts))


def run_gx(con, facts: dict[str, RuleFacts], datadocs_dir: Path | None,
           rules: dict[str, dict] | None = None) -> dict[str, dict]:
    """Validate every rule's facts with GX; build Data Docs into datadocs_dir.
    Returns rule_id -> {gx_success, gx_unexpected, gx_evaluated, gx_exception}
    (and ``_meta``)."""
    return start_gx(con, facts, datadocs_dir, rules).result()


def start_gx(con, facts: dict[str, RuleFacts], datadocs_dir: Path | None,
             rules: dict[str, dict] | None = None) -> Future:
    """``run_gx`` in the background: read the facts' columns now (they are
    TEMP tables of ``con``, which no other thread may use), then validate and
    build Data Docs in a thread of their own, and return its Future (result:
    ``run_gx``'s dict; errors are raised by ``result()``). GX is Python and
    pandas on one core; the rule step judges the candidates in DuckDB
    meanwhile, which releases the GIL while it runs."""
    t0 = time.perf_counter()
    rules = sql_rules(rules)
    inputs = {}
    for guard in expectation_dicts(rules):
        inputs[guard] = facts_columns(con, [r for r in rules.values() if r["check"]["guards"] == guard], facts)
    read_s = time.perf_counter() - t0
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx-validate")
    try:
        return pool.submit(_validate, inputs, datadocs_dir, rules, t0, read_s)
    finally:
        pool.shutdown(wait=False)


def _validate(inputs: dict[str, tuple[int, dict]], datadocs_dir: Path | None, rules: dict[str, dict],
              t0: float, read_s: float) -> dict[str, dict]:
    """Validate the guards' frames (``start_gx``'s thread)."""
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
    source = ctx.data_sources.add_pandas("rulebook_facts")
    out: dict[str, dict] = {}
    for guard, suite in suites.items():
        df = columns_frame(*inputs[guard])
        asset = source.add_dataframe_asset(guard)
        batch_def = asset.add_batch_definition_whole_dataframe("as_of")
        suite = ctx.suites.add(suite)
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=f"{SUITE_PREFIX}{guard}", data=batch_def,
                                                                    suite=suite))
        vr = vd.run(batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT)
        for r in vr.results:
            rid = r.expectation_config.meta["rule_id"]
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
    out["_meta"] = {"gx_seconds": round(time.perf_counter() - t0, 2), "gx_read_seconds": round(read_s, 2),
                    "gx_thread_cpu_seconds": round(time.thread_time() - c0, 2), "gx_version": gx.__version__}
    return out


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)
