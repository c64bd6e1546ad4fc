"""Login: two factors with replay protection, lockout, separate staff and customer paths, first-login
password change and password age."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from gridcare.config import Settings
from gridcare.security import login, totp
from gridcare.security.models import AuditRecord, User
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING
from tests.security.helpers import PASSWORD, make_customer, make_staff

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=BEIJING)


def _login(db: Database, settings: Settings, username: str, password: str, code: str | None = None, **kw):  # type: ignore[no-untyped-def]
    with db.sessions() as session:
        return login.login(session, settings, username, password, code, source="10.0.0.7", **kw)


def _failure_reasons(db: Database) -> list[str]:
    with db.sessions() as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "auth.login", AuditRecord.result == "failure")
        ).all()
        return [r.detail for r in rows]


def test_totp_code_is_single_use_per_step() -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, T0)
    step = totp.match_step(secret, code, T0, None)
    assert step == totp.step_of(T0)
    assert totp.match_step(secret, code, T0, step) is None  # replay in the same step
    assert totp.match_step(secret, code, T0 + timedelta(seconds=30), step) is None  # and a step later
    previous = totp.code_at(secret, T0 - timedelta(seconds=30))
    assert totp.match_step(secret, previous, T0, step) is None  # an older code after a newer one
    assert totp.match_step(secret, previous, T0, None) == step - 1  # one step of drift is allowed
    assert totp.match_step(secret, totp.code_at(secret, T0 - timedelta(seconds=90)), T0, None) is None
    assert totp.match_step(secret, "12345", T0, None) is None
    assert totp.provisioning_uri(secret, "root").startswith("otpauth://totp/gridcare:root?secret=")


def test_admin_login_needs_the_code_and_refuses_a_replay(settings: Settings, archive: Database) -> None:
    admin = make_staff(archive, settings, "secadmin", ["security_admin"])
    assert admin.totp_secret is not None
    with pytest.raises(login.LoginFailed):
        _login(archive, settings, "secadmin", PASSWORD, None, now=T0)
    code = totp.code_at(admin.totp_secret, T0)
    result = _login(archive, settings, "secadmin", PASSWORD, code, now=T0)
    assert result.principal.roles == {"security_admin"}
    assert result.principal.pending == frozenset()
    with pytest.raises(login.LoginFailed):
        _login(archive, settings, "secadmin", PASSWORD, code, now=T0 + timedelta(seconds=5))
    assert _failure_reasons(archive) == [
        '{"reason":"missing two-factor code"}',
        '{"reason":"wrong or reused two-factor code"}',
    ]
    next_code = totp.code_at(admin.totp_secret, T0 + timedelta(seconds=30))
    assert _login(archive, settings, "secadmin", PASSWORD, next_code, now=T0 + timedelta(seconds=30))


def test_lockout_after_n_failures_for_m_minutes(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "op1", ["operator"], "S010101")
    for i in range(settings.lockout_attempts):
        with pytest.raises(login.LoginFailed) as failed:
            _login(archive, settings, "op1", "wrong-password!", now=T0 + timedelta(seconds=i))
        assert failed.value.reason == "wrong password"
    with archive.sessions() as session:
        user = session.scalar(select(User).where(User.username == "op1"))
        assert user is not None
        assert user.locked_until is not None
    locked_for = timedelta(minutes=settings.lockout_minutes)
    # The right password does not open a locked account ...
    with pytest.raises(login.LoginFailed) as failed:
        _login(archive, settings, "op1", PASSWORD, now=T0 + locked_for - timedelta(seconds=10))
    assert failed.value.reason == "locked"
    # ... until the lockout runs out.
    result = _login(archive, settings, "op1", PASSWORD, now=T0 + locked_for + timedelta(seconds=10))
    assert result.principal.username == "op1"
    with archive.sessions() as session:
        actions = session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)).all()
    assert actions.count("auth.lockout") == 1


def test_failures_below_the_limit_reset_on_success(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "op1", ["operator"], "S010101")
    for _ in range(settings.lockout_attempts - 1):
        with pytest.raises(login.LoginFailed):
            _login(archive, settings, "op1", "wrong-password!", now=T0)
    _login(archive, settings, "op1", PASSWORD, now=T0)
    for _ in range(settings.lockout_attempts - 1):
        with pytest.raises(login.LoginFailed):
            _login(archive, settings, "op1", "wrong-password!", now=T0)
    assert _login(archive, settings, "op1", PASSWORD, now=T0)


def test_staff_and_customer_login_paths_are_separate(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    make_customer(archive, settings, "cust1", "0000000001")
    with pytest.raises(login.LoginFailed) as failed:
        _login(archive, settings, "cust1", PASSWORD)
    assert failed.value.reason == "wrong login path"
    with pytest.raises(login.LoginFailed):
        _login(archive, settings, "analyst1", PASSWORD, customer=True)
    customer = _login(archive, settings, "cust1", PASSWORD, customer=True).principal
    assert (customer.customer_no, customer.org_paths, customer.permissions) == ("0000000001", (), frozenset())
    with pytest.raises(login.LoginFailed) as failed:
        _login(archive, settings, "nobody", PASSWORD)
    assert failed.value.reason == "unknown user"
    assert str(failed.value) == login.LOGIN_FAILED_MESSAGE  # the caller cannot tell the cases apart


def test_one_time_password_must_be_changed(settings: Settings, archive: Database) -> None:
    account = make_staff(archive, settings, "analyst1", ["analyst"], ready=False)
    result = _login(archive, settings, "analyst1", account.password)
    assert result.principal.pending == {"change_password"}
    with archive.sessions() as session:
        with pytest.raises(login.PasswordChangeFailed, match="common passwords"):
            login.change_password(session, settings, result.principal, account.password, "password123")
        with pytest.raises(login.PasswordChangeFailed, match="current_password"):
            login.change_password(session, settings, result.principal, "not-it-at-all", "Zr8#plm-Qw2x")
        login.change_password(session, settings, result.principal, account.password, "Zr8#plm-Qw2x")
        session.commit()
    assert _login(archive, settings, "analyst1", "Zr8#plm-Qw2x").principal.pending == frozenset()
    with pytest.raises(login.LoginFailed):
        _login(archive, settings, "analyst1", account.password)


def test_password_maximum_age(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    dengbao = settings.model_copy(update={"password_max_age_days": 90})
    assert _login(archive, dengbao, "analyst1", PASSWORD).principal.pending == frozenset()
    later = datetime.now(BEIJING) + timedelta(days=91)
    assert _login(archive, dengbao, "analyst1", PASSWORD, now=later).principal.pending == {"change_password"}
    assert _login(archive, settings, "analyst1", PASSWORD, now=later).principal.pending == frozenset()


def test_totp_policy_for_all_staff_needs_enrolment(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    strict = settings.model_copy(update={"totp_required_for_all": True})
    principal = _login(archive, strict, "analyst1", PASSWORD, now=T0).principal
    assert principal.pending == {"enrol_totp"}
    with archive.sessions() as session:
        uri = login.start_totp_enrolment(session, principal)
        session.commit()
    secret = uri.split("secret=")[1].split("&")[0]
    with archive.sessions() as session:
        with pytest.raises(ValueError, match="wrong two-factor code"):
            login.confirm_totp_enrolment(session, principal, "000000", now=T0)
        login.confirm_totp_enrolment(session, principal, totp.code_at(secret, T0), now=T0)
        session.commit()
    later = T0 + timedelta(minutes=1)
    with pytest.raises(login.LoginFailed):
        _login(archive, strict, "analyst1", PASSWORD, now=later)
    assert (
        _login(
            archive, strict, "analyst1", PASSWORD, totp.code_at(secret, later), now=later
        ).principal.pending
        == frozenset()
    )
    # With the factor set up the code is asked for even when the policy is off again.
    with pytest.raises(login.LoginFailed):
        _login(archive, settings, "analyst1", PASSWORD, now=later + timedelta(minutes=1))


def test_disabled_account_cannot_log_in(settings: Settings, archive: Database) -> None:
    from gridcare.security import accounts
    from gridcare.security.principal import SYSTEM

    account = make_staff(archive, settings, "op1", ["operator"], "S010101")
    with archive.sessions() as session:
        accounts.set_disabled(session, SYSTEM, account.id, True)
        session.commit()
    with pytest.raises(login.LoginFailed) as failed:
        _login(archive, settings, "op1", PASSWORD)
    assert failed.value.reason == "disabled"
