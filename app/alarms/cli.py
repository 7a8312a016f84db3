"""Commands: ``alarms listen`` (or ``alarms-ingest``), ``alarms simulate``, ``alarms sweep``."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .. import db


def _ingester(client_id: str | None = None):
    from .ingest import Ingester

    cfg = current_app.config
    factory = current_app.extensions.get("DB_SESSION_FACTORY") or current_app.extensions[
        "DB_SESSIONMAKER"]
    return Ingester(factory, host=cfg["MQTT_HOST"], port=cfg["MQTT_PORT"],
                    client_id=client_id or cfg["ALARMS_CLIENT_ID"],
                    prefix=cfg["ALARMS_TOPIC_PREFIX"])


def _listen() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    ingester = _ingester()
    cfg = current_app.config
    click.echo(f"Listening on mqtt://{cfg['MQTT_HOST']}:{cfg['MQTT_PORT']} "
               f"topics {cfg['ALARMS_TOPIC_PREFIX']}/+/+/(event|availability|state), QoS 1")
    try:
        ingester.run_forever()
    except KeyboardInterrupt:
        ingester.disconnect()


def init_app(app: Flask) -> None:
    group = AppGroup("alarms", help="Device alarms: the MQTT ingester and the simulator.")

    @group.command("listen")
    def listen_cmd() -> None:
        """Run the MQTT ingester until interrupted (a persistent session, QoS 1)."""
        _listen()

    @group.command("sia")
    @click.option("--host", default="0.0.0.0", help="Address to listen on.")  # noqa: S104
    @click.option("--port", type=int, default=7777, help="TCP port of the SIA receiver.")
    def sia_cmd(host: str, port: int) -> None:
        """Receive SIA DC-09 (ADM-CID) events from panels with a registered SIA account."""
        import time as _time

        from .sia import SiaReceiver

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        factory = current_app.extensions.get("DB_SESSION_FACTORY") or current_app.extensions[
            "DB_SESSIONMAKER"]
        receiver = SiaReceiver(factory, host=host, port=port,
                               app=current_app._get_current_object())
        receiver.start()
        click.echo(f"SIA DC-09 receiver on {host}:{port} for {len(receiver.accounts)} "
                   "account(s).")
        try:
            while True:
                _time.sleep(1)
        except KeyboardInterrupt:
            receiver.stop()

    @group.command("sweep")
    def sweep_cmd() -> None:
        """Raise "no heartbeat" faults for devices silent beyond their interval, once."""
        from ..models import utcnow
        from .services import sweep_heartbeats

        session = db.session()
        raised = sweep_heartbeats(session, now=utcnow())
        session.commit()
        click.echo(f"{len(raised)} device(s) without heartbeat.")

    @group.command("rotate")
    @click.option("--days", type=int, help="Keep this many days (default: the setting).")
    def rotate_cmd(days: int | None) -> None:
        """Delete raw events past the retention period that belong to no alarm."""
        from ..models import utcnow
        from .services import rotate_events

        session = db.session()
        keep = days or current_app.config["ALARMS_EVENT_RETENTION_DAYS"]
        deleted = rotate_events(session, now=utcnow(), keep_days=keep)
        session.commit()
        click.echo(f"{deleted} raw event(s) older than {keep} days deleted; alarms kept.")

    @group.command("simulate")
    @click.option("--community", "community_id", type=int, help="Community id (default: demo).")
    @click.option("--rate", type=float, default=0.5, help="Events per second.")
    @click.option("--count", type=int, default=0, help="Stop after this many (0: never).")
    def simulate_cmd(community_id: int | None, rate: float, count: int) -> None:
        """Publish realistic, signed events of the community's devices over MQTT."""
        simulate(community_id, rate, count)

    app.cli.add_command(group)

    @app.cli.command("alarms-ingest")
    def ingest_cmd() -> None:
        """Same as ``alarms listen``: run the MQTT ingester."""
        _listen()


#: What each kind of device plausibly sends (Contact ID code or event type), with weights.
_REPERTOIRE = {
    "panel": [(602, 6), (401, 4), (130, 1), (120, 0.3), (154, 0.5), (302, 0.5), (110, 0.2)],
    "perimeter": [(602, 4), (130, 2), (144, 0.5), (372, 0.3)],
    "water_tank": [(602, 6), (204, 1), ("water_high", 0.5), (301, 0.3)],
    "door": [(602, 4), (426, 2), (401, 3)],
    "camera": [(602, 5), ("motion", 1), ("video_loss", 0.5)],
}


def simulate(community_id: int | None, rate: float, count: int) -> None:
    import paho.mqtt.client as mqtt
    from sqlalchemy import select

    from ..models import Community, Device
    from . import core

    session = db.session()
    if community_id is None:
        from ..demo import DEMO_COMMUNITY

        community_id = session.scalar(select(Community.id).where(
            Community.name == DEMO_COMMUNITY))
    devices = list(session.scalars(select(Device).where(Device.community_id == community_id,
                                                        Device.active.is_(True))))
    if not devices:
        raise click.ClickException("That community has no devices.")
    cfg = current_app.config
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"courtyard-sim-{time.time_ns()}")
    client.connect(cfg["MQTT_HOST"], cfg["MQTT_PORT"])
    client.loop_start()
    rng = random.Random()
    sent, seq = 0, time.time_ns() // 1000
    for device in devices:
        client.publish(core.topic_for(community_id, device.code, core.Channel.AVAILABILITY,
                                      cfg["ALARMS_TOPIC_PREFIX"]), "online", qos=1, retain=True)
    def send(device, kind, q=1, zone=""):
        nonlocal seq
        seq += 1
        body = {"id": str(seq), "ts": dt.datetime.now(dt.UTC).isoformat(), "q": q, "zone": zone}
        body["code" if isinstance(kind, int) else "type"] = kind
        body["sig"] = core.sign(device.secret, device.code, body)
        client.publish(core.topic_for(community_id, device.code, core.Channel.EVENT,
                                      cfg["ALARMS_TOPIC_PREFIX"]),
                       json.dumps(body), qos=1).wait_for_publish(5)

    last_round = 0.0
    try:
        while not count or sent < count:
            if time.monotonic() - last_round > 60:  # every device's periodic test
                last_round = time.monotonic()
                for device in devices:
                    send(device, 602)
            device = rng.choice(devices)
            choices, weights = zip(*_REPERTOIRE[device.kind.value])
            kind = rng.choices(choices, weights)[0]
            q = 3 if rng.random() < 0.15 else 1
            send(device, kind, q, str(rng.randint(1, 4)) if device.kind.value == "perimeter"
                 else "")
            sent += 1
            click.echo(f"{device.code}: {kind} q={q}")
            time.sleep(1 / rate)
    except KeyboardInterrupt:
        pass
    finally:
        client.loop_stop()
        client.disconnect()
