"""Committee elections (差额选举) held within an owners' meeting (art. 278(1) item 3).

An election belongs to one meeting; its candidates are nominated before the notice and
published with it; each round is counted from its own ballot box (``BallotBox.purpose``), with
the meeting's ceremony, board, opening and bundle machinery.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Area, Base, intpk, str80, str200
from .community import Person, enum_column
from .meetings import Meeting


class ElectionStatus(enum.StrEnum):
    #: Nominations while the meeting is a draft; the list is published with its notice; then
    #: the rounds run.
    RUNNING = "running"
    #: Every seat is settled (or no further round can be held): the result can be announced.
    DECIDED = "decided"
    ANNOUNCED = "announced"
    #: Objection period over, objections answered: the elected are seated.
    FINAL = "final"


class NominationChannel(enum.StrEnum):
    PREPARATORY_GROUP = "preparatory_group"  #: 筹备组
    REPRESENTATIVES = "representatives"  #: 业主代表
    JOINT_OWNERS = "joint_owners"  #: 业主联名
    SELF = "self"  #: 自荐


class TieRule(enum.StrEnum):
    """What the community's rules do with a tie across the last seat."""

    RUNOFF = "runoff"  #: a further round among the tied candidates
    ELECTED_DECIDE = "elected_decide"  #: the elected members decide, on the record


class Election(Base):
    """The committee election of one meeting: seats, roles, term and its rounds."""

    __tablename__ = "election"
    __table_args__ = (
        CheckConstraint("seats >= 5 AND seats % 2 = 1", name="odd_seats_at_least_5"),
        CheckConstraint("term_years BETWEEN 3 AND 5", name="term_3_to_5"),
        CheckConstraint("chairs = 1 AND vice_chairs >= 0 AND chairs + vice_chairs <= seats",
                        name="roles_fit_seats"),
    )

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), unique=True)
    seats: Mapped[int] = mapped_column(default=9)
    #: One chair; vice-chairs; the rest of the seats are members (chosen among the elected).
    chairs: Mapped[int] = mapped_column(default=1)
    vice_chairs: Mapped[int] = mapped_column(default=2)
    term_years: Mapped[int] = mapped_column(default=3)
    tie_rule: Mapped[TieRule] = mapped_column(enum_column(TieRule), default=TieRule.RUNOFF)
    status: Mapped[ElectionStatus] = mapped_column(enum_column(ElectionStatus),
                                                   default=ElectionStatus.RUNNING)
    announced_at: Mapped[dt.datetime | None]
    objections_close_at: Mapped[dt.datetime | None]
    final_at: Mapped[dt.datetime | None]
    #: ``seat_committee`` was called (False while the committee area is not installed).
    seated: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime]

    meeting: Mapped[Meeting] = relationship()
    candidates: Mapped[list[Candidate]] = relationship(
        back_populates="election", order_by="Candidate.position")
    rounds: Mapped[list[ElectionRound]] = relationship(
        back_populates="election", order_by="ElectionRound.number")

    @property
    def ref(self) -> str:
        """The reference the committee area keeps (``meeting-3-election-1``)."""
        return f"meeting-{self.meeting_id}-election-{self.id}"


class Candidate(Base):
    """A nominated owner: channel, who nominated, consent, statement, photo, and outcome."""

    __tablename__ = "election_candidate"
    __table_args__ = (
        UniqueConstraint("election_id", "person_id"),
        UniqueConstraint("election_id", "position"),
        CheckConstraint("outcome IN ('', 'elected', 'alternate', 'not_elected')",
                        name="outcome_known"),
    )

    id: Mapped[intpk]
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    #: Order on the published list and the ballot paper (1-based).
    position: Mapped[int]
    channel: Mapped[NominationChannel] = mapped_column(enum_column(NominationChannel))
    #: Register person ids of the owners who nominated (joint nomination, representatives).
    nominators: Mapped[list] = mapped_column(JSON, default=list)
    #: When the candidate consented (required before the list is published).
    consent_at: Mapped[dt.datetime]
    statement: Mapped[str] = mapped_column(Text, default="")
    photo_path: Mapped[str] = mapped_column(String(300), default="")
    nominated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    nominated_at: Mapped[dt.datetime]
    #: Settled when the election is decided: elected / alternate / not_elected ('' before).
    outcome: Mapped[str] = mapped_column(String(16), default="")
    #: Rank among the elected, or among the alternates (call-up order).
    outcome_rank: Mapped[int | None]
    votes_head: Mapped[int | None]
    votes_area: Mapped[Decimal | None] = mapped_column(Area)

    election: Mapped[Election] = relationship(back_populates="candidates")
    person: Mapped[Person] = relationship()

    @property
    def ballot_id(self) -> str:
        """The id the ballot paper and the count use (``c1``, ``c2``…)."""
        return f"c{self.position}"


class ElectionRound(Base):
    """One round: the first, a run-off among tied candidates, or a new round for empty seats."""

    __tablename__ = "election_round"
    __table_args__ = (
        UniqueConstraint("election_id", "number"),
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint("voters_signed_in >= 0", name="signed_in_not_negative"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        CheckConstraint("kind IN ('first', 'runoff', 'new', 'decision')", name="kind_known"),
    )

    id: Mapped[intpk]
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    number: Mapped[int]
    #: first / runoff (tied across the last seat) / new (seats left unfilled) / decision
    #: (a tie settled by the elected members under the community's rules: no ballot box).
    kind: Mapped[str] = mapped_column(String(16))
    seats: Mapped[int]
    #: Candidate row ids on this round's ballot.
    candidate_ids: Mapped[list] = mapped_column(JSON)
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    box_ref: Mapped[int | None] = mapped_column(ForeignKey("ballot_box.id"))
    #: Voters signed in for an in-person round (None online): more ballots found void it.
    voters_signed_in: Mapped[int | None]
    #: For a decision round: who decided and why (the record the rules ask for).
    decision: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str200] = mapped_column(default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime]

    election: Mapped[Election] = relationship(back_populates="rounds")

    @property
    def purpose(self) -> str:
        """The ``BallotBox.purpose`` of this round's box."""
        return f"election-{self.election_id}-r{self.number}"


class Disqualification(Base):
    """An owner recorded as not eligible to stand for the committee (and why)."""

    __tablename__ = "election_disqualification"

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    reason: Mapped[str80]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime]
    lifted_at: Mapped[dt.datetime | None]


__all__ = [
    "Candidate",
    "Disqualification",
    "Election",
    "ElectionRound",
    "ElectionStatus",
    "NominationChannel",
    "TieRule",
]
