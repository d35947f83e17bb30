"""The forms: log in, log out, activate an account with its one-time code,
change the password. Each carries a CSRF token: before login a double-submit
token (cookie + hidden field, compared in constant time), after login the
session's own token. Failed logins and activations count towards the lockout
of the account and of the source address (5 in 15 minutes → 15 minutes)."""
from __future__ import annotations

import hmac
import math
import secrets
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pipelines.serve import accounts as A
from pipelines.serve import pages as P
from pipelines.serve.app import CSRF_COOKIE, SECURITY_HEADERS, SESSION_COOKIE, Server, _en, _safe_next
from pipelines.serve.db import utcnow
from pipelines.serve.sitefs import home_path


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def _minutes(until) -> int:
    return max(1, math.ceil((until - utcnow()).total_seconds() / 60))


def _new_passwords(form) -> tuple[str, str]:
    return str(form.get("new_password") or ""), str(form.get("confirm") or "")


def _username(form) -> str:
    return str(form.get("username") or "").strip()[:200]


def form_routes(srv: Server) -> list[Route]:
    f = Forms(srv)
    return [Route("/login", f.login, methods=["GET", "POST"]), Route("/logout", f.logout, methods=["POST"]),
            Route("/activate", f.activate, methods=["GET", "POST"]),
            Route("/password", f.password, methods=["GET", "POST"])]


class Forms:
    """The four form endpoints of one server, with their shared steps (page, CSRF, lockout, session)."""

    def __init__(self, srv: Server):
        self.srv = srv

    # --- shared steps ---------------------------------------------------------------------------------------
    def page(self, request, form, heading_key, *, en, status=200, csrf="", message="", ok=False, username="",
             next="/", new_csrf_cookie=False) -> Response:
        q = ("&" + urlencode({"next": request.query_params["next"]})) \
            if form == "login" and "next" in request.query_params else ""
        resp = HTMLResponse(P.render(form, en=en, heading=P.text(heading_key, en), csrf=csrf, message=message,
                                     ok=ok, username=username, next=next, extra_query=q),
                            status_code=status, headers=SECURITY_HEADERS)
        if new_csrf_cookie:
            resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=self.srv.secure(request),
                            path="/")
        return resp

    @staticmethod
    def pre_csrf(request) -> tuple[str, bool]:
        tok = request.cookies.get(CSRF_COOKIE, "")
        return (tok, False) if 20 <= len(tok) <= 100 else (secrets.token_urlsafe(32), True)

    def locked(self, name: str, src: str):
        ends = [t for t in (A.locked_until(self.srv.engine, "user", A.key(name)),
                            A.locked_until(self.srv.engine, "addr", src)) if t]
        return max(ends) if ends else None

    def fail(self, name: str, src: str):
        a = A.record_failure(self.srv.engine, "user", A.key(name)[:200])
        b = A.record_failure(self.srv.engine, "addr", src)
        return a or b

    async def audit(self, event: str, **fields) -> None:
        await run_in_threadpool(lambda: self.srv.audit.record(event, now=True, **fields))

    async def lockout_page(self, request, form: str, *, en, tok, name, src, detail=None, **extra) -> Response | None:
        """The 429 page when the account or the source address is locked out, else None."""
        until = await run_in_threadpool(self.locked, name, src)
        if not until:
            return None
        fields = {"detail": detail} if detail else {}
        await self.audit("login_locked", username=name, role=None, source=src, status=429, **fields)
        return self.page(request, form, form, en=en, status=429, csrf=tok, username=name,
                         message=P.text("locked", en, m=_minutes(until)), **extra)

    async def failure_page(self, request, form: str, event: str, bad_key: str, *, en, tok, name, src,
                           **extra) -> Response:
        """Count a failed login or activation; 429 if that locks the account out, else 401."""
        until = await run_in_threadpool(self.fail, name, src)
        await self.audit(event, username=name, role=None, source=src, status=401)
        msg = P.text("locked", en, m=_minutes(until)) if until else P.text(bad_key, en)
        return self.page(request, form, form, en=en, status=429 if until else 401, csrf=tok, username=name,
                         message=msg, **extra)

    async def open_session(self, request, user: A.User, src: str, nxt: str, detail: str) -> Response:
        srv = self.srv

        def work():
            A.clear_failures(srv.engine, "user", user.name_key)
            token, _ = A.create_session(srv.engine, user, src, hours=srv.cfg.session_hours)
            srv.audit.record("login", username=user.username, role=user.role, source=src, detail=detail, now=True)
            return token
        token = await run_in_threadpool(work)
        resp = RedirectResponse(nxt if nxt != "/" else home_path(user), status_code=303, headers=SECURITY_HEADERS)
        srv.set_session_cookie(request, resp, token)
        return resp

    # --- endpoints ------------------------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        en = _en(request)
        tok, fresh = self.pre_csrf(request)
        nxt = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return self.page(request, "login", "login", en=en, csrf=tok, next=nxt, new_csrf_cookie=fresh)
        form = await request.form()
        en = _en(request, form)
        nxt = _safe_next(form.get("next"))
        name = _username(form)
        src = self.srv.source(request)
        if fresh or not _same(str(form.get("csrf") or ""), tok):
            return self.page(request, "login", "login", en=en, status=403, csrf=tok, message=P.text("csrf", en),
                             username=name, next=nxt, new_csrf_cookie=fresh)
        locked = await self.lockout_page(request, "login", en=en, tok=tok, name=name, src=src, next=nxt)
        if locked:
            return locked
        async with self.srv.hash_limiter:
            user = await run_in_threadpool(A.authenticate, self.srv.engine, name, str(form.get("password") or ""))
        if user is None:
            return await self.failure_page(request, "login", "login_failed", "bad_login", en=en, tok=tok,
                                           name=name, src=src, next=nxt)
        return await self.open_session(request, user, src, nxt, "password")

    async def logout(self, request: Request) -> Response:
        srv = self.srv
        form = await request.form()
        token = request.cookies.get(SESSION_COOKIE, "")
        sess = await run_in_threadpool(A.session_user, srv.engine, token) if token else None
        if sess is None:
            return RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        user, csrf, _via = sess
        if not _same(str(form.get("csrf") or ""), csrf):
            return self.page(request, "message", "logout", en=_en(request, form), status=403,
                             message=P.text("csrf", _en(request, form)))

        def work():
            A.end_session(srv.engine, token)
            srv.forget_session(token)
            srv.audit.record("logout", username=user.username, role=user.role, source=srv.source(request), now=True)
        await run_in_threadpool(work)
        resp = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=srv.secure(request))
        return resp

    async def activate(self, request: Request) -> Response:
        en = _en(request)
        tok, fresh = self.pre_csrf(request)
        if request.method == "GET":
            return self.page(request, "activate", "activate", en=en, csrf=tok, new_csrf_cookie=fresh)
        form = await request.form()
        en = _en(request, form)
        name = _username(form)
        src = self.srv.source(request)
        if fresh or not _same(str(form.get("csrf") or ""), tok):
            return self.page(request, "activate", "activate", en=en, status=403, csrf=tok, username=name,
                             message=P.text("csrf", en), new_csrf_cookie=fresh)
        new, confirm = _new_passwords(form)
        message = self.new_password_problem(new, confirm, en)
        if message:
            return self.page(request, "activate", "activate", en=en, status=400, csrf=tok, username=name,
                             message=message)
        locked = await self.lockout_page(request, "activate", en=en, tok=tok, name=name, src=src,
                                         detail="activation")
        if locked:
            return locked
        async with self.srv.hash_limiter:
            user = await run_in_threadpool(A.activate, self.srv.engine, name, str(form.get("code") or ""), new)
        if user is None:
            return await self.failure_page(request, "activate", "activation_failed", "bad_code", en=en, tok=tok,
                                           name=name, src=src)
        await self.audit("activation", username=user.username, role=user.role, source=src)
        return await self.open_session(request, user, src, "/", "activation")

    @staticmethod
    def new_password_problem(new: str, confirm: str, en: bool) -> str:
        """Why an activation's new password is refused ("" if it is not)."""
        if new != confirm:
            return P.text("mismatch", en)
        try:
            A.check_password_rules(new)
        except A.AccountError as exc:
            return str(exc)
        return ""

    async def password(self, request: Request) -> Response:
        auth = await run_in_threadpool(self.srv.authenticate, request)
        if isinstance(auth, Response):
            return auth
        if auth is None:
            return RedirectResponse("/login?next=/password", status_code=303, headers=SECURITY_HEADERS)
        en = _en(request)
        if auth.via == "sso":
            return self.page(request, "message", "change", en=en, message=P.text("sso_no_password", en))
        if request.method == "GET":
            return self.page(request, "password", "change", en=en, csrf=auth.csrf)
        form = await request.form()
        en = _en(request, form)
        if not _same(str(form.get("csrf") or ""), auth.csrf):
            return self.page(request, "password", "change", en=en, status=403, csrf=auth.csrf,
                             message=P.text("csrf", en))
        return await self.change_password(request, form, auth, en)

    async def change_password(self, request, form, auth, en: bool) -> Response:
        new, confirm = _new_passwords(form)
        if new != confirm:
            return self.page(request, "password", "change", en=en, status=400, csrf=auth.csrf,
                             message=P.text("mismatch", en))
        src = self.srv.source(request)
        try:
            async with self.srv.hash_limiter:
                ok = await run_in_threadpool(A.change_password, self.srv.engine, auth.user.username,
                                             str(form.get("current") or ""), new)
        except A.AccountError as exc:
            return self.page(request, "password", "change", en=en, status=400, csrf=auth.csrf, message=str(exc))
        if not ok:
            await run_in_threadpool(self.fail, auth.user.username, src)
            return self.page(request, "password", "change", en=en, status=401, csrf=auth.csrf,
                             message=P.text("bad_current", en))
        await self.audit("password_changed", username=auth.user.username, role=auth.user.role, source=src)
        return self.page(request, "message", "change", en=en, message=P.text("changed", en), ok=True)
