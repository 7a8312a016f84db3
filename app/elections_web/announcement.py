"""The election's result announced (公告), objections answered, the result final — and then
the elected and the alternates handed to the committee area (``seat_committee``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import Conflict
from ..meetings.opening import objection_days
from ..models import Candidate, Election, ElectionStatus, Objection, User
from ..notifications.services import notify, owners_of
from ..objections import objection_blockers, objection_text, set_answer

try:  # the committee area is built on its own branch; without it nothing is seated
    from app.committee import services as committee_services
except ImportError:  # pragma: no cover - depends on which areas are installed
    committee_services = None


def elected_of(election: Election) -> list[Candidate]:
    return sorted((c for c in election.candidates if c.outcome == "elected"),
                  key=lambda c: c.outcome_rank)


def alternates_of(election: Election) -> list[Candidate]:
    return sorted((c for c in election.candidates if c.outcome == "alternate"),
                  key=lambda c: c.outcome_rank)


def announce(session: Session, *, actor: User, now: dt.datetime, election: Election) -> Election:
    """Publish the decided result (page + PDF); the objection period starts."""
    if election.status is not ElectionStatus.DECIDED:
        raise Conflict(_("Only a decided election can be announced."))
    meeting = election.meeting
    election.status, election.announced_at = ElectionStatus.ANNOUNCED, now
    election.objections_close_at = now + dt.timedelta(days=objection_days(meeting))
    session.flush()
    record(session, actor=actor, action="election.announced", now=now,
           community_id=meeting.community_id, target=f"election:{election.id}",
           details={"elected": [c.id for c in elected_of(election)],
                    "alternates": [c.id for c in alternates_of(election)]})
    notify(session, now=now, community=meeting.community,
           recipients=owners_of(session, meeting.community), kind="election.result",
           link=f"/c/{meeting.community_id}/meetings/{meeting.id}/election/result",
           message=lambda: (_("Committee election: %(title)s", title=meeting.title),
                            _("The elected members are announced. Objections are taken until "
                              "%(when)s.",
                              when=format_datetime(election.objections_close_at, "medium"))))
    return election


def objections_of(session: Session, election: Election) -> list[Objection]:
    return list(session.scalars(select(Objection).where(Objection.election_id == election.id)
                                .order_by(Objection.created_at, Objection.id)))


def raise_objection(session: Session, *, actor: User, now: dt.datetime, election: Election,
                    text: str) -> Objection:
    text = objection_text(text, open_now=election.status is ElectionStatus.ANNOUNCED,
                          closes_at=election.objections_close_at, now=now)
    objection = Objection(meeting_id=election.meeting_id, election_id=election.id,
                          user_id=actor.id, text=text, created_at=now)
    session.add(objection)
    session.flush()
    record(session, actor=actor, action="election.objection", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"objection": objection.id})
    return objection


def answer_objection(session: Session, *, actor: User, now: dt.datetime, election: Election,
                     objection: Objection, answer: str) -> Objection:
    set_answer(objection, answer=answer, actor_id=actor.id, now=now)
    session.flush()
    record(session, actor=actor, action="election.objection_answered", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"objection": objection.id})
    return objection


def final_blockers(session: Session, election: Election, now: dt.datetime) -> list[str]:
    if election.status is not ElectionStatus.ANNOUNCED:
        return [_("Only an announced result becomes final.")]
    return objection_blockers(objections_of(session, election),
                              closes_at=election.objections_close_at, now=now)


def seat_payload(candidates: list[Candidate]) -> list[dict]:
    """The elected or alternates as the committee area takes them."""
    return [{"owner_id": c.person_id, "name": c.person.name, "votes_head": c.votes_head or 0,
             "votes_area": str(c.votes_area or 0), "rank": c.outcome_rank}
            for c in candidates]


def make_final(session: Session, *, actor: User, now: dt.datetime, election: Election) -> Election:
    """The result binds: hand the elected and the alternates to the committee area."""
    found = final_blockers(session, election, now)
    if found:
        raise Conflict(" ".join(found))
    meeting = election.meeting
    election.status, election.final_at = ElectionStatus.FINAL, now
    session.flush()
    record(session, actor=actor, action="election.final", now=now,
           community_id=meeting.community_id, target=f"election:{election.id}", details={})
    if committee_services is not None:
        tz = ZoneInfo(meeting.community.timezone or "Asia/Shanghai")
        committee_services.seat_committee(
            session, community=meeting.community, election_ref=election.ref,
            term_years=election.term_years, term_start=now.astimezone(tz).date(),
            elected=seat_payload(elected_of(election)),
            alternates=seat_payload(alternates_of(election)), actor=actor)
        election.seated = True
        session.flush()
        record(session, actor=actor, action="election.seated", now=now,
               community_id=meeting.community_id, target=f"election:{election.id}",
               details={"ref": election.ref})
    return election
