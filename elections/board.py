"""The bulletin board: an append-only hash chain of accepted sealed ballots.

Each record holds the voter's credential (public key), their signature and the sealed ballot,
and is chained to the one before it::

    genesis     = SHA-256("CYBR" 0x01 "genesis" || u16be(len box) || box id)
    record_hash = SHA-256("CYBR" 0x01 || previous hash (32) || u64be(record number)
                          || origin (1: 0x00 sealed in the browser, 0x01 by the server)
                          || credential (32) || signature (64) || SHA-256(sealed ballot))

A ballot is sealed in the owner's browser; without JavaScript the server seals it, and the
record says so (``server_sealed``), in the hash, so nobody can change the mark afterwards.
Record numbers start at 1; record 1's previous hash is the genesis. The voter's receipt is the
record number and a tracking code: the first 50 bits of SHA-256(sealed ballot) in base32
(``ABCDE-FGHIJ``), which anyone can look up on the public board. The site signs the head
(box, count, last hash, credential-list fingerprint, time) at intervals while voting runs and
at the close, so a later rewrite of the board shows against a published head.

:func:`chain_record` is the stateless step the web layer uses with its database; :class:`Board`
keeps a whole board in memory (tests, bench, bundles, the verifier).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .canonical import b64, canonical_json, unb64
from .credentials import CredentialList, CredentialMode, ballot_signature_message
from .errors import BoardClosedError, BoardError, CredentialError, DuplicateCredentialError
from .signatures import sign_record, verify_bytes

RECORD_TAG = b"CYBR\x01"
HEAD_PURPOSE = "board-head"


def genesis_hash(box_id: str) -> bytes:
    """The chain's starting point, bound to the ballot box."""
    box = box_id.encode("utf-8")
    return hashlib.sha256(RECORD_TAG + b"genesis" + struct.pack(">H", len(box)) + box).digest()


def record_hash(
    prev_hash: bytes,
    number: int,
    credential: bytes,
    signature: bytes,
    sealed_hash: bytes,
    *,
    server_sealed: bool = False,
) -> bytes:
    """SHA-256 over the record's fixed binary layout (see the module docstring)."""
    origin = b"\x01" if server_sealed else b"\x00"
    return hashlib.sha256(
        RECORD_TAG
        + prev_hash
        + struct.pack(">Q", number)
        + origin
        + credential
        + signature
        + sealed_hash
    ).digest()


def tracking_code(sealed: bytes | None = None, *, sealed_hash: bytes | None = None) -> str:
    """The receipt's tracking code: 50 bits of the sealed ballot's hash, ``ABCDE-FGHIJ``."""
    digest = sealed_hash if sealed_hash is not None else hashlib.sha256(sealed or b"").digest()
    text = base64.b32encode(digest[:7]).decode("ascii")[:10]
    return f"{text[:5]}-{text[5:]}"


@dataclass(frozen=True)
class BoardRecord:
    """One accepted ballot on the board."""

    number: int
    credential: bytes
    signature: bytes
    sealed: bytes
    prev_hash: bytes
    hash: bytes
    #: Sealed by the server for an owner without JavaScript, not in the owner's browser.
    server_sealed: bool = False

    @property
    def tracking_code(self) -> str:
        """What the voter's receipt shows."""
        return tracking_code(self.sealed)

    def to_json(self) -> dict[str, Any]:
        """One line of ``board.jsonl``."""
        return {
            "n": self.number,
            "credential": b64(self.credential),
            "signature": b64(self.signature),
            "sealed": b64(self.sealed),
            "prev": self.prev_hash.hex(),
            "hash": self.hash.hex(),
            "server_sealed": self.server_sealed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BoardRecord:
        """Inverse of :meth:`to_json`; raises :class:`BoardError` when malformed."""
        try:
            return cls(
                number=int(data["n"]),
                credential=unb64(data["credential"]),
                signature=unb64(data["signature"]),
                sealed=unb64(data["sealed"]),
                prev_hash=bytes.fromhex(data["prev"]),
                hash=bytes.fromhex(data["hash"]),
                server_sealed=_flag(data["server_sealed"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BoardError(f"board record is malformed: {exc}") from exc


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("server_sealed must be true or false")
    return value


@dataclass(frozen=True)
class Receipt:
    """What a voter keeps: the record number and the tracking code of their sealed ballot."""

    box_id: str
    number: int
    tracking_code: str
    record_hash: str


def head_record(
    box_id: str, count: int, head_hash: bytes, credentials: CredentialList, at: str,
    closed: bool,
) -> dict[str, Any]:
    """The record a signed head carries (sign it with purpose ``board-head``)."""
    return {
        "box": box_id,
        "count": count,
        "hash": head_hash.hex(),
        "credentials": credentials.published(),
        "at": at,
        "closed": closed,
    }


def chain_record(
    prev_hash: bytes,
    number: int,
    credential: bytes,
    signature: bytes,
    sealed: bytes,
    *,
    server_sealed: bool = False,
) -> BoardRecord:
    """The next record of a chain (no checks: see :func:`check_ballot` first)."""
    sealed_hash = hashlib.sha256(sealed).digest()
    digest = record_hash(
        prev_hash, number, credential, signature, sealed_hash, server_sealed=server_sealed
    )
    return BoardRecord(number, credential, signature, sealed, prev_hash, digest, server_sealed)


def check_ballot(
    credentials: CredentialList, box_id: str, credential: bytes, signature: bytes, sealed: bytes
) -> str:
    """The voter id of a signed sealed ballot the board may accept, else a domain error."""
    voter = credentials.voter_of(credential)
    if not verify_bytes(credential, ballot_signature_message(box_id, sealed), signature):
        raise CredentialError("the ballot's signature does not verify with its credential")
    return voter


class Board:
    """An in-memory bulletin board of one ballot box."""

    def __init__(self, box_id: str, credentials: CredentialList) -> None:
        if credentials.box_id != box_id:
            raise CredentialError("the credential list belongs to another ballot box")
        self.box_id = box_id
        self.credentials = credentials
        self.records: list[BoardRecord] = []
        self.closed = False
        self._used: dict[bytes, int] = {}
        self._by_code: dict[str, int] = {}

    def register(self, voter_id: str, public_key: bytes) -> None:
        """Site-issued mode: record a credential made in the owner's browser."""
        if self.closed:
            raise BoardClosedError("the ballot box is closed")
        if self.credentials.mode is not CredentialMode.SITE_ISSUED:
            raise CredentialError("an authority credential list is frozen")
        self.credentials = self.credentials.with_entry(voter_id, public_key)

    @property
    def head_hash(self) -> bytes:
        """Hash of the last record, or the genesis when the board is empty."""
        return self.records[-1].hash if self.records else genesis_hash(self.box_id)

    def append(
        self,
        credential: bytes,
        signature: bytes,
        sealed: bytes,
        *,
        server_sealed: bool = False,
        check_signature: bool = True,
    ) -> Receipt:
        """Accept one signed sealed ballot and return the voter's receipt.

        Refuses a closed box, an unknown credential, a bad signature, and a second ballot for
        one credential (:class:`DuplicateCredentialError`). ``server_sealed`` marks a ballot the
        server sealed for an owner without JavaScript. ``check_signature=False`` is only for a
        caller that has just verified the signature itself (a batch import).
        """
        if self.closed:
            raise BoardClosedError("the ballot box is closed")
        if check_signature:
            check_ballot(self.credentials, self.box_id, credential, signature, sealed)
        elif credential not in self.credentials:
            raise CredentialError("credential is not on the frozen list")
        if credential in self._used:
            raise DuplicateCredentialError(
                f"this credential already voted (record {self._used[credential]})"
            )
        record = chain_record(
            self.head_hash,
            len(self.records) + 1,
            credential,
            signature,
            sealed,
            server_sealed=server_sealed,
        )
        self.records.append(record)
        self._used[credential] = record.number
        code = record.tracking_code
        self._by_code.setdefault(code, record.number)
        return Receipt(self.box_id, record.number, code, record.hash.hex())

    def lookup(self, code: str) -> BoardRecord | None:
        """The public receipt look-up: the record with this tracking code, if any."""
        cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
        number = self._by_code.get(f"{cleaned[:5]}-{cleaned[5:]}")
        return None if number is None else self.records[number - 1]

    def head(self, site_key: bytes, at: str, *, closing: bool = False) -> dict[str, Any]:
        """A signed head (box, count, hash, credential list, time); ``closing`` closes the box."""
        if closing:
            self.closed = True
        record = head_record(
            self.box_id, len(self.records), self.head_hash, self.credentials, at, self.closed
        )
        return sign_record(HEAD_PURPOSE, record, {"site": site_key})

    def to_jsonl(self) -> bytes:
        """``board.jsonl`` of this board (see :func:`board_jsonl`)."""
        return board_jsonl(self.box_id, self.records)


def board_jsonl(box_id: str, records: Iterable[BoardRecord]) -> bytes:
    """``board.jsonl``: a header line, then one canonical JSON line per record.

    For a board kept in a database, pass its records in order.
    """
    header = {"format": "courtyard-board", "version": 1, "box": box_id}
    lines = [canonical_json(header)]
    lines.extend(canonical_json(r.to_json(), check_floats=False) for r in records)
    return b"\n".join(lines) + b"\n"


def read_jsonl_header(data: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """Split ``board.jsonl`` into its header and the raw record lines."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise BoardError("board file is empty")
    try:
        header = json.loads(lines[0])
    except ValueError as exc:
        raise BoardError("board header is not JSON") from exc
    if header.get("format") != "courtyard-board" or header.get("version") != 1:
        raise BoardError("not a version 1 board")
    return header, lines[1:]


def records_from_lines(lines: Iterable[bytes]) -> list[BoardRecord]:
    """Parse record lines (no chain checks; the verifier does those)."""
    return [BoardRecord.from_json(json.loads(line)) for line in lines]
