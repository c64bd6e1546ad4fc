"""Fixtures of the console tests: the small two-station archive (tests.support.archive) with supply meters
and a month of operations data (tests.web.world), accounts of several roles, and logged-in TestClients."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gridcare.api.app import create_app
from gridcare.config import Settings
from gridcare.security import risk
from gridcare.security.middleware import SESSION_COOKIE
from gridcare.security.models import SessionChannel
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from tests.security.helpers import Account, make_staff, token_for
from tests.support.archive import build_small_archive
from tests.web.world import World, add_supply_meters, build_operations

ROLES: dict[str, tuple[str, str]] = {
    "manager": ("manager", "C01"),
    "operator_a": ("operator", "S010101"),
    "analyst_b": ("analyst", "S010102"),
    "auditor": ("audit_admin", "C01"),
    "secadmin": ("security_admin", "C01"),
    "sysadmin": ("system_admin", "C01"),
}
"""Test accounts: name -> (role, organisation code)."""


@dataclass
class Console:
    app: FastAPI
    settings: Settings
    database: Database
    world: World | None
    accounts: dict[str, Account] = field(default_factory=dict)

    def account(self, who: str) -> Account:
        """The account ``who`` of :data:`ROLES`, created on first use (Argon2 hashing is slow)."""
        if who not in self.accounts:
            role, org = ROLES[who]
            self.accounts[who] = make_staff(self.database, self.settings, who, [role], org)
        return self.accounts[who]

    def client(self, who: str) -> TestClient:
        """A client logged in (console session cookie) as ``who``; redirects are not followed."""
        token = token_for(self.database, self.settings, self.account(who), SessionChannel.CONSOLE)
        client = TestClient(self.app, follow_redirects=False)
        client.cookies.set(SESSION_COOKIE, token)
        return client


def _console(settings: Settings, database: Database, operations: bool) -> Console:
    with transaction(database.sessions) as session:
        build_small_archive(session)
    risk.configure(settings)
    world = None
    if operations:
        add_supply_meters(database)
        world = build_operations(settings, database)
    accounts = {
        name: make_staff(database, settings, name, [role], org) for name, (role, org) in ROLES.items()
    }
    return Console(create_app(settings, database), settings, database, world, accounts)


@pytest.fixture
def console(settings: Settings, database: Database) -> Console:
    """The small archive with a month of operations data, and its accounts."""
    return _console(settings, database, operations=True)


@pytest.fixture
def bare_console(settings: Settings, database: Database) -> Console:
    """The small archive only: no readings, collection, line loss, alerts or bills yet."""
    return _console(settings, database, operations=False)
