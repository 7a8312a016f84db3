"""Does the count of a meeting's motions follow art. 278 and the community's policy?"""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.ballots import (
    Motion,
    MotionBallot,
    MotionVote,
    VoidBallot,
    VoidReason,
    encode_motion_ballot,
    read_motion_ballot,
)
from elections.electorate import Electorate, Unit
from elections.errors import DuplicateBallotError, UnknownVoterError
from elections.rules import Choice, Matter, NonVoterPolicy, VotingPolicy, Weight
from elections.tally import Cast, tally_motions


def households(count: int, area: str = "89.5") -> Electorate:
    return Electorate([Unit(f"h{i:03d}", Decimal(area), (f"o{i}",)) for i in range(count)])


def casts_for(electorate: Electorate, marks: list[dict[str, str] | None], vote: MotionVote):
    casts = []
    for voter, mark in zip(electorate.voters, marks, strict=False):
        ballot = (
            VoidBallot(VoidReason.UNREADABLE)
            if mark is None
            else read_motion_ballot(encode_motion_ballot(mark), vote)
        )
        casts.append(Cast(voter.voter_id, ballot, len(casts) + 1))
    return casts


def test_the_worked_example_of_a_written_meeting_is_adopted():
    """236 households, 216 returned, 209 agree, 7 disagree (DESIGN.md)."""
    electorate = households(236)
    vote = MotionVote("b", (Motion("m", "Statute", Matter.MANAGEMENT_STATUTE),))
    marks = [{"m": "agree"}] * 209 + [{"m": "disagree"}] * 7
    result = tally_motions(electorate, casts_for(electorate, marks, vote), vote)
    assert result.quorum_met
    assert result.quorum[1].figure == Fraction(216, 236)  # 91.53 %
    motion = result.motions[0]
    assert motion.agree == Weight(209, Decimal("89.5") * 209)
    assert motion.disagree.headcount == 7
    assert motion.adopted
    assert result.counts.to_json() == {"ballots": 216, "valid": 216, "void": 0, "blank": 0}
    assert result.invariant_holds()


def test_nothing_is_adopted_without_the_quorum_even_unanimously():
    electorate = households(30)
    vote = MotionVote("b", (Motion("m", "", Matter.OTHER_MAJOR),))
    result = tally_motions(electorate, casts_for(electorate, [{"m": "agree"}] * 19, vote), vote)
    assert not result.quorum_met  # 19/30 < 2/3
    assert all(t.met for t in result.motions[0].thresholds)
    assert not result.motions[0].adopted
    result = tally_motions(electorate, casts_for(electorate, [{"m": "agree"}] * 20, vote), vote)
    assert result.quorum_met
    assert result.motions[0].adopted


def test_raising_the_fund_needs_three_quarters_of_participants():
    electorate = households(40)
    vote = MotionVote("b", (Motion("m", "Raise", Matter.RAISE_FUND),))
    at = [{"m": "agree"}] * 24 + [{"m": "disagree"}] * 8  # exactly 3/4 of 32
    assert tally_motions(electorate, casts_for(electorate, at, vote), vote).motions[0].adopted
    under = [{"m": "agree"}] * 23 + [{"m": "abstain"}] * 9
    assert (
        not tally_motions(electorate, casts_for(electorate, under, vote), vote).motions[0].adopted
    )


def test_abstentions_void_and_spoilt_marks_count_as_taking_part_but_not_agreeing():
    electorate = households(10)
    vote = MotionVote(
        "b", (Motion("m1", "", Matter.OTHER_MAJOR), Motion("m2", "", Matter.OTHER_MAJOR))
    )
    marks = [{"m1": "agree", "m2": "agree"}] * 5 + [{"m1": "abstain", "m2": "bad"}] * 3 + [None] * 2
    result = tally_motions(electorate, casts_for(electorate, marks, vote), vote)
    m1, m2 = result.motions
    assert (m1.agree.headcount, m1.abstain.headcount, m1.void.headcount) == (5, 3, 2)
    assert (m2.agree.headcount, m2.void.headcount) == (5, 5)
    assert not m1.adopted
    assert not m2.adopted
    assert result.counts.void == 2
    assert [(v.record, v.reason.value, v.motion_id) for v in result.voids] == [
        (6, "spoilt_mark", "m2"),
        (7, "spoilt_mark", "m2"),
        (8, "spoilt_mark", "m2"),
        (9, "unreadable", None),
        (10, "unreadable", None),
    ]
    assert result.invariant_holds()


def test_an_owner_of_two_units_weighs_both_areas_and_one_head():
    electorate = Electorate(
        [
            Unit("a", Decimal("100.01"), ("x",)),
            Unit("b", Decimal("50.5"), ("x",)),
            Unit("c", Decimal("149"), ("y",)),
        ]
    )
    vote = MotionVote("b", (Motion("m", "", Matter.OTHER_MAJOR),))
    casts = [
        Cast("a", MotionBallot({"m": Choice.AGREE})),
        Cast("c", MotionBallot({"m": Choice.DISAGREE})),
    ]
    motion = tally_motions(electorate, casts, vote).motions[0]
    assert motion.agree == Weight(1, Decimal("150.51"))
    area, head = motion.thresholds
    assert area.met
    assert not head.met
    assert not motion.adopted


def test_the_follow_the_majority_box_joins_the_majority_of_marked_ballots():
    electorate = households(10)
    vote = MotionVote(
        "b", (Motion("m", "", Matter.OTHER_MAJOR),), VotingPolicy(follow_majority_box=True)
    )
    casts = [Cast(v.voter_id, MotionBallot({"m": Choice.AGREE})) for v in electorate.voters[:4]]
    casts += [
        Cast(v.voter_id, MotionBallot({"m": Choice.DISAGREE})) for v in electorate.voters[4:7]
    ]
    casts += [
        Cast(v.voter_id, MotionBallot({}, follow_majority=True)) for v in electorate.voters[7:]
    ]
    motion = tally_motions(electorate, casts, vote).motions[0]
    assert motion.agree.headcount == 7
    assert motion.followed_majority.headcount == 3
    assert motion.adopted
    tied = casts[:3] + casts[4:]  # 3 agree, 3 disagree: no majority, the box counts as abstain
    motion = tally_motions(electorate, tied, vote).motions[0]
    assert motion.abstain.headcount == 3
    assert not motion.adopted


def test_counting_non_voters_with_the_majority_reaches_quorum():
    electorate = households(12)
    policy = VotingPolicy(NonVoterPolicy.FOLLOW_MAJORITY)
    vote = MotionVote("b", (Motion("m", "", Matter.OTHER_MAJOR),), policy)
    marks = [{"m": "agree"}] * 3 + [{"m": "disagree"}] * 2
    result = tally_motions(electorate, casts_for(electorate, marks, vote), vote)
    motion = result.motions[0]
    assert result.quorum_met
    assert motion.non_voters.headcount == 7
    assert motion.agree.headcount == 10
    assert motion.adopted
    assert result.participating.headcount == 12
    assert result.voted.headcount == 5
    assert result.invariant_holds()
    assert "counted as taking part" in result.to_json()["policy_statement"]


def test_two_ballots_for_one_voter_or_an_unknown_voter_are_refused():
    electorate = households(3)
    vote = MotionVote("b", (Motion("m", "", Matter.OTHER_MAJOR),))
    ballot = MotionBallot({"m": Choice.AGREE})
    with pytest.raises(DuplicateBallotError, match="record 2"):
        tally_motions(electorate, [Cast("h000", ballot, 1), Cast("h000", ballot, 2)], vote)
    with pytest.raises(UnknownVoterError):
        tally_motions(electorate, [Cast("h999", ballot, 1)], vote)


MARKS = st.sampled_from(["agree", "disagree", "abstain", "spoilt", "unmarked"])


@given(
    st.lists(
        st.decimals(min_value=Decimal("10.00"), max_value=Decimal("300.00"), places=2),
        min_size=1,
        max_size=40,
    ),
    st.data(),
    st.sampled_from(list(NonVoterPolicy)),
    st.booleans(),
)
def test_tally_invariants_hold_for_any_electorate_and_ballots(areas, data, non_voters, box):
    electorate = Electorate([Unit(f"u{i}", a, (f"o{i % 29}",)) for i, a in enumerate(areas)])
    vote = MotionVote(
        "b",
        (Motion("m1", "", Matter.OTHER_MAJOR), Motion("m2", "", Matter.RAISE_FUND)),
        VotingPolicy(non_voters, follow_majority_box=box),
    )
    voters = data.draw(st.lists(st.sampled_from(electorate.voters), unique=True))
    casts = []
    for voter in voters:
        if data.draw(st.integers(0, 9)) == 0:
            casts.append(Cast(voter.voter_id, VoidBallot(VoidReason.UNREADABLE)))
            continue
        marks = {m: data.draw(MARKS) for m in ("m1", "m2")}
        choices = {m: ("bad" if v == "spoilt" else v) for m, v in marks.items() if v != "unmarked"}
        plaintext = encode_motion_ballot(choices, follow_majority=box and data.draw(st.booleans()))
        casts.append(Cast(voter.voter_id, read_motion_ballot(plaintext, vote)))
    result = tally_motions(electorate, casts, vote)
    assert result.invariant_holds()
    assert result.counts.ballots == len(casts)
    for motion in result.motions:
        assert motion.participating.headcount <= electorate.headcount
        assert motion.adopted == (result.quorum_met and all(t.met for t in motion.thresholds))
    shuffled = casts[:]
    random.Random(len(casts)).shuffle(shuffled)
    again = tally_motions(electorate, shuffled, vote)
    assert [m.to_json() for m in again.motions] == [m.to_json() for m in result.motions]
