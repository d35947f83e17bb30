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
    page = client.get("/login" + (f"?next={next}" if next else ""))
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


@pytest.fixture(scope="session")
def pg_cluster():
    """Debian's PostgreSQL, installed when missing and started on 127.0.0.1 by the tests themselves."""
    from pg_setup import PgCluster, PostgresSetupError

    try:
        cluster = PgCluster().start()
    except PostgresSetupError as exc:
        pytest.fail(f"PostgreSQL set-up failed: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The server database, once as a SQLite file and once as a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "server.sqlite")
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture(scope="module")
def site_info(tmp_path_factory) -> dict:
    return build_site(tmp_path_factory.mktemp("serve-site"))


def make_client(site: Path, db: str, client=("127.0.0.1", 40000), **cfg):
    from starlette.testclient import TestClient

    from pipelines.serve.app import ServeConfig, create_app

    app = create_app(ServeConfig(site=str(site), db=db, **cfg))
    return TestClient(app, client=client), app.state.server
