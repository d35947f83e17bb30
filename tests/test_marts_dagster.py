"""The mart assets as Dagster runs them: partitioned, grouped, writing the run's
staging warehouse only, metadata without personal data."""
from __future__ import annotations

import re

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from assets.marts import marts_assets
from assets.marts.build import build_all
from assets.marts.comments import MART_DOCS
from assets.marts.sample import small_world
from assets.settings import AS_OF_PARTITIONS, PermitsSettings
from assets.warehouse import Warehouse, abandon_run, staging_path


def test_asset_definitions():
    keys = {k.to_user_string() for a in marts_assets for k in a.keys}
    assert keys == set(MART_DOCS)
    for a in marts_assets:
        for k in a.keys:
            assert a.group_names_by_key[k] == "marts"
            assert "duckdb" in a.specs_by_key[k].kinds
        assert a.partitions_def == AS_OF_PARTITIONS
    deps = {k.to_user_string(): {d.to_user_string() for d in a.asset_deps[k]} for a in marts_assets for k in a.keys}
    assert {"permits", "findings"} <= deps["permit_status"]
    assert "candidates" in deps["todo_candidates_90d"]


@pytest.mark.slow
def test_materialize_marts_through_dagster(tmp_path):
    live = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(live))
    w = small_world(con)
    con.close()
    as_of = w["as_of"].isoformat()
    settings = PermitsSettings(site_dir=str(tmp_path / "site"))
    res = materialize(marts_assets, partition_key=as_of, instance=DagsterInstance.ephemeral(),
                      resources={"settings": settings, "warehouse": Warehouse(database=str(live))})
    try:
        assert res.success
        stage = staging_path(live, res.run_id)
        ro = duckdb.connect(str(stage), read_only=True)
        ref = duckdb.connect()
        small_world(ref)
        build_all(ref, w["as_of"], settings.policy_path())
        for t in MART_DOCS:  # same rows as building directly
            assert ro.sql(f"SELECT count(*) FROM {t}").fetchall() == ref.sql(f"SELECT count(*) FROM {t}").fetchall()
        assert ro.sql("SELECT DISTINCT as_of FROM permit_status").fetchall() == [(w["as_of"],)]
        ro.close()
        # the live file is untouched until warehouse_commit
        live_con = duckdb.connect(str(live), read_only=True)
        assert live_con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'permit_status'").fetchall() \
            == [(0,)]
        live_con.close()
        # metadata carries counts, never an ID number or a name
        names = {r[0] for r in ref.sql("SELECT name FROM persons").fetchall()}
        for mat in res.get_asset_materialization_events():
            md = mat.materialization.metadata
            assert "rows" in md
            text = " ".join(str(v.value) for v in md.values())
            assert not re.search(r"\d{17}[\dX]", text)
            assert not any(n in text for n in names)
    finally:
        abandon_run(live, res.run_id)
    assert not staging_path(live, res.run_id).exists()


def test_materialize_a_subset(tmp_path):
    live = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(live))
    w = small_world(con)
    con.close()
    settings = PermitsSettings(site_dir=str(tmp_path / "site"))
    res = materialize(marts_assets, partition_key=w["as_of"].isoformat(), instance=DagsterInstance.ephemeral(),
                      selection=["permit_status", "todo_renewals"],
                      resources={"settings": settings, "warehouse": Warehouse(database=str(live))})
    try:
        assert res.success
        got = {e.asset_key.to_user_string() for e in res.get_asset_materialization_events()}
        assert got == {"permit_status", "todo_renewals"}
        ro = duckdb.connect(str(staging_path(live, res.run_id)), read_only=True)
        have = {r[0] for r in ro.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        ro.close()
        assert {"permit_status", "todo_renewals"} <= have and "candidates" not in have
    finally:
        abandon_run(live, res.run_id)


def test_missing_input_table_is_empty_as_in_the_rule_step(tmp_path):
    """A contract table absent from the warehouse counts as empty, as the rule
    step counts it (one meaning): the marts build, with no permits."""
    live = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(live))
    small_world(con)
    con.execute("DROP TABLE permits")
    con.close()
    settings = PermitsSettings(site_dir=str(tmp_path / "site"))
    res = materialize(marts_assets, partition_key="2026-06-15", instance=DagsterInstance.ephemeral(),
                      selection=["permit_status"], raise_on_error=False,
                      resources={"settings": settings, "warehouse": Warehouse(database=str(live))})
    try:
        assert res.success
        ro = duckdb.connect(str(staging_path(live, res.run_id)), read_only=True)
        assert ro.sql("SELECT count(*) FROM permit_status").fetchall() == [(0,)]
        ro.close()
    finally:
        abandon_run(live, res.run_id)


def test_broken_input_table_names_the_problem(tmp_path):
    live = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(live))
    small_world(con)
    con.execute("ALTER TABLE permits DROP COLUMN expires_on")
    con.close()
    settings = PermitsSettings(site_dir=str(tmp_path / "site"))
    res = materialize(marts_assets, partition_key="2026-06-15", instance=DagsterInstance.ephemeral(),
                      selection=["permit_status"], raise_on_error=False,
                      resources={"settings": settings, "warehouse": Warehouse(database=str(live))})
    try:
        assert not res.success
        msgs = " ".join(str(getattr(e.event_specific_data, "error", "") or "") for e in res.all_events
                        if e.is_step_failure)
        assert "marts: preparing" in msgs and "expires_on" in msgs, msgs
    finally:
        abandon_run(live, res.run_id)
