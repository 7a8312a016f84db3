"""The alarm console (live), an alarm's record and its handling, the device list, and the HTTP
endpoint for devices that cannot speak MQTT.

The console is pushed its news by server-sent events (``stream``): the page loads with the
open alarms drawn, then an ``EventSource`` on ``/c/<id>/alarms/stream`` receives every alarm
that is raised, merged, restored or handled, as soon as its transaction committed (``live``:
Redis pub/sub across processes, or in-process). A stream

- starts with a snapshot of the open alarms, or, when the browser reconnects with
  ``Last-Event-ID`` and this process still knows that id, with just what it missed;
- sends a comment every ``HEARTBEAT_SECONDS`` (proxies and the browser see it alive) and ends
  after ``ALARMS_STREAM_SECONDS`` (300 s): the browser reconnects by itself (``retry``), so a
  stream holds a server thread for at most that long and never pins a worker for good;
- without Redis, also looks at the database once a second (``DB_LOOK_SECONDS``: one indexed
  query), so an ingester running in another process still reaches it.

``feed.json`` stays: the same snapshot for a browser without ``EventSource`` (it polls it) or
whose stream keeps failing.
"""

from __future__ import annotations

import datetime as dt
import json
import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_datetime, get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from .. import db
from ..errors import DomainError
from ..extensions import csrf
from ..models import Alarm, Community, Device, User, utcnow
from ..policy import Permission, can, requires
from ..service import labels as service_labels
from . import core, labels, live, services
from .forms import ArmingForm, CloseForm, DeviceForm, DispatchForm, NoteForm, SiteMapForm

bp = Blueprint("alarms", __name__)
bp.record_once(lambda state: live.configure(state.app))


@bp.app_template_global()
def alarm_of_request(request_id: int):
    """For the service desk's request page: the alarm it was filed for (or None)."""
    return services.alarm_of_request(db.session(), request_id)

#: How often a browser without EventSource asks ``feed.json`` (ms).
POLL_MS = 1000
#: A comment line on an idle stream this often (s).
HEARTBEAT_SECONDS = 15.0
#: Without Redis, how often a stream looks at the database for changes made elsewhere (s).
DB_LOOK_SECONDS = 1.0
#: How long the browser waits before reconnecting a stream that ended (ms).
RETRY_MS = 1500


def _load(community: Community, alarm_id: int) -> Alarm:
    alarm = db.session().get(Alarm, alarm_id)
    if alarm is None or alarm.community_id != community.id:
        abort(404)
    return alarm


def _back(community: Community, alarm: Alarm):
    return redirect(url_for("alarms.detail", community_id=community.id, alarm_id=alarm.id))


def _form_error(form) -> DomainError:
    field, errors = next(iter(form.errors.items()))
    return DomainError(f"{getattr(form, field).label.text}: {' '.join(errors)}", field=field)


@bp.route("/c/<int:community_id>/alarms")
@requires(Permission.ALARMS_READ)
def console(community):
    g.community = community
    s, now = db.session(), utcnow()
    return render_template(
        "alarms/console.html", community=community, feed=_feed(community), poll_ms=POLL_MS,
        stream_url=url_for("alarms.stream", community_id=community.id),
        site_map=services.has_site_map(s, community),
        devices=services.devices_of(s, community),
        closed=services.recent_alarms(s, community, limit=20), labels=labels,
        handle=can(current_user, Permission.ALARMS_HANDLE, community), now=now)


@bp.route("/c/<int:community_id>/alarms/feed.json")
@requires(Permission.ALARMS_READ)
def feed(community):
    g.community = community
    response = jsonify(_feed(community))
    response.headers["Cache-Control"] = "no-store"
    return response


def _present(row: dict) -> dict:
    """A ``live.row_of`` row with what a person reads: labels, local time, its page."""
    event_type, state = core.EventType(row["type"]), core.AlarmState(row["state"])
    return {**row, "type_label": str(labels.EVENT_LABELS[event_type]),
            "state_label": str(labels.STATE_LABELS[state]),
            "raised_local": format_datetime(dt.datetime.fromisoformat(row["raised_at"]),
                                            "medium"),
            "url": url_for("alarms.detail", community_id=row["community_id"],
                           alarm_id=row["id"])}


def _status(community: Community) -> dict:
    s, now = db.session(), utcnow()
    faults = [{"device": f.device.name, "place": f.device.place, "device_id": f.device.id,
               "reasons": [str(labels.EVENT_LABELS[r]) for r in f.reasons]}
              for f in services.faulty_devices(s, community, now)]
    throttled = [{"device": d.name, "place": d.place, "device_id": d.id}
                 for d in services.throttled_devices(s, community, now)]
    return {"faults": faults, "throttled": throttled}


def _feed(community: Community) -> dict:
    s, now = db.session(), utcnow()
    rows = [_present(live.row_of(alarm)) for alarm in services.open_alarms(s, community)]
    return {"now": now.isoformat(), "poll_ms": POLL_MS, "alarms": rows, **_status(community)}


def _sse(kind: str, data: dict, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@bp.route("/c/<int:community_id>/alarms/stream")
@requires(Permission.ALARMS_READ)
def stream(community):
    """The console's server-sent events: ``snapshot`` (all open alarms and the faults),
    ``alarm`` (one alarm's row: new or changed; a cleared one leaves the console) and
    ``status`` (faults and throttled devices)."""
    # The stream speaks the user's language and time zone: settle both now, while the user is
    # loaded (the generator runs after the request's session let go of its connection).
    get_locale(), get_timezone()
    hub = live.current_hub()
    last_event_id = request.headers.get("Last-Event-ID") or None
    sub = hub.subscribe(community.id, last_event_id)
    lifetime = float(current_app.config.get("ALARMS_STREAM_SECONDS", 300))
    s = db.session()
    since = services.last_change(s, community)
    first = []
    if sub.backlog is None:
        first.append(_sse("snapshot", _feed(community), hub.last_id(community.id) or "0"))
        backlog = []
    else:
        backlog = sub.backlog
    _release(s)
    community_id = community.id

    def events():
        nonlocal since
        sent: dict[int, str] = {}  # alarm id → the version this stream sent last
        try:
            yield f"retry: {RETRY_MS}\n\n"
            yield from first
            for event_id, message in backlog:
                yield _message(community, event_id, message)
            end = time.monotonic() + lifetime
            beat = look = time.monotonic()
            while time.monotonic() < end:
                wait = min(HEARTBEAT_SECONDS, DB_LOOK_SECONDS) if not hub.complete else \
                    HEARTBEAT_SECONDS
                got = sub.get(timeout=max(0.05, min(wait, end - time.monotonic())))
                if sub.overflowed:  # a client too slow to read: start it afresh
                    while sub.get(timeout=0) is not None:
                        pass  # what is queued is older than the snapshot
                    yield _sse("snapshot", _feed(community), hub.last_id(community_id) or "0")
                    sub.overflowed = False
                    _release(db.session())
                elif got is not None:
                    yield _message(community, *got)
                    if got[1].get("kind") == "alarm":
                        sent[got[1]["id"]] = got[1]["rev"]
                    beat = time.monotonic()
                if not hub.complete and time.monotonic() - look >= DB_LOOK_SECONDS:
                    look = time.monotonic()
                    session = db.session()
                    for alarm in services.changed_since(session, community, since):
                        since = max(since, alarm.updated_at)
                        row = live.row_of(alarm)
                        if sent.get(row["id"]) != row["rev"]:  # not heard from the hub
                            sent[row["id"]] = row["rev"]
                            yield _sse("alarm", _present(row))
                    _release(session)
                if time.monotonic() - beat >= HEARTBEAT_SECONDS:
                    beat = time.monotonic()
                    yield ": alive\n\n"
        finally:
            sub.close()

    response = current_app.response_class(stream_with_context(events()),
                                          mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def _release(session) -> None:
    """End the stream's read-only transaction, so an open stream holds no connection. A commit,
    not a rollback: a rollback would expire what the request loaded (the user, the community)
    and the stream would read them again."""
    session.commit()


def _message(community: Community, event_id: str, message: dict) -> str:
    if message.get("kind") == "status":
        data = _status(community)
        _release(db.session())
        return _sse("status", data, event_id)
    return _sse("alarm", _present(message), event_id)


@bp.route("/c/<int:community_id>/alarms/<int:alarm_id>")
@requires(Permission.ALARMS_READ)
def detail(community, alarm_id: int):
    g.community = community
    alarm = _load(community, alarm_id)
    s = db.session()
    dispatch_form = DispatchForm(formdata=None)
    dispatch_form.assignee.choices = [(u.id, u.display_name or u.username)
                                      for u in services.staff_of(s, community)]
    return render_template(
        "alarms/detail.html", community=community, alarm=alarm, labels=labels,
        service_labels=service_labels,
        events=services.events_of(s, alarm), dispatch_form=dispatch_form,
        close_form=CloseForm(formdata=None), note_form=NoteForm(formdata=None),
        handle=can(current_user, Permission.ALARMS_HANDLE, community),
        open=alarm.state in core.OPEN_STATES, users=services.users_by_id(
            s, {n.author_id for n in alarm.notes} | {alarm.assignee_id}))


@bp.route("/c/<int:community_id>/alarms/<int:alarm_id>/acknowledge", methods=["POST"])
@requires(Permission.ALARMS_HANDLE)
def acknowledge(community, alarm_id: int):
    alarm = _load(community, alarm_id)
    services.acknowledge(db.session(), actor=current_user, now=utcnow(), alarm=alarm)
    flash(_("Alarm acknowledged."), "success")
    if request.form.get("next") == "console":
        return redirect(url_for("alarms.console", community_id=community.id))
    return _back(community, alarm)


@bp.route("/c/<int:community_id>/alarms/<int:alarm_id>/dispatch", methods=["POST"])
@requires(Permission.ALARMS_HANDLE)
def dispatch(community, alarm_id: int):
    alarm = _load(community, alarm_id)
    s = db.session()
    form = DispatchForm()
    form.assignee.choices = [(u.id, u.display_name or u.username)
                             for u in services.staff_of(s, community)]
    if not form.validate():
        raise _form_error(form)
    services.dispatch(s, actor=current_user, now=utcnow(), alarm=alarm,
                      assignee=s.get(User, form.assignee.data), note=form.note.data or "")
    flash(_("Dispatched as work order of request no. %(n)s; the colleague has been notified.",
            n=alarm.service_request_id), "success")
    return _back(community, alarm)


@bp.route("/c/<int:community_id>/alarms/<int:alarm_id>/close", methods=["POST"])
@requires(Permission.ALARMS_HANDLE)
def close(community, alarm_id: int):
    alarm = _load(community, alarm_id)
    form = CloseForm()
    if not form.validate():
        raise _form_error(form)
    services.close(db.session(), actor=current_user, now=utcnow(), alarm=alarm,
                   cause=core.Cause(form.cause.data), note=form.note.data or "")
    flash(_("Alarm closed."), "success")
    return _back(community, alarm)


@bp.route("/c/<int:community_id>/alarms/<int:alarm_id>/notes", methods=["POST"])
@requires(Permission.ALARMS_HANDLE)
def note(community, alarm_id: int):
    alarm = _load(community, alarm_id)
    form = NoteForm()
    if not form.validate():
        raise _form_error(form)
    services.add_note(db.session(), actor=current_user, now=utcnow(), alarm=alarm,
                      text=form.text.data)
    flash(_("Note added."), "success")
    return _back(community, alarm)


@bp.route("/c/<int:community_id>/alarms/devices")
@requires(Permission.ALARMS_READ)
def devices(community):
    g.community = community
    s, now = db.session(), utcnow()
    faulty = {f.device.id: f.reasons for f in services.faulty_devices(s, community, now)}
    devices = services.devices_of(s, community)
    return render_template("alarms/devices.html", community=community, labels=labels,
                           devices=devices, faulty=faulty,
                           throttled={d.id for d in services.throttled_devices(s, community,
                                                                              now)},
                           armable=services.ARMABLE, aform=ArmingForm(formdata=None),
                           history=services.arming_history(s, devices),
                           map_form=SiteMapForm(formdata=None),
                           site_map=services.has_site_map(s, community),
                           arm=can(current_user, Permission.ALARMS_HANDLE, community))


@bp.route("/c/<int:community_id>/alarms/stats")
@requires(Permission.ALARMS_READ)
def stats(community):
    """Monthly statistics of the last twelve months, with charts."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from .stats import monthly

    g.community = community
    now = utcnow()
    tz = ZoneInfo(community.timezone or "Asia/Shanghai")
    rows = services.statistics_rows(db.session(), community, since=now - dt.timedelta(days=370))
    months = monthly(rows, now=now, tz=tz, months=12)
    totals = [(str(labels.CAUSE_LABELS[c]), sum(m.causes.get(c, 0) for m in months))
              for c in core.CLOSING_CAUSES]
    return render_template("alarms/stats.html", community=community, months=months,
                           labels=labels, causes=core.CLOSING_CAUSES, totals=totals)


@bp.route("/c/<int:community_id>/alarms/devices/new", methods=["GET", "POST"])
@requires(Permission.DEVICES_MANAGE)
def device_new(community):
    g.community = community
    form = DeviceForm()
    if form.validate_on_submit():
        s = db.session()
        try:
            unit = (services.unit_by_label(s, community, form.unit.data)
                    if form.unit.data else None)
            device = services.register_device(
                s, actor=current_user, now=utcnow(), community=community,
                code=form.code.data.strip(), kind=services.DeviceKind(form.kind.data),
                name=form.name.data.strip(), place=(form.place.data or "").strip(), unit=unit,
                map_x=float(form.map_x.data) / 100 if form.map_x.data is not None else None,
                map_y=float(form.map_y.data) / 100 if form.map_y.data is not None else None,
                heartbeat_seconds=form.heartbeat_minutes.data * 60,
                sia_account=form.sia_account.data or None)
        except DomainError as err:
            g.rollback_only = True
            getattr(form, err.field or "code").errors.append(err.message)
        else:
            flash(_("Device registered. Give it the secret below."), "success")
            return redirect(url_for("alarms.device", community_id=community.id,
                                    device_id=device.id))
    return render_template("alarms/device_form.html", community=community,
                           form=form), (422 if form.errors else 200)


def _load_device(community: Community, device_id: int) -> Device:
    device = db.session().get(Device, device_id)
    if device is None or device.community_id != community.id:
        abort(404)
    return device


@bp.route("/c/<int:community_id>/alarms/devices/<int:device_id>")
@requires(Permission.DEVICES_MANAGE)
def device(community, device_id: int):
    """A device's channel: its topics, its secret, its latest events."""
    g.community = community
    device = _load_device(community, device_id)
    prefix = current_app.config["ALARMS_TOPIC_PREFIX"]
    topics = {channel: core.topic_for(community.id, device.code, channel, prefix)
              for channel in core.Channel}
    return render_template("alarms/device.html", community=community, device=device,
                           labels=labels, topics=topics,
                           events=services.device_events(db.session(), device))


@bp.route("/c/<int:community_id>/alarms/devices/<int:device_id>/secret", methods=["POST"])
@requires(Permission.DEVICES_MANAGE)
def renew_secret(community, device_id: int):
    device = _load_device(community, device_id)
    services.renew_secret(db.session(), actor=current_user, now=utcnow(), device=device)
    flash(_("New secret made: the old one no longer works."), "success")
    return redirect(url_for("alarms.device", community_id=community.id, device_id=device.id))


@bp.route("/c/<int:community_id>/alarms/site-map", methods=["POST"])
@requires(Permission.DEVICES_MANAGE)
def site_map_upload(community):
    form = SiteMapForm()
    if not form.validate():
        raise _form_error(form)
    services.set_site_map(db.session(), actor=current_user, now=utcnow(), community=community,
                          data=form.image.data.read())
    flash(_("Site map saved: place the devices on it in percent across and down."), "success")
    return redirect(url_for("alarms.devices", community_id=community.id))


@bp.route("/c/<int:community_id>/alarms/site-map")
@requires(Permission.ALARMS_READ)
def site_map(community):
    """The uploaded plan, or 204 when there is none (the console then draws a blank site)."""
    found = services.site_map_of(db.session(), community)
    if found is None:
        return "", 204
    response = current_app.response_class(found.data, mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/c/<int:community_id>/alarms/home")
@requires(Permission.ALARMS_ARM)
def home(community):
    """An owner's own in-home panels: state, arming, bypassed zones, and who did what."""
    g.community = community
    s = db.session()
    panels = services.panels_of(s, current_user, community)
    return render_template("alarms/home.html", community=community, labels=labels,
                           panels=panels, aform=ArmingForm(formdata=None),
                           history=services.arming_history(s, panels) if panels else [])


@bp.route("/c/<int:community_id>/alarms/devices/<int:device_id>/arming", methods=["POST"])
@requires(Permission.ALARMS_ARM)
def arming(community, device_id: int):
    s = db.session()
    device = s.get(Device, device_id)
    if device is None or device.community_id != community.id:
        abort(404)
    form = ArmingForm()
    if not form.validate():
        raise _form_error(form)
    as_staff = can(current_user, Permission.ALARMS_HANDLE, community)
    services.arm(s, actor=current_user, now=utcnow(), device=device,
                 action=core.ArmingAction(form.action.data), zone=form.zone.data or "",
                 as_staff=as_staff)
    flash(_("%(action)s: recorded and sent to the device.",
            action=labels.ARMING_LABELS[core.ArmingAction(form.action.data)]), "success")
    target = "alarms.devices" if as_staff else "alarms.home"
    return redirect(url_for(target, community_id=community.id))


@bp.route("/api/devices/<int:community_id>/<code>/events", methods=["POST"])
@requires(Permission.PUBLIC)
@csrf.exempt
def http_event(community, code: str):
    """For devices without MQTT: the event's JSON body, ``Authorization: Bearer <secret>``.

    Under /api/ like every endpoint that takes a token instead of the session cookie (so no
    cross-site form can drive it); public to the pipeline, the service checks the device's
    token. Not part of /api/v1, the people's API."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return _device_error(401, "unauthorized")
    try:
        outcome = services.ingest_http(db.session(), community_id=community.id, code=code,
                                       token=auth.removeprefix("Bearer "),
                                       payload=request.get_data(cache=False), now=utcnow())
    except core.MessageError as err:
        if err.reason == "unknown_device":
            return _device_error(401, "unauthorized")
        return _device_error(422, err.reason)
    return jsonify({"action": outcome.action, "duplicate": outcome.duplicate,
                    "alarm": outcome.alarm.id if outcome.alarm else None}), 200


def _device_error(status: int, reason: str):
    g.rollback_only = True
    response = jsonify({"error": reason})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="courtyard-devices"'
    return response
