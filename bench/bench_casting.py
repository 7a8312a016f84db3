"""Casting under load through the real stack, beside a bare endpoint on the same stack.

    .venv/bin/python bench/bench_casting.py [--owners 3000] [--clients 50] [--workers 2]

A PostgreSQL schema of its own (dropped at the end) holds a community of ``--owners`` owners
and an open vote; gunicorn serves the site (``bench/casting_app.py``) on loopback; ``--clients``
threads each keep a connection and post, for one owner after another, a ballot sealed and
signed on the client, as the owner's browser does (``static/js/seal.js``).

Phases, in one run:

* **bare** — every client posts to ``/bench/bare`` (same stack, session and CSRF checks, one
  insert) as fast as it is answered: the floor, in requests per second.
* **cast** — the same, to the real ballot endpoint: signature checked, the ballot received
  (one insert the database's constraints keep to one per voter), then chained onto the board
  by the worker's chainer in batches. Sealed ballots accepted per second, and their ratio to
  the bare rate (target ≥ 60 %). Bare and cast run in ``--rounds`` alternating rounds, so
  that other work on the machine weighs on both alike.
* **paced** — the clients together send ballots at the target rate (60 % of the bare rate
  measured just before), open loop, each request timed from the moment it was due; its p99 is
  the figure against the 100 ms target (a saturated closed loop measures only its own queue).
* **steady** — each client casts one ballot a second (50 a second in all): owners as they
  are, the p99 a voter meets on a busy evening.
* **duplicates** — every client sends one owner's ballot again: all must be refused (409).

Afterwards the database is checked: one board entry per accepted ballot, no voter twice, and
the chain recomputed from the first record to the head. Figures are merged into
``bench/results.json`` under ``"casting"``. Needs PostgreSQL at ``TEST_DATABASE_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); without it the bench says so and skips.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import http.client
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from base64 import b64encode
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results.json"
PG_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_RATIO, TARGET_P99_MS = 0.60, 100.0
#: Not an argon2 hash: no password logs these accounts in (sessions come from /bench/session).
NO_LOGIN = "!"


# -- the community --------------------------------------------------------------------------


def build(engine, owners: int):
    """Owners, units, a committee member, three scrutineers and an open vote; committed."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from app import create_app
    from app.meetings import services, voting
    from app.models import (
        Building,
        Community,
        MeetingForm,
        MeetingKind,
        Office,
        Ownership,
        Person,
        Role,
        RoleGrant,
        Unit,
        User,
        utcnow,
    )
    from elections.rules import Matter

    app = create_app({"DB_ENGINE": engine, "DATABASE_URL": str(engine.url),
                      "SCHEMA_CHECK": False, "SHARE_SCRYPT_COST": 2**10})
    now = utcnow()
    start = now - dt.timedelta(days=20)
    with app.test_request_context(), Session(engine, expire_on_commit=False) as s:
        office = Office(name="压测街道社区居委会", district="徐汇区")
        community = Community(name="压测苑", address="压测路 1 号", district="徐汇区",
                              office=office, settings={}, created_at=now)
        s.add(community)
        s.flush()
        buildings = [Building(community_id=community.id, name=f"{i}号楼") for i in range(1, 21)]
        s.add_all(buildings)
        s.flush()
        users = [User(username=f"bench-owner-{i}", display_name=f"业主{i}", password_hash=NO_LOGIN,
                      created_at=now) for i in range(owners)]
        s.add_all(users)
        s.flush()
        for i, user in enumerate(users):
            unit = Unit(community_id=community.id, building_id=buildings[i % 20].id,
                        number=str(101 + i // 20), floor=1 + i // 80,
                        area=Decimal("60.00") + Decimal(i % 60))
            person = Person(community_id=community.id, name=user.display_name, user_id=user.id,
                            created_at=now)
            s.add_all([unit, person])
            s.flush()
            s.add(Ownership(unit_id=unit.id, person_id=person.id, started_at=now))

        def staff(name, role):
            user = User(username=name, display_name=name, password_hash=NO_LOGIN, created_at=now)
            s.add(user)
            s.flush()
            s.add(RoleGrant(user_id=user.id, role=role, community_id=community.id,
                            granted_at=now))
            return user

        committee = staff("bench-committee", Role.COMMITTEE)
        scrutineers = [staff(f"bench-scrutineer-{i}", Role.SCRUTINEER) for i in range(3)]
        meeting = services.create_meeting(
            s, actor=committee, now=start, community=community, title="压测业主大会",
            kind=MeetingKind.ORDINARY, form=MeetingForm.ONLINE,
            voting_opens_at=start + dt.timedelta(days=16),
            voting_closes_at=now + dt.timedelta(days=10))
        for title, matter in (("选聘物业服务企业", Matter.SERVICE_COMPANY),
                              ("续筹专项维修资金", Matter.RAISE_FUND)):
            services.add_motion(s, actor=committee, now=start, meeting=meeting, title=title,
                                body="", matter=matter)
        services.publish(s, actor=committee, now=start, meeting=meeting)
        box = voting.hold_ceremony(
            s, actor=committee, now=start + dt.timedelta(days=1), meeting=meeting, k=2,
            passphrases={u.id: f"bench scrutineer passphrase {u.id}" for u in scrutineers})
        s.execute(text("CREATE TABLE bench_ping (id bigserial PRIMARY KEY, user_id integer, "
                       "at timestamptz DEFAULT now(), body text)"))
        s.commit()
        # A register is imported weeks before a vote opens, and autovacuum has analysed it by
        # then; a community built a second ago has no statistics, and the planner would scan.
        s.execute(text("ANALYZE"))
        s.commit()
        return {"community": community.id, "meeting": meeting.id, "box_id": box.box_id,
                "box_pk": box.id, "public_key": bytes(box.public_key),
                "users": [u.id for u in users]}


def sealed_ballots(world, count: int) -> list[dict[str, str]]:
    """Ballots sealed and signed on the client, as seal.js does in the owner's browser."""
    from elections import encode_motion_ballot, seal_ballot, sign_ballot
    from elections.signatures import new_signing_key, signing_public_key

    out = []
    for i in range(count):
        choices = {"m1": "agree" if i % 4 else "disagree", "m2": "agree"}
        sealed = seal_ballot(world["public_key"], world["box_id"], "motion",
                             encode_motion_ballot(choices, follow_majority=False))
        key = new_signing_key()
        out.append({"sealed": b64encode(sealed).decode(),
                    "credential": b64encode(signing_public_key(key)).decode(),
                    "signature": b64encode(sign_ballot(key, world["box_id"], sealed)).decode()})
    return out


# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, instance: Path, workers: int, threads: int) -> tuple:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "COURTYARD_INSTANCE": str(instance),
           "SECRET_KEY": secrets.token_hex(32), "SCHEMA_CHECK": "0",
           "LOGIN_RATE_LIMIT": "1000000 per minute",
           "LOGIN_ADDRESS_RATE_LIMIT": "1000000 per minute"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py"), "--pythonpath", str(ROOT / "bench"),
         "--chdir", str(ROOT), "-w", str(workers), "-k", "gthread", "--threads", str(threads),
         "--keep-alive", "30", "--backlog", "2048", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "casting_app:app"],
        env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("gunicorn exited before answering") from None
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("gunicorn did not answer within 60 s")


# -- the clients ----------------------------------------------------------------------------


class Browser:
    """One keep-alive connection; cookies per owner are passed in by the caller."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, method: str, path: str, cookie: str = "", form: dict | None = None):
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                return response.status, payload, response.headers.get_all("Set-Cookie") or []
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def open_session(browser: Browser, user_id: int) -> tuple[str, str]:
    status, body, cookies = browser.send("GET", f"/bench/session/{user_id}")
    assert status == 200, status
    jar = "; ".join(c.split(";", 1)[0] for c in cookies)
    return jar, body.decode().strip()


def run_phase(port: int, jobs: list[list], path: str, *, pace: float | None = None):
    """Each client posts its jobs one after another; ``pace`` (seconds between one client's
    requests) makes it open loop, the clients' first requests spread evenly over one interval,
    and each latency counted from when the request was due."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(jobs) + 1)

    def client(index, mine):
        browser = Browser(port)
        browser.send("GET", "/")  # connect before the clock starts
        barrier.wait()
        # Paced clients are spread over the interval, as owners are: not all in one instant.
        began = time.perf_counter() + (index * pace / len(jobs) if pace else 0)
        for n, (cookie, token, ballot) in enumerate(mine):
            due = began + n * pace if pace else time.perf_counter()
            if pace:
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            status, _body, _c = browser.send("POST", path, cookie, {"csrf_token": token, **ballot})
            took = time.perf_counter() - due
            with lock:
                statuses[status] += 1
                latencies.append(took)

    threads = [threading.Thread(target=client, args=(i, mine)) for i, mine in enumerate(jobs)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return summary([(wall, statuses, latencies)])


def summary(runs: list[tuple[float, Counter, list[float]]]) -> dict:
    """Figures of one phase, or of the interleaved rounds of one phase added up."""
    wall = sum(r[0] for r in runs)
    statuses: Counter[int] = sum((r[1] for r in runs), Counter())
    latencies = sorted(x for r in runs for x in r[2])

    def pct(p):
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    ok = statuses.get(302, 0)
    return {"requests": sum(statuses.values()), "accepted": ok, "seconds": round(wall, 3),
            "per_second": round(ok / wall, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": round(1000 * latencies[-1], 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "_runs": runs}


def interleaved(port: int, bare_jobs: list, cast_jobs: list, cast_path: str,
                rounds: int) -> tuple[dict, dict]:
    """Bare and cast in alternating rounds, so that a neighbour's load on the shared machine
    weighs on both rates alike: their ratio is what the machine can tell apart."""
    bare_runs, cast_runs = [], []
    for r in range(rounds):
        bare_runs += run_phase(port, [j[r::rounds] for j in bare_jobs], "/bench/bare")["_runs"]
        cast_runs += run_phase(port, [j[r::rounds] for j in cast_jobs], cast_path)["_runs"]
    return summary(bare_runs), summary(cast_runs)


def public(phase: dict) -> dict:
    return {k: v for k, v in phase.items() if not k.startswith("_")}


def split(items: list, clients: int) -> list[list]:
    return [items[i::clients] for i in range(clients)]


# -- the check ------------------------------------------------------------------------------


def check_board(engine, box_pk: int, box_id: str) -> dict:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.models import BallotBox, BoardEntry
    from elections import chain_record, genesis_hash

    began = time.perf_counter()
    while True:  # the workers' chainers finish the last batch a moment after the answers
        with Session(engine) as s:
            waiting = s.scalar(select(func.count(BoardEntry.id)).where(
                BoardEntry.box_id == box_pk, BoardEntry.number.is_(None)))
        if not waiting or time.perf_counter() - began > 60:
            break
        time.sleep(0.05)
    with Session(engine) as s:
        entries = list(s.scalars(select(BoardEntry).where(BoardEntry.box_id == box_pk,
                                                          BoardEntry.number.is_not(None))
                                 .order_by(BoardEntry.number)))
        voters = s.scalar(select(func.count(func.distinct(BoardEntry.voter_ref)))
                          .where(BoardEntry.box_id == box_pk))
        head = bytes(s.get(BallotBox, box_pk).board_hash)
    previous = genesis_hash(box_id)
    for n, e in enumerate(entries, start=1):
        rec = chain_record(previous, n, bytes(e.credential), bytes(e.signature), bytes(e.sealed),
                           server_sealed=e.server_sealed)
        if e.number != n or bytes(e.prev_hash) != previous or bytes(e.record_hash) != rec.hash:
            return {"entries": len(entries), "voters": voters, "chain_ok": False,
                    "first_bad": n, "unchained": waiting}
        previous = rec.hash
    return {"entries": len(entries), "voters": voters, "unchained": waiting,
            "chain_ok": previous == head and not waiting}


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--owners", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating bare and cast rounds the saturated rates add up")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "scripts"))
    from pg_reachable import main as pg_check
    from sqlalchemy import text

    from app.db import make_engine
    from app.migrate import upgrade

    if pg_check(PG_URL) != 0:
        print(f"PostgreSQL not reachable at {PG_URL}: casting bench skipped")
        return 0
    schema = f"cy_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = urllib.parse.quote(f"-csearch_path={schema}")
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options={options}"
    engine = make_engine(url)
    instance = Path(tempfile.mkdtemp(prefix="cy-bench-"))
    os.environ["COURTYARD_INSTANCE"] = str(instance)
    proc = None
    try:
        upgrade(engine)
        t0 = time.perf_counter()
        world = build(engine, args.owners)
        third = args.owners // 3
        ballots = sealed_ballots(world, args.owners)
        print(f"community of {args.owners} owners built and ballots sealed in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        proc, port = start_gunicorn(url, instance, args.workers, args.threads)
        opener = Browser(port)
        sessions = [open_session(opener, uid) for uid in world["users"]]
        # The clients time the server: a full collection of this process's own garbage (the
        # ballots, the sessions) must not land inside a request's clock.
        gc.collect()
        gc.freeze()
        cast_path = f"/c/{world['community']}/meetings/{world['meeting']}/ballot"

        def jobs(first: int, last: int) -> list[list]:
            return split([(c, t, b) for (c, t), b in zip(sessions[first:last],
                                                         ballots[first:last])], args.clients)

        bare, cast = interleaved(port, jobs(0, third), jobs(0, third), cast_path, args.rounds)
        print(f"bare   {public(bare)}", flush=True)
        print(f"cast   {public(cast)}", flush=True)
        rate = TARGET_RATIO * bare["per_second"]
        paced = run_phase(port, jobs(third, 2 * third), cast_path, pace=args.clients / rate)
        paced["offered_per_second"] = round(rate, 1)
        print(f"paced  {public(paced)}", flush=True)
        # Owners as they are: each of the 50 clients casts one ballot a second.
        steady = run_phase(port, jobs(2 * third, 3 * third), cast_path, pace=1.0)
        steady["offered_per_second"] = float(args.clients)
        print(f"steady {public(steady)}", flush=True)
        again = split([(c, t, b) for (c, t), b in zip(sessions[:args.clients],
                                                       ballots[:args.clients])], args.clients)
        duplicates = run_phase(port, again, cast_path)
        print(f"dupes  {public(duplicates)}", flush=True)
        board = check_board(engine, world["box_pk"], world["box_id"])
        print(f"board  {board}", flush=True)
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    accepted = cast["accepted"] + paced["accepted"] + steady["accepted"]
    errors = sum(v for phase in (bare, cast, paced, steady)
                 for k, v in phase["statuses"].items() if k != "302")
    double = board["entries"] - board["voters"] + duplicates["accepted"]
    ratio = cast["per_second"] / bare["per_second"]
    figures = {
        "bare": public(bare), "cast": public(cast), "paced": public(paced),
        "steady": public(steady), "duplicates": public(duplicates), "board": board,
        "rounds": args.rounds,
        "ratio": round(ratio, 3), "target_ratio": TARGET_RATIO, "target_p99_ms": TARGET_P99_MS,
        "errors": errors, "double_votes": double,
        "met": (ratio >= TARGET_RATIO and paced["p99_ms"] < TARGET_P99_MS and errors == 0
                and double == 0 and board["chain_ok"] and board["entries"] == accepted
                and duplicates["statuses"] == {"409": duplicates["requests"]}),
    }
    print(f"\nsealed ballots accepted: {cast['per_second']}/s; bare insert: "
          f"{bare['per_second']}/s; ratio {ratio:.2f} (target ≥ {TARGET_RATIO})")
    print(f"p99 at {paced['offered_per_second']}/s offered: {paced['p99_ms']} ms "
          f"(target < {TARGET_P99_MS:.0f} ms); at {steady['offered_per_second']}/s (each "
          f"client one a second): {steady['p99_ms']} ms; saturated: cast {cast['p99_ms']} ms, "
          f"bare {bare['p99_ms']} ms")
    print(f"errors {errors}, double votes {double}, board chain "
          f"{'verifies' if board['chain_ok'] else 'BROKEN'}; "
          f"{'target met' if figures['met'] else 'TARGET MISSED'}")
    if not args.no_save:
        try:
            results = json.loads(RESULTS.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            results = {}
        results["casting"] = {
            "owners": args.owners, "clients": args.clients, "gunicorn_workers": args.workers,
            "gunicorn_threads": args.threads, "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": f"python bench/bench_casting.py --owners {args.owners} --clients "
                       f"{args.clients} --workers {args.workers} --threads {args.threads} "
                       f"--rounds {args.rounds}",
            **figures,
        }
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n",
                           encoding="utf-8")
    return 0 if figures["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
