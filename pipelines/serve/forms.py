"""The forms: log in, log out, activate an account with its one-time code,
change the password. Each carries a CSRF token: before login a double-submit
token (cookie + hidden field, compared in constant time), after login the
session's own token. Failed logins and activations count towards the lockout
of the account and of the source address (5 in 15 minutes → 15 minutes)."""
from __future__ import annotations

import hmac
import math
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pipelines.serve import accounts as A
from pipelines.serve import pages as P
from pipelines.serve.db import utcnow
from pipelines.serve.sitefs import home_path

if TYPE_CHECKING:
    from pipelines.serve.app import Server


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def form_routes(srv: "Server") -> list[Route]:
    from pipelines.serve.app import CSRF_COOKIE, SECURITY_HEADERS, SESSION_COOKIE, _en, _safe_next

    def page(request, form, heading_key, *, en, status=200, csrf="", message="", ok=False, username="",
             next="/", new_csrf_cookie=False) -> Response:
        q = ("&" + urlencode({"next": request.query_params["next"]})) \
            if form == "login" and "next" in request.query_params else ""
        resp = HTMLResponse(P.render(form, en=en, heading=P.text(heading_key, en), csrf=csrf, message=message,
                                     ok=ok, username=username, next=next, extra_query=q),
                            status_code=status, headers=SECURITY_HEADERS)
        if new_csrf_cookie:
            resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=srv.secure(request),
                            path="/")
        return resp

    def pre_csrf(request) -> tuple[str, bool]:
        tok = request.cookies.get(CSRF_COOKIE, "")
        return (tok, False) if 20 <= len(tok) <= 100 else (secrets.token_urlsafe(32), True)

    def locked(name: str, src: str):
        ends = [t for t in (A.locked_until(srv.engine, "user", A.key(name)),
                            A.locked_until(srv.engine, "addr", src)) if t]
        return max(ends) if ends else None

    def minutes(until) -> int:
        return max(1, math.ceil((until - utcnow()).total_seconds() / 60))

    def fail(name: str, src: str):
        a = A.record_failure(srv.engine, "user", A.key(name)[:200])
        b = A.record_failure(srv.engine, "addr", src)
        return a or b

    async def login(request: Request) -> Response:
        en = _en(request)
        tok, fresh = pre_csrf(request)
        nxt = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return page(request, "login", "login", en=en, csrf=tok, next=nxt, new_csrf_cookie=fresh)
        form = await request.form()
        en = _en(request, form)
        nxt = _safe_next(form.get("next"))
        name = str(form.get("username") or "").strip()[:200]
        src = srv.source(request)
        if fresh or not _same(str(form.get("csrf") or ""), tok):
            return page(request, "login", "login", en=en, status=403, csrf=tok, message=P.text("csrf", en),
                        username=name, next=nxt, new_csrf_cookie=fresh)
        until = await run_in_threadpool(locked, name, src)
        if until:
            await run_in_threadpool(lambda: srv.audit.record("login_locked", username=name, role=None,
                                                             source=src, status=429, now=True))
            return page(request, "login", "login", en=en, status=429, csrf=tok, username=name, next=nxt,
                        message=P.text("locked", en, m=minutes(until)))
        async with srv.hash_limiter:
            user = await run_in_threadpool(A.authenticate, srv.engine, name, str(form.get("password") or ""))
        if user is None:
            until = await run_in_threadpool(fail, name, src)
            await run_in_threadpool(lambda: srv.audit.record("login_failed", username=name, role=None,
                                                             source=src, status=401, now=True))
            msg = P.text("locked", en, m=minutes(until)) if until else P.text("bad_login", en)
            return page(request, "login", "login", en=en, status=429 if until else 401, csrf=tok, username=name,
                        next=nxt, message=msg)
        return await _open_session(request, user, src, nxt, "password")

    async def _open_session(request, user: A.User, src: str, nxt: str, detail: str) -> Response:
        def work():
            A.clear_failures(srv.engine, "user", user.name_key)
            token, _ = A.create_session(srv.engine, user, src, hours=srv.cfg.session_hours)
            srv.audit.record("login", username=user.username, role=user.role, source=src, detail=detail, now=True)
            return token
        token = await run_in_threadpool(work)
        resp = RedirectResponse(nxt if nxt != "/" else home_path(user), status_code=303, headers=SECURITY_HEADERS)
        srv.set_session_cookie(request, resp, token)
        return resp

    async def logout(request: Request) -> Response:
        form = await request.form()
        token = request.cookies.get(SESSION_COOKIE, "")
        sess = await run_in_threadpool(A.session_user, srv.engine, token) if token else None
        if sess is None:
            return RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        user, csrf, _via = sess
        if not _same(str(form.get("csrf") or ""), csrf):
            return page(request, "message", "logout", en=_en(request, form), status=403,
                        message=P.text("csrf", _en(request, form)))

        def work():
            A.end_session(srv.engine, token)
            srv.forget_session(token)
            srv.audit.record("logout", username=user.username, role=user.role, source=srv.source(request), now=True)
        await run_in_threadpool(work)
        resp = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=srv.secure(request))
        return resp

    async def activate(request: Request) -> Response:
        en = _en(request)
        tok, fresh = pre_csrf(request)
        if request.method == "GET":
            return page(request, "activate", "activate", en=en, csrf=tok, new_csrf_cookie=fresh)
        form = await request.form()
        en = _en(request, form)
        name = str(form.get("username") or "").strip()[:200]
        src = srv.source(request)
        if fresh or not _same(str(form.get("csrf") or ""), tok):
            return page(request, "activate", "activate", en=en, status=403, csrf=tok, username=name,
                        message=P.text("csrf", en), new_csrf_cookie=fresh)
        new, confirm = str(form.get("new_password") or ""), str(form.get("confirm") or "")
        if new != confirm:
            return page(request, "activate", "activate", en=en, status=400, csrf=tok, username=name,
                        message=P.text("mismatch", en))
        try:
            A.check_password_rules(new)
        except A.AccountError as exc:
            return page(request, "activate", "activate", en=en, status=400, csrf=tok, username=name,
                        message=str(exc))
        until = await run_in_threadpool(locked, name, src)
        if until:
            await run_in_threadpool(lambda: srv.audit.record("login_locked", username=name, role=None, source=src,
                                                             status=429, detail="activation", now=True))
            return page(request, "activate", "activate", en=en, status=429, csrf=tok, username=name,
                        message=P.text("locked", en, m=minutes(until)))
        async with srv.hash_limiter:
            user = await run_in_threadpool(A.activate, srv.engine, name, str(form.get("code") or ""), new)
        if user is None:
            until = await run_in_threadpool(fail, name, src)
            await run_in_threadpool(lambda: srv.audit.record("activation_failed", username=name, role=None,
                                                             source=src, status=401, now=True))
            msg = P.text("locked", en, m=minutes(until)) if until else P.text("bad_code", en)
            return page(request, "activate", "activate", en=en, status=429 if until else 401, csrf=tok,
                        username=name, message=msg)
        await run_in_threadpool(lambda: srv.audit.record("activation", username=user.username, role=user.role,
                                                         source=src, now=True))
        return await _open_session(request, user, src, "/", "activation")

    async def password(request: Request) -> Response:
        auth = await run_in_threadpool(srv.authenticate, request)
        if isinstance(auth, Response):
            return auth
        if auth is None:
            return RedirectResponse("/login?next=/password", status_code=303, headers=SECURITY_HEADERS)
        en = _en(request)
        if auth.via == "sso":
            return page(request, "message", "change", en=en, message=P.text("sso_no_password", en))
        if request.method == "GET":
            return page(request, "password", "change", en=en, csrf=auth.csrf)
        form = await request.form()
        en = _en(request, form)
        if not _same(str(form.get("csrf") or ""), auth.csrf):
            return page(request, "password", "change", en=en, status=403, csrf=auth.csrf,
                        message=P.text("csrf", en))
        new, confirm = str(form.get("new_password") or ""), str(form.get("confirm") or "")
        if new != confirm:
            return page(request, "password", "change", en=en, status=400, csrf=auth.csrf,
                        message=P.text("mismatch", en))
        src = srv.source(request)
        try:
            async with srv.hash_limiter:
                ok = await run_in_threadpool(A.change_password, srv.engine, auth.user.username,
                                             str(form.get("current") or ""), new)
        except A.AccountError as exc:
            return page(request, "password", "change", en=en, status=400, csrf=auth.csrf, message=str(exc))
        if not ok:
            await run_in_threadpool(fail, auth.user.username, src)
            return page(request, "password", "change", en=en, status=401, csrf=auth.csrf,
                        message=P.text("bad_current", en))
        await run_in_threadpool(lambda: srv.audit.record("password_changed", username=auth.user.username,
                                                         role=auth.user.role, source=src, now=True))
        return page(request, "message", "change", en=en, message=P.text("changed", en), ok=True)

    return [Route("/login", login, methods=["GET", "POST"]), Route("/logout", logout, methods=["POST"]),
            Route("/activate", activate, methods=["GET", "POST"]),
            Route("/password", password, methods=["GET", "POST"])]
