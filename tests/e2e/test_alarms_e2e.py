"""In real Chromium: an event published over MQTT appears on the staff's alarm console, pushed
by server-sent events, with the ingester running as ``flask alarms listen`` runs it, in well
under 2 seconds."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy.orm import sessionmaker

from app.alarms import core, services
from app.alarms.ingest import Ingester
from app.auth.services import hash_password
from app.db import engine_of
from app.models import Community, DeviceKind, Role, RoleGrant, User, utcnow

pytestmark = pytest.mark.e2e
PASSWORD = "console staff password"


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def console(live_server, small_community):
    if not _broker_up():
        pytest.skip("no MQTT broker on 127.0.0.1:1883")
    app, prefix = live_server.app, f"cy-e2e-{secrets.token_hex(4)}"
    with app.test_request_context(), live_server.session() as s:
        staff = User(username=f"staff-{prefix}", display_name="唐春梅",
                     password_hash=hash_password(PASSWORD), created_at=utcnow())
        s.add(staff)
        s.flush()
        s.add(RoleGrant(user_id=staff.id, role=Role.STAFF,
                        community_id=small_community.community_id, granted_at=utcnow()))
        device = services.register_device(
            s, actor=None, now=utcnow(), community=s.get(Community, small_community.community_id),
            code=f"Z-{prefix}", kind=DeviceKind.PERIMETER, name="北侧围墙防区",
            place="北侧围墙", map_x=0.5, map_y=0.05)
        s.commit()
        code, secret, username = device.code, device.secret, staff.username
    ingester = Ingester(sessionmaker(engine_of(app), expire_on_commit=False),
                        client_id=f"{prefix}-ingest", prefix=prefix)
    stop = threading.Event()

    def run():
        with app.app_context():
            ingester.run_forever(stop=stop.is_set)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not ingester.subscribed and time.monotonic() < deadline:
        time.sleep(0.05)
    yield {"prefix": prefix, "code": code, "secret": secret, "username": username,
           "community_id": small_community.community_id}
    stop.set()
    thread.join(timeout=5)
    cleanup = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-ingest",
                          clean_session=True)
    cleanup.connect("127.0.0.1", 1883)
    cleanup.disconnect()


def test_an_mqtt_event_appears_on_the_console(page, live_server, console):
    page.goto(f"{live_server.url}/login")
    page.fill("#login", console["username"])
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/c/{console['community_id']}/alarms?lang=en")
    page.wait_for_selector("#alarm-rows tr.none")
    # The console listens to the server-sent event stream (not the polling fallback).
    page.wait_for_selector("#alarm-rows[data-live=stream]", timeout=5000)
    page.click("#sound-toggle")

    body = {"id": "e2e-1", "ts": utcnow().isoformat(), "code": 130, "q": 1, "zone": "2"}
    body["sig"] = core.sign(console["secret"], console["code"], body)
    device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{console['prefix']}-dev")
    device.connect("127.0.0.1", 1883)
    device.loop_start()
    try:
        started = time.monotonic()
        device.publish(core.topic_for(console["community_id"], console["code"],
                                      core.Channel.EVENT, console["prefix"]),
                       json.dumps(body), qos=1).wait_for_publish(2)
        page.wait_for_selector("#alarm-rows tr.alarm-row", timeout=2000)
        elapsed = time.monotonic() - started
    finally:
        device.loop_stop()
        device.disconnect()
    row = page.locator("#alarm-rows tr.alarm-row").first.inner_text()
    assert "Intrusion" in row
    assert "zone 2" in row
    assert page.locator("#site-map circle.alarmed").count() == 1
    assert elapsed < 2.0
    # Staff acknowledge from the console row; the console comes back with the alarm handled.
    page.click("#alarm-rows tr.alarm-row button")
    page.wait_for_selector("#alarm-rows tr.alarm-row:not(.fresh)")
    assert "Acknowledged" in page.locator("#alarm-rows tr.alarm-row").first.inner_text()
