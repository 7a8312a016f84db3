"""Does a committee election round rank, elect, tie, void and call up alternates correctly?"""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from elections.ballots import (
    Candidate,
    CandidateBallot,
    Election,
    VoidBallot,
    VoidReason,
    check_candidate_selection,
)
from elections.electorate import Electorate, Unit
from elections.tally import Cast, Outcome, tally_candidates

ELECTION = Election("e", 5, tuple(Candidate(f"c{i}", f"C{i}") for i in range(1, 8)))


def electorate_of(count: int) -> Electorate:
    return Electorate(
        [
            Unit(f"u{i:02d}", Decimal("80") + Decimal(i) * Decimal("0.13"), (f"o{i}",))
            for i in range(count)
        ]
    )


def run(selections: list[list[str] | None], *, voters: int = 10, **kwargs):
    electorate = electorate_of(voters)
    casts = []
    for voter, selected in zip(electorate.voters, selections, strict=False):
        ballot = (
            VoidBallot(VoidReason.UNREADABLE)
            if selected is None
            else check_candidate_selection(selected, ELECTION)
        )
        casts.append(Cast(voter.voter_id, ballot, len(casts) + 1))
    return tally_candidates(electorate, casts, ELECTION, **kwargs)


def test_seats_go_down_the_ranking_and_alternates_follow():
    everyone = ["c1", "c2", "c3", "c4", "c5", "c6"]
    omitted = ["c6"] * 4 + ["c5"] * 2 + ["c4", "c3", "c2"]  # each ballot leaves one out
    result = run([[c for c in everyone if c != gone] for gone in omitted])
    assert result.void_round is None
    assert result.elected == ("c1", "c2", "c3", "c4", "c5")
    assert result.alternates == ("c6",)
    assert [c.rank for c in result.candidates] == [1, 2, 2, 2, 5, 6, 7]
    votes = {c.candidate_id: c.votes.headcount for c in result.candidates}
    assert votes == {"c1": 9, "c2": 8, "c3": 8, "c4": 8, "c5": 7, "c6": 5, "c7": 0}
    c6 = next(c for c in result.candidates if c.candidate_id == "c6")
    assert c6.reached_threshold  # 5 of 9 heads, and the five larger units
    assert result.candidates[-1].outcome is Outcome.NOT_ELECTED
    assert result.counts.to_json() == {"ballots": 9, "valid": 9, "void": 0, "blank": 0}
    assert result.invariant_holds()


def test_a_blank_ballot_is_valid_and_counts_for_participation():
    everyone = ["c1", "c2", "c3", "c4", "c5", "c6"]
    omitted = ["c6"] * 4 + ["c5"] * 2 + ["c4", "c3", "c2"]
    result = run([[c for c in everyone if c != gone] for gone in omitted] + [[]])
    assert result.counts.blank == 1
    assert result.participating.headcount == 10
    assert result.alternates == ()  # 5 of 10 is no longer more than half


def test_a_tie_across_the_last_seat_needs_a_run_off():
    ballots = (
        [["c1", "c2", "c3", "c5", "c6"]] * 3
        + [["c1", "c2", "c3", "c4", "c5"]] * 2
        + [["c1", "c2", "c3", "c4", "c6"]] * 2
        + [["c1", "c2", "c3", "c4", "c7"]] * 2
    )
    # c5 and c6: 5 votes of 9 each, for the last seat.
    result = run(ballots)
    assert result.elected == ("c1", "c2", "c3", "c4")
    assert result.runoff == ("c5", "c6")
    assert result.runoff_seats == 1
    assert result.unfilled_seats == 0
    assert result.alternates == ()


def test_a_tie_inside_the_seats_elects_all_the_tied():
    ballots = [["c1", "c2", "c3", "c4", "c5"]] * 10
    result = run(ballots)
    assert result.elected == ("c1", "c2", "c3", "c4", "c5")
    assert {c.rank for c in result.candidates if c.outcome is Outcome.ELECTED} == {1}


def test_candidates_below_the_threshold_leave_seats_for_a_new_round():
    ballots = [["c1", "c2", "c3"]] * 6 + [["c4", "c5"]] * 4
    result = run(ballots)
    assert result.elected == ("c1", "c2", "c3")
    assert result.unfilled_seats == 2
    not_elected = {c.candidate_id for c in result.candidates if c.outcome is Outcome.NOT_ELECTED}
    assert {"c4", "c5"} <= not_elected


def test_exactly_half_is_not_enough():
    ballots = [["c1"]] * 5 + [["c2"]] * 5
    result = run(ballots)
    assert result.elected == ()
    assert result.unfilled_seats == 5


def test_over_selection_is_void_but_counts_for_participation():
    ballots = [["c1", "c2", "c3", "c4", "c5", "c6"]] + [["c1"]] * 8
    result = run(ballots)
    assert result.counts.void == 1
    assert result.participating.headcount == 9
    assert result.voids[0].reason is VoidReason.OVER_SELECTION
    assert result.elected == ("c1",)


def test_more_ballots_than_voters_voids_the_round():
    result = run([["c1"]] * 9, voters_taking_part=8)
    assert result.void_round == "more ballots (9) than voters (8)"
    assert result.elected == ()
    assert result.unfilled_seats == 5
    electorate = electorate_of(10)
    ballot = CandidateBallot(frozenset({"c1"}))
    casts = [Cast(v.voter_id, ballot) for v in electorate.voters[:8]]
    casts.append(Cast(electorate.voters[0].voter_id, ballot))  # one voter twice
    twice = tally_candidates(electorate, casts, ELECTION)
    assert twice.void_round is not None
    assert twice.elected == ()
    assert twice.invariant_holds()


def test_a_round_without_quorum_elects_nobody():
    result = run([["c1"]] * 6)  # 6 of 10 < 2/3
    assert result.void_round == "participation quorum not reached"
    assert result.elected == ()


@given(st.integers(min_value=3, max_value=30), st.data())
def test_election_invariants_hold_for_any_ballots(voters, data):
    electorate = electorate_of(voters)
    ids = [c.candidate_id for c in ELECTION.candidates]
    who = data.draw(st.lists(st.sampled_from(electorate.voters), unique=True))
    casts = []
    for voter in who:
        selected = data.draw(st.lists(st.sampled_from(ids), max_size=7))
        casts.append(Cast(voter.voter_id, check_candidate_selection(selected, ELECTION)))
    result = tally_candidates(electorate, casts, ELECTION)
    assert result.invariant_holds()
    assert result.counts.ballots == len(casts)
    if result.void_round is None:
        assert len(result.elected) + result.runoff_seats + result.unfilled_seats == 5
        floor = min(
            (c.votes.headcount for c in result.candidates if c.candidate_id in result.elected),
            default=None,
        )
        for tally in result.candidates:
            if tally.outcome in (Outcome.ELECTED, Outcome.RUNOFF, Outcome.ALTERNATE):
                assert tally.reached_threshold
            if tally.outcome is Outcome.ALTERNATE and floor is not None:
                assert tally.votes.headcount < floor
        assert len(result.runoff) != 1
    else:
        assert result.elected == ()
    shuffled = casts[:]
    random.Random(voters).shuffle(shuffled)
    again = tally_candidates(electorate, shuffled, ELECTION).to_json()
    mine = result.to_json()
    assert sorted(map(repr, again.pop("voids"))) == sorted(map(repr, mine.pop("voids")))
    assert again == mine
