"""Re-runs, history, backfill, run summary and CLI progress (stand-in graph)."""
import datetime as dt
import io

import duckdb
import pytest
from dagster import DagsterInstance
from hypothesis import given, strategies as st
from rich.console import Console

from pipelines.runner import (DAGSTER_YAML, backfill_dates, ensure_dagster_home, execute_backfill, execute_run,
                              run_config_for, run_resources)
from test_orchestration_toy import toy_defs, write_people


def run_toy(inp, as_of, wh, site, **kw):
    return execute_run(inp, as_of, wh, site, instance=kw.pop("instance", None) or DagsterInstance.ephemeral(),
                       defs=toy_defs(), **kw)


def findings_of(wh, run_id):
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return sorted(con.execute("SELECT as_of, rule_id, severity, entity_key, uscc, detail::VARCHAR "
                                  "FROM findings_history WHERE run_id = ?", [run_id]).fetchall())
    finally:
        con.close()


def test_rerun_of_a_past_as_of_gives_the_same_findings(tmp_path):
    write_people(tmp_path / "in", 200)
    wh, site = tmp_path / "w.duckdb", tmp_path / "site"
    first = run_toy(tmp_path / "in", "2025-06-30", wh, site)
    other = run_toy(tmp_path / "in", "2026-01-15", wh, site)  # other runs in between
    run_toy(tmp_path / "in", "2024-02-29", wh, site)
    again = run_toy(tmp_path / "in", "2025-06-30", wh, site)
    f1, f2, fo = findings_of(wh, first["run_id"]), findings_of(wh, again["run_id"]), findings_of(wh, other["run_id"])
    assert f1 and f1 == f2
    assert fo != f1  # as_of matters: the comparison could fail
    con = duckdb.connect(str(wh), read_only=True)
    hist = con.sql("SELECT run_id, min(as_of), any_value(policy), count(*) FROM findings_history GROUP BY 1").fetchall()
    summ = con.sql("SELECT run_id, as_of, policy FROM run_summary ORDER BY committed_at").fetchall()
    con.close()
    # history shows which run produced what (4 runs, each with its own as_of), and which policy
    assert {h[0] for h in hist} == {r[0] for r in summ} and len(summ) == 4
    assert [str(r[1]) for r in summ] == ["2025-06-30", "2026-01-15", "2024-02-29", "2025-06-30"]
    assert all(h[2] == "toy-policy v1" for h in hist)
    assert all(r[2] for r in summ)  # policy version of the policy file


def test_backfill_runs_each_day_once_in_order(tmp_path):
    write_people(tmp_path / "in", 20)
    wh, site = tmp_path / "w.duckdb", tmp_path / "site"
    out = execute_backfill(tmp_path / "in", "2026-03-05", 5, wh, site, instance=DagsterInstance.ephemeral(),
                           defs=toy_defs())
    assert [o["as_of"] for o in out] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    con = duckdb.connect(str(wh), read_only=True)
    rows = con.sql("SELECT as_of, tags->>'$.\"permits/backfill\"', tags->>'$.\"dagster/partition\"' "
                   "FROM run_summary ORDER BY committed_at").fetchall()
    con.close()
    assert [str(r[0]) for r in rows] == [o["as_of"] for o in out]
    assert {r[1] for r in rows} == {"2026-03-01..2026-03-05"}
    assert [r[2] for r in rows] == [o["as_of"] for o in out]


@given(st.dates(min_value=dt.date(2020, 3, 1), max_value=dt.date(2027, 12, 31)), st.integers(1, 400))
def test_backfill_dates_are_consecutive_and_end_on_the_day(end, days):
    got = [dt.date.fromisoformat(d) for d in backfill_dates(end.isoformat(), days)]
    assert len(got) == days and got[-1] == end
    assert all((b - a).days == 1 for a, b in zip(got, got[1:]))


def test_backfill_days_must_be_positive():
    with pytest.raises(ValueError, match="backfill-days"):
        backfill_dates("2026-01-01", 0)


def test_cli_progress_names_each_step_as_it_completes(tmp_path):
    write_people(tmp_path / "in", 10)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=120)
    s = run_toy(tmp_path / "in", "2026-03-01", tmp_path / "w.duckdb", tmp_path / "site", console=console)
    out = buf.getvalue()
    for step in ("ingest", "findings", "employer_summary", "site", "warehouse_commit"):
        assert f"✓ {step}" in out
    # in completion order
    assert out.index("✓ ingest") < out.index("✓ findings") < out.index("✓ site") < out.index("✓ warehouse_commit")
    assert s["run_id"] in out
    assert "asset checks: 1 passed, 0 with findings" in out
    assert (s["rows_read"], s["rows_loaded"], s["input_files"]) == (10, 10, 1)


def test_cli_progress_shows_the_failing_step_and_its_message(tmp_path, monkeypatch):
    write_people(tmp_path / "in", 10)
    monkeypatch.setenv("PERMITS_FAULT_RAISE", "mid_site")
    buf = io.StringIO()
    with pytest.raises(RuntimeError, match="site: .*people.csv row 3 column born"):
        run_toy(tmp_path / "in", "2026-03-01", tmp_path / "w.duckdb", tmp_path / "site",
                console=Console(file=buf, width=40))
    assert "✗ site" in buf.getvalue() and "TOY-AGE" in buf.getvalue()
    # the failure on one line even in a 40-column terminal (the file, row and column stay copyable)
    line = next(x for x in buf.getvalue().splitlines() if "✗ site" in x)
    assert "TOY-AGE" in line and "people.csv" in line and "row 3" in line, buf.getvalue()


def test_run_summary_log_page_has_counts_not_personal_data(tmp_path):
    write_people(tmp_path / "in", 25)
    inst = DagsterInstance.ephemeral()
    s = run_toy(tmp_path / "in", "2026-03-01", tmp_path / "w.duckdb", tmp_path / "site", instance=inst)
    logs = [e.user_message for e in inst.all_logs(s["run_id"]) if "运行摘要 / run summary" in (e.user_message or "")]
    assert len(logs) == 1
    page = logs[0]
    assert "read 25" in page and "loaded 25" in page and "people.csv → people" in page and "error" in page
    assert "P0-000" not in page  # no person keys in the log
    for step in ("ingest", "findings", "employer_summary", "site"):
        assert f"  {step} " in page


def test_run_config_holds_only_the_runs_own_values(tmp_path):
    from assets.settings import PermitsSettings
    from assets.warehouse import Warehouse

    cfg = run_config_for(tmp_path / "in", accept_drop=["people"], snapshot=True)
    # per-run values are step config; no resource is overridden through run config
    assert cfg == {"ops": {"ingest": {"config": {"input_dir": str(tmp_path / "in")}},
                           "input_guard": {"config": {"accept_drop": ["people"]}},
                           "warehouse_commit": {"config": {"snapshot": True}}}}
    res = run_resources(tmp_path / "w.duckdb", tmp_path / "site", lock_timeout=5)
    assert isinstance(res["settings"], PermitsSettings) and res["settings"].site_dir == str(tmp_path / "site")
    assert isinstance(res["warehouse"], Warehouse) and res["warehouse"].lock_timeout_seconds == 5.0
    assert res["warehouse"].database == str(tmp_path / "w.duckdb")


def test_a_launchpad_run_with_the_defaults_reads_the_inbox(tmp_path, monkeypatch):
    """The code location's job needs no run config (the UI's Launchpad defaults
    are valid), and its ingest step then reads the deployment's inbox."""
    from dagster import validate_run_config

    from assets.settings import INGEST_OP, IngestConfig, run_input_dir
    from pipelines.automation import JOB_NAME
    from pipelines.definitions import build_definitions

    monkeypatch.setenv("PERMITS_DATA_DIR", str(tmp_path))
    defs = build_definitions()
    settings = defs.resources["settings"]
    assert validate_run_config(defs.resolve_job_def(JOB_NAME), {})["ops"][INGEST_OP]["config"] == {"input_dir": ""}
    assert IngestConfig().folder(settings) == tmp_path / "inbox" == run_input_dir(None, settings)
    assert IngestConfig(input_dir=str(tmp_path / "x")).folder(settings) == tmp_path / "x"


def test_as_of_is_the_partition_key_and_a_run_without_one_is_refused():
    from dagster import build_asset_context

    from assets.settings import NoPartition, resolve_as_of

    assert resolve_as_of(build_asset_context(partition_key="2026-03-05")) == dt.date(2026, 3, 5)
    with pytest.raises(NoPartition, match="partition"):  # Dagster itself would run it; the graph cannot
        resolve_as_of(build_asset_context())


def test_dagster_home_queues_runs_one_at_a_time(tmp_path):
    home = tmp_path / "dh"
    ensure_dagster_home(home)
    assert (home / "dagster.yaml").read_text() == DAGSTER_YAML
    inst = DagsterInstance.from_config(str(home))
    try:
        coord = inst.run_coordinator
        assert type(coord).__name__ == "QueuedRunCoordinator"
        assert inst.get_concurrency_config().run_queue_config.max_concurrent_runs == 1  # what the daemon reads
    finally:
        inst.dispose()
    # an operator's own file is kept
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    ensure_dagster_home(home)
    assert "max_concurrent_runs" not in (home / "dagster.yaml").read_text()


def test_failure_message_is_the_users_error_not_dagsters_wrapper():
    from dagster._utils.error import SerializableErrorInfo

    from pipelines.runner import _innermost_message

    inner = SerializableErrorInfo("CatalogException: Catalog Error: no function x\nDid you mean y?\n\nLINE 7: ^^^^\n",
                                  [], "CatalogException")
    mid = SerializableErrorInfo("RuleBookError: rules/elig.yaml ELIG-CONTRIB-6M: facts SQL failed: Catalog Error\n",
                                [], "RuleBookError", cause=inner)
    outer = SerializableErrorInfo('Error occurred while executing op "findings":\n', [],
                                  "DagsterExecutionStepExecutionError", cause=mid)
    assert _innermost_message(outer) == "RuleBookError: rules/elig.yaml ELIG-CONTRIB-6M: facts SQL failed: Catalog Error"
    assert _innermost_message(inner) == "CatalogException: Catalog Error: no function x"
    assert _innermost_message(None) == "step failed"
