"""Shamir secret sharing, k of n, over the prime field GF(2^521 − 1).

The secret (a 32-byte ballot-box private key) is the constant term of a random polynomial of
degree k − 1; share i is the polynomial at x = i. Any k shares rebuild the secret by Lagrange
interpolation at 0; any k − 1 shares are consistent with every possible secret, so they reveal
nothing about it. The field is the Mersenne prime 2^521 − 1, larger than any 32-byte secret.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import KeyShareError

PRIME = 2**521 - 1
#: Bytes of a share's y value (521 bits).
Y_SIZE = 66
MAX_SHARES = 255


@dataclass(frozen=True)
class Share:
    """One point of the polynomial, with the threshold it belongs to."""

    x: int
    y: int
    k: int
    n: int

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.n <= MAX_SHARES:
            raise KeyShareError(f"not a k-of-n scheme: k={self.k}, n={self.n}")
        if not 1 <= self.x <= self.n:
            raise KeyShareError(f"share number {self.x} is outside 1..{self.n}")
        if not 0 <= self.y < PRIME:
            raise KeyShareError("share value outside the field")

    def to_bytes(self) -> bytes:
        """``k || n || x`` (one byte each) then y as 66 big-endian bytes."""
        return bytes([self.k, self.n, self.x]) + self.y.to_bytes(Y_SIZE, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Share:
        """Inverse of :meth:`to_bytes`."""
        if len(data) != 3 + Y_SIZE:
            raise KeyShareError("a share is 69 bytes")
        return cls(x=data[2], y=int.from_bytes(data[3:], "big"), k=data[0], n=data[1])


def _eval(coefficients: Sequence[int], x: int) -> int:
    result = 0
    for coefficient in reversed(coefficients):
        result = (result * x + coefficient) % PRIME
    return result


def split_secret(secret: bytes, k: int, n: int) -> list[Share]:
    """Split ``secret`` into ``n`` shares of which any ``k`` rebuild it."""
    if not 1 <= k <= n <= MAX_SHARES:
        raise KeyShareError(f"need 1 ≤ k ≤ n ≤ {MAX_SHARES}, got k={k}, n={n}")
    if len(secret) > 64:
        raise KeyShareError("secret too long for the field")
    coefficients = [int.from_bytes(secret, "big")]
    coefficients += [secrets.randbelow(PRIME) for _ in range(k - 1)]
    return [Share(x, _eval(coefficients, x), k, n) for x in range(1, n + 1)]


def interpolate_at(points: Sequence[tuple[int, int]], at: int) -> int:
    """The value at ``at`` of the polynomial through ``points`` (distinct x), mod PRIME."""
    total = 0
    for i, (xi, yi) in enumerate(points):
        numerator = denominator = 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                numerator = numerator * (at - xj) % PRIME
                denominator = denominator * (xi - xj) % PRIME
        total = (total + yi * numerator * pow(denominator, -1, PRIME)) % PRIME
    return total


def combine_secret(shares: Sequence[Share], size: int = 32) -> bytes:
    """Rebuild the ``size``-byte secret from at least k shares of one split."""
    if not shares:
        raise KeyShareError("no shares given")
    k, n = shares[0].k, shares[0].n
    if any(s.k != k or s.n != n for s in shares):
        raise KeyShareError("the shares come from different splits")
    xs = [s.x for s in shares]
    if len(set(xs)) != len(xs):
        raise KeyShareError("the same share was given twice")
    if len(shares) < k:
        raise KeyShareError(f"{k} shares are needed, {len(shares)} given")
    value = interpolate_at([(s.x, s.y) for s in shares[:k]], 0)
    if value >= 1 << (8 * size):
        raise KeyShareError("the shares do not rebuild a key: one is wrong")
    secret = value.to_bytes(size, "big")
    # Extra shares beyond k must lie on the same polynomial, or one of them is wrong.
    points = [(s.x, s.y) for s in shares[:k]]
    for extra in shares[k:]:
        if interpolate_at(points, extra.x) != extra.y:
            raise KeyShareError(f"share {extra.x} does not agree with the others")
    return secret
