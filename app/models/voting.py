"""The ballot box of an owners' meeting: its frozen electorate, scrutineers' keys, the bulletin
board of sealed ballots, paper entries, proxies, objections and requests for a meeting.

The box keeps no private key until the opening: the ceremony leaves only the public key, the
signed ceremony record and each scrutineer's passphrase-protected share.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Area, Base, intpk, str80, str200
from .community import enum_column
from .meetings import Meeting


class Channel(enum.StrEnum):
    """How a ballot reached the board."""

    ONLINE = "online"
    #: A returned written or paper form, entered twice by staff.
    PAPER = "paper"
    #: Cast online by a proxy holder for the owner.
    PROXY = "proxy"


#: The purpose of a meeting's box that holds its motions; an election round's box is
#: ``election-<id>-r<n>``.
MOTIONS_PURPOSE = "motions"


class BallotBox(Base):
    """A sealed ballot box of one meeting: its motions, or one round of its election."""

    __tablename__ = "ballot_box"
    __table_args__ = (
        UniqueConstraint("meeting_id", "purpose"),
        CheckConstraint("k >= 1 AND k <= n", name="k_of_n"),
        CheckConstraint("board_count >= 0", name="count_not_negative"),
    )

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    #: What the box is for: ``motions`` (the agenda) or a round of the meeting's election.
    purpose: Mapped[str80] = mapped_column(default=MOTIONS_PURPOSE)
    #: The id bound into every sealed ballot and signature (``elections`` box id).
    box_id: Mapped[str80] = mapped_column(unique=True)
    k: Mapped[int]
    n: Mapped[int]
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The signed ceremony record (box key, k, n, each share's commitment).
    ceremony: Mapped[dict] = mapped_column(JSON, deferred=True)
    #: ``MotionVote.to_json()`` or ``Election.to_json()``: the ballot paper as it is shown.
    definition: Mapped[dict] = mapped_column(JSON)
    #: The pseudonymised register frozen at the ceremony (``Electorate.to_json()``).
    electorate: Mapped[dict] = mapped_column(JSON, deferred=True)
    #: Number and hash of the last chained record (the chainer holds the row while chaining).
    board_count: Mapped[int] = mapped_column(default=0)
    #: The area of the voters on the board (kept with the count, for the turnout points).
    participating_area: Mapped[Decimal] = mapped_column(Area, default=Decimal(0))
    #: When the last turnout point was written (one a minute at most, and one at the close).
    turnout_at: Mapped[dt.datetime | None]
    board_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[dt.datetime | None]
    opened_at: Mapped[dt.datetime | None]
    #: Rebuilt from k shares at the opening, never before (published in the audit bundle).
    private_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    #: The signed result record.
    result: Mapped[dict | None] = mapped_column(JSON, deferred=True)

    meeting: Mapped[Meeting] = relationship()
    keys: Mapped[list[ScrutineerKey]] = relationship(
        back_populates="box", order_by="ScrutineerKey.share_number"
    )


class BoxVoter(Base):
    """One person of the frozen electorate (their units' area adds up; headcount one)."""

    __tablename__ = "box_voter"
    __table_args__ = (UniqueConstraint("box_id", "voter_id"),)

    id: Mapped[intpk]
    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_box.id"), index=True)
    #: The voter's pseudonym in the published electorate.
    voter_id: Mapped[str80]
    #: Register unit ids this voter votes for.
    unit_ids: Mapped[list] = mapped_column(JSON)
    area: Mapped[Decimal] = mapped_column(Area)


class BoxVoterUnit(Base):
    """Which voter of a box votes for a unit: the index that finds an owner's ballot slot."""

    __tablename__ = "box_voter_unit"
    __table_args__ = (UniqueConstraint("box_id", "unit_id"),)

    id: Mapped[intpk]
    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_box.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    voter_ref: Mapped[int] = mapped_column(ForeignKey("box_voter.id"))


class ScrutineerKey(Base):
    """A scrutineer's share of the box key, protected by a passphrase only they know."""

    __tablename__ = "scrutineer_key"
    __table_args__ = (
        UniqueConstraint("box_id", "user_id"),
        UniqueConstraint("box_id", "share_number"),
    )

    id: Mapped[intpk]
    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_box.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: The id the ceremony record and the result's signatures name.
    scrutineer_id: Mapped[str80]
    share_number: Mapped[int]
    #: ``CYSHARE1:…`` text (passphrase-protected); the scrutineer downloads it.
    protected_share: Mapped[str] = mapped_column(Text)
    #: When the scrutineer brought the share to the opening (after the close only).
    brought_at: Mapped[dt.datetime | None]
    #: The unprotected share (x, y, signing seed) once brought: the key is published anyway
    #: once k have come; before the close nothing is accepted.
    brought: Mapped[dict | None] = mapped_column(JSON)
    #: The scrutineer's signature on the result record.
    result_signature: Mapped[dict | None] = mapped_column(JSON)

    box: Mapped[BallotBox] = relationship(back_populates="keys")


class BoardEntry(Base):
    """One record of the bulletin board: a sealed, signed ballot.

    A ballot is *received* (its row written, the unique constraints refusing a second one) and
    then *chained*: the chainer gives it its number and hashes, once, in a batch under the box
    row's lock. Nothing else ever updates or deletes a row.
    """

    __tablename__ = "board_entry"
    __table_args__ = (
        UniqueConstraint("box_id", "number"),
        #: One ballot per voter per box: a second attempt fails here, whatever the race.
        UniqueConstraint("box_id", "voter_ref"),
        #: A voting credential signs one ballot of its box.
        UniqueConstraint("box_id", "credential"),
        CheckConstraint("number >= 1", name="number_positive"),
        #: Received and not chained yet has no number and no hashes; chained has all three.
        CheckConstraint("(number IS NULL AND prev_hash IS NULL AND record_hash IS NULL) OR "
                        "(number IS NOT NULL AND prev_hash IS NOT NULL "
                        "AND record_hash IS NOT NULL)", name="chained_whole"),
        #: The chainer's look-up: the received ballots of a box still waiting for a number.
        Index("ix_board_entry_pending", "box_id", "id", postgresql_where=text("number IS NULL"),
              sqlite_where=text("number IS NULL")),
    )

    id: Mapped[intpk]
    #: No index of its own: the unique constraints above lead with it and serve look-ups by
    #: box, and every index more is written at each cast and again at its chaining.
    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_box.id"))
    #: Set by the chainer (None while the ballot waits for its place on the chain).
    number: Mapped[int | None]
    voter_ref: Mapped[int] = mapped_column(ForeignKey("box_voter.id"))
    credential: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    record_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    server_sealed: Mapped[bool] = mapped_column(default=False)
    #: The receipt's code: a hash of the sealed ballot alone, so it is known at receipt.
    tracking_code: Mapped[str] = mapped_column(String(11), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    proxy_id: Mapped[int | None] = mapped_column(ForeignKey("proxy.id"))
    cast_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    cast_at: Mapped[dt.datetime]


class BoardHead(Base):
    """A signed head of the board, published while voting runs and at the close."""

    __tablename__ = "board_head"
    __table_args__ = (UniqueConstraint("box_id", "seq"),)

    id: Mapped[intpk]
    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_box.id"), index=True)
    seq: Mapped[int]
    at: Mapped[dt.datetime]
    count: Mapped[int]
    closing: Mapped[bool] = mapped_column(default=False)
    doc: Mapped[dict] = mapped_column(JSON)


class TurnoutPoint(Base):
    """Participation at a moment, for the chart over time (never any choice)."""

    __tablename__ = "turnout_point"
    #: The newest point of a box is read at every cast.
    __table_args__ = (Index("ix_turnout_point_box_newest", "box_id", "id"),)

    id: Mapped[intpk]
    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_box.id"))
    at: Mapped[dt.datetime]
    ballots: Mapped[int]
    area: Mapped[Decimal] = mapped_column(Area)


class PaperEntry(Base):
    """One staff member's entry of a returned paper ballot; two that agree make it count."""

    __tablename__ = "paper_entry"
    __table_args__ = (
        UniqueConstraint("box_id", "voter_ref", "entered_by_id"),
        CheckConstraint("status IN ('pending', 'accepted', 'disagrees', 'superseded')",
                        name="status_known"),
    )

    id: Mapped[intpk]
    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_box.id"), index=True)
    voter_ref: Mapped[int] = mapped_column(ForeignKey("box_voter.id"), index=True)
    #: The form's number as printed (for the third check and the archive).
    form_number: Mapped[str] = mapped_column(String(40), default="")
    #: ``{"m1": "agree", …}``: the marks as read from the form.
    choices: Mapped[dict] = mapped_column(JSON)
    follow_majority: Mapped[bool] = mapped_column(default=False)
    scan_path: Mapped[str] = mapped_column(String(300), default="")
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")


class Proxy(Base):
    """A written authorisation (书面委托): ``holder`` votes for ``owner`` in one meeting."""

    __tablename__ = "proxy"

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    #: The owner (a register person) who authorises.
    owner_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: The account that votes in their place.
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: What the owner told the proxy to vote (shown to the proxy, followed on the ballot).
    instructions: Mapped[str] = mapped_column(Text, default="")
    scan_path: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class Objection(Base):
    """An objection to an announced result, answered on the record."""

    __tablename__ = "objection"

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    #: Set for an objection to the result of the meeting's committee election.
    election_id: Mapped[int | None] = mapped_column(ForeignKey("election.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[dt.datetime | None]


class MeetingRequest(Base):
    """Owners asking for an extraordinary meeting; 20 % of them make the committee act."""

    __tablename__ = "meeting_request"

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    title: Mapped[str200]
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime]
    #: When the supporters first reached 20 % of the owners (the committee is told then).
    reached_at: Mapped[dt.datetime | None]


class MeetingRequestSupport(Base):
    __tablename__ = "meeting_request_support"
    __table_args__ = (UniqueConstraint("request_id", "person_id"),)

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_request.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime]
