"""The pure core of alarm ingestion: topics, payloads, Contact ID, merging, the lifecycle."""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.alarms import core
from app.alarms.core import (
    Action,
    AlarmState,
    Category,
    Channel,
    EventType,
    MessageError,
    OpenAlarm,
    Qualifier,
)

NOW = dt.datetime(2026, 12, 3, 6, 0, tzinfo=dt.UTC)
SECRET = "s3cret-of-the-panel"


def body(**fields) -> dict:
    base = {"id": "1", "ts": "2026-12-03T05:59:58Z", "code": 130, "q": 1, "zone": "3"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def payload(device="P-1-101", secret=SECRET, **fields) -> bytes:
    b = body(**fields)
    b["sig"] = core.sign(secret, device, b)
    return json.dumps(b).encode()


def test_the_core_imports_only_the_standard_library():
    """Does core.py stay pure (no Flask, no SQLAlchemy, no site code)?"""
    tree = ast.parse(Path(core.__file__).read_text())
    names = {alias.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert names <= set(sys.stdlib_module_names) | {"__future__"}, names


def test_a_signed_event_is_parsed():
    event = core.parse_event(payload(), device_code="P-1-101", now=NOW, secret=SECRET)
    assert event.event_type is EventType.BURGLARY
    assert event.code == 130
    assert event.qualifier is Qualifier.NEW
    assert event.zone == "3"
    assert event.occurred_at == dt.datetime(2026, 12, 3, 5, 59, 58, tzinfo=dt.UTC)
    assert event.category is Category.ALARM


@pytest.mark.parametrize(("code", "kind", "category"), [
    (110, EventType.FIRE, Category.ALARM), (120, EventType.PANIC, Category.ALARM),
    (130, EventType.BURGLARY, Category.ALARM), (144, EventType.TAMPER, Category.ALARM),
    (154, EventType.WATER_LEAK, Category.ALARM), (204, EventType.WATER_LOW, Category.ALARM),
    (301, EventType.AC_LOSS, Category.FAULT), (302, EventType.LOW_BATTERY, Category.FAULT),
    (350, EventType.COMM_TROUBLE, Category.FAULT), (401, EventType.OPEN_CLOSE, Category.INFO),
    (426, EventType.DOOR_HELD_OPEN, Category.ALARM), (570, EventType.BYPASS, Category.INFO),
    (602, EventType.PERIODIC_TEST, Category.INFO),
])
def test_contact_id_mapping(code, kind, category):
    """Does each Contact ID code of the issue mean what alarm-industry practice says?"""
    event = core.parse_event(payload(code=code), device_code="P-1-101", now=NOW, secret=SECRET)
    assert event.event_type is kind
    assert event.category is category


def test_every_event_type_has_a_category_and_priority():
    assert set(core.TYPE_INFO) == set(EventType)
    assert core.priority_of(EventType.FIRE) == 1


def test_an_event_by_type_name_and_a_restore():
    event = core.parse_event(payload(code=None, type="water_high", q=3), device_code="P-1-101",
                             now=NOW, secret=SECRET)
    assert event.event_type is EventType.WATER_HIGH
    assert event.is_restore


@pytest.mark.parametrize(("fields", "reason"), [
    ({"code": 999}, "unknown_code"),
    ({"code": None, "type": "teleport"}, "unknown_type"),
    ({"code": None, "type": "offline"}, "unknown_type"),
    ({"q": 2}, "bad_field"),
    ({"q": True}, "bad_field"),
    ({"ts": "yesterday"}, "bad_field"),
    ({"ts": "2026-12-03T05:59:58"}, "bad_field"),
    ({"ts": "2026-12-03T07:00:00Z"}, "bad_field"),
    ({"id": ""}, "bad_field"),
    ({"id": "a b"}, "bad_field"),
    ({"zone": "x/y"}, "bad_field"),
])
def test_bad_fields_are_refused_with_a_reason(fields, reason):
    with pytest.raises(MessageError) as err:
        core.parse_event(payload(**fields), device_code="P-1-101", now=NOW, secret=SECRET)
    assert err.value.reason == reason


def test_a_wrong_signature_or_another_devices_signature_is_refused():
    with pytest.raises(MessageError, match="bad_signature"):
        core.parse_event(payload(secret="other"), device_code="P-1-101", now=NOW, secret=SECRET)
    with pytest.raises(MessageError, match="bad_signature"):
        core.parse_event(payload(device="P-1-102"), device_code="P-1-101", now=NOW,
                         secret=SECRET)
    tampered = json.loads(payload())
    tampered["code"] = 602
    with pytest.raises(MessageError, match="bad_signature"):
        core.parse_event(json.dumps(tampered).encode(), device_code="P-1-101", now=NOW,
                         secret=SECRET)


def test_oversized_and_non_json_payloads_are_refused():
    with pytest.raises(MessageError, match="too_large"):
        core.parse_event(b"{" + b" " * core.MAX_PAYLOAD + b"}", device_code="d", now=NOW)
    for junk in (b"\xff\xfe", b"[1, 2]", b"null", b"{"):
        with pytest.raises(MessageError):
            core.parse_event(junk, device_code="d", now=NOW)


@given(st.binary(max_size=600))
def test_the_parser_never_fails_other_than_with_message_error_on_bytes(data):
    """Whatever bytes arrive, does the parser answer an event or a MessageError, nothing else?"""
    with contextlib.suppress(MessageError):
        core.parse_event(data, device_code="d", now=NOW, secret=SECRET)


#: Plausible and implausible values for every field: near misses find more than noise does.
_json_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2, max_value=1000),
    st.sampled_from(["1", "130", "fire", "2026-12-03T05:59:58Z", "2026-12-03", "", "online"]),
    st.text(max_size=12), st.lists(st.integers(), max_size=2),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(st.dictionaries(st.sampled_from(["id", "ts", "code", "type", "q", "zone", "sig", "x"]),
                       _json_values, max_size=7))
def test_the_parser_never_fails_other_than_with_message_error_on_json(fields):
    with contextlib.suppress(MessageError):
        core.parse_event(json.dumps(fields).encode(), device_code="d", now=NOW)


@given(
    message_id=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\Z"),
    code=st.sampled_from(sorted(core.CONTACT_ID)),
    q=st.sampled_from([1, 3, 6]),
    zone=st.one_of(st.just(""), st.from_regex(r"\A[A-Za-z0-9]{1,8}\Z")),
    seconds=st.integers(min_value=-86400 * 30, max_value=299),
)
def test_every_well_formed_signed_event_round_trips(message_id, code, q, zone, seconds):
    """Does every valid event a device can sign parse back to what it said?"""
    ts = (NOW + dt.timedelta(seconds=seconds)).isoformat()
    data = payload(id=message_id, code=code, q=q, zone=zone, ts=ts)
    event = core.parse_event(data, device_code="P-1-101", now=NOW, secret=SECRET)
    assert (event.message_id, event.code, event.qualifier.value, event.zone) == (
        message_id, code, q, zone)
    assert event.event_type is core.CONTACT_ID[code]
    assert event.occurred_at == NOW + dt.timedelta(seconds=seconds)


def test_topics():
    topic = core.topic_for(7, "P-1-101", Channel.EVENT)
    assert topic == "courtyard/7/P-1-101/event"
    parsed = core.parse_topic(topic)
    assert (parsed.community_id, parsed.device_code, parsed.channel) == (7, "P-1-101",
                                                                         Channel.EVENT)
    assert core.subscriptions("x") == ["x/+/+/event", "x/+/+/availability", "x/+/+/state"]
    for bad in ("courtyard/7/P/other", "other/7/P/event", "courtyard/x/P/event",
                "courtyard/7/P/event/more", "courtyard/7/a b/event", "courtyard/١/P/event"):
        with pytest.raises(MessageError):
            core.parse_topic(bad)


@given(st.text(max_size=80))
def test_parse_topic_never_fails_otherwise(topic):
    with contextlib.suppress(MessageError):
        core.parse_topic(topic)


def test_availability_and_state():
    assert core.parse_availability(b"online") is True
    assert core.parse_availability(b"offline\n") is False
    assert core.parse_state(b"armed_away") is core.PanelState.ARMED_AWAY
    with pytest.raises(MessageError):
        core.parse_availability(b"maybe")
    with pytest.raises(MessageError):
        core.parse_state(b"on fire")


def _event(code=130, q=1):
    return core.parse_event(payload(code=code, q=q), device_code="P-1-101", now=NOW,
                            secret=SECRET)


def test_decide():
    """New alarm, merge within the window, a new one after it, restores, info, floods."""
    recent = OpenAlarm(last_at=NOW - dt.timedelta(minutes=2))
    old = OpenAlarm(last_at=NOW - core.MERGE_WINDOW - dt.timedelta(seconds=1))
    assert core.decide(_event(), open_alarm=None, recent_new=0, now=NOW) is Action.RAISE
    assert core.decide(_event(), open_alarm=recent, recent_new=0, now=NOW) is Action.MERGE
    assert core.decide(_event(), open_alarm=old, recent_new=0, now=NOW) is Action.RAISE
    assert core.decide(_event(q=3), open_alarm=recent, recent_new=0, now=NOW) is Action.RESTORE
    assert core.decide(_event(q=3), open_alarm=None, recent_new=0, now=NOW) is Action.RECORD
    assert core.decide(_event(602), open_alarm=None, recent_new=0, now=NOW) is Action.RECORD
    assert core.decide(_event(), open_alarm=None, recent_new=core.FLOOD_LIMIT,
                       now=NOW) is Action.THROTTLE
    # a merge is cheap and keeps the count honest even while the device floods
    assert core.decide(_event(), open_alarm=recent, recent_new=99, now=NOW) is Action.MERGE


def test_heartbeat_overdue():
    minute = dt.timedelta(minutes=1)
    assert not core.heartbeat_overdue(None, minute, NOW)
    assert not core.heartbeat_overdue(NOW - minute, minute, NOW)
    assert core.heartbeat_overdue(NOW - minute - core.HEARTBEAT_GRACE - dt.timedelta(seconds=1),
                                  minute, NOW)


def test_lifecycle():
    """Raised → acknowledged → dispatched → cleared; nothing leaves cleared; no going back."""
    core.check_transition(AlarmState.RAISED, AlarmState.ACKNOWLEDGED)
    core.check_transition(AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED)
    core.check_transition(AlarmState.RAISED, AlarmState.DISPATCHED)
    core.check_transition(AlarmState.DISPATCHED, AlarmState.CLEARED)
    for state, target in [(AlarmState.CLEARED, AlarmState.RAISED),
                          (AlarmState.DISPATCHED, AlarmState.ACKNOWLEDGED),
                          (AlarmState.ACKNOWLEDGED, AlarmState.ACKNOWLEDGED),
                          (AlarmState.CLEARED, AlarmState.CLEARED)]:
        with pytest.raises(core.TransitionError):
            core.check_transition(state, target)
    assert AlarmState.CLEARED not in core.OPEN_STATES


def test_monthly_statistics():
    """Are alarms counted in the community's month, with causes and the median time to ack?"""
    from zoneinfo import ZoneInfo

    from app.alarms.stats import AlarmRow, monthly

    tz = ZoneInfo("Asia/Shanghai")
    now = dt.datetime(2026, 12, 3, 6, 0, tzinfo=dt.UTC)
    # 30 Nov 17:00 UTC is already 1 December in Shanghai.
    dec = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    nov = dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC)
    rows = [
        AlarmRow(dec, Category.ALARM, core.Cause.FALSE, dec + dt.timedelta(seconds=30)),
        AlarmRow(dec, Category.ALARM, core.Cause.REAL, dec + dt.timedelta(seconds=90)),
        AlarmRow(dec, Category.FAULT, core.Cause.RESTORED, None),
        AlarmRow(nov, Category.ALARM, None, None),
        AlarmRow(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), Category.ALARM, None, None),  # too old
    ]
    months = monthly(rows, now=now, tz=tz, months=12)
    assert [m.label for m in months][-3:] == ["2026-10", "2026-11", "2026-12"]
    assert months[0].label == "2026-01"
    last, before = months[-1], months[-2]
    assert (last.alarms, last.faults, before.alarms) == (2, 1, 1)
    assert last.causes == {core.Cause.FALSE: 1, core.Cause.REAL: 1}
    assert last.median_ack_seconds == 60
    assert before.median_ack_seconds is None
    assert sum(m.alarms for m in months) == 3
