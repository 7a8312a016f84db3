"""Figures of a community's register, for the overview and the dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Building, Community, Ownership, Person, Unit, User


@dataclass(frozen=True)
class RegisterSummary:
    buildings: int
    units: int
    total_area: Decimal
    #: Owners by headcount (an owner of several units counts once).
    owners: int
    owners_with_account: int


def register_summary(session: Session, community: Community) -> RegisterSummary:
    units = session.execute(
        select(func.count(Unit.id), func.coalesce(func.sum(Unit.area), 0)).where(
            Unit.community_id == community.id, Unit.active.is_(True)
        )
    ).one()
    owner_ids = (
        select(Ownership.person_id)
        .join(Unit, Unit.id == Ownership.unit_id)
        .where(Unit.community_id == community.id, Ownership.ended_at.is_(None), Unit.active)
        .distinct()
    )
    owners = session.scalar(select(func.count()).select_from(owner_ids.subquery()))
    with_account = session.scalar(
        select(func.count(Person.id)).where(
            Person.id.in_(owner_ids), Person.user_id.is_not(None)
        )
    )
    buildings = session.scalar(
        select(func.count(Building.id)).where(Building.community_id == community.id)
    )
    # SUM keeps the column's type, so the scaled integers come back as an exact Decimal.
    total = Decimal(units[1]).quantize(Decimal("0.01"))
    return RegisterSummary(buildings, units[0], total, owners or 0, with_account or 0)


def units_of_user(session: Session, user: User, community: Community) -> list[Unit]:
    """The units ``user`` owns or lives in, in ``community``."""
    from ..models import Residency

    person_ids = select(Person.id).where(
        Person.user_id == user.id, Person.community_id == community.id
    )
    owned = select(Ownership.unit_id).where(
        Ownership.person_id.in_(person_ids), Ownership.ended_at.is_(None)
    )
    lived = select(Residency.unit_id).where(
        Residency.person_id.in_(person_ids), Residency.ended_at.is_(None)
    )
    return list(
        session.scalars(
            select(Unit)
            .join(Building)
            .where(Unit.id.in_(owned.union(lived)))
            .order_by(Building.name, Unit.number)
        )
    )
