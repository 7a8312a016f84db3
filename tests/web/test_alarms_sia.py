"""SIA DC-09 (ADM-CID over TCP): a panel's framed, CRC-checked message is acknowledged by the
receiver and becomes the same alarm an MQTT event would; a repeat is stored once."""

from __future__ import annotations

import datetime as dt
import queue
import socket

import pytest
from pysiaalarm.event import BaseEvent
from sqlalchemy import select

from app.alarms import core, services
from app.alarms.sia import SiaReceiver, to_device_event
from app.models import Alarm, DeviceKind, Notification, Role, utcnow


def sia_line(account: str, code: int, *, q: int = 1, zone: int = 3, seq: int = 1,
             when: dt.datetime | None = None) -> bytes:
    """An ADM-CID message as a panel frames it: CRC, length, type, sequence, account, data."""
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%H:%M:%S,%m-%d-%Y")
    body = f'"ADM-CID"{seq:04d}R0L0#{account}[#{account}|{q}{code:03d} 01 {zone:03d}]_{stamp}'
    return f"\n{BaseEvent._crc_calc(body)}{len(body):04X}{body}\r".encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_to_device_event_maps_contact_id_and_refuses_unknown_codes():
    now = utcnow()
    event = to_device_event(full_message="x", event_type="130", qualifier="3", zone="007",
                            timestamp=None, now=now)
    assert (event.event_type, event.qualifier, event.zone, event.code) == (
        core.EventType.BURGLARY, core.Qualifier.RESTORE, "7", 130)
    assert event.message_id == to_device_event(
        full_message="x", event_type="130", qualifier="3", zone="007", timestamp=None,
        now=now).message_id
    with pytest.raises(core.MessageError):
        to_device_event(full_message="x", event_type="999", qualifier="1", zone="1",
                        timestamp=None, now=now)


def test_a_panel_reports_over_sia(app, make, db_session):
    community = make.community()
    make.user_with_role(Role.STAFF, community)
    panel = services.register_device(
        db_session, actor=None, now=utcnow(), community=community, code="P-SIA-1",
        kind=DeviceKind.PANEL, name="3-1201", place="3号楼 1201", sia_account="a1b2c3")
    db_session.commit()
    port = _free_port()
    events: queue.Queue = queue.Queue()
    receiver = SiaReceiver(app.extensions["DB_SESSION_FACTORY"], host="127.0.0.1", port=port,
                           hand_over=events.put, app=app)
    receiver.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            line = sia_line("A1B2C3", 120, zone=3, seq=7)  # panic: staff get a notice too
            for message in (line, line, sia_line("A1B2C3", 120, zone=3, seq=8)):
                conn.sendall(message)
                assert b"ACK" in conn.recv(1024)
            conn.sendall(sia_line("FFFF", 130))  # an account nobody registered
            assert b"NAK" in conn.recv(1024)
        for _ in range(3):  # in this thread, but without a context: handle pushes the app's
            receiver.handle(events.get(timeout=5))
    finally:
        receiver.stop()
    [alarm] = db_session.scalars(select(Alarm).where(Alarm.device_id == panel.id)).all()
    assert (alarm.event_type, alarm.zone, alarm.count) == (core.EventType.PANIC, "3", 2)
    assert db_session.scalar(select(Notification).where(Notification.kind == "alarm.raised"))
