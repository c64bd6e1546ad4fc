"""The world of the customer self-service tests: two customers of station A with their own accounts, a year
of frozen registers, two monthly bills each (billed, released and paid through the billing services) and
one open debt each, dated relative to today (Beijing time) because the pages show "today" and the last 30
days.

* 0000000001 张伟 (residential, tiered ``RES-TIER-2024``), account ``zhangwei``: the bill of three months
  ago (460 kWh, 269.52) was paid 6 days late with 300.00 at the counter (penalty 1.62 booked and paid,
  28.86 left on account); the bill of two months ago (300 kWh, 161.99) took those 28.86 when released and
  is 10 days overdue with 133.13 open (accrued penalty 10 x 1‰ = 1.33).
* 0000000003 城关超市 (general commercial, time-of-use ``GC-TOU-2024`` with the water-works fund),
  account ``chaoshi``: two bills of 1,000 kWh (sharp 100, peak 300, flat 350, valley 250) = 651.97 each;
  1,000.00 paid by bank on time pays the first and 348.03 of the second, 303.94 open, due in 5 days. It is
  a prepaid (费控) customer since today: balance 0.00 on account - 303.94 owed = -303.94 (overdrawn).

Daily freezes of the last 32 days follow a weekly pattern per customer (``WEEK``); earlier months have only
their first-day freezes, with the monthly totals ``MONTHLY`` (so the two billed months are fixed whatever
today is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from gridcare.billing import bills as bill_service
from gridcare.billing import ledger, prepaid, runs
from gridcare.billing.models import Bill
from gridcare.config import Settings
from gridcare.security.principal import SYSTEM
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING, now_beijing, today_beijing
from tests.billing.test_world import T1, T2, T3, T4, TOTAL, build_world, write_readings
from tests.security.helpers import Account, make_customer

D = Decimal
RESIDENT, SHOP = "0000000001", "0000000003"
METERS = {RESIDENT: "201000000001", SHOP: "201000000003"}
USERNAMES = {RESIDENT: "zhangwei", SHOP: "chaoshi"}
WEEK: dict[str, tuple[str, ...]] = {
    RESIDENT: ("9.60", "8.70", "10.20", "9.10", "11.40", "13.80", "12.90"),
    SHOP: ("36.50", "35.20", "37.80", "34.90", "38.30", "22.40", "18.60"),
}
"""Daily consumption [kWh] by weekday (Monday first) on the days with daily freezes."""
MONTHLY: dict[str, tuple[int, ...]] = {
    RESIDENT: (250, 232, 218, 205, 240, 310, 395, 420, 350, 460, 300),
    SHOP: (980, 940, 1010, 1050, 990, 1120, 1180, 1160, 1030, 1000, 1000),
}
"""Monthly consumption [kWh] of the 11 calendar months before last month, oldest first: the last two are
the billed months (three and two months ago)."""
TOU_STEP = {T1: 100, T2: 300, T3: 350, T4: 250}
"""The shop's time-of-use registers gain this much [kWh] in each billed month (sharp, peak, flat, valley)."""
DAILY_DAYS = 32


def month_start(day: date, back: int = 0) -> date:
    """The first day of the month ``back`` months before the month of ``day``."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING)


@dataclass
class MyWorld:
    today: date
    accounts: dict[str, Account]
    staff: Account
    bill_ids: dict[str, dict[str, int]] = field(default_factory=dict)
    """Bill ids per customer number and period."""
    daily_kwh: dict[str, list[Decimal]] = field(default_factory=dict)
    """Consumption of the business days today-30 .. yesterday [kWh]."""
    monthly_kwh: dict[str, list[Decimal]] = field(default_factory=dict)
    """Consumption of the 12 calendar months ending last month [kWh]."""

    @property
    def periods(self) -> tuple[str, str]:
        """The two billed months: three months ago and two months ago ("YYYY-MM")."""
        return month_start(self.today, 3).strftime("%Y-%m"), month_start(self.today, 2).strftime("%Y-%m")

    @property
    def months(self) -> list[str]:
        return [month_start(self.today, back).strftime("%Y-%m") for back in range(12, 0, -1)]


def _registers(customer_no: str, today: date) -> tuple[dict[date, Decimal], list[Decimal], list[Decimal]]:
    """The TOTAL register at every freeze day written, the daily and the monthly consumption."""
    week = [D(v) for v in WEEK[customer_no]]
    last_month = month_start(today, 1)
    value = D(5000) if customer_no == RESIDENT else D(20000)
    registers: dict[date, Decimal] = {}
    monthly: list[Decimal] = []
    for back, total in zip(range(12, 1, -1), MONTHLY[customer_no], strict=True):
        registers[month_start(today, back)] = value
        value += total
        monthly.append(D(total))
    registers[last_month] = value  # the first day of last month; from here on the weekly pattern
    day = last_month
    while day < today:
        value += week[day.weekday()]
        day += timedelta(days=1)
        registers[day] = value
    first = today - timedelta(days=DAILY_DAYS - 1)
    day, value = last_month, registers[last_month]
    while day > first:  # the days of the month before last inside the daily window
        day -= timedelta(days=1)
        value -= week[day.weekday()]
        registers[day] = value
    monthly.append(registers[today.replace(day=1)] - registers[last_month])
    daily = [week[(today - timedelta(days=n)).weekday()] for n in range(30, 0, -1)]
    return registers, daily, monthly


def build_my_world(settings: Settings, database: Database) -> MyWorld:
    today = today_beijing()
    world = build_world(settings, database)
    rows: list[tuple[str, str, date, str]] = []
    mine = MyWorld(today, {}, world.accounts["mgr-a"])
    first_daily = today - timedelta(days=DAILY_DAYS - 1)
    for customer_no, meter in METERS.items():
        registers, daily, monthly = _registers(customer_no, today)
        mine.daily_kwh[customer_no], mine.monthly_kwh[customer_no] = daily, monthly
        month_firsts = {month_start(today, back) for back in range(12, -1, -1)}
        rows += [
            (meter, TOTAL, day, str(v))
            for day, v in sorted(registers.items())
            if day >= first_daily or day in month_firsts
        ]
    for n, back in enumerate((3, 2, 1)):  # the shop's time-of-use registers at the billing freezes
        for di, step in TOU_STEP.items():
            rows.append((METERS[SHOP], di, month_start(today, back), str(1000 + step * n)))
    write_readings(world.lake, rows)

    p3, p2, p1 = (month_start(today, back) for back in (3, 2, 1))
    ids = [1, 3]
    with world.session() as session:
        report = runs.run_billing(
            session, SYSTEM, world.lake, p3.strftime("%Y-%m"), "B01", customer_ids=ids, now=at(p2, 8)
        )
        bill_service.release(
            session, SYSTEM, run_id=report.run_id, due_date=p2 + timedelta(days=14), now=at(p2, 9)
        )
        session.commit()
        pay_day = p2 + timedelta(days=20)  # 6 days late
        ledger.post_payment(
            session, SYSTEM, RESIDENT, "counter", "my-1", D("300.00"), pay_day, now=at(pay_day, 10)
        )
        bank_day = p2 + timedelta(days=3)
        ledger.post_payment(
            session, SYSTEM, SHOP, "bank", "my-3", D("1000.00"), bank_day, now=at(bank_day, 10)
        )
        session.commit()
        report = runs.run_billing(
            session, SYSTEM, world.lake, p2.strftime("%Y-%m"), "B01", customer_ids=ids, now=at(p1, 8)
        )
        session.commit()
        drafts = {
            no: bill_id
            for no, bill_id in session.execute(
                select(Bill.customer_no, Bill.id).where(Bill.run_id == report.run_id)
            )
        }
        for customer_no, due in ((RESIDENT, today - timedelta(days=10)), (SHOP, today + timedelta(days=5))):
            bill_service.release(session, SYSTEM, bill_ids=[drafts[customer_no]], due_date=due, now=at(p1, 9))
        prepaid.configure(session, SYSTEM, SHOP, since=today)
        session.commit()
        prepaid.run_daily(session, SYSTEM, world.lake, today, now=now_beijing())
        session.commit()
        for bill in session.scalars(select(Bill).order_by(Bill.id)):
            mine.bill_ids.setdefault(bill.customer_no, {})[bill.period] = bill.id
    for customer_no, username in USERNAMES.items():
        mine.accounts[customer_no] = make_customer(database, settings, username, customer_no)
    return mine
