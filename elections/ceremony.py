"""The key ceremony: the ballot box's key pair, its k-of-n split, and the scrutineers' keys.

When a vote opens, :func:`make_ceremony` makes an X25519 key pair for the ballot box, splits the
private key among the scrutineers (Shamir, k of n), gives each scrutineer an Ed25519 signing key,
and protects each scrutineer's share and signing key with the passphrase that scrutineer chose.
It returns only public data and the protected shares: the private key is never kept.

A protected share is text for a file or a QR code (alphanumeric mode)::

    CYSHARE1:<base32 of blob, no padding>

    blob = "CYSH" || version 0x01 || log2(scrypt N) || scrypt r || scrypt p
           || salt (16) || nonce (12) || AES-256-GCM(key, nonce, payload, aad = bytes 0..35)
    key  = scrypt(NFC(passphrase), salt, N, r, p, length 32)
    payload = u16be(len box) || box || u16be(len scrutineer) || scrutineer
              || share (k, n, x: one byte each; y: 66 bytes) || Ed25519 signing seed (32)
"""

from __future__ import annotations

import base64
import os
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .canonical import b64, sha256_hex
from .errors import KeyShareError, WeakPassphraseError, WrongPassphraseError
from .sealing import box_public_key, generate_box_keypair
from .shamir import Y_SIZE, Share, combine_secret, split_secret
from .signatures import new_signing_key, signing_public_key

TEXT_PREFIX = "CYSHARE1:"
BLOB_MAGIC = b"CYSH"
BLOB_VERSION = 1
MIN_PASSPHRASE = 10
DEFAULT_COST = 2**15
CEREMONY_FORMAT = "courtyard-ceremony"


@dataclass(frozen=True)
class ScrutineerShare:
    """What one scrutineer holds once their passphrase opens their protected share."""

    box_id: str
    scrutineer_id: str
    share: Share
    signing_key: bytes

    @property
    def fingerprint(self) -> str:
        """The commitment to this share published in the ceremony record."""
        return share_fingerprint(self.box_id, self.share)


@dataclass(frozen=True)
class ScrutineerEntry:
    """Public facts about one scrutineer: share number, signing key, share commitment."""

    scrutineer_id: str
    x: int
    signing_public_key: bytes
    share_fingerprint: str

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "scrutineer": self.scrutineer_id,
            "x": self.x,
            "signing_key": b64(self.signing_public_key),
            "share_fingerprint": self.share_fingerprint,
        }


@dataclass(frozen=True)
class Ceremony:
    """The outcome of a key ceremony: public facts and the protected shares to hand out."""

    box_id: str
    public_key: bytes
    k: int
    n: int
    scrutineers: tuple[ScrutineerEntry, ...]
    #: scrutineer id → protected share text; hand each out once, then forget it.
    protected_shares: Mapping[str, str]

    def record(self) -> dict[str, Any]:
        """The public ceremony record (to be signed by the site and published at once)."""
        return {
            "format": CEREMONY_FORMAT,
            "version": 1,
            "box": self.box_id,
            "public_key": b64(self.public_key),
            "k": self.k,
            "n": self.n,
            "scrutineers": [s.to_json() for s in self.scrutineers],
        }


def share_fingerprint(box_id: str, share: Share) -> str:
    """SHA-256 commitment to a share, bound to its box (a 521-bit y cannot be guessed)."""
    box = box_id.encode("utf-8")
    return sha256_hex(b"CYSF\x01" + struct.pack(">H", len(box)) + box + share.to_bytes())


def make_ceremony(
    box_id: str, k: int, passphrases: Mapping[str, str], *, cost: int = DEFAULT_COST
) -> Ceremony:
    """Run a key ceremony for ``box_id`` among the scrutineers named in ``passphrases``.

    ``passphrases`` maps scrutineer id → the passphrase that scrutineer chose; shares are
    numbered in the mapping's order. Nothing private leaves this function unprotected.
    """
    ids = list(passphrases)
    for scrutineer_id in ids:
        check_passphrase(passphrases[scrutineer_id])
    private, public = generate_box_keypair()
    shares = split_secret(private, k, len(ids))
    entries = []
    protected = {}
    for scrutineer_id, share in zip(ids, shares, strict=True):
        held = ScrutineerShare(box_id, scrutineer_id, share, new_signing_key())
        entries.append(
            ScrutineerEntry(
                scrutineer_id, share.x, signing_public_key(held.signing_key), held.fingerprint
            )
        )
        protected[scrutineer_id] = protect_share(held, passphrases[scrutineer_id], cost=cost)
    del private
    return Ceremony(box_id, public, k, len(ids), tuple(entries), protected)


def check_passphrase(passphrase: str) -> str:
    """The passphrase in NFC form, or :class:`WeakPassphraseError` when too short."""
    normalised = unicodedata.normalize("NFC", passphrase)
    if len(normalised.strip()) < MIN_PASSPHRASE:
        raise WeakPassphraseError(f"a passphrase needs at least {MIN_PASSPHRASE} characters")
    return normalised


def _scrypt(passphrase: str, salt: bytes, log2n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**log2n, r=r, p=p).derive(passphrase.encode("utf-8"))


def protect_share(held: ScrutineerShare, passphrase: str, *, cost: int = DEFAULT_COST) -> str:
    """Encrypt a scrutineer's share and signing key under their passphrase (text for a QR)."""
    passphrase = check_passphrase(passphrase)
    log2n = cost.bit_length() - 1
    if cost != 2**log2n or not 10 <= log2n <= 20:
        raise KeyShareError("scrypt cost must be a power of two between 2^10 and 2^20")
    r, p = 8, 1
    salt, nonce = os.urandom(16), os.urandom(12)
    header = BLOB_MAGIC + bytes([BLOB_VERSION, log2n, r, p]) + salt + nonce
    box = held.box_id.encode("utf-8")
    who = held.scrutineer_id.encode("utf-8")
    payload = (
        struct.pack(">H", len(box))
        + box
        + struct.pack(">H", len(who))
        + who
        + held.share.to_bytes()
        + held.signing_key
    )
    key = _scrypt(passphrase, salt, log2n, r, p)
    blob = header + AESGCM(key).encrypt(nonce, payload, header)
    return TEXT_PREFIX + base64.b32encode(blob).decode("ascii").rstrip("=")


def unprotect_share(text: str, passphrase: str) -> ScrutineerShare:
    """Open a protected share with its passphrase.

    Raises :class:`WrongPassphraseError` for a wrong passphrase (or an altered text) and
    :class:`KeyShareError` for text that is not a protected share.
    """
    text = "".join(text.split())
    if not text.upper().startswith(TEXT_PREFIX):
        raise KeyShareError("not a protected key share")
    body = text[len(TEXT_PREFIX) :].upper()
    try:
        blob = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise KeyShareError("protected key share is damaged") from exc
    if len(blob) < 36 + 16 or blob[:4] != BLOB_MAGIC or blob[4] != BLOB_VERSION:
        raise KeyShareError("not a version 1 protected key share")
    log2n, r, p = blob[5], blob[6], blob[7]
    if not 10 <= log2n <= 20 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise KeyShareError("protected key share has implausible parameters")
    header, salt, nonce = blob[:36], blob[8:24], blob[24:36]
    key = _scrypt(unicodedata.normalize("NFC", passphrase), salt, log2n, r, p)
    try:
        payload = AESGCM(key).decrypt(nonce, blob[36:], header)
    except InvalidTag:
        raise WrongPassphraseError("wrong passphrase, or the share was altered") from None
    return _parse_payload(payload)


def _parse_payload(payload: bytes) -> ScrutineerShare:
    try:
        (box_len,) = struct.unpack_from(">H", payload, 0)
        box_id = payload[2 : 2 + box_len].decode("utf-8")
        offset = 2 + box_len
        (who_len,) = struct.unpack_from(">H", payload, offset)
        scrutineer_id = payload[offset + 2 : offset + 2 + who_len].decode("utf-8")
        offset += 2 + who_len
        share = Share.from_bytes(payload[offset : offset + 3 + Y_SIZE])
        signing_key = payload[offset + 3 + Y_SIZE :]
    except (struct.error, UnicodeDecodeError) as exc:
        raise KeyShareError("protected key share is damaged") from exc
    if len(signing_key) != 32:
        raise KeyShareError("protected key share is damaged")
    return ScrutineerShare(box_id, scrutineer_id, share, signing_key)


def combine_shares(
    shares: Sequence[ScrutineerShare], expected_public_key: bytes | None = None
) -> bytes:
    """Rebuild the ballot box's private key from k (or more) scrutineers' shares.

    With ``expected_public_key`` the rebuilt key must match the box's public key, so a wrong
    or swapped share is refused instead of opening nothing.
    """
    if not shares:
        raise KeyShareError("no shares given")
    boxes = {s.box_id for s in shares}
    if len(boxes) != 1:
        raise KeyShareError("the shares belong to different ballot boxes")
    private = combine_secret([s.share for s in shares])
    if expected_public_key is not None and box_public_key(private) != expected_public_key:
        raise KeyShareError("the shares do not rebuild this ballot box's key: one is wrong")
    return private
