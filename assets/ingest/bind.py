"""Binding: a sheet's headers onto its table's columns (a :class:`Source`),
and the ``ingest_files`` message of a bound source.

A header cell matches a contract column after NFKC, whitespace removal, lower
case and the removal of control characters; unknown columns and cells beyond
the header are kept aside (``ingest_extra_values``). docs/ingest.md, "Headers"
and "Control characters".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from assets.ingest.cache import Entry
from core.contract import TABLES, Column, Table, header_map, norm_name
from assets.ingest.limits import Limits
from assets.ingest.readers import FileProblem, RawSheet, read_any
from assets.ingest.textcodec import BAD_CHARS, BAD_RE, bad_char_names


EXTRA_COLUMN_PREFIX = "#"


def strict_column(c: Column) -> bool:
    """A column whose value must be exactly a code, number, date or identifier:
    a control character makes the value invalid (the row is quarantined under
    the column's rule). In other (free-text) columns it is removed and the row
    is reported (docs/ingest.md, "Control characters")."""
    return c.base_kind != "text" or c.name == "uscc"


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
    limits: Limits | None = None  # the run's reading limits (for the re-read)
    cleaned: list[str] = field(default_factory=list)  # "row:column" of free-text values whose control characters went

    def raw_rows(self, rows: pl.Series) -> pl.DataFrame:
        """Raw (string) contract columns of the given row numbers, re-read from
        the file: the in-memory raw frame is dropped after typing to save memory."""
        sheet = self.sheet
        if sheet is None:
            sheet = next(x for x in read_any(self.path, self.limits) if isinstance(x, RawSheet) and x.label == self.label)
        sheet.table = self.table
        return bind(sheet, self.order).frame.filter(pl.col("_row").is_in(rows.implode()))


def bind(sheet: RawSheet, order: int) -> Source:
    """Map a sheet's headers onto its table's columns. Raises FileProblem when a
    required column is missing (the whole file/sheet is rejected)."""
    table = TABLES[sheet.table]
    hmap = header_map(table.name)
    renames: dict[str, str] = {}
    headers: dict[str, str] = {}
    scales: dict[str, int] = {}
    unknown: list[tuple[str, str]] = []  # (positional column, header)
    bad_headers = [h for h in sheet.header if bad_char_names(h)]
    for j, h in enumerate(sheet.header):
        hit = hmap.get(norm_name(h.translate(_DROP_BAD)))
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
    notes = list(sheet.notes)
    if bad_headers:
        notes.append("bad-header:" + bad_char_names("".join(bad_headers)))
    src = Source(sheet.label, sheet.file_name, table.name, order, bound, headers, scales, len(sheet.header),
                 pl.concat(extras), [h for _, h in unknown], notes)
    loose = [c.name for c in table.columns if not strict_column(c) and c.name in headers]
    if loose and bound.height:
        hit = bound.select(pl.col("_row"), *[pl.col(c).str.contains(BAD_RE).fill_null(False) for c in loose]) \
            .filter(pl.any_horizontal(loose))
        src.cleaned = [f"{r[0]}:{c}" for r in hit.head(10).iter_rows() for c, b in zip(loose, r[1:]) if b]
        if hit.height > 10:
            src.cleaned.append(f"+{hit.height - 10}")
    return src


_DROP_BAD = {ord(c): None for c in BAD_CHARS}


def source_from_cache(entry: Entry, table: Table, path: Path, order: int) -> Source:
    m = entry.meta
    empty = pl.DataFrame(schema={"_row": pl.Int64, "_ncells": pl.Int64, **{c.name: pl.String for c in table.columns}})
    return Source(m["label"], m["file_name"], table.name, order, empty, m["headers"], m["scales"], m["n_header"],
                  entry.frames["extras"], m["unknown_columns"], m["notes"], path=path, n_rows=m["n_rows"],
                  cached=entry)


def report_source(src: Source, file_row) -> None:
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
    bad_header = next((n[len("bad-header:"):] for n in src.notes if n.startswith("bad-header:")), None)
    if bad_header:
        zh.append(f"表头含控制字符 {bad_header},匹配列名时已忽略")
        en.append(f"the header holds control character(s) {bad_header}, ignored when matching column names")
    if src.cleaned:
        more = src.cleaned[-1][1:] if src.cleaned[-1].startswith("+") else None
        cells = ", ".join(x.replace(":", " 行 ", 1) for x in src.cleaned if not x.startswith("+"))
        cells_en = ", ".join("row " + x.replace(":", " ", 1) for x in src.cleaned if not x.startswith("+"))
        zh.append(f"文本值含控制字符,已删除这些字符后载入: 第 {cells}" + (f" 等(另有 {more} 行)" if more else ""))
        en.append(f"text values held control characters, removed before loading: {cells_en}"
                  + (f" (and {more} more rows)" if more else ""))
    status = "loaded" if not zh else ("empty" if src.frame.height == 0 else "warning")
    file_row(src.label, src.table, status, f"{src.label}: " + ("; ".join(zh) or "已读取"),
             f"{src.label}: " + ("; ".join(en) or "read"))
