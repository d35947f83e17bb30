"""Small contract-shaped warehouses for tests and benchmarks: the nine input
tables with the data contract's column names and types (as the ingest layer
writes them), filled from lists of dicts."""
from __future__ import annotations

import datetime as dt

CONTRACT_TABLES: dict[str, dict[str, str]] = {
    "employers": {"uscc": "VARCHAR", "name": "VARCHAR", "entity_type": "VARCHAR", "district": "VARCHAR",
                  "established_on": "DATE", "registered_capital_cny": "DECIMAL(18,2)", "category": "VARCHAR",
                  "account_opened_on": "DATE", "last_annual_inspection_on": "DATE", "name_changed_on": "DATE"},
    "persons": {"id_number": "VARCHAR", "name": "VARCHAR", "gender": "VARCHAR", "birth_date": "DATE",
                "highest_degree": "VARCHAR", "degree_study_mode": "VARCHAR", "graduation_date": "DATE",
                "title_level": "VARCHAR", "title_name": "VARCHAR", "special_talent": "BOOLEAN",
                "work_start_date": "DATE", "residence_address": "VARCHAR", "housing_type": "VARCHAR",
                "housing_proof": "BOOLEAN", "achievements": "VARCHAR", "photo_format": "VARCHAR",
                "photo_bytes": "BIGINT", "photo_width": "BIGINT", "photo_height": "BIGINT", "photo_sha256": "VARCHAR"},
    "employments": {"id_number": "VARCHAR", "uscc": "VARCHAR", "hired_on": "DATE", "contract_end_on": "DATE",
                    "left_on": "DATE"},
    "work_history": {"id_number": "VARCHAR", "start_on": "DATE", "end_on": "DATE", "organization": "VARCHAR",
                     "position": "VARCHAR", "note": "VARCHAR"},
    "education_history": {"id_number": "VARCHAR", "start_on": "DATE", "end_on": "DATE", "school": "VARCHAR",
                          "level": "VARCHAR", "study_mode": "VARCHAR", "note": "VARCHAR"},
    "contributions": {"id_number": "VARCHAR", "month": "DATE", "kind": "VARCHAR", "withholder_uscc": "VARCHAR",
                      "withholder_name": "VARCHAR", "amount_cny": "DECIMAL(18,2)"},
    "dependents": {"holder_id_number": "VARCHAR", "id_number": "VARCHAR", "relation": "VARCHAR", "name": "VARCHAR",
                   "marriage_certificate": "BOOLEAN", "student_status_proof": "BOOLEAN"},
    "permits": {"permit_no": "VARCHAR", "id_number": "VARCHAR", "uscc": "VARCHAR", "issued_on": "DATE",
                "expires_on": "DATE", "status": "VARCHAR", "cancelled_on": "DATE", "deferred_on": "DATE",
                "last_inspection_on": "DATE", "photo_sha256": "VARCHAR"},
    "applications": {"application_id": "VARCHAR", "type": "VARCHAR", "id_number": "VARCHAR", "uscc": "VARCHAR",
                     "permit_no": "VARCHAR", "submitted_on": "DATE", "employer_submitted_on": "DATE",
                     "window_submitted_on": "DATE", "decided_on": "DATE", "status": "VARCHAR",
                     "return_reason": "VARCHAR", "photo_sha256": "VARCHAR"},
}


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
                      skip: dict | None = None) -> list[dict]:
    """Monthly rows for every kind; ``skip = {'2024-03': ['social_insurance']}`` leaves some out."""
    skip = skip or {}
    rows = []
    for m in month_range(first, last):
        for k in kinds:
            if k in skip.get(m[:7], ()):
                continue
            rows.append({"id_number": id_number, "month": m, "kind": k, "amount_cny": 100})
    return rows
