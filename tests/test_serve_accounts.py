"""Accounts, sessions, CSRF, lockout and audit (issue 17, items 3, 5, 6),
each test run on SQLite and on the tests' own PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from serve_helpers import PASSWORD, csrf_of, db_url, login, logout, make_client, site_info  # noqa: F401

from pipelines.serve import accounts as A
from pipelines.serve.audit import query
from pipelines.serve.db import audit, lockouts, open_db, sessions, users


def _activate(c, username, code, new, confirm=None):
    page = c.get("/activate")
    return c.post("/activate", data={"username": username, "code": code, "new_password": new,
                                     "confirm": confirm or new, "csrf": csrf_of(page.text)}, follow_redirects=False)


def test_import_gives_one_time_codes_stored_hashed(db_url, site_info, tmp_path):
    u1, u2 = site_info["usccs"][:2]
    csv_file = tmp_path / "employers.csv"
    csv_file.write_text(f"统一社会信用代码,联系人,邮箱\n{u1},张三,hr@a.example.cn\n{u2.lower()},李四,\n",
                        encoding="utf-8-sig")
    client, srv = make_client(site_info["site"], db_url)
    rows = A.import_employers(srv.engine, csv_file)
    assert [r["uscc"] for r in rows] == [u1, u2] and all(len(r["code"]) == 19 for r in rows)
    with srv.engine.connect() as c:
        stored = c.execute(sa.select(users)).mappings().all()
    flat = repr(stored)
    for r in rows:  # the code is not in the database, only its Argon2 hash
        assert r["code"] not in flat and r["code"].replace("-", "") not in flat
    assert all(s["activation_hash"].startswith("sha256$") and s["password_hash"] is None for s in stored)
    with client:
        assert login(client, u1, "whatever-password").status_code == 401        # not active yet
        assert _activate(client, u1, rows[0]["code"], "short").status_code == 400
        r = _activate(client, u1, rows[0]["code"].lower(), "a new password 1")
        assert r.status_code == 303 and r.headers["location"] == f"/employers/{u1}/"
        assert client.get(r.headers["location"]).status_code == 200
        client.cookies.clear()
        assert _activate(client, u1, rows[0]["code"], "another password").status_code == 401   # one time
        assert _activate(client, u2, rows[0]["code"], "another password").status_code == 401   # not u2's code
        assert login(client, u1, "a new password 1").status_code == 303
    with pytest.raises(A.AccountError, match="row 2, column uscc"):
        A.import_employers(srv.engine, csv_file)          # already there: named by file and row
    bad = tmp_path / "bad.csv"
    bad.write_text("uscc,contact_name,email\n91110000TOOSHORT,x,\n", encoding="utf-8")
    with pytest.raises(A.AccountError, match=r"bad\.csv, row 2, column uscc"):
        A.import_employers(srv.engine, bad)


def test_login_logout_sessions_and_cookies(db_url, site_info):
    u = site_info["usccs"][0]
    client, srv = make_client(site_info["site"], db_url)
    A.add_user(srv.engine, u, "employer", password=PASSWORD)
    with client:
        r = login(client, u.lower(), next=f"/employers/{u}/todo.xlsx")  # names are case-insensitive
        assert r.status_code == 303 and r.headers["location"] == f"/employers/{u}/todo.xlsx"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        token = client.cookies["permits_session"]
        with srv.engine.connect() as c:   # only the token's hash is stored
            assert c.execute(sa.select(sa.func.count()).select_from(sessions)
                             .where(sessions.c.token_hash == token)).scalar() == 0
            assert c.execute(sa.select(sa.func.count()).select_from(sessions)
                             .where(sessions.c.token_hash == A.token_hash(token))).scalar() == 1
        page = client.get(f"/employers/{u}/")
        assert page.status_code == 200 and 'id="logout-button"' in page.text
        assert client.post("/logout", data={"csrf": "forged"}).status_code == 403    # CSRF
        assert client.get(f"/employers/{u}/").status_code == 200
        r = logout(client, page.text)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        client.cookies.set("permits_session", token)          # the old cookie is dead on the server
        assert client.get(f"/employers/{u}/", follow_redirects=False).status_code == 303
        # an open redirect is refused
        for evil in ("//evil.example/x", "/\\evil.example", "/\t/evil.example", "https://evil.example/"):
            client.cookies.clear()
            assert login(client, u, next=evil).headers["location"] == f"/employers/{u}/", evil


def test_login_form_needs_its_csrf_token(db_url, site_info):
    client, srv = make_client(site_info["site"], db_url)
    A.add_user(srv.engine, "bureau1", "bureau", password=PASSWORD)
    with client:
        client.get("/login")
        r = client.post("/login", data={"username": "bureau1", "password": PASSWORD, "csrf": "x" * 43})
        assert r.status_code == 403
        client.cookies.clear()    # no cookie at all (a cross-site form post)
        r = client.post("/login", data={"username": "bureau1", "password": PASSWORD, "csrf": "x" * 43})
        assert r.status_code == 403
        page = client.get("/login")
        assert client.post("/activate", data={"username": "bureau1", "code": "x", "new_password": "0123456789a",
                                              "confirm": "0123456789a", "csrf": "y" * 43}).status_code == 403
        assert "permits_session" not in client.cookies
        assert login(client, "bureau1").status_code == 303
        pw = client.get("/password")
        assert client.post("/password", data={"current": PASSWORD, "new_password": "0123456789ab",
                                              "confirm": "0123456789ab", "csrf": "forged"}).status_code == 403
        r = client.post("/password", data={"current": PASSWORD, "new_password": "0123456789ab",
                                           "confirm": "0123456789ab", "csrf": csrf_of(pw.text)})
        assert r.status_code == 200 and A.authenticate(srv.engine, "bureau1", "0123456789ab")
        del page


def test_five_failures_lock_the_account_and_the_address_for_15_minutes(db_url, site_info):
    client, srv = make_client(site_info["site"], db_url, client=("10.9.9.9", 1))
    A.add_user(srv.engine, "bureau1", "bureau", password=PASSWORD)
    A.add_user(srv.engine, "bureau2", "bureau", password=PASSWORD)
    with client:
        for i in range(4):
            assert login(client, "bureau1", "wrong password!").status_code == 401
        r = login(client, "bureau1", "wrong password!")
        assert r.status_code == 429 and "15" in r.text
        # the right password is refused while locked, and so is another account from this address
        assert login(client, "bureau1").status_code == 429
        assert login(client, "bureau2").status_code == 429
    # from another address: bureau1 (account locked) no, bureau2 yes
    other, _ = make_client(site_info["site"], db_url, client=("10.9.9.10", 1))
    with other:
        assert login(other, "bureau1").status_code == 429
        assert login(other, "bureau2").status_code == 303
    # 15 minutes later (moved back in the database) both are free again
    with srv.engine.begin() as c:
        c.execute(lockouts.update().values(locked_until=A.utcnow() - dt.timedelta(seconds=1)))
    with client:
        assert login(client, "bureau1").status_code == 303
    # failures spread over more than 15 minutes do not add up
    for _ in range(4):
        A.record_failure(srv.engine, "user", "bureau2")
    with srv.engine.begin() as c:
        c.execute(lockouts.update().where(lockouts.c.key == "bureau2")
                  .values(window_start=A.utcnow() - dt.timedelta(minutes=16)))
    assert A.record_failure(srv.engine, "user", "bureau2") is None
    assert A.record_failure(srv.engine, "user", "unknown-user") is None


def test_disable_reset_and_list(db_url, site_info):
    u = site_info["usccs"][0]
    client, srv = make_client(site_info["site"], db_url, session_cache_seconds=0)
    A.add_user(srv.engine, u, "employer", password=PASSWORD)
    with client:
        assert login(client, u).status_code == 303
        A.set_disabled(srv.engine, u)
        assert client.get(f"/employers/{u}/", follow_redirects=False).status_code == 303   # session ended
        assert login(client, u).status_code == 401
        A.set_disabled(srv.engine, u, False)
        assert login(client, u).status_code == 303
        code = A.reset_user(srv.engine, u)
        assert client.get(f"/employers/{u}/", follow_redirects=False).status_code == 303
        assert login(client, u).status_code == 401                        # the old password is gone
        assert _activate(client, u, code, "brand new password").status_code == 303
    listed = {x.username: x for x in A.list_users(srv.engine)}
    assert listed[u].has_password and not listed[u].disabled and not listed[u].pending_activation
    with pytest.raises(A.AccountError):
        A.add_user(srv.engine, u.lower(), "employer", password=PASSWORD)   # same name, other case
    with pytest.raises(A.AccountError, match="district"):
        A.add_user(srv.engine, "d1", "district", "atlantis", password=PASSWORD)
    with pytest.raises(A.AccountError, match="USCC"):
        A.add_user(srv.engine, "e1", "employer", password=PASSWORD)


def test_audit_records_who_what_when_where_and_survives_a_restart(db_url, site_info):
    u, other = site_info["usccs"][:2]
    client, srv = make_client(site_info["site"], db_url, client=("10.1.2.3", 5))
    A.add_user(srv.engine, u, "employer", password=PASSWORD, display_name="张三")
    t0 = A.utcnow()
    with client:   # the app's lifespan runs: the write-behind queue is drained when it stops
        login(client, u, "wrong password!")
        login(client, u)
        page = client.get(f"/employers/{u}/")
        client.get(f"/employers/{u}/todo.xlsx")
        client.get(f"/employers/{other}/todo.xlsx")
        client.get("/assets/site.js")
        logout(client, page.text)
    srv.engine.dispose()
    engine = open_db(db_url)       # a new process would see the same
    rows = query(engine, user=u.lower())
    events = [(r["event"], r["path"], r["status"]) for r in rows]
    assert events == [("login_failed", None, 401), ("login", None, None),
                      ("page_view", f"/employers/{u}/", 200), ("download", f"/employers/{u}/todo.xlsx", 200),
                      ("denied", f"/employers/{other}/todo.xlsx", 404), ("logout", None, None)]
    assert all(r["source"] == "10.1.2.3" and r["at"] >= t0 - dt.timedelta(seconds=1) for r in rows)
    assert [r["role"] for r in rows][1:] == ["employer"] * 5
    assert query(engine, user=u, since=A.utcnow() + dt.timedelta(minutes=1)) == []
    with engine.connect() as c:   # no password in the audit or anywhere in the server's tables
        dump = repr(c.execute(sa.select(audit)).all()) + repr(c.execute(sa.select(users)).all())
    assert PASSWORD not in dump and "wrong password!" not in dump
    engine.dispose()


def test_cli_users_and_audit(db_url, site_info, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    u1, u2 = site_info["usccs"][:2]
    runner = CliRunner()
    csv_file = tmp_path / "e.csv"
    csv_file.write_text(f"uscc,contact_name,email\n{u1},Zhang San,a@b.cn\n{u2},Li Si,c@d.cn\n", encoding="utf-8")
    out = tmp_path / "codes.csv"
    r = runner.invoke(app, ["users", "import", str(csv_file), "--out", str(out), "--db", db_url])
    assert r.exit_code == 0, r.output
    assert (out.stat().st_mode & 0o777) == 0o600
    codes = out.read_text(encoding="utf-8-sig").splitlines()
    assert codes[0] == "uscc,contact_name,email,activation_code" and len(codes) == 3
    assert codes[1].split(",")[-1] not in r.output                      # the codes are not printed
    r = runner.invoke(app, ["users", "add", "boss", "--role", "bureau", "--password-stdin", "--db", db_url],
                      input="a long bureau password\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add", "hd", "--role", "district", "--district", "haidian", "--db", db_url])
    assert r.exit_code == 0 and "activation code" in r.output
    r = runner.invoke(app, ["users", "disable", u2, "--db", db_url])
    assert r.exit_code == 0
    r = runner.invoke(app, ["users", "list", "--format", "csv", "--db", db_url])
    assert r.exit_code == 0
    assert f"{u2},employer,{u2},Li Si,disabled" in r.output and "hd,district,haidian,,pending activation" in r.output
    for word in ("boss", "bureau", "hd", "haidian", u1, "pending activation", "disabled", "active"):
        assert word in r.output, word
    assert "argon2" not in r.output
    r = runner.invoke(app, ["users", "reset", "nobody", "--db", db_url])
    assert r.exit_code == 2 and "no user" in r.output
    engine = open_db(db_url)
    from pipelines.serve.audit import AuditLog

    log = AuditLog(engine)
    log.record("page_view", username=u1, role="employer", path=f"/employers/{u1}/", status=200, source="10.0.0.1")
    log.record("login", username="boss", role="bureau", source="10.0.0.2")
    engine.dispose()
    r = runner.invoke(app, ["audit", "--user", u1, "--since", "1h", "--format", "csv", "--db", db_url])
    assert r.exit_code == 0
    lines = r.output.strip().splitlines()
    assert lines[0].startswith("at,username,role,event") and len(lines) == 2 and f"/employers/{u1}/" in lines[1]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    r = runner.invoke(app, ["audit", "--since", today, "--format", "json", "--db", db_url])
    assert r.exit_code == 0 and '"boss"' in r.output and u1 in r.output
    r = runner.invoke(app, ["audit", "--limit", "1", "--format", "csv", "--db", db_url])
    assert r.exit_code == 0 and len(r.output.strip().splitlines()) == 2 and ",boss," in r.output   # the latest
    r = runner.invoke(app, ["audit", "--since", "2999-01-01", "--format", "json", "--db", db_url])
    assert r.exit_code == 0 and r.output.strip() == "[]"
    r = runner.invoke(app, ["audit", "--since", "yesterday", "--db", db_url])
    assert r.exit_code == 2


def test_a_session_ended_elsewhere_stops_working_within_the_cache_time(site_info, tmp_path, monkeypatch):
    import time

    from types import SimpleNamespace

    from pipelines.serve import app as serve_app

    u = site_info["usccs"][0]
    db = str(tmp_path / "server.sqlite")
    client, srv = make_client(site_info["site"], db, session_cache_seconds=1.0)
    A.add_user(srv.engine, u, "employer", password=PASSWORD)
    with client:
        assert login(client, u).status_code == 303
        assert client.get(f"/employers/{u}/").status_code == 200
        A.set_disabled(open_db(db), u)              # as `permits users disable` does from another process
        # the cache time passes: the server's clock (only its) moves 1.1 s on, no wall-clock sleep
        monkeypatch.setattr(serve_app, "time", SimpleNamespace(monotonic=lambda: time.monotonic() + 1.1))
        assert client.get(f"/employers/{u}/", follow_redirects=False).status_code == 303
        page = None
    A.set_disabled(srv.engine, u, False)
    with client:    # a logout in this process ends the session at once, cache or not
        assert login(client, u).status_code == 303
        page = client.get(f"/employers/{u}/")
        token = client.cookies["permits_session"]
        assert logout(client, page.text).status_code == 303
        client.cookies.set("permits_session", token)
        assert client.get(f"/employers/{u}/", follow_redirects=False).status_code == 303
