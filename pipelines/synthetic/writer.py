"""Write the logical tables as a messy, contract-conforming input folder and
inject ingest-level defects (broken rows, key clashes, orphans, exact
duplicates). Returns the ingest part of the answer key and per-file counts.

Conventions of the answer key (agreed with the ingest engineer):
``<file name>:<row>`` for CSV and Parquet (row 1 = first data row),
``<file name>#<sheet>:<row>`` for Excel.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from core.contract import ENUMS as CONTRACT_ENUMS
from core.contract import TABLES, Column

from . import vocab as V
from .ids import make_ric, make_usccs

# The contract (core/contract.py) is the one source of table columns, Chinese header
# aliases and enum labels; the writer only chooses among them. Chinese-header files
# use a column's first alias, except these spellings (also listed by the contract:
# real files differ in which one they use).
HEADER_SPELLINGS = {
    ("persons", "id_number"): "证件号码", ("employments", "hired_on"): "入职日期",
    ("employments", "contract_end_on"): "合同到期日期", ("work_history", "start_on"): "起始时间",
    ("work_history", "end_on"): "截止时间", ("work_history", "note"): "备注",
    ("education_history", "start_on"): "入学时间", ("education_history", "end_on"): "毕业时间",
    ("education_history", "note"): "备注", ("contributions", "kind"): "险种",
    ("contributions", "withholder_name"): "扣缴单位名称", ("contributions", "amount_cny"): "缴纳金额",
    ("withholding_agents", "uscc"): "聘用单位代码", ("withholding_agents", "kind"): "险种",
    ("waivers", "reason"): "批准理由", ("waivers", "approved_by"): "批准部门",
    ("dependents", "id_number"): "随往人员身份证号", ("dependents", "relation"): "与申请人关系",
    ("applications", "window_submitted_on"): "受理日期",
}


def _header(table: str, col: Column) -> str:
    h = HEADER_SPELLINGS.get((table, col.name), col.zh)
    if h not in col.aliases:
        raise ValueError(f"{table}.{col.name}: {h!r} is not a header alias of the data contract")
    return h


def _label(label: str) -> str:
    """The contract lists alternatives as "个人所得税/个税": files use the first."""
    return label.split("/")[0]


# table -> {column -> Chinese header}; table -> enum columns; (table, column) -> {code: label}
ZH = {name: {c.name: _header(name, c) for c in t.columns} for name, t in TABLES.items()}
ENUM_COLS = {name: [c.name for c in t.columns if c.enum] for name, t in TABLES.items()}
LABELS = {(name, c.name): {code: _label(lb) for code, lb in CONTRACT_ENUMS[c.enum].items()}
          for name, t in TABLES.items() for c in t.columns if c.enum}
WAN_HEADER = TABLES["employers"].column("registered_capital_cny").scaled_aliases[0][0]  # 注册资本(万元)
ID_COLS = {"id_number", "holder_id_number"}
BOOL_STYLES = [("true", "false"), ("是", "否"), ("Y", "N"), ("1", "0"), ("有", "无"), ("yes", "no")]
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclasses.dataclass
class FileSpec:
    table: str
    name: str            # file name
    fmt: str             # csv | xlsx | parquet
    encoding: str = "utf-8"   # utf-8 | utf-8-sig | gb18030
    zh_headers: bool = False
    date_style: str = "iso"   # iso | slash | dot | cn | compact | mixed | native (xlsx cells)
    labels: float = 0.0       # share of enum values written as Chinese labels
    bools: int = 0
    messy_ids: float = 0.0    # share of ID values with full-width digits / lower-case x / spaces
    money: str = "plain"      # plain | grouped | wan (万元 column)
    sheet: str = ""

    def key(self, row: int) -> str:
        return f"{self.name}#{self.sheet}:{row}" if self.fmt == "xlsx" else f"{self.name}:{row}"


def _date_strings(s: pl.Series, styles: np.ndarray) -> pl.Series:
    y, m, d = s.dt.year().cast(pl.String), s.dt.month().cast(pl.String), s.dt.day().cast(pl.String)
    variants = [s.dt.strftime("%Y-%m-%d"), y + "/" + m + "/" + d, y + "." + m + "." + d, y + "年" + m + "月" + d + "日",
                s.dt.strftime("%Y%m%d")]
    df = pl.DataFrame({f"v{i}": v for i, v in enumerate(variants)}).with_columns(st=pl.Series(styles))
    expr = pl.when(pl.col("st") == 0).then(pl.col("v0"))
    for i in range(1, 5):
        expr = expr.when(pl.col("st") == i).then(pl.col(f"v{i}"))
    return df.select(expr.fill_null("")).to_series()


def _month_strings(s: pl.Series, styles: np.ndarray) -> pl.Series:
    y, m = s.dt.year().cast(pl.String), s.dt.month().cast(pl.String)
    variants = [s.dt.strftime("%Y-%m"), y + "/" + m, s.dt.strftime("%Y%m"), y + "年" + m + "月", s.dt.strftime("%Y-%m-%d")]
    df = pl.DataFrame({f"v{i}": v for i, v in enumerate(variants)}).with_columns(st=pl.Series(styles))
    expr = pl.when(pl.col("st") == 0).then(pl.col("v0"))
    for i in range(1, 5):
        expr = expr.when(pl.col("st") == i).then(pl.col(f"v{i}"))
    return df.select(expr.fill_null("")).to_series()


STYLE_INDEX = {"iso": 0, "slash": 1, "dot": 2, "cn": 3, "compact": 4}


def format_table(df: pl.DataFrame, spec: FileSpec, rng: np.random.Generator) -> pl.DataFrame:
    """All columns as strings in the file's conventions (the logical values stay the same)."""
    n = df.height
    cols = {}
    if spec.date_style == "mixed":
        styles = rng.integers(0, 5, n)
    else:
        styles = np.full(n, STYLE_INDEX.get(spec.date_style, 0))
    enum_cols = ENUM_COLS.get(spec.table, [])
    for c in df.columns:
        s = df[c]
        if c == "month":
            cols[c] = _month_strings(s, rng.integers(0, 4, n) if spec.date_style == "mixed" else np.full(n, min(styles[0] if n else 0, 3)))
        elif s.dtype == pl.Date:
            cols[c] = _date_strings(s, styles)
        elif s.dtype == pl.Boolean:
            t, f = BOOL_STYLES[spec.bools]
            cols[c] = s.replace_strict({True: t, False: f}, default="", return_dtype=pl.String).fill_null("")
        elif c in enum_cols:
            lab = LABELS[(spec.table, c)]
            as_label = pl.Series(rng.random(n) < spec.labels)
            labelled = s.replace_strict(lab, default=None, return_dtype=pl.String)
            cols[c] = pl.select(pl.when(as_label).then(labelled).otherwise(s).fill_null("")).to_series()
        elif c == "registered_capital_cny":
            cols[c] = _money(s, spec.money)
        elif s.dtype in (pl.Float64, pl.Float32):
            cols[c] = s.round(2).cast(pl.String).fill_null("")
        elif s.dtype.is_integer():
            cols[c] = s.cast(pl.String).fill_null("")
        else:
            cols[c] = s.cast(pl.String).fill_null("")
        if c in ID_COLS and spec.messy_ids > 0:
            cols[c] = _messy_ids(cols[c], spec.messy_ids, rng)
    return pl.DataFrame(cols)


def _money(s: pl.Series, style: str) -> pl.Series:
    """Capital as written: in 万元, with thousands separators, or plain yuan."""
    if style == "wan":
        return (s / 10_000).round(2).cast(pl.String).str.replace(r"\.0$", "").fill_null("")
    if style == "grouped":
        v = s.fill_null(-1).cast(pl.Int64)
        return pl.Series([f"{x:,.2f}" if x >= 0 else "" for x in v.to_list()])
    return s.cast(pl.Int64).cast(pl.String).fill_null("")


def _messy_ids(col: pl.Series, share: float, rng: np.random.Generator) -> pl.Series:
    """IDs as HR systems export them on a share of rows: full-width digits, lower-case x, spaces."""
    n = len(col)
    pick = rng.random(n) < share
    how = rng.integers(0, 3, n)
    vals = col.to_list()
    for i in np.nonzero(pick)[0]:
        v = vals[i]
        if how[i] == 0:
            vals[i] = v.translate(FULLWIDTH)
        elif how[i] == 1 and v.endswith("X"):
            vals[i] = v[:-1] + "x"
        else:
            vals[i] = f"{v[:6]} {v[6:14]} {v[14:]}"
    return pl.Series(vals, dtype=pl.String)


def _write(fdf: pl.DataFrame, spec: FileSpec, out: Path, typed: pl.DataFrame | None = None) -> None:
    path = out / spec.name
    native = fdf["_native"].to_list() if "_native" in fdf.columns else None
    fdf = fdf.drop("_native", strict=False)
    zh = dict(ZH[spec.table])
    if spec.money == "wan" and "registered_capital_cny" in zh:
        zh["registered_capital_cny"] = WAN_HEADER
    headers = [zh[c] if spec.zh_headers else c for c in fdf.columns]
    if spec.fmt == "parquet":
        typed.write_parquet(path, compression="zstd", compression_level=1, statistics=False)
        return
    if spec.fmt == "csv":
        text = fdf.rename(dict(zip(fdf.columns, headers))).write_csv(line_terminator="\r\n" if spec.encoding == "gb18030" else "\n")
        data = text.encode("gb18030") if spec.encoding == "gb18030" else text.encode("utf-8")
        if spec.encoding == "utf-8-sig":
            data = b"\xef\xbb\xbf" + data
        path.write_bytes(data)
        return
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": dt.datetime(2026, 11, 16, 9, 0, 0), "author": "permits synthetic"})
    ws = wb.add_worksheet(spec.sheet)
    datef = wb.add_format({"num_format": "yyyy-mm-dd"})
    for j, h in enumerate(headers):
        ws.write_string(0, j, h)
    dcols = [j for j, c in enumerate(fdf.columns) if c in (typed.columns if typed is not None else []) and typed[c].dtype == pl.Date]
    numcols = {j for j, c in enumerate(fdf.columns) if c == "registered_capital_cny"}
    tvals = typed.rows() if typed is not None else None
    for i, row in enumerate(fdf.iter_rows()):
        for j, v in enumerate(row):
            if v == "":
                continue
            if native is not None and native[i] and j in dcols and tvals[i][j] is not None:
                ws.write_datetime(i + 1, j, dt.datetime.combine(tvals[i][j], dt.time()), datef)
            elif native is not None and native[i] and j in numcols:
                try:
                    ws.write_number(i + 1, j, float(v))
                except ValueError:
                    ws.write_string(i + 1, j, v)
            else:
                ws.write_string(i + 1, j, v)
    wb.close()


class Writer:
    """Lays out files, injects ingest defects, records the answer key and the counts."""

    def __init__(self, out: Path, rng: np.random.Generator, tables: dict[str, pl.DataFrame], scale: str):
        self.out, self.rng, self.t, self.scale = out, rng, tables, scale
        self.key: list[tuple[str, str]] = []
        self.files: dict[str, dict] = {}
        ids = set(tables["persons"]["id_number"].to_list()) | set(tables["dependents"]["id_number"].to_list())
        self.taken_ids = ids
        self.taken_usccs = set(tables["employers"]["uscc"].to_list())
        people_busy = set(tables["permits"].filter(pl.col("status") == "active")["id_number"].to_list()) | set(
            tables["applications"]["id_number"].to_list()) | set(tables["dependents"]["holder_id_number"].to_list())
        pool = [x for x in tables["employments"].filter(pl.col("left_on").is_null())["id_number"].unique().sort().to_list()
                if x not in people_busy]
        self.quiet_people = pool  # current employees without permits, applications or dependents
        self.qi = 0
        self.employer_list = tables["employers"]["uscc"].to_list()

    # --- fresh values for injected rows
    def quiet_person(self) -> str:
        p = self.quiet_people[self.qi % len(self.quiet_people)]
        self.qi += 1
        return p

    def new_id(self, birth="1990-05-17", male=True) -> str:
        for _ in range(1000):
            area = np.array([V.AREA_CODES[self.rng.integers(0, len(V.AREA_CODES))][0]])
            b = np.array([np.datetime64(birth) + np.timedelta64(int(self.rng.integers(0, 3000)), "D")])
            seq = np.array([int(self.rng.integers(0, 50)) * 10 + int(self.rng.integers(0, 5)) * 2 + int(male)])
            v = make_ric(area, b, seq)[0]
            if v not in self.taken_ids:
                self.taken_ids.add(v)
                return str(v)
        raise RuntimeError("no fresh id")

    def new_uscc(self) -> str:
        while True:
            v = str(make_usccs(self.rng, np.array([91]), np.array([110108]))[0])
            if v not in self.taken_usccs:
                self.taken_usccs.add(v)
                return v

    @staticmethod
    def bad_check(v: str, alphabet="0123456789X") -> str:
        c = v[-1]
        alt = [a for a in alphabet if a != c]
        return v[:-1] + alt[(ord(c) * 7) % len(alt)]

    # --- one file
    def emit(self, spec: FileSpec, df: pl.DataFrame, broken: list[tuple[str, dict]] | None = None, dups: int = 0,
             mutate=None, native_share: float = 0.8) -> None:
        rng = self.rng
        broken = broken or []
        if spec.fmt == "parquet":
            assert not broken and not dups, "parquet files carry only typed, valid rows"
            _write(df, spec, self.out, typed=df)
            self.files[spec.name] = {"table": spec.table, "rows": df.height, "loaded": df.height, "quarantined": 0, "collapsed": 0}
            return
        f = format_table(df, spec, rng)
        if mutate is not None:
            f = mutate(f)
        f = f.with_columns(_tag=pl.lit(None, dtype=pl.String), _pos=pl.Series(np.arange(f.height, dtype=float)))
        typed = df
        if spec.fmt == "xlsx":
            f = f.with_columns(_native=pl.Series(rng.random(f.height) < native_share))
        parts = [f]
        if dups:
            pick = np.sort(rng.choice(df.height, min(dups, df.height), replace=False))
            d = f[pick.tolist()].with_columns(_pos=pl.col("_pos") + 0.5)
            parts.append(d)
            typed = pl.concat([typed, typed[pick.tolist()]])
        if broken:
            rows = []
            for rule, vals in broken:
                r = {c: "" for c in df.columns}
                r.update({k: ("" if v is None else str(v)) for k, v in vals.items()})
                r["_tag"] = rule
                r["_pos"] = float(rng.integers(0, max(f.height, 1))) + 0.25
                if spec.fmt == "xlsx":
                    r["_native"] = False
                rows.append(r)
            b = pl.DataFrame(rows, schema=parts[0].schema)
            parts.append(b)
            typed = pl.concat([typed, pl.DataFrame([{c: None for c in df.columns}] * len(rows), schema=df.schema)])
        allf = pl.concat(parts)
        order = np.argsort(allf["_pos"].to_numpy(), kind="stable")
        allf = allf[order.tolist()]
        typed = typed[order.tolist()]
        tags = allf["_tag"].to_list()
        for i, tag in enumerate(tags):
            if tag:
                for rule in tag.split("|"):
                    self.key.append((rule, spec.key(i + 1)))
        n_q = sum(1 for t_ in tags if t_)
        _write(allf.drop([c for c in ("_tag", "_pos") if c in allf.columns]), spec, self.out, typed=typed)
        self.files[spec.name] = {"table": spec.table, "rows": allf.height, "loaded": allf.height - n_q - dups,
                                 "quarantined": n_q, "collapsed": dups}
