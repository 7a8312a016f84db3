"""The MQTT side: a paho client that subscribes to every community's device topics and writes
what arrives through ``services.ingest_message``.

- QoS 1 and a persistent session (``clean_session=False`` with a fixed client id): while the
  ingester is away the broker keeps its messages, so a restart of either loses nothing.
- Manual acknowledgement: a message is acknowledged to the broker only after its transaction
  committed; if the database fails the broker delivers it again, and the unique message id
  makes the redelivery harmless.
- Every ``sweep_seconds`` the ingester raises "no heartbeat" faults for silent devices.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from sqlalchemy.orm import Session

from ..models import utcnow
from . import core, services

log = logging.getLogger(__name__)


class Ingester:
    """One subscriber. ``session_factory`` gives a fresh session per message."""

    def __init__(self, session_factory: Callable[[], Session], *, host: str = "127.0.0.1",
                 port: int = 1883, client_id: str = "courtyard-alarms",
                 prefix: str = core.DEFAULT_PREFIX, sweep_seconds: float = 15.0,
                 on_outcome: Callable[[str, services.Outcome | Exception], None] | None = None):
        self.session_factory = session_factory
        self.host, self.port, self.prefix = host, port, prefix
        self.sweep_seconds = sweep_seconds
        self.on_outcome = on_outcome
        self.subscribed = False
        self.received = 0
        self._last_sweep = 0.0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
            protocol=mqtt.MQTTv311, manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # paho callbacks
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        client.subscribe([(topic, 1) for topic in core.subscriptions(self.prefix)])

    def _on_subscribe(self, _client, _userdata, _mid, _reason_codes, _properties):
        self.subscribed = True

    def _on_message(self, client, _userdata, message):
        self.received += 1
        try:
            outcome = self.handle(message.topic, message.payload)
        except Exception as err:  # the broker will redeliver what we do not acknowledge
            log.exception("message on %s not stored", message.topic)
            if self.on_outcome:
                self.on_outcome(message.topic, err)
            return
        client.ack(message.mid, message.qos)
        if self.on_outcome:
            self.on_outcome(message.topic, outcome)

    def handle(self, topic: str, payload: bytes) -> services.Outcome | core.MessageError:
        """Store one message in its own transaction; a refused message is logged, not retried."""
        session = self.session_factory()
        try:
            try:
                outcome = services.ingest_message(session, topic=topic, payload=payload,
                                                  now=utcnow(), prefix=self.prefix)
            except core.MessageError as err:
                session.rollback()
                log.warning("refused %s: %s", topic, err)
                return err
            session.commit()
            return outcome
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    def sweep(self) -> int:
        session = self.session_factory()
        try:
            raised = services.sweep_heartbeats(session, now=utcnow())
            session.commit()
            return len(raised)
        finally:
            session.close()

    def deliver_commands(self) -> int:
        """Publish queued arming commands (QoS 1) on each device's command topic."""
        session = self.session_factory()
        try:
            sent = 0
            for command in services.unsent_commands(session):
                device = command.device
                topic = (f"{self.prefix}/{device.community_id}/{device.code}/"
                         f"{core.COMMAND_CHANNEL}")
                info = self.client.publish(topic, core.command_payload(
                    command.id, command.action, command.zone, command.created_at), qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break
                command.sent_at = utcnow()
                sent += 1
            session.commit()
            return sent
        finally:
            session.close()

    # running
    def connect(self) -> None:
        self.client.connect(self.host, self.port, keepalive=30)

    def loop(self, timeout: float = 1.0) -> None:
        """Serve the network once (tests drive it in their own thread)."""
        self.client.loop(timeout)

    def run_forever(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        self.connect()
        while not stop():
            rc = self.client.loop(1.0)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                log.warning("connection lost (%s); reconnecting", rc)
                time.sleep(1.0)
                try:
                    self.client.reconnect()
                except OSError:
                    continue
            self.deliver_commands()
            if time.monotonic() - self._last_sweep >= self.sweep_seconds:
                self._last_sweep = time.monotonic()
                self.sweep()

    def disconnect(self) -> None:
        self.client.disconnect()
