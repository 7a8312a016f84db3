"""Ed25519 voting credentials and the frozen credential list.

Every counted ballot is signed with its voter's credential; the verifier checks each signature
against the credential list whose count and fingerprint were published before voting opened, so
nobody — the server included — can add a ballot for an owner who did not vote.

Two modes, stated on every result:

* **authority** (as in Belenios): the community office runs ``python -m elections.credentials``
  on its own machine, prints the sealed letters and uploads only the public list; the server
  never holds a private credential;
* **site-issued** (weaker): the key is made in the owner's browser at first use and the site
  registers its public half; the site could register a key for an owner who never logs in.

Command line (offline)::

    python -m elections.credentials --box BOX --voters voters.csv --out DIR
    python -m elections.credentials --box BOX --count 120 --out DIR

``voters.csv`` has one ``voter_id[,label]`` per line (voter ids as in the frozen, pseudonymised
electorate; the label — e.g. the unit number — is printed on the letter only). ``DIR`` receives
``letters.txt`` (private: print, seal, then destroy) and ``credentials.json`` (public: upload).
"""

from __future__ import annotations

import argparse
import base64
import csv
import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from .canonical import b64, canonical_json, sha256_hex, unb64
from .errors import CredentialError
from .signatures import key_fingerprint, new_signing_key, sign_bytes, signing_public_key

LIST_FORMAT = "courtyard-credentials"
LIST_VERSION = 1
CREDENTIAL_PREFIX = "CYC1"
SIGNATURE_TAG = b"CYBS\x01"


class CredentialMode(StrEnum):
    """Who made the credentials."""

    AUTHORITY = "authority"
    SITE_ISSUED = "site_issued"


@dataclass(frozen=True)
class CredentialEntry:
    """One voter's public credential."""

    voter_id: str
    public_key: bytes


@dataclass(frozen=True)
class CredentialList:
    """The public credential list of one ballot box (sorted by voter id)."""

    box_id: str
    mode: CredentialMode
    entries: tuple[CredentialEntry, ...]
    _by_key: Mapping[bytes, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = tuple(sorted(self.entries, key=lambda e: e.voter_id))
        object.__setattr__(self, "entries", entries)
        voters = [e.voter_id for e in entries]
        if len(set(voters)) != len(voters):
            raise CredentialError("a voter has two credentials")
        keys = [e.public_key for e in entries]
        if any(len(k) != 32 for k in keys):
            raise CredentialError("a credential is a 32-byte Ed25519 public key")
        if len(set(keys)) != len(keys):
            raise CredentialError("two voters share a credential")
        object.__setattr__(self, "_by_key", {e.public_key: e.voter_id for e in entries})

    @property
    def count(self) -> int:
        """Number of credentials."""
        return len(self.entries)

    def voter_of(self, public_key: bytes) -> str:
        """The voter a credential belongs to, or :class:`CredentialError`."""
        try:
            return self._by_key[public_key]
        except KeyError:
            raise CredentialError("credential is not on the frozen list") from None

    def __contains__(self, public_key: object) -> bool:
        return public_key in self._by_key

    def to_json(self) -> dict[str, Any]:
        """The published list (voter pseudonyms and public keys, no identities)."""
        return {
            "format": LIST_FORMAT,
            "version": LIST_VERSION,
            "box": self.box_id,
            "mode": self.mode.value,
            "credentials": [{"voter": e.voter_id, "key": b64(e.public_key)} for e in self.entries],
        }

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the list's canonical JSON: what is published before voting opens."""
        return sha256_hex(canonical_json(self.to_json(), check_floats=False))

    def published(self) -> dict[str, Any]:
        """What is announced when the list is frozen: a count and a fingerprint."""
        return {"mode": self.mode.value, "count": self.count, "fingerprint": self.fingerprint}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CredentialList:
        """Inverse of :meth:`to_json`."""
        try:
            if data["format"] != LIST_FORMAT or data["version"] != LIST_VERSION:
                raise CredentialError("not a version 1 credential list")
            return cls(
                box_id=str(data["box"]),
                mode=CredentialMode(data["mode"]),
                entries=tuple(
                    CredentialEntry(str(c["voter"]), unb64(c["key"])) for c in data["credentials"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CredentialError(f"credential list is malformed: {exc}") from exc

    def with_entry(self, voter_id: str, public_key: bytes) -> CredentialList:
        """Site-issued mode: the list with one more credential (authority lists are frozen)."""
        if self.mode is not CredentialMode.SITE_ISSUED:
            raise CredentialError("an authority credential list is frozen")
        return CredentialList(
            self.box_id, self.mode, (*self.entries, CredentialEntry(voter_id, public_key))
        )


# -- ballot signatures ---------------------------------------------------------------------------


def ballot_signature_message(box_id: str, sealed: bytes) -> bytes:
    """``"CYBS" 0x01 || u16be(len(box id)) || box id || sealed ballot``: what a voter signs."""
    box = box_id.encode("utf-8")
    return SIGNATURE_TAG + struct.pack(">H", len(box)) + box + sealed


def sign_ballot(credential_private: bytes, box_id: str, sealed: bytes) -> bytes:
    """Sign a sealed ballot with a voter's credential (64-byte Ed25519 signature)."""
    return sign_bytes(credential_private, ballot_signature_message(box_id, sealed))


# -- credential text, letters and the offline command --------------------------------------------


def credential_text(private_key: bytes) -> str:
    """A credential as printed on a letter: ``CYC1-`` and base32 in groups of four."""
    body = base64.b32encode(private_key).decode("ascii").rstrip("=")
    return CREDENTIAL_PREFIX + "-" + "-".join(body[i : i + 4] for i in range(0, len(body), 4))


def parse_credential_text(text: str) -> bytes:
    """Inverse of :func:`credential_text`, forgiving spaces, dashes and lower case."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if not cleaned.startswith(CREDENTIAL_PREFIX):
        raise CredentialError("a credential starts with CYC1")
    body = cleaned[len(CREDENTIAL_PREFIX) :]
    try:
        key = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise CredentialError("credential text is mistyped") from exc
    if len(key) != 32:
        raise CredentialError("credential text is mistyped")
    return key


@dataclass(frozen=True)
class Letter:
    """One sealed letter: the only place a private credential is ever written."""

    voter_id: str
    label: str
    credential: str
    fingerprint: str


def generate_credentials(
    box_id: str, voters: Sequence[tuple[str, str]], mode: CredentialMode = CredentialMode.AUTHORITY
) -> tuple[list[Letter], CredentialList]:
    """Make one credential per ``(voter_id, label)``: the letters and the public list."""
    letters = []
    entries = []
    for voter_id, label in voters:
        private = new_signing_key()
        public = signing_public_key(private)
        letters.append(Letter(voter_id, label, credential_text(private), key_fingerprint(public)))
        entries.append(CredentialEntry(voter_id, public))
    return letters, CredentialList(box_id, mode, tuple(entries))


def render_letters(box_id: str, letters: Sequence[Letter]) -> str:
    """Plain text for printing, one letter per page (form feed between letters)."""
    pages = []
    for letter in letters:
        pages.append(
            "\n".join(
                [
                    "Courtyard — voting credential / 投票凭证",
                    f"Ballot box: {box_id}",
                    f"Voter: {letter.voter_id}   {letter.label}",
                    "",
                    f"    {letter.credential}",
                    "",
                    f"Check on the site: credential fingerprint {letter.fingerprint}",
                    "Keep this letter sealed until you vote; nobody else, the site included,",
                    "has this credential. 请妥善保管，勿交他人。",
                ]
            )
        )
    return "\n\f\n".join(pages) + "\n"


def _read_voters(path: Path) -> list[tuple[str, str]]:
    voters = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip() or row[0].startswith("#"):
                continue
            voters.append((row[0].strip(), row[1].strip() if len(row) > 1 else ""))
    return voters


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m elections.credentials``: make credentials offline into two files."""
    parser = argparse.ArgumentParser(
        prog="python -m elections.credentials",
        description="Generate voting credentials offline: private letters and a public list.",
    )
    parser.add_argument("--box", required=True, help="ballot box id the credentials are for")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--voters", type=Path, help="CSV of voter_id[,label] lines")
    source.add_argument("--count", type=int, help="number of credentials (voters V0001…)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the two files")
    args = parser.parse_args(argv)
    if args.voters is not None:
        voters = _read_voters(args.voters)
    else:
        if args.count < 1:
            parser.error("--count must be at least 1")
        width = max(4, len(str(args.count)))
        voters = [(f"V{i:0{width}d}", "") for i in range(1, args.count + 1)]
    letters, public = generate_credentials(args.box, voters)
    args.out.mkdir(parents=True, exist_ok=True)
    letters_path = args.out / "letters.txt"
    letters_path.write_text(render_letters(args.box, letters), encoding="utf-8")
    letters_path.chmod(0o600)
    (args.out / "credentials.json").write_bytes(canonical_json(public.to_json()))
    print(f"{public.count} credentials for box {args.box}")
    print(f"private letters: {letters_path} (print, seal, then destroy this file)")
    print(f"public list:     {args.out / 'credentials.json'} (upload to the site)")
    print(f"fingerprint:     {public.fingerprint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
