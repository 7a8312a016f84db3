"""The owners' register: units, import, export, activation letters."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from ..policy import Permission, requires

bp = Blueprint("register", __name__)


@bp.route("/c/<int:community_id>/register")
@requires(Permission.REGISTER_READ)
def units(community):
    g.community = community
    return render_template("register/units.html", community=community)


@bp.route("/c/<int:community_id>/letters")
@requires(Permission.ACTIVATION_ISSUE)
def letters(community):
    g.community = community
    return render_template("register/units.html", community=community)
