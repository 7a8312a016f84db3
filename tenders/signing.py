"""An evaluator's own signature under the evaluation report (评标报告签字).

Each evaluator gets an Ed25519 key when they declare their conflicts of interest. Its public
half is pinned in the evaluation record (signed by the site and the committee's key holders
when the sheets open); its private half is kept only encrypted under the evaluator's own
passphrase (scrypt, AES-GCM), so the site cannot sign in their name: the evaluator types the
passphrase to sign. The signed record names the tender, the evaluator and the SHA-256 of the
evaluation record, so a signature cannot be moved to another report.

Text form: ``CYEVKEY1`` + base32 of ``"CYEK" | version 1 | log2(N) | r | p | salt(16) |
nonce(12) | AES-GCM(key, seed(32), associated data = header + evaluator id)``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import unicodedata
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from elections.ceremony import check_passphrase
from elections.signatures import (
    new_signing_key,
    sign_record,
    signature_problems,
    signing_public_key,
)

from .rules import TenderError, canonical_json

#: The purpose string of an evaluator's signature (domain separation, elections.signatures).
REPORT_PURPOSE = "tender-report-signature"
TEXT_PREFIX, MAGIC, VERSION = "CYEVKEY1", b"CYEK", 1
_HEADER = 4 + 4 + 16 + 12


class SigningKeyError(TenderError):
    """The protected key is not readable (damaged, or another evaluator's)."""


class WrongSigningPassphraseError(SigningKeyError):
    """The passphrase does not open the protected key."""


def _derive(passphrase: str, salt: bytes, log2n: int) -> bytes:
    text = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return Scrypt(salt=salt, length=32, n=2**log2n, r=8, p=1).derive(text)


def new_evaluator_key(evaluator_id: str, passphrase: str, *, cost: int = 2**15
                      ) -> tuple[bytes, str]:
    """A fresh key: its public key, and its private key protected under ``passphrase``.

    Raises ``elections.WeakPassphraseError`` for a passphrase under 10 characters.
    """
    passphrase = check_passphrase(passphrase)
    log2n = cost.bit_length() - 1
    if cost != 2**log2n or not 10 <= log2n <= 20:
        raise SigningKeyError("scrypt cost must be a power of two between 2^10 and 2^20")
    seed, salt, nonce = new_signing_key(), os.urandom(16), os.urandom(12)
    header = MAGIC + bytes([VERSION, log2n, 8, 1]) + salt + nonce
    sealed = AESGCM(_derive(passphrase, salt, log2n)).encrypt(
        nonce, seed, header + evaluator_id.encode("utf-8"))
    text = TEXT_PREFIX + base64.b32encode(header + sealed).decode("ascii").rstrip("=")
    return signing_public_key(seed), text


def open_evaluator_key(text: str, evaluator_id: str, passphrase: str) -> bytes:
    """The private key (32-byte seed) of ``evaluator_id``, opened with their passphrase."""
    if not text.startswith(TEXT_PREFIX):
        raise SigningKeyError("not a protected evaluator key")
    body = text[len(TEXT_PREFIX):]
    try:
        blob = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise SigningKeyError("the protected evaluator key is damaged") from exc
    if len(blob) < _HEADER + 48 or blob[:4] != MAGIC or blob[4] != VERSION:
        raise SigningKeyError("not a version 1 protected evaluator key")
    log2n, salt, nonce = blob[5], blob[8:24], blob[24:36]
    if not 10 <= log2n <= 20:
        raise SigningKeyError("the protected evaluator key has implausible parameters")
    try:
        return AESGCM(_derive(passphrase, salt, log2n)).decrypt(
            nonce, blob[_HEADER:], blob[:_HEADER] + evaluator_id.encode("utf-8"))
    except InvalidTag:
        raise WrongSigningPassphraseError("wrong passphrase") from None


def evaluation_sha256(evaluation_record: Mapping[str, Any]) -> str:
    """The hash an evaluator signs: SHA-256 of the canonical evaluation record."""
    return hashlib.sha256(canonical_json(evaluation_record).encode("utf-8")).hexdigest()


def sign_report(private_key: bytes, *, tender: str, evaluator_id: str,
                evaluation_record: Mapping[str, Any], signed_at: str) -> dict[str, Any]:
    """The evaluator's signed statement that they sign this evaluation report."""
    return sign_record(REPORT_PURPOSE, {
        "tender": tender, "evaluator": evaluator_id, "signed_at": signed_at,
        "evaluation_sha256": evaluation_sha256(evaluation_record)}, {evaluator_id: private_key})


def report_signature_problems(signature: Mapping[str, Any], *, tender: str, evaluator_id: str,
                              public_key: bytes | None,
                              evaluation_record: Mapping[str, Any]) -> list[str]:
    """What is wrong with an evaluator's signature under the report (empty: it holds)."""
    if public_key is None:
        return [f"evaluator {evaluator_id} has no key pinned in the evaluation"]
    problems = [f"evaluator {evaluator_id}: {p}" for p in signature_problems(
        REPORT_PURPOSE, signature, {evaluator_id: public_key})]
    record = signature.get("record", {})
    if record.get("tender") != tender or record.get("evaluator") != evaluator_id:
        problems.append(f"evaluator {evaluator_id}: the signature is for another tender or seat")
    if record.get("evaluation_sha256") != evaluation_sha256(evaluation_record):
        problems.append(f"evaluator {evaluator_id} signed another version of the report")
    return problems
