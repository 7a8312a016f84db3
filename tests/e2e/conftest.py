"""End-to-end fixtures: the real app over HTTP, and Debian's Chromium driven by Playwright.

The server is the real WSGI app (CSRF on, the schema made by the migrations on a fresh SQLite
file) served by werkzeug on 127.0.0.1 with a free port, in a background thread. Playwright
cannot download browsers here, so the tests use the distribution's ``/usr/bin/chromium`` and
are skipped, saying so, where it is missing.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app import create_app
from app.activation.services import Scope, ScopeKind, issue_letters
from app.db import engine_of, make_engine
from app.migrate import upgrade
from app.models import Building, Community, Office, Ownership, Person, Unit, User, utcnow
from app.register.identity import id_digest, make_id_number

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"]
ID_HASH_KEY = "e2e-id-key"


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask

    def session(self) -> Session:
        """A session on the server's database, for arranging data (commit to publish it)."""
        return Session(engine_of(self.app), expire_on_commit=False)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'courtyard.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({
        "DATABASE_URL": url, "SCHEMA_CHECK": False, "SECRET_KEY": secrets.token_hex(32),
        "ID_HASH_KEY": ID_HASH_KEY, "WTF_CSRF_ENABLED": True,
        # Every test browses from 127.0.0.1: the per-account and per-address limits would
        # throttle the suite (its journeys log in more than 30 times a minute on a fast
        # machine), not an attacker. The limits themselves are tested in tests/web.
        "LOGIN_RATE_LIMIT": "100 per minute",
        "LOGIN_ADDRESS_RATE_LIMIT": "1000 per minute",
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: the OS picks a free one
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = base  # what the letters' QR codes point to
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield LiveServer(base, app)
    server.shutdown()
    thread.join(timeout=10)
    engine_of(app).dispose()


@dataclass(frozen=True)
class SmallCommunity:
    community_id: int
    name: str
    building_id: int
    committee_id: int


@pytest.fixture(scope="session")
def small_community(live_server) -> SmallCommunity:
    """A community with one building and a committee member; owners are added per test."""
    with live_server.app.app_context(), live_server.session() as s:
        office = Office(name="天林街道社区居委会", district="徐汇区")
        community = Community(name="梧桐苑", address="桂林路 88 弄", district="徐汇区",
                              office=office, settings={}, created_at=utcnow())
        s.add(community)
        s.flush()
        building = Building(community_id=community.id, name="1号楼")
        committee = User(username="committee", display_name="林晓峰", password_hash="x",
                         created_at=utcnow())
        s.add_all([building, committee])
        s.commit()
        return SmallCommunity(community.id, community.name, building.id, committee.id)


_unit_numbers = itertools.count(101)


@dataclass(frozen=True)
class Letter:
    unit_label: str
    code: str
    #: What the owner types to prove who they are (the register holds only its digest).
    id_number: str


@pytest.fixture
def letter(live_server, small_community):
    """Make a letter: add a unit with one owner to the register, issue its code through the
    service (as the committee's letters page does), and return what the paper says."""

    def make(owner_name: str) -> Letter:
        number = next(_unit_numbers)
        id_number = make_id_number(f"31010419800101{number % 1000:03d}")
        with live_server.app.test_request_context(), live_server.session() as s:
            unit = Unit(community_id=small_community.community_id,
                        building_id=small_community.building_id, number=str(number),
                        floor=number // 100, area=Decimal("89.15"))
            person = Person(community_id=small_community.community_id, name=owner_name,
                            phone="13700000000", created_at=utcnow(),
                            id_number_digest=id_digest(ID_HASH_KEY, id_number))
            s.add_all([unit, person])
            s.flush()
            s.add(Ownership(unit_id=unit.id, person_id=person.id, started_at=utcnow()))
            issued = issue_letters(
                s, actor=s.get(User, small_community.committee_id), now=utcnow(),
                community=s.get(Community, small_community.community_id),
                scope=Scope(ScopeKind.UNIT, unit_id=unit.id), days=30,
            )
            s.commit()
        (only,) = issued.letters
        return Letter(only.unit_label, only.owners[0].code, id_number)

    return make


# Module scope, not session: Playwright's sync API allows one running instance per thread, and
# other e2e modules start their own; each module's browser closes before the next one starts.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y "
                    "chromium) to run the end-to-end tests")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    """A desktop browser tab, in English."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def phone_page(browser):
    """A phone-size tab (390×844, touch), in Chinese as most owners use it."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
