"""A minimal streaming .xlsx writer (inline strings, one or more sheets) for
test fixtures and the hostile-file benchmark: it can write what Excel writes
but openpyxl refuses (control characters, escaped as ``_x0000_`` the way
Excel stores them) and sheets of any size without holding them in memory.
Not used by the pipeline itself."""
from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{sheets}</Types>')
_CT_SHEET = ('<Override PartName="/xl/worksheets/sheet{i}.xml" '
             'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets>'
       '</workbook>')
_WB_SHEET = '<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            '</Relationships>')
_WB_REL = ('<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
           'worksheet" Target="worksheets/sheet{i}.xml"/>')
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"


def cell_text(value: str) -> str:
    """XML text of a cell value; control characters as Excel stores them (_x0000_)."""
    out = []
    for ch in escape(value):
        o = ord(ch)
        out.append(f"_x{o:04X}_" if (o < 32 and ch not in "\t\n\r") or o == 0xFFFE else ch)
    return "".join(out)


def row_xml(values: Iterable[str | None], r: int | None = None) -> str:
    cells = "".join(f'<c t="inlineStr"><is><t xml:space="preserve">{cell_text(str(v))}</t></is></c>'
                    for v in values if v is not None)
    return f'<row r="{r}">{cells}</row>' if r else f"<row>{cells}</row>"


def write_xlsx_raw(path: Path, sheets: dict[str, Iterable[list] | Iterator[str]], level: int = 6) -> Path:
    """Sheets of rows (lists of cell values, first row the header), or of
    ready-made ``<row>`` XML strings (then written as they come)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        names = list(sheets)
        zf.writestr("[Content_Types].xml", _CT.format(sheets="".join(_CT_SHEET.format(i=i + 1)
                                                                      for i in range(len(names)))))
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WB.format(sheets="".join(_WB_SHEET.format(name=escape(n), i=i + 1)
                                                                 for i, n in enumerate(names))))
        zf.writestr("xl/_rels/workbook.xml.rels", _WB_RELS.format(rels="".join(_WB_REL.format(i=i + 1)
                                                                               for i in range(len(names)))))
        for i, name in enumerate(names):
            with zf.open(f"xl/worksheets/sheet{i + 1}.xml", "w", force_zip64=True) as fh:
                fh.write(SHEET_HEAD.encode())
                for r, row in enumerate(sheets[name], start=1):
                    fh.write((row if isinstance(row, str) else row_xml(row, r)).encode("utf-8"))
                fh.write(SHEET_TAIL.encode())
    return path
