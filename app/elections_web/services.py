"""A committee election (差额选举) within an owners' meeting: seats, roles, term, nominations
and the candidate list published with the notice.

Services take ``session``, ``actor`` and ``now``, flush but never commit, and raise domain
errors. The counting rules live in ``elections`` (``Election``, ``tally_candidates``).
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..models import (
    Candidate,
    Disqualification,
    Election,
    ElectionStatus,
    Meeting,
    MeetingStatus,
    NominationChannel,
    Ownership,
    Person,
    TieRule,
    Unit,
    User,
)

DEFAULT_SEATS = 9
DEFAULT_TERM_YEARS = 3
#: Owners a joint nomination needs at least (community rules often ask for more).
JOINT_NOMINATORS = 5

CHANNEL_LABELS = {
    NominationChannel.PREPARATORY_GROUP: _l("Preparatory group"),
    NominationChannel.REPRESENTATIVES: _l("Owners' representatives"),
    NominationChannel.JOINT_OWNERS: _l("Joint nomination by owners"),
    NominationChannel.SELF: _l("Self-nomination"),
}
STATUS_LABELS = {
    ElectionStatus.RUNNING: _l("Running"),
    ElectionStatus.DECIDED: _l("Decided"),
    ElectionStatus.ANNOUNCED: _l("Announced"),
    ElectionStatus.FINAL: _l("Final"),
}
OUTCOME_LABELS = {
    "elected": _l("Elected"),
    "alternate": _l("Alternate"),
    "not_elected": _l("Not elected"),
    "runoff": _l("Tied: run-off"),
}
TIE_RULE_LABELS = {
    TieRule.RUNOFF: _l("A further round among the tied candidates"),
    TieRule.ELECTED_DECIDE: _l("The elected members decide"),
}


def election_of(session: Session, meeting: Meeting) -> Election | None:
    return session.scalar(select(Election).where(Election.meeting_id == meeting.id))


def check_seats(seats: int, vice_chairs: int, term_years: int) -> None:
    """Seats an odd number, at least 5; a term of 3 to 5 years; roles within the seats."""
    if seats < 5 or seats % 2 == 0:
        raise DomainError(_("The committee has an odd number of seats, at least 5."),
                          field="seats")
    if not 3 <= term_years <= 5:
        raise DomainError(_("The term is 3 to 5 years."), field="term_years")
    if not 0 <= vice_chairs <= seats - 1:
        raise DomainError(_("Vice-chairs must leave the chair's seat: between 0 and %(n)s.",
                            n=seats - 1), field="vice_chairs")


def _require_draft(meeting: Meeting) -> None:
    if meeting.status is not MeetingStatus.DRAFT:
        raise Conflict(_("The candidate list is published with the notice: it changes only "
                         "while the notice is a draft (amend the notice first)."))


def create_election(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting,
    seats: int = DEFAULT_SEATS, vice_chairs: int = 2, term_years: int = DEFAULT_TERM_YEARS,
    tie_rule: TieRule = TieRule.RUNOFF,
) -> Election:
    """Put the committee election (art. 278(1) item 3) on a draft meeting's agenda."""
    _require_draft(meeting)
    if election_of(session, meeting) is not None:
        raise Conflict(_("This meeting already holds a committee election."))
    check_seats(seats, vice_chairs, term_years)
    election = Election(meeting_id=meeting.id, seats=seats, chairs=1, vice_chairs=vice_chairs,
                        term_years=term_years, tie_rule=tie_rule, created_by_id=actor.id,
                        created_at=now)
    session.add(election)
    session.flush()
    record(session, actor=actor, action="election.created", now=now,
           community_id=meeting.community_id, target=f"election:{election.id}",
           details={"meeting": meeting.id, "seats": seats, "term_years": term_years,
                    "tie_rule": tie_rule.value})
    return election


def update_election(
    session: Session, *, actor: User, now: dt.datetime, election: Election, seats: int,
    vice_chairs: int, term_years: int, tie_rule: TieRule,
) -> Election:
    _require_draft(election.meeting)
    check_seats(seats, vice_chairs, term_years)
    election.seats, election.vice_chairs, election.term_years, election.tie_rule = (
        seats, vice_chairs, term_years, tie_rule)
    session.flush()
    record(session, actor=actor, action="election.updated", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"seats": seats, "term_years": term_years, "tie_rule": tie_rule.value})
    return election


# -- eligibility and nomination ------------------------------------------------------------------


def is_owner(session: Session, person: Person, community_id: int) -> bool:
    """Owns a unit of the community now (the register, not the account, decides)."""
    return session.scalar(
        select(Ownership.id).join(Unit, Unit.id == Ownership.unit_id)
        .where(Ownership.person_id == person.id, Ownership.ended_at.is_(None),
               Unit.community_id == community_id).limit(1)) is not None


def disqualification_of(session: Session, person: Person) -> Disqualification | None:
    return session.scalar(select(Disqualification).where(
        Disqualification.person_id == person.id, Disqualification.lifted_at.is_(None)).limit(1))


def eligibility_refusal(session: Session, election: Election, person: Person) -> str | None:
    """Why ``person`` cannot stand (None: they can): owner of the community, not
    disqualified, not already on the list."""
    community_id = election.meeting.community_id
    if person.community_id != community_id or not is_owner(session, person, community_id):
        return _("%(name)s owns no unit of this community: only owners can stand.",
                 name=person.name)
    if person.is_developer:
        return _("The developer's unsold units do not make a candidate.")
    found = disqualification_of(session, person)
    if found is not None:
        return _("%(name)s is recorded as not eligible to stand: %(reason)s.",
                 name=person.name, reason=found.reason)
    if any(c.person_id == person.id for c in election.candidates):
        return _("%(name)s is already on the candidate list.", name=person.name)
    return None


def nominate(
    session: Session, *, actor: User, now: dt.datetime, election: Election, person: Person,
    channel: NominationChannel, nominators: list[Person], consent: bool, statement: str = "",
    photo_path: str = "",
) -> Candidate:
    """Put an owner on the candidate list through one channel, with the nominating owners.

    Joint nomination needs at least ``JOINT_NOMINATORS`` owners; the owners' representatives
    name who nominated; a self-nomination is the owner's own. The candidate's consent is
    required.
    """
    _require_draft(election.meeting)
    why = eligibility_refusal(session, election, person)
    if why:
        raise DomainError(why, field="candidate")
    if not consent:
        raise DomainError(_("The candidate's consent is required: tick the box once they have "
                            "agreed to stand."), field="consent")
    community_id = election.meeting.community_id
    for owner in nominators:
        if owner.community_id != community_id or not is_owner(session, owner, community_id):
            raise DomainError(_("%(name)s owns no unit of this community and cannot nominate.",
                                name=owner.name), field="nominators")
    ids = sorted({o.id for o in nominators})
    if channel is NominationChannel.SELF:
        ids = [person.id]
    elif channel is NominationChannel.JOINT_OWNERS and len(ids) < JOINT_NOMINATORS:
        raise DomainError(_("A joint nomination needs at least %(n)s owners; %(have)s named.",
                            n=JOINT_NOMINATORS, have=len(ids)), field="nominators")
    elif channel is NominationChannel.REPRESENTATIVES and not ids:
        raise DomainError(_("Name the owners' representatives who nominate."),
                          field="nominators")
    position = max((c.position for c in election.candidates), default=0) + 1
    candidate = Candidate(
        election_id=election.id, person_id=person.id, position=position, channel=channel,
        nominators=ids, consent_at=now, statement=(statement or "").strip()[:4000],
        photo_path=photo_path, nominated_by_id=actor.id, nominated_at=now)
    session.add(candidate)
    session.flush()
    session.refresh(election, ["candidates"])
    record(session, actor=actor, action="election.nominated", now=now,
           community_id=community_id, target=f"election:{election.id}",
           details={"candidate": candidate.id, "person": person.id, "channel": channel.value,
                    "nominators": ids})
    return candidate


def self_nominate(
    session: Session, *, actor: User, now: dt.datetime, election: Election, statement: str,
    consent: bool, photo_path: str = "",
) -> Candidate:
    """An owner puts themselves forward (自荐) from their own account."""
    persons = list(session.scalars(select(Person).where(
        Person.user_id == actor.id, Person.community_id == election.meeting.community_id)))
    owner = next((p for p in persons if is_owner(session, p, p.community_id)), None)
    if owner is None:
        raise Forbidden(_("Only an owner of this community can nominate themselves."))
    return nominate(session, actor=actor, now=now, election=election, person=owner,
                    channel=NominationChannel.SELF, nominators=[owner], consent=consent,
                    statement=statement, photo_path=photo_path)


def withdraw(session: Session, *, actor: User, now: dt.datetime, candidate: Candidate) -> None:
    """Take a candidate off a draft list (the others keep their order)."""
    election = candidate.election
    _require_draft(election.meeting)
    session.delete(candidate)
    session.flush()
    session.refresh(election, ["candidates"])
    record(session, actor=actor, action="election.withdrawn", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"candidate": candidate.id, "person": candidate.person_id})


def disqualify(session: Session, *, actor: User, now: dt.datetime, person: Person,
               reason: str) -> Disqualification:
    """Record that an owner may not stand (e.g. no full civil capacity), with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Write why the owner cannot stand."), field="reason")
    row = Disqualification(community_id=person.community_id, person_id=person.id,
                           reason=reason[:80], recorded_by_id=actor.id, recorded_at=now)
    session.add(row)
    session.flush()
    record(session, actor=actor, action="election.disqualified", now=now,
           community_id=person.community_id, target=f"person:{person.id}",
           details={"reason": row.reason})
    return row


# -- the notice ----------------------------------------------------------------------------------


def notice_blockers(session: Session, meeting: Meeting) -> list[str]:
    """What in the meeting's election stops its notice (the list must be longer than seats)."""
    election = election_of(session, meeting)
    if election is None:
        return []
    if len(election.candidates) <= election.seats:
        return [_("The committee election needs more candidates than its %(seats)s seats "
                  "(差额选举): %(n)s nominated.", seats=election.seats,
                  n=len(election.candidates))]
    return []


def notice_snapshot(session: Session, meeting: Meeting) -> dict | None:
    """The election as the notice publishes it: seats, roles, term and the candidate list."""
    election = election_of(session, meeting)
    if election is None:
        return None
    return {
        "seats": election.seats, "chairs": election.chairs,
        "vice_chairs": election.vice_chairs, "term_years": election.term_years,
        "tie_rule": election.tie_rule.value,
        "candidates": [{"position": c.position, "name": c.person.name,
                        "channel": c.channel.value, "statement": c.statement}
                       for c in election.candidates],
    }


def members_seats(election: Election) -> int:
    """Seats that are neither chair nor vice-chair."""
    return election.seats - election.chairs - election.vice_chairs
