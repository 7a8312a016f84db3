"""The SIA DC-09 receiver: commercial alarm panels that report to an alarm-receiving centre
(ADM-CID, i.e. Contact ID over SIA DC-09, on TCP) report to the site this way.

The protocol (framing, CRC, sequence numbers, timestamps, ACK/NAK) is pysiaalarm's; this module
turns each accepted event into the same ``DeviceEvent`` the MQTT and HTTP channels give, and
stores it through ``services.ingest_event``. A panel is known by its SIA account
(``Device.sia_account``).

pysiaalarm acknowledges an event to the panel before handing it over, so a database failure
after the ACK loses that event (the log says so); panels repeat unacknowledged events only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Device, utcnow
from . import core, services

log = logging.getLogger(__name__)


def to_device_event(*, full_message: str, event_type: str | None, qualifier: str | None,
                    zone: str | None, timestamp: dt.datetime | None,
                    now: dt.datetime) -> core.DeviceEvent:
    """An ADM-CID event as a ``DeviceEvent``. Raises ``MessageError`` for what we do not know.

    The message id is a digest of the whole message: a panel repeating an unacknowledged
    message sends the same text (sequence number and timestamp included), stored once.
    """
    if not event_type or not event_type.isdigit() or int(event_type) not in core.CONTACT_ID:
        raise core.MessageError("unknown_code", str(event_type)[:10])
    if qualifier not in ("1", "3", "6"):
        raise core.MessageError("bad_field", "qualifier")
    occurred = timestamp if isinstance(timestamp, dt.datetime) else now
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=dt.UTC)
    digest = hashlib.sha256(full_message.encode()).hexdigest()[:40]
    zone_text = (zone or "").lstrip("0") or ""
    return core.DeviceEvent(f"sia-{digest}", occurred.astimezone(dt.UTC),
                            core.CONTACT_ID[int(event_type)], core.Qualifier(int(qualifier)),
                            zone_text, int(event_type))


class SiaReceiver:
    """A pysiaalarm TCP server whose accounts are the registered panels' SIA accounts."""

    def __init__(self, session_factory: Callable[[], Session], *, host: str = "0.0.0.0",  # noqa: S104 - panels connect from the network
                 port: int = 7777, hand_over: Callable | None = None, app=None):
        """``hand_over`` receives each accepted event instead of ``handle`` (tests store it in
        their own thread, where their database connection lives). ``app``: pysiaalarm calls
        from its server threads, so ``handle`` pushes the app's context there (notices are
        rendered in every language, which needs it)."""
        self.app = app
        from pysiaalarm import SIAAccount, SIAClient

        session = session_factory()
        try:
            self.accounts = dict(session.execute(
                select(Device.sia_account, Device.id).where(Device.sia_account.is_not(None),
                                                            Device.active.is_(True))).all())
        finally:
            session.close()
        self.session_factory = session_factory
        self.stored = 0
        # A wide time band: panels' clocks drift; the merge window handles repeats anyway.
        self.client = SIAClient(host, port, [
            SIAAccount(account, allowed_timeband=(300, 120)) for account in self.accounts
        ], hand_over or self.handle)

    def handle(self, event) -> services.Outcome | None:
        if self.app is not None:
            with self.app.app_context():
                return self._handle(event)
        return self._handle(event)

    def _handle(self, event) -> services.Outcome | None:
        device_id = self.accounts.get((event.account or "").upper())
        if device_id is None:
            log.warning("SIA event of an unknown account %s", event.account)
            return None
        session = self.session_factory()
        try:
            device = session.get(Device, device_id)
            now = utcnow()
            try:
                device_event = to_device_event(
                    full_message=event.full_message or "", event_type=event.event_type,
                    qualifier=event.event_qualifier, zone=event.ri, timestamp=event.timestamp,
                    now=now)
            except core.MessageError as err:
                log.warning("SIA event refused: %s", err)
                return None
            outcome = services.ingest_event(session, device=device, event=device_event,
                                            now=now, channel="sia")
            session.commit()
            self.stored += 1
            return outcome
        except Exception:
            session.rollback()
            log.exception("SIA event acknowledged but not stored: %s", event.full_message)
            raise
        finally:
            session.close()

    def start(self) -> None:
        self.client.start()

    def stop(self) -> None:
        self.client.stop()
