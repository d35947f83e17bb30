"""Reading limits (``ingest_limits`` of the policy file), checked while a file
is streamed, before its data is held in memory (issue 19).

- CSV: the file size, then one pass over the bytes in blocks for the longest
  physical line; records, cells per record and cells are counted by the
  reader's tokenizer pass (records are counted, not kept).
- Excel: every part of the workbook is inflated in blocks and counted (a part
  that inflates beyond its declared size fails its CRC: damaged); worksheet
  parts are scanned for rows, cells, cells per row, and the rows x columns
  they span, before the Excel reader (which holds the whole sheet) sees them.
- Parquet: rows, columns and cells from the file's metadata.

A file over a limit raises :class:`LimitExceeded` (a ``FileProblem`` with
status ``rejected``) naming the file, the limit's key and its value.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

BLOCK = 1 << 22  # 4 MiB read at a time


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_xlsx_uncompressed_bytes: int
    max_line_bytes: int
    max_columns: int
    max_rows: int
    max_cells: int
    max_xlsx_cells: int

    @classmethod
    def from_policy(cls, path: Path | None = None) -> "Limits":
        from core.policy import load_ingest_limits

        values = load_ingest_limits(path)
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    def but(self, **changes: int) -> "Limits":
        return Limits(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})


@lru_cache(maxsize=1)
def default_limits() -> Limits:
    return Limits.from_policy()


_WHAT = {
    "max_file_bytes": ("文件大小(字节)", "size in bytes"),
    "max_xlsx_uncompressed_bytes": ("工作簿解压后的大小(字节)", "uncompressed size of the workbook in bytes"),
    "max_line_bytes": ("单行长度(字节)", "length of one line in bytes"),
    "max_columns": ("一行的单元格数", "cells in one row"),
    "max_rows": ("行数", "rows"),
    "max_cells": ("单元格总数", "cells"),
    "max_xlsx_cells": ("工作表范围内的单元格数(行 × 列)", "cells the sheet spans (rows x columns)"),
}


def limit_problem(label: str, key: str, limit: int, seen: str = ""):
    """The FileProblem for a file (or sheet) over a limit."""
    from assets.ingest.readers import FileProblem

    zh, en = _WHAT[key]
    got_zh = f"(至少 {seen})" if seen else ""
    got_en = f" (at least {seen})" if seen else ""
    return FileProblem(
        f"{label} 超出读取限制: {zh}超过 {limit:,}{got_zh}(ingest_limits.{key}),整个文件未载入",
        f"{label} exceeds a reading limit: {en} over {limit:,}{got_en} (ingest_limits.{key}); "
        f"the whole file was not loaded", "rejected", None)


# --------------------------------------------------------------------- CSV

def check_csv_bytes(path: Path, limits: Limits) -> None:
    """File size, then the longest physical line, block by block."""
    name = path.name
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise limit_problem(name, "max_file_bytes", limits.max_file_bytes, f"{size:,}")
    cap = limits.max_line_bytes
    run = 0  # bytes of the line that runs across blocks
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            parts = block.split(b"\n")
            if len(parts) == 1:
                run += len(block)
            else:
                longest = max(run + len(parts[0]), max(map(len, parts[1:-1]), default=0))
                if longest > cap:
                    raise limit_problem(name, "max_line_bytes", cap, f"{longest:,}")
                run = len(parts[-1])
            del parts
            if run > cap:
                raise limit_problem(name, "max_line_bytes", cap, f"{run:,}")


class RecordCounter:
    """Counts the CSV tokenizer's records as they stream by (nothing kept)."""

    def __init__(self, name: str, limits: Limits):
        self.name, self.limits = name, limits
        self.records = self.cells = 0

    def add(self, n_cells: int) -> None:
        lim = self.limits
        self.records += 1
        self.cells += n_cells
        if n_cells > lim.max_columns:
            raise limit_problem(self.name, "max_columns", lim.max_columns, f"{n_cells:,}")
        if self.records > lim.max_rows + 1:  # + the header record
            raise limit_problem(self.name, "max_rows", lim.max_rows)
        if self.cells > lim.max_cells:
            raise limit_problem(self.name, "max_cells", lim.max_cells)


# --------------------------------------------------------------------- Excel

_ROW_R = re.compile(rb'<row\b[^>]*?\br="([0-9]+)"')
_ROW_SPLIT = re.compile(rb"<row[\s>/]")
_TOKENS = (b"<c ", b"<c>", b"<c/>")
_COL_LETTERS = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)[0-9]')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


class _SheetScan:
    """Rows, cells, cells per row and the span of one worksheet part, fed block
    by block. ``<row`` splits rows; ``<c `` / ``<c>`` / ``<c/>`` are cells."""

    KEEP = 4  # a token never straddles the kept tail

    def __init__(self, label: str, limits: Limits):
        self.label, self.lim = label, limits
        self.rows = self.cells = self.row_cells = self.max_row = self.max_col = 0
        self.tail = b""

    def feed(self, block: bytes, last: bool = False) -> None:
        buf = self.tail + block
        cut = len(buf) if last else max(0, len(buf) - self.KEEP)
        # a tag cut by the block edge: keep from its '<' (tags are short; text between them is not)
        lt = buf.rfind(b"<", max(0, cut - 256), cut)
        if not last and lt >= 0 and buf.find(b">", lt, len(buf)) < 0:
            cut = lt
        work, self.tail = buf[:cut], buf[cut:]
        pieces = _ROW_SPLIT.split(work)
        for i, piece in enumerate(pieces):
            if i:
                self._end_row()
                self.rows += 1
            n = sum(piece.count(t) for t in _TOKENS)
            self.row_cells += n
            self.cells += n
        for m in _ROW_R.finditer(work):
            self.max_row = max(self.max_row, int(m.group(1)))
        self._columns(work)
        self._check()

    def _columns(self, work: bytes) -> None:
        """Widest column letter among the cell references that could exceed the limit."""
        width = len(_letters(self.lim.max_columns))
        pat = re.compile(rb'<c\b[^>]*?\br="([A-Z]{%d,})[0-9]' % width) if width > 1 else _COL_LETTERS
        for m in pat.finditer(work):
            self.max_col = max(self.max_col, _col_number(m.group(1)))

    def _end_row(self) -> None:
        self.max_col = max(self.max_col, self.row_cells)
        self.row_cells = 0

    def _check(self) -> None:
        lim, label = self.lim, self.label
        if max(self.max_col, self.row_cells) > lim.max_columns:
            raise limit_problem(label, "max_columns", lim.max_columns, f"{max(self.max_col, self.row_cells):,}")
        if max(self.rows, self.max_row) > lim.max_rows + 1:
            raise limit_problem(label, "max_rows", lim.max_rows, f"{max(self.rows, self.max_row):,}")
        if self.cells > lim.max_xlsx_cells:
            raise limit_problem(label, "max_xlsx_cells", lim.max_xlsx_cells, f"{self.cells:,}")
        span = max(self.rows, self.max_row) * max(self.max_col, self.row_cells, 1)
        if span > lim.max_xlsx_cells:
            raise limit_problem(label, "max_xlsx_cells", lim.max_xlsx_cells, f"{span:,}")


def _letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def check_xlsx(path: Path, limits: Limits) -> None:
    """Inflate every part block by block, counting bytes against
    ``max_xlsx_uncompressed_bytes`` (the declared sizes first: a part that
    claims too much is refused before inflating); scan worksheet parts for
    rows / cells / columns. A part larger than it declared fails its CRC check
    (zipfile stops at the declared size): BadZipFile, the caller's 'damaged'."""
    name = path.name
    cap = limits.max_xlsx_uncompressed_bytes
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        declared = sum(i.file_size for i in infos)
        if declared > cap:
            raise limit_problem(name, "max_xlsx_uncompressed_bytes", cap, f"{declared:,}")
        total = 0
        for info in infos:
            is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            scan = _SheetScan(name, limits) if is_sheet else None
            with zf.open(info) as fh:
                while block := fh.read(BLOCK):
                    total += len(block)
                    if total > cap:
                        raise limit_problem(name, "max_xlsx_uncompressed_bytes", cap, f"{total:,}")
                    if scan is not None:
                        scan.feed(block)
            if scan is not None:
                scan.feed(b"", last=True)
                scan._end_row()
                scan._check()


# --------------------------------------------------------------------- Parquet

def check_parquet(path: Path, limits: Limits) -> None:
    """Rows, columns and cells from the metadata (read without the data).
    Parquet is the format for big tables: its size is bounded by rows and
    cells, not bytes."""
    import pyarrow.parquet as pq

    name = path.name
    meta = pq.ParquetFile(path).metadata
    rows, cols = meta.num_rows, meta.num_columns
    if cols > limits.max_columns:
        raise limit_problem(name, "max_columns", limits.max_columns, f"{cols:,}")
    if rows > limits.max_rows:
        raise limit_problem(name, "max_rows", limits.max_rows, f"{rows:,}")
    if rows * cols > limits.max_cells:
        raise limit_problem(name, "max_cells", limits.max_cells, f"{rows * cols:,}")
