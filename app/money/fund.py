"""The special maintenance fund (专项维修资金): deposits by area, interest, expenditures.

Each unit has a sub-account (lines on ``F301`` naming the unit). A deposit credits each unit
its area × the rate; interest is shared by balance; an expenditure request names the work, its
budget and the units that share its cost, and must cite a motion of matter 5 (using the fund)
that the owners adopted (art. 278), or be filed under the emergency-use rule, with a notice to
owners afterwards and a flag for the next meeting. Payments are split among the units by area
(largest remainder, exact to the fen) and refused beyond the budget.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from elections.rules import Matter

from ..audit.services import record
from ..errors import Conflict, DomainError, NotFound
from ..meetings.services import adopted_motions
from ..models import (
    Community,
    FundSpend,
    FundSpendUnit,
    JournalEntry,
    Ledger,
    SpendBasis,
    Unit,
    User,
)
from ..notifications.services import notify, owners_of
from .arithmetic import BadAmount, from_fen, round_yuan, split_fen, to_fen
from .ledger import FUND_BANK, FUND_OWNERS, Line, entry_total, post_entry, unit_fund_balances

#: The emergencies the emergency-use rule lists (local fund rules): no vote first.
EMERGENCIES = {
    "lift": _l("Lift failure endangering people"),
    "water_main": _l("Burst water main or drain"),
    "roof_leak": _l("Roof or exterior wall leaking into homes"),
    "fire_system": _l("Fire-fighting system out of order"),
    "facade": _l("Loose facade or fixtures that may fall"),
}
#: Spending categories, for the disclosure's bar chart.
CATEGORIES = {
    "lift": _l("Lifts"),
    "roof": _l("Roofs and exterior walls"),
    "pipes": _l("Water supply and drains"),
    "fire": _l("Fire-fighting equipment"),
    "power": _l("Power supply"),
    "other": _l("Other common works"),
}

SPLITS = {"area": _l("By exclusive area (the default)"), "equal": _l("Equally per unit")}
DEPOSIT, INTEREST, SPEND, TOP_UP = "fund.deposit", "fund.interest", "fund.spend", "fund.top_up"


def _amount(value, field: str = "amount") -> Decimal:
    try:
        fen = to_fen(value)
    except BadAmount as exc:
        raise DomainError(_("Amounts are in yuan with at most two decimals."),
                          field=field) from exc
    if fen <= 0:
        raise DomainError(_("The amount must be greater than zero."), field=field)
    return from_fen(fen)


def active_units(session: Session, community: Community) -> list[Unit]:
    return list(session.scalars(select(Unit).where(
        Unit.community_id == community.id, Unit.active.is_(True)).order_by(Unit.id)))


def deposit_by_area(
    session: Session, *, actor: User | None, now: dt.datetime, community: Community,
    rate_per_m2: Decimal, entry_date: dt.date, memo: str, source: str = DEPOSIT,
) -> JournalEntry:
    """Credit every active unit its area × ``rate_per_m2`` (yuan per m², rounded to the fen)."""
    rate = Decimal(rate_per_m2)
    if rate <= 0:
        raise DomainError(_("The rate must be greater than zero."), field="rate")
    lines, total = [], 0
    for unit in active_units(session, community):
        amount = round_yuan(unit.area * rate)
        if amount > 0:
            lines.append(Line(FUND_OWNERS, credit=amount, unit_id=unit.id))
            total += to_fen(amount)
    if not lines:
        raise DomainError(_("The register has no units yet."), field="rate")
    lines.insert(0, Line(FUND_BANK, debit=from_fen(total)))
    return post_entry(session, actor=actor, now=now, community=community, ledger=Ledger.FUND,
                      entry_date=entry_date, memo=memo, lines=lines, source=source)


def share_interest(
    session: Session, *, actor: User | None, now: dt.datetime, community: Community,
    amount: Decimal, entry_date: dt.date, memo: str,
) -> JournalEntry:
    """Credit the bank's interest to the units in proportion to their balances."""
    amount = _amount(amount)
    weights = {uid: b for uid, b in
               unit_fund_balances(session, community, until=entry_date).items() if b > 0}
    if not weights:
        raise DomainError(_("No unit has a balance to share interest by."), field="amount")
    parts = split_fen(to_fen(amount), weights)
    lines = [Line(FUND_BANK, debit=amount)] + [
        Line(FUND_OWNERS, credit=from_fen(fen), unit_id=uid)
        for uid, fen in sorted(parts.items()) if fen > 0]
    return post_entry(session, actor=actor, now=now, community=community, ledger=Ledger.FUND,
                      entry_date=entry_date, memo=memo, lines=lines, source=INTEREST)


def top_up(
    session: Session, *, actor: User, now: dt.datetime, community: Community,
    rate_per_m2: Decimal, entry_date: dt.date, memo: str, motion_id: int | None,
) -> JournalEntry:
    """Raise the fund again (续筹), by area: only on an adopted motion of item 6 (≥ 3/4)."""
    raising = {m.id for m in adopted_motions(session, community, Matter.RAISE_FUND)}
    if not motion_id or motion_id not in raising:
        raise Conflict(_("Topping up the fund needs a motion to raise it that the owners "
                         "adopted (art. 278, item 6: at least three quarters)."))
    return deposit_by_area(session, actor=actor, now=now, community=community,
                           rate_per_m2=rate_per_m2, entry_date=entry_date,
                           memo=memo, source=TOP_UP)


def owned_units(session: Session, user: User, community: Community) -> list[Unit]:
    """The units ``user`` owns now in ``community`` (a tenant sees no fund statement)."""
    from ..models import Ownership, Person

    return list(session.scalars(
        select(Unit).join(Ownership, Ownership.unit_id == Unit.id)
        .join(Person, Person.id == Ownership.person_id)
        .where(Person.user_id == user.id, Person.community_id == community.id,
               Unit.community_id == community.id, Ownership.ended_at.is_(None))
        .order_by(Unit.id).distinct()))


# --- expenditures ---------------------------------------------------------------------------


def eligible_motions(session: Session, community: Community):
    """Motions a spend may cite: adopted by the owners, of matter 5 (using the fund)."""
    return adopted_motions(session, community, Matter.USE_FUND)


def file_spend(
    session: Session, *, actor: User, now: dt.datetime, community: Community, title: str,
    category: str, budget, unit_ids: Sequence[int], motion_id: int | None = None,
    emergency_kind: str | None = None, description: str = "", split: str = "area",
) -> FundSpend:
    """File an expenditure request; refused without an adopted motion or a listed emergency."""
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Name the work."), field="title")
    if category not in CATEGORIES:
        raise DomainError(_("Choose a category."), field="category")
    budget = _amount(budget, "budget")
    if motion_id:
        if motion_id not in {m.id for m in eligible_motions(session, community)}:
            raise Conflict(_("The fund can only be spent on a motion to use it that the "
                             "owners adopted (art. 278, item 5). The motion cited is not one."))
        basis, emergency_kind = SpendBasis.MOTION, None
    elif emergency_kind:
        if emergency_kind not in EMERGENCIES:
            raise DomainError(_("That is not a listed emergency."), field="emergency_kind")
        basis = SpendBasis.EMERGENCY
    else:
        raise Conflict(_("The fund cannot be spent without an adopted motion to use it "
                         "(art. 278, item 5) or a listed emergency."))
    if split not in SPLITS:
        raise DomainError(_("Choose how the cost is shared."), field="split")
    units = {u.id for u in active_units(session, community)}
    chosen = sorted(set(unit_ids))
    if not chosen:
        raise DomainError(_("Choose the units that share the cost."), field="units")
    if not set(chosen) <= units:
        raise DomainError(_("That unit is not in this community."), field="units")
    spend = FundSpend(community_id=community.id, title=title[:200], category=category,
                      description=description or "", budget=budget, basis=basis,
                      motion_id=motion_id or None, emergency_kind=emergency_kind,
                      split=split, created_by_id=actor.id, created_at=now,
                      units=[FundSpendUnit(unit_id=uid) for uid in chosen])
    session.add(spend)
    session.flush()
    record(session, actor=actor, action="money.spend_filed", now=now,
           community_id=community.id, target=f"spend:{spend.id}",
           details={"title": spend.title, "budget": str(budget), "basis": basis.value,
                    "motion_id": spend.motion_id, "emergency": emergency_kind,
                    "units": len(chosen), "split": split})
    if basis is SpendBasis.EMERGENCY:
        notify(session, now=now, community=community, recipients=owners_of(session, community),
               kind="money.emergency_spend",
               message=lambda: (
                   _("Emergency use of the maintenance fund: %(title)s", title=spend.title),
                   _("The committee used the emergency rule (%(kind)s), budget %(budget)s "
                     "yuan. It will be put to the next owners' meeting.",
                     kind=EMERGENCIES[spend.emergency_kind], budget=spend.budget)))
    return spend


def emergency_spends(session: Session, community: Community) -> list[FundSpend]:
    """Spends made under the emergency-use rule: each goes to the next owners' meeting."""
    return list(session.scalars(select(FundSpend).where(
        FundSpend.community_id == community.id, FundSpend.basis == SpendBasis.EMERGENCY)
        .order_by(FundSpend.created_at)))


def load_spend(session: Session, community: Community, spend_id: int) -> FundSpend:
    spend = session.get(FundSpend, spend_id)
    if spend is None or spend.community_id != community.id:
        raise NotFound(_("There is no such expenditure."))
    return spend


def spends_of(session: Session, community: Community) -> list[FundSpend]:
    return list(session.scalars(select(FundSpend).where(FundSpend.community_id == community.id)
                                .order_by(FundSpend.created_at.desc(), FundSpend.id.desc())))


def spent_on(spend: FundSpend) -> Decimal:
    """What was paid on ``spend`` (reversals, which carry the spend too, take theirs back)."""
    fen = 0
    session = object_session(spend)
    entries = session.scalars(select(JournalEntry).where(JournalEntry.spend_id == spend.id))
    for entry in entries:
        total = to_fen(entry_total(entry))
        fen += -total if entry.reverses_id is not None else total
    return from_fen(fen)


def allocation(session: Session, spend: FundSpend, amount: Decimal) -> dict[int, Decimal]:
    """How ``amount`` splits among the spend's units (by area, or equally), to the fen."""
    weights = {link.unit_id: (link.unit.area if spend.split == "area" else 1)
               for link in spend.units}
    return {uid: from_fen(f) for uid, f in split_fen(to_fen(amount), weights).items()}


def pay_spend(
    session: Session, *, actor: User, now: dt.datetime, spend: FundSpend, amount,
    entry_date: dt.date, memo: str,
) -> JournalEntry:
    """Pay from the fund on ``spend``: its units' sub-accounts are debited by area."""
    amount = _amount(amount)
    paid = spent_on(spend)
    if paid + amount > spend.budget:
        raise Conflict(_("Over budget: %(budget)s yuan approved, %(paid)s already paid, so "
                         "at most %(left)s yuan can still be paid.", budget=spend.budget,
                         paid=paid, left=spend.budget - paid))
    community = session.get(Community, spend.community_id)
    parts = allocation(session, spend, amount)
    lines = [Line(FUND_OWNERS, debit=v, unit_id=uid) for uid, v in sorted(parts.items())
             if v > 0]
    lines.append(Line(FUND_BANK, credit=amount))
    entry = post_entry(session, actor=actor, now=now, community=community, ledger=Ledger.FUND,
                       entry_date=entry_date, memo=memo or spend.title, lines=lines,
                       source=SPEND, spend_id=spend.id, audit=False)
    record(session, actor=actor, action="money.spend_paid", now=now,
           community_id=community.id, target=f"spend:{spend.id}",
           details={"amount": str(amount), "entry": entry.seq})
    return entry


def unit_statement(session: Session, unit: Unit) -> list[tuple[JournalEntry, Decimal, Decimal]]:
    """A unit's fund statement: ``(entry, change, running balance)``, oldest first."""
    from ..models import JournalLine, LedgerAccount

    rows = session.execute(
        select(JournalEntry, JournalLine)
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .where(JournalLine.unit_id == unit.id, LedgerAccount.code == FUND_OWNERS)
        .order_by(JournalEntry.entry_date, JournalEntry.seq)).all()
    balance, result = 0, []
    for entry, line in rows:
        change = to_fen(line.credit) - to_fen(line.debit)
        balance += change
        result.append((entry, from_fen(change), from_fen(balance)))
    return result
