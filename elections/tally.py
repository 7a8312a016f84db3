"""Counting: motions of an owners' meeting and rounds of a committee election.

The count takes *casts* — a voter and their ballot as read by :mod:`elections.ballots` — and
returns a result that carries every figure, every threshold (figure, bar, met) and the places of
void ballots. Invariants, checked by tests and by the verifier:

* per motion: agree + disagree + abstain + void = ballots (+ non-voters when they are counted),
  by headcount and by area;
* per election: valid + void = ballots; no candidate has more votes than valid ballots; the
  selections add up to at most seats × non-blank valid ballots.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .ballots import (
    CandidateBallot,
    Election,
    MotionBallot,
    MotionVote,
    VoidBallot,
    VoidReason,
)
from .electorate import Electorate
from .errors import DuplicateBallotError, UnknownVoterError
from .rules import (
    ZERO,
    Matter,
    NonVoterPolicy,
    Threshold,
    Weight,
    adoption,
    majority_choice,
    ordinary_approval,
    quorum,
)


@dataclass(frozen=True)
class Cast:
    """A ballot as it enters the count: whose it is, what it says, and where it was recorded."""

    voter_id: str
    ballot: MotionBallot | CandidateBallot | VoidBallot
    #: Board record number (1-based), or None for a paper ballot.
    record: int | None = None


@dataclass(frozen=True)
class VoidEntry:
    """The place and reason of a void ballot, or of one spoilt motion of a ballot."""

    record: int | None
    voter_id: str
    reason: VoidReason
    motion_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "record": self.record,
            "voter": self.voter_id,
            "reason": self.reason.value,
            "motion": self.motion_id,
        }


@dataclass(frozen=True)
class BallotCounts:
    """Ballots received, and how many were valid, void, and blank (blank ⊆ valid)."""

    ballots: int
    valid: int
    void: int
    blank: int

    def to_json(self) -> dict[str, int]:
        """Plain data."""
        return {
            "ballots": self.ballots,
            "valid": self.valid,
            "void": self.void,
            "blank": self.blank,
        }


@dataclass
class _Groups:
    """Casts grouped by ballot object, with their weights; duplicates and voids set apart."""

    #: id(ballot) → [ballot, headcount, area]
    by_ballot: dict[int, list[Any]]
    voted: Weight
    duplicates: list[Cast]
    #: Casts that are void, or have a spoilt motion: the places a result lists.
    voids: list[Cast]


def _is_void(ballot: object) -> bool:
    return isinstance(ballot, VoidBallot) or (
        isinstance(ballot, MotionBallot) and bool(ballot.spoilt)
    )


def _group(electorate: Electorate, casts: Sequence[Cast]) -> _Groups:
    """Group casts by ballot object and add up their weights; find duplicate voters.

    Ballots read from one plaintext are one object, so a count of 100,000 ballots with a few
    hundred distinct contents does its per-motion work a few hundred times.
    """
    voters = electorate.voters_by_id
    groups: dict[int, list[Any]] = {}
    void_groups: set[int] = set()
    seen: set[str] = set()
    duplicates: list[Cast] = []
    voids: list[Cast] = []
    head = 0
    area = Decimal(0)
    for cast in casts:
        voter = voters.get(cast.voter_id)
        if voter is None:
            raise UnknownVoterError(
                f"record {cast.record}: voter {cast.voter_id} is not in the electorate"
            )
        if cast.voter_id in seen:
            duplicates.append(cast)
            continue
        seen.add(cast.voter_id)
        key = id(cast.ballot)
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = [cast.ballot, 0, Decimal(0)]
            if _is_void(cast.ballot):
                void_groups.add(key)
        if key in void_groups:
            voids.append(cast)
        entry[1] += 1
        entry[2] += voter.area
        head += 1
        area += voter.area
    return _Groups(groups, Weight(head, area), duplicates, voids)


def _void_entries(casts: Iterable[Cast]) -> tuple[VoidEntry, ...]:
    entries = []
    for cast in casts:
        ballot = cast.ballot
        if isinstance(ballot, VoidBallot):
            entries.append(VoidEntry(cast.record, cast.voter_id, ballot.reason))
        elif isinstance(ballot, MotionBallot):
            entries.extend(
                VoidEntry(cast.record, cast.voter_id, VoidReason.SPOILT_MARK, motion_id)
                for motion_id in sorted(ballot.spoilt)
            )
    return tuple(entries)


# -- motions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MotionTally:
    """The count of one motion and its adoption thresholds."""

    motion_id: str
    agree: Weight
    disagree: Weight
    abstain: Weight
    void: Weight
    #: Counted with the majority by a ticked box (already inside agree/disagree/abstain).
    followed_majority: Weight
    #: Non-voters counted with the majority (already inside agree/disagree/abstain).
    non_voters: Weight
    participating: Weight
    thresholds: tuple[Threshold, Threshold]
    adopted: bool

    def invariant_holds(self) -> bool:
        """agree + disagree + abstain + void = participating, by headcount and by area."""
        return self.agree + self.disagree + self.abstain + self.void == self.participating

    def to_json(self) -> dict[str, Any]:
        """Plain data for the result record."""
        return {
            "motion": self.motion_id,
            "agree": self.agree.to_json(),
            "disagree": self.disagree.to_json(),
            "abstain": self.abstain.to_json(),
            "void": self.void.to_json(),
            "followed_majority": self.followed_majority.to_json(),
            "non_voters": self.non_voters.to_json(),
            "participating": self.participating.to_json(),
            "thresholds": [t.to_json() for t in self.thresholds],
            "adopted": self.adopted,
        }


@dataclass(frozen=True)
class MotionsResult:
    """The result of a meeting's ballot box: quorum, each motion, ballot counts, voids."""

    vote: MotionVote
    total: Weight
    voted: Weight
    participating: Weight
    quorum: tuple[Threshold, Threshold]
    motions: tuple[MotionTally, ...]
    counts: BallotCounts
    voids: tuple[VoidEntry, ...]

    @property
    def quorum_met(self) -> bool:
        """Both quorum thresholds met."""
        return all(t.met for t in self.quorum)

    def invariant_holds(self) -> bool:
        """Every motion's choices and voids add up to the participation; counts add up."""
        c = self.counts
        return (
            all(m.invariant_holds() for m in self.motions)
            and c.valid + c.void == c.ballots
            and c.blank <= c.valid
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for the result record."""
        return {
            "kind": "motion",
            "policy": self.vote.policy.to_json(),
            "policy_statement": self.vote.policy.statement(),
            "total": self.total.to_json(),
            "voted": self.voted.to_json(),
            "participating": self.participating.to_json(),
            "quorum": [t.to_json() for t in self.quorum],
            "quorum_met": self.quorum_met,
            "motions": [m.to_json() for m in self.motions],
            "counts": self.counts.to_json(),
            "voids": [v.to_json() for v in self.voids],
        }


def tally_motions(electorate: Electorate, casts: Sequence[Cast], vote: MotionVote) -> MotionsResult:
    """Count a meeting's ballots under art. 278 and the community's policy.

    Raises :class:`DuplicateBallotError` when one voter has two ballots (the board and the
    paper-entry rules must have refused the second) and :class:`UnknownVoterError` for a voter
    outside the electorate.
    """
    grouped = _group(electorate, casts)
    groups, voted = grouped.by_ballot, grouped.voted
    if grouped.duplicates:
        first = grouped.duplicates[0]
        raise DuplicateBallotError(f"record {first.record}: voter {first.voter_id} voted twice")
    total = Weight(electorate.headcount, electorate.total_area)
    policy = vote.policy
    absent = total - voted if policy.non_voters is NonVoterPolicy.FOLLOW_MAJORITY else ZERO
    participating = voted + absent
    quorum_checks = quorum(participating, total)
    motions = tuple(
        _tally_motion(
            motion.motion_id,
            motion.matter,
            groups.values(),
            absent,
            participating,
            all(t.met for t in quorum_checks),
        )
        for motion in vote.motions
    )
    valid = void = blank = 0
    for ballot, head, _area in groups.values():
        if isinstance(ballot, VoidBallot):
            void += head
        else:
            valid += head
            if not ballot.choices and not ballot.spoilt and not ballot.follow_majority:
                blank += head
    return MotionsResult(
        vote=vote,
        total=total,
        voted=voted,
        participating=participating,
        quorum=quorum_checks,
        motions=motions,
        counts=BallotCounts(voted.headcount, valid, void, blank),
        voids=_void_entries(grouped.voids),
    )


def _tally_motion(
    motion_id: str,
    matter: Matter,
    groups: Iterable[list[Any]],
    absent: Weight,
    participating: Weight,
    quorum_met: bool,
) -> MotionTally:
    sums = {key: [0, Decimal(0)] for key in ("agree", "disagree", "abstain", "void", "follow")}
    for ballot, head, area in groups:
        if isinstance(ballot, VoidBallot) or motion_id in ballot.spoilt:
            key = "void"
        elif motion_id in ballot.choices:
            key = ballot.choices[motion_id].value
        elif ballot.follow_majority:
            key = "follow"
        else:
            key = "abstain"
        sums[key][0] += head
        sums[key][1] += area
    weights = {key: Weight(h, a) for key, (h, a) in sums.items()}
    followed = weights.pop("follow")
    side = majority_choice(weights["agree"], weights["disagree"]).value
    weights[side] = weights[side] + followed + absent
    thresholds = adoption(matter, weights["agree"], participating)
    return MotionTally(
        motion_id=motion_id,
        agree=weights["agree"],
        disagree=weights["disagree"],
        abstain=weights["abstain"],
        void=weights["void"],
        followed_majority=followed,
        non_voters=absent,
        participating=participating,
        thresholds=thresholds,
        adopted=quorum_met and all(t.met for t in thresholds),
    )


# -- committee elections -------------------------------------------------------------------------


class Outcome(StrEnum):
    """What a round of a committee election did for a candidate."""

    ELECTED = "elected"
    RUNOFF = "runoff"  #: tied across the last seat(s): a further round among the tied
    ALTERNATE = "alternate"  #: reached the threshold, not elected: 候补委员, in order of votes
    NOT_ELECTED = "not_elected"


@dataclass(frozen=True)
class CandidateTally:
    """One candidate's votes, rank, approval thresholds and outcome."""

    candidate_id: str
    votes: Weight
    rank: int
    thresholds: tuple[Threshold, Threshold]
    outcome: Outcome

    @property
    def reached_threshold(self) -> bool:
        """More than half of participating area and of participating owners."""
        return all(t.met for t in self.thresholds)

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "candidate": self.candidate_id,
            "votes": self.votes.to_json(),
            "rank": self.rank,
            "thresholds": [t.to_json() for t in self.thresholds],
            "outcome": self.outcome.value,
        }


@dataclass(frozen=True)
class ElectionResult:
    """The result of one round of a committee election."""

    election: Election
    total: Weight
    participating: Weight
    quorum: tuple[Threshold, Threshold]
    counts: BallotCounts
    #: Why the round is void (more ballots than voters, quorum not reached), or None.
    void_round: str | None
    candidates: tuple[CandidateTally, ...]
    runoff_seats: int
    unfilled_seats: int
    voids: tuple[VoidEntry, ...]

    def _with(self, outcome: Outcome) -> tuple[str, ...]:
        return tuple(c.candidate_id for c in self.candidates if c.outcome is outcome)

    @property
    def elected(self) -> tuple[str, ...]:
        """Candidates elected, by rank."""
        return self._with(Outcome.ELECTED)

    @property
    def runoff(self) -> tuple[str, ...]:
        """Candidates tied across the last seat(s), who go to a run-off for ``runoff_seats``."""
        return self._with(Outcome.RUNOFF)

    @property
    def alternates(self) -> tuple[str, ...]:
        """Alternates (候补委员) in the order they are called up."""
        return self._with(Outcome.ALTERNATE)

    def invariant_holds(self) -> bool:
        """valid + void = ballots; votes within valid ballots and within seats per ballot."""
        c = self.counts
        selections = sum(t.votes.headcount for t in self.candidates)
        return (
            c.valid + c.void == c.ballots
            and all(t.votes.headcount <= c.valid - c.blank for t in self.candidates)
            and selections <= self.election.seats * (c.valid - c.blank)
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for the result record."""
        return {
            "kind": "candidate",
            "total": self.total.to_json(),
            "participating": self.participating.to_json(),
            "quorum": [t.to_json() for t in self.quorum],
            "counts": self.counts.to_json(),
            "void_round": self.void_round,
            "candidates": [c.to_json() for c in self.candidates],
            "elected": list(self.elected),
            "runoff": list(self.runoff),
            "runoff_seats": self.runoff_seats,
            "alternates": list(self.alternates),
            "unfilled_seats": self.unfilled_seats,
            "voids": [v.to_json() for v in self.voids],
        }


def tally_candidates(
    electorate: Electorate,
    casts: Sequence[Cast],
    election: Election,
    *,
    voters_taking_part: int | None = None,
) -> ElectionResult:
    """Count one round of a committee election.

    Candidates are ranked by votes (headcount of ballots selecting them; equal votes share a
    rank). To be elected a candidate must also reach the ordinary threshold. Seats go down the
    ranking; a group tied across the last seat(s) goes to a run-off; eligible candidates not
    elected are alternates in order of votes; seats nobody can fill go to a new round.

    The round is void — nobody elected — when more ballots were cast than voters took part
    (``voters_taking_part``, e.g. signed-in voters of a paper round, or one voter twice on the
    board) or when the participation quorum is not reached.
    """
    grouped = _group(electorate, casts)
    groups, participating, duplicates = grouped.by_ballot, grouped.voted, grouped.duplicates
    total = Weight(electorate.headcount, electorate.total_area)
    ballots = len(casts)
    voters = participating.headcount if voters_taking_part is None else voters_taking_part
    void_round = None
    if duplicates or ballots > voters:
        void_round = f"more ballots ({ballots}) than voters ({voters})"
    quorum_checks = quorum(participating, total)
    if void_round is None and not all(t.met for t in quorum_checks):
        void_round = "participation quorum not reached"

    votes = {c.candidate_id: [0, Decimal(0)] for c in election.candidates}
    valid = blank = 0
    for ballot, head, area in groups.values():
        if isinstance(ballot, VoidBallot):
            continue
        valid += head
        blank += head if ballot.blank else 0
        for candidate_id in ballot.selected:
            votes[candidate_id][0] += head
            votes[candidate_id][1] += area
    counts = BallotCounts(ballots, valid, ballots - valid, blank)

    order = sorted(election.candidates, key=lambda c: (-votes[c.candidate_id][0], c.candidate_id))
    tallies: list[CandidateTally] = []
    remaining = election.seats if void_round is None else 0
    runoff_seats = 0
    position = 0
    while position < len(order):
        head = votes[order[position].candidate_id][0]
        group = [c for c in order[position:] if votes[c.candidate_id][0] == head]
        checked = {
            c.candidate_id: ordinary_approval(Weight(*votes[c.candidate_id]), participating)
            for c in group
        }
        eligible = [c for c in group if all(t.met for t in checked[c.candidate_id])]
        if void_round is not None or not eligible:
            outcome = Outcome.NOT_ELECTED
        elif len(eligible) <= remaining:
            outcome = Outcome.ELECTED
            remaining -= len(eligible)
        elif remaining:
            outcome, runoff_seats, remaining = Outcome.RUNOFF, remaining, 0
        else:
            outcome = Outcome.ALTERNATE
        for c in group:
            tallies.append(
                CandidateTally(
                    c.candidate_id,
                    Weight(*votes[c.candidate_id]),
                    position + 1,
                    checked[c.candidate_id],
                    outcome if c in eligible else Outcome.NOT_ELECTED,
                )
            )
        position += len(group)
    return ElectionResult(
        election=election,
        total=total,
        participating=participating,
        quorum=quorum_checks,
        counts=counts,
        void_round=void_round,
        candidates=tuple(tallies),
        runoff_seats=runoff_seats,
        unfilled_seats=remaining if void_round is None else election.seats,
        voids=_void_entries(grouped.voids),
    )


def tally(
    electorate: Electorate,
    casts: Sequence[Cast],
    definition: MotionVote | Election,
    *,
    voters_taking_part: int | None = None,
) -> MotionsResult | ElectionResult:
    """Count with the rules of the definition's kind (``voters_taking_part``: elections only,
    the voters signed in for a round, against which more ballots void it)."""
    if isinstance(definition, MotionVote):
        return tally_motions(electorate, casts, definition)
    return tally_candidates(electorate, casts, definition, voters_taking_part=voters_taking_part)
