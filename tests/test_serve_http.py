"""`permits serve` as a real uvicorn process (issue 17, items 1, 3-6): raw
paths on the wire, the atomic swap followed without restart, TLS cookies,
trusted-header SSO only from trusted proxies, audit across restarts, and the
server on PostgreSQL."""
from __future__ import annotations

import re
import ssl
import subprocess
import threading

import httpx
import pytest
from serve_helpers import PASSWORD, REPO, ServerProcess, copy_template, http_login, raw_get, republish

from pipelines.serve import accounts as A
from pipelines.serve.audit import query
from pipelines.serve.db import open_db


@pytest.fixture(scope="module")
def world(serve_template, tmp_path_factory):
    info = copy_template(serve_template, tmp_path_factory.mktemp("serve-http"))  # site + add_accounts' users
    engine = open_db(info["db"])
    A.add_user(engine, "sso.bureau", "bureau", sso_only=True)
    engine.dispose()
    return info


def _run_id(html: str) -> str:
    return re.search(r"运行编号</span><span class=\"i18n\" lang=\"en\">Run</span> ([\w-]+)", html).group(1)


def test_raw_paths_on_the_wire_and_the_swap_followed_without_restart(world):
    u, other = world["usccs"][:2]
    with ServerProcess(world["site"], world["db"]) as srv, httpx.Client(base_url=srv.url) as c:
        assert http_login(c, u).status_code == 303
        cookie = f"permits_session={c.cookies['permits_session']}"
        assert raw_get(srv.port, f"/employers/{u}/index.html", cookie)[0] == 200
        for raw in [f"/employers/{u}/../{other}/index.html", f"/employers/{u}/%2e%2e/{other}/todo.xlsx",
                    f"/employers/{u}%2f..%2f{other}/index.html", f"/employers/{u}/..%252f{other}%252findex.html",
                    f"/employers/{u}/../../index.html", "/assets/../index.html", f"/employers/{u.lower()}/index.html",
                    f"/employers/{u}./index.html", f"/employers/{u}/todo.xlsx."]:
            status, body = raw_get(srv.port, raw, cookie)
            assert status == 404 and other.encode() not in body, raw
        first = c.get(f"/employers/{u}/")
        assert first.status_code == 200 and _run_id(first.text) == "serve-run"
        # publish twice while requests keep coming: every answer is a whole page of one run
        seen, errors, stop = set(), [], threading.Event()

        def hammer():
            with httpx.Client(base_url=srv.url, cookies=c.cookies) as h:
                while not stop.is_set():
                    r = h.get(f"/employers/{u}/")
                    if r.status_code != 200 or not r.text.rstrip().endswith("</html>"):
                        errors.append((r.status_code, r.text[-200:]))
                    else:
                        seen.add(_run_id(r.text))
        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            republish(world, "serve-run-2")
            republish(world, "serve-run-3")
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert errors == []
        assert "serve-run-3" in seen and seen <= {"serve-run", "serve-run-2", "serve-run-3"}
        assert _run_id(c.get(f"/employers/{u}/").text) == "serve-run-3"   # no restart needed


def test_tls_cookies_are_secure(world, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    with ServerProcess(world["site"], world["db"], "--certfile", str(cert), "--keyfile", str(key)) as srv, \
            httpx.Client(base_url=f"https://127.0.0.1:{srv.port}",
                         verify=ssl.create_default_context(cafile=str(cert))) as c:
        page = c.get("/login")
        assert "Secure" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]
        r = http_login(c, "bureau1")
        assert r.status_code == 303
        sc = r.headers["set-cookie"]
        assert "Secure" in sc and "HttpOnly" in sc and "SameSite=lax" in sc
        assert c.get("/bureau/index.html").status_code == 200


def test_trusted_header_only_from_trusted_proxies(world):
    u = world["usccs"][0]
    hdr = {"X-Remote-User": "sso.bureau", "X-Forwarded-For": "192.0.2.7"}
    with ServerProcess(world["site"], world["db"], "--trusted-header", "X-Remote-User",
                       "--trusted-proxy", "127.0.0.1/32") as srv:
        with httpx.Client(base_url=srv.url) as c:
            r = c.get("/index.html", headers=hdr)
            assert r.status_code == 200 and "运行概况" in r.text
            r = c.get(f"/employers/{u}/todo.xlsx", headers={**hdr, "X-Remote-User": u})   # maps like a local account
            assert r.status_code == 200
            r = c.get(f"/employers/{world['usccs'][1]}/todo.xlsx", headers={**hdr, "X-Remote-User": u})
            assert r.status_code == 404
        with httpx.Client(base_url=srv.url) as c:
            assert c.get("/index.html", headers={**hdr, "X-Remote-User": "nobody"}).status_code == 403
            assert c.get("/index.html", follow_redirects=False).status_code == 303   # no header: log in
    with ServerProcess(world["site"], world["db"], "--trusted-header", "X-Remote-User",
                       "--trusted-proxy", "10.0.0.0/8") as srv, httpx.Client(base_url=srv.url) as c:
        r = c.get("/index.html", headers=hdr, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")   # header from an untrusted peer
    engine = open_db(world["db"])
    rows = query(engine, user="sso.bureau")
    engine.dispose()
    assert rows and rows[0]["event"] == "login" and rows[0]["detail"] == "sso" and rows[0]["source"] == "192.0.2.7"
    assert any(r["event"] == "page_view" and r["path"] == "/index.html" and r["source"] == "192.0.2.7" for r in rows)


def test_audit_survives_restarts_and_permits_audit_lists_it(world, tmp_path):
    u = world["usccs"][2]
    for _ in range(2):
        with ServerProcess(world["site"], world["db"]) as srv, httpx.Client(base_url=srv.url) as c:
            assert http_login(c, u).status_code == 303
            assert c.get(f"/employers/{u}/todo.xlsx").status_code == 200
    out = subprocess.run([str(REPO / ".venv" / "bin" / "permits"), "audit", "--user", u, "--format", "csv",
                          "--db", world["db"]], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines()[1:] if ln]
    assert [ln.split(",")[3] for ln in lines] == ["login", "download", "login", "download"]


def test_the_server_on_postgresql(world, pg_cluster):
    url = pg_cluster.new_database()
    engine = open_db(url)
    A.add_user(engine, world["usccs"][0], "employer", password=PASSWORD)
    engine.dispose()
    u = world["usccs"][0]
    with ServerProcess(world["site"], url) as srv, httpx.Client(base_url=srv.url) as c:
        assert http_login(c, u, "wrong password!").status_code == 401
        assert http_login(c, u).status_code == 303
        assert c.get(f"/employers/{u}/").status_code == 200
        assert c.get(f"/employers/{world['usccs'][1]}/").status_code == 404
    engine = open_db(url)
    events = [r["event"] for r in query(engine, user=u)]
    engine.dispose()
    assert events == ["login_failed", "login", "page_view", "denied"]


def test_the_load_benchmark_runs_bounded_and_reports(tmp_path, capsys):
    from pipelines.serve import bench

    res = bench.main(["--employers", "4", "--sessions", "6", "--rounds", "2", "--think", "0.05",
                      "--max-seconds", "60", "--out", str(tmp_path / "b.json")])
    assert res["error_count"] == 0 and res["requests"] == 6 * 2 * 2
    assert res["page"]["n"] == 12 and res["todo.xlsx"]["n"] == 12 and res["login"]["n"] == 6
    assert res["page"]["median_ms"] > 0 and res["page"]["p95_ms"] >= res["page"]["median_ms"]
    out = capsys.readouterr().out
    assert "p95 ms" in out and "targets" in out and (tmp_path / "b.json").exists()


def test_two_worker_processes_keep_sessions_and_audit_in_the_database(world):
    u = world["usccs"][3]
    with ServerProcess(world["site"], world["db"], "--workers", "2") as srv:
        clients = [httpx.Client(base_url=srv.url) for _ in range(2)]
        try:
            assert http_login(clients[0], u).status_code == 303
            for _ in range(6):    # new connections land on either worker: the session is in the database
                with httpx.Client(base_url=srv.url, cookies=clients[0].cookies) as c:
                    assert c.get(f"/employers/{u}/todo.xlsx").status_code == 200
        finally:
            for c in clients:
                c.close()
    engine = open_db(world["db"])
    assert [r["event"] for r in query(engine, user=u)].count("download") == 6
    engine.dispose()


def test_serve_refuses_unsafe_or_impossible_settings(world, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    r = CliRunner().invoke(app, ["serve", "--site", str(world["site"]), "--trusted-header", "X-Remote-User"])
    assert r.exit_code == 2 and "--trusted-proxy" in r.output
    r = CliRunner().invoke(app, ["serve", "--site", str(tmp_path / "none")])
    assert r.exit_code == 2 and "not found" in r.output
    r = CliRunner().invoke(app, ["serve", "--site", str(world["site"]), "--trusted-proxy", "not-an-address"])
    assert r.exit_code == 2 and "CIDR" in r.output
    r = CliRunner().invoke(app, ["serve", "--site", str(world["site"]), "--certfile", "x.pem"])
    assert r.exit_code == 2 and "--keyfile" in r.output
