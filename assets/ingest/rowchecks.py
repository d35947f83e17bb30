"""Typing and row checks of one source (stage b of docs/ingest.md,
"Quarantine semantics"): every value cleaned and typed (vectorised, on
distinct values where few differ), then every failing check of a row as one
long frame (_rid, rule_id, column, value).
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from assets.ingest import idcheck
from assets.ingest.bind import Source, strict_column
from assets.ingest.findings import waivable_rule_ids
from core.contract import EMAIL_PATTERN, USCC_COLUMNS, Column, Table
from assets.ingest.normalize import (add_years, clean_text, parse_bool, parse_date, parse_enum, parse_integer,
                                     parse_money, parse_month)
from assets.ingest.textcodec import BAD_RE


def type_columns(df: pl.DataFrame, table: Table, as_of: dt.date) -> pl.DataFrame:
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
        strict = strict_column(c)
        bad = raw.str.contains(BAD_RE).fill_null(False)
        src = raw if strict else raw.str.replace_all(BAD_RE, "")
        v = idcheck.normalise_id(src) if (kind == "id_number" or c.name in USCC_COLUMNS) else clean_text(src)
        if strict:  # a control character makes the value invalid whatever the parser would make of the rest
            v = pl.when(bad).then(raw).otherwise(v)
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
        if strict and kind != "text":
            t = pl.when(bad).then(None).otherwise(t)
        ok = [(idcheck.any_id_valid(pl.col(f"t__{c.name}"), as_of) & ~bad).alias(f"ok__{c.name}")] \
            if kind == "id_number" else []
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
        df = df.with_columns((pl.col("ok__id_number") & idcheck.doc_valid(pl.col("t__id_number"),
                                                                         pl.col("t__id_type"), as_of))
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


def row_failures(df: pl.DataFrame, table: Table, as_of: dt.date) -> pl.DataFrame:
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
    if table.name == "employer_contacts":  # v2: an e-mail address when given (issue 18)
        v = pl.col("v__email")
        add("DQ-BAD-REF", v.is_not_null() & ~v.str.contains(EMAIL_PATTERN), "email", pl.col("email"))
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


FAIL_SCHEMA = {"_rid": pl.Int64, "rule_id": pl.String, "column": pl.String, "value": pl.String}


QINFO_COLUMNS = ["_rid", "_src", "_row", "_ncells", "_nheader", "_u", "_uok", "_i", "_iok"]


def quarantine_info(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    has_u, has_i = "uscc" in table.column_names, "id_number" in table.column_names
    return frame.select(
        "_rid", pl.col("_src").cast(pl.String), "_row", "_ncells", "_nheader",
        (pl.col("t__uscc") if has_u else pl.lit(None, pl.String)).alias("_u"),
        (idcheck.uscc_valid(pl.col("t__uscc")) if has_u else pl.lit(False)).alias("_uok"),
        (pl.col("t__id_number") if has_i else pl.lit(None, pl.String)).alias("_i"),
        (pl.col("ok__id_number") if has_i else pl.lit(False)).alias("_iok"))


def raw_json_of(frame: pl.DataFrame, s: Source) -> pl.DataFrame:
    """_rid -> the row's cells as written, keyed by the file's headers (JSON text)."""
    cols = [pl.col(c).alias(h) for c, h in s.headers.items()]
    return frame.select(pl.col("_rid"), pl.struct(cols).struct.json_encode().alias("raw"))


def pl_type(c: Column) -> pl.DataType:
    return {"date": pl.Date, "month": pl.Date, "bool": pl.Boolean, "money": pl.Float64,
            "integer": pl.Int64}.get(c.base_kind, pl.String)
