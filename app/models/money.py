"""Money: the community's double-entry books and the special maintenance fund (专项维修资金).

Two ledgers share one set of tables: the association's accounts (``operating``) and the fund
(``fund``), whose owners' sub-account lines name the unit they belong to. Journal entries are
append-only and hash-chained per community; a mistake is corrected by a reversing entry.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Money, intpk, str80, str200, timestamp
from .community import Unit, enum_column


class Ledger(enum.StrEnum):
    #: The association's own income and expenses (and the service company's disclosures).
    OPERATING = "operating"
    #: The special maintenance fund: deposits, interest and spends, per unit.
    FUND = "fund"


class AccountKind(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    #: Net assets; in the fund, the owners' sub-accounts (one line per unit).
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class LedgerAccount(Base):
    """One account of a community's chart of accounts (会计科目)."""

    __tablename__ = "ledger_account"
    __table_args__ = (UniqueConstraint("community_id", "code"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str80]
    ledger: Mapped[Ledger] = mapped_column(enum_column(Ledger))
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind))
    #: Lines on this account must name a unit (the fund's owners' sub-accounts).
    per_unit: Mapped[bool] = mapped_column(default=False)


class AccountingPeriod(Base):
    """A closed period: no entry may be dated inside it any more (corrections are reversals)."""

    __tablename__ = "accounting_period"
    __table_args__ = (
        UniqueConstraint("community_id", "starts_on", "ends_on"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime]
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class JournalEntry(Base):
    """One balanced journal entry (记账凭证); never edited, never deleted."""

    __tablename__ = "journal_entry"
    __table_args__ = (UniqueConstraint("community_id", "seq"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    #: Position in the community's chain, from 1.
    seq: Mapped[int]
    ledger: Mapped[Ledger] = mapped_column(enum_column(Ledger))
    entry_date: Mapped[dt.date] = mapped_column(Date, index=True)
    memo: Mapped[str200]
    #: The entry this one reverses (each entry is reversed at most once).
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id"), unique=True
    )
    #: The fund expenditure this entry pays, if any.
    spend_id: Mapped[int | None] = mapped_column(ForeignKey("fund_spend.id"), index=True)
    #: Where it came from: "manual", "import:<id>", "demo" …
    source: Mapped[str] = mapped_column(String(40), default="manual")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[timestamp]
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", order_by="JournalLine.id", cascade="all"
    )


class JournalLine(Base):
    """A debit or a credit of one entry on one account (and, on a sub-account, one unit)."""

    __tablename__ = "journal_line"
    __table_args__ = (
        CheckConstraint(
            "(debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0)", name="one_side"
        ),
    )

    id: Mapped[intpk]
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    debit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    credit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
    account: Mapped[LedgerAccount] = relationship()
    unit: Mapped[Unit | None] = relationship()


class LedgerHead(Base):
    """The last entry of a community's chain; appending locks this row."""

    __tablename__ = "ledger_head"

    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    entry_hash: Mapped[str] = mapped_column(String(64))


class SpendBasis(enum.StrEnum):
    #: An adopted motion of matter 5 (using the fund), art. 278.
    MOTION = "motion"
    #: The emergency-use rule: listed emergencies, notice afterwards, on the next agenda.
    EMERGENCY = "emergency"


class FundSpend(Base):
    """An expenditure request on the fund: the work, its budget and the units that share it."""

    __tablename__ = "fund_spend"
    __table_args__ = (
        CheckConstraint("budget > 0", name="budget_positive"),
        CheckConstraint(
            "(basis = 'motion' AND motion_id IS NOT NULL) OR "
            "(basis = 'emergency' AND emergency_kind IS NOT NULL)",
            name="has_basis",
        ),
        CheckConstraint("split IN ('area', 'equal')", name="split_known"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    title: Mapped[str200]
    #: Spending category (lift, roof, water pipes …) for the disclosure's chart.
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    budget: Mapped[Decimal] = mapped_column(Money)
    basis: Mapped[SpendBasis] = mapped_column(enum_column(SpendBasis))
    motion_id: Mapped[int | None] = mapped_column(ForeignKey("motion.id"), index=True)
    emergency_kind: Mapped[str | None] = mapped_column(String(40))
    #: How the cost is shared among the units: "area" (by exclusive area, the default) or
    #: "equal" (one share a unit, when the owners decided so).
    split: Mapped[str] = mapped_column(String(10), default="area")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[timestamp]

    units: Mapped[list[FundSpendUnit]] = relationship(
        back_populates="spend", order_by="FundSpendUnit.unit_id", cascade="all"
    )
    payments: Mapped[list[JournalEntry]] = relationship(order_by="JournalEntry.seq",
                                                        viewonly=True)


class FundSpendUnit(Base):
    """A unit that benefits from a work item and shares its cost (by area, the default)."""

    __tablename__ = "fund_spend_unit"
    __table_args__ = (UniqueConstraint("spend_id", "unit_id"),)

    id: Mapped[intpk]
    spend_id: Mapped[int] = mapped_column(ForeignKey("fund_spend.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)

    spend: Mapped[FundSpend] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()


class DisclosureKind(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Disclosure(Base):
    """A published income and expense statement with the fund's report, frozen and signed."""

    __tablename__ = "disclosure"
    __table_args__ = (
        UniqueConstraint("community_id", "kind", "starts_on"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    kind: Mapped[DisclosureKind] = mapped_column(enum_column(DisclosureKind))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    title: Mapped[str200]
    #: The statement as published: ``sign("money.disclosure", record)`` — record and signatures.
    document: Mapped[dict] = mapped_column(JSON)
    #: Head of the community's ledger chain when published (seq and hash).
    ledger_seq: Mapped[int]
    ledger_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime]
    published_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class FundReview(Base):
    """An owner's request for a review of their unit's fund figures, answered on the record."""

    __tablename__ = "fund_review"
    __table_args__ = (
        CheckConstraint("(answer IS NULL) = (answered_at IS NULL)", name="answer_has_time"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship()


class FeeSchedule(Base):
    """A published fee schedule (明码标价): rates by use, in force from a date; never edited,
    a new schedule replaces it."""

    __tablename__ = "fee_schedule"
    __table_args__ = (UniqueConstraint("community_id", "effective_from"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    #: ``[{"use", "basis": "per_m2" | "per_unit", "rate": "2.35", "name"}]``, rates in yuan a
    #: month; signed with the site key in ``document``.
    document: Mapped[dict] = mapped_column(JSON)
    published_at: Mapped[dt.datetime]
    published_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class FeeBill(Base):
    """One month's property fee of one unit, from the schedule in force."""

    __tablename__ = "fee_bill"
    __table_args__ = (
        UniqueConstraint("unit_id", "period"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    #: The first day of the month billed.
    period: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("fee_schedule.id"))
    issued_at: Mapped[dt.datetime]

    unit: Mapped[Unit] = relationship()


class FeePayment(Base):
    """A payment of property fees; a bank row that matches no unit stays unmatched (listed)."""

    __tablename__ = "fee_payment"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    #: The payer's reference or the bank row's text (for unmatched rows: what was written).
    reference: Mapped[str200] = mapped_column(default="")
    source: Mapped[str] = mapped_column(String(40), default="staff")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[timestamp]

    unit: Mapped[Unit | None] = relationship()


class FeeFollowUp(Base):
    """A follow-up of a unit in arrears (催缴记录): who spoke to whom, and what was said."""

    __tablename__ = "fee_follow_up"

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[timestamp]


class ImmutableRecord(RuntimeError):
    """Something tried to change or remove a booked entry or a published statement."""


def _refuse_change(_mapper, _connection, target) -> None:
    raise ImmutableRecord(f"{type(target).__name__} {target.id} is append-only")


for _model in (JournalEntry, JournalLine, Disclosure, FeeSchedule):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
