"""All models, imported here so that Alembic and the app see one metadata."""

from .accounts import ROLES_NEEDING_TOTP, ActivationCode, ApiToken, Role, RoleGrant, User
from .alarms import Alarm, AlarmNote, Device, DeviceEventRecord, DeviceKind
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
from .voting import (
    BallotBox,
    BoardEntry,
    BoardHead,
    BoxVoter,
    Channel,
    MeetingRequest,
    MeetingRequestSupport,
    Objection,
    PaperEntry,
    Proxy,
    ScrutineerKey,
    TurnoutPoint,
)

__all__ = [
    "ROLES_NEEDING_TOTP",
    "ActivationCode",
    "Alarm",
    "AlarmNote",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "BallotBox",
    "Base",
    "BoardEntry",
    "BoardHead",
    "BoxVoter",
    "Building",
    "Channel",
    "Community",
    "Device",
    "DeviceEventRecord",
    "DeviceKind",
    "ImportStatus",
    "Meeting",
    "MeetingForm",
    "MeetingKind",
    "MeetingRequest",
    "MeetingRequestSupport",
    "MeetingStatus",
    "Motion",
    "NoticeRevision",
    "Notification",
    "Objection",
    "Office",
    "Ownership",
    "PaperEntry",
    "Person",
    "Proxy",
    "RegisterImport",
    "Residency",
    "ResidencyKind",
    "Role",
    "RoleGrant",
    "ScrutineerKey",
    "TurnoutPoint",
    "Unit",
    "UnitUse",
    "User",
    "utcnow",
]
