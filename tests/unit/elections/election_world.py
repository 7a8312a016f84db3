"""A whole ballot box in memory, from the register to the audit bundle, for tests.

``build_world(seed=…)`` runs every step the site runs — pseudonymised electorate, key ceremony,
credentials, sealed and signed ballots on the board, signed heads, opening by k scrutineers,
count, signed result, bundle — with choices drawn from ``random.Random(seed)``.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings

from elections.ballots import (
    Candidate,
    Election,
    Motion,
    MotionVote,
    encode_candidate_ballot,
    encode_motion_ballot,
)
from elections.board import Board
from elections.bundle import build_bundle
from elections.ceremony import (
    Ceremony,
    ScrutineerShare,
    combine_shares,
    make_ceremony,
    unprotect_share,
)
from elections.counting import count_board
from elections.credentials import (
    CredentialList,
    generate_credentials,
    parse_credential_text,
    sign_ballot,
)
from elections.electorate import Electorate, Unit
from elections.result import result_record, sign_result
from elections.rules import Matter, NonVoterPolicy, VotingPolicy
from elections.sealing import seal_ballot
from elections.signatures import new_signing_key, sign_record, signing_public_key

#: Hypothesis settings for tests that build ballot boxes (slow per example, no deadline).
BOX_SETTINGS = settings(
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: scrypt cost for tests (the real default is 2^15).
TEST_COST = 2**10
SCRUTINEERS = ("s1", "s2", "s3", "s4", "s5")


def passphrase(scrutineer: str) -> str:
    """The passphrase a test scrutineer chose."""
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
            "created_at": "2026-03-01T10:00:00Z",
        }
        pieces.update(changes)
        return build_bundle(None, **pieces)


def motion_vote(box_id: str, policy: VotingPolicy | None = None) -> MotionVote:
    """A meeting with an ordinary matter, the fund's use and raising it (3/4)."""
    return MotionVote(
        box_id,
        (
            Motion("m1", "Management statute", Matter.MANAGEMENT_STATUTE),
            Motion("m2", "Use the fund for lifts", Matter.USE_FUND),
            Motion("m3", "Raise the fund", Matter.RAISE_FUND),
        ),
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


def build_world(
    *,
    seed: int = 0,
    kind: str = "motion",
    units: int = 24,
    turnout: float = 0.85,
    policy: VotingPolicy | None = None,
    k: int = 3,
) -> World:
    """Run a whole ballot box with ``random.Random(seed)``."""
    rng = random.Random(seed)
    register = Electorate(random_units(rng, units))
    electorate, _ = register.pseudonymise(rng.randbytes(32))
    box_id = f"box-{kind}-{seed}"
    definition = motion_vote(box_id, policy) if kind == "motion" else committee_election(box_id)
    site_key = new_signing_key()
    ceremony = make_ceremony(box_id, k, {s: passphrase(s) for s in SCRUTINEERS}, cost=TEST_COST)
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
    chosen = rng.sample(SCRUTINEERS, k)
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


def replace_file(bundle: bytes, name: str, data: bytes) -> bytes:
    """The bundle with one file's bytes replaced (as a tamperer without the site key would)."""
    source = zipfile.ZipFile(io.BytesIO(bundle))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, data if info.filename == name else source.read(info.filename))
    return out.getvalue()


def read_file(bundle: bytes, name: str) -> bytes:
    """One file of a bundle."""
    return zipfile.ZipFile(io.BytesIO(bundle)).read(name)


def read_json(bundle: bytes, name: str) -> Any:
    """One JSON file of a bundle, parsed."""
    return json.loads(read_file(bundle, name))


__all__ = [
    "NonVoterPolicy",
    "World",
    "build_world",
    "read_file",
    "read_json",
    "replace_file",
]
