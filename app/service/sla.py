"""SLA clocks of the service desk, as pure functions (no Flask, no database).

A clock runs on a calendar: ``AlwaysOpen`` (emergencies run around the clock) or the office's
``BusinessCalendar`` (working hours, weekdays, public holidays and the weekend days made working
days in exchange, 调休). A target is a number of *open* minutes; a working day is one day's
opening hours, so "2 days" on the business calendar is two working days. Time spent paused
(waiting for the resident or for parts) is counted in open minutes and added to every target
still running, so a pause moves the deadlines by exactly the open time it lasted.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60


class Target(enum.StrEnum):
    """The clocks of one request, each shown and measured on its own."""

    DISPATCH = "dispatch"
    ON_SITE = "on_site"
    #: A first public answer (suggestions: within 2 days).
    REPLY = "reply"
    COMPLETION = "completion"


class AlwaysOpen:
    """Around the clock: open minutes are wall-clock minutes."""

    name = "always"

    def add(self, start: dt.datetime, minutes: float) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        return max((end - start).total_seconds() / 60, 0.0)

    @property
    def day_minutes(self) -> int:
        return DAY_MINUTES


@dataclass(frozen=True)
class BusinessCalendar:
    """The office's opening hours, in its time zone.

    ``workdays`` are ISO weekday numbers (1 = Monday); ``holidays`` close a day that would be
    open; ``extra_workdays`` open a day that would be closed (the weekend days worked in
    exchange for a holiday).
    """

    tz: str = "Asia/Shanghai"
    opens: dt.time = dt.time(8, 30)
    closes: dt.time = dt.time(17, 30)
    workdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    extra_workdays: frozenset[dt.date] = field(default_factory=frozenset)

    name = "business"

    def __post_init__(self):
        if self.closes <= self.opens:
            raise ValueError("the office must close after it opens")

    @property
    def day_minutes(self) -> int:
        return (self.closes.hour * 60 + self.closes.minute) - (
            self.opens.hour * 60 + self.opens.minute)

    def is_open_day(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.isoweekday() in self.workdays and day not in self.holidays

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        zone = ZoneInfo(self.tz)
        return (dt.datetime.combine(day, self.opens, tzinfo=zone),
                dt.datetime.combine(day, self.closes, tzinfo=zone))

    def add(self, start: dt.datetime, minutes: float) -> dt.datetime:
        """The moment ``minutes`` of opening time after ``start``."""
        left = dt.timedelta(minutes=minutes)
        day = start.astimezone(ZoneInfo(self.tz)).date()
        for _ in range(3 * 366):  # a calendar with no open day in three years is a mistake
            if self.is_open_day(day):
                opens, closes = self._window(day)
                begin = max(start, opens)
                if begin < closes:
                    if begin + left <= closes:
                        return (begin + left).astimezone(dt.UTC)
                    left -= closes - begin
            day += dt.timedelta(days=1)
        raise ValueError("the business calendar has no open day in three years")

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Open minutes from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        zone = ZoneInfo(self.tz)
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        total = dt.timedelta()
        while day <= last:
            if self.is_open_day(day):
                opens, closes = self._window(day)
                lo, hi = max(start, opens), min(end, closes)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total.total_seconds() / 60


Calendar = AlwaysOpen | BusinessCalendar


@dataclass(frozen=True)
class Policy:
    """The targets of one kind and urgency, in open minutes (None: no such target)."""

    calendar: str  # "always" or "business"
    dispatch: int | None = 3
    on_site: int | None = None
    reply: int | None = None
    #: Completion, in working days (days of opening hours) on the policy's calendar.
    completion_days: int | None = 7

    def minutes(self, target: Target, day_minutes: int) -> int | None:
        if target is Target.COMPLETION:
            return None if self.completion_days is None else self.completion_days * day_minutes
        return getattr(self, target.value)


#: The defaults of DESIGN.md: dispatch within 3 minutes, an emergency on site within 30
#: minutes (around the clock), suggestions answered within 2 days, completion within 7 days.
REPAIR_KINDS = ("repair_home", "repair_common", "repair_warranty")
KINDS = (*REPAIR_KINDS, "complaint", "help", "inquiry", "suggestion")
DEFAULT_POLICIES: dict[tuple[str, str], Policy] = {}
for _kind in KINDS:
    DEFAULT_POLICIES[(_kind, "normal")] = Policy(
        calendar="business",
        dispatch=None if _kind == "suggestion" else 3,
        # A normal repair: someone at the door within one working day.
        on_site=None if _kind not in REPAIR_KINDS else 9 * 60,
        reply=2 * 9 * 60 if _kind == "suggestion" else None,
    )
    DEFAULT_POLICIES[(_kind, "emergency")] = Policy(
        calendar="always", dispatch=3, on_site=30, completion_days=7)

#: At most this many postponements of the completion promise (each with a reason).
MAX_POSTPONEMENTS = 1
MAX_POSTPONE_DAYS = 14


def policy_for(kind: str, urgency: str, overrides: Mapping | None = None) -> Policy:
    """The policy of ``kind``/``urgency``, with the community's overrides applied.

    ``overrides`` maps ``"kind/urgency"`` to a dict of Policy fields, e.g.
    ``{"repair_home/normal": {"on_site": 240}}``.
    """
    base = DEFAULT_POLICIES[(kind, urgency)]
    change = (overrides or {}).get(f"{kind}/{urgency}") or {}
    allowed = {k: v for k, v in change.items() if k in Policy.__dataclass_fields__}
    return replace(base, **allowed) if allowed else base


def calendar_from_settings(settings: Mapping | None, tz: str = "Asia/Shanghai") -> BusinessCalendar:
    """The office's business calendar from a community's settings (``service_hours``)."""
    raw = (settings or {}).get("service_hours") or {}

    def dates(values: Iterable[str]) -> frozenset[dt.date]:
        return frozenset(dt.date.fromisoformat(v) for v in values)

    return BusinessCalendar(
        tz=tz,
        opens=dt.time.fromisoformat(raw.get("opens", "08:30")),
        closes=dt.time.fromisoformat(raw.get("closes", "17:30")),
        workdays=frozenset(raw.get("workdays", (1, 2, 3, 4, 5))),
        holidays=dates(raw.get("holidays", ())),
        extra_workdays=dates(raw.get("extra_workdays", ())),
    )


def calendar_of(policy: Policy, business: BusinessCalendar) -> Calendar:
    return AlwaysOpen() if policy.calendar == "always" else business


def deadline(calendar: Calendar, start: dt.datetime, target_minutes: float,
             paused_minutes: float = 0.0, postponed_days: int = 0) -> dt.datetime:
    """When a target falls due: its open minutes, plus the paused ones, plus a postponement."""
    extra = paused_minutes + postponed_days * calendar.day_minutes
    return calendar.add(start, target_minutes + extra)


@dataclass(frozen=True)
class Clock:
    """One target of one request, as a page shows it."""

    target: Target
    due_at: dt.datetime
    met_at: dt.datetime | None

    def breached(self, now: dt.datetime) -> bool:
        """Missed: met late, or not met and already due."""
        if self.met_at is not None:
            return self.met_at > self.due_at
        return now > self.due_at

    def remaining(self, now: dt.datetime) -> dt.timedelta | None:
        """Wall-clock time left (negative when overdue); None once met."""
        return None if self.met_at is not None else self.due_at - now
