"""The audit log page: entries of one community, and the state of the whole chain."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from sqlalchemy import func, select

from .. import db
from ..models import AuditEntry
from ..policy import Permission, requires
from .labels import ACTION_LABELS, CHAIN_PROBLEMS
from .services import verify_chain

bp = Blueprint("audit", __name__)
PAGE = 50


@bp.route("/c/<int:community_id>/audit")
@requires(Permission.AUDIT_READ)
def log(community):
    g.community = community
    s = db.session()
    page = max(request.args.get("page", 1, type=int), 1)
    where = AuditEntry.community_id == community.id
    total = s.scalar(select(func.count(AuditEntry.id)).where(where))
    entries = s.scalars(
        select(AuditEntry).where(where).order_by(AuditEntry.seq.desc())
        .limit(PAGE).offset((page - 1) * PAGE)
    ).all()
    return render_template(
        "audit/log.html", community=community, entries=entries, page=page,
        pages=max((total + PAGE - 1) // PAGE, 1), chain=verify_chain(s),
        action_labels=ACTION_LABELS, chain_problems=CHAIN_PROBLEMS,
    )
