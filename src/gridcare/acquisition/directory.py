"""What the front-end must know of the archives: which terminals exist, which meter is behind each
measuring point (Pn) of each terminal, and which extra daily frozen registers each point needs (those of
customers with billing terms: reactive energy for 力调, maximum demand for a demand-based basic charge).
Loaded from the database, refreshed on demand.

A terminal's points are its metering points and the feeder head meters (线路关口表, ``feeder_meters`` rows
with a terminal and Pn) it reads: these 关口计量点 have the daily frozen reading only, and their outcomes
go by feeder meter (:attr:`PointInfo.feeder_meter_id`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from gridcare.acquisition.models import FailureReason, PointOutcome
from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.billing_terms import BillingTerms
from gridcare.archives.models import Meter, MeteringPoint, Terminal
from gridcare.mdm.schema import DI_FWD_DEMAND, DI_FWD_REACTIVE

log = logging.getLogger("gridcare.directory")

TWO_PART_REGISTERS = (DI_FWD_REACTIVE, DI_FWD_DEMAND)
"""Lake data items read for every point of a customer with a ``billing_terms`` row, beyond the forward
active daily freeze (AFN0D F161): 组合无功1 (the 力调 reactive energy) and the forward active maximum
demand with its time. One rule for all such customers: the demand register is cheap to read, and a
basis left empty in the terms may resolve to demand from the tariff."""


@dataclass(frozen=True)
class PointInfo:
    """A metering point, or a feeder head meter (``metering_point_id`` None, ``feeder_meter_id`` set), as the
    front-end needs it."""

    metering_point_id: int | None
    pn: int
    meter_address: str
    registers: tuple[str, ...] = ()  # extra daily frozen data items (lake DIs) read through AFN10
    feeder_meter_id: int | None = None

    def outcome(
        self, ok: bool, reason: FailureReason | None = None, di: str | None = None, detail: str = ""
    ) -> PointOutcome:
        """This point's outcome (of its daily frozen reading unless ``di`` names another data item)."""
        if di is None:
            return PointOutcome(
                self.metering_point_id, ok, reason, detail=detail, feeder_meter_id=self.feeder_meter_id
            )
        return PointOutcome(self.metering_point_id, ok, reason, di, detail, self.feeder_meter_id)


@dataclass
class TerminalInfo:
    terminal_id: int
    area: str
    number: int
    points: dict[int, PointInfo] = field(default_factory=dict)  # by Pn
    org_id: int | None = None

    @property
    def key(self) -> str:
        return terminal_key(self.area, self.number)


def terminal_key(area: str, number: int) -> str:
    """The display address "AAAA-NNNNN" used in logs, the raw archive and the simulator."""
    return f"{area}-{number:05d}"


class Directory:
    """Terminals by (area code, terminal number), with their current metering points."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.terminals: dict[tuple[str, int], TerminalInfo] = {}

    def load(self, on: date | None = None) -> None:
        """Read terminals and the metering points valid on ``on`` (default: current ones)."""
        terminals: dict[tuple[str, int], TerminalInfo] = {}
        by_id: dict[int, TerminalInfo] = {}
        with self._sessions() as session:
            for t in session.scalars(select(Terminal)):
                info = TerminalInfo(t.id, t.area_code, t.terminal_number, org_id=t.org_id)
                terminals[(t.area_code, t.terminal_number)] = info
                by_id[t.id] = info
            stmt = (
                select(
                    MeteringPoint.id,
                    MeteringPoint.terminal_id,
                    MeteringPoint.point_number,
                    Meter.address,
                    BillingTerms.id,
                )
                .join(Meter, Meter.id == MeteringPoint.meter_id)
                .outerjoin(BillingTerms, BillingTerms.customer_id == MeteringPoint.customer_id)
                .where(MeteringPoint.terminal_id.is_not(None), MeteringPoint.point_number.is_not(None))
            )
            if on is None:
                stmt = stmt.where(MeteringPoint.valid_to.is_(None))
            else:
                stmt = stmt.where(
                    MeteringPoint.valid_from <= on,
                    or_(MeteringPoint.valid_to.is_(None), MeteringPoint.valid_to > on),
                )
            for mp_id, terminal_id, pn, address, terms_id in session.execute(stmt):
                if terminal_id is not None and pn is not None:  # guaranteed by the WHERE clause
                    registers = TWO_PART_REGISTERS if terms_id is not None else ()
                    by_id[terminal_id].points[pn] = PointInfo(mp_id, pn, address, registers)
            heads = (
                select(FeederMeter.id, FeederMeter.terminal_id, FeederMeter.point_number, Meter.address)
                .join(Meter, Meter.id == FeederMeter.meter_id)
                .where(FeederMeter.terminal_id.is_not(None), FeederMeter.point_number.is_not(None))
            )
            if on is None:
                heads = heads.where(FeederMeter.valid_to.is_(None))
            else:
                heads = heads.where(
                    FeederMeter.valid_from <= on,
                    or_(FeederMeter.valid_to.is_(None), FeederMeter.valid_to > on),
                )
            for fm_id, terminal_id, pn, address in session.execute(heads.order_by(FeederMeter.id)):
                if terminal_id is None or pn is None:  # guaranteed by the WHERE clause
                    continue
                points = by_id[terminal_id].points
                if pn in points:  # the archive is inconsistent: the metering point keeps the Pn
                    log.warning(
                        "feeder head meter %s at Pn %d of terminal %s clashes with meter %s; not read",
                        address,
                        pn,
                        by_id[terminal_id].key,
                        points[pn].meter_address,
                    )
                    continue
                points[pn] = PointInfo(None, pn, address, feeder_meter_id=fm_id)
        self.terminals = terminals

    def find(self, area: str, number: int) -> TerminalInfo | None:
        return self.terminals.get((area, number))
