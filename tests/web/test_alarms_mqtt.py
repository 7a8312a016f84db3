"""Against the real local Mosquitto: events arrive, duplicates merge, nothing is lost while the
ingester is away (QoS 1, persistent session), and a device's last will marks it offline.

A broker restart is proven on a private Mosquitto with persistence started by the test (the
shared one is never restarted). Each test uses a topic prefix and client ids of its own, so
runs in parallel (and other users of the broker) never see each other's messages. Skipped
when no broker answers.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from alarm_helpers import event_payload
from sqlalchemy import select

from app.alarms import core, services
from app.alarms.core import AlarmState, EventType
from app.alarms.ingest import Ingester
from app.models import Alarm, DeviceKind, Role, utcnow

HOST, PORT = "127.0.0.1", 1883


def _broker_up() -> bool:
    try:
        socket.create_connection((HOST, PORT), timeout=1).close()
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _broker_up(), reason="no MQTT broker on 127.0.0.1:1883")


@pytest.fixture
def world(app, make, db_session):
    with app.test_request_context():
        community = make.community()
        staff = make.user_with_role(Role.STAFF, community)
        panel = services.register_device(
            db_session, actor=staff, now=utcnow(), community=community, code="P-2-301",
            kind=DeviceKind.PANEL, name="2-301", place="2号楼 301")
        db_session.commit()
        prefix = f"cy-test-{secrets.token_hex(4)}"
        yield {"community": community, "panel": panel, "prefix": prefix, "app": app}
    _forget(f"{prefix}-ingest")


def _forget(client_id: str) -> None:
    """End a persistent session on the shared broker, so test runs leave nothing behind."""
    try:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=True, protocol=mqtt.MQTTv311)
        client.connect(HOST, PORT)
        client.disconnect()
    except OSError:
        pass


def _ingester(app, prefix, client_id=None):
    return Ingester(app.extensions["DB_SESSION_FACTORY"], host=HOST, port=PORT,
                    client_id=client_id or f"{prefix}-ingest", prefix=prefix)


def _publisher(client_id, **will):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv311)
    if will:
        client.will_set(**will)
    client.connect(HOST, PORT, keepalive=5)
    client.loop_start()
    return client


def _serve_until(ingester, condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ingester.loop(0.05)
        if condition():
            return True
    return False


def _fresh(db_session, device):
    db_session.expire_all()
    return db_session.get(type(device), device.id)


def _open(db_session, device, event_type):
    db_session.expire_all()
    return db_session.scalars(select(Alarm).where(
        Alarm.device_id == device.id, Alarm.event_type == event_type)).all()


def test_published_events_arrive_and_duplicates_merge(world, db_session):
    panel, prefix = world["panel"], world["prefix"]
    ingester = _ingester(world["app"], prefix)
    ingester.connect()
    assert _serve_until(ingester, lambda: ingester.subscribed)
    topic = core.topic_for(panel.community_id, panel.code, core.Channel.EVENT, prefix)
    pub = _publisher(f"{prefix}-dev")
    try:
        started = time.monotonic()
        with world["app"].test_request_context():
            pub.publish(topic, event_payload(panel, code=130), qos=1).wait_for_publish(2)
            assert _serve_until(ingester, lambda: _open(db_session, panel, EventType.BURGLARY))
            arrived = time.monotonic() - started
            redelivered = event_payload(panel, code=130, message_id="same")
            for _ in range(2):  # the same message twice, then a repeat of the event
                pub.publish(topic, redelivered, qos=1).wait_for_publish(2)
            pub.publish(topic, event_payload(panel, code=130), qos=1).wait_for_publish(2)
            assert _serve_until(ingester, lambda: ingester.received >= 4)
        [alarm] = _open(db_session, panel, EventType.BURGLARY)
        assert alarm.count == 3  # first, "same" once, the repeat
        assert arrived < 2.0
    finally:
        pub.loop_stop()
        pub.disconnect()
        ingester.disconnect()


def test_nothing_is_lost_while_the_ingester_is_away(world, db_session):
    """QoS 1 with a persistent session: events published while the ingester is disconnected
    are delivered when it comes back with the same client id."""
    panel, prefix, app = world["panel"], world["prefix"], world["app"]
    client_id = f"{prefix}-persistent"
    first = _ingester(app, prefix, client_id)
    first.connect()
    assert _serve_until(first, lambda: first.subscribed)
    first.disconnect()
    first.loop(0.2)
    topic = core.topic_for(panel.community_id, panel.code, core.Channel.EVENT, prefix)
    pub = _publisher(f"{prefix}-dev")
    try:
        for zone in ("1", "2", "3", "4", "5"):
            pub.publish(topic, event_payload(panel, code=130, zone=zone),
                        qos=1).wait_for_publish(2)
    finally:
        pub.loop_stop()
        pub.disconnect()
    again = _ingester(app, prefix, client_id)
    with app.test_request_context():
        again.connect()
        try:
            assert _serve_until(again, lambda: len(_open(db_session, panel,
                                                          EventType.BURGLARY)) == 5)
        finally:
            again.client.disconnect()
            _forget(client_id)


def test_a_last_will_marks_the_device_offline(world, db_session):
    panel, prefix, app = world["panel"], world["prefix"], world["app"]
    avail = core.topic_for(panel.community_id, panel.code, core.Channel.AVAILABILITY, prefix)
    ingester = _ingester(app, prefix)
    ingester.connect()
    assert _serve_until(ingester, lambda: ingester.subscribed)
    device = _publisher(f"{prefix}-dev", topic=avail, payload="offline", qos=1, retain=True)
    try:
        device.publish(avail, "online", qos=1, retain=True).wait_for_publish(2)
        with app.test_request_context():
            assert _serve_until(ingester, lambda: _fresh(db_session, panel).online)
            device.loop_stop()
            device.socket().close()  # the device dies without saying goodbye
            assert _serve_until(ingester, lambda: _open(db_session, panel, EventType.OFFLINE))
        [fault] = _open(db_session, panel, EventType.OFFLINE)
        assert fault.state is AlarmState.RAISED
        assert _fresh(db_session, panel).online is False
    finally:
        cleaner = _publisher(f"{prefix}-clean")
        cleaner.publish(avail, b"", qos=1, retain=True).wait_for_publish(2)
        cleaner.loop_stop()
        cleaner.disconnect()
        ingester.disconnect()


def test_arming_commands_are_sent_to_the_device(world, db_session, make):
    """Does the ingester publish a queued arming command on the device's command topic?"""
    panel, prefix, app = world["panel"], world["prefix"], world["app"]
    owner = make.user()
    with app.test_request_context():
        command = services.arm(db_session, actor=owner, now=utcnow(), device=panel,
                               action=core.ArmingAction.ARM_HOME, as_staff=True)
        db_session.commit()
    got = []
    device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-panel")
    device.on_message = lambda _c, _u, m: got.append(m.payload)
    device.connect(HOST, PORT)
    device.subscribe(f"{prefix}/{panel.community_id}/{panel.code}/command", qos=1)
    device.loop_start()
    ingester = _ingester(app, prefix)
    ingester.connect()
    try:
        assert _serve_until(ingester, lambda: ingester.subscribed)
        time.sleep(0.3)  # the device's subscription is in place
        assert ingester.deliver_commands() >= 1
        assert _serve_until(ingester, lambda: got, timeout=3)
        assert json.loads(got[0]) == {"id": str(command.id), "action": "arm_home", "zone": "",
                                      "ts": command.created_at.isoformat()}
        db_session.expire_all()
        assert db_session.get(type(command), command.id).sent_at is not None
    finally:
        device.loop_stop()
        device.disconnect()
        ingester.disconnect()


@pytest.fixture
def private_broker(tmp_path):
    """A Mosquitto of this test's own, with persistence, that the test may restart (the shared
    one on 1883 is never restarted)."""
    import shutil
    import subprocess

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("mosquitto is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "mosquitto.conf"
    # "user root": run as root, mosquitto would switch to its own user, who cannot write here.
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    "user root\n"
                    f"persistence_location {tmp_path}/\nautosave_interval 1\n")
    procs = []

    def start():
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(proc)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private broker did not start")

    def stop(proc):
        proc.terminate()  # Mosquitto saves its persistence file on SIGTERM
        proc.wait(timeout=5)

    yield {"port": port, "start": start, "stop": stop}
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def test_a_broker_restart_loses_nothing(world, db_session, private_broker):
    """Events published while the ingester is away survive a restart of the broker."""
    panel, prefix, app = world["panel"], world["prefix"], world["app"]
    port, client_id = private_broker["port"], f"{prefix}-restart"
    broker = private_broker["start"]()
    first = Ingester(app.extensions["DB_SESSION_FACTORY"], host=HOST, port=port,
                     client_id=client_id, prefix=prefix)
    first.connect()
    assert _serve_until(first, lambda: first.subscribed)
    first.disconnect()
    first.loop(0.2)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-dev",
                      protocol=mqtt.MQTTv311)
    pub.connect(HOST, port)
    pub.loop_start()
    topic = core.topic_for(panel.community_id, panel.code, core.Channel.EVENT, prefix)
    for zone in ("1", "2", "3"):
        pub.publish(topic, event_payload(panel, code=130, zone=zone), qos=1).wait_for_publish(2)
    pub.loop_stop()
    pub.disconnect()
    private_broker["stop"](broker)
    private_broker["start"]()
    again = Ingester(app.extensions["DB_SESSION_FACTORY"], host=HOST, port=port,
                     client_id=client_id, prefix=prefix)
    with app.test_request_context():
        again.connect()
        try:
            assert _serve_until(again, lambda: len(_open(db_session, panel,
                                                          EventType.BURGLARY)) == 3)
        finally:
            again.disconnect()
