"""Figures of a community's register, for the overview and the dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from elections.electorate import Electorate
from elections.electorate import Unit as ElectorateUnit

from ..models import Building, Community, Ownership, Person, Unit, User


@dataclass(frozen=True)
class RegisterSummary:
    buildings: int
    units: int
    total_area: Decimal
    #: Owners by headcount (elections.electorate's rule: an owner of several units, the
    #: co-owners of a unit and the developer's unsold units each count once).
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
    owners = register_headcount(session, community)
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


def electorate_unit(uid, area, owners, developer: bool) -> ElectorateUnit:
    """The ``elections`` unit of register unit ``uid`` owned by ``owners`` (person ids).

    A unit with no owner recorded still counts as one (its own placeholder owner).
    """
    return ElectorateUnit(unit_id=str(uid), area=area,
                          owners=tuple(owners) or (f"u{uid}",),
                          developer_unsold=developer)


def headcount(units) -> int:
    """Owners by headcount (总人数) of ``(unit id, area, owner ids, developer's)`` tuples.

    The rule lives in ``elections.electorate`` (SPC interpretation arts. 8–9): co-owners count
    once, an owner of several units once, the developer's unsold units once together. A unit
    with no owner recorded still counts as one.
    """
    members = [electorate_unit(*unit) for unit in units]
    return Electorate(tuple(members)).headcount if members else 0


def electorate_units(session: Session, community: Community) -> list[ElectorateUnit]:
    """The active register as ``elections`` units, in unit id order, in one query.

    Owners are the person ids of current ownerships; a unit counts as the developer's when
    one of its owners is the developer.
    """
    units: dict[int, tuple] = {}
    for unit_id, area, person_id, developer in session.execute(
        select(Unit.id, Unit.area, Ownership.person_id, Person.is_developer)
        .outerjoin(Ownership, and_(Ownership.unit_id == Unit.id, Ownership.ended_at.is_(None)))
        .outerjoin(Person, Person.id == Ownership.person_id)
        .where(Unit.community_id == community.id, Unit.active.is_(True))
        .order_by(Unit.id, Ownership.person_id)
    ):
        _uid, _area, owners, dev = units.setdefault(unit_id, (unit_id, area, [], False))
        if person_id is not None:
            owners.append(str(person_id))
            units[unit_id] = (unit_id, area, owners, dev or bool(developer))
    return [electorate_unit(*unit) for unit in units.values()]


def register_headcount(session: Session, community: Community) -> int:
    """The headcount of the active register (see :func:`headcount`)."""
    members = electorate_units(session, community)
    return Electorate(tuple(members)).headcount if members else 0
