"""The HR to-do workbook: ``<out_dir>/employers/<uscc>/todo.xlsx`` per employer.

One sheet per to-do list of ``reports.todo_lists`` (the same columns, headers and
order as the employer page's table of that list), rows sorted by ``due_on`` (the
date to act by), then the 说明 sheet naming every sheet and column in English.

Each ``todo_*`` mart is read ONCE (not once per employer); every cell's XML is
built for all employers at once in polars and each file is written by the lean
writer ``reports.xlsx_lean`` (17x less CPU than xlsxwriter on the same workbooks,
docs/performance.md): Chinese sheet names and headers, frozen header row,
autofilter, column widths that fit Chinese text (CJK counts double), real Excel
dates, masked ID numbers only. Any text starting with ``=``, ``+``, ``-``, ``@``
(or a tab / carriage return) is neutralised: written as a string with a leading
apostrophe and Excel's quote-prefix flag, so it can never become a formula.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from reports.privacy import mask_ids_in_text_expr
from reports.todo_lists import SHEET_KIND, TODO_LISTS

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# the same set as a regex character class, for the polars (vectorised) path
DANGEROUS_RE = "^[" + "".join("\\" + c if c in "\\]^-" else c for c in DANGEROUS_PREFIXES) + "]"


@dataclass(frozen=True)
class Sheet:
    name: str  # Chinese sheet name
    table: str  # mart
    # (mart column, Chinese header, English header, kind: text|date|int|bool)
    columns: tuple[tuple[str, str, str, str], ...]
    title_en: str
    optional: bool = False  # the mart may be absent (a warehouse built without it): the sheet is then empty
    sort: tuple[str, ...] = ()  # rows in this order within an employer (due_on first: the date to act by)


# one sheet per to-do list, with the columns of its page table (reports/todo_lists.py)
SHEETS: tuple[Sheet, ...] = tuple(
    Sheet(t.sheet, t.mart, tuple((c, zh, en, SHEET_KIND[k]) for c, zh, en, k in t.columns), t.title_en,
          t.optional, t.sort)
    for t in TODO_LISTS)
README_SHEET = "说明"


class WorkbookError(RuntimeError):
    pass


def neutralise(text: str) -> tuple[str, bool]:
    """(value to write, whether it was neutralised)."""
    if text and text.startswith(DANGEROUS_PREFIXES):
        return "'" + text, True
    return text, False


def _display_width_expr(col: str) -> pl.Expr:
    # UTF-8: ASCII 1 byte/1 char -> 1; CJK 3 bytes/1 char -> 2 columns
    c = pl.col(col).cast(pl.String).fill_null("")
    return ((c.str.len_bytes() + c.str.len_chars()) // 2).alias(col)


def _str_width(s: str) -> int:
    return (len(s.encode("utf-8")) + len(s)) // 2


def _read_table(con: duckdb.DuckDBPyConnection, sheet: Sheet, usccs: list[str] | None) -> pl.DataFrame:
    cols = ", ".join(["uscc"] + [c for c, _, _, _ in sheet.columns])
    if sheet.optional and not con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                                      params=[sheet.table]).fetchall()[0][0]:
        return pl.DataFrame(schema={c: pl.String for c in ["uscc"] + [c for c, _, _, _ in sheet.columns]})
    where = ""
    if usccs is not None:
        con.register("_wb_usccs", pl.DataFrame({"uscc": usccs}, schema={"uscc": pl.String}).to_arrow())
        where = "WHERE uscc IN (SELECT uscc FROM _wb_usccs)"
    have = {r[0] for r in con.sql("SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
                                  params=[sheet.table]).fetchall()}
    order = ", ".join(["uscc"] + [f"{c} NULLS LAST" for c in sheet.sort if c in have])
    try:
        df = con.sql(f"SELECT {cols} FROM {sheet.table} {where} ORDER BY {order}").pl()
    except duckdb.Error as exc:
        raise WorkbookError(f"cannot read mart {sheet.table} for {sheet.name}.xlsx sheet: "
                            f"{str(exc).splitlines()[0]}") from exc
    text_cols = [c for c, _, _, k in sheet.columns if k == "text"]
    lists = [c for c in text_cols if isinstance(df.schema[c], pl.List)]  # e.g. rule ids: one cell, comma-joined
    if lists:
        df = df.with_columns([pl.col(c).list.eval(pl.element().cast(pl.String)).list.join(",") for c in lists])
    # defensive: no unmasked 18-character ID survives in any text cell
    return df.with_columns([mask_ids_in_text_expr(c) for c in text_cols])


def write_todo_workbooks(con: duckdb.DuckDBPyConnection, out_dir: Path, usccs: list[str] | None = None,
                         as_of: dt.date | None = None, workers: int = 1) -> int:
    """Write ``out_dir/employers/<uscc>/todo.xlsx`` for every employer of
    ``employer_summary`` (or the given ``usccs``); returns the number of files.

    Each list is read once; every cell's XML is built for all employers at
    once with polars expressions; a file is then only the concatenation of its
    employer's rows plus fixed parts, zipped (``reports.xlsx_lean``).
    ``workers`` > 1 writes the files in that many processes."""
    out_dir = Path(out_dir)
    where = ""
    if usccs is not None:
        con.register("_wb_usccs", pl.DataFrame({"uscc": list(usccs)}, schema={"uscc": pl.String}).to_arrow())
        where = "WHERE uscc IN (SELECT uscc FROM _wb_usccs)"
    try:
        emp = con.sql(f"SELECT uscc, name, as_of FROM employer_summary {where} ORDER BY uscc").pl()
    except duckdb.Error as exc:
        raise WorkbookError(f"cannot read employer_summary: {str(exc).splitlines()[0]}") from exc
    if as_of is None and emp.height:
        as_of = emp["as_of"][0]
    per_sheet: dict[str, dict[str, tuple[str, int, list[float]]]] = {}
    for sheet in SHEETS:
        df = _read_table(con, sheet, list(usccs) if usccs is not None else None)
        per_sheet[sheet.table] = _sheet_rows_by_employer(df, sheet)

    def jobs():
        for uscc, name in zip(emp["uscc"].to_list(), emp["name"].to_list()):
            parts = {s.table: per_sheet[s.table].get(uscc) for s in SHEETS}
            yield (str(out_dir / "employers" / uscc / "todo.xlsx"), uscc, name or "", as_of, parts)

    if workers > 1 and emp.height >= 2 * workers:
        import itertools
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        size = max(1, min(500, emp.height // (workers * 8)))
        it = jobs()
        chunks = iter(lambda: list(itertools.islice(it, size)), [])
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
            return sum(ex.map(_write_chunk, chunks))
    return _write_chunk(jobs())


def write_exported_workbooks(export: str, tables: list[str], out: str, usccs: list[str]) -> int:
    """A worker process of the site build (``reports.site.builder``): load the
    marts exported to ``export/<table>.parquet`` into an in-memory DuckDB and
    write the workbooks of ``usccs`` under ``out``. It lives here, not in the
    builder, because a spawned process imports the module of the function it
    runs: this one needs polars and duckdb only (0.8 s from source), the
    builder pulls in Dagster through the mart labels (2.7 s) — per worker,
    per run."""
    con = duckdb.connect()
    con.execute("SET threads = 1")
    for t in tables:
        con.execute(f"CREATE TABLE \"{t}\" AS SELECT * FROM read_parquet('{Path(export) / (t + '.parquet')}')")
    return write_todo_workbooks(con, Path(out), usccs=usccs)


def _sheet_rows_by_employer(df: pl.DataFrame, sheet: Sheet) -> dict[str, tuple[str, int, list[float]]]:
    """uscc -> (the sheet's data rows as XML, row count, column widths)."""
    from reports import xlsx_lean as X

    if df.height == 0:
        return {}
    row_no = (pl.int_range(pl.len()).over("uscc") + 2).cast(pl.String)
    cells = []
    for j, (col, _, _, kind) in enumerate(sheet.columns):
        ref = pl.lit(f'<c r="{X.col_letter(j)}') + row_no
        c = pl.col(col)
        if kind == "date":
            xml = ref + pl.lit(f'" s="{X.STYLE_DATE}"><v>') + X.excel_serial_expr(c).cast(pl.String) + pl.lit("</v></c>")
        elif kind == "int":
            xml = ref + pl.lit('"><v>') + c.cast(pl.Int64).cast(pl.String) + pl.lit("</v></c>")
        else:
            text = pl.when(c).then(pl.lit("是")).otherwise(pl.lit("否")) if kind == "bool" else c.cast(pl.String)
            danger = text.str.contains(DANGEROUS_RE)
            style = pl.when(danger).then(pl.lit(f' s="{X.STYLE_QUOTED}"')).otherwise(pl.lit(""))
            shown = pl.when(danger).then(pl.lit("'") + text).otherwise(text)
            xml = ref + pl.lit('"') + style + pl.lit(' t="inlineStr"><is><t xml:space="preserve">') \
                + X.escape_expr(shown) + pl.lit("</t></is></c>")
        cells.append(pl.when(c.is_null()).then(pl.lit("")).otherwise(xml))
    row_xml = pl.lit('<row r="') + row_no + pl.lit('">') + pl.concat_str(cells) + pl.lit("</row>")
    widths = [(_display_width_expr(col) if kind == "text" else pl.lit(12)).max().alias(f"__w{j}")
              for j, (col, _, _, kind) in enumerate(sheet.columns)]
    g = (df.with_columns(row_xml.alias("__xml"))
           .group_by("uscc", maintain_order=True)
           .agg(pl.col("__xml").str.join(""), pl.len().alias("__n"), *widths))
    out = {}
    for r in g.iter_rows():
        ws = [min(max(_str_width(zh) + 4, int(r[3 + j] or 0) + 2, 10 if kind == "date" else 6), 60)
              for j, (_, zh, _, kind) in enumerate(sheet.columns)]
        out[r[0]] = (r[1], r[2], ws)
    return out


def _write_chunk(jobs) -> int:
    n = 0
    for path, uscc, name, as_of, parts in jobs:
        _write_one(Path(path), uscc, name, as_of, parts)
        n += 1
    return n


def _write_one(path: Path, uscc: str, name: str, as_of, parts: dict) -> None:
    from reports import xlsx_lean as X

    path.parent.mkdir(parents=True, exist_ok=True)
    sheets = []
    for s in SHEETS:
        rows, n, widths = parts.get(s.table) or ("", 0, None)
        if widths is None:
            widths = _default_widths(s)
        sheets.append(X.SheetXml(s.name, [zh for _, zh, _, _ in s.columns], widths, rows, n))
    sheets.append(_readme(uscc, name, as_of, parts))
    X.write_workbook(path, sheets)  # written in place: the folder is not published until the build swaps it in


@functools.lru_cache(maxsize=None)
def _default_widths(s: Sheet) -> list[int]:
    return [min(max(_str_width(zh) + 4, 10 if kind == "date" else 6), 60) for _, zh, _, kind in s.columns]


@functools.lru_cache(maxsize=1)
def _readme_fixed() -> tuple[str, list[tuple[str, str]], str]:
    """The 说明 sheet's fixed cells: the About row and, per sheet, its name cell
    and the text after its row count (XML, rows numbered as in ``_readme``)."""
    from reports import xlsx_lean as X

    about = ("说明 / About", "本文件列出本单位需要办理的事项。身份证号已脱敏。/ Actions for this employer; "
                           "ID numbers are masked.")
    per_sheet = []
    for i, s in enumerate(SHEETS, start=7):
        a = X.text_cell(f"A{i}", f"{s.name} / {s.title_en}", None)
        tail = X.escape(" 行 / rows; 列 / columns: " + "; ".join(f"{zh} = {en}" for _, zh, en, _ in s.columns))
        per_sheet.append((f'<row r="{i}">{a}<c r="B{i}" t="inlineStr"><is><t xml:space="preserve">', tail))
    fixed = (f'<row r="5">{X.text_cell("A5", "", None)}{X.text_cell("B5", "", None)}</row>'
             f'<row r="6">{X.text_cell("A6", about[0], None)}{X.text_cell("B6", about[1], None)}</row>')
    return fixed, per_sheet, "</t></is></c></row>"


def _readme(uscc: str, name: str, as_of, parts) -> "object":
    """The 说明 sheet: employer, as_of, and what each sheet holds (zh / en)."""
    from reports import xlsx_lean as X

    xml = []
    for i, (k, v) in enumerate((("单位名称 / Employer", name), ("统一社会信用代码 / USCC", uscc),
                                ("评估基准日 / As of", str(as_of or ""))), start=2):
        sv, danger = neutralise(v)
        xml.append(f'<row r="{i}">{X.text_cell(f"A{i}", k, None)}'
                   f'{X.text_cell(f"B{i}", sv, X.STYLE_QUOTED if danger else None)}</row>')
    fixed, per_sheet, close = _readme_fixed()
    xml.append(fixed)
    for s, (head, tail) in zip(SHEETS, per_sheet):
        xml.append(f"{head}{(parts.get(s.table) or ('', 0, None))[1]}{tail}{close}")
    return X.SheetXml(README_SHEET, ["项目 / Item", "内容 / Value"], [26, 70], "".join(xml), 5 + len(SHEETS),
                      autofilter=False)
