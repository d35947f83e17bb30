"""Ingest core: the folder run. Read an input folder, bind, type and check
every source, run the table-wide stages, load the warehouse.

``ingest_folder(input_dir, con, run_id, as_of)`` is a plain function (the
Dagster asset, the tests and the benchmark call it). Semantics are documented
in docs/ingest.md; in short, per table over all its files:

(b) row checks (every failing one is a reason) -> quarantine;
(c) exact duplicates among the passing rows collapse to the first occurrence;
(d) rows sharing a key but differing elsewhere -> all quarantined (DQ-DUP-KEY);
(e) rows referring to a person/employer that was not loaded -> DQ-ORPHAN;
(f) loaded persons whose gender/birth_date disagree with the ID -> DQ-ID-MISMATCH, the ID wins.

The jobs live in their own modules: ``readers`` (files to string frames, within
``limits``), ``bind`` (headers onto columns), ``rowchecks`` (typing and row
checks), ``stages`` (the sharded table-wide stages), ``findings`` (reasons and
findings rows), ``writers`` (warehouse tables), ``incremental`` (unchanged and
appended tables with the ingest ``cache``). This module holds the run itself:
:class:`FolderRun` keeps the run's bookkeeping (ingest_files / ingest_log rows,
cells kept aside, source numbers) and walks the tables.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from assets.ingest import findings
from assets.ingest.bind import Source, bind, report_source, source_from_cache
from assets.ingest.cache import Entry, IngestCache, cache_key
from core.contract import TABLE_ORDER, TABLES, Table, recognise_table
from assets.ingest.findings import OWNED_RULES, RECORD_RULES  # noqa: F401 - the rule ids, as other layers import them
from assets.ingest.incremental import (TableState, append_new_files, appendable, carry_forward, key_text,
                                       previous_state, table_state, unchanged, write_state)
from assets.ingest.limits import Limits, default_limits
from assets.ingest.readers import SUPPORTED, FileProblem, RawSheet, read_any
from assets.ingest.stages import process_table
from assets.ingest.writers import create_table, write_ingest_tables, write_table


@dataclass
class IngestResult:
    run_id: str
    as_of: dt.date
    tables: dict[str, int] = field(default_factory=dict)  # loaded rows per table
    files: list[dict] = field(default_factory=list)  # ingest_files rows
    log: list[dict] = field(default_factory=list)  # ingest_log rows
    findings: dict[str, int] = field(default_factory=dict)  # rule_id -> count
    quarantined: int = 0
    seconds: float = 0.0
    cache: dict = field(default_factory=dict)  # ingest cache hits / misses (sources), when a cache is used
    skipped: list[str] = field(default_factory=list)  # tables kept as they were (nothing they depend on changed)
    appended: list[str] = field(default_factory=list)  # tables that only gained files: new rows appended

    def rejected_files(self) -> list[dict]:
        """The ingest_files rows of files / sheets rejected whole (status ``rejected`` or ``error``): data
        that was meant for the warehouse and did not reach it (the run step stops before publishing)."""
        return [f for f in self.files if f["status"] in REJECTED_WHOLE]

    def summary(self) -> dict:
        return {"run_id": self.run_id, "as_of": self.as_of.isoformat(), "tables": self.tables,
                "quarantined": self.quarantined, "findings": self.findings, "files": len(self.files),
                "rejected_files": [f["source_file"] for f in self.rejected_files()],
                "seconds": round(self.seconds, 2)}


REJECTED_WHOLE = ("rejected", "error")


def list_input_files(input_dir: Path) -> list[Path]:
    """The regular files of the folder that are read, sorted by name (scan_input_folder)."""
    return scan_input_folder(input_dir)[0]


def scan_input_folder(input_dir: Path) -> tuple[list[Path], list[tuple]]:
    """Every entry directly in the folder, in name order: (files to read,
    entries not read as (name, table, status, message_zh, message_en)).

    Read: regular files, and symbolic links to regular files inside the
    folder. Not read, each reported: hidden entries (dot-files), sub-folders,
    FIFOs, sockets and devices (never opened: a FIFO would block the run),
    broken links and links that lead out of the folder. Such an entry whose
    name names a contract table is ``rejected`` (data meant for the warehouse
    did not reach it); otherwise ``skipped`` (docs/ingest.md)."""
    import os
    import stat

    root = Path(input_dir).resolve()
    files: list[Path] = []
    other: list[tuple] = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        name, path = entry.name, Path(entry.path)
        table = recognise_table(path.stem) if path.suffix.lower() in SUPPORTED else None
        why = None
        if name.startswith("."):
            why = ("隐藏文件(以 . 开头),未读取", "hidden entry (name starts with '.'), not read")
            table = None
        else:
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    target = Path(os.path.realpath(path))
                    if not target.exists():
                        why = ("符号链接指向不存在的目标,未读取", "broken symbolic link, not read")
                    elif target.parent != root and root not in target.parents:
                        why = ("符号链接指向输入文件夹之外,未读取", "symbolic link leading out of the input folder, not read")
                    else:
                        st = os.stat(path)
                if why is None:
                    mode = st.st_mode
                    if stat.S_ISREG(mode):
                        files.append(path)
                        continue
                    if stat.S_ISDIR(mode):
                        why, table = ("子文件夹,不读取(只读取输入文件夹中的文件)",
                                      "sub-folder, not read (only files directly in the input folder are)"), None
                    elif stat.S_ISFIFO(mode):
                        why = ("命名管道(FIFO),不是普通文件,未读取", "a FIFO (named pipe), not a regular file; not read")
                    elif stat.S_ISSOCK(mode):
                        why = ("套接字(socket),不是普通文件,未读取", "a socket, not a regular file; not read")
                    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                        why = ("设备文件,不是普通文件,未读取", "a device file, not a regular file; not read")
                    else:
                        why = ("特殊文件,不是普通文件,未读取", "a special file, not a regular file; not read")
            except OSError as exc:
                why = (f"无法查看该文件: {type(exc).__name__}", f"cannot be examined: {type(exc).__name__}")
        other.append((name, table, "rejected" if table else "skipped", f"{name}: {why[0]}", f"{name}: {why[1]}"))
    return files, other


class FolderRun:
    """One ingest of one folder: the result being built (``res``), the cells
    kept aside (``extras``), the next source number (``order``) and the files
    of each table (``pending``). Methods replace the closures of a single
    long function; ``tentative()`` replaces a manual undo."""

    def __init__(self, input_dir: Path, con, run_id: str, as_of: dt.date, cache_dir: Path | None,
                 limits: Limits, progress=None):
        self.input_dir, self.con, self.as_of, self.limits = Path(input_dir), con, as_of, limits
        self.cache_dir, self.progress = cache_dir, progress
        self.cache = IngestCache(cache_dir) if cache_dir is not None else None
        self.res = IngestResult(run_id=run_id, as_of=as_of)
        self.pending: dict[str, list[Path | RawSheet]] = {t: [] for t in TABLE_ORDER}
        self.extras: list[pl.DataFrame] = []
        self.order = 0

    # ------------------------------------------------------------ bookkeeping

    def file_row(self, label, table, status, zh, en) -> None:
        self.res.files.append({"run_id": self.res.run_id, "source_file": label, "table_name": table,
                               "status": status, "message": f"{zh} / {en}"})

    def unrecognised(self, label: str) -> None:
        what = "工作表" if "#" in label else "文件"
        self.file_row(label, None, "unrecognised",
                      f"{what} {label} 的名称不对应任何数据表(应以表名或中文名开头,如 persons / 人员),未载入",
                      f"{label}: the name matches no table of the contract (it must start with a table "
                      f"name or its Chinese alias, e.g. persons / 人员); not loaded")

    def keep_extras(self, src: Source) -> None:
        if src.extras.height:
            self.extras.append(src.extras.with_columns(pl.lit(src.label).alias("source_file"),
                                                       pl.lit(src.table).alias("table_name")))

    @contextmanager
    def tentative(self) -> Iterator["_Attempt"]:
        """Bookkeeping of an attempt that may be given up: the ingest_files /
        ingest_log rows, kept-aside cells and source numbers recorded inside the
        block stay only when the block calls ``attempt.keep()``."""
        attempt = _Attempt()
        marks = (len(self.res.files), len(self.res.log), len(self.extras), self.order)
        try:
            yield attempt
        finally:
            if not attempt.kept:
                del self.res.files[marks[0]:], self.res.log[marks[1]:], self.extras[marks[2]:]
                self.order = marks[3]

    def store(self, src: Source, frames: dict[str, pl.DataFrame]) -> Path | None:
        n_failed = frames["fails"]["_lrid"].n_unique()
        return self.cache.put(src.cache_key, {**src.cache_meta, "n_rows": src.n_rows,
                                              "as_of": self.as_of.isoformat(), "n_failed": n_failed}, frames)

    # ------------------------------------------------------------ reading

    def read(self, path: Path) -> list[RawSheet]:
        """The file's sheets bound for a table; file problems become ingest_files rows."""
        try:
            items = read_any(path, self.limits)
        except FileProblem as fp:
            self.file_row(path.name, recognise_table(path.stem) if path.suffix.lower() in (".csv", ".parquet")
                          else None, fp.status, fp.message_zh, fp.message_en)
            return []
        except Exception as exc:  # noqa: BLE001 - a bad file never stops the run
            self.file_row(path.name, None, "error", f"文件 {path.name} 读取失败: {type(exc).__name__}",
                          f"file {path.name} could not be read: {type(exc).__name__}: {str(exc)[:200]}")
            return []
        out = []
        for item in items:
            if isinstance(item, FileProblem):
                self.file_row(item.label or path.name, None, item.status, item.message_zh, item.message_en)
            elif item.table is None:
                self.unrecognised(item.label)
            else:
                out.append(item)
        return out

    def group_files(self) -> None:
        """Every entry of the folder accounted for; files grouped by table
        from their names (Excel workbooks are opened to see their sheets)."""
        to_read, not_read = scan_input_folder(self.input_dir)
        for name, table, status, zh, en in not_read:
            self.file_row(name, table, status, zh, en)
        for path in to_read:
            suffix = path.suffix.lower()
            if suffix == ".xlsx":
                for sheet in self.read(path):
                    self.pending[sheet.table].append(sheet)
            elif suffix in (".csv", ".parquet"):
                table = recognise_table(path.stem)
                if table is None:
                    self.unrecognised(path.name)
                else:
                    self.pending[table].append(path)
            else:
                self.read(path)  # reports the unsupported type

    def cached_source(self, table: Table, item: Path, entry: Entry) -> Source:
        src = source_from_cache(entry, table, item, self.order)
        src.limits = self.limits
        self.order += 1
        self.keep_extras(src)
        for fr in entry.meta["file_rows"]:
            self.res.files.append({"run_id": self.res.run_id, **fr})
        return src

    def sources_of(self, table: Table, looked_up: dict, only: list | None = None) -> Iterator[Source]:
        """The table's sources, read and bound one at a time as process_table
        asks for them (only one file's raw text is in memory at once).
        ``looked_up``: item -> (cache key, entry or None) for CSV / Parquet files;
        ``only``: just these items."""
        for item in (self.pending[table.name] if only is None else only):
            key, entry = looked_up.get(item, (None, None)) if isinstance(item, Path) else (None, None)
            if entry is not None:
                yield self.cached_source(table, item, entry)
                continue
            sheets = self.read(item) if isinstance(item, Path) else [item]
            for sheet in sheets:
                try:
                    src = bind(sheet, self.order)
                except FileProblem as fp:
                    self.file_row(sheet.label, sheet.table, fp.status, fp.message_zh, fp.message_en)
                    continue
                src.limits = self.limits
                if isinstance(item, Path):
                    src.path = item
                else:
                    src.sheet = item
                self.order += 1
                self.keep_extras(src)
                n_files = len(self.res.files)
                report_source(src, self.file_row)
                if key is not None and len(sheets) == 1:
                    src.cache_key = key
                    src.cache_meta = {
                        "label": src.label, "file_name": src.file_name, "headers": src.headers,
                        "scales": src.scales, "n_header": src.n_header, "unknown_columns": src.unknown_columns,
                        "notes": src.notes,
                        "file_rows": [{k: v for k, v in f.items() if k != "run_id"}
                                      for f in self.res.files[n_files:]]}
                del sheet
                yield src
            del sheets

    # ------------------------------------------------------------ tables

    def run(self) -> IngestResult:
        t0 = time.perf_counter()
        self.group_files()
        from assets.warehouse import existing_tables

        self.rules = findings.load_ingest_rules()
        self.parents: dict[str, pl.Series] = {}
        self.existing = existing_tables(self.con)
        self.previous = previous_state(self.con, self.existing) if self.cache is not None else {}
        self.state: dict[str, TableState] = {}
        q_parts: list[pl.DataFrame] = []
        f_parts: list[pl.DataFrame] = []
        for name in TABLE_ORDER:
            q, f = self.table(TABLES[name])
            q_parts.extend(q)
            f_parts.extend(f)
            if self.progress:
                self.progress(f"ingested {name}: {self.res.tables[name]} rows loaded"
                              + (" (unchanged)" if name in self.res.skipped else ""))
        res = self.res
        res.files.sort(key=lambda f: f["source_file"])
        write_ingest_tables(self.con, res, q_parts, f_parts, self.extras)
        write_state(self.con, res, self.state)
        if self.cache is not None:
            self.cache.prune()
            res.cache = {"hits": self.cache.hits, "misses": self.cache.misses}
        res.seconds = time.perf_counter() - t0
        return res

    def table(self, table: Table) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
        """One table: kept as it is, appended to, or built; its quarantine and findings parts."""
        name, cache, pending = table.name, self.cache, self.pending[table.name]
        looked_up = {}  # file -> (cache key, entry serving this run or None); fingerprints only with a cache
        if cache is not None:
            looked_up = {item: (key, cache.get(key, self.as_of)) for item in pending if isinstance(item, Path)
                         for key in (cache_key(item),)}
        st = self.state[name] = table_state(name, pending, looked_up, self.state, self.rules) \
            if cache is not None else TableState()
        prev = self.previous.get(name)
        all_hits = all(entry is not None for _, entry in looked_up.values())
        if all_hits and st.signature is not None and unchanged(self.con, table, prev, st.signature, self.existing):
            return self.keep(table, looked_up, prev, st)
        new_items = appendable(self.con, table, pending, looked_up, prev, st, self.existing)
        if new_items:
            got = self.append(table, looked_up, new_items, prev, st)
            if got is not None:
                return got
            looked_up.update({i: (looked_up[i][0], cache.get(looked_up[i][0], self.as_of, count=False))
                              for i in new_items})  # parsed and stored by the attempt
        return self.build(table, looked_up, st)

    def keep(self, table: Table, looked_up: dict, prev: TableState, st: TableState):
        """Every file of the table and of its parents is as in the run that built the warehouse's copy of
        the table: keep it, and carry its quarantine, findings and log rows forward."""
        for item in self.pending[table.name]:
            self.cached_source(table, item, looked_up[item][1])
        q, f = carry_forward(self.con, self.res, table, self.res.run_id, self.as_of, self.parents)
        st.late_keys = prev.late_keys
        if prev.base is None:  # recorded before appends existed: its late keys are unknown, never append to it
            st.base = None
        self.res.skipped.append(table.name)
        return q, f

    def append(self, table: Table, looked_up: dict, new_items: list[Path], prev: TableState, st: TableState):
        """Only new files since the run that built the table: try appending
        their rows. None when a new key meets an old one (the table is then
        rebuilt; the attempt's bookkeeping is given up)."""
        with self.tentative() as attempt:
            q, f, late = append_new_files(self.con, self.res, table, new_items,
                                          self.sources_of(table, looked_up, only=new_items), self.as_of,
                                          self.parents, self.store, self.rules, prev, self.cache_dir)
            if q is None:
                return None
            attempt.keep()
        for item in self.pending[table.name]:
            if item not in new_items:
                self.cached_source(table, item, looked_up[item][1])
        st.late_keys = prev.late_keys + key_text(late)
        self.res.appended.append(table.name)
        return q, f

    def build(self, table: Table, looked_up: dict, st: TableState):
        """Read, check and write the whole table."""
        labels = [item.name if isinstance(item, Path) else item.label for item in self.pending[table.name]]
        sources: list[Source] = []
        sink = create_table(self.con, table)
        out = process_table(table, self.sources_of(table, looked_up), self.as_of, self.parents,
                            store=self.store if self.cache is not None else None, sink=sink, labels=labels,
                            seen=sources, spill_root=self.cache_dir)  # a killed run's spill is pruned with the cache
        if out.key_values is not None:
            self.parents[table.name] = out.key_values
        q, f = write_table(self.con, self.res, table, sources, out, self.rules)
        st.late_keys = key_text(out.late_keys)
        return q, f


@dataclass
class _Attempt:
    kept: bool = False

    def keep(self) -> None:
        self.kept = True


def ingest_folder(input_dir: Path, con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date,
                  progress=None, cache_dir: Path | None = None, limits: Limits | None = None) -> IngestResult:
    """Ingest every file of ``input_dir`` into the warehouse behind ``con``.

    Files are grouped by table from their names first (Excel workbooks are
    opened to see their sheets); then one table at a time is read, checked,
    written and dropped, parents (employers, persons) first.

    With ``cache_dir`` the typed, row-checked rows of each CSV / Parquet file
    are cached there (assets/ingest/cache.py) and a later run re-parses only
    new or changed files; the table-wide stages run over all rows as always.
    ``limits``: the reading limits (default: ``ingest_limits`` of expectations/policy.yaml)."""
    return FolderRun(input_dir, con, run_id, as_of, cache_dir, limits or default_limits(), progress).run()
