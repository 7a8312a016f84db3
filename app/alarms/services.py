"""Alarms on the database: the device registry, ingesting events, handling, faults, the feed.

Services take ``session`` and ``now`` (and ``actor`` for what a person does); they flush, never
commit, and raise domain errors. What an event means is decided by the pure ``core``; this
module only loads, stores and notifies.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..models import (
    Alarm,
    AlarmNote,
    ArmingCommand,
    Community,
    Device,
    DeviceEventRecord,
    DeviceKind,
    Ownership,
    Person,
    Role,
    SiteMap,
    Unit,
    User,
)
from ..notifications.services import holders_of, notify
from . import core, live
from .core import (
    OPEN_STATES,
    Action,
    AlarmState,
    Category,
    Cause,
    Channel,
    DeviceEvent,
    EventType,
    MessageError,
)
from .labels import CAUSE_LABELS, EVENT_LABELS, STATE_LABELS

log = logging.getLogger(__name__)


# --- the registry ------------------------------------------------------------------------------


def register_device(
    session: Session, *, actor: User | None, now: dt.datetime, community: Community, code: str,
    kind: DeviceKind, name: str, place: str = "", unit: Unit | None = None,
    map_x: float | None = None, map_y: float | None = None, heartbeat_seconds: int = 300,
    sia_account: str | None = None,
) -> Device:
    """Add a device to the community's registry with a fresh channel secret."""
    if not core._CODE_RE.match(code):
        raise DomainError(_("A device code has letters, digits and _.:- only."), field="code")
    if find_device(session, community.id, code) is not None:
        raise Conflict(_("Another device already has the code %(code)s.", code=code),
                       field="code")
    if sia_account and session.scalar(select(Device.id).where(
            Device.sia_account == sia_account.upper())):
        raise Conflict(_("Another device already has the SIA account %(account)s.",
                         account=sia_account.upper()), field="sia_account")
    device = Device(community_id=community.id, code=code, kind=kind, name=name, place=place,
                    unit_id=unit.id if unit else None, map_x=map_x, map_y=map_y,
                    secret=secrets.token_urlsafe(24), heartbeat_seconds=heartbeat_seconds,
                    sia_account=sia_account.upper() if sia_account else None, created_at=now)
    session.add(device)
    session.flush()
    if actor is not None:
        record(session, actor=actor, action="alarm.device_added", now=now,
               community_id=community.id, target=f"device:{device.id}",
               details={"code": code, "kind": kind.value})
    return device


def unit_by_label(session: Session, community: Community, label: str) -> Unit:
    """The unit written "building-number" (e.g. "1号楼-101"), or a domain error naming it."""
    building, _sep, number = label.strip().rpartition("-")
    unit = session.scalar(
        select(Unit).join(Unit.building)
        .where(Unit.community_id == community.id, Unit.number == number.strip(),
               Unit.building.has(name=building.strip())))
    if unit is None:
        raise DomainError(_("No unit %(label)s in the register.", label=label), field="unit")
    return unit


def renew_secret(session: Session, *, actor: User, now: dt.datetime, device: Device) -> str:
    """A new channel secret: the old one stops working at once (a device that was lost)."""
    device.secret = secrets.token_urlsafe(24)
    record(session, actor=actor, action="alarm.device_secret_renewed", now=now,
           community_id=device.community_id, target=f"device:{device.id}",
           details={"code": device.code})
    session.flush()
    return device.secret


#: What a site map may be: the first bytes of each accepted format.
SITE_MAP_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
SITE_MAP_MAX_BYTES = 5 * 1024 * 1024


def set_site_map(session: Session, *, actor: User, now: dt.datetime, community: Community,
                 data: bytes) -> SiteMap:
    """Keep the community's site plan (PNG or JPEG, recognised by its bytes, not its name)."""
    content_type = next((t for magic, t in SITE_MAP_TYPES.items() if data.startswith(magic)),
                        None)
    if content_type is None:
        raise DomainError(_("The site map must be a PNG or JPEG image."), field="image")
    if len(data) > SITE_MAP_MAX_BYTES:
        raise DomainError(_("The site map may be at most 5 MB."), field="image")
    site_map = session.scalar(select(SiteMap).where(SiteMap.community_id == community.id))
    if site_map is None:
        site_map = SiteMap(community_id=community.id)
        session.add(site_map)
    site_map.content_type, site_map.data = content_type, data
    site_map.uploaded_at, site_map.uploaded_by_id = now, actor.id
    session.flush()
    record(session, actor=actor, action="alarm.site_map_uploaded", now=now,
           community_id=community.id, target=f"community:{community.id}",
           details={"bytes": len(data), "type": content_type})
    return site_map


def site_map_of(session: Session, community: Community) -> SiteMap | None:
    return session.scalar(select(SiteMap).where(SiteMap.community_id == community.id))


def has_site_map(session: Session, community: Community) -> bool:
    return session.scalar(select(SiteMap.id).where(SiteMap.community_id == community.id)
                          ) is not None


def find_device(session: Session, community_id: int, code: str) -> Device | None:
    return session.scalar(
        select(Device).where(Device.community_id == community_id, Device.code == code)
    )


def devices_of(session: Session, community: Community) -> list[Device]:
    return list(session.scalars(
        select(Device).where(Device.community_id == community.id).order_by(Device.kind,
                                                                            Device.code)
    ))


# --- ingestion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happened to one message: the action taken, the alarm touched, a duplicate."""

    action: str
    alarm: Alarm | None = None
    duplicate: bool = False


def ingest_message(session: Session, *, topic: str, payload: bytes, now: dt.datetime,
                   prefix: str = core.DEFAULT_PREFIX, devices: dict | None = None) -> Outcome:
    """One MQTT message, whatever its channel. Raises ``MessageError`` for what is refused
    (always before anything is written). ``devices`` caches look-ups within one session."""
    parsed = core.parse_topic(topic, prefix)
    key = (parsed.community_id, parsed.device_code)
    if devices is not None and key in devices:
        device = devices[key]
    else:
        device = find_device(session, parsed.community_id, parsed.device_code)
        if devices is not None:
            devices[key] = device
    if device is None or not device.active:
        raise MessageError("unknown_device", topic)
    if parsed.channel is Channel.AVAILABILITY:
        if not payload:  # a retained message being cleared
            return Outcome("record")
        return set_availability(session, device=device, online=core.parse_availability(payload),
                                now=now)
    if parsed.channel is Channel.STATE:
        if not payload:
            return Outcome("record")
        device.state = core.parse_state(payload)
        _heard(session, device, now)
        session.flush()
        return Outcome("state")
    event = core.parse_event(payload, device_code=device.code, now=now, secret=device.secret)
    return ingest_event(session, device=device, event=event, now=now, channel="mqtt")


#: How stale a device's ``last_seen_at`` may be before a batch writes it again.
SEEN_RESOLUTION = dt.timedelta(seconds=5)


def ingest_batch(session: Session, messages: list[tuple[str, bytes]], *, now: dt.datetime,
                 prefix: str = core.DEFAULT_PREFIX) -> list[Outcome | MessageError]:
    """Many MQTT messages in the caller's transaction, with the same outcome as calling
    ``ingest_message`` on each in turn, but a handful of queries for the whole batch instead of
    five per message: the devices, the already stored message ids, the open alarms and the
    recent counts (for throttling) are read once, decided on in memory, and the events are
    inserted together. A refused message gets its ``MessageError`` in the list.

    Availability and state messages (rare) go through ``ingest_message`` in their place in the
    batch. If another writer stored one of the same messages meanwhile, the unique message id
    makes the insert fail: the caller then retries the batch one message at a time
    (``Ingester.handle_batch``).
    """
    outcomes: list[Outcome | MessageError | None] = [None] * len(messages)
    parsed: list[core.Topic | None] = []
    for i, (topic, _payload) in enumerate(messages):
        try:
            parsed.append(core.parse_topic(topic, prefix))
        except MessageError as err:
            parsed.append(None)
            outcomes[i] = err
    wanted = {(t.community_id, t.device_code) for t in parsed if t is not None}
    devices: dict[tuple[int, str], Device] = {}
    if wanted:
        for device in session.scalars(select(Device).where(
                Device.code.in_({code for _c, code in wanted}),
                Device.community_id.in_({c for c, _code in wanted}))):
            devices[(device.community_id, device.code)] = device
    run: list[tuple[int, Device, DeviceEvent]] = []
    for i, ((topic, payload), t) in enumerate(zip(messages, parsed)):
        if t is None:
            continue
        device = devices.get((t.community_id, t.device_code))
        if device is None or not device.active:
            outcomes[i] = MessageError("unknown_device", topic)
            continue
        if t.channel is not Channel.EVENT:
            _ingest_events(session, run, outcomes, now)
            run = []
            try:
                outcomes[i] = ingest_message(session, topic=topic, payload=payload, now=now,
                                             prefix=prefix, devices=devices)
            except MessageError as err:
                outcomes[i] = err
            continue
        try:
            run.append((i, device, core.parse_event(payload, device_code=device.code, now=now,
                                                    secret=device.secret)))
        except MessageError as err:
            outcomes[i] = err
    _ingest_events(session, run, outcomes, now)
    return outcomes  # type: ignore[return-value]


def _ingest_events(session: Session, run: list[tuple[int, Device, DeviceEvent]],
                   outcomes: list, now: dt.datetime) -> None:
    """Store validated MQTT events of a batch (see ``ingest_batch``); same rules as
    ``ingest_event``."""
    if not run:
        return
    device_ids = {device.id for _i, device, _e in run}
    stored = set(session.execute(select(DeviceEventRecord.device_id,
                                        DeviceEventRecord.message_id).where(
        DeviceEventRecord.device_id.in_(device_ids),
        DeviceEventRecord.message_id.in_({e.message_id for _i, _d, e in run}))).all())
    open_alarms: dict[tuple[int, EventType, str], Alarm] = {}
    by_id = {device.id: device for _i, device, _e in run}
    for alarm in session.scalars(select(Alarm).where(
            Alarm.device_id.in_(device_ids), Alarm.state.in_(OPEN_STATES))
            .order_by(Alarm.id)):
        open_alarms[(alarm.device_id, alarm.event_type, alarm.zone)] = alarm  # latest wins
        # Its device is at hand: the console's row of the alarm needs no query for it.
        set_committed_value(alarm, "device", by_id[alarm.device_id])
    # The recent counts matter only to an event that could raise a new alarm (none open for
    # it): under a flood of repeats, which all merge, they are not even read.
    def may_raise(device: Device, event: DeviceEvent) -> bool:
        if event.is_restore:  # it may close an alarm, after which a new one may be raised
            return True
        if event.category is Category.INFO:
            return False
        found = open_alarms.get((device.id, event.event_type, event.zone))
        return found is None or now - found.last_at > core.MERGE_WINDOW

    if any(may_raise(d, e) for _i, d, e in run):
        recent: dict[int, int] = dict(session.execute(
            select(DeviceEventRecord.device_id, func.count(DeviceEventRecord.id))
            .where(DeviceEventRecord.device_id.in_(device_ids),
                   DeviceEventRecord.received_at >= now - core.FLOOD_WINDOW,
                   DeviceEventRecord.action.in_([Action.RAISE, Action.MERGE, Action.THROTTLE]))
            .group_by(DeviceEventRecord.device_id)).all())
    else:
        recent = {}
    heard: set[int] = set()
    raised: list[Alarm] = []
    rows: list[tuple[dict, Alarm | None]] = []
    for i, device, event in run:
        if (device.id, event.message_id) in stored:
            outcomes[i] = Outcome("duplicate", duplicate=True)
            continue
        stored.add((device.id, event.message_id))
        if device.id not in heard:
            heard.add(device.id)
            previous = device.last_seen_at
            # Heartbeats are minutes apart: a device heard within the last few seconds need
            # not be written again (a busy device would cost an UPDATE per batch).
            if previous is None or now - previous >= SEEN_RESOLUTION:
                device.last_seen_at = now
            if previous is not None and core.heartbeat_overdue(
                    previous, dt.timedelta(seconds=device.heartbeat_seconds), now):
                fault = open_alarms.get((device.id, EventType.HEARTBEAT_LOST, ""))
                if fault is not None:
                    _restore(fault, now)
                    del open_alarms[(device.id, EventType.HEARTBEAT_LOST, "")]
        key = (device.id, event.event_type, event.zone)
        open_alarm = open_alarms.get(key)
        action = core.decide(
            event, open_alarm=core.OpenAlarm(open_alarm.last_at) if open_alarm else None,
            recent_new=recent.get(device.id, 0), now=now,
            bypassed=bool(event.zone) and event.zone in (device.bypassed_zones or []))
        alarm = open_alarm
        if action is Action.RAISE:
            alarm = Alarm(
                community_id=device.community_id, device_id=device.id, device=device,
                category=event.category, event_type=event.event_type, zone=event.zone,
                priority=core.priority_of(event.event_type), state=AlarmState.RAISED, count=1,
                first_at=event.occurred_at, last_at=event.occurred_at, raised_at=now,
                updated_at=now)
            session.add(alarm)
            open_alarms[key] = alarm
            raised.append(alarm)
            live.changed(session, alarm)
        elif action is Action.MERGE:
            alarm.count += 1
            alarm.last_at = max(alarm.last_at, event.occurred_at)
            alarm.updated_at = now
            live.changed(session, alarm)
        elif action is Action.RESTORE:
            _restore(alarm, now)
            if alarm.state not in OPEN_STATES:
                del open_alarms[key]
        elif action is Action.THROTTLE:
            if device.throttled_until is None or device.throttled_until < now:
                log.warning("device %s floods: throttled", device.code)
                live.status_changed(session, device.community_id)
            device.throttled_until = now + core.FLOOD_WINDOW
            alarm = None
        else:
            alarm = None
        if action in (Action.RAISE, Action.MERGE, Action.THROTTLE):
            recent[device.id] = recent.get(device.id, 0) + 1
        rows.append(({
            "device_id": device.id, "message_id": event.message_id,
            "event_type": event.event_type, "code": event.code,
            "qualifier": int(event.qualifier), "zone": event.zone,
            "occurred_at": event.occurred_at, "received_at": now, "channel": "mqtt",
            "action": action.value,
            "payload": {"code": event.code, "q": int(event.qualifier), "zone": event.zone}},
            alarm))
        outcomes[i] = Outcome(action.value, alarm)
    session.flush()  # the alarms' changes first, then the events in one INSERT
    if rows:
        for row, alarm in rows:
            row["alarm_id"] = alarm.id if alarm is not None else None
        session.execute(insert(DeviceEventRecord), [row for row, _alarm in rows])
    for alarm in raised:
        if alarm.category is Category.FAULT:
            live.status_changed(session, alarm.community_id)
        _notify_raised(session, alarm, now)


def ingest_http(session: Session, *, community_id: int, code: str, token: str, payload: bytes,
                now: dt.datetime) -> Outcome:
    """An event from a device that cannot speak MQTT: the bearer token is its secret."""
    device = find_device(session, community_id, code)
    if device is None or not device.active or not hmac.compare_digest(
        token.encode(), device.secret.encode()
    ):
        raise MessageError("unknown_device")
    event = core.parse_event(payload, device_code=device.code, now=now)
    return ingest_event(session, device=device, event=event, now=now, channel="http")


def ingest_event(session: Session, *, device: Device, event: DeviceEvent, now: dt.datetime,
                 channel: str) -> Outcome:
    """Store one validated event and raise, merge, restore or throttle as ``core`` decides."""
    if session.scalar(select(DeviceEventRecord.id).where(
        DeviceEventRecord.device_id == device.id,
        DeviceEventRecord.message_id == event.message_id,
    )):
        return Outcome("duplicate", duplicate=True)
    _heard(session, device, now)
    open_alarm = _open_alarm(session, device, event.event_type, event.zone)
    recent = 0
    if open_alarm is None and not event.is_restore and event.category is not Category.INFO:
        # Only a new alarm can be throttled: count the device's recent ones just then.
        recent = session.scalar(select(func.count(DeviceEventRecord.id)).where(
            DeviceEventRecord.device_id == device.id,
            DeviceEventRecord.received_at >= now - core.FLOOD_WINDOW,
            DeviceEventRecord.action.in_([Action.RAISE, Action.MERGE, Action.THROTTLE]),
        )) or 0
    action = core.decide(
        event, open_alarm=core.OpenAlarm(open_alarm.last_at) if open_alarm else None,
        recent_new=recent, now=now,
        bypassed=bool(event.zone) and event.zone in (device.bypassed_zones or []))
    alarm = open_alarm
    if action is Action.RAISE:
        alarm = _raise(session, device, event.event_type, event.zone, now, event.occurred_at)
    elif action is Action.MERGE:
        alarm.count += 1
        alarm.last_at = max(alarm.last_at, event.occurred_at)
        alarm.updated_at = now
        live.changed(session, alarm)
    elif action is Action.RESTORE:
        _restore(alarm, now)
    elif action is Action.THROTTLE:
        if device.throttled_until is None or device.throttled_until < now:
            log.warning("device %s floods: throttled", device.code)
            live.status_changed(session, device.community_id)
        device.throttled_until = now + core.FLOOD_WINDOW
        alarm = None
    else:
        alarm = None
    row = DeviceEventRecord(
        device_id=device.id, message_id=event.message_id, event_type=event.event_type,
        code=event.code, qualifier=int(event.qualifier), zone=event.zone,
        occurred_at=event.occurred_at, received_at=now, channel=channel, action=action.value,
        alarm_id=alarm.id if alarm else None,
        payload={"code": event.code, "q": int(event.qualifier), "zone": event.zone},
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same message, stored by another worker a moment ago
        return Outcome("duplicate", duplicate=True)
    if action is Action.RAISE:
        _notify_raised(session, alarm, now)
    return Outcome(action.value, alarm)


def set_availability(session: Session, *, device: Device, online: bool,
                     now: dt.datetime) -> Outcome:
    """``online`` clears an offline fault; ``offline`` (the last will) raises one."""
    was = device.online
    device.online = online
    if online:
        _heard(session, device, now)
        fault = _open_alarm(session, device, EventType.OFFLINE, "")
        if fault is not None:
            _restore(fault, now)
        session.flush()
        return Outcome("online", fault)
    fault = _open_alarm(session, device, EventType.OFFLINE, "")
    if fault is None and was is not False:
        fault = _raise(session, device, EventType.OFFLINE, "", now, now)
    session.flush()
    return Outcome("offline", fault)


def sweep_heartbeats(session: Session, *, now: dt.datetime) -> list[Alarm]:
    """Raise a "no heartbeat" fault for each device silent beyond its interval (once)."""
    candidates = session.scalars(select(Device).where(
        Device.active.is_(True), Device.last_seen_at.is_not(None),
        Device.last_seen_at < now - core.HEARTBEAT_GRACE,
    ))
    raised = []
    for device in candidates:
        interval = dt.timedelta(seconds=device.heartbeat_seconds)
        if core.heartbeat_overdue(device.last_seen_at, interval, now) and _open_alarm(
            session, device, EventType.HEARTBEAT_LOST, ""
        ) is None:
            raised.append(_raise(session, device, EventType.HEARTBEAT_LOST, "", now, now))
    return raised


def rotate_events(session: Session, *, now: dt.datetime, keep_days: int) -> int:
    """Delete raw events older than ``keep_days`` that belong to no alarm; alarms, their
    events and their handling are kept. Returns how many were deleted."""
    if keep_days < 1:
        raise DomainError(_("Keep raw events for at least one day."), field="keep_days")
    result = session.execute(delete(DeviceEventRecord).where(
        DeviceEventRecord.received_at < now - dt.timedelta(days=keep_days),
        DeviceEventRecord.alarm_id.is_(None)))
    return result.rowcount or 0


def _heard(session: Session, device: Device, now: dt.datetime) -> None:
    """Anything from a device is a heartbeat: a "no heartbeat" fault ends."""
    previous = device.last_seen_at
    if previous is None or previous < now:
        device.last_seen_at = now
    # Only a device that was silent beyond its interval can have such a fault open.
    if previous is not None and core.heartbeat_overdue(
        previous, dt.timedelta(seconds=device.heartbeat_seconds), now
    ):
        fault = _open_alarm(session, device, EventType.HEARTBEAT_LOST, "")
        if fault is not None:
            _restore(fault, now)


def _open_alarm(session: Session, device: Device, event_type: EventType,
                zone: str) -> Alarm | None:
    return session.scalar(
        select(Alarm).where(Alarm.device_id == device.id, Alarm.event_type == event_type,
                            Alarm.zone == zone, Alarm.state.in_(OPEN_STATES))
        .order_by(Alarm.id.desc()).limit(1)
    )


def _raise(session: Session, device: Device, event_type: EventType, zone: str,
           now: dt.datetime, occurred_at: dt.datetime) -> Alarm:
    alarm = Alarm(
        community_id=device.community_id, device_id=device.id,
        category=core.category_of(event_type), event_type=event_type, zone=zone,
        priority=core.priority_of(event_type), state=AlarmState.RAISED, count=1,
        first_at=occurred_at, last_at=occurred_at, raised_at=now, updated_at=now,
    )
    session.add(alarm)
    session.flush()
    live.changed(session, alarm)
    if alarm.category is Category.FAULT:
        live.status_changed(session, alarm.community_id)
    return alarm


def _restore(alarm: Alarm, now: dt.datetime) -> None:
    """The device says the condition is over: a fault closes itself, an alarm waits for staff."""
    alarm.restored_at = now
    alarm.updated_at = now
    if alarm.category is Category.FAULT and alarm.state in OPEN_STATES:
        alarm.state = AlarmState.CLEARED
        alarm.cleared_at = now
        alarm.cause = Cause.RESTORED
    session = object_session(alarm)
    if session is not None:
        live.changed(session, alarm)
        if alarm.category is Category.FAULT:
            live.status_changed(session, alarm.community_id)


def _notify_raised(session: Session, alarm: Alarm, now: dt.datetime) -> None:
    """The most urgent alarms reach staff's notices too; an in-home alarm reaches its owners."""
    device = alarm.device or session.get(Device, alarm.device_id)
    community = session.get(Community, alarm.community_id)
    link = f"/c/{community.id}/alarms/{alarm.id}"
    kind_label = EVENT_LABELS[alarm.event_type]

    def message():
        return (_("Alarm: %(kind)s", kind=str(kind_label)),
                _("%(kind)s at %(place)s.", kind=str(kind_label),
                  place=device.place or device.name))

    if alarm.category is Category.ALARM and alarm.priority == 1:
        notify(session, now=now, community=community, kind="alarm.raised", link=link,
               recipients=holders_of(session, community, Role.STAFF), message=message)
    if alarm.category is Category.ALARM and device.unit_id is not None:
        owners = session.scalars(
            select(Person.user_id).distinct().join(Ownership, Ownership.person_id == Person.id)
            .where(Ownership.unit_id == device.unit_id, Ownership.ended_at.is_(None),
                   Person.user_id.is_not(None)))
        notify(session, now=now, community=community, kind="alarm.home",
               link=f"/c/{community.id}/alarms/home",
               recipients=list(owners), message=message)


# --- handling by staff -------------------------------------------------------------------------


def _move(alarm: Alarm, target: AlarmState) -> None:
    try:
        core.check_transition(alarm.state, target)
    except core.TransitionError:
        raise Conflict(_("This alarm is %(state)s: it cannot be %(target)s now.",
                         state=str(STATE_LABELS[alarm.state]),
                         target=str(STATE_LABELS[target]))) from None
    alarm.state = target


def _note(session: Session, alarm: Alarm, actor: User, now: dt.datetime, action: str,
          text: str) -> None:
    session.add(AlarmNote(alarm_id=alarm.id, author_id=actor.id, action=action,
                          text=text.strip(), created_at=now))


def _audit(session: Session, actor: User, now: dt.datetime, alarm: Alarm, *, action: str,
           **details) -> None:
    live.changed(session, alarm)
    record(session, actor=actor, action=action, now=now,
           community_id=alarm.community_id, target=f"alarm:{alarm.id}",
           details={"type": alarm.event_type.value, **details})


def acknowledge(session: Session, *, actor: User, now: dt.datetime, alarm: Alarm) -> Alarm:
    """Someone at the console has seen it (the sound stops for everyone)."""
    _move(alarm, AlarmState.ACKNOWLEDGED)
    alarm.acknowledged_at, alarm.acknowledged_by_id, alarm.updated_at = now, actor.id, now
    _note(session, alarm, actor, now, "acknowledged", "")
    _audit(session, actor, now, alarm, action="alarm.acknowledged")
    session.flush()
    return alarm


def dispatch(session: Session, *, actor: User, now: dt.datetime, alarm: Alarm, assignee: User,
             note: str = "") -> Alarm:
    """Send someone of the property office: a work order of the service desk.

    The first dispatch files a desk request for the alarm (an emergency for the two most
    urgent priorities, so the desk's SLA clocks run around the clock) and dispatches it to
    ``assignee``; the alarm keeps the request (``service_request_id``) and the request's page
    names the alarm. Both are audited (``alarm.dispatched``, and the desk's own entries); the
    assignee gets a notice linking to the alarm and one linking to the work order."""
    from ..service import services as desk

    community = session.get(Community, alarm.community_id)
    if assignee is None or assignee.id not in holders_of(session, community, Role.STAFF):
        raise DomainError(_("Only property staff of this community can be dispatched."),
                          field="assignee")
    if alarm.state is AlarmState.RAISED:
        alarm.acknowledged_at, alarm.acknowledged_by_id = now, actor.id
    _move(alarm, AlarmState.DISPATCHED)
    device = session.get(Device, alarm.device_id)
    kind_label = EVENT_LABELS[alarm.event_type]
    req = (session.get(desk.ServiceRequest, alarm.service_request_id)
           if alarm.service_request_id else None)
    if req is None:
        where = device.place or device.name
        # Stored text: in the language of whoever dispatches (the site's default from the
        # command line, e.g. the demo).
        with _stored_language():
            text = _("Alarm no. %(n)s: %(kind)s, %(device)s at %(place)s.", n=alarm.id,
                     kind=str(kind_label), device=device.name, place=where)
            if alarm.zone:
                text += " " + _("zone %(zone)s", zone=alarm.zone)
            caller = str(_("Alarm console"))
        req = desk.file_request(
            session, actor=actor, now=now, community=community, party=desk.DESK,
            kind=desk.RequestKind.HELP if alarm.category is Category.ALARM
            else desk.RequestKind.REPAIR_COMMON,
            urgency=desk.Urgency.EMERGENCY if alarm.priority <= 2 else desk.Urgency.NORMAL,
            description=f"{text} {note.strip()}".strip(), unit_id=device.unit_id,
            place="" if device.unit_id else where, caller_name=caller)
        alarm.service_request_id = req.id
    desk.dispatch(session, actor=actor, now=now, community=community, req=req, team=None,
                  assignee=assignee, note=note)
    alarm.dispatched_at, alarm.dispatched_by_id, alarm.assignee_id = now, actor.id, assignee.id
    alarm.updated_at = now
    _note(session, alarm, actor, now, "dispatched", note)
    _audit(session, actor, now, alarm, action="alarm.dispatched", assignee=assignee.username,
           service_request=req.id)
    notify(session, now=now, community=community, recipients=[assignee], kind="alarm.dispatched",
           link=f"/c/{community.id}/alarms/{alarm.id}",
           message=lambda: (_("Go to: %(kind)s", kind=str(kind_label)),
                            _("%(place)s. %(note)s", place=device.place or device.name,
                              note=note.strip())))
    session.flush()
    return alarm


def _stored_language():
    from contextlib import nullcontext

    from flask import current_app, has_request_context
    from flask_babel import force_locale

    if has_request_context():
        return nullcontext()
    return force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN"))


def alarm_of_request(session: Session, request_id: int) -> Alarm | None:
    """The alarm a service-desk request was filed for, if any."""
    return session.scalar(select(Alarm).where(Alarm.service_request_id == request_id)
                          .order_by(Alarm.id).limit(1))


def close(session: Session, *, actor: User, now: dt.datetime, alarm: Alarm, cause: Cause,
          note: str = "") -> Alarm:
    """Close with a cause: a real alarm, a false one, or a test."""
    if cause not in core.CLOSING_CAUSES:
        raise DomainError(_("Choose why the alarm is closed."), field="cause")
    _move(alarm, AlarmState.CLEARED)
    alarm.cleared_at, alarm.cleared_by_id, alarm.cause, alarm.updated_at = (
        now, actor.id, cause, now)
    _note(session, alarm, actor, now, "closed", note)
    _audit(session, actor, now, alarm, action="alarm.closed", cause=cause.value)
    session.flush()
    return alarm


def add_note(session: Session, *, actor: User, now: dt.datetime, alarm: Alarm,
             text: str) -> AlarmNote:
    if not text.strip():
        raise DomainError(_("Write the note first."), field="text")
    note = AlarmNote(alarm_id=alarm.id, author_id=actor.id, action="", text=text.strip(),
                     created_at=now)
    session.add(note)
    alarm.updated_at = now
    session.flush()
    return note


# --- arming ----------------------------------------------------------------------------------

#: Devices that can be armed and bypassed.
ARMABLE = frozenset({DeviceKind.PANEL, DeviceKind.PERIMETER})


def owns_panel(session: Session, user: User, device: Device) -> bool:
    """Whether ``user`` owns the unit of the in-home panel ``device`` now."""
    if device.kind is not DeviceKind.PANEL or device.unit_id is None:
        return False
    return session.scalar(
        select(Ownership.id).join(Person, Person.id == Ownership.person_id)
        .where(Ownership.unit_id == device.unit_id, Ownership.ended_at.is_(None),
               Person.user_id == user.id).limit(1)
    ) is not None


def panels_of(session: Session, user: User, community: Community) -> list[Device]:
    """The in-home panels of the units ``user`` owns in ``community``."""
    owned = (select(Ownership.unit_id).join(Person, Person.id == Ownership.person_id)
             .where(Ownership.ended_at.is_(None), Person.user_id == user.id))
    return list(session.scalars(
        select(Device).where(Device.community_id == community.id,
                             Device.kind == DeviceKind.PANEL, Device.unit_id.in_(owned))
        .order_by(Device.code)
    ))


def arm(session: Session, *, actor: User, now: dt.datetime, device: Device,
        action: core.ArmingAction, zone: str = "", as_staff: bool) -> ArmingCommand:
    """Arm (home or away), disarm, bypass or restore a zone: staff for any panel or perimeter
    zone, an owner for the panel of their own unit. Recorded with who and when, audited, and
    queued for the ingester to send to the device."""
    if device.kind not in ARMABLE:
        raise DomainError(_("This device cannot be armed."))
    if not as_staff and not owns_panel(session, actor, device):
        raise Forbidden(_("Only the owners of the unit or property staff can arm this panel."))
    zone = zone.strip()
    if action in (core.ArmingAction.BYPASS, core.ArmingAction.UNBYPASS):
        if not zone or not core._CODE_RE.match(zone):
            raise DomainError(_("Name the zone to bypass."), field="zone")
        zones = [z for z in (device.bypassed_zones or []) if z != zone]
        if action is core.ArmingAction.BYPASS:
            zones.append(zone)
        device.bypassed_zones = sorted(zones)
    else:
        zone = ""
        device.state = core.ARMING_STATE[action]
    command = ArmingCommand(community_id=device.community_id, device_id=device.id,
                            actor_id=actor.id, action=action, zone=zone, created_at=now)
    session.add(command)
    session.flush()
    record(session, actor=actor, action="alarm.arming", now=now,
           community_id=device.community_id, target=f"device:{device.id}",
           details={"action": action.value, "zone": zone, "as_staff": as_staff})
    return command


def arming_history(session: Session, devices: list[Device], *,
                   limit: int = 20) -> list[ArmingCommand]:
    ids = [d.id for d in devices]
    return list(session.scalars(
        select(ArmingCommand).where(ArmingCommand.device_id.in_(ids))
        .order_by(ArmingCommand.id.desc()).limit(limit)
    ))


def unsent_commands(session: Session, *, limit: int = 100) -> list[ArmingCommand]:
    return list(session.scalars(
        select(ArmingCommand).where(ArmingCommand.sent_at.is_(None))
        .order_by(ArmingCommand.id).limit(limit)
    ))


# --- what the console shows --------------------------------------------------------------------


def open_alarms(session: Session, community: Community, *, limit: int = 200) -> list[Alarm]:
    """The open alarms, most urgent first, with their devices and units loaded (the console
    asks every second: one query per table, not one per row)."""
    return list(session.scalars(
        select(Alarm).where(Alarm.community_id == community.id, Alarm.state.in_(OPEN_STATES))
        .options(selectinload(Alarm.device).selectinload(Device.unit)
                 .selectinload(Unit.building))
        .order_by(Alarm.priority, Alarm.raised_at.desc(), Alarm.id.desc()).limit(limit)
    ))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def last_change(session: Session, community: Community) -> dt.datetime:
    """When an alarm of the community last changed (the console's stream looks from there)."""
    return session.scalar(select(func.max(Alarm.updated_at)).where(
        Alarm.community_id == community.id)) or _EPOCH


def changed_since(session: Session, community: Community, since: dt.datetime, *,
                  limit: int = 200) -> list[Alarm]:
    """The community's alarms changed after ``since``, oldest change first (one indexed
    query: ``ix_alarm_updated``)."""
    return list(session.scalars(
        select(Alarm).where(Alarm.community_id == community.id, Alarm.updated_at > since)
        .options(selectinload(Alarm.device).selectinload(Device.unit)
                 .selectinload(Unit.building))
        .order_by(Alarm.updated_at, Alarm.id).limit(limit)
    ))


def recent_alarms(session: Session, community: Community, *, limit: int = 50) -> list[Alarm]:
    return list(session.scalars(
        select(Alarm).where(Alarm.community_id == community.id,
                            Alarm.state == AlarmState.CLEARED)
        .order_by(Alarm.cleared_at.desc(), Alarm.id.desc()).limit(limit)
    ))


@dataclass(frozen=True)
class FaultyDevice:
    device: Device
    #: Event types of its open faults (heartbeat overdue included even before a sweep).
    reasons: tuple[EventType, ...]


def faulty_devices(session: Session, community: Community, now: dt.datetime) -> list[FaultyDevice]:
    """Devices with an open fault, or silent beyond their heartbeat interval."""
    faults = session.execute(
        select(Alarm.device_id, Alarm.event_type).where(
            Alarm.community_id == community.id, Alarm.category == Category.FAULT,
            Alarm.state.in_(OPEN_STATES))
    ).all()
    reasons: dict[int, set[EventType]] = {}
    for device_id, event_type in faults:
        reasons.setdefault(device_id, set()).add(event_type)
    devices = {d.id: d for d in devices_of(session, community) if d.active}
    for device in devices.values():
        if core.heartbeat_overdue(device.last_seen_at,
                                  dt.timedelta(seconds=device.heartbeat_seconds), now):
            reasons.setdefault(device.id, set()).add(EventType.HEARTBEAT_LOST)
    return [FaultyDevice(devices[i], tuple(sorted(r))) for i, r in sorted(reasons.items())
            if i in devices]


def throttled_devices(session: Session, community: Community, now: dt.datetime) -> list[Device]:
    return list(session.scalars(
        select(Device).where(Device.community_id == community.id,
                             Device.throttled_until > now)
    ))


def events_of(session: Session, alarm: Alarm, *, limit: int = 100) -> list[DeviceEventRecord]:
    return list(session.scalars(
        select(DeviceEventRecord).where(DeviceEventRecord.alarm_id == alarm.id)
        .order_by(DeviceEventRecord.id.desc()).limit(limit)
    ))


def device_events(session: Session, device: Device, *,
                  limit: int = 50) -> list[DeviceEventRecord]:
    return list(session.scalars(
        select(DeviceEventRecord).where(DeviceEventRecord.device_id == device.id)
        .order_by(DeviceEventRecord.id.desc()).limit(limit)
    ))


def staff_of(session: Session, community: Community) -> list[User]:
    ids = holders_of(session, community, Role.STAFF)
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.username)))


def users_by_id(session: Session, ids) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def statistics_rows(session: Session, community: Community, *, since: dt.datetime):
    """The rows ``stats.monthly`` needs, for alarms raised since ``since``."""
    from .stats import AlarmRow

    return [AlarmRow(*row) for row in session.execute(
        select(Alarm.raised_at, Alarm.category, Alarm.cause, Alarm.acknowledged_at)
        .where(Alarm.community_id == community.id, Alarm.raised_at >= since))]


def cause_label(cause: Cause | None) -> str:
    return str(CAUSE_LABELS[cause]) if cause else ""
