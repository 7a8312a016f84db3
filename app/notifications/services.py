"""Notify users inside the site, in every language of the site.

A caller passes ``message``, a function returning ``(title, body)`` through ``_()``; it is
rendered once per language with ``force_locale``, so each reader sees their own language
whichever language the sender used::

    notify(session, now=now, community=c, recipients=owners_of(session, c),
           kind="meeting.notice", link=url_for(...),
           message=lambda: (_("Notice of %(title)s", title=m.title), _("Voting opens …")))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from flask_babel import force_locale, get_locale
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import Community, Notification, Ownership, Person, Role, RoleGrant, User

LOCALES = ("zh_Hans_CN", "en")


def notify(
    session: Session, *, now: dt.datetime, community: Community | None,
    recipients: Iterable[User | int], kind: str, message: Callable[[], tuple[str, str]],
    link: str = "",
) -> int:
    """Send one notice to each recipient (each once); returns how many were sent."""
    if link and not link.startswith("/"):
        raise ValueError("a notice links inside the site only")
    text = {}
    for locale in LOCALES:
        with force_locale(locale):
            title, body = message()
        text[locale] = {"title": str(title), "body": str(body)}
    ids = sorted({r if isinstance(r, int) else r.id for r in recipients})
    session.add_all(
        Notification(user_id=uid, community_id=community.id if community else None, kind=kind,
                     text=text, link=link, created_at=now)
        for uid in ids
    )
    session.flush()
    return len(ids)


def owners_of(session: Session, community: Community) -> list[int]:
    """Ids of the accounts of everyone who owns a unit of ``community`` now."""
    return list(session.scalars(
        select(Person.user_id).distinct().join(Ownership, Ownership.person_id == Person.id)
        .where(Person.community_id == community.id, Person.user_id.is_not(None),
               Ownership.ended_at.is_(None))
    ))


def holders_of(session: Session, community: Community, *roles: Role) -> list[int]:
    """Ids of the accounts holding any of ``roles`` in ``community`` (auditors by office)."""
    return list(session.scalars(
        select(RoleGrant.user_id).distinct().where(
            RoleGrant.role.in_(roles),
            (RoleGrant.community_id == community.id)
            | ((RoleGrant.office_id == community.office_id) & RoleGrant.office_id.is_not(None)),
        )
    ))


def unread_count(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count(Notification.id))
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def notifications_of(session: Session, user: User, *, limit: int = 100) -> list[Notification]:
    return list(session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ))


def mark_all_read(session: Session, *, user: User, now: dt.datetime) -> None:
    session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )


def shown(notification: Notification) -> dict[str, str]:
    """Title and body in the reader's language (else Chinese, the site's default)."""
    text = notification.text or {}
    return text.get(str(get_locale())) or text.get("zh_Hans_CN") or {"title": "", "body": ""}
