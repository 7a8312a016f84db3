"""A thousand simultaneous cast attempts by one owner, on PostgreSQL, through the web layer.

The web tests' usual transaction-per-test cannot show a race (every request would share one
connection), so this test builds its own schema, commits its data and lets the requests of 25
threads run on 25 connections at once, as gunicorn workers would. Exactly one ballot may come out
of it, the other owners voting in the same storm must all get theirs, and the board must still
open and verify. It runs twice: with the ballots chained in the cast's own transaction, and as
the site serves on PostgreSQL, received at once and chained after the commit by the worker's
chainer thread.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from voting_helpers import PASSPHRASES, VotingWorld

from app import create_app
from app.db import make_engine
from app.meetings import chainer, opening, voting
from app.migrate import upgrade
from app.models import BoardEntry, Meeting, utcnow
from elections import verify_bundle

BACKEND = os.environ.get("COURTYARD_TEST_DB", "sqlite")
PG_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="the race is real only on PostgreSQL")

ATTEMPTS, THREADS, OTHERS = 1000, 25, 20


@pytest.fixture(params=["inline", "background"])
def race_app(request):
    schema = f"cy_race_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, pool_size=THREADS + 5, max_overflow=5,
                         connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    instance = Path(tempfile.mkdtemp(prefix="cy-race-"))
    os.environ.setdefault("COURTYARD_INSTANCE", str(instance))
    app = create_app({
        "TESTING": True, "DB_ENGINE": engine, "DATABASE_URL": str(engine.url),
        "SCHEMA_CHECK": False, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "race-secret",
        "ID_HASH_KEY": "race-id-key", "SERVER_NAME": "localhost",
        "LOGIN_RATE_LIMIT": "1000 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "1000 per minute",
        "SHARE_SCRYPT_COST": 2**10, "BOARD_CHAIN": request.param,
    })
    yield app, engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _signed_in(app, user, password):
    browser = app.test_client()
    response = browser.post("/login", data={"login": user.username, "password": password})
    assert response.status_code == 302
    return browser


def test_a_thousand_simultaneous_casts_by_one_owner_make_one_ballot(race_app, password, make):
    app, engine = race_app
    factory = type(make)  # the web tests' data factory, here on a session that commits
    with Session(engine, expire_on_commit=False) as s:
        world = VotingWorld(factory(s), s, app, owners=OTHERS + 1)
        world.ceremony()
        s.commit()
    owner_browsers = [_signed_in(app, world.owners[0], password) for _ in range(THREADS)]
    others = [_signed_in(app, user, password) for user in world.owners[1:]]
    url = world.url("/ballot")
    statuses: Counter[int] = Counter()
    other_statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(THREADS + len(others))

    def storm(browser):
        start.wait()
        for _ in range(ATTEMPTS // THREADS):
            code = browser.post(url, data={"choice-m1": "agree", "final": "1"}).status_code
            with lock:
                statuses[code] += 1

    def vote_once(browser):
        start.wait()
        code = browser.post(url, data={"choice-m1": "disagree", "final": "1"}).status_code
        with lock:
            other_statuses[code] += 1

    threads = [threading.Thread(target=storm, args=(b,)) for b in owner_browsers]
    threads += [threading.Thread(target=vote_once, args=(b,)) for b in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(statuses.values()) == ATTEMPTS
    assert statuses == Counter({302: 1, 409: ATTEMPTS - 1}), statuses
    assert other_statuses == Counter({302: OTHERS}), other_statuses
    assert chainer.CHAINER.wait_idle(30)

    with app.test_request_context(), Session(engine, expire_on_commit=False) as s:
        meeting = s.get(Meeting, world.meeting.id)
        box = voting.box_of(s, meeting)
        assert s.scalar(select(func.count(BoardEntry.id)).where(
            BoardEntry.box_id == box.id)) == OTHERS + 1
        numbers = [e.number for e in voting.board_entries(s, box)]
        assert numbers == list(range(1, OTHERS + 2))
        # Close, open with two shares and check the whole bundle as an auditor would.
        meeting.voting_closes_at = utcnow()
        voting.close_voting(s, actor=world.committee, now=utcnow(), meeting=meeting)
        for user, passphrase in list(zip(world.scrutineers, PASSPHRASES))[:2]:
            opening.bring_share(s, actor=user, now=utcnow(), meeting=meeting, share_text="",
                                passphrase=passphrase)
        report = verify_bundle(opening.meeting_bundle(s, meeting))
        assert report.ok, report.discrepancies
        counted = s.get(Meeting, meeting.id)
        assert counted.motions[0].adopted is False  # 1 agree against 20 disagree
