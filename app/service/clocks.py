"""The clocks of one request: its policy and calendar, its deadlines, pausing and resuming.

The rules themselves are in ``sla`` (pure); this module applies them to a stored request.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ..models import Community, PauseReason, RequestEvent, ServiceRequest, User
from . import sla
from .workflow import OPEN_STATUSES


def policy_of(req: ServiceRequest, community: Community) -> sla.Policy:
    return sla.policy_for(req.kind.value, req.urgency.value,
                          (community.settings or {}).get("service_sla"))


def calendar_for(req: ServiceRequest, community: Community) -> sla.Calendar:
    business = sla.calendar_from_settings(community.settings, community.timezone)
    return sla.calendar_of(policy_of(req, community), business)


_DUE = {sla.Target.DISPATCH: "due_dispatch_at", sla.Target.ON_SITE: "due_on_site_at",
        sla.Target.REPLY: "due_reply_at", sla.Target.COMPLETION: "due_completion_at"}
_MET = {sla.Target.DISPATCH: "dispatched_at", sla.Target.ON_SITE: "on_site_at",
        sla.Target.REPLY: "replied_at", sla.Target.COMPLETION: "done_at"}


def recompute_deadlines(req: ServiceRequest, community: Community) -> None:
    """Set every ``due_*`` from the policy, the clock start, the pauses and a postponement."""
    policy, cal = policy_of(req, community), calendar_for(req, community)
    for target, column in _DUE.items():
        minutes = policy.minutes(target, cal.day_minutes)
        if minutes is None:
            setattr(req, column, None)
            continue
        days = req.postpone_days if target is sla.Target.COMPLETION else 0
        setattr(req, column, sla.deadline(cal, req.clock_started_at, minutes,
                                          req.paused_minutes, days))


def clocks(req: ServiceRequest) -> list[sla.Clock]:
    """The request's targets, each on its own, in the order they come."""
    return [sla.Clock(target, getattr(req, _DUE[target]), getattr(req, _MET[target]))
            for target in sla.Target if getattr(req, _DUE[target]) is not None]


def breached_clocks(req: ServiceRequest, now: dt.datetime) -> list[sla.Clock]:
    """Running targets already past due (a paused clock is not breaching)."""
    if req.paused_at is not None or req.status not in OPEN_STATUSES:
        return []
    return [c for c in clocks(req) if c.met_at is None and c.breached(now)]


def pause(req: ServiceRequest, now: dt.datetime, reason: PauseReason, actor: User | None,
           session: Session) -> None:
    if req.paused_at is not None:
        return
    req.paused_at, req.pause_reason = now, reason
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id if actor else None,
                             kind="pause", note=reason.value, public=True))


def resume(req: ServiceRequest, now: dt.datetime, community: Community, actor: User | None,
            session: Session) -> None:
    """Restart paused clocks: the pause's open minutes move every running deadline."""
    if req.paused_at is None:
        return
    req.paused_minutes += calendar_for(req, community).between(req.paused_at, now)
    req.paused_at, req.pause_reason = None, None
    recompute_deadlines(req, community)
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id if actor else None,
                             kind="resume", public=True))
