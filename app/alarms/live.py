"""Live alarm news for the console: what changed, pushed to every open console stream.

Whoever changes an alarm (the ingester storing events, staff acknowledging or closing) marks it
with ``changed(session, alarm)``; after that session commits, the alarm's row goes to the
community's subscribers. Publishing after the commit means a console never shows what was
rolled back, and a console that then reads the database finds what it was told.

Two transports behind one ``Hub``:

- in-process (no Redis configured): subscribers of this process hear what this process
  commits. The console's stream also looks at the database once a second then (see
  ``views.stream``), so an ingester in another process still reaches it;
- Redis pub/sub (``ALARMS_REDIS_URL``, else ``REDIS_URL``): every process publishes on the
  channel ``<namespace>:alarms:<community id>``; one listener thread per web process hands
  each message to that process's subscribers. Several gunicorn workers and a separate
  ``alarms listen`` process then all reach every console.

Each message gets an id (``event_id``); every process keeps the last ``RING`` messages, so a
console that reconnects with ``Last-Event-ID`` gets what it missed, or, if that id is no longer
known here, a fresh snapshot.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import queue
import threading
import time
from collections import deque

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: How many recent messages each process keeps for ``Last-Event-ID`` catch-up.
RING = 2000
#: A subscriber that does not read (a stuck client) loses messages beyond this; it gets a
#: snapshot instead.
QUEUE_MAX = 5000

_PENDING = "alarms_live_pending"
_READY = "alarms_live_ready"

_counter = itertools.count(1)
_prefix = f"{os.getpid():x}.{time.time_ns() // 1_000_000:x}"


def new_event_id() -> str:
    """Unique across processes: this process's id and start, and a counter."""
    return f"{_prefix}.{next(_counter):x}"


class Subscription:
    """One console stream's inbox. ``backlog`` is what it missed since its ``Last-Event-ID``,
    or None when that id is unknown here (then the stream starts with a snapshot)."""

    def __init__(self, hub: Hub, community_id: int, backlog: list[tuple[str, dict]] | None):
        self.hub, self.community_id, self.backlog = hub, community_id, backlog
        self.inbox: queue.Queue[tuple[str, dict] | None] = queue.Queue(QUEUE_MAX)
        self.overflowed = False

    def get(self, timeout: float) -> tuple[str, dict] | None:
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.hub._unsubscribe(self)


class Hub:
    """The in-process hub; ``RedisHub`` sends through Redis instead of delivering directly."""

    #: Whether every publisher of the site reaches this hub's subscribers (Redis: yes;
    #: in-process: only this process's).
    complete = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, set[Subscription]] = {}
        self._ring: dict[int, deque[tuple[str, dict]]] = {}

    def publish(self, community_id: int, messages: list[dict]) -> None:
        for message in messages:
            self._deliver(community_id, new_event_id(), message)

    def _deliver(self, community_id: int, event_id: str, message: dict) -> None:
        with self._lock:
            self._ring.setdefault(community_id, deque(maxlen=RING)).append((event_id, message))
            subscribers = list(self._subscribers.get(community_id, ()))
        for sub in subscribers:
            try:
                sub.inbox.put_nowait((event_id, message))
            except queue.Full:
                sub.overflowed = True

    def last_id(self, community_id: int) -> str | None:
        with self._lock:
            ring = self._ring.get(community_id)
            return ring[-1][0] if ring else None

    def subscribe(self, community_id: int, last_event_id: str | None = None) -> Subscription:
        with self._lock:
            backlog = None
            ring = self._ring.get(community_id, deque())
            if last_event_id:
                ids = [i for i, _m in ring]
                if last_event_id in ids:
                    backlog = list(ring)[ids.index(last_event_id) + 1:]
            sub = Subscription(self, community_id, backlog)
            self._subscribers.setdefault(community_id, set()).add(sub)
        self._ensure_listening()
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.get(sub.community_id, set()).discard(sub)

    def _ensure_listening(self) -> None:
        pass


class RedisHub(Hub):
    """Publishes on Redis; a daemon thread per process delivers what arrives to subscribers."""

    @property
    def complete(self) -> bool:
        """While the listener is subscribed; when Redis fails, the streams look at the
        database instead until it is back."""
        return self._healthy

    def __init__(self, url: str, namespace: str) -> None:
        import redis  # only where Redis is configured

        super().__init__()
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self.namespace = namespace
        self._listener: threading.Thread | None = None
        self._ready = threading.Event()
        self._healthy = False

    def channel(self, community_id: int) -> str:
        return f"{self.namespace}:alarms:{community_id}"

    def publish(self, community_id: int, messages: list[dict]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for message in messages:
            pipe.publish(self.channel(community_id),
                         json.dumps({"id": new_event_id(), "m": message}))
        pipe.execute()

    def _ensure_listening(self) -> None:
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._ready.clear()
                self._listener = threading.Thread(target=self._listen, daemon=True,
                                                  name="alarms-redis-listener")
                self._listener.start()
        self._ready.wait(5)

    def _listen(self) -> None:
        failures = 0
        while True:
            try:
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(f"{self.namespace}:alarms:*")
                # The subscription is confirmed by the first reply.
                pubsub.get_message(timeout=2)
                self._healthy, failures = True, 0
                self._ready.set()
                for raw in pubsub.listen():
                    if raw.get("type") != "pmessage":
                        continue
                    community_id = int(raw["channel"].rsplit(b":", 1)[1])
                    body = json.loads(raw["data"])
                    self._deliver(community_id, body["id"], body["m"])
            except Exception as err:
                if self._healthy or not failures:
                    log.warning("Redis listener of the alarm console failed (%s); the streams "
                                "look at the database until it is back", err)
                self._healthy = False
                failures += 1
                self._ready.set()  # do not keep subscribers waiting; they hear it next time
                with self._lock:
                    if not any(self._subscribers.values()):
                        return  # nobody listens: the next subscriber starts a new listener
                time.sleep(min(10.0, 0.5 * failures))


_LOCAL = Hub()
_hubs: dict[tuple[str, str], Hub] = {}
_hubs_lock = threading.Lock()
_default: Hub = _LOCAL


def hub_for(redis_url: str, namespace: str) -> Hub:
    """The hub of this configuration (one per process and configuration)."""
    if not redis_url:
        return _LOCAL
    with _hubs_lock:
        key = (redis_url, namespace)
        if key not in _hubs:
            _hubs[key] = RedisHub(redis_url, namespace)
        return _hubs[key]


def configure(app) -> Hub:
    """Choose the hub from the app's config; the ingester and the stream of this process use
    it."""
    global _default
    cfg = app.config
    url = cfg.get("ALARMS_REDIS_URL") or cfg.get("REDIS_URL") or ""
    _default = hub_for(url, cfg.get("ALARMS_LIVE_NAMESPACE") or cfg["ALARMS_TOPIC_PREFIX"])
    app.extensions["ALARMS_HUB"] = _default
    return _default


def current_hub() -> Hub:
    return _default


# --- marking changes in a session; publishing after its commit --------------------------------


def changed(session: Session, alarm) -> None:
    """``alarm`` changed in this session: its row goes to the consoles after the commit."""
    session.info.setdefault(_PENDING, {})[id(alarm)] = alarm


def status_changed(session: Session, community_id: int) -> None:
    """Faults or throttling of the community changed: consoles re-read their status list."""
    session.info.setdefault(_PENDING, {})[("status", community_id)] = community_id


def row_of(alarm) -> dict:
    """What a console needs of an alarm, free of any language (the stream adds labels)."""
    device = alarm.device
    unit = device.unit
    return {"kind": "alarm", "id": alarm.id, "community_id": alarm.community_id,
            "category": alarm.category.value, "type": alarm.event_type.value,
            "priority": alarm.priority, "state": alarm.state.value, "count": alarm.count,
            "device": device.name, "place": device.place, "zone": alarm.zone,
            "unit": unit.label if unit is not None else "", "x": device.map_x,
            "y": device.map_y, "device_id": device.id,
            "raised_at": alarm.raised_at.isoformat(), "rev": alarm.updated_at.isoformat(),
            "restored": alarm.restored_at is not None}


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.get(_PENDING):
        return
    session.flush()
    pending = session.info.pop(_PENDING)
    ready: dict[int, list[dict]] = {}
    for key, item in pending.items():
        if isinstance(key, tuple):
            ready.setdefault(item, []).append({"kind": "status"})
        else:
            ready.setdefault(item.community_id, []).append(row_of(item))
    session.info[_READY] = ready


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    ready = session.info.pop(_READY, None)
    if not ready:
        return
    hub = session.info.get("alarms_hub") or _default
    for community_id, messages in ready.items():
        try:
            hub.publish(community_id, messages)
        except Exception:
            # The change is stored; consoles see it at their next snapshot or database look.
            log.exception("alarm news for community %s not published", community_id)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_READY, None)
