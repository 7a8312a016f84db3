"""All models, imported here so that Alembic and the app see one metadata."""

from .accounts import ROLES_NEEDING_TOTP, ActivationCode, ApiToken, Role, RoleGrant, User
from .audit import AuditEntry, AuditHead
from .base import Base, utcnow
from .community import (
    Building,
    Community,
    Office,
    Ownership,
    Person,
    Residency,
    ResidencyKind,
    Unit,
    UnitUse,
)
from .meetings import (
    Meeting,
    MeetingForm,
    MeetingKind,
    MeetingStatus,
    Motion,
    NoticeRevision,
)
from .notifications import Notification
from .register import ImportStatus, RegisterImport

__all__ = [
    "ROLES_NEEDING_TOTP",
    "ActivationCode",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Building",
    "Community",
    "ImportStatus",
    "Meeting",
    "MeetingForm",
    "MeetingKind",
    "MeetingStatus",
    "Motion",
    "NoticeRevision",
    "Notification",
    "Office",
    "Ownership",
    "Person",
    "RegisterImport",
    "Residency",
    "ResidencyKind",
    "Role",
    "RoleGrant",
    "Unit",
    "UnitUse",
    "User",
    "utcnow",
]
