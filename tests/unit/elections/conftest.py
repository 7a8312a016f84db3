"""Fixtures for the vote integrity engine's tests (no database, no Flask)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # lets the tests import election_world whatever the import mode
    sys.path.insert(0, str(HERE))

from election_world import World, build_world  # noqa: E402


@pytest.fixture(scope="session")
def motion_world() -> World:
    """A meeting's ballot box, counted, signed and bundled."""
    return build_world(seed=1, kind="motion", units=30)


@pytest.fixture(scope="session")
def election_world() -> World:
    """A committee election's ballot box, counted, signed and bundled."""
    return build_world(seed=2, kind="candidate", units=30)
