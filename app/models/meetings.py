"""Owners' meetings (业主大会会议): the meeting, its motions and the notices published for it."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from elections.rules import Matter, NonVoterPolicy

from .base import Base, intpk, str200, timestamp
from .community import Community, enum_column


class MeetingKind(enum.StrEnum):
    ORDINARY = "ordinary"
    EXTRAORDINARY = "extraordinary"


class MeetingForm(enum.StrEnum):
    ONLINE = "online"
    #: 书面征求意见: a form to every owner, signed ballots returned.
    WRITTEN = "written"
    IN_PERSON = "in_person"
    MIXED = "mixed"


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    VOTING = "voting"
    CLOSED = "closed"
    OPENED = "opened"
    #: The result is published; objections are taken until ``objections_close_at``.
    ANNOUNCED = "announced"
    #: The objection period is over and every objection answered: the decisions bind.
    FINAL = "final"


_STATUSES = ", ".join(f"'{s.value}'" for s in MeetingStatus)


class Meeting(Base):
    """One owners' meeting, from its draft to its announcement."""

    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("voting_closes_at > voting_opens_at", name="closes_after_opens"),
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        CheckConstraint("notice_days > 0", name="notice_days_positive"),
        CheckConstraint("revision >= 0", name="revision_not_negative"),
        CheckConstraint(
            "status = 'draft' OR (published_at IS NOT NULL AND notice_ends_at IS NOT NULL)",
            name="published_has_notice",
        ),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    title: Mapped[str200]
    kind: Mapped[MeetingKind] = mapped_column(enum_column(MeetingKind))
    form: Mapped[MeetingForm] = mapped_column(enum_column(MeetingForm))
    voting_opens_at: Mapped[dt.datetime]
    voting_closes_at: Mapped[dt.datetime]
    #: Days between publishing the notice and the earliest opening of the vote (15, or 7 for an
    #: extraordinary meeting, unless the community's settings say otherwise).
    notice_days: Mapped[int]
    #: Copied from the community's rules of procedure when the meeting is drafted.
    non_voter_policy: Mapped[NonVoterPolicy] = mapped_column(
        enum_column(NonVoterPolicy), default=NonVoterPolicy.NOT_COUNTED
    )
    status: Mapped[MeetingStatus] = mapped_column(
        enum_column(MeetingStatus), default=MeetingStatus.DRAFT
    )
    published_at: Mapped[dt.datetime | None]
    #: Voting cannot open before this moment; republishing moves it.
    notice_ends_at: Mapped[dt.datetime | None]
    #: The announcement (公告) of the result; objections are taken until objections_close_at.
    announced_at: Mapped[dt.datetime | None]
    objections_close_at: Mapped[dt.datetime | None]
    final_at: Mapped[dt.datetime | None]
    #: How many times the notice has been published (0 while never published).
    revision: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[timestamp]

    community: Mapped[Community] = relationship()
    motions: Mapped[list[Motion]] = relationship(
        back_populates="meeting", order_by="Motion.position", cascade="all, delete-orphan"
    )
    notices: Mapped[list[NoticeRevision]] = relationship(
        back_populates="meeting", order_by="NoticeRevision.revision"
    )


class Motion(Base):
    """One item of the agenda; its art. 278 matter fixes the bar it must reach."""

    __tablename__ = "motion"
    __table_args__ = (
        UniqueConstraint("meeting_id", "position"),
        CheckConstraint(
            f"matter BETWEEN {min(Matter).value} AND {max(Matter).value}", name="matter_known"
        ),
    )

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    position: Mapped[int]
    title: Mapped[str200]
    body: Mapped[str] = mapped_column(Text, default="")
    #: The item of art. 278(1), stored by the value of ``elections.rules.Matter``.
    matter_value: Mapped[int] = mapped_column("matter")
    #: The outcome, set when the ballots are opened and counted (None before): adopted only
    #: when the quorum was met and the motion reached its bar.
    adopted: Mapped[bool | None]

    meeting: Mapped[Meeting] = relationship(back_populates="motions")

    @property
    def matter(self) -> Matter:
        return Matter(self.matter_value)


class NoticeRevision(Base):
    """A published notice, frozen: amending a notice means publishing a new revision."""

    __tablename__ = "notice_revision"
    __table_args__ = (UniqueConstraint("meeting_id", "revision"),)

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    revision: Mapped[int]
    published_at: Mapped[dt.datetime]
    published_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: The notice as published: title, form, window, notice end and every motion.
    snapshot: Mapped[dict] = mapped_column(JSON)
    #: Why the notice was amended (empty for the first publication).
    reason: Mapped[str] = mapped_column(String(500), default="")

    meeting: Mapped[Meeting] = relationship(back_populates="notices")
