"""The sweep (run from the board's button or ``flask --app app service sweep`` from cron):
escalate new breaches, chase everything unfinished, ask for due return visits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Community, ReturnVisit, Role, ServiceRequest
from ..notifications.services import holders_of, notify
from .clocks import breached_clocks, clocks
from .services import escalate, link_to, tell_requester
from .workflow import OPEN_STATUSES, RequestStatus

S = RequestStatus
#: Reminders about one request are at least this far apart.
REMINDER_EVERY = dt.timedelta(hours=4)
#: An unfinished request that is not due soon is still recalled this often.
UNFINISHED_REMINDER_EVERY = dt.timedelta(days=1)
#: A request due within this is "due soon" and reminded every REMINDER_EVERY.
DUE_SOON = dt.timedelta(hours=2)


@dataclass(frozen=True)
class SweepReport:
    escalated: int
    reminded: int
    visits_due: int


def sweep(session: Session, *, now: dt.datetime, community: Community) -> SweepReport:
    """Escalate new breaches, remind about everything unfinished that is due soon or late, and
    ask for the ratings of return visits that are due. Safe to run every minute."""
    escalated = reminded = 0
    rows = session.scalars(select(ServiceRequest).where(
        ServiceRequest.community_id == community.id,
        ServiceRequest.status.in_(list(OPEN_STATUSES)))).all()
    for req in rows:
        late = breached_clocks(req, now)
        newest_due = max((c.due_at for c in late), default=None)
        if late and (req.escalated_at is None or req.escalated_at < newest_due):
            escalate(session, now=now, community=community, req=req, cause="overdue",
                     detail=",".join(c.target.value for c in late))
            escalated += 1
        # Everything unfinished is chased: every few hours when due soon or late, else daily
        # (a request waiting for parts too: somebody must chase the parts).
        soon = req.paused_at is None and any(
            c.met_at is None and c.due_at - now <= DUE_SOON for c in clocks(req))
        every = REMINDER_EVERY if soon else UNFINISHED_REMINDER_EVERY
        if req.reminded_at is None or now - req.reminded_at >= every:
            staff = [x for x in (req.assignee_id, req.receiver_id) if x] or holders_of(
                session, community, Role.STAFF)
            notify(session, now=now, community=community, recipients=staff,
                   kind="service.reminder", link=link_to(req),
                   message=lambda req=req: (_("Reminder: request no. %(n)s is unfinished",
                                              n=req.id), req.description[:200]))
            req.reminded_at = now
            reminded += 1
    visits = session.scalars(
        select(ReturnVisit).join(ServiceRequest).where(
            ServiceRequest.community_id == community.id, ServiceRequest.status == S.DONE,
            ReturnVisit.done_at.is_(None), ReturnVisit.due_at <= now)).all()
    for visit in visits:
        if visit.request.reminded_at is None or now - visit.request.reminded_at >= (
                REMINDER_EVERY):
            tell_requester(session, visit.request, community, now, "service.rate",
                            lambda v=visit: (_("How did it go? Request no. %(n)s",
                                               n=v.request_id),
                                             _("Please rate the work.")))
            visit.request.reminded_at = now
    session.flush()
    return SweepReport(escalated, reminded, len(visits))
