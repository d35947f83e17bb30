"""Rule layer (issue 4): the ``findings`` asset and one asset check per rule.

Exports ``rules_assets``, ``build_rules_checks`` and ``datadocs_dir`` (the GX
Data Docs folder of a run, copied into the site as ``gx/`` by the publish
layer). The checks' specs come from the rule YAML, so they are built when the
definitions are (``build_rules_checks``), not when this module is imported.
No ``from __future__ import annotations`` here: Dagster needs real types.
"""
from pathlib import Path

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetKey,
                     MaterializeResult, MetadataValue, asset, multi_asset_check)

from core.contract import TABLES
from assets.rules.core import datadocs_path, evaluate_rulebook, guard_of, read_results, results_path
from assets.settings import AS_OF_PARTITIONS, PermitsSettings, resolve_as_of
from assets.warehouse import Warehouse
from expectations.rulebook import load_rules

INPUT_ASSETS = list(TABLES)  # the contract tables (core.contract; v2 adds withholding_agents, waivers)


def datadocs_dir(settings: PermitsSettings, run_id: str) -> Path:
    """Static GX Data Docs site of a run (index.html inside)."""
    return datadocs_path(settings.work_dir(run_id))


def check_name(rule_id: str) -> str:
    return rule_id.replace("-", "_")


@asset(key="findings", group_name="rules", kinds={"duckdb", "sql", "greatexpectations"},
       partitions_def=AS_OF_PARTITIONS, deps=INPUT_ASSETS,
       description="Rule book at as_of: findings, rules, findings_history; GX validation and Data Docs / "
                   "规则检查结果、规则库、历史结果;GX 校验与数据文档")
def findings(context: AssetExecutionContext, settings: PermitsSettings, warehouse: Warehouse) -> MaterializeResult:
    as_of = resolve_as_of(context)
    work = settings.work_dir(context.run.run_id)
    with warehouse.run_connection(context.run.run_id) as con:
        res = evaluate_rulebook(con, as_of, context.run.run_id, settings.policy_path(), work_dir=work,
                                candidates=True)  # the candidates mart reads them (one preparation)
    counts = {rid: r["count"] for rid, r in res["rules"].items()}
    by_sev = {}
    for r in res["rules"].values():
        by_sev[r["severity"]] = by_sev.get(r["severity"], 0) + r["count"]
    context.log.info(f"rule book at {as_of}: {sum(counts.values())} findings; timing {res['timing']}")
    return MaterializeResult(metadata={
        "as_of": as_of.isoformat(),
        "policy": res["policy"],
        "findings": MetadataValue.int(sum(counts.values())),
        "by_severity": MetadataValue.json(by_sev),
        "by_rule": MetadataValue.json({k: v for k, v in counts.items() if v}),
        "timing_s": MetadataValue.json(res["timing"]),
        "results": MetadataValue.path(str(results_path(work))),
        "datadocs": MetadataValue.path(str(datadocs_path(work) / "index.html")),
    })


def _specs() -> list[AssetCheckSpec]:
    import warnings

    with warnings.catch_warnings():  # partitions_def on AssetCheckSpec is a Dagster "preview" feature
        warnings.simplefilter("ignore")
        return _make_specs()


def _make_specs() -> list[AssetCheckSpec]:
    return [AssetCheckSpec(name=check_name(rid), asset=AssetKey(guard_of(r)), additional_deps=["findings"],
                           partitions_def=AS_OF_PARTITIONS,
                           description=f"{rid} [{r['severity']}] {r['title_zh']} / {r['title_en']}")
            for rid, r in sorted(load_rules().items())]


def _find_results(settings: PermitsSettings, run_id: str) -> Path | None:
    """This run's results only: a check never reports another run's results
    (run the checks with ``findings`` in the same run)."""
    own = results_path(settings.work_dir(run_id))
    return own if own.exists() else None


def rulebook_checks(context, settings: PermitsSettings):
    """One check per rule, read from the findings asset's saved results (the
    body of the multi-asset check that ``build_rules_checks`` makes)."""
    run_id = context.run.run_id
    path = _find_results(settings, run_id)
    if path is None:
        raise FileNotFoundError(f"no rule-book results in {settings.work_dir(run_id)}: "
                                f"materialise 'findings' first / 请先运行 findings")
    results = read_results(path.parent.parent)
    rules = load_rules()
    selected = context.selected_asset_check_keys
    for key in selected:
        rid = next((r for r in rules if check_name(r) == key.name), None)
        if rid is None:
            continue
        r = results["rules"].get(rid)
        if r is None:
            yield AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=False,
                                   severity=AssetCheckSeverity.WARN,
                                   metadata={"error": f"{rid} not in {path}"})
            continue
        meta = {"count": MetadataValue.int(r["count"]), "as_of": results["as_of"], "run_id": results["run_id"],
                "sample": MetadataValue.json(r.get("sample") or []), "title": f"{r['title_zh']} / {r['title_en']}"}
        if "evaluated" in r:
            meta["evaluated"] = MetadataValue.int(r["evaluated"])
        if "gx_unexpected" in r:
            meta["gx_unexpected"] = MetadataValue.int(r["gx_unexpected"])
            meta["gx_success"] = bool(r.get("gx_success"))
        yield AssetCheckResult(
            asset_key=key.asset_key, check_name=key.name, passed=r["count"] == 0,
            severity=AssetCheckSeverity.ERROR if r["severity"] == "error" else AssetCheckSeverity.WARN,
            metadata=meta)


def build_rules_checks() -> list:
    """The ``rulebook_checks`` multi-asset check (one spec per rule of the rule book)."""
    return [multi_asset_check(specs=_specs(), name="rulebook_checks", can_subset=True,
                              description="One check per rule, read from the findings asset's saved results / "
                                          "每条规则一个检查")(rulebook_checks)]


rules_assets = [findings]
