"""Opening a ballot box and counting it: the one pipeline the site and the verifier share.

After the close, k scrutineers rebuild the box key (:func:`elections.ceremony.combine_shares`);
:func:`open_board` opens every sealed ballot on the board (in parallel), :func:`read_casts`
applies the validity rules, and :func:`count_board` does both and tallies.
"""

from __future__ import annotations

from collections.abc import Sequence

from .ballots import (
    CandidateBallot,
    Election,
    MotionBallot,
    MotionVote,
    VoidBallot,
    VoidReason,
    read_ballot,
)
from .board import BoardRecord
from .credentials import CredentialList
from .electorate import Electorate
from .errors import SealError
from .parallel import Progress, chunked, iter_chunks, map_chunks, paused_gc
from .sealing import BallotOpener
from .tally import Cast, ElectionResult, MotionsResult, tally


def _open_chunk(task: tuple[bytes, str, str, Sequence[bytes]]) -> list[bytes | None]:
    private_key, box_id, kind, sealed_list = task
    opener = BallotOpener(private_key, box_id, kind)
    opened: list[bytes | None] = []
    for sealed in sealed_list:
        try:
            opened.append(opener.open(sealed))
        except SealError:
            opened.append(None)
    return opened


def open_sealed(
    private_key: bytes,
    box_id: str,
    kind: str,
    sealed: Sequence[bytes],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[bytes | None]:
    """Plaintexts of many sealed ballots, in order; None where a seal does not open."""
    BallotOpener(private_key, box_id, kind)  # fail early on a bad key
    tasks = [(private_key, box_id, kind, part) for part in chunked(sealed)]
    return map_chunks(_open_chunk, tasks, len(sealed), workers=workers, progress=progress)


def open_board(
    records: Sequence[BoardRecord],
    private_key: bytes,
    box_id: str,
    kind: str,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[bytes | None]:
    """Plaintexts of the board's ballots, in record order; None where a seal does not open."""
    return open_sealed(
        private_key,
        box_id,
        kind,
        [r.sealed for r in records],
        workers=workers,
        progress=progress,
    )


class CastReader:
    """Applies the validity rules to opened ballots, reading each distinct plaintext once.

    Ballots with identical plaintexts share one ballot object, which the tally groups on: a
    count of 100,000 ballots with a few hundred distinct contents reads a few hundred.
    """

    def __init__(self, definition: MotionVote | Election) -> None:
        self.definition = definition
        self._cache: dict[bytes, MotionBallot | CandidateBallot | VoidBallot] = {}
        self._unopenable = VoidBallot(
            VoidReason.UNOPENABLE, "the seal does not open with the box key"
        )

    def read(self, number: int, voter_id: str, plaintext: bytes | None) -> Cast:
        """The cast of one opened ballot (None: the seal did not open, a void ballot)."""
        if plaintext is None:
            return Cast(voter_id, self._unopenable, number)
        ballot = self._cache.get(plaintext)
        if ballot is None:
            ballot = self._cache[plaintext] = read_ballot(plaintext, self.definition)
        return Cast(voter_id, ballot, number)


def read_casts(
    opened: Sequence[tuple[int, str, bytes | None]], definition: MotionVote | Election
) -> list[Cast]:
    """Casts from ``(record number, voter id, plaintext or None)``, validity rules applied."""
    reader = CastReader(definition)
    return [reader.read(number, voter_id, plaintext) for number, voter_id, plaintext in opened]


def count_board(
    records: Sequence[BoardRecord],
    credentials: CredentialList,
    electorate: Electorate,
    definition: MotionVote | Election,
    private_key: bytes,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    voters_taking_part: int | None = None,
) -> MotionsResult | ElectionResult:
    """Open every ballot on the board and count them under the definition's rules.

    ``voters_taking_part`` is the number of voters signed in for an election round (see
    :func:`elections.tally.tally_candidates`); None counts the voters on the board.

    Each chunk of opened ballots is read here while the workers open the next ones.
    """
    kind = definition.kind.value
    BallotOpener(private_key, definition.box_id, kind)  # fail early on a bad key
    reader = CastReader(definition)
    voter_of = credentials.voter_of
    casts: list[Cast] = []
    tasks = [
        (private_key, definition.box_id, kind, [r.sealed for r in part])
        for part in chunked(records)
    ]
    with paused_gc():
        chunks = iter_chunks(_open_chunk, tasks, len(records), workers=workers, progress=progress)
        for part in chunks:
            start = len(casts)
            for record, plaintext in zip(records[start : start + len(part)], part, strict=True):
                casts.append(reader.read(record.number, voter_of(record.credential), plaintext))
        return tally(electorate, casts, definition, voters_taking_part=voters_taking_part)
