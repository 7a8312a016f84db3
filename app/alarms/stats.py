"""Monthly alarm statistics, from plain rows (standard library only)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .core import Category, Cause


@dataclass(frozen=True)
class AlarmRow:
    raised_at: dt.datetime
    category: Category
    cause: Cause | None
    acknowledged_at: dt.datetime | None


@dataclass
class Month:
    #: "2026-12", in the community's time zone.
    label: str
    alarms: int = 0
    faults: int = 0
    causes: dict[Cause, int] = field(default_factory=dict)
    ack_seconds: list[float] = field(default_factory=list)

    @property
    def median_ack_seconds(self) -> float | None:
        return statistics.median(self.ack_seconds) if self.ack_seconds else None


def month_labels(now: dt.datetime, tz: ZoneInfo, months: int) -> list[str]:
    """The last ``months`` month labels up to ``now``'s month, oldest first."""
    local = now.astimezone(tz)
    year, month = local.year, local.month
    labels = []
    for _ in range(months):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return labels[::-1]


def monthly(rows: Iterable[AlarmRow], *, now: dt.datetime, tz: ZoneInfo,
            months: int = 12) -> list[Month]:
    """Alarms and faults per month, closing causes and the median time to acknowledge."""
    result = {label: Month(label) for label in month_labels(now, tz, months)}
    for row in rows:
        month = result.get(row.raised_at.astimezone(tz).strftime("%Y-%m"))
        if month is None:
            continue
        if row.category is Category.FAULT:
            month.faults += 1
            continue
        month.alarms += 1
        if row.cause is not None:
            month.causes[row.cause] = month.causes.get(row.cause, 0) + 1
        if row.acknowledged_at is not None:
            month.ack_seconds.append((row.acknowledged_at - row.raised_at).total_seconds())
    return list(result.values())
