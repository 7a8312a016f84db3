"""Owners requiring an extraordinary meeting (业主提议召开业主大会临时会议).

An owner opens a request with its reason; other owners support it online. Supporters are
counted like the register's headcount (co-owners of a unit, or one owner's several units, are
one person), and once they reach a fifth of the owners (``elections.rules``) the committee is
told and the moment is recorded: the committee must then call the meeting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from elections.rules import Threshold, extraordinary_request

from .. import support as support_flow
from ..audit.services import record
from ..errors import Conflict, DomainError
from ..models import (
    Community,
    MeetingRequest,
    MeetingRequestSupport,
    Person,
    Role,
    User,
)
from ..notifications.services import holders_of, notify

TITLE_MAX, REASON_MAX = 200, 4000


@dataclass(frozen=True)
class Standing:
    """Where a request stands: supporters and owners by headcount, and the 20 % test."""

    supporters: int
    owners: int
    threshold: Threshold

    @property
    def needed(self) -> int:
        """Supporters still missing before the request reaches the bar."""
        return max(0, -(-self.owners // 5) - self.supporters)


def owner_person(session: Session, user: User, community: Community) -> Person:
    """The register entry through which ``user`` owns a unit in ``community``."""
    return support_flow.owner_person(
        session, user, community,
        lambda: _("Only an owner of this community can request or support an extraordinary "
                  "meeting."))


def standing(session: Session, request: MeetingRequest) -> Standing:
    """Supporters counted as the register counts owners (one person per voter)."""
    community = session.get(Community, request.community_id)
    found = support_flow.backing(session, community, session.scalars(
        select(MeetingRequestSupport.person_id)
        .where(MeetingRequestSupport.request_id == request.id)))
    return Standing(found.supporters, found.owners,
                    extraordinary_request(found.supporters, found.owners))


def requests_of(session: Session, community: Community) -> list[MeetingRequest]:
    return list(session.scalars(select(MeetingRequest)
                                .where(MeetingRequest.community_id == community.id)
                                .order_by(MeetingRequest.created_at.desc(),
                                          MeetingRequest.id.desc())))


def has_supported(session: Session, request: MeetingRequest, user: User) -> bool:
    return session.scalar(select(MeetingRequestSupport.id).where(
        MeetingRequestSupport.request_id == request.id,
        MeetingRequestSupport.user_id == user.id)) is not None


def open_request(session: Session, *, actor: User, now: dt.datetime, community: Community,
                 title: str, reason: str) -> MeetingRequest:
    """An owner asks for an extraordinary meeting; their own support comes with it."""
    person = owner_person(session, actor, community)
    title, reason = (title or "").strip(), (reason or "").strip()
    if not title:
        raise DomainError(_("Say what the extraordinary meeting should decide."), field="title")
    if len(title) > TITLE_MAX:
        raise DomainError(_("The title is longer than %(n)s characters.", n=TITLE_MAX),
                          field="title")
    if len(reason) > REASON_MAX:
        raise DomainError(_("The reason is longer than %(n)s characters.", n=REASON_MAX),
                          field="reason")
    request = MeetingRequest(community_id=community.id, title=title, reason=reason,
                             created_by_id=actor.id, created_at=now)
    session.add(request)
    session.flush()
    record(session, actor=actor, action="meeting_request.opened", now=now,
           community_id=community.id, target=f"meeting_request:{request.id}",
           details={"title": title})
    _add_support(session, actor=actor, now=now, request=request, person=person)
    return request


def support(session: Session, *, actor: User, now: dt.datetime,
            request: MeetingRequest) -> Standing:
    """An owner supports a request (once); reaching 20 % tells the committee."""
    community = session.get(Community, request.community_id)
    person = owner_person(session, actor, community)
    if has_supported(session, request, actor):
        raise Conflict(_("You already support this request."))
    return _add_support(session, actor=actor, now=now, request=request, person=person)


def _add_support(session: Session, *, actor: User, now: dt.datetime, request: MeetingRequest,
                 person: Person) -> Standing:
    support_flow.store_support(
        session, MeetingRequestSupport(request_id=request.id, person_id=person.id,
                                       user_id=actor.id, at=now),
        lambda: _("You already support this request."))
    record(session, actor=actor, action="meeting_request.supported", now=now,
           community_id=request.community_id, target=f"meeting_request:{request.id}",
           details={})
    found = standing(session, request)
    if found.threshold.met and request.reached_at is None:
        _reached(session, now=now, request=request, found=found)
    return found


def _reached(session: Session, *, now: dt.datetime, request: MeetingRequest,
             found: Standing) -> None:
    request.reached_at = now
    session.flush()
    community = session.get(Community, request.community_id)
    record(session, actor=None, action="meeting_request.reached", now=now,
           community_id=community.id, target=f"meeting_request:{request.id}",
           details={"supporters": found.supporters, "owners": found.owners})
    notify(session, now=now, community=community,
           recipients=holders_of(session, community, Role.COMMITTEE, Role.CHAIR),
           kind="meeting_request.reached",
           link=f"/c/{community.id}/meeting-requests/{request.id}",
           message=lambda: (
               _("Owners require an extraordinary meeting: %(title)s", title=request.title),
               _("%(n)s of %(total)s owners support the request, at least a fifth: the "
                 "committee must call an extraordinary meeting.", n=found.supporters,
                 total=found.owners)))
