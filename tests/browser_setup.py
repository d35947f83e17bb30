"""Real-browser test support: Debian's chromium driven by Playwright.

``ensure_browser()`` installs what the tests need on a fresh machine (as root:
``apt-get install chromium fonts-noto-cjk``) once per session; if that is not
possible the browser tests FAIL with the reason (they never skip).

``open_page()`` starts headless Chromium with an empty profile, routes every
request (only file:// is allowed; any http(s) request is recorded and aborted)
and collects console errors and page errors.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--allow-file-access-from-files"]
APT_PACKAGES = ["chromium", "fonts-noto-cjk"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


class BrowserSetupError(RuntimeError):
    pass


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True).stdout
    return "Noto Sans CJK" in out or "Noto Serif CJK" in out


def missing_parts() -> list[str]:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium")
    if not _has_cjk_font():
        missing.append("fonts-noto-cjk")
    return missing


def ensure_browser() -> None:
    """Install chromium and a CJK font if missing; raise BrowserSetupError if impossible."""
    missing = missing_parts()
    if not missing:
        return
    if os.geteuid() != 0:
        raise BrowserSetupError(f"missing {', '.join(missing)} and not root: run "
                                f"`sudo apt-get install -y {' '.join(APT_PACKAGES)}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = "/tmp/permits-apt.lock"
    cmd = f"flock {lock} sh -c 'apt-get update -q && apt-get install -y -q {' '.join(APT_PACKAGES)}'"
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env, timeout=1200)
    if proc.returncode != 0 or missing_parts():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-8:]
        raise BrowserSetupError(f"could not install {', '.join(missing_parts()) or missing}: apt-get exited "
                                f"{proc.returncode}: " + " | ".join(tail))
    subprocess.run(["fc-cache", "-f"], capture_output=True)


@dataclass
class PageLog:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)


@contextmanager
def browser():
    """One headless Chromium for a test module (empty profile in a temp dir)."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="permits-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900},
                                                   locale="zh-CN", service_workers="block")
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


def open_page(ctx, path, query: str = "", wait_ready: bool = True, allow_origin: str = ""):
    """Open a site page from disk (a Path) or from ``allow_origin`` (a URL string);
    returns (page, log). Every other request is aborted and recorded."""
    log = PageLog()
    page = ctx.new_page()
    allowed = ("file://", "data:", "blob:") + ((allow_origin,) if allow_origin else ())

    def block(url):
        if url not in log.blocked:
            log.blocked.append(url)

    def route(r):
        url = r.request.url
        log.requested.append(url)
        if url.startswith(allowed):
            r.continue_()
        else:
            block(url)
            r.abort()

    page.route("**/*", route)
    # also every request the router might not see (e.g. issued before routing applies)
    page.on("request", lambda req: None if req.url.startswith(allowed) else block(req.url))
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    url = path if isinstance(path, str) else Path(path).resolve().as_uri()
    page.goto(url + query, wait_until="load")
    if wait_ready:
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
    return page, log
