"""Reminders that a committee's term is ending (default 6 and 3 months before), each sent once:
``flask --app app committee remind`` can run daily from cron."""

from __future__ import annotations

import calendar
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..models import Committee, Community, TermReminder
from ..notifications.services import notify
from . import services

DEFAULT_MONTHS = (6, 3)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (the month's last day when it has no such day)."""
    month0 = day.month - 1 - months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due(committee: Committee, today: dt.date, months: tuple[int, ...]) -> list[int]:
    """The reminders whose day has come, before the term ends (most months first)."""
    return [m for m in sorted(months, reverse=True)
            if months_before(committee.term_end, m) <= today < committee.term_end]


def send_reminders(session: Session, *, now: dt.datetime,
                   months: tuple[int, ...] = DEFAULT_MONTHS) -> int:
    """Send every reminder that is due and not sent yet; returns how many went out.

    When several are due at once (the command did not run for a while), only the nearest is
    sent; the earlier ones are recorded as passed so they never arrive late.
    """
    sent = 0
    for committee in session.scalars(select(Committee).where(Committee.ended_at.is_(None))
                                     .order_by(Committee.id)):
        community = session.get(Community, committee.community_id)
        done = set(session.scalars(select(TermReminder.months)
                                   .where(TermReminder.committee_id == committee.id)))
        waiting = [m for m in due(committee, services.today_in(community, now), months)
                   if m not in done]
        if not waiting:
            continue
        for m in waiting:
            session.add(TermReminder(committee_id=committee.id, months=m, sent_at=now))
        session.flush()
        nearest = min(waiting)
        notify(session, now=now, community=community,
               recipients=services.committee_and_office(session, committee, community),
               kind="committee.term_ending", link=services.link(community),
               message=lambda c=committee, n=nearest: (
                   _("The owners' committee's term ends in %(n)s months", n=n),
                   _("The term ends on %(end)s: prepare the election of the next committee.",
                     end=c.term_end.isoformat())))
        record(session, actor=None, action="committee.term_reminder", now=now,
               community_id=community.id, target=f"committee:{committee.id}",
               details={"months": nearest, "term_end": committee.term_end.isoformat()})
        sent += 1
    return sent
