"""The one rule of an objection period (公示期), shared by meetings, elections and tenders: a
result becomes final only once its period is over and every objection has been answered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Protocol

from flask_babel import format_datetime
from flask_babel import gettext as _


class Answerable(Protocol):
    answer: str | None


def objection_blockers(
    objections: Iterable[Answerable], *, closes_at: dt.datetime, now: dt.datetime,
    period_message: Callable[[str], str] | None = None,
) -> list[str]:
    """What keeps a result from becoming final: the period still running, unanswered ones."""
    found = []
    if now < closes_at:
        when = format_datetime(closes_at, "medium")
        found.append(period_message(when) if period_message else
                     _("Objections are taken until %(when)s.", when=when))
    open_count = sum(1 for o in objections if o.answer is None)
    if open_count:
        found.append(_("%(n)s objections are not yet answered.", n=open_count))
    return found
