"""Reads the API needs beyond ``app.register.summary``: a page of units, my units' relation.

Functions take the session explicitly and never write.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..models import Building, Community, Ownership, Person, Unit, User


def units_page(
    session: Session, community: Community, *, building: str | None, page: int, per_page: int
) -> tuple[list[Unit], int]:
    """One page of the community's units in the register, and how many there are in all.

    Removed units (``active`` false) are history, not register; the order (building, floor,
    number) is stable so that pages neither repeat nor skip a unit.
    """
    where = [Unit.community_id == community.id, Unit.active.is_(True)]
    if building is not None:
        where.append(Building.name == building)
    total = session.scalar(
        select(func.count(Unit.id)).join(Building, Building.id == Unit.building_id).where(*where)
    ) or 0
    offset = (page - 1) * per_page
    if offset >= total:
        return [], total
    units = session.scalars(
        select(Unit)
        .join(Building, Building.id == Unit.building_id)
        .where(*where)
        .options(
            joinedload(Unit.building),
            selectinload(Unit.ownerships).joinedload(Ownership.person),
        )
        .order_by(Building.name, Unit.floor, Unit.number, Unit.id)
        .offset(offset)
        .limit(per_page)
    ).all()
    return list(units), total


def owned_unit_ids(session: Session, user: User, community: Community) -> set[int]:
    """Ids of the units ``user`` currently owns in ``community`` (others they only live in)."""
    return set(
        session.scalars(
            select(Ownership.unit_id)
            .join(Person, Person.id == Ownership.person_id)
            .where(
                Person.user_id == user.id,
                Person.community_id == community.id,
                Ownership.ended_at.is_(None),
            )
        )
    )
