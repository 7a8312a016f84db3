"""The members choosing their chair (主任) and vice-chairs (副主任).

One vote per office: every serving member casts one ballot on the site (and may change it until
the vote closes), or the count of a paper vote held among them is entered. The chosen member
needs more than half of **all** serving members (``elections.rules.committee_office``): a tie or
a plurality is refused and nothing changes. The result is signed by the site, audited, and the
chair role follows it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elections.rules import committee_office

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..models import (
    ChairBallot,
    ChairVote,
    Committee,
    CommitteeMember,
    Community,
    MemberRole,
    Role,
    User,
)
from ..notifications.services import notify
from ..signing import sign
from . import services

OFFICES = ("chair", "vice_chair")
PURPOSE = "committee-chair-vote"


def office_label(office: str) -> str:
    return _("chair") if office == "chair" else _("vice-chair")


def open_vote_of(session: Session, committee: Committee) -> ChairVote | None:
    return session.scalar(select(ChairVote).where(ChairVote.committee_id == committee.id,
                                                  ChairVote.closed_at.is_(None)))


def votes_of(session: Session, committee: Committee) -> list[ChairVote]:
    return list(session.scalars(select(ChairVote).where(ChairVote.committee_id == committee.id)
                                .order_by(ChairVote.id.desc())))


def ballots(session: Session, vote: ChairVote) -> list[ChairBallot]:
    return list(session.scalars(select(ChairBallot).where(ChairBallot.vote_id == vote.id)))


def _voter(session: Session, committee: Committee, actor: User) -> CommitteeMember:
    member = services.member_of(session, committee, actor)
    if member is None:
        raise Forbidden(_("Only a serving member of the committee takes part in this vote."))
    return member


def _check_office(office: str) -> None:
    if office not in OFFICES:
        raise DomainError(_("Choose the office: chair or vice-chair."), field="office")


def _candidate(committee: Committee, candidate_id: int, office: str,
               field: str = "candidate") -> CommitteeMember:
    found = next((m for m in services.serving(committee) if m.id == candidate_id), None)
    if found is None:
        raise DomainError(_("Choose a serving member of the committee."), field=field)
    if office == "vice_chair" and found.role is MemberRole.CHAIR:
        raise DomainError(_("%(name)s is the chair and cannot also be a vice-chair.",
                            name=found.name), field=field)
    return found


def open_vote(session: Session, *, actor: User, now: dt.datetime, committee: Committee,
              office: str) -> ChairVote:
    """A member opens the vote for one office (one vote open at a time)."""
    _voter(session, committee, actor)
    _check_office(office)
    if committee.ended_at is not None:
        raise Conflict(_("This committee's time is over."))
    if open_vote_of(session, committee) is not None:
        raise Conflict(_("A vote among the members is already open: close it first."))
    vote = ChairVote(committee_id=committee.id, office=office, mode="online", opened_at=now,
                     opened_by_id=actor.id)
    session.add(vote)
    session.flush()
    record(session, actor=actor, action="committee.chair_vote_opened", now=now,
           community_id=committee.community_id, target=f"chair_vote:{vote.id}",
           details={"office": office})
    return vote


def cast(session: Session, *, actor: User, now: dt.datetime, vote: ChairVote,
         candidate_id: int) -> ChairBallot:
    """A member's one ballot in an open vote (cast again to change it while open)."""
    committee = session.get(Committee, vote.committee_id)
    voter = _voter(session, committee, actor)
    if vote.closed_at is not None:
        raise Conflict(_("This vote is closed."))
    candidate = _candidate(committee, candidate_id, vote.office)
    ballot = session.scalar(select(ChairBallot).where(ChairBallot.vote_id == vote.id,
                                                      ChairBallot.voter_id == voter.id))
    if ballot is None:
        ballot = ChairBallot(vote_id=vote.id, voter_id=voter.id, candidate_id=candidate.id,
                             cast_at=now)
        session.add(ballot)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:  # the same member, twice at once
            raise Conflict(_("Your vote was just recorded from elsewhere: reload the page "
                             "to change it.")) from exc
    else:
        ballot.candidate_id, ballot.cast_at = candidate.id, now
        session.flush()
    record(session, actor=actor, action="committee.chair_vote_cast", now=now,
           community_id=committee.community_id, target=f"chair_vote:{vote.id}", details={})
    return ballot


def _winner(committee: Committee, counts: Counter) -> CommitteeMember:
    members = len(services.serving(committee))
    best = max(counts.values(), default=0)
    leaders = [mid for mid, n in counts.items() if n == best and n]
    if len(leaders) == 1 and committee_office(best, members).met:
        return next(m for m in committee.members if m.id == leaders[0])
    if len(leaders) > 1:
        raise Conflict(_("A tie: %(n)s members have %(votes)s votes each. A choice needs more "
                         "than half of all %(members)s members.", n=len(leaders), votes=best,
                         members=members))
    raise Conflict(_("No member has more than half of all %(members)s members' votes (the "
                     "most: %(votes)s). Nothing is decided.", members=members, votes=best))


def close_vote(session: Session, *, actor: User, now: dt.datetime,
               vote: ChairVote) -> CommitteeMember:
    """Count an online vote; refused (the vote stays open) without a majority of all."""
    committee = session.get(Committee, vote.committee_id)
    _voter(session, committee, actor)
    if vote.closed_at is not None:
        raise Conflict(_("This vote is closed."))
    cast_ballots = ballots(session, vote)
    counts = Counter(b.candidate_id for b in cast_ballots)
    winner = _winner(committee, counts)
    _decide(session, actor=actor, now=now, committee=committee, vote=vote, winner=winner,
            counts=counts, ballots_cast=len(cast_ballots))
    return winner


def cancel_vote(session: Session, *, actor: User, now: dt.datetime, vote: ChairVote) -> None:
    """Drop an open vote that reached no decision (its ballots go with it)."""
    committee = session.get(Committee, vote.committee_id)
    _voter(session, committee, actor)
    if vote.closed_at is not None:
        raise Conflict(_("This vote is closed."))
    for ballot in ballots(session, vote):
        session.delete(ballot)
    session.flush()
    record(session, actor=actor, action="committee.chair_vote_cancelled", now=now,
           community_id=committee.community_id, target=f"chair_vote:{vote.id}",
           details={"office": vote.office})
    session.delete(vote)
    session.flush()


def record_paper(session: Session, *, actor: User, now: dt.datetime, committee: Committee,
                 office: str, counts: dict[int, int]) -> CommitteeMember:
    """Enter the count of a paper vote among the members; the same majority applies."""
    _voter(session, committee, actor)
    _check_office(office)
    if committee.ended_at is not None:
        raise Conflict(_("This committee's time is over."))
    if open_vote_of(session, committee) is not None:
        raise Conflict(_("A vote among the members is already open: close it first."))
    members = len(services.serving(committee))
    tally: Counter = Counter()
    for member_id, n in counts.items():
        if n < 0:
            raise DomainError(_("A count cannot be negative."), field=f"count-{member_id}")
        if n:
            _candidate(committee, member_id, office, field=f"count-{member_id}")
            tally[member_id] = n
    if sum(tally.values()) > members:
        raise DomainError(_("%(n)s votes were counted but the committee has %(members)s "
                            "members: each casts one.", n=sum(tally.values()),
                            members=members), field="counts")
    winner = _winner(committee, tally)
    vote = ChairVote(committee_id=committee.id, office=office, mode="paper", opened_at=now,
                     opened_by_id=actor.id)
    session.add(vote)
    session.flush()
    _decide(session, actor=actor, now=now, committee=committee, vote=vote, winner=winner,
            counts=tally, ballots_cast=sum(tally.values()))
    return winner


def _decide(session: Session, *, actor: User, now: dt.datetime, committee: Committee,
            vote: ChairVote, winner: CommitteeMember, counts: Counter,
            ballots_cast: int) -> None:
    community = session.get(Community, committee.community_id)
    members = services.serving(committee)
    body = {
        "community": community.id, "committee": committee.id, "vote": vote.id,
        "office": vote.office, "mode": vote.mode, "members": len(members),
        "ballots": ballots_cast, "decided_at": now.isoformat(),
        "counts": [{"member": m.id, "name": m.name, "votes": counts.get(m.id, 0)}
                   for m in members],
        "chosen": {"member": winner.id, "name": winner.name, "votes": counts[winner.id]},
    }
    vote.closed_at, vote.winner_id, vote.document = now, winner.id, sign(PURPOSE, body)
    if vote.office == "chair":
        for member in members:
            if member.role is MemberRole.CHAIR and member.id != winner.id:
                member.role = MemberRole.MEMBER
                services.drop_role(session, actor=actor, now=now, community=community,
                                    person_id=member.person_id, role=Role.CHAIR)
        winner.role = MemberRole.CHAIR
        services.give_role(session, actor=actor, now=now, community=community,
                            person_id=winner.person_id, role=Role.CHAIR)
    else:
        winner.role = MemberRole.VICE_CHAIR
    services.give_role(session, actor=actor, now=now, community=community,
                        person_id=winner.person_id, role=Role.COMMITTEE)
    session.flush()
    record(session, actor=actor, action="committee.chair_vote_decided", now=now,
           community_id=community.id, target=f"chair_vote:{vote.id}",
           details={"office": vote.office, "mode": vote.mode, "chosen": winner.name,
                    "votes": counts[winner.id], "members": len(members)})
    notify(session, now=now, community=community,
           recipients=services.committee_and_office(session, committee, community),
           kind="committee.office", link=services.link(community),
           message=lambda: (_("%(name)s is chosen %(office)s of the owners' committee",
                              name=winner.name, office=office_label(vote.office)),
                            _("%(votes)s of %(members)s members chose them.",
                              votes=counts[winner.id], members=len(members))))
