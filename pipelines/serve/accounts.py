"""Accounts: users and roles, Argon2id passwords (argon2-cffi), one-time
activation codes (stored as SHA-256: see ``hash_code``), lockout after failed logins, server-side
sessions. No password or code is ever logged or stored in clear."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipelines.serve.db import lockouts, sessions, users, utcnow

ROLES = ("bureau", "district", "employer")
USCC_RE = re.compile(r"^[0-9A-Z]{18}$")
NAME_RE = re.compile(r"^[^\s/\\:]{1,200}$")
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCK_MINUTES = 15
ACTIVATION_DAYS = 30
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I

_hasher = PasswordHasher()                     # RFC 9106 low-memory profile (Argon2id)
_DUMMY_HASH = _hasher.hash("not a password: equalises the time of unknown users")


class AccountError(ValueError):
    """A clear, user-facing error (names the user or the file and row)."""


@dataclass(frozen=True)
class User:
    name_key: str
    username: str
    role: str
    scope: Optional[str]
    display_name: Optional[str] = None
    disabled: bool = False
    has_password: bool = False
    pending_activation: bool = False


def key(username: str) -> str:
    return username.strip().casefold()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored: Optional[str], secret: str) -> bool:
    """Argon2 verification; a missing hash still costs one verification."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, secret) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_code(code: str) -> str:
    """Activation codes are 80-bit random strings, not chosen by people: a salted
    slow hash adds nothing against guessing 2^80 values, and SHA-256 keeps
    `users import` of 50,000 employers at seconds instead of ~50 CPU-minutes
    of Argon2. Online guessing is bounded by the lockout."""
    return "sha256$" + hashlib.sha256(_norm_code(code).encode()).hexdigest()


def verify_code(stored: Optional[str], code: str) -> bool:
    return bool(stored) and hmac.compare_digest(stored.encode(), hash_code(code).encode())


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def _norm_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def _row_user(r) -> User:
    return User(r.name_key, r.username, r.role, r.scope, r.display_name, bool(r.disabled),
                r.password_hash is not None, r.activation_hash is not None)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符 / the password needs at least {MIN_PASSWORD} characters")


def _validate(username: str, role: str, scope: Optional[str]) -> Optional[str]:
    if not NAME_RE.match(username.strip()):
        raise AccountError(f"invalid user name {username!r} (1-200 characters, no spaces, '/', '\\' or ':')")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "employer":
        scope = (scope or username).strip().upper()
        if not USCC_RE.match(scope):
            raise AccountError(f"employer account {username!r}: {scope!r} is not an 18-character USCC")
        return scope
    if role == "district":
        from reports.site.labels import ENUMS

        if scope not in ENUMS["district"]:
            raise AccountError(f"district account {username!r}: district must be one of "
                               f"{', '.join(ENUMS['district'])}, not {scope!r}")
        return scope
    return None


def get_user(engine: sa.Engine, username: str) -> Optional[User]:
    with engine.connect() as c:
        r = c.execute(sa.select(users).where(users.c.name_key == key(username))).first()
    return _row_user(r) if r else None


def add_user(engine: sa.Engine, username: str, role: str, scope: Optional[str] = None, *,
             password: Optional[str] = None, display_name: Optional[str] = None, email: Optional[str] = None,
             sso_only: bool = False, conn: Optional[sa.Connection] = None) -> Optional[str]:
    """Create an account. With ``password`` it is active at once; with
    ``sso_only`` it can only sign in through the trusted header; otherwise a
    one-time activation code is returned (shown once, stored hashed)."""
    scope = _validate(username, role, scope)
    if password is not None:
        check_password_rules(password)
    now = utcnow()
    code = None if (password is not None or sso_only) else new_code()
    row = dict(name_key=key(username), username=username.strip(), role=role, scope=scope,
               display_name=display_name, email=email, disabled=False, created_at=now, updated_at=now,
               password_hash=hash_secret(password) if password is not None else None,
               activation_hash=hash_code(code) if code else None,
               activation_expires=now + dt.timedelta(days=ACTIVATION_DAYS) if code else None)

    def _insert(c):
        if c.execute(sa.select(users.c.name_key).where(users.c.name_key == row["name_key"])).first():
            raise AccountError(f"user {username!r} already exists")
        c.execute(users.insert().values(**row))

    if conn is not None:
        _insert(conn)
    else:
        with engine.begin() as c:
            _insert(c)
    return code


def import_employers(engine: sa.Engine, csv_path: Path) -> list[dict]:
    """One employer account per CSV row (uscc, contact name, e-mail; English or
    Chinese headers), each with a one-time activation code. All rows are checked
    before any is written; an error names the file and row. Returns the rows
    with their codes, for distribution."""
    aliases = {"uscc": "uscc", "统一社会信用代码": "uscc", "contact_name": "contact", "contact": "contact",
               "name": "contact", "联系人": "contact", "email": "email", "e-mail": "email", "邮箱": "email",
               "电子邮箱": "email"}
    text = Path(csv_path).read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    cols = {h: aliases.get((h or "").strip().lower()) for h in (reader.fieldnames or [])}
    if "uscc" not in cols.values():
        raise AccountError(f"{csv_path}: no uscc column (header: {reader.fieldnames})")
    rows, seen = [], set()
    with engine.connect() as c:
        existing = {r[0] for r in c.execute(sa.select(users.c.name_key))}
    for i, raw in enumerate(reader, start=2):
        rec = {cols[h]: (v or "").strip() for h, v in raw.items() if cols.get(h)}
        uscc = rec.get("uscc", "").upper()
        if not USCC_RE.match(uscc):
            raise AccountError(f"{csv_path}, row {i}, column uscc: {uscc!r} is not an 18-character USCC")
        email = rec.get("email") or None
        if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            raise AccountError(f"{csv_path}, row {i}, column email: {email!r} is not an e-mail address")
        if key(uscc) in seen or key(uscc) in existing:
            raise AccountError(f"{csv_path}, row {i}, column uscc: {uscc} already has an account")
        seen.add(key(uscc))
        rows.append({"uscc": uscc, "contact": rec.get("contact") or None, "email": email})
    with engine.begin() as c:
        for r in rows:
            r["code"] = add_user(engine, r["uscc"], "employer", r["uscc"], display_name=r["contact"],
                                 email=r["email"], conn=c)
    return rows


def list_users(engine: sa.Engine) -> list[User]:
    with engine.connect() as c:
        return [_row_user(r) for r in c.execute(sa.select(users).order_by(users.c.role, users.c.name_key))]


def _require(c: sa.Connection, username: str):
    r = c.execute(sa.select(users).where(users.c.name_key == key(username))).first()
    if r is None:
        raise AccountError(f"no user {username!r}")
    return r


def set_disabled(engine: sa.Engine, username: str, disabled: bool = True) -> None:
    with engine.begin() as c:
        _require(c, username)
        c.execute(users.update().where(users.c.name_key == key(username))
                  .values(disabled=disabled, updated_at=utcnow()))
        if disabled:
            c.execute(sessions.delete().where(sessions.c.name_key == key(username)))


def reset_user(engine: sa.Engine, username: str) -> str:
    """Clear the password, end every session, and issue a new one-time code."""
    code = new_code()
    now = utcnow()
    with engine.begin() as c:
        _require(c, username)
        c.execute(users.update().where(users.c.name_key == key(username)).values(
            password_hash=None, activation_hash=hash_code(code),
            activation_expires=now + dt.timedelta(days=ACTIVATION_DAYS), updated_at=now))
        c.execute(sessions.delete().where(sessions.c.name_key == key(username)))
    clear_failures(engine, "user", key(username))
    return code


def authenticate(engine: sa.Engine, username: str, password: str) -> Optional[User]:
    """The user when the password is right and the account is usable, else None
    (the same answer for unknown, disabled and wrong: nothing to enumerate)."""
    with engine.connect() as c:
        r = c.execute(sa.select(users).where(users.c.name_key == key(username))).first()
    ok = verify_secret(r.password_hash if r is not None else None, password)
    if not ok or r is None or r.disabled:
        return None
    return _row_user(r)


def activate(engine: sa.Engine, username: str, code: str, new_password: str) -> Optional[User]:
    """Use a one-time code to set the password. The code is cleared in the same
    statement that checks it is still the one verified: it works once."""
    check_password_rules(new_password)
    with engine.connect() as c:
        r = c.execute(sa.select(users).where(users.c.name_key == key(username))).first()
    stored = r.activation_hash if r is not None else None
    if not verify_code(stored, code) or r is None or r.disabled:
        return None
    if r.activation_expires is not None and r.activation_expires < utcnow():
        return None
    with engine.begin() as c:
        n = c.execute(users.update().where(sa.and_(users.c.name_key == r.name_key,
                                                   users.c.activation_hash == stored))
                      .values(activation_hash=None, activation_expires=None,
                              password_hash=hash_secret(new_password), updated_at=utcnow())).rowcount
    return get_user(engine, username) if n == 1 else None


def change_password(engine: sa.Engine, username: str, current: str, new_password: str) -> bool:
    check_password_rules(new_password)
    if authenticate(engine, username, current) is None:
        return False
    with engine.begin() as c:
        c.execute(users.update().where(users.c.name_key == key(username))
                  .values(password_hash=hash_secret(new_password), updated_at=utcnow()))
    return True


# ------------------------------------------------------------------ lockout

def locked_until(engine: sa.Engine, kind: str, k: str) -> Optional[dt.datetime]:
    with engine.connect() as c:
        r = c.execute(sa.select(lockouts.c.locked_until).where(
            sa.and_(lockouts.c.kind == kind, lockouts.c.key == k))).first()
    return r[0] if r and r[0] and r[0] > utcnow() else None


def record_failure(engine: sa.Engine, kind: str, k: str) -> Optional[dt.datetime]:
    """Count a failed attempt; the 5th within 15 minutes locks the key for 15
    minutes (attempts while locked are refused before this is called)."""
    now = utcnow()
    window = dt.timedelta(minutes=LOCK_MINUTES)
    with engine.begin() as c:
        r = c.execute(sa.select(lockouts).where(sa.and_(lockouts.c.kind == kind, lockouts.c.key == k))
                      .with_for_update()).first()
        if r is None or r.window_start < now - window:
            failures, start = 1, now
        else:
            failures, start = r.failures + 1, r.window_start
        until = now + window if failures >= MAX_FAILURES else None
        vals = dict(failures=0 if until else failures, window_start=now if until else start, locked_until=until)
        if r is None:
            c.execute(lockouts.insert().values(kind=kind, key=k, **vals))
        else:
            c.execute(lockouts.update().where(sa.and_(lockouts.c.kind == kind, lockouts.c.key == k)).values(**vals))
    return until


def clear_failures(engine: sa.Engine, kind: str, k: str) -> None:
    with engine.begin() as c:
        c.execute(lockouts.delete().where(sa.and_(lockouts.c.kind == kind, lockouts.c.key == k)))


# ------------------------------------------------------------------ sessions

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(engine: sa.Engine, user: User, source: str, via: str = "password",
                   hours: float = 12.0) -> tuple[str, str]:
    """A new session: returns (cookie token, CSRF token); only the token's hash is stored."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    with engine.begin() as c:
        c.execute(sessions.delete().where(sessions.c.expires_at < now))
        c.execute(sessions.insert().values(token_hash=token_hash(token), name_key=user.name_key, csrf=csrf,
                                           via=via, source=source[:64], created_at=now,
                                           expires_at=now + dt.timedelta(hours=hours)))
    return token, csrf


def session_user(engine: sa.Engine, token: str) -> Optional[tuple[User, str, str]]:
    """(user, csrf token, via) of a live session of an enabled user, else None."""
    if not token or len(token) > 100:
        return None
    q = (sa.select(users, sessions.c.csrf, sessions.c.via, sessions.c.expires_at)
         .join(sessions, sessions.c.name_key == users.c.name_key)
         .where(sessions.c.token_hash == token_hash(token)))
    with engine.connect() as c:
        r = c.execute(q).first()
    if r is None or r.disabled or r.expires_at < utcnow():
        return None
    return _row_user(r), r.csrf, r.via


def end_session(engine: sa.Engine, token: str) -> None:
    with engine.begin() as c:
        c.execute(sessions.delete().where(sessions.c.token_hash == token_hash(token)))


def iter_codes_csv(rows: Iterable[dict]) -> str:
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["uscc", "contact_name", "email", "activation_code"])
    for r in rows:
        w.writerow([r["uscc"], r.get("contact") or "", r.get("email") or "", r["code"]])
    return buf.getvalue()
