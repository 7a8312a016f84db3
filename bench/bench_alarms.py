"""Alarm ingestion under load: RATE events a second over MQTT for SECONDS seconds.

Measured in one run, one process, against the local Mosquitto:

- ``broker``: publish → a bare subscriber of the same topics receives it (the floor);
- ``ingest``: publish → the ingester has committed it (``flask alarms listen``'s code, in a
  process of its own when Redis answers, as in production);
- ``console``: publish → a console client reading the site's server-sent events
  (``/c/<id>/alarms/stream``, over HTTP from a real threaded server on loopback) receives it
  (the count of the alarm it merged into, or the alarm itself, arrives). The news travels
  through Redis pub/sub when Redis answers on 127.0.0.1:6379 (as with several workers),
  in-process otherwise.

Events go to DEVICES devices × ZONES zones round-robin, so each zone's repeats merge into one
counted alarm (the feed stays at DEVICES × ZONES rows) and the k-th event of a zone is seen
when that alarm's count reaches k. Figures are merged into bench/results.json under "alarms".

    python bench/bench_alarms.py [--rate 200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import paho.mqtt.client as mqtt  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

HOST, PORT = os.environ.get("MQTT_HOST", "127.0.0.1"), int(os.environ.get("MQTT_PORT", 1883))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(latencies: list[float]) -> dict:
    return {"n": len(latencies),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None}


def _config(url: str, redis_url: str, prefix: str) -> dict:
    return {"DATABASE_URL": url, "SCHEMA_CHECK": False, "SECRET_KEY": "bench",
            "ID_HASH_KEY": "bench", "WTF_CSRF_ENABLED": False,
            "LOGIN_RATE_LIMIT": "1000 per minute", "ALARMS_REDIS_URL": redis_url,
            "ALARMS_LIVE_NAMESPACE": prefix, "ALARMS_STREAM_SECONDS": 3600}


def _timed_ingester(factory, prefix: str, committed: dict):
    """The ingester of ``flask alarms listen``, noting when each message was committed."""
    from app.alarms.ingest import Ingester

    class TimedIngester(Ingester):
        def handle_batch(self, messages):
            outcomes = super().handle_batch(messages)
            now = time.time()
            for _topic, payload in messages:
                committed[json.loads(payload)["id"]] = now
            return outcomes

    return TimedIngester(factory, host=HOST, port=PORT, client_id=f"{prefix}-ingest",
                         prefix=prefix, sweep_seconds=3600)


def ingester_process(url: str, prefix: str, redis_url: str, out: str) -> int:
    """The ingester as its own process; writes the commit times to ``out`` on SIGTERM."""
    from app import create_app
    from app.db import engine_of

    app = create_app(_config(url, redis_url, prefix))
    factory = sessionmaker(engine_of(app), expire_on_commit=False)
    committed: dict[str, float] = {}
    ingester = _timed_ingester(factory, prefix, committed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())

    def say_ready():
        while not ingester.subscribed and not stop.is_set():
            time.sleep(0.05)
        Path(f"{out}.ready").touch()

    threading.Thread(target=say_ready, daemon=True).start()
    with app.app_context():
        ingester.run_forever(stop=stop.is_set)
    ingester.disconnect()
    Path(out).write_text(json.dumps(committed))
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--ingester"]:
        return ingester_process(*sys.argv[2:6])
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--zones", type=int, default=4)
    args = parser.parse_args()
    import socket

    try:
        socket.create_connection((HOST, PORT), timeout=1).close()
    except OSError:
        print(f"no MQTT broker on {HOST}:{PORT}: alarm benchmark skipped")
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="cy-bench-alarms-"))
    os.environ.setdefault("COURTYARD_INSTANCE", str(tmp))
    from app import create_app
    from app.alarms import core, services
    from app.auth.services import hash_password
    from app.db import engine_of, make_engine
    from app.migrate import upgrade
    from app.models import Community, DeviceKind, Office, Role, RoleGrant, User, utcnow

    # PostgreSQL (a schema of its own, dropped at the end) where it answers, as in production;
    # else an SQLite file.
    sys.path.insert(0, str(HERE.parent / "scripts"))
    from pg_reachable import main as pg_check
    from sqlalchemy import text

    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL", "")
    schema = None
    if pg.startswith("postgresql") and pg_check(pg) == 0:
        schema = f"cy_bench_alarms_{os.getpid()}_{secrets.token_hex(3)}"
        admin = make_engine(pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        options = urllib.parse.quote(f"-csearch_path={schema}")
        url = f"{pg}{'&' if '?' in pg else '?'}options={options}"
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    prefix = f"cy-bench-{secrets.token_hex(4)}"
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except Exception:
        redis_url = ""
    app = create_app(_config(url, redis_url, prefix))
    factory = sessionmaker(engine_of(app), expire_on_commit=False)
    with app.app_context():
        s = factory()
        community = Community(name="bench", office=Office(name="bench office"), settings={},
                              created_at=utcnow())
        staff = User(username="bench-staff", password_hash=hash_password("bench password"),
                     created_at=utcnow())
        s.add_all([community, staff])
        s.flush()
        s.add(RoleGrant(user_id=staff.id, role=Role.STAFF, community_id=community.id,
                        granted_at=utcnow()))
        devices = [services.register_device(
            s, actor=None, now=utcnow(), community=community, code=f"Z-{i}",
            kind=DeviceKind.PERIMETER, name=f"zone {i}") for i in range(args.devices)]
        s.commit()
        cid = community.id
        devices = [(d.id, d.code, d.secret) for d in devices]

    published: dict[str, float] = {}
    key_of: dict[str, tuple[int, str, int]] = {}
    floor_at: dict[str, float] = {}
    committed: dict[str, float] = {}
    seen_at: dict[tuple[int, str, int], float] = {}

    # The floor: a bare subscriber of the same topics.
    floor = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-floor")

    def on_floor(_c, _u, message):
        floor_at[json.loads(message.payload)["id"]] = time.time()

    floor.on_message = on_floor
    floor.connect(HOST, PORT)
    floor.subscribe(f"{prefix}/+/+/event", qos=1)
    floor.loop_start()

    stop = threading.Event()
    out = tmp / "committed.json"
    if redis_url:
        # As in production: the ingester is a process of its own (`flask alarms listen`), and
        # its news reaches the web process through Redis.
        child = subprocess.Popen([sys.executable, __file__, "--ingester", url, prefix,
                                  redis_url, str(out)])
        ready = lambda: (tmp / "committed.json.ready").exists()  # noqa: E731
    else:
        # No Redis: in one process, through the in-process hub.
        child = None
        ingester = _timed_ingester(factory, prefix, committed)

        def run_ingester():
            with app.app_context():
                ingester.run_forever(stop=stop.is_set)

        threading.Thread(target=run_ingester, daemon=True).start()
        ready = lambda: ingester.subscribed  # noqa: E731

    # The site on a threaded HTTP server on loopback; the console: logged in as staff, reading
    # the stream like static/js/alarms.js's EventSource.
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    import http.cookiejar

    base = f"http://127.0.0.1:{server.server_port}"
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    browser.open(f"{base}/login", data=urllib.parse.urlencode(
        {"login": "bench-staff", "password": "bench password"}).encode(), timeout=30).read()
    counts: dict[tuple[int, str], int] = {}
    connected = threading.Event()

    def read_stream():
        response = browser.open(urllib.request.Request(  # noqa: S310 - our own http:// URL
            f"{base}/c/{cid}/alarms/stream", headers={"Accept": "text/event-stream"}),
            timeout=120)
        if response.status != 200 or not response.url.endswith("/stream"):
            raise SystemExit(f"the stream answered {response.status} at {response.url}")
        kind = None
        while not stop.is_set():
            line = response.readline()
            if not line:
                break
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                now = time.time()
                data = json.loads(line[6:])
                rows = data["alarms"] if kind == "snapshot" else (
                    [data] if kind == "alarm" else [])
                if kind == "snapshot":
                    connected.set()
                for row in rows:
                    key = (row["device_id"], row["zone"])
                    for k in range(counts.get(key, 0) + 1, row["count"] + 1):
                        seen_at[(row["device_id"], row["zone"], k)] = now
                    counts[key] = max(counts.get(key, 0), row["count"])
        response.close()

    deadline = time.time() + 10
    while not ready() and time.time() < deadline:
        time.sleep(0.05)
    threading.Thread(target=read_stream, daemon=True).start()
    connected.wait(10)

    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-pub")
    publisher.connect(HOST, PORT)
    publisher.loop_start()
    total = int(args.rate * args.seconds)
    per_key: dict[tuple[int, str], int] = {}
    begin = time.time()
    for n in range(total):
        d_id, code, secret = devices[n % len(devices)]
        zone = str((n // len(devices)) % args.zones + 1)
        k = per_key[(d_id, zone)] = per_key.get((d_id, zone), 0) + 1
        body = {"id": f"b{n}", "ts": dt.datetime.now(dt.UTC).isoformat(), "code": 130, "q": 1,
                "zone": zone}
        body["sig"] = core.sign(secret, code, body)
        key_of[body["id"]] = (d_id, zone, k)
        published[body["id"]] = time.time()
        publisher.publish(core.topic_for(cid, code, core.Channel.EVENT, prefix),
                          json.dumps(body), qos=1)
        pause = begin + (n + 1) / args.rate - time.time()
        if pause > 0:
            time.sleep(pause)
    publish_seconds = time.time() - begin
    wait_until = time.time() + 60
    while time.time() < wait_until and len(seen_at) < total:
        time.sleep(0.2)
    stop.set()
    if child is not None:
        child.send_signal(signal.SIGTERM)
        child.wait(30)
        committed.update(json.loads(out.read_text()))
    time.sleep(0.5)
    server.shutdown()
    publisher.loop_stop()
    publisher.disconnect()
    floor.loop_stop()
    floor.disconnect()
    # End the ingester's persistent session so the broker forgets it.
    cleanup = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-ingest",
                          clean_session=True)
    cleanup.connect(HOST, PORT)
    cleanup.disconnect()

    engine_of(app).dispose()
    if schema:
        try:
            with admin.begin() as conn:
                conn.execute(text("SET lock_timeout = '10s'"))
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        except Exception as exc:
            print(f"schema {schema} left behind: {exc}", file=sys.stderr)
        admin.dispose()

    broker = [floor_at[i] - t for i, t in published.items() if i in floor_at]
    ingest = [committed[i] - t for i, t in published.items() if i in committed]
    shown = [seen_at[key_of[i]] - t for i, t in published.items() if key_of[i] in seen_at]
    figures = {
        "command": f"python bench/bench_alarms.py --rate {args.rate:g} --seconds "
                   f"{args.seconds:g}",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "database": "postgresql" if schema else "sqlite",
        "console_channel": "server-sent events over HTTP, news through "
                           + ("Redis pub/sub" if redis_url else "the in-process hub"),
        "published": total, "publish_seconds": round(publish_seconds, 2),
        "achieved_rate": round(total / publish_seconds, 1),
        "broker": summary(broker), "ingest": summary(ingest), "console": summary(shown),
        "lost": total - len(shown), "not_ingested": total - len(committed),
        "target_p99_ms": 500,
    }
    figures["met"] = (figures["lost"] == 0 and figures["console"]["p99_ms"] is not None
                      and figures["console"]["p99_ms"] < 500)
    results = HERE / "results.json"
    data = json.loads(results.read_text()) if results.exists() else {}
    data["alarms"] = figures
    results.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
