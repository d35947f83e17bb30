"""The server's own tables (accounts, sessions, lockout counters, audit), on
their own MetaData in the database of ``core.serverdb`` — never in the
warehouse or the site. Times are naive UTC."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.serverdb import make_engine

metadata = sa.MetaData()

users = sa.Table(
    "serve_users", metadata,
    sa.Column("name_key", sa.String(200), primary_key=True),       # username.casefold(): names are case-insensitive
    sa.Column("username", sa.String(200), nullable=False),          # as first written
    sa.Column("role", sa.String(16), nullable=False),               # bureau | district | employer
    sa.Column("scope", sa.String(64)),                              # employer: USCC; district: district code
    sa.Column("display_name", sa.String(200)),
    sa.Column("email", sa.String(320)),
    sa.Column("password_hash", sa.Text),                            # Argon2id; NULL until activated
    sa.Column("activation_hash", sa.Text),                          # SHA-256 of the one-time code; NULL once used
    sa.Column("activation_expires", sa.DateTime),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

sessions = sa.Table(
    "serve_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),       # sha256 of the cookie value (never the value)
    sa.Column("name_key", sa.String(200), sa.ForeignKey("serve_users.name_key", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("via", sa.String(16), nullable=False),                # password | sso
    sa.Column("source", sa.String(64)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

lockouts = sa.Table(
    "serve_lockouts", metadata,
    sa.Column("kind", sa.String(8), primary_key=True),              # user | addr
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", sa.DateTime, nullable=False),
    sa.Column("locked_until", sa.DateTime),
)

audit = sa.Table(
    "serve_audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("username", sa.String(200), index=True),
    sa.Column("role", sa.String(16)),
    sa.Column("event", sa.String(24), nullable=False),               # login | login_failed | login_locked | logout | …
    sa.Column("path", sa.Text),
    sa.Column("status", sa.Integer),
    sa.Column("source", sa.String(64)),
    sa.Column("detail", sa.Text),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def open_db(db: str | None = None) -> sa.Engine:
    """The engine for ``--db`` with the server's tables created when missing."""
    engine = make_engine(db)
    metadata.create_all(engine)
    return engine
