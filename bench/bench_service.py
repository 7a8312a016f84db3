"""Benchmark of the service desk's pages with 100,000 requests in one community.

    .venv/bin/python bench/bench_service.py [--requests 100000] [--open 500] [--rounds 40]

Builds a schema of its own (PostgreSQL when ``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL``
answers, else an SQLite file), inserts the requests in bulk (five years of a large community:
most closed, some open, some overdue), then times through the Flask test client, logged in as
staff: the desk queue (open, overdue), the daily board, and a resident's own list. The floor is
the same stack answering the user's notices page. Target: p95 under 150 ms for each page.
Figures are merged into ``bench/results.json`` under ``"service"``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.services import hash_password  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import (  # noqa: E402
    Building,
    Community,
    Ownership,
    Person,
    RequestKind,
    Role,
    RoleGrant,
    ServiceRequest,
    ServiceTeam,
    Unit,
    Urgency,
    User,
)
from app.service.workflow import OPEN_STATUSES, RequestStatus  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
TARGET_SECONDS = 0.150
PASSWORD = "bench password"  # noqa: S105


def _database() -> tuple[str, dict, callable]:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        import psycopg

        try:
            with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3):
                pass
        except psycopg.Error:
            url = ""
        else:
            schema = f"cy_bench_{secrets.token_hex(3)}"
            admin = make_engine(url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))

            def drop():
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()

            return url, {"connect_args": {"options": f"-csearch_path={schema}"}}, drop
    path = Path(tempfile.mkdtemp(prefix="cy-bench-")) / "bench.db"
    return f"sqlite:///{path}", {}, lambda: None


def build(session: Session, total: int, open_: int, rng: random.Random) -> dict:
    now = dt.datetime.now(dt.UTC)
    community = Community(name="Bench", settings={}, created_at=now)
    session.add(community)
    session.flush()
    building = Building(community_id=community.id, name="1")
    session.add(building)
    session.flush()
    units = [Unit(community_id=community.id, building_id=building.id, number=str(n), floor=1,
                  area=Decimal("90.00")) for n in range(2000)]
    session.add_all(units)
    hashed = hash_password(PASSWORD)
    staff = User(username="bench-staff", password_hash=hashed, created_at=now)
    resident = User(username="bench-resident", password_hash=hashed, created_at=now)
    session.add_all([staff, resident])
    session.flush()
    person = Person(community_id=community.id, name="R", user_id=resident.id, created_at=now)
    session.add(person)
    session.flush()
    session.add_all([Ownership(unit_id=units[0].id, person_id=person.id, started_at=now),
                     RoleGrant(user_id=staff.id, role=Role.STAFF, community_id=community.id,
                               granted_at=now)])
    teams = [ServiceTeam(community_id=community.id, name=n) for n in ("工程部", "保洁", "秩序")]
    session.add_all(teams)
    session.flush()
    kinds, open_statuses = list(RequestKind), sorted(OPEN_STATUSES)
    rows = []
    for i in range(total):
        is_open = i >= total - open_
        created = now - dt.timedelta(minutes=(total - i) * 26)  # five years, evenly
        if is_open:
            created = now - dt.timedelta(hours=rng.randint(1, 24 * 20))
        status = rng.choice(open_statuses) if is_open else RequestStatus.CLOSED
        done = None if is_open else created + dt.timedelta(hours=rng.randint(1, 100))
        rows.append({
            "community_id": community.id, "kind": rng.choice(kinds), "urgency": Urgency.NORMAL,
            "status": status, "unit_id": units[rng.randrange(len(units))].id,
            "place": "", "description": "厨房水龙头漏水" * 3, "preferred_time": "",
            "requester_id": resident.id if i % 2000 == 0 else None, "caller_name": "业主",
            "caller_phone": "", "filed_by_id": staff.id, "receiver_id": staff.id,
            "team_id": teams[i % 3].id if status != RequestStatus.NEW else None,
            "assignee_id": None, "created_at": created, "clock_started_at": created,
            "dispatched_at": None if status == RequestStatus.NEW else created,
            "on_site_at": None, "replied_at": None, "done_at": done,
            "closed_at": done, "due_dispatch_at": created + dt.timedelta(minutes=3),
            "due_on_site_at": created + dt.timedelta(hours=9),
            "due_reply_at": None, "due_completion_at": created + dt.timedelta(days=9),
            "paused_at": None, "pause_reason": None, "paused_minutes": 0.0,
            "postponements": 0, "postpone_days": 0, "postpone_reason": "", "reopen_count": 0,
            "escalated_at": None, "reminded_at": None,
        })
        if len(rows) == 10_000:
            session.execute(insert(ServiceRequest), rows)
            rows = []
    if rows:
        session.execute(insert(ServiceRequest), rows)
    session.commit()
    return {"community": community.id, "staff": staff.username,
            "resident": resident.username}


def p95(client, url: str, rounds: int) -> float:
    client.get(url)  # warm up (templates compiled, caches filled)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.quantiles(times, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    url, kwargs, drop = _database()
    engine = make_engine(url, **kwargs)
    try:
        upgrade(engine)
        started = time.perf_counter()
        with Session(engine) as s:
            world = build(s, args.requests, args.open, random.Random(8))
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        print(f"{args.requests:,} requests on {engine.dialect.name} in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        os.environ.setdefault("COURTYARD_INSTANCE", tempfile.mkdtemp(prefix="cy-bench-inst-"))
        app = create_app({"DB_ENGINE": engine, "DATABASE_URL": url, "SCHEMA_CHECK": False,
                          "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench",
                          "RATELIMIT_ENABLED": False})
        c = world["community"]
        figures = {}
        for who, pages in ((world["staff"], {
                "desk_open": f"/c/{c}/service/desk", "desk_overdue":
                f"/c/{c}/service/desk?show=overdue", "board": f"/c/{c}/service/board"}),
                (world["resident"], {"resident_list": f"/c/{c}/service"})):
            client = app.test_client()
            assert client.post("/login", data={"login": who, "password": PASSWORD}
                               ).status_code == 302
            floor = p95(client, "/notifications", args.rounds)
            for name, page in pages.items():
                seconds = p95(client, page, args.rounds)
                figures[name] = {"seconds": seconds, "floor_seconds": floor,
                                 "ratio": seconds / floor, "met": seconds < TARGET_SECONDS}
                print(f"  {name:<14} p95 {seconds * 1000:7.1f} ms (floor {floor * 1000:.1f} ms)"
                      f"{'' if seconds < TARGET_SECONDS else '  TARGET MISSED'}", flush=True)
        try:
            results = json.loads(RESULTS.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            results = {}
        results["service"] = {"requests": args.requests, "open": args.open,
                              "database": engine.dialect.name,
                              "target_p95_seconds": TARGET_SECONDS, **figures}
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        return 0 if all(f["met"] for f in figures.values()) else 1
    finally:
        engine.dispose()
        drop()


if __name__ == "__main__":
    sys.exit(main())
