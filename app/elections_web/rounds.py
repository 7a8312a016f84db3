"""The rounds of a committee election, each with its own ballot box of the meeting: the key
ceremony, candidate ballots online / by proxy / on paper, the close, the opening by k-of-n
scrutineers and the signed count — the meeting's machinery (``app.meetings.voting`` and
``opening``) with a candidate ballot (``elections.Election``) instead of motions.

After each count :func:`standing` replays the rounds: who is elected, which tie goes to a
run-off (or to the elected members' decision, where the community's rules say so), which seats
go to a new round, and the alternates (候补委员) in order of votes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from elections import Candidate as BallotCandidate
from elections import Election as ElectionDefinition
from elections import (
    VoidBallot,
    check_candidate_selection,
    encode_candidate_ballot,
    seal_ballot,
    sign_ballot,
)
from elections.canonical import canonical_json
from elections.signatures import new_signing_key, signing_public_key

from ..audit.services import record
from ..errors import Conflict, DomainError
from ..meetings import opening, voting
from ..models import (
    BallotBox,
    BoardEntry,
    BoxVoter,
    Candidate,
    Channel,
    Election,
    ElectionRound,
    ElectionStatus,
    MeetingStatus,
    PaperEntry,
    Proxy,
    TieRule,
    User,
)


def round_box(session: Session, rnd: ElectionRound | None) -> BallotBox | None:
    return session.get(BallotBox, rnd.box_ref) if rnd is not None and rnd.box_ref else None


def latest_round(election: Election) -> ElectionRound | None:
    return election.rounds[-1] if election.rounds else None


def candidates_by_id(election: Election) -> dict[int, Candidate]:
    return {c.id: c for c in election.candidates}


def definition_of(election: Election, rnd: ElectionRound) -> ElectionDefinition:
    """The ballot paper of a round (candidates as ``c<position>``, names as published)."""
    rows = candidates_by_id(election)
    meeting = election.meeting
    return ElectionDefinition(
        box_id=f"c{meeting.community_id}-meeting-{meeting.id}-election-{election.id}"
               f"-r{rnd.number}",
        seats=rnd.seats,
        candidates=tuple(BallotCandidate(rows[cid].ballot_id, rows[cid].person.name)
                         for cid in rnd.candidate_ids),
        first_round=rnd.number == 1,
    )


# -- the standing across rounds ------------------------------------------------------------------


@dataclass
class Placed:
    """A candidate's place in the election: votes of the round that decided it."""

    candidate: Candidate
    votes_head: int
    votes_area: Decimal
    round_number: int
    #: First-round votes, the order alternates are called up in.
    first_head: int = 0


@dataclass
class Standing:
    """Where the election stands after the rounds counted so far."""

    elected: list[Placed] = field(default_factory=list)
    alternates: list[Placed] = field(default_factory=list)
    #: The round to hold next: ``(kind, seats, candidate row ids)``, or None.
    next_round: tuple[str, int, list[int]] | None = None
    #: A round is under way (not yet counted).
    running: ElectionRound | None = None
    unfilled: int = 0
    #: Why no further round can be held for seats left unfilled.
    stuck: str | None = None

    @property
    def decided(self) -> bool:
        return self.running is None and self.next_round is None


def round_result(session: Session, rnd: ElectionRound) -> dict | None:
    """The counted result of a round (``ElectionResult.to_json()``), None before its opening."""
    box = round_box(session, rnd)
    if box is None or box.result is None:
        return None
    return box.result["record"]["result"]


def standing(session: Session, election: Election) -> Standing:
    """Replay the rounds: elected by rank, ties and empty seats to further rounds, alternates."""
    rows = candidates_by_id(election)
    by_ballot = {c.ballot_id: c for c in election.candidates}
    out = Standing()
    first_votes: dict[int, tuple[int, Decimal]] = {}
    reached: dict[int, tuple[int, int]] = {}  # candidate → (first-round head, last head)
    for rnd in election.rounds:
        out.next_round = None
        if rnd.kind == "decision":
            chosen = set(rnd.decision["chosen"])
            for cid in rnd.candidate_ids:
                if cid in chosen:
                    head, area = first_votes.get(cid, (0, Decimal(0)))
                    out.elected.append(Placed(rows[cid], head, area, rnd.number, head))
                    reached.pop(cid, None)
            continue
        result = round_result(session, rnd)
        if result is None:
            out.running = rnd
            return out
        if result["void_round"]:
            out.next_round = ("new", rnd.seats, list(rnd.candidate_ids))
            continue
        tallies = {by_ballot[t["candidate"]].id: t for t in result["candidates"]}
        for cid, t in sorted(tallies.items(), key=lambda item: item[1]["rank"]):
            head, area = t["votes"]["headcount"], Decimal(t["votes"]["area"])
            first_votes.setdefault(cid, (head, area))
            if t["outcome"] == "elected":
                out.elected.append(Placed(rows[cid], head, area, rnd.number,
                                          first_votes[cid][0]))
                reached.pop(cid, None)
            elif t["outcome"] in ("alternate", "runoff"):
                reached[cid] = (first_votes[cid][0], head)
        runoff = [by_ballot[c].id for c in result["runoff"]]
        if result["runoff_seats"]:
            kind = "decision" if election.tie_rule is TieRule.ELECTED_DECIDE else "runoff"
            out.next_round = (kind, result["runoff_seats"], runoff)
        elif result["unfilled_seats"]:
            left = [cid for cid in rnd.candidate_ids
                    if tallies[cid]["outcome"] == "not_elected" and cid not in reached]
            if len(left) > result["unfilled_seats"]:
                out.next_round = ("new", result["unfilled_seats"], left)
            else:
                out.unfilled = result["unfilled_seats"]
                out.stuck = _("%(n)s seats are left unfilled and too few candidates remain for "
                              "a differential round: a new nomination is needed.",
                              n=result["unfilled_seats"])
    elected_ids = {p.candidate.id for p in out.elected}
    order = sorted((cid for cid in reached if cid not in elected_ids),
                   key=lambda cid: (-reached[cid][0], -reached[cid][1], rows[cid].position))
    out.alternates = [Placed(rows[cid], *first_votes[cid], 0, first_votes[cid][0])
                      for cid in order]
    return out


# -- ceremony and rounds -------------------------------------------------------------------------


def ceremony_blockers(session: Session, election: Election, now: dt.datetime) -> list[str]:
    """What stops the key ceremony of the election's next ballot box."""
    meeting = election.meeting
    found = []
    rnd = latest_round(election)
    if meeting.status is MeetingStatus.DRAFT:
        found.append(_("The candidate list is published with the notice first."))
    elif election.status is not ElectionStatus.RUNNING:
        found.append(_("The election is decided: no further round."))
    elif rnd is None:
        if meeting.status is not MeetingStatus.PUBLISHED or now >= meeting.voting_closes_at:
            found.append(_("The first round's ceremony is held between the notice and the "
                           "close of the meeting's vote."))
    elif rnd.box_ref is not None or rnd.kind == "decision":
        found.append(_("The key ceremony of round %(n)s has been held.", n=rnd.number))
    if len(voting.scrutineers_of(session, meeting.community)) < 2:
        found.append(_("At least two scrutineers are needed: grant the scrutineer role first."))
    return found


def hold_ceremony(
    session: Session, *, actor: User, now: dt.datetime, election: Election, k: int,
    passphrases: dict[int, str],
) -> BallotBox:
    """The key ceremony of the election's next round (the first round is made here)."""
    found = ceremony_blockers(session, election, now)
    if found:
        raise Conflict(" ".join(found))
    meeting = election.meeting
    rnd = latest_round(election)
    if rnd is None:
        rnd = ElectionRound(
            election_id=election.id, number=1, kind="first", seats=election.seats,
            candidate_ids=[c.id for c in election.candidates],
            opens_at=voting.voting_opens(meeting), closes_at=meeting.voting_closes_at,
            created_by_id=actor.id, created_at=now)
        session.add(rnd)
        session.flush()
        session.refresh(election, ["rounds"])
    box = voting.make_box(session, actor=actor, now=now, meeting=meeting, purpose=rnd.purpose,
                          definition=definition_of(election, rnd), k=k,
                          passphrases=passphrases)
    rnd.box_ref = box.id
    session.flush()
    record(session, actor=actor, action="election.ceremony", now=now,
           community_id=meeting.community_id, target=f"election:{election.id}",
           details={"round": rnd.number, "box": box.box_id, "k": k, "n": box.n,
                    "voters": voting.voter_count(session, box)})
    return box


def start_round(
    session: Session, *, actor: User, now: dt.datetime, election: Election,
    opens_at: dt.datetime, closes_at: dt.datetime, note: str = "",
) -> ElectionRound:
    """Prepare the run-off (tie across the last seat) or new round (seats left unfilled)."""
    state = standing(session, election)
    if state.next_round is None or state.next_round[0] == "decision":
        raise Conflict(_("No further round is due."))
    if closes_at <= opens_at or closes_at <= now:
        raise DomainError(_("The round must close after it opens, in the future."),
                          field="closes_at")
    kind, seats, ids = state.next_round
    rnd = ElectionRound(election_id=election.id, number=len(election.rounds) + 1, kind=kind,
                        seats=seats, candidate_ids=ids, opens_at=opens_at, closes_at=closes_at,
                        note=(note or "").strip()[:200], created_by_id=actor.id,
                        created_at=now)
    session.add(rnd)
    session.flush()
    session.refresh(election, ["rounds"])
    record(session, actor=actor, action="election.round_started", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"round": rnd.number, "kind": kind, "seats": seats, "candidates": ids})
    return rnd


def decide_tie(
    session: Session, *, actor: User, now: dt.datetime, election: Election,
    chosen: list[int], note: str,
) -> ElectionRound:
    """Where the rules let the elected members decide a tie: their decision, on the record."""
    state = standing(session, election)
    if state.next_round is None or state.next_round[0] != "decision":
        raise Conflict(_("No tie is waiting for the elected members' decision."))
    _kind, seats, ids = state.next_round
    if len(set(chosen)) != seats or not set(chosen) <= set(ids):
        raise DomainError(_("Choose exactly %(n)s of the tied candidates.", n=seats),
                          field="chosen")
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Record how the elected members decided (meeting, date, vote)."),
                          field="note")
    rnd = ElectionRound(
        election_id=election.id, number=len(election.rounds) + 1, kind="decision",
        seats=seats, candidate_ids=ids, opens_at=now, closes_at=now + dt.timedelta(seconds=1),
        decision={"chosen": sorted(set(chosen)), "note": note[:2000],
                  "elected_members": [p.candidate.id for p in state.elected]},
        note=note[:200], created_by_id=actor.id, created_at=now)
    session.add(rnd)
    session.flush()
    session.refresh(election, ["rounds"])
    record(session, actor=actor, action="election.tie_decided", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"round": rnd.number, "chosen": sorted(set(chosen))})
    settle_if_decided(session, actor=actor, now=now, election=election)
    return rnd


# -- casting -------------------------------------------------------------------------------------


def refusal_to_vote(election: Election, rnd: ElectionRound | None, box: BallotBox | None,
                    now: dt.datetime) -> str | None:
    """Why no candidate ballot can be taken at ``now`` (None: the round is open)."""
    if election.meeting.status is MeetingStatus.DRAFT:
        return _("This meeting has not been announced: nothing unannounced can be voted on.")
    if rnd is None or rnd.kind == "decision" or box is None:
        return _("The scrutineers have not yet held the key ceremony: the ballot box is not "
                 "ready.")
    if box.closed_at is not None or now >= rnd.closes_at:
        return _("Voting closed at %(when)s.", when=format_datetime(rnd.closes_at, "medium"))
    if now < rnd.opens_at:
        return _("Voting opens at %(when)s, when the notice period is over.",
                 when=format_datetime(rnd.opens_at, "medium"))
    return None


def _open_box(session: Session, election: Election, now: dt.datetime):
    rnd = latest_round(election)
    box = round_box(session, rnd)
    why = refusal_to_vote(election, rnd, box, now)
    if why:
        raise Conflict(why)
    return rnd, box


def clean_selection(box: BallotBox, selected: list[str]) -> list[str]:
    """The server's refusal of an over-selected (or foreign) online ballot: it is not cast."""
    from elections import definition_from_json

    definition = definition_from_json(box.definition)
    checked = check_candidate_selection(list(selected), definition)
    if isinstance(checked, VoidBallot):
        if len(set(selected)) > definition.seats:
            raise DomainError(_("You selected %(n)s candidates for %(seats)s seats: select at "
                                "most %(seats)s. The ballot was not cast.",
                                n=len(set(selected)), seats=definition.seats),
                              field="selected")
        raise DomainError(_("Select candidates of this ballot only."), field="selected")
    return sorted(checked.selected)


def server_sealed(box: BallotBox, plaintext: bytes) -> tuple[bytes, bytes, bytes]:
    sealed = seal_ballot(bytes(box.public_key), box.box_id, "candidate", plaintext)
    key = new_signing_key()
    return sealed, signing_public_key(key), sign_ballot(key, box.box_id, sealed)


def cast_online(
    session: Session, *, actor: User, now: dt.datetime, election: Election, sealed_b64: str,
    credential_b64: str, signature_b64: str, on_behalf_of: Proxy | None = None,
) -> voting.CastReceipt:
    """A candidate ballot sealed and signed in the owner's browser (or their proxy's)."""
    rnd, box = _open_box(session, election, now)
    sealed, credential, signature = voting.decode_sealed(sealed_b64, credential_b64,
                                                         signature_b64)
    voter, channel = voting.voter_for(session, box, actor, on_behalf_of)
    return voting.append_ballot(session, actor=actor, now=now, box=box, voter=voter,
                                sealed=sealed, credential=credential, signature=signature,
                                channel=channel, server_sealed=False, proxy=on_behalf_of,
                                closes_at=rnd.closes_at)


def cast_plain(
    session: Session, *, actor: User, now: dt.datetime, election: Election,
    selected: list[str], on_behalf_of: Proxy | None = None,
) -> voting.CastReceipt:
    """A candidate ballot from a browser without JavaScript: refused when over-selected."""
    rnd, box = _open_box(session, election, now)
    chosen = clean_selection(box, selected)
    voter, channel = voting.voter_for(session, box, actor, on_behalf_of)
    sealed, credential, signature = server_sealed(box, encode_candidate_ballot(chosen))
    return voting.append_ballot(session, actor=actor, now=now, box=box, voter=voter,
                                sealed=sealed, credential=credential, signature=signature,
                                channel=channel, server_sealed=True, proxy=on_behalf_of,
                                closes_at=rnd.closes_at)


# -- paper ballots -------------------------------------------------------------------------------


#: A paper ballot staff could not read is sealed as this plaintext: the count reads it as void
#: (unreadable), as the verifier does.
UNREADABLE_PAPER = canonical_json({"v": 1, "kind": "candidate", "unreadable": True})


def paper_is_void(box: BallotBox, marks: dict) -> bool:
    """Whether the count will read a paper ballot, as marked, as void (the same rule)."""
    from elections import definition_from_json

    return bool(marks.get("unreadable")) or isinstance(check_candidate_selection(
        list(marks["selected"]), definition_from_json(box.definition)), VoidBallot)


def paper_verdict(box: BallotBox, marks: dict) -> str | None:
    """What the count will make of a paper ballot as marked: None (valid) or why it is void."""
    if not paper_is_void(box, marks):
        return None
    if marks.get("unreadable"):
        return _("unreadable: void")
    return _("%(n)s marked for %(seats)s seats: void", n=len(marks["selected"]),
             seats=box.definition["seats"])


def enter_paper(
    session: Session, *, actor: User, now: dt.datetime, election: Election, voter: BoxVoter,
    selected: list[str], unreadable: bool = False, form_number: str = "",
) -> tuple[PaperEntry, voting.CastReceipt | None]:
    """Enter a returned candidate ballot as marked; it counts once two staff entries agree.

    An over-selected or unreadable form is entered as it is: it joins the board and the count
    records it as void (it still counts for participation).
    """
    rnd = latest_round(election)
    box = round_box(session, rnd)
    if box is None or box.closed_at is not None or rnd is None or now < rnd.opens_at:
        raise Conflict(_("Paper ballots are entered while the round's ballot box is open."))
    known = {c["candidate"] for c in box.definition["candidates"]}
    if not set(selected) <= known:
        raise DomainError(_("Mark candidates of this round's ballot only."), field="selected")
    marks = {"selected": [] if unreadable else sorted(set(selected)),
             "unreadable": bool(unreadable)}
    if voting.ballot_of(session, box, voter) is not None:
        raise Conflict(_("This owner's ballot is already on the board: the paper form does not "
                         "count again."))
    earlier = list(session.scalars(select(PaperEntry).where(
        PaperEntry.box_id == box.id, PaperEntry.voter_ref == voter.id,
        PaperEntry.status != "superseded").order_by(PaperEntry.id)))
    if any(e.entered_by_id == actor.id for e in earlier):
        raise Conflict(_("You have already entered this form: the next entry must be made by "
                         "another staff member."))
    entry = PaperEntry(box_id=box.id, voter_ref=voter.id, form_number=form_number.strip()[:40],
                       choices=marks, entered_by_id=actor.id, entered_at=now, status="pending")
    session.add(entry)
    session.flush()
    matching = [e for e in earlier if e.choices == marks]
    receipt = None
    if matching:
        for e in [*earlier, entry]:
            e.status = "accepted" if e in (*matching, entry) else "superseded"
        plaintext = UNREADABLE_PAPER if unreadable else encode_candidate_ballot(
            marks["selected"])
        sealed, credential, signature = server_sealed(box, plaintext)
        receipt = voting.append_ballot(session, actor=actor, now=now, box=box, voter=voter,
                                       sealed=sealed, credential=credential,
                                       signature=signature, channel=Channel.PAPER,
                                       server_sealed=True, closes_at=rnd.closes_at)
    elif earlier:
        for e in [*earlier, entry]:
            e.status = "disagrees"
    session.flush()
    record(session, actor=actor, action="election.paper_entered", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"round": rnd.number, "voter": voter.voter_id, "entry": entry.id,
                    "status": entry.status, "void": paper_is_void(box, marks)})
    return entry, receipt


def paper_entries(session: Session, box: BallotBox) -> list[PaperEntry]:
    return list(session.scalars(select(PaperEntry).where(PaperEntry.box_id == box.id)
                                .order_by(PaperEntry.id)))


# -- close and opening ---------------------------------------------------------------------------


def close_round(session: Session, *, actor: User, now: dt.datetime, election: Election,
                voters_signed_in: int | None = None) -> BallotBox:
    """After the round's window: the closing head is published; the scrutineers can open.

    For a round held in person, ``voters_signed_in`` is the count of the sign-in sheet: if
    more ballots were found, the count voids the round and says so.
    """
    if voters_signed_in is not None and voters_signed_in < 0:
        raise DomainError(_("Give the number of voters signed in, or leave it empty."),
                          field="voters_signed_in")
    rnd = latest_round(election)
    box = round_box(session, rnd)
    if box is None or box.closed_at is not None:
        raise Conflict(_("Only a round whose ballot box is open can be closed."))
    if now < rnd.closes_at:
        raise Conflict(_("Voting runs until %(when)s: it cannot be closed earlier.",
                         when=format_datetime(rnd.closes_at, "medium")))
    box = session.execute(select(BallotBox).where(BallotBox.id == box.id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one()
    voting.chain_pending(session, box.id)  # ballots received a moment ago join first
    voting.publish_head(session, box=box, now=now, closing=True)
    box.closed_at = now
    rnd.voters_signed_in = voters_signed_in
    session.flush()
    record(session, actor=actor, action="election.closed", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"round": rnd.number, "ballots": box.board_count,
                    "voters_signed_in": voters_signed_in,
                    "head": bytes(box.board_hash).hex()})
    return box


def bring_share(
    session: Session, *, actor: User, now: dt.datetime, election: Election, share_text: str,
    passphrase: str,
) -> BallotBox:
    """A scrutineer brings their share of the round's box; with k shares it is counted."""
    rnd = latest_round(election)
    box = round_box(session, rnd)
    opening.bring_box_share(session, actor=actor, now=now, box=box, share_text=share_text,
                            passphrase=passphrase)
    if len(opening.brought_keys(box)) >= box.k:
        result = opening.count_box(session, box, now, voters_taking_part=rnd.voters_signed_in)
        record(session, actor=actor, action="election.opened", now=now,
               community_id=election.meeting.community_id, target=f"election:{election.id}",
               details={"round": rnd.number, "ballots": box.board_count,
                        "void_round": result.void_round, "elected": list(result.elected),
                        "runoff": list(result.runoff)})
        settle_if_decided(session, actor=actor, now=now, election=election)
    return box


def settle_if_decided(session: Session, *, actor: User, now: dt.datetime,
                      election: Election) -> bool:
    """When no round is running or due, write each candidate's outcome: the election is
    decided and its result can be announced."""
    state = standing(session, election)
    if not state.decided or election.status is not ElectionStatus.RUNNING:
        return False
    placed = {p.candidate.id: ("elected", rank, p)
              for rank, p in enumerate(state.elected, start=1)}
    placed.update({p.candidate.id: ("alternate", rank, p)
                   for rank, p in enumerate(state.alternates, start=1)})
    first = round_result(session, election.rounds[0]) if election.rounds else None
    first_votes = {t["candidate"]: t["votes"] for t in (first or {}).get("candidates", [])}
    for candidate in election.candidates:
        outcome, rank, p = placed.get(candidate.id, ("not_elected", None, None))
        candidate.outcome, candidate.outcome_rank = outcome, rank
        if p is not None:
            candidate.votes_head, candidate.votes_area = p.votes_head, p.votes_area
        else:
            votes = first_votes.get(candidate.ballot_id, {"headcount": 0, "area": "0"})
            candidate.votes_head, candidate.votes_area = (votes["headcount"],
                                                          Decimal(votes["area"]))
    election.status = ElectionStatus.DECIDED
    session.flush()
    record(session, actor=actor, action="election.decided", now=now,
           community_id=election.meeting.community_id, target=f"election:{election.id}",
           details={"elected": [p.candidate.id for p in state.elected],
                    "alternates": [p.candidate.id for p in state.alternates],
                    "unfilled": state.unfilled})
    return True


def board_of_round(session: Session, box: BallotBox) -> list[BoardEntry]:
    return voting.board_entries(session, box)
