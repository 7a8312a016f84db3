"""The JSON shapes of the API: each serializer sits beside the schema that documents it.

Areas are exact decimals and travel as strings with two places ("88.50"), never as floats, so
a client summing vote weights gets the same figure as the site.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from ..models import Community, Role, Unit, UnitUse, User
from ..register.summary import RegisterSummary
from .spec import list_of, ref, schema

_CENTS = Decimal("0.01")


def decimal_string(value: Decimal) -> str:
    """``Decimal("88.5")`` → ``"88.50"``: fixed point, two places, never an exponent."""
    return format(value.quantize(_CENTS), "f")


AREA = {
    "type": "string",
    "pattern": r"^\d+\.\d{2}$",
    "description": "Square metres, an exact decimal with two places, as a string.",
    "examples": ["88.50"],
}
ROLES = {
    "type": "array",
    "items": {"type": "string", "enum": [r.value for r in Role]},
    "description": "Your roles in this community.",
}


def _roles(roles: Iterable[Role]) -> list[str]:
    return sorted(str(r) for r in roles)


# Communities -------------------------------------------------------------------------------

schema(
    "Community",
    {
        "type": "object",
        "required": ["id", "name", "district", "roles"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "district": {"type": "string"},
            "roles": ROLES,
        },
    },
)


def community_json(community: Community, roles: Iterable[Role]) -> dict:
    return {
        "id": community.id,
        "name": community.name,
        "district": community.district,
        "roles": _roles(roles),
    }


schema(
    "Me",
    {
        "type": "object",
        "required": ["id", "username", "display_name", "is_site_admin", "communities"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "is_site_admin": {"type": "boolean"},
            "communities": list_of("Community"),
        },
    },
)


def me_json(user: User, memberships: Sequence[tuple[Community, Iterable[Role]]]) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "is_site_admin": user.is_site_admin,
        "communities": [community_json(c, roles) for c, roles in memberships],
    }


schema(
    "RegisterSummary",
    {
        "type": "object",
        "required": ["buildings", "units", "total_area", "owners", "owners_with_account"],
        "properties": {
            "buildings": {"type": "integer"},
            "units": {"type": "integer", "description": "Units in the register (not removed)."},
            "total_area": AREA,
            "owners": {"type": "integer", "description": "Owners by headcount."},
            "owners_with_account": {"type": "integer"},
        },
    },
)
schema(
    "Building",
    {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    },
)
schema(
    "CommunityOverview",
    {
        "type": "object",
        "required": ["id", "name", "address", "district", "timezone", "office", "roles",
                     "buildings", "register"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "address": {"type": "string"},
            "district": {"type": "string"},
            "timezone": {"type": "string", "examples": ["Asia/Shanghai"]},
            "office": {
                "description": "The community office (社区居委会) that audits it.",
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["id", "name"],
                        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                    },
                    {"type": "null"},
                ],
            },
            "roles": ROLES,
            "buildings": list_of("Building"),
            "register": ref("RegisterSummary"),
        },
    },
)


def overview_json(
    community: Community, roles: Iterable[Role], summary: RegisterSummary
) -> dict:
    office = community.office
    return {
        "id": community.id,
        "name": community.name,
        "address": community.address,
        "district": community.district,
        "timezone": community.timezone,
        "office": {"id": office.id, "name": office.name} if office else None,
        "roles": _roles(roles),
        "buildings": [{"id": b.id, "name": b.name} for b in community.buildings],
        "register": {
            "buildings": summary.buildings,
            "units": summary.units,
            "total_area": decimal_string(summary.total_area),
            "owners": summary.owners,
            "owners_with_account": summary.owners_with_account,
        },
    }


# Units -----------------------------------------------------------------------------------

_UNIT_PROPERTIES = {
    "id": {"type": "integer"},
    "building": {"type": "string", "description": "Name of the building."},
    "number": {"type": "string"},
    "floor": {"type": "integer"},
    "area": AREA | {"description": "Exclusive area (专有部分面积), the unit's vote weight."},
    "use": {"type": "string", "enum": [u.value for u in UnitUse]},
}
schema(
    "Unit",
    {
        "type": "object",
        "required": [*_UNIT_PROPERTIES, "owners"],
        "properties": _UNIT_PROPERTIES
        | {
            "owners": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Names of the current owners (co-owners in register order).",
            }
        },
    },
)
schema(
    "MyUnit",
    {
        "type": "object",
        "required": [*_UNIT_PROPERTIES, "relation"],
        "properties": _UNIT_PROPERTIES
        | {
            "relation": {
                "type": "string",
                "enum": ["owner", "resident"],
                "description": "owner when you own it (业主), else resident (使用人).",
            }
        },
    },
)


def _unit_fields(unit: Unit) -> dict:
    return {
        "id": unit.id,
        "building": unit.building.name,
        "number": unit.number,
        "floor": unit.floor,
        "area": decimal_string(unit.area),
        "use": str(unit.use),
    }


def unit_json(unit: Unit) -> dict:
    ownerships = sorted(unit.ownerships, key=lambda o: o.id)
    return _unit_fields(unit) | {"owners": [o.person.name for o in ownerships]}


def my_unit_json(unit: Unit, owned: bool) -> dict:
    return _unit_fields(unit) | {"relation": "owner" if owned else "resident"}


def page_json(items: list[dict], page: int, per_page: int, total: int) -> dict:
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": -(-total // per_page),
    }
