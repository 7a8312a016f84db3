"""Trimmed means, rounding and both price formulas, with exact decimals."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenders import PriceFormula, PriceFormulaKind, price_benchmark, price_score, round_half_up
from tenders.scoring import Entry, criterion_average, trim, trimmed_mean

D = Decimal

# -- rounding -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "quantum", "expected"),
    [
        (D("0.005"), D("0.01"), "0.01"),
        (D("0.00499999"), D("0.01"), "0.00"),
        (D("0.625"), D("0.01"), "0.63"),  # half up, not banker's 0.62
        (D("-0.625"), D("0.01"), "-0.63"),  # ties away from zero
        (D("-0.001"), D("0.01"), "0.00"),  # no negative zero
        (Fraction(1, 3), D("0.01"), "0.33"),
        (Fraction(2, 3), D("0.0001"), "0.6667"),
        (D("12345678901234567890123456789.125"), D("0.01"), "12345678901234567890123456789.13"),
        (40, D("0.01"), "40.00"),
    ],
)
def test_round_half_up_is_exact(value, quantum, expected):
    assert str(round_half_up(value, quantum)) == expected


def test_rounding_needs_a_power_of_ten():
    with pytest.raises(ValueError, match="power of ten"):
        round_half_up(D(1), D("0.05"))


# -- trimmed means --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        (["8", "9", "7", "10", "6"], "8.00"),  # drop 10 and 6: 24 / 3
        (["7", "8", "8", "9", "10"], "8.33"),  # drop 7 and 10: 25 / 3 = 8.333…
        (["9", "9", "9", "7", "7"], "8.33"),  # one 9 and one 7 dropped: 25 / 3
        (["8.5", "9", "7.25", "9.75", "6", "8"], "8.19"),  # 32.75 / 4 = 8.1875
        (["0.01", "0.02", "0.02", "0.02", "0.03", "0.03", "0.04"], "0.02"),  # 0.12 / 5 = 0.024
        (["33.33", "33.34", "33.34", "33.35", "40"], "33.34"),  # 100.03 / 3 = 33.343…
    ],
)
def test_trimmed_mean_hand_checked(scores, expected):
    assert str(trimmed_mean([D(s) for s in scores])) == expected


def test_without_dropping_the_plain_mean_is_taken():
    assert trimmed_mean([D(10), D(0), D(5)], drop=False) == D("5.00")
    assert trimmed_mean([D(10), D(0), D(5)]) == D("5.00")


def test_dropping_needs_three_values():
    with pytest.raises(ValueError, match="at least three"):
        trim([Entry("E1", D(1)), Entry("E2", D(2))], drop=True)
    with pytest.raises(ValueError, match="nothing to average"):
        trim([], drop=False)


def test_equal_extremes_drop_exactly_one_each_named_by_evaluator(make_rules):
    scores = [Entry(e, D(s)) for e, s in
              [("E3", "9"), ("E1", "9"), ("E2", "7"), ("E5", "7"), ("E4", "8")]]
    result = criterion_average(make_rules(), "plan", scores)
    assert result.trim.dropped_low == Entry("E2", D(7))  # first of the lowest by evaluator id
    assert result.trim.dropped_high == Entry("E3", D(9))  # last of the highest by evaluator id
    assert [e.source for e in result.trim.kept] == ["E5", "E4", "E1"]
    assert result.trim.kept_sum == D(24)
    assert result.average == D("8.00")


@pytest.mark.parametrize(("evaluators", "dropped"), [(3, False), (4, False), (5, True), (7, True)])
def test_extremes_are_dropped_from_five_evaluators(make_rules, evaluators, dropped):
    scores = [Entry(f"E{i}", D(10 * i)) for i in range(evaluators)]
    trimmed = criterion_average(make_rules(), "plan", scores).trim
    assert (trimmed.dropped_low is not None) is dropped
    assert (trimmed.dropped_high is not None) is dropped


def test_the_tender_can_turn_dropping_off(make_rules):
    scores = [Entry(f"E{i}", D(s)) for i, s in enumerate(["0", "30", "30", "30", "30"])]
    assert criterion_average(make_rules(), "plan", scores).average == D("30.00")
    kept_all = criterion_average(make_rules(drop_extremes=False), "plan", scores)
    assert kept_all.average == D("24.00")
    assert kept_all.trim.dropped_low is None


scores_2dp = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)


@given(st.lists(scores_2dp, min_size=3, max_size=15), st.booleans())
def test_trimmed_mean_lies_within_the_kept_scores(values, drop):
    trimmed = trim([Entry(f"E{i:02d}", v) for i, v in enumerate(values)], drop=drop)
    kept = [e.value for e in trimmed.kept]
    assert min(kept) <= trimmed.exact_mean <= max(kept)
    assert min(kept) <= trimmed_mean(values, drop=drop) <= max(kept)
    assert trimmed.exact_mean == Fraction(sum(kept, D(0))) / len(kept)


@given(st.lists(scores_2dp, min_size=3, max_size=15))
def test_dropping_is_symmetric(values):
    """One value from each end goes, and mirroring the values mirrors the mean."""
    trimmed = trim([Entry(f"E{i:02d}", v) for i, v in enumerate(values)], drop=True)
    assert len(trimmed.kept) == len(values) - 2
    assert trimmed.dropped_low is not None
    assert trimmed.dropped_high is not None
    assert trimmed.dropped_low.value == min(values)
    assert trimmed.dropped_high.value == max(values)
    mirrored = trim([Entry(f"E{i:02d}", -v) for i, v in enumerate(values)], drop=True)
    assert mirrored.exact_mean == -trimmed.exact_mean
    assert trimmed_mean([-v for v in values]) == -trimmed_mean(values)


@given(st.lists(scores_2dp, min_size=1, max_size=11), st.randoms(use_true_random=False))
def test_the_order_of_evaluators_does_not_matter(make_rules, values, rng):
    entries = [Entry(f"E{i:02d}", v) for i, v in enumerate(values)]
    shuffled = entries[:]
    rng.shuffle(shuffled)
    assert criterion_average(make_rules(), "plan", shuffled) == criterion_average(
        make_rules(), "plan", entries
    )


# -- price formulas -------------------------------------------------------------------------------

LOWEST = PriceFormula(PriceFormulaKind.LOWEST_PRICE)


def prices(*values):
    return [Entry(f"B{i}", D(v)) for i, v in enumerate(values, start=1)]


def test_lowest_price_benchmark_and_scores(make_rules):
    rules = make_rules()
    benchmark = price_benchmark(LOWEST, prices("100000", "80000", "125000", "90000"))
    assert benchmark.value == D(80000)
    assert benchmark.trim.dropped_low is None
    assert price_score(rules, benchmark.value, D(80000)).score == D("30.00")  # full weight
    assert price_score(rules, benchmark.value, D(100000)).score == D("24.00")
    assert price_score(rules, benchmark.value, D(125000)).score == D("19.20")
    assert price_score(rules, benchmark.value, D(90000)).score == D("26.67")  # 26.666…
    assert price_score(rules, D(1), D(48)).score == D("0.63")  # 0.625, half up
    assert price_score(rules, benchmark.value, D(90000)).deviation is None


@given(st.lists(st.decimals(min_value="0.01", max_value=10**7, places=2), min_size=1,
                max_size=12))
def test_lowest_price_gets_full_weight_and_no_score_leaves_zero_to_weight(make_rules, values):
    rules = make_rules()
    benchmark = price_benchmark(LOWEST, [Entry(f"B{i}", v) for i, v in enumerate(values)])
    assert benchmark.value == min(values)
    scores = {v: price_score(rules, benchmark.value, v).score for v in values}
    assert scores[min(values)] == rules.price_weight
    assert all(D(0) <= s <= rules.price_weight for s in scores.values())
    ordered = sorted(values)
    assert [scores[v] for v in ordered] == sorted((scores[v] for v in ordered), reverse=True)


def test_trimmed_benchmark_with_six_bids_is_the_plain_mean(trimmed_formula):
    """Six bids: nothing dropped; 700 / 6 = 116.666… → 116.6667 (four decimals)."""
    benchmark = price_benchmark(trimmed_formula, prices(90, 95, 100, 105, 110, 200))
    assert benchmark.value == D("116.6667")
    assert benchmark.trim.dropped_low is None
    assert benchmark.trim.dropped_high is None
    assert benchmark.trim.kept_sum == D(700)


def test_trimmed_benchmark_with_seven_bids_drops_highest_and_lowest(trimmed_formula):
    """Seven bids: 80 and 200 dropped; 500 / 5 = 100."""
    benchmark = price_benchmark(trimmed_formula, prices(80, 90, 95, 100, 105, 110, 200))
    assert benchmark.value == D("100.0000")
    assert benchmark.trim.dropped_low == Entry("B1", D(80))
    assert benchmark.trim.dropped_high == Entry("B7", D(200))


@pytest.mark.parametrize(
    ("bid", "deviation", "score"),
    [
        ("100", "0.0000", "30.00"),  # equal to the benchmark: full weight
        ("110", "0.1000", "24.00"),  # 30 × (1 − 2 × 0.1)
        ("90", "-0.1000", "27.00"),  # 30 × (1 − 1 × 0.1): below costs less than above
        ("80", "-0.2000", "24.00"),
        ("150", "0.5000", "0.00"),  # 30 × (1 − 2 × 0.5) = 0
        ("200", "1.0000", "0.00"),  # 30 × (1 − 2) floored at 0, never negative
        ("100.01", "0.0001", "29.99"),  # 30 × (1 − 0.0002) = 29.994
        ("99.99", "-0.0001", "30.00"),  # 30 × 0.9999 = 29.997
    ],
)
def test_trimmed_mean_price_scores(make_rules, trimmed_formula, bid, deviation, score):
    rules = make_rules(price_formula=trimmed_formula)
    result = price_score(rules, D(100), D(bid))
    assert str(result.deviation) == deviation
    assert str(result.score) == score


def test_trimmed_mean_price_score_against_an_inexact_benchmark(make_rules, trimmed_formula):
    """Benchmark 116.6667; bid 110: 30 × 1100000 / 1166667 = 28.2857… → 28.29."""
    rules = make_rules(price_formula=trimmed_formula)
    result = price_score(rules, D("116.6667"), D(110))
    assert Fraction(30) * Fraction(1100000, 1166667) == Fraction(33000000, 1166667)
    assert result.score == D("28.29")
    assert result.deviation == D("-0.0571")


@given(
    st.lists(st.decimals(min_value="0.01", max_value=10**6, places=2), min_size=3, max_size=12),
    st.decimals(min_value="0.01", max_value=10**7, places=2),
)
def test_trimmed_mean_price_score_is_never_negative_nor_above_weight(
    make_rules, trimmed_formula, values, bid
):
    rules = make_rules(price_formula=trimmed_formula)
    benchmark = price_benchmark(trimmed_formula, [Entry(f"B{i}", v) for i, v in enumerate(values)])
    assert min(values) <= benchmark.value <= max(values)
    assert D(0) <= price_score(rules, benchmark.value, bid).score <= rules.price_weight
    assert price_score(rules, benchmark.value, benchmark.value).score == rules.price_weight


@given(st.decimals(min_value="0.01", max_value="0.5", places=2))
def test_the_same_distance_above_costs_more_than_below(make_rules, trimmed_formula, distance):
    rules = make_rules(price_formula=trimmed_formula)
    above = price_score(rules, D(100), D(100) * (1 + distance)).score
    below = price_score(rules, D(100), D(100) * (1 - distance)).score
    assert above < below
