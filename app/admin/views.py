"""Administration: communities (site admin) and role grants (chair or site admin)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import db
from ..auth.services import find_user
from ..errors import DomainError
from ..models import Community, Role, RoleGrant, utcnow
from ..policy import Permission, requires
from ..templating import ROLE_LABELS
from . import services
from .forms import CommunityForm, GrantForm

bp = Blueprint("admin", __name__)


@bp.route("/admin/communities", methods=["GET", "POST"])
@requires(Permission.SITE_MANAGE)
def communities():
    s = db.session()
    form = CommunityForm()
    if form.validate_on_submit():
        try:
            community = services.create_community(
                s, actor=current_user, now=utcnow(), name=form.name.data,
                address=form.address.data or "", district=form.district.data or "",
                office_name=form.office.data or "", ip=request.remote_addr or "",
            )
        except DomainError as err:
            getattr(form, err.field or "name").errors.append(err.message)
        else:
            flash(_("Community %(name)s created.", name=community.name), "success")
            return redirect(url_for("admin.roles", community_id=community.id))
    rows = s.scalars(select(Community).order_by(Community.name)).all()
    return render_template("admin/communities.html", form=form, communities=rows), (
        422 if form.errors else 200
    )


@bp.route("/c/<int:community_id>/roles", methods=["GET", "POST"])
@requires(Permission.ROLES_MANAGE)
def roles(community):
    g.community = community
    s = db.session()
    form = GrantForm(role_choices=[(r.value, ROLE_LABELS[r]) for r in services.GRANTABLE])
    if form.validate_on_submit():
        try:
            _grant_from_form(s, form, community)
        except DomainError as err:
            getattr(form, err.field or "login").errors.append(err.message)
        else:
            flash(_("Role granted."), "success")
            return redirect(url_for("admin.roles", community_id=community.id))
    return render_template(
        "admin/roles.html", community=community, form=form,
        grants=services.grants_of(s, community),
    ), (422 if form.errors else 200)


def _grant_from_form(s, form: GrantForm, community: Community) -> None:
    now, ip = utcnow(), request.remote_addr or ""
    if form.login.data:
        user = find_user(s, form.login.data)
        if user is None:
            raise DomainError(_("No account with this username or phone."), field="login")
    elif form.username.data:
        user = services.create_account(
            s, actor=current_user, now=now, username=form.username.data,
            password=form.password.data or "", display_name=form.display_name.data or "",
            phone=form.phone.data, ip=ip,
        )
    else:
        raise DomainError(_("Name an existing account or a new username."), field="login")
    services.grant_role(s, actor=current_user, now=now, user=user, role=Role(form.role.data),
                        community=community, ip=ip)


@bp.route("/c/<int:community_id>/roles/<int:grant_id>/revoke", methods=["POST"])
@requires(Permission.ROLES_MANAGE)
def revoke(community, grant_id: int):
    s = db.session()
    grant = s.get(RoleGrant, grant_id)
    if grant is None or grant not in services.grants_of(s, community):
        abort(404)
    services.revoke_grant(s, actor=current_user, now=utcnow(), grant=grant,
                          community=community, ip=request.remote_addr or "")
    flash(_("Role revoked."), "success")
    return redirect(url_for("admin.roles", community_id=community.id))
