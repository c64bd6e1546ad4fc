"""HTTP hardening for the API and the console: authentication from the session token, CSRF protection,
rate limits, security headers, and the handlers that turn security exceptions into 401/403/404.

One pure ASGI middleware does, per request:

1. API rate limit per client address (429 with Retry-After);
2. authentication: ``Authorization: Bearer <token>`` (API clients) or the ``gridcare_session`` cookie
   (console) -> ``request.state.principal``; the route dependencies in ``api/deps.py`` decide 401/403;
3. CSRF (double submit): a request that rides on the session cookie with an unsafe method, and every
   console form post, must echo the ``gridcare_csrf`` cookie in the ``X-CSRF-Token`` header or the
   ``csrf_token`` form field;
4. console guard: console pages redirect to /login when not logged in (or when the password must change);
   the customer self-service pages (/my) to /my/login, their JSON (/my/api/) answers 401; a customer
   session opening the console's home page is sent to its own pages (/my);
5. security headers on every response (CSP, nosniff, frame-ancestors, Referrer-Policy, HSTS under TLS).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers

from gridcare.config import Settings
from gridcare.security import audit, risk, sessions
from gridcare.security.authz import NotInScope, PendingAction, PermissionDenied
from gridcare.security.crypto import bind_keyring
from gridcare.security.principal import Principal
from gridcare.security.ratelimit import RateLimiter
from gridcare.security.roles import Permission
from gridcare.storage.database import Database

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "gridcare_session"
CSRF_COOKIE = "gridcare_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 64 * 1024

API_PREFIX = "/api/"
DOCS_PATHS = ("/api/v1/docs", "/api/v1/openapi.json")
CONSOLE_OPEN_PATHS = ("/login", "/logout", "/static/", "/favicon.ico", "/lang/", "/my/login", "/my/logout")
"""Console paths reachable without a session (the login pages handle their own state; the language switch
only sets a cookie and goes back to a page of this site)."""
MY_PREFIX = "/my"
"""The customer self-service pages (:mod:`gridcare.web.my`)."""
MY_FORMS = ("/my/login", "/my/logout")
CONSOLE_PAGE_PERMISSIONS: dict[str, str] = {"/": Permission.READ_DATA}
"""Console pages that need a permission; pages not listed need only a login."""

CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'; "
    # the home page indents the organisation tree with style attributes
    "style-src 'self' 'unsafe-inline'"
)
DOCS_CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com"
)


@dataclass
class SecurityRuntime:
    """Per-application security state (``app.state.security``)."""

    settings: Settings
    database: Database
    login_limiter: RateLimiter
    api_limiter: RateLimiter

    def login_allowed(self, client: str, username: str) -> bool:
        return self.login_limiter.allow(f"{client}|{username.strip().lower()}")


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _cookies(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for value in headers.getlist("cookie"):
        try:
            jar.load(value)
        except Exception:  # a malformed cookie header is ignored, like a missing one
            continue
    return {k: v.value for k, v in jar.items()}


def _cookie_header(
    name: str, value: str, *, secure: bool, http_only: bool, max_age: int | None = None
) -> str:
    parts = [f"{name}={value}", "Path=/", "SameSite=Strict"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def session_cookie(token: str, settings: Settings) -> str:
    """``Set-Cookie`` value of the console session cookie (HttpOnly, SameSite=Strict, Secure under TLS)."""
    return _cookie_header(
        SESSION_COOKIE,
        token,
        secure=settings.tls_enabled,
        http_only=True,
        max_age=settings.session_lifetime_hours * 3600,
    )


def clear_session_cookie(settings: Settings) -> str:
    return _cookie_header(SESSION_COOKIE, "", secure=settings.tls_enabled, http_only=True, max_age=0)


async def _send_simple(
    send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _json(detail: str) -> bytes:
    import json

    return json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, runtime: SecurityRuntime) -> None:
        self.app = app
        self.runtime = runtime

    def _security_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        csp = DOCS_CSP if path.startswith(DOCS_PATHS[0]) else CSP
        headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if self.runtime.settings.tls_enabled:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        if not path.startswith("/static/"):
            headers.append((b"cache-control", b"no-store"))
        return headers

    def _resolve(self, token: str, source: str) -> Principal | None:
        with self.runtime.database.sessions() as session:
            principal = sessions.resolve(session, token, self.runtime.settings, source=source)
            session.commit()
            return principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = Headers(scope=scope)
        client = client_address(scope)
        security_headers = self._security_headers(path)
        is_api = path.startswith(API_PREFIX)

        if is_api and not self.runtime.api_limiter.allow(f"api|{client}"):
            retry = self.runtime.api_limiter.retry_after(f"api|{client}")
            extra = [*security_headers, (b"retry-after", str(retry).encode())]
            await _send_simple(send, 429, _json("too many requests 请求过于频繁"), "application/json", extra)
            return

        cookies = _cookies(headers)
        csrf_cookie = cookies.get(CSRF_COOKIE, "")
        new_csrf = None
        if len(csrf_cookie) < 32:
            new_csrf = secrets.token_urlsafe(32)
        state = scope.setdefault("state", {})
        state["csrf_token"] = new_csrf or csrf_cookie

        authorization = headers.get("authorization", "")
        bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
        cookie_token = cookies.get(SESSION_COOKIE, "")
        token = bearer or cookie_token
        wants_principal = bool(token) and not path.startswith("/static/")
        principal = await anyio.to_thread.run_sync(self._resolve, token, client) if wants_principal else None
        if principal is not None:
            state["principal"] = principal
            state["auth_via"] = "bearer" if bearer else "cookie"

        console_form = not is_api and path.startswith(("/login", "/logout", *MY_FORMS))
        if method not in SAFE_METHODS and ((cookie_token and not bearer) or console_form):
            receive, ok = await self._check_csrf(headers, receive, csrf_cookie)
            if not ok:
                await _send_simple(
                    send,
                    403,
                    _json("CSRF token missing or wrong 请求校验失败，请刷新页面"),
                    "application/json",
                    security_headers,
                )
                return

        if not is_api and not path.startswith(CONSOLE_OPEN_PATHS):
            is_my = path == MY_PREFIX or path.startswith(MY_PREFIX + "/")
            customer = principal is not None and principal.customer_no is not None
            if principal is None and path.startswith(MY_PREFIX + "/api/"):
                await _send_simple(
                    send, 401, _json("not logged in 未登录"), "application/json", security_headers
                )
                return
            if principal is None or principal.pending:
                login = "/my/login" if is_my or customer else "/login"
                if principal is None:
                    target = login
                else:
                    target = f"{login}/password" if "change_password" in principal.pending else "/login/totp"
                home = path in ("/", MY_PREFIX)
                location = f"{target}?next={quote(path)}" if principal is None and not home else target
                await _send_simple(
                    send, 303, b"", "text/plain", [*security_headers, (b"location", location.encode())]
                )
                return
            if customer and path == "/":
                await _send_simple(
                    send, 303, b"", "text/plain", [*security_headers, (b"location", MY_PREFIX.encode())]
                )
                return
            needed = CONSOLE_PAGE_PERMISSIONS.get(path)
            if needed is not None and not principal.can(needed):
                body = (
                    "<!doctype html><meta charset=utf-8><title>403</title><p>无权访问此页面 — you have no "
                    "permission for this page.</p><form method=post action=/logout>"
                    f"<input type=hidden name=csrf_token value={state['csrf_token']}>"
                    "<button>退出登录 Log out</button></form>"
                ).encode()
                await _send_simple(send, 403, body, "text/html; charset=utf-8", security_headers)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in security_headers if k not in existing]
                if new_csrf is not None and not is_api:
                    cookie = _cookie_header(
                        CSRF_COOKIE, new_csrf, secure=self.runtime.settings.tls_enabled, http_only=False
                    )
                    extra.append((b"set-cookie", cookie.encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _check_csrf(self, headers: Headers, receive: Receive, csrf_cookie: str) -> tuple[Receive, bool]:
        """Compare the echoed token with the cookie; returns a receive that replays a consumed body."""
        if not csrf_cookie:
            return receive, False
        sent = headers.get(CSRF_HEADER, "")
        if sent:
            return receive, hmac.compare_digest(sent, csrf_cookie)
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return receive, False
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                return receive, False
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        fields = parse_qs(body.decode("latin-1"), keep_blank_values=True)
        sent = (fields.get(CSRF_FIELD) or [""])[0]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, bool(sent) and hmac.compare_digest(sent, csrf_cookie)


def route_template(request: Request) -> str:
    """The full path template of the matched route ("/api/v1/customers/{customer_no}"), so that audit
    records name the route, not the values in the URL."""
    path = request.url.path
    template = getattr(request.scope.get("route"), "path", None)
    if not template:
        return path
    rendered = template
    for name, value in request.path_params.items():
        pattern = re.compile(r"\{" + re.escape(name) + r"(:[^}]*)?\}")
        rendered = pattern.sub(str(value).replace("\\", "\\\\"), rendered)
    if not path.endswith(rendered):
        return path
    return path[: len(path) - len(rendered)] + template


def _audit_denial(request: Request, reason: str) -> None:
    runtime: SecurityRuntime | None = getattr(request.app.state, "security", None)
    principal = getattr(request.state, "principal", None)
    if runtime is None or principal is None:
        return
    where = f"{request.method} {route_template(request)}"
    with runtime.database.sessions() as session:
        audit.record(session, principal, "authz.denied", where[:200], audit.DENIED, detail={"reason": reason})
        session.commit()


async def _permission_denied(request: Request, exc: Exception) -> Response:
    await anyio.to_thread.run_sync(_audit_denial, request, str(exc))
    if isinstance(exc, PendingAction):
        detail = {"message": str(exc), "pending": sorted(exc.pending)}
        return JSONResponse({"detail": detail}, status_code=403)
    return JSONResponse({"detail": str(exc)}, status_code=403)


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": f"not found: {exc}"}, status_code=404)


def install_security(app: FastAPI, settings: Settings, database: Database) -> SecurityRuntime:
    """Wire the security layer into ``app``: keyring, risk thresholds, middleware, exception handlers.
    Raises ConfigError when the settings are unsafe to serve (prod without TLS)."""
    from gridcare.archives.queries import NotFound

    settings.check_can_serve()
    bind_keyring(database.engine, settings.keyring_path)
    risk.configure(settings)
    runtime = SecurityRuntime(
        settings=settings,
        database=database,
        login_limiter=RateLimiter(settings.login_rate_per_minute),
        api_limiter=RateLimiter(settings.api_rate_per_minute),
    )
    app.state.security = runtime
    app.add_middleware(SecurityMiddleware, runtime=runtime)
    app.add_exception_handler(PermissionDenied, _permission_denied)
    app.add_exception_handler(PendingAction, _permission_denied)
    app.add_exception_handler(NotInScope, _not_found)
    app.add_exception_handler(NotFound, _not_found)
    return runtime
