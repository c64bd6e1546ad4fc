"""Login and one's own account: staff and customer login, logout, password change, two-factor enrolment."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from gridcare.api.deps import AccountPrincipal, DatabaseDep, SettingsDep
from gridcare.api.routes.archives import customer_out
from gridcare.api.schemas import CustomerOut
from gridcare.archives.models import Customer
from gridcare.security import login as login_service
from gridcare.security.middleware import SecurityRuntime, clear_session_cookie, client_address
from gridcare.security.models import SessionChannel, User, as_beijing
from gridcare.security.principal import Principal

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp_code: str | None = Field(default=None, max_length=10, description="动态码: 6 digits")


class CustomerLoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, description="account name (usually the 户号)")
    password: str = Field(min_length=1, max_length=256)


class AccountOut(BaseModel):
    username: str
    roles: list[str]
    permissions: list[str]
    org_id: int | None
    customer_no: str | None
    pending: list[str] = Field(description="change_password / enrol_totp: to do before anything else")


class LoginOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown once")
    token_type: str = "bearer"
    expires_at: datetime
    account: AccountOut


class MeOut(AccountOut):
    customer: CustomerOut | None = Field(default=None, description="a customer account's own 户 (masked)")


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class TotpSetupOut(BaseModel):
    otpauth_uri: str


class TotpConfirmIn(BaseModel):
    code: str = Field(min_length=6, max_length=10)


def account_out(principal: Principal) -> AccountOut:
    return AccountOut(
        username=principal.username,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
        org_id=principal.org_id,
        customer_no=principal.customer_no,
        pending=sorted(principal.pending),
    )


def _runtime(request: Request) -> SecurityRuntime:
    runtime: SecurityRuntime = request.app.state.security
    return runtime


def _login(
    request: Request, db: DatabaseDep, settings: SettingsDep, username: str, password: str, code: str | None,
    customer: bool,
) -> LoginOut:  # fmt: skip
    client = client_address(request.scope)
    if not _runtime(request).login_allowed(client, username):
        raise HTTPException(429, detail="too many login attempts, wait a minute 登录尝试过于频繁")
    with db.sessions() as session:
        try:
            result = login_service.login(
                session,
                settings,
                username,
                password,
                code,
                customer=customer,
                channel=SessionChannel.API,
                source=client,
            )
        except login_service.LoginFailed as exc:
            raise HTTPException(401, detail=login_service.LOGIN_FAILED_MESSAGE) from exc
        return LoginOut(
            token=result.token,
            expires_at=as_beijing(result.session.expires_at),
            account=account_out(result.principal),
        )


@router.post("/login", response_model=LoginOut)
def staff_login(body: LoginIn, request: Request, db: DatabaseDep, settings: SettingsDep) -> LoginOut:
    """Staff login (内部员工): password and, for administrators, the two-factor code."""
    return _login(request, db, settings, body.username, body.password, body.totp_code, customer=False)


@router.post("/customer-login", response_model=LoginOut)
def customer_login(
    body: CustomerLoginIn, request: Request, db: DatabaseDep, settings: SettingsDep
) -> LoginOut:
    """Customer self-service login (客户自助): the account sees only its own 户."""
    return _login(request, db, settings, body.username, body.password, None, customer=True)


@router.post("/logout", status_code=204)
def logout(principal: AccountPrincipal, request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    """End this session on the server; the token stops working at once."""
    with db.sessions() as session:
        login_service.logout(session, principal)
        session.commit()
    response = Response(status_code=204)
    if getattr(request.state, "auth_via", "") == "cookie":
        response.headers.append("set-cookie", clear_session_cookie(settings))
    return response


@router.get("/me", response_model=MeOut)
def me(principal: AccountPrincipal, db: DatabaseDep) -> MeOut:
    """The logged-in account; a customer account also gets its own 户 (personal data masked)."""
    out = MeOut(**account_out(principal).model_dump())
    if principal.customer_no:
        with db.sessions() as session:
            user = session.get(User, principal.user_id)
            customer = session.get(Customer, user.customer_id) if user else None
            if customer is not None:
                out.customer = customer_out(customer)
    return out


@router.post("/password", status_code=204)
def change_password(
    body: PasswordIn, principal: AccountPrincipal, db: DatabaseDep, settings: SettingsDep
) -> None:
    """Change one's own password (8-128 characters, not a common one, no site word or username);
    the account's other sessions end."""
    with db.sessions() as session:
        try:
            login_service.change_password(
                session, settings, principal, body.current_password, body.new_password
            )
        except login_service.PasswordChangeFailed as exc:
            session.commit()  # keeps the audit record of a wrong current password
            raise HTTPException(422, detail=str(exc)) from exc
        session.commit()


@router.post("/totp/setup", response_model=TotpSetupOut)
def totp_setup(principal: AccountPrincipal, db: DatabaseDep) -> TotpSetupOut:
    """Start two-factor enrolment: load the URI into an authenticator app, then confirm with a code."""
    with db.sessions() as session:
        try:
            uri = login_service.start_totp_enrolment(session, principal)
        except ValueError as exc:
            raise HTTPException(409, detail=str(exc)) from exc
        session.commit()
    return TotpSetupOut(otpauth_uri=uri)


@router.post("/totp/confirm", status_code=204)
def totp_confirm(body: TotpConfirmIn, principal: AccountPrincipal, db: DatabaseDep) -> None:
    """Finish two-factor enrolment with the authenticator's current code."""
    with db.sessions() as session:
        try:
            login_service.confirm_totp_enrolment(session, principal, body.code)
        except ValueError as exc:
            raise HTTPException(422, detail=str(exc)) from exc
        session.commit()
