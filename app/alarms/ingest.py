"""The MQTT side: a paho client that subscribes to every community's device topics and writes
what arrives through ``services.ingest_message``.

- QoS 1 and a persistent session (``clean_session=False`` with a fixed client id): while the
  ingester is away the broker keeps its messages, so a restart of either loses nothing.
- Batches: the messages read within ``batch_wait`` (50 ms, at most ``batch_size``) are stored
  in one transaction with a few queries for the whole batch (``services.ingest_batch``);
  after the commit the changed alarms go to the consoles (``live``).
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import utcnow
from . import core, services

log = logging.getLogger(__name__)


class Ingester:
    """One subscriber. ``session_factory`` gives a fresh session per message."""

    def __init__(self, session_factory: Callable[[], Session], *, host: str = "127.0.0.1",
                 port: int = 1883, client_id: str = "courtyard-alarms",
                 prefix: str = core.DEFAULT_PREFIX, sweep_seconds: float = 15.0,
                 batch_size: int = 200, batch_wait: float = 0.02,
                 on_outcome: Callable[[str, services.Outcome | Exception], None] | None = None,
                 hub=None):
        self.session_factory = session_factory
        #: Where the consoles hear of what was stored (None: the process's configured hub).
        self.hub = hub
        self.host, self.port, self.prefix = host, port, prefix
        self.sweep_seconds = sweep_seconds
        #: At most this many messages, waiting at most this long (s), go into one commit.
        self.batch_size, self.batch_wait = batch_size, batch_wait
        self.on_outcome = on_outcome
        self.subscribed = False
        self.received = 0
        self._last_sweep = self._last_commands = 0.0
        self._pending: list[mqtt.MQTTMessage] = []
        self._pending_since = 0.0
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

    def _on_message(self, _client, _userdata, message):
        self.received += 1
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append(message)

    def flush(self) -> int:
        """Store the messages received so far in one transaction, then acknowledge them.

        One commit per batch instead of one per message is what lets a single ingester keep
        up with hundreds of events a second; a failed batch is acknowledged to nobody, so the
        broker delivers it again (and the unique message ids make that harmless).
        """
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            outcomes = self.handle_batch([(m.topic, m.payload) for m in batch])
        except Exception as err:
            log.exception("a batch of %s messages was not stored", len(batch))
            if self.on_outcome:
                for message in batch:
                    self.on_outcome(message.topic, err)
            return 0
        for message, outcome in zip(batch, outcomes):
            self.client.ack(message.mid, message.qos)
            if self.on_outcome:
                self.on_outcome(message.topic, outcome)
        return len(batch)

    def handle(self, topic: str, payload: bytes) -> services.Outcome | core.MessageError:
        """Store one message in its own transaction."""
        return self.handle_batch([(topic, payload)])[0]

    def handle_batch(self, messages: list[tuple[str, bytes]]
                     ) -> list[services.Outcome | core.MessageError]:
        """Store messages in one transaction with a few queries for the whole batch
        (``services.ingest_batch``): a refused message is logged and skipped, not retried
        (every refusal happens before anything is written); any other failure rolls the whole
        batch back. If another writer stored one of the same messages meanwhile (the unique
        message id refuses the insert), the batch is stored again one message at a time,
        where such a message is simply a duplicate."""
        session = self.session_factory()
        if self.hub is not None:
            session.info["alarms_hub"] = self.hub
        try:
            try:
                outcomes = services.ingest_batch(session, messages, now=utcnow(),
                                                 prefix=self.prefix)
                session.commit()
            except IntegrityError:
                session.rollback()
                outcomes = self._one_by_one(session, messages)
                session.commit()
            for (topic, _payload), outcome in zip(messages, outcomes):
                if isinstance(outcome, core.MessageError):
                    log.warning("refused %s: %s", topic, outcome)
            return outcomes
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    def _one_by_one(self, session: Session, messages: list[tuple[str, bytes]]
                    ) -> list[services.Outcome | core.MessageError]:
        outcomes: list[services.Outcome | core.MessageError] = []
        devices: dict = {}  # one look-up per device and batch
        for topic, payload in messages:
            try:
                outcomes.append(services.ingest_message(
                    session, topic=topic, payload=payload, now=utcnow(), prefix=self.prefix,
                    devices=devices))
            except core.MessageError as err:
                outcomes.append(err)
        return outcomes

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
        """Serve the network once and store what arrived (tests drive it in their thread)."""
        self.client.loop(timeout)
        self.flush()

    def run_forever(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        """Serve until ``stop()``: waits for the broker if it is not up yet, reconnects when
        the connection drops, and keeps going when a sweep or a command fails (logged)."""
        while not stop():
            try:
                self.connect()
                break
            except OSError as err:
                log.warning("broker %s:%s not reachable (%s); retrying", self.host, self.port,
                            err)
                time.sleep(2.0)
        while not stop():
            # While messages wait, read without blocking until the batch is full or old.
            rc = self.client.loop(0.002 if self._pending else 0.5)
            if self._pending and (len(self._pending) >= self.batch_size or
                                  time.monotonic() - self._pending_since >= self.batch_wait):
                self.flush()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                log.warning("connection lost (%s); reconnecting", rc)
                self._pending = []  # unacknowledged: the broker sends them again
                time.sleep(1.0)
                try:
                    self.client.reconnect()
                except OSError:
                    continue
            try:
                if time.monotonic() - self._last_commands >= 0.5:
                    self._last_commands = time.monotonic()
                    self.deliver_commands()
                if time.monotonic() - self._last_sweep >= self.sweep_seconds:
                    self._last_sweep = time.monotonic()
                    self.sweep()
            except Exception:
                log.exception("heartbeat sweep or command delivery failed; continuing")

    def disconnect(self) -> None:
        self.client.disconnect()
