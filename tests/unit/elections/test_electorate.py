"""Does the electorate weigh units by exact area and count each person once?"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.electorate import Electorate, Unit
from elections.errors import ElectorateError, UnknownVoterError


def test_one_owner_of_several_units_counts_once_and_their_areas_add_up():
    electorate = Electorate(
        [
            Unit("1-101", Decimal("89.37"), ("wang",)),
            Unit("1-102", Decimal("120.05"), ("wang",)),
            Unit("1-103", Decimal("76.4"), ("li",)),
        ]
    )
    assert electorate.headcount == 2
    assert electorate.total_area == Decimal("285.82")
    wang = electorate.voter_of_unit("1-102")
    assert wang.unit_ids == ("1-101", "1-102")
    assert wang.area == Decimal("209.42")
    assert wang.voter_id == "1-101"


def test_co_owners_of_a_unit_count_as_one_person():
    electorate = Electorate(
        [Unit("2-201", Decimal("100"), ("zhang", "zhao")), Unit("2-202", Decimal("90"), ("qian",))]
    )
    assert electorate.headcount == 2


def test_developer_unsold_units_count_as_one_person_together():
    electorate = Electorate(
        [
            Unit("3-301", Decimal("95.5"), developer_unsold=True),
            Unit("3-302", Decimal("95.5"), ("developer co",), developer_unsold=True),
            Unit("3-303", Decimal("88"), developer_unsold=True),
            Unit("3-304", Decimal("70"), ("sun",)),
        ]
    )
    assert electorate.headcount == 2
    developer = electorate.voter_of_unit("3-303")
    assert developer.unit_ids == ("3-301", "3-302", "3-303")
    assert developer.area == Decimal("279.0")


def test_units_linked_by_any_shared_owner_are_one_person():
    electorate = Electorate(
        [
            Unit("a", Decimal(1), ("x", "y")),
            Unit("b", Decimal(2), ("y", "z")),
            Unit("c", Decimal(3), ("z",)),
            Unit("d", Decimal(4), ("w",)),
        ]
    )
    assert electorate.headcount == 2
    assert electorate.voter("a").area == Decimal(6)


@pytest.mark.parametrize(
    "area", [0.5, "0", "-3", "NaN", "Infinity", "abc", "1.00001", "1000000", "1E+7"]
)
def test_areas_must_be_exact_positive_and_finite(area):
    with pytest.raises(ElectorateError):
        Unit("u", area, ("o",))


def test_a_register_with_a_unit_twice_or_a_unit_without_owner_is_refused():
    with pytest.raises(ElectorateError, match="twice"):
        Electorate([Unit("u", Decimal(1), ("o",)), Unit("u", Decimal(2), ("p",))])
    with pytest.raises(ElectorateError, match="no owner"):
        Unit("u", Decimal(1), ())
    with pytest.raises(ElectorateError):
        Electorate([])


def test_unknown_voters_and_units_are_domain_errors():
    electorate = Electorate([Unit("u", Decimal(1), ("o",))])
    with pytest.raises(UnknownVoterError):
        electorate.voter("nobody")
    with pytest.raises(UnknownVoterError):
        electorate.voter_of_unit("nowhere")
    assert "u" in electorate
    assert "nobody" not in electorate


def test_pseudonymised_register_keeps_areas_and_headcount_and_hides_ids():
    electorate = Electorate(
        [
            Unit("1-101", Decimal("89.37"), ("wang",), building="1"),
            Unit("1-102", Decimal("120.05"), ("wang",)),
            Unit("1-103", Decimal("76.4"), ("li", "liu")),
        ]
    )
    pseudo, mapping = electorate.pseudonymise(b"k" * 32)
    assert pseudo.headcount == electorate.headcount
    assert pseudo.total_area == electorate.total_area
    text = repr(pseudo.to_json())
    for secret in ("1-101", "wang", "li", "liu"):
        assert f"'{secret}'" not in text
    assert pseudo.voter_of_unit(mapping["1-101"]) == pseudo.voter_of_unit(mapping["1-102"])
    again, _ = electorate.pseudonymise(b"k" * 32)
    assert again == pseudo
    other, _ = electorate.pseudonymise(b"j" * 32)
    assert other.units != pseudo.units
    with pytest.raises(ElectorateError):
        electorate.pseudonymise(b"short")


def test_json_round_trip_is_exact():
    electorate = Electorate(
        [Unit("a", Decimal("0.01"), ("o",)), Unit("b", Decimal("1E+2"), (), developer_unsold=True)]
    )
    data = electorate.to_json()
    assert data["units"][1]["area"] == "100"
    assert Electorate.from_json(data) == electorate
    with pytest.raises(ElectorateError):
        Electorate.from_json({"units": [{"area": "1"}]})


owners = st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=3, unique=True)
areas = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)


@given(st.lists(st.tuples(areas, owners, st.booleans()), min_size=1, max_size=25))
def test_headcount_is_the_number_of_owner_groups(rows):
    units = [
        Unit(f"u{i:02d}", area, tuple(o), developer_unsold=dev)
        for i, (area, o, dev) in enumerate(rows)
    ]
    electorate = Electorate(units)
    # Independent count: merge units sharing an owner, and all developer units, by brute force.
    groups = [{u.unit_id} for u in units]
    links = [
        (a, b)
        for a in units
        for b in units
        if set(a.owners) & set(b.owners) or (a.developer_unsold and b.developer_unsold)
    ]
    for a, b in links:
        ga = next(g for g in groups if a.unit_id in g)
        gb = next(g for g in groups if b.unit_id in g)
        if ga is not gb:
            groups.remove(gb)
            ga |= gb
    assert electorate.headcount == len(groups)
    assert electorate.total_area == sum(area for area, _, _ in rows)
    assert sum(v.area for v in electorate.voters) == electorate.total_area
    assert sorted(u for v in electorate.voters for u in v.unit_ids) == [u.unit_id for u in units]
