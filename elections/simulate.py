"""A whole ballot box in memory, from a register to the audit bundle: a simulated vote.

``simulate_box(units, seed=…)`` runs every step the site runs — pseudonymised electorate, key
ceremony, credentials, sealed and signed ballots on the board, signed heads, opening by k
scrutineers, count, signed result, bundle — with the voters' choices drawn from
``random.Random(seed)``. The tests use it to build boxes to tamper with, and ``flask demo``
to leave a real bundle a newcomer can check offline with ``python -m elections.verify``.

Pure, like the rest of the package: only the standard library and ``cryptography``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .ballots import (
    Candidate,
    Election,
    Motion,
    MotionVote,
    encode_candidate_ballot,
    encode_motion_ballot,
)
from .board import Board
from .bundle import build_bundle
from .ceremony import (
    DEFAULT_COST,
    Ceremony,
    ScrutineerShare,
    combine_shares,
    make_ceremony,
    unprotect_share,
)
from .counting import count_board
from .credentials import (
    CredentialList,
    generate_credentials,
    parse_credential_text,
    sign_ballot,
)
from .electorate import Electorate, Unit
from .result import result_record, sign_result
from .rules import Matter, VotingPolicy
from .sealing import seal_ballot
from .signatures import new_signing_key, sign_record, signing_public_key

SCRUTINEERS = ("s1", "s2", "s3", "s4", "s5")
#: When the simulated bundle says it was made.
CREATED_AT = "2026-03-01T10:00:00Z"


def passphrase(scrutineer: str) -> str:
    """The passphrase a simulated scrutineer chose."""
    return f"correct horse {scrutineer} battery"


def random_units(rng: random.Random, count: int) -> list[Unit]:
    """A register with awkward areas, some multi-unit owners, co-owners and developer units."""
    units = []
    for i in range(count):
        area = Decimal(rng.randint(3_000, 20_000)) / 100
        roll = rng.random()
        if roll < 0.1 and i > 0:
            owners: tuple[str, ...] = (f"o{rng.randrange(i)}",)  # owner of an earlier unit
        elif roll < 0.2:
            owners = (f"o{i}", f"o{i}-spouse")
        else:
            owners = (f"o{i}",)
        developer = roll > 0.95
        units.append(
            Unit(
                f"{1 + i // 20}-{101 + i % 20}",
                area,
                () if developer else owners,
                developer_unsold=developer,
            )
        )
    return units


@dataclass
class World:
    """Every piece of one ballot box, and the bundle built from them."""

    definition: MotionVote | Election
    electorate: Electorate
    ceremony: Ceremony
    ceremony_doc: dict[str, Any]
    site_key: bytes
    credentials: CredentialList
    private_credentials: dict[str, bytes]
    board: Board
    heads: list[dict[str, Any]]
    shares: list[ScrutineerShare]
    private_key: bytes
    result_doc: dict[str, Any]
    bundle: bytes = b""
    plaintexts: list[bytes] = field(default_factory=list)

    @property
    def box_id(self) -> str:
        return self.definition.box_id

    def rebuild(self, **changes: Any) -> bytes:
        """The bundle again from (possibly changed) pieces."""
        pieces = {
            "definition": self.definition,
            "electorate": self.electorate,
            "credentials": self.credentials,
            "ceremony": self.ceremony_doc,
            "board": self.board,
            "heads": self.heads,
            "private_key": self.private_key,
            "shares": self.shares,
            "result": self.result_doc,
            "site_key": self.site_key,
            "created_at": CREATED_AT,
        }
        pieces.update(changes)
        return build_bundle(None, **pieces)


#: A meeting with an ordinary matter, the fund's use and raising it (3/4).
DEFAULT_MOTIONS = (
    Motion("m1", "Management statute", Matter.MANAGEMENT_STATUTE),
    Motion("m2", "Use the fund for lifts", Matter.USE_FUND),
    Motion("m3", "Raise the fund", Matter.RAISE_FUND),
)


def motion_vote(
    box_id: str, policy: VotingPolicy | None = None, motions: Sequence[Motion] | None = None
) -> MotionVote:
    """An owners' meeting on ``motions`` (by default :data:`DEFAULT_MOTIONS`)."""
    return MotionVote(
        box_id,
        tuple(motions or DEFAULT_MOTIONS),
        policy or VotingPolicy(follow_majority_box=True),
    )


def committee_election(box_id: str) -> Election:
    """Five seats, seven candidates."""
    return Election(box_id, 5, tuple(Candidate(f"c{i}", f"Candidate {i}") for i in range(1, 8)))


def random_plaintext(rng: random.Random, definition: MotionVote | Election) -> bytes:
    """A ballot a voter might send, now and then void or blank."""
    if isinstance(definition, MotionVote):
        choices = {}
        for motion in definition.motions:
            roll = rng.random()
            if roll < 0.55:
                choices[motion.motion_id] = "agree"
            elif roll < 0.75:
                choices[motion.motion_id] = "disagree"
            elif roll < 0.9:
                choices[motion.motion_id] = "abstain"
            elif roll < 0.93:
                choices[motion.motion_id] = "maybe"  # spoils this motion only
        box = definition.policy.follow_majority_box and rng.random() < 0.2
        if rng.random() < 0.03:
            choices["m99"] = "agree"  # not on the paper: void
        return encode_motion_ballot(choices, follow_majority=box)
    ids = [c.candidate_id for c in definition.candidates]
    roll = rng.random()
    if roll < 0.05:
        return encode_candidate_ballot([])
    if roll < 0.1:
        return encode_candidate_ballot(rng.sample(ids, definition.seats + 1))
    weights = list(range(len(ids), 0, -1))
    chosen = set()
    for _ in range(rng.randint(1, definition.seats)):
        chosen.add(rng.choices(ids, weights)[0])
    return encode_candidate_ballot(sorted(chosen))


def simulate_box(
    units: Sequence[Unit],
    *,
    seed: int | random.Random = 0,
    kind: str = "motion",
    turnout: float = 0.85,
    k: int = 3,
    scrutineers: Sequence[str] = SCRUTINEERS,
    cost: int = DEFAULT_COST,
    motions: Sequence[Motion] | None = None,
    policy: VotingPolicy | None = None,
    box_id: str | None = None,
) -> World:
    """Run a whole ballot box over the register ``units``; see the module docstring.

    ``seed`` is an int, or a ``random.Random`` to go on drawing from. ``kind`` is
    ``"motion"`` (an owners' meeting on ``motions``) or ``"candidate"`` (a committee
    election). ``turnout`` is the share of voters who cast a ballot (at least one does); the
    box is opened by ``k`` of the ``scrutineers``, whose shares are protected with scrypt at
    ``cost``. The result is signed and the bundle is in ``World.bundle``.
    """
    if kind not in ("motion", "candidate"):
        raise ValueError(f"unknown kind of box: {kind!r}")
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    if box_id is None:
        box_id = f"box-{kind}-{seed if isinstance(seed, int) else 'sim'}"
    electorate, _ = Electorate(tuple(units)).pseudonymise(rng.randbytes(32))
    definition = (
        motion_vote(box_id, policy, motions) if kind == "motion" else committee_election(box_id)
    )
    site_key = new_signing_key()
    ceremony = make_ceremony(box_id, k, {s: passphrase(s) for s in scrutineers}, cost=cost)
    ceremony_doc = sign_record("ceremony", ceremony.record(), {"site": site_key})
    letters, credentials = generate_credentials(
        box_id, [(v.voter_id, "") for v in electorate.voters]
    )
    private_credentials = {ltr.voter_id: parse_credential_text(ltr.credential) for ltr in letters}
    board = Board(box_id, credentials)
    heads = [board.head(site_key, "2026-02-01T08:00:00Z")]
    voters = [v.voter_id for v in electorate.voters]
    rng.shuffle(voters)
    plaintexts = []
    for index, voter in enumerate(voters[: max(1, round(len(voters) * turnout))]):
        plaintext = random_plaintext(rng, definition)
        plaintexts.append(plaintext)
        sealed = seal_ballot(ceremony.public_key, box_id, definition.kind.value, plaintext)
        key = private_credentials[voter]
        board.append(
            signing_public_key(key),
            sign_ballot(key, box_id, sealed),
            sealed,
            server_sealed=rng.random() < 0.1,  # an owner without JavaScript
        )
        if index == 5:
            heads.append(board.head(site_key, "2026-02-05T08:00:00Z"))
    heads.append(board.head(site_key, "2026-02-15T20:00:00Z", closing=True))
    chosen = rng.sample(list(scrutineers), k)
    shares = [unprotect_share(ceremony.protected_shares[s], passphrase(s)) for s in chosen]
    private_key = combine_shares(shares, ceremony.public_key)
    result = count_board(board.records, credentials, electorate, definition, private_key)
    record = result_record(
        definition=definition,
        result=result,
        credentials=credentials,
        board_count=len(board.records),
        board_hash=board.head_hash.hex(),
        server_sealed=sum(r.server_sealed for r in board.records),
        scrutineers=[s.scrutineer_id for s in shares],
    )
    world = World(
        definition,
        electorate,
        ceremony,
        ceremony_doc,
        site_key,
        credentials,
        private_credentials,
        board,
        heads,
        shares,
        private_key,
        sign_result(record, site_key, shares),
        plaintexts=plaintexts,
    )
    world.bundle = world.rebuild()
    return world


__all__ = [
    "DEFAULT_MOTIONS",
    "SCRUTINEERS",
    "World",
    "passphrase",
    "random_units",
    "simulate_box",
]
