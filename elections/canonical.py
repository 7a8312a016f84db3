"""Deterministic encodings for everything that is hashed or signed.

Canonical JSON here means: UTF-8, keys sorted, no insignificant white space, no floats (areas and
money travel as decimal strings, fractions as ``"p/q"``). Two programs that agree on the data
therefore agree on the bytes, which is what a signature or a hash chain needs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any


def _encode_extra(value: object) -> Any:
    """Encode the domain types that plain JSON lacks."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, Fraction):
        return fraction_text(value)
    if isinstance(value, bytes | bytearray):
        return b64(bytes(value))
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, datetime):
        return instant_text(value)
    raise TypeError(f"cannot encode {type(value).__name__} in canonical JSON")


def _check_no_float(obj: Any) -> None:
    stack = [obj]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif isinstance(item, float):
            raise TypeError("floats are not allowed in canonical JSON; use Decimal or Fraction")
        elif isinstance(item, dict | list | tuple):
            stack.extend(item.values() if isinstance(item, dict) else item)


def canonical_json(obj: Any, *, check_floats: bool = True) -> bytes:
    """Encode ``obj`` as canonical JSON bytes (sorted keys, compact, UTF-8, no floats).

    ``check_floats=False`` skips the walk that refuses floats; only for data a ``to_json`` built
    from typed fields (a credential list of 100,000 keys, board lines), where none can occur.
    """
    if check_floats:
        _check_no_float(obj)
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_encode_extra
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    """Standard base64 with padding (what WebCrypto pages produce with ``btoa``)."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """Decode standard base64 strictly; raises ``ValueError`` on anything else."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError, AttributeError) as exc:
        raise ValueError("not valid base64") from exc


def decimal_text(value: Decimal) -> str:
    """A Decimal as plain text without exponent (``Decimal('1E+2')`` → ``'100'``)."""
    if not value.is_finite():
        raise ValueError("areas and amounts must be finite")
    return format(value, "f")


def instant_text(value: datetime) -> str:
    """An aware datetime as ISO 8601 text in UTC, so equal instants give equal text."""
    return value.astimezone(UTC).isoformat()


def fraction_text(value: Fraction) -> str:
    """A Fraction as ``"p/q"`` (``"2/3"``), or ``"p"`` when whole."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def parse_fraction(text: str) -> Fraction:
    """Inverse of :func:`fraction_text`."""
    return Fraction(text)
