"""Site administration: communities, offices, accounts and role grants."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..auth.services import PHONE_RE, USERNAME_RE, check_password_rules, find_user, hash_password
from ..errors import Conflict, DomainError
from ..models import Community, Office, Role, RoleGrant, User

#: Roles a chair or admin grants on the roles page (owner/resident come from the register).
GRANTABLE = (
    Role.COMMITTEE, Role.CHAIR, Role.SCRUTINEER, Role.EVALUATOR, Role.STAFF, Role.AUDITOR,
)


def create_community(
    session: Session, *, actor: User, now: dt.datetime, name: str, address: str,
    district: str, office_name: str, ip: str = "",
) -> Community:
    name = name.strip()
    if not name:
        raise DomainError(_("The community needs a name."), field="name")
    office = None
    if office_name.strip():
        office = session.scalar(select(Office).where(Office.name == office_name.strip()))
        if office is None:
            office = Office(name=office_name.strip(), district=district.strip())
            session.add(office)
    community = Community(
        name=name, address=address.strip(), district=district.strip(), office=office,
        settings={}, created_at=now,
    )
    session.add(community)
    session.flush()
    record(session, actor=actor, action="community.created", now=now,
           community_id=community.id, target=name, remote_addr=ip)
    return community


def create_account(
    session: Session, *, actor: User, now: dt.datetime, username: str, password: str,
    display_name: str = "", phone: str | None = None, ip: str = "",
) -> User:
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise DomainError(
            _("Usernames use 3–40 letters, digits, dots, dashes or underscores."),
            field="username",
        )
    phone = (phone or "").strip() or None
    if phone and not PHONE_RE.fullmatch(phone):
        raise DomainError(_("A mobile number has 11 digits and starts with 1."), field="phone")
    if find_user(session, username) or (phone and find_user(session, phone)):
        raise Conflict(_("An account with this username or phone exists."), field="username")
    check_password_rules(password)
    user = User(
        username=username, phone=phone, display_name=display_name.strip()[:80],
        password_hash=hash_password(password), created_at=now,
    )
    session.add(user)
    session.flush()
    record(session, actor=actor, action="account.created", now=now, target=username,
           remote_addr=ip)
    return user


def grant_role(
    session: Session, *, actor: User, now: dt.datetime, user: User, role: Role,
    community: Community, ip: str = "",
) -> RoleGrant:
    if role not in GRANTABLE:
        raise DomainError(_("This role cannot be granted here."), field="role")
    if role is Role.AUDITOR:
        if community.office_id is None:
            raise DomainError(_("This community has no community office."), field="role")
        scope = {"office_id": community.office_id, "community_id": None}
    else:
        scope = {"community_id": community.id, "office_id": None}
    existing = session.scalar(select(RoleGrant).filter_by(user_id=user.id, role=role, **scope))
    if existing:
        raise Conflict(_("%(user)s already holds this role.", user=user.username), field="role")
    grant = RoleGrant(user_id=user.id, role=role, granted_at=now, granted_by_id=actor.id,
                      **scope)
    session.add(grant)
    session.flush()
    record(session, actor=actor, action="role.granted", now=now, community_id=community.id,
           target=user.username, details={"role": role.value}, remote_addr=ip)
    return grant


def revoke_grant(
    session: Session, *, actor: User, now: dt.datetime, grant: RoleGrant,
    community: Community, ip: str = "",
) -> None:
    record(session, actor=actor, action="role.revoked", now=now, community_id=community.id,
           target=grant.user.username, details={"role": grant.role.value}, remote_addr=ip)
    session.delete(grant)
    session.flush()


def grants_of(session: Session, community: Community) -> list[RoleGrant]:
    clauses = RoleGrant.community_id == community.id
    if community.office_id:
        clauses = clauses | (RoleGrant.office_id == community.office_id)
    return list(session.scalars(select(RoleGrant).where(clauses).order_by(RoleGrant.role)))
