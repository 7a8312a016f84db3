"""The reader's notices."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from .. import db
from ..models import utcnow
from ..policy import Permission, requires
from . import services

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@requires(Permission.ACCOUNT)
def index():
    items = services.notifications_of(db.session(), current_user)
    return render_template("notifications/list.html", items=items, shown=services.shown)


@bp.route("/notifications/read", methods=["POST"])
@requires(Permission.ACCOUNT)
def mark_read():
    services.mark_all_read(db.session(), user=current_user, now=utcnow())
    return redirect(url_for("notifications.index"))
