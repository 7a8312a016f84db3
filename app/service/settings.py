"""The desk's configuration: business hours and holidays, SLA targets per kind and urgency,
and the teams with their supervisors. Stored in the community's settings (``service_hours``,
``service_sla``); a change applies to every unfinished request at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import DomainError
from ..models import Community, ServiceRequest, User
from . import sla
from .clocks import recompute_deadlines
from .workflow import OPEN_STATUSES

URGENCIES = ("normal", "emergency")
#: The fields of a policy row, as the settings page names its inputs ``kind/urgency/field``.
FIELDS = ("calendar", "dispatch", "on_site", "reply", "completion_days")


class SettingsRejected(DomainError):
    """Every problem of a settings form, keyed by the input it is about (nothing saved)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(_("Nothing was saved: correct the fields marked below."))
        self.problems = problems


def policies(community: Community) -> dict[tuple[str, str], sla.Policy]:
    overrides = (community.settings or {}).get("service_sla")
    return {(k, u): sla.policy_for(k, u, overrides) for k in sla.KINDS for u in URGENCIES}


def hours(community: Community) -> sla.BusinessCalendar:
    return sla.calendar_from_settings(community.settings, community.timezone)


def _minutes(raw: str, name: str, problems: dict, *, allow_empty: bool = True) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        if not allow_empty:
            problems[name] = _("Required.")
        return None
    if not raw.isdigit() or not 0 < int(raw) <= 60 * 24 * 60:
        problems[name] = _("A whole number of minutes (or days), more than 0.")
        return None
    return int(raw)


def _dates(raw: str, name: str, problems: dict) -> list[str]:
    out = []
    for line in (raw or "").replace(",", "\n").split():
        try:
            out.append(dt.date.fromisoformat(line.strip()).isoformat())
        except ValueError:
            problems[name] = _("Not a date: %(value)s (write 2027-01-01).", value=line[:20])
    return sorted(set(out))


def save_settings(session: Session, *, actor: User, now: dt.datetime, community: Community,
                  form: Mapping[str, str], workdays: list[str]) -> int:
    """Check the whole form, then store it and recompute the deadlines of unfinished requests
    (returns how many). Any problem refuses the lot, naming each input."""
    problems: dict[str, str] = {}
    try:
        opens = dt.time.fromisoformat(form.get("opens", ""))
    except ValueError:
        problems["opens"], opens = _("A time such as 08:30."), None
    try:
        closes = dt.time.fromisoformat(form.get("closes", ""))
    except ValueError:
        problems["closes"], closes = _("A time such as 17:30."), None
    if opens and closes and closes <= opens:
        problems["closes"] = _("The office must close after it opens.")
    days = sorted({int(d) for d in workdays if d in {"1", "2", "3", "4", "5", "6", "7"}})
    if not days:
        problems["workdays"] = _("Choose at least one working day.")
    new_hours = {
        "opens": opens.strftime("%H:%M") if opens else "", "closes":
        closes.strftime("%H:%M") if closes else "", "workdays": days,
        "holidays": _dates(form.get("holidays", ""), "holidays", problems),
        "extra_workdays": _dates(form.get("extra_workdays", ""), "extra_workdays", problems),
    }
    overrides = {}
    for kind in sla.KINDS:
        for urgency in URGENCIES:
            key = f"{kind}/{urgency}"
            calendar = form.get(f"{key}/calendar", "")
            if calendar not in ("business", "always"):
                problems[f"{key}/calendar"] = _("Choose a calendar.")
            row = {"calendar": calendar}
            for name in FIELDS[1:]:
                row[name] = _minutes(form.get(f"{key}/{name}", ""), f"{key}/{name}", problems)
            default = asdict(sla.DEFAULT_POLICIES[(kind, urgency)])
            changed = {k: v for k, v in row.items() if v != default[k]}
            if changed:
                overrides[key] = changed
    if problems:
        raise SettingsRejected(problems)
    settings = dict(community.settings or {})
    settings["service_hours"], settings["service_sla"] = new_hours, overrides
    community.settings = settings  # a new dict: the JSON column sees the change
    session.flush()
    open_requests = session.scalars(select(ServiceRequest).where(
        ServiceRequest.community_id == community.id,
        ServiceRequest.status.in_(list(OPEN_STATUSES)))).all()
    for req in open_requests:
        recompute_deadlines(req, community)
    session.flush()
    record(session, actor=actor, action="service.settings_changed", now=now,
           community_id=community.id, target=f"community:{community.id}",
           details={"service_hours": new_hours, "service_sla": overrides})
    return len(open_requests)
