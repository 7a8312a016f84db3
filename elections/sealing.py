"""Sealed ballots: X25519 ECDH + HKDF-SHA256 + AES-256-GCM, byte format version 1.

A ballot is sealed to the ballot box's X25519 public key with a fresh ephemeral key, so only
the box's private key — rebuilt from k scrutineers' shares after the close — opens it. The box
id and the ballot kind are bound as associated data: a ballot sealed for one box, or as one
kind, does not open as another. ``static/js/seal.js`` produces the same bytes with WebCrypto.

Byte format, version 1 (all lengths in bytes)::

    offset  size    field
    0       4       magic "CYSB" (43 59 53 42)
    4       1       version, 0x01
    5       32      ephemeral X25519 public key (raw, RFC 7748)
    37      12      AES-GCM nonce (random)
    49      n + 16  AES-256-GCM ciphertext of the n plaintext bytes, then the 16-byte tag

Key and associated data::

    shared = X25519(ephemeral private key, box public key)          # refused if all zero
    key    = HKDF-SHA256(ikm=shared, salt=ephemeral public || box public,
                         info="courtyard/seal/v1", length=32)
    aad    = bytes 0..48 of the sealed ballot (magic, version, ephemeral key, nonce)
             || u16be(len(box id)) || box id (UTF-8) || u16be(len(kind)) || kind (UTF-8)
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import SealError

MAGIC = b"CYSB"
VERSION = 1
HKDF_INFO = b"courtyard/seal/v1"
HEADER_SIZE = 4 + 1 + 32 + 12
TAG_SIZE = 16
MIN_SIZE = HEADER_SIZE + TAG_SIZE


def generate_box_keypair() -> tuple[bytes, bytes]:
    """A fresh ballot-box key pair as raw bytes ``(private, public)``, 32 bytes each."""
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def box_public_key(private_key: bytes) -> bytes:
    """The raw X25519 public key of a raw private key."""
    try:
        return X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()
    except ValueError as exc:
        raise SealError("a ballot-box private key is 32 bytes") from exc


def associated_data(header: bytes, box_id: str, kind: str) -> bytes:
    """The AES-GCM associated data: the 49 header bytes, then the box id and the kind."""
    box = box_id.encode("utf-8")
    kind_bytes = kind.encode("utf-8")
    if len(box) > 0xFFFF or len(kind_bytes) > 0xFFFF:
        raise SealError("box id or kind too long")
    return (
        header + struct.pack(">H", len(box)) + box + struct.pack(">H", len(kind_bytes)) + kind_bytes
    )


def _derive_key(shared: bytes, ephemeral_public: bytes, box_public: bytes) -> bytes:
    if shared == bytes(32):
        raise SealError("degenerate key exchange")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + box_public, info=HKDF_INFO
    ).derive(shared)


def seal_ballot(
    box_public: bytes,
    box_id: str,
    kind: str,
    plaintext: bytes,
    *,
    ephemeral_private: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """Seal ``plaintext`` to the ballot box; returns the version 1 bytes.

    ``ephemeral_private`` and ``nonce`` exist for published test vectors only; leave them out
    (fresh random values) for every real ballot.
    """
    try:
        recipient = X25519PublicKey.from_public_bytes(box_public)
    except ValueError as exc:
        raise SealError("a ballot-box public key is 32 bytes") from exc
    ephemeral = (
        X25519PrivateKey.from_private_bytes(ephemeral_private)
        if ephemeral_private is not None
        else X25519PrivateKey.generate()
    )
    nonce = os.urandom(12) if nonce is None else nonce
    if len(nonce) != 12:
        raise SealError("the nonce is 12 bytes")
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError as exc:
        raise SealError("degenerate key exchange") from exc
    key = _derive_key(shared, ephemeral_public, box_public)
    header = MAGIC + bytes([VERSION]) + ephemeral_public + nonce
    return header + AESGCM(key).encrypt(nonce, plaintext, associated_data(header, box_id, kind))


class BallotOpener:
    """Opens many sealed ballots of one box and kind with the box's private key.

    It parses the key once and keeps the associated-data suffix, which is what a count of
    100,000 ballots wants; :func:`open_ballot` is the one-off form.
    """

    def __init__(self, box_private: bytes, box_id: str, kind: str) -> None:
        try:
            self._private = X25519PrivateKey.from_private_bytes(box_private)
        except ValueError as exc:
            raise SealError("a ballot-box private key is 32 bytes") from exc
        self._public = self._private.public_key().public_bytes_raw()
        self._aad_suffix = associated_data(b"", box_id, kind)

    @property
    def public_key(self) -> bytes:
        """The box public key matching the private key."""
        return self._public

    def open(self, sealed: bytes) -> bytes:
        """The plaintext of one sealed ballot, or :class:`SealError`."""
        if len(sealed) < MIN_SIZE or sealed[:4] != MAGIC:
            raise SealError("not a sealed ballot")
        if sealed[4] != VERSION:
            raise SealError(f"unknown sealed-ballot version {sealed[4]}")
        ephemeral_public = sealed[5:37]
        nonce = sealed[37:HEADER_SIZE]
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        except ValueError as exc:
            raise SealError("degenerate key exchange") from exc
        key = _derive_key(shared, ephemeral_public, self._public)
        try:
            return AESGCM(key).decrypt(
                nonce, sealed[HEADER_SIZE:], sealed[:HEADER_SIZE] + self._aad_suffix
            )
        except InvalidTag:
            raise SealError("the seal does not open: wrong box, wrong kind, or altered") from None


def open_ballot(box_private: bytes, box_id: str, kind: str, sealed: bytes) -> bytes:
    """Open one sealed ballot; raises :class:`SealError` when it does not open."""
    return BallotOpener(box_private, box_id, kind).open(sealed)
