"""The demo community's books: two years of the association's accounts, the fund's deposits,
interest and an emergency repair, and published statements, all through the real services."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Community, DisclosureKind, Ledger, Unit, User
from . import fund
from .disclosure import publish_disclosure
from .ledger import BANK, Line, ensure_chart, post_entry

#: (memo, debit, credit, typical yuan): what a month of the association's books holds.
MONTHLY = (
    ("地面停车场临时停车费", BANK, "4001", 6800),
    ("电梯轿厢广告位收益", BANK, "4002", 2400),
    ("小区会所场地租赁", BANK, "4003", 1500),
    ("公共照明及水泵电费", "5004", BANK, 1900),
    ("业委会办公用品及会议", "5001", BANK, 350),
    ("公共设施日常维护", "5002", BANK, 1200),
)


def _months_before(today: dt.date, count: int) -> list[dt.date]:
    """First days of the ``count`` whole months before ``today``'s month, oldest first."""
    year, month, result = today.year, today.month, []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        result.append(dt.date(year, month, 1))
    return sorted(result)


def add_demo_money(session: Session, community: Community, now: dt.datetime) -> None:
    chair = session.scalar(select(User).where(User.username == "chair"))
    rng = random.Random(7)
    ensure_chart(session, community)
    today = now.date()
    months = _months_before(today, 14)
    fund.deposit_by_area(session, actor=chair, now=now, community=community,
                         rate_per_m2=Decimal("150"), entry_date=months[0].replace(day=8),
                         memo="首期专项维修资金归集（每平方米150元）")
    for first in months:
        for memo, debit, credit, typical in MONTHLY:
            amount = Decimal(rng.randint(typical * 80, typical * 120)) / 100
            post_entry(session, actor=chair, now=now, community=community,
                       ledger=Ledger.OPERATING, entry_date=first.replace(day=rng.randint(3, 25)),
                       memo=f"{first.month}月{memo}",
                       lines=[Line(debit, debit=amount), Line(credit, credit=amount)],
                       source="demo", audit=False)
        if first.month in (3, 6, 9, 12):
            fund.share_interest(session, actor=chair, now=now, community=community,
                                amount=Decimal(rng.randint(280000, 320000)) / 100,
                                entry_date=first.replace(day=21), memo="专户季度结息")
    _emergency_repair(session, community, chair, now, months[-2])
    _fees(session, community, now, months[-6:], rng)
    for first in months[-3:]:
        publish_disclosure(session, actor=chair, now=now, community=community,
                           kind=DisclosureKind.MONTHLY, starts_on=first, today=today)


def _emergency_repair(session: Session, community: Community, chair: User, now: dt.datetime,
                      first: dt.date) -> None:
    """A burst main in building 3, under the emergency-use rule, paid by its units by area."""
    building = sorted(community.buildings, key=lambda b: b.name)[-1]
    units = session.scalars(select(Unit.id).where(Unit.building_id == building.id,
                                                  Unit.active.is_(True))).all()
    spend = fund.file_spend(session, actor=chair, now=now, community=community,
                            title=f"{building.name}地下给水总管爆裂抢修", category="pipes",
                            budget=Decimal("38000"), unit_ids=list(units),
                            emergency_kind="water_main",
                            description="夜间总管爆裂，物业报修后即日抢修，事后公告并提交下次业主大会追认。")
    fund.pay_spend(session, actor=chair, now=now, spend=spend, amount=Decimal("36580.00"),
                   entry_date=first.replace(day=18), memo="给水总管抢修工程款")


def _fees(session: Session, community: Community, now: dt.datetime, months: list[dt.date],
          rng: random.Random) -> None:
    """A published schedule, six months of bills, most paid on time, a few units behind."""
    from ..models import UnitUse
    from . import fees

    staff = session.scalar(select(User).where(User.username == "staff"))
    fees.publish_schedule(
        session, actor=staff, now=now, community=community, effective_from=months[0],
        rates={UnitUse.RESIDENTIAL: Decimal("2.35"), UnitUse.COMMERCIAL: Decimal("5.80"),
               UnitUse.PARKING: Decimal("150.00"), UnitUse.OTHER: Decimal("1.20")},
        other_charges="装修垃圾清运费：每户 300 元（一次性）\n"
                      "临时停车：首小时免费，之后每小时 5 元")
    for first in months:
        fees.issue_bills(session, actor=staff, now=now, community=community, period=first)
    schedule = fees.schedule_on(session, community, months[0])
    for unit in fund.active_units(session, community):
        behind = rng.random() < 0.08
        paid_months = months[:2] if behind else months
        amount = fees.monthly_fee(schedule, unit) * len(paid_months)
        if amount > 0:
            fees.record_payment(session, actor=staff, now=now, community=community, unit=unit,
                                paid_on=paid_months[-1].replace(day=20), amount=amount,
                                reference="银行代扣", source="demo")
