"""The start page, each user's dashboard and a community's overview."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for
from flask_login import current_user

from .. import db
from ..policy import Permission, communities_of, requires, roles_in
from ..register.summary import register_summary, units_of_user

bp = Blueprint("main", __name__)


@bp.route("/")
@requires(Permission.PUBLIC)
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("main/index.html")


@bp.route("/dashboard")
@requires(Permission.ACCOUNT)
def dashboard():
    memberships = communities_of(current_user)
    if len(memberships) == 1 and not current_user.is_site_admin:
        return redirect(url_for("main.community", community_id=memberships[0][0].id))
    return render_template("main/dashboard.html", memberships=memberships)


@bp.route("/c/<int:community_id>/")
@requires(Permission.COMMUNITY_VIEW)
def community(community):
    g.community = community
    roles = roles_in(current_user, community)
    s = db.session()
    return render_template(
        "main/community.html",
        community=community,
        roles=roles,
        summary=register_summary(s, community),
        my_units=units_of_user(s, current_user, community),
    )
