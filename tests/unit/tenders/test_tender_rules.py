"""Does the tender file refuse rules that cannot be applied, naming what is wrong?"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from decimal import Decimal

import pytest

from tenders import (
    Criterion,
    CriterionError,
    MinimumBiddersError,
    PanelSizeError,
    PriceFormula,
    PriceFormulaError,
    PriceFormulaKind,
    TenderRules,
    TenderRulesError,
    WeightsError,
    too_few_bids,
)


def test_a_valid_tender_keeps_the_defaults(make_rules):
    """Are the community's defaults 5 bidders, a panel of 7, dropping extremes, 3 shortlisted?"""
    rules = make_rules()
    assert rules.minimum_bidders == 5
    assert rules.panel_size == 7
    assert rules.drop_extremes is True
    assert rules.shortlist_size == 3
    assert rules.criterion("plan").max_score == Decimal(40)


def test_weights_must_add_up_to_100_and_the_message_lists_them(make_rules):
    with pytest.raises(WeightsError, match=r"99.*plan 40 \+ staff 29 \+ price 30"):
        make_rules(criteria=(Criterion("plan", "", Decimal(40)), Criterion("staff", "", 29)))


def test_a_criterion_whose_range_does_not_end_at_its_weight_is_named():
    expected = r"criterion 'plan' \(服务方案\).*maximum score \(20\)"
    with pytest.raises(CriterionError, match=expected):
        Criterion("plan", "服务方案", Decimal(40), max_score=Decimal(20))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": Decimal(0)}, "weight must be positive"),
        ({"weight": Decimal(10), "min_score": Decimal(10)}, "score range 10–10"),
        ({"weight": Decimal(10), "min_score": Decimal(-1)}, "score range -1–10"),
        ({"weight": Decimal("10.005")}, "at most two decimals"),
    ],
)
def test_ill_formed_criteria_are_refused_by_name(kwargs, message):
    with pytest.raises(CriterionError, match=message) as caught:
        Criterion("plan", "Service plan", **kwargs)
    assert "criterion 'plan'" in str(caught.value)


def test_a_float_weight_is_refused():
    """Binary floats cannot state a weight exactly."""
    with pytest.raises(CriterionError, match="float"):
        Criterion("plan", "", 40.0)  # type: ignore[arg-type]


def test_a_criterion_appearing_twice_is_named(make_rules):
    twice = (Criterion("plan", "", Decimal(35)), Criterion("plan", "", Decimal(35)))
    with pytest.raises(CriterionError, match="criterion 'plan' appears twice"):
        make_rules(criteria=twice)


def test_a_tender_needs_a_criterion(make_rules):
    with pytest.raises(CriterionError, match="at least one"):
        make_rules(criteria=(), price_weight=Decimal(100))


def test_a_criterion_minimum_above_zero_is_allowed():
    criterion = Criterion("plan", "", Decimal(40), min_score=Decimal(10))
    assert (criterion.min_score, criterion.max_score) == (Decimal(10), Decimal(40))


@pytest.mark.parametrize(("count", "ok"), [(2, False), (3, True), (5, True)])
def test_no_tender_asks_for_fewer_than_three_bidders(make_rules, count, ok):
    """Bidding Law art. 28: fewer than three bidders means tendering again."""
    if ok:
        assert make_rules(minimum_bidders=count).minimum_bidders == count
    else:
        with pytest.raises(MinimumBiddersError, match="fewer than 3 bidders"):
            make_rules(minimum_bidders=count)


@pytest.mark.parametrize("size", [3, 4, 6, 8])
def test_the_panel_is_odd_and_at_least_five(make_rules, size):
    with pytest.raises(PanelSizeError):
        make_rules(panel_size=size)


@pytest.mark.parametrize("size", [1, 4])
def test_the_shortlist_has_two_or_three_bids(make_rules, size):
    with pytest.raises(TenderRulesError, match="2 or 3"):
        make_rules(shortlist_size=size)


def test_the_deadline_must_carry_a_time_zone(make_rules):
    with pytest.raises(TenderRulesError, match="time zone"):
        make_rules(deadline=datetime(2025, 6, 30, 17, 0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((PriceFormulaKind.TRIMMED_MEAN, Decimal(1), Decimal(1)), "must be larger than n_below"),
        ((PriceFormulaKind.TRIMMED_MEAN, Decimal(1), Decimal(2)), "must be larger than n_below"),
        ((PriceFormulaKind.TRIMMED_MEAN, Decimal(2), None), "needs both factors"),
        ((PriceFormulaKind.TRIMMED_MEAN, Decimal(2), Decimal(0)), "n_below must be positive"),
        ((PriceFormulaKind.LOWEST_PRICE, Decimal(2), Decimal(1)), "takes no deviation"),
        (("median", None, None), "unknown price formula"),
    ],
)
def test_price_formulas_must_be_complete_and_penalise_high_bids_more(args, message):
    with pytest.raises(PriceFormulaError, match=message):
        PriceFormula(*args)


def test_rules_survive_a_round_trip_through_plain_data(make_rules, trimmed_formula):
    rules = make_rules(price_formula=trimmed_formula, drop_extremes=False, shortlist_size=2)
    again = TenderRules.from_json(rules.to_json())
    assert again == rules
    assert again.to_json() == rules.to_json()
    assert rules.to_json()["deadline"] == "2025-06-30T09:00:00+00:00"


def test_exactly_the_minimum_number_of_bids_passes_and_one_fewer_fails(make_rules):
    rules = make_rules()
    assert too_few_bids(rules, 5) is None
    reason = too_few_bids(rules, 4, what="bids at the deadline")
    assert reason is not None
    assert "4 bids at the deadline" in reason
    assert "at least 5" in reason


def test_the_package_imports_neither_flask_nor_sqlalchemy():
    """Can an auditor run the tender rules with nothing but the standard library?"""
    code = (
        "import sys, tenders, tenders.rules, tenders.scoring, tenders.lifecycle; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'sqlalchemy', 'app', 'werkzeug', 'jinja2'}); print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
