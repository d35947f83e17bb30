"""`permits serve` in a real browser (issue 17, item 8): Debian's headless
Chromium (tests/browser_setup.py) against a real server process on 127.0.0.1.
An employer logs in, sees its page, cannot open another employer's page or
workbook, logs out; the bureau logs in and opens the bureau page. Screenshots
of the login page and of a logged-in employer page go to
test-output/screenshots/ (serve-login.png, serve-login-en.png, serve-employer.png)."""
from __future__ import annotations

import pytest
from browser_setup import SCREENSHOTS, open_page
from serve_helpers import PASSWORD, ServerProcess, copy_template

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(serve_template, tmp_path_factory):
    info = copy_template(serve_template, tmp_path_factory.mktemp("serve-browser"))  # site + add_accounts' users
    with ServerProcess(info["site"], info["db"], log=info["base"] / "server.log") as srv:
        yield {**info, "url": srv.url}


def _clean(log, what, origin):
    assert log.page_errors == [], f"{what}: {log.page_errors}"
    assert log.console_errors == [], f"{what}: {log.console_errors}"
    assert log.blocked == [], f"{what}: requests left the page: {log.blocked}"
    assert all(u.startswith((origin, "data:", "blob:")) for u in log.requested), log.requested


def _login(page, username):
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_employer_logs_in_sees_its_page_is_refused_another_and_logs_out(ctx, server):
    url, (u, other) = server["url"], server["usccs"][:2]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, log = open_page(ctx, f"{url}/employers/{u}/", wait_ready=False, allow_origin=url)
    assert "/login" in page.url and page.locator("#login-form").count() == 1
    assert "登录" in page.inner_text("h2") and page.locator("#lang-switch").inner_text() == "English"
    page.screenshot(path=str(SCREENSHOTS / "serve-login.png"), full_page=True)
    page.click("#lang-switch")
    page.wait_for_selector("text=Sign in")
    assert page.locator("#lang-switch").inner_text() == "中文"
    page.screenshot(path=str(SCREENSHOTS / "serve-login-en.png"), full_page=True)
    _login(page, u)
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    assert page.url == f"{url}/employers/{u}/"
    assert u in page.inner_text("body") and page.locator("#kpis .kpi").count() == 7
    assert page.evaluate("document.querySelectorAll('.plot .main-svg').length") >= 2   # charts drawn by plotly
    assert page.locator("#permits-session").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "serve-employer.png"), full_page=True)
    _clean(log, "employer page", url)
    # its workbook: yes; another employer's page and workbook: 404 like a missing page
    own = ctx.request.get(f"{url}/employers/{u}/todo.xlsx")
    assert own.status == 200 and own.body()[:2] == b"PK"
    assert ctx.request.get(f"{url}/employers/{other}/todo.xlsx").status == 404
    probe = ctx.new_page()
    resp = probe.goto(f"{url}/employers/{other}/index.html")
    assert resp.status == 404 and other not in probe.content()
    assert probe.goto(f"{url}/index.html").status == 404
    probe.close()
    # log out with the button of the session bar
    page.click("#logout-button")
    page.wait_for_url(f"{url}/login")
    page.goto(f"{url}/employers/{u}/")
    assert "/login" in page.url and page.locator("#login-form").count() == 1
    assert ctx.request.get(f"{url}/employers/{u}/todo.xlsx", max_redirects=0).status == 303
    page.close()


def test_bureau_logs_in_and_opens_the_bureau_page(ctx, server):
    url = server["url"]
    page, log = open_page(ctx, f"{url}/login", wait_ready=False, allow_origin=url)
    _login(page, "bureau1")
    page.wait_for_url(f"{url}/index.html")
    page.goto(f"{url}/bureau/index.html")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    charts = page.evaluate("Array.from(document.querySelectorAll('.plot')).map(d => !!d.querySelector('.main-svg'))")
    assert len(charts) >= 5 and all(charts)
    page.screenshot(path=str(SCREENSHOTS / "serve-bureau.png"), full_page=False)
    _clean(log, "bureau page", url)
    page.click("#logout-button")
    page.wait_for_url(f"{url}/login")
    page.close()
