"""Builders for the tender domain tests: a valid tender file, opened bids, score sheets.

Kept as session fixtures (stateless factories) so every test, hypothesis ones included, states
only what it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from tenders import Criterion, OpenedBid, PriceFormula, PriceFormulaKind, ScoreSheet, TenderRules

#: The community's time zone; times are aware, stored and encoded in UTC.
CST = timezone(timedelta(hours=8))
DEADLINE = datetime(2025, 6, 30, 17, 0, tzinfo=CST)


@pytest.fixture(scope="session")
def deadline() -> datetime:
    return DEADLINE


@pytest.fixture(scope="session")
def make_rules() -> Callable[..., TenderRules]:
    """A valid tender: service plan 40, staffing 30, price 30, lowest-price formula."""

    def build(**overrides: Any) -> TenderRules:
        settings: dict[str, Any] = {
            "criteria": (
                Criterion("plan", "服务方案", Decimal(40)),
                Criterion("staff", "人员配置", Decimal(30)),
            ),
            "price_weight": Decimal(30),
            "price_formula": PriceFormula(PriceFormulaKind.LOWEST_PRICE),
            "deadline": DEADLINE,
        }
        settings.update(overrides)
        return TenderRules(**settings)

    return build


@pytest.fixture(scope="session")
def trimmed_formula() -> PriceFormula:
    """The trimmed-mean benchmark with n_above = 2, n_below = 1."""
    return PriceFormula(PriceFormulaKind.TRIMMED_MEAN, Decimal(2), Decimal(1))


@pytest.fixture(scope="session")
def make_bids() -> Callable[..., list[OpenedBid]]:
    """Bids B1, B2, … from company C1, C2, … with these prices, an hour apart."""

    def build(prices: Sequence[str | Decimal], **disqualified: str) -> list[OpenedBid]:
        start = DEADLINE - timedelta(days=3)
        return [
            OpenedBid(
                f"B{i}", f"C{i}", Decimal(price), start + timedelta(hours=i),
                disqualified.get(f"B{i}"),
            )
            for i, price in enumerate(prices, start=1)
        ]

    return build


@pytest.fixture(scope="session")
def make_sheets() -> Callable[..., list[ScoreSheet]]:
    """Sheets E1, E2, … from ``{bid: {criterion: [score of E1, score of E2, …]}}``."""

    def build(table: Mapping[str, Mapping[str, Sequence[str | int]]]) -> list[ScoreSheet]:
        count = len(next(iter(next(iter(table.values())).values())))
        return [
            ScoreSheet(
                f"E{e + 1}",
                {
                    bid: {code: Decimal(str(scores[e])) for code, scores in by_code.items()}
                    for bid, by_code in table.items()
                },
            )
            for e in range(count)
        ]

    return build


@pytest.fixture(scope="session")
def uniform_sheets(make_sheets) -> Callable[..., list[ScoreSheet]]:
    """``evaluators`` sheets giving every bid the same ``plan`` and ``staff`` scores."""

    def build(bid_ids: Sequence[str], evaluators: int = 7, plan: int = 30, staff: int = 20):
        return make_sheets(
            {b: {"plan": [plan] * evaluators, "staff": [staff] * evaluators} for b in bid_ids}
        )

    return build
