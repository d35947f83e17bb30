"""Shared fixtures. ``demo_run`` generates the demo data set once per test
session and runs the whole Dagster job on it (ephemeral Dagster instance)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def chromium_ready():
    """Chromium and a CJK font installed (tests/browser_setup.py), once per session; a failed
    set-up fails the browser tests instead of skipping them."""
    from browser_setup import BrowserSetupError, ensure_browser

    try:
        ensure_browser()
    except BrowserSetupError as exc:
        pytest.fail(f"browser set-up failed: {exc}")


@pytest.fixture(scope="module")
def ctx(chromium_ready):
    """A headless Chromium browser context for one test module (the browser tests share it)."""
    from browser_setup import browser

    with browser() as c:
        yield c

@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> dict:
    from pipelines.cli import DEMO_SEED
    from pipelines.synthetic import generate

    out = tmp_path_factory.mktemp("demo-input")
    info = generate(out, scale="demo", seed=DEMO_SEED)
    return {"dir": out, **info}


@pytest.fixture(scope="session")
def demo_run(demo_data, tmp_path_factory) -> dict:
    from dagster import DagsterInstance

    from pipelines.runner import execute_run

    base = tmp_path_factory.mktemp("demo-run")
    warehouse, site = base / "warehouse.duckdb", base / "site"
    instance = DagsterInstance.ephemeral()  # kept: tests read the run's events (materialization metadata)
    summary = execute_run(input_dir=demo_data["dir"], as_of=demo_data["reference_date"], warehouse=warehouse,
                          site=site, instance=instance)
    return {"warehouse": warehouse, "site": site, "summary": summary, "data": demo_data,
            "as_of": demo_data["reference_date"], "instance": instance}


@pytest.fixture()
def ro_con(demo_run):
    import duckdb

    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    yield con
    con.close()


def load_json(p: Path):
    return json.loads(Path(p).read_text(encoding="utf-8"))


# `pytest --hypothesis-profile=noshrink`: report the first failing example without
# shrinking it (mutation checks of the drift test; each example runs the rule book)
from hypothesis import Phase, settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("noshrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])


# ---- shared by the serve and notify tests (issue 18 helper "notify"): built once per session -------------
@pytest.fixture(scope="session")
def pg_cluster():
    """Debian's PostgreSQL, installed when missing and started on 127.0.0.1 by the tests themselves; one
    cluster for the session (each test takes a fresh database with ``new_database()``)."""
    from pg_setup import PgCluster, PostgresSetupError

    try:
        cluster = PgCluster().start()
    except PostgresSetupError as exc:
        pytest.fail(f"PostgreSQL set-up failed: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def serve_template(tmp_path_factory) -> dict:
    """A published synthetic site (8 employers, ``serve_helpers.build_site``) and a SQLite server database
    holding ``add_accounts``' users, built once; each serve test module works on its own copy
    (``serve_helpers.copy_template``), so a module that republishes or adds users changes only its copy."""
    from serve_helpers import add_accounts, build_site

    from pipelines.serve.db import open_db

    base = tmp_path_factory.mktemp("serve-template")
    info = build_site(base)
    engine = open_db(str(base / "server.sqlite"))
    extra = add_accounts(engine, info)
    engine.dispose()
    return {**info, "db": str(base / "server.sqlite"), "accounts": extra}
