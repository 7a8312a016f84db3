"""Do any k of n shares rebuild the key, and k − 1 reveal nothing?"""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.errors import KeyShareError
from elections.shamir import PRIME, Share, combine_secret, interpolate_at, split_secret


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_every_k_subset_of_five_rebuilds_the_secret(k):
    secret = os.urandom(32)
    shares = split_secret(secret, k, 5)
    for subset in itertools.combinations(shares, k):
        assert combine_secret(list(subset)) == secret
        assert combine_secret(list(reversed(subset))) == secret


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_every_smaller_subset_is_refused(k):
    shares = split_secret(os.urandom(32), k, 5)
    for subset in itertools.combinations(shares, k - 1):
        with pytest.raises(KeyShareError, match="needed"):
            combine_secret(list(subset))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_k_minus_one_shares_are_consistent_with_every_secret(k):
    """For any candidate secret there is a polynomial through it and the k − 1 shares."""
    shares = split_secret(os.urandom(32), k, 5)[: k - 1]
    for candidate in (b"\x00" * 32, os.urandom(32), b"\xff" * 32):
        points = [(0, int.from_bytes(candidate, "big"))] + [(s.x, s.y) for s in shares]
        # The degree k − 1 polynomial through these k points passes through every share...
        for share in shares:
            assert interpolate_at(points, share.x) == share.y
        # ...and gives a complete, valid set of shares for the candidate secret.
        forged = [Share(x, interpolate_at(points, x), k, 5) for x in range(1, 6)]
        assert combine_secret(forged[:k]) == candidate


@given(st.binary(min_size=32, max_size=32), st.integers(1, 7), st.data())
def test_split_and_combine_round_trip(secret, n, data):
    k = data.draw(st.integers(1, n))
    shares = split_secret(secret, k, n)
    chosen = data.draw(st.lists(st.sampled_from(shares), min_size=k, max_size=n, unique=True))
    assert combine_secret(chosen) == secret
    for share in shares:
        assert Share.from_bytes(share.to_bytes()) == share


def test_an_extra_share_that_disagrees_is_named():
    shares = split_secret(os.urandom(32), 2, 4)
    wrong = Share(shares[3].x, (shares[3].y + 1) % PRIME, 2, 4)
    with pytest.raises(KeyShareError, match="share 4"):
        combine_secret([*shares[:3], wrong])


def test_shares_of_different_splits_or_twice_the_same_share_are_refused():
    a = split_secret(os.urandom(32), 2, 3)
    b = split_secret(os.urandom(32), 3, 3)
    with pytest.raises(KeyShareError, match="different"):
        combine_secret([a[0], b[1], b[2]])
    with pytest.raises(KeyShareError, match="twice"):
        combine_secret([a[0], a[0]])
    with pytest.raises(KeyShareError):
        combine_secret([])


@pytest.mark.parametrize(("k", "n"), [(0, 3), (4, 3), (2, 256)])
def test_impossible_schemes_are_refused(k, n):
    with pytest.raises(KeyShareError):
        split_secret(b"x" * 32, k, n)


def test_malformed_shares_are_refused():
    with pytest.raises(KeyShareError):
        Share(0, 1, 2, 3)
    with pytest.raises(KeyShareError):
        Share(1, PRIME, 2, 3)
    with pytest.raises(KeyShareError):
        Share.from_bytes(b"short")
    with pytest.raises(KeyShareError):
        split_secret(b"x" * 65, 2, 3)
