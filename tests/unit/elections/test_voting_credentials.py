"""Are credentials made offline, listed publicly by fingerprint, and checked on every ballot?"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from elections.canonical import unb64
from elections.credentials import (
    CredentialEntry,
    CredentialList,
    CredentialMode,
    credential_text,
    generate_credentials,
    main,
    parse_credential_text,
    sign_ballot,
)
from elections.errors import CredentialError
from elections.signatures import signing_public_key

ROOT = Path(__file__).resolve().parents[3]


def test_credential_text_round_trips_and_forgives_typing():
    key = os.urandom(32)
    text = credential_text(key)
    assert text.startswith("CYC1-")
    assert parse_credential_text(text) == key
    assert parse_credential_text(" " + text.lower().replace("-", " ") + "\n") == key
    with pytest.raises(CredentialError):
        parse_credential_text("XYZ1-AAAA")
    with pytest.raises(CredentialError):
        parse_credential_text(text[:-4])


def test_the_fingerprint_ignores_order_and_changes_with_any_key():
    letters, credentials = generate_credentials("b", [("v1", ""), ("v2", ""), ("v3", "")])
    reordered = CredentialList("b", credentials.mode, tuple(reversed(credentials.entries)))
    assert reordered.fingerprint == credentials.fingerprint
    swapped = list(credentials.entries)
    swapped[1] = CredentialEntry("v2", os.urandom(32))
    assert CredentialList("b", credentials.mode, tuple(swapped)).fingerprint != (
        credentials.fingerprint
    )
    assert credentials.published() == {
        "mode": "authority",
        "count": 3,
        "fingerprint": credentials.fingerprint,
    }
    assert CredentialList.from_json(credentials.to_json()) == credentials
    for letter in letters:
        public = signing_public_key(parse_credential_text(letter.credential))
        assert credentials.voter_of(public) == letter.voter_id


def test_a_list_with_a_voter_twice_or_a_shared_key_is_refused():
    key = os.urandom(32)
    with pytest.raises(CredentialError, match="two credentials"):
        CredentialList(
            "b",
            CredentialMode.AUTHORITY,
            (CredentialEntry("v", os.urandom(32)), CredentialEntry("v", key)),
        )
    with pytest.raises(CredentialError, match="share"):
        CredentialList(
            "b", CredentialMode.AUTHORITY, (CredentialEntry("v", key), CredentialEntry("w", key))
        )
    with pytest.raises(CredentialError):
        CredentialList("b", CredentialMode.AUTHORITY, (CredentialEntry("v", b"short"),))
    with pytest.raises(CredentialError):
        CredentialList.from_json({"format": "other"})


def test_an_authority_list_is_frozen_and_a_site_issued_one_grows():
    _, authority = generate_credentials("b", [("v1", "")])
    with pytest.raises(CredentialError, match="frozen"):
        authority.with_entry("v2", os.urandom(32))
    _, site = generate_credentials("b", [("v1", "")], CredentialMode.SITE_ISSUED)
    grown = site.with_entry("v2", os.urandom(32))
    assert grown.count == 2
    assert grown.fingerprint != site.fingerprint
    with pytest.raises(CredentialError):
        site.voter_of(os.urandom(32))


def test_the_offline_command_writes_private_letters_and_a_public_list(tmp_path):
    voters = tmp_path / "voters.csv"
    voters.write_text("# voter,label\nU-1,Building 1 Unit 101\nU-2,1-102\n\nU-3\n", "utf-8")
    out = tmp_path / "out"
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "elections.credentials",
            "--box",
            "agm-2026",
            "--voters",
            str(voters),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "3 credentials" in process.stdout
    assert process.stderr == ""
    letters = (out / "letters.txt").read_text("utf-8")
    assert stat.S_IMODE((out / "letters.txt").stat().st_mode) == 0o600
    public = json.loads((out / "credentials.json").read_text("utf-8"))
    listed = CredentialList.from_json(public)
    assert [e.voter_id for e in listed.entries] == ["U-1", "U-2", "U-3"]
    assert listed.fingerprint in process.stdout
    assert "CYC1-" not in (out / "credentials.json").read_text("utf-8")
    pages = letters.split("\f")
    assert len(pages) == 3
    assert "Building 1 Unit 101" in pages[0]
    for page, entry in zip(pages, listed.entries, strict=True):
        text = next(line.strip() for line in page.splitlines() if "CYC1-" in line)
        assert signing_public_key(parse_credential_text(text)) == entry.public_key


def test_the_offline_command_can_number_voters(tmp_path, capsys):
    assert main(["--box", "b", "--count", "12", "--out", str(tmp_path)]) == 0
    listed = CredentialList.from_json(json.loads((tmp_path / "credentials.json").read_text()))
    assert listed.entries[0].voter_id == "V0001"
    assert listed.count == 12
    with pytest.raises(SystemExit):
        main(["--box", "b", "--count", "0", "--out", str(tmp_path)])


def test_a_signed_ballot_verifies_only_with_its_own_credential():
    letters, credentials = generate_credentials("b", [("v1", ""), ("v2", "")])
    from elections.board import check_ballot

    key = parse_credential_text(letters[0].credential)
    signature = sign_ballot(key, "b", b"sealed")
    mine = signing_public_key(key)
    assert check_ballot(credentials, "b", mine, signature, b"sealed") == "v1"
    other = credentials.entries[1].public_key
    with pytest.raises(CredentialError):
        check_ballot(credentials, "b", other, signature, b"sealed")
    with pytest.raises(CredentialError):
        check_ballot(credentials, "b", mine, signature, b"sealed!")
    assert unb64(credentials.to_json()["credentials"][0]["key"]) == mine
