"""Web-test helpers: data factories and ``login(user)`` through the real login pages."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pyotp
import pytest

from app.auth.services import hash_password
from app.models import (
    Building,
    Community,
    Office,
    Ownership,
    Person,
    Residency,
    ResidencyKind,
    Role,
    RoleGrant,
    Unit,
    User,
    utcnow,
)

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)
_seq = itertools.count(1)


class Factory:
    """Small builders for test data; each flushes so ids exist."""

    def __init__(self, session):
        self.s = session

    def _add(self, obj):
        self.s.add(obj)
        self.s.flush()
        return obj

    def office(self, name=None):
        return self._add(Office(name=name or f"Office {next(_seq)}", district="Xuhui"))

    def community(self, name=None, office=None):
        return self._add(
            Community(name=name or f"Community {next(_seq)}", address="1 Test Road",
                      district="Xuhui", office=office or self.office(), settings={},
                      created_at=utcnow())
        )

    def building(self, community, name=None):
        return self._add(Building(community_id=community.id, name=name or f"B{next(_seq)}"))

    def unit(self, community, building=None, number=None, area="88.50", floor=3):
        building = building or self.building(community)
        return self._add(
            Unit(community_id=community.id, building_id=building.id,
                 number=number or str(100 + next(_seq)), floor=floor, area=Decimal(area))
        )

    def person(self, community, name=None, user=None, phone=None):
        return self._add(
            Person(community_id=community.id, name=name or f"Owner {next(_seq)}",
                   phone=phone, user_id=user.id if user else None, created_at=utcnow())
        )

    def own(self, person, unit):
        return self._add(Ownership(unit_id=unit.id, person_id=person.id, started_at=utcnow()))

    def reside(self, person, unit, kind=ResidencyKind.TENANT):
        return self._add(
            Residency(unit_id=unit.id, person_id=person.id, kind=kind, started_at=utcnow())
        )

    def user(self, username=None, *, admin=False, totp=False, phone=None):
        user = self._add(
            User(username=username or f"user{next(_seq)}", phone=phone,
                 display_name="Test User", password_hash=_HASH, is_site_admin=admin,
                 created_at=utcnow())
        )
        if totp or admin:
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled = True
        return user

    def grant(self, user, role: Role, community: Community):
        if role is Role.AUDITOR:
            return self._add(RoleGrant(user_id=user.id, role=role, office_id=community.office_id,
                                       granted_at=utcnow()))
        return self._add(RoleGrant(user_id=user.id, role=role, community_id=community.id,
                                   granted_at=utcnow()))

    def user_with_role(self, role: Role, community: Community) -> User:
        """An account holding ``role`` in ``community`` (owners own a unit there)."""
        if role is Role.ADMIN:
            return self.user(admin=True)
        if role in (Role.OWNER, Role.RESIDENT):
            user = self.user()
            person = self.person(community, user=user)
            unit = self.unit(community)
            (self.own if role is Role.OWNER else self.reside)(person, unit)
            return user
        user = self.user(totp=role in (Role.COMMITTEE, Role.CHAIR, Role.SCRUTINEER))
        self.grant(user, role, community)
        return user


@pytest.fixture
def make(db_session) -> Factory:
    return Factory(db_session)


@pytest.fixture
def login(client, db_session):
    """Log ``user`` in through the login form (and the TOTP step when the account has one)."""

    def do_login(user: User, password: str = PASSWORD):
        db_session.flush()
        response = client.post("/login", data={"login": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        if response.headers["Location"].endswith("/login/totp"):
            db_session.refresh(user)  # the site may have stored a step since we last looked
            user.totp_last_step = None
            db_session.flush()
            code = pyotp.TOTP(user.totp_secret).now()
            response = client.post("/login/totp", data={"code": code})
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do_login


@pytest.fixture
def password() -> str:
    """The password of every account the factory makes."""
    return PASSWORD


@pytest.fixture
def cheap_shares(app):
    """Scrutineers' shares protected with a low scrypt cost: the vote tests open many boxes."""
    app.config["SHARE_SCRYPT_COST"] = 2**10


@pytest.fixture
def world(make, db_session, app, cheap_shares):
    """Four owners, three scrutineers (k = 2) and a meeting whose vote is open
    (``voting_helpers.VotingWorld``); a test module may define its own ``world``."""
    from voting_helpers import VotingWorld

    w = VotingWorld(make, db_session, app)
    w.ceremony()
    return w
