"""The OpenAPI registry: each API view declares its operation next to itself.

A view says what it does with ``@operation(...)`` placed *above* ``@requires(...)``::

    @bp.get("/communities/<int:community_id>/units")
    @operation("List the units of the register", response=page_of("Unit"),
               params=(PAGE, PER_PAGE, BUILDING), tags=("register",))
    @requires(Permission.REGISTER_READ)
    def units(community): ...

The permission is read from ``@requires`` (never written twice), the path, the method and the
path parameters from the URL map, and ``build_document(app)`` assembles the OpenAPI 3.1 document
served at ``/api/v1/openapi.json``. Schemas shared by several operations are registered once
with ``schema(name, definition)`` and referred to by ``ref(name)``. Later modules add their
endpoints the same way, in this blueprint or in their own under ``/api/v1``; the test suite fails
for any ``/api/v1`` route without an operation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask
from werkzeug.routing import Rule

from ..policy import Permission

PREFIX = "/api/v1"
API_VERSION = "1.0.0"
#: Methods Flask answers by itself; they are not operations of ours.
_IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})
#: ``<converter(args):name>`` in a Werkzeug rule.
_RULE_ARG = re.compile(r"<(?:(?P<conv>[A-Za-z_]\w*)(?:\([^)]*\))?:)?(?P<name>[A-Za-z_]\w*)>")
_CONVERTER_SCHEMAS: dict[str, dict] = {
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
}
#: Descriptions of path parameters that many operations share.
PATH_PARAMETERS: dict[str, str] = {
    "community_id": "Id of the community (小区), as listed by GET /api/v1/communities.",
}
#: Permissions that a signed-in token holder always has: no 403 is possible.
_NEVER_FORBIDDEN = frozenset({Permission.PUBLIC, Permission.ACCOUNT})


class Parameter(Protocol):
    """A query parameter that can describe itself (see ``app.api.params``)."""

    name: str

    def openapi(self) -> dict: ...


@dataclass(frozen=True)
class Operation:
    """What one API view does, as the OpenAPI document will say it."""

    summary: str
    #: JSON Schema of the success body (usually ``ref(...)`` or ``page_of(...)``).
    response: dict
    permission: Permission
    description: str = ""
    params: tuple[Parameter, ...] = ()
    tags: tuple[str, ...] = ()
    #: JSON Schema of the request body, for the endpoints that take one.
    request_body: dict | None = None
    status: int = 200
    path_params: dict[str, str] = field(default_factory=dict)


# Registry of shared schemas ---------------------------------------------------------------

_SCHEMAS: dict[str, dict] = {}


def schema(name: str, definition: dict) -> dict:
    """Register a shared schema under ``name``; returns a ``$ref`` to it."""
    if name in _SCHEMAS and _SCHEMAS[name] != definition:
        raise ValueError(f"schema {name!r} is registered twice with different definitions")
    _SCHEMAS[name] = definition
    return ref(name)


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(name: str) -> dict:
    """A ``{items, page, per_page, total, pages}`` page of ``name`` items (registered once)."""
    return schema(
        f"{name}Page",
        {
            "type": "object",
            "required": ["items", "page", "per_page", "total", "pages"],
            "properties": {
                "items": {"type": "array", "items": ref(name)},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1},
                "total": {"type": "integer", "minimum": 0, "description": "Items in all pages."},
                "pages": {"type": "integer", "minimum": 0},
            },
        },
    )


def list_of(name: str) -> dict:
    return {"type": "array", "items": ref(name)}


schema(
    "Error",
    {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Stable, machine-readable: unauthorized, forbidden, "
                        "not_found, method_not_allowed, invalid_parameter, too_many_requests…",
                    },
                    "message": {"type": "string", "description": "For people; may be localised."},
                    "field": {
                        "type": "string",
                        "description": "The parameter or field at fault, when there is one.",
                    },
                },
            }
        },
    },
)

_ERROR_RESPONSES = {
    "Unauthorized": "No token, or an unknown or revoked one (sent with WWW-Authenticate: Bearer).",
    "Forbidden": "The token's user lacks the permission in this community.",
    "NotFound": "No such object.",
    "InvalidParameter": "A query parameter is malformed or out of bounds; `field` names it.",
    "TooManyRequests": "Rate limit reached; retry after the Retry-After header's seconds.",
}


# Declaring operations ---------------------------------------------------------------------

OPERATIONS_ATTR = "openapi_operations"


def operation(
    summary: str,
    *,
    response: dict,
    description: str = "",
    params: Iterable[Parameter] = (),
    tags: Iterable[str] = (),
    request_body: dict | None = None,
    status: int = 200,
    path_params: dict[str, str] | None = None,
    methods: Iterable[str] | None = None,
) -> Callable:
    """Declare the OpenAPI operation of the view below (which must carry ``@requires``).

    ``methods`` restricts the declaration to some HTTP methods of the route, for a view that
    answers several methods differently; by default it covers all of them.
    """

    def decorate(view: Callable) -> Callable:
        permission = getattr(view, "permission", None)
        if permission is None:
            raise TypeError(f"{view.__name__}: put @operation above @requires(...)")
        op = Operation(
            summary=summary, response=response, permission=permission,
            description=description, params=tuple(params), tags=tuple(tags),
            request_body=request_body, status=status, path_params=dict(path_params or {}),
        )
        declared = dict(getattr(view, OPERATIONS_ATTR, {}))
        for method in methods or ("*",):
            declared[method.upper()] = op
        setattr(view, OPERATIONS_ATTR, declared)
        return view

    return decorate


def operation_for(app: Flask, rule: Rule, method: str) -> Operation | None:
    """The operation declared for ``method`` on ``rule``, if any."""
    declared = getattr(app.view_functions.get(rule.endpoint), OPERATIONS_ATTR, {})
    return declared.get(method) or declared.get("*")


# Building the document --------------------------------------------------------------------


def api_routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every ``(rule, method)`` the app serves under ``/api/v1``."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule == PREFIX or rule.rule.startswith(PREFIX + "/"):
            for method in sorted((rule.methods or set()) - _IMPLICIT_METHODS):
                yield rule, method


def openapi_path(rule: Rule) -> str:
    """``/api/v1/communities/<int:community_id>`` → ``/api/v1/communities/{community_id}``."""
    return _RULE_ARG.sub(lambda m: "{" + m["name"] + "}", rule.rule)


def undocumented(app: Flask) -> list[str]:
    """``"GET /api/v1/…"`` for each API route that declares no operation."""
    return [
        f"{method} {rule.rule}"
        for rule, method in api_routes(app)
        if operation_for(app, rule, method) is None
    ]


def build_document(app: Flask) -> dict:
    """The OpenAPI 3.1 document of every documented route under ``/api/v1``."""
    paths: dict[str, dict] = {}
    for rule, method in api_routes(app):
        op = operation_for(app, rule, method)
        if op is None:
            continue  # the test suite names it; the document stays valid meanwhile
        operation_id = rule.endpoint if len(_methods(rule)) == 1 else f"{rule.endpoint}.{method}"
        paths.setdefault(openapi_path(rule), {})[method.lower()] = _operation_object(
            rule, op, operation_id.replace(".", "_")
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Courtyard API",
            "version": API_VERSION,
            "description": "Read the site with your own rights, with a personal access token "
            "made on your profile page. Every error is JSON: "
            '{"error": {"code": "…", "message": "…"}}.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(_SCHEMAS.items())),
            "responses": {
                name: {
                    "description": text,
                    "content": {"application/json": {"schema": ref("Error")}},
                }
                for name, text in _ERROR_RESPONSES.items()
            },
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (ct_…) from your profile page. "
                    "The session cookie is never accepted on the API.",
                }
            },
        },
    }


def _methods(rule: Rule) -> set[str]:
    return set(rule.methods or ()) - _IMPLICIT_METHODS


def _operation_object(rule: Rule, op: Operation, operation_id: str) -> dict[str, Any]:
    parameters = [_path_parameter(m, op) for m in _RULE_ARG.finditer(rule.rule)]
    parameters += [p.openapi() for p in op.params]
    public = op.permission is Permission.PUBLIC
    responses: dict[str, dict] = {
        str(op.status): {
            "description": op.summary,
            "content": {"application/json": {"schema": op.response}},
        }
    }
    error_refs = {
        "401": None if public else "Unauthorized",
        "403": None if op.permission in _NEVER_FORBIDDEN else "Forbidden",
        "404": "NotFound" if rule.arguments else None,
        "422": "InvalidParameter" if op.params or op.request_body else None,
        "429": "TooManyRequests",
    }
    for status, name in error_refs.items():
        if name:
            responses[status] = {"$ref": f"#/components/responses/{name}"}
    obj: dict[str, Any] = {
        "operationId": operation_id,
        "summary": op.summary,
        "tags": list(op.tags),
        "security": [] if public else [{"bearerAuth": []}],
        "x-permission": str(op.permission),
        "responses": responses,
    }
    if op.description:
        obj["description"] = op.description
    if parameters:
        obj["parameters"] = parameters
    if op.request_body is not None:
        obj["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.request_body}},
        }
    return obj


def _path_parameter(match: re.Match, op: Operation) -> dict:
    name = match["name"]
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": op.path_params.get(name) or PATH_PARAMETERS.get(name, name),
        "schema": dict(_CONVERTER_SCHEMAS.get(match["conv"] or "", {"type": "string"})),
    }
