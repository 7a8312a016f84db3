"""The demo community's owners' committee: seven members seated by the real service (the chair
周建国 and vice-chair 林晓峰 are the demo logins ``chair`` and ``committee``), chosen by a paper
vote among them, two alternates of whom one was called up after a resignation, a term ending in
five months (the six-month reminder is out) and an owner's recall proposal gathering support."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.services import hash_password
from ..models import Community, MemberStatus, Ownership, Person, User
from . import chair, recall, reminders, services

#: The demo logins who sit on the committee: (username, name in the register).
SEATED_LOGINS = (("chair", "周建国"), ("committee", "林晓峰"))


def _free_owners(session: Session, community: Community) -> list[Person]:
    """Owners without an account, in register order (the developer excluded)."""
    return list(session.scalars(
        select(Person).join(Ownership, Ownership.person_id == Person.id)
        .where(Person.community_id == community.id, Person.user_id.is_(None),
               Person.is_developer.is_(False), Ownership.ended_at.is_(None))
        .order_by(Person.id).distinct()))


def _entry(person: Person, rank: int, head: int, area: str) -> dict:
    return {"owner_id": person.id, "name": person.name, "votes_head": head,
            "votes_area": area, "rank": rank}


def _apart(session: Session, persons: list[Person], n: int) -> list[Person]:
    """``n`` owners of whom no two share a flat (spouses would count as one supporter)."""
    chosen, taken = [], set()
    for person in persons:
        units = set(session.scalars(select(Ownership.unit_id).where(
            Ownership.person_id == person.id, Ownership.ended_at.is_(None))))
        if not units & taken:
            chosen.append(person)
            taken |= units
        if len(chosen) == n:
            break
    return chosen


def _account_for(session: Session, person: Person, now: dt.datetime) -> User:
    """An owner who activated an account (not a demo login: no known password)."""
    user = User(username=f"owner-{person.id}", display_name=person.name,
                password_hash=hash_password(secrets.token_urlsafe(16)), created_at=now)
    session.add(user)
    session.flush()
    person.user_id = user.id
    return user


def add_demo_committee(session: Session, community: Community, now: dt.datetime) -> None:
    free = _free_owners(session, community)
    seated = []
    for (username, name), person in zip(SEATED_LOGINS, free[:2], strict=True):
        person.name, person.user_id = name, session.scalar(
            select(User.id).where(User.username == username))
        seated.append(person)
    members = seated + free[2:7]
    alternates = free[7:9]
    session.flush()
    today = services.today_in(community, now)
    start = today.replace(year=today.year - 3) + dt.timedelta(days=150)
    election = session.scalar(select(User).where(User.username == "committee"))
    votes = [(182, "17520.35"), (176, "16988.10"), (170, "16450.72"), (165, "15903.44"),
             (161, "15511.08"), (158, "15236.90"), (150, "14489.61")]
    committee = services.seat_committee(
        session, community=community, election_ref="2024年业主大会会议（换届选举）",
        term_years=3, term_start=start,
        elected=[_entry(p, r, *votes[r - 1]) for r, p in enumerate(members, start=1)],
        alternates=[_entry(p, r, h, a) for r, (p, (h, a)) in
                    enumerate(zip(alternates, [(131, "12650.20"), (118, "11402.55")],
                                  strict=True), start=1)],
        actor=election)
    by_person = {m.person_id: m for m in committee.members}
    chair_user = session.scalar(select(User).where(User.username == "chair"))
    head, vice = by_person[seated[0].id], by_person[seated[1].id]
    chair.record_paper(session, actor=chair_user, now=now, committee=committee, office="chair",
                       counts={head.id: 6, vice.id: 1})
    chair.record_paper(session, actor=chair_user, now=now, committee=committee,
                       office="vice_chair", counts={vice.id: 5, by_person[members[2].id].id: 2})
    services.record_vacancy(
        session, actor=chair_user, now=now, community=community,
        member=by_person[members[6].id], status=MemberStatus.RESIGNED,
        reason="工作调动，已迁出本市，书面提出辞去委员职务。", on=today - dt.timedelta(days=40))
    reminders.send_reminders(session, now=now)

    # Owners propose to recall one member; three support it so far (the demo owner has not).
    supporters = [_account_for(session, p, now) for p in _apart(session, free[20:], 3)]
    proposal = recall.open_proposal(
        session, actor=supporters[0], now=now - dt.timedelta(days=6), community=community,
        member_ids=[by_person[members[4].id].id],
        reason="该委员连续六次无故缺席业主委员会会议，未履行委员职责。")
    for user in supporters[1:]:
        recall.support(session, actor=user, now=now - dt.timedelta(days=3), proposal=proposal)
