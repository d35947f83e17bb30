"""The server's own database: accounts, sessions, audit (`permits serve`) and the
notification ledger (`permits notify`).

SQLite file by default, PostgreSQL by URL. Each owner defines its tables with
SQLAlchemy Core on its own `MetaData` and creates them with
`metadata.create_all(engine)`; this module only turns what an operator typed
into an engine. Nothing here is written to the warehouse or the site.
"""

from pathlib import Path

import sqlalchemy as sa

DEFAULT_DB_PATH = Path("data") / "server.sqlite"


def database_url(db: str | None = None, default_path: Path = DEFAULT_DB_PATH) -> str:
    """The SQLAlchemy URL for `--db`: empty → the SQLite file `default_path`; a plain
    path → that SQLite file; `postgresql://…` / `postgres://…` → psycopg 3."""
    if not db:
        return f"sqlite:///{Path(default_path).resolve()}"
    for prefix in ("postgresql://", "postgres://"):
        if db.startswith(prefix):
            return "postgresql+psycopg://" + db[len(prefix):]
    if "://" not in db:
        return f"sqlite:///{Path(db).resolve()}"
    return db


def make_engine(db: str | None = None, default_path: Path = DEFAULT_DB_PATH) -> sa.Engine:
    """An engine for `db` (see `database_url`). SQLite gets its folder created, WAL,
    foreign keys and a busy timeout, so a server and a notify run can share the file."""
    url = sa.make_url(database_url(db, default_path))
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_con, _record):  # pragma: no cover - exercised by every SQLite use
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def redacted(db: str | None = None, default_path: Path = DEFAULT_DB_PATH) -> str:
    """The URL with any password hidden, for logs and messages."""
    return sa.make_url(database_url(db, default_path)).render_as_string(hide_password=True)
