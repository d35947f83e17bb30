"""From the UI (dagster dev + its daemon, GraphQL like the web page): a
partition backfill (two days) of the stand-in graph queues one run per day and runs them
one at a time (DAGSTER_HOME from `ensure_dagster_home`), and the inbox sensor,
once started, runs a delivery and archives it."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest
from process_helpers import stop_group

from pipelines.runner import ensure_dagster_home
from test_orchestration_toy import write_people

REPO = Path(__file__).resolve().parent.parent
TOY = Path(__file__).resolve().parent / "test_orchestration_toy.py"
DAYS = ["2026-03-01", "2026-03-02"]  # two are enough to see the queue serialise them


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UI:
    def __init__(self, port):
        self.port = port

    def q(self, query: str, variables: dict | None = None) -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/graphql",
                                     data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            out = json.loads(r.read())
        assert "errors" not in out, out
        return out["data"]


def _wait(cond, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


RUNS = """{ runsOrError { ... on Runs { results { runId status startTime endTime tags { key value } } } } }"""


@pytest.mark.slow
def test_ui_backfill_runs_one_at_a_time_and_sensor_archives(tmp_path):
    data = tmp_path / "data"
    write_people(data / "backfill-input", 30)
    (data / "inbox").mkdir(parents=True)
    home = tmp_path / "dh"
    ensure_dagster_home(home)
    ws = tmp_path / "workspace.yaml"
    ws.write_text(f"load_from:\n  - python_file:\n      relative_path: {TOY}\n      attribute: defs\n"
                  f"      working_directory: {REPO}\n      location_name: toy\n")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PERMITS_TOY_DATA": str(data), "PYTHONPATH": str(REPO)}
    log = (tmp_path / "dev.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-w", str(ws), "-h", "127.0.0.1", "-p", str(port)],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ui = UI(port)
    try:
        def loaded():
            try:
                e = ui.q("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")
            except OSError:
                return False
            ents = e["workspaceOrError"]["locationEntries"]
            return ents and ents[0]["loadStatus"] == "LOADED"

        _wait(loaded, 180, "the code location")
        # the backfill reads its own input folder: the ingest step's config, like the Launchpad
        res = ui.q("""mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
                        __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
                   {"p": {"selector": {"partitionSetName": "permits_job_partition_set",
                                       "repositorySelector": {"repositoryName": "__repository__",
                                                              "repositoryLocationName": "toy"}},
                          "partitionNames": DAYS,
                          "runConfigData": {"ops": {"ingest": {"config": {
                              "input_dir": str(data / "backfill-input")}}}}}})
        assert res["launchPartitionBackfill"]["__typename"] == "LaunchBackfillSuccess", res

        def backfill_done():
            runs = ui.q(RUNS)["runsOrError"]["results"]
            bf = [r for r in runs if any(t["key"] == "dagster/backfill" for t in r["tags"])]
            if len(bf) == len(DAYS) and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in bf):
                return bf
            return None

        bf = _wait(backfill_done, 420, "the backfill runs")
        assert all(r["status"] == "SUCCESS" for r in bf), bf
        spans = sorted((r["startTime"], r["endTime"]) for r in bf)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), spans  # never overlapped
        con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
        days = sorted(str(r[0]) for r in con.sql("SELECT as_of FROM run_summary").fetchall())
        con.close()
        assert days == DAYS

        # the inbox sensor, started from the UI, runs a delivery; the run-status sensor archives it
        for name in ("inbox_sensor", "inbox_archive_sensor"):
            r = ui.q("""mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }""",
                     {"s": {"repositoryName": "__repository__", "repositoryLocationName": "toy", "sensorName": name}})
            assert r["startSensor"]["__typename"] == "Sensor", r
        f = write_people(data / "inbox", 8, "people_drop.csv")
        old = time.time() - 60
        os.utime(f, (old, old))
        archived = _wait(lambda: [p for p in (data / "archive").glob("*/people_drop.csv")] if (data / "archive").is_dir()
                         else None, 240, "the inbox run to be archived")
        run_id = archived[0].parent.name
        assert not f.exists()
        runs = {r["runId"]: r for r in ui.q(RUNS)["runsOrError"]["results"]}
        assert runs[run_id]["status"] == "SUCCESS"
        assert {"key": "dagster/sensor_name", "value": "inbox_sensor"} in runs[run_id]["tags"]
    finally:
        stop_group(proc, log)
