"""The Starlette application behind ``permits serve``.

Every request for a site path: who is asking (trusted SSO header from a
trusted proxy, else the session cookie) → unauthenticated: the login page,
whatever the path → the path split and checked (``sitefs``) → the file read
from the live site pinned for this request → HTML pages get the session bar.
Anything not allowed, or missing, is the same 404.
"""
from __future__ import annotations

import ipaddress
import json
import mimetypes
import os
import re
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import quote, urlencode

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pipelines.serve import accounts as A
from pipelines.serve import pages as P
from pipelines.serve.audit import AuditLog
from pipelines.serve.db import open_db
from pipelines.serve.sitefs import (IsDirectory, NotFound, SiteRoot, SiteUnavailable, allowed, home_path,
                                    split_path)

SESSION_COOKIE = "permits_session"
CSRF_COOKIE = "permits_csrf"
CONFIG_ENV = "PERMITS_SERVE_CONFIG"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                    "X-Frame-Options": "DENY", "Cache-Control": "private, no-cache"}
TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml"}


@dataclass
class ServeConfig:
    site: str
    db: Optional[str] = None
    trusted_header: Optional[str] = None
    trusted_proxies: list[str] = field(default_factory=list)
    tls: bool = False                      # served over TLS by uvicorn itself (--certfile/--keyfile)
    session_hours: float = 12.0
    audit_flush_seconds: float = 0.5
    session_cache_seconds: float = 5.0     # a session disabled or ended in another process stops working within this

    def to_env(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_env(cls) -> "ServeConfig":
        return cls(**json.loads(os.environ[CONFIG_ENV]))


@dataclass
class Auth:
    user: A.User
    csrf: str
    via: str
    new_cookie: Optional[str] = None       # set on the response (a session opened by the SSO header)


class Server:
    def __init__(self, cfg: ServeConfig):
        self.cfg = cfg
        self.engine = open_db(cfg.db)
        self.site = SiteRoot(Path(cfg.site))
        self.audit = AuditLog(self.engine, flush_seconds=cfg.audit_flush_seconds)
        self.proxies = [ipaddress.ip_network(c, strict=False) for c in cfg.trusted_proxies]
        self.hash_limiter = anyio.CapacityLimiter(2)   # Argon2 uses 64 MiB and ~50 ms a time: two at once
        self._sessions: dict[str, tuple[float, tuple]] = {}

    # ---------------------------------------------------------------- sessions, briefly cached
    def cached_session(self, token: str) -> Optional[tuple]:
        """A session looked up less than ``session_cache_seconds`` ago in this process
        (a page request then needs no database call at all)."""
        hit = self._sessions.get(token)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def lookup_session(self, token: str) -> Optional[tuple]:
        sess = A.session_user(self.engine, token)
        if sess is None:
            self._sessions.pop(token, None)
            return None
        if len(self._sessions) > 100_000:
            self._sessions.clear()
        if self.cfg.session_cache_seconds > 0:
            self._sessions[token] = (time.monotonic() + self.cfg.session_cache_seconds, sess)
        return sess

    def forget_session(self, token: str) -> None:
        self._sessions.pop(token, None)

    # ---------------------------------------------------------------- who and from where
    def from_proxy(self, request: Request) -> bool:
        peer = request.client.host if request.client else None
        if not peer or not self.proxies:
            return False
        try:
            ip = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(ip in n for n in self.proxies)

    def source(self, request: Request) -> str:
        peer = request.client.host if request.client else "?"
        if self.from_proxy(request):
            fwd = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
            return fwd or peer
        return peer

    def secure(self, request: Request) -> bool:
        if self.cfg.tls or request.url.scheme == "https":
            return True
        return self.from_proxy(request) and request.headers.get("x-forwarded-proto", "").lower() == "https"

    def authenticate(self, request: Request) -> Optional[Auth] | Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        sess = (self.cached_session(token) or self.lookup_session(token)) if token else None
        if self.cfg.trusted_header and self.from_proxy(request):
            name = request.headers.get(self.cfg.trusted_header)
            if name:
                if sess and sess[0].name_key == A.key(name):
                    return Auth(*sess)
                user = A.get_user(self.engine, name)
                src = self.source(request)
                if user is None or user.disabled:
                    self.audit.record("login_failed", username=name[:200], role=None, path=request.url.path,
                                      source=src, detail="sso: no such enabled account", status=403)
                    return HTMLResponse(P.render("message", en=_en(request), heading=P.text("login", _en(request)),
                                                 message=P.text("no_account", _en(request))),
                                        status_code=403, headers=SECURITY_HEADERS)
                tok, csrf = A.create_session(self.engine, user, src, via="sso", hours=self.cfg.session_hours)
                self.audit.record("login", username=user.username, role=user.role, source=src, detail="sso",
                                  now=True)
                return Auth(user, csrf, "sso", new_cookie=tok)
        return Auth(*sess) if sess else None

    def set_session_cookie(self, request: Request, resp: Response, token: str) -> None:
        resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=self.secure(request), path="/")

    # ---------------------------------------------------------------- the site
    def serve_site(self, request: Request) -> Response:
        auth = self.authenticate(request)
        if isinstance(auth, Response):
            return auth
        raw = request.scope.get("raw_path") or request.url.path.encode()
        raw_path = raw.split(b"?", 1)[0].decode("latin-1")
        if auth is None:
            target = raw_path + (("?" + request.url.query) if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303,
                                    headers=SECURITY_HEADERS)
        resp = self._site_response(request, auth, raw_path)
        if auth.new_cookie:
            self.set_session_cookie(request, resp, auth.new_cookie)
        return resp

    def _site_response(self, request: Request, auth: Auth, raw_path: str) -> Response:
        user, src = auth.user, self.source(request)
        if raw_path == "/":
            return RedirectResponse(home_path(user), status_code=302, headers=SECURITY_HEADERS)
        try:
            segs = split_path(raw_path)
        except UnicodeDecodeError:
            segs = None
        try:
            with self.site.pinned() as pin:
                if segs is None or not allowed(user, segs, pin.district_of):
                    self.audit.record("denied", username=user.username, role=user.role, path=raw_path,
                                      status=404, source=src)
                    return self.not_found(request)
                try:
                    data = pin.read(segs)
                except IsDirectory:
                    if raw_path.endswith("/") or not allowed(user, segs + ["index.html"], pin.district_of):
                        return self.not_found(request)
                    return RedirectResponse(raw_path + "/", status_code=302, headers=SECURITY_HEADERS)
                except NotFound:
                    self.audit.record("page_view", username=user.username, role=user.role, path=raw_path,
                                      status=404, source=src)
                    return self.not_found(request)
        except SiteUnavailable:
            return HTMLResponse(P.render("message", en=_en(request), heading="503",
                                         message=P.text("unavailable", _en(request))),
                                status_code=503, headers={**SECURITY_HEADERS, "Retry-After": "2"})
        name = segs[-1]
        ext = os.path.splitext(name)[1].lower()
        ctype = TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        event = None if segs[0] == "assets" else ("page_view" if ext in (".html", ".htm") else "download")
        headers = {**SECURITY_HEADERS, "ETag": data.etag}
        if request.headers.get("if-none-match") == data.etag:
            status, body = 304, b""
        else:
            status, body = 200, data.body
            if ext in (".html", ".htm"):
                i = body.rfind(b"</body>")
                if i >= 0:
                    body = body[:i] + P.session_bar(user.display_name or user.username, auth.csrf) + body[i:]
            if ext == ".xlsx":
                headers["Content-Disposition"] = f"attachment; filename=\"{quote(name)}\""
        if event:
            self.audit.record(event, username=user.username, role=user.role, path=raw_path, status=status,
                              source=src)
        return Response(body, status_code=status, media_type=ctype if status == 200 else None, headers=headers)

    def not_found(self, request: Request) -> Response:
        return HTMLResponse(P.render("message", en=_en(request), heading="404",
                                     message=P.text("not_found", _en(request))),
                            status_code=404, headers=SECURITY_HEADERS)


def _en(request: Request, form=None) -> bool:
    lang = (form.get("lang") if form is not None else None) or request.query_params.get("lang")
    return lang == "en"


_LOCAL_PATH = re.compile(r"^/(?![/\\])[^\s\x00-\x1f\x7f]*$")


def _safe_next(nxt: Optional[str]) -> str:
    """Where to go after login: a path of this server only (no //host, /\\host, no control characters)."""
    return nxt if nxt and _LOCAL_PATH.match(nxt) else "/"


def create_app(cfg: ServeConfig) -> Starlette:
    from pipelines.serve.forms import form_routes

    srv = Server(cfg)

    async def site_endpoint(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        sso = srv.cfg.trusted_header and srv.from_proxy(request) and request.headers.get(srv.cfg.trusted_header)
        if token and not sso and srv.cached_session(token) is not None:
            return srv.serve_site(request)   # no database call: a file read from the page cache, on the loop
        return await run_in_threadpool(srv.serve_site, request)

    @asynccontextmanager
    async def lifespan(app):
        srv.audit.start()
        try:
            yield
        finally:
            await run_in_threadpool(srv.audit.stop)
            srv.engine.dispose()

    app = Starlette(routes=[*form_routes(srv), Route("/{path:path}", site_endpoint, methods=["GET", "HEAD"])],
                    lifespan=lifespan)
    app.state.server = srv
    return app


def app_from_env() -> Starlette:
    """Factory for uvicorn workers (``--workers N``): the configuration comes in an environment variable."""
    return create_app(ServeConfig.from_env())
