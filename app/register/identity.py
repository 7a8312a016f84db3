"""ID numbers and phone numbers: validation, masking and the digest kept instead of the number.

Mainland resident ID numbers (GB 11643-1999) have 17 digits and a check character; the register
keeps only a masked form to show and an HMAC digest to match a person on re-import and to verify
an owner at activation.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalize_id_number(raw: str) -> str:
    return re.sub(r"\s", "", raw or "").upper()


def id_number_problem(raw: str) -> str | None:
    """None when ``raw`` is a well-formed 18-character ID number, else what is wrong (English)."""
    value = normalize_id_number(raw)
    if not _ID_RE.fullmatch(value):
        return "must be 17 digits followed by a digit or X"
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != value[17]:
        return "check character does not match (a digit was mistyped?)"
    return None


def mask_id_number(raw: str) -> str:
    value = normalize_id_number(raw)
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def id_digest(key: str, raw: str) -> str:
    value = normalize_id_number(raw)
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def normalize_phone(raw: str) -> str:
    value = re.sub(r"[\s()]", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    return value


def phone_problem(raw: str) -> str | None:
    value = normalize_phone(raw)
    if _MOBILE_RE.fullmatch(value) or _LANDLINE_RE.fullmatch(value):
        return None
    return "must be an 11-digit mobile number or a landline such as 021-12345678"


def make_id_number(prefix17: str) -> str:
    """The valid ID number that starts with ``prefix17`` (for demo data and tests)."""
    total = sum(int(d) * w for d, w in zip(prefix17, _WEIGHTS, strict=True))
    return prefix17 + _CHECK[total % 11]
