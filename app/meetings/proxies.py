"""Proxies (书面委托) and paper ballots: the two ways a ballot reaches the board without the
owner casting it online themselves."""

from __future__ import annotations

import datetime as dt

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..models import (
    BallotBox,
    BoardEntry,
    BoxVoter,
    Channel,
    Meeting,
    MeetingStatus,
    PaperEntry,
    Person,
    Proxy,
    User,
)
from .voting import (
    DEFAULT_PROXY_CAP,
    CastReceipt,
    append_ballot,
    box_of,
    clean_choices,
    server_sealed_ballot,
    voter_of_person,
)

# -- proxies ----------------------------------------------------------------------------------


def proxy_cap(meeting: Meeting) -> int:
    try:
        cap = int((meeting.community.settings or {}).get("proxy_cap", DEFAULT_PROXY_CAP))
    except (TypeError, ValueError):
        return DEFAULT_PROXY_CAP
    return cap if cap > 0 else DEFAULT_PROXY_CAP


def active_proxies(session: Session, meeting: Meeting, *, holder: User | None = None,
                   owner: Person | None = None) -> list[Proxy]:
    query = select(Proxy).where(Proxy.meeting_id == meeting.id, Proxy.revoked_at.is_(None))
    if holder is not None:
        query = query.where(Proxy.holder_id == holder.id)
    if owner is not None:
        query = query.where(Proxy.owner_person_id == owner.id)
    return list(session.scalars(query.order_by(Proxy.id)))


def _ballot_of_person(session: Session, meeting: Meeting, person_id: int) -> BoardEntry | None:
    box = box_of(session, meeting)
    if box is None:
        return None
    voter = voter_of_person(session, box, person_id)
    if voter is None:
        return None
    return session.scalar(select(BoardEntry).where(BoardEntry.box_id == box.id,
                                                  BoardEntry.voter_ref == voter.id))


def name_proxy(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting, owner: Person,
    holder: User, instructions: str = "", scan_path: str = "",
) -> Proxy:
    """``owner`` authorises ``holder`` to vote for them in ``meeting`` (capped per holder)."""
    if meeting.status not in (MeetingStatus.PUBLISHED, MeetingStatus.VOTING):
        raise Conflict(_("Proxies are named between the notice and the close of voting."))
    if owner.community_id != meeting.community_id:
        raise Forbidden(_("This owner is not in the meeting's community."))
    if holder.id == owner.user_id:
        raise DomainError(_("An owner cannot be their own proxy."), field="holder")
    if active_proxies(session, meeting, owner=owner):
        raise Conflict(_("This owner has already named a proxy: revoke it first."))
    if _ballot_of_person(session, meeting, owner.id) is not None:
        raise Conflict(_("This owner has already voted."))
    cap = proxy_cap(meeting)
    if len(active_proxies(session, meeting, holder=holder)) >= cap:
        raise Conflict(_("%(name)s already holds %(cap)s proxies, the most this community "
                         "allows.", name=holder.display_name or holder.username, cap=cap))
    proxy = Proxy(meeting_id=meeting.id, owner_person_id=owner.id, holder_id=holder.id,
                  instructions=instructions.strip()[:2000], scan_path=scan_path,
                  created_by_id=actor.id, created_at=now)
    session.add(proxy)
    session.flush()
    record(session, actor=actor, action="meeting.proxy_named", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"proxy": proxy.id, "owner": owner.id, "holder": holder.id,
                    "from_paper": bool(scan_path)})
    return proxy


def revoke_proxy(session: Session, *, actor: User, now: dt.datetime, proxy: Proxy) -> Proxy:
    """Revocable until either the owner or the proxy has voted."""
    if proxy.revoked_at is not None:
        raise Conflict(_("This proxy was already revoked."))
    meeting = session.get(Meeting, proxy.meeting_id)
    if _ballot_of_person(session, meeting, proxy.owner_person_id) is not None:
        raise Conflict(_("A ballot has been cast for this owner: the proxy can no longer be "
                         "revoked."))
    proxy.revoked_at = now
    session.flush()
    record(session, actor=actor, action="meeting.proxy_revoked", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"proxy": proxy.id})
    return proxy


# -- paper ballots ----------------------------------------------------------------------------


def paper_blockers(meeting: Meeting, box: BallotBox | None, now: dt.datetime) -> str | None:
    if box is None:
        return _("The ballot box is not ready: the key ceremony comes first.")
    if box.closed_at is not None:
        return _("Voting has closed.")
    if now < meeting.voting_opens_at:
        return _("Paper ballots are entered once voting has opened.")
    return None


def enter_paper(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting, voter: BoxVoter,
    raw_choices: dict[str, str], form_number: str = "", scan_path: str = "",
) -> tuple[PaperEntry, CastReceipt | None]:
    """Enter a returned form. It counts when two staff members' entries agree.

    A first entry waits; a second one by another person either agrees (the ballot is sealed
    and joins the board) or disagrees (both wait for a third check, by a third person, who
    agrees with one of them).
    """
    box = box_of(session, meeting)
    why = paper_blockers(meeting, box, now)
    if why:
        raise Conflict(why)
    choices = clean_choices(box, raw_choices)
    cast = session.scalar(select(BoardEntry).where(BoardEntry.box_id == box.id,
                                                  BoardEntry.voter_ref == voter.id))
    if cast is not None:
        raise Conflict(_("This owner's ballot is already on the board (%(channel)s, %(when)s): "
                         "the paper form does not count again.",
                         channel=cast.channel.value, when=format_datetime(cast.cast_at)))
    earlier = list(session.scalars(select(PaperEntry).where(
        PaperEntry.box_id == box.id, PaperEntry.voter_ref == voter.id,
        PaperEntry.status != "superseded").order_by(PaperEntry.id)))
    if any(e.entered_by_id == actor.id for e in earlier):
        raise Conflict(_("You have already entered this form: the next entry must be made by "
                         "another staff member."))
    entry = PaperEntry(box_id=box.id, voter_ref=voter.id, form_number=form_number.strip()[:40],
                       choices=choices, scan_path=scan_path, entered_by_id=actor.id,
                       entered_at=now, status="pending")
    session.add(entry)
    session.flush()
    matching = [e for e in earlier if e.choices == choices]
    receipt = None
    if matching:
        for e in [*earlier, entry]:
            e.status = "accepted" if e in (*matching, entry) else "superseded"
        sealed, credential, signature = server_sealed_ballot(box, choices)
        receipt = append_ballot(session, actor=actor, now=now, box=box, voter=voter,
                                sealed=sealed, credential=credential, signature=signature,
                                channel=Channel.PAPER, server_sealed=True)
    elif earlier:
        for e in [*earlier, entry]:
            e.status = "disagrees"
    session.flush()
    record(session, actor=actor, action="meeting.paper_entered", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"voter": voter.voter_id, "entry": entry.id, "status": entry.status})
    return entry, receipt


def disagreements(session: Session, box: BallotBox) -> list[tuple[BoxVoter, list[PaperEntry]]]:
    """Forms whose two entries disagree: listed for a third check."""
    rows = session.scalars(select(PaperEntry).where(PaperEntry.box_id == box.id,
                                                   PaperEntry.status == "disagrees")
                           .order_by(PaperEntry.voter_ref, PaperEntry.id))
    grouped: dict[int, list[PaperEntry]] = {}
    for row in rows:
        grouped.setdefault(row.voter_ref, []).append(row)
    return [(session.get(BoxVoter, ref), entries) for ref, entries in grouped.items()]


def unit_labels(session: Session, voter: BoxVoter) -> str:
    """The units a voter votes for, as staff write them on a form ("1号楼 1201")."""
    from ..models import Building, Unit

    rows = session.execute(select(Building.name, Unit.number).join(Unit.building)
                           .where(Unit.id.in_(voter.unit_ids)).order_by(Building.name,
                                                                         Unit.number))
    return "、".join(f"{b} {n}" for b, n in rows)


def paper_counts(session: Session, box: BallotBox) -> dict[str, int]:
    rows = session.execute(select(PaperEntry.status, func.count(PaperEntry.id))
                           .where(PaperEntry.box_id == box.id).group_by(PaperEntry.status))
    return dict(rows.all())
