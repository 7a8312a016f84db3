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


def objection_text(text: str, *, open_now: bool, closes_at: dt.datetime | None,
                   now: dt.datetime) -> str:
    """The text of a new objection, once it may be raised (while the result is announced and
    its period runs) and says something; else the refusal, naming the field."""
    from .errors import Conflict, DomainError

    if not open_now or closes_at is None or now >= closes_at:
        raise Conflict(_("Objections are taken while the result is announced, until %(when)s.",
                         when=format_datetime(closes_at or now, "medium")))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write what you object to."), field="text")
    return text[:4000]


def set_answer(objection, *, answer: str, actor_id: int, now: dt.datetime) -> None:
    """Answer an objection on the record, once: an answer is never replaced."""
    from .errors import Conflict, DomainError

    answer = (answer or "").strip()
    if not answer:
        raise DomainError(_("Write the answer."), field="answer")
    if objection.answer is not None:
        raise Conflict(_("This objection has been answered; answers stay on the record."))
    objection.answer, objection.answered_by_id, objection.answered_at = answer[:4000], actor_id, now
