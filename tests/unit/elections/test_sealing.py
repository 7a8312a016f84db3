"""Do sealed ballots open only with the right key, box and kind, in the documented bytes?"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from make_vectors import PATH, render

from elections.board import tracking_code
from elections.canonical import unb64
from elections.credentials import ballot_signature_message, sign_ballot
from elections.errors import SealError
from elections.sealing import (
    HEADER_SIZE,
    MAGIC,
    BallotOpener,
    box_public_key,
    generate_box_keypair,
    open_ballot,
    seal_ballot,
)
from elections.signatures import verify_bytes

VECTORS = json.loads(Path(PATH).read_text(encoding="utf-8"))
PRIVATE, PUBLIC = generate_box_keypair()


def test_the_shared_vectors_are_what_the_python_code_produces():
    assert Path(PATH).read_bytes() == render(), "run tests/unit/elections/make_vectors.py"


@pytest.mark.parametrize("case", VECTORS["seals"], ids=lambda c: c["name"])
def test_every_vector_opens_and_its_signature_and_receipt_hold(case):
    sealed = unb64(case["sealed"])
    plaintext = open_ballot(unb64(VECTORS["box_private"]), case["box_id"], case["kind"], sealed)
    assert plaintext == unb64(case["plaintext"])
    assert tracking_code(sealed) == case["tracking_code"]
    message = ballot_signature_message(case["box_id"], sealed)
    assert verify_bytes(unb64(VECTORS["credential_public"]), message, unb64(case["signature"]))


def test_the_byte_layout_is_as_documented():
    case = VECTORS["seals"][0]
    sealed = unb64(case["sealed"])
    assert sealed[:4] == MAGIC == b"CYSB"
    assert sealed[4] == 1
    assert sealed[37:HEADER_SIZE] == unb64(case["nonce"])
    assert box_public_key(unb64(case["ephemeral_private"])) == sealed[5:37]
    assert len(sealed) == HEADER_SIZE + len(unb64(case["plaintext"])) + 16


@given(st.binary(max_size=2048), st.text(min_size=1, max_size=40), st.text(max_size=12))
def test_seal_and_open_round_trip(plaintext, box_id, kind):
    sealed = seal_ballot(PUBLIC, box_id, kind, plaintext)
    assert open_ballot(PRIVATE, box_id, kind, sealed) == plaintext
    assert len(sealed) == len(plaintext) + 65


def test_each_seal_is_fresh():
    assert seal_ballot(PUBLIC, "b", "motion", b"x") != seal_ballot(PUBLIC, "b", "motion", b"x")


def test_a_ballot_does_not_open_in_another_box_as_another_kind_or_with_another_key():
    sealed = seal_ballot(PUBLIC, "box-a", "motion", b"{}")
    other_private, _ = generate_box_keypair()
    for private, box, kind in [
        (PRIVATE, "box-b", "motion"),
        (PRIVATE, "box-a", "candidate"),
        (other_private, "box-a", "motion"),
    ]:
        with pytest.raises(SealError):
            open_ballot(private, box, kind, sealed)


@given(st.data())
def test_any_altered_byte_is_refused(data):
    sealed = bytearray(seal_ballot(PUBLIC, "box", "motion", b'{"v":1}'))
    position = data.draw(st.integers(0, len(sealed) - 1))
    sealed[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(SealError):
        open_ballot(PRIVATE, "box", "motion", bytes(sealed))


@pytest.mark.parametrize(
    "sealed",
    [b"", b"CYSB", b"XXXX" + bytes(80), b"CYSB\x02" + bytes(80), b"CYSB\x01" + bytes(60)],
)
def test_malformed_seals_are_refused(sealed):
    with pytest.raises(SealError):
        BallotOpener(PRIVATE, "box", "motion").open(sealed)


def test_degenerate_keys_are_refused():
    low_order = bytes(32)  # the all-zero point gives an all-zero shared secret
    with pytest.raises(SealError):
        seal_ballot(low_order, "b", "k", b"x")
    forged = b"CYSB\x01" + low_order + bytes(12) + bytes(20)
    with pytest.raises(SealError):
        open_ballot(PRIVATE, "b", "k", forged)
    with pytest.raises(SealError):
        seal_ballot(b"short", "b", "k", b"x")
    with pytest.raises(SealError):
        BallotOpener(b"short", "b", "k")
    with pytest.raises(SealError):
        seal_ballot(PUBLIC, "b", "k", b"x", nonce=b"123")


def test_signing_binds_the_box():
    key = unb64(VECTORS["credential_private"])
    sealed = unb64(VECTORS["seals"][0]["sealed"])
    signature = sign_ballot(key, "box-a", sealed)
    public = unb64(VECTORS["credential_public"])
    assert verify_bytes(public, ballot_signature_message("box-a", sealed), signature)
    assert not verify_bytes(public, ballot_signature_message("box-b", sealed), signature)
