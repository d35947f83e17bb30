"""The SQL forms of the core helpers, created on a DuckDB connection as TEMP
macros (the rule book's preparation calls this before its preamble)."""
from __future__ import annotations

from core.dates import ADD_MONTHS_SQL
from core.masking import MASK_ID_SQL


def sql_str(s) -> str:
    """A SQL string literal (for identifiers-as-text and constant maps; values
    go in as bound parameters)."""
    return "'" + str(s).replace("'", "''") + "'"


def create_macros(con) -> None:
    con.execute(ADD_MONTHS_SQL)
    con.execute(MASK_ID_SQL)
