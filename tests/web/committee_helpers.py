"""A community with a seated owners' committee, for the committee tests (and the matrix)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.committee import services
from app.models import Role

#: Twelve owners' areas, 1000.00 m² in all: owners 0 and 1 hold exactly 20 %, owner 2 0.01 m².
AREAS = ("150.00", "50.00", "0.01", "99.99", "100.00", "100.00", "100.00", "100.00",
         "100.00", "100.00", "100.00", "100.00")
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
    owners, persons = [], []
    for i, area in enumerate(AREAS):
        user = make.user(totp=True)
        person = make.person(community, user=user, name=f"业主{i}")
        make.own(person, make.unit(community, building, number=f"{101 + i}", area=area))
        owners.append(user)
        persons.append(person)
    tenant = make.user_with_role(Role.RESIDENT, community)
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
