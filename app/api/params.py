"""Query parameters of the API: parsed strictly, described once for the OpenAPI document.

Each parameter object both reads its value from ``request.args`` and describes itself, so the
bounds a client reads in the document are the bounds the server enforces. A bad value raises
``InvalidParameter`` (422, code ``invalid_parameter``, ``field`` = the parameter), never a 500.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..errors import DomainError

#: Longer integers than this are refused before conversion (no giant ints reach SQL).
_MAX_DIGITS = 9


class InvalidParameter(DomainError):
    """A query parameter is malformed or out of bounds; ``field`` names it."""

    status = 422
    code = "invalid_parameter"


def _query_parameter(name: str, description: str, schema: dict) -> dict:
    """An optional query parameter object of the OpenAPI document."""
    return {
        "name": name, "in": "query", "required": False, "description": description,
        "schema": schema,
    }


@dataclass(frozen=True)
class IntParam:
    """A whole number between ``minimum`` and ``maximum`` (ASCII digits only)."""

    name: str
    description: str
    default: int
    minimum: int = 1
    maximum: int = 10**_MAX_DIGITS - 1

    def parse(self, args: MultiDict) -> int:
        raw = args.get(self.name)
        if raw is None or raw == "":
            return self.default
        if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_DIGITS:
            raise InvalidParameter(
                _("%(name)s must be a whole number from %(min)d to %(max)d; got %(raw)r.",
                  name=self.name, min=self.minimum, max=self.maximum, raw=raw[:20]),
                field=self.name,
            )
        value = int(raw)
        if not self.minimum <= value <= self.maximum:
            raise InvalidParameter(
                _("%(name)s must be from %(min)d to %(max)d; got %(value)d.",
                  name=self.name, min=self.minimum, max=self.maximum, value=value),
                field=self.name,
            )
        return value

    def openapi(self) -> dict:
        return _query_parameter(
            self.name, self.description,
            {"type": "integer", "minimum": self.minimum, "maximum": self.maximum,
             "default": self.default},
        )


@dataclass(frozen=True)
class TextParam:
    """A short free text: printable characters only, at most ``max_length`` of them."""

    name: str
    description: str
    max_length: int = 80

    def parse(self, args: MultiDict) -> str | None:
        raw = args.get(self.name)
        if raw is None or raw.strip() == "":
            return None
        if len(raw) > self.max_length:
            raise InvalidParameter(
                _("%(name)s is at most %(n)d characters long.", name=self.name,
                  n=self.max_length),
                field=self.name,
            )
        # Control characters (NUL above all) are refused: PostgreSQL rejects them in text.
        if any(unicodedata.category(ch).startswith("C") for ch in raw):
            raise InvalidParameter(
                _("%(name)s contains control characters.", name=self.name), field=self.name
            )
        return raw.strip()

    def openapi(self) -> dict:
        return _query_parameter(
            self.name, self.description, {"type": "string", "maxLength": self.max_length}
        )


PAGE = IntParam("page", "Page number, from 1. A page past the last one is empty.", default=1)
PER_PAGE = IntParam("per_page", "Items per page.", default=50, maximum=200)
BUILDING = TextParam("building", "Only the units of the building with this exact name.")
