"""Are art. 278's quorum and thresholds applied exactly, at, under and over each bar?"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.rules import (
    ORDINARY_BAR,
    QUORUM_BAR,
    SPECIAL_BAR,
    Choice,
    Matter,
    NonVoterPolicy,
    VotingPolicy,
    Weight,
    adoption,
    adoption_bar,
    check,
    majority_choice,
    ordinary_approval,
    quorum,
)

CENT = Decimal("0.01")


def bar_cases(bar: Fraction):
    """(numerator, denominator) exactly at, one cent under and one cent over ``bar``."""
    # An awkward total area that the bar divides exactly: q × 1000.37 m².
    denominator = Decimal(bar.denominator) * Decimal("1000.37")
    at = denominator * bar.numerator / bar.denominator
    assert Fraction(at) / Fraction(denominator) == bar
    return {
        "at": (at, denominator),
        "under": (at - CENT, denominator),
        "over": (at + CENT, denominator),
    }


@pytest.mark.parametrize(
    ("matter", "bar", "inclusive"),
    [
        (Matter.RULES_OF_PROCEDURE, ORDINARY_BAR, False),
        (Matter.COMMITTEE, ORDINARY_BAR, False),
        (Matter.USE_FUND, ORDINARY_BAR, False),
        (Matter.RAISE_FUND, SPECIAL_BAR, True),
        (Matter.REBUILD, SPECIAL_BAR, True),
        (Matter.CHANGE_USE, SPECIAL_BAR, True),
        (Matter.OTHER_MAJOR, ORDINARY_BAR, False),
    ],
)
def test_each_matter_has_its_bar(matter, bar, inclusive):
    assert adoption_bar(matter) == (bar, inclusive)


@pytest.mark.parametrize(
    ("matter", "expected"),
    [
        # "more than half": exactly 1/2 fails, a cent more passes.
        (Matter.MANAGEMENT_STATUTE, {"at": False, "under": False, "over": True}),
        (Matter.USE_FUND, {"at": False, "under": False, "over": True}),
        # "at least 3/4": exactly 3/4 passes.
        (Matter.RAISE_FUND, {"at": True, "under": False, "over": True}),
    ],
)
def test_adoption_by_area_at_under_and_over_the_bar(matter, expected):
    bar, _ = adoption_bar(matter)
    for position, (agree_area, participating_area) in bar_cases(bar).items():
        area_check, _ = adoption(matter, Weight(100, agree_area), Weight(100, participating_area))
        assert area_check.met is expected[position], position
        assert area_check.bar == bar


@pytest.mark.parametrize("participants", [4, 12, 400, 1236])
def test_adoption_by_headcount_at_under_and_over_the_bar(participants):
    area = Weight(participants, Decimal("987.65"))
    half = participants // 2
    assert not adoption(Matter.OTHER_MAJOR, Weight(half, area.area), area)[1].met
    assert adoption(Matter.OTHER_MAJOR, Weight(half + 1, area.area), area)[1].met
    three_quarters = participants * 3 // 4
    assert adoption(Matter.REBUILD, Weight(three_quarters, area.area), area)[1].met
    assert not adoption(Matter.REBUILD, Weight(three_quarters - 1, area.area), area)[1].met


def test_quorum_is_at_least_two_thirds_of_area_and_of_headcount():
    cases = bar_cases(QUORUM_BAR)
    for position, expected in (("at", True), ("under", False), ("over", True)):
        taking_part, total = cases[position]
        area_check, head_check = quorum(Weight(200, taking_part), Weight(300, total))
        assert area_check.met is expected
        assert head_check.met  # 200/300 is exactly 2/3: "at least"
    assert not quorum(Weight(199, Decimal(3)), Weight(300, Decimal(3)))[1].met


def test_a_threshold_reports_figure_bar_and_comparison_exactly():
    threshold = check(
        "agree_area", Decimal("200.14"), Decimal("300.21"), QUORUM_BAR, inclusive=True
    )
    assert threshold.figure == Fraction(2, 3)
    assert threshold.met
    assert threshold.to_json() == {
        "name": "agree_area",
        "numerator": "200.14",
        "denominator": "300.21",
        "figure": "2/3",
        "bar": "2/3",
        "comparison": "≥",
        "met": True,
    }
    assert check("x", 1, 2, ORDINARY_BAR, inclusive=False).comparison == ">"


def test_nobody_taking_part_meets_no_threshold():
    threshold = check("agree_headcount", 0, 0, ORDINARY_BAR, inclusive=False)
    assert threshold.figure == 0
    assert not threshold.met


def test_a_figure_that_is_not_a_proportion_is_refused():
    with pytest.raises(ValueError, match="proportion"):
        check("x", 3, 2, ORDINARY_BAR, inclusive=False)


fractions = st.fractions(min_value=0, max_value=1)
cents = st.integers(min_value=1, max_value=10**9)


@given(cents, st.data(), st.sampled_from([ORDINARY_BAR, QUORUM_BAR, SPECIAL_BAR]), st.booleans())
def test_check_agrees_with_exact_rational_comparison(denominator_cents, data, bar, inclusive):
    numerator_cents = data.draw(st.integers(min_value=0, max_value=denominator_cents))
    numerator = Decimal(numerator_cents) / 100
    denominator = Decimal(denominator_cents) / 100
    figure = Fraction(numerator_cents, denominator_cents)
    result = check("x", numerator, denominator, bar, inclusive=inclusive)
    assert result.met is (figure >= bar if inclusive else figure > bar)
    assert result.figure == figure


def test_a_candidate_needs_more_than_half_of_both():
    participating = Weight(10, Decimal("1000"))
    assert all(t.met for t in ordinary_approval(Weight(6, Decimal("500.01")), participating))
    area, head = ordinary_approval(Weight(6, Decimal("500")), participating)
    assert head.met
    assert not area.met


@pytest.mark.parametrize(
    ("agree", "disagree", "side"),
    [
        (Weight(3, Decimal(300)), Weight(2, Decimal(200)), Choice.AGREE),
        (Weight(2, Decimal(200)), Weight(3, Decimal(300)), Choice.DISAGREE),
        (Weight(3, Decimal(200)), Weight(2, Decimal(300)), Choice.ABSTAIN),  # measures disagree
        (Weight(2, Decimal(200)), Weight(2, Decimal(200)), Choice.ABSTAIN),  # tie
    ],
)
def test_follow_the_majority_joins_a_side_only_when_both_measures_lead(agree, disagree, side):
    assert majority_choice(agree, disagree) is side


def test_the_policy_is_stated_in_words_and_survives_json():
    for policy in (
        VotingPolicy(),
        VotingPolicy(NonVoterPolicy.FOLLOW_MAJORITY, follow_majority_box=True),
    ):
        assert VotingPolicy.from_json(policy.to_json()) == policy
        assert "did not vote" in policy.statement()
    assert "not counted" in VotingPolicy().statement()
    assert "box" in VotingPolicy(follow_majority_box=True).statement()


# -- an extraordinary meeting requested by owners ---------------------------------------------


def test_a_fifth_of_the_owners_requires_an_extraordinary_meeting():
    from elections.rules import EXTRAORDINARY_REQUEST_BAR, extraordinary_request

    assert Fraction(1, 5) == EXTRAORDINARY_REQUEST_BAR
    assert extraordinary_request(48, 240).met  # exactly 20 %: "以上" includes the bar
    assert not extraordinary_request(47, 240).met
    assert extraordinary_request(49, 240).met
    assert not extraordinary_request(0, 0).met  # nobody in the register: nothing is required
    with pytest.raises(ValueError):
        extraordinary_request(5, 4)


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_the_request_bar_is_exactly_one_fifth(owners, data):
    from elections.rules import extraordinary_request

    supporters = data.draw(st.integers(min_value=0, max_value=owners))
    assert extraordinary_request(supporters, owners).met == (5 * supporters >= owners)
