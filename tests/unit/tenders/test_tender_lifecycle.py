"""Bids until the deadline, the panel and its recusals, and the score sheets."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from tenders import (
    BidAction,
    BidError,
    BidEvent,
    ConflictDeclaration,
    InvalidSheetError,
    LateBidError,
    PanelMember,
    PanelNotReadyError,
    ScoreSheet,
    blockers_before_opening_sheets,
    close_bidding,
    panel_status,
    record_bid_event,
    sheet_problems,
    validate_sheet,
)

# -- bids -----------------------------------------------------------------------------------------


def submit(bidder, at, envelope="env"):
    return BidEvent(bidder, BidAction.SUBMIT, at, f"{envelope}-{bidder}")


def log_of(rules, *events):
    log: tuple[BidEvent, ...] = ()
    for event in events:
        log = record_bid_event(rules, log, event)
    return log


@pytest.mark.parametrize("late_by", [timedelta(0), timedelta(seconds=1), timedelta(days=2)])
def test_a_bid_at_or_after_the_deadline_is_refused(make_rules, deadline, late_by):
    with pytest.raises(LateBidError, match="late bid from C1 refused"):
        record_bid_event(make_rules(), (), submit("C1", deadline + late_by))


def test_a_bid_a_second_before_the_deadline_is_taken(make_rules, deadline):
    log = record_bid_event(make_rules(), (), submit("C1", deadline - timedelta(seconds=1)))
    assert len(log) == 1


def test_withdraw_and_resubmit_before_the_deadline_the_last_counts(make_rules, deadline):
    rules = make_rules(minimum_bidders=3)
    t = deadline - timedelta(days=1)
    log = log_of(
        rules,
        submit("C1", t, "first"),
        submit("C2", t + timedelta(minutes=1)),
        BidEvent("C1", BidAction.WITHDRAW, t + timedelta(minutes=2)),
        submit("C3", t + timedelta(minutes=3)),
        submit("C1", t + timedelta(minutes=4), "second"),
        submit("C2", t + timedelta(minutes=5), "again"),
    )
    outcome = close_bidding(rules, log, deadline)
    assert not outcome.failed
    assert [(e.bidder_id, e.sealed_bid) for e in outcome.counted] == [
        ("C3", "env-C3"), ("C1", "second-C1"), ("C2", "again-C2"),
    ]


def test_a_withdrawn_bid_does_not_count(make_rules, deadline):
    rules = make_rules(minimum_bidders=3)
    t = deadline - timedelta(hours=5)
    log = log_of(
        rules, submit("C1", t), submit("C2", t), submit("C3", t),
        BidEvent("C3", BidAction.WITHDRAW, t + timedelta(hours=1)),
    )
    outcome = close_bidding(rules, log, deadline + timedelta(minutes=1))
    assert outcome.failed
    assert "2 bids at the deadline" in (outcome.failure_reason or "")


def test_a_late_withdrawal_is_refused(make_rules, deadline):
    rules = make_rules()
    log = log_of(rules, submit("C1", deadline - timedelta(hours=1)))
    with pytest.raises(LateBidError, match="late withdrawal"):
        record_bid_event(rules, log, BidEvent("C1", BidAction.WITHDRAW, deadline))


def test_nothing_to_withdraw_and_unsealed_submissions_are_refused(make_rules, deadline):
    rules = make_rules()
    t = deadline - timedelta(hours=1)
    with pytest.raises(BidError, match="no standing bid"):
        record_bid_event(rules, (), BidEvent("C1", BidAction.WITHDRAW, t))
    with pytest.raises(BidError, match="needs its sealed bid"):
        record_bid_event(rules, (), BidEvent("C1", BidAction.SUBMIT, t))
    log = log_of(rules, submit("C1", t))
    with pytest.raises(BidError, match="time order"):
        record_bid_event(rules, log, submit("C2", t - timedelta(minutes=1)))


def test_bids_are_not_counted_before_the_deadline(make_rules, deadline):
    with pytest.raises(BidError, match="open until"):
        close_bidding(make_rules(), (), deadline - timedelta(seconds=1))


@pytest.mark.parametrize(("bidders", "failed"), [(5, False), (4, True)])
def test_the_minimum_bidder_count_at_the_deadline(make_rules, deadline, bidders, failed):
    """Exactly the minimum (5) passes; one fewer fails, with the reason."""
    rules = make_rules()
    t = deadline - timedelta(days=1)
    log = log_of(rules, *(submit(f"C{i}", t + timedelta(minutes=i)) for i in range(bidders)))
    outcome = close_bidding(rules, log, deadline)
    assert outcome.failed is failed
    assert len(outcome.counted) == bidders
    if failed:
        assert outcome.failure_reason == (
            "the tender failed: 4 bids at the deadline, but the tender file requires at least 5; "
            "the tender must be held again"
        )


# -- the panel ------------------------------------------------------------------------------------

MEMBERS = [PanelMember(f"M{i}") for i in range(1, 8)]
BIDDERS = ["C1", "C2", "C3", "C4", "C5"]


def clean(*member_ids):
    return [ConflictDeclaration(m) for m in member_ids]


def test_a_full_panel_without_conflicts_is_ready(make_rules):
    status = panel_status(make_rules(), MEMBERS, clean(*(m.member_id for m in MEMBERS)), BIDDERS)
    assert status.ready
    assert status.active == tuple(f"M{i}" for i in range(1, 8))
    status.require_ready()


def test_recusal_leaving_an_even_panel_blocks_and_says_appoint_a_substitute(make_rules):
    rules = make_rules()
    declarations = [*clean("M1", "M2", "M3", "M4", "M5", "M6"),
                    ConflictDeclaration("M7", frozenset({"C2", "X9"}))]
    status = panel_status(rules, MEMBERS, declarations, BIDDERS)
    assert status.recused == {"M7": ("C2",)}
    assert len(status.active) == 6
    assert [b.code for b in status.blockers] == ["even_panel"]
    message = status.blockers[0].message
    assert "6 members after recusing M7" in message
    assert "odd number" in message
    assert "appoint a substitute" in message
    with pytest.raises(PanelNotReadyError, match="appoint a substitute"):
        status.require_ready()

    substitute = PanelMember("M8", role="building representative")
    status = panel_status(rules, [*MEMBERS, substitute], [*declarations, *clean("M8")], BIDDERS)
    assert status.ready
    assert "M7" not in status.active
    assert "M8" in status.active


def test_a_conflict_with_a_company_that_did_not_bid_is_no_reason_to_recuse(make_rules):
    declarations = [*clean("M1", "M2", "M3", "M4", "M5", "M6"),
                    ConflictDeclaration("M7", frozenset({"X9"}))]
    assert panel_status(make_rules(), MEMBERS, declarations, BIDDERS).ready


def test_two_recusals_leave_five_where_the_tender_says_seven(make_rules):
    declarations = [*clean("M1", "M2", "M3", "M4", "M5"),
                    ConflictDeclaration("M6", frozenset({"C1"})),
                    ConflictDeclaration("M7", frozenset({"C5"}))]
    status = panel_status(make_rules(), MEMBERS, declarations, BIDDERS)
    assert [b.code for b in status.blockers] == ["panel_size"]
    assert "sets 7" in status.blockers[0].message


def test_a_panel_below_five_is_blocked(make_rules):
    members = MEMBERS[:3]
    status = panel_status(make_rules(panel_size=5), members, clean("M1", "M2", "M3"), BIDDERS)
    assert [b.code for b in status.blockers] == ["panel_too_small"]
    assert "appoint 2 substitute" in status.blockers[0].message


def test_a_member_who_has_not_declared_blocks_scoring(make_rules):
    status = panel_status(make_rules(), MEMBERS, clean("M1", "M2", "M3", "M4", "M5", "M6"), [])
    assert [b.code for b in status.blockers] == ["undeclared"]
    assert "M7" in status.blockers[0].message


def test_sheets_open_only_when_every_active_evaluator_has_submitted():
    blockers = blockers_before_opening_sheets(["E1", "E2", "E3"], ["E2"])
    assert [b.message for b in blockers] == [
        "evaluator E1 has not submitted a score sheet",
        "evaluator E3 has not submitted a score sheet",
    ]
    assert blockers_before_opening_sheets(["E1", "E2"], ["E2", "E1"]) == ()


# -- sheets ---------------------------------------------------------------------------------------


def test_a_complete_sheet_in_range_is_valid(make_rules):
    sheet = ScoreSheet("E1", {"B1": {"plan": Decimal(40), "staff": 0},
                              "B2": {"plan": "12.5", "staff": Decimal("29.99")}})
    assert validate_sheet(make_rules(), sheet, ["B1", "B2"]) is sheet


@pytest.mark.parametrize(
    ("scores", "problem"),
    [
        ({"B1": {"plan": Decimal("40.01"), "staff": 20}},
         "sheet of evaluator E1, bid B1, criterion 'plan': 40.01 is outside the range 0–40"),
        ({"B1": {"plan": 30, "staff": -1}},
         "sheet of evaluator E1, bid B1, criterion 'staff': -1 is outside the range 0–30"),
        ({"B1": {"plan": 30}}, "sheet of evaluator E1, bid B1: no score for criterion 'staff'"),
        ({"B1": {"plan": 30, "staff": 20, "price": 5}},
         "sheet of evaluator E1, bid B1: unknown criterion 'price'"),
        ({}, "sheet of evaluator E1 has no scores for bid B1"),
        ({"B1": {"plan": 30, "staff": 20}, "B9": {"plan": 1, "staff": 1}},
         "sheet of evaluator E1 scores unknown bid B9"),
        ({"B1": {"plan": Decimal("30.125"), "staff": 20}}, "30.125 has more than two decimals"),
        ({"B1": {"plan": 30.5, "staff": 20}}, "is a float"),
        ({"B1": {"plan": "thirty", "staff": 20}}, "is not a number"),
    ],
)
def test_invalid_sheets_are_refused_naming_the_place(make_rules, scores, problem):
    sheet = ScoreSheet("E1", scores)
    with pytest.raises(InvalidSheetError) as caught:
        validate_sheet(make_rules(), sheet, ["B1"])
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_every_problem_of_a_sheet_is_listed_at_once(make_rules):
    sheet = ScoreSheet("E3", {"B1": {"plan": 41}, "B3": {"plan": 1, "staff": 1}})
    problems = sheet_problems(make_rules(), sheet, ["B1", "B2"])
    assert problems == [
        "sheet of evaluator E3 scores unknown bid B3",
        "sheet of evaluator E3, bid B1, criterion 'plan': 41 is outside the range 0–40 of "
        "criterion 'plan' (服务方案)",
        "sheet of evaluator E3, bid B1: no score for criterion 'staff' (人员配置)",
        "sheet of evaluator E3 has no scores for bid B2",
    ]


def test_a_submitted_sheet_cannot_be_changed():
    given = {"B1": {"plan": Decimal(30), "staff": Decimal(20)}}
    sheet = ScoreSheet("E1", given)
    given["B1"]["plan"] = Decimal(0)
    given["B2"] = {}
    assert sheet.score("B1", "plan") == Decimal(30)
    assert set(sheet.scores) == {"B1"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        sheet.scores = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        sheet.scores["B1"]["plan"] = Decimal(40)  # type: ignore[index]
    with pytest.raises(TypeError):
        sheet.scores["B2"] = {}  # type: ignore[index]


def test_a_sheet_survives_a_round_trip_through_plain_data(deadline):
    sheet = ScoreSheet("E1", {"B1": {"plan": Decimal("30.50"), "staff": 2}}, deadline)
    again = ScoreSheet.from_json(sheet.to_json())
    assert again.to_json() == sheet.to_json()
    assert again.score("B1", "plan") == Decimal("30.50")
    assert again == ScoreSheet("E1", {"B1": {"plan": "30.5", "staff": 2}}, deadline)
