"""Read input files into all-string frames.

A reader returns :class:`RawSheet` objects (one per CSV / Parquet file, one per
Excel sheet) whose cells are strings (``None`` = empty cell), or raises
:class:`FileProblem` with a bilingual message. Nothing here knows the contract
beyond recognising the table from a file stem or sheet name.

Row numbers: row 1 is the first record under the header (CSV: the first CSV
record after the header record; Excel: the sheet row after the header row;
Parquet: the first row). Records whose cells are all empty keep their number
but are skipped (they hold nothing to load or quarantine).
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from core.contract import recognise_table

SUPPORTED = {".csv", ".xlsx", ".parquet"}
csv.field_size_limit(1 << 24)


class FileProblem(Exception):
    """A whole file (or sheet) cannot be read. ``status`` goes to ingest_files."""

    def __init__(self, message_zh: str, message_en: str, status: str = "error", label: str | None = None):
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh, self.message_en, self.status, self.label = message_zh, message_en, status, label


@dataclass
class RawSheet:
    label: str  # entity-key prefix: "<file name>" or "<file name>#<sheet>"
    file_name: str
    table: str | None
    header: list[str]
    # columns c0..c{n-1} (String), plus _row (Int64) and _ncells (Int64, cells in the record)
    frame: pl.DataFrame
    # cells beyond the header width: _row, column_name, value
    overflow: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"_row": pl.Int64, "column_name": pl.String, "value": pl.String}))
    notes: list[str] = field(default_factory=list)


def _empty_overflow() -> pl.DataFrame:
    return pl.DataFrame(schema={"_row": pl.Int64, "column_name": pl.String, "value": pl.String})


# --------------------------------------------------------------------- CSV

def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Detect the encoding: UTF-16 by BOM, else UTF-8 (with or without BOM),
    else GB18030, else charset-normalizer's best guess. Binary data is refused."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:65536]:
        raise FileProblem(f"文件 {name} 不是文本文件(含二进制内容),已跳过",
                          f"file {name} is not a text file (binary content), skipped", "rejected")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise FileProblem(f"文件 {name} 的字符编码无法识别(支持 UTF-8、UTF-8 BOM、GB18030)",
                              f"file {name}: unrecognised character encoding (UTF-8, UTF-8 BOM, GB18030 supported)",
                              "rejected")
        text, enc = str(best), best.encoding
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if sample and controls > max(2, len(sample) // 100):
        raise FileProblem(f"文件 {name} 不是文本文件(含控制字符),已跳过",
                          f"file {name} is not a text file (control characters), skipped", "rejected")
    return text, enc


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _records_to_sheet(label: str, file_name: str, table: str | None, records: list[list], notes: list[str],
                      start_row: int = 1) -> RawSheet:
    """records[0] is the header; the others are data records (lists of str/None)."""
    header = ["" if h is None else str(h) for h in records[0]]
    while header and header[-1].strip() == "":
        header.pop()  # trailing empty header cells (Excel sheets)
    n = len(header)
    data_records = records[1:]
    if n == len(records[0]) and set(map(len, data_records)) <= {n}:
        # fast path (no ragged record): transpose in C, blank cells / records handled by polars
        cols_t = list(zip(*data_records)) if data_records else [() for _ in range(n)]
        frame = pl.DataFrame({f"c{j}": pl.Series(f"c{j}", cols_t[j], dtype=pl.String) for j in range(n)})
        frame = frame.with_columns([pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                                    for c in frame.columns])
        frame = frame.with_columns(pl.int_range(start_row, pl.len() + start_row, dtype=pl.Int64).alias("_row"),
                                   pl.lit(n, dtype=pl.Int64).alias("_ncells"))
        if n:
            frame = frame.filter(pl.any_horizontal([pl.col(f"c{j}").is_not_null() for j in range(n)]))
        return RawSheet(label, file_name, table, header, frame, _empty_overflow(), notes)
    rows, ncells, cols = [], [], [[] for _ in range(n)]
    over_rows, over_cols, over_vals = [], [], []
    for i, rec in enumerate(records[1:], start=start_row):
        # trailing empty cells are not cells (Excel pads, CSV writers add ,,)
        k = len(rec)
        while k and (rec[k - 1] is None or rec[k - 1] == ""):
            k -= 1
        if k == 0:
            continue
        rows.append(i)
        ncells.append(len(rec))
        for j in range(n):
            v = rec[j] if j < k else None
            cols[j].append(None if v == "" else v)
        for j in range(n, k):
            if rec[j] not in (None, ""):
                over_rows.append(i)
                over_cols.append(f"#{j + 1}")
                over_vals.append(rec[j])
    data = {f"c{j}": pl.Series(f"c{j}", cols[j], dtype=pl.String) for j in range(n)}
    data["_row"] = pl.Series("_row", rows, dtype=pl.Int64)
    data["_ncells"] = pl.Series("_ncells", ncells, dtype=pl.Int64)
    overflow = pl.DataFrame({"_row": over_rows, "column_name": over_cols, "value": over_vals},
                            schema={"_row": pl.Int64, "column_name": pl.String, "value": pl.String})
    return RawSheet(label, file_name, table, header, pl.DataFrame(data), overflow, notes)


def read_csv(path: Path) -> list[RawSheet]:
    """Decode, then a light first pass (Python's C csv tokenizer) counts the
    cells of every record. When no record is ragged, polars parses the file
    (fast, little memory); otherwise the records are kept and handled cell by
    cell (missing cells empty, surplus cells kept aside)."""
    name = path.name
    data = path.read_bytes()
    if not data.strip():
        raise FileProblem(f"文件 {name} 为空", f"file {name} is empty", "empty")
    text, enc = decode_bytes(data, name)
    del data
    text = text.lstrip("\ufeff")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delim = _sniff_delimiter(first_line)
    notes = [f"encoding={enc}"]
    table = recognise_table(path.stem)
    try:
        header, h, lens = None, 0, []
        for i, rec in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delim)):
            lens.append(len(rec))
            if header is None and any(c.strip() for c in rec):
                header, h = rec, i
    except csv.Error as exc:
        raise FileProblem(f"文件 {name} 不是有效的 CSV: {exc}", f"file {name} is not valid CSV: {exc}", "rejected")
    if header is None:
        raise FileProblem(f"文件 {name} 为空", f"file {name} is empty", "empty")
    n = len(header)
    if h == 0 and header[-1].strip() != "" and all(k in (0, n) for k in lens[1:]):
        sheet = _polars_csv(text, delim, name, table, header, len(lens), notes)
        if sheet is not None:
            return [sheet]
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    while records and not any(c.strip() for c in records[0]):
        records.pop(0)  # blank lines before the header
    return [_records_to_sheet(name, name, table, records, notes)]


def _polars_csv(text: str, delim: str, name: str, table: str | None, header: list[str], n_records: int,
                notes: list[str]) -> RawSheet | None:
    """Parse a non-ragged CSV with polars; None when polars sees the records
    differently from the csv tokenizer (then the careful path is used)."""
    n = len(header)
    try:
        df = pl.read_csv(text.encode("utf-8"), has_header=False, infer_schema=False, separator=delim,
                         quote_char='"', empty_string_is_null=False, raise_if_empty=False)
    except Exception:  # noqa: BLE001
        return None
    if df.width != n or df.height != n_records:
        return None
    df = df.rename({c: f"c{j}" for j, c in enumerate(df.columns)})
    if df.row(0) != tuple(header):
        return None
    frame = (df.with_columns([pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in df.columns])
             .with_columns(pl.int_range(0, pl.len(), dtype=pl.Int64).alias("_row"),
                           pl.lit(n, dtype=pl.Int64).alias("_ncells"))
             .slice(1)
             .filter(pl.any_horizontal([pl.col(f"c{j}").is_not_null() for j in range(n)])))
    return RawSheet(name, name, table, header, frame, _empty_overflow(), notes)


# --------------------------------------------------------------------- Excel

def _cell_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0, 0):
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, int):
        return str(v)
    s = str(v)
    return s


def _bad_workbook(name: str, exc: Exception) -> FileProblem:
    return FileProblem(f"文件 {name} 不是有效的 Excel 工作簿(可能已损坏或被截断): {type(exc).__name__}",
                       f"file {name} is not a readable .xlsx workbook (damaged or truncated): {type(exc).__name__}",
                       "rejected")


def _sheet_from_frame(label: str, name: str, table: str | None, df: pl.DataFrame) -> RawSheet | FileProblem:
    """An all-string sheet (no header applied) -> RawSheet; vectorised."""
    if df.width == 0 or df.height == 0:
        return FileProblem(f"工作表 {label} 为空", f"sheet {label} is empty", "empty", label)
    df = df.rename({c: f"x{j}" for j, c in enumerate(df.columns)})
    df = df.with_columns(pl.all().cast(pl.String))
    df = df.with_columns([pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
                          for c in df.columns])
    nonempty = df.select(pl.any_horizontal(pl.all().is_not_null()).alias("ne"))["ne"]
    idx = nonempty.arg_true()
    if idx.len() == 0:
        return FileProblem(f"工作表 {label} 为空", f"sheet {label} is empty", "empty", label)
    h = _pick_header(df, idx, table)
    header = ["" if v is None else str(v) for v in df.row(h)]
    while header and header[-1].strip() == "":
        header.pop()
    n = len(header)
    data = (df.slice(h + 1).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_row"))
            .filter(nonempty.slice(h + 1)))
    over_cols = [c for c in df.columns[n:]]
    overflow = _empty_overflow()
    if over_cols and data.height:
        overflow = (data.select(["_row", *over_cols]).unpivot(index="_row", variable_name="column_name",
                                                              value_name="value")
                    .filter(pl.col("value").is_not_null())
                    .with_columns(pl.format("#{}", pl.col("column_name").str.slice(1).cast(pl.Int64) + 1)
                                  .alias("column_name"))
                    .select("_row", "column_name", "value"))
    frame = data.select([pl.col(f"x{j}").alias(f"c{j}") for j in range(n)]
                        + [pl.col("_row"), pl.lit(n, dtype=pl.Int64).alias("_ncells")])
    return RawSheet(label, name, table, header, frame, overflow, [])


def _pick_header(df: pl.DataFrame, nonempty_idx: pl.Series, table: str | None, look: int = 10) -> int:
    """The header row of a sheet: the first of its first ``look`` non-empty rows
    that holds every required column of the table (a title row above the
    header is common in exported workbooks); else the first non-empty row."""
    first = int(nonempty_idx[0])
    if table is None:
        return first
    from core.contract import TABLES, header_map, norm_name

    hmap = header_map(table)
    required = set(TABLES[table].required_columns)
    for i in nonempty_idx[:look].to_list():
        cols = {hmap[norm_name(v)][0] for v in df.row(i) if v is not None and norm_name(v) in hmap}
        if required <= cols:
            return int(i)
    return first


def read_xlsx(path: Path) -> list[RawSheet | FileProblem]:
    """One RawSheet per non-empty sheet, read with fastexcel (calamine) as text:
    date cells come as ISO date-times, whole numbers without '.0', formula
    cells give their cached value (an uncached formula reads as empty). A
    sheet whose name names no table takes the file's table when the file
    stem names one. openpyxl is the fallback reader."""
    name = path.name
    if path.stat().st_size == 0:
        raise FileProblem(f"文件 {name} 为空", f"file {name} is empty", "empty")
    if not zipfile.is_zipfile(path):
        raise _bad_workbook(name, zipfile.BadZipFile("not a zip archive"))
    file_table = recognise_table(path.stem)
    try:
        import fastexcel

        reader = fastexcel.read_excel(str(path))
        out: list[RawSheet | FileProblem] = []
        for sheet_name in reader.sheet_names:
            label = f"{name}#{sheet_name}"
            table = recognise_table(sheet_name) or file_table
            try:
                df = reader.load_sheet(sheet_name, header_row=None, dtypes="string").to_polars()
            except Exception as exc:  # noqa: BLE001 - calamine refuses empty / odd sheets
                if "empty" in str(exc).lower():
                    out.append(FileProblem(f"工作表 {label} 为空", f"sheet {label} is empty", "empty", label))
                    continue
                raise
            out.append(_sheet_from_frame(label, name, table, df))
        return out
    except Exception:  # noqa: BLE001 - fall back to openpyxl, which reports damage precisely
        return read_xlsx_openpyxl(path)


def read_xlsx_openpyxl(path: Path) -> list[RawSheet | FileProblem]:
    """Fallback reader (openpyxl, read-only, cached formula values)."""
    import openpyxl

    name = path.name
    if path.stat().st_size == 0:
        raise FileProblem(f"文件 {name} 为空", f"file {name} is empty", "empty")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise FileProblem(f"文件 {name} 不是有效的 Excel 工作簿(可能已损坏或被截断): {type(exc).__name__}",
                          f"file {name} is not a readable .xlsx workbook (damaged or truncated): {type(exc).__name__}",
                          "rejected")
    out: list[RawSheet | FileProblem] = []
    file_table = recognise_table(path.stem)
    try:
        for ws in wb.worksheets:
            label = f"{name}#{ws.title}"
            table = recognise_table(ws.title) or file_table
            try:
                records = []
                for values in ws.iter_rows(values_only=True):
                    records.append([_cell_text(v) for v in values])
            except Exception as exc:  # damaged sheet XML
                out.append(FileProblem(f"工作表 {label} 无法读取: {type(exc).__name__}",
                                       f"sheet {label} cannot be read: {type(exc).__name__}", "rejected", label))
                continue
            header_at = 0
            while header_at < len(records) and not any(c not in (None, "") for c in records[header_at]):
                header_at += 1
            records = records[header_at:]
            if not records:
                out.append(FileProblem(f"工作表 {label} 为空", f"sheet {label} is empty", "empty", label))
                continue
            out.append(_records_to_sheet(label, name, table, records, []))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise FileProblem(f"文件 {name} 不是有效的 Excel 工作簿(可能已损坏或被截断): {type(exc).__name__}",
                          f"file {name} is not a readable .xlsx workbook (damaged or truncated): {type(exc).__name__}",
                          "rejected")
    finally:
        wb.close()
    return out


# --------------------------------------------------------------------- Parquet

def read_parquet(path: Path) -> list[RawSheet]:
    name = path.name
    try:
        df = pl.read_parquet(path)
    except Exception as exc:
        raise FileProblem(f"文件 {name} 不是有效的 Parquet 文件: {type(exc).__name__}",
                          f"file {name} is not a readable Parquet file: {type(exc).__name__}", "rejected")
    header = list(df.columns)
    cast = []
    for j, c in enumerate(header):
        s = pl.col(c)
        dtype = df.schema[c]
        if dtype == pl.Date:
            e = s.dt.strftime("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            e = s.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif dtype == pl.String:
            e = s
        elif dtype.is_nested() or dtype == pl.Binary:
            e = s.cast(pl.String, strict=False)
        else:
            e = s.cast(pl.String)
        cast.append(e.alias(f"c{j}"))
    frame = df.select(cast).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_row"),
        pl.lit(len(header), dtype=pl.Int64).alias("_ncells"),
    )
    return [RawSheet(name, name, recognise_table(path.stem), header, frame, _empty_overflow(), [])]


def read_any(path: Path) -> list[RawSheet | FileProblem]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix == ".xlsx":
        return read_xlsx(path)
    if suffix == ".parquet":
        return read_parquet(path)
    raise FileProblem(f"文件 {path.name} 的类型不受支持(支持 .csv、.xlsx、.parquet)",
                      f"file {path.name}: unsupported file type (.csv, .xlsx, .parquet are read)", "unsupported")
