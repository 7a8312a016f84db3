"""Owners proposing to recall committee members (罢免业主委员会委员).

A proposal names the member(s) and a reason; owners of the community support it online, once
each, and may withdraw while it is open (the same flow as extraordinary-meeting requests:
``app.support``). When the supporters hold **more than** 20 % of the community's total area
(``elections.rules.recall_proposal``, exact), the proposal is reached: the committee and the
community office are told, and it becomes a motion (art. 278(1) item 3, replacing committee
members) of the next drafted owners' meeting, or waits until one is drafted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from elections.rules import Matter, Threshold, recall_proposal

from .. import support as support_flow
from ..audit.services import record
from ..errors import Conflict, DomainError
from ..meetings import services as meeting_services
from ..models import (
    Committee,
    Community,
    Meeting,
    MeetingStatus,
    Motion,
    Person,
    RecallProposal,
    RecallSupport,
    RecallTarget,
    User,
)
from ..notifications.services import notify
from . import services

REASON_MAX = 4000
#: The motion is written in the site's first language (the notice's language).
MOTION_LOCALE = "zh_Hans_CN"


@dataclass(frozen=True)
class Progress:
    """Supporting area and headcount against the bar (area decides)."""

    backing: support_flow.Backing
    threshold: Threshold

    @property
    def area_percent(self) -> str:
        if not self.backing.total_area:
            return "0.00"
        return f"{self.backing.supporting_area * 100 / self.backing.total_area:.2f}"


def _refusal() -> str:
    return _("Only an owner of this community can propose or support a recall.")


def proposals_of(session: Session, community: Community) -> list[RecallProposal]:
    return list(session.scalars(select(RecallProposal)
                                .where(RecallProposal.community_id == community.id)
                                .order_by(RecallProposal.created_at.desc(),
                                          RecallProposal.id.desc())))


def progress(session: Session, proposal: RecallProposal) -> Progress:
    community = session.get(Community, proposal.community_id)
    found = support_flow.backing(session, community, session.scalars(
        select(RecallSupport.person_id).where(RecallSupport.proposal_id == proposal.id)))
    return Progress(found, recall_proposal(found.supporting_area, found.total_area))


def has_supported(session: Session, proposal: RecallProposal, user: User) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return session.scalar(select(RecallSupport.id)
                          .join(Person, Person.id == RecallSupport.person_id)
                          .where(RecallSupport.proposal_id == proposal.id,
                                 Person.user_id == user.id)) is not None


def open_proposal(session: Session, *, actor: User, now: dt.datetime, community: Community,
                  member_ids: list[int], reason: str) -> RecallProposal:
    """An owner proposes to recall members of the serving committee; their support comes
    with it."""
    person = support_flow.owner_person(session, actor, community, _refusal)
    committee = services.current_committee(session, community)
    if committee is None:
        raise Conflict(_("This community has no serving committee."))
    serving = {m.id: m for m in services.serving(committee)}
    chosen = sorted({int(i) for i in member_ids})
    if not chosen:
        raise DomainError(_("Name at least one member to recall."), field="members")
    if any(i not in serving for i in chosen):
        raise DomainError(_("Only serving members of the committee can be recalled."),
                          field="members")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the recall."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_("The reason is longer than %(n)s characters.", n=REASON_MAX),
                          field="reason")
    proposal = RecallProposal(community_id=community.id, committee_id=committee.id,
                              reason=reason, created_by_id=actor.id, created_at=now,
                              targets=[RecallTarget(member_id=i) for i in chosen])
    session.add(proposal)
    session.flush()
    record(session, actor=actor, action="recall.proposed", now=now, community_id=community.id,
           target=f"recall:{proposal.id}",
           details={"members": [serving[i].name for i in chosen]})
    _add_support(session, actor=actor, now=now, proposal=proposal, person=person)
    return proposal


def _require_open(proposal: RecallProposal) -> None:
    if proposal.reached_at is not None:
        raise Conflict(_("This proposal has reached its bar and goes to the owners' meeting: "
                         "support can no longer change."))


def support(session: Session, *, actor: User, now: dt.datetime,
            proposal: RecallProposal) -> Progress:
    """An owner supports a proposal (once)."""
    community = session.get(Community, proposal.community_id)
    person = support_flow.owner_person(session, actor, community, _refusal)
    _require_open(proposal)
    if session.get(Committee, proposal.committee_id).ended_at is not None:
        raise Conflict(_("This committee's time is over."))
    if has_supported(session, proposal, actor):
        raise Conflict(_("You already support this proposal."))
    return _add_support(session, actor=actor, now=now, proposal=proposal, person=person)


def withdraw(session: Session, *, actor: User, now: dt.datetime,
             proposal: RecallProposal) -> Progress:
    """An owner withdraws their support while the proposal is open."""
    community = session.get(Community, proposal.community_id)
    support_flow.owner_person(session, actor, community, _refusal)
    _require_open(proposal)
    mine = select(Person.id).where(Person.user_id == actor.id,
                                   Person.community_id == community.id)
    gone = session.execute(delete(RecallSupport).where(
        RecallSupport.proposal_id == proposal.id, RecallSupport.person_id.in_(mine)))
    if not gone.rowcount:
        raise Conflict(_("You do not support this proposal."))
    session.flush()
    record(session, actor=actor, action="recall.withdrawn", now=now,
           community_id=community.id, target=f"recall:{proposal.id}", details={})
    return progress(session, proposal)


def _add_support(session: Session, *, actor: User, now: dt.datetime,
                 proposal: RecallProposal, person: Person) -> Progress:
    support_flow.store_support(
        session, RecallSupport(proposal_id=proposal.id, person_id=person.id, user_id=actor.id,
                               at=now),
        lambda: _("You already support this proposal."))
    record(session, actor=actor, action="recall.supported", now=now,
           community_id=proposal.community_id, target=f"recall:{proposal.id}", details={})
    found = progress(session, proposal)
    if found.threshold.met and proposal.reached_at is None:
        _reached(session, actor=actor, now=now, proposal=proposal, found=found)
    return found


def names(proposal: RecallProposal) -> str:
    return "、".join(t.member.name for t in proposal.targets)


def next_draft_meeting(session: Session, community: Community) -> Meeting | None:
    """The draft meeting whose vote opens first: the next meeting to be put to the owners."""
    return session.scalar(select(Meeting).where(Meeting.community_id == community.id,
                                                Meeting.status == MeetingStatus.DRAFT)
                          .order_by(Meeting.voting_opens_at, Meeting.id).limit(1))


def queued(session: Session, community: Community) -> list[RecallProposal]:
    """Reached proposals still waiting for a drafted meeting."""
    return list(session.scalars(select(RecallProposal).where(
        RecallProposal.community_id == community.id, RecallProposal.reached_at.is_not(None),
        RecallProposal.motion_id.is_(None)).order_by(RecallProposal.reached_at)))


def _reached(session: Session, *, actor: User, now: dt.datetime, proposal: RecallProposal,
             found: Progress) -> None:
    proposal.reached_at = now
    session.flush()
    community = session.get(Community, proposal.community_id)
    committee = session.get(Committee, proposal.committee_id)
    record(session, actor=None, action="recall.reached", now=now, community_id=community.id,
           target=f"recall:{proposal.id}",
           details={"supporting_area": str(found.backing.supporting_area),
                    "total_area": str(found.backing.total_area),
                    "supporters": found.backing.supporters})
    meeting = next_draft_meeting(session, community)
    if meeting is not None:
        place(session, actor=actor, now=now, proposal=proposal, meeting=meeting)
    notify(session, now=now, community=community,
           recipients=services.committee_and_office(session, committee, community),
           kind="recall.reached", link=f"/c/{community.id}/committee/recalls/{proposal.id}",
           message=lambda: (
               _("A recall of %(names)s goes to the owners' meeting", names=names(proposal)),
               _("Owners holding %(percent)s %% of the area support it, more than a fifth: "
                 "it is a motion of the next owners' meeting.",
                 percent=found.area_percent)))


def place(session: Session, *, actor: User, now: dt.datetime, proposal: RecallProposal,
          meeting: Meeting) -> Motion:
    """Put a reached proposal on a draft meeting's agenda as an art. 278 item 3 motion."""
    if proposal.reached_at is None:
        raise Conflict(_("This proposal has not reached its bar."))
    if proposal.motion_id is not None:
        raise Conflict(_("This proposal is already on an agenda."))
    if meeting.community_id != proposal.community_id:
        raise Conflict(_("This meeting belongs to another community."))
    with force_locale(MOTION_LOCALE):
        title = _("Recall of committee members: %(names)s", names=names(proposal))
        body = _("Proposed by owners holding more than 20 %% of the total area. Reason: "
                 "%(reason)s", reason=proposal.reason)
    motion = meeting_services.add_motion(session, actor=actor, now=now, meeting=meeting,
                                         title=str(title)[:200], body=str(body),
                                         matter=Matter.COMMITTEE)
    proposal.motion_id = motion.id
    session.flush()
    record(session, actor=actor, action="recall.placed", now=now,
           community_id=proposal.community_id, target=f"recall:{proposal.id}",
           details={"meeting": meeting.id, "motion": motion.id})
    return motion
