"""Per-source-file cache of typed, row-checked rows (issue 8, incremental day).

A CSV or Parquet input file is read, typed and row-checked once; the result
(passing typed rows, row-check failures, quarantine info and raw values of
failing rows, cells of unknown columns, the file's ``ingest_files`` row) is
kept as Parquet under ``<cache_dir>/<key>/``. The key is a SHA-1 of

- the file name (it is part of every entity key),
- a fingerprint of the content: size and SHA-1 of every byte (an edit
  anywhere, with the size and modification time kept, is seen; hashing the
  536 MB city input takes a fraction of a second next to minutes of parsing,
  docs/performance.md),
- the ingest code version (SHA-1 of the ``assets/ingest/*.py`` sources).

An entry records the ``as_of`` it was made at: the ID check (birth date
<= as_of) and the date range (<= as_of + 10 years) depend on it. It serves a
run at the same as_of, and a run at a LATER as_of when none of its rows
failed a row check: a row that passes at A passes at every B >= A (both
bounds only grow), so the typed rows are the same. Entries holding failing
rows, and runs at an earlier as_of (backfills), re-parse the file. So the
nightly run (a new as_of each day) reuses the big, clean files.

A later run re-parses only new or changed files; the table-wide stages
(exact duplicates, DQ-DUP-KEY, DQ-ORPHAN, DQ-ID-MISMATCH) always run over the
union of all sources, so the result is identical to a full run (tested).
Entries not used by a run are deleted at its end. Excel workbooks are always
re-read (they are small and can hold several sheets).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

_CODE_VERSION: str | None = None


def code_version() -> str:
    """SHA-1 over the ingest package's Python sources and the polars version (a
    code change invalidates the cache; the shard hash comes from polars)."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        h = hashlib.sha1(pl.__version__.encode())
        for p in sorted(Path(__file__).resolve().parent.glob("*.py")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
        _CODE_VERSION = h.hexdigest()
    return _CODE_VERSION


HASH = "sha1"  # hashlib; measured against blake2b / md5 on the city input (docs/performance.md)


def fingerprint(path: Path) -> str:
    """size + a hash of every byte of the file: an edit anywhere changes it,
    whatever the size or modification time say (issue 19 item 7). The
    modification time is not part of it: a copied or touched file with the same
    content keeps its entry."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        digest = hashlib.file_digest(fh, HASH).hexdigest()
    return f"{size}:{digest}"


def cache_key(path: Path) -> str:
    parts = [code_version(), path.name, fingerprint(path)]
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


PARTS = ("passing", "fails", "qinfo", "raw", "extras")
SMALL_PARTS = PARTS[1:]  # read when the entry is used; "passing" is scanned from its file when needed
PASSING_ROW_GROUP = 65_536  # passing rows are stored sorted by _shard: a shard range reads few row groups


def write_passing(frame: pl.DataFrame, path: Path) -> None:
    """Passing rows sorted by ``_shard`` (then ``_lrid``), with row-group
    statistics, so that a filter on a shard range skips most of the file."""
    frame.sort(["_shard", "_lrid"]).write_parquet(path, compression="lz4", statistics=True,
                                                  row_group_size=PASSING_ROW_GROUP)


@dataclass
class Entry:
    """One cached source: frames use ``_lrid`` (row id local to the source)
    instead of the run-wide ``_rid``, and carry no ``_src``. The passing rows
    stay on disk (``passing_path``, written by ``write_passing``)."""
    meta: dict
    frames: dict[str, pl.DataFrame]
    passing_path: Path


class IngestCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.used: set[str] = set()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, as_of: dt.date, count: bool = True) -> Entry | None:
        """The entry when it serves a run at ``as_of`` (module docstring), else None (a miss).
        ``count=False``: a second look at a source already counted (not a hit or a miss again)."""
        d = self.root / key
        meta_path = d / "meta.json"
        if not meta_path.exists():
            self.misses += count
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            made = dt.date.fromisoformat(meta["as_of"])
            if made != as_of and not (made < as_of and meta["n_failed"] == 0):
                self.misses += count
                return None
            frames = {p: pl.read_parquet(d / f"{p}.parquet") for p in SMALL_PARTS}
            passing = d / "passing.parquet"
            pl.read_parquet_schema(passing)  # readable footer, or a miss
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, never an error
            self.misses += count
            return None
        self.used.add(key)
        self.hits += count
        return Entry(meta, frames, passing)

    def put(self, key: str, meta: dict, frames: dict[str, pl.DataFrame]) -> Path | None:
        """Write an entry atomically (temporary folder renamed into place);
        return the path of its passing rows, None when it could not be written."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            write_passing(frames["passing"], tmp / "passing.parquet")
            for p in SMALL_PARTS:
                frames[p].write_parquet(tmp / f"{p}.parquet", compression="lz4", statistics=False)
            (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            final = self.root / key
            if final.exists():
                shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # a cache that cannot be written is only slower
            return None
        self.used.add(key)
        return final / "passing.parquet"

    def prune(self) -> int:
        """Delete entries (and leftovers) this run did not use; return how many."""
        if not self.root.is_dir():
            return 0
        n = 0
        for d in self.root.iterdir():
            if d.name not in self.used:
                shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink(missing_ok=True)
                n += 1
        return n


def default_cache_dir(warehouse_path: Path) -> Path:
    """The cache lives beside the live warehouse file: ``<warehouse>.ingest-cache/``."""
    p = Path(warehouse_path)
    return p.with_name(p.name + ".ingest-cache")
