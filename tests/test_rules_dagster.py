"""The findings asset and its asset checks in Dagster: partitioned by as_of,
writing through the run's staging warehouse, checks reading the saved JSON."""
from __future__ import annotations

import duckdb
import pytest

from expectations.testing import make_warehouse
from test_rules_helpers import base_tables

import great_expectations  # noqa: E402,F401  (a dependency: missing = a failure, not a skip)


@pytest.mark.slow
def test_findings_asset_and_checks(tmp_path):
    from dagster import AssetKey, AssetSpec, DagsterInstance, materialize, multi_asset

    from assets.settings import AS_OF_PARTITIONS

    from assets.rules import build_rules_checks, datadocs_dir, findings
    from assets.settings import PermitsSettings
    from assets.warehouse import Warehouse, staging_path

    live = tmp_path / "warehouse.duckdb"
    t = base_tables()
    t["persons"][0]["highest_degree"] = "none"  # ELIG-TALENT fires for A1
    with duckdb.connect(str(live)) as con:
        make_warehouse(con, **t)
    settings = PermitsSettings(site_dir=str(tmp_path / "site"))
    # stand-ins for the ingest layer's table assets (the warehouse is already built above)
    keys = ["employers", "persons", "employments", "work_history", "education_history", "contributions",
            "dependents", "permits", "applications", "quarantine"]

    @multi_asset(specs=[AssetSpec(k, group_name="ingest") for k in keys], partitions_def=AS_OF_PARTITIONS)
    def tables_already_loaded():
        return None

    res = materialize([tables_already_loaded, findings, *build_rules_checks()], partition_key="2026-06-15", instance=DagsterInstance.ephemeral(),
                      resources={"settings": settings, "warehouse": Warehouse(database=str(live))},
                      raise_on_error=True)
    assert res.success
    evals = {e.check_name: e for e in res.get_asset_check_evaluations()}
    assert evals["ELIG_TALENT"].passed is False
    assert evals["ELIG_TALENT"].asset_key == AssetKey("applications")
    assert evals["ELIG_TALENT"].metadata["count"].value == 1
    assert evals["ELIG_TALENT"].severity.value == "ERROR"
    assert evals["EXP_WINDOW_OPEN"].passed is True and evals["EXP_WINDOW_OPEN"].severity.value == "WARN"
    assert evals["EMP_BRANCH_QUOTA"].asset_key == AssetKey("employers")
    assert (datadocs_dir(settings, res.run_id) / "index.html").exists()
    stage = staging_path(live, res.run_id)
    with duckdb.connect(str(stage), read_only=True) as con:
        assert con.sql("SELECT rule_id, entity_key, CAST(as_of AS VARCHAR) FROM findings").fetchall() == [
            ("ELIG-TALENT", "A1", "2026-06-15")]
