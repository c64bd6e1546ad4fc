"""Every API route x every role x an object in / out of the caller's organisation scope.

Routes are enumerated from ``app.routes``, so a new route is covered the day it is added: without login it
must answer 401, for a role without its permission 403, and for an object of another station 404 (no
IDOR). A route with a path parameter this file does not know fails the test until a sample is added to
``OBJECTS`` (an object parameter: one value in scope, one out of scope) or ``FIXED`` (not an object).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridcare.acquisition import service
from gridcare.acquisition.models import JobKind
from gridcare.api.app import create_app
from gridcare.api.deps import ACCOUNT_ONLY, route_requirement
from gridcare.config import Settings, load_settings
from gridcare.security import risk
from gridcare.security.principal import SYSTEM
from gridcare.security.roles import Role
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import transaction
from tests.security.helpers import Account, make_customer, make_staff, principal_of, token_for
from tests.support.archive import STATION_A, STATION_B, build_small_archive

PUBLIC = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/customer-login"),
}
"""The only API routes reachable without a session."""

OBJECTS: dict[str, tuple[str, str]] = {
    "customer_no": ("0000000001", "0000000004"),
    "address": ("201000000001", "201000000004"),
    "code": ("TQ-A", "TQ-B"),
    # filled in by the fixture: ids of objects created at station A / station B
    "user_id": ("", ""),
    "alert_id": ("", ""),
    "job_id": ("", ""),
    "approval_id": ("", ""),
    "change_id": ("", ""),
    "run_id": ("", ""),
    "bill_id": ("", ""),
}
"""Path parameters naming an object: (in scope of a station-A account, out of scope)."""

FIXED: dict[str, str] = {"kind": "customers"}
"""Path parameters that do not name an object (an archive kind, a format)."""

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/api/v1/users/{user_id}/roles"): {"roles": ["operator"]},
    ("POST", "/api/v1/billing/bills/{bill_id}/accept"): {"note": "checked"},
    ("POST", "/api/v1/billing/bills/{bill_id}/void"): {"reason": "matrix"},
    ("POST", "/api/v1/billing/bills/{bill_id}/rebill"): {"reason": "matrix"},
    ("POST", "/api/v1/billing/bills/{bill_id}/waivers"): {"reason": "matrix"},
    ("PUT", "/api/v1/billing/customers/{customer_no}/prepaid"): {},
    # metering assets: bodies valid for the schema but refused by the rules in scope (422, nothing changes)
    ("POST", "/api/v1/meters/{address}/transitions"): {
        "to_status": "stock",
        "effective_on": "2024-01-01",
        "reason": "matrix",
    },
    ("POST", "/api/v1/meters/{address}/replacements"): {
        "new_meter": "201000000002",
        "replaced_at": "2024-01-01T10:00:00+08:00",
        "old_final_kwh": "1.00",
        "new_initial_kwh": "0.00",
        "reason": "matrix",
    },
    ("POST", "/api/v1/meters/{address}/multiplier-changes"): {
        "ct_ratio": "200/5",
        "effective_from": "2999-01-01",
        "reason": "matrix",
    },
    ("POST", "/api/v1/meters/{address}/verifications"): {"verified_on": "2999-01-01", "reason": "matrix"},
    ("POST", "/api/v1/billing/customers/{customer_no}/refunds"): {
        "idempotency_key": "matrix",
        "amount_yuan": 1,
        "reason": "matrix",
    },
}
"""Request bodies needed to get past validation to the scope check."""

ROLES = [r.value for r in Role]


@dataclass
class World:
    client: TestClient
    settings: Settings
    database: Database
    accounts: dict[str, Account]

    def token(self, role: str) -> str:
        return token_for(self.database, self.settings, self.accounts[role])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("matrix") / "data"
    settings = load_settings(environ={}, data_dir=data_dir, api_rate_per_minute=1_000_000)
    database = open_database(settings)
    with transaction(database.sessions) as session:
        build_small_archive(session)
    risk.configure(settings)
    accounts = {
        role: make_staff(database, settings, f"m-{role}", [role], "S010101")
        for role in ROLES
        if role != Role.CUSTOMER
    }
    accounts[Role.CUSTOMER.value] = make_customer(database, settings, "m-customer", "0000000001")
    target_a = make_staff(database, settings, "target-a", ["analyst"], "S010101")
    target_b = make_staff(database, settings, "target-b", ["analyst"], "S010102")
    OBJECTS["user_id"] = (str(target_a.id), str(target_b.id))
    with transaction(database.sessions) as session:
        a = risk.raise_alert(session, "test", "terminal:a", "in scope", org_id=STATION_A)
        b = risk.raise_alert(session, "test", "terminal:b", "out of scope", org_id=STATION_B)
        OBJECTS["alert_id"] = (str(a.id), str(b.id))
    OBJECTS["job_id"] = tuple(  # type: ignore[assignment]
        str(service.request_job(database.sessions(), SYSTEM, JobKind.CLOCK_READ, terminal_address=t).id)
        for t in ("3301-00001", "3301-00002")
    )
    makers = [
        make_staff(database, settings, f"maker-{s}", ["operator"], code)
        for s, code in (("a", "S010101"), ("b", "S010102"))
    ]
    OBJECTS["approval_id"] = tuple(  # type: ignore[assignment]
        str(
            service.request_remote_control(
                database.sessions(), principal_of(database, settings, maker), meter, "trip", "arrears"
            ).id
        )
        for maker, meter in zip(makers, ("201000000001", "201000000004"), strict=True)
    )
    _billing_samples(database, settings)
    with TestClient(create_app(settings, database)) as client:
        yield World(client, settings, database, accounts)
    database.dispose()


def _billing_samples(database: Database, settings: Settings) -> None:
    """A tariff change, a billing run and a bill filed at station A (in scope) and at station B."""
    from gridcare.billing import runs, tariff_store
    from gridcare.billing.models import Bill
    from gridcare.storage.lake import ReadingsLake

    document = '{"tariffs": [{"code": "T", "effective_from": "2024-01-01", "tariff": {"customer_class": '
    document += '"residential", "energy": {"kind": "flat", "price_yuan_per_kwh": 0.5}}}]}'
    changes, run_ids, bill_ids = [], [], []
    for station, code, period in (("a", "S010101", "2024-07"), ("b", "S010102", "2024-06")):
        maker = principal_of(
            database, settings, make_staff(database, settings, f"biller-{station}", ["manager"], code)
        )
        with transaction(database.sessions) as session:
            changes.append(str(tariff_store.request_change(session, maker, document, "json", "matrix").id))
            report = runs.run_billing(session, maker, ReadingsLake(settings.lake_dir), period, "B01")
            run_ids.append(str(report.run_id))
            bill_ids.append(str(session.scalar(select(Bill.id).where(Bill.run_id == report.run_id))))
    OBJECTS["change_id"], OBJECTS["run_id"], OBJECTS["bill_id"] = (
        tuple(x) for x in (changes, run_ids, bill_ids)
    )  # type: ignore[assignment]


def api_routes(world: World) -> list[tuple[str, RouteContext]]:
    """(method, route) for every API route of the app, routers included (full paths)."""
    routes = []
    for route in iter_route_contexts(world.client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route.original_route, APIRoute) and (route.path or "").startswith("/api/"):
            for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                routes.append((method, route))
    assert len(routes) >= 20
    return routes


def path_params(route: RouteContext) -> list[str]:
    return [p.name for p in route.dependant.path_params]


def fill(route: RouteContext, which: int) -> str:
    """The route's URL with in-scope (0) or out-of-scope (1) samples; fixed values for the rest."""
    url = route.path or ""
    for name in path_params(route):
        value = FIXED[name] if name in FIXED else OBJECTS[name][which]
        url = url.replace("{" + name + "}", value)
    return url


def call(world: World, method: str, route: RouteContext, url: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = BODIES.get((method, route.path))
    return world.client.request(method, url, headers=headers, json=body).status_code


def test_every_route_is_public_by_intent_or_guarded(world: World) -> None:
    unguarded = {(m, r.path) for m, r in api_routes(world) if route_requirement(r) is None}
    assert unguarded == PUBLIC, "API routes without a principal dependency (add CurrentPrincipal or Requires)"


def test_every_path_parameter_has_samples(world: World) -> None:
    unknown = {
        f"{m} {r.path}: {{{p}}}"
        for m, r in api_routes(world)
        for p in path_params(r)
        if p not in OBJECTS and p not in FIXED
    }
    assert not unknown, f"add in/out-of-scope samples to OBJECTS (or a value to FIXED) for {sorted(unknown)}"


def test_without_login_every_guarded_route_answers_401(world: World) -> None:
    wrong = []
    for method, route in api_routes(world):
        if route_requirement(route) is None:
            continue
        for token in (None, "not-a-session-token"):
            status = call(world, method, route, fill(route, 0), token)
            if status != 401:
                wrong.append(f"{method} {route.path} token={token!r}: {status}")
    assert not wrong, wrong


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(world: World, role: str) -> None:
    account_permissions = {
        "system_admin": {"manage_users"},
        "security_admin": {"manage_users", "handle_alerts"},
        "audit_admin": {"view_audit", "handle_alerts"},
        "operator": {"read_data", "edit_archives", "remote_control", "collect_payments"},
        "analyst": {"read_data"},
        "manager": {
            "read_data",
            "release_bills",
            "collect_payments",
            "manage_tariffs",
            "remote_control",
            "export_personal_data",
        },
        "customer": set(),
    }[role]
    wrong = []
    checked = 0
    for method, route in api_routes(world):
        needed = route_requirement(route)
        if needed is None:
            continue
        allowed = needed == {ACCOUNT_ONLY} or (needed - {ACCOUNT_ONLY}) <= account_permissions
        objects = [p for p in path_params(route) if p in OBJECTS]
        status = call(world, method, route, fill(route, 0), world.token(role))
        checked += 1
        if not allowed and status != 403:
            wrong.append(f"{method} {route.path}: expected 403, got {status}")
        if allowed and status in (401, 403, 404):
            wrong.append(f"{method} {route.path} (in scope): expected access, got {status}")
        if allowed and objects:
            status = call(world, method, route, fill(route, 1), world.token(role))
            if status != 404:
                wrong.append(f"{method} {route.path} (out of scope): expected 404, got {status}")
    assert checked >= 20
    assert not wrong, "\n".join(wrong)


def test_denials_are_audited(world: World) -> None:
    from sqlalchemy import select

    from gridcare.security.models import AuditRecord

    status = world.client.get("/api/v1/audit", headers={"Authorization": f"Bearer {world.token('analyst')}"})
    assert status.status_code == 403
    with world.database.sessions() as session:
        last = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "authz.denied").order_by(AuditRecord.seq.desc())
        ).first()
    assert last is not None
    assert (last.actor, last.object, last.result) == ("m-analyst", "GET /api/v1/audit", "denied")
