"""The owners' committee (业主委员会) after its election: members, alternates, the chair vote,
term reminders and recall proposals (罢免)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Area, Base, intpk, str80, str200, timestamp
from .community import enum_column


class MemberRole(enum.StrEnum):
    CHAIR = "chair"  #: 主任
    VICE_CHAIR = "vice_chair"  #: 副主任
    MEMBER = "member"  #: 委员


class MemberStatus(enum.StrEnum):
    SERVING = "serving"
    RESIGNED = "resigned"
    REMOVED = "removed"
    RECALLED = "recalled"
    DECEASED = "deceased"
    #: Any other vacancy (lost ownership, incapacity …); the reason says which.
    OTHER = "other"


class Committee(Base):
    """One committee of a community, from its seating to the end of its term or its successor."""

    __tablename__ = "committee"
    __table_args__ = (
        CheckConstraint("term_years BETWEEN 3 AND 5", name="term_years_known"),
        CheckConstraint("term_end > term_start", name="term_ends_after_start"),
        CheckConstraint("seats > 0", name="seats_positive"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    #: The election that made it (the election helper's reference, e.g. ``election:12``).
    election_ref: Mapped[str200]
    term_years: Mapped[int]
    term_start: Mapped[dt.date] = mapped_column(Date)
    term_end: Mapped[dt.date] = mapped_column(Date)
    #: How many seats the election filled (vacancies are counted against it).
    seats: Mapped[int]
    seated_at: Mapped[timestamp]
    seated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: When a successor was seated (None while this is the serving committee).
    ended_at: Mapped[dt.datetime | None]

    members: Mapped[list[CommitteeMember]] = relationship(
        back_populates="committee", order_by="CommitteeMember.id")
    alternates: Mapped[list[CommitteeAlternate]] = relationship(
        back_populates="committee", order_by="CommitteeAlternate.rank")


class CommitteeMember(Base):
    __tablename__ = "committee_member"
    __table_args__ = (
        UniqueConstraint("committee_id", "person_id"),
        CheckConstraint("votes_head >= 0", name="votes_head_not_negative"),
        CheckConstraint("status = 'serving' OR left_on IS NOT NULL", name="left_has_date"),
    )

    id: Mapped[intpk]
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    #: The owner (register person) holding the seat.
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    name: Mapped[str80]
    role: Mapped[MemberRole] = mapped_column(enum_column(MemberRole), default=MemberRole.MEMBER)
    votes_head: Mapped[int]
    votes_area: Mapped[Decimal] = mapped_column(Area)
    #: Place in the election's ranking (alternates called up keep theirs).
    rank: Mapped[int]
    status: Mapped[MemberStatus] = mapped_column(enum_column(MemberStatus),
                                                 default=MemberStatus.SERVING)
    joined_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    left_reason: Mapped[str] = mapped_column(Text, default="")
    #: The alternate this member was called up from (None: elected directly).
    from_alternate_id: Mapped[int | None] = mapped_column(ForeignKey("committee_alternate.id"))

    committee: Mapped[Committee] = relationship(back_populates="members")

    @property
    def serving(self) -> bool:
        return self.status is MemberStatus.SERVING


class CommitteeAlternate(Base):
    """候补委员: called up in rank order when a seat falls vacant."""

    __tablename__ = "committee_alternate"
    __table_args__ = (UniqueConstraint("committee_id", "rank"),
                      UniqueConstraint("committee_id", "person_id"))

    id: Mapped[intpk]
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    name: Mapped[str80]
    votes_head: Mapped[int]
    votes_area: Mapped[Decimal] = mapped_column(Area)
    rank: Mapped[int]
    called_up_at: Mapped[dt.datetime | None]

    committee: Mapped[Committee] = relationship(back_populates="alternates")


class ChairVote(Base):
    """The members choosing their chair or one vice-chair (one office per vote).

    Online: every serving member casts one ballot; paper: the count of a vote held among them
    is entered. Either way the winner needs more than half of all serving members.
    """

    __tablename__ = "committee_chair_vote"
    __table_args__ = (
        CheckConstraint("office IN ('chair', 'vice_chair')", name="office_known"),
        CheckConstraint("mode IN ('online', 'paper')", name="mode_known"),
    )

    id: Mapped[intpk]
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    office: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[dt.datetime]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[dt.datetime | None]
    winner_id: Mapped[int | None] = mapped_column(ForeignKey("committee_member.id"))
    #: The result as signed by the site: ``sign("committee-chair-vote", record)``.
    document: Mapped[dict | None] = mapped_column(JSON)


class ChairBallot(Base):
    __tablename__ = "committee_chair_ballot"
    __table_args__ = (UniqueConstraint("vote_id", "voter_id"),)

    id: Mapped[intpk]
    vote_id: Mapped[int] = mapped_column(ForeignKey("committee_chair_vote.id"), index=True)
    voter_id: Mapped[int] = mapped_column(ForeignKey("committee_member.id"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("committee_member.id"))
    cast_at: Mapped[dt.datetime]


class TermReminder(Base):
    """A reminder that the term ends in ``months`` months, sent once."""

    __tablename__ = "committee_term_reminder"
    __table_args__ = (UniqueConstraint("committee_id", "months"),)

    id: Mapped[intpk]
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    months: Mapped[int]
    sent_at: Mapped[dt.datetime]


class RecallProposal(Base):
    """Owners proposing to recall committee members (罢免); more than 20 % of the area puts it
    to the next owners' meeting."""

    __tablename__ = "recall_proposal"

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime]
    #: When the supporters first held more than 20 % of the total area.
    reached_at: Mapped[dt.datetime | None]
    #: The agenda motion it became (None while queued for the next drafted meeting).
    motion_id: Mapped[int | None] = mapped_column(ForeignKey("motion.id"))

    targets: Mapped[list[RecallTarget]] = relationship(order_by="RecallTarget.member_id",
                                                       cascade="all, delete-orphan")


class RecallTarget(Base):
    __tablename__ = "recall_target"
    __table_args__ = (UniqueConstraint("proposal_id", "member_id"),)

    id: Mapped[intpk]
    proposal_id: Mapped[int] = mapped_column(ForeignKey("recall_proposal.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_member.id"))

    member: Mapped[CommitteeMember] = relationship()


class RecallSupport(Base):
    __tablename__ = "recall_support"
    __table_args__ = (UniqueConstraint("proposal_id", "person_id"),)

    id: Mapped[intpk]
    proposal_id: Mapped[int] = mapped_column(ForeignKey("recall_proposal.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime]
