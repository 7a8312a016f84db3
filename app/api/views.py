"""JSON API under /api/v1, authenticated by personal access tokens."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..auth.services import bearer_user
from ..extensions import csrf
from ..policy import Permission, actor, requires

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _authenticate():
    g.api_user = bearer_user(request)


@bp.route("/me")
@requires(Permission.ACCOUNT)
def me():
    user = actor()
    return jsonify({"id": user.id, "username": user.username})


@bp.route("/openapi.json")
@requires(Permission.PUBLIC)
def openapi():
    return jsonify({"openapi": "3.1.0", "info": {"title": "Courtyard API", "version": "1"},
                    "paths": {}})
