"""Incremental day (issue 8): with the ingest cache, adding one month of
contributions re-parses only the new file and gives exactly the tables and
findings of a full run."""
import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.ingest.cache import IngestCache, cache_key, fingerprint
from assets.ingest.core import ingest_folder

from core.contract import TABLE_ORDER  # every contract table, in load order

COMPARED = [*TABLE_ORDER, "quarantine", "ingest_log", "ingest_files", "ingest_extra_values", "findings"]
MONTH_FILE = "contributions_2025_12.parquet"


def _snapshot(db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for t in COMPARED:
            cols = [r[0] for r in con.sql(f"DESCRIBE {t}").fetchall() if r[0] != "run_id"]
            sel = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in cols)
            out[t] = con.sql(f"SELECT {sel} FROM {t} ORDER BY ALL").pl()
        return out
    finally:
        con.close()


def _ingest(input_dir: Path, db: Path, run_id: str, as_of: dt.date, cache_dir: Path | None):
    con = duckdb.connect(str(db))
    try:
        return ingest_folder(input_dir, con, run_id, as_of, cache_dir=cache_dir)
    finally:
        con.close()


@pytest.fixture(scope="module")
def folders(demo_data, tmp_path_factory):
    """`before`: the demo input without December 2025; `after`: the same plus
    a new file holding December 2025 and one row that conflicts (same key,
    other amount) with a row of an unchanged file — DQ-DUP-KEY must then
    quarantine a row of a cached file too."""
    base = tmp_path_factory.mktemp("incremental")
    before, after = base / "before", base / "after"
    shutil.copytree(demo_data["dir"], before)
    src = before / "contributions_2024_2025.parquet"
    df = pl.read_parquet(src)
    dec = df.filter(pl.col("month") == dt.date(2025, 12, 1))
    rest = df.filter(pl.col("month") != dt.date(2025, 12, 1))
    assert dec.height > 1000 and rest.height > 1000
    rest.write_parquet(src)
    conflict = rest.head(1).with_columns(pl.col("amount_cny") + 1)
    shutil.copytree(before, after)
    os.utime(after / src.name, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns))  # unchanged file, same mtime
    pl.concat([dec, conflict]).write_parquet(after / MONTH_FILE)
    return {"before": before, "after": after, "as_of": dt.date.fromisoformat(demo_data["reference_date"]),
            "base": base}


def test_new_month_file_reparses_only_that_file_and_matches_a_full_run(folders):
    base, as_of = folders["base"], folders["as_of"]
    full_db = base / "full.duckdb"
    full = _ingest(folders["after"], full_db, "full", as_of, cache_dir=None)
    assert full.cache == {}

    inc_db, cache_dir = base / "inc.duckdb", base / "inc.ingest-cache"
    first = _ingest(folders["before"], inc_db, "day1", as_of, cache_dir)
    assert first.cache["hits"] == 0 and first.cache["misses"] >= 8
    second = _ingest(folders["after"], inc_db, "day2", as_of, cache_dir)
    assert second.cache["misses"] == 1  # only the new month file is parsed
    assert second.cache["hits"] == first.cache["misses"]

    a, b = _snapshot(full_db), _snapshot(inc_db)
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t} differs between the full and the incremental run"
    # the conflict reached back into the cached file: both rows quarantined as DQ-DUP-KEY
    dup = b["quarantine"].filter(pl.col("table_name") == "contributions", pl.col("rule_ids").str.contains("DQ-DUP-KEY"))
    files = set(dup["source_file"].to_list())
    assert {MONTH_FILE, "contributions_2024_2025.parquet"} <= files
    assert b["contributions"].height == full.tables["contributions"]


def test_changed_file_is_a_cache_miss_and_its_stale_entry_is_pruned(folders, tmp_path):
    as_of = folders["as_of"]
    work = tmp_path / "in"
    shutil.copytree(folders["before"], work)
    cache_dir = tmp_path / "cache"
    _ingest(work, tmp_path / "w.duckdb", "r1", as_of, cache_dir)
    n_entries = len(list(cache_dir.iterdir()))
    # same content again: every cacheable file is a hit
    again = _ingest(work, tmp_path / "w.duckdb", "r2", as_of, cache_dir)
    assert again.cache["misses"] == 0 and again.cache["hits"] == n_entries
    # rewrite one CSV (one cell changed): only it is re-parsed, and the result equals a fresh ingest
    f = work / "employments.csv"
    text = f.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[1] = lines[1].replace(",", ", ", 1)  # whitespace is trimmed: same values, different bytes
    f.write_text("".join(lines), encoding="utf-8")
    changed = _ingest(work, tmp_path / "w.duckdb", "r3", as_of, cache_dir)
    assert changed.cache == {"hits": n_entries - 1, "misses": 1}
    fresh = _ingest(work, tmp_path / "fresh.duckdb", "r3", as_of, None)
    assert changed.tables == fresh.tables and changed.findings == fresh.findings
    assert len(list(cache_dir.iterdir())) == n_entries  # the stale entry was pruned


def test_fingerprint_sees_a_change_in_the_middle_of_a_small_file_and_the_tail_of_a_big_one(tmp_path):
    small = tmp_path / "a.csv"
    small.write_bytes(b"x" * 1000)
    fp = fingerprint(small)
    st = small.stat()
    small.write_bytes(b"x" * 499 + b"y" + b"x" * 500)
    os.utime(small, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fingerprint(small) != fp  # same size and mtime, content differs: whole file hashed
    big = tmp_path / "b.parquet"
    big.write_bytes(b"\0" * (3 << 20))
    fp = fingerprint(big)
    st = big.stat()
    with open(big, "r+b") as fh:
        fh.seek((3 << 20) - 10)
        fh.write(b"1")
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fingerprint(big) != fp
    assert cache_key(big) != cache_key(small)


def test_damaged_cache_entry_is_a_miss_not_an_error(folders, tmp_path):
    as_of = folders["as_of"]
    cache_dir = tmp_path / "cache"
    _ingest(folders["before"], tmp_path / "w.duckdb", "r1", as_of, cache_dir)
    victim = next(cache_dir.iterdir())
    (victim / "passing.parquet").write_bytes(b"not parquet")
    res = _ingest(folders["before"], tmp_path / "w.duckdb", "r2", as_of, cache_dir)
    assert res.cache["misses"] == 1
    fresh = _ingest(folders["before"], tmp_path / "f.duckdb", "r2", as_of, None)
    assert res.tables == fresh.tables and res.findings == fresh.findings
    assert IngestCache(cache_dir).get(victim.name, as_of) is not None  # rewritten by the second run


@pytest.mark.slow
def test_whole_pipeline_incremental_run_has_the_findings_of_a_full_run(folders):
    """Dagster job end to end: day 1 without the month file, day 2 with it
    (ingest cache warm) gives exactly the findings (every rule layer) and the
    employer summary of a full run on day 2's input."""
    from dagster import DagsterInstance

    from assets.ingest.cache import default_cache_dir
    from pipelines.bench import findings_difference
    from pipelines.runner import execute_run

    base, as_of = folders["base"], folders["as_of"].isoformat()
    full_wh, inc_wh = base / "e2e-full" / "warehouse.duckdb", base / "e2e-inc" / "warehouse.duckdb"
    execute_run(input_dir=folders["after"], as_of=as_of, warehouse=full_wh, site=full_wh.parent / "site",
                instance=DagsterInstance.ephemeral())
    execute_run(input_dir=folders["before"], as_of=as_of, warehouse=inc_wh, site=inc_wh.parent / "site",
                instance=DagsterInstance.ephemeral())
    n_entries = len(list(default_cache_dir(inc_wh).iterdir()))
    execute_run(input_dir=folders["after"], as_of=as_of, warehouse=inc_wh, site=inc_wh.parent / "site",
                instance=DagsterInstance.ephemeral())
    assert len(list(default_cache_dir(inc_wh).iterdir())) == n_entries + 1  # one new entry: the month file
    diff = findings_difference(full_wh, inc_wh)
    assert diff["findings"] > 100 and diff["identical"], diff
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{full_wh}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{inc_wh}' AS b (READ_ONLY)")
        cols = [r[0] for r in con.sql("DESCRIBE a.employer_summary").fetchall() if r[0] not in ("run_id", "as_of")]
        sel = ", ".join(f'"{c}"' for c in cols)
        n = con.sql(f"SELECT count(*) FROM (SELECT {sel} FROM a.employer_summary EXCEPT ALL "
                    f"SELECT {sel} FROM b.employer_summary)").fetchall()[0][0]
        assert n == 0
    finally:
        con.close()


@pytest.mark.parametrize("with_cache", [False, True])
def test_bucketed_table_wide_stages_give_the_tables_of_a_single_pass(folders, tmp_path, monkeypatch, with_cache):
    """City-sized tables spill their passing rows to disk and run exact
    duplicates, DQ-DUP-KEY, DQ-ORPHAN and DQ-ID-MISMATCH per bucket of shards.
    With a tiny bucket size every table of the demo (which holds duplicates,
    key conflicts across files and orphans) goes that way: every table,
    quarantine row and finding must equal the single-pass run's."""
    import assets.ingest.stages as stages

    as_of = folders["as_of"]
    single = _ingest(folders["after"], tmp_path / "single.duckdb", "r", as_of, None)
    monkeypatch.setattr(stages, "BUCKET_ROWS", 500)
    spills: list[str] = []
    real_mkdtemp = stages.tempfile.mkdtemp
    monkeypatch.setattr(stages.tempfile, "mkdtemp", lambda **kw: spills.append("x") or real_mkdtemp(**kw))
    cache_dir = tmp_path / "cache" if with_cache else None
    if with_cache:  # warm the cache first: cached sources are then read back per shard range
        _ingest(folders["before"], tmp_path / "warm.duckdb", "w", as_of, cache_dir)
        (cache_dir / "permits-ingest-spill-killed-run").mkdir()  # left behind by a killed run
    bucketed = _ingest(folders["after"], tmp_path / "bucketed.duckdb", "r", as_of, cache_dir)
    assert bucketed.tables["contributions"] > 20 * 500  # many buckets
    assert bucketed.tables == single.tables and bucketed.findings == single.findings
    assert with_cache or spills  # without a cache the rows go to temporary spill files
    a, b = _snapshot(tmp_path / "single.duckdb"), _snapshot(tmp_path / "bucketed.duckdb")
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t} differs between the single-pass and the bucketed run"
    assert a["quarantine"].filter(pl.col("rule_ids").str.contains("DQ-DUP-KEY")).height > 0
    assert a["quarantine"].filter(pl.col("rule_ids").str.contains("DQ-ORPHAN")).height > 0
    assert not list(Path(stages.tempfile.gettempdir()).glob("permits-ingest-spill-*"))  # spill folders removed
    assert not (with_cache and list(cache_dir.glob("permits-ingest-spill-*")))  # also a killed run's


def test_parsing_every_row_or_the_distinct_values_gives_the_same_tables(folders, tmp_path, monkeypatch):
    """`_typed` parses a column's distinct values and joins them back, or (when
    most values differ) parses every row directly: the warehouse must not
    tell the difference."""
    import assets.ingest.rowchecks as rowchecks

    as_of = folders["as_of"]
    for name, forced in (("rows", True), ("distinct", False)):
        monkeypatch.setattr(rowchecks, "_mostly_distinct", lambda df, on, forced=forced: forced)
        _ingest(folders["after"], tmp_path / f"{name}.duckdb", "r", as_of, None)
    a, b = _snapshot(tmp_path / "rows.duckdb"), _snapshot(tmp_path / "distinct.duckdb")
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t} differs between per-row and per-distinct-value parsing"
    assert a["quarantine"].height > 50  # bad IDs, dates, enums, numbers were parsed both ways


def test_entries_without_failing_rows_serve_later_as_of_and_give_a_fresh_runs_tables(folders, tmp_path):
    """The nightly run has a new as_of every day. An entry whose rows all
    passed at A serves a run at B > A (birth dates <= A <= B, dates <= A + 10 y
    <= B + 10 y); an entry holding failing rows (e.g. an ID born after A, a
    date beyond A + 10 y) is re-parsed, as is any entry for an earlier as_of."""
    import json

    as_of = folders["as_of"]
    later, earlier = as_of + dt.timedelta(days=1), as_of - dt.timedelta(days=1)
    cache_dir = tmp_path / "cache"
    first = _ingest(folders["after"], tmp_path / "w.duckdb", "r1", as_of, cache_dir)
    metas = [json.loads((d / "meta.json").read_text(encoding="utf-8")) for d in cache_dir.iterdir()]
    clean = sum(1 for m in metas if m["n_failed"] == 0)
    assert 0 < clean < len(metas) == first.cache["misses"]  # the demo has clean files and messy ones
    nxt = _ingest(folders["after"], tmp_path / "w.duckdb", "r2", later, cache_dir)
    assert nxt.cache == {"hits": clean, "misses": len(metas) - clean}
    _ingest(folders["after"], tmp_path / "fresh.duckdb", "r2", later, None)
    a, b = _snapshot(tmp_path / "w.duckdb"), _snapshot(tmp_path / "fresh.duckdb")
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t} differs between the cached and the fresh run at a later as_of"
    # the re-parsed entries now carry the later as_of: a backfill at an earlier date re-parses everything
    back = _ingest(folders["after"], tmp_path / "w.duckdb", "r3", earlier, cache_dir)
    assert back.cache["hits"] == 0


def _without_excel(src: Path, dst: Path) -> Path:
    """`src` with every Excel sheet rewritten as a CSV of the same cells (Excel
    sheets are never cached, so a table fed by one is never kept as it was)."""
    from assets.ingest.readers import RawSheet, read_any

    shutil.copytree(src, dst)
    for x in sorted(dst.glob("*.xlsx")):
        for i, sheet in enumerate(s for s in read_any(x) if isinstance(s, RawSheet)):
            cols = [f"c{j}" for j in range(len(sheet.header))]
            frame = sheet.frame.select(cols).rename(dict(zip(cols, sheet.header)))
            frame.write_csv(dst / f"{sheet.table}_{x.stem}_{i}.csv")
        x.unlink()
    return dst


@pytest.fixture(scope="module")
def before_csv(folders, tmp_path_factory) -> Path:
    """``folders["before"]`` without Excel, converted once per module (reading the
    demo's workbooks is the slow part); a test copies it before changing it."""
    return _without_excel(folders["before"], tmp_path_factory.mktemp("before-csv") / "before")


def test_unchanged_tables_are_kept_and_the_result_equals_a_full_run(folders, before_csv, tmp_path):
    """A table whose files (and whose parents' files) are all unchanged cache
    entries is kept as the warehouse has it, with its quarantine, findings and
    log rows carried forward. Day 1 without the month file, day 2 with it:
    only contributions is rebuilt; a re-run of day 2 keeps every table; a run
    at a later as_of rebuilds the tables with failing rows (and their children).
    Every table equals a fresh full ingest of the same folder at the same date."""
    as_of = folders["as_of"]
    before = shutil.copytree(before_csv, tmp_path / "before")
    after = tmp_path / "after"
    shutil.copytree(before, after)  # copy2: unchanged files keep their mtime (their cache key)
    shutil.copy2(folders["after"] / MONTH_FILE, after / MONTH_FILE)
    db, cache_dir = tmp_path / "w.duckdb", tmp_path / "cache"
    day1 = _ingest(before, db, "d1", as_of, cache_dir)
    assert day1.skipped == []
    day2 = _ingest(after, db, "d2", as_of, cache_dir)
    assert set(day2.skipped) == set(TABLE_ORDER) - {"contributions"}
    fresh = _ingest(after, tmp_path / "fresh.duckdb", "d2", as_of, None)
    a, b = _snapshot(db), _snapshot(tmp_path / "fresh.duckdb")  # each warehouse read once, not once per table
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t}: day 2 differs from a full run"
    assert day2.tables == fresh.tables and day2.findings == fresh.findings

    again = _ingest(after, db, "d3", as_of, cache_dir)
    assert set(again.skipped) == set(TABLE_ORDER)
    a = _snapshot(db)
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t}: re-run differs"

    # next day (later as_of): files without failing rows still serve; the permits table, fed by a
    # clean Parquet file only once its messy CSV is gone, is kept, its findings re-dated
    clean = tmp_path / "clean"
    shutil.copytree(after, clean)
    (clean / "工作居住证_补录.csv").unlink()
    permits = pl.read_parquet(clean / "permits.parquet")  # + a conflicting copy of one permit: DQ-DUP-KEY
    dup = permits.head(1).with_columns(pl.col("photo_sha256").str.reverse())  # findings, yet no failing row
    pl.concat([permits, dup]).write_parquet(clean / "permits.parquet")
    db2, later = tmp_path / "w2.duckdb", as_of + dt.timedelta(days=1)
    _ingest(clean, db2, "c1", as_of, tmp_path / "cache2")
    nxt = _ingest(clean, db2, "c2", later, tmp_path / "cache2")
    assert "permits" in nxt.skipped and len(nxt.skipped) < len(TABLE_ORDER)  # messy tables (failing rows) are rebuilt
    _ingest(clean, tmp_path / "fresh2.duckdb", "c2", later, None)
    a, b = _snapshot(db2), _snapshot(tmp_path / "fresh2.duckdb")
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t}: the next day's run differs from a full run"
    carried = a["findings"].filter(pl.col("rule_id") == "DQ-DUP-KEY", pl.col("detail").str.contains('"permits"'))
    assert carried.height == 2 and carried["as_of"].unique().to_list() == [str(later)]


def test_a_changed_ingest_rule_rebuilds_the_kept_tables(folders, before_csv, tmp_path, monkeypatch):
    """The findings of a kept table come from the run that built it; a changed
    rule-book entry for the ingest rules (severity, message) must rebuild."""
    import assets.ingest.findings as findings

    as_of = folders["as_of"]
    src = shutil.copytree(before_csv, tmp_path / "in")
    db, cache_dir = tmp_path / "w.duckdb", tmp_path / "cache"
    _ingest(src, db, "r1", as_of, cache_dir)
    assert len(_ingest(src, db, "r2", as_of, cache_dir).skipped) == len(TABLE_ORDER)
    real = findings.load_ingest_rules

    def edited():
        rules = real()
        rules["DQ-DUP-KEY"] = {**rules["DQ-DUP-KEY"], "severity": "info"}
        return rules

    monkeypatch.setattr(findings, "load_ingest_rules", edited)
    res = _ingest(src, db, "r3", as_of, cache_dir)
    assert res.skipped == []
    con = duckdb.connect(str(db), read_only=True)
    try:
        sev = con.sql("SELECT DISTINCT severity FROM findings WHERE rule_id = 'DQ-DUP-KEY'").fetchall()
    finally:
        con.close()
    assert sev == [("info",)]


def _month_only(folders) -> pl.DataFrame:
    """December 2025 of the demo contributions, without the fixture's conflicting row."""
    dec = pl.read_parquet(folders["after"] / MONTH_FILE)
    return dec.filter(pl.col("month") == dt.date(2025, 12, 1))


def test_a_table_that_only_gained_files_is_appended_and_equals_a_full_run(folders, before_csv, tmp_path):
    """Day 2 adds a clean month file: contributions keeps its rows and appends
    the new file's (no table rebuilt); day 3 adds another file the same way.
    Each day every table, quarantine row, log row and finding equals a fresh
    full ingest of the same folder."""
    as_of = folders["as_of"]
    before = shutil.copytree(before_csv, tmp_path / "before")
    db, cache_dir = tmp_path / "w.duckdb", tmp_path / "cache"
    _ingest(before, db, "d1", as_of, cache_dir)
    day = before
    dec = _month_only(folders)
    # day 3's file: some December rows again under January 2027 (new keys), one of them duplicated exactly
    # and one twice with different amounts (DQ-DUP-KEY among the new rows only)
    jan = dec.head(300).with_columns(pl.lit(dt.date(2027, 1, 1)).alias("month"))
    jan = pl.concat([jan, jan.head(1), jan.slice(5, 1).with_columns(pl.col("amount_cny") + 7)])
    for i, (fname, frame) in enumerate([(MONTH_FILE, dec), ("contributions_2027_01.parquet", jan)], start=2):
        nxt = tmp_path / f"day{i}"
        shutil.copytree(day, nxt)
        frame.write_parquet(nxt / fname)
        res = _ingest(nxt, db, f"d{i}", as_of, cache_dir)
        assert res.appended == ["contributions"], f"day {i}"
        assert "contributions" not in res.skipped and len(res.skipped) == len(TABLE_ORDER) - 1
        assert res.cache["misses"] == 1
        fresh = _ingest(nxt, tmp_path / f"fresh{i}.duckdb", f"d{i}", as_of, None)
        a, b = _snapshot(db), _snapshot(tmp_path / f"fresh{i}.duckdb")
        for t in COMPARED:
            assert a[t].equals(b[t]), f"{t}: day {i} (appended) differs from a full run"
        assert res.tables == fresh.tables and res.findings == fresh.findings
        day = nxt
    assert res.findings.get("DQ-DUP-KEY", 0) >= 2  # the conflicting pair of the new file
    again = _ingest(day, db, "d4", as_of, cache_dir)
    assert "contributions" in again.skipped and again.appended == []


@pytest.mark.parametrize("meets", ["loaded row", "loaded row, NULL in the key", "old late row", "new late row"])
def test_a_new_key_meeting_an_earlier_row_rebuilds_the_table(folders, before_csv, tmp_path, meets):
    """A new row whose key is a loaded row's key (here: other amount), the key of
    rows quarantined earlier by DQ-DUP-KEY (so not in the table), or a new pair
    conflicting on a loaded key: appending would differ from a full run (DQ-DUP-KEY reaches back), so the
    table is rebuilt — and equals a full run."""
    as_of = folders["as_of"]
    before = shutil.copytree(before_csv, tmp_path / "before")
    old = pl.read_parquet(before / "contributions_2024_2025.parquet")
    if meets == "old late row":  # day 1 quarantines a conflicting pair (DQ-DUP-KEY); day 2 brings a third
        row = old.slice(30, 1)
        row.with_columns(pl.col("amount_cny") + 1).write_parquet(before / "contributions_conflict.parquet")
        new = row.with_columns(pl.col("amount_cny") + 2)
    elif meets == "loaded row":
        new = old.slice(10, 1).with_columns(pl.col("amount_cny") + 1)
    elif meets == "loaded row, NULL in the key":  # NULL equals NULL in the key, as in DQ-DUP-KEY
        new = old.filter(pl.col("withholder_uscc").is_null()).slice(3, 1).with_columns(pl.col("amount_cny") + 1)
        assert new.height == 1
    else:
        row = old.slice(20, 1)
        new = pl.concat([row.with_columns(pl.col("amount_cny") + 1), row.with_columns(pl.col("amount_cny") + 2)])
    new = pl.concat([_month_only(folders), new])
    db, cache_dir = tmp_path / "w.duckdb", tmp_path / "cache"
    _ingest(before, db, "d1", as_of, cache_dir)
    after = tmp_path / "after"
    shutil.copytree(before, after)
    new.write_parquet(after / MONTH_FILE)
    res = _ingest(after, db, "d2", as_of, cache_dir)
    assert res.appended == [] and "contributions" not in res.skipped
    assert res.cache["misses"] == 1  # the attempt's parse is reused by the rebuild
    _ingest(after, tmp_path / "fresh.duckdb", "d2", as_of, None)
    a, b = _snapshot(db), _snapshot(tmp_path / "fresh.duckdb")
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t}: differs from a full run"
    assert res.findings.get("DQ-DUP-KEY", 0) >= 2


def test_a_warehouse_recorded_before_appends_existed_is_rebuilt_not_appended(folders, before_csv, tmp_path):
    """ingest_state written by the previous version (no base signature, file
    keys or late keys): the earlier late-quarantined keys are unknown, so a new
    file rebuilds the table instead of appending — and equals a full run."""
    as_of = folders["as_of"]
    before = shutil.copytree(before_csv, tmp_path / "before")
    db, cache_dir = tmp_path / "w.duckdb", tmp_path / "cache"
    _ingest(before, db, "d1", as_of, cache_dir)
    con = duckdb.connect(str(db))
    try:
        con.execute("CREATE OR REPLACE TABLE ingest_state AS SELECT table_name, signature, rows_loaded, run_id "
                    "FROM ingest_state")
    finally:
        con.close()
    again = _ingest(before, db, "d2", as_of, cache_dir)  # the old state still keeps unchanged tables
    assert len(again.skipped) == len(TABLE_ORDER) and again.appended == []
    after = tmp_path / "after"
    shutil.copytree(before, after)
    _month_only(folders).write_parquet(after / MONTH_FILE)
    res = _ingest(after, db, "d3", as_of, cache_dir)
    assert res.appended == [] and "contributions" not in res.skipped
    _ingest(after, tmp_path / "fresh.duckdb", "d3", as_of, None)
    a, b = _snapshot(db), _snapshot(tmp_path / "fresh.duckdb")
    for t in COMPARED:
        assert a[t].equals(b[t]), f"{t}: differs from a full run"


def test_an_edit_in_the_middle_of_a_10mb_file_with_size_and_mtime_kept_is_not_served_stale(tmp_path):
    """Issue 19 item 7: the cache key covers every byte."""
    from fixtures.ingest.make import EMPLOYER_HEADER, employer_row, make_id, write_csv

    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "employers.csv", EMPLOYER_HEADER, [employer_row(1)])
    ids = [make_id(seq=i % 100, area=f"1{i // 100:05d}") for i in range(150_000)]
    path = write_csv(folder / "persons.csv", ["id_number", "name", "highest_degree", "address"],
                     [[p, f"甲{i:06d}", "bachelor", "北京市海淀区中关村大街一号"] for i, p in enumerate(ids)])
    size = path.stat().st_size
    assert size > 9_500_000
    as_of, cache_dir = dt.date(2026, 11, 29), tmp_path / "cache"
    first = _ingest(folder, tmp_path / "w.duckdb", "r1", as_of, cache_dir)
    assert first.tables["persons"] == 150_000
    data = bytearray(path.read_bytes())
    mid = data.index("甲075000".encode())
    data[mid:mid + len("甲075000".encode())] = "乙075000".encode()  # same byte length
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == size and path.stat().st_mtime_ns == st.st_mtime_ns
    second = _ingest(folder, tmp_path / "w.duckdb", "r2", as_of, cache_dir)
    assert second.cache["misses"] >= 1 and "persons" not in second.skipped
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert con.sql(f"SELECT name FROM persons WHERE id_number = '{ids[75_000]}'").fetchall() == [("乙075000",)]
    finally:
        con.close()
