"""HTTP hardening: security headers, CSRF (double submit), rate limits, console login and logout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gridcare.api.app import create_app
from gridcare.config import ConfigError, Settings, load_settings
from gridcare.security.ratelimit import RateLimiter
from gridcare.storage.database import Database
from tests.security.helpers import PASSWORD, bearer, make_staff, token_for


def _csrf(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    assert client.cookies.get("gridcare_csrf") == token.group(1)
    return token.group(1)


def test_login_page_tells_how_to_make_the_first_account(client: TestClient) -> None:
    page = client.get("/login")
    assert 'id="no-accounts"' in page.text and "gridcare admin create" in page.text


def test_security_headers(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in r.headers  # no TLS here
    page = client.get("/login")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    cookie = page.headers["set-cookie"]
    assert "gridcare_csrf=" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie


def test_tls_turns_on_hsts_and_secure_cookies(settings: Settings, archive: Database, tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("cert")
    key.write_text("key")
    tls = settings.model_copy(update={"tls_cert_file": cert, "tls_key_file": key})
    make_staff(archive, tls, "analyst1", ["analyst"])
    with TestClient(create_app(tls, archive), base_url="https://testserver") as c:
        r = c.get("/login")
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "Secure" in r.headers["set-cookie"]
        token = _csrf(c)
        r = c.post(
            "/login",
            data={"username": "analyst1", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("gridcare_session=")
        assert all(flag in cookie for flag in ("HttpOnly", "SameSite=Strict", "Secure"))


def test_prod_refuses_to_start_without_tls(tmp_path: Path, archive: Database) -> None:
    prod = load_settings(
        environ={}, data_dir=tmp_path, profile="prod", database_url="postgresql+psycopg://x@h/db"
    )
    with pytest.raises(ConfigError, match="tls_cert_file: the prod profile refuses to start without TLS"):
        create_app(prod, archive)
    with pytest.raises(ConfigError, match="tls_key_file"):
        load_settings(environ={}, data_dir=tmp_path, tls_cert_file=tmp_path / "c.pem")
    missing = load_settings(
        environ={}, data_dir=tmp_path, tls_cert_file=tmp_path / "c.pem", tls_key_file=tmp_path / "k.pem"
    )
    with pytest.raises(ConfigError, match=r"tls_cert_file: .* not found"):
        missing.check_can_serve()


def test_console_login_flow(settings: Settings, archive: Database, client: TestClient) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    home = client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/login")
    page = client.get("/login")
    assert 'id="no-accounts"' not in page.text
    assert "用户名" in page.text and "Username" in page.text and 'name="totp_code"' in page.text
    assert page.text.index("登录") < page.text.index("Log in")
    token = _csrf(client)
    bad = client.post(
        "/login", data={"username": "analyst1", "password": "nope-nope-nope", "csrf_token": token}
    )
    assert bad.status_code == 401 and "invalid credentials" in bad.text
    ok = client.post(
        "/login",
        data={
            "username": "analyst1",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert (ok.status_code, ok.headers["location"]) == (303, "/")  # no open redirect
    assert 'id="count-customers">4<' in client.get("/").text
    # logout needs the CSRF token, then the session is gone on the server
    assert client.post("/logout", follow_redirects=False).status_code == 403
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    session_cookie = ok.cookies.get("gridcare_session")
    assert session_cookie
    client.cookies.set("gridcare_session", session_cookie)  # replaying the old cookie does not help
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 401


def test_console_first_login_changes_the_password(
    settings: Settings, archive: Database, client: TestClient
) -> None:
    account = make_staff(archive, settings, "analyst1", ["analyst"], ready=False)
    token = _csrf(client)
    r = client.post(
        "/login",
        data={"username": "analyst1", "password": account.password, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/login/password"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login/password"
    assert client.get("/api/v1/customers").status_code == 403  # pending: own account only
    assert client.get("/api/v1/auth/me").json()["pending"] == ["change_password"]
    form = {"current_password": account.password, "new_password": "Zr8#plm-Qw2x", "new_password_again": "x"}
    assert client.post("/login/password", data={**form, "csrf_token": token}).status_code == 422
    form["new_password_again"] = "Zr8#plm-Qw2x"
    done = client.post("/login/password", data={**form, "csrf_token": token}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/")
    assert client.get("/").status_code == 200


def test_console_page_needs_read_data(settings: Settings, archive: Database, client: TestClient) -> None:
    token = token_for(archive, settings, make_staff(archive, settings, "sysadmin", ["system_admin"]))
    client.cookies.set("gridcare_session", token)
    r = client.get("/")
    assert r.status_code == 403 and "无权访问" in r.text


def test_csrf_for_cookie_sessions(settings: Settings, archive: Database, client: TestClient) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    token = _csrf(client)
    client.post("/login", data={"username": "analyst1", "password": PASSWORD, "csrf_token": token})
    # A cookie-authenticated unsafe request without the echoed token is refused before reaching the route
    assert client.post("/api/v1/auth/logout").status_code == 403
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "forged" * 8}).status_code == 403
    assert client.get("/api/v1/auth/me").status_code == 200  # safe methods need no token
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
    # Login form without the token
    fresh = client.cookies.get("gridcare_csrf")
    assert fresh
    assert client.post("/login", data={"username": "analyst1", "password": PASSWORD}).status_code == 403
    assert (
        client.post(
            "/login", data={"username": "analyst1", "password": PASSWORD, "csrf_token": "x"}
        ).status_code
        == 403
    )


def test_bearer_clients_need_no_csrf_token(settings: Settings, archive: Database, client: TestClient) -> None:
    token = token_for(archive, settings, make_staff(archive, settings, "analyst1", ["analyst"]))
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204


def test_login_rate_limit_per_address_and_username(
    settings: Settings, archive: Database, client: TestClient
) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    client.app.state.security.login_limiter.clock = lambda: 0.0  # type: ignore[attr-defined]  # no refill
    codes = [
        client.post(
            "/api/v1/auth/login", json={"username": "analyst1", "password": "wrong-password!"}
        ).status_code
        for _ in range(settings.login_rate_per_minute + 1)
    ]
    assert codes[:-1] == [401] * settings.login_rate_per_minute
    assert codes[-1] == 429
    # the right password is refused too while the bucket is empty; another username is not limited
    assert (
        client.post("/api/v1/auth/login", json={"username": "analyst1", "password": PASSWORD}).status_code
        == 429
    )
    assert (
        client.post("/api/v1/auth/login", json={"username": "other", "password": PASSWORD}).status_code == 401
    )


def test_api_rate_limit(settings: Settings, archive: Database) -> None:
    tight = settings.model_copy(update={"api_rate_per_minute": 5})
    with TestClient(create_app(tight, archive)) as c:
        c.app.state.security.api_limiter.clock = lambda: 0.0  # type: ignore[attr-defined]  # no refill
        codes = [c.get("/api/v1/health").status_code for _ in range(7)]
        assert codes == [200] * 5 + [429, 429]
        r = c.get("/api/v1/health")
        assert r.headers["retry-after"] == "12"  # one token per 60/5 s
        assert c.get("/login").status_code == 200  # the console is not counted


def test_token_bucket_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(capacity=3, period_s=60, clock=lambda: now[0])
    assert [limiter.allow("k") for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("k") == 20
    now[0] += 20
    assert limiter.allow("k") and not limiter.allow("k")
    assert limiter.allow("other")


def test_console_two_factor_enrolment(settings: Settings, archive: Database) -> None:
    from gridcare.security import totp
    from gridcare.timeutil import now_beijing

    strict = settings.model_copy(update={"totp_required_for_all": True})
    make_staff(archive, settings, "analyst1", ["analyst"])  # made before the policy: no factor yet
    with TestClient(create_app(strict, archive)) as c:
        token = _csrf(c)
        r = c.post(
            "/login",
            data={"username": "analyst1", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert c.get("/", follow_redirects=False).headers["location"] == "/login/totp"
        page = c.post("/login/totp", data={"csrf_token": token})
        uri = re.search(r"otpauth://totp/gridcare:analyst1\?secret=([A-Z2-7]+)", page.text)
        assert uri is not None
        wrong = c.post("/login/totp", data={"csrf_token": token, "code": "000000"})
        assert wrong.status_code == 422
        code = totp.code_at(uri.group(1), now_beijing())
        done = c.post("/login/totp", data={"csrf_token": token, "code": code}, follow_redirects=False)
        assert (done.status_code, done.headers["location"]) == (303, "/")
        assert c.get("/").status_code == 200
