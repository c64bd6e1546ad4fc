"""The demo supply company's tariffs: filed and approved by maker-checker with the demo identities, one
version in force for every tariff code the demo's customers carry, and a month of the demo bills without
a missing tariff (a residential bill checked by hand)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from gridcare.archives.demo import generate_demo
from gridcare.archives.models import Customer, CustomerClass, Meter, MeteringPoint, PointPurpose
from gridcare.billing import runs
from gridcare.billing.demo_tariffs import load_demo_tariffs
from gridcare.billing.models import Bill, TariffVersion
from gridcare.billing.tariff_store import TariffBook
from gridcare.security.models import AuditRecord
from gridcare.security.principal import SYSTEM
from gridcare.storage.lake import ReadingsLake
from tests.billing.test_world import T1, T2, T3, T4, TOTAL, write_readings

OCT1, NOV1 = date(2026, 10, 1), date(2026, 11, 1)


def test_demo_tariffs_are_approved_and_cover_every_customer(settings: Any, database: Any) -> None:
    generate_demo(database.sessions, 150, 1)
    with database.sessions() as session:
        written = load_demo_tariffs(session)
        session.commit()
        assert sorted(v.code for v in written) == [
            "AGR-FLAT-2024",
            "GC-TOU-2024",
            "LI-TWOPART-2024",
            "RES-TIER-2024",
        ]
        assert {(v.requested_by, v.approved_by) for v in written} == {
            ("demo:tariff-maker", "demo:tariff-checker")
        }
        assert session.scalar(select(AuditRecord.actor).where(AuditRecord.action == "tariff.apply")) == (
            "demo:tariff-checker"
        )
        book = TariffBook.load(session)
        codes = set(session.scalars(select(Customer.tariff_code).distinct()))
        assert codes == {v.code for v in written}
        for code in codes:
            assert len(book.versions(code, OCT1, date(2026, 10, 31))) == 1, code
        assert load_demo_tariffs(session) == []  # a second load writes nothing
        assert len(session.scalars(select(TariffVersion)).all()) == 4


def test_a_demo_month_bills_without_a_missing_tariff(settings: Any, database: Any) -> None:
    """October 2026 for the demo's residential, commercial and agricultural customers, 300 kWh each."""
    generate_demo(database.sessions, 150, 1)
    with database.sessions() as session:
        load_demo_tariffs(session)
        session.commit()
        rows = session.execute(
            select(Customer.id, Customer.customer_class, Meter.address)
            .join(MeteringPoint, MeteringPoint.customer_id == Customer.id)
            .join(Meter, Meter.id == MeteringPoint.meter_id)
            .where(
                MeteringPoint.purpose == PointPurpose.BILLING,
                Customer.customer_class != CustomerClass.LARGE_INDUSTRIAL,
            )
        ).all()
    lake = ReadingsLake(settings.lake_dir)
    readings = []
    for _, _, meter in rows:
        readings += [(meter, TOTAL, OCT1, "1000"), (meter, TOTAL, NOV1, "1300")]
        for di, start, end in ((T1, "50", "80"), (T2, "250", "320"), (T3, "400", "520"), (T4, "300", "380")):
            readings += [(meter, di, OCT1, start), (meter, di, NOV1, end)]
    write_readings(lake, readings)
    with database.sessions() as session:
        report = runs.run_groups(session, SYSTEM, lake, "2026-10", None, customer_ids=[r[0] for r in rows])
        session.commit()
        assert report.created == len(rows) and "no_tariff" not in report.anomalies
        residential = next(cid for cid, cls, _ in rows if cls == CustomerClass.RESIDENTIAL)
        bill = session.scalar(select(Bill).where(Bill.customer_id == residential))
    assert bill is not None
    # 230 kWh x 0.5283 + 70 kWh x (0.5283 + 0.05) = 121.509 + 40.481 = 161.99 yuan
    assert (bill.energy_kwh, Decimal(bill.total_fen) / 100) == (Decimal("300"), Decimal("161.99"))
