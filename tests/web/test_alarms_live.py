"""The console's live news and the batched ingester.

- a batch stored by ``services.ingest_batch`` ends exactly as the same messages one by one
  (merges, redeliveries, restores, faults, floods, refusals), and loses nothing;
- what a session commits reaches the console's server-sent event stream (in-process), with
  ``Last-Event-ID`` catch-up and a snapshot when the id is unknown; what it rolls back does not;
- through the real local Redis (skipped when it does not answer), news published by another
  process's hub reaches this process's stream.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import socket
import time

import pytest
from alarm_helpers import event_payload
from sqlalchemy import select

from app.alarms import core, live, services
from app.alarms.core import AlarmState, EventType
from app.alarms.ingest import Ingester
from app.models import Alarm, DeviceEventRecord, DeviceKind, Role, utcnow

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def _devices(db_session, make, community):
    staff = make.user_with_role(Role.STAFF, community)
    now = utcnow()
    panel = services.register_device(db_session, actor=staff, now=now, community=community,
                                     code="P-1", kind=DeviceKind.PANEL, name="panel",
                                     place="1号楼 101", heartbeat_seconds=60)
    fence = services.register_device(db_session, actor=staff, now=now, community=community,
                                     code="F-1", kind=DeviceKind.PERIMETER, name="fence",
                                     place="北侧围墙")
    return staff, panel, fence


def _script(panel, fence, community_id):
    """A batch with every case: merges, a redelivery inside the batch, a restore, a fault and
    its restore, info, a flood of new zones, availability in the middle, refusals."""
    ts = utcnow().isoformat()

    def ev(device, **kw):
        return (core.topic_for(community_id, device.code, core.Channel.EVENT),
                event_payload(device, ts=dt.datetime.fromisoformat(ts), **kw))

    same = ev(panel, code=130, message_id="again")
    script = [ev(panel, code=130), same, same, ev(panel, code=130),  # raise, merge, dup, merge
              ev(panel, code=154), ev(panel, code=154, q=3),  # water leak, then its restore
              ev(panel, code=301), ev(panel, code=301, q=3),  # power fault, restored: cleared
              ev(panel, code=602),  # periodic test: recorded only
              (core.topic_for(community_id, panel.code, core.Channel.AVAILABILITY), b"offline"),
              ev(panel, code=110),
              (core.topic_for(community_id, "NOBODY", core.Channel.EVENT), b"{}"),
              (core.topic_for(community_id, panel.code, core.Channel.EVENT), b"not json")]
    script += [ev(fence, code=130, zone=f"z{i}") for i in range(core.FLOOD_LIMIT + 3)]
    return script


def _summary(db_session, community):
    alarms = db_session.execute(
        select(Alarm.event_type, Alarm.zone, Alarm.count, Alarm.state, Alarm.cause,
               Alarm.restored_at.is_not(None))
        .where(Alarm.community_id == community.id).order_by(Alarm.id)).all()
    events = db_session.execute(
        select(DeviceEventRecord.event_type, DeviceEventRecord.zone, DeviceEventRecord.action,
               DeviceEventRecord.alarm_id.is_not(None))
        .join(services.Device).where(services.Device.community_id == community.id)
        .order_by(DeviceEventRecord.id)).all()
    return alarms, events


def test_a_batch_ends_as_the_same_messages_one_by_one(app, make, db_session):
    """Same alarms, counts, states, throttling and raw events whichever way a batch is stored;
    every accepted message is kept (nothing lost), each refused one is named."""
    one, batch = make.community(), make.community()
    _s1, panel1, fence1 = _devices(db_session, make, one)
    _s2, panel2, fence2 = _devices(db_session, make, batch)
    for panel in (panel1, panel2):  # silent past its interval: a "no heartbeat" fault is open
        panel.last_seen_at = utcnow() - dt.timedelta(minutes=10)
    with app.app_context():
        assert {len(services.sweep_heartbeats(db_session, now=utcnow()))} == {2}
        now = utcnow()
        singles = []
        for topic, payload in _script(panel1, fence1, one.id):
            try:
                singles.append(services.ingest_message(db_session, topic=topic,
                                                       payload=payload, now=now).action)
            except core.MessageError as err:
                singles.append(err.reason)
        batched = [o.reason if isinstance(o, core.MessageError) else o.action
                   for o in services.ingest_batch(db_session, _script(panel2, fence2, batch.id),
                                                  now=now)]
        db_session.commit()
    assert batched == singles
    assert batched[:4] == ["raise", "merge", "duplicate", "merge"]
    assert "unknown_device" in batched
    assert "not_json" in batched
    assert batched[-3:] == ["throttle"] * 3
    assert _summary(db_session, batch) == _summary(db_session, one)
    alarms, events = _summary(db_session, batch)
    burglary = [a for a in alarms if a.event_type is EventType.BURGLARY and a.zone == ""]
    assert burglary[0].count == 3
    heartbeat = [a for a in alarms if a.event_type is EventType.HEARTBEAT_LOST]
    assert heartbeat[0].state is AlarmState.CLEARED  # the panel was heard again
    accepted = [a for a in batched if a not in ("duplicate", "unknown_device", "not_json")]
    assert len(events) == len(accepted) - 1  # the availability message is not an event row
    db_session.refresh(fence2)
    assert fence2.throttled_until is not None


def test_a_batch_racing_another_writer_is_stored_one_by_one(app, make, db_session):
    """A message stored by another writer between the batch's look and its insert: the unique
    message id refuses the batch, which is then stored one message at a time; nothing is lost
    and the raced message is a duplicate."""
    community = make.community()
    _staff, panel, _fence = _devices(db_session, make, community)
    db_session.commit()
    topic = core.topic_for(community.id, panel.code, core.Channel.EVENT)
    messages = [(topic, event_payload(panel, code=130, message_id=f"r{i}")) for i in range(3)]
    ingester = Ingester(app.extensions["DB_SESSION_FACTORY"])
    real = services.ingest_batch

    def racing(session, batch, **kw):
        with app.app_context():  # the other writer stores r1 first
            services.ingest_message(db_session, topic=topic, payload=messages[1][1],
                                    now=utcnow())
        db_session.commit()
        return real(session, batch, **kw)

    services.ingest_batch = racing
    try:
        with app.app_context():
            outcomes = ingester.handle_batch(messages)
    finally:
        services.ingest_batch = real
    assert [o.action for o in outcomes] == ["merge", "duplicate", "merge"]
    db_session.expire_all()
    [alarm] = db_session.scalars(select(Alarm).where(Alarm.device_id == panel.id)).all()
    assert alarm.count == 3
    assert db_session.scalar(select(services.func.count(DeviceEventRecord.id)).where(
        DeviceEventRecord.device_id == panel.id)) == 3


# --- the stream -------------------------------------------------------------------------------


class Stream:
    """Reads server-sent events from a streaming test-client response."""

    def __init__(self, response):
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        self.response = response
        self.chunks = iter(response.response)
        self.buffer = ""

    def next_event(self, timeout: float = 5.0) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                fields: dict = {}
                for line in block.split("\n"):
                    name, _sep, value = line.partition(": ")
                    if name in ("id", "event", "data"):
                        fields[name] = value
                if "event" in fields:
                    fields["data"] = json.loads(fields["data"])
                    return fields
                continue
            try:
                chunk = next(self.chunks)
            except StopIteration:
                return None
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        return None

    def close(self):
        self.response.close()


@pytest.fixture
def in_process(monkeypatch):
    monkeypatch.setattr(live, "_default", live._LOCAL)
    return live._LOCAL


def _ingest(app, db_session, device, **kw):
    with app.app_context():
        outcome = services.ingest_message(
            db_session, topic=core.topic_for(device.community_id, device.code,
                                             core.Channel.EVENT),
            payload=event_payload(device, **kw), now=utcnow())
    return outcome


def test_the_stream_delivers_what_is_committed_and_catches_up(app, client, login, make,
                                                              db_session, in_process):
    community = make.community()
    staff, panel, fence = _devices(db_session, make, community)
    db_session.commit()
    login(staff)
    url = f"/c/{community.id}/alarms/stream?lang=en"
    stream = Stream(client.get(url, buffered=False))
    try:
        first = stream.next_event()
        assert first["event"] == "snapshot"
        assert first["data"]["alarms"] == []
        started = time.monotonic()
        alarm = _ingest(app, db_session, panel, code=120).alarm  # panic
        db_session.commit()
        got = stream.next_event()
        assert time.monotonic() - started < 2.0
        assert got["event"] == "alarm"
        assert got["id"]  # from the hub: the browser can resume after it
        row = got["data"]
        assert (row["id"], row["type"], row["type_label"], row["state"], row["count"]) == (
            alarm.id, "panic", "Panic button", "raised", 1)
        assert row["url"].endswith(f"/alarms/{alarm.id}")
        seen_id = got["id"]
        # Rolled back: nothing is said.
        _ingest(app, db_session, fence, code=130, zone="9")
        db_session.rollback()
        assert stream.next_event(timeout=1.5) is None
    finally:
        stream.close()
    # Missed while away: a merge and staff acknowledging.
    _ingest(app, db_session, panel, code=120)
    db_session.commit()
    with app.test_request_context():
        services.acknowledge(db_session, actor=staff, now=utcnow(),
                             alarm=db_session.get(Alarm, alarm.id))
    db_session.commit()
    again = Stream(client.get(url, buffered=False, headers={"Last-Event-ID": seen_id}))
    try:
        merged, acked = again.next_event(), again.next_event()
        assert (merged["event"], merged["data"]["count"]) == ("alarm", 2)
        assert (acked["data"]["state"], acked["data"]["state_label"]) == (
            "acknowledged", "Acknowledged")
    finally:
        again.close()
    unknown = Stream(client.get(url, buffered=False, headers={"Last-Event-ID": "gone.1"}))
    try:
        snap = unknown.next_event()
        assert snap["event"] == "snapshot"
        assert [a["id"] for a in snap["data"]["alarms"]] == [alarm.id]
    finally:
        unknown.close()


def test_a_stream_ends_in_time_and_says_faults(app, client, login, make, db_session,
                                               in_process):
    """A stream holds its worker thread at most ``ALARMS_STREAM_SECONDS``, then ends (the
    browser reconnects); a device going offline comes as a status change with its fault."""
    app.config["ALARMS_STREAM_SECONDS"] = 2
    community = make.community()
    staff, panel, _fence = _devices(db_session, make, community)
    db_session.commit()
    login(staff)
    started = time.monotonic()
    stream = Stream(client.get(f"/c/{community.id}/alarms/stream?lang=en", buffered=False))
    assert stream.next_event()["event"] == "snapshot"
    with app.app_context():
        services.ingest_message(db_session, topic=core.topic_for(
            community.id, panel.code, core.Channel.AVAILABILITY), payload=b"offline",
            now=utcnow())
    db_session.commit()
    kinds = {}
    while (event := stream.next_event(timeout=4)) is not None:
        kinds.setdefault(event["event"], event["data"])
    assert time.monotonic() - started < 4
    assert kinds["alarm"]["type"] == "offline"
    assert kinds["status"]["faults"][0]["device"] == "panel"
    assert kinds["status"]["faults"][0]["reasons"] == ["Offline"]


def test_without_redis_the_stream_sees_an_ingester_of_another_process(app, client, login, make,
                                                                      db_session, monkeypatch):
    """No Redis and the ingester elsewhere: its hub is not ours, and the stream's look at the
    database once a second still brings the alarm."""
    elsewhere = live.Hub()  # another process's in-process hub: nobody here listens to it
    monkeypatch.setattr(live, "_default", live.Hub())
    community = make.community()
    staff, panel, _fence = _devices(db_session, make, community)
    db_session.commit()
    login(staff)
    stream = Stream(client.get(f"/c/{community.id}/alarms/stream", buffered=False))
    try:
        assert stream.next_event()["event"] == "snapshot"
        db_session.info["alarms_hub"] = elsewhere
        alarm = _ingest(app, db_session, panel, code=130).alarm
        db_session.commit()
        started = time.monotonic()
        got = stream.next_event(timeout=3)
        assert time.monotonic() - started < 2.0
        assert (got["event"], got["data"]["id"]) == ("alarm", alarm.id)
    finally:
        db_session.info.pop("alarms_hub", None)
        stream.close()


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_through_redis_another_process_reaches_the_stream(app, client, login, make, db_session,
                                                          monkeypatch):
    """The ingester's process publishes on Redis; the web process's listener hands it to its
    stream (two hubs on one Redis stand for the two processes)."""
    namespace = f"cy-test-{secrets.token_hex(4)}"
    web, ingester_side = live.RedisHub(REDIS_URL, namespace), live.RedisHub(REDIS_URL,
                                                                            namespace)
    monkeypatch.setattr(live, "_default", web)
    community = make.community()
    staff, panel, _fence = _devices(db_session, make, community)
    db_session.commit()
    login(staff)
    stream = Stream(client.get(f"/c/{community.id}/alarms/stream?lang=en", buffered=False))
    try:
        assert stream.next_event()["event"] == "snapshot"
        assert web.complete  # subscribed: the stream need not look at the database
        db_session.info["alarms_hub"] = ingester_side
        alarm = _ingest(app, db_session, panel, code=110).alarm  # fire
        db_session.commit()
        got = stream.next_event(timeout=3)
        assert got["event"] == "alarm"
        assert (got["data"]["id"], got["data"]["type_label"]) == (alarm.id, "Fire")
        # Another site on the same Redis (another namespace) is not heard.
        other = live.RedisHub(REDIS_URL, f"{namespace}-other")
        other.publish(community.id, [live.row_of(alarm)])
        assert stream.next_event(timeout=1.5) is None
    finally:
        db_session.info.pop("alarms_hub", None)
        stream.close()


def test_when_redis_fails_the_stream_looks_at_the_database(app, client, login, make,
                                                           db_session, monkeypatch):
    """Redis configured but not answering: publishing fails (logged, the alarm is stored) and
    the stream falls back to its look at the database, so the console still gets the alarm."""
    broken = live.RedisHub("redis://127.0.0.1:1/0", f"cy-test-{secrets.token_hex(4)}")
    monkeypatch.setattr(live, "_default", broken)
    community = make.community()
    staff, panel, _fence = _devices(db_session, make, community)
    db_session.commit()
    login(staff)
    stream = Stream(client.get(f"/c/{community.id}/alarms/stream", buffered=False))
    try:
        assert stream.next_event()["event"] == "snapshot"
        assert not broken.complete
        alarm = _ingest(app, db_session, panel, code=130).alarm
        db_session.commit()
        got = stream.next_event(timeout=3)
        assert (got["event"], got["data"]["id"]) == ("alarm", alarm.id)
    finally:
        stream.close()
