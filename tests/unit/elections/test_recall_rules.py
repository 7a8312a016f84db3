"""The committee's own bars: a recall needs more than a fifth of the area; a chair or vice-chair
needs more than half of all members."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.rules import RECALL_PROPOSAL_BAR, committee_office, recall_proposal


def test_exactly_a_fifth_of_the_area_does_not_recall_and_a_hundredth_more_does():
    assert Fraction(1, 5) == RECALL_PROPOSAL_BAR
    assert not recall_proposal(Decimal("200.00"), Decimal("1000.00")).met
    assert recall_proposal(Decimal("200.01"), Decimal("1000.00")).met
    assert not recall_proposal(Decimal(0), Decimal(0)).met  # an empty register recalls nobody
    with pytest.raises(ValueError):
        recall_proposal(Decimal("2"), Decimal("1"))


areas = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)


@given(areas, st.data())
def test_the_recall_bar_is_strictly_more_than_one_fifth(total, data):
    supporting = data.draw(st.decimals(min_value=Decimal(0), max_value=total, places=2))
    assert recall_proposal(supporting, total).met is (supporting * 5 > total)


def test_a_chair_needs_more_than_half_of_all_members():
    assert committee_office(4, 7).met
    assert not committee_office(3, 7).met
    assert not committee_office(2, 4).met  # half is not more than half
    assert committee_office(3, 4).met


@given(st.integers(min_value=1, max_value=99), st.data())
def test_the_office_bar_is_a_strict_majority(members, data):
    votes = data.draw(st.integers(min_value=0, max_value=members))
    assert committee_office(votes, members).met is (2 * votes > members)
