"""The bureau's marts: counts of active permits by dimension and district,
monthly flow, processing time, return reasons, findings by rule, the employer
ranking and the city KPIs. Static SQL lives in ``sql/``; the per-dimension
marts are generated from the label table (one block per dimension)."""
from __future__ import annotations

import duckdb

from assets.marts.prepare import build_one, document, rows
from core.labels import DIMENSIONS

AGE_BANDS = [(25, "under_25"), (30, "25_29"), (35, "30_34"), (40, "35_39"), (45, "40_44"), (50, "45_49"),
             (55, "50_54")]
XTABS = {"bureau_xtab_district_category": ("category", "category"),
         "bureau_xtab_district_degree": ("degree", "degree")}


def _age_band_sql(age: str) -> str:
    parts = " ".join(f"WHEN {age} < {lim} THEN '{code}'" for lim, code in AGE_BANDS)
    return f"CASE {parts} ELSE '55_plus' END"


def _active_holders_sql() -> str:
    return f"""SELECT p.permit_no, p.uscc, e.district, coalesce(e.category, 'other') AS category,
                      coalesce(pe.highest_degree, 'none') AS degree, coalesce(pe.title_level, 'none') AS title,
                      person_sex(pe.id_type, p.id_number, pe.gender) AS gender,
                      {_age_band_sql("age_years(person_birth_on(pe.id_type, p.id_number, pe.birth_date), as_of())")}
                          AS age_band
               FROM _active_permits p LEFT JOIN employers e USING (uscc) LEFT JOIN persons pe USING (id_number)"""


def build_bureau_permits_by_dimension(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    parts = []
    for dim, enum in DIMENSIONS.items():
        parts.append(f"""
        SELECT '{dim}' AS dimension, l.code, l.label_zh, l.label_en, coalesce(c.n, 0) AS permits,
               l.sort_order FROM (SELECT * FROM _labels WHERE enum = '{enum}') l
        LEFT JOIN (SELECT {dim} AS code, count(*) AS n FROM h GROUP BY {dim}) c USING (code)
        UNION ALL
        SELECT '{dim}', c.code, coalesce(c.code, '未知'), coalesce(c.code, 'unknown'), c.n, 999
        FROM (SELECT {dim} AS code, count(*) AS n FROM h GROUP BY {dim}) c
        WHERE c.code IS NULL OR c.code NOT IN (SELECT code FROM _labels WHERE enum = '{enum}')""")
    con.execute(f"""
    CREATE OR REPLACE TABLE bureau_permits_by_dimension AS
    WITH h AS ({_active_holders_sql()})
    SELECT as_of() AS as_of, dimension, code, label_zh, label_en, CAST(permits AS BIGINT) AS permits,
           CAST(sort_order AS INTEGER) AS sort_order
    FROM ({" UNION ALL ".join(parts)}) ORDER BY dimension, sort_order, code""")
    document(con, "bureau_permits_by_dimension")
    return rows(con, "bureau_permits_by_dimension")


def build_bureau_xtab(con: duckdb.DuckDBPyConnection, as_of, table: str) -> int:
    """District x <dimension> of active permits, long format, every combination."""
    col, enum = XTABS[table]
    con.execute(f"""
    CREATE OR REPLACE TABLE {table} AS
    WITH h AS ({_active_holders_sql()}),
    r AS (SELECT code, label_zh, sort_order FROM _labels WHERE enum = 'district'),
    c AS (SELECT code, label_zh, sort_order FROM _labels WHERE enum = '{enum}'),
    n AS (SELECT district, {col}, count(*) AS n FROM h GROUP BY district, {col})
    SELECT as_of() AS as_of, r.code AS row_code, r.label_zh AS row_label_zh, c.code AS col_code,
           c.label_zh AS col_label_zh, CAST(coalesce(n.n, 0) AS BIGINT) AS permits
    FROM r CROSS JOIN c LEFT JOIN n ON n.district = r.code AND n.{col} = c.code
    ORDER BY r.sort_order, c.sort_order""")
    document(con, table)
    return rows(con, table)


def build_bureau_findings_by_rule(con: duckdb.DuckDBPyConnection, as_of=None) -> int:
    have = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    source = "SELECT rule_id, title_zh, title_en FROM rules" if "rules" in have else \
        "SELECT NULL::VARCHAR AS rule_id, NULL::VARCHAR AS title_zh, NULL::VARCHAR AS title_en LIMIT 0"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rules AS {source}")
    return build_one(con, "bureau_findings_by_rule")


def _static(table: str):
    return lambda con, as_of=None: build_one(con, table)


BUREAU_BUILDERS = {
    "bureau_permits_by_dimension": build_bureau_permits_by_dimension,
    **{t: (lambda con, as_of=None, _t=t: build_bureau_xtab(con, as_of, _t)) for t in XTABS},
    "bureau_monthly_flow": _static("bureau_monthly_flow"),
    "bureau_processing_by_district": _static("bureau_processing_by_district"),
    "bureau_return_reasons": _static("bureau_return_reasons"),
    "bureau_findings_by_rule": build_bureau_findings_by_rule,
    "bureau_employer_ranking": _static("bureau_employer_ranking"),
    "bureau_kpis": _static("bureau_kpis"),
}
