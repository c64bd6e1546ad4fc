"""A small hand-built archive: two stations under one county, with known customers and meters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from gridcare.archives.models import (
    AreaKind,
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

# ids are fixed so tests can refer to them
COMPANY, COUNTY, STATION_A, STATION_B = 1, 2, 3, 4
AREA_A, AREA_B = 1, 2


def build_small_archive(session: Session) -> None:
    """Station A has 台区 TQ-A with customers 0000000001..3; station B has TQ-B with 0000000004."""
    session.add_all(
        [
            Organisation(id=COMPANY, code="C01", name="示例市供电公司", level=OrgLevel.COMPANY, path="/1/"),
            Organisation(
                id=COUNTY, code="C0101", name="东县供电公司", level=OrgLevel.COUNTY, parent_id=1, path="/1/2/"
            ),
            Organisation(
                id=STATION_A,
                code="S010101",
                name="城关供电所",
                level=OrgLevel.STATION,
                parent_id=2,
                path="/1/2/3/",
            ),
            Organisation(
                id=STATION_B,
                code="S010102",
                name="河口供电所",
                level=OrgLevel.STATION,
                parent_id=2,
                path="/1/2/4/",
            ),
        ]
    )
    session.flush()
    session.add(Substation(id=1, code="SUB1", name="城关变", voltage_kv=110, org_id=COUNTY))
    session.flush()
    session.add(Feeder(id=1, code="F101", name="城关线", substation_id=1, org_id=COUNTY, voltage_kv=10))
    session.flush()
    session.add_all(
        [
            TransformerArea(
                id=AREA_A, code="TQ-A", name="城关1号台区", feeder_id=1, org_id=STATION_A, capacity_kva=400
            ),
            TransformerArea(
                id=AREA_B, code="TQ-B", name="河口1号台区", feeder_id=1, org_id=STATION_B, capacity_kva=200
            ),
        ]
    )
    session.flush()
    session.add_all(
        [
            Terminal(
                id=1,
                area_code="3301",
                terminal_number=1,
                terminal_type=TerminalType.CONCENTRATOR,
                channel=Channel.GPRS,
                org_id=STATION_A,
                transformer_area_id=AREA_A,
            ),
            Terminal(
                id=2,
                area_code="3301",
                terminal_number=2,
                terminal_type=TerminalType.CONCENTRATOR,
                channel=Channel.LTE,
                org_id=STATION_B,
                transformer_area_id=AREA_B,
            ),
        ]
    )
    people = [
        (1, "0000000001", "张伟", STATION_A, AREA_A, CustomerClass.RESIDENTIAL, "201000000001"),
        (2, "0000000002", "王芳", STATION_A, AREA_A, CustomerClass.RESIDENTIAL, "201000000002"),
        (3, "0000000003", "城关超市", STATION_A, AREA_A, CustomerClass.GENERAL_COMMERCIAL, "201000000003"),
        (4, "0000000004", "李娜", STATION_B, AREA_B, CustomerClass.RESIDENTIAL, "201000000004"),
    ]
    for cid, no, name, org, _area, cls, address in people:
        session.add(
            Customer(
                id=cid,
                customer_no=no,
                name=name,
                id_number="330102199001011234",
                phone="13812341234",
                address="浙江省杭州市上城区解放路1号",
                customer_class=cls,
                voltage_level=VoltageLevel.V220,
                contracted_capacity_kva=Decimal("8.00"),
                billing_group="B01",
                tariff_code="RES-TIER-2024",
                org_id=org,
                opened_on=date(2020, 1, 1),
            )
        )
        session.add(
            Meter(
                id=cid,
                address=address,
                meter_type=MeterType.SINGLE_PHASE,
                phases=1,
                rated_voltage="220V",
                rated_current="5(60)A",
                org_id=org,
                status=MeterStatus.INSTALLED,
                install_date=date(2020, 1, 1),
            )
        )
    session.flush()
    for cid, _no, _name, _org, area, _cls, _address in people:
        session.add(
            MeteringPoint(
                code=f"MP{cid:04d}",
                purpose=PointPurpose.BILLING,
                customer_id=cid,
                meter_id=cid,
                transformer_area_id=area,
                terminal_id=area,
                point_number=cid,
                valid_from=date(2020, 1, 1),
            )
        )
    session.flush()


SUPPLY_METERS = {"201000000091": (5, STATION_A, AREA_A, 10), "201000000092": (6, STATION_B, AREA_B, 1)}
"""Supply (总表) meters of the two 台区: address -> (meter id, organisation, 台区, CT multiplier)."""


def add_supply_points(session: Session) -> None:
    """The supply metering points of TQ-A (201000000091, CT x10) and TQ-B (201000000092, x1)."""
    for address, (meter_id, org, area, multiplier) in SUPPLY_METERS.items():
        session.add(
            Meter(
                id=meter_id,
                address=address,
                meter_type=MeterType.THREE_PHASE_CT,
                phases=3,
                rated_voltage="3x220/380V",
                rated_current="1.5(6)A",
                ct_ratio=f"{multiplier * 5}/5",
                multiplier=multiplier,
                org_id=org,
                status=MeterStatus.INSTALLED,
                install_date=date(2020, 1, 1),
            )
        )
        session.flush()
        session.add(
            MeteringPoint(
                code=f"MPS{meter_id:03d}",
                purpose=PointPurpose.SUPPLY,
                customer_id=None,
                meter_id=meter_id,
                transformer_area_id=area,
                terminal_id=area,
                point_number=meter_id,
                valid_from=date(2020, 1, 1),
            )
        )
    session.flush()


DEDICATED_AREA = 3
DEDICATED_CODE = "ZB-A1"
DEDICATED_CUSTOMER = "0000000005"
DEDICATED_METER = "201000000005"
"""The 专变 of station A: 台区 id, code, its customer's number and its meter's address."""
DEDICATED_MULTIPLIER = 600
"""CT 30/5 x PT 10000/100 of the 专变's 10 kV metering."""


def add_dedicated_area(session: Session) -> None:
    """专变 ZB-A1 (kind dedicated, 630 kVA) of station A on feeder F101: the large industrial customer
    0000000005 (东县机械厂, 10 kV, 630 kVA) measured on the high side by the CT/PT meter 201000000005 (x600),
    read by the 专变终端 3301-00003 (Pn 1). No supply (总表) point: a 专变 has none."""
    session.add(
        TransformerArea(
            id=DEDICATED_AREA,
            code=DEDICATED_CODE,
            name="东县机械厂专变",
            feeder_id=1,
            org_id=STATION_A,
            capacity_kva=630,
            kind=AreaKind.DEDICATED.value,
        )
    )
    session.flush()
    session.add(
        Terminal(
            id=3,
            area_code="3301",
            terminal_number=3,
            terminal_type=TerminalType.LARGE_CUSTOMER,
            channel=Channel.LTE,
            org_id=STATION_A,
            transformer_area_id=DEDICATED_AREA,
        )
    )
    session.add(
        Customer(
            id=5,
            customer_no=DEDICATED_CUSTOMER,
            name="东县机械厂",
            id_number="91330100MA27XXXX1K",
            phone="057188880000",
            address="浙江省杭州市东县工业园区8号",
            customer_class=CustomerClass.LARGE_INDUSTRIAL,
            voltage_level=VoltageLevel.KV10,
            contracted_capacity_kva=Decimal("630.00"),
            billing_group="B01-LI",
            tariff_code="LI-2024",
            org_id=STATION_A,
            opened_on=date(2020, 1, 1),
        )
    )
    session.add(
        Meter(
            id=7,
            address=DEDICATED_METER,
            meter_type=MeterType.THREE_PHASE_CT,
            phases=3,
            rated_voltage="3x57.7/100V",
            rated_current="1.5(6)A",
            ct_ratio="30/5",
            pt_ratio="10000/100",
            multiplier=DEDICATED_MULTIPLIER,
            accuracy_class="0.5S",
            org_id=STATION_A,
            status=MeterStatus.INSTALLED,
            install_date=date(2020, 1, 1),
        )
    )
    session.flush()
    session.add(
        MeteringPoint(
            code="MP0005",
            purpose=PointPurpose.BILLING,
            customer_id=5,
            meter_id=7,
            transformer_area_id=DEDICATED_AREA,
            terminal_id=3,
            point_number=1,
            valid_from=date(2020, 1, 1),
        )
    )
    session.flush()
