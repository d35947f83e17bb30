"""A small, fast writer of plain .xlsx files (Office Open XML SpreadsheetML).

Why not xlsxwriter for the to-do workbooks: on the same 5,000 workbooks it
needs 17x the CPU time of this writer (53.8 vs 3.1 s, medians of 3 alternating
runs: ``python -m assets.marts.bench xlsx``, docs/performance.md). Here the
cells are XML built for all employers at once by polars expressions
(``reports.workbook``); a file is those rows plus fixed parts, zipped by a
small writer of its own (zipfile's per-member bookkeeping was half of the
time: 10,000 city workbooks 8.8 → 3.1 s on one core, same bytes per member).

What it writes: inline strings, numbers, dates as serial numbers with a
``yyyy-mm-dd`` format, a bold shaded header row, a frozen header, an
autofilter over the data, column widths, and the quote-prefix style for
neutralised text. Anything else (formulas, shared strings, merged cells) is
deliberately absent. Tests read every file back with openpyxl.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from reports.files import overwrite

STYLE_HEADER, STYLE_DATE, STYLE_QUOTED = 1, 2, 3
EXCEL_EPOCH = dt.date(1899, 12, 30)
_ILLEGAL_XML = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"  # polars (Rust regex) spelling
_ILLEGAL_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # the same class, Python

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

STYLES_XML = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>'
    '<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" '
    'applyAlignment="1"><alignment vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
ROOT_RELS = (_HEAD + f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
             f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')


def col_letter(j: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def escape(text: str) -> str:
    text = _ILLEGAL_XML_RE.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_expr(e: pl.Expr) -> pl.Expr:
    return (e.str.replace_all(_ILLEGAL_XML, "")
             .str.replace_all("&", "&amp;", literal=True)
             .str.replace_all("<", "&lt;", literal=True)
             .str.replace_all(">", "&gt;", literal=True))


def excel_serial_expr(e: pl.Expr) -> pl.Expr:
    """Dates (or datetimes) as Excel serial day numbers (1900 date system)."""
    return (e.cast(pl.Date) - pl.lit(EXCEL_EPOCH)).dt.total_days()


def text_cell(ref: str, text: str, style: int | None) -> str:
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


@dataclass
class SheetXml:
    name: str
    headers: list[str]
    widths: list[float]
    rows_xml: str  # <row> elements from row 2 on
    nrows: int  # data rows
    autofilter: bool = True

    def ref(self) -> str:
        return f"A1:{col_letter(len(self.headers) - 1)}{self.nrows + 1}"

    def xml(self) -> str:
        head = _header_row(tuple(self.headers))
        cols = "".join(f'<col min="{j}" max="{j}" width="{w:g}" customWidth="1"/>'
                       for j, w in enumerate(self.widths, start=1))
        auto = f'<autoFilter ref="{self.ref()}"/>' if self.autofilter else ""
        return (_HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="{self.ref()}"/>'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
                'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
                f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
                f'<sheetData><row r="1" ht="22" customHeight="1">{head}</row>{self.rows_xml}</sheetData>'
                f'{auto}<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                '</worksheet>')


@functools.lru_cache(maxsize=64)
def _header_row(headers: tuple[str, ...]) -> str:
    return "".join(text_cell(f"{col_letter(j)}1", h, STYLE_HEADER) for j, h in enumerate(headers))


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


# ------------------------------------------------------------------ the zip container
# Written directly (not with zipfile): 50,000 small workbooks spend most of their
# time in zipfile's per-member bookkeeping and seeks. Members are deflated (raw,
# level 1) in memory and the file is written in one call; the parts every
# workbook with n sheets shares are compressed once. Timestamps are fixed
# (1980-01-01), so equal content gives equal bytes.

_DOS_DATE, _DOS_TIME = 33, 0  # 1980-01-01 00:00


@dataclass(frozen=True)
class _Member:
    name: bytes
    crc: int
    size: int
    data: bytes  # deflated


def _member(name: str, text: str) -> _Member:
    raw = text.encode("utf-8")
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    return _Member(name.encode("ascii"), zlib.crc32(raw), len(raw), c.compress(raw) + c.flush())


def _zip(members: list[_Member]) -> bytes:
    out, central, offset = [], [], 0
    for m in members:
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, _DOS_TIME, _DOS_DATE, m.crc, len(m.data), m.size,
                            len(m.name), 0) + m.name
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, _DOS_TIME, _DOS_DATE, m.crc,
                                   len(m.data), m.size, len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
        out += (local, m.data)
        offset += len(local) + len(m.data)
    cd = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd), offset, 0)
    return b"".join(out) + cd + end


@functools.lru_cache(maxsize=8)
def _fixed_members(n: int) -> tuple[_Member, _Member, _Member, _Member]:
    """[Content_Types].xml, _rels/.rels, xl/_rels/workbook.xml.rels and xl/styles.xml of an n-sheet workbook."""
    types = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                    f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
    content_types = (
        _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{types}</Types>')
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, n + 1))
    wb_rels = (_HEAD + f'<Relationships xmlns="{_PKG_REL}">{rels}'
               f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>')
    return (_member("[Content_Types].xml", content_types), _member("_rels/.rels", ROOT_RELS),
            _member("xl/_rels/workbook.xml.rels", wb_rels), _member("xl/styles.xml", STYLES_XML))


@functools.lru_cache(maxsize=4096)
def _workbook_member(shape: tuple[tuple[str, int, int, bool], ...]) -> _Member:
    """xl/workbook.xml for sheets of (name, columns, data rows, autofilter): few distinct shapes."""
    sheet_list = "".join(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, (name, _, _, _) in enumerate(shape, start=1))
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f'{escape(_quote_sheet(name))}!$A$1:${col_letter(ncols - 1)}${nrows + 1}</definedName>'
        for i, (name, ncols, nrows, auto) in enumerate(shape) if auto)
    workbook = (_HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
                f'<sheets>{sheet_list}</sheets>' + (f"<definedNames>{names}</definedNames>" if names else "")
                + "</workbook>")
    return _member("xl/workbook.xml", workbook)


@functools.lru_cache(maxsize=256)
def _empty_sheet_member(i: int, name: str, headers: tuple[str, ...], widths: tuple[float, ...],
                        autofilter: bool) -> _Member:
    """A sheet without data rows (most sheets of most employers) is the same for every employer."""
    return _member(f"xl/worksheets/sheet{i}.xml", SheetXml(name, list(headers), list(widths), "", 0, autofilter).xml())


def _sheet_member(i: int, s: SheetXml) -> _Member:
    if s.nrows == 0 and not s.rows_xml:
        return _empty_sheet_member(i, s.name, tuple(s.headers), tuple(s.widths), s.autofilter)
    return _member(f"xl/worksheets/sheet{i}.xml", s.xml())


def workbook_bytes(sheets: list[SheetXml]) -> bytes:
    """``sheets`` as the bytes of one .xlsx file."""
    types, rels, wb_rels, styles = _fixed_members(len(sheets))
    workbook = _workbook_member(tuple((s.name, len(s.headers), s.nrows, s.autofilter) for s in sheets))
    return _zip([types, rels, workbook, wb_rels, styles,
                 *[_sheet_member(i, s) for i, s in enumerate(sheets, start=1)]])


def write_workbook(path: Path, sheets: list[SheetXml]) -> None:
    """Write ``sheets`` as one .xlsx file at ``path``."""
    data = workbook_bytes(sheets)
    try:
        overwrite(path, data)  # the site's folder is reused: no truncation (reports.files)
    except OSError as exc:
        raise OSError(f"cannot write workbook {path}: {exc.strerror or exc}") from exc
