"""JSON API under /api/v1, authenticated by personal access tokens only.

The session cookie is never accepted here (``policy.actor()`` answers with the token's user on
/api/ paths), so no other site can drive the API through a signed-in browser and CSRF does not
apply. Every view declares its permission with ``@requires`` and its OpenAPI operation with
``@operation`` (see ``app.api.spec``); errors are JSON (see ``app.errors``).
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask_limiter.util import get_remote_address

from .. import db
from ..auth.services import bearer_user
from ..extensions import csrf, limiter
from ..policy import Permission, actor, communities_of, requires, roles_in
from ..register.summary import register_summary, units_of_user
from . import queries
from .params import BUILDING, PAGE, PER_PAGE
from .schemas import community_json, me_json, my_unit_json, overview_json, page_json, unit_json
from .spec import build_document, list_of, operation, page_of, ref, schema

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

_DEFAULT_RATE_PER_CLIENT = "300 per minute"
_DEFAULT_PER_ADDRESS_RATE = "1200 per minute"


def _token_key() -> str:
    """Rate-limit key: the token sent (hashed), else the address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "api-token:" + hashlib.sha256(header.encode()).hexdigest()
    return "api-addr:" + get_remote_address()


limiter.limit(
    lambda: current_app.config.get("API_RATE_LIMIT", _DEFAULT_RATE_PER_CLIENT), key_func=_token_key
)(bp)
limiter.limit(
    lambda: current_app.config.get("API_ADDRESS_RATE_LIMIT", _DEFAULT_PER_ADDRESS_RATE),
    key_func=get_remote_address,
)(bp)


@bp.before_app_request
def _authenticate():
    """On every /api/ path, whichever blueprint serves it, the actor is the token's user.

    Without a valid token, a route that needs one answers 401 before anything is looked up,
    so nobody learns which communities exist by asking without a token.
    """
    if not request.path.startswith("/api/"):
        return
    g.api_user = bearer_user(request)
    view = current_app.view_functions.get(request.endpoint or "")
    needs_token = getattr(view, "permission", None) is not Permission.PUBLIC
    if g.api_user is None and view is not None and needs_token:
        abort(401)


# Account -----------------------------------------------------------------------------------


@bp.get("/me")
@operation("The token's user and their communities with roles", response=ref("Me"),
           tags=("account",))
@requires(Permission.ACCOUNT)
def me():
    user = actor()
    return jsonify(me_json(user, communities_of(user)))


# Communities -------------------------------------------------------------------------------

COMMUNITY_LIST = schema(
    "CommunityList",
    {"type": "object", "required": ["items"], "properties": {"items": list_of("Community")}},
)
MY_UNIT_LIST = schema(
    "MyUnitList",
    {"type": "object", "required": ["items"], "properties": {"items": list_of("MyUnit")}},
)


@bp.get("/communities")
@operation("The communities where the token's user holds a role", response=COMMUNITY_LIST,
           tags=("communities",))
@requires(Permission.ACCOUNT)
def communities():
    items = [community_json(c, roles) for c, roles in communities_of(actor())]
    return jsonify({"items": items})


@bp.get("/communities/<int:community_id>")
@operation("A community's overview and register figures", response=ref("CommunityOverview"),
           tags=("communities",))
@requires(Permission.COMMUNITY_VIEW)
def community(community):
    summary = register_summary(db.session(), community)
    return jsonify(overview_json(community, roles_in(actor(), community), summary))


@bp.get("/communities/<int:community_id>/units")
@operation(
    "The units of the owners' register, a page at a time",
    description="Ordered by building, floor and number. Areas are exact decimal strings.",
    response=page_of("Unit"),
    params=(PAGE, PER_PAGE, BUILDING),
    tags=("register",),
)
@requires(Permission.REGISTER_READ)
def units(community):
    page, per_page = PAGE.parse(request.args), PER_PAGE.parse(request.args)
    found, total = queries.units_page(
        db.session(), community, building=BUILDING.parse(request.args), page=page,
        per_page=per_page,
    )
    return jsonify(page_json([unit_json(u) for u in found], page, per_page, total))


@bp.get("/communities/<int:community_id>/my-units")
@operation("The units the token's user owns or lives in", response=MY_UNIT_LIST,
           tags=("register",))
@requires(Permission.OWN_UNITS_READ)
def my_units(community):
    s, user = db.session(), actor()
    owned = queries.owned_unit_ids(s, user, community)
    items = [my_unit_json(u, u.id in owned) for u in units_of_user(s, user, community)]
    return jsonify({"items": items})


# The document itself -----------------------------------------------------------------------


@bp.get("/openapi.json")
@operation("This OpenAPI 3.1 document", response={"type": "object"}, tags=("meta",))
@requires(Permission.PUBLIC)
def openapi():
    return jsonify(build_document(current_app))
