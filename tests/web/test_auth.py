"""Login, the second factor, the rate limit, cookies, CSRF and tokens."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select

from app import create_app
from app.models import AuditEntry, Role, User

PASSWORD = "correct horse battery"  # the factory's password (see the `password` fixture)


def _actions(db_session) -> list[str]:
    return list(db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_owner_logs_in_by_phone(client, make, db_session):
    """Can an owner log in with the phone number instead of a username?"""
    user = make.user(phone="13812345678")
    db_session.flush()
    response = client.post("/login", data={"login": "13812345678", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/profile").status_code == 200
    assert "login.succeeded" in _actions(db_session)
    db_session.expire_all()
    assert db_session.get(User, user.id).last_login_at is not None


def test_wrong_password_is_refused_and_recorded(client, make, db_session):
    user = make.user()
    response = client.post("/login?lang=en", data={"login": user.username, "password": "nope"})
    assert response.status_code == 422
    assert "Wrong phone/username or password" in response.get_data(as_text=True)
    assert client.get("/profile").status_code == 302  # still anonymous
    assert "login.failed" in _actions(db_session)


def test_unknown_account_gets_the_same_answer(client):
    response = client.post("/login?lang=en", data={"login": "ghost", "password": "whatever1"})
    assert response.status_code == 422
    assert "Wrong phone/username or password" in response.get_data(as_text=True)


def test_login_is_rate_limited(client, make):
    """Does the sixth attempt within a minute get 429, even with the right password?"""
    user = make.user()
    for _ in range(5):
        response = client.post("/login", data={"login": user.username, "password": "x"})
        assert response.status_code == 422
    response = client.post("/login", data={"login": user.username, "password": PASSWORD})
    assert response.status_code == 429


def test_rate_limit_follows_the_account_across_addresses(client, make):
    """Guessing one account's password from many addresses is limited too."""
    user = make.user()
    for i in range(5):
        client.post("/login", data={"login": user.username, "password": "x"},
                    environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
    response = client.post("/login", data={"login": user.username, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.0.99"})
    assert response.status_code == 429


def test_many_owners_behind_one_address_can_log_in(client, make, db_session):
    """Activation day: ten owners log in from the office's one connection."""
    users = [make.user() for _ in range(10)]
    db_session.flush()
    for user in users:
        response = client.post("/login", data={"login": user.username, "password": PASSWORD})
        assert response.status_code == 302
        client.post("/logout")


def test_second_step_is_rate_limited_per_account(client, make, db_session):
    community = make.community()
    user = make.user_with_role(Role.COMMITTEE, community)
    db_session.flush()
    client.post("/login", data={"login": user.username, "password": PASSWORD})
    statuses = [client.post("/login/totp", data={"code": "000000"}).status_code
                for _ in range(6)]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429


@pytest.mark.parametrize("role", [Role.COMMITTEE, Role.CHAIR, Role.SCRUTINEER])
def test_privileged_roles_must_enrol_totp(client, make, db_session, role):
    """A committee member without TOTP is led through enrolment before getting in."""
    community = make.community()
    user = make.user()
    make.grant(user, role, community)
    db_session.flush()
    response = client.post("/login", data={"login": user.username, "password": PASSWORD})
    assert response.headers["Location"].endswith("/login/totp/setup")
    # Not logged in yet: the community page still asks for a login.
    assert client.get(f"/c/{community.id}/").status_code == 302
    page = client.get("/login/totp/setup").get_data(as_text=True)
    assert "data:image/svg+xml;base64," in page
    db_session.refresh(user)
    assert user.totp_secret in page
    assert client.post("/login/totp/setup", data={"code": "000000"}).status_code == 422
    code = pyotp.TOTP(user.totp_secret).now()
    assert client.post("/login/totp/setup", data={"code": code}).status_code == 302
    assert client.get(f"/c/{community.id}/").status_code == 200
    db_session.refresh(user)
    assert user.totp_enabled
    assert "account.totp_enabled" in _actions(db_session)


def test_totp_code_cannot_be_replayed(client, make, db_session):
    community = make.community()
    user = make.user_with_role(Role.COMMITTEE, community)
    db_session.flush()
    code = pyotp.TOTP(user.totp_secret).now()
    client.post("/login", data={"login": user.username, "password": PASSWORD})
    assert client.post("/login/totp", data={"code": code}).status_code == 302
    client.post("/logout")
    client.post("/login", data={"login": user.username, "password": PASSWORD})
    response = client.post("/login/totp?lang=en", data={"code": code})
    assert response.status_code == 422
    assert "already used" in response.get_data(as_text=True)


def test_owner_needs_no_totp(client, make, db_session):
    community = make.community()
    user = make.user_with_role(Role.OWNER, community)
    db_session.flush()
    response = client.post("/login", data={"login": user.username, "password": PASSWORD})
    assert not response.headers["Location"].endswith("/login/totp")


def test_login_does_not_redirect_off_site(client, make, db_session):
    user = make.user()
    db_session.flush()
    response = client.post("/login?next=//evil.example/x",
                           data={"login": user.username, "password": PASSWORD})
    assert response.headers["Location"].endswith("/dashboard")
    assert "evil" not in response.headers["Location"]


def test_session_cookie_flags(client, make, db_session):
    user = make.user()
    db_session.flush()
    response = client.post("/login", data={"login": user.username, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch, engine):
    monkeypatch.setenv("COURTYARD_ENV", "production")
    app = create_app({"DB_ENGINE": engine, "SCHEMA_CHECK": False})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_every_form_needs_a_csrf_token(app, client, make, login):
    """With CSRF on, is every POST of the site (outside the token API) refused without a token?"""
    community = make.community()
    login(make.user_with_role(Role.CHAIR, community))
    app.config["WTF_CSRF_ENABLED"] = True
    posts = [
        rule for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith("/api/")
    ]
    assert posts
    for rule in posts:
        values = {arg: community.id if arg == "community_id" else 1 for arg in rule.arguments}
        if "lang" in rule.arguments:
            values["lang"] = "en"
        url = rule.build(values, append_unknown=False)[1]
        response = client.post(url, data={})
        assert response.status_code == 400, (rule.rule, response.status_code)


def test_profile_password_change(client, make, login, db_session):
    user = make.user()
    login(user)
    bad = client.post("/profile?lang=en", data={"pw-current": PASSWORD, "pw-new": "1234567890"})
    assert bad.status_code == 422
    assert "digits only" in bad.get_data(as_text=True)
    ok = client.post("/profile", data={"pw-current": PASSWORD, "pw-new": "a new long passphrase"})
    assert ok.status_code == 302
    client.post("/logout")
    response = client.post("/login", data={"login": user.username,
                                           "password": "a new long passphrase"})
    assert response.status_code == 302


def test_totp_window_accepts_previous_step(make):
    from app.auth.services import check_totp

    user = make.user(totp=True)
    now = dt.datetime.now(dt.UTC)
    previous = pyotp.TOTP(user.totp_secret).at(now - dt.timedelta(seconds=30))
    assert check_totp(user, previous, now)
    assert not check_totp(user, previous, now)
    far = pyotp.TOTP(user.totp_secret).at(now - dt.timedelta(minutes=5))
    assert not check_totp(user, far, now)
