"""User accounts, role grants, personal access tokens and activation codes."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, intpk, str80, timestamp
from .community import enum_column


class Role(enum.StrEnum):
    """Roles held in a community (owner and resident come from the register)."""

    OWNER = "owner"
    RESIDENT = "resident"
    COMMITTEE = "committee"
    CHAIR = "chair"
    SCRUTINEER = "scrutineer"
    EVALUATOR = "evaluator"
    STAFF = "staff"
    AUDITOR = "auditor"
    ADMIN = "admin"


#: Roles whose holders must use a second factor (TOTP).
ROLES_NEEDING_TOTP = frozenset({Role.COMMITTEE, Role.CHAIR, Role.SCRUTINEER, Role.ADMIN})


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(60), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    display_name: Mapped[str80] = mapped_column(default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    #: Base32 TOTP secret once enrolment started; confirmed when ``totp_enabled``.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    #: Last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None]
    is_site_admin: Mapped[bool] = mapped_column(default=False)
    #: Demo accounts may print their TOTP code from the command line.
    is_demo: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[timestamp]
    last_login_at: Mapped[dt.datetime | None]

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", foreign_keys="RoleGrant.user_id"
    )

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class RoleGrant(Base):
    """A role given to a user in one community, or across an office's communities (auditors)."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "community_id", "office_id"),
        CheckConstraint(
            "(community_id IS NOT NULL) <> (office_id IS NOT NULL)", name="one_scope"
        ),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)
    granted_at: Mapped[timestamp]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])


class ApiToken(Base):
    """A personal access token for /api/v1; only its hash is kept."""

    __tablename__ = "api_token"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str80]
    #: First characters of the token, shown so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[timestamp]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class ActivationCode(Base):
    """A one-time code printed on an activation letter for one owner of one unit."""

    __tablename__ = "activation_code"

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: SHA-256 of the code: the code itself is only on paper.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: Set when a reissue replaced this code.
    revoked_at: Mapped[dt.datetime | None]
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    unit: Mapped["Unit"] = relationship()  # noqa: UP037
    person: Mapped["Person"] = relationship()  # noqa: UP037


from .community import Person, Unit  # noqa: E402
