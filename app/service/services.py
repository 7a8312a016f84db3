"""The service desk's actions: filing, dispatching, moving a request, notes, pauses, the one
postponement, return visits and the sweep that escalates breaches and sends reminders.

Services take ``session``, ``actor`` and ``now``; they flush, never commit, and raise domain
errors. Every change of a request is an event in its history; staff actions also go to the
audit log. ``party`` is ``DESK`` for staff and ``RESIDENT`` for the person it is for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import Conflict, DomainError, NotFound
from ..models import (
    Community,
    Ownership,
    PauseReason,
    Person,
    RequestEvent,
    RequestKind,
    RequestPhoto,
    Residency,
    ReturnVisit,
    Role,
    ServiceRequest,
    ServiceTeam,
    Unit,
    Urgency,
    User,
    WorkOrder,
)
from ..notifications.services import holders_of, notify
from . import sla
from .clocks import pause, recompute_deadlines, resume
from .workflow import (
    DESK,
    NEEDS_REASON,
    OPEN_STATUSES,
    RESIDENT,
    RequestStatus,
    TransitionRefused,
    check_transition,
)

S = RequestStatus
#: Three photos of 5 MB stay under the site's upload limit (16 MB a request).
MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: A return visit is due this long after the work is done.
RETURN_VISIT_AFTER = dt.timedelta(days=1)
#: An overall rating at or below this reopens the request and goes to the supervisor.
BAD_RATING = 2
REPAIRS = frozenset({RequestKind.REPAIR_HOME, RequestKind.REPAIR_COMMON,
                     RequestKind.REPAIR_WARRANTY})


@dataclass(frozen=True)
class Photo:
    """An uploaded photo as the view hands it over."""

    filename: str
    data: bytes


def photo_type(data: bytes) -> str | None:
    """The image type by content (the name and the browser's word are not trusted)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_photos(photos: Sequence[Photo]) -> list[tuple[Photo, str]]:
    """Each photo with its type; refuses the lot when one is wrong (nothing is stored)."""
    if len(photos) > MAX_PHOTOS:
        raise DomainError(_("At most %(n)s photos.", n=MAX_PHOTOS), field="photos")
    checked = []
    for photo in photos:
        if len(photo.data) > MAX_PHOTO_BYTES:
            raise DomainError(_("%(name)s is larger than %(mb)s MB.", name=photo.filename,
                                mb=MAX_PHOTO_BYTES // (1024 * 1024)), field="photos")
        kind = photo_type(photo.data)
        if kind is None:
            raise DomainError(_("%(name)s is not a JPEG, PNG or WebP picture.",
                                name=photo.filename), field="photos")
        checked.append((photo, kind))
    return checked


def _id(user: User | None) -> int | None:
    return user.id if user is not None else None


# --- who may -------------------------------------------------------------------------------


def units_of(session: Session, user: User, community: Community) -> list[Unit]:
    """The units ``user`` owns or lives in, in ``community``."""
    persons = select(Person.id).where(Person.user_id == user.id,
                                      Person.community_id == community.id)
    owned = select(Ownership.unit_id).where(Ownership.person_id.in_(persons),
                                            Ownership.ended_at.is_(None))
    lived = select(Residency.unit_id).where(Residency.person_id.in_(persons),
                                            Residency.ended_at.is_(None))
    return list(session.scalars(
        select(Unit).where(or_(Unit.id.in_(owned), Unit.id.in_(lived)))
        .order_by(Unit.building_id, Unit.number)))


def staff_of(session: Session, community: Community) -> list[User]:
    ids = holders_of(session, community, Role.STAFF)
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.username)))


def teams_of(session: Session, community: Community) -> list[ServiceTeam]:
    return list(session.scalars(
        select(ServiceTeam).where(ServiceTeam.community_id == community.id)
        .order_by(ServiceTeam.name)))


def supervisors_for(session: Session, req: ServiceRequest, community: Community) -> list[int]:
    """Who hears of a breach or a bad rating: the team's supervisor, else every supervisor,
    else the whole desk."""
    if req.team is not None and req.team.supervisor_id:
        return [req.team.supervisor_id]
    ids = [t.supervisor_id for t in teams_of(session, community) if t.supervisor_id]
    return ids or holders_of(session, community, Role.STAFF)


def create_team(session: Session, *, actor: User, now: dt.datetime, community: Community,
                name: str, supervisor: User | None = None) -> ServiceTeam:
    team = ServiceTeam(community_id=community.id, name=name,
                       supervisor_id=_id(supervisor))
    session.add(team)
    session.flush()
    record(session, actor=actor, action="service.team_created", now=now,
           community_id=community.id, target=f"service_team:{team.id}", details={"name": name})
    return team


# --- filing --------------------------------------------------------------------------------


def file_request(
    session: Session, *, actor: User, now: dt.datetime, community: Community, party: str,
    kind: RequestKind, urgency: Urgency, description: str, unit_id: int | None = None,
    place: str = "", preferred_time: str = "", photos: Sequence[Photo] = (),
    caller_name: str = "", caller_phone: str = "", requester: User | None = None,
) -> ServiceRequest:
    """File a request: a resident for themselves, or the desk for a caller (first receiver)."""
    checked = check_photos(photos)
    description, place = description.strip(), place.strip()
    if not description:
        raise DomainError(_("Describe what is wrong."), field="description")
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None or unit.community_id != community.id:
            raise DomainError(_("Choose a unit of this community."), field="unit")
        if party == RESIDENT and unit.id not in {u.id for u in units_of(session, actor,
                                                                         community)}:
            raise DomainError(_("You can file only for a unit you own or live in."),
                              field="unit")
    elif not place:
        raise DomainError(_("Give the unit or the place."), field="place")
    if party == DESK and not (caller_name.strip() or requester):
        raise DomainError(_("Give the caller's name."), field="caller_name")
    if party == DESK and requester is None and caller_phone.strip():
        # A caller with an account follows the request on the site too.
        requester_id = session.scalar(select(Person.user_id).where(
            Person.community_id == community.id, Person.phone == caller_phone.strip(),
            Person.user_id.is_not(None)).limit(1))
        requester = session.get(User, requester_id) if requester_id else None
    req = ServiceRequest(
        community_id=community.id, kind=kind, urgency=urgency, status=S.NEW, unit_id=unit_id,
        place=place, description=description, preferred_time=preferred_time.strip(),
        requester_id=_id(actor) if party == RESIDENT else _id(requester),
        caller_name=caller_name.strip(), caller_phone=caller_phone.strip(),
        filed_by_id=actor.id, receiver_id=actor.id if party == DESK else None,
        created_at=now, clock_started_at=now,
    )
    session.add(req)
    session.flush()
    recompute_deadlines(req, community)
    for photo, content_type in checked:
        session.add(RequestPhoto(request_id=req.id, content_type=content_type,
                                 size=len(photo.data), data=photo.data,
                                 uploaded_by_id=actor.id, uploaded_at=now))
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id, kind="filed",
                             to_status=S.NEW.value, public=True))
    session.flush()
    if party == DESK:
        _audit(session, actor, now, req, "service.filed_for_caller",
               {"caller": req.caller_name})
    link = link_to(req)
    notify(session, now=now, community=community,
           recipients=[u for u in holders_of(session, community, Role.STAFF) if u != actor.id],
           kind="service.filed", link=link,
           message=lambda: (_("New request no. %(n)s", n=req.id), req.description[:200]))
    return req


def link_to(req: ServiceRequest) -> str:
    # A path, not url_for: the demo and the sweep from the command line run outside a request.
    return f"/c/{req.community_id}/service/requests/{req.id}"


def _audit(session: Session, actor: User, now: dt.datetime, req: ServiceRequest, action: str,
           details: dict | None = None) -> None:
    record(session, actor=actor, action=action, now=now, community_id=req.community_id,
           target=f"service_request:{req.id}", details=details or {})


def _receive(req: ServiceRequest, actor: User, party: str) -> None:
    """首问负责: the first staff member to act on a request owns it until it is closed."""
    if party == DESK and req.receiver_id is None:
        req.receiver_id = actor.id


def tell_requester(session: Session, req: ServiceRequest, community: Community,
                    now: dt.datetime, kind: str, message) -> None:
    if req.requester_id:
        notify(session, now=now, community=community, recipients=[req.requester_id],
               kind=kind, link=link_to(req), message=message)


# --- moving a request ----------------------------------------------------------------------


def _set_status(session: Session, req: ServiceRequest, to: RequestStatus, *, actor: User,
                now: dt.datetime, party: str, note: str = "") -> None:
    try:
        check_transition(req.status, to, party)
    except TransitionRefused as err:
        raise Conflict(_("A request that is “%(current)s” cannot become “%(wanted)s”.",
                         current=_status_label(err.current),
                         wanted=_status_label(err.wanted))) from err
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id, kind="status",
                             from_status=req.status.value, to_status=to.value, note=note,
                             public=True))
    req.status = to


def _status_label(status: RequestStatus) -> str:
    from .labels import STATUS_LABELS

    return str(STATUS_LABELS[status])


def dispatch(session: Session, *, actor: User, now: dt.datetime, community: Community,
             req: ServiceRequest, team: ServiceTeam | None, assignee: User | None,
             note: str = "") -> None:
    """Send the request as a work order to a team or a technician (again: re-dispatch)."""
    if team is None and assignee is None:
        raise DomainError(_("Choose a team or a technician."), field="team")
    if team is not None and team.community_id != community.id:
        raise DomainError(_("Choose a team of this community."), field="team")
    if assignee is not None and assignee.id not in holders_of(session, community, Role.STAFF):
        raise DomainError(_("Choose a member of the property staff."), field="assignee")
    redispatch = req.status in (S.DISPATCHED, S.ON_SITE, S.WAITING_PARTS)
    if not redispatch:
        _set_status(session, req, S.DISPATCHED, actor=actor, now=now, party=DESK)
    _receive(req, actor, DESK)
    _end_work_order(req, now)
    req.work_orders.append(WorkOrder(team_id=_id(team), assignee_id=_id(assignee),
                                     dispatched_by_id=actor.id, created_at=now,
                                     note=note.strip()[:500]))
    req.team_id, req.assignee_id = _id(team), _id(assignee)
    if req.dispatched_at is None:
        req.dispatched_at = now
    who = " / ".join(x for x in ((team.name if team else ""),
                                 (assignee.display_name or assignee.username) if assignee
                                 else "") if x)
    # Who works on it, and the note for them, stay in the office (the resident sees the status).
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id, kind="dispatch",
                             note=f"{who}: {note.strip()}" if note.strip() else who,
                             public=False))
    session.flush()
    _audit(session, actor, now, req, "service.dispatched",
           {"team_id": req.team_id, "assignee_id": req.assignee_id, "again": redispatch})
    if assignee is not None:
        notify(session, now=now, community=community, recipients=[assignee],
               kind="service.work_order", link=link_to(req),
               message=lambda: (_("Work order for request no. %(n)s", n=req.id),
                                req.description[:200]))
    tell_requester(session, req, community, now, "service.dispatched",
                    lambda: (_("Request no. %(n)s is dispatched", n=req.id),
                             _("Someone will take care of it.")))


def _end_work_order(req: ServiceRequest, now: dt.datetime) -> None:
    for order in req.work_orders:
        if order.ended_at is None:
            order.ended_at = now


def move(session: Session, *, actor: User, now: dt.datetime, community: Community,
         req: ServiceRequest, to: RequestStatus, party: str, note: str = "") -> None:
    """Every other move of the table: on site, waiting for parts, done, closed, reopened …"""
    note = note.strip()
    if (req.status, to) in NEEDS_REASON and not note:
        raise DomainError(_("Say why (the resident is told)."), field="note")
    if to is S.DONE and req.status in (S.NEW, S.REOPENED) and req.kind in REPAIRS:
        raise Conflict(_("A repair is dispatched before it is done."))
    if to is S.DISPATCHED:
        raise Conflict(_("Dispatch it to a team or a technician."))
    if to is S.CONFIRMED and party == DESK:
        raise Conflict(_("The resident confirms the work at the return visit."))
    before = req.status
    _set_status(session, req, to, actor=actor, now=now, party=party, note=note)
    _receive(req, actor, party)
    if before is S.WAITING_PARTS:
        resume(req, now, community, actor, session)
    if to is S.ON_SITE and req.on_site_at is None:
        req.on_site_at = now
    elif to is S.WAITING_PARTS:
        pause(req, now, PauseReason.PARTS, actor, session)
    elif to is S.DONE:
        resume(req, now, community, actor, session)
        req.done_at = now
        _end_work_order(req, now)
        session.add(ReturnVisit(request_id=req.id, due_at=now + RETURN_VISIT_AFTER))
        tell_requester(session, req, community, now, "service.done",
                        lambda: (_("Request no. %(n)s is done", n=req.id),
                                 _("Please tell us how it went: rate the work.")))
    elif to is S.CLOSED:
        req.closed_at = now
        tell_requester(session, req, community, now, "service.closed",
                        lambda: (_("Request no. %(n)s is closed", n=req.id), note))
    elif to is S.REOPENED:
        _reopen(req, now, community)
    session.flush()
    if party == DESK:
        _audit(session, actor, now, req, "service.status_changed",
               {"from": before.value, "to": to.value})


def _reopen(req: ServiceRequest, now: dt.datetime, community: Community) -> None:
    """The history stays; the clocks start again and the request counts as a repeat."""
    req.reopen_count += 1
    req.clock_started_at = now
    req.dispatched_at = req.on_site_at = req.done_at = req.closed_at = None
    req.paused_at, req.pause_reason, req.paused_minutes = None, None, 0.0
    req.escalated_at = None
    recompute_deadlines(req, community)


def add_note(session: Session, *, actor: User, now: dt.datetime, community: Community,
             req: ServiceRequest, text: str, party: str, public: bool = True,
             ask_resident: bool = False) -> None:
    """A note in the history. A resident's note restarts clocks paused for them; a public
    answer of the desk meets the reply target; asking the resident pauses the clocks."""
    text = text.strip()
    if not text:
        raise DomainError(_("Write the note."), field="text")
    if party == RESIDENT:
        public, ask_resident = True, False
    if ask_resident and req.status not in OPEN_STATUSES:
        raise Conflict(_("Only an unfinished request waits for the resident."))
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id, kind="note",
                             note=text, public=public or ask_resident))
    if party == RESIDENT:
        if req.pause_reason is PauseReason.RESIDENT:
            resume(req, now, community, actor, session)
        staff = [x for x in (req.receiver_id, req.assignee_id) if x]
        if staff:
            notify(session, now=now, community=community, recipients=staff,
                   kind="service.resident_reply", link=link_to(req),
                   message=lambda: (_("The resident replied on request no. %(n)s", n=req.id),
                                    text[:200]))
    else:
        _receive(req, actor, party)
        if (public or ask_resident) and req.replied_at is None:
            req.replied_at = now
        if ask_resident:
            pause(req, now, PauseReason.RESIDENT, actor, session)
        if public or ask_resident:
            tell_requester(session, req, community, now, "service.note",
                            lambda: (_("News on request no. %(n)s", n=req.id), text[:200]))
    session.flush()


def postpone(session: Session, *, actor: User, now: dt.datetime, community: Community,
             req: ServiceRequest, days: int, reason: str) -> None:
    """Move the completion promise, once, with a reason the resident is told."""
    reason = reason.strip()
    if req.status not in OPEN_STATUSES:
        raise Conflict(_("Only an unfinished request can be postponed."))
    if req.postponements >= sla.MAX_POSTPONEMENTS:
        raise Conflict(_("The completion was postponed once already; it cannot be again."))
    if not reason:
        raise DomainError(_("Say why (the resident is told)."), field="reason")
    if not 1 <= days <= sla.MAX_POSTPONE_DAYS:
        raise DomainError(_("Between 1 and %(n)s days.", n=sla.MAX_POSTPONE_DAYS),
                          field="days")
    req.postponements += 1
    req.postpone_days, req.postpone_reason = days, reason
    recompute_deadlines(req, community)
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id, kind="postpone",
                             note=reason, public=True))
    session.flush()
    _audit(session, actor, now, req, "service.postponed", {"days": days, "reason": reason})
    tell_requester(session, req, community, now, "service.postponed",
                    lambda: (_("Request no. %(n)s will take longer", n=req.id),
                             _("Postponed by %(days)s days: %(reason)s", days=days,
                               reason=reason)))


def rate(session: Session, *, actor: User, now: dt.datetime, community: Community,
         req: ServiceRequest, party: str, overall: int, speed: int, attitude: int,
         comment: str = "") -> ReturnVisit:
    """回访: the resident's rating (or staff's record of it). Good: confirmed; bad: reopened and
    raised to the supervisor."""
    if req.status is not S.DONE:
        raise Conflict(_("A request is rated once its work is done."))
    for name, value in (("overall", overall), ("speed", speed), ("attitude", attitude)):
        if not 1 <= value <= 5:
            raise DomainError(_("From 1 to 5."), field=name)
    visit = next((v for v in reversed(req.visits) if v.done_at is None), None)
    if visit is None:
        visit = ReturnVisit(request_id=req.id, due_at=now)
        session.add(visit)
    visit.done_at, visit.rated_by_id = now, actor.id
    visit.overall, visit.speed, visit.attitude = overall, speed, attitude
    visit.comment = comment.strip()
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id, kind="rating",
                             note=f"{overall}/{speed}/{attitude} {visit.comment}".strip(),
                             public=True))
    if overall <= BAD_RATING:
        move(session, actor=actor, now=now, community=community, req=req, to=S.REOPENED,
             party=party, note=visit.comment)
        escalate(session, now=now, community=community, req=req, actor=actor,
                 cause="rating", detail=str(overall))
    else:
        move(session, actor=actor, now=now, community=community, req=req, to=S.CONFIRMED,
             party=RESIDENT)
    if party == DESK:
        _audit(session, actor, now, req, "service.return_visit", {"overall": overall})
    session.flush()
    return visit


def escalate(session: Session, *, now: dt.datetime, community: Community,
             req: ServiceRequest, cause: str, detail: str, actor: User | None = None) -> None:
    """Raise a request to the supervisor, visibly: a notice and a line in the history.

    ``cause`` is "rating" (``detail``: the overall rating) or "overdue" (``detail``: the
    targets, comma-separated); the words are made in each reader's language.
    """
    req.escalated_at = now
    note = f"{cause}:{detail}"
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=_id(actor), kind="escalate",
                             note=note, public=False))
    notify(session, now=now, community=community,
           recipients=supervisors_for(session, req, community), kind="service.escalated",
           link=link_to(req), message=lambda: (_("Raised to you: request no. %(n)s", n=req.id),
                                             escalation_text(note, req.id)))
    session.flush()


def escalation_text(note: str, request_id: int) -> str:
    """The words of an escalation note (``cause:detail``), in the reader's language."""
    from .labels import TARGET_LABELS

    cause, _sep, detail = note.partition(":")
    if cause == "rating":
        return _("Bad rating (%(n)s of 5) on request no. %(id)s", n=detail, id=request_id)
    names = ", ".join(str(TARGET_LABELS[sla.Target(t)]) for t in detail.split(",")
                      if t in sla.Target.__members__.values())
    return _("Overdue (%(targets)s): request no. %(n)s", targets=names, n=request_id)


def get_request(session: Session, community: Community, request_id: int) -> ServiceRequest:
    req = session.get(ServiceRequest, request_id)
    if req is None or req.community_id != community.id:
        raise NotFound(_("This request does not exist."))
    return req


def team_in(session: Session, community: Community, team_id: int | None) -> ServiceTeam | None:
    if not team_id:
        return None
    team = session.get(ServiceTeam, team_id)
    if team is None or team.community_id != community.id:
        raise DomainError(_("Choose a team of this community."), field="team")
    return team
