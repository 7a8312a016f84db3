"""Where onboarding stands: per building, which owners are activated, hold a valid code, or
have nothing yet, for the letters page."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..models import Community
from .services import live_code_pairs, owner_rows, proof_for, unit_label


class OwnerState(enum.StrEnum):
    ACTIVATED = "activated"
    #: Holds an unused, unrevoked, unexpired code.
    LIVE = "live"
    NOTHING = "nothing"
    #: Neither ID number nor phone in the register: no letter can be issued.
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class OwnerStatus:
    person_id: int
    name: str
    state: OwnerState
    code_expires_at: dt.datetime | None = None


@dataclass
class UnitStatus:
    unit_id: int
    label: str
    owners: list[OwnerStatus] = field(default_factory=list)

    @property
    def can_reissue(self) -> bool:
        return any(o.state in (OwnerState.LIVE, OwnerState.NOTHING) for o in self.owners)


@dataclass
class BuildingStatus:
    building_id: int
    name: str
    units: list[UnitStatus] = field(default_factory=list)
    #: Owners by headcount in this building (an owner of two flats here counts once).
    counts: dict[OwnerState, int] = field(default_factory=dict)


# An owner of several flats in one building is counted once, in the best state reached there.
_RANK = {OwnerState.ACTIVATED: 0, OwnerState.LIVE: 1, OwnerState.NOTHING: 2,
         OwnerState.UNVERIFIABLE: 3}


def onboarding_status(
    session: Session, community: Community, now: dt.datetime
) -> list[BuildingStatus]:
    """Every building with owners, its units and each owner's state, and counts by state."""
    live = live_code_pairs(session, community, now)
    buildings: dict[int, BuildingStatus] = {}
    best: dict[int, dict[int, OwnerState]] = {}
    for unit, person in owner_rows(session, community):
        if person.user_id is not None:
            state = OwnerState.ACTIVATED
        elif (unit.id, person.id) in live:
            state = OwnerState.LIVE
        elif proof_for(person) is None:
            state = OwnerState.UNVERIFIABLE
        else:
            state = OwnerState.NOTHING
        building = buildings.setdefault(
            unit.building_id, BuildingStatus(unit.building_id, unit.building.name)
        )
        if not building.units or building.units[-1].unit_id != unit.id:
            building.units.append(UnitStatus(unit.id, unit_label(unit)))
        building.units[-1].owners.append(
            OwnerStatus(person.id, person.name, state, live.get((unit.id, person.id)))
        )
        seen = best.setdefault(unit.building_id, {})
        if person.id not in seen or _RANK[state] < _RANK[seen[person.id]]:
            seen[person.id] = state
    for building_id, building in buildings.items():
        building.counts = dict.fromkeys(OwnerState, 0)
        for state in best[building_id].values():
            building.counts[state] += 1
    return list(buildings.values())
