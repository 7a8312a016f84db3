"""Exact money arithmetic: fen, splits by weight, the canonical form a ledger entry is hashed in.

Pure: no database, no Flask. Amounts are ``Decimal`` yuan with two places; inside a split they
are integer fen, so nothing is ever rounded twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

CENT = Decimal("0.01")
GENESIS = "0" * 64


class BadAmount(ValueError):
    """Not an amount of money in yuan with at most two decimal places."""


def to_fen(amount: Decimal | int | str) -> int:
    """``Decimal("12.30")`` → 1230; refuses floats and more than two places."""
    if isinstance(amount, float):
        raise BadAmount("money is never a float")
    try:
        value = Decimal(str(amount).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise BadAmount(str(amount)) from exc
    if not value.is_finite():
        raise BadAmount(str(amount))
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise BadAmount(str(amount))
    return int(scaled)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def round_yuan(value: Decimal | Fraction) -> Decimal:
    """Half up to the fen (a rate × an area)."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def split_fen(total: int, weights: Mapping[Any, Decimal | int]) -> dict[Any, int]:
    """Split ``total`` fen among the keys of ``weights`` in proportion, to the fen.

    Largest remainder (Hamilton): everyone gets the floor of their exact share, then the fen
    left over go one each to the largest remainders (ties: in key order). The parts always add
    up to ``total``. Zero weights get nothing; all-zero weights are an error.
    """
    if total < 0:
        return {k: -v for k, v in split_fen(-total, weights).items()}
    exact = {k: Fraction(Decimal(w)) for k, w in weights.items()}
    if any(w < 0 for w in exact.values()):
        raise ValueError("negative weight")
    whole = sum(exact.values())
    if not exact or whole == 0:
        raise ValueError("nothing to split among")
    shares = {k: total * w / whole for k, w in exact.items()}
    parts = {k: int(s) for k, s in shares.items()}  # floor: shares are not negative
    left = total - sum(parts.values())
    order = sorted(shares, key=lambda k: (-(shares[k] - parts[k]), _sort_key(k)))
    for k in order[:left]:
        parts[k] += 1
    return parts


def _sort_key(key: Any) -> tuple:
    return (0, key) if isinstance(key, int | str) else (1, repr(key))


def entry_balances(lines: Sequence[tuple[int, int]]) -> bool:
    """Whether ``(debit_fen, credit_fen)`` lines balance, each line one-sided and positive."""
    if len(lines) < 2:
        return False
    for debit, credit in lines:
        if (debit > 0) == (credit > 0) or debit < 0 or credit < 0:
            return False
    return sum(d for d, _ in lines) == sum(c for _, c in lines)


def canonical_entry(body: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers (sorted keys, no spaces, UTF-8)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def chain_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_entry(body)).hexdigest()
