"""The validity rules of a committee election at their boundaries: N, N+1 and zero
selections; ballots equal to and one more than the voters; the last seat tied; a candidate
ranked into a seat but under the threshold; a paper form entered as unreadable."""

from __future__ import annotations

import pytest
from test_committee_tally import ELECTION, electorate_of, run

from elections.ballots import (
    CandidateBallot,
    VoidBallot,
    VoidReason,
    encode_candidate_ballot,
    read_candidate_ballot,
)
from elections.canonical import canonical_json
from elections.tally import Cast, Outcome, tally_candidates

SEATS = ELECTION.seats
IDS = [c.candidate_id for c in ELECTION.candidates]


@pytest.mark.parametrize(("count", "valid"), [(0, True), (SEATS, True), (SEATS + 1, False)])
def test_zero_and_exactly_n_selections_are_valid_and_n_plus_one_is_void(count, valid):
    ballot = read_candidate_ballot(encode_candidate_ballot(IDS[:count]), ELECTION)
    assert isinstance(ballot, CandidateBallot) is valid
    if not valid:
        assert ballot.reason is VoidReason.OVER_SELECTION


def test_ballots_equal_to_the_voters_keep_the_round_and_one_more_voids_it():
    ballots = [IDS[:5]] * 9
    kept = run(ballots, voters_taking_part=9)
    assert kept.void_round is None
    assert kept.elected == tuple(IDS[:5])
    void = run(ballots, voters_taking_part=8)
    assert void.void_round == "more ballots (9) than voters (8)"
    assert void.elected == ()
    assert all(c.outcome is Outcome.NOT_ELECTED for c in void.candidates)


def test_a_three_way_tie_across_the_last_two_seats_sends_all_three_to_the_run_off():
    top = ["c1", "c2", "c3"]
    ballots = ([[*top, "c4", "c5"]] * 3 + [[*top, "c4", "c6"]] * 3 + [[*top, "c5", "c6"]] * 3
               + [[*top, "c7"]])
    result = run(ballots)
    votes = {c.candidate_id: c.votes.headcount for c in result.candidates}
    assert (votes["c4"], votes["c5"], votes["c6"], votes["c7"]) == (6, 6, 6, 1)
    assert result.elected == ("c1", "c2", "c3")
    assert result.runoff == ("c4", "c5", "c6")
    assert result.runoff_seats == 2
    assert result.unfilled_seats == 0
    assert result.alternates == ()


def test_a_candidate_ranked_into_a_seat_but_under_the_threshold_is_not_elected():
    ballots = [IDS[:4]] * 6 + [IDS[:5]] * 4  # c5 ranks fifth with 4 of 10
    result = run(ballots)
    fifth = next(c for c in result.candidates if c.candidate_id == "c5")
    assert fifth.rank == 5
    assert not fifth.reached_threshold
    assert fifth.outcome is Outcome.NOT_ELECTED
    assert result.elected == tuple(IDS[:4])
    assert result.unfilled_seats == 1
    assert result.runoff == ()


def test_a_paper_form_entered_as_unreadable_is_a_void_ballot_that_still_takes_part():
    unreadable = canonical_json({"v": 1, "kind": "candidate", "unreadable": True})
    ballot = read_candidate_ballot(unreadable, ELECTION)
    assert isinstance(ballot, VoidBallot)
    assert ballot.reason is VoidReason.UNREADABLE
    electorate = electorate_of(10)
    casts = [Cast(v.voter_id, read_candidate_ballot(encode_candidate_ballot(IDS[:5]),
                                                    ELECTION), i)
             for i, v in enumerate(electorate.voters[:9], start=1)]
    casts.append(Cast(electorate.voters[9].voter_id, ballot, 10))
    result = tally_candidates(electorate, casts, ELECTION)
    assert result.counts.void == 1
    assert result.participating.headcount == 10
    assert result.elected == tuple(IDS[:5])


def test_the_signed_in_voters_go_into_the_result_record_only_when_counted_against():
    from elections.credentials import CredentialList, CredentialMode
    from elections.result import result_record

    result = run([IDS[:5]] * 9, voters_taking_part=8)
    empty = CredentialList("e", CredentialMode.SITE_ISSUED, ())
    record = result_record(definition=ELECTION, result=result, credentials=empty,
                           board_count=9, board_hash="00", scrutineers=["s1"],
                           voters_taking_part=8)
    assert record["board"]["voters_taking_part"] == 8
    assert record["result"]["void_round"] == "more ballots (9) than voters (8)"
    plain = result_record(definition=ELECTION, result=run([IDS[:5]] * 9), credentials=empty,
                          board_count=9, board_hash="00", scrutineers=["s1"])
    assert "voters_taking_part" not in plain["board"]
