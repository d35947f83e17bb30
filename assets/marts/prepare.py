"""What every mart needs on its connection, from the layers below.

``prepare`` loads the policy with the one loader, runs the rule book's own
preparation (``expectations.engine.prepare``: the shared SQL views and macros
of ``expectations/preamble.sql`` — add_months, mask_id, the renewal window of
each permit, the working-day calendar read from the one calendar file, the
policy variant of each employer; not the tables only rules read: contribution
coverage, persons' derived fields) and adds the label lookup. Marts never define
a date, masking or rule formula of their own: they read the rule facts, the
findings and these shared views.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from assets.marts.comments import MART_DOCS
from assets.warehouse import comment_table, ensure_findings_tables, sql_str
from core.labels import label_frame
from core.policy import Policy, load_policy
from expectations.engine import prepare as prepare_rulebook
from expectations.engine import ensure_input_tables

SQL_DIR = Path(__file__).resolve().parent / "sql"


def prepare(con: duckdb.DuckDBPyConnection, as_of: dt.date, policy_path: Path | Policy) -> Policy:
    """The rule book's TEMP views/macros plus ``_labels`` and ``lab(enum, code)``;
    returns the policy."""
    policy = policy_path if isinstance(policy_path, Policy) else load_policy(Path(policy_path))
    ensure_findings_tables(con)
    ensure_input_tables(con)
    # not the tables only rules read (contribution coverage, persons' derived fields): the
    # rule step judged the candidates (candidate_checks); build_candidates adds them when it
    # must judge the candidates itself
    prepare_rulebook(con, as_of, policy, rule_tables=False)
    lab = label_frame()
    con.register("_labels_df", lab.to_arrow())
    con.execute("CREATE OR REPLACE TEMP TABLE _labels AS SELECT * FROM _labels_df")
    con.unregister("_labels_df")
    # label lookup as a constant MAP (a per-row scalar subquery is slow at city scale)
    entries = ", ".join(f"{sql_str(r['enum'] + ':' + r['code'])}: {sql_str(r['label_zh'])}"
                        for r in lab.iter_rows(named=True))
    con.execute(f"CREATE OR REPLACE TEMP MACRO lab(e, c) AS coalesce(MAP {{{entries}}}[e || ':' || c], c)")
    run_sql(con, "macros")
    return policy


def run_sql(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run ``sql/<name>.sql`` (values come from as_of() and the TEMP tables)."""
    con.execute((SQL_DIR / f"{name}.sql").read_text(encoding="utf-8"))


def document(con: duckdb.DuckDBPyConnection, table: str, extra: dict[str, str] | None = None) -> None:
    comment, cols = MART_DOCS[table]
    cols = {**cols, **(extra or {})}
    actual = [r[0] for r in con.sql(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}' "
                                    "AND database_name = current_database() AND schema_name = 'main' "
                                    "ORDER BY column_index").fetchall()]
    missing = [c for c in actual if c not in cols]
    if missing:
        raise RuntimeError(f"mart {table}: no comment for column(s) {', '.join(missing)}")
    comment_table(con, table, comment, {c: cols[c] for c in actual})


def rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def build_one(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """A mart that is one SQL file: run, document, count."""
    run_sql(con, table)
    document(con, table)
    return rows(con, table)
