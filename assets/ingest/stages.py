"""The table-wide stages (c)-(f) of docs/ingest.md over all sources of one
table, sharded by a hash of the table's first key column and run per bucket of
shards once a table's passing rows outgrow memory (docs/ingest.md, "Speed and
memory"): exact duplicates, DQ-DUP-KEY, DQ-ORPHAN, defaults and DQ-ID-MISMATCH.
"""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from assets.ingest import idcheck
from assets.ingest.bind import Source
from core.contract import Table
from assets.ingest.rowchecks import (FAIL_SCHEMA, QINFO_COLUMNS, pl_type, quarantine_info, raw_json_of, row_failures,
                                     type_columns)


@dataclass
class TableOutcome:
    n_loaded: int  # rows loaded (written through the sink)
    key_values: pl.Series | None  # persons / employers: the loaded keys (for DQ-ORPHAN of later tables)
    failures: pl.DataFrame  # _rid, rule_id, column, value (every quarantine reason)
    qinfo: pl.DataFrame  # quarantined rows: _rid, _src, _row, _ncells, _nheader, _u, _uok, _i, _iok
    raw: pl.DataFrame  # quarantined rows: _rid, raw (JSON text keyed by the file's headers)
    counts: dict[str, tuple[int, int, int, int]]  # label -> read, loaded, quarantined, collapsed
    mismatches: pl.DataFrame | None = None
    # keys (typed key columns, distinct) of the rows that passed the row checks but were quarantined by a
    # table-wide stage (DQ-DUP-KEY, DQ-ORPHAN): a later run may append new rows only when no new key meets one
    late_keys: pl.DataFrame | None = None


_trace = None  # optional callback(phase) for memory / time profiling (bench)


def _mark(phase: str) -> None:
    if _trace is not None:
        _trace(phase)


def duplicate_masks(df: pl.DataFrame, cols: list[str], keys: list[str]) -> tuple[pl.Series, pl.Series]:
    """Two boolean masks over the rows of ``df``:

    - ``first``: the row is the first occurrence of its values in ``cols``
      (exact duplicates collapse onto it);
    - ``conflict``: the row is such a first occurrence and another first
      occurrence has the same values in ``keys`` (a subset of ``cols``).

    Rows that are exact duplicates also share their key, so only rows whose
    key occurs more than once can be either; a 64-bit hash of the key finds
    those candidates (8 bytes a row), and they alone are compared exactly, so
    a hash collision can never collapse or flag two rows."""
    n = df.height
    first = pl.repeat(True, n, eager=True, dtype=pl.Boolean)
    conflict = pl.repeat(False, n, eager=True, dtype=pl.Boolean)
    multi = df.select(pl.struct(keys).hash())[:, 0].is_duplicated()
    if not multi.any():
        return first, conflict
    idx = multi.arg_true()
    sub = df.select(cols).gather(idx)
    sub_first = sub.select(pl.struct(cols).is_first_distinct())[:, 0]
    first = first.scatter(idx, sub_first)
    kept = idx.filter(sub_first)
    shared = sub.filter(sub_first).select(pl.len().over(keys) > 1)[:, 0]
    return first, conflict.scatter(kept, shared)


def _to_local(df: pl.DataFrame, base: int) -> pl.DataFrame:
    """Run-wide _rid -> source-local _lrid (for the cache)."""
    return df.with_columns((pl.col("_rid") - base).alias("_lrid")).drop("_rid")


def _from_local(df: pl.DataFrame, base: int, columns: list[str], **lits: pl.Expr) -> pl.DataFrame:
    return df.with_columns((pl.col("_lrid") + base).alias("_rid"), **lits).select(columns)


BUCKET_ROWS = 6_000_000  # the table-wide stages (c)-(f) hold at most about this many passing rows at once


N_SHARDS = 64  # passing rows are sharded by a hash of the table's first key column; buckets = shard ranges


def _shard_expr(table: Table) -> pl.Expr:
    """Every key and every exact duplicate contains the first key column, so
    rows that can collapse, conflict or be compared share a shard."""
    return (pl.col(f"t__{table.key_columns[0]}").hash(seed=0) % N_SHARDS).cast(pl.UInt8).alias("_shard")


class SpillFolder:
    """A temporary folder made on first use (``path()``) under ``root`` (the
    ingest cache folder, whose pruning removes those of a killed run; else the
    system's temporary folder), removed when the ``with`` block ends."""

    def __init__(self, root: Path | None):
        self.root, self.folder = root, None

    def path(self) -> Path:
        if self.folder is None:
            if self.root is not None:
                self.root.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix="permits-ingest-spill-", dir=self.root))
        return self.folder

    def __enter__(self) -> "SpillFolder":
        return self

    def __exit__(self, *exc) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class _Part:
    """The passing rows of one source: in memory (run-wide ``_rid``, ``_src``,
    ``_shard``) or, once the table is too large for memory, on disk in the
    cache's local form (``_lrid``, no ``_src``, sorted by ``_shard``)."""
    label: str
    base: int
    rows: int
    frame: pl.DataFrame | None = None
    path: Path | None = None

    def load(self, lo: int, hi: int, keep: list[str], src_type) -> pl.DataFrame:
        whole = (lo, hi) == (0, N_SHARDS)
        in_range = (pl.col("_shard") >= lo) & (pl.col("_shard") < hi)
        if self.frame is not None:
            return (self.frame if whole else self.frame.filter(in_range)).select(keep)
        lf = pl.scan_parquet(self.path)
        if not whole:
            lf = lf.filter(in_range)
        return lf.with_columns((pl.col("_lrid") + self.base).alias("_rid"),
                               pl.lit(self.label).cast(src_type).alias("_src")).select(keep).collect()

    def spill(self, folder, n: int) -> None:
        """Drop the rows from memory, writing them to ``folder()`` first unless
        they are on disk already (the ingest cache's file)."""
        if self.frame is None:
            return
        if self.path is None:
            from assets.ingest.cache import write_passing

            self.path = folder() / f"part-{n}.parquet"
            write_passing(_to_local(self.frame.drop("_src"), self.base), self.path)
        self.frame = None


def process_table(table: Table, sources, as_of: dt.date, parents: dict[str, pl.Series], store=None, sink=None,
                  labels: list[str] | None = None, seen: list[Source] | None = None,
                  spill_root: Path | None = None) -> TableOutcome:
    """Run checks (b)-(f) on all rows of one table. ``parents`` maps
    persons/employers to their loaded key values (for DQ-ORPHAN). Loaded rows
    (typed contract columns) go to ``sink(frame)``, one call per bucket.

    Typing and row checks run one source at a time; only the typed columns of
    the passing rows are kept (the raw frame is dropped). While the table's
    passing rows stay under ``BUCKET_ROWS`` they are held in memory and the
    stages (c)-(f) run once over all of them; beyond that every source's
    passing rows go to disk (the ingest cache's file, or a temporary spill
    file) sorted by shard, and (c)-(f) run per bucket of shards, so memory
    holds about ``BUCKET_ROWS`` rows however large the table. The results are
    the same either way: every stage compares only rows of one shard.

    ``sources`` may be an iterator (read lazily); pass every possible source
    ``labels`` then. The sources consumed are appended to ``seen``. Spill
    folders go under ``spill_root`` (the ingest cache folder, whose pruning
    removes those of a killed run), else the system's temporary folder."""
    if labels is None:
        sources = list(sources)
        labels = [s.label for s in sources]
    seen = [] if seen is None else seen
    labels = list(dict.fromkeys(labels))
    src_type = pl.Enum(labels) if labels else pl.String
    g = _Gather(table, as_of, src_type, SpillFolder(spill_root))
    with g.spill:
        for s in sources:
            seen.append(s)
            if s.cached is not None:  # typed and row-checked in an earlier run: shift the row ids only
                g.add_cached(s)
            else:
                g.add_read(s, store)
        return _TableWide(table, seen, g, parents, sink).run()


class _Gather:
    """Stage (b) of one table, one source at a time: the passing rows of every
    source (``parts``, spilled to disk once they outgrow ``BUCKET_ROWS``) and
    the quarantined rows' failures, details and raw values; row ids ``_rid``
    run over all sources in their order."""

    def __init__(self, table: Table, as_of: dt.date, src_type, spill: SpillFolder):
        self.table, self.as_of, self.src_type, self.spill = table, as_of, src_type, spill
        tcols = [f"t__{c.name}" for c in table.columns]
        okcols = [f"ok__{c.name}" for c in table.columns if c.base_kind == "id_number"]
        self.keep = ["_rid", "_src", "_row", "_ncells", "_nheader", *tcols, *okcols]
        self.money = [c.name for c in table.columns if c.base_kind == "money"]
        self.shard = _shard_expr(table)
        self.parts: list[_Part] = []
        self.fail_parts, self.qinfo_parts, self.raw_parts = [], [], []
        self.offset = 0

    def hold(self, part: _Part) -> None:
        self.parts.append(part)
        if sum(p.rows for p in self.parts) > BUCKET_ROWS:
            for i, p in enumerate(self.parts):
                p.spill(self.spill.path, i)

    def add_cached(self, s: Source) -> None:
        """A source typed and row-checked in an earlier run: its cached frames, row ids shifted."""
        base, fr = self.offset, s.cached.frames
        self.offset += s.n_rows
        part = _Part(s.label, base, pl.scan_parquet(s.cached.passing_path).select(pl.len()).collect().item(),
                     path=s.cached.passing_path)
        if part.rows + sum(p.rows for p in self.parts) <= BUCKET_ROWS:  # in memory; the file stays the spill
            part.frame = part.load(0, N_SHARDS, self.keep + ["_shard"], self.src_type)
        self.hold(part)
        if fr["fails"].height:
            self.fail_parts.append(_from_local(fr["fails"], base, list(FAIL_SCHEMA)))
            self.qinfo_parts.append(_from_local(fr["qinfo"], base, QINFO_COLUMNS, _src=pl.lit(s.label)))
            self.raw_parts.append(_from_local(fr["raw"], base, ["_rid", "raw"]))

    def add_read(self, s: Source, store) -> None:
        """A source read now: typing, row checks, its failed rows quarantined, the rest held (and cached)."""
        base = self.offset
        f = self._numbered(s)
        _mark("typing")
        f = type_columns(f, self.table, self.as_of)
        _mark("row checks")
        fails = row_failures(f, self.table, self.as_of)
        _mark("failed rows")
        q_part = raw_part = None
        if fails.height:
            bad = fails.select("_rid").unique()
            q_part, raw_part = self._quarantine(f.join(bad, on="_rid", how="semi"), s)
            f = f.join(bad, on="_rid", how="anti", maintain_order="left")
            self.fail_parts.append(fails)
        _mark("passing rows")
        part = _Part(s.label, base, f.height, frame=f.select(*self.keep, self.shard))
        del f
        if store is not None and s.cache_key is not None:
            _mark("cache store")
            part.path = store(s, self._cache_frames(s, part, base, fails, q_part, raw_part))
        self.hold(part)

    def _numbered(self, s: Source) -> pl.DataFrame:
        """The source's raw frame with its label, header row count, run-wide row ids and money scales; the
        source keeps only its row count (the raw strings are no longer needed in memory)."""
        f = s.frame.with_columns(pl.lit(s.label).cast(self.src_type).alias("_src"),
                                 pl.lit(s.n_header, dtype=pl.Int64).alias("_nheader"),
                                 pl.int_range(self.offset, self.offset + pl.len(), dtype=pl.Int64).alias("_rid"),
                                 *[pl.lit(s.scales.get(m, 1), dtype=pl.Int64).alias(f"_scale__{m}")
                                   for m in self.money])
        s.n_rows = f.height
        self.offset += f.height
        s.frame = s.frame.clear()
        return f

    def _quarantine(self, failed: pl.DataFrame, s: Source) -> tuple[pl.DataFrame, pl.DataFrame]:
        q_part, raw_part = quarantine_info(failed, self.table), raw_json_of(failed, s)
        self.qinfo_parts.append(q_part)
        self.raw_parts.append(raw_part)
        return q_part, raw_part

    def _cache_frames(self, s: Source, part: _Part, base: int, fails, q_part, raw_part) -> dict:
        """What the ingest cache keeps of a source read now (source-local row ids)."""
        qinfo = q_part if q_part is not None else quarantine_info(part.frame.clear(), self.table)
        raw = raw_part if raw_part is not None else pl.DataFrame(schema={"_rid": pl.Int64, "raw": pl.String})
        return {"passing": _to_local(part.frame.drop("_src"), base), "fails": _to_local(fails, base),
                "qinfo": _to_local(qinfo.drop("_src"), base), "raw": _to_local(raw, base), "extras": s.extras}


class _TableWide:
    """Stages (c)-(f) per bucket of shards (one bucket while the table fits in memory)."""

    def __init__(self, table: Table, sources: list[Source], g: _Gather, parents: dict[str, pl.Series], sink):
        self.table, self.sources, self.parents, self.sink = table, sources, parents, sink
        self.parts, self.keep, self.src_type = g.parts, g.keep, g.src_type
        self.fail_parts, self.qinfo_parts, self.raw_parts = g.fail_parts, g.qinfo_parts, g.raw_parts
        self.tcols = [f"t__{c.name}" for c in table.columns]
        self.keys = [f"t__{k}" for k in table.key_columns]
        self.empty = pl.DataFrame(schema={
            "_rid": pl.Int64, "_src": g.src_type, "_row": pl.Int64, "_ncells": pl.Int64, "_nheader": pl.Int64,
            **{f"t__{c.name}": pl_type(c) for c in table.columns},
            **{f"ok__{c.name}": pl.Boolean for c in table.columns if c.base_kind == "id_number"}})
        self.late, self.collapsed, self.mm_parts, self.key_parts = [], [], [], []
        self.n_loaded = 0

    def run(self) -> TableOutcome:
        total = sum(p.rows for p in self.parts)
        k = min(N_SHARDS, max(1, -(-total // BUCKET_ROWS)))
        if k > 1 and any(p.frame is not None for p in self.parts):
            k = 1  # only on-disk parts are worth splitting (cannot happen: hold() spills beyond BUCKET_ROWS)
        bounds = [round(i * N_SHARDS / k) for i in range(k + 1)]
        for b in range(k):
            self.bucket(bounds[b], bounds[b + 1], k)
        return self.outcome()

    def load(self, lo: int, hi: int, k: int) -> pl.DataFrame:
        """The passing rows of shards ``lo``..``hi``-1 of every source, in ``_rid`` order."""
        loaded_parts = [p.load(lo, hi, self.keep, self.src_type) for p in self.parts]
        if k == 1:
            for p in self.parts:
                p.frame = None  # the bucket holds the rows now
        ok = pl.concat(loaded_parts) if loaded_parts else self.empty
        del loaded_parts
        if not ok["_rid"].is_sorted():
            ok = ok.sort("_rid")  # a bucket read from disk comes in shard order
        return ok

    def bucket(self, lo: int, hi: int, k: int) -> None:
        table = self.table
        ok = self.load(lo, hi, k)
        # (c) exact duplicates after normalisation collapse to the first occurrence;
        # (d) conflicting duplicates of a key (among what is left): all quarantined
        _mark("duplicates")
        first, conflict = duplicate_masks(ok, self.tcols, self.keys)
        self.collapsed.append(ok.filter(~first).group_by("_src").len())
        dup = ok.filter(conflict)
        ok = ok.filter(first & ~conflict)
        del first, conflict
        self.late.append(dup)
        self.fail_parts.append(dup.select(
            pl.col("_rid"), pl.lit("DQ-DUP-KEY").alias("rule_id"),
            pl.lit(", ".join(table.key_columns)).alias("column"),
            pl.concat_str([pl.col(f"t__{c}").cast(pl.String).fill_null("") for c in table.key_columns],
                          separator=", ").alias("value")))
        _mark("orphans")
        # (e) orphans against what persons / employers loaded
        orphans = _orphans(table, ok, self.parents)
        if orphans is not None:
            self.fail_parts.append(orphans)
            orphan_ids = orphans.select("_rid").unique()
            self.late.append(ok.join(orphan_ids, on="_rid", how="semi"))
            ok = ok.join(orphan_ids, on="_rid", how="anti", maintain_order="left")
        _mark("final select")
        out, mm = _finish(table, ok)
        del ok
        self.emit(out, mm)

    def emit(self, out: pl.DataFrame, mm: pl.DataFrame | None) -> None:
        """The bucket's loaded rows: counted, keys kept (persons / employers), written through the sink."""
        if mm is not None:
            self.mm_parts.append(mm)
        self.n_loaded += out.height
        if self.table.name in ("persons", "employers"):
            self.key_parts.append(out[self.table.key_columns[0]])
        if self.sink is not None and out.height:
            _mark("warehouse insert")
            self.sink(out)

    def outcome(self) -> TableOutcome:
        table = self.table
        late_rows = pl.concat(self.late)
        self.late_raw(late_rows)
        failures = pl.concat(self.fail_parts) if self.fail_parts else pl.DataFrame(schema=FAIL_SCHEMA)
        qinfo = pl.concat(self.qinfo_parts) if self.qinfo_parts else quarantine_info(self.empty, table)
        raw = pl.concat(self.raw_parts) if self.raw_parts else pl.DataFrame(schema={"_rid": pl.Int64,
                                                                                    "raw": pl.String})
        counts = self.counts(qinfo)
        mismatches = pl.concat(self.mm_parts).sort("_rid") if self.mm_parts else None
        key_values = pl.concat(self.key_parts) if self.key_parts else None
        late_keys = late_rows.select([pl.col(f"t__{k}").alias(k) for k in table.key_columns]).unique()
        return TableOutcome(self.n_loaded, key_values, failures, qinfo, raw, counts, mismatches, late_keys)

    def late_raw(self, late_rows: pl.DataFrame) -> None:
        """Raw values of rows quarantined after typing: re-read from their files (few rows, few files)."""
        if not late_rows.height:
            return
        by_label = {s.label: s for s in self.sources}
        self.qinfo_parts.append(quarantine_info(late_rows, self.table))
        for label, g in late_rows.group_by(pl.col("_src").cast(pl.String)):
            src = by_label[label[0]]
            raw = src.raw_rows(g["_row"]).join(g.select("_row", "_rid"), on="_row", how="inner")
            self.raw_parts.append(raw_json_of(raw, src))

    def counts(self, qinfo: pl.DataFrame) -> dict[str, tuple[int, int, int, int]]:
        """label -> read, loaded, quarantined, collapsed."""
        q_by_src = dict(qinfo.group_by("_src").len().iter_rows())
        c_by_src = {str(src): int(n) for src, n in
                    pl.concat(self.collapsed).group_by("_src").agg(pl.col("len").sum()).iter_rows()}
        counts = {}
        for s in self.sources:
            q, c = int(q_by_src.get(s.label, 0)), int(c_by_src.get(s.label, 0))
            counts[s.label] = (s.n_rows, s.n_rows - q - c, q, c)
        return counts


def _orphans(table: Table, ok: pl.DataFrame, parents: dict[str, pl.Series]) -> pl.DataFrame | None:
    """DQ-ORPHAN failures of the rows in ``ok``: references to a person / employer that was not loaded."""
    orphan_parts = []
    for col, parent in table.references:
        keys_loaded = parents.get(parent)
        if keys_loaded is None:
            continue
        m = ~pl.col(f"t__{col}").is_in(keys_loaded.implode())
        orphan_parts.append(ok.filter(m).select(pl.col("_rid"), pl.lit("DQ-ORPHAN").alias("rule_id"),
                                                pl.lit(col).alias("column"), pl.col(f"t__{col}").alias("value")))
    return pl.concat(orphan_parts) if orphan_parts else None


def _finish(table: Table, ok: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Defaults, then (f) the ID wins over given gender / birth date; the typed contract columns."""
    mismatches = None
    loaded = ok
    for c in table.columns:
        if c.default is not None:
            loaded = loaded.with_columns(pl.col(f"t__{c.name}").fill_null(c.default))
    if table.name == "persons":
        idc = pl.col("t__id_number")
        loaded = loaded.with_columns(idcheck.id_birth_date(idc).alias("_id_birth"),
                                     idcheck.id_gender(idc).alias("_id_gender"))
        mm = []
        gb = pl.col("t__id_type") != "passport"  # v2: passports keep the given birth date and gender
        for col, idcol in (("gender", "_id_gender"), ("birth_date", "_id_birth")):
            m = gb & pl.col(f"t__{col}").is_not_null() & (pl.col(f"t__{col}") != pl.col(idcol))
            mm.append(loaded.filter(m).select(pl.col("_rid"), pl.col("_src").cast(pl.String), pl.col("_row"),
                                              pl.col("t__id_number").alias("id_number"),
                                              pl.lit(col).alias("column"),
                                              pl.col(f"t__{col}").cast(pl.String).alias("value"),
                                              pl.col(idcol).cast(pl.String).alias("id_value")))
        mismatches = pl.concat(mm)
        loaded = loaded.with_columns(pl.when(gb).then(pl.col("_id_birth")).otherwise(pl.col("t__birth_date"))
                                     .alias("t__birth_date"),
                                     pl.when(gb).then(pl.col("_id_gender")).otherwise(pl.col("t__gender"))
                                     .alias("t__gender"))
    return loaded.select([pl.col(f"t__{c.name}").alias(c.name) for c in table.columns]), mismatches
