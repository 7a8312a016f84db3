"""The demo's finished vote: an audit bundle a newcomer can verify offline.

``flask demo`` calls :func:`write_demo_bundle` once the demo community exists: it takes the
community's register from the database (the same units and headcount rule as the register
pages, :func:`app.register.summary.electorate_units`), simulates an owners' meeting on three
motions with :func:`elections.simulate.simulate_box` and writes the signed bundle, so that
``python -m elections.verify instance/demo-bundle.zip`` has something real to check.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from elections import Motion
from elections.rules import Matter
from elections.simulate import simulate_box

from .models import Community
from .register.summary import electorate_units

#: The meeting the demo's owners voted on: an ordinary matter, the fund's use, raising it (3/4).
DEMO_MOTIONS = (
    Motion("m1", "修订《管理规约》", Matter.MANAGEMENT_STATUTE),
    Motion("m2", "使用专项维修资金更换2号楼电梯", Matter.USE_FUND),
    Motion("m3", "续筹专项维修资金", Matter.RAISE_FUND),
)
DEMO_SEED = 20261123
DEMO_TURNOUT = 0.85
#: scrypt cost of the scrutineers' shares: 2^12 keeps ``flask demo`` to a few seconds (the
#: site's real ceremonies use 2^15); the verifier does not need the passphrases anyway.
DEMO_COST = 2**12


def write_demo_bundle(session: Session, community: Community, path: Path) -> Path:
    """Simulate a finished owners' meeting of ``community`` and write its bundle to ``path``."""
    world = simulate_box(
        electorate_units(session, community),
        seed=DEMO_SEED,
        kind="motion",
        turnout=DEMO_TURNOUT,
        k=3,
        cost=DEMO_COST,
        motions=DEMO_MOTIONS,
        box_id=f"demo-{community.id}-meeting-1",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(world.bundle)
    return path
