"""Ingest core: read an input folder, normalise, quarantine, load the warehouse.

``ingest_folder(input_dir, con, run_id, as_of)`` is a plain function (the
Dagster asset, the tests and the benchmark call it). Semantics are documented
in docs/ingest.md; in short, per table over all its files:

(b) row checks (every failing one is a reason) -> quarantine;
(c) exact duplicates among the passing rows collapse to the first occurrence;
(d) rows sharing a key but differing elsewhere -> all quarantined (DQ-DUP-KEY);
(e) rows referring to a person/employer that was not loaded -> DQ-ORPHAN;
(f) loaded persons whose gender/birth_date disagree with the ID -> DQ-ID-MISMATCH, the ID wins.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import string
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from assets.ingest import idcheck
from assets.ingest.cache import Entry, IngestCache, cache_key
from core.masking import mask_id_expr
from core.contract import (TABLE_ORDER, TABLES, USCC_COLUMNS, Column, Table, column_comment, header_map,
                                    norm_name, recognise_table, table_comment)
from assets.ingest.normalize import (add_years, clean_text, parse_bool, parse_date, parse_enum, parse_integer,
                                     parse_money, parse_month)
from assets.ingest.readers import FileProblem, RawSheet, read_any

log = logging.getLogger(__name__)

RECORD_RULES = ["DQ-REQUIRED", "DQ-BAD-ID", "DQ-BAD-USCC", "DQ-BAD-DATE", "DQ-BAD-ENUM", "DQ-BAD-NUMBER",
                "DQ-DATE-ORDER", "DQ-DUP-KEY", "DQ-ORPHAN", "DQ-BAD-REF"]
OWNED_RULES = RECORD_RULES + ["DQ-ID-MISMATCH"]
RULES_FILE = Path(__file__).resolve().parent.parent.parent / "expectations" / "rules" / "ingest.yaml"
EXTRA_COLUMN_PREFIX = "#"

# Short reason per rule (quarantine.reasons), zh / en; {column} {value} filled per failure.
REASONS = {
    "DQ-REQUIRED": ("必填列「{column}」为空", "required column '{column}' is empty"),
    "DQ-BAD-ID": ("证件号码「{value}」未通过校验", "ID number '{value}' fails the check of its document type"),
    "DQ-BAD-USCC": ("统一社会信用代码「{value}」未通过校验", "USCC '{value}' fails the GB 32100 check"),
    "DQ-BAD-DATE": ("「{column}」日期「{value}」无效或超出范围", "'{column}' date '{value}' unparseable or out of range"),
    "DQ-BAD-ENUM": ("「{column}」取值「{value}」不在代码表中", "'{column}' value '{value}' is not a code or label"),
    "DQ-BAD-NUMBER": ("「{column}」数值「{value}」无效或为负数", "'{column}' value '{value}' is not a non-negative number"),
    "DQ-DATE-ORDER": ("日期顺序错误「{column}」=「{value}」", "dates out of order '{column}' = '{value}'"),
    "DQ-DUP-KEY": ("主键「{column}」=「{value}」重复且内容冲突", "key '{column}' = '{value}' duplicated with conflicting values"),
    "DQ-ORPHAN": ("「{column}」=「{value}」引用的人员或单位未载入", "'{column}' = '{value}' refers to nothing loaded"),
    "DQ-BAD-REF": ("「{column}」=「{value}」不是可登记例外的规则", "'{column}' = '{value}' is not a waivable rule"),
}


def waivable_rule_ids() -> set[str]:
    """Rule ids a waiver may name (v2): every rule of the rule book but the
    record rules of ingest (DQ-BAD-*, DQ-REQUIRED, DQ-DATE-ORDER, DQ-DUP-KEY,
    DQ-ORPHAN, DQ-BAD-REF), which cannot be waived."""
    from expectations.rulebook import load_rules

    return {rid for rid in load_rules() if rid not in RECORD_RULES and not rid.startswith("DQ-BAD-")}


# ------------------------------------------------------------------ helpers

_ID_LIKE = r"^[0-9]{14,17}[0-9Xx]$"


def load_ingest_rules() -> dict[str, dict]:
    """The ingest rules via the shared rule-book loader (falls back to reading
    ingest.yaml alone if another rule file is currently broken)."""
    try:
        from expectations.rulebook import load_rules

        rules = load_rules()
        if all(r in rules for r in OWNED_RULES):
            return {r: rules[r] for r in OWNED_RULES}
    except Exception as exc:  # noqa: BLE001 - another layer's file must not stop ingestion
        log.warning("rule book could not be loaded (%s); using ingest.yaml alone", type(exc).__name__)
    import yaml

    entries = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return {e["rule_id"]: e for e in entries}


def template_expr(template: str) -> pl.Expr:
    """A str.format template over columns -> vectorised concat_str."""
    parts: list[pl.Expr] = []
    for literal, fname, _spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if fname is not None:
            parts.append(pl.col(fname).cast(pl.String).fill_null(""))
    return pl.concat_str(parts) if parts else pl.lit("")


@dataclass
class Source:
    """One file (or Excel sheet) bound to a contract table."""
    label: str
    file_name: str
    table: str
    order: int
    frame: pl.DataFrame  # _row, _ncells, contract columns (String)
    headers: dict[str, str]  # contract column -> header as written
    scales: dict[str, int]
    n_header: int
    extras: pl.DataFrame  # source_row, column_name, value
    unknown_columns: list[str]
    notes: list[str] = field(default_factory=list)
    path: Path | None = None  # CSV / Parquet: re-read for raw values of late-stage quarantined rows
    sheet: RawSheet | None = None  # Excel: the sheet itself (small)
    n_rows: int = 0
    cached: "Entry | None" = None  # typed, row-checked rows from the ingest cache (no re-parse)
    cache_key: str | None = None  # set when this source's result should be stored in the cache
    cache_meta: dict | None = None

    def raw_rows(self, rows: pl.Series) -> pl.DataFrame:
        """Raw (string) contract columns of the given row numbers, re-read from
        the file: the in-memory raw frame is dropped after typing to save memory."""
        sheet = self.sheet
        if sheet is None:
            sheet = next(x for x in read_any(self.path) if isinstance(x, RawSheet) and x.label == self.label)
        sheet.table = self.table
        return bind(sheet, self.order).frame.filter(pl.col("_row").is_in(rows.implode()))


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

    def summary(self) -> dict:
        return {"run_id": self.run_id, "as_of": self.as_of.isoformat(), "tables": self.tables,
                "quarantined": self.quarantined, "findings": self.findings, "files": len(self.files),
                "seconds": round(self.seconds, 2)}


# ------------------------------------------------------------------ binding

def bind(sheet: RawSheet, order: int) -> Source:
    """Map a sheet's headers onto its table's columns. Raises FileProblem when a
    required column is missing (the whole file/sheet is rejected)."""
    table = TABLES[sheet.table]
    hmap = header_map(table.name)
    renames: dict[str, str] = {}
    headers: dict[str, str] = {}
    scales: dict[str, int] = {}
    unknown: list[tuple[str, str]] = []  # (positional column, header)
    for j, h in enumerate(sheet.header):
        hit = hmap.get(norm_name(h))
        if hit and hit[0] not in headers:
            renames[f"c{j}"] = hit[0]
            headers[hit[0]] = h
            scales[hit[0]] = hit[1]
        else:
            unknown.append((f"c{j}", h.strip() or f"{EXTRA_COLUMN_PREFIX}{j + 1}"))
    missing = [c for c in table.columns if c.required and c.name not in headers]
    if missing:
        names_zh = "、".join(f"「{c.zh}」({c.name})" for c in missing)
        names_en = ", ".join(f"'{c.name}' ({c.zh})" for c in missing)
        raise FileProblem(f"{sheet.label} 缺少必填列 {names_zh},整个文件未载入",
                          f"{sheet.label} is missing required column {names_en}; the whole file was rejected",
                          "rejected")
    frame = sheet.frame
    extras = [sheet.overflow.rename({"_row": "source_row"})]
    if unknown and frame.height:
        long = (frame.select(["_row", *[c for c, _ in unknown]])
                .rename({c: f"u{k}" for k, (c, _) in enumerate(unknown)})
                .unpivot(index="_row", variable_name="column_name", value_name="value")
                .filter(pl.col("value").is_not_null() & (pl.col("value").str.strip_chars() != ""))
                .with_columns(pl.col("column_name").str.slice(1).cast(pl.Int64)
                              .replace_strict({k: h for k, (_, h) in enumerate(unknown)}, return_dtype=pl.String))
                .rename({"_row": "source_row"}))
        extras.append(long.select("source_row", "column_name", "value"))
    cols = [pl.col("_row"), pl.col("_ncells")]
    for c in table.columns:
        src = next((k for k, v in renames.items() if v == c.name), None)
        cols.append((pl.col(src) if src else pl.lit(None, dtype=pl.String)).alias(c.name))
    bound = frame.select(cols)
    return Source(sheet.label, sheet.file_name, table.name, order, bound, headers, scales, len(sheet.header),
                  pl.concat(extras), [h for _, h in unknown], list(sheet.notes))


# ------------------------------------------------------------------ table processing

def _typed(df: pl.DataFrame, table: Table, as_of: dt.date) -> pl.DataFrame:
    """Add v__<col> (cleaned string), t__<col> (typed) and, for ID columns,
    ok__<col> (passes GB 11643) for every column. A column with few distinct
    values (months, kinds, a person's ID repeated on 48 contribution rows) is
    parsed on its DISTINCT raw values and joined back (row order kept); a
    column whose values mostly differ (amounts, names, hashes) is parsed row
    by row, and there values already in plain form (see ``_plain``) skip the
    cleaning and parsing they would pass through unchanged."""
    for c in table.columns:
        raw = pl.col(c.name)
        kind = c.base_kind
        v = idcheck.normalise_id(raw) if (kind == "id_number" or c.name in USCC_COLUMNS) else clean_text(raw)
        vcol = pl.col(f"v__{c.name}")
        on = [c.name]
        if kind == "money":
            scale_col = f"_scale__{c.name}"
            on.append(scale_col)
            t = parse_money(vcol, pl.col(scale_col))
        elif kind == "integer":
            t = parse_integer(vcol)
        elif kind == "date":
            t = parse_date(vcol)
        elif kind == "month":
            t = parse_month(vcol)
        elif kind == "bool":
            t = parse_bool(vcol)
        elif kind == "enum":
            t = parse_enum(vcol, c.enum)
        else:
            t = vcol
        ok = [idcheck.any_id_valid(pl.col(f"t__{c.name}"), as_of).alias(f"ok__{c.name}")] if kind == "id_number" else []
        vt = [f"v__{c.name}", f"t__{c.name}"]
        if _mostly_distinct(df, on):  # a join back would cost more than parsing every row
            plain = _plain(c)
            if plain is None:
                df = df.with_columns(v.alias(vt[0])).with_columns(t.alias(vt[1]))
            else:
                pattern, fast_t = plain
                out = df.select(raw.alias(vt[0]), fast_t.alias(vt[1]))
                slow = df.select(raw.str.contains(pattern).not_().fill_null(True))[:, 0].arg_true()
                if slow.len():  # the other values take the full path; results scattered into place
                    sub = df.select(on).gather(slow).with_columns(v.alias(vt[0])).with_columns(t.alias(vt[1]))
                    out = out.with_columns(out[n].scatter(slow, sub[n]) for n in vt)
                df = df.with_columns(out)
            df = df.with_columns(ok)
            continue
        u = (df.select(on).unique().with_columns(v.alias(vt[0])).with_columns(t.alias(vt[1]))
             .with_columns(ok))
        df = df.join(u, on=on, how="left", nulls_equal=True, maintain_order="left")
    if table.name == "persons":  # v2: the row's id_type says which check (idcheck.doc_valid)
        df = df.with_columns(idcheck.doc_valid(pl.col("t__id_number"), pl.col("t__id_type"), as_of)
                             .alias("ok__id_number"))
    return df


def _plain(c: Column) -> tuple[str, pl.Expr] | None:
    """(pattern, typed value) for raw values that cleaning and parsing leave
    as they are: printable ASCII without surrounding spaces is unchanged by
    NFKC and trimming; IDs of digits and X need no normalising; a plain
    decimal is a money amount as written (x the header's scale), plain digits
    an integer. Tested: both paths give the same tables."""
    raw, kind = pl.col(c.name), c.base_kind
    if kind == "id_number" or c.name in USCC_COLUMNS:
        return r"^[0-9A-Z]+$", raw
    if kind == "money":
        return r"^[0-9]+(?:\.[0-9]+)?$", (raw.cast(pl.Float64, strict=False)
                                          * pl.col(f"_scale__{c.name}").cast(pl.Float64)).round(2)
    if kind == "integer":
        return r"^[0-9]+$", raw.cast(pl.Int64, strict=False)
    if kind == "text":
        return r"^[!-~](?:[ -~]*[!-~])?$", raw
    return None


DISTINCT_SAMPLE = 50_000


def _mostly_distinct(df: pl.DataFrame, on: list[str]) -> bool:
    """More than half of the first ``DISTINCT_SAMPLE`` rows' values differ
    (names, ID numbers of a persons file): parse every row instead of the
    distinct values. Either way each row gets its own value's result."""
    head = df.head(DISTINCT_SAMPLE).select(on)
    return head.height > 1000 and head.n_unique() > head.height // 2


def _failures(df: pl.DataFrame, table: Table, as_of: dt.date) -> pl.DataFrame:
    """Long frame of row-check failures: _rid, rule_id, column, value (as given)."""
    lo, hi = pl.lit(dt.date(1900, 1, 1)), pl.lit(add_years(as_of, 10))
    parts: list[pl.DataFrame] = []

    def add(rule: str, mask: pl.Expr, column: str, value: pl.Expr) -> None:
        parts.append(df.filter(mask).select(
            pl.col("_rid"), pl.lit(rule).alias("rule_id"), pl.lit(column).alias("column"),
            value.cast(pl.String).alias("value")))

    for c in table.columns:
        v, t = pl.col(f"v__{c.name}"), pl.col(f"t__{c.name}")
        given = v.is_not_null()
        if c.required:
            add("DQ-REQUIRED", v.is_null(), c.name, pl.col(c.name))
        kind = c.base_kind
        if kind == "id_number":
            add("DQ-BAD-ID", given & ~pl.col(f"ok__{c.name}"), c.name, pl.col(c.name))
        elif kind in ("date", "month"):
            add("DQ-BAD-DATE", given & (t.is_null() | (t < lo) | (t > hi)), c.name, pl.col(c.name))
        elif kind in ("enum", "bool"):
            add("DQ-BAD-ENUM", given & t.is_null(), c.name, pl.col(c.name))
        elif kind in ("money", "integer"):
            add("DQ-BAD-NUMBER", given & (t.is_null() | (t < 0)), c.name, pl.col(c.name))
    if table.name == "employers":
        v = pl.col("v__uscc")
        ok = idcheck.uscc_valid(v)
        add("DQ-BAD-USCC", v.is_not_null() & ~ok, "uscc", pl.col("uscc"))
    if table.name == "persons":  # v2: a passport holder's birth date and gender are not in the number
        passport = pl.col("t__id_type") == "passport"
        for col in ("birth_date", "gender"):
            add("DQ-REQUIRED", (passport & pl.col(f"v__{col}").is_null()).fill_null(False), col, pl.col(col))
    if table.name == "withholding_agents":
        v = pl.col("v__agent_uscc")
        add("DQ-BAD-USCC", v.is_not_null() & ~idcheck.uscc_valid(v), "agent_uscc", pl.col("agent_uscc"))
    if table.name == "waivers":
        v = pl.col("v__rule_id")
        add("DQ-BAD-REF", v.is_not_null() & ~v.is_in(sorted(waivable_rule_ids())), "rule_id", pl.col("rule_id"))
    if table.name == "applications":
        t = pl.col("t__type")
        add("DQ-REQUIRED", t.is_not_null() & (t != "new") & pl.col("v__permit_no").is_null(), "permit_no",
            pl.col("permit_no"))
    for start, end, strict in table.date_orders:
        s, e = pl.col(f"t__{start}"), pl.col(f"t__{end}")
        in_range = (s >= lo) & (s <= hi) & (e >= lo) & (e <= hi)
        bad = (e <= s) if strict else (e < s)
        add("DQ-DATE-ORDER", (in_range & bad).fill_null(False), f"{start}, {end}",
            pl.concat_str([pl.col(start), pl.col(end)], separator=", "))
    if not parts:
        return pl.DataFrame(schema={"_rid": pl.Int64, "rule_id": pl.String, "column": pl.String, "value": pl.String})
    return pl.concat(parts)


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


FAIL_SCHEMA = {"_rid": pl.Int64, "rule_id": pl.String, "column": pl.String, "value": pl.String}


def _qinfo(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    has_u, has_i = "uscc" in table.column_names, "id_number" in table.column_names
    return frame.select(
        "_rid", pl.col("_src").cast(pl.String), "_row", "_ncells", "_nheader",
        (pl.col("t__uscc") if has_u else pl.lit(None, pl.String)).alias("_u"),
        (idcheck.uscc_valid(pl.col("t__uscc")) if has_u else pl.lit(False)).alias("_uok"),
        (pl.col("t__id_number") if has_i else pl.lit(None, pl.String)).alias("_i"),
        (pl.col("ok__id_number") if has_i else pl.lit(False)).alias("_iok"))


def _raw_json_of(frame: pl.DataFrame, s: Source) -> pl.DataFrame:
    """_rid -> the row's cells as written, keyed by the file's headers (JSON text)."""
    cols = [pl.col(c).alias(h) for c, h in s.headers.items()]
    return frame.select(pl.col("_rid"), pl.struct(cols).struct.json_encode().alias("raw"))


_trace = None  # optional callback(phase) for memory / time profiling (bench)


def _mark(phase: str) -> None:
    if _trace is not None:
        _trace(phase)


def _duplicates(df: pl.DataFrame, cols: list[str], keys: list[str]) -> tuple[pl.Series, pl.Series]:
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


QINFO_COLUMNS = ["_rid", "_src", "_row", "_ncells", "_nheader", "_u", "_uok", "_i", "_iok"]


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
    tcols = [f"t__{c.name}" for c in table.columns]
    okcols = [f"ok__{c.name}" for c in table.columns if c.base_kind == "id_number"]
    keep = ["_rid", "_src", "_row", "_ncells", "_nheader", *tcols, *okcols]
    money = [c.name for c in table.columns if c.base_kind == "money"]
    shard = _shard_expr(table)
    parts: list[_Part] = []
    fail_parts, qinfo_parts, raw_parts = [], [], []
    offset = 0
    spill_dir: Path | None = None

    def folder() -> Path:
        nonlocal spill_dir
        if spill_dir is None:
            if spill_root is not None:
                spill_root.mkdir(parents=True, exist_ok=True)
            spill_dir = Path(tempfile.mkdtemp(prefix="permits-ingest-spill-", dir=spill_root))
        return spill_dir

    def hold(part: _Part) -> None:
        parts.append(part)
        if sum(p.rows for p in parts) > BUCKET_ROWS:
            for i, p in enumerate(parts):
                p.spill(folder, i)

    try:
        for s in sources:
            seen.append(s)
            base = offset
            if s.cached is not None:  # typed and row-checked in an earlier run: shift the row ids only
                fr = s.cached.frames
                offset += s.n_rows
                part = _Part(s.label, base, pl.scan_parquet(s.cached.passing_path).select(pl.len()).collect().item(),
                             path=s.cached.passing_path)
                if part.rows + sum(p.rows for p in parts) <= BUCKET_ROWS:  # in memory; the file stays the spill
                    part.frame = part.load(0, N_SHARDS, keep + ["_shard"], src_type)
                hold(part)
                if fr["fails"].height:
                    fail_parts.append(_from_local(fr["fails"], base, list(FAIL_SCHEMA)))
                    qinfo_parts.append(_from_local(fr["qinfo"], base, QINFO_COLUMNS, _src=pl.lit(s.label)))
                    raw_parts.append(_from_local(fr["raw"], base, ["_rid", "raw"]))
                continue
            f = s.frame.with_columns(pl.lit(s.label).cast(src_type).alias("_src"),
                                     pl.lit(s.n_header, dtype=pl.Int64).alias("_nheader"),
                                     pl.int_range(offset, offset + pl.len(), dtype=pl.Int64).alias("_rid"),
                                     *[pl.lit(s.scales.get(m, 1), dtype=pl.Int64).alias(f"_scale__{m}")
                                       for m in money])
            s.n_rows = f.height
            offset += f.height
            s.frame = s.frame.clear()  # the raw strings are no longer needed in memory
            _mark("typing")
            f = _typed(f, table, as_of)
            _mark("row checks")
            fails = _failures(f, table, as_of)
            _mark("failed rows")
            q_part = raw_part = None
            if fails.height:
                bad = fails.select("_rid").unique()
                failed = f.join(bad, on="_rid", how="semi")
                q_part, raw_part = _qinfo(failed, table), _raw_json_of(failed, s)
                qinfo_parts.append(q_part)
                raw_parts.append(raw_part)
                f = f.join(bad, on="_rid", how="anti", maintain_order="left")
                fail_parts.append(fails)
            _mark("passing rows")
            part = _Part(s.label, base, f.height, frame=f.select(*keep, shard))
            del f
            if store is not None and s.cache_key is not None:
                _mark("cache store")
                part.path = store(s, {
                    "passing": _to_local(part.frame.drop("_src"), base),
                    "fails": _to_local(fails, base),
                    "qinfo": _to_local((q_part if q_part is not None else _qinfo(part.frame.clear(), table))
                                       .drop("_src"), base),
                    "raw": _to_local(raw_part if raw_part is not None else
                                     pl.DataFrame(schema={"_rid": pl.Int64, "raw": pl.String}), base),
                    "extras": s.extras,
                })
            hold(part)
        return _table_wide(table, seen, parts, fail_parts, qinfo_parts, raw_parts, keep, src_type, parents, sink)
    finally:
        if spill_dir is not None:
            shutil.rmtree(spill_dir, ignore_errors=True)


def _table_wide(table: Table, sources: list[Source], parts: list[_Part], fail_parts: list, qinfo_parts: list,
                raw_parts: list, keep: list[str], src_type, parents: dict[str, pl.Series], sink) -> TableOutcome:
    """Stages (c)-(f) per bucket of shards (one bucket while the table fits in memory)."""
    by_label = {s.label: s for s in sources}
    tcols = [f"t__{c.name}" for c in table.columns]
    keys = [f"t__{k}" for k in table.key_columns]
    total = sum(p.rows for p in parts)
    k = min(N_SHARDS, max(1, -(-total // BUCKET_ROWS)))
    if k > 1 and any(p.frame is not None for p in parts):
        k = 1  # only on-disk parts are worth splitting (cannot happen: hold() spills beyond BUCKET_ROWS)
    bounds = [round(i * N_SHARDS / k) for i in range(k + 1)]
    empty = pl.DataFrame(schema={
        "_rid": pl.Int64, "_src": src_type, "_row": pl.Int64, "_ncells": pl.Int64, "_nheader": pl.Int64,
        **{f"t__{c.name}": _pl_type(c) for c in table.columns},
        **{f"ok__{c.name}": pl.Boolean for c in table.columns if c.base_kind == "id_number"}})
    late, collapsed, mm_parts, key_parts = [], [], [], []
    n_loaded = 0
    for b in range(k):
        lo, hi = bounds[b], bounds[b + 1]
        loaded_parts = [p.load(lo, hi, keep, src_type) for p in parts]
        if k == 1:
            for p in parts:
                p.frame = None  # the bucket holds the rows now
        ok = pl.concat(loaded_parts) if loaded_parts else empty
        del loaded_parts
        if not ok["_rid"].is_sorted():
            ok = ok.sort("_rid")  # a bucket read from disk comes in shard order
        # (c) exact duplicates after normalisation collapse to the first occurrence;
        # (d) conflicting duplicates of a key (among what is left): all quarantined
        _mark("duplicates")
        first, conflict = _duplicates(ok, tcols, keys)
        collapsed.append(ok.filter(~first).group_by("_src").len())
        dup = ok.filter(conflict)
        ok = ok.filter(first & ~conflict)
        del first, conflict
        late.append(dup)
        fail_parts.append(dup.select(
            pl.col("_rid"), pl.lit("DQ-DUP-KEY").alias("rule_id"),
            pl.lit(", ".join(table.key_columns)).alias("column"),
            pl.concat_str([pl.col(f"t__{c}").cast(pl.String).fill_null("") for c in table.key_columns],
                          separator=", ").alias("value")))
        _mark("orphans")
        # (e) orphans against what persons / employers loaded
        orphan_parts = []
        for col, parent in table.references:
            keys_loaded = parents.get(parent)
            if keys_loaded is None:
                continue
            m = ~pl.col(f"t__{col}").is_in(keys_loaded.implode())
            orphan_parts.append(ok.filter(m).select(pl.col("_rid"), pl.lit("DQ-ORPHAN").alias("rule_id"),
                                                    pl.lit(col).alias("column"), pl.col(f"t__{col}").alias("value")))
        if orphan_parts:
            orphans = pl.concat(orphan_parts)
            fail_parts.append(orphans)
            orphan_ids = orphans.select("_rid").unique()
            late.append(ok.join(orphan_ids, on="_rid", how="semi"))
            ok = ok.join(orphan_ids, on="_rid", how="anti", maintain_order="left")
        _mark("final select")
        out, mm = _finish(table, ok)
        del ok
        if mm is not None:
            mm_parts.append(mm)
        n_loaded += out.height
        if table.name in ("persons", "employers"):
            key_parts.append(out[table.key_columns[0]])
        if sink is not None and out.height:
            _mark("warehouse insert")
            sink(out)
        del out
    # raw values of rows quarantined after typing: re-read from their files (few rows, few files)
    late_rows = pl.concat(late)
    if late_rows.height:
        qinfo_parts.append(_qinfo(late_rows, table))
        for label, g in late_rows.group_by(pl.col("_src").cast(pl.String)):
            src = by_label[label[0]]
            raw = src.raw_rows(g["_row"]).join(g.select("_row", "_rid"), on="_row", how="inner")
            raw_parts.append(_raw_json_of(raw, src))
    failures = pl.concat(fail_parts) if fail_parts else pl.DataFrame(schema=FAIL_SCHEMA)
    qinfo = pl.concat(qinfo_parts) if qinfo_parts else _qinfo(empty, table)
    raw = pl.concat(raw_parts) if raw_parts else pl.DataFrame(schema={"_rid": pl.Int64, "raw": pl.String})
    q_by_src = dict(qinfo.group_by("_src").len().iter_rows())
    c_by_src = {str(src): int(n) for src, n in
                pl.concat(collapsed).group_by("_src").agg(pl.col("len").sum()).iter_rows()}
    counts = {}
    for s in sources:
        q, c = int(q_by_src.get(s.label, 0)), int(c_by_src.get(s.label, 0))
        counts[s.label] = (s.n_rows, s.n_rows - q - c, q, c)
    mismatches = pl.concat(mm_parts).sort("_rid") if mm_parts else None
    key_values = pl.concat(key_parts) if key_parts else None
    late_keys = late_rows.select([pl.col(f"t__{k}").alias(k) for k in table.key_columns]).unique()
    return TableOutcome(n_loaded, key_values, failures, qinfo, raw, counts, mismatches, late_keys)


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


def _pl_type(c: Column) -> pl.DataType:
    return {"date": pl.Date, "month": pl.Date, "bool": pl.Boolean, "money": pl.Float64,
            "integer": pl.Int64}.get(c.base_kind, pl.String)


# ------------------------------------------------------------------ the folder

def list_input_files(input_dir: Path) -> list[Path]:
    """Every visible file directly in the folder, sorted by name (dot-files skipped)."""
    return sorted((p for p in Path(input_dir).iterdir() if p.is_file() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def ingest_folder(input_dir: Path, con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date,
                  progress=None, cache_dir: Path | None = None) -> IngestResult:
    """Ingest every file of ``input_dir`` into the warehouse behind ``con``.

    Files are grouped by table from their names first (Excel workbooks are
    opened to see their sheets); then one table at a time is read, checked,
    written and dropped, parents (employers, persons) first.

    With ``cache_dir`` the typed, row-checked rows of each CSV / Parquet file
    are cached there (assets/ingest/cache.py) and a later run re-parses only
    new or changed files; the table-wide stages run over all rows as always."""
    t0 = time.perf_counter()
    res = IngestResult(run_id=run_id, as_of=as_of)
    cache = IngestCache(cache_dir) if cache_dir is not None else None

    def store(src: Source, frames: dict[str, pl.DataFrame]) -> Path | None:
        n_failed = frames["fails"]["_lrid"].n_unique()
        return cache.put(src.cache_key, {**src.cache_meta, "n_rows": src.n_rows, "as_of": as_of.isoformat(),
                                         "n_failed": n_failed}, frames)
    pending: dict[str, list[Path | RawSheet]] = {t: [] for t in TABLE_ORDER}
    extras: list[pl.DataFrame] = []
    order = 0

    def file_row(label, table, status, zh, en):
        res.files.append({"run_id": run_id, "source_file": label, "table_name": table, "status": status,
                          "message": f"{zh} / {en}"})

    def unrecognised(label: str) -> None:
        what = "工作表" if "#" in label else "文件"
        file_row(label, None, "unrecognised",
                 f"{what} {label} 的名称不对应任何数据表(应以表名或中文名开头,如 persons / 人员),未载入",
                 f"{label}: the name matches no table of the contract (it must start with a table "
                 f"name or its Chinese alias, e.g. persons / 人员); not loaded")

    def read(path: Path) -> list[RawSheet]:
        try:
            items = read_any(path)
        except FileProblem as fp:
            file_row(path.name, recognise_table(path.stem) if path.suffix.lower() in (".csv", ".parquet") else None,
                     fp.status, fp.message_zh, fp.message_en)
            return []
        except Exception as exc:  # noqa: BLE001 - a bad file never stops the run
            file_row(path.name, None, "error", f"文件 {path.name} 读取失败: {type(exc).__name__}",
                     f"file {path.name} could not be read: {type(exc).__name__}: {str(exc)[:200]}")
            return []
        out = []
        for item in items:
            if isinstance(item, FileProblem):
                file_row(item.label or path.name, None, item.status, item.message_zh, item.message_en)
            elif item.table is None:
                unrecognised(item.label)
            else:
                out.append(item)
        return out

    for path in list_input_files(Path(input_dir)):
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            for sheet in read(path):
                pending[sheet.table].append(sheet)
        elif suffix in (".csv", ".parquet"):
            table = recognise_table(path.stem)
            if table is None:
                unrecognised(path.name)
            else:
                pending[table].append(path)
        else:
            read(path)  # reports the unsupported type

    parents: dict[str, pl.Series] = {}
    q_parts: list[pl.DataFrame] = []
    f_parts: list[pl.DataFrame] = []
    rules = load_ingest_rules()
    def keep_extras(src: Source) -> None:
        if src.extras.height:
            extras.append(src.extras.with_columns(pl.lit(src.label).alias("source_file"),
                                                  pl.lit(src.table).alias("table_name")))

    def cached_source(table: Table, item: Path, entry: Entry) -> Source:
        nonlocal order
        src = _source_from_cache(entry, table, item, order)
        order += 1
        keep_extras(src)
        for fr in entry.meta["file_rows"]:
            res.files.append({"run_id": run_id, **fr})
        return src

    def sources_of(table: Table, looked_up: dict, only: list | None = None):
        """The table's sources, read and bound one at a time as process_table
        asks for them (only one file's raw text is in memory at once).
        ``looked_up``: item -> (cache key, entry or None) for CSV / Parquet files;
        ``only``: just these items."""
        nonlocal order
        for item in (pending[table.name] if only is None else only):
            key, entry = looked_up.get(item, (None, None)) if isinstance(item, Path) else (None, None)
            if entry is not None:
                yield cached_source(table, item, entry)
                continue
            sheets = read(item) if isinstance(item, Path) else [item]
            for sheet in sheets:
                try:
                    src = bind(sheet, order)
                except FileProblem as fp:
                    file_row(sheet.label, sheet.table, fp.status, fp.message_zh, fp.message_en)
                    continue
                if isinstance(item, Path):
                    src.path = item
                else:
                    src.sheet = item
                order += 1
                keep_extras(src)
                n_files = len(res.files)
                _report_source(src, file_row)
                if key is not None and len(sheets) == 1:
                    src.cache_key = key
                    src.cache_meta = {
                        "label": src.label, "file_name": src.file_name, "headers": src.headers,
                        "scales": src.scales, "n_header": src.n_header, "unknown_columns": src.unknown_columns,
                        "notes": src.notes,
                        "file_rows": [{k: v for k, v in f.items() if k != "run_id"} for f in res.files[n_files:]]}
                del sheet
                yield src
            del sheets

    from assets.warehouse import existing_tables

    existing = existing_tables(con)
    previous = _previous_state(con, existing) if cache is not None else {}
    state: dict[str, TableState] = {}
    for name in TABLE_ORDER:
        table = TABLES[name]
        looked_up = {}  # file -> (cache key, entry serving this run or None); fingerprints only with a cache
        if cache is not None:
            looked_up = {item: (key, cache.get(key, as_of)) for item in pending[name] if isinstance(item, Path)
                         for key in (cache_key(item),)}
        st = state[name] = _table_state(name, pending[name], looked_up, state, rules) if cache is not None \
            else TableState()
        prev = previous.get(name)
        all_hits = all(entry is not None for _, entry in looked_up.values())
        if all_hits and st.signature is not None and _unchanged(con, table, prev, st.signature, existing):
            # every file of the table and of its parents is as in the run that built the warehouse's
            # copy of the table: keep it, and carry its quarantine, findings and log rows forward
            for item in pending[name]:
                cached_source(table, item, looked_up[item][1])
            q, f = _carry_forward(con, res, table, run_id, as_of, parents)
            st.late_keys = prev.late_keys
            if prev.base is None:  # recorded before appends existed: its late keys are unknown, never append to it
                st.base = None
            res.skipped.append(name)
        else:
            q = f = None
            new_items = _appendable(con, table, pending[name], looked_up, prev, st, existing)
            if new_items:
                # only new files since the run that built the table: try appending their rows
                mark = (len(res.files), len(res.log), len(extras), order)
                q, f, late = _append(con, res, table, new_items, sources_of(table, looked_up, only=new_items),
                                     as_of, parents, store, rules, prev, cache_dir)
                if q is None:  # a new key meets an old one: undo the bookkeeping, rebuild the table
                    del res.files[mark[0]:], res.log[mark[1]:], extras[mark[2]:]
                    order = mark[3]
                    looked_up.update({i: (looked_up[i][0], cache.get(looked_up[i][0], as_of, count=False))
                                      for i in new_items})  # parsed and stored by the attempt
                else:
                    for item in pending[name]:
                        if item not in new_items:
                            cached_source(table, item, looked_up[item][1])
                    st.late_keys = prev.late_keys + _key_text(late)
                    res.appended.append(name)
            if q is None:
                labels = [item.name if isinstance(item, Path) else item.label for item in pending[name]]
                sources: list[Source] = []
                sink = create_table(con, table)
                out = process_table(table, sources_of(table, looked_up), as_of, parents,
                                    store=store if cache is not None else None, sink=sink, labels=labels,
                                    seen=sources, spill_root=cache_dir)  # a killed run's spill is pruned with the cache
                if out.key_values is not None:
                    parents[name] = out.key_values
                q, f = write_table(con, res, table, sources, out, rules)
                st.late_keys = _key_text(out.late_keys)
                del out, sources
        q_parts.extend(q)
        f_parts.extend(f)
        if progress:
            progress(f"ingested {name}: {res.tables[name]} rows loaded" + (" (unchanged)" if name in res.skipped else ""))

    res.files.sort(key=lambda f: f["source_file"])
    write_ingest_tables(con, res, q_parts, f_parts, extras)
    _write_state(con, res, state)
    if cache is not None:
        cache.prune()
        res.cache = {"hits": cache.hits, "misses": cache.misses}
    res.seconds = time.perf_counter() - t0
    return res


# ------------------------------------------------------------------ unchanged and appended tables (ingest cache)

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


def _table_state(name: str, items: list, looked_up: dict, state: dict, rules: dict) -> TableState:
    """The signatures of a table's inputs in this run. A table is kept only when
    its signature is the recorded one AND every file is a cache entry serving
    this run — an entry made at an earlier as_of serves it only when none of its
    rows failed, so the row checks give the same result, and the table-wide
    stages do not depend on as_of."""
    import hashlib

    from assets.ingest.cache import code_version

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


def _previous_state(con, existing: set[str]) -> dict[str, TableState]:
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


def _unchanged(con, table: Table, previous: TableState | None, signature: str, existing: set[str]) -> bool:
    return previous is not None and previous.signature == signature and _intact(con, table, previous, existing)


def _appendable(con, table: Table, items: list, looked_up: dict, previous: TableState | None,
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


def _append(con, res: IngestResult, table: Table, new_items: list[Path], sources, as_of: dt.date,
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
    ``previous``: the table's recorded state (its row count checked by ``_appendable``)."""
    name = table.name
    n_old = previous.rows
    old_late_df = pl.DataFrame(previous.late_keys, schema={k: pl.String for k in table.key_columns}, orient="row")
    insert = create_table(con, table, replace=False)
    met = False

    def sink(frame: pl.DataFrame) -> None:
        nonlocal met
        if met:
            return
        keys = frame.select(table.key_columns)
        if _keys_meet(con, table, keys, old_late_df):
            met = True
        else:
            insert(frame)

    seen: list[Source] = []
    out = process_table(table, sources, as_of, parents, store=store, labels=[i.name for i in new_items],
                        seen=seen, spill_root=spill_root, sink=sink)
    if met:
        return None, None, None
    if _keys_meet(con, table, out.late_keys, old_late_df):
        return None, None, None
    q_old, f_old = _carry_forward(con, res, table, res.run_id, res.as_of, parents, n_rows=n_old)
    q_new, f_new = write_table(con, res, table, seen, out, rules)
    res.tables[name] = n_old + out.n_loaded
    return q_old + q_new, f_old + f_new, out.late_keys


def _key_text(keys: pl.DataFrame) -> list[list[str | None]]:
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


def _carry_forward(con, res: IngestResult, table: Table, run_id: str, as_of: dt.date,
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


def _write_state(con, res: IngestResult, state: dict[str, TableState]) -> None:
    rows = [{"table_name": t, "signature": st.signature, "rows_loaded": res.tables.get(t, 0), "run_id": res.run_id,
             "base_signature": st.base, "file_keys": json.dumps(st.file_keys),
             "late_keys": json.dumps(st.late_keys, ensure_ascii=False)}
            for t in TABLE_ORDER for st in (state.get(t) or TableState(),)]
    con.execute("CREATE OR REPLACE TABLE ingest_state (table_name VARCHAR, signature VARCHAR, rows_loaded BIGINT, "
                "run_id VARCHAR, base_signature VARCHAR, file_keys JSON, late_keys JSON)")
    _insert(con, "ingest_state", pl.DataFrame(rows, schema={
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


def _source_from_cache(entry: Entry, table: Table, path: Path, order: int) -> Source:
    m = entry.meta
    empty = pl.DataFrame(schema={"_row": pl.Int64, "_ncells": pl.Int64, **{c.name: pl.String for c in table.columns}})
    return Source(m["label"], m["file_name"], table.name, order, empty, m["headers"], m["scales"], m["n_header"],
                  entry.frames["extras"], m["unknown_columns"], m["notes"], path=path, n_rows=m["n_rows"],
                  cached=entry)


def _report_source(src: Source, file_row) -> None:
    zh, en = [], []
    if src.frame.height == 0:
        zh.append("只有表头,没有数据行")
        en.append("header only, no data rows")
    if src.unknown_columns:
        cols = ", ".join(src.unknown_columns[:20]) + (" …" if len(src.unknown_columns) > 20 else "")
        zh.append(f"{len(src.unknown_columns)} 个未知列已另存于 ingest_extra_values: {cols}")
        en.append(f"{len(src.unknown_columns)} unknown column(s) kept aside in ingest_extra_values: {cols}")
    short = src.frame.filter(pl.col("_ncells") < src.n_header)["_row"]
    long_rows = src.extras.filter(pl.col("column_name").str.contains(rf"^{EXTRA_COLUMN_PREFIX}[0-9]+$")
                                  & ~pl.col("column_name").is_in(src.unknown_columns)
                                  )["source_row"].unique().sort()
    if short.len():
        rows = ", ".join(str(r) for r in short[:10].to_list()) + (" …" if short.len() > 10 else "")
        zh.append(f"{short.len()} 行单元格少于表头(缺少的单元格按空值处理): 第 {rows} 行")
        en.append(f"{short.len()} row(s) have fewer cells than the header (missing cells read as empty): rows {rows}")
    if long_rows.len():
        rows = ", ".join(str(r) for r in long_rows[:10].to_list()) + (" …" if long_rows.len() > 10 else "")
        zh.append(f"{long_rows.len()} 行单元格多于表头(多余单元格另存于 ingest_extra_values): 第 {rows} 行")
        en.append(f"{long_rows.len()} row(s) have more cells than the header (extra cells kept in "
                  f"ingest_extra_values): rows {rows}")
    status = "loaded" if not zh else ("empty" if src.frame.height == 0 else "warning")
    file_row(src.label, src.table, status, f"{src.label}: " + ("; ".join(zh) or "已读取"),
             f"{src.label}: " + ("; ".join(en) or "read"))


# ------------------------------------------------------------------ warehouse

def _mask_value(table: Table, column: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Mask personal identifiers in a finding's value: the whole value of an
    ID column (even a malformed one), and every ID-like part (15-18 digits /
    X) of any other value except a lone USCC column."""
    id_cols = [c.name for c in table.columns if c.kind == "id_number"]
    masked_parts = value.str.split(", ").list.eval(
        pl.when(pl.element().str.contains(_ID_LIKE)).then(mask_id_expr(pl.element())).otherwise(pl.element())
    ).list.join(", ")
    return (pl.when(column.is_in(id_cols)).then(mask_id_expr(value))
            .when(column.is_in(sorted(USCC_COLUMNS))).then(value)
            .otherwise(masked_parts))


def _record_findings(table: Table, frame: pl.DataFrame, fails: pl.DataFrame, run_id: str, as_of: dt.date,
                     rules: dict) -> pl.DataFrame:
    if fails.height == 0:
        return pl.DataFrame()
    info = frame.select("_rid", "_src", "_row", "_u", "_uok", "_i", "_iok")
    f = (fails.with_columns(_mask_value(table, pl.col("column"), pl.col("value").fill_null("")).alias("value"))
         .group_by(["_rid", "rule_id"], maintain_order=True)
         .agg(pl.col("column").str.join(", "), pl.col("value").str.join(", "))
         .join(info, on="_rid", how="left"))
    sev = {r: rules[r]["severity"] for r in RECORD_RULES}
    zh = {c.name: c.zh for c in table.columns}
    f = f.with_columns(
        pl.col("column").str.split(", ").list.eval(pl.element().replace(zh)).list.join(", ").alias("column_zh"),
        pl.col("_src").alias("file"), pl.col("_row").alias("row"),
        pl.concat_str([pl.col("_src"), pl.lit(":"), pl.col("_row").cast(pl.String)]).alias("entity_key"),
        pl.lit(table.name).alias("table"),
    )
    out = []
    for rule_id, g in f.group_by("rule_id"):
        rule_id = rule_id[0]
        r = rules[rule_id]
        out.append(g.select(
            pl.lit(run_id).alias("run_id"), pl.lit(as_of).alias("as_of"), pl.lit(rule_id).alias("rule_id"),
            pl.lit(sev[rule_id]).alias("severity"), pl.lit("record").alias("entity_type"), pl.col("entity_key"),
            pl.when(pl.col("_uok")).then(pl.col("_u")).alias("uscc"),
            pl.when(pl.col("_iok")).then(pl.col("_i")).alias("id_number"),
            pl.lit(None, dtype=pl.Date).alias("due_on"),
            template_expr(r["message_zh"]).alias("message_zh"), template_expr(r["message_en"]).alias("message_en"),
            pl.struct(["table", "file", "row", "column", "column_zh", "value"]).struct.json_encode().alias("detail"),
            pl.col("_rid"),
        ))
    return pl.concat(out)


def _mismatch_findings(mm: pl.DataFrame, run_id: str, as_of: dt.date, rules: dict) -> pl.DataFrame:
    if mm is None or mm.height == 0:
        return pl.DataFrame()
    r = rules["DQ-ID-MISMATCH"]
    g = (mm.with_columns(pl.col("value").fill_null(""))
         .group_by("id_number", maintain_order=True)
         .agg(pl.col("column").str.join(", "), pl.col("value").str.join(", "), pl.col("id_value").str.join(", "),
              pl.col("_src").cast(pl.String).first().alias("file"), pl.col("_row").first().alias("row"))
         .with_columns(mask_id_expr(pl.col("id_number")).alias("id_masked"),
                       pl.col("column").str.replace("birth_date", "出生日期").str.replace("gender", "性别")
                       .alias("column_zh")))
    return g.select(
        pl.lit(run_id).alias("run_id"), pl.lit(as_of).alias("as_of"), pl.lit("DQ-ID-MISMATCH").alias("rule_id"),
        pl.lit(r["severity"]).alias("severity"), pl.lit("person").alias("entity_type"),
        pl.col("id_number").alias("entity_key"), pl.lit(None, dtype=pl.String).alias("uscc"), pl.col("id_number"),
        pl.lit(None, dtype=pl.Date).alias("due_on"),
        template_expr(r["message_zh"].replace("{id_number}", "{id_masked}")).alias("message_zh"),
        template_expr(r["message_en"].replace("{id_number}", "{id_masked}")).alias("message_en"),
        pl.struct([pl.col("id_masked").alias("id_number"), "column", "column_zh", "value", "id_value", "file", "row"])
        .struct.json_encode().alias("detail"),
    )


def _reasons(table: Table, frame: pl.DataFrame, fails: pl.DataFrame) -> pl.DataFrame:
    """_rid -> rule_ids (list, distinct, rule-book order) and reasons (list of 'RULE: zh / en')."""
    if fails.height == 0:
        return pl.DataFrame(schema={"_rid": pl.Int64, "rule_ids": pl.List(pl.String), "reasons": pl.List(pl.String)})
    f = fails.with_columns(_mask_value(table, pl.col("column"), pl.col("value").fill_null("")).alias("mvalue"))
    texts = []
    for rule_id, (zh, en) in REASONS.items():
        tpl = f"{rule_id}: {zh} / {en}"
        texts.append(pl.when(pl.col("rule_id") == rule_id).then(template_expr(
            tpl.replace("{value}", "{mvalue}"))))
    f = f.with_columns(pl.coalesce(texts).alias("reason"),
                       pl.col("rule_id").replace_strict({r: i for i, r in enumerate(RECORD_RULES)},
                                                        return_dtype=pl.Int64).alias("_rank"))
    f = f.sort(["_rid", "_rank"], maintain_order=True)
    out = f.group_by("_rid", maintain_order=True).agg(pl.col("rule_id").unique(maintain_order=True).alias("rule_ids"),
                                                      pl.col("reason").alias("reasons"))
    # ragged rows: say so beside the reasons (missing cells were read as empty)
    short = frame.filter(pl.col("_ncells") < pl.col("_nheader")).select(
        "_rid", pl.format("行只有 {} 个单元格,表头有 {} 列 / row has {} cells, the header {} columns",
                          "_ncells", "_nheader", "_ncells", "_nheader").alias("_note"))
    out = out.join(short, on="_rid", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("_note").is_not_null()).then(pl.concat_list([pl.col("reasons"), pl.col("_note")]))
        .otherwise(pl.col("reasons")).alias("reasons")).drop("_note")
    return out


def create_table(con, table: Table, replace: bool = True):
    """(Re)create one contract table (``replace=False``: keep it as it is);
    return the sink that appends loaded rows to it."""
    if replace:
        ddl = ", ".join(f'"{c.name}" {c.sql_type}' for c in table.columns)
        con.execute(f'CREATE OR REPLACE TABLE "{table.name}" ({ddl})')
    sel = ", ".join(f'CAST("{c.name}" AS {c.sql_type})' for c in table.columns)
    return lambda frame: _insert(con, f'"{table.name}"', frame, f"SELECT {sel} FROM _frame")


def write_table(con, res: IngestResult, table: Table, sources: list[Source], out: TableOutcome,
                rules: dict) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """Write one contract table; return its quarantine and findings parts."""
    run_id, as_of, name = res.run_id, res.as_of, table.name
    q_parts, f_parts = [], []
    comment_table_safe(con, name, table_comment(table), {c.name: column_comment(c) for c in table.columns})
    res.tables[name] = out.n_loaded
    for s in sources:
        read, ld, q, c = out.counts[s.label]
        res.log.append({"run_id": run_id, "source_file": s.label, "table_name": name, "rows_read": read,
                        "rows_loaded": ld, "rows_quarantined": q, "rows_collapsed": c})
    if out.failures.height:
        rsn = _reasons(table, out.qinfo, out.failures)
        q = (rsn.join(out.qinfo.select("_rid", "_src", "_row"), on="_rid", how="left")
             .join(out.raw, on="_rid", how="left")
             .select(pl.lit(name).alias("table_name"), pl.col("_src").alias("source_file"),
                     pl.col("_row").alias("source_row"), "rule_ids", "reasons", "raw", pl.col("_rid")))
        q_parts.append(q.sort("_rid").drop("_rid"))
        f_parts.append(_record_findings(table, out.qinfo, out.failures, run_id, as_of, rules).drop("_rid"))
    if name == "persons":
        mf = _mismatch_findings(out.mismatches, run_id, as_of, rules)
        if mf.height:
            f_parts.append(mf)
    return q_parts, f_parts


def write_ingest_tables(con, res: IngestResult, q_parts: list[pl.DataFrame], f_parts: list[pl.DataFrame],
                        extras: list[pl.DataFrame]) -> None:
    run_id = res.run_id
    log_parts = res.log

    quarantine = (pl.concat(q_parts) if q_parts else pl.DataFrame(schema={
        "table_name": pl.String, "source_file": pl.String, "source_row": pl.Int64,
        "rule_ids": pl.List(pl.String), "reasons": pl.List(pl.String), "raw": pl.String}))
    quarantine = quarantine.with_columns(pl.lit(run_id).alias("run_id"))
    res.quarantined = quarantine.height
    con.execute("CREATE OR REPLACE TABLE quarantine (table_name VARCHAR, source_file VARCHAR, source_row BIGINT, "
                "rule_ids VARCHAR[], reasons VARCHAR[], raw JSON, run_id VARCHAR)")
    if quarantine.height:
        _insert(con, "quarantine", quarantine, "SELECT table_name, source_file, source_row, rule_ids, reasons, "
                "CAST(raw AS JSON), run_id FROM _frame")
    comment_table_safe(con, "quarantine", "Rows not loaded, with their raw values and every reason / 隔离区:未载入的行、原始值及全部原因", {
        "table_name": "Contract table of the row / 所属数据表",
        "source_file": "File name (<file>#<sheet> for Excel) / 来源文件(Excel 为 文件#工作表)",
        "source_row": "Data row number, 1 = first row under the header / 数据行号(表头下第一行为1)",
        "rule_ids": "Every rule the row breaks / 触犯的全部规则编号",
        "reasons": "Every reason, Chinese / English / 全部原因(中文 / 英文)",
        "raw": "The row's values as written in the file, keyed by header / 原始值(按文件表头)",
        "run_id": "Run that read the row / 运行编号",
    })

    log_df = pl.DataFrame(log_parts, schema={"run_id": pl.String, "source_file": pl.String, "table_name": pl.String,
                                             "rows_read": pl.Int64, "rows_loaded": pl.Int64,
                                             "rows_quarantined": pl.Int64, "rows_collapsed": pl.Int64})
    con.execute("CREATE OR REPLACE TABLE ingest_log (run_id VARCHAR, source_file VARCHAR, table_name VARCHAR, "
                "rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, rows_collapsed BIGINT)")
    if log_df.height:
        _insert(con, "ingest_log", log_df, "SELECT * FROM _frame")
    comment_table_safe(con, "ingest_log", "Rows read / loaded / quarantined / collapsed per input file; read = loaded + quarantined + collapsed / 各输入文件的读取、载入、隔离、合并行数", {
        "run_id": "Run / 运行编号", "source_file": "File name (<file>#<sheet> for Excel) / 来源文件",
        "table_name": "Contract table / 数据表", "rows_read": "Data rows read / 读取行数",
        "rows_loaded": "Rows loaded into the table / 载入行数",
        "rows_quarantined": "Rows put in quarantine / 隔离行数",
        "rows_collapsed": "Exact duplicate rows collapsed / 完全重复而合并的行数",
    })

    files_df = pl.DataFrame(res.files, schema={"run_id": pl.String, "source_file": pl.String,
                                               "table_name": pl.String, "status": pl.String, "message": pl.String})
    con.execute("CREATE OR REPLACE TABLE ingest_files (run_id VARCHAR, source_file VARCHAR, table_name VARCHAR, "
                "status VARCHAR, message VARCHAR)")
    if files_df.height:
        _insert(con, "ingest_files", files_df, "SELECT * FROM _frame")
    comment_table_safe(con, "ingest_files", "Every input file or sheet seen by the run and what happened to it / 本次运行看到的每个输入文件(工作表)及处理结果", {
        "run_id": "Run / 运行编号", "source_file": "File name (<file>#<sheet> for Excel) / 来源文件",
        "table_name": "Recognised contract table, NULL if none / 识别出的数据表(无法识别为空)",
        "status": "loaded | warning | empty | rejected | unrecognised | unsupported | error / 处理状态",
        "message": "What happened, Chinese / English / 说明(中文 / 英文)",
    })

    extra_df = (pl.concat(extras) if extras else pl.DataFrame(schema={
        "source_row": pl.Int64, "column_name": pl.String, "value": pl.String, "source_file": pl.String,
        "table_name": pl.String})).select("table_name", "source_file", "source_row", "column_name", "value") \
        .with_columns(pl.lit(run_id).alias("run_id"))
    con.execute("CREATE OR REPLACE TABLE ingest_extra_values (table_name VARCHAR, source_file VARCHAR, "
                "source_row BIGINT, column_name VARCHAR, value VARCHAR, run_id VARCHAR)")
    if extra_df.height:
        _insert(con, "ingest_extra_values", extra_df, "SELECT * FROM _frame")
    comment_table_safe(con, "ingest_extra_values", "Non-empty cells of unknown columns and of cells beyond the header, kept aside / 未知列及超出表头的单元格(另存,不载入)", {
        "table_name": "Contract table of the file / 数据表", "source_file": "File name / 来源文件",
        "source_row": "Data row number / 数据行号",
        "column_name": "Header as written, or #<position> for a cell beyond the header / 列名(超出表头的单元格为 #位置)",
        "value": "Cell value as written / 原始值", "run_id": "Run / 运行编号",
    })

    # findings of the ingest rules
    from assets.warehouse import FINDINGS_COLUMNS, replace_findings

    names = [c for c, _, _ in FINDINGS_COLUMNS if c != "waived"]  # waivers are the rule layer's
    parts = [p.select(names) for p in f_parts if p.height]
    findings_df = pl.concat(parts) if parts else None
    if findings_df is not None:
        res.findings = {r: int(n) for r, n in findings_df.group_by("rule_id").len().iter_rows()}
        con.register("_ingest_findings", findings_df.to_arrow())
        try:
            replace_findings(con, OWNED_RULES, "SELECT run_id, as_of, rule_id, severity, entity_type, entity_key, "
                                               "uscc, id_number, due_on, message_zh, message_en, "
                                               "CAST(detail AS JSON) AS detail FROM _ingest_findings")
        finally:
            con.unregister("_ingest_findings")
    else:
        replace_findings(con, OWNED_RULES, "SELECT * FROM findings WHERE false")


def _insert(con, table: str, frame: pl.DataFrame, select_sql: str) -> None:
    con.register("_frame", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {table} {select_sql}")
    finally:
        con.unregister("_frame")


def comment_table_safe(con, table: str, comment: str, columns: dict[str, str]) -> None:
    from assets.warehouse import comment_table

    comment_table(con, table, comment, columns)
