"""Isolation (issue 17, items 1-2): what each role may open, and path tricks.
Every path a user may not see answers the same 404 as a path that does not
exist; unauthenticated requests go to the login page whatever the path."""
from __future__ import annotations

import os
import time

import pytest
from serve_helpers import login, make_client, site_info  # noqa: F401

from pipelines.serve.accounts import User
from pipelines.serve.sitefs import allowed, split_path


def test_split_path_refuses_every_trick():
    assert split_path("/employers/X/index.html") == ["employers", "X", "index.html"]
    assert split_path("/employers/X/") == ["employers", "X", "index.html"]
    assert split_path("/") == ["index.html"]
    assert split_path("/rules%2Ehtml") == ["rules.html"]          # an encoded ordinary character is fine
    for bad in ["/employers/../index.html", "/employers/%2e%2e/index.html", "/employers/%2E%2e/x",
                "/employers/A%2f..%2fB/index.html", "/employers/A%2F..%2FB/index.html",
                "/employers/A%252f..%252fB/index.html", "/employers/%252e%252e/index.html",
                "/employers/A./index.html", "/employers/A/index.html.", "/employers//A/index.html",
                "/employers/A/./index.html", "/employers/.A/index.html", "/employers/A%5c..%5cB/index.html",
                "/employers/A%00/index.html", "/employers/A%20/index.html", "employers/A/index.html",
                "/employers/A/%zz"]:
        assert split_path(bad) is None, bad


def test_allowed_by_role():
    emp = User("a", "a", "employer", "AAAAAAAAAAAAAAAAAA")
    dist = User("d", "d", "district", "haidian")
    bureau = User("b", "b", "bureau", None)
    districts = {"AAAAAAAAAAAAAAAAAA": "haidian", "BBBBBBBBBBBBBBBBBB": "chaoyang"}.get
    own, other = ["employers", "AAAAAAAAAAAAAAAAAA"], ["employers", "BBBBBBBBBBBBBBBBBB"]
    for segs in (own + ["index.html"], own + ["todo.xlsx"], own + ["checklists", "app-1.html"], ["rules.html"],
                 ["assets", "plotly.min.js"]):
        assert allowed(emp, segs, districts), segs
    for segs in (other + ["index.html"], other + ["todo.xlsx"], ["index.html"], ["gx", "index.html"],
                 ["bureau", "index.html"], ["employers", "index.html"], ["employers", "aaaaaaaaaaaaaaaaaa", "index.html"],
                 ["assets"], ["rules.html", "x"]):
        assert not allowed(emp, segs, districts), segs
    assert allowed(dist, ["bureau", "index.html"], districts) and allowed(dist, own + ["todo.xlsx"], districts)
    assert not allowed(dist, other + ["index.html"], districts)
    assert not allowed(dist, ["index.html"], districts) and not allowed(dist, ["gx", "index.html"], districts)
    assert not allowed(dist, ["employers", "index.html"], districts)
    assert allowed(bureau, ["gx", "index.html"], districts) and allowed(bureau, other + ["todo.xlsx"], districts)


@pytest.fixture(scope="module")
def served(site_info, tmp_path_factory):
    client, srv = make_client(site_info["site"], site_info["db"])  # the copy holds add_accounts' users
    extra = site_info["accounts"]
    (site_info["site"] / "gx").mkdir(exist_ok=True)       # GX Data Docs: the bureau's only
    (site_info["site"] / "gx" / "index.html").write_text("<html><body>data docs</body></html>")
    with client:
        yield {"client": client, "srv": srv, **site_info, **extra}


def _as(served, username):
    c = served["client"]
    c.cookies.clear()
    r = login(c, username)
    assert r.status_code == 303, r.text
    return c


def _raw(c, raw: str):
    """The server's answer to a path exactly as written: an ASGI request built
    by hand (HTTP clients normalise dot segments before sending)."""
    from urllib.parse import unquote

    from starlette.requests import Request

    srv = c.app.state.server
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items()).encode()
    scope = {"type": "http", "method": "GET", "path": unquote(raw), "raw_path": raw.encode(), "query_string": b"",
             "headers": [(b"cookie", cookie), (b"host", b"testserver")], "client": ("127.0.0.1", 40000),
             "server": ("testserver", 80), "scheme": "http", "root_path": "", "http_version": "1.1"}
    return srv.serve_site(Request(scope))


def test_unauthenticated_requests_go_to_the_login_page_whatever_the_path(served):
    c = served["client"]
    c.cookies.clear()
    u = served["usccs"][0]
    for path in [f"/employers/{u}/index.html", "/employers/NOSUCHEMPLOYER00000/index.html", "/index.html",
                 "/gx/x", "/nothing"]:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_employer_sees_its_folder_rules_and_assets_only(served):
    u, other = served["usccs"][0], served["usccs"][1]
    c = _as(served, u)
    site = served["site"]
    (site / "employers" / u / "checklists").mkdir(exist_ok=True)
    (site / "employers" / u / "checklists" / "A-1.html").write_text("<html><body>checklist</body></html>")
    for path in [f"/employers/{u}/", f"/employers/{u}/index.html", f"/employers/{u}/todo.xlsx",
                 f"/employers/{u}/checklists/A-1.html", "/rules.html", "/assets/site.js", "/assets/site.css",
                 "/assets/plotly.min.js", "/assets/meta.js"]:
        assert c.get(path).status_code == 200, path
    assert c.get(f"/employers/{u}/todo.xlsx").content[:2] == b"PK"
    r = c.get(f"/employers/{u}/")
    page = r.text
    assert u in page and other not in page
    assert "no-cache" in r.headers["cache-control"] and r.headers["x-content-type-options"] == "nosniff"
    again = c.get(f"/employers/{u}/", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert c.get(f"/employers/{other}/", headers={"If-None-Match": r.headers["etag"]}).status_code == 404
    nf = c.get("/no/such/page").text
    for path in [f"/employers/{other}/index.html", f"/employers/{other}/todo.xlsx", f"/employers/{other}/",
                 "/index.html", "/bureau/index.html", "/employers/index.html", "/gx/index.html",
                 f"/employers/{u.lower()}/index.html", f"/employers/{u}/INDEX.HTML", f"/employers/{u}/Todo.xlsx",
                 f"/EMPLOYERS/{u}/index.html", f"/employers/{u}./index.html", f"/employers/{u}/index.html.",
                 f"/employers/{u}/todo.xlsx.", "/rules.html.", "/assets./site.js"]:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 404, path
        assert r.text == nf, f"{path}: a refusal must look like a missing page"
    # the run index exists, a made-up page does not: both answer the same
    assert (site / "index.html").exists()


def test_encoded_and_dotted_paths_never_leave_the_employer(served):
    u, other = served["usccs"][0], served["usccs"][1]
    c = _as(served, u)
    tricks = [f"/employers/{u}/../{other}/index.html", f"/employers/{u}/%2e%2e/{other}/index.html",
              f"/employers/{u}/%2E%2E/{other}/todo.xlsx", f"/employers/{u}%2f..%2f{other}/index.html",
              f"/employers/{u}/..%2f{other}%2findex.html", f"/employers/{u}/..%2F..%2Findex.html",
              f"/employers/{u}/%252e%252e/{other}/index.html", f"/employers/{u}/..%252f{other}%252findex.html",
              f"/employers/{u}/%2e%2e%2f%2e%2e%2fgx%2findex.html", f"/employers/{u}/./../{other}/todo.xlsx",
              f"/employers/{u}/..\\{other}\\index.html", f"/employers/{u}/%5c..%5c{other}%5cindex.html",
              f"/employers/{u}/%c0%ae%c0%ae/{other}/index.html", f"/employers/{u}//../{other}/index.html",
              "/assets/../index.html", "/assets/%2e%2e/index.html", "/assets%2f..%2findex.html"]
    for raw in tricks:
        r = _raw(c, raw)
        assert r.status_code == 404, (raw, r.status_code)
        assert other.encode() not in r.body


def test_symlinks_inside_the_site_are_never_followed(served):
    u, other = served["usccs"][0], served["usccs"][1]
    site = served["site"]
    own = site / "employers" / u
    links = {"other.html": f"../{other}/index.html", "other-dir": f"../{other}", "etc": "/etc",
             "passwd": "/etc/passwd", "index-link.html": "index.html"}
    for name, target in links.items():
        os.symlink(target, own / name)
    os.symlink("/etc", site / "assets" / "etc")
    try:
        c = _as(served, u)
        for name in links:
            assert c.get(f"/employers/{u}/{name}").status_code == 404, name
        assert c.get(f"/employers/{u}/other-dir/index.html").status_code == 404
        assert c.get(f"/employers/{u}/other-dir/todo.xlsx").status_code == 404
        assert c.get(f"/employers/{u}/etc/passwd").status_code == 404
        assert c.get("/assets/etc/passwd").status_code == 404
        # even the bureau, who may see everything in the site, gets nothing through a link
        b = _as(served, "bureau1")
        assert b.get("/assets/etc/passwd").status_code == 404
        assert b.get(f"/employers/{u}/other.html").status_code == 404
        assert b.get(f"/employers/{other}/index.html").status_code == 200
    finally:
        for name in links:
            (own / name).unlink()
        (site / "assets" / "etc").unlink()


def test_district_sees_the_bureau_page_and_its_employers_only(served):
    d = served["district"]
    c = _as(served, "district1")
    inside = [u for u in served["usccs"] if site_district(served, u) == d]
    outside = [u for u in served["usccs"] if site_district(served, u) != d]
    assert inside and outside
    assert c.get("/bureau/index.html").status_code == 200
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/bureau/"
    for u in inside:
        assert c.get(f"/employers/{u}/").status_code == 200
        assert c.get(f"/employers/{u}/todo.xlsx").status_code == 200
    for u in outside:
        assert c.get(f"/employers/{u}/").status_code == 404
        assert c.get(f"/employers/{u}/todo.xlsx").status_code == 404
    for path in ["/index.html", "/gx/index.html", "/employers/index.html", "/employers/"]:
        assert c.get(path).status_code == 404, path


def site_district(served, uscc):
    from pipelines.serve.sitefs import parse_directory

    return parse_directory((served["site"] / "employers" / "index.html").read_bytes()).get(uscc)


def test_bureau_sees_everything_and_lands_on_the_run_index(served):
    c = _as(served, "bureau1")
    r = c.get("/", follow_redirects=False)
    assert r.headers["location"] == "/index.html"
    for path in ["/index.html", "/bureau/index.html", "/employers/index.html", "/rules.html",
                 *(f"/employers/{u}/todo.xlsx" for u in served["usccs"])]:
        assert c.get(path).status_code == 200, path
    assert c.get("/gx/index.html").status_code == 200
    # the test client sends these paths as written: dots are refused even where the target is allowed
    for raw in ["/employers/../index.html", "/bureau/%2e%2e/index.html", "/bureau%2f..%2findex.html",
                "/bureau/..%252findex.html"]:
        assert _raw(c, raw).status_code == 404, raw
    assert _raw(c, "/bureau/index.html").status_code == 200
    r = c.get(f"/employers/{served['usccs'][2]}", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].endswith("/")


def test_the_district_map_follows_the_published_directory(served):
    """The employer → district map is re-read when the published directory
    changes (a new run), without restarting the server."""
    d = served["district"]
    outside = next(u for u in served["usccs"] if site_district(served, u) != d)
    c = _as(served, "district1")
    assert c.get(f"/employers/{outside}/").status_code == 404
    directory = served["site"] / "employers" / "index.html"
    before = directory.read_bytes()
    moved = before.replace(f'"{site_district(served, outside)}"'.encode(), f'"{d}"'.encode())
    assert moved != before
    try:
        directory.write_bytes(moved)
        os.utime(directory, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        assert c.get(f"/employers/{outside}/").status_code == 200
    finally:
        directory.write_bytes(before)
        os.utime(directory, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
    assert c.get(f"/employers/{outside}/").status_code == 404
