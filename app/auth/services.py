"""Accounts: passwords (argon2), login, TOTP, personal access tokens.

Services take the session, the actor and ``now`` as arguments; they flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Request
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import db
from ..audit.services import record
from ..errors import DomainError, NotFound
from ..models import ROLES_NEEDING_TOTP, ApiToken, Role, RoleGrant, User

hasher = PasswordHasher()
#: Verified against when the account does not exist, so timing does not reveal it.
_DUMMY_HASH = hasher.hash("courtyard-dummy-password")
TOKEN_PREFIX = "ct_"  # noqa: S105 - a public prefix, not a secret
TOTP_ISSUER = "Courtyard"
MIN_PASSWORD = 10
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,40}$")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            _("The password needs at least %(n)d characters.", n=MIN_PASSWORD), field="password"
        )
    if password.isdigit():
        raise DomainError(_("The password cannot be digits only."), field="password")


def find_user(session: Session, login: str) -> User | None:
    login = login.strip()
    if not login:
        return None
    return session.scalar(
        select(User).where(or_(User.username == login, User.phone == login))
    )


def authenticate(session: Session, login: str, password: str) -> User | None:
    """The user whose username or phone and password match, else None (constant work)."""
    user = find_user(session, login)
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def needs_totp(session: Session, user: User) -> bool:
    """Committee members, chairs, scrutineers and admins must use a second factor."""
    if user.is_site_admin:
        return True
    roles = session.scalars(select(RoleGrant.role).where(RoleGrant.user_id == user.id)).all()
    return any(Role(r) in ROLES_NEEDING_TOTP for r in roles)


def start_totp_enrolment(user: User) -> str:
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def totp_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.username, issuer_name=TOTP_ISSUER
    )


def check_totp(user: User, code: str, now: dt.datetime) -> bool:
    """Accept a code of the current step (±1 for clock drift), never the same step twice."""
    code = re.sub(r"\s", "", code or "")
    if not user.totp_secret or not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    step_now = int(now.timestamp()) // totp.interval
    for step in (step_now - 1, step_now, step_now + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if secrets.compare_digest(totp.at(step * totp.interval), code):
            user.totp_last_step = step
            return True
    return False


def confirm_totp(session: Session, user: User, code: str, now: dt.datetime, ip: str) -> bool:
    if not check_totp(user, code, now):
        return False
    if not user.totp_enabled:
        user.totp_enabled = True
        record(session, actor=user, action="account.totp_enabled", now=now, remote_addr=ip)
    return True


# Personal access tokens -------------------------------------------------------------------


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str, now: dt.datetime, ip: str) -> str:
    """Make a token; the plain value is returned once and never stored."""
    name = name.strip()
    if not name:
        raise DomainError(_("Give the token a name."), field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id, name=name[:80], prefix=token[:10], token_hash=_token_digest(token),
            created_at=now,
        )
    )
    record(session, actor=user, action="token.created", now=now, target=name, remote_addr=ip)
    session.flush()
    return token


def revoke_token(session: Session, user: User, token_id: int, now: dt.datetime, ip: str) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = now
        record(session, actor=user, action="token.revoked", now=now, target=token.name,
               remote_addr=ip)


def user_for_token(session: Session, token: str, now: dt.datetime) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = now
    return row.user


# Flask-Login loader ------------------------------------------------------------------------


def load_user(user_id: str) -> User | None:
    try:
        user = db.session().get(User, int(user_id))
    except ValueError:
        return None
    return user if user and user.active else None


def bearer_user(request: Request) -> User | None:
    """The user of ``Authorization: Bearer ct_…``, for the API."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return user_for_token(db.session(), header[7:].strip(), dt.datetime.now(dt.UTC))
