"""`gridcare admin`: accounts and keys, run on the server by the operator of the installation.

There are no default accounts: ``gridcare admin create`` makes the first administrator. The command prints a
one-time password (changed at the first login) and, for administrators, the otpauth:// URI of the
two-factor secret. Changes are audited with the actor ``cli:<os user>``.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from gridcare.cli.common import ConfigOption, DataDirOption, console, fail, settings_from
from gridcare.config import Settings
from gridcare.security import accounts, audit, crypto, risk
from gridcare.security.authz import PermissionDenied
from gridcare.security.principal import Principal
from gridcare.security.roles import ROLE_LABELS, Role, RoleConflict
from gridcare.security.sessions import roles_of
from gridcare.storage.database import Database, open_database

app = typer.Typer(help="账户与密钥 Accounts and encryption keys (run on the server).", no_args_is_help=True)

UsernameOption = Annotated[str, typer.Option("--username", "-u", help="Account name.")]


def cli_principal() -> Principal:
    """The operator at the server's shell: full rights, named in the audit trail."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Principal(username=f"cli:{who}"[:64], org_paths=("/",), permissions=frozenset({"*"}))


def open_secured(settings: Settings) -> Database:
    """The installation's database with its keyring bound and the risk thresholds configured."""
    database = open_database(settings)
    crypto.bind_keyring(database.engine, settings.keyring_path)
    risk.configure(settings)
    return database


def _user_id(session: Session, username: str) -> int:
    user = accounts.find_user(session, username)
    if user is None:
        fail(f"username: no account {username!r}")
    return user.id


@app.command()
def create(
    username: UsernameOption,
    role: Annotated[
        list[str],
        typer.Option("--role", "-r", help="Role (repeat for several): " + ", ".join(r.value for r in Role)),
    ],
    org: Annotated[str, typer.Option("--org", help="Code of the organisation the account belongs to.")],
    display_name: Annotated[str, typer.Option("--display-name", help="Name shown in the console.")] = "",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a staff account; prints its one-time password and, for administrators, the TOTP URI."""
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            try:
                creds = accounts.create_staff(
                    session, cli_principal(), username, role, org, settings, display_name
                )
            except (accounts.AccountError, RoleConflict) as exc:
                fail(str(exc))
            except ValueError as exc:  # unknown role name
                fail(f"role: {exc}")
            session.commit()
            labels = ", ".join(ROLE_LABELS[r] for r in sorted(roles_of(session, creds.user.id)))
    finally:
        database.dispose()
    console.print(f"已创建账户 account created: [bold]{username}[/] ({labels}), organisation {org}")
    console.print("一次性密码 one-time password (首次登录须修改 must be changed at first login):")
    typer.echo(creds.one_time_password)
    if creds.totp_uri:
        console.print("动态码密钥 two-factor secret — load into an authenticator app (shown once):")
        typer.echo(creds.totp_uri)


@app.command("create-customer")
def create_customer(
    username: UsernameOption,
    customer_no: Annotated[str, typer.Option("--customer-no", help="户号 of the customer.")],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a customer's self-service account; prints its one-time password."""
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            try:
                creds = accounts.create_customer_account(
                    session, cli_principal(), username, customer_no, settings
                )
            except accounts.AccountError as exc:
                fail(str(exc))
            session.commit()
    finally:
        database.dispose()
    console.print(f"已创建客户账户 customer account created: [bold]{username}[/] -> 户号 {customer_no}")
    typer.echo(creds.one_time_password)


def _account_action(username: str, data_dir: DataDirOption, config: ConfigOption, action: str) -> str:
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    actor = cli_principal()
    try:
        with database.sessions() as session:
            user_id = _user_id(session, username)
            try:
                if action == "reset-password":
                    out = accounts.reset_password(session, actor, user_id)
                elif action == "reset-totp":
                    out = accounts.reset_totp(session, actor, user_id)
                elif action == "disable":
                    accounts.set_disabled(session, actor, user_id, True)
                    out = ""
                elif action == "enable":
                    accounts.set_disabled(session, actor, user_id, False)
                    out = ""
                else:
                    accounts.unlock(session, actor, user_id)
                    out = ""
            except PermissionDenied as exc:
                fail(str(exc))
            session.commit()
            return out
    finally:
        database.dispose()


@app.command("reset-password")
def reset_password(
    username: UsernameOption, data_dir: DataDirOption = None, config: ConfigOption = None
) -> None:
    """New one-time password for the account (its sessions end)."""
    typer.echo(_account_action(username, data_dir, config, "reset-password"))


@app.command("reset-totp")
def reset_totp(username: UsernameOption, data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """New two-factor secret for the account; prints its otpauth:// URI."""
    typer.echo(_account_action(username, data_dir, config, "reset-totp"))


@app.command()
def disable(username: UsernameOption, data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Disable the account; its sessions end at once."""
    _account_action(username, data_dir, config, "disable")
    console.print(f"已停用 disabled: {username}")


@app.command()
def enable(username: UsernameOption, data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Enable a disabled account again."""
    _account_action(username, data_dir, config, "enable")
    console.print(f"已启用 enabled: {username}")


@app.command()
def unlock(username: UsernameOption, data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Lift a lockout after failed logins."""
    _account_action(username, data_dir, config, "unlock")
    console.print(f"已解锁 unlocked: {username}")


@app.command("rotate-key")
def rotate_key(
    retire_old: Annotated[
        bool,
        typer.Option("--retire-old", help="Remove the old keys from the keyring once no value uses them."),
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Add a new data key and re-encrypt every personal-data value under it (all or nothing)."""
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        report = crypto.rotate_key(database.engine, retire_old=retire_old)
        with database.sessions() as session:
            audit.record(
                session,
                cli_principal(),
                "key.rotate",
                f"keyring {settings.keyring_path.name}",
                detail={
                    "key_id": report.new_key_id,
                    "values": report.values,
                    "retired": list(report.retired),
                },
            )
            session.commit()
    finally:
        database.dispose()
    console.print(
        f"新密钥 new key [bold]{report.new_key_id}[/]: {report.values} values re-encrypted "
        f"({', '.join(report.columns)})"
    )
    if report.retired:
        console.print(f"已停用旧密钥 retired keys: {', '.join(report.retired)}")
