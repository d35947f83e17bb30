"""The daily schedule, the inbox sensor and the archive run-status sensor."""
import datetime as dt
import json
import os
import time
import zipfile
from pathlib import Path

import duckdb
import pytest
from dagster import (DagsterInstance, RunRequest, SkipReason, build_run_status_sensor_context,
                     build_schedule_context, build_sensor_context)
from hypothesis import given, settings as hsettings, strategies as st

from assets.settings import INGEST_OP, SHANGHAI, PermitsSettings, today_shanghai
from assets.warehouse import Warehouse
from pipelines import automation
from pipelines.automation import (ARCHIVE_SENSOR_NAME, INBOX_SENSOR_NAME, TAG_KEY, TAG_SNAPSHOT, build_schedules,
                                  build_sensors, file_set_key, probe_readable)
from test_orchestration_toy import toy_defs, write_people

UTC = dt.timezone.utc


def _schedule():
    return build_schedules()[0]


def _sensors():
    inbox, archive = build_sensors()
    return inbox, archive


# ------------------------------------------------------------------ schedule

def test_schedule_is_daily_0200_shanghai_and_in_definitions():
    from pipelines.definitions import JOB_NAME, defs

    s = defs.get_schedule_def("permits_daily")
    assert s.cron_schedule == "0 2 * * *" and s.execution_timezone == "Asia/Shanghai"
    # the schedule's and the sensor's runs use the code location's warehouse, which waits for a
    # `permits run` holding the lock instead of failing
    assert defs.resources["warehouse"].lock_timeout_seconds >= 600
    assert s.job_name == JOB_NAME == automation.JOB_NAME
    names = {x.name for x in defs.sensors}
    assert {INBOX_SENSOR_NAME, ARCHIVE_SENSOR_NAME} <= names


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    """Settings whose input folder holds data (no archive yet)."""
    d = tmp_path_factory.mktemp("fed")
    write_people(d / "inbox", 3)
    return PermitsSettings(site_dir=str(d / "site"), inbox_dir=str(d / "inbox"),
                           archive_dir=str(d / "archive"), rejected_dir=str(d / "rejected"))


def _sched_ctx(when, settings):
    wh = Warehouse(database=str(Path(settings.site_dir).parent / "warehouse.duckdb"))
    return build_schedule_context(scheduled_execution_time=when, resources={"settings": settings, "warehouse": wh})


def test_schedule_partition_is_the_shanghai_day(fed):
    sched = _schedule()
    # 02:00 in Beijing on 5 March is 18:00 UTC on 4 March
    req = sched(_sched_ctx(dt.datetime(2026, 3, 4, 18, 0, tzinfo=UTC), fed))
    assert req.partition_key == "2026-03-05"
    assert req.run_key == "daily-2026-03-05"
    # the run's one value besides its partition: the ingest step's input folder; no resource is overridden
    assert req.run_config == {"ops": {INGEST_OP: {"config": {"input_dir": fed.inbox_dir}}}}


@hsettings(max_examples=20, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2020, 1, 2), max_value=dt.datetime(2027, 12, 31)))
def test_schedule_partition_property(fed, when):
    sched = _schedule()
    aware = when.replace(tzinfo=UTC)
    req = sched(_sched_ctx(aware, fed))
    assert req.partition_key == aware.astimezone(SHANGHAI).date().isoformat()


def test_schedule_uses_the_newest_archived_delivery_or_skips(tmp_path):
    d = tmp_path / "d"
    s = PermitsSettings(site_dir=str(d / "site"), inbox_dir=str(d / "inbox"),
                        archive_dir=str(d / "archive"), rejected_dir=str(d / "rejected"))
    when = dt.datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
    res = _schedule()(_sched_ctx(when, s))
    assert isinstance(res, SkipReason) and "no input" in res.skip_message  # never publishes an empty warehouse
    for i, run in enumerate(["run-b", "run-a", "run-c"]):  # delivery order is not name order
        write_people(d / "archive" / run, 2)
        m = d / "archive" / run / "manifest.json"
        m.write_text("{}")
        t = 1_700_000_000 + [2, 1, 0][i] * 100
        os.utime(m, (t, t))
    (d / "archive" / ".incoming" / "k").mkdir(parents=True)
    (d / "archive" / ".incoming" / "k" / "manifest.json").write_text("{}")  # a snapshot of a run not yet done
    req = _schedule()(_sched_ctx(when, s))
    assert req.run_config["ops"][INGEST_OP]["config"]["input_dir"] == str(d / "archive" / "run-b")
    assert req.tags["permits/input"] == str(d / "archive" / "run-b")


def test_schedule_ticks_at_0200_beijing():
    sched = _schedule()
    start = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp()
    from dagster._utils.schedules import schedule_execution_time_iterator  # what the scheduler daemon uses

    ticks = schedule_execution_time_iterator(start, sched.cron_schedule, sched.execution_timezone)
    got = [next(ticks) for _ in range(3)]
    assert [t.astimezone(SHANGHAI).strftime("%m-%d %H:%M") for t in got] == ["06-02 02:00", "06-03 02:00",
                                                                                 "06-04 02:00"]


# ------------------------------------------------------------------ inbox sensor

@pytest.fixture()
def box(tmp_path):
    d = tmp_path / "data"
    s = PermitsSettings(site_dir=str(d / "site"), inbox_dir=str(d / "inbox"),
                        archive_dir=str(d / "archive"), rejected_dir=str(d / "rejected"), sensor_stable_seconds=30)
    (d / "inbox").mkdir(parents=True)
    return {"dir": d, "inbox": d / "inbox", "settings": s, "warehouse": Warehouse(database=str(d / "warehouse.duckdb"))}


def _age(p: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(p, (t, t))


class Tick:
    """One sensor evaluation: the RunRequest or SkipReason, and the cursor after it."""

    def __init__(self, result, cursor):
        self.result, self.cursor = result, cursor
        self.run_requests = [result] if isinstance(result, RunRequest) else []
        self.skip_message = result.skip_message if isinstance(result, SkipReason) else None


def _tick(box, cursor=None) -> Tick:
    inbox_sensor, _ = _sensors()
    ctx = build_sensor_context(cursor=cursor, resources={"settings": box["settings"], "warehouse": box["warehouse"]})
    res = inbox_sensor(ctx)
    return Tick(res, ctx.cursor)


def _request(res: Tick) -> RunRequest | None:
    return res.run_requests[0] if res.run_requests else None


def test_empty_inbox_skips(box):
    res = _tick(box)
    assert not res.run_requests and "empty" in res.skip_message


def test_waits_until_stable_then_requests_once(box):
    f = write_people(box["inbox"], 5)
    res = _tick(box)
    assert not res.run_requests and "waiting" in res.skip_message and f.name in res.skip_message
    _age(f, 31)
    res = _tick(box)
    req = _request(res)
    assert req is not None and req.partition_key == today_shanghai().isoformat()
    snap = Path(req.tags[TAG_SNAPSHOT])
    assert req.run_config == {"ops": {INGEST_OP: {"config": {"input_dir": str(snap)}}}}
    assert (snap / f.name).read_bytes() == f.read_bytes()
    assert os.stat(snap / f.name).st_ino == os.stat(f).st_ino  # hard link, not a copy
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["files"] == [{"name": f.name, "size": f.stat().st_size, "mtime_ns": f.stat().st_mtime_ns}]
    # same file set again: no second run
    again = _tick(box, res.cursor)
    assert not again.run_requests and req.run_key in again.skip_message
    # a changed file is a new file set
    write_people(box["inbox"], 6)
    _age(f, 31)
    new = _request(_tick(box, res.cursor))
    assert new is not None and new.run_key != req.run_key


def test_one_settling_file_holds_back_the_whole_set(box):
    a = write_people(box["inbox"], 3, "people_a.csv")
    write_people(box["inbox"], 3, "people_b.csv")
    _age(a, 100)
    res = _tick(box)
    assert not res.run_requests and "people_b.csv" in res.skip_message


def test_partial_and_hidden_files_are_ignored(box):
    f = write_people(box["inbox"], 3)
    for name in (".hidden.csv", "~$people.xlsx", "big.csv.part", "x.csv.tmp"):
        (box["inbox"] / name).write_text("junk")
    _age(f, 100)
    req = _request(_tick(box))
    names = [x["name"] for x in json.loads((Path(req.tags[TAG_SNAPSHOT]) / "manifest.json").read_text())["files"]]
    assert names == [f.name]
    assert (box["inbox"] / "big.csv.part").exists()


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.integers(0, 10**9), st.integers(0, 10**18)),
                min_size=1, max_size=6, unique_by=lambda t: t[0]), st.randoms())
def test_file_set_key_ignores_order_and_sees_every_change(entries, rnd):
    shuffled = entries[:]
    rnd.shuffle(shuffled)
    assert file_set_key(shuffled) == file_set_key(entries)
    name, size, mtime = entries[0]
    assert file_set_key([(name, size + 1, mtime)] + entries[1:]) != file_set_key(entries)
    assert file_set_key([(name, size, mtime + 1)] + entries[1:]) != file_set_key(entries)


def _bad_files(inbox: Path) -> dict[str, Path]:
    out = {}
    out["empty"] = inbox / "persons.csv"
    out["empty"].write_bytes(b"")
    out["xlsx"] = inbox / "employers.xlsx"
    out["xlsx"].write_text("this is not a workbook")
    out["parquet"] = inbox / "contributions.parquet"
    out["parquet"].write_bytes(b"PAR1" + b"\0" * 20)  # truncated: no trailing magic
    out["txt"] = inbox / "notes.docx"
    out["txt"].write_text("hello")
    return out


def test_probe_names_the_problem(tmp_path):
    bad = _bad_files(tmp_path)
    assert "empty" in probe_readable(bad["empty"])
    assert ".xlsx" in probe_readable(bad["xlsx"])
    assert "Parquet" in probe_readable(bad["parquet"])
    assert "unsupported" in probe_readable(bad["txt"])
    good = tmp_path / "ok.xlsx"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    assert probe_readable(good) is None
    assert probe_readable(write_people(tmp_path, 2)) is None


def test_unreadable_files_go_to_rejected_with_reason(box):
    bad = _bad_files(box["inbox"])
    good = write_people(box["inbox"], 4)
    for p in [*bad.values(), good]:
        _age(p, 100)
    req = _request(_tick(box))
    rej = box["dir"] / "rejected"
    for p in bad.values():
        assert not p.exists() and (rej / p.name).exists()
        reason = (rej / (p.name + ".reason.txt")).read_text(encoding="utf-8")
        assert p.name in reason and "原因" in reason
    names = [x["name"] for x in json.loads((Path(req.tags[TAG_SNAPSHOT]) / "manifest.json").read_text())["files"]]
    assert names == [good.name]


def test_only_unreadable_files_means_no_run(box):
    for p in _bad_files(box["inbox"]).values():
        _age(p, 100)
    res = _tick(box)
    assert not res.run_requests and "rejected" in res.skip_message


# ------------------------------------------------------------------ end to end with the archive sensor

def _run_request_in_process(defs, req: RunRequest, instance):
    job = defs.resolve_job_def(automation.JOB_NAME)
    return job.execute_in_process(run_config=req.run_config, tags=req.tags, partition_key=req.partition_key,
                                  instance=instance, raise_on_error=False)


def test_successful_inbox_run_archives_and_rejects_what_ingest_could_not_read(box):
    good = write_people(box["inbox"], 12)
    bad = box["inbox"] / "people_bad.csv"
    bad.write_text("name,born\nx,2000-01-01\n")  # readable, but the (toy) ingest rejects it: no pid column
    for p in (good, bad):
        _age(p, 100)
    req = _request(_tick(box))
    defs = toy_defs(box["dir"])
    instance = DagsterInstance.ephemeral()
    result = _run_request_in_process(defs, req, instance)
    assert result.success
    con = duckdb.connect(str(box["dir"] / "warehouse.duckdb"), read_only=True)
    assert con.sql("SELECT count(*) FROM people").fetchall() == [(12,)]
    con.close()
    # a file replaced in the inbox after the snapshot stays for the next run
    late = write_people(box["inbox"], 2, "late.csv")
    _, archive_sensor = _sensors()
    ctx = build_run_status_sensor_context(sensor_name=ARCHIVE_SENSOR_NAME, dagster_event=result.get_run_success_event(),
                                          dagster_instance=instance, dagster_run=result.dagster_run)
    archive_sensor(ctx)
    arch = box["dir"] / "archive" / result.run_id
    assert (arch / good.name).read_bytes().startswith(b"pid,born,uscc")
    assert not good.exists() and not bad.exists() and late.exists()
    rej = box["dir"] / "rejected"
    assert "pid" in (rej / "people_bad.csv.reason.txt").read_text(encoding="utf-8")
    assert not (box["dir"] / "archive" / ".incoming" / req.run_key).exists()
    # evaluating the sensor again for the same run changes nothing
    archive_sensor(ctx)
    assert sorted(p.name for p in arch.iterdir()) == ["manifest.json", good.name]


def test_a_run_the_archive_sensor_missed_is_archived_by_the_next_inbox_tick(box):
    """A run-status sensor sees only runs that end after its first tick: a run that succeeded
    while it was stopped (or before its first tick: seen in the UI test) is archived by the
    inbox sensor's next tick instead of staying in .incoming, its files in the inbox, for good."""
    good = write_people(box["inbox"], 5)
    _age(good, 100)
    first = _tick(box)
    req = _request(first)
    incoming = box["dir"] / "archive" / ".incoming" / req.run_key
    instance = DagsterInstance.ephemeral()
    inbox_sensor, _ = _sensors()
    resources = {"settings": box["settings"], "warehouse": box["warehouse"]}
    # no run of the snapshot yet (launched, not started): it stays, and the set is not requested again
    res = inbox_sensor(build_sensor_context(cursor=first.cursor, resources=resources, instance=instance))
    assert incoming.is_dir() and good.exists() and isinstance(res, SkipReason)
    result = _run_request_in_process(toy_defs(box["dir"]), req, instance)
    assert result.success
    # the archive sensor never ran for it; the inbox sensor's tick archives it
    res = inbox_sensor(build_sensor_context(cursor=first.cursor, resources=resources, instance=instance))
    arch = box["dir"] / "archive" / result.run_id
    assert (arch / good.name).is_file() and not good.exists() and not incoming.exists()
    assert isinstance(res, SkipReason) and "empty" in res.skip_message
    inbox_sensor(build_sensor_context(cursor=first.cursor, resources=resources, instance=instance))  # again: no-op
    assert sorted(p.name for p in arch.iterdir()) == ["manifest.json", good.name]


def test_a_delivery_that_cannot_be_archived_does_not_hold_back_the_next(box, monkeypatch):
    good = write_people(box["inbox"], 4)
    _age(good, 100)
    first = _tick(box)
    instance = DagsterInstance.ephemeral()
    assert _run_request_in_process(toy_defs(box["dir"]), _request(first), instance).success

    def fail(*a, **k):
        raise PermissionError("archive is read-only")

    monkeypatch.setattr(automation, "archive_run", fail)
    late = write_people(box["inbox"], 2, "late.csv")
    _age(late, 100)
    inbox_sensor, _ = _sensors()
    res = inbox_sensor(build_sensor_context(cursor=first.cursor, instance=instance,
                                            resources={"settings": box["settings"], "warehouse": box["warehouse"]}))
    assert isinstance(res, RunRequest) and res.run_key != _request(first).run_key  # the new file set still runs


def test_runs_without_the_inbox_tag_archive_nothing(box):
    good = write_people(box["inbox"], 3)
    _age(good, 100)
    req = _request(_tick(box))
    instance = DagsterInstance.ephemeral()
    result = _run_request_in_process(toy_defs(box["dir"]), req, instance)
    assert result.success
    _, archive_sensor = _sensors()
    other = result.dagster_run.with_tags({k: v for k, v in result.dagster_run.tags.items() if k != TAG_KEY})
    ctx = build_run_status_sensor_context(sensor_name=ARCHIVE_SENSOR_NAME, dagster_event=result.get_run_success_event(),
                                          dagster_instance=instance, dagster_run=other)
    archive_sensor(ctx)
    assert good.exists() and not (box["dir"] / "archive" / result.run_id).exists()
