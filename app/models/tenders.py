"""A tender (招标) for the property-service company: its file, the committee's key shares, the
registered bidders, their sealed bids, the evaluation panel and its sealed score sheets.

Two boxes are made when the tender is published, both split k-of-n among the committee: one for
the bids (opened after the deadline) and one for the score sheets (opened when every active
evaluator has submitted). The site keeps neither private key until its opening.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, intpk, str80, str200
from .community import Community, enum_column
from .meetings import Motion


class TenderStatus(enum.StrEnum):
    """Where a tender stands; each step is one service of ``app.tenders_web.services``."""

    DRAFT = "draft"
    #: The notice is out and bids are taken until the deadline.
    PUBLISHED = "published"
    #: The bids were opened; the panel declares and scores.
    OPENED = "opened"
    #: Too few bids at the deadline (or after review): the tender must be held again.
    FAILED = "failed"
    #: The sheets were opened and the scores computed: the report exists.
    EVALUATED = "evaluated"
    #: The candidates are published: objections, then complaints, are taken.
    PUBLICISED = "publicised"
    #: Every window closed, every objection answered, the award recorded: final.
    FINAL = "final"


class KeyPurpose(enum.StrEnum):
    """Which box a committee member's share opens."""

    BIDS = "bids"
    SHEETS = "sheets"


class Tender(Base):
    """The tender file and the state of its boxes."""

    __tablename__ = "tender"
    __table_args__ = (
        CheckConstraint("k IS NULL OR (k >= 2 AND k <= n)", name="k_of_n"),
        CheckConstraint("notice_days >= 0", name="notice_not_negative"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    #: The adopted motion of an owners' meeting that decided to tender (matter 4).
    motion_id: Mapped[int] = mapped_column(ForeignKey("motion.id"))
    title: Mapped[str200]
    scope: Mapped[str] = mapped_column(Text, default="")
    term_months: Mapped[int]
    notice_days: Mapped[int]
    #: ``tenders.TenderRules.to_json()``: criteria, weights, price formula, deadline, minimum
    #: bidders, panel size, dropping of extremes, shortlist size.
    rules: Mapped[dict] = mapped_column(JSON)
    deadline: Mapped[dt.datetime]
    status: Mapped[TenderStatus] = mapped_column(enum_column(TenderStatus),
                                                 default=TenderStatus.DRAFT)
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[dt.datetime | None]
    #: The id bound into every sealed bid and sheet of this tender (``…-bids``/``…-sheets``).
    box_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    k: Mapped[int | None]
    n: Mapped[int | None]
    bid_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    sheet_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    #: The signed ceremony records of both boxes.
    ceremony: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    opened_at: Mapped[dt.datetime | None]
    bid_private_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    #: The signed opening record (bidders, prices, times), published.
    opening_record: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    sheets_opened_at: Mapped[dt.datetime | None]
    sheet_private_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    #: ``tenders.result_json`` of the evaluation, signed by the site and the key holders.
    evaluation: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    #: The draft owners' meeting that puts the shortlist to the owners as a motion.
    shortlist_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    #: The owners' motion on the shortlist; the award needs it adopted and final.
    shortlist_motion_id: Mapped[int | None] = mapped_column(ForeignKey("motion.id"))
    #: The candidates (the shortlist) published for objections (公示), and the windows.
    candidates_published_at: Mapped[dt.datetime | None]
    objections_close_at: Mapped[dt.datetime | None]
    complaints_close_at: Mapped[dt.datetime | None]
    #: The committee's record of the negotiation and the award (a bid of the shortlist).
    awarded_bid_id: Mapped[str | None] = mapped_column(String(20))
    award_note: Mapped[str | None] = mapped_column(Text)
    awarded_at: Mapped[dt.datetime | None]
    final_at: Mapped[dt.datetime | None]

    community: Mapped[Community] = relationship()
    motion: Mapped[Motion] = relationship(foreign_keys=[motion_id])
    shortlist_motion: Mapped[Motion | None] = relationship(foreign_keys=[shortlist_motion_id])
    keys: Mapped[list[TenderKey]] = relationship(back_populates="tender",
                                                 order_by="TenderKey.share_number")
    bidders: Mapped[list[Bidder]] = relationship(back_populates="tender", order_by="Bidder.id")
    panel: Mapped[list[PanelSeat]] = relationship(back_populates="tender",
                                                  order_by="PanelSeat.id")


class TenderKey(Base):
    """A committee member's share of one of the tender's boxes, under their passphrase."""

    __tablename__ = "tender_key"
    __table_args__ = (
        UniqueConstraint("tender_id", "purpose", "user_id"),
        UniqueConstraint("tender_id", "purpose", "share_number"),
    )

    id: Mapped[intpk]
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id"), index=True)
    purpose: Mapped[KeyPurpose] = mapped_column(enum_column(KeyPurpose))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    holder_id: Mapped[str80]
    share_number: Mapped[int]
    protected_share: Mapped[str] = mapped_column(Text)
    brought_at: Mapped[dt.datetime | None]
    #: The unprotected share once brought (after the deadline, or once all sheets are in).
    brought: Mapped[dict | None] = mapped_column(JSON)

    tender: Mapped[Tender] = relationship(back_populates="keys")


class Bidder(Base):
    """A company registered for one tender, through an outside account (no community role)."""

    __tablename__ = "tender_bidder"
    __table_args__ = (
        UniqueConstraint("tender_id", "user_id"),
        UniqueConstraint("tender_id", "licence_number"),
    )

    id: Mapped[intpk]
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    company: Mapped[str200]
    #: Unified social credit code (统一社会信用代码) or the licence number.
    licence_number: Mapped[str] = mapped_column(String(40))
    contact: Mapped[str200]
    registered_at: Mapped[dt.datetime]

    tender: Mapped[Tender] = relationship(back_populates="bidders")

    @property
    def code(self) -> str:
        """The bidder's id in the pure domain and the signed records."""
        return f"B{self.id}"


class BidEventKind(enum.StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"


class TenderBidEvent(Base):
    """One submission (a sealed bid) or withdrawal; never updated: the last submission counts."""

    __tablename__ = "tender_bid_event"
    __table_args__ = (
        CheckConstraint("(action = 'submit') = (sealed IS NOT NULL)", name="sealed_iff_submit"),
    )

    id: Mapped[intpk]
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id"), index=True)
    bidder_id: Mapped[int] = mapped_column(ForeignKey("tender_bidder.id"))
    action: Mapped[BidEventKind] = mapped_column(enum_column(BidEventKind))
    at: Mapped[dt.datetime]
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Sealed by the server (a browser without the sealing script), and marked so.
    server_sealed: Mapped[bool] = mapped_column(default=False)

    bidder: Mapped[Bidder] = relationship()


class PanelSeat(Base):
    """A member of the evaluation panel (评标委员会) and their conflict declaration."""

    __tablename__ = "tender_panel_seat"
    __table_args__ = (UniqueConstraint("tender_id", "user_id"),)

    id: Mapped[intpk]
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: committee, building representative, housing authority …
    seat_role: Mapped[str80]
    appointed_at: Mapped[dt.datetime]
    declared_at: Mapped[dt.datetime | None]
    #: Bidder codes (``B<id>``) the member declared a conflict of interest with.
    conflicts: Mapped[list | None] = mapped_column(JSON)
    conflict_note: Mapped[str] = mapped_column(Text, default="")
    #: The member's own Ed25519 key, made at the declaration: the public half is pinned in the
    #: signed evaluation; the private half is kept only under the member's passphrase
    #: (``tenders.signing``), so the site cannot sign the report in their name.
    signing_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    protected_signing_key: Mapped[str | None] = mapped_column(Text)
    #: The member's signature under the evaluation report (their own key over the report's
    #: hash and the seat, ``tenders.signing.REPORT_PURPOSE``).
    report_signed_at: Mapped[dt.datetime | None]
    report_signature: Mapped[dict | None] = mapped_column(JSON)

    tender: Mapped[Tender] = relationship(back_populates="panel")

    @property
    def code(self) -> str:
        return f"E{self.id}"


class SealedSheet(Base):
    """An evaluator's score sheet, sealed on submission. One per seat: it is never changed."""

    __tablename__ = "tender_sealed_sheet"
    __table_args__ = (UniqueConstraint("tender_id", "seat_id"),)

    id: Mapped[intpk]
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id"), index=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("tender_panel_seat.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    submitted_at: Mapped[dt.datetime]


class TenderBidDocument(Base):
    """A document (PDF or image) of an opened bid, as it came out of the bid's seal.

    It exists only from the opening: before it the file is inside the sealed bid, which
    nobody can read. The opening record names it by its SHA-256."""

    __tablename__ = "tender_bid_document"
    __table_args__ = (UniqueConstraint("tender_id", "bid_id", "position"),)

    id: Mapped[intpk]
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id"), index=True)
    #: The bid's id in the opening record (``T<event id>``).
    bid_id: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    name: Mapped[str200]
    mime: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class TenderObjection(Base):
    """An objection (during the publication) or a complaint (within 10 days), answered on the
    record by the committee."""

    __tablename__ = "tender_objection"
    __table_args__ = (CheckConstraint("kind IN ('objection', 'complaint')", name="kind_known"),)

    id: Mapped[intpk]
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[dt.datetime | None]
