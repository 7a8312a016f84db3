"""Exact money: fen conversion, splits that add up to the fen, balanced entries, the chain hash."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.money.arithmetic import (
    BadAmount,
    chain_hash,
    entry_balances,
    from_fen,
    round_yuan,
    split_fen,
    to_fen,
)

areas = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)


def test_fen_round_trip_and_refusals():
    """Are yuan read exactly, and are floats and a third decimal refused?"""
    assert to_fen("12.30") == 1230
    assert to_fen(Decimal("0.01")) == 1
    assert from_fen(1230) == Decimal("12.30")
    for bad in (0.1, "1.234", "abc", "NaN"):
        with pytest.raises(BadAmount):
            to_fen(bad)


def test_round_yuan_half_up():
    assert round_yuan(Decimal("88.50") * Decimal("0.125")) == Decimal("11.06")


@given(total=st.integers(min_value=-10**9, max_value=10**9),
       weights=st.lists(areas, min_size=1, max_size=40))
def test_split_adds_up_to_the_fen(total, weights):
    """Do the parts of a split always add up to the total, each within a fen of its share?"""
    keyed = dict(enumerate(weights))
    parts = split_fen(total, keyed)
    assert sum(parts.values()) == total
    whole = sum(weights)
    for k, w in keyed.items():
        exact = Decimal(total) * w / whole
        assert abs(Decimal(parts[k]) - exact) < 1


def test_split_by_area_example():
    """Three flats share 100.00 yuan by area: the odd fen goes to the largest remainder."""
    parts = split_fen(10000, {1: Decimal("68.42"), 2: Decimal("89.15"), 3: Decimal("112.37")})
    assert parts == {1: 2535, 2: 3302, 3: 4163}
    assert sum(parts.values()) == 10000


def test_split_refuses_nothing_to_split_among():
    with pytest.raises(ValueError, match="nothing"):
        split_fen(100, {1: Decimal(0)})


@given(st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=20))
def test_entry_balances_when_debits_equal_credits(amounts):
    """Is an entry whose debits mirror its credits balanced, and one fen off not?"""
    lines = [(a, 0) for a in amounts] + [(0, sum(amounts))]
    assert entry_balances(lines)
    assert not entry_balances([*lines[:-1], (0, sum(amounts) + 1)])
    assert not entry_balances([(5, 5), (0, 0)])
    assert not entry_balances([(0, 0)])


def test_chain_hash_covers_every_field():
    body = {"seq": 1, "memo": "物业费", "lines": [["1001", None, "100", "0"]], "prev": "0"}
    assert chain_hash(body) == chain_hash(dict(reversed(list(body.items()))))
    assert chain_hash(body) != chain_hash({**body, "memo": "物业费 "})


@given(bills=st.lists(st.integers(min_value=0, max_value=10**6), min_size=0, max_size=12),
       paid=st.integers(min_value=0, max_value=10**7))
def test_payments_settle_bills_oldest_first(bills, paid):
    """Is what stays open the total less what was paid, and always the newest bills?"""
    import datetime as dt

    from app.models import FeeBill
    from app.money.fees import open_bills

    rows = [FeeBill(id=i, period=dt.date(2026, 1 + i % 12, 1) + dt.timedelta(days=31 * (i // 12)),
                    amount=from_fen(fen)) for i, fen in enumerate(bills)]
    left = open_bills(rows, paid)
    assert sum(fen for _bill, fen in left) == max(0, sum(bills) - paid)
    if left:
        first_open = left[0][0].period
        assert all(b.period >= first_open for b, _fen in left)
        assert all(fen == to_fen(b.amount) for b, fen in left[1:])
