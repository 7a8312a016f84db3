"""Pages of owners' requests for an extraordinary meeting: the list, one request, support."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import db
from ..errors import DomainError
from ..models import Community, MeetingRequest, utcnow
from ..policy import Permission, can, requires
from . import requests

bp = Blueprint("meeting_requests", __name__)
BASE = "/c/<int:community_id>/meeting-requests"


def _load(community: Community, request_id: int) -> MeetingRequest:
    found = db.session().get(MeetingRequest, request_id)
    if found is None or found.community_id != community.id:
        abort(404)
    return found


@bp.route(BASE, methods=["GET"])
@requires(Permission.MEETINGS_READ)
def index(community):
    s = db.session()
    rows = [(r, requests.standing(s, r)) for r in requests.requests_of(s, community)]
    return render_template("meetings/requests.html", community=community, rows=rows,
                           can_request=can(current_user, Permission.MEETING_REQUEST, community),
                           form={}, errors={})


@bp.route(BASE, methods=["POST"])
@requires(Permission.MEETING_REQUEST)
def new(community):
    s = db.session()
    try:
        found = requests.open_request(s, actor=current_user, now=utcnow(), community=community,
                                      title=request.form.get("title", ""),
                                      reason=request.form.get("reason", ""))
    except DomainError as err:
        if not err.field:
            raise
        rows = [(r, requests.standing(s, r)) for r in requests.requests_of(s, community)]
        return render_template("meetings/requests.html", community=community, rows=rows,
                               can_request=True, form=request.form,
                               errors={err.field: err.message}), 422
    flash(_("Your request is open; other owners can now support it."), "success")
    return redirect(url_for("meeting_requests.detail", community_id=community.id,
                            request_id=found.id))


@bp.route(f"{BASE}/<int:request_id>")
@requires(Permission.MEETINGS_READ)
def detail(community, request_id: int):
    s = db.session()
    found = _load(community, request_id)
    return render_template(
        "meetings/request.html", community=community, item=found,
        standing=requests.standing(s, found),
        can_support=can(current_user, Permission.MEETING_REQUEST, community),
        supported=requests.has_supported(s, found, current_user))


@bp.route(f"{BASE}/<int:request_id>/support", methods=["POST"])
@requires(Permission.MEETING_REQUEST)
def support(community, request_id: int):
    found = _load(community, request_id)
    now = requests.support(db.session(), actor=current_user, now=utcnow(), request=found)
    flash(_("Your support is counted: %(n)s of %(total)s owners.", n=now.supporters,
            total=now.owners), "success")
    return redirect(url_for("meeting_requests.detail", community_id=community.id,
                            request_id=found.id))
