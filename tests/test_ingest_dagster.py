"""The ingest multi-asset in Dagster: definitions validate, and a partitioned
materialisation writes the run's staged warehouse with per-table metadata."""
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from fixtures.ingest.make import base_folder, make_id, write_csv

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_definitions_validate():
    exe = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(exe), "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Validation successful" in proc.stdout + proc.stderr


def test_ingest_asset_specs():
    from assets.ingest import ingest_assets
    from assets.settings import AS_OF_PARTITIONS

    (asset,) = ingest_assets
    keys = {k.to_user_string() for k in asset.keys}
    assert keys == {"employers", "persons", "employments", "work_history", "education_history", "contributions",
                    "dependents", "permits", "applications", "withholding_agents", "waivers", "employer_contacts", "quarantine", "ingest_log"}
    for spec in asset.specs:
        assert spec.group_name == "ingest"
        assert {"polars", "duckdb"} <= set(spec.kinds)
    assert asset.partitions_def == AS_OF_PARTITIONS


@pytest.mark.slow
def test_materialize_ingest_partition(tmp_path):
    from dagster import DagsterInstance, materialize

    from assets.ingest import ingest_assets
    from dagster import RunConfig

    from assets.settings import INGEST_OP, IngestConfig, PermitsSettings
    from assets.warehouse import Warehouse, staging_path

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    p1 = make_id(seq=1)
    base_folder(inbox, [p1], [1])
    write_csv(inbox / "persons_bad.csv", ["id_number", "name"], [["123", "某"]])
    live = tmp_path / "w.duckdb"
    # the input folder is the run's own config of the ingest step (the deployment's inbox is elsewhere)
    result = materialize(ingest_assets, partition_key="2025-06-30", instance=DagsterInstance.ephemeral(),
                         run_config=RunConfig(ops={INGEST_OP: IngestConfig(input_dir=str(inbox))}),
                         resources={"settings": PermitsSettings(site_dir=str(tmp_path / "site"),
                                                                inbox_dir=str(tmp_path / "no-inbox")),
                                    "warehouse": Warehouse(database=str(live))})
    assert result.success
    mats = {m.asset_key.to_user_string(): m.metadata for m in
            (e.step_materialization_data.materialization for e in result.get_asset_materialization_events())}
    assert mats["persons"]["rows_loaded"].value == 1 and mats["persons"]["rows_quarantined"].value == 1
    assert mats["quarantine"]["rows"].value == 1
    stage = staging_path(live, result.run_id)
    con = duckdb.connect(str(stage), read_only=True)
    try:
        assert con.sql("SELECT as_of::VARCHAR, rule_id FROM findings").fetchall() == [("2025-06-30", "DQ-BAD-ID")]
        assert con.sql("SELECT count(*) FROM persons").fetchall() == [(1,)]
    finally:
        con.close()
    from assets.warehouse import release_lock

    release_lock(live)
