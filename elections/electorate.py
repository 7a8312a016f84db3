"""The electorate: the register of exclusive parts (专有部分) and who counts as one person.

A unit's vote weight is its exact area (a ``Decimal`` in m²). Headcount follows the SPC
interpretation on building ownership, arts. 8–9: one person per unit, but

* co-owners of a unit count as one person;
* one owner holding several units counts once (the areas still add up);
* the developer's unsold (or sold but undelivered) units count as one person together.

Units that share any owner are joined into one *voter* (a union–find over owners), so a chain
"A owns 1 with B, B owns 2" is one person too: the conservative reading, which never counts
someone twice. Each voter casts one ballot that carries the area of all their units.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .canonical import decimal_text
from .errors import ElectorateError, UnknownVoterError

#: Registered areas are given to at most this many decimal places (m², usually 2).
MAX_PLACES = 4
#: No exclusive part reaches a million square metres.
MAX_AREA = Decimal(1_000_000)


_PLAIN_AREA = re.compile(rf"[0-9]{{1,6}}(?:\.[0-9]{{1,{MAX_PLACES}}})?")


def parse_area(value: Decimal | str | int) -> Decimal:
    """An exclusive area as an exact, positive, finite Decimal (floats are refused)."""
    if type(value) is str and _PLAIN_AREA.fullmatch(value):  # the common case, fast
        area = Decimal(value)
        if area > 0:
            return area
    if isinstance(value, float):
        raise ElectorateError("areas must be given exactly (Decimal or text), not as float")
    try:
        area = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ElectorateError(f"not an area: {value!r}") from exc
    if not area.is_finite() or area <= 0:
        raise ElectorateError(f"an area must be positive and finite: {value!r}")
    # Bounded size and places keep every sum of areas exact in Decimal's 28 digits.
    if area.as_tuple().exponent < -MAX_PLACES or area >= MAX_AREA:  # type: ignore[operator]
        raise ElectorateError(
            f"an area has at most {MAX_PLACES} decimal places and is under {MAX_AREA} m²: {value!r}"
        )
    return area


@dataclass(frozen=True)
class Unit:
    """One exclusive part of the register.

    ``area`` is the registered area (else the surveyed area, else the sales contract's).
    ``owners`` are the register's person ids (co-owners listed together); an unsold unit of the
    developer may list the developer or nobody.
    """

    unit_id: str
    area: Decimal
    owners: tuple[str, ...] = ()
    building: str = ""
    #: Unsold, or sold but not yet delivered: counts with the developer's other such units.
    developer_unsold: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "area", parse_area(self.area))
        object.__setattr__(self, "owners", tuple(self.owners))
        if not self.unit_id:
            raise ElectorateError("a unit needs an id")
        if not self.owners and not self.developer_unsold:
            raise ElectorateError(f"unit {self.unit_id} has no owner")


@dataclass(frozen=True)
class Voter:
    """One person for headcount, with the units and total area they vote for."""

    voter_id: str
    unit_ids: tuple[str, ...]
    area: Decimal


class _UnionFind:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass(frozen=True)
class Electorate:
    """The frozen register of a vote: units, and the voters (persons) they make up."""

    units: tuple[Unit, ...]
    voters: tuple[Voter, ...] = field(init=False)
    total_area: Decimal = field(init=False)
    _voter_by_id: Mapping[str, Voter] = field(init=False, repr=False, compare=False)
    _voter_by_unit: Mapping[str, Voter] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        units = tuple(self.units)
        object.__setattr__(self, "units", units)
        if not units:
            raise ElectorateError("an electorate needs at least one unit")
        ids = [u.unit_id for u in units]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ElectorateError(f"unit listed twice: {', '.join(dupes)}")
        groups = _UnionFind(ids)
        first_owner_unit: dict[str, str] = {}
        developer_units = [u.unit_id for u in units if u.developer_unsold]
        for unit_id in developer_units[1:]:
            groups.union(developer_units[0], unit_id)
        for unit in units:
            for owner in unit.owners:
                seen = first_owner_unit.setdefault(owner, unit.unit_id)
                if seen != unit.unit_id:
                    groups.union(seen, unit.unit_id)
        members: dict[str, list[Unit]] = {}
        for unit in units:
            members.setdefault(groups.find(unit.unit_id), []).append(unit)
        voters = []
        for group in members.values():
            unit_ids = tuple(sorted(u.unit_id for u in group))
            voters.append(Voter(unit_ids[0], unit_ids, sum((u.area for u in group), Decimal(0))))
        voters.sort(key=lambda v: v.voter_id)
        object.__setattr__(self, "voters", tuple(voters))
        object.__setattr__(self, "total_area", sum((u.area for u in units), Decimal(0)))
        object.__setattr__(self, "_voter_by_id", {v.voter_id: v for v in voters})
        object.__setattr__(self, "_voter_by_unit", {uid: v for v in voters for uid in v.unit_ids})

    @property
    def headcount(self) -> int:
        """Number of persons (总人数) after de-duplication."""
        return len(self.voters)

    @property
    def voters_by_id(self) -> Mapping[str, Voter]:
        """Voter id → voter, for counts that look up every ballot's voter."""
        return self._voter_by_id

    def voter(self, voter_id: str) -> Voter:
        """The voter with this id, or :class:`UnknownVoterError`."""
        try:
            return self._voter_by_id[voter_id]
        except KeyError:
            raise UnknownVoterError(f"voter {voter_id} is not in the electorate") from None

    def voter_of_unit(self, unit_id: str) -> Voter:
        """The voter (person) a unit belongs to."""
        try:
            return self._voter_by_unit[unit_id]
        except KeyError:
            raise UnknownVoterError(f"unit {unit_id} is not in the electorate") from None

    def __contains__(self, voter_id: object) -> bool:
        return voter_id in self._voter_by_id

    # -- interchange -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Plain data for the audit bundle (areas as exact decimal text)."""
        return {
            "units": [
                {
                    "unit": u.unit_id,
                    "area": decimal_text(u.area),
                    "owners": list(u.owners),
                    "building": u.building,
                    "developer_unsold": u.developer_unsold,
                }
                for u in self.units
            ]
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Electorate:
        """Inverse of :meth:`to_json`."""
        try:
            return cls(
                tuple(
                    Unit(
                        unit_id=str(u["unit"]),
                        area=str(u["area"]),  # type: ignore[arg-type]  # parsed by Unit
                        owners=tuple(str(o) for o in u.get("owners", ())),
                        building=str(u.get("building", "")),
                        developer_unsold=bool(u.get("developer_unsold", False)),
                    )
                    for u in data["units"]
                )
            )
        except (KeyError, TypeError) as exc:
            raise ElectorateError(f"electorate data is malformed: {exc}") from exc

    def pseudonymise(self, key: bytes) -> tuple[Electorate, dict[str, str]]:
        """The same register with unit and owner ids replaced by keyed pseudonyms.

        Returns the pseudonymised electorate and the map real unit id → pseudonym, which the
        site keeps (never published). Areas stay exact: art. 278 needs them to recount.
        Buildings are dropped.
        """
        if len(key) < 16:
            raise ElectorateError("the pseudonym key must be at least 16 bytes")

        def tag(prefix: str, value: str) -> str:
            digest = hmac.new(key, f"{prefix}:{value}".encode(), hashlib.sha256).hexdigest()
            return f"{prefix}-{digest[:12]}"

        unit_map = {u.unit_id: tag("U", u.unit_id) for u in self.units}
        if len(set(unit_map.values())) != len(unit_map):  # pragma: no cover - 48-bit collision
            raise ElectorateError("pseudonym collision; choose another key")
        units = tuple(
            Unit(
                unit_id=unit_map[u.unit_id],
                area=u.area,
                owners=tuple(sorted(tag("O", o) for o in u.owners)),
                developer_unsold=u.developer_unsold,
            )
            for u in sorted(self.units, key=lambda u: unit_map[u.unit_id])
        )
        return Electorate(units), unit_map
