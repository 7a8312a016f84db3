"""Readable names of the service desk's stored values (the values stay stable codes)."""

from flask_babel import lazy_gettext as _l

from ..models import PauseReason, RequestKind, Urgency
from .sla import Target
from .workflow import RequestStatus

KIND_LABELS = {
    RequestKind.REPAIR_HOME: _l("Repair in the home"),
    RequestKind.REPAIR_COMMON: _l("Repair of common areas"),
    RequestKind.REPAIR_WARRANTY: _l("Repair under warranty"),
    RequestKind.COMPLAINT: _l("Complaint"),
    RequestKind.HELP: _l("Help"),
    RequestKind.INQUIRY: _l("Inquiry"),
    RequestKind.SUGGESTION: _l("Suggestion"),
}
URGENCY_LABELS = {Urgency.NORMAL: _l("Normal"), Urgency.EMERGENCY: _l("Emergency")}
STATUS_LABELS = {
    RequestStatus.NEW: _l("New"),
    RequestStatus.DISPATCHED: _l("Dispatched"),
    RequestStatus.ON_SITE: _l("On site"),
    RequestStatus.WAITING_PARTS: _l("Waiting for parts"),
    RequestStatus.DONE: _l("Done"),
    RequestStatus.CONFIRMED: _l("Confirmed by the resident"),
    RequestStatus.CLOSED: _l("Closed"),
    RequestStatus.REOPENED: _l("Reopened"),
}
TARGET_LABELS = {
    Target.DISPATCH: _l("Dispatch"),
    Target.ON_SITE: _l("Arrival on site"),
    Target.REPLY: _l("Reply"),
    Target.COMPLETION: _l("Completion"),
}
PAUSE_LABELS = {
    PauseReason.RESIDENT: _l("waiting for the resident"),
    PauseReason.PARTS: _l("waiting for parts"),
}
EVENT_LABELS = {
    "filed": _l("Filed"),
    "status": _l("Status changed"),
    "dispatch": _l("Dispatched"),
    "note": _l("Note"),
    "pause": _l("Clock paused"),
    "resume": _l("Clock restarted"),
    "postpone": _l("Completion postponed"),
    "escalate": _l("Raised to the supervisor"),
    "rating": _l("Return visit"),
}
