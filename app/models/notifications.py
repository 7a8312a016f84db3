"""In-site notices to users: a new meeting notice, a published statement, an SLA reminder."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, intpk


class Notification(Base):
    """One notice to one user. The text is kept in every language of the site."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    #: What it is about, for filtering and tests: "meeting.notice", "money.statement", …
    kind: Mapped[str] = mapped_column(String(60))
    #: ``{"zh_Hans_CN": {"title": …, "body": …}, "en": {…}}``, rendered when it was sent.
    text: Mapped[dict] = mapped_column(JSON)
    #: A path inside the site to open (never an outside address).
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime]
    read_at: Mapped[dt.datetime | None]
