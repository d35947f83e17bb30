"""Fault injection: runs killed (SIGKILL) at chosen points, a second writer,
failing steps, permission and disk-full errors. Uses the stand-in graph of
test_orchestration_toy.py with the real warehouse/commit/runner machinery."""
import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from assets.warehouse import Warehouse, WarehouseBusy, WarehouseIOError, lock_holder
import assets.warehouse as warehouse_module  # noqa: E402
from pipelines.runner import execute_run
from test_orchestration_toy import REPO, toy_defs, write_people

TOY = Path(__file__).resolve().parent / "test_orchestration_toy.py"
D1, D2 = "2026-03-01", "2026-03-02"


def state(wh: Path) -> dict:
    """Every table of the live warehouse with its row count, plus the findings."""
    con = duckdb.connect(str(wh), read_only=True)
    try:
        tables = [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        counts = {t: con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
        fnd = sorted(con.sql("SELECT rule_id, entity_key, as_of FROM findings").fetchall())
        runs = sorted(r[0] for r in con.sql("SELECT run_id FROM run_summary").fetchall())
    finally:
        con.close()
    return {"counts": counts, "findings": fnd, "runs": runs}


def start_toy(inp: Path, as_of: str, wh: Path, site: Path, fault: str | None = None, marker: Path | None = None,
              timeout: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PERMITS_FAULT", None)
    if fault:
        env.update(PERMITS_FAULT=fault, PERMITS_FAULT_MARKER=str(marker))
    return subprocess.Popen([sys.executable, str(TOY), str(inp), as_of, str(wh), str(site), str(timeout)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def wait_for(marker: Path, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before the fault point: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("fault point not reached")
        time.sleep(0.05)


class FakeClock:
    """``time`` for assets.warehouse: monotonic() advances only by sleep()."""

    def __init__(self) -> None:
        self.now, self.slept = 1000.0, 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds

    def __getattr__(self, name):
        return getattr(time, name)


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def run_toy(inp, as_of, wh, site, **kw) -> dict:
    return execute_run(inp, as_of, wh, site, instance=DagsterInstance.ephemeral(), defs=toy_defs(), **kw)


@pytest.fixture()
def world(tmp_path):
    """A committed first run (30 people) and a second input (50 people)."""
    w = {"wh": tmp_path / "wh" / "warehouse.duckdb", "site": tmp_path / "pub" / "site",
         "in1": tmp_path / "in1", "in2": tmp_path / "in2", "tmp": tmp_path}
    write_people(w["in1"], 30)
    write_people(w["in2"], 50, seed=1)
    w["first"] = run_toy(w["in1"], D1, w["wh"], w["site"])
    w["state1"] = state(w["wh"])
    w["index1"] = (w["site"] / "index.html").read_text()
    return w


def leftovers(w) -> list[str]:
    names = [p.name for p in w["wh"].parent.iterdir() if ".run-" in p.name]
    temps = sorted(p.name for p in w["site"].parent.iterdir() if p.name not in ("site", "site.lock"))  # lock stays
    kept = [n for n in temps if n.startswith(".site.old-")]
    if len(kept) == 1 and not any(n.startswith(".site.new-") for n in temps):
        temps.remove(kept[0])  # the real publish keeps the one site it replaced (its next build folder)
    return sorted(names + temps)


@pytest.mark.parametrize("point", ["between_assets", "mid_warehouse", "mid_site", "before_commit"])
def test_killed_run_leaves_previous_state_and_next_run_recovers(world, point):
    w = world
    marker = w["tmp"] / "reached"
    proc = start_toy(w["in2"], D2, w["wh"], w["site"], fault=point, marker=marker)
    wait_for(marker, proc)
    held = lock_holder(w["wh"])
    assert held and str(proc.pid) in held  # the killed run held the single-writer lock
    kill(proc)
    # live warehouse: exactly the previous committed state (tables, row counts, findings)
    assert state(w["wh"]) == w["state1"]
    # previous site still readable, the whole of it
    idx = (w["site"] / "index.html").read_text()
    # the site is swapped only after the warehouse commit: killed anywhere before it, the old site stays
    assert idx == w["index1"]
    assert lock_holder(w["wh"]) is None  # the kernel dropped the dead run's lock
    if point in ("mid_warehouse", "between_assets", "mid_site"):
        assert leftovers(w), "expected stale staging files / site temp folders from the killed run"
    # the next run succeeds without any clean-up by hand and removes the leftovers
    again = run_toy(w["in2"], D2, w["wh"], w["site"])
    s = state(w["wh"])
    assert s["counts"]["people"] == 50 and again["run_id"] in s["runs"] and w["first"]["run_id"] in s["runs"]
    assert again["run_id"] in (w["site"] / "index.html").read_text()
    assert leftovers(w) == []


def test_kill_mid_warehouse_in_a_fresh_warehouse_leaves_no_live_file(tmp_path):
    write_people(tmp_path / "in", 20)
    wh, site = tmp_path / "warehouse.duckdb", tmp_path / "site"
    marker = tmp_path / "reached"
    proc = start_toy(tmp_path / "in", D1, wh, site, fault="mid_warehouse", marker=marker)
    wait_for(marker, proc)
    kill(proc)
    assert not wh.exists()  # "none of it": no half-written live warehouse
    run_toy(tmp_path / "in", D1, wh, site)
    assert state(wh)["counts"]["people"] == 20


def test_second_writer_gets_busy_message_or_waits(world, monkeypatch, capfd):
    w = world
    marker = w["tmp"] / "reached"
    proc = start_toy(w["in2"], D2, w["wh"], w["site"], fault="between_assets", marker=marker)
    try:
        wait_for(marker, proc)
        clock = FakeClock()  # the lock's waiting, on a clock the test controls (no wall-clock bounds)
        monkeypatch.setattr(warehouse_module, "time", clock)
        with pytest.raises(WarehouseBusy) as exc:
            run_toy(w["in1"], D1, w["wh"], w["site"])
        assert clock.slept == 0  # no timeout: fails at once, without waiting
        msg = str(exc.value)
        assert "warehouse busy" in msg and "数据仓库正被写入" in msg and str(w["wh"]) in msg and str(proc.pid) in msg
        # bounded wait: gives up after the timeout with the same clear message
        with pytest.raises(WarehouseBusy, match="waited 1 s"):
            run_toy(w["in1"], D1, w["wh"], w["site"], lock_timeout=1)
        assert 1 <= clock.slept < 1.5  # waited the timeout (in 0.2 s polls), then gave up
        monkeypatch.setattr(warehouse_module, "time", time)
        assert "waiting up to 1 s" in capfd.readouterr().err  # the waiting run says so in its log
        assert state(w["wh"]) == w["state1"]
        assert Warehouse(database=str(w["wh"])).lock_timeout_seconds >= 600  # UI-launched runs wait by default
        # the `permits run` command: non-zero exit and one clear line
        from typer.testing import CliRunner

        from pipelines.cli import app

        monkeypatch.setenv("DAGSTER_HOME", str(w["tmp"] / "dh"))
        res = CliRunner().invoke(app, ["run", "--input", str(w["in1"]), "--as-of", D1, "--warehouse", str(w["wh"]),
                                       "--site", str(w["site"])])
        assert res.exit_code != 0
        assert "warehouse busy" in res.output and "Traceback" not in res.output
        assert state(w["wh"]) == w["state1"]
        # a waiting run proceeds once the holder is gone
        threading.Timer(1.0, kill, args=(proc,)).start()
        done = run_toy(w["in1"], D1, w["wh"], w["site"], lock_timeout=60)
        assert done["run_id"] in state(w["wh"])["runs"]
    finally:
        if proc.poll() is None:
            kill(proc)


def test_failing_step_names_the_problem_and_cleans_up_in_process(world, monkeypatch):
    w = world
    monkeypatch.setenv("PERMITS_FAULT_RAISE", "between_assets")
    with pytest.raises(RuntimeError) as exc:
        run_toy(w["in2"], D2, w["wh"], w["site"])
    msg = str(exc.value)
    assert "employer_summary" in msg and "people.csv row 3 column born" in msg and "TOY-AGE" in msg
    assert state(w["wh"]) == w["state1"] and leftovers(w) == []
    assert lock_holder(w["wh"]) is None
    monkeypatch.delenv("PERMITS_FAULT_RAISE")
    assert run_toy(w["in2"], D2, w["wh"], w["site"])["run_id"] in state(w["wh"])["runs"]


# ------------------------------------------------------------------ permission / disk full

def _mount_tmpfs(path: Path, opts: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_read_only_warehouse_folder_names_the_path(tmp_path):
    ro = tmp_path / "ro"
    mounted = _mount_tmpfs(ro, "ro,size=1m")
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("running as root without mount: cannot make a read-only folder")
        ro.chmod(0o555)
    try:
        wh = Warehouse(database=str(ro / "warehouse.duckdb"))
        with pytest.raises(WarehouseIOError) as exc:
            with wh.run_connection("r1"):
                pass
        msg = str(exc.value)
        assert str(ro) in msg and ("read-only" in msg or "permission denied" in msg)
    finally:
        if mounted:
            _umount(ro)
        else:
            ro.chmod(0o755)


def _fill_warehouse(path: Path, rows: int) -> None:
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE t AS SELECT i, md5(i::VARCHAR) AS h FROM range({rows}) r(i)")
    con.close()


def test_disk_full_names_the_path(tmp_path, monkeypatch):
    # injected ENOSPC (always runs)
    live = tmp_path / "w.duckdb"
    _fill_warehouse(live, 1000)
    before = live.read_bytes()

    def full(src, dst, *a, **k):
        Path(dst).write_bytes(b"x")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full)
    with pytest.raises(WarehouseIOError) as exc:
        with Warehouse(database=str(live)).run_connection("r1"):
            pass
    assert "no space left" in str(exc.value) and "w.run-r1.duckdb" in str(exc.value)
    assert live.read_bytes() == before and not list(tmp_path.glob("*.copying"))


def test_disk_full_on_a_real_small_file_system(tmp_path):
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "size=2m"):
        pytest.skip("needs root and mount to create a small file system (the injected test covers the message)")
    try:
        live = small / "w.duckdb"
        _fill_warehouse(tmp_path / "w.duckdb", 60_000)
        shutil.copyfile(tmp_path / "w.duckdb", live)
        assert live.stat().st_size > 1_100_000, live.stat().st_size  # a copy does not fit beside it
        before = state_counts(live)
        with pytest.raises(WarehouseIOError) as exc:
            with Warehouse(database=str(live)).run_connection("r1"):
                pass
        assert str(small) in str(exc.value) and "no space left" in str(exc.value)
        assert state_counts(live) == before
        assert not [p for p in small.iterdir() if ".run-" in p.name]
    finally:
        _umount(small)


def state_counts(live: Path) -> int:
    con = duckdb.connect(str(live), read_only=True)
    try:
        return con.sql("SELECT count(*) FROM t").fetchall()[0][0]
    finally:
        con.close()


def test_writing_after_commit_is_refused(tmp_path):
    wh = Warehouse(database=str(tmp_path / "w.duckdb"))
    with wh.run_connection("r1") as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    wh.commit("r1")
    with pytest.raises(RuntimeError, match="already committed"):
        with wh.run_connection("r1"):
            pass
    assert lock_holder(tmp_path / "w.duckdb") is None and not list(tmp_path.glob("w.run-*"))


def test_staging_copy_write_back_is_started_and_leaves_the_bytes(tmp_path):
    """start_writeback (Linux sync_file_range) starts writing a fresh staging
    copy to disk without changing it; a missing file is no error."""
    import sys

    from assets.warehouse import start_writeback

    f = tmp_path / "stage.duckdb"
    data = os.urandom(3 << 20)
    f.write_bytes(data)
    assert start_writeback(f) is sys.platform.startswith("linux")
    assert f.read_bytes() == data
    assert start_writeback(tmp_path / "missing.duckdb") is False
