"""Periodic disclosure (财务公开): the income and expense statement and the fund's report.

``statement`` computes the figures of a period from the books; ``publish_disclosure`` freezes
them (amounts as strings, never floats), closes the period, signs the record with the site key
and tells the owners. A published statement is never recomputed: pages show its record.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import Conflict, DomainError, NotFound
from ..models import (
    AccountKind,
    Community,
    Disclosure,
    DisclosureKind,
    JournalEntry,
    Ledger,
    LedgerHead,
    Unit,
    User,
)
from ..notifications.services import notify, owners_of
from ..signing import sign
from .arithmetic import from_fen, to_fen
from .fund import CATEGORIES, DEPOSIT, INTEREST, SPEND, TOP_UP, spends_of
from .ledger import (
    FUND_OWNERS,
    accounts_of,
    balances,
    close_period,
    group_by_building,
    unit_fund_balances,
)

PURPOSE = "money.disclosure"
KIND_LABELS = {
    DisclosureKind.MONTHLY: _l("Monthly statement"),
    DisclosureKind.QUARTERLY: _l("Quarterly statement"),
    DisclosureKind.YEARLY: _l("Yearly statement and fund report"),
}
_MONTHS = {DisclosureKind.MONTHLY: 1, DisclosureKind.QUARTERLY: 3, DisclosureKind.YEARLY: 12}


def period_of(kind: DisclosureKind, starts_on: dt.date) -> tuple[dt.date, dt.date]:
    """The period of ``kind`` that starts on ``starts_on`` (a first of month, quarter, year)."""
    months = _MONTHS[kind]
    if starts_on.day != 1 or (starts_on.month - 1) % months:
        raise DomainError(_("A statement starts on the first day of its month, quarter or "
                            "year."), field="starts_on")
    last_month = starts_on.month + months - 1
    ends_on = starts_on.replace(month=last_month,
                                day=calendar.monthrange(starts_on.year, last_month)[1])
    return starts_on, ends_on


def month_ends(starts_on: dt.date, ends_on: dt.date, *, at_least: int = 6) -> list[dt.date]:
    """Month ends from ``starts_on``'s month to ``ends_on``, reaching back ``at_least`` months."""
    year, month = ends_on.year, ends_on.month
    result = []
    while True:
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        result.append(last)
        if len(result) >= at_least and last <= starts_on.replace(
                day=calendar.monthrange(starts_on.year, starts_on.month)[1]):
            break
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(result)


def _fund_flows(session: Session, community: Community, starts_on: dt.date,
                ends_on: dt.date) -> dict[str, int]:
    """Fen credited and debited on the owners' sub-accounts in the period, by kind of entry."""
    flows: dict[str, int] = defaultdict(int)
    entries = session.scalars(select(JournalEntry).where(
        JournalEntry.community_id == community.id, JournalEntry.ledger == Ledger.FUND,
        JournalEntry.entry_date >= starts_on, JournalEntry.entry_date <= ends_on))
    owners_id = next(a.id for a in accounts_of(session, community, Ledger.FUND)
                     if a.code == FUND_OWNERS)
    for entry in entries:
        change = sum(to_fen(ln.credit) - to_fen(ln.debit) for ln in entry.lines
                     if ln.account_id == owners_id)
        kind = {DEPOSIT: "contributions", TOP_UP: "contributions", INTEREST: "interest",
                SPEND: "spending"}.get(entry.source, "other")
        flows[kind] += -change if kind == "spending" else change
    return flows


def statement(session: Session, community: Community, starts_on: dt.date,
              ends_on: dt.date, *, with_units: bool = False) -> dict:
    """The figures of a period, as the published record holds them (amounts as strings).

    ``with_units`` adds every unit's sub-account balance (the yearly fund report lists them,
    as the national fund rules ask).
    """
    accounts = accounts_of(session, community)
    moved = balances(session, community, since=starts_on, until=ends_on)
    income = [(a.code, a.name, str(moved[a.code])) for a in accounts
              if a.kind is AccountKind.INCOME and a.ledger is Ledger.OPERATING]
    expense = [(a.code, a.name, str(moved[a.code])) for a in accounts
               if a.kind is AccountKind.EXPENSE and a.ledger is Ledger.OPERATING]
    total_in = sum(to_fen(v) for _, _, v in income)
    total_out = sum(to_fen(v) for _, _, v in expense)
    opening = sum(to_fen(v) for v in unit_fund_balances(
        session, community, until=starts_on - dt.timedelta(days=1)).values())
    per_unit = unit_fund_balances(session, community, until=ends_on)
    flows = _fund_flows(session, community, starts_on, ends_on)
    trend = []
    for day in month_ends(starts_on, ends_on):
        fund = sum(to_fen(v) for v in unit_fund_balances(session, community, until=day).values())
        trend.append((day.isoformat(), str(from_fen(fund))))
    spends = []
    by_category: dict[str, int] = defaultdict(int)
    for spend in spends_of(session, community):
        paid, shares = 0, defaultdict(int)
        for entry in spend.payments:
            if starts_on <= entry.entry_date <= ends_on:
                # What each unit's sub-account bore (a reversal's credits give it back).
                for ln in entry.lines:
                    if ln.unit is not None:
                        shares[ln.unit.label] += to_fen(ln.debit) - to_fen(ln.credit)
                fen = sum(to_fen(ln.debit) for ln in entry.lines)
                paid += -fen if entry.reverses_id is not None else fen
        if paid or starts_on <= spend.created_at.date() <= ends_on:
            spends.append({"id": spend.id, "title": spend.title, "category": spend.category,
                           "budget": str(spend.budget), "paid": str(from_fen(paid)),
                           "basis": spend.basis.value, "motion_id": spend.motion_id,
                           "emergency": spend.emergency_kind, "units": len(spend.units),
                           "split": spend.split,
                           "shares": [(label, str(from_fen(f))) for label, f in
                                      sorted(shares.items()) if f]})
            by_category[spend.category] += paid
    units = []
    if with_units:
        for unit in session.scalars(select(Unit).where(Unit.community_id == community.id)
                                    .order_by(Unit.building_id, Unit.number)):
            units.append((unit.label, str(unit.area), str(per_unit.get(unit.id, "0.00"))))
    return {
        "income": income, "expense": expense,
        "total_income": str(from_fen(total_in)), "total_expense": str(from_fen(total_out)),
        "net": str(from_fen(total_in - total_out)),
        "fund": {
            "opening": str(from_fen(opening)),
            "contributions": str(from_fen(flows["contributions"])),
            "interest": str(from_fen(flows["interest"])),
            "spending": str(from_fen(flows["spending"])),
            "other": str(from_fen(flows["other"])),
            "closing": str(from_fen(sum(to_fen(v) for v in per_unit.values()))),
            "by_building": [(name, str(v)) for name, v in
                            group_by_building(session, community, per_unit)],
            "trend": trend,
            "spends": spends,
            "by_category": [(c, str(from_fen(by_category[c]))) for c in CATEGORIES
                            if by_category.get(c)],
            "units": units,
        },
    }


def publish_disclosure(
    session: Session, *, actor: User, now: dt.datetime, community: Community,
    kind: DisclosureKind, starts_on: dt.date, today: dt.date,
) -> Disclosure:
    """Freeze, sign and publish the statement of a period that has ended; close the period."""
    starts_on, ends_on = period_of(kind, starts_on)
    if ends_on >= today:
        raise Conflict(_("The period has not ended yet: a statement is published after its "
                         "last day."))
    if session.scalar(select(Disclosure.id).where(
            Disclosure.community_id == community.id, Disclosure.kind == kind,
            Disclosure.starts_on == starts_on)):
        raise Conflict(_("This statement is already published; a published statement "
                         "cannot change."))
    figures = statement(session, community, starts_on, ends_on,
                        with_units=kind is DisclosureKind.YEARLY)
    head = session.get(LedgerHead, community.id)
    seq, head_hash = (head.seq, head.entry_hash) if head else (0, "0" * 64)
    title = f"{community.name} {starts_on.isoformat()} – {ends_on.isoformat()}"
    body = {
        "community": {"id": community.id, "name": community.name},
        "kind": kind.value, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
        "published_at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "ledger_head": {"seq": seq, "hash": head_hash},
        "figures": figures,
    }
    close_period(session, actor=actor, now=now, community=community, starts_on=starts_on,
                 ends_on=ends_on)
    disclosure = Disclosure(community_id=community.id, kind=kind, starts_on=starts_on,
                            ends_on=ends_on, title=title, document=sign(PURPOSE, body),
                            ledger_seq=seq, ledger_hash=head_hash, published_at=now,
                            published_by_id=actor.id)
    session.add(disclosure)
    session.flush()
    record(session, actor=actor, action="money.disclosure_published", now=now,
           community_id=community.id, target=f"disclosure:{disclosure.id}",
           details={"kind": kind.value, "starts_on": starts_on.isoformat(),
                    "ends_on": ends_on.isoformat(), "ledger_seq": seq})
    # A plain path (not url_for), so the demo can publish outside a request too.
    notify(session, now=now, community=community, recipients=owners_of(session, community),
           kind="money.disclosure",
           link=f"/c/{community.id}/money/disclosures/{disclosure.id}",
           message=lambda: (_("The accounts for %(start)s – %(end)s are published",
                              start=starts_on.isoformat(), end=ends_on.isoformat()),
                            _("Income %(income)s yuan, expenses %(expense)s yuan; the "
                              "maintenance fund holds %(fund)s yuan.",
                              income=figures["total_income"], expense=figures["total_expense"],
                              fund=figures["fund"]["closing"])))
    return disclosure


def disclosures_of(session: Session, community: Community) -> list[Disclosure]:
    return list(session.scalars(select(Disclosure).where(
        Disclosure.community_id == community.id)
        .order_by(Disclosure.ends_on.desc(), Disclosure.kind)))


def load_disclosure(session: Session, community: Community, disclosure_id: int) -> Disclosure:
    disclosure = session.get(Disclosure, disclosure_id)
    if disclosure is None or disclosure.community_id != community.id:
        raise NotFound(_("There is no such statement."))
    return disclosure


def figures_of(disclosure: Disclosure) -> dict:
    """The published figures with amounts back as Decimals (for charts and tables)."""
    fig = disclosure.document["record"]["figures"]
    return {
        **fig,
        "income": [(c, n, Decimal(v)) for c, n, v in fig["income"]],
        "expense": [(c, n, Decimal(v)) for c, n, v in fig["expense"]],
    }


def yuan(value) -> str:
    """A chart's figure in yuan, always with its two places (1,930.40, not 1,930.4)."""
    from flask_babel import format_decimal

    return format_decimal(Decimal(value), format="#,##0.00")


def chart_data(fig: dict) -> dict:
    """What the disclosure page's charts draw, from the published figures."""
    from ..charts import Series
    from .ledger import ACCOUNT_LABELS

    def named(code: str, name: str) -> str:
        label = ACCOUNT_LABELS.get(code)
        return str(label) if label is not None else name

    fund_fig = fig["fund"]
    return {
        "yuan": yuan,
        "income_items": [(named(c, n), v) for c, n, v in fig["income"] if v],
        "expense_items": [(named(c, n), v) for c, n, v in fig["expense"] if v],
        #: "26-01": short enough for the last label to fit at the chart's right edge.
        "trend_labels": [day[2:7] for day, _v in fund_fig["trend"]],
        "trend_series": Series(str(_("Fund balance")),
                               [Decimal(v) for _d, v in fund_fig["trend"]]),
        "fund_categories": [(str(CATEGORIES.get(c, c)), Decimal(v))
                            for c, v in fund_fig["by_category"]],
    }


def missing_yearly_report(session: Session, community: Community, today: dt.date) -> int | None:
    """Last year, when the fund moved then and its yearly report is not published (the national
    fund rules ask for one at least once a year)."""
    year = today.year - 1
    moved = session.scalar(select(JournalEntry.id).where(
        JournalEntry.community_id == community.id, JournalEntry.ledger == Ledger.FUND,
        JournalEntry.entry_date <= dt.date(year, 12, 31)).limit(1))
    if moved is None:
        return None
    published = session.scalar(select(Disclosure.id).where(
        Disclosure.community_id == community.id, Disclosure.kind == DisclosureKind.YEARLY,
        Disclosure.starts_on == dt.date(year, 1, 1)))
    return None if published else year
