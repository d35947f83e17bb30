"""The real job on the demo data: runs killed mid-warehouse and mid-site leave
the previous warehouse and site; the next run needs no clean-up; a past as_of
re-run with other runs in between gives the same findings."""
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from pipelines.runner import execute_run

REPO = Path(__file__).resolve().parent.parent

FINDING_COLS = ("as_of, rule_id, severity, entity_type, entity_key, uscc, id_number, due_on, message_zh, "
                "message_en, detail::VARCHAR")


def snapshot(wh: Path) -> dict:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        tables = [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    finally:
        con.close()


def history(wh: Path, run_id: str) -> list:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return sorted(con.execute(f"SELECT {FINDING_COLS} FROM findings_history WHERE run_id = ?", [run_id]).fetchall(),
                      key=repr)
    finally:
        con.close()


def start_run(inp: Path, as_of: str, wh: Path, site: Path, home: Path) -> subprocess.Popen:
    code = ("import sys; from pathlib import Path; from pipelines.runner import execute_run; "
            "execute_run(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))")
    env = {**os.environ, "PYTHONPATH": str(REPO), "DAGSTER_HOME": str(home)}
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").touch()
    return subprocess.Popen([sys.executable, "-c", code, str(inp), as_of, str(wh), str(site)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def kill_when(proc: subprocess.Popen, cond, what: str, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before {what}: {proc.stderr.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"never reached {what}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def leftovers(wh: Path, site: Path, settle: float = 0.0) -> list[str]:
    """Staging files and site temp folders. The site layer keeps the one site it
    replaced last (`.site.old-<run>`, the next publish's build folder) and
    deletes other leftovers in a background `rm -rf`, so ``settle`` seconds are
    allowed for those to go; staging files must be gone at once."""
    deadline = time.monotonic() + settle
    while True:
        stage = [p.name for p in wh.parent.iterdir() if ".run-" in p.name]
        temps = sorted(p.name for p in site.parent.iterdir() if p.name.startswith(f".{site.name}."))
        kept = [t for t in temps if t.startswith(f".{site.name}.old-")]
        if len(kept) == 1:
            temps.remove(kept[0])
        if stage or not temps or time.monotonic() >= deadline:
            return sorted(stage + temps)
        time.sleep(0.2)


@pytest.mark.slow
def test_real_job_kill_and_rerun(demo_run, tmp_path):
    wh, site = tmp_path / "wh" / "warehouse.duckdb", tmp_path / "pub" / "site"
    wh.parent.mkdir()
    site.parent.mkdir()
    shutil.copyfile(demo_run["warehouse"], wh)
    shutil.copytree(demo_run["site"], site)
    inp, day = demo_run["data"]["dir"], demo_run["as_of"]
    other_day = (dt.date.fromisoformat(day) - dt.timedelta(days=30)).isoformat()
    first_id = demo_run["summary"]["run_id"]
    before, index_before = snapshot(wh), (site / "index.html").read_bytes()

    # 1. killed while writing its staging warehouse (after the copy, once it grew)
    live_size = wh.stat().st_size
    proc = start_run(inp, other_day, wh, site, tmp_path / "dh")
    staged = lambda: any(p.suffix == ".wal" or (p.suffix == ".duckdb" and p.stat().st_size > live_size)  # noqa: E731
                         for p in wh.parent.glob("warehouse.run-*"))
    kill_when(proc, staged, "the warehouse write")
    assert snapshot(wh) == before and (site / "index.html").read_bytes() == index_before
    assert leftovers(wh, site)

    # 2. a different run in between: no manual clean-up needed
    between = execute_run(inp, other_day, wh, site, instance=DagsterInstance.ephemeral())
    assert leftovers(wh, site, settle=60) == []
    after_between, index_between = snapshot(wh), (site / "index.html").read_bytes()
    assert after_between != before or index_between != index_before

    # 3. killed in the middle of writing the site
    proc = start_run(inp, day, wh, site, tmp_path / "dh")
    building = lambda: any(p.name.startswith(f".{site.name}.new-") for p in site.parent.iterdir())  # noqa: E731
    kill_when(proc, building, "the site build")
    assert snapshot(wh) == after_between
    assert (site / "index.html").read_bytes() == index_between  # previous site whole and readable

    # 4. re-run of the first as_of: same findings as the first time
    again = execute_run(inp, day, wh, site, instance=DagsterInstance.ephemeral())
    assert leftovers(wh, site, settle=60) == []
    f1, f2 = history(wh, first_id), history(wh, again["run_id"])
    assert f1 and f1 == f2
    assert history(wh, between["run_id"]) != f1  # another as_of gives other findings: the comparison can fail
    con = duckdb.connect(str(wh), read_only=True)
    runs = con.sql("SELECT run_id, as_of, policy FROM run_summary ORDER BY committed_at").fetchall()
    con.close()
    assert [r[0] for r in runs][-2:] == [between["run_id"], again["run_id"]]
    assert all(r[2] for r in runs)
    # the published index says which run and which policy produced it
    index = (site / "index.html").read_text(encoding="utf-8")
    assert again["run_id"] in index and runs[-1][2] in index
