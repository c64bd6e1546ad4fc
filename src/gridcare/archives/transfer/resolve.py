"""References by business key -> database ids, with the principal's organisation scope.

An organisation outside the principal's scope is named as such; any other object outside the scope is
"not found", as in the read services (a clerk does not learn what other stations hold).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridcare.archives.models import (
    Customer,
    Feeder,
    Meter,
    MeterBox,
    Organisation,
    Terminal,
    TransformerArea,
)
from gridcare.archives.transfer.records import AnySelect, KeyColumn, chunks
from gridcare.archives.transfer.schemas import ArchiveKind, format_terminal_address, parse_terminal_address
from gridcare.archives.transfer.validate import CellError
from gridcare.security.principal import Principal

REFERENCES: dict[ArchiveKind, tuple[str, ...]] = {
    ArchiveKind.CUSTOMERS: ("org_code",),
    ArchiveKind.METERS: ("org_code",),
    ArchiveKind.TRANSFORMER_AREAS: ("org_code", "feeder_code"),
    ArchiveKind.METERING_POINTS: (
        "transformer_area_code",
        "customer_no",
        "meter_address",
        "terminal_address",
        "meter_box_code",
    ),
}
"""The reference columns of each kind, in the order they are resolved."""

ID_ATTRIBUTE = {
    "org_code": "org_id",
    "feeder_code": "feeder_id",
    "transformer_area_code": "transformer_area_id",
    "customer_no": "customer_id",
    "meter_address": "meter_id",
    "terminal_address": "terminal_id",
    "meter_box_code": "meter_box_id",
}
"""Reference column -> the model attribute holding the referenced id."""


@dataclass(frozen=True)
class Target:
    """A referenced object: its id, its organisation's path (None when it has none) and, for terminals
    and meter boxes, the code of the 台区 they belong to."""

    id: int
    org_path: str | None = None
    area_code: str | None = None


class Resolver:
    """Loads the objects a batch of rows refers to (one query per kind of reference and 500 keys)."""

    def __init__(
        self, session: Session, principal: Principal, kind: ArchiveKind, rows: Iterable[dict[str, Any]]
    ):
        self.principal = principal
        self.columns = REFERENCES[kind]
        wanted: dict[str, set[Any]] = {c: set() for c in self.columns}
        for values in rows:
            for column in self.columns:
                if values.get(column) is not None:
                    wanted[column].add(values[column])
        self.targets: dict[str, dict[Any, Target]] = {c: {} for c in self.columns}
        loaders = {
            "org_code": self._organisations,
            "feeder_code": self._feeders,
            "transformer_area_code": self._areas,
            "customer_no": self._customers,
            "meter_address": self._meters,
            "terminal_address": self._terminals,
            "meter_box_code": self._boxes,
        }
        for column in self.columns:
            if wanted[column]:
                self.targets[column] = loaders[column](session, wanted[column])

    # --- loading ----------------------------------------------------------------------------------

    @staticmethod
    def _by_key(session: Session, stmt: AnySelect, key: KeyColumn, keys: Collection[Any]) -> list[Any]:
        rows: list[Any] = []
        for chunk in chunks(keys):
            rows.extend(session.execute(stmt.where(key.in_(chunk))))
        return rows

    def _organisations(self, session: Session, keys: Collection[str]) -> dict[Any, Target]:
        stmt = select(Organisation.code, Organisation.id, Organisation.path)
        return {
            code: Target(id, path) for code, id, path in self._by_key(session, stmt, Organisation.code, keys)
        }

    def _feeders(self, session: Session, keys: Collection[str]) -> dict[Any, Target]:
        stmt = select(Feeder.code, Feeder.id)
        return {code: Target(id) for code, id in self._by_key(session, stmt, Feeder.code, keys)}

    def _areas(self, session: Session, keys: Collection[str]) -> dict[Any, Target]:
        stmt = select(TransformerArea.code, TransformerArea.id, Organisation.path).join(
            Organisation, Organisation.id == TransformerArea.org_id
        )
        rows = self._by_key(session, stmt, TransformerArea.code, keys)
        return {code: Target(id, path) for code, id, path in rows}

    def _customers(self, session: Session, keys: Collection[str]) -> dict[Any, Target]:
        stmt = select(Customer.customer_no, Customer.id, Organisation.path).join(
            Organisation, Organisation.id == Customer.org_id
        )
        rows = self._by_key(session, stmt, Customer.customer_no, keys)
        return {no: Target(id, path) for no, id, path in rows}

    def _meters(self, session: Session, keys: Collection[str]) -> dict[Any, Target]:
        stmt = select(Meter.address, Meter.id, Organisation.path).join(
            Organisation, Organisation.id == Meter.org_id
        )
        return {a: Target(id, path) for a, id, path in self._by_key(session, stmt, Meter.address, keys)}

    def _terminals(self, session: Session, keys: Collection[str]) -> dict[Any, Target]:
        wanted = set(keys)
        areas = {parse_terminal_address(k)[0] for k in wanted}
        stmt = (
            select(
                Terminal.area_code,
                Terminal.terminal_number,
                Terminal.id,
                Organisation.path,
                TransformerArea.code,
            )
            .join(Organisation, Organisation.id == Terminal.org_id)
            .outerjoin(TransformerArea, TransformerArea.id == Terminal.transformer_area_id)
        )
        found: dict[Any, Target] = {}
        for area, number, id, path, area_code in self._by_key(session, stmt, Terminal.area_code, areas):
            address = format_terminal_address(area, number)
            if address in wanted:
                found[address] = Target(id, path, area_code)
        return found

    def _boxes(self, session: Session, keys: Collection[str]) -> dict[Any, Target]:
        stmt = (
            select(MeterBox.code, MeterBox.id, Organisation.path, TransformerArea.code)
            .join(TransformerArea, TransformerArea.id == MeterBox.transformer_area_id)
            .join(Organisation, Organisation.id == TransformerArea.org_id)
        )
        rows = self._by_key(session, stmt, MeterBox.code, keys)
        return {code: Target(id, path, area) for code, id, path, area in rows}

    # --- resolving --------------------------------------------------------------------------------

    def _missing(self, what: str) -> CellError:
        where = "" if self.principal.sees_everything else " in your scope"
        return CellError(f"no {what}{where}")

    def resolve(self, column: str, value: Any, values: dict[str, Any]) -> int:
        """The id ``value`` of reference ``column`` names; CellError with the reason when it names nothing
        usable. ``values`` is the whole row (a terminal and a meter box must be in the row's 台区)."""
        target = self.targets[column].get(value)
        if column == "org_code":
            if target is None:
                raise CellError(f"unknown organisation code {value!r}")
            assert target.org_path is not None
            if not self.principal.in_scope(target.org_path):
                raise CellError(f"organisation {value} is outside your scope")
            return target.id
        if column == "feeder_code":
            if target is None:
                raise CellError(f"unknown feeder code {value!r}")
            return target.id
        nouns = {
            "transformer_area_code": "台区 (transformer area) with code",
            "customer_no": "customer with customer_no",
            "meter_address": "meter with address",
            "terminal_address": "terminal with address",
            "meter_box_code": "meter box with code",
        }
        if target is None or (target.org_path is not None and not self.principal.in_scope(target.org_path)):
            raise self._missing(f"{nouns[column]} {value}")
        area = values.get("transformer_area_code")
        if column == "terminal_address" and target.area_code is not None and target.area_code != area:
            raise CellError(f"terminal {value} serves 台区 {target.area_code}, not {area}")
        if column == "meter_box_code" and target.area_code != area:
            raise CellError(f"meter box {value} is in 台区 {target.area_code}, not {area}")
        return target.id
