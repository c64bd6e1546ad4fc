"""Register a simulated fleet in the archives, so the master station knows its terminals and meters.

Used by ``gridcare simulate`` when it invents a fleet rather than reading one from the archives: the
terminals, meters, customers and metering points go under one organisation "仿真供电所" (code SIM) with
a substation, a feeder and one 台区 per terminal. Terminals already in the archives are left as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gridcare.archives.models import (
    Channel,
    Customer,
    CustomerClass,
    Feeder,
    Meter,
    MeteringPoint,
    MeterStatus,
    MeterType,
    Organisation,
    OrgLevel,
    PointPurpose,
    Substation,
    Terminal,
    TerminalType,
    TransformerArea,
    VoltageLevel,
)
from gridcare.simulator.specs import MeterSpec, TerminalSpec

SIM_ORG = "SIM"


def _sim_parents(session: Session) -> tuple[int, int]:
    """(organisation id, feeder id) of the simulation's organisation, created when missing."""
    org = session.scalar(select(Organisation).where(Organisation.code == SIM_ORG))
    if org is None:
        org = Organisation(code=SIM_ORG, name="仿真供电所 simulated station", level=OrgLevel.STATION, path="")
        session.add(org)
        session.flush()
        org.path = f"/{org.id}/"
    feeder = session.scalar(select(Feeder).where(Feeder.code == "SIM-F1"))
    if feeder is None:
        sub = Substation(code="SIM-SUB", name="仿真变电站", voltage_kv=110, org_id=org.id)
        session.add(sub)
        session.flush()
        feeder = Feeder(code="SIM-F1", name="仿真线路", substation_id=sub.id, org_id=org.id, voltage_kv=10)
        session.add(feeder)
        session.flush()
    return org.id, feeder.id


def _meter(spec: MeterSpec, org_id: int, since: date) -> Meter:
    three = spec.phases == 3
    return Meter(
        address=spec.address,
        meter_type=MeterType.THREE_PHASE_CT
        if spec.multiplier > 1
        else (MeterType.THREE_PHASE_DIRECT if three else MeterType.SINGLE_PHASE),
        phases=spec.phases,
        rated_voltage="3x220/380V" if three else "220V",
        rated_current="1.5(6)A" if spec.multiplier > 1 else "5(60)A",
        ct_ratio=f"{spec.multiplier * 5}/5",
        pt_ratio="1/1",
        multiplier=spec.multiplier,
        manufacturer="仿真 simulated",
        install_date=since,
        status=MeterStatus.INSTALLED,
        org_id=org_id,
    )


def provision_fleet(
    sessions: sessionmaker[Session], fleet: Sequence[TerminalSpec], since: date
) -> dict[str, Any]:
    """Add the fleet's missing terminals (with their 台区, meters, customers and points); one transaction."""
    added = 0
    with sessions() as session, session.begin():
        org_id, feeder_id = _sim_parents(session)
        for spec in fleet:
            exists = session.scalar(
                select(Terminal.id).where(
                    Terminal.area_code == spec.area_code, Terminal.terminal_number == spec.terminal_number
                )
            )
            if exists is not None:
                continue
            area = TransformerArea(
                code=f"SIM-{spec.address}",
                name=f"仿真台区 {spec.address}",
                feeder_id=feeder_id,
                org_id=org_id,
                capacity_kva=400,
            )
            session.add(area)
            session.flush()
            terminal = Terminal(
                area_code=spec.area_code,
                terminal_number=spec.terminal_number,
                terminal_type=TerminalType.CONCENTRATOR,
                channel=Channel.LTE,
                manufacturer="仿真 simulated",
                org_id=org_id,
                transformer_area_id=area.id,
            )
            session.add(terminal)
            session.flush()
            for m in spec.meters:
                meter = _meter(m, org_id, since)
                session.add(meter)
                session.flush()
                customer_id = None
                if m.customer_class is not None:
                    customer = Customer(
                        customer_no=f"9{m.address[-9:]}",
                        name=f"仿真用户 {m.address[-6:]}",
                        customer_class=CustomerClass(m.customer_class),
                        voltage_level=VoltageLevel.KV10 if m.multiplier > 1 else VoltageLevel.V220,
                        contracted_capacity_kva=Decimal(str(m.contracted_capacity_kva or 8)).quantize(
                            Decimal("0.01")
                        ),
                        tariff_code="SIM",
                        org_id=org_id,
                        opened_on=since,
                    )
                    session.add(customer)
                    session.flush()
                    customer_id = customer.id
                session.add(
                    MeteringPoint(
                        code=f"SIM-{m.address}",
                        purpose=PointPurpose.BILLING if customer_id else PointPurpose.SUPPLY,
                        customer_id=customer_id,
                        meter_id=meter.id,
                        transformer_area_id=area.id,
                        terminal_id=terminal.id,
                        point_number=m.point_number,
                        valid_from=since,
                    )
                )
            added += 1
    return {"terminals_added": added, "terminals": len(fleet)}
