"""The service desk (物业服务台): requests, work orders, their history, photos, return visits."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..service.workflow import RequestStatus
from .base import Base, intpk, str80, str200, timestamp
from .community import Unit, enum_column


class RequestKind(enum.StrEnum):
    REPAIR_HOME = "repair_home"
    REPAIR_COMMON = "repair_common"
    REPAIR_WARRANTY = "repair_warranty"
    COMPLAINT = "complaint"
    HELP = "help"
    INQUIRY = "inquiry"
    SUGGESTION = "suggestion"


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    #: Water pouring, no power, someone stuck: the clocks run around the clock.
    EMERGENCY = "emergency"


class PauseReason(enum.StrEnum):
    RESIDENT = "resident"
    PARTS = "parts"


class ServiceTeam(Base):
    """A team of the property office (工程部, 保洁, 安保 …) with its supervisor."""

    __tablename__ = "service_team"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str80]
    #: Breaches and bad ratings of the team's requests go to this person.
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    supervisor = relationship("User")


_STATUSES = ", ".join(f"'{s.value}'" for s in RequestStatus)


class ServiceRequest(Base):
    """One resident's request, from filing to the return visit.

    The deadlines (``due_*``) are stored, recomputed by the services at each change, so the
    queue and the daily board find what is overdue with an index, not by replaying clocks.
    """

    __tablename__ = "service_request"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        CheckConstraint("postponements >= 0 AND postponements <= 1", name="one_postponement"),
        CheckConstraint("reopen_count >= 0", name="reopen_count_not_negative"),
        CheckConstraint("paused_minutes >= 0", name="paused_not_negative"),
        CheckConstraint("unit_id IS NOT NULL OR place <> ''", name="unit_or_place"),
        CheckConstraint("(postponements = 0) = (postpone_reason = '')",
                        name="postponement_has_reason"),
        Index("ix_service_request_queue", "community_id", "status", "due_completion_at"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(enum_column(RequestKind))
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency), default=Urgency.NORMAL)
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus), default=RequestStatus.NEW)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    #: Where, when it is not a unit (a common area: "2号楼电梯厅").
    place: Mapped[str200] = mapped_column(default="")
    description: Mapped[str] = mapped_column(Text)
    preferred_time: Mapped[str80] = mapped_column(default="")
    #: The account of the resident it is for (None for a caller without one).
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    caller_name: Mapped[str80] = mapped_column(default="")
    caller_phone: Mapped[str] = mapped_column(String(20), default="")
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: 首问负责: the staff member who received it owns it until it is closed.
    receiver_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: The current work order's team and technician, kept here for the queue and the board
    #: (every work order, current and past, is a ``WorkOrder``).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("service_team.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[timestamp]
    #: Where the clocks start: filing, or the last reopening (a reopened request runs anew).
    clock_started_at: Mapped[dt.datetime]
    dispatched_at: Mapped[dt.datetime | None]
    on_site_at: Mapped[dt.datetime | None]
    replied_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    due_dispatch_at: Mapped[dt.datetime | None]
    due_on_site_at: Mapped[dt.datetime | None]
    due_reply_at: Mapped[dt.datetime | None]
    due_completion_at: Mapped[dt.datetime | None]
    #: Set while the clocks are paused; the pause's open minutes go to ``paused_minutes``.
    paused_at: Mapped[dt.datetime | None]
    pause_reason: Mapped[PauseReason | None] = mapped_column(enum_column(PauseReason))
    paused_minutes: Mapped[float] = mapped_column(default=0.0)
    postponements: Mapped[int] = mapped_column(default=0)
    postpone_days: Mapped[int] = mapped_column(default=0)
    postpone_reason: Mapped[str] = mapped_column(String(500), default="")
    #: How often it was reopened: a reopened repair counts as a repeat.
    reopen_count: Mapped[int] = mapped_column(default=0)
    #: When a breach was last raised to the supervisor (None: never).
    escalated_at: Mapped[dt.datetime | None]
    #: When the last reminder went out (reminders are spaced, not sent on every sweep).
    reminded_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit | None] = relationship()
    team: Mapped[ServiceTeam | None] = relationship()
    requester = relationship("User", foreign_keys=[requester_id])
    receiver = relationship("User", foreign_keys=[receiver_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id")
    photos: Mapped[list[RequestPhoto]] = relationship(
        back_populates="request", order_by="RequestPhoto.id")
    visits: Mapped[list[ReturnVisit]] = relationship(
        back_populates="request", order_by="ReturnVisit.id")
    work_orders: Mapped[list[WorkOrder]] = relationship(
        back_populates="request", order_by="WorkOrder.id")

    @property
    def where(self) -> str:
        return self.unit.label if self.unit is not None else self.place


class WorkOrder(Base):
    """派工单: the request sent to a team or a technician. A re-dispatch ends the current one
    and opens the next, so who worked on it, and when, stays on record."""

    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint("team_id IS NOT NULL OR assignee_id IS NOT NULL",
                        name="team_or_technician"),
        CheckConstraint("ended_at IS NULL OR ended_at >= created_at", name="ends_after_start"),
    )

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("service_team.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    dispatched_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime]
    #: For the technician; stays in the office.
    note: Mapped[str] = mapped_column(String(500), default="")
    #: When it was handed on (re-dispatch) or its work was done; None while current.
    ended_at: Mapped[dt.datetime | None]

    request: Mapped[ServiceRequest] = relationship(back_populates="work_orders")
    team: Mapped[ServiceTeam | None] = relationship()
    assignee = relationship("User", foreign_keys=[assignee_id])


class RequestEvent(Base):
    """One line of a request's history: a status change, a note, a pause, an escalation."""

    __tablename__ = "request_event"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: "filed", "status", "dispatch", "note", "pause", "resume", "postpone", "escalate",
    #: "reminder", "rating".
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    #: Residents see public events only; internal notes stay in the office.
    public: Mapped[bool] = mapped_column(default=True)

    request: Mapped[ServiceRequest] = relationship(back_populates="events")
    actor = relationship("User")


class RequestPhoto(Base):
    """A photo of a request (JPEG, PNG or WebP, checked by content, size-limited)."""

    __tablename__ = "request_photo"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[timestamp]

    request: Mapped[ServiceRequest] = relationship(back_populates="photos")


class ReturnVisit(Base):
    """回访: scheduled when the work is done; the rating confirms or reopens the request."""

    __tablename__ = "return_visit"
    __table_args__ = tuple(
        CheckConstraint(f"{c} IS NULL OR ({c} BETWEEN 1 AND 5)", name=f"{c}_1_to_5")
        for c in ("overall", "speed", "attitude")
    )

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    due_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]
    #: Who gave the rating: the resident on the site, or staff on the phone for them.
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    overall: Mapped[int | None]
    speed: Mapped[int | None]
    attitude: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[ServiceRequest] = relationship(back_populates="visits")
