"""Properties of the steps before the numbers, over many generated cases: recusal and the odd
panel, the minimum number of bidders, and the bid log where the last submission counts."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from tenders import (
    BidAction,
    BidEvent,
    ConflictDeclaration,
    PanelMember,
    close_bidding,
    panel_status,
    record_bid_event,
    standing_bids,
    too_few_bids,
)

BIDDERS = [f"B{i}" for i in range(1, 9)]


@given(size=st.sampled_from([5, 7, 9]), members=st.integers(3, 11),
       conflicts=st.lists(st.sets(st.sampled_from([*BIDDERS, "X1"]), max_size=2), max_size=11),
       bidders=st.sets(st.sampled_from(BIDDERS), min_size=1))
def test_scoring_starts_only_with_an_odd_panel_of_the_tender_size_without_conflicts(
        make_rules, size, members, conflicts, bidders):
    """Whatever is declared, the active members are exactly those without a conflict with a
    bidder of this tender, and the panel is ready only when that number is odd, at least
    five and the tender's size."""
    rules = make_rules(panel_size=size)
    panel = [PanelMember(f"E{i}") for i in range(members)]
    declared = [ConflictDeclaration(f"E{i}", frozenset(conflicts[i] if i < len(conflicts)
                                                       else ())) for i in range(members)]
    status = panel_status(rules, panel, declared, bidders)
    expected = [f"E{i}" for i in range(members)
                if not (conflicts[i] if i < len(conflicts) else set()) & bidders]
    assert list(status.active) == expected
    assert set(status.recused) == {f"E{i}" for i in range(members)} - set(expected)
    count = len(expected)
    assert status.ready == (count % 2 == 1 and count >= 5 and count == size)
    if count % 2 == 0:
        assert [b.code for b in status.blockers] == ["even_panel"]


@given(minimum=st.integers(3, 12), count=st.integers(0, 20))
def test_the_minimum_number_of_bidders_is_a_floor_that_exactly_passes(make_rules, minimum,
                                                                      count):
    rules = make_rules(minimum_bidders=minimum)
    reason = too_few_bids(rules, count)
    assert (reason is None) == (count >= minimum)
    if reason:
        assert f"{count} bids" in reason
        assert f"at least {minimum}" in reason


actions = st.lists(st.tuples(st.sampled_from(BIDDERS[:4]), st.booleans()), max_size=25)


@given(actions=actions)
def test_the_last_submission_of_each_bidder_counts_unless_withdrawn_after(
        make_rules, deadline, actions):
    rules = make_rules(minimum_bidders=3)
    log: tuple[BidEvent, ...] = ()
    expected: dict[str, str] = {}
    at = deadline - timedelta(days=10)
    for n, (bidder, withdraw) in enumerate(actions):
        at += timedelta(minutes=1)
        if withdraw:
            if bidder not in expected:
                continue  # nothing standing: refused, and tested elsewhere
            log = record_bid_event(rules, log, BidEvent(bidder, BidAction.WITHDRAW, at))
            del expected[bidder]
        else:
            log = record_bid_event(rules, log, BidEvent(bidder, BidAction.SUBMIT, at, f"s{n}"))
            expected[bidder] = f"s{n}"
    assert {b: e.sealed_bid for b, e in standing_bids(log).items()} == expected
    outcome = close_bidding(rules, log, deadline)
    assert sorted(e.sealed_bid for e in outcome.counted) == sorted(expected.values())
    assert (outcome.failure_reason is None) == (len(expected) >= 3)
