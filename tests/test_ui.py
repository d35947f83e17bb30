"""`dagster dev -w workspace.yaml` shows the asset graph by layer, the asset
checks, the schedule and the sensors (queried over GraphQL), and stops by PID."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from process_helpers import stop_group

from pipelines.runner import ensure_dagster_home

REPO = Path(__file__).resolve().parent.parent

QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories {
              name
              schedules { name cronSchedule executionTimezone pipelineName }
              sensors { name }
              pipelines { name isAssetJob }
            }
          }
        }
      }
    }
  }
  assetNodes {
    assetKey { path }
    groupName
    assetChecksOrError { __typename ... on AssetChecks { checks { name } } }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read())


@pytest.mark.slow
def test_dagster_dev_shows_graph_checks_schedule_and_sensors(tmp_path):
    home = tmp_path / "dagster_home"
    ensure_dagster_home(home)
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PERMITS_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "dagster-dev.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-w", str(REPO / "workspace.yaml"),
                             "-h", "127.0.0.1", "-p", str(port)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        data = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError("dagster dev exited: " + (tmp_path / "dagster-dev.log").read_text()[-3000:])
            try:
                data = _graphql(port, QUERY)["data"]
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError):
                time.sleep(1)
                continue
            entries = data["workspaceOrError"].get("locationEntries", [])
            if entries and entries[0]["loadStatus"] == "LOADED":
                break
            time.sleep(1)
        assert data is not None, "UI did not answer on /graphql"
        entry = data["workspaceOrError"]["locationEntries"][0]
        assert entry["name"] == "permits" and entry["loadStatus"] == "LOADED"
        loc = entry["locationOrLoadError"]
        assert loc["__typename"] == "RepositoryLocation", loc
        repo = loc["repositories"][0]
        assert {"name": "permits_daily", "cronSchedule": "0 2 * * *", "executionTimezone": "Asia/Shanghai",
                "pipelineName": "permits_job"} in repo["schedules"]
        assert {"inbox_sensor", "inbox_archive_sensor"} <= {s["name"] for s in repo["sensors"]}
        assert "permits_job" in {p["name"] for p in repo["pipelines"]}

        groups: dict[str, set] = {}
        checks = []
        for node in data["assetNodes"]:
            groups.setdefault(node["groupName"], set()).add("/".join(node["assetKey"]["path"]))
            c = node["assetChecksOrError"]
            if c["__typename"] == "AssetChecks":
                checks += [ch["name"] for ch in c["checks"]]
        assert {"ingest", "rules", "marts", "publish"} <= set(groups)
        assert {"employers", "persons", "contributions", "quarantine", "ingest_log"} <= groups["ingest"]
        assert "findings" in groups["rules"]
        assert {"permit_status", "candidates"} <= groups["marts"]
        assert {"site", "warehouse_commit"} <= groups["publish"]
        # one asset check per rule of the rule book
        from expectations.rulebook import load_rules

        rule_count = len(load_rules())
        assert len(checks) >= rule_count > 0
    finally:
        stop_group(proc, log)
    assert proc.poll() is not None
