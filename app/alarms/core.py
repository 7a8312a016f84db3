"""The pure core of alarm ingestion: topics, payloads, event types, merging and the lifecycle.

Standard library only (no Flask, no SQLAlchemy): the MQTT ingester, the HTTP endpoint and the
tests all call these functions, so a rule (what a Contact ID code means, when two events are one
alarm, when a device floods) is written once.

Topic layout (``<prefix>`` is ``courtyard`` unless configured)::

    <prefix>/<community id>/<device code>/event         QoS 1, not retained: one event
    <prefix>/<community id>/<device code>/availability  QoS 1, retained: "online" / "offline"
                                                         (the device's last will is "offline")
    <prefix>/<community id>/<device code>/state         QoS 1, retained: panel or zone state

Event payload (UTF-8 JSON, at most ``MAX_PAYLOAD`` bytes)::

    {"id": "42",                     # unique per device: a redelivery carries the same id
     "ts": "2026-12-03T14:00:00Z",   # when it happened (ISO 8601 with a zone)
     "code": 130, "q": 1,            # Contact ID event code and qualifier (1 new, 3 restore)
     "type": "burglary",             # or an event type by name instead of "code"
     "zone": "3",                    # optional: the zone or sensor of the device
     "sig": "<hex>"}                 # HMAC-SHA256 of signing_text(...) with the device secret

The HTTP endpoint takes the same body with the device secret as a bearer token instead of
``sig``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

DEFAULT_PREFIX = "courtyard"
MAX_PAYLOAD = 4096
#: Events dated further ahead than this are refused (a device with a wrong clock).
MAX_CLOCK_AHEAD = dt.timedelta(minutes=5)
#: The same event from the same device and zone within this window is one alarm, counted.
MERGE_WINDOW = dt.timedelta(minutes=10)
#: More new events than this from one device within FLOOD_WINDOW: the device is throttled.
FLOOD_LIMIT = 20
FLOOD_WINDOW = dt.timedelta(minutes=1)
#: How long a heartbeat may be late before the device counts as faulty.
HEARTBEAT_GRACE = dt.timedelta(seconds=30)

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class MessageError(ValueError):
    """A device message that cannot be accepted; ``reason`` is a stable code for the log."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Category(enum.StrEnum):
    #: Someone must look: fire, intrusion, water, a door held open.
    ALARM = "alarm"
    #: The equipment is not working: power, battery, line, video, communication.
    FAULT = "fault"
    #: Recorded, nothing to handle: periodic tests, openings by users, bypasses.
    INFO = "info"


class EventType(enum.StrEnum):
    FIRE = "fire"
    PANIC = "panic"
    BURGLARY = "burglary"
    TAMPER = "tamper"
    WATER_LEAK = "water_leak"
    WATER_LOW = "water_low"
    WATER_HIGH = "water_high"
    DOOR_HELD_OPEN = "door_held_open"
    MOTION = "motion"
    AC_LOSS = "ac_loss"
    LOW_BATTERY = "low_battery"
    COMM_TROUBLE = "comm_trouble"
    LINE_FAULT = "line_fault"
    VIDEO_LOSS = "video_loss"
    #: No heartbeat within the device's interval (found by the site, not sent by a device).
    HEARTBEAT_LOST = "heartbeat_lost"
    #: The broker published the device's last will, or the device said "offline".
    OFFLINE = "offline"
    OPEN_CLOSE = "open_close"
    BYPASS = "bypass"
    PERIODIC_TEST = "periodic_test"


E = EventType

#: Contact ID (SIA DC-05) event codes and the event type each one means here.
CONTACT_ID: dict[int, EventType] = {
    110: E.FIRE, 111: E.FIRE, 120: E.PANIC, 121: E.PANIC, 122: E.PANIC, 130: E.BURGLARY,
    131: E.BURGLARY, 132: E.BURGLARY, 134: E.BURGLARY, 144: E.TAMPER, 145: E.TAMPER,
    154: E.WATER_LEAK, 204: E.WATER_LOW, 301: E.AC_LOSS, 302: E.LOW_BATTERY,
    350: E.COMM_TROUBLE, 371: E.LINE_FAULT, 372: E.LINE_FAULT, 401: E.OPEN_CLOSE,
    426: E.DOOR_HELD_OPEN, 570: E.BYPASS, 602: E.PERIODIC_TEST,
}

#: Category and priority (1 most urgent) of every event type.
TYPE_INFO: dict[EventType, tuple[Category, int]] = {
    E.FIRE: (Category.ALARM, 1), E.PANIC: (Category.ALARM, 1),
    E.BURGLARY: (Category.ALARM, 2), E.WATER_LEAK: (Category.ALARM, 2),
    E.WATER_LOW: (Category.ALARM, 2), E.WATER_HIGH: (Category.ALARM, 2),
    E.TAMPER: (Category.ALARM, 3), E.DOOR_HELD_OPEN: (Category.ALARM, 3),
    E.MOTION: (Category.ALARM, 3),
    E.AC_LOSS: (Category.FAULT, 3), E.LOW_BATTERY: (Category.FAULT, 4),
    E.COMM_TROUBLE: (Category.FAULT, 3), E.LINE_FAULT: (Category.FAULT, 3),
    E.VIDEO_LOSS: (Category.FAULT, 3), E.HEARTBEAT_LOST: (Category.FAULT, 3),
    E.OFFLINE: (Category.FAULT, 3),
    E.OPEN_CLOSE: (Category.INFO, 5), E.BYPASS: (Category.INFO, 5),
    E.PERIODIC_TEST: (Category.INFO, 5),
}


def category_of(event_type: EventType) -> Category:
    return TYPE_INFO[event_type][0]


def priority_of(event_type: EventType) -> int:
    return TYPE_INFO[event_type][1]


class Qualifier(enum.IntEnum):
    """Contact ID qualifier: 1 a new event (6 "still present" counts as new), 3 a restore."""

    NEW = 1
    RESTORE = 3
    STILL_PRESENT = 6


class Channel(enum.StrEnum):
    EVENT = "event"
    AVAILABILITY = "availability"
    STATE = "state"


#: The site's commands to a device (arm, disarm, bypass) go out on this channel; the
#: ingester does not subscribe to it.
COMMAND_CHANNEL = "command"


@dataclass(frozen=True)
class Topic:
    prefix: str
    community_id: int
    device_code: str
    channel: Channel


def topic_for(community_id: int, device_code: str, channel: Channel,
              prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/{community_id}/{device_code}/{channel.value}"


def subscriptions(prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The topic filters the ingester subscribes to (each at QoS 1)."""
    return [f"{prefix}/+/+/{channel.value}" for channel in Channel]


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> Topic:
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != prefix:
        raise MessageError("bad_topic", topic[:200])
    _, community, code, channel = parts
    if not community.isascii() or not community.isdigit() or len(community) > 9:
        raise MessageError("bad_topic", "community id")
    if not _CODE_RE.match(code):
        raise MessageError("bad_topic", "device code")
    try:
        chan = Channel(channel)
    except ValueError:
        raise MessageError("bad_topic", "channel") from None
    return Topic(prefix, int(community), code, chan)


@dataclass(frozen=True)
class DeviceEvent:
    """One event as a device reported it, validated."""

    message_id: str
    occurred_at: dt.datetime
    event_type: EventType
    qualifier: Qualifier
    zone: str = ""
    #: The Contact ID code when the device sent one.
    code: int | None = None

    @property
    def category(self) -> Category:
        return category_of(self.event_type)

    @property
    def is_restore(self) -> bool:
        return self.qualifier is Qualifier.RESTORE


def signing_text(device_code: str, message_id: str, ts: str, kind: str, qualifier: int,
                 zone: str) -> bytes:
    """What ``sig`` covers: the device, the message id and everything that gives it meaning."""
    return "|".join((device_code, message_id, ts, kind, str(qualifier), zone)).encode()


def sign(secret: str, device_code: str, body: dict) -> str:
    """The ``sig`` a device with ``secret`` puts on ``body`` (used by simulators and tests)."""
    kind = str(body["code"]) if "code" in body else str(body.get("type", ""))
    text = signing_text(device_code, str(body["id"]), str(body["ts"]), kind,
                        int(body.get("q", 1)), str(body.get("zone", "")))
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def parse_event(payload: bytes, *, device_code: str, now: dt.datetime,
                secret: str | None = None) -> DeviceEvent:
    """Validate an event payload; with ``secret``, its signature too. Raises ``MessageError``."""
    if len(payload) > MAX_PAYLOAD:
        raise MessageError("too_large", str(len(payload)))
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MessageError("not_json") from None
    if not isinstance(body, dict):
        raise MessageError("not_object")
    message_id = body.get("id")
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if not isinstance(message_id, str) or not _CODE_RE.match(message_id):
        raise MessageError("bad_field", "id")
    occurred_at = _parse_ts(body.get("ts"))
    if occurred_at > now + MAX_CLOCK_AHEAD:
        raise MessageError("bad_field", "ts in the future")
    event_type, code = _parse_kind(body)
    qualifier = body.get("q", 1)
    if isinstance(qualifier, bool) or qualifier not in {q.value for q in Qualifier}:
        raise MessageError("bad_field", "q")
    zone = body.get("zone", "")
    if isinstance(zone, int) and not isinstance(zone, bool):
        zone = str(zone)
    if not isinstance(zone, str) or (zone and not _CODE_RE.match(zone)):
        raise MessageError("bad_field", "zone")
    if secret is not None:
        given = body.get("sig")
        if not isinstance(given, str) or not hmac.compare_digest(
            given, sign(secret, device_code, body)
        ):
            raise MessageError("bad_signature")
    return DeviceEvent(message_id, occurred_at, event_type, Qualifier(qualifier), zone, code)


def _parse_ts(value) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise MessageError("bad_field", "ts")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MessageError("bad_field", "ts") from None
    if parsed.tzinfo is None:
        raise MessageError("bad_field", "ts without a time zone")
    return parsed.astimezone(dt.UTC)


def _parse_kind(body: dict) -> tuple[EventType, int | None]:
    if "code" in body:
        code = body["code"]
        if isinstance(code, str) and code.isascii() and code.isdigit():
            code = int(code)
        if isinstance(code, bool) or not isinstance(code, int) or code not in CONTACT_ID:
            raise MessageError("unknown_code", str(code)[:10])
        return CONTACT_ID[code], code
    kind = body.get("type")
    try:
        event_type = EventType(kind)
    except ValueError:
        raise MessageError("unknown_type", str(kind)[:40]) from None
    if event_type in (E.HEARTBEAT_LOST, E.OFFLINE):
        raise MessageError("unknown_type", "reserved for the site")
    return event_type, None


def parse_availability(payload: bytes) -> bool:
    """``online`` → True, ``offline`` → False (anything else is refused)."""
    text = payload.decode("utf-8", errors="replace").strip().lower()
    if text not in ("online", "offline"):
        raise MessageError("bad_availability", text[:20])
    return text == "online"


class PanelState(enum.StrEnum):
    ARMED_AWAY = "armed_away"
    ARMED_HOME = "armed_home"
    DISARMED = "disarmed"
    TRIGGERED = "triggered"


def parse_state(payload: bytes) -> PanelState:
    text = payload.decode("utf-8", errors="replace").strip().lower()
    try:
        return PanelState(text)
    except ValueError:
        raise MessageError("bad_state", text[:20]) from None


# --- deciding what an event does --------------------------------------------------------------


class Action(enum.StrEnum):
    #: Start a new alarm (or fault).
    RAISE = "raise"
    #: Count it into the open alarm of the same device, type and zone.
    MERGE = "merge"
    #: The condition ended: mark the open alarm restored (a fault is cleared by it).
    RESTORE = "restore"
    #: Keep the raw event only.
    RECORD = "record"
    #: Keep the raw event only, because the device floods.
    THROTTLE = "throttle"


@dataclass(frozen=True)
class OpenAlarm:
    """What the decision needs to know of the open alarm of the same device, type and zone."""

    last_at: dt.datetime


def decide(event: DeviceEvent, *, open_alarm: OpenAlarm | None, recent_new: int,
           now: dt.datetime, merge_window: dt.timedelta = MERGE_WINDOW,
           flood_limit: int = FLOOD_LIMIT, bypassed: bool = False) -> Action:
    """What to do with a new (not duplicate) event.

    ``recent_new`` is how many new alarms and merges the device caused within ``FLOOD_WINDOW``
    before this one; ``bypassed`` says the event's zone is bypassed (its alarms are recorded
    only; its faults still count: a bypassed zone with a cut line is still broken).
    """
    if event.is_restore:
        return Action.RESTORE if open_alarm is not None else Action.RECORD
    if event.category is Category.INFO:
        return Action.RECORD
    if bypassed and event.category is Category.ALARM:
        return Action.RECORD
    if open_alarm is not None and now - open_alarm.last_at <= merge_window:
        return Action.MERGE
    if recent_new >= flood_limit:
        return Action.THROTTLE
    return Action.RAISE


def heartbeat_overdue(last_seen: dt.datetime | None, interval: dt.timedelta,
                      now: dt.datetime, grace: dt.timedelta = HEARTBEAT_GRACE) -> bool:
    """Whether a device that should be heard every ``interval`` has been silent too long."""
    if last_seen is None:
        return False  # never heard: not installed yet, not a fault
    return now - last_seen > interval + grace


class ArmingAction(enum.StrEnum):
    ARM_AWAY = "arm_away"
    ARM_HOME = "arm_home"
    DISARM = "disarm"
    BYPASS = "bypass"
    UNBYPASS = "unbypass"


#: The panel state each arming action leads to (bypassing leaves the state as it is).
ARMING_STATE = {
    ArmingAction.ARM_AWAY: PanelState.ARMED_AWAY,
    ArmingAction.ARM_HOME: PanelState.ARMED_HOME,
    ArmingAction.DISARM: PanelState.DISARMED,
}


def command_payload(command_id: int, action: ArmingAction, zone: str, ts: dt.datetime) -> bytes:
    """What the site publishes (QoS 1) on ``<prefix>/<community>/<device>/command``."""
    return json.dumps({"id": str(command_id), "action": action.value, "zone": zone,
                       "ts": ts.isoformat()}).encode()


# --- the lifecycle of an alarm -----------------------------------------------------------------


class AlarmState(enum.StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    CLEARED = "cleared"


class Cause(enum.StrEnum):
    """Why an alarm was closed."""

    REAL = "real"
    FALSE = "false"
    TEST = "test"
    #: A fault that the device's restore ended (set by the site, not chosen by staff).
    RESTORED = "restored"


S = AlarmState
TRANSITIONS: dict[AlarmState, frozenset[AlarmState]] = {
    S.RAISED: frozenset({S.ACKNOWLEDGED, S.DISPATCHED, S.CLEARED}),
    S.ACKNOWLEDGED: frozenset({S.DISPATCHED, S.CLEARED}),
    S.DISPATCHED: frozenset({S.CLEARED}),
    S.CLEARED: frozenset(),
}
OPEN_STATES = frozenset({S.RAISED, S.ACKNOWLEDGED, S.DISPATCHED})
#: Causes staff may choose when closing.
CLOSING_CAUSES = (Cause.REAL, Cause.FALSE, Cause.TEST)


class TransitionError(ValueError):
    def __init__(self, state: AlarmState, target: AlarmState):
        super().__init__(f"{state} → {target}")
        self.state = state
        self.target = target


def check_transition(state: AlarmState, target: AlarmState) -> None:
    if target not in TRANSITIONS[state]:
        raise TransitionError(state, target)
