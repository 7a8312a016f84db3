"""The site's Ed25519 signing key: it signs board heads, results, bundles, published statements.

``SITE_SIGNING_KEY`` (the 32-byte seed in base64) comes from the environment; without it a key
is made once and kept in ``instance/site_signing_key``. Auditors pin its public half
(``python -m elections.verify BUNDLE --site-key …``), so it must stay stable: keep it with the
backups, and never change it while a vote or a published record depends on it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from flask import current_app

from elections.signatures import key_fingerprint, new_signing_key, sign_record, signing_public_key

from .config import INSTANCE

KEY_FILE = "site_signing_key"


def site_key() -> bytes:
    """The private seed (32 bytes)."""
    cached = current_app.extensions.get("site_signing_key")
    if cached is None:
        cached = current_app.extensions["site_signing_key"] = _load()
    return cached


def _load() -> bytes:
    text = current_app.config.get("SITE_SIGNING_KEY") or ""
    if not text:
        path = INSTANCE / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(base64.b64encode(new_signing_key()).decode())
            path.chmod(0o600)
        text = path.read_text().strip()
    try:
        seed = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise RuntimeError("SITE_SIGNING_KEY is not base64") from exc
    if len(seed) != 32:
        raise RuntimeError("SITE_SIGNING_KEY must be 32 bytes (an Ed25519 seed) in base64")
    return seed


def site_public_key() -> str:
    """The public key in base64, as ``--site-key`` takes it."""
    return base64.b64encode(signing_public_key(site_key())).decode()


def site_key_fingerprint() -> str:
    return key_fingerprint(signing_public_key(site_key()))


def sign(purpose: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` signed by the site under ``purpose`` (see elections.signatures)."""
    return sign_record(purpose, record, {"site": site_key()})
