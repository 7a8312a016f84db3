"""Property fees: the published schedule (明码标价), monthly bills by area, payments (entered
or imported from a bank XLSX and matched to units), arrears with ageing, and follow-ups.

Fees are the service company's receivables, not the association's money, so they stay out of
the association's books. Payments settle a unit's bills oldest first. A unit in arrears for
more than a month comes up for follow-up every two weeks.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import openpyxl
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import Conflict, DomainError, NotFound
from ..models import (
    Community,
    FeeBill,
    FeeFollowUp,
    FeePayment,
    FeeSchedule,
    Unit,
    UnitUse,
    User,
)
from ..notifications.services import notify, owners_of
from ..signing import sign
from .arithmetic import BadAmount, from_fen, round_yuan, to_fen
from .fund import active_units
from .statement_import import Problem, parse_amount, parse_date

PURPOSE = "money.fee_schedule"
#: How each use is charged: by exclusive area, or a flat rate per unit (a parking space).
BASIS = {UnitUse.RESIDENTIAL: "per_m2", UnitUse.COMMERCIAL: "per_m2",
         UnitUse.PARKING: "per_unit", UnitUse.OTHER: "per_m2"}
USE_LABELS = {
    UnitUse.RESIDENTIAL: _l("Homes: property fee per m² a month"),
    UnitUse.COMMERCIAL: _l("Shops: property fee per m² a month"),
    UnitUse.PARKING: _l("Parking space: fee per space a month"),
    UnitUse.OTHER: _l("Other units: fee per m² a month"),
}
FOLLOW_UP_AFTER = dt.timedelta(days=30)
FOLLOW_UP_EVERY = dt.timedelta(days=14)
AGEING = ((30, _l("up to 30 days")), (90, _l("31–90 days")), (180, _l("91–180 days")),
          (None, _l("over 180 days")))


def _rate(value, use: UnitUse) -> Decimal:
    try:
        fen = to_fen(value)
    except BadAmount as exc:
        raise DomainError(_("Rates are in yuan with at most two decimals."),
                          field=use.value) from exc
    if fen < 0:
        raise DomainError(_("A rate cannot be negative."), field=use.value)
    return from_fen(fen)


def publish_schedule(session: Session, *, actor: User, now: dt.datetime, community: Community,
                     effective_from: dt.date, rates: dict[UnitUse, Decimal],
                     other_charges: str = "") -> FeeSchedule:
    """Publish a fee schedule, signed; it applies to bills of months from ``effective_from``."""
    if effective_from.day != 1:
        raise DomainError(_("A schedule takes effect on the first day of a month."),
                          field="effective_from")
    if session.scalar(select(FeeSchedule.id).where(
            FeeSchedule.community_id == community.id,
            FeeSchedule.effective_from == effective_from)):
        raise Conflict(_("A schedule already takes effect on that day; publish one for a "
                         "later month."))
    items = [{"use": use.value, "basis": BASIS[use], "rate": str(_rate(rates[use], use))}
             for use in UnitUse if use in rates]
    body = {"community": {"id": community.id, "name": community.name},
            "effective_from": effective_from.isoformat(), "items": items,
            "other_charges": (other_charges or "").strip()[:2000],
            "published_at": now.astimezone(dt.UTC).isoformat(timespec="seconds")}
    schedule = FeeSchedule(community_id=community.id, effective_from=effective_from,
                           document=sign(PURPOSE, body), published_at=now,
                           published_by_id=actor.id)
    session.add(schedule)
    session.flush()
    record(session, actor=actor, action="money.fee_schedule_published", now=now,
           community_id=community.id, target=f"fee_schedule:{schedule.id}",
           details={"effective_from": effective_from.isoformat(), "items": items})
    notify(session, now=now, community=community, recipients=owners_of(session, community),
           kind="money.fee_schedule", link=f"/c/{community.id}/money/fees",
           message=lambda: (_("New fee schedule from %(day)s", day=effective_from.isoformat()),
                            _("The property fees in force from that month are published.")))
    return schedule


def schedule_on(session: Session, community: Community, day: dt.date) -> FeeSchedule | None:
    return session.scalar(select(FeeSchedule).where(
        FeeSchedule.community_id == community.id, FeeSchedule.effective_from <= day)
        .order_by(FeeSchedule.effective_from.desc()).limit(1))


def schedules_of(session: Session, community: Community) -> list[FeeSchedule]:
    return list(session.scalars(select(FeeSchedule).where(
        FeeSchedule.community_id == community.id).order_by(FeeSchedule.effective_from.desc())))


def monthly_fee(schedule: FeeSchedule, unit: Unit) -> Decimal:
    """What ``unit`` owes a month under ``schedule`` (area × rate, half up to the fen)."""
    for item in schedule.document["record"]["items"]:
        if item["use"] == unit.use.value:
            rate = Decimal(item["rate"])
            return round_yuan(unit.area * rate) if item["basis"] == "per_m2" else rate
    return Decimal("0.00")


def issue_bills(session: Session, *, actor: User, now: dt.datetime, community: Community,
                period: dt.date) -> int:
    """Bill every active unit for the month starting ``period`` (once); returns how many."""
    if period.day != 1:
        raise DomainError(_("Bills are issued for a month: give its first day."),
                          field="period")
    schedule = schedule_on(session, community, period)
    if schedule is None:
        raise Conflict(_("No fee schedule is in force for that month: publish one first."))
    billed = set(session.scalars(select(FeeBill.unit_id).where(
        FeeBill.community_id == community.id, FeeBill.period == period)))
    due = period.replace(day=calendar.monthrange(period.year, period.month)[1])
    count = 0
    for unit in active_units(session, community):
        amount = monthly_fee(schedule, unit)
        if unit.id in billed or amount <= 0:
            continue
        session.add(FeeBill(community_id=community.id, unit_id=unit.id, period=period,
                            due_on=due, amount=amount, schedule_id=schedule.id,
                            issued_at=now))
        count += 1
    if not count:
        raise Conflict(_("Every unit is already billed for that month."))
    session.flush()
    record(session, actor=actor, action="money.bills_issued", now=now,
           community_id=community.id, target=f"bills:{period.isoformat()}",
           details={"period": period.isoformat(), "bills": count})
    return count


def find_unit(session: Session, community: Community, label: str) -> Unit | None:
    """A unit by its label as the register shows it ("1号楼-101")."""
    building, _sep, number = (label or "").strip().rpartition("-")
    if not building:
        return None
    from ..models import Building

    return session.scalar(select(Unit).join(Building).where(
        Unit.community_id == community.id, Building.name == building.strip(),
        Unit.number == number.strip()))


def record_payment(session: Session, *, actor: User, now: dt.datetime, community: Community,
                   unit: Unit | None, paid_on: dt.date, amount, reference: str = "",
                   source: str = "staff") -> FeePayment:
    try:
        amount = from_fen(to_fen(amount))
    except BadAmount as exc:
        raise DomainError(_("Amounts are in yuan with at most two decimals."),
                          field="amount") from exc
    if amount <= 0:
        raise DomainError(_("The amount must be greater than zero."), field="amount")
    if unit is not None and unit.community_id != community.id:
        raise NotFound(_("That unit is not in this community."))
    payment = FeePayment(community_id=community.id, unit_id=unit.id if unit else None,
                         paid_on=paid_on, amount=amount, reference=(reference or "")[:200],
                         source=source, created_by_id=actor.id, created_at=now)
    session.add(payment)
    session.flush()
    if source == "staff":
        record(session, actor=actor, action="money.fee_paid", now=now,
               community_id=community.id, target=f"fee_payment:{payment.id}",
               details={"unit_id": payment.unit_id, "amount": str(amount)})
    return payment


@dataclass
class PaymentImport:
    matched: int = 0
    unmatched: list[FeePayment] = field(default_factory=list)


def import_payments(session: Session, *, actor: User, now: dt.datetime, community: Community,
                    data: bytes) -> PaymentImport:
    """A bank XLSX (日期, 房号, 金额, 附言): every row valid or nothing is kept; rows whose unit
    is unknown are kept unmatched and listed."""
    from .imports import ImportRejected

    try:
        sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True,
                                       data_only=True).worksheets[0]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
        raise ImportRejected([Problem(None, None, _("The file is not an Excel workbook "
                                                    "(.xlsx)."))]) from exc
    rows = list(sheet.iter_rows(values_only=True))
    names = {"日期": "date", "date": "date", "房号": "unit", "unit": "unit", "金额": "amount",
             "amount": "amount", "附言": "reference", "reference": "reference"}
    header = {names[str(v).strip()]: i for i, v in enumerate(rows[0] if rows else ())
              if v is not None and str(v).strip() in names}
    missing = [c for c in ("date", "unit", "amount") if c not in header]
    if missing:
        raise ImportRejected([Problem(1, None, _("Name the columns 日期, 房号, 金额 (and 附言)."))])
    problems, parsed = [], []
    for number, values in enumerate(rows[1:], start=2):
        cell = {k: (values[i] if i < len(values) else None) for k, i in header.items()}
        if all(v in (None, "") for v in cell.values()):
            continue
        try:
            day = parse_date(cell["date"])
        except ValueError:
            problems.append(Problem(number, "日期", _("Write the date as 2026-03-05.")))
            continue
        try:
            amount = parse_amount(cell["amount"])
        except BadAmount:
            amount = None
        if amount is None:
            problems.append(Problem(number, "金额", _(
                "An amount in yuan, greater than zero, at most two decimals.")))
            continue
        parsed.append((day, str(cell["unit"] or "").strip(), amount,
                       str(cell.get("reference") or "").strip()))
    if problems:
        raise ImportRejected(problems)
    result = PaymentImport()
    for day, label, amount, reference in parsed:
        unit = find_unit(session, community, label)
        payment = record_payment(session, actor=actor, now=now, community=community, unit=unit,
                                 paid_on=day, amount=amount,
                                 reference=reference if unit else f"{label} {reference}".strip(),
                                 source="import")
        if unit is None:
            result.unmatched.append(payment)
        else:
            result.matched += 1
    record(session, actor=actor, action="money.fee_payments_imported", now=now,
           community_id=community.id, target="fee_payments",
           details={"matched": result.matched, "unmatched": len(result.unmatched)})
    return result


def unmatched_payments(session: Session, community: Community) -> list[FeePayment]:
    return list(session.scalars(select(FeePayment).where(
        FeePayment.community_id == community.id, FeePayment.unit_id.is_(None))
        .order_by(FeePayment.paid_on, FeePayment.id)))


@dataclass
class Arrears:
    unit: Unit
    owed: Decimal
    #: The due date of the oldest bill not fully paid.
    oldest_due: dt.date
    #: Amount owed per ageing bucket (index into ``AGEING``).
    buckets: list[Decimal]
    last_follow_up: dt.datetime | None
    follow_up_due: bool


def open_bills(bills: list[FeeBill], paid_fen: int) -> list[tuple[FeeBill, int]]:
    """Bills left (partly) unpaid after ``paid_fen`` settles them oldest first: (bill, fen)."""
    left = []
    for bill in sorted(bills, key=lambda b: (b.period, b.id)):
        fen = to_fen(bill.amount)
        settled = min(fen, paid_fen)
        paid_fen -= settled
        if fen - settled:
            left.append((bill, fen - settled))
    return left


def arrears(session: Session, community: Community, *, now: dt.datetime,
            today: dt.date, units: list[Unit] | None = None) -> list[Arrears]:
    """Units that owe fees, oldest debt first, with ageing and whether a follow-up is due."""
    bills: dict[int, list[FeeBill]] = defaultdict(list)
    query = select(FeeBill).where(FeeBill.community_id == community.id, FeeBill.due_on < today)
    if units is not None:
        query = query.where(FeeBill.unit_id.in_([u.id for u in units]))
    for bill in session.scalars(query):
        bills[bill.unit_id].append(bill)
    paid = dict(session.execute(
        select(FeePayment.unit_id, func.sum(FeePayment.amount))
        .where(FeePayment.community_id == community.id, FeePayment.unit_id.is_not(None))
        .group_by(FeePayment.unit_id)).all())
    follow = dict(session.execute(
        select(FeeFollowUp.unit_id, func.max(FeeFollowUp.created_at))
        .where(FeeFollowUp.community_id == community.id).group_by(FeeFollowUp.unit_id)).all())
    result = []
    for unit_id, unit_bills in bills.items():
        left = open_bills(unit_bills, to_fen(paid.get(unit_id) or 0))
        if not left:
            continue
        buckets = [0] * len(AGEING)
        for bill, fen in left:
            age = (today - bill.due_on).days
            index = next(i for i, (limit, _label) in enumerate(AGEING)
                         if limit is None or age <= limit)
            buckets[index] += fen
        oldest = left[0][0].due_on
        last = follow.get(unit_id)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        due = (today - oldest > FOLLOW_UP_AFTER
               and (last is None or now - last >= FOLLOW_UP_EVERY))
        result.append(Arrears(unit=left[0][0].unit, owed=from_fen(sum(f for _b, f in left)),
                              oldest_due=oldest, buckets=[from_fen(b) for b in buckets],
                              last_follow_up=last, follow_up_due=due))
    return sorted(result, key=lambda a: (a.oldest_due, a.unit.id))


def follow_up(session: Session, *, actor: User, now: dt.datetime, community: Community,
              unit_id: int, note: str) -> FeeFollowUp:
    unit = session.get(Unit, unit_id)
    if unit is None or unit.community_id != community.id:
        raise NotFound(_("That unit is not in this community."))
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Write what was said."), field="note")
    entry = FeeFollowUp(community_id=community.id, unit_id=unit.id, note=note[:2000],
                        created_by_id=actor.id, created_at=now)
    session.add(entry)
    session.flush()
    record(session, actor=actor, action="money.fee_follow_up", now=now,
           community_id=community.id, target=f"unit:{unit.id}")
    return entry


def follow_ups_of(session: Session, community: Community, *, limit: int = 50):
    return list(session.scalars(select(FeeFollowUp).where(
        FeeFollowUp.community_id == community.id)
        .order_by(FeeFollowUp.created_at.desc()).limit(limit)))


def bills_of_units(session: Session, units: list[Unit]) -> list[FeeBill]:
    if not units:
        return []
    return list(session.scalars(select(FeeBill).where(
        FeeBill.unit_id.in_([u.id for u in units]))
        .order_by(FeeBill.period.desc(), FeeBill.unit_id)))


def payments_of_units(session: Session, units: list[Unit]) -> list[FeePayment]:
    if not units:
        return []
    return list(session.scalars(select(FeePayment).where(
        FeePayment.unit_id.in_([u.id for u in units]))
        .order_by(FeePayment.paid_on.desc(), FeePayment.id.desc())))


def load_payment(session: Session, community: Community, payment_id: int) -> FeePayment:
    payment = session.get(FeePayment, payment_id)
    if payment is None or payment.community_id != community.id:
        raise NotFound(_("There is no such payment."))
    return payment


def assign_payment(session: Session, *, actor: User, now: dt.datetime, community: Community,
                   payment_id: int, label: str) -> FeePayment:
    """Give an unmatched bank row its unit, once (the row's text stays as it was written)."""
    payment = load_payment(session, community, payment_id)
    if payment.unit_id is not None:
        raise Conflict(_("This payment is already matched to a unit."))
    unit = find_unit(session, community, label)
    if unit is None:
        raise DomainError(_("No unit %(label)s in the register.", label=label), field="unit")
    payment.unit_id = unit.id
    session.flush()
    record(session, actor=actor, action="money.fee_payment_matched", now=now,
           community_id=community.id, target=f"fee_payment:{payment.id}",
           details={"unit_id": unit.id, "as_written": payment.reference})
    return payment
