"""Pending register imports: parsed rows kept until the committee confirms the differences."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, intpk, timestamp
from .community import enum_column


class ImportStatus(enum.StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    DISCARDED = "discarded"


class RegisterImport(Base):
    __tablename__ = "register_import"

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[timestamp]
    status: Mapped[ImportStatus] = mapped_column(
        enum_column(ImportStatus), default=ImportStatus.PENDING
    )
    #: Validated rows, normalised (ID numbers already masked and digested).
    rows: Mapped[list] = mapped_column(JSON)
    #: Differences against the register when uploaded: added / changed / removed.
    diff: Mapped[dict] = mapped_column(JSON)
    applied_at: Mapped[dt.datetime | None]
