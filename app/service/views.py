"""The service desk's pages: a resident files and follows their requests; the desk works the
queue, dispatches, moves requests along, postpones once, records return visits; the board and
the monthly statistics. Views parse, check, call one service, render or redirect."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import db
from ..charts import Series
from ..errors import DomainError
from ..models import Community, RequestKind, RequestPhoto, Unit, Urgency, User, utcnow
from ..policy import Permission, can, requires
from . import clocks, labels, queries, services
from . import settings as desk_settings
from .export import stats_workbook
from .forms import (
    NO_UNIT,
    DispatchForm,
    MoveForm,
    NoteForm,
    PostponeForm,
    RatingForm,
    TeamForm,
)
from .forms import RequestForm as RequestFormForm
from .sla import Clock
from .sweep import sweep as sweep_desk
from .workflow import DESK, RESIDENT, RequestStatus, allowed_next

bp = Blueprint("service", __name__, cli_group="service")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _party(community: Community) -> str:
    return DESK if can(current_user, Permission.SERVICE_DESK, community) else RESIDENT


def _load(community: Community, request_id: int):
    """The request and who is asking about it: the desk sees all, a resident only their own
    (anybody else's is not shown to exist)."""
    g.community = community
    req = services.get_request(db.session(), community, request_id)
    party = _party(community)
    if party == RESIDENT and req.requester_id != current_user.id:
        abort(404)
    return req, party


def _back(req):
    return redirect(url_for("service.detail", community_id=req.community_id,
                            request_id=req.id))


def clock_text(clock: Clock, now: dt.datetime, paused: bool) -> str:
    """A target's state in words: met (in time or late), paused, time left or overdue."""
    if clock.met_at is not None:
        return _("met late") if clock.breached(clock.met_at) else _("met in time")
    if paused:
        return _("paused")
    left = clock.due_at - now
    if left.total_seconds() < 0:
        return _("overdue by %(t)s", t=format_timedelta(-left, threshold=1.1))
    return _("%(t)s left", t=format_timedelta(left, threshold=1.1))


def _page_globals(now):
    return {"labels": labels, "now": now, "clocks": clocks.clocks,
            "clock_text": clock_text, "RequestStatus": RequestStatus,
            "escalation_text": services.escalation_text}


def _forms(community, req, party, **given):
    s = db.session()
    forms = {
        "note": NoteForm(formdata=None), "rating": RatingForm(formdata=None),
        "dispatch": DispatchForm(formdata=None, teams=services.teams_of(s, community),
                                 staff=services.staff_of(s, community)),
        "move": MoveForm(formdata=None), "postpone": PostponeForm(formdata=None),
    }
    forms.update(given)
    nexts = [st for st in allowed_next(req.status, party)
             if st not in (RequestStatus.DISPATCHED, RequestStatus.CONFIRMED)]
    forms["move"].to.choices = [(st.value, labels.STATUS_LABELS[st]) for st in nexts]
    return forms


def _detail(community, req, party, status=200, **given):
    now = utcnow()
    events = [e for e in req.events if party == DESK or e.public]
    return render_template(
        "service/detail.html", community=community, req=req, party=party, events=events,
        forms=_forms(community, req, party, **given), **_page_globals(now),
    ), status


@bp.route("/c/<int:community_id>/service")
@requires(Permission.SERVICE_FILE)
def mine(community):
    g.community = community
    rows = queries.requests_of(db.session(), community, current_user)
    return render_template("service/mine.html", community=community, rows=rows,
                           desk=_party(community) == DESK, **_page_globals(utcnow()))


@bp.route("/c/<int:community_id>/service/new", methods=["GET", "POST"])
@requires(Permission.SERVICE_FILE)
def new(community):
    g.community = community
    s, party = db.session(), _party(community)
    units = (s.scalars(select(Unit).where(Unit.community_id == community.id, Unit.active)
                       .order_by(Unit.building_id, Unit.number)).all()
             if party == DESK else services.units_of(s, current_user, community))
    form = RequestFormForm(units=units)
    if form.validate_on_submit():
        photos = [services.Photo(f.filename or "photo", f.read())
                  for f in (form.photos.data or []) if getattr(f, "filename", "")]
        try:
            req = services.file_request(
                s, actor=current_user, now=utcnow(), community=community, party=party,
                kind=RequestKind(form.kind.data), urgency=Urgency(form.urgency.data),
                description=form.description.data or "",
                unit_id=None if form.unit.data == NO_UNIT else form.unit.data,
                place=form.place.data or "", preferred_time=form.preferred_time.data or "",
                photos=photos, caller_name=form.caller_name.data or "",
                caller_phone=form.caller_phone.data or "")
        except DomainError as err:
            getattr(form, err.field or "description").errors.append(err.message)
        else:
            flash(_("Request no. %(n)s filed. You can follow it here.", n=req.id), "success")
            return _back(req)
    return render_template("service/new.html", community=community, form=form,
                           desk=party == DESK), (422 if form.errors else 200)


@bp.route("/c/<int:community_id>/service/requests/<int:request_id>")
@requires(Permission.SERVICE_FILE)
def detail(community, request_id: int):
    req, party = _load(community, request_id)
    return _detail(community, req, party)


@bp.route("/c/<int:community_id>/service/requests/<int:request_id>/photos/<int:photo_id>")
@requires(Permission.SERVICE_FILE)
def photo(community, request_id: int, photo_id: int):
    req = _load(community, request_id)[0]
    found = db.session().get(RequestPhoto, photo_id)
    if found is None or found.request_id != req.id:
        abort(404)
    response = make_response(bytes(found.data))
    response.headers["Content-Type"] = found.content_type
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    return response


def _act(community, req, party, key: str, form, call, done: str, *, fallback: str | None = None):
    """Check ``form``, then ``call()`` the service. A refusal that names a field of the form is
    shown beside it (422, nothing written); one about the whole action goes to the error page,
    or beside the ``fallback`` field when the form has one that fits."""
    if not form.validate():
        return _detail(community, req, party, 422, **{key: form})
    try:
        call()
    except DomainError as err:
        field = getattr(form, err.field, None) if err.field else None
        if field is None and fallback is None:
            raise
        (field or getattr(form, fallback)).errors.append(err.message)
        return _detail(community, req, party, err.status, **{key: form})
    flash(done, "success")
    return _back(req)


@bp.route("/c/<int:community_id>/service/requests/<int:request_id>/notes", methods=["POST"])
@requires(Permission.SERVICE_FILE)
def note(community, request_id: int):
    req, party = _load(community, request_id)
    form = NoteForm()
    return _act(community, req, party, "note", form, lambda: services.add_note(
        db.session(), actor=current_user, now=utcnow(), community=community, req=req,
        text=form.text.data, party=party, public=form.public.data,
        ask_resident=form.ask_resident.data), _("Note added."))


@bp.route("/c/<int:community_id>/service/requests/<int:request_id>/rating", methods=["POST"])
@requires(Permission.SERVICE_FILE)
def rate(community, request_id: int):
    req, party = _load(community, request_id)
    form = RatingForm()
    return _act(community, req, party, "rating", form, lambda: services.rate(
        db.session(), actor=current_user, now=utcnow(), community=community, req=req,
        party=party, overall=int(form.overall.data), speed=int(form.speed.data),
        attitude=int(form.attitude.data), comment=form.comment.data or ""),
        _("Thank you for your rating."))


@bp.route("/c/<int:community_id>/service/requests/<int:request_id>/reopen", methods=["POST"])
@requires(Permission.SERVICE_FILE)
def reopen(community, request_id: int):
    req, party = _load(community, request_id)
    services.move(db.session(), actor=current_user, now=utcnow(), community=community,
                  req=req, to=RequestStatus.REOPENED, party=party,
                  note=request.form.get("note", "")[:500])
    flash(_("Request reopened."), "success")
    return _back(req)


@bp.route("/c/<int:community_id>/service/requests/<int:request_id>/dispatch",
          methods=["POST"])
@requires(Permission.SERVICE_DESK)
def dispatch(community, request_id: int):
    req, party = _load(community, request_id)
    s = db.session()
    form = DispatchForm(teams=services.teams_of(s, community),
                        staff=services.staff_of(s, community))
    return _act(community, req, party, "dispatch", form, lambda: services.dispatch(
        s, actor=current_user, now=utcnow(), community=community, req=req,
        team=services.team_in(s, community, form.team.data),
        assignee=s.get(User, form.assignee.data) if form.assignee.data else None,
        note=form.note.data or ""), _("Work order sent."))


@bp.route("/c/<int:community_id>/service/requests/<int:request_id>/status", methods=["POST"])
@requires(Permission.SERVICE_DESK)
def move(community, request_id: int):
    req, party = _load(community, request_id)
    form = MoveForm()
    return _act(community, req, party, "move", form, lambda: services.move(
        db.session(), actor=current_user, now=utcnow(), community=community, req=req,
        to=RequestStatus(form.to.data), party=party, note=form.note.data or ""),
        _("Status changed."), fallback="to")


@bp.route("/c/<int:community_id>/service/requests/<int:request_id>/postpone",
          methods=["POST"])
@requires(Permission.SERVICE_DESK)
def postpone(community, request_id: int):
    req, party = _load(community, request_id)
    form = PostponeForm()
    return _act(community, req, party, "postpone", form, lambda: services.postpone(
        db.session(), actor=current_user, now=utcnow(), community=community, req=req,
        days=form.days.data, reason=form.reason.data),
        _("Completion postponed; the resident is told why."))


@bp.route("/c/<int:community_id>/service/desk")
@requires(Permission.SERVICE_DESK)
def desk(community):
    g.community = community
    which = request.args.get("show", "open")
    if which not in queries.QUEUE_FILTERS:
        which = "open"
    now, s = utcnow(), db.session()
    team_id = request.args.get("team", type=int)
    kind = request.args.get("kind", "")
    kind = RequestKind(kind) if kind in RequestKind.__members__.values() else None
    page = request.args.get("page", 1, type=int)
    rows, more = queries.desk_queue(s, community, now=now, user=current_user, which=which,
                                    team_id=team_id, kind=kind, page=page)
    chosen = {"show": which, "team": team_id, "kind": kind.value if kind else None}
    return render_template("service/desk.html", community=community, rows=rows, which=which,
                           filters=queries.QUEUE_FILTERS, teams=services.teams_of(s, community),
                           kinds=list(RequestKind), chosen=chosen, page=max(page, 1),
                           more=more, **_page_globals(now))


@bp.route("/c/<int:community_id>/service/board")
@requires(Permission.SERVICE_DESK)
def board(community):
    g.community = community
    now = utcnow()
    rows = queries.daily_board(db.session(), community, now=now)
    return render_template("service/board.html", community=community, rows=rows,
                           **_page_globals(now))


@bp.route("/c/<int:community_id>/service/sweep", methods=["POST"])
@requires(Permission.SERVICE_DESK)
def sweep(community):
    report = sweep_desk(db.session(), now=utcnow(), community=community)
    flash(_("Checked: %(e)s raised to a supervisor, %(r)s reminders sent.",
            e=report.escalated, r=report.reminded), "success")
    return redirect(url_for("service.board", community_id=community.id))


def _month(community) -> tuple[int, int]:
    raw = request.args.get("month", "")
    try:
        year, month = (int(x) for x in raw.split("-"))
        dt.date(year, month, 1)
    except ValueError:
        today = utcnow().astimezone(ZoneInfo(community.timezone)).date()
        return today.year, today.month
    return year, month


@bp.route("/c/<int:community_id>/service/stats")
@requires(Permission.SERVICE_STATS)
def stats(community):
    g.community = community
    year, month = _month(community)
    stats_ = queries.monthly_stats(db.session(), community, year, month)
    by_kind = [(str(labels.KIND_LABELS[k]), n) for k, n in stats_.by_kind.items()]
    attainment = [(str(labels.TARGET_LABELS[t]), Fraction(100 * met, measured))
                  for t, (met, measured) in stats_.attainment.items() if measured]
    ratings = [(str(name), Decimal(str(round(value, 2))))
               for name, value in ((_("Overall"), stats_.overall), (_("Speed"), stats_.speed),
                                   (_("Attitude"), stats_.attitude)) if value is not None]
    history = queries.trend(db.session(), community, year, month)
    months = [f"{h.year:04d}-{h.month:02d}" for h in history]
    volume = [Series(_("Requests"), [h.total for h in history])]
    in_time = [
        Series(str(labels.TARGET_LABELS[t]), [
            Fraction(100 * h.attainment[t][0], h.attainment[t][1])
            if h.attainment.get(t, (0, 0))[1] else None for h in history])
        for t in services.sla.Target if any(h.attainment.get(t) for h in history)]
    return render_template("service/stats.html", community=community, stats=stats_,
                           month=f"{year:04d}-{month:02d}", by_kind=by_kind,
                           attainment=attainment, ratings=ratings, months=months,
                           volume=volume, in_time=in_time)


@bp.route("/c/<int:community_id>/service/stats.xlsx")
@requires(Permission.SERVICE_STATS)
def stats_xlsx(community):
    year, month = _month(community)
    stats_ = queries.monthly_stats(db.session(), community, year, month)
    content = stats_workbook(community, stats_)
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                     download_name=f"service-{year:04d}-{month:02d}.xlsx")


def _settings_page(community, status=200, problems=None, team_form=None, values=None):
    s = db.session()
    return render_template(
        "service/settings.html", community=community, labels=labels,
        policies=desk_settings.policies(community), hours=desk_settings.hours(community),
        teams=services.teams_of(s, community), problems=problems or {}, values=values,
        team_form=team_form or TeamForm(formdata=None, staff=services.staff_of(s, community)),
        kinds=[RequestKind(k) for k in services.sla.KINDS], urgencies=desk_settings.URGENCIES,
    ), status


@bp.route("/c/<int:community_id>/service/settings", methods=["GET", "POST"])
@requires(Permission.SERVICE_CONFIGURE)
def settings(community):
    g.community = community
    if request.method == "GET":
        return _settings_page(community)
    try:
        n = desk_settings.save_settings(
            db.session(), actor=current_user, now=utcnow(), community=community,
            form=request.form, workdays=request.form.getlist("workdays"))
    except desk_settings.SettingsRejected as err:
        flash(err.message, "error")
        return _settings_page(community, 422, problems=err.problems, values=request.form)
    flash(_("Saved; the deadlines of %(n)s unfinished requests were recomputed.", n=n),
          "success")
    return redirect(url_for("service.settings", community_id=community.id))


@bp.route("/c/<int:community_id>/service/teams", methods=["POST"])
@requires(Permission.SERVICE_CONFIGURE)
def team_add(community):
    g.community = community
    s = db.session()
    form = TeamForm(staff=services.staff_of(s, community))
    if not form.validate():
        return _settings_page(community, 422, team_form=form)
    if form.name.data.strip() in {t.name for t in services.teams_of(s, community)}:
        form.name.errors.append(_("This community has a team of that name already."))
        return _settings_page(community, 422, team_form=form)
    services.create_team(s, actor=current_user, now=utcnow(), community=community,
                         name=form.name.data.strip(),
                         supervisor=s.get(User, form.supervisor.data) if form.supervisor.data
                         else None)
    flash(_("Team added."), "success")
    return redirect(url_for("service.settings", community_id=community.id))


@bp.cli.command("sweep")
def sweep_cmd() -> None:
    """Escalate breaches and send reminders in every community (run it from cron every few
    minutes: ``flask --app app service sweep``)."""
    import click

    session = db.session()
    for community in session.scalars(select(Community).order_by(Community.id)):
        report = sweep_desk(session, now=utcnow(), community=community)
        if report.escalated or report.reminded or report.visits_due:
            click.echo(f"{community.name}: {report.escalated} escalated, "
                       f"{report.reminded} reminded, {report.visits_due} return visits due")
    session.commit()
