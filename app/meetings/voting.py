"""Voting in an owners' meeting: the key ceremony, casting (online, by proxy, on paper), the
board and its heads, and the close.

Every rule of counting lives in ``elections``; this module loads, calls and stores. Services
take ``session``, ``actor`` and ``now``, flush but never commit, and raise domain errors.
A ballot is received without waiting for any other (the database refuses a second ballot for
one voter: ``board_entry`` is unique per box and voter, whatever the race) and then chained in
batches under the box row's lock (:func:`chain_pending`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from typing import NamedTuple

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import Select, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elections import (
    CredentialError,
    CredentialList,
    CredentialMode,
    Election,
    Electorate,
    MotionVote,
    VotingPolicy,
    WeakPassphraseError,
    chain_record,
    check_ballot,
    encode_motion_ballot,
    genesis_hash,
    head_record,
    make_ceremony,
    seal_ballot,
    sign_ballot,
    tracking_code,
)
from elections import (
    Motion as BallotMotion,
)
from elections.credentials import CredentialEntry
from elections.signatures import new_signing_key, signing_public_key

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..models import (
    MOTIONS_PURPOSE,
    BallotBox,
    BoardEntry,
    BoardHead,
    BoxVoter,
    BoxVoterUnit,
    Channel,
    Community,
    Meeting,
    MeetingStatus,
    Ownership,
    Person,
    Proxy,
    Role,
    RoleGrant,
    ScrutineerKey,
    TurnoutPoint,
    User,
    utcnow,
)
from ..register.summary import electorate_units
from ..signing import sign
from . import chainer

CHOICES = ("agree", "disagree", "abstain")
#: Proxies one holder may carry in one meeting when the community names no cap.
DEFAULT_PROXY_CAP = 3
#: scrypt cost of the scrutineers' shares (2^15; the tests lower it to keep fast).
DEFAULT_SHARE_COST = 2**15


# -- state ------------------------------------------------------------------------------------


def box_of(session: Session, meeting: Meeting) -> BallotBox | None:
    """The box of the meeting's motions (an election's rounds have boxes of their own)."""
    return session.scalar(select(BallotBox).where(BallotBox.meeting_id == meeting.id,
                                                  BallotBox.purpose == MOTIONS_PURPOSE))


def voting_opens(meeting: Meeting) -> dt.datetime:
    """The earliest moment a ballot is taken: the window's start, never inside the notice."""
    if meeting.notice_ends_at is None:
        return meeting.voting_opens_at
    return max(meeting.voting_opens_at, meeting.notice_ends_at)


def refusal_to_vote(meeting: Meeting, box: BallotBox | None, now: dt.datetime) -> str | None:
    """Why no ballot can be taken at ``now`` (None: voting is open)."""
    if meeting.status is MeetingStatus.DRAFT:
        return _("This meeting has not been announced: nothing unannounced can be voted on.")
    if meeting.status not in (MeetingStatus.PUBLISHED, MeetingStatus.VOTING):
        return _("Voting has closed.")
    if now < voting_opens(meeting):
        return _("Voting opens at %(when)s, when the notice period is over.",
                 when=format_datetime(voting_opens(meeting), "medium"))
    if now >= meeting.voting_closes_at:
        return _("Voting closed at %(when)s.",
                 when=format_datetime(meeting.voting_closes_at, "medium"))
    if box is None:
        return _("The scrutineers have not yet held the key ceremony: the ballot box is not "
                 "ready.")
    return None


def require_voting_open(meeting: Meeting, box: BallotBox | None, now: dt.datetime) -> BallotBox:
    why = refusal_to_vote(meeting, box, now)
    if why:
        raise Conflict(why)
    return box


# -- key ceremony -----------------------------------------------------------------------------


def scrutineers_of(session: Session, community: Community) -> list[User]:
    return list(session.scalars(
        select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.SCRUTINEER, RoleGrant.community_id == community.id)
        .order_by(User.id).distinct()
    ))


def ceremony_blockers(session: Session, meeting: Meeting, now: dt.datetime) -> list[str]:
    found = []
    if meeting.status is not MeetingStatus.PUBLISHED:
        found.append(_("The key ceremony is held once the notice is published, before voting."))
    elif now >= meeting.voting_closes_at:
        found.append(_("Voting has closed."))
    if box_of(session, meeting) is not None:
        found.append(_("The key ceremony has been held."))
    if len(scrutineers_of(session, meeting.community)) < 2:
        found.append(_("At least two scrutineers are needed: grant the scrutineer role first."))
    return found


def hold_ceremony(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting, k: int,
    passphrases: dict[int, str],
) -> BallotBox:
    """Freeze the register, make the box key and split it k-of-n among the scrutineers.

    ``passphrases`` maps each scrutineer's user id to the passphrase they typed; each share
    is stored only under its passphrase, and the private key is forgotten here.
    """
    found = ceremony_blockers(session, meeting, now)
    if found:
        raise Conflict(" ".join(found))
    box_id = f"c{meeting.community_id}-meeting-{meeting.id}-r{meeting.revision}"
    definition = MotionVote(
        box_id,
        tuple(BallotMotion(f"m{m.position}", m.title, m.matter) for m in meeting.motions),
        VotingPolicy(non_voters=meeting.non_voter_policy),
    )
    box = make_box(session, actor=actor, now=now, meeting=meeting, purpose=MOTIONS_PURPOSE,
                   definition=definition, k=k, passphrases=passphrases)
    record(session, actor=actor, action="meeting.ceremony", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"box": box_id, "k": k, "n": box.n, "voters": voter_count(session, box)})
    return box


def make_box(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting, purpose: str,
    definition: MotionVote | Election, k: int, passphrases: dict[int, str],
) -> BallotBox:
    """The ceremony of any box of a meeting (its motions, or a round of its election).

    Freezes the register, makes the box key for ``definition.box_id`` and splits it k-of-n
    among the community's scrutineers; the caller checks that the ceremony may be held.
    """
    box_id = definition.box_id
    scrutineers = {u.id: u for u in scrutineers_of(session, meeting.community)}
    if set(passphrases) != set(scrutineers):
        raise DomainError(_("Every scrutineer of the community takes part in the ceremony."),
                          field="passphrases")
    n = len(scrutineers)
    if not 2 <= k <= n:
        raise DomainError(_("The number of shares needed must be between 2 and %(n)s.", n=n),
                          field="k")
    names = {uid: f"s{uid}" for uid in scrutineers}
    try:
        ceremony = make_ceremony(
            box_id, k, {names[uid]: passphrases[uid] for uid in sorted(scrutineers)},
            cost=current_app.config.get("SHARE_SCRYPT_COST", DEFAULT_SHARE_COST),
        )
    except WeakPassphraseError as exc:
        raise DomainError(_("Each passphrase needs at least 10 characters."),
                          field="passphrases") from exc
    units = electorate_units(session, meeting.community)
    if not units:
        raise Conflict(_("The register has no unit: import it before the ceremony."))
    electorate, unit_map = Electorate(tuple(units)).pseudonymise(secrets.token_bytes(32))
    real_unit = {pseudonym: int(uid) for uid, pseudonym in unit_map.items()}
    box = BallotBox(
        meeting_id=meeting.id, purpose=purpose, box_id=box_id, k=k, n=n,
        public_key=ceremony.public_key,
        ceremony=sign("ceremony", ceremony.record()), definition=definition.to_json(),
        electorate=electorate.to_json(), board_count=0, board_hash=genesis_hash(box_id),
        created_at=now, created_by_id=actor.id,
    )
    session.add(box)
    session.flush()
    for entry in ceremony.scrutineers:
        uid = next(u for u, name in names.items() if name == entry.scrutineer_id)
        session.add(ScrutineerKey(
            box_id=box.id, user_id=uid, scrutineer_id=entry.scrutineer_id,
            share_number=entry.x,
            protected_share=ceremony.protected_shares[entry.scrutineer_id],
        ))
    voters = [BoxVoter(box_id=box.id, voter_id=v.voter_id, area=v.area,
                       unit_ids=sorted(real_unit[u] for u in v.unit_ids))
              for v in electorate.voters]
    session.add_all(voters)
    session.flush()
    session.add_all(BoxVoterUnit(box_id=box.id, unit_id=unit_id, voter_ref=voter.id)
                    for voter in voters for unit_id in voter.unit_ids)
    session.flush()
    publish_head(session, box=box, now=now)
    return box


def voter_count(session: Session, box: BallotBox) -> int:
    """Persons in the box's frozen electorate."""
    return session.scalar(select(func.count(BoxVoter.id)).where(BoxVoter.box_id == box.id))


# -- the board --------------------------------------------------------------------------------


def credential_list(session: Session, box: BallotBox) -> CredentialList:
    """The site-issued credential list as it stands (credentials registered with ballots)."""
    rows = session.execute(
        select(BoxVoter.voter_id, BoardEntry.credential)
        .join(BoardEntry, BoardEntry.voter_ref == BoxVoter.id)
        .where(BoardEntry.box_id == box.id, BoardEntry.number.is_not(None))
    )
    return CredentialList(box.box_id, CredentialMode.SITE_ISSUED,
                          tuple(CredentialEntry(v, bytes(c)) for v, c in rows))


def publish_head(session: Session, *, box: BallotBox, now: dt.datetime,
                 closing: bool = False) -> BoardHead:
    """Sign and keep the board's head (count, hash, credential list) at ``now``."""
    doc = sign("board-head", head_record(
        box.box_id, box.board_count, bytes(box.board_hash), credential_list(session, box),
        iso(now), closing))
    seq = (session.scalar(select(func.max(BoardHead.seq)).where(BoardHead.box_id == box.id))
           or 0) + 1
    head = BoardHead(box_id=box.id, seq=seq, at=now, count=box.board_count, closing=closing,
                     doc=doc)
    session.add(head)
    session.flush()
    return head


@dataclass(frozen=True)
class CastReceipt:
    tracking_code: str
    cast_at: dt.datetime
    #: The record's number and hash, when it was chained before the answer (else None).
    number: int | None = None
    record_hash: str | None = None


def _lock_box(session: Session, box: BallotBox) -> BallotBox:
    """The box row, locked against everything until the transaction ends (the close)."""
    return session.execute(
        select(BallotBox).where(BallotBox.id == box.id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


class BoxRef(NamedTuple):
    """What receiving a ballot needs of its box (a :class:`BallotBox` serves as well)."""

    id: int
    box_id: str
    meeting_id: int
    closed_at: dt.datetime | None


class VoterRef(NamedTuple):
    """A voter of the box's frozen electorate, as a cast needs it."""

    id: int
    voter_id: str


class CastTarget(NamedTuple):
    """What a cast reads of its meeting, box and voter, in one statement.

    Plain columns, not ORM objects: loading the box, meeting and voter as objects cost a cast
    more than everything else it reads. The meeting's fields carry :class:`Meeting`'s names,
    so that :func:`refusal_to_vote` reads either.
    """

    id: int
    community_id: int
    status: MeetingStatus
    voting_opens_at: dt.datetime
    notice_ends_at: dt.datetime | None
    voting_closes_at: dt.datetime
    box_pk: int | None
    box_id: str | None
    closed_at: dt.datetime | None
    voter_ref: int | None
    voter_id: str | None

    @property
    def box(self) -> BoxRef | None:
        """The meeting's box, once the ceremony has made it."""
        if self.box_pk is None:
            return None
        return BoxRef(self.box_pk, self.box_id, self.id, self.closed_at)

    @property
    def voter(self) -> VoterRef | None:
        """The voter whose units the user owns (None: they own none in the register)."""
        return None if self.voter_ref is None else VoterRef(self.voter_ref, self.voter_id)


def cast_target(session: Session, meeting_id: int, user_id: int) -> CastTarget | None:
    """The meeting's window, its box and ``user_id``'s voter in it (None: no such meeting)."""
    row = session.execute(_cast_target_query(),
                          {"meeting_id": meeting_id, "user_id": user_id}).first()
    return None if row is None else CastTarget(*row)


def _target_columns() -> tuple:
    m, b, v = Meeting.__table__.c, BallotBox.__table__.c, BoxVoter.__table__.c
    return (m.id, m.community_id, m.status, m.voting_opens_at, m.notice_ends_at,
            m.voting_closes_at, b.id.label("box_pk"), b.box_id, b.closed_at,
            v.id.label("voter_ref"), v.voter_id)


def _users_voter():
    """Unit of a box's electorate → current ownership → the ``user_id`` parameter's register
    entry → voter: plain joins, which the planner walks by index from the user (a user owning
    several units has one voter for them all)."""
    unit, owns, person = BoxVoterUnit.__table__, Ownership.__table__, Person.__table__
    return (
        unit.join(owns, and_(owns.c.unit_id == unit.c.unit_id, owns.c.ended_at.is_(None)))
        .join(person, and_(person.c.id == owns.c.person_id,
                           person.c.user_id == bindparam("user_id")))
        .join(BoxVoter.__table__, BoxVoter.__table__.c.id == unit.c.voter_ref))


def _with_box_and_voter(query: Select) -> Select:
    """``query`` (which reads the meeting) joined to the meeting's box of motions and to the
    voter whose units the ``user_id`` parameter's user owns (:func:`_users_voter`)."""
    meeting, box = Meeting.__table__, BallotBox.__table__
    return (query.join_from(meeting, box, and_(box.c.meeting_id == meeting.c.id,
                                               box.c.purpose == MOTIONS_PURPOSE), isouter=True)
            .join_from(box, _users_voter(), BoxVoterUnit.__table__.c.box_id == box.c.id,
                       isouter=True))


@functools.cache
def _cast_target_query():
    """Built once: building a statement costs more than running it, at every cast."""
    meeting = Meeting.__table__
    return _with_box_and_voter(select(*_target_columns()).select_from(meeting)).where(
        meeting.c.id == bindparam("meeting_id")).limit(1)


class _CastRead:
    """The cast's read, made in the statement that reads the community and the user's roles
    there (``@requires(..., read=CAST_READ)``): a cast is one read, one insert and the commit."""

    def extend(self, query: Select) -> Select:
        meeting = Meeting.__table__
        return _with_box_and_voter(query.add_columns(*_target_columns()).join_from(
            Community, meeting, and_(meeting.c.id == bindparam("meeting_id"),
                                     meeting.c.community_id == Community.id), isouter=True))

    def take(self, rows, offset: int) -> CastTarget | None:
        values = tuple(rows[0][offset:])
        return None if values[0] is None else CastTarget(*values)


#: The cast's read (see :class:`_CastRead`).
CAST_READ = _CastRead()


def ballot_of(session: Session, box: BallotBox, voter: BoxVoter) -> BoardEntry | None:
    return session.scalar(select(BoardEntry).where(BoardEntry.box_id == box.id,
                                                  BoardEntry.voter_ref == voter.id))


def already_cast_message(entry: BoardEntry) -> str:
    return _("A ballot was already cast for you at %(when)s (receipt %(code)s). A cast ballot "
             "is final.", when=format_datetime(entry.cast_at, "medium"), code=entry.tracking_code)


def append_ballot(
    session: Session, *, actor: User, now: dt.datetime, box: BallotBox | BoxRef,
    voter: BoxVoter | VoterRef, sealed: bytes, credential: bytes, signature: bytes,
    channel: Channel, server_sealed: bool, proxy: Proxy | None = None,
    closes_at: dt.datetime | None = None,
) -> CastReceipt:
    """Check a signed sealed ballot and receive it onto the board: the one way a ballot joins.

    ``closes_at`` is the end of the box's window (the meeting's, unless the box is a round of
    its election with a window of its own).

    The ballot is written without a place on the chain; the database refuses a second ballot
    of a voter, or a second use of a credential, by the board's unique constraints whatever
    the race (only then is the first ballot looked up, to say when it was cast). Its receipt
    code hashes the sealed ballot alone, so the owner has it at once. The chainer then gives
    received ballots their numbers and hashes in batches (:func:`chain_pending`): in the same
    transaction (SQLite, tests, commands) or, serving on PostgreSQL, right after the commit in
    a thread of the worker, so that casts never queue behind one lock.
    """
    entries = CredentialList(box.box_id, CredentialMode.SITE_ISSUED,
                             (CredentialEntry(voter.voter_id, credential),))
    try:
        check_ballot(entries, box.box_id, credential, signature, sealed)
    except CredentialError as exc:
        raise DomainError(_("The ballot's signature does not verify: it was not cast. "
                            "Reload the page and try again.")) from exc
    if box.closed_at is not None:
        raise Conflict(_("Voting has closed."))
    code = tracking_code(sealed)
    try:
        session.flush()  # whatever the caller has pending goes first
        entry_id = session.execute(_receive_statement(), {
            "box_id": box.id, "voter_ref": voter.id, "credential": credential,
            "signature": signature, "sealed": sealed, "server_sealed": server_sealed,
            "tracking_code": code, "channel": channel, "proxy_id": proxy.id if proxy else None,
            "cast_by_id": actor.id, "cast_at": now,
        }).scalar_one()
    except IntegrityError as exc:  # a racing second ballot, or a credential used twice
        session.rollback()
        first = ballot_of(session, box, voter)
        raise Conflict(already_cast_message(first) if first else _(
            "This voting credential has already been used.")) from exc
    _refuse_if_closed_meanwhile(session, box, closes_at or box.meeting.voting_closes_at)
    if chainer.chains_after_commit():
        chainer.after_commit(session, box.id)
        return CastReceipt(code, now)
    chain_pending(session, box.id)
    entry = session.get(BoardEntry, entry_id)
    return CastReceipt(code, now, entry.number, bytes(entry.record_hash).hex())


#: Clocks of the site's processes agree within this (one host, or hosts kept in time).
CLOCK_MARGIN = dt.timedelta(seconds=5)


def _refuse_if_closed_meanwhile(session: Session, box: BallotBox, closes_at: dt.datetime) -> None:
    """Refuse a ballot whose box was closed while it was being received.

    The insert holds the box row in key-share (its foreign key), which the close's ``FOR
    UPDATE`` waits for: a close that began after the insert chains the ballot. Only a close
    that began before it can miss it, and no close begins before the end of the window. So
    an insert done before the window's end (by the clock, with a margin) is safe as it is;
    after it, the box is read again — a fresh read, which the close, if it was first, has
    committed by now — and a closed box refuses the ballot.
    """
    if utcnow() < closes_at - CLOCK_MARGIN:
        return
    closed = session.execute(select(BallotBox.closed_at).where(BallotBox.id == box.id)
                             .execution_options(populate_existing=True)).scalar_one()
    if closed is not None:
        session.rollback()
        raise Conflict(_("Voting has closed."))


@functools.cache
def _receive_statement():
    """One insert, built once (the unit of work costs more than the insert, at every cast)."""
    return insert(BoardEntry.__table__).returning(BoardEntry.__table__.c.id)


def chain_pending(session: Session, box_pk: int) -> int:
    """Give the box's received ballots their place on the chain, in the order received.

    Holds the box row (``FOR NO KEY UPDATE``: receiving goes on meanwhile) while it numbers and
    hashes them and moves the head, area and turnout on. Returns how many were chained.
    Core statements, built once: the chainer runs beside the casts in the same process, and
    the ORM's unit of work would cost it more than the hashing.
    """
    head = session.execute(_head_query(), {"box_pk": box_pk}).one()
    rows = session.execute(_pending_query(), {"box_pk": box_pk}).all()
    if not rows:
        return 0
    previous, number = bytes(head.board_hash), head.board_count
    area = head.participating_area or 0
    links = []
    for row in rows:
        number += 1
        rec = chain_record(previous, number, bytes(row.credential), bytes(row.signature),
                           bytes(row.sealed), server_sealed=row.server_sealed)
        links.append({"entry_id": row.id, "number": number, "prev_hash": rec.prev_hash,
                      "record_hash": rec.hash})
        previous, area = rec.hash, area + row.area
    session.execute(_link_statement(), links)  # one round trip for the batch
    last = max(row.cast_at for row in rows)
    turnout_at = head.turnout_at
    if turnout_at is None or last - turnout_at >= TURNOUT_STEP:
        _turnout_point(session, box_pk, last, number, area)
        turnout_at = last
    session.execute(_move_head_statement(), {
        "box_pk": box_pk, "board_count": number, "board_hash": previous,
        "participating_area": area, "turnout_at": turnout_at})
    _expire_chained(session, box_pk, {link["entry_id"] for link in links})
    return len(rows)


def _expire_chained(session: Session, box_pk: int, chained: set[int]) -> None:
    """Objects this session holds of the box and of the entries just chained are stale."""
    for obj in list(session.identity_map.values()):
        if (isinstance(obj, BoardEntry) and obj.id in chained) or (
                isinstance(obj, BallotBox) and obj.id == box_pk):
            session.expire(obj)


@functools.cache
def _head_query():
    box = BallotBox.__table__.c
    return (select(box.board_count, box.board_hash, box.participating_area, box.turnout_at)
            .where(box.id == bindparam("box_pk")).with_for_update(key_share=True))


@functools.cache
def _move_head_statement():
    box = BallotBox.__table__.c
    return (update(BallotBox.__table__).where(box.id == bindparam("box_pk"))
            .values(board_count=bindparam("board_count"), board_hash=bindparam("board_hash"),
                    participating_area=bindparam("participating_area"),
                    turnout_at=bindparam("turnout_at")))


@functools.cache
def _pending_query():
    return (select(BoardEntry.id, BoardEntry.credential, BoardEntry.signature,
                   BoardEntry.sealed, BoardEntry.server_sealed, BoardEntry.cast_at, BoxVoter.area)
            .join(BoxVoter, BoxVoter.id == BoardEntry.voter_ref)
            .where(BoardEntry.box_id == bindparam("box_pk"), BoardEntry.number.is_(None))
            .order_by(BoardEntry.id))


@functools.cache
def _link_statement():
    """A received ballot's place on the chain, written once (``number IS NULL`` guards it)."""
    return (update(BoardEntry.__table__)
            .where(BoardEntry.__table__.c.id == bindparam("entry_id"),
                   BoardEntry.__table__.c.number.is_(None))
            .values(number=bindparam("number"), prev_hash=bindparam("prev_hash"),
                    record_hash=bindparam("record_hash")))


def pending_count(session: Session, box: BallotBox) -> int:
    """Ballots received and not chained yet (for a moment, while ballots arrive)."""
    return session.scalar(select(func.count(BoardEntry.id)).where(
        BoardEntry.box_id == box.id, BoardEntry.number.is_(None))) or 0


#: Turnout points for the chart: at most one a minute while ballots arrive.
TURNOUT_STEP = dt.timedelta(minutes=1)


def _turnout_point(session: Session, box_pk: int, at: dt.datetime, ballots: int,
                   area) -> None:
    """A point of the turnout chart (the caller moves the box's ``turnout_at``)."""
    session.execute(insert(TurnoutPoint.__table__),
                    {"box_id": box_pk, "at": at, "ballots": ballots, "area": area})


def server_sealed_ballot(
    box: BallotBox, choices: dict[str, str], follow_majority: bool = False,
) -> tuple[bytes, bytes, bytes]:
    """Seal and sign on the server (owners without JavaScript, paper forms): marked so."""
    plaintext = encode_motion_ballot(choices, follow_majority=follow_majority)
    sealed = seal_ballot(bytes(box.public_key), box.box_id, "motion", plaintext)
    key = new_signing_key()
    return sealed, signing_public_key(key), sign_ballot(key, box.box_id, sealed)


def clean_choices(box: BallotBox, raw: dict[str, str]) -> dict[str, str]:
    """The marks of a form, for the motions of this box only (an unmarked motion abstains)."""
    ids = [m["motion"] for m in box.definition["motions"]]
    choices = {}
    for motion_id in ids:
        value = (raw.get(motion_id) or "").strip()
        if value:
            if value not in CHOICES:
                raise DomainError(_("Choose agree, disagree or abstain."), field=motion_id)
            choices[motion_id] = value
    return choices


# -- who votes --------------------------------------------------------------------------------


def persons_of(session: Session, user: User, community: Community) -> list[Person]:
    return list(session.scalars(select(Person).where(Person.user_id == user.id,
                                                     Person.community_id == community.id)))


def voter_of_person(session: Session, box: BallotBox, person_id: int) -> BoxVoter | None:
    """The voter of the frozen electorate whose units ``person_id`` owns."""
    owned = select(Ownership.unit_id).where(Ownership.person_id == person_id,
                                            Ownership.ended_at.is_(None))
    return session.scalar(
        select(BoxVoter).join(BoxVoterUnit, BoxVoterUnit.voter_ref == BoxVoter.id)
        .where(BoxVoterUnit.box_id == box.id, BoxVoterUnit.unit_id.in_(owned)).limit(1))


def voter_of_user(session: Session, box: BallotBox, user: User) -> BoxVoter | None:
    """The voter whose units ``user`` owns (through any of their register entries)."""
    return session.scalar(_voter_of_user_query(), {"user_id": user.id, "box_pk": box.id})


@functools.cache
def _voter_of_user_query():
    return (select(BoxVoter).select_from(_users_voter())
            .where(BoxVoterUnit.__table__.c.box_id == bindparam("box_pk")).limit(1))


def voter_of_unit(session: Session, box: BallotBox, unit_id: int) -> BoxVoter | None:
    return session.scalar(
        select(BoxVoter).join(BoxVoterUnit, BoxVoterUnit.voter_ref == BoxVoter.id)
        .where(BoxVoterUnit.box_id == box.id, BoxVoterUnit.unit_id == unit_id))


def decode_sealed(sealed_b64: str, credential_b64: str,
                  signature_b64: str) -> tuple[bytes, bytes, bytes]:
    """The sealed ballot, credential and signature a browser sent (base64), checked for size."""
    try:
        sealed = base64.b64decode(sealed_b64, validate=True)
        credential = base64.b64decode(credential_b64, validate=True)
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DomainError(_("The sealed ballot was damaged on the way: it was not cast.")) from exc
    if len(credential) != 32 or len(signature) != 64 or not 50 < len(sealed) < 20_000:
        raise DomainError(_("The sealed ballot was damaged on the way: it was not cast."))
    return sealed, credential, signature


def cast_online(
    session: Session, *, actor: User, now: dt.datetime, meeting_id: int, sealed_b64: str,
    credential_b64: str, signature_b64: str, on_behalf_of: Proxy | None = None,
    target: CastTarget | None = None,
) -> CastReceipt:
    """An owner's ballot sealed and signed in their browser (or by their proxy's); ``target``
    as :func:`cast_target` reads it, when the caller did."""
    target = target or cast_target(session, meeting_id, actor.id)
    box = require_voting_open(target, target.box, now)
    sealed, credential, signature = decode_sealed(sealed_b64, credential_b64, signature_b64)
    voter, channel = voter_for(session, box, actor, on_behalf_of, target.voter)
    return append_ballot(session, actor=actor, now=now, box=box, voter=voter, sealed=sealed,
                         credential=credential, signature=signature, channel=channel,
                         server_sealed=False, proxy=on_behalf_of,
                         closes_at=target.voting_closes_at)


def cast_plain(
    session: Session, *, actor: User, now: dt.datetime, meeting_id: int,
    raw_choices: dict[str, str], on_behalf_of: Proxy | None = None,
    target: CastTarget | None = None,
) -> CastReceipt:
    """A ballot from a browser without JavaScript: the server seals it and marks it so."""
    target = target or cast_target(session, meeting_id, actor.id)
    require_voting_open(target, target.box, now)
    box = session.get(BallotBox, target.box_pk)  # the ballot paper and key, to seal with
    choices = clean_choices(box, raw_choices)
    voter, channel = voter_for(session, box, actor, on_behalf_of, target.voter)
    sealed, credential, signature = server_sealed_ballot(box, choices)
    return append_ballot(session, actor=actor, now=now, box=box, voter=voter, sealed=sealed,
                         credential=credential, signature=signature, channel=channel,
                         server_sealed=True, proxy=on_behalf_of,
                         closes_at=target.voting_closes_at)


def voter_for(session, box, actor, proxy, known=None) -> tuple[BoxVoter, Channel]:
    """Whose ballot ``actor`` casts in ``box``: their own, or (with ``proxy``) the owner's;
    ``known``, the actor's own voter when the caller has read it already."""
    if proxy is None:
        voter = known or voter_of_user(session, box, actor)
        if voter is None:
            raise Forbidden(_("You own no unit in this community's register for this meeting."))
        return voter, Channel.ONLINE
    if proxy.holder_id != actor.id or proxy.meeting_id != box.meeting_id:
        raise Forbidden(_("You do not hold this proxy."))
    if proxy.revoked_at is not None:
        raise Conflict(_("This proxy was revoked on %(when)s: it cannot vote.",
                         when=format_datetime(proxy.revoked_at, "medium")))
    voter = voter_of_person(session, box, proxy.owner_person_id)
    if voter is None:
        raise Conflict(_("The owner who named you no longer owns a unit in the register."))
    return voter, Channel.PROXY


def board_entries(session: Session, box: BallotBox) -> list[BoardEntry]:
    """The chained records, in order (a ballot received a moment ago is not among them yet)."""
    return list(session.scalars(select(BoardEntry).where(BoardEntry.box_id == box.id,
                                                         BoardEntry.number.is_not(None))
                                .order_by(BoardEntry.number)))


def lookup_receipt(session: Session, box: BallotBox, code: str) -> BoardEntry | None:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(cleaned) != 10:
        return None
    return session.scalar(select(BoardEntry).where(
        BoardEntry.box_id == box.id, BoardEntry.tracking_code == f"{cleaned[:5]}-{cleaned[5:]}"))


# -- close ------------------------------------------------------------------------------------


def close_voting(session: Session, *, actor: User, now: dt.datetime, meeting: Meeting) -> BoardHead:
    """At (or after) the end of the window: the closing head is published, no ballot after."""
    box = box_of(session, meeting)
    if meeting.status not in (MeetingStatus.PUBLISHED, MeetingStatus.VOTING) or box is None:
        raise Conflict(_("Only a meeting whose ballot box is open can be closed."))
    if now < meeting.voting_closes_at:
        raise Conflict(_("Voting runs until %(when)s: it cannot be closed earlier.",
                         when=format_datetime(meeting.voting_closes_at, "medium")))
    box = _lock_box(session, box)  # waits for the casts in flight; none after it
    chain_pending(session, box.id)
    if box.board_count and box.turnout_at != now:
        # The chart ends on the final figure.
        _turnout_point(session, box.id, now, box.board_count, box.participating_area or 0)
        box.turnout_at = now
    head = publish_head(session, box=box, now=now, closing=True)
    box.closed_at = now
    meeting.status = MeetingStatus.CLOSED
    session.flush()
    record(session, actor=actor, action="meeting.closed", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"ballots": box.board_count, "head": bytes(box.board_hash).hex()})
    return head


def iso(moment: dt.datetime) -> str:
    """UTC time as the signed records write it."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
