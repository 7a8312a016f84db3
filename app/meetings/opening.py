"""After the close: the scrutineers bring their shares, the box opens and is counted, the
scrutineers sign, the result is announced (公告), objections are answered, the result becomes
final; the audit bundle of the whole box can be downloaded and verified offline."""

from __future__ import annotations

import base64
import datetime as dt

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from elections import (
    BoardRecord,
    Electorate,
    KeyShareError,
    ScrutineerShare,
    Share,
    build_bundle,
    combine_shares,
    count_board,
    definition_from_json,
    result_record,
    sign_result,
)

from ..audit.services import record
from ..errors import Conflict, Forbidden
from ..keyshares import open_share
from ..models import (
    BallotBox,
    BoardHead,
    Meeting,
    MeetingStatus,
    Objection,
    ScrutineerKey,
    User,
)
from ..notifications.services import owners_of
from ..objections import objection_blockers, objection_text, set_answer
from ..signing import site_key
from .voting import board_entries, box_of, credential_list, iso

#: Days to publish the result after the opening, and to object once it is published.
ANNOUNCE_WITHIN_DAYS = 3
DEFAULT_OBJECTION_DAYS = 15


def objection_days(meeting: Meeting) -> int:
    try:
        days = int((meeting.community.settings or {}).get("objection_days",
                                                           DEFAULT_OBJECTION_DAYS))
    except (TypeError, ValueError):
        return DEFAULT_OBJECTION_DAYS
    return days if days > 0 else DEFAULT_OBJECTION_DAYS


def key_of(session: Session, box: BallotBox, user: User) -> ScrutineerKey | None:
    return session.scalar(select(ScrutineerKey).where(ScrutineerKey.box_id == box.id,
                                                     ScrutineerKey.user_id == user.id))


def _held(box: BallotBox, key: ScrutineerKey) -> ScrutineerShare:
    data = key.brought
    return ScrutineerShare(box.box_id, key.scrutineer_id,
                           Share(int(data["x"]), int(data["y"], 16), box.k, box.n),
                           base64.b64decode(data["signing_key"]))


def scrutineer_names(session: Session, box: BallotBox) -> dict[str, str]:
    """Scrutineer id in the signed records (``s6``) → the name people know, for pages."""
    return {key.scrutineer_id: f"{user.display_name or user.username}（{key.scrutineer_id}）"
            for key, user in session.execute(
                select(ScrutineerKey, User).join(User, User.id == ScrutineerKey.user_id)
                .where(ScrutineerKey.box_id == box.id))}


def brought_keys(box: BallotBox) -> list[ScrutineerKey]:
    return [k for k in box.keys if k.brought is not None]


def bring_share(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting, share_text: str,
    passphrase: str,
) -> ScrutineerKey:
    """A scrutineer brings their share to the opening; with k shares the box opens."""
    box = box_of(session, meeting)
    key = bring_box_share(session, actor=actor, now=now, box=box, share_text=share_text,
                          passphrase=passphrase)
    if len(brought_keys(box)) >= box.k:
        open_box(session, actor=actor, now=now, meeting=meeting, box=box)
    return key


def bring_box_share(
    session: Session, *, actor: User, now: dt.datetime, box: BallotBox | None, share_text: str,
    passphrase: str,
) -> ScrutineerKey:
    """Check and keep one scrutineer's share of any box of a meeting (after its close)."""
    if box is None or box.closed_at is None:
        raise Conflict(_("The ballot box opens only after voting has closed."))
    if box.opened_at is not None:
        raise Conflict(_("The ballot box is already open."))
    key = key_of(session, box, actor)
    if key is None:
        raise Forbidden(_("You hold no share of this ballot box."))
    if key.brought is not None:
        raise Conflict(_("You have already brought your share."))
    key.brought = open_share(
        share_text or key.protected_share, passphrase, box_id=box.box_id,
        holder_id=key.scrutineer_id,
        mismatch=lambda: _("This share belongs to another ballot box or another scrutineer."))
    key.brought_at = now
    session.flush()
    record(session, actor=actor, action="meeting.share_brought", now=now,
           community_id=box.meeting.community_id, target=f"meeting:{box.meeting_id}",
           details={"box": box.box_id, "share": key.share_number,
                    "brought": len(brought_keys(box)), "k": box.k})
    return key


def open_box(session: Session, *, actor: User, now: dt.datetime, meeting: Meeting,
             box: BallotBox) -> dict:
    """Rebuild the key from k shares, open and count every ballot, sign the result."""
    result = count_box(session, box, now)
    adopted = {m.motion_id: m.adopted for m in result.motions}
    for motion in meeting.motions:
        motion.adopted = adopted.get(f"m{motion.position}", False)
    meeting.status = MeetingStatus.OPENED
    session.flush()
    record(session, actor=actor, action="meeting.opened", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"ballots": box.board_count, "quorum_met": result.quorum_met,
                    "adopted": sorted(k for k, v in adopted.items() if v)})
    return box.result


def count_box(session: Session, box: BallotBox, now: dt.datetime, *,
              voters_taking_part: int | None = None):
    """Rebuild a box's key from k brought shares, open and count every ballot and keep the
    signed result on the box; returns the ``MotionsResult`` or ``ElectionResult``.

    ``voters_taking_part``: an election round's signed-in voters (more ballots void it)."""
    keys = brought_keys(box)
    if len(keys) < box.k:
        raise Conflict(_("%(have)s of the %(k)s shares needed have been brought.",
                         have=len(keys), k=box.k))
    shares = [_held(box, k) for k in keys[: box.k]]
    try:
        private_key = combine_shares(shares, bytes(box.public_key))
    except KeyShareError as exc:
        raise Conflict(_("The shares do not rebuild this ballot box's key: one is wrong.")) from exc
    definition = definition_from_json(box.definition)
    electorate = Electorate.from_json(box.electorate)
    credentials = credential_list(session, box)
    records = board_records(session, box)
    result = count_board(records, credentials, electorate, definition, private_key, workers=1,
                         voters_taking_part=voters_taking_part)
    doc = sign_result(result_record(
        definition=definition, result=result, credentials=credentials,
        board_count=len(records), board_hash=bytes(box.board_hash).hex(),
        server_sealed=sum(r.server_sealed for r in records),
        scrutineers=[s.scrutineer_id for s in shares], voters_taking_part=voters_taking_part,
    ), site_key(), shares)
    box.private_key, box.result, box.opened_at = private_key, doc, now
    session.flush()
    return result


def board_records(session: Session, box: BallotBox) -> list[BoardRecord]:
    return [
        BoardRecord(e.number, bytes(e.credential), bytes(e.signature), bytes(e.sealed),
                    bytes(e.prev_hash), bytes(e.record_hash), e.server_sealed)
        for e in board_entries(session, box)
    ]


# -- announcement, objections, final -----------------------------------------------------------


def announce_due(box: BallotBox) -> dt.datetime | None:
    return box.opened_at + dt.timedelta(days=ANNOUNCE_WITHIN_DAYS) if box.opened_at else None


def announce(session: Session, *, actor: User, now: dt.datetime, meeting: Meeting) -> Meeting:
    """Publish the result (page + PDF); the objection period starts."""
    if meeting.status is not MeetingStatus.OPENED:
        raise Conflict(_("Only a counted result can be announced."))
    meeting.status = MeetingStatus.ANNOUNCED
    meeting.announced_at = now
    meeting.objections_close_at = now + dt.timedelta(days=objection_days(meeting))
    session.flush()
    box = box_of(session, meeting)
    late = now > announce_due(box)
    record(session, actor=actor, action="meeting.announced", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"objections_close_at": iso(meeting.objections_close_at), "late": late})
    from ..notifications.services import notify

    notify(session, now=now, community=meeting.community,
           recipients=owners_of(session, meeting.community), kind="meeting.result",
           link=f"/c/{meeting.community_id}/meetings/{meeting.id}/result",
           message=lambda: (_("Result of %(title)s", title=meeting.title),
                            _("The result is published. Objections are taken until %(when)s.",
                              when=format_datetime(meeting.objections_close_at, "medium"))))
    return meeting


def objections_of(session: Session, meeting: Meeting) -> list[Objection]:
    return list(session.scalars(select(Objection).where(Objection.meeting_id == meeting.id,
                                                        Objection.election_id.is_(None))
                                .order_by(Objection.created_at, Objection.id)))


def raise_objection(session: Session, *, actor: User, now: dt.datetime, meeting: Meeting,
                    text: str) -> Objection:
    text = objection_text(text, open_now=meeting.status is MeetingStatus.ANNOUNCED,
                          closes_at=meeting.objections_close_at, now=now)
    objection = Objection(meeting_id=meeting.id, user_id=actor.id, text=text, created_at=now)
    session.add(objection)
    session.flush()
    record(session, actor=actor, action="meeting.objection", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"objection": objection.id})
    return objection


def answer_objection(session: Session, *, actor: User, now: dt.datetime, objection: Objection,
                     answer: str) -> Objection:
    set_answer(objection, answer=answer, actor_id=actor.id, now=now)
    session.flush()
    meeting = session.get(Meeting, objection.meeting_id)
    record(session, actor=actor, action="meeting.objection_answered", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"objection": objection.id})
    return objection


def final_blockers(session: Session, meeting: Meeting, now: dt.datetime) -> list[str]:
    if meeting.status is not MeetingStatus.ANNOUNCED:
        return [_("Only an announced result becomes final.")]
    return objection_blockers(objections_of(session, meeting),
                              closes_at=meeting.objections_close_at, now=now)


def make_final(session: Session, *, actor: User, now: dt.datetime, meeting: Meeting) -> Meeting:
    found = final_blockers(session, meeting, now)
    if found:
        raise Conflict(" ".join(found))
    meeting.status, meeting.final_at = MeetingStatus.FINAL, now
    session.flush()
    record(session, actor=actor, action="meeting.final", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}", details={})
    return meeting


# -- audit bundle -----------------------------------------------------------------------------


def meeting_bundle(session: Session, meeting: Meeting) -> bytes:
    """The audit bundle of an opened meeting (``python -m elections.verify`` checks it)."""
    return box_bundle(session, box_of(session, meeting))


def box_bundle(session: Session, box: BallotBox | None) -> bytes:
    """The audit bundle of any opened box (the verifier recomputes its count)."""
    if box is None or box.opened_at is None:
        raise Conflict(_("The audit bundle exists once the ballot box has been opened."))
    heads = [h.doc for h in session.scalars(select(BoardHead).where(BoardHead.box_id == box.id)
                                            .order_by(BoardHead.seq))]
    shares = [_held(box, k) for k in brought_keys(box)[: box.k]]
    return build_bundle(
        None, definition=definition_from_json(box.definition),
        electorate=Electorate.from_json(box.electorate),
        credentials=credential_list(session, box), ceremony=box.ceremony,
        board=board_records(session, box), heads=heads, private_key=bytes(box.private_key),
        shares=shares, result=box.result, site_key=site_key(), created_at=iso(box.opened_at),
    )
