"""Account administration (manage_users) and the audited full view of a customer's personal data
(export_personal_data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from gridcare.api.deps import ObjectId, PageNo, Requires, SessionDep, SettingsDep
from gridcare.api.schemas import PageOut
from gridcare.security import accounts
from gridcare.security.models import User, as_beijing
from gridcare.security.personal import view_personal_data
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission, Role, RoleConflict
from gridcare.security.sessions import roles_of

router = APIRouter(prefix="/users", tags=["users"])
personal_router = APIRouter(tags=["personal data"])

ManageUsers = Annotated[Principal, Requires(Permission.MANAGE_USERS)]
ExportPersonal = Annotated[Principal, Requires(Permission.EXPORT_PERSONAL_DATA)]


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    kind: str
    roles: list[str]
    org_id: int | None
    customer_id: int | None
    disabled: bool
    locked_until: datetime | None
    must_change_password: bool
    two_factor: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreateIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    kind: Literal["staff", "customer"] = "staff"
    roles: list[Role] = Field(default_factory=list, description="staff roles (not the administrator roles)")
    org_code: str | None = Field(default=None, max_length=32, description="staff: the organisation's code")
    customer_no: str | None = Field(default=None, max_length=20, description="customer: the 户号")
    display_name: str = Field(default="", max_length=100)


class NewUserOut(BaseModel):
    user: UserOut
    one_time_password: str = Field(description="shown once; must be changed at the first login")
    totp_uri: str | None = Field(description="otpauth:// URI for the authenticator app, when required")


class RolesIn(BaseModel):
    roles: list[Role]


class OneTimePasswordOut(BaseModel):
    one_time_password: str


class TotpUriOut(BaseModel):
    totp_uri: str


class PersonalOut(BaseModel):
    """Unmasked personal data; every response is an audited view."""

    customer_no: str
    name: str
    id_number: str
    phone: str
    address: str


def user_out(session: SessionDep, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        kind=user.kind.value,
        roles=sorted(r.value for r in roles_of(session, user.id)),
        org_id=user.org_id,
        customer_id=user.customer_id,
        disabled=user.disabled,
        locked_until=as_beijing(user.locked_until) if user.locked_until else None,
        must_change_password=user.must_change_password,
        two_factor=bool(user.totp_secret and user.totp_confirmed),
        created_at=as_beijing(user.created_at),
        last_login_at=as_beijing(user.last_login_at) if user.last_login_at else None,
    )


def _bad_input(exc: ValueError) -> HTTPException:
    return HTTPException(status_code=422, detail=str(exc))


@router.get("", response_model=PageOut[UserOut])
def list_users(
    session: SessionDep,
    principal: ManageUsers,
    page: PageNo = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PageOut[UserOut]:
    """Accounts in the caller's organisation scope."""
    items, total = accounts.list_users(session, principal, page, page_size)
    return PageOut(items=[user_out(session, u) for u in items], total=total, page=page, page_size=page_size)


@router.post("", response_model=NewUserOut, status_code=201)
def create_user(
    body: UserCreateIn, session: SessionDep, settings: SettingsDep, principal: ManageUsers
) -> NewUserOut:
    """Create a staff account (organisation + roles) or a customer's self-service account."""
    try:
        if body.kind == "customer":
            if not body.customer_no:
                raise accounts.AccountError("customer_no: required for a customer account")
            creds = accounts.create_customer_account(
                session, principal, body.username, body.customer_no, settings
            )
        else:
            if not body.org_code:
                raise accounts.AccountError("org_code: required for a staff account")
            creds = accounts.create_staff(
                session, principal, body.username, body.roles, body.org_code, settings, body.display_name
            )
    except (accounts.AccountError, RoleConflict) as exc:
        raise _bad_input(exc) from exc
    out = NewUserOut(
        user=user_out(session, creds.user), one_time_password=creds.one_time_password, totp_uri=creds.totp_uri
    )
    session.commit()
    return out


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: ObjectId, session: SessionDep, principal: ManageUsers) -> UserOut:
    return user_out(session, accounts.get_user(session, principal, user_id))


@router.put("/{user_id}/roles", response_model=UserOut)
def set_roles(user_id: ObjectId, body: RolesIn, session: SessionDep, principal: ManageUsers) -> UserOut:
    """Replace the account's roles (三员分立 and customer-only rules apply)."""
    try:
        user = accounts.set_roles(session, principal, user_id, body.roles)
    except (accounts.AccountError, RoleConflict) as exc:
        raise _bad_input(exc) from exc
    out = user_out(session, user)
    session.commit()
    return out


@router.post("/{user_id}/disable", response_model=UserOut)
def disable(user_id: ObjectId, session: SessionDep, principal: ManageUsers) -> UserOut:
    """Disable the account; its sessions end at once."""
    out = user_out(session, accounts.set_disabled(session, principal, user_id, True))
    session.commit()
    return out


@router.post("/{user_id}/enable", response_model=UserOut)
def enable(user_id: ObjectId, session: SessionDep, principal: ManageUsers) -> UserOut:
    out = user_out(session, accounts.set_disabled(session, principal, user_id, False))
    session.commit()
    return out


@router.post("/{user_id}/unlock", response_model=UserOut)
def unlock(user_id: ObjectId, session: SessionDep, principal: ManageUsers) -> UserOut:
    """Lift a lockout after failed logins."""
    out = user_out(session, accounts.unlock(session, principal, user_id))
    session.commit()
    return out


@router.post("/{user_id}/reset-password", response_model=OneTimePasswordOut)
def reset_password(user_id: ObjectId, session: SessionDep, principal: ManageUsers) -> OneTimePasswordOut:
    """A new one-time password (shown once); the account's sessions end."""
    password = accounts.reset_password(session, principal, user_id)
    session.commit()
    return OneTimePasswordOut(one_time_password=password)


@router.post("/{user_id}/reset-totp", response_model=TotpUriOut)
def reset_totp(user_id: ObjectId, session: SessionDep, principal: ManageUsers) -> TotpUriOut:
    """A new two-factor secret (its otpauth:// URI is shown once); the account's sessions end."""
    uri = accounts.reset_totp(session, principal, user_id)
    session.commit()
    return TotpUriOut(totp_uri=uri)


@personal_router.get("/customers/{customer_no}/personal", response_model=PersonalOut)
def personal_data(
    customer_no: str,
    session: SessionDep,
    principal: ExportPersonal,
    purpose: Annotated[str, Query(max_length=100, description="why the full data is needed (audited)")] = "",
) -> PersonalOut:
    """The customer's unmasked ID number, phone and address. Every call is audited and counts toward the
    bulk-export risk warning."""
    data = view_personal_data(session, principal, customer_no, purpose)
    session.commit()
    return PersonalOut(
        customer_no=data.customer_no,
        name=data.name,
        id_number=data.id_number,
        phone=data.phone,
        address=data.address,
    )
