"""Unchanged and appended tables (with the ingest cache; docs/ingest.md,
"Unchanged tables" and "Tables that only gained files"): what a table was
built from (``ingest_state``), whether it can be kept or only gained files,
appending new files' rows, and carrying a kept table's quarantine, findings
and log rows forward.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from assets.ingest.bind import Source
from assets.ingest.cache import code_version
from core.contract import TABLE_ORDER, Table
from assets.ingest.findings import RECORD_RULES
from assets.ingest.stages import process_table
from assets.ingest.writers import comment_table_safe, create_table, insert_frame, write_table

if TYPE_CHECKING:
    from assets.ingest.core import IngestResult


@dataclass
class TableState:
    """What a contract table was built from (one ``ingest_state`` row).

    ``signature``: SHA-1 of the code, the ingest rules of the rule book (severities
    and message templates of its findings), the table's files (cache keys: name +
    content fingerprint) and its parents' signatures; None when a source is an
    Excel sheet (never cached). ``base``: the same without the files.
    ``file_keys``: the cache keys of its files. ``late_keys``: keys (text) of rows
    that passed the row checks but were quarantined by DQ-DUP-KEY / DQ-ORPHAN."""
    signature: str | None = None
    base: str | None = None
    file_keys: list[str] = field(default_factory=list)
    late_keys: list[list[str | None]] = field(default_factory=list)
    rows: int = 0


def table_state(name: str, items: list, looked_up: dict, state: dict, rules: dict) -> TableState:
    """The signatures of a table's inputs in this run. A table is kept only when
    its signature is the recorded one AND every file is a cache entry serving
    this run — an entry made at an earlier as_of serves it only when none of its
    rows failed, so the row checks give the same result, and the table-wide
    stages do not depend on as_of."""


    if any(not isinstance(i, Path) for i in items):
        return TableState()
    parents = [state[p].signature for p in ("employers", "persons") if p in TABLE_ORDER[:TABLE_ORDER.index(name)]]
    if any(p is None for p in parents):
        return TableState()
    book = hashlib.sha1(json.dumps(rules, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    keys = [looked_up[i][0] for i in items]

    def sha(parts: list[str]) -> str:
        return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()

    return TableState(signature=sha([code_version(), book, name, *keys, *parents]),
                      base=sha([code_version(), book, name, "base", *parents]), file_keys=keys)


def previous_state(con, existing: set[str]) -> dict[str, TableState]:
    """table -> its state as recorded by the run that built the warehouse copy."""
    if "ingest_state" not in existing:
        return {}
    cols = {r[0] for r in con.sql("DESCRIBE ingest_state").fetchall()}
    if not {"base_signature", "file_keys", "late_keys"} <= cols:  # written before appends existed
        return {t: TableState(signature=sig, rows=n) for t, sig, n in con.sql(
            "SELECT table_name, signature, rows_loaded FROM ingest_state WHERE signature IS NOT NULL").fetchall()}
    return {t: TableState(sig, base, json.loads(keys or "[]"), json.loads(late or "[]"), n)
            for t, sig, base, keys, late, n in con.sql(
                "SELECT table_name, signature, base_signature, CAST(file_keys AS VARCHAR), CAST(late_keys AS VARCHAR), "
                "rows_loaded FROM ingest_state WHERE signature IS NOT NULL").fetchall()}


def _intact(con, table: Table, previous: TableState, existing: set[str]) -> bool:
    """The warehouse holds the table (and the tables its carried rows come from) as the state says."""
    if not {table.name, "quarantine", "ingest_log", "findings"} <= existing:
        return False
    return con.sql(f'SELECT count(*) FROM "{table.name}"').fetchall()[0][0] == previous.rows


def unchanged(con, table: Table, previous: TableState | None, signature: str, existing: set[str]) -> bool:
    return previous is not None and previous.signature == signature and _intact(con, table, previous, existing)


def appendable(con, table: Table, items: list, looked_up: dict, previous: TableState | None,
                now: TableState, existing: set[str]) -> list[Path] | None:
    """The new files when the table's only change since the run that built it is
    new files: same code, rules and parents (base signature), every earlier file
    still there unchanged and serving this run from the cache. Not for the
    parents (employers, persons), whose keys later tables check against."""
    if (previous is None or now.base is None or previous.base != now.base or not previous.file_keys
            or table.name in ("employers", "persons")):
        return None
    old = set(previous.file_keys)
    if not old < set(now.file_keys):
        return None
    if any(looked_up[i][1] is None for i in items if looked_up[i][0] in old):
        return None
    if not _intact(con, table, previous, existing):
        return None
    return [i for i in items if looked_up[i][0] not in old]


def append_new_files(con, res: IngestResult, table: Table, new_items: list[Path], sources, as_of: dt.date,
            parents: dict[str, pl.Series], store, rules: dict, previous: TableState, spill_root: Path | None):
    """Check the new files' rows (all stages, among themselves) and append
    them, bucket by bucket, while none of their keys meets a key of the loaded
    table or of an earlier late-quarantined row — then every table-wide stage
    gives what a run over all files gives (exact duplicates and DQ-DUP-KEY
    compare rows of one key; DQ-ORPHAN compares each row with the unchanged
    parents). Returns (quarantine parts, findings parts, new late keys), or
    (None, None, None) on a meeting key: the caller rebuilds the table (the
    rebuild replaces it, so rows appended before the meeting key do not matter).

    Buckets hold distinct first-key values, so checking a bucket against the
    table after earlier buckets went in finds only old keys; the new late keys
    never equal a new loaded key (DQ-DUP-KEY quarantines every row of a key).
    ``previous``: the table's recorded state (its row count checked by ``appendable``)."""
    name = table.name
    n_old = previous.rows
    old_late_df = pl.DataFrame(previous.late_keys, schema={k: pl.String for k in table.key_columns}, orient="row")
    sink = _AppendSink(con, table, old_late_df)
    seen: list[Source] = []
    out = process_table(table, sources, as_of, parents, store=store, labels=[i.name for i in new_items],
                        seen=seen, spill_root=spill_root, sink=sink)
    if sink.met:
        return None, None, None
    if _keys_meet(con, table, out.late_keys, old_late_df):
        return None, None, None
    q_old, f_old = carry_forward(con, res, table, res.run_id, res.as_of, parents, n_rows=n_old)
    q_new, f_new = write_table(con, res, table, seen, out, rules)
    res.tables[name] = n_old + out.n_loaded
    return q_old + q_new, f_old + f_new, out.late_keys


class _AppendSink:
    """Appends a bucket of new loaded rows to the table unless one of their
    keys meets a loaded or late-quarantined key; after the first meeting key
    (``met``) nothing more is appended (the table is rebuilt)."""

    def __init__(self, con, table: Table, old_late: pl.DataFrame):
        self.con, self.table, self.old_late = con, table, old_late
        self.insert = create_table(con, table, replace=False)
        self.met = False

    def __call__(self, frame: pl.DataFrame) -> None:
        if self.met:
            return
        if _keys_meet(self.con, self.table, frame.select(self.table.key_columns), self.old_late):
            self.met = True
        else:
            self.insert(frame)


def key_text(keys: pl.DataFrame) -> list[list[str | None]]:
    """Keys as text rows in a stable order (how ``ingest_state.late_keys`` stores them)."""
    rows = keys.select(pl.all().cast(pl.String)).rows()
    return [list(r) for r in sorted(rows, key=lambda r: tuple(x or "" for x in r))]


def _keys_meet(con, table: Table, keys: pl.DataFrame, old_late: pl.DataFrame) -> bool:
    """Whether a key of ``keys`` (typed key columns) is the key of a row of the
    loaded table or one of ``old_late`` (keys as text), NULL equal to NULL as in
    the duplicate stages. The table side is first narrowed to each key column's
    range among ``keys`` (a new month of contributions: 1/24 of the rows to probe)."""
    if keys.height == 0:
        return False
    if old_late.height and keys.select(pl.col(k).cast(pl.String) for k in old_late.columns).join(
            old_late, on=old_late.columns, how="semi", nulls_equal=True).height:
        return True
    names = [f'"{k}"' for k in keys.columns]
    bounds = keys.select([pl.col(k).min().alias(f"lo{i}") for i, k in enumerate(keys.columns)]
                         + [pl.col(k).max().alias(f"hi{i}") for i, k in enumerate(keys.columns)]
                         + [pl.col(k).is_null().any().alias(f"nu{i}") for i, k in enumerate(keys.columns)]).row(0)
    n = len(names)
    where, params = [], []
    for i, col in enumerate(names):
        lo, hi, has_null = bounds[i], bounds[n + i], bounds[2 * n + i]
        if lo is None:  # only NULLs among the new keys in this column
            where.append(f"{col} IS NULL")
            continue
        where.append(f"({col} BETWEEN ? AND ?" + (f" OR {col} IS NULL)" if has_null else ")"))
        params += [lo, hi]
    con.register("_new_keys", keys.to_arrow())
    try:
        return bool(con.sql(f'SELECT count(*) FROM (SELECT {", ".join(names)} FROM "{table.name}" '
                            f'WHERE {" AND ".join(where)} INTERSECT SELECT {", ".join(names)} FROM _new_keys)',
                            params=params).fetchall()[0][0])
    finally:
        con.unregister("_new_keys")


def carry_forward(con, res: IngestResult, table: Table, run_id: str, as_of: dt.date,
                   parents: dict[str, pl.Series], n_rows: int | None = None
                   ) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """An unchanged table: its rows stay; its quarantine, findings and ingest_log
    rows are those of the run that built it (run_id and as_of updated)."""
    from assets.warehouse import FINDINGS_COLUMNS

    name = table.name
    res.tables[name] = n_rows if n_rows is not None else con.sql(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
    if name in ("persons", "employers"):
        key = table.key_columns[0]
        parents[name] = con.sql(f'SELECT "{key}" FROM "{name}"').pl()[key]
    for row in con.sql("SELECT source_file, table_name, rows_read, rows_loaded, rows_quarantined, rows_collapsed "
                       "FROM ingest_log WHERE table_name = ? ORDER BY source_file", params=[name]).fetchall():
        res.log.append({"run_id": run_id, **dict(zip(("source_file", "table_name", "rows_read", "rows_loaded",
                                                      "rows_quarantined", "rows_collapsed"), row))})
    q = con.sql("SELECT table_name, source_file, source_row, rule_ids, reasons, CAST(raw AS VARCHAR) AS raw "
                "FROM quarantine WHERE table_name = ?", params=[name]).pl()
    rules = ", ".join(f"'{r}'" for r in RECORD_RULES)
    mismatch = " OR rule_id = 'DQ-ID-MISMATCH'" if name == "persons" else ""
    cols = [c for c, _, _ in FINDINGS_COLUMNS if c != "waived"]  # waivers are the rule layer's
    sel = ", ".join("CAST(detail AS VARCHAR) AS detail" if c == "detail" else f'"{c}"' for c in cols)
    f = con.sql(f"SELECT {sel} FROM findings WHERE (rule_id IN ({rules}) AND "
                f"json_extract_string(detail, '$.table') = ?){mismatch}", params=[name]).pl()
    f = f.with_columns(pl.lit(run_id).alias("run_id"), pl.lit(as_of).alias("as_of"))
    return ([q] if q.height else []), ([f] if f.height else [])


def write_state(con, res: IngestResult, state: dict[str, TableState]) -> None:
    rows = [{"table_name": t, "signature": st.signature, "rows_loaded": res.tables.get(t, 0), "run_id": res.run_id,
             "base_signature": st.base, "file_keys": json.dumps(st.file_keys),
             "late_keys": json.dumps(st.late_keys, ensure_ascii=False)}
            for t in TABLE_ORDER for st in (state.get(t) or TableState(),)]
    con.execute("CREATE OR REPLACE TABLE ingest_state (table_name VARCHAR, signature VARCHAR, rows_loaded BIGINT, "
                "run_id VARCHAR, base_signature VARCHAR, file_keys JSON, late_keys JSON)")
    insert_frame(con, "ingest_state", pl.DataFrame(rows, schema={
        "table_name": pl.String, "signature": pl.String, "rows_loaded": pl.Int64, "run_id": pl.String,
        "base_signature": pl.String, "file_keys": pl.String, "late_keys": pl.String}),
            "SELECT table_name, signature, rows_loaded, run_id, base_signature, CAST(file_keys AS JSON), "
            "CAST(late_keys AS JSON) FROM _frame")
    comment_table_safe(con, "ingest_state", "What each contract table was built from (ingest cache signature) / "
                       "各数据表的来源签名(用于跳过未变化的表、追加新文件)", {
                           "table_name": "Contract table / 数据表",
                           "signature": "SHA-1 of the code, the ingest rules, the table's files (name + content) and "
                                        "its parents' signatures; NULL when a source is an Excel sheet / 来源签名",
                           "rows_loaded": "Rows in the table / 行数",
                           "run_id": "Run that wrote this row / 运行编号",
                           "base_signature": "The signature without the files (code, rules, parents) / 不含文件的签名",
                           "file_keys": "Ingest cache keys of the table's files / 各文件的缓存键",
                           "late_keys": "Keys of rows quarantined by DQ-DUP-KEY or DQ-ORPHAN (a new file whose "
                                        "rows meet one is not appended) / 因重复键或孤立记录隔离的行的键"})
