"""Ed25519 signatures over canonical JSON, with a purpose string for domain separation.

A signed document is plain data::

    {"record": {...}, "signatures": [{"signer": "site", "key": "<b64>", "sig": "<b64>"}, ...]}

and the signed message is ``"courtyard/<purpose>/v1" || 0x00 || canonical_json(record)``, so a
signature made on a board head can never be passed off as one on a result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import b64, canonical_json, sha256_hex, unb64
from .errors import SignatureError


def new_signing_key() -> bytes:
    """A fresh Ed25519 private key as its 32-byte seed."""
    return Ed25519PrivateKey.generate().private_bytes_raw()


def signing_public_key(private_key: bytes) -> bytes:
    """The 32-byte Ed25519 public key of a 32-byte seed."""
    try:
        return Ed25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()
    except ValueError as exc:
        raise SignatureError("an Ed25519 private key is 32 bytes") from exc


def key_fingerprint(public_key: bytes) -> str:
    """Short fingerprint of a public key to read out or print (first 16 hex of its SHA-256)."""
    return sha256_hex(public_key)[:16]


def message(purpose: str, record: Mapping[str, Any]) -> bytes:
    """The exact bytes signed for ``record`` under ``purpose``."""
    return f"courtyard/{purpose}/v1".encode() + b"\x00" + canonical_json(record)


def sign_bytes(private_key: bytes, data: bytes) -> bytes:
    """Raw Ed25519 signature of ``data``."""
    try:
        return Ed25519PrivateKey.from_private_bytes(private_key).sign(data)
    except ValueError as exc:
        raise SignatureError("an Ed25519 private key is 32 bytes") from exc


def verify_bytes(public_key: bytes, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``data`` by ``public_key``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Signature:
    """One signer's signature on a record."""

    signer: str
    public_key: bytes
    signature: bytes

    def to_json(self) -> dict[str, str]:
        """Plain data."""
        return {"signer": self.signer, "key": b64(self.public_key), "sig": b64(self.signature)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signature:
        """Inverse of :meth:`to_json`; raises :class:`SignatureError` when malformed."""
        try:
            return cls(str(data["signer"]), unb64(data["key"]), unb64(data["sig"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SignatureError(f"malformed signature entry: {exc}") from exc


def sign_record(
    purpose: str, record: Mapping[str, Any], signers: Mapping[str, bytes]
) -> dict[str, Any]:
    """A signed document: ``record`` with one signature per ``signer name → private key``."""
    data = message(purpose, record)
    signatures = [
        Signature(name, signing_public_key(key), sign_bytes(key, data)).to_json()
        for name, key in signers.items()
    ]
    return {"record": dict(record), "signatures": signatures}


def add_signature(
    purpose: str, document: Mapping[str, Any], signer: str, private_key: bytes
) -> dict[str, Any]:
    """The same document with one more signature (a scrutineer signing after the site)."""
    data = message(purpose, document["record"])
    entry = Signature(signer, signing_public_key(private_key), sign_bytes(private_key, data))
    return {"record": document["record"], "signatures": [*document["signatures"], entry.to_json()]}


def signature_problems(
    purpose: str, document: Mapping[str, Any], expected: Mapping[str, bytes]
) -> list[str]:
    """What is wrong with ``document``'s signatures, given ``signer → expected public key``.

    Every expected signer must have signed with exactly the expected key; an empty list means
    every signature holds.
    """
    problems = []
    try:
        data = message(purpose, document["record"])
        entries = [Signature.from_json(s) for s in document["signatures"]]
    except (KeyError, TypeError, SignatureError) as exc:
        return [f"signatures unreadable: {exc}"]
    by_signer = {s.signer: s for s in entries}
    for signer, public_key in expected.items():
        entry = by_signer.get(signer)
        if entry is None:
            problems.append(f"no signature by {signer}")
        elif entry.public_key != public_key:
            problems.append(f"signature by {signer} uses an unexpected key")
        elif not verify_bytes(public_key, data, entry.signature):
            problems.append(f"signature by {signer} does not verify")
    return problems
