"""Shared set-up of the `permits serve` tests: a small published site, the
server app on a chosen database, and a login helper that goes through the
real forms (CSRF token included)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb

AS_OF = dt.date(2026, 6, 30)
PASSWORD = "correct horse battery"


def build_site(base: Path, employers: int = 8, run_id: str = "serve-run") -> dict:
    """Publish a synthetic site under ``base/site``; returns the site, the USCCs
    and the employer → district map of its directory."""
    from reports.site import publish_site
    from reports.site.synthetic import build_synthetic_warehouse

    base.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(base / "wh.duckdb"))
    build_synthetic_warehouse(con, employers=employers, as_of=AS_OF)
    publish_site(con, base / "site", run_id=run_id, as_of=AS_OF, background_cleanup=False)
    rows = con.sql("SELECT uscc, district FROM employer_summary ORDER BY uscc").fetchall()
    con.close()
    return {"site": base / "site", "usccs": [r[0] for r in rows], "district": dict(rows), "base": base}


def republish(info: dict, run_id: str) -> None:
    from reports.site import publish_site
    from reports.site.synthetic import build_synthetic_warehouse

    con = duckdb.connect(str(info["base"] / "wh.duckdb"))
    build_synthetic_warehouse(con, employers=len(info["usccs"]), as_of=AS_OF, run_id=run_id)
    publish_site(con, info["site"], run_id=run_id, as_of=AS_OF, background_cleanup=False)
    con.close()


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def login(client, username: str, password: str = PASSWORD, next: str | None = None):
    page = client.get("/login", params={"next": next} if next else None)
    assert page.status_code == 200
    data = {"username": username, "password": password, "csrf": csrf_of(page.text)}
    if next:
        data["next"] = next
    return client.post("/login", data=data, follow_redirects=False)


def logout(client, page_html: str):
    return client.post("/logout", data={"csrf": csrf_of(page_html)}, follow_redirects=False)


def add_accounts(engine, info: dict) -> dict:
    """bureau, a district user of the first employer's district, and an
    employer account for every employer (all with PASSWORD)."""
    from pipelines.serve import accounts as A

    A.add_user(engine, "bureau1", "bureau", password=PASSWORD)
    d = info["district"][info["usccs"][0]]
    A.add_user(engine, "district1", "district", d, password=PASSWORD)
    for u in info["usccs"]:
        A.add_user(engine, u, "employer", u, password=PASSWORD)
    return {"district": d}


# ------------------------------------------------------------------ fixtures
import pytest  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The server database, once as a SQLite file and once as a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "server.sqlite")
    return request.getfixturevalue("pg_cluster").new_database()


def copy_template(template: dict, dest: Path) -> dict:
    """This module's own copy of the session's built site, warehouse and accounts database (conftest
    ``serve_template``): the same as ``build_site`` + ``add_accounts`` into ``dest``, without rebuilding."""
    import shutil

    shutil.copytree(template["base"], dest, dirs_exist_ok=True)
    return {**template, "base": dest, "site": dest / "site", "db": str(dest / "server.sqlite")}


@pytest.fixture(scope="module")
def site_info(serve_template, tmp_path_factory) -> dict:
    return copy_template(serve_template, tmp_path_factory.mktemp("serve-site"))


def make_client(site: Path, db: str, client=("127.0.0.1", 40000), **cfg):
    from starlette.testclient import TestClient

    from pipelines.serve.app import ServeConfig, create_app

    app = create_app(ServeConfig(site=str(site), db=db, **cfg))
    return TestClient(app, client=client), app.state.server


# ------------------------------------------------------------------ a real server process
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`permits serve …` in its own process group on 127.0.0.1; stopped by its pid."""

    def __init__(self, site: Path, db: str, *args: str, log: Path | None = None):
        self.port = free_port()
        self.cmd = [str(REPO / ".venv" / "bin" / "permits"), "serve", "--site", str(site), "--db", db,
                    "--host", "127.0.0.1", "--port", str(self.port), *args]
        self.log = log
        self.proc = None

    def __enter__(self) -> "ServerProcess":
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.cmd}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start in 60 s")

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)      # graceful: the lifespan drains the audit queue
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode if self.proc else 0

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def raw_get(port: int, raw_path: str, cookie: str = "", headers: str = "") -> tuple[int, bytes]:
    """One HTTP/1.1 GET with the path sent byte for byte (no client normalisation)."""
    req = (f"GET {raw_path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
           + (f"Cookie: {cookie}\r\n" if cookie else "") + headers + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""


def http_login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf": csrf_of(page.text)},
                       follow_redirects=False)
