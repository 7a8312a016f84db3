"""Ballot kinds, their plaintext encoding, and the validity rules of a ballot.

Two kinds: a *motion ballot* marks agree / disagree / abstain on each motion of a meeting; a
*candidate ballot* selects at most as many candidates as there are seats. The plaintext that is
sealed is canonical JSON (see ``README.md``). Whether a ballot is valid is decided here and
only here — the web layer, the count and the verifier all call :func:`read_motion_ballot` and
:func:`read_candidate_ballot`.

Validity rules:

* unreadable plaintext, wrong version or wrong kind → the whole ballot is void;
* a motion or candidate that is not on the ballot paper → void (the paper was not ours);
* a "follow the majority" box ticked where the ballot paper has none → void;
* motion ballots: a mark other than agree/disagree/abstain spoils that motion only; an
  unmarked motion is not a void (it counts as an abstention, or with the majority if the box
  is ticked);
* candidate ballots: selecting more candidates than seats (over-selection) → void; one
  candidate selected twice → void; selecting fewer is valid; a blank ballot is valid and counts
  for participation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .canonical import canonical_json
from .errors import DefinitionError
from .rules import Choice, Matter, VotingPolicy

PLAINTEXT_VERSION = 1


class BallotKind(StrEnum):
    """The kind of a sealed ballot, bound into its seal as associated data."""

    MOTION = "motion"
    CANDIDATE = "candidate"


class VoidReason(StrEnum):
    """Why a ballot (or one motion of it) does not count as a choice."""

    UNOPENABLE = "unopenable"  #: the seal does not open with the box key
    UNREADABLE = "unreadable"  #: not the documented plaintext
    WRONG_KIND = "wrong_kind"
    UNKNOWN_MOTION = "unknown_motion"
    UNKNOWN_CANDIDATE = "unknown_candidate"
    OVER_SELECTION = "over_selection"
    DUPLICATE_SELECTION = "duplicate_selection"
    BOX_NOT_OFFERED = "box_not_offered"
    SPOILT_MARK = "spoilt_mark"  #: one motion only


# -- definitions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Motion:
    """One motion of an owners' meeting, with the art. 278 matter that sets its threshold."""

    motion_id: str
    title: str
    matter: Matter

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {"motion": self.motion_id, "title": self.title, "matter": int(self.matter)}


@dataclass(frozen=True)
class MotionVote:
    """The motions put to one ballot box, and the community's counting policy."""

    box_id: str
    motions: tuple[Motion, ...]
    policy: VotingPolicy = field(default_factory=VotingPolicy)

    def __post_init__(self) -> None:
        object.__setattr__(self, "motions", tuple(self.motions))
        ids = [m.motion_id for m in self.motions]
        if not ids:
            raise DefinitionError("a vote needs at least one motion")
        if len(set(ids)) != len(ids):
            raise DefinitionError("two motions share an id")

    kind = BallotKind.MOTION

    def to_json(self) -> dict[str, Any]:
        """Plain data for the bundle and the result record."""
        return {
            "kind": self.kind.value,
            "box": self.box_id,
            "motions": [m.to_json() for m in self.motions],
            "policy": self.policy.to_json(),
        }


@dataclass(frozen=True)
class Candidate:
    """A candidate for the owners' committee."""

    candidate_id: str
    name: str

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {"candidate": self.candidate_id, "name": self.name}


@dataclass(frozen=True)
class Election:
    """One round of a differential (差额) committee election.

    A first round needs an odd number of seats, at least 5; every round needs more candidates
    than seats. Run-off and new rounds may have any number of seats.
    """

    box_id: str
    seats: int
    candidates: tuple[Candidate, ...]
    first_round: bool = True

    kind = BallotKind.CANDIDATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
        ids = [c.candidate_id for c in self.candidates]
        if len(set(ids)) != len(ids):
            raise DefinitionError("two candidates share an id")
        if self.seats < 1:
            raise DefinitionError("an election needs at least one seat")
        if self.first_round and (self.seats < 5 or self.seats % 2 == 0):
            raise DefinitionError("a committee has an odd number of seats, at least 5")
        if len(ids) <= self.seats:
            raise DefinitionError("a differential election needs more candidates than seats")

    def to_json(self) -> dict[str, Any]:
        """Plain data for the bundle and the result record."""
        return {
            "kind": self.kind.value,
            "box": self.box_id,
            "seats": self.seats,
            "first_round": self.first_round,
            "candidates": [c.to_json() for c in self.candidates],
        }


def definition_from_json(data: Mapping[str, Any]) -> MotionVote | Election:
    """Rebuild a :class:`MotionVote` or :class:`Election` from :meth:`to_json` data."""
    try:
        if data["kind"] == BallotKind.MOTION:
            return MotionVote(
                box_id=str(data["box"]),
                motions=tuple(
                    Motion(str(m["motion"]), str(m["title"]), Matter(int(m["matter"])))
                    for m in data["motions"]
                ),
                policy=VotingPolicy.from_json(data["policy"]),
            )
        if data["kind"] == BallotKind.CANDIDATE:
            return Election(
                box_id=str(data["box"]),
                seats=int(data["seats"]),
                candidates=tuple(
                    Candidate(str(c["candidate"]), str(c["name"])) for c in data["candidates"]
                ),
                first_round=bool(data["first_round"]),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise DefinitionError(f"vote definition is malformed: {exc}") from exc
    raise DefinitionError(f"unknown ballot kind {data.get('kind')!r}")


# -- ballots -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoidBallot:
    """A ballot that counts for participation and for nothing else."""

    reason: VoidReason
    detail: str = ""


@dataclass(frozen=True)
class MotionBallot:
    """A valid motion ballot: the marks made, motions spoilt, and the box."""

    choices: Mapping[str, Choice]
    follow_majority: bool = False
    #: Motions whose mark is not one of the three choices: void for that motion only.
    spoilt: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CandidateBallot:
    """A valid candidate ballot; an empty selection is a valid blank ballot."""

    selected: frozenset[str]

    @property
    def blank(self) -> bool:
        """True when nobody is selected."""
        return not self.selected


def encode_motion_ballot(
    choices: Mapping[str, Choice | str], follow_majority: bool = False
) -> bytes:
    """The plaintext a voter's motion ballot is sealed as."""
    return canonical_json(
        {
            "v": PLAINTEXT_VERSION,
            "kind": BallotKind.MOTION.value,
            "choices": {k: str(v) for k, v in choices.items()},
            "follow_majority": bool(follow_majority),
        }
    )


def encode_candidate_ballot(selected: Iterable[str]) -> bytes:
    """The plaintext a voter's candidate ballot is sealed as (order does not matter)."""
    return canonical_json(
        {"v": PLAINTEXT_VERSION, "kind": BallotKind.CANDIDATE.value, "selected": sorted(selected)}
    )


def _load(plaintext: bytes, kind: BallotKind) -> dict[str, Any] | VoidBallot:
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return VoidBallot(VoidReason.UNREADABLE, "not JSON text")
    if not isinstance(data, dict) or data.get("v") != PLAINTEXT_VERSION:
        return VoidBallot(VoidReason.UNREADABLE, "not a version 1 ballot")
    if data.get("kind") != kind.value:
        return VoidBallot(VoidReason.WRONG_KIND, f"kind {data.get('kind')!r}")
    return data


def read_motion_ballot(plaintext: bytes, vote: MotionVote) -> MotionBallot | VoidBallot:
    """Apply the validity rules of a motion ballot to an opened plaintext."""
    data = _load(plaintext, BallotKind.MOTION)
    if isinstance(data, VoidBallot):
        return data
    choices = data.get("choices")
    box = data.get("follow_majority", False)
    if set(data) != {"v", "kind", "choices", "follow_majority"} or not isinstance(choices, dict):
        return VoidBallot(VoidReason.UNREADABLE, "fields of a motion ballot expected")
    if not isinstance(box, bool):
        return VoidBallot(VoidReason.UNREADABLE, "follow_majority must be true or false")
    known = {m.motion_id for m in vote.motions}
    unknown = sorted(set(choices) - known)
    if unknown:
        return VoidBallot(VoidReason.UNKNOWN_MOTION, ", ".join(unknown))
    if box and not vote.policy.follow_majority_box:
        return VoidBallot(VoidReason.BOX_NOT_OFFERED, "this ballot has no follow-the-majority box")
    marks: dict[str, Choice] = {}
    spoilt = set()
    for motion_id, mark in choices.items():
        try:
            marks[motion_id] = Choice(mark)
        except ValueError:
            spoilt.add(motion_id)
    return MotionBallot(marks, box, frozenset(spoilt))


def read_candidate_ballot(plaintext: bytes, election: Election) -> CandidateBallot | VoidBallot:
    """Apply the validity rules of a candidate ballot to an opened plaintext."""
    data = _load(plaintext, BallotKind.CANDIDATE)
    if isinstance(data, VoidBallot):
        return data
    selected = data.get("selected")
    if set(data) != {"v", "kind", "selected"} or not isinstance(selected, list):
        return VoidBallot(VoidReason.UNREADABLE, "fields of a candidate ballot expected")
    if not all(isinstance(s, str) for s in selected):
        return VoidBallot(VoidReason.UNREADABLE, "selections must be candidate ids")
    return check_candidate_selection(selected, election)


def check_candidate_selection(
    selected: Sequence[str], election: Election
) -> CandidateBallot | VoidBallot:
    """The candidate-ballot rules on a list of selections (paper ballots enter here too)."""
    if len(set(selected)) != len(selected):
        return VoidBallot(VoidReason.DUPLICATE_SELECTION, "a candidate is selected twice")
    known = {c.candidate_id for c in election.candidates}
    unknown = sorted(set(selected) - known)
    if unknown:
        return VoidBallot(VoidReason.UNKNOWN_CANDIDATE, ", ".join(unknown))
    if len(selected) > election.seats:
        return VoidBallot(
            VoidReason.OVER_SELECTION, f"{len(selected)} selected for {election.seats} seats"
        )
    return CandidateBallot(frozenset(selected))


def read_ballot(
    plaintext: bytes, definition: MotionVote | Election
) -> MotionBallot | CandidateBallot | VoidBallot:
    """Apply the validity rules of the definition's ballot kind."""
    if isinstance(definition, MotionVote):
        return read_motion_ballot(plaintext, definition)
    return read_candidate_ballot(plaintext, definition)
