"""Owners supporting a proposal online: the one flow behind extraordinary-meeting requests
(20 % of the owners) and recall proposals (more than 20 % of the area).

Only a current owner of the community supports, through their register entry; each person
once (a unique constraint, so two clicks at once cannot count twice); supporters are counted as
the register counts owners: co-owners of a unit, or one owner's several units, are one voter
whose area is all of their units'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elections import Electorate

from .errors import Conflict, Forbidden
from .models import Community, Ownership, Person, User
from .register.summary import electorate_units


@dataclass(frozen=True)
class Backing:
    """Supporters against the whole register, by headcount and by area."""

    supporters: int
    owners: int
    supporting_area: Decimal
    total_area: Decimal


def owner_person(session: Session, user: User, community: Community,
                 refusal: Callable[[], str]) -> Person:
    """The register entry through which ``user`` owns a unit in ``community``; ``refusal()``
    is the message a non-owner gets (403)."""
    person = session.scalar(
        select(Person).join(Ownership, Ownership.person_id == Person.id)
        .where(Person.user_id == user.id, Person.community_id == community.id,
               Ownership.ended_at.is_(None)).order_by(Person.id).limit(1))
    if person is None:
        raise Forbidden(refusal())
    return person


def backing(session: Session, community: Community, person_ids: Iterable[int]) -> Backing:
    """How many voters (and how much of the area) the supporting persons stand for."""
    units = electorate_units(session, community)
    if not units:
        return Backing(0, 0, Decimal(0), Decimal(0))
    supporting = {str(p) for p in person_ids}
    electorate = Electorate(tuple(units))
    owners_of_unit = {u.unit_id: set(u.owners) for u in units}
    backers = [voter for voter in electorate.voters
               if any(owners_of_unit[unit] & supporting for unit in voter.unit_ids)]
    return Backing(len(backers), electorate.headcount,
                   sum((v.area for v in backers), Decimal(0)), electorate.total_area)


def store_support(session: Session, row: object, already: Callable[[], str]) -> None:
    """Add one support row; the same person twice (even at once) is a ``Conflict`` saying
    ``already()``."""
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(already()) from exc
