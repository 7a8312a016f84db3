"""The books: chart of accounts, balanced journal entries in a hash chain, closed periods.

Double-entry is kept here rather than in python-accounting: that library brings its own
declarative base and session class, soft-deletes (we never delete), naive timestamps and hard
dependencies on MySQL and psycopg2 drivers, none of which fit this site's one migration, its
savepoint-per-test sessions or its append-only rule.

Every entry is appended under a lock on the community's ``LedgerHead``; its hash covers its
content, its lines and the previous entry's hash, so ``verify_ledger`` names the first entry
that was changed, removed or slipped in. An entry is never edited: ``reverse_entry`` books the
mirror image. No entry may be dated inside a closed period.

Services take ``session``, ``actor`` and ``now``; they flush, never commit, and raise domain
errors.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from ..audit.services import record
from ..errors import Conflict, DomainError, NotFound
from ..models import (
    AccountingPeriod,
    AccountKind,
    Community,
    JournalEntry,
    JournalLine,
    Ledger,
    LedgerAccount,
    LedgerHead,
    Unit,
    User,
)
from .arithmetic import GENESIS, BadAmount, chain_hash, entry_balances, from_fen, to_fen

A, L, E, IN, X = (AccountKind.ASSET, AccountKind.LIABILITY, AccountKind.EQUITY,
                 AccountKind.INCOME, AccountKind.EXPENSE)
OP, FUND = Ledger.OPERATING, Ledger.FUND

BANK = "1001"
FUND_BANK = "F101"
FUND_OWNERS = "F301"

#: The chart every community starts with: (code, name as booked, ledger, kind, per unit).
CHART: tuple[tuple[str, str, Ledger, AccountKind, bool], ...] = (
    (BANK, "银行存款", OP, A, False),
    ("1002", "库存现金", OP, A, False),
    ("1122", "应收款项", OP, A, False),
    ("2202", "应付款项", OP, L, False),
    ("3001", "业主共有资金", OP, E, False),
    ("4001", "停车场地收益", OP, IN, False),
    ("4002", "广告位收益", OP, IN, False),
    ("4003", "场地租赁收益", OP, IN, False),
    ("4004", "利息收入", OP, IN, False),
    ("4009", "其他收入", OP, IN, False),
    ("5001", "业委会办公经费", OP, X, False),
    ("5002", "公共设施维护", OP, X, False),
    ("5003", "审计与法律服务", OP, X, False),
    ("5004", "公共水电费", OP, X, False),
    ("5009", "其他支出", OP, X, False),
    (FUND_BANK, "维修资金专户存款", FUND, A, False),
    (FUND_OWNERS, "业主分户账", FUND, E, True),
)

#: The accounts' names in the reader's language (the books keep the Chinese name).
ACCOUNT_LABELS = {
    BANK: _l("Bank deposits"),
    "1002": _l("Cash"),
    "1122": _l("Receivables"),
    "2202": _l("Payables"),
    "3001": _l("Owners' common funds"),
    "4001": _l("Parking income"),
    "4002": _l("Advertising income"),
    "4003": _l("Rent of common spaces"),
    "4004": _l("Interest income"),
    "4009": _l("Other income"),
    "5001": _l("Committee office costs"),
    "5002": _l("Upkeep of common facilities"),
    "5003": _l("Audit and legal services"),
    "5004": _l("Common water and power"),
    "5009": _l("Other expenses"),
    FUND_BANK: _l("Fund bank account"),
    FUND_OWNERS: _l("Owners' sub-accounts"),
}

KIND_LABELS = {
    A: _l("Asset"), L: _l("Liability"), E: _l("Net assets"), IN: _l("Income"), X: _l("Expense"),
}
LEDGER_LABELS = {OP: _l("Association accounts"), FUND: _l("Special maintenance fund")}


def account_label(account: LedgerAccount) -> str:
    label = ACCOUNT_LABELS.get(account.code)
    return f"{account.code} {label if label is not None else account.name}"


@dataclass(frozen=True)
class Line:
    """A line to book: ``account`` by code; exactly one of debit / credit positive."""

    account: str
    debit: Decimal = Decimal("0.00")
    credit: Decimal = Decimal("0.00")
    unit_id: int | None = None


def ensure_chart(session: Session, community: Community) -> dict[str, LedgerAccount]:
    """The community's accounts by code, the standard chart added where missing."""
    accounts = {a.code: a for a in session.scalars(
        select(LedgerAccount).where(LedgerAccount.community_id == community.id))}
    for code, name, ledger, kind, per_unit in CHART:
        if code not in accounts:
            accounts[code] = LedgerAccount(community_id=community.id, code=code, name=name,
                                           ledger=ledger, kind=kind, per_unit=per_unit)
            session.add(accounts[code])
    session.flush()
    return accounts


def accounts_of(session: Session, community: Community,
                ledger: Ledger | None = None) -> list[LedgerAccount]:
    ensure_chart(session, community)
    query = select(LedgerAccount).where(LedgerAccount.community_id == community.id)
    if ledger is not None:
        query = query.where(LedgerAccount.ledger == ledger)
    return list(session.scalars(query.order_by(LedgerAccount.code)))


# --- closed periods -------------------------------------------------------------------------


def closed_period_on(session: Session, community: Community,
                     day: dt.date) -> AccountingPeriod | None:
    return session.scalar(
        select(AccountingPeriod).where(
            AccountingPeriod.community_id == community.id,
            AccountingPeriod.starts_on <= day, AccountingPeriod.ends_on >= day,
        ).limit(1))


def close_period(session: Session, *, actor: User, now: dt.datetime, community: Community,
                 starts_on: dt.date, ends_on: dt.date) -> AccountingPeriod:
    """Close ``starts_on``–``ends_on``: from now on nothing can be dated inside it."""
    if ends_on < starts_on:
        raise DomainError(_("A period ends on or after the day it starts."), field="ends_on")
    existing = session.scalar(select(AccountingPeriod).where(
        AccountingPeriod.community_id == community.id, AccountingPeriod.starts_on == starts_on,
        AccountingPeriod.ends_on == ends_on))
    if existing is not None:
        return existing
    period = AccountingPeriod(community_id=community.id, starts_on=starts_on, ends_on=ends_on,
                              closed_at=now, closed_by_id=actor.id)
    session.add(period)
    session.flush()
    record(session, actor=actor, action="money.period_closed", now=now,
           community_id=community.id, target=f"period:{period.id}",
           details={"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()})
    return period


def closed_periods(session: Session, community: Community) -> list[AccountingPeriod]:
    return list(session.scalars(
        select(AccountingPeriod).where(AccountingPeriod.community_id == community.id)
        .order_by(AccountingPeriod.starts_on.desc(), AccountingPeriod.ends_on)))


# --- booking --------------------------------------------------------------------------------


def _entry_body(entry: JournalEntry, lines: Iterable[JournalLine],
                codes: dict[int, str]) -> dict:
    return {
        "community_id": entry.community_id,
        "seq": entry.seq,
        "ledger": entry.ledger.value,
        "entry_date": entry.entry_date.isoformat(),
        "memo": entry.memo,
        "reverses_id": entry.reverses_id,
        "spend_id": entry.spend_id,
        "source": entry.source,
        "created_by_id": entry.created_by_id,
        "created_at": entry.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "lines": [
            [codes[ln.account_id], ln.unit_id, str(to_fen(ln.debit)), str(to_fen(ln.credit))]
            for ln in lines
        ],
        "prev_hash": entry.prev_hash,
    }


def _locked_head(session: Session, community: Community) -> LedgerHead:
    query = select(LedgerHead).where(LedgerHead.community_id == community.id).with_for_update()
    head = session.scalar(query)
    if head is None:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(insert(LedgerHead).values(
            community_id=community.id, seq=0, entry_hash=GENESIS).on_conflict_do_nothing())
        head = session.scalar(query)
    return head


def _check_lines(session: Session, community: Community, ledger: Ledger,
                 lines: Sequence[Line], accounts: dict[str, LedgerAccount]) -> None:
    fen = []
    unit_ids = {ln.unit_id for ln in lines if ln.unit_id is not None}
    known_units = set(session.scalars(select(Unit.id).where(
        Unit.id.in_(unit_ids), Unit.community_id == community.id))) if unit_ids else set()
    for ln in lines:
        account = accounts.get(ln.account)
        if account is None or account.ledger is not ledger:
            raise DomainError(_("Account %(code)s is not in this ledger.", code=ln.account),
                              field="account")
        if account.per_unit != (ln.unit_id is not None):
            raise DomainError(
                _("Account %(code)s takes a unit on every line.", code=ln.account)
                if account.per_unit else
                _("Account %(code)s takes no unit.", code=ln.account), field="unit")
        if ln.unit_id is not None and ln.unit_id not in known_units:
            raise DomainError(_("That unit is not in this community."), field="unit")
        try:
            fen.append((to_fen(ln.debit), to_fen(ln.credit)))
        except BadAmount as exc:
            raise DomainError(_("Amounts are in yuan with at most two decimals."),
                              field="amount") from exc
    if not entry_balances(fen):
        raise DomainError(_("An entry needs at least two lines, each a positive debit or "
                            "credit, and its debits must equal its credits."), field="amount")


def post_entry(
    session: Session, *, actor: User | None, now: dt.datetime, community: Community,
    ledger: Ledger, entry_date: dt.date, memo: str, lines: Sequence[Line],
    source: str = "manual", reverses: JournalEntry | None = None, spend_id: int | None = None,
    audit: bool = True,
) -> JournalEntry:
    """Book one balanced entry at the end of the community's chain."""
    memo = (memo or "").strip()
    if not memo:
        raise DomainError(_("Say what the entry is for."), field="memo")
    if len(memo) > 200:
        raise DomainError(_("The description is at most 200 characters."), field="memo")
    period = closed_period_on(session, community, entry_date)
    if period is not None:
        raise Conflict(_("The period %(start)s – %(end)s is closed: nothing can be dated in it. "
                         "Book a reversing entry in an open period instead.",
                         start=period.starts_on.isoformat(), end=period.ends_on.isoformat()))
    accounts = ensure_chart(session, community)
    _check_lines(session, community, ledger, lines, accounts)
    head = _locked_head(session, community)
    entry = JournalEntry(
        community_id=community.id, seq=head.seq + 1, ledger=ledger, entry_date=entry_date,
        memo=memo, reverses_id=reverses.id if reverses else None, spend_id=spend_id,
        source=source, created_by_id=actor.id if actor else None, created_at=now,
        prev_hash=head.entry_hash, entry_hash="",
    )
    entry.lines = [
        JournalLine(account_id=accounts[ln.account].id, unit_id=ln.unit_id,
                    debit=Decimal(ln.debit), credit=Decimal(ln.credit))
        for ln in lines
    ]
    codes = {a.id: a.code for a in accounts.values()}
    entry.entry_hash = chain_hash(_entry_body(entry, entry.lines, codes))
    head.seq, head.entry_hash = entry.seq, entry.entry_hash
    session.add(entry)
    session.flush()
    if audit:
        record(session, actor=actor, action="money.entry_posted", now=now,
               community_id=community.id, target=f"journal:{entry.seq}",
               details={"ledger": ledger.value, "memo": memo, "source": source,
                        "amount": str(entry_total(entry))})
    return entry


def entry_total(entry: JournalEntry) -> Decimal:
    return from_fen(sum(to_fen(ln.debit) for ln in entry.lines))


def reverse_entry(session: Session, *, actor: User, now: dt.datetime, entry: JournalEntry,
                  entry_date: dt.date, reason: str) -> JournalEntry:
    """Book the mirror image of ``entry`` (the only way to correct the books)."""
    community = session.get(Community, entry.community_id)
    if entry.reverses_id is not None:
        raise Conflict(_("This entry is itself a reversal; book a new entry instead."))
    if session.scalar(select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)):
        raise Conflict(_("Entry %(seq)s has already been reversed.", seq=entry.seq))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the entry is reversed."), field="reason")
    codes = {a.id: a.code for a in accounts_of(session, community)}
    mirror = [Line(codes[ln.account_id], debit=ln.credit, credit=ln.debit, unit_id=ln.unit_id)
              for ln in entry.lines]
    reversal = post_entry(
        session, actor=actor, now=now, community=community, ledger=entry.ledger,
        entry_date=entry_date, memo=_("Reversal of entry %(seq)s: %(reason)s", seq=entry.seq,
                                      reason=reason)[:200],
        lines=mirror, source=entry.source, reverses=entry, spend_id=entry.spend_id, audit=False)
    if entry.spend_id is not None:
        from ..models import FundSpend

        spend = session.get(FundSpend, entry.spend_id)
        session.expire(spend, ["payments"])
    record(session, actor=actor, action="money.entry_reversed", now=now,
           community_id=community.id, target=f"journal:{entry.seq}",
           details={"reversal": reversal.seq, "reason": reason})
    return reversal


def load_entry(session: Session, community: Community, seq: int) -> JournalEntry:
    entry = session.scalar(select(JournalEntry).where(
        JournalEntry.community_id == community.id, JournalEntry.seq == seq))
    if entry is None:
        raise NotFound(_("There is no such entry."))
    return entry


def journal(session: Session, community: Community, ledger: Ledger | None = None, *,
            limit: int = 200) -> list[JournalEntry]:
    query = (select(JournalEntry).where(JournalEntry.community_id == community.id)
             .options(selectinload(JournalEntry.lines).selectinload(JournalLine.account)))
    if ledger is not None:
        query = query.where(JournalEntry.ledger == ledger)
    return list(session.scalars(query.order_by(JournalEntry.seq.desc()).limit(limit)))


def reversed_seqs(session: Session, community: Community) -> dict[int, int]:
    """``id of a reversed entry → seq of its reversal``."""
    rows = session.execute(select(JournalEntry.reverses_id, JournalEntry.seq).where(
        JournalEntry.community_id == community.id, JournalEntry.reverses_id.is_not(None)))
    return dict(rows.all())


# --- checking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerReport:
    ok: bool
    checked: int
    #: The sequence number of the first broken entry, and what is wrong there.
    break_at: int | None = None
    problem: str = ""


def verify_ledger(session: Session, community: Community) -> LedgerReport:
    """Walk the community's whole chain; name the first changed, removed or unbalanced entry."""
    codes = {a.id: a.code for a in accounts_of(session, community)}
    prev, expected, checked = GENESIS, 1, 0
    entries = session.scalars(
        select(JournalEntry).where(JournalEntry.community_id == community.id)
        .options(selectinload(JournalEntry.lines)).order_by(JournalEntry.seq))
    for entry in entries:
        if entry.seq != expected:
            return LedgerReport(False, checked, expected, _("entry missing"))
        if entry.prev_hash != prev:
            return LedgerReport(False, checked, entry.seq, _("link to the previous entry broken"))
        if chain_hash(_entry_body(entry, entry.lines, codes)) != entry.entry_hash:
            return LedgerReport(False, checked, entry.seq, _("entry content changed"))
        if not entry_balances([(to_fen(ln.debit), to_fen(ln.credit)) for ln in entry.lines]):
            return LedgerReport(False, checked, entry.seq, _("entry does not balance"))
        prev, expected, checked = entry.entry_hash, expected + 1, checked + 1
    head = session.get(LedgerHead, community.id)
    if head is not None and (head.seq != checked or head.entry_hash != prev):
        return LedgerReport(False, checked, checked + 1, _("entries after this point removed"))
    return LedgerReport(True, checked)


# --- balances -------------------------------------------------------------------------------


def _fen_sum(column):
    """The SQL sum of a money column as integer fen (the stored scaled integers)."""
    return func.coalesce(func.sum(type_coerce(column, BigInteger)), 0, type_=BigInteger)


def _signed(kind: AccountKind, debit: int, credit: int) -> int:
    """A balance on the account's normal side (debit for assets and expenses)."""
    return debit - credit if kind in (A, X) else credit - debit


def balances(session: Session, community: Community, *, since: dt.date | None = None,
             until: dt.date | None = None) -> dict[str, Decimal]:
    """Every account's balance (on its normal side) over the entries dated in the window."""
    query = (
        select(LedgerAccount.code, LedgerAccount.kind,
               _fen_sum(JournalLine.debit), _fen_sum(JournalLine.credit))
        .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(LedgerAccount.community_id == community.id)
        .group_by(LedgerAccount.code, LedgerAccount.kind)
    )
    if since is not None:
        query = query.where(JournalEntry.entry_date >= since)
    if until is not None:
        query = query.where(JournalEntry.entry_date <= until)
    result = {a.code: Decimal("0.00") for a in accounts_of(session, community)}
    for code, kind, debit, credit in session.execute(query):
        # ExactDecimal sums come back as raw scaled integers (fen).
        result[code] = from_fen(_signed(kind, int(debit), int(credit)))
    return result


def unit_fund_balances(session: Session, community: Community, *,
                       until: dt.date | None = None) -> dict[int, Decimal]:
    """Each unit's balance on the fund's owners' sub-accounts (units with none: absent)."""
    query = (
        select(JournalLine.unit_id, _fen_sum(JournalLine.credit), _fen_sum(JournalLine.debit))
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(LedgerAccount.community_id == community.id, LedgerAccount.code == FUND_OWNERS)
        .group_by(JournalLine.unit_id)
    )
    if until is not None:
        query = query.where(JournalEntry.entry_date <= until)
    return {uid: from_fen(int(c) - int(d)) for uid, c, d in session.execute(query)}


def group_by_building(session: Session, community: Community,
                      per_unit: dict[int, Decimal]) -> list[tuple[str, Decimal]]:
    """``(building name, total)`` for every building of the community."""
    totals: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(Unit.id, Unit.building_id).where(Unit.community_id == community.id))
    building_of = dict(rows.all())
    names = {b.id: b.name for b in community.buildings}
    for name in names.values():
        totals[name] += 0
    for uid, amount in per_unit.items():
        totals[names[building_of[uid]]] += to_fen(amount)
    return [(name, from_fen(totals[name])) for name in sorted(totals)]
