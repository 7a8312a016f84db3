"""Does ``elections.simulate`` run a whole box over a register the caller gives?"""

from __future__ import annotations

import random
from decimal import Decimal

from election_world import TEST_COST

from elections import Electorate, Motion, Unit, verify_bundle
from elections.rules import Matter
from elections.simulate import random_units, simulate_box

MOTIONS = (
    Motion("m1", "修订《管理规约》", Matter.MANAGEMENT_STATUTE),
    Motion("m2", "使用专项维修资金更换2号楼电梯", Matter.USE_FUND),
    Motion("m3", "续筹专项维修资金", Matter.RAISE_FUND),
)


def register() -> list[Unit]:
    """Forty flats, 38 owners: a couple, an owner of two, two unsold flats of the developer."""
    units = []
    for i in range(40):
        if i in (38, 39):
            owners: tuple[str, ...] = ()
        elif i == 1:
            owners = ("p0",)
        elif i == 2:
            owners = ("p2", "p2-spouse")
        else:
            owners = (f"p{i}",)
        units.append(
            Unit(f"1-{101 + i}", Decimal("88.15") + i, owners, developer_unsold=not owners)
        )
    return units


def test_a_box_over_custom_units_and_motions_verifies():
    units = register()
    world = simulate_box(units, seed=7, turnout=0.85, motions=MOTIONS, cost=TEST_COST)
    report = verify_bundle(world.bundle)
    assert report.ok, report
    assert [m.title for m in world.definition.motions] == [m.title for m in MOTIONS]
    assert len(world.electorate.voters) == Electorate(units).headcount == 38
    assert len(world.board.records) == round(38 * 0.85)


def test_turnout_is_respected_and_the_seed_fixes_the_votes():
    units = random_units(random.Random(3), 30)
    voters = Electorate(units).headcount
    for turnout in (0.0, 0.5, 1.0):
        world = simulate_box(units, seed=1, turnout=turnout, cost=TEST_COST)
        assert len(world.board.records) == max(1, round(voters * turnout))
    again = simulate_box(units, seed=1, turnout=1.0, cost=TEST_COST)
    assert again.plaintexts == world.plaintexts


def test_a_committee_election_over_custom_units_verifies_with_four_of_five():
    world = simulate_box(register(), seed=9, kind="candidate", k=4, cost=TEST_COST)
    assert verify_bundle(world.bundle).ok
    assert len(world.shares) == 4
