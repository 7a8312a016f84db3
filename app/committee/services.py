"""The owners' committee (业主委员会) once elected: seating it, its term, vacancies and
alternates (候补委员) called up in order, and the site roles that follow membership.

``seat_committee`` is what the election calls when its result becomes final. Services flush,
never commit, and raise domain errors.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..admin.services import grant_role, revoke_grant
from ..audit.services import record
from ..errors import Conflict, DomainError
from ..models import (
    Committee,
    CommitteeAlternate,
    CommitteeMember,
    Community,
    MemberRole,
    MemberStatus,
    Person,
    Role,
    RoleGrant,
    User,
    utcnow,
)
from ..notifications.services import holders_of, notify

TERM_YEARS = (3, 4, 5)
DEFAULT_TERM_YEARS = 3
REASON_MAX = 2000
#: The statuses a vacancy can be recorded with.
VACANCY_STATUSES = (MemberStatus.RESIGNED, MemberStatus.REMOVED, MemberStatus.RECALLED,
                    MemberStatus.DECEASED, MemberStatus.OTHER)


def link(community: Community) -> str:
    return f"/c/{community.id}/committee"


def term_end(start: dt.date, years: int) -> dt.date:
    """The last day of a term is its anniversary (29 February ends on 28 February)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def today_in(community: Community, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(community.timezone or "Asia/Shanghai")).date()


def current_committee(session: Session, community: Community) -> Committee | None:
    """The serving committee (the newest not ended), or None."""
    return session.scalar(select(Committee).where(Committee.community_id == community.id,
                                                  Committee.ended_at.is_(None))
                          .order_by(Committee.id.desc()).limit(1))


def past_committees(session: Session, community: Community) -> list[Committee]:
    return list(session.scalars(select(Committee).where(Committee.community_id == community.id,
                                                        Committee.ended_at.is_not(None))
                                .order_by(Committee.term_start.desc(), Committee.id.desc())))


def serving(committee: Committee) -> list[CommitteeMember]:
    """Serving members, chair first, then vice-chairs, then by the election's ranking."""
    order = {MemberRole.CHAIR: 0, MemberRole.VICE_CHAIR: 1, MemberRole.MEMBER: 2}
    return sorted((m for m in committee.members if m.serving),
                  key=lambda m: (order[m.role], m.rank, m.id))


def waiting_alternates(committee: Committee) -> list[CommitteeAlternate]:
    """Alternates not yet called up, in rank order."""
    return [a for a in committee.alternates if a.called_up_at is None]


def vacancies(committee: Committee) -> int:
    return max(0, committee.seats - len(serving(committee)))


def by_election_needed(committee: Committee) -> bool:
    """A seat is empty and no alternate is left to fill it."""
    return vacancies(committee) > 0 and not waiting_alternates(committee)


def member_of(session: Session, committee: Committee, user: User) -> CommitteeMember | None:
    """The serving member ``user`` is (through their register entry), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return session.scalar(
        select(CommitteeMember).join(Person, Person.id == CommitteeMember.person_id)
        .where(CommitteeMember.committee_id == committee.id, Person.user_id == user.id,
               CommitteeMember.status == MemberStatus.SERVING))


# --- seating ---------------------------------------------------------------------------------

def _votes_area(entry: dict, field: str) -> Decimal:
    try:
        area = Decimal(str(entry["votes_area"]))
    except (KeyError, InvalidOperation) as exc:
        raise DomainError(_("The votes by area of %(name)s are not a number.",
                            name=entry.get("name", "?")), field=field) from exc
    if area < 0 or not area.is_finite():
        raise DomainError(_("The votes by area of %(name)s are not a number.",
                            name=entry.get("name", "?")), field=field)
    return area


def _check_entries(session: Session, community: Community, elected: list[dict],
                   alternates: list[dict]) -> None:
    if not elected:
        raise DomainError(_("A committee needs at least one elected member."), field="elected")
    seen: set[int] = set()
    for field, entries in (("elected", elected), ("alternates", alternates)):
        ranks = [e.get("rank") for e in entries]
        if len(set(ranks)) != len(ranks):
            raise DomainError(_("Two entries share one rank."), field=field)
        for entry in entries:
            person = session.get(Person, entry.get("owner_id"))
            if person is None or person.community_id != community.id:
                raise DomainError(_("%(name)s is not in this community's register.",
                                    name=entry.get("name", "?")), field=field)
            if person.id in seen:
                raise DomainError(_("%(name)s is listed twice.", name=entry["name"]),
                                  field=field)
            seen.add(person.id)
            if int(entry.get("votes_head", -1)) < 0:
                raise DomainError(_("The votes by headcount of %(name)s are negative.",
                                    name=entry["name"]), field=field)
            _votes_area(entry, field)


def seat_committee(session: Session, *, community: Community, election_ref: str,
                   term_years: int, term_start: dt.date, elected: list[dict],
                   alternates: list[dict], actor) -> Committee:
    """Seat the committee an election made final; the serving one (if any) ends.

    Each entry of ``elected`` and ``alternates`` is ``{"owner_id", "name", "votes_head",
    "votes_area" (Decimal as text), "rank"}``. Members start with the role "member" until they
    choose their chair; alternates wait in rank order. Members with an account get the
    committee role; members of the previous committee who were not re-elected lose theirs.
    """
    if term_years not in TERM_YEARS:
        raise DomainError(_("A committee's term is 3 to 5 years."), field="term_years")
    _check_entries(session, community, elected, alternates)
    now = utcnow()
    previous = current_committee(session, community)
    committee = Committee(
        community_id=community.id, election_ref=election_ref[:200], term_years=term_years,
        term_start=term_start, term_end=term_end(term_start, term_years), seats=len(elected),
        seated_at=now, seated_by_id=actor.id if actor else None)
    session.add(committee)
    session.flush()
    for entry in sorted(elected, key=lambda e: e["rank"]):
        session.add(CommitteeMember(
            committee_id=committee.id, person_id=entry["owner_id"], name=entry["name"][:80],
            role=MemberRole.MEMBER, votes_head=int(entry["votes_head"]),
            votes_area=_votes_area(entry, "elected"), rank=int(entry["rank"]),
            status=MemberStatus.SERVING, joined_on=term_start))
    for entry in sorted(alternates, key=lambda e: e["rank"]):
        session.add(CommitteeAlternate(
            committee_id=committee.id, person_id=entry["owner_id"], name=entry["name"][:80],
            votes_head=int(entry["votes_head"]), votes_area=_votes_area(entry, "alternates"),
            rank=int(entry["rank"])))
    session.flush()
    session.refresh(committee)
    stay = {m.person_id for m in committee.members}
    if previous is not None:
        previous.ended_at = now
        for member in previous.members:
            if member.serving and member.person_id not in stay:
                drop_roles(session, actor=actor, now=now, community=community,
                            person_id=member.person_id)
    for member in committee.members:
        give_role(session, actor=actor, now=now, community=community,
                   person_id=member.person_id, role=Role.COMMITTEE)
        drop_role(session, actor=actor, now=now, community=community,
                   person_id=member.person_id, role=Role.CHAIR)  # until the chair vote
    session.flush()
    record(session, actor=actor, action="committee.seated", now=now, community_id=community.id,
           target=f"committee:{committee.id}",
           details={"election": election_ref, "term_years": term_years,
                    "term_start": term_start.isoformat(),
                    "term_end": committee.term_end.isoformat(),
                    "members": [m.person_id for m in committee.members],
                    "alternates": [a.person_id for a in committee.alternates],
                    "previous": previous.id if previous else None})
    notify(session, now=now, community=community,
           recipients=committee_and_office(session, committee, community),
           kind="committee.seated", link=link(community),
           message=lambda: (_("The new owners' committee is seated"),
                            _("Its term runs from %(start)s to %(end)s. The members now choose "
                              "their chair and vice-chairs.", start=term_start.isoformat(),
                              end=committee.term_end.isoformat())))
    return committee


# --- roles -----------------------------------------------------------------------------------

def _user_of(session: Session, person_id: int) -> User | None:
    person = session.get(Person, person_id)
    return session.get(User, person.user_id) if person and person.user_id else None


def give_role(session: Session, *, actor, now, community, person_id: int, role: Role) -> None:
    user = _user_of(session, person_id)
    if user is None:
        return
    held = session.scalar(select(RoleGrant).filter_by(user_id=user.id, role=role,
                                                      community_id=community.id))
    if held is not None:
        return
    if actor is not None:
        grant_role(session, actor=actor, now=now, user=user, role=role, community=community)
        return
    # Seated by the system (no account acting): the same grant and audit entry, unsigned by
    # anyone in particular.
    session.add(RoleGrant(user_id=user.id, role=role, community_id=community.id,
                          granted_at=now))
    session.flush()
    record(session, actor=None, action="role.granted", now=now, community_id=community.id,
           target=user.username, details={"role": role.value})


def drop_role(session: Session, *, actor, now, community, person_id: int, role: Role) -> None:
    user = _user_of(session, person_id)
    if user is None:
        return
    held = session.scalar(select(RoleGrant).filter_by(user_id=user.id, role=role,
                                                      community_id=community.id))
    if held is not None:
        revoke_grant(session, actor=actor, now=now, grant=held, community=community)


def drop_roles(session: Session, *, actor, now, community, person_id: int) -> None:
    for role in (Role.CHAIR, Role.COMMITTEE):
        drop_role(session, actor=actor, now=now, community=community, person_id=person_id,
                   role=role)


def committee_and_office(session: Session, committee: Committee,
                          community: Community) -> set[int]:
    """Accounts of the serving members, the chair and committee role holders, the auditors."""
    ids = set(holders_of(session, community, Role.COMMITTEE, Role.CHAIR, Role.AUDITOR))
    for member in serving(committee):
        user = _user_of(session, member.person_id)
        if user is not None:
            ids.add(user.id)
    return ids


# --- vacancies -------------------------------------------------------------------------------

def record_vacancy(session: Session, *, actor: User, now: dt.datetime, community: Community,
                   member: CommitteeMember, status: MemberStatus, reason: str,
                   on: dt.date) -> CommitteeMember | None:
    """A seat falls vacant; the first alternate waiting is called up (returned), or None
    when none is left (a by-election is then needed)."""
    committee = member.committee
    if committee.ended_at is not None:
        raise Conflict(_("This committee's time is over."))
    if not member.serving:
        raise Conflict(_("%(name)s no longer holds a seat.", name=member.name))
    if status not in VACANCY_STATUSES:
        raise DomainError(_("Choose why the seat is vacant."), field="status")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the vacancy."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_("The reason is longer than %(n)s characters.", n=REASON_MAX),
                          field="reason")
    if on < member.joined_on or on > today_in(community, now):
        raise DomainError(_("The date must lie between the member's first day and today."),
                          field="on")
    member.status, member.left_on, member.left_reason = status, on, reason
    session.flush()
    drop_roles(session, actor=actor, now=now, community=community, person_id=member.person_id)
    record(session, actor=actor, action="committee.vacancy_recorded", now=now,
           community_id=community.id, target=f"committee_member:{member.id}",
           details={"name": member.name, "status": status.value, "on": on.isoformat(),
                    "reason": reason})
    return call_up(session, actor=actor, now=now, community=community, committee=committee,
                   on=on)


def call_up(session: Session, *, actor: User, now: dt.datetime, community: Community,
            committee: Committee, on: dt.date) -> CommitteeMember | None:
    """Fill one vacancy with the first alternate in rank order (None: nobody left)."""
    waiting = waiting_alternates(committee)
    if not vacancies(committee):
        return None
    if not waiting:
        record(session, actor=actor, action="committee.by_election_needed", now=now,
               community_id=community.id, target=f"committee:{committee.id}",
               details={"vacancies": vacancies(committee)})
        notify(session, now=now, community=community,
               recipients=committee_and_office(session, committee, community),
               kind="committee.by_election", link=link(community),
               message=lambda: (_("A by-election for the owners' committee is needed"),
                                _("A seat is vacant and no alternate is left to fill it.")))
        return None
    alternate = waiting[0]
    if any(m.person_id == alternate.person_id for m in committee.members):
        raise Conflict(_("%(name)s already sat on this committee.", name=alternate.name))
    alternate.called_up_at = now
    member = CommitteeMember(
        committee_id=committee.id, person_id=alternate.person_id, name=alternate.name,
        role=MemberRole.MEMBER, votes_head=alternate.votes_head,
        votes_area=alternate.votes_area, rank=alternate.rank, status=MemberStatus.SERVING,
        joined_on=on, from_alternate_id=alternate.id)
    session.add(member)
    session.flush()
    session.refresh(committee)
    give_role(session, actor=actor, now=now, community=community, person_id=member.person_id,
               role=Role.COMMITTEE)
    record(session, actor=actor, action="committee.alternate_called_up", now=now,
           community_id=community.id, target=f"committee_member:{member.id}",
           details={"name": member.name, "rank": alternate.rank})
    notify(session, now=now, community=community,
           recipients=committee_and_office(session, committee, community),
           kind="committee.called_up", link=link(community),
           message=lambda: (_("%(name)s joins the owners' committee", name=member.name),
                            _("%(name)s, the first alternate, is called up to a vacant seat "
                              "until the end of the term.", name=member.name)))
    return member

