"""Which ballots are valid, void or blank — decided once, here?"""

from __future__ import annotations

import pytest

from elections.ballots import (
    Candidate,
    CandidateBallot,
    Election,
    Motion,
    MotionBallot,
    MotionVote,
    VoidBallot,
    VoidReason,
    check_candidate_selection,
    definition_from_json,
    encode_candidate_ballot,
    encode_motion_ballot,
    read_ballot,
    read_candidate_ballot,
    read_motion_ballot,
)
from elections.canonical import canonical_json
from elections.errors import DefinitionError
from elections.rules import Choice, Matter, VotingPolicy

VOTE = MotionVote(
    "box",
    (Motion("m1", "Statute", Matter.MANAGEMENT_STATUTE), Motion("m2", "Lift", Matter.REBUILD)),
)
VOTE_WITH_BOX = MotionVote(VOTE.box_id, VOTE.motions, VotingPolicy(follow_majority_box=True))
ELECTION = Election("e", 5, tuple(Candidate(f"c{i}", f"C{i}") for i in range(1, 8)))


def test_a_fully_marked_motion_ballot_is_valid():
    ballot = read_motion_ballot(encode_motion_ballot({"m1": "agree", "m2": "disagree"}), VOTE)
    assert ballot == MotionBallot({"m1": Choice.AGREE, "m2": Choice.DISAGREE})


def test_an_unmarked_motion_is_not_a_void():
    ballot = read_motion_ballot(encode_motion_ballot({"m1": "abstain"}), VOTE)
    assert isinstance(ballot, MotionBallot)
    assert "m2" not in ballot.choices
    assert not ballot.spoilt


def test_a_mark_that_is_no_choice_spoils_that_motion_only():
    ballot = read_motion_ballot(encode_motion_ballot({"m1": "agree", "m2": "yes!"}), VOTE)
    assert isinstance(ballot, MotionBallot)
    assert ballot.choices == {"m1": Choice.AGREE}
    assert ballot.spoilt == {"m2"}


@pytest.mark.parametrize(
    ("plaintext", "reason"),
    [
        (b"\xff\xfe", VoidReason.UNREADABLE),
        (b"[1, 2]", VoidReason.UNREADABLE),
        (
            b'{"v": 2, "kind": "motion", "choices": {}, "follow_majority": false}',
            VoidReason.UNREADABLE,
        ),
        (encode_candidate_ballot(["c1"]), VoidReason.WRONG_KIND),
        (encode_motion_ballot({"m3": "agree"}), VoidReason.UNKNOWN_MOTION),
        (encode_motion_ballot({"m1": "agree"}, follow_majority=True), VoidReason.BOX_NOT_OFFERED),
        (
            canonical_json(
                {"v": 1, "kind": "motion", "choices": {}, "follow_majority": False, "note": "x"}
            ),
            VoidReason.UNREADABLE,
        ),
        (
            canonical_json({"v": 1, "kind": "motion", "choices": [], "follow_majority": False}),
            VoidReason.UNREADABLE,
        ),
        (
            canonical_json({"v": 1, "kind": "motion", "choices": {}, "follow_majority": 1}),
            VoidReason.UNREADABLE,
        ),
    ],
)
def test_void_motion_ballots(plaintext, reason):
    ballot = read_motion_ballot(plaintext, VOTE)
    assert isinstance(ballot, VoidBallot)
    assert ballot.reason is reason


def test_the_follow_the_majority_box_is_valid_where_the_ballot_offers_it():
    ballot = read_motion_ballot(encode_motion_ballot({}, follow_majority=True), VOTE_WITH_BOX)
    assert isinstance(ballot, MotionBallot)
    assert ballot.follow_majority


@pytest.mark.parametrize("selected", [[], ["c1"], ["c1", "c2", "c3", "c4", "c5"]])
def test_selecting_at_most_as_many_as_seats_is_valid_and_none_is_blank(selected):
    ballot = read_candidate_ballot(encode_candidate_ballot(selected), ELECTION)
    assert isinstance(ballot, CandidateBallot)
    assert ballot.selected == frozenset(selected)
    assert ballot.blank is (not selected)


@pytest.mark.parametrize(
    ("selected", "reason"),
    [
        (["c1", "c2", "c3", "c4", "c5", "c6"], VoidReason.OVER_SELECTION),
        (["c1", "c99"], VoidReason.UNKNOWN_CANDIDATE),
        (["c1", "c1"], VoidReason.DUPLICATE_SELECTION),
    ],
)
def test_void_candidate_selections(selected, reason):
    ballot = check_candidate_selection(selected, ELECTION)
    assert isinstance(ballot, VoidBallot)
    assert ballot.reason is reason


@pytest.mark.parametrize(
    "data",
    [
        {"v": 1, "kind": "candidate", "selected": "c1"},
        {"v": 1, "kind": "candidate", "selected": [1, 2]},
        {"v": 1, "kind": "candidate", "selected": [], "extra": True},
    ],
)
def test_malformed_candidate_ballots_are_void(data):
    assert isinstance(read_candidate_ballot(canonical_json(data), ELECTION), VoidBallot)


def test_read_ballot_follows_the_definition_kind():
    assert isinstance(read_ballot(encode_candidate_ballot(["c2"]), ELECTION), CandidateBallot)
    assert isinstance(read_ballot(encode_motion_ballot({"m1": "agree"}), VOTE), MotionBallot)


def test_ballot_plaintext_is_canonical_whatever_the_order_given():
    assert encode_candidate_ballot(["c3", "c1"]) == encode_candidate_ballot(["c1", "c3"])
    assert encode_motion_ballot({"b": "agree", "a": "abstain"}) == (
        b'{"choices":{"a":"abstain","b":"agree"},"follow_majority":false,"kind":"motion","v":1}'
    )


@pytest.mark.parametrize(
    ("seats", "candidates", "first_round"),
    [(4, 7, True), (3, 7, True), (5, 5, True), (1, 1, False), (0, 2, False)],
)
def test_elections_against_the_rules_are_refused(seats, candidates, first_round):
    with pytest.raises(DefinitionError):
        Election(
            "e",
            seats,
            tuple(Candidate(f"c{i}", "") for i in range(candidates)),
            first_round=first_round,
        )


def test_a_run_off_may_have_one_seat_among_the_tied():
    Election("e2", 1, (Candidate("c1", ""), Candidate("c2", "")), first_round=False)


def test_definitions_survive_json_and_bad_ones_are_domain_errors():
    assert definition_from_json(VOTE_WITH_BOX.to_json()) == VOTE_WITH_BOX
    assert definition_from_json(ELECTION.to_json()) == ELECTION
    with pytest.raises(DefinitionError):
        definition_from_json({"kind": "tender"})
    with pytest.raises(DefinitionError):
        definition_from_json({"kind": "motion", "box": "b", "motions": [{"motion": "m"}]})
    with pytest.raises(DefinitionError):
        MotionVote("b", ())
    with pytest.raises(DefinitionError):
        MotionVote("b", (Motion("m", "", Matter.OTHER_MAJOR),) * 2)
