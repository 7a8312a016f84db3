"""A community with a seated owners' committee, for the committee tests (and the matrix)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.committee import services
from app.models import Role, utcnow

#: Twelve owners' areas, 1000.00 m² in all: owners 0 and 1 hold exactly 20 %, owner 2 0.01 m².
AREAS = ("150.00", "50.00", "0.01", "99.99", "100.00", "100.00", "100.00", "100.00",
         "100.00", "100.00", "50.00", "50.00")
MEMBERS = range(5, 10)
ALTERNATES = (10, 11)


def entry(person, rank: int, head: int, area: str) -> dict:
    return {"owner_id": person.id, "name": person.name, "votes_head": head,
            "votes_area": area, "rank": rank}


def build(make, db_session, app, *, term_start: dt.date | None = None) -> dict:
    """Twelve owners (owners 5–9 on the committee, 10 and 11 its alternates), an auditor, a
    resident who owns nothing and the election's actor."""
    community = make.community()
    building = make.building(community, "1号楼")
    owners, persons, units = [], [], []
    for i, area in enumerate(AREAS):
        user = make.user(totp=True)
        person = make.person(community, user=user, name=f"业主{i}")
        units.append(make.unit(community, building, number=f"{101 + i}", area=area))
        make.own(person, units[-1])
        owners.append(user)
        persons.append(person)
    tenant = make.user()  # rents owner 3's flat: a resident, not an owner
    make.reside(make.person(community, user=tenant, name="租户"), units[3])
    auditor = make.user_with_role(Role.AUDITOR, community)
    actor = make.user(totp=True)
    start = term_start or dt.date.today() - dt.timedelta(days=30)
    with app.test_request_context("/?lang=en"):
        committee = services.seat_committee(
            db_session, community=community, election_ref="election:1", term_years=3,
            term_start=start,
            elected=[entry(persons[i], rank, 30 - rank, f"{900 - rank}.00")
                     for rank, i in enumerate(MEMBERS, start=1)],
            alternates=[entry(persons[i], rank, 10 - rank, f"{300 - rank}.00")
                        for rank, i in enumerate(ALTERNATES, start=1)],
            actor=actor)
    db_session.flush()
    return {"community": community, "owners": owners, "persons": persons, "tenant": tenant,
            "auditor": auditor, "actor": actor, "committee": committee,
            "url": f"/c/{community.id}/committee", "total": Decimal("1000.00")}


def seat_small(make, db_session, app, community, actor) -> dict:
    """Three owner members (with accounts) and one alternate seated in ``community``; a
    decided paper vote for the chair, an open vote for a vice-chair and an open recall."""
    from app.committee import chair, recall

    building = make.building(community)
    users, persons = [], []
    for i in range(4):
        user = make.user(totp=True)
        person = make.person(community, user=user, name=f"委员{i}")
        make.own(person, make.unit(community, building, area="500.00"))
        users.append(user)
        persons.append(person)
    now = utcnow()
    with app.test_request_context("/?lang=en"):
        committee = services.seat_committee(
            db_session, community=community, election_ref="election:9", term_years=3,
            term_start=dt.date.today(),
            elected=[entry(persons[i], i + 1, 9, "900.00") for i in range(3)],
            alternates=[entry(persons[3], 1, 2, "100.00")], actor=actor)
        first = committee.members[0]
        chair.record_paper(db_session, actor=users[0], now=now, committee=committee,
                                     office="chair", counts={first.id: 3})
        vote = chair.open_vote(db_session, actor=users[0], now=now, committee=committee,
                               office="vice_chair")
        proposal = recall.open_proposal(db_session, actor=users[3], now=now,
                                        community=community, member_ids=[first.id],
                                        reason="test")
    decided_vote = next(v for v in chair.votes_of(db_session, committee) if v.closed_at)
    return {"committee": committee, "member": committee.members[1], "vote": vote,
            "decided": decided_vote, "recall": proposal}
