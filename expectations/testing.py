"""Small contract-shaped warehouses for tests and benchmarks: the input
tables with the data contract's column names and types (as the ingest layer
writes them), filled from lists of dicts."""
from __future__ import annotations

import datetime as dt

from core.contract import TABLES

# the nine input tables exactly as the ingest layer types them (one schema: the contract module)
CONTRACT_TABLES: dict[str, dict[str, str]] = {
    t.name: {c.name: c.sql_type for c in t.columns} for t in TABLES.values()}


def create_contract_tables(con) -> None:
    for table, cols in CONTRACT_TABLES.items():
        con.execute(f"CREATE OR REPLACE TABLE {table} (" + ", ".join(f"{c} {t}" for c, t in cols.items()) + ")")


def _value(v):
    if isinstance(v, str) and len(v) == 10 and v[4] == "-" and v[7] == "-":
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return v
    return v


def fill(con, table: str, rows: list[dict]) -> None:
    cols = CONTRACT_TABLES[table]
    for r in rows:
        unknown = set(r) - set(cols)
        if unknown:
            raise KeyError(f"{table}: unknown column(s) {sorted(unknown)}")
    if rows:
        con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                        [[_value(r.get(c)) for c in cols] for r in rows])


def make_warehouse(con, **tables: list[dict]) -> None:
    create_contract_tables(con)
    for table, rows in tables.items():
        fill(con, table, rows)


def month_range(first: str, last: str) -> list[str]:
    """'2024-01' .. '2024-06' -> ['2024-01-01', ...] (inclusive)."""
    y, m = map(int, first.split("-"))
    ly, lm = map(int, last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}-01")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def contributions_for(id_number: str, first: str, last: str, kinds=("income_tax", "social_insurance"),
                      skip: dict | None = None, withholder_uscc: str | None = None,
                      withholder_name: str | None = None) -> list[dict]:
    """Monthly rows for every kind; ``skip = {'2024-03': ['social_insurance']}`` leaves some out."""
    skip = skip or {}
    rows = []
    for m in month_range(first, last):
        for k in kinds:
            if k in skip.get(m[:7], ()):
                continue
            rows.append({"id_number": id_number, "month": m, "kind": k, "amount_cny": 100,
                         "withholder_uscc": withholder_uscc, "withholder_name": withholder_name})
    return rows
