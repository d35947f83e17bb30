"""Re-running a past day does not rewind the present (issue 14 item 7): the
live tables and site keep the newest as_of that has run; the earlier day
keeps its findings_history and run summary rows and, when asked, its own
dated site snapshot. Real Dagster job on the demo data."""
import datetime as dt
import shutil

import duckdb
from dagster import DagsterInstance

from pipelines.runner import execute_run
from test_run_guard import fingerprint


def live_state(wh) -> dict:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        names = [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        out = {}
        for t in names:
            if t in ("findings_history", "run_summary", "run_steps"):
                continue
            # row count and an order-free checksum of every column: the content, not only the size
            out[t] = con.sql(f'SELECT count(*), sum(CAST(hash(COLUMNS(*)) AS HUGEINT)) FROM "{t}"').fetchall()[0]
        out["_findings"] = sorted(con.sql("SELECT rule_id, entity_key, as_of FROM findings").fetchall())
        out["_history_days"] = sorted(r[0] for r in con.sql("SELECT DISTINCT as_of FROM findings_history").fetchall())
        out["_runs"] = sorted((str(a), r) for r, a in con.sql("SELECT run_id, as_of FROM run_summary").fetchall())
        return out
    finally:
        con.close()


def test_a_past_day_keeps_its_history_and_leaves_the_live_view(demo_run, tmp_path):
    wh, site = tmp_path / "wh" / "warehouse.duckdb", tmp_path / "pub" / "site"
    wh.parent.mkdir()
    shutil.copyfile(demo_run["warehouse"], wh)
    shutil.copytree(demo_run["site"], site)
    today = dt.date.fromisoformat(demo_run["as_of"])
    past = (today - dt.timedelta(days=45)).isoformat()
    before, pages = live_state(wh), fingerprint(site)

    s = execute_run(demo_run["data"]["dir"], past, wh, site, instance=DagsterInstance.ephemeral(), snapshot=True)
    after = live_state(wh)
    # the live view: every table and the findings exactly as they were, the site untouched
    assert {k: v for k, v in after.items() if not k.startswith("_h") and k != "_runs"} == \
        {k: v for k, v in before.items() if not k.startswith("_h") and k != "_runs"}
    assert {str(f[2]) for f in after["_findings"]} == {demo_run["as_of"]}
    assert fingerprint(site) == pages
    # the past day: its findings_history rows and its run summary are kept
    assert dt.date.fromisoformat(past) in after["_history_days"]
    assert (past, s["run_id"]) in after["_runs"]
    con = duckdb.connect(str(wh), read_only=True)
    n_past = con.sql("SELECT count(*) FROM findings_history WHERE run_id = ? AND as_of = ?",
                     params=[s["run_id"], past]).fetchall()[0][0]
    con.close()
    assert n_past > 0
    # ... and, asked for, its own dated site
    snap = site.with_name(f"site-{past}")
    assert past in (snap / "index.html").read_text(encoding="utf-8")

    # the newest day again: the live view moves as usual
    s2 = execute_run(demo_run["data"]["dir"], demo_run["as_of"], wh, site, instance=DagsterInstance.ephemeral())
    assert s2["run_id"] in (site / "index.html").read_text(encoding="utf-8")
