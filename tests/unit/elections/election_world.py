"""A whole ballot box in memory, from the register to the audit bundle, for tests.

The pipeline lives in :mod:`elections.simulate` (the demo uses it too); this module adds what
only the tests need: Hypothesis settings, the test scrypt cost, ``build_world(seed=…)`` over a
random register, and helpers that read or tamper with a bundle's files.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from typing import Any

from hypothesis import HealthCheck, settings

from elections.rules import NonVoterPolicy, VotingPolicy
from elections.simulate import (
    SCRUTINEERS,
    World,
    committee_election,
    motion_vote,
    passphrase,
    random_plaintext,
    random_units,
    simulate_box,
)

#: Hypothesis settings for tests that build ballot boxes (slow per example, no deadline).
BOX_SETTINGS = settings(
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: scrypt cost for tests (the real default is 2^15).
TEST_COST = 2**10


def build_world(
    *,
    seed: int = 0,
    kind: str = "motion",
    units: int = 24,
    turnout: float = 0.85,
    policy: VotingPolicy | None = None,
    k: int = 3,
) -> World:
    """Run a whole ballot box over ``units`` random units with ``random.Random(seed)``."""
    rng = random.Random(seed)
    register = random_units(rng, units)
    return simulate_box(
        register,
        seed=rng,
        kind=kind,
        turnout=turnout,
        k=k,
        cost=TEST_COST,
        policy=policy,
        box_id=f"box-{kind}-{seed}",
    )


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
    "BOX_SETTINGS",
    "SCRUTINEERS",
    "TEST_COST",
    "NonVoterPolicy",
    "World",
    "build_world",
    "committee_election",
    "motion_vote",
    "passphrase",
    "random_plaintext",
    "random_units",
    "read_file",
    "read_json",
    "replace_file",
]
