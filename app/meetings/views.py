"""Owners' meetings: the list, drafting, the agenda, the published notice (page and PDF)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from elections.rules import Matter

from .. import db
from ..errors import DomainError
from ..models import Community, Meeting, MeetingForm, MeetingKind, MeetingStatus, Motion, utcnow
from ..pdf import PDF_MIMETYPE, render_pdf
from ..policy import Permission, can, requires
from . import services
from .forms import MeetingForm as MeetingFormForm
from .forms import MotionForm

bp = Blueprint("meetings", __name__)


def _load(community: Community, meeting_id: int) -> Meeting:
    """The meeting of this community (404 otherwise; drafts exist only for those who manage)."""
    meeting = db.session().get(Meeting, meeting_id)
    if meeting is None or meeting.community_id != community.id:
        abort(404)
    if meeting.status is MeetingStatus.DRAFT and not can(
        current_user, Permission.MEETINGS_MANAGE, community
    ):
        abort(404)
    g.community = community
    return meeting


def _tz(community: Community) -> ZoneInfo:
    return ZoneInfo(community.timezone or "Asia/Shanghai")


def _aware(value: dt.datetime, community: Community) -> dt.datetime:
    """A form's local date and time, in the community's zone, as UTC."""
    return value.replace(tzinfo=_tz(community)).astimezone(dt.UTC)


def _fill(form: MeetingFormForm, meeting: Meeting) -> None:
    tz = _tz(meeting.community)
    form.title.data, form.kind.data, form.form.data = (
        meeting.title, meeting.kind.value, meeting.form.value)
    form.voting_opens_at.data = meeting.voting_opens_at.astimezone(tz).replace(tzinfo=None)
    form.voting_closes_at.data = meeting.voting_closes_at.astimezone(tz).replace(tzinfo=None)


def _form_args(form: MeetingFormForm, community: Community) -> dict:
    return {
        "title": form.title.data, "kind": MeetingKind(form.kind.data),
        "form": MeetingForm(form.form.data),
        "voting_opens_at": _aware(form.voting_opens_at.data, community),
        "voting_closes_at": _aware(form.voting_closes_at.data, community),
    }


@bp.route("/c/<int:community_id>/meetings")
@requires(Permission.MEETINGS_READ)
def index(community):
    g.community = community
    manage = can(current_user, Permission.MEETINGS_MANAGE, community)
    rows = services.meetings_of(db.session(), community, drafts=manage)
    return render_template("meetings/list.html", community=community, meetings=rows,
                           manage=manage, labels=services)


@bp.route("/c/<int:community_id>/meetings/new", methods=["GET", "POST"])
@requires(Permission.MEETINGS_MANAGE)
def new(community):
    g.community = community
    form = MeetingFormForm()
    if form.validate_on_submit():
        try:
            meeting = services.create_meeting(
                db.session(), actor=current_user, now=utcnow(), community=community,
                **_form_args(form, community))
        except DomainError as err:
            getattr(form, err.field or "title").errors.append(err.message)
        else:
            flash(_("Meeting drafted. Add its motions, then publish the notice."), "success")
            return redirect(url_for("meetings.detail", community_id=community.id,
                                    meeting_id=meeting.id))
    return render_template("meetings/form.html", community=community, form=form,
                           meeting=None), (422 if form.errors else 200)


@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>")
@requires(Permission.MEETINGS_READ)
def detail(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    now = utcnow()
    return render_template(
        "meetings/detail.html", community=community, meeting=meeting, now=now,
        blockers=services.blockers(meeting, now), labels=services,
        manage=can(current_user, Permission.MEETINGS_MANAGE, community),
        motion_form=MotionForm(formdata=None), Matter=Matter,
        remaining=(meeting.notice_ends_at - now) if meeting.notice_ends_at else None,
    )


@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@requires(Permission.MEETINGS_MANAGE)
def edit(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    services.require_draft(meeting)
    form = MeetingFormForm()
    if form.validate_on_submit():
        try:
            services.update_meeting(db.session(), actor=current_user, now=utcnow(),
                                    meeting=meeting, **_form_args(form, community))
        except DomainError as err:
            getattr(form, err.field or "title").errors.append(err.message)
        else:
            flash(_("Meeting saved."), "success")
            return redirect(url_for("meetings.detail", community_id=community.id,
                                    meeting_id=meeting.id))
    elif not form.is_submitted():
        _fill(form, meeting)
    return render_template("meetings/form.html", community=community, form=form,
                           meeting=meeting), (422 if form.errors else 200)


@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>/motions", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def motion_add(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    form = MotionForm()
    if not form.validate():
        raise DomainError(" ".join(e for errs in form.errors.values() for e in errs))
    services.add_motion(db.session(), actor=current_user, now=utcnow(), meeting=meeting,
                        title=form.title.data, body=form.body.data or "",
                        matter=Matter(form.matter.data))
    flash(_("Motion added."), "success")
    return redirect(url_for("meetings.detail", community_id=community.id,
                            meeting_id=meeting.id))


@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>/motions/<int:motion_id>/remove",
          methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def motion_remove(community, meeting_id: int, motion_id: int):
    meeting = _load(community, meeting_id)
    motion = db.session().get(Motion, motion_id)
    if motion is None or motion.meeting_id != meeting.id:
        abort(404)
    services.remove_motion(db.session(), actor=current_user, now=utcnow(), motion=motion)
    flash(_("Motion removed."), "success")
    return redirect(url_for("meetings.detail", community_id=community.id,
                            meeting_id=meeting.id))


@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>/publish", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def publish(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    services.publish(db.session(), actor=current_user, now=utcnow(), meeting=meeting)
    flash(_("Notice published. The notice period has started."), "success")
    return redirect(url_for("meetings.detail", community_id=community.id,
                            meeting_id=meeting.id))


@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>/amend", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def amend(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    services.amend(db.session(), actor=current_user, now=utcnow(), meeting=meeting)
    flash(_("The notice is open for amendment. Publish it again to restart the notice period."),
          "success")
    return redirect(url_for("meetings.detail", community_id=community.id,
                            meeting_id=meeting.id))


@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>/notice.pdf")
@requires(Permission.MEETINGS_READ)
def notice_pdf(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    if meeting.status is MeetingStatus.DRAFT:
        raise DomainError(_("A draft has no notice yet: publish it first."))
    tz = _tz(community)
    with force_locale("en"):  # the paper notice: Chinese first, English under it
        bars_en = {m.id: services.bar_text(m.matter) for m in meeting.motions}
    pdf = render_pdf(
        "pdf/meeting_notice.html", community=community, meeting=meeting, labels=services,
        bars_en=bars_en,
        local=lambda value: value.astimezone(tz).strftime("%Y年%m月%d日 %H:%M"),
        signed_on=meeting.published_at.astimezone(tz).strftime("%Y年%m月%d日"),
        doc_number=f"业主大会公告〔{meeting.published_at.astimezone(tz).year}〕"
                   f"第{meeting.id}号（第{meeting.revision}版）",
    )
    response = make_response(pdf)
    response.headers["Content-Type"] = PDF_MIMETYPE
    response.headers["Content-Disposition"] = (
        f'inline; filename="meeting-{meeting.id}-notice-r{meeting.revision}.pdf"')
    return response
