"""Does the board chain every accepted ballot, refuse the rest, and give working receipts?"""

from __future__ import annotations

import pytest

from elections.board import (
    HEAD_PURPOSE,
    Board,
    BoardRecord,
    chain_record,
    genesis_hash,
    read_jsonl_header,
    record_hash,
    records_from_lines,
    tracking_code,
)
from elections.credentials import (
    CredentialMode,
    generate_credentials,
    parse_credential_text,
    sign_ballot,
)
from elections.errors import (
    BoardClosedError,
    BoardError,
    CredentialError,
    DuplicateCredentialError,
)
from elections.sealing import generate_box_keypair, seal_ballot
from elections.signatures import new_signing_key, signature_problems, signing_public_key

BOX = "box-9"
_, PUBLIC = generate_box_keypair()


@pytest.fixture
def voters():
    letters, credentials = generate_credentials(BOX, [(f"v{i}", "") for i in range(6)])
    keys = [parse_credential_text(letter.credential) for letter in letters]
    return credentials, keys


def cast(key: bytes, text: bytes = b"{}") -> tuple[bytes, bytes, bytes]:
    sealed = seal_ballot(PUBLIC, BOX, "motion", text)
    return signing_public_key(key), sign_ballot(key, BOX, sealed), sealed


def test_receipts_are_numbered_and_found_by_tracking_code(voters):
    credentials, keys = voters
    board = Board(BOX, credentials)
    receipts = [board.append(*cast(key)) for key in keys[:4]]
    assert [r.number for r in receipts] == [1, 2, 3, 4]
    for receipt, record in zip(receipts, board.records, strict=True):
        assert receipt.tracking_code == tracking_code(record.sealed)
        assert len(receipt.tracking_code) == 11
        assert board.lookup(receipt.tracking_code) == record
        assert board.lookup(receipt.tracking_code.lower().replace("-", " ")) == record
    assert board.lookup("AAAAA-AAAAA") is None


def test_the_chain_links_each_record_to_the_one_before_from_a_genesis_of_its_box(voters):
    credentials, keys = voters
    board = Board(BOX, credentials)
    for key in keys[:3]:
        board.append(*cast(key))
    assert board.records[0].prev_hash == genesis_hash(BOX) != genesis_hash("box-10")
    for before, after in zip(board.records, board.records[1:], strict=False):
        assert after.prev_hash == before.hash
    for record in board.records:
        again = chain_record(
            record.prev_hash, record.number, record.credential, record.signature, record.sealed
        )
        assert again == record
    first = board.records[0]
    marked = chain_record(
        first.prev_hash, 1, first.credential, first.signature, first.sealed, server_sealed=True
    )
    assert marked.hash != first.hash  # the mark is in the hash
    assert marked.server_sealed
    assert (
        record_hash(first.prev_hash, 2, first.credential, first.signature, bytes(32)) != first.hash
    )


def test_one_ballot_per_credential(voters):
    credentials, keys = voters
    board = Board(BOX, credentials)
    board.append(*cast(keys[0]))
    with pytest.raises(DuplicateCredentialError, match="record 1"):
        board.append(*cast(keys[0], b"changed my mind"))


def test_unknown_credentials_and_bad_signatures_are_refused(voters):
    credentials, keys = voters
    board = Board(BOX, credentials)
    with pytest.raises(CredentialError):
        board.append(*cast(new_signing_key()))
    credential, signature, sealed = cast(keys[0])
    with pytest.raises(CredentialError, match="signature"):
        board.append(credential, signature, sealed + b"x")
    with pytest.raises(CredentialError):
        board.append(
            signing_public_key(new_signing_key()), signature, sealed, check_signature=False
        )
    assert board.records == []


def test_a_closed_box_takes_no_ballot_and_heads_are_signed(voters):
    credentials, keys = voters
    board = Board(BOX, credentials)
    site = new_signing_key()
    board.append(*cast(keys[0]))
    open_head = board.head(site, "2026-05-01T10:00:00Z")
    assert open_head["record"]["count"] == 1
    assert open_head["record"]["hash"] == board.records[0].hash.hex()
    assert open_head["record"]["credentials"] == credentials.published()
    assert not open_head["record"]["closed"]
    closing = board.head(site, "2026-05-02T20:00:00Z", closing=True)
    assert closing["record"]["closed"]
    assert signature_problems(HEAD_PURPOSE, closing, {"site": signing_public_key(site)}) == []
    assert signature_problems(HEAD_PURPOSE, closing, {"site": signing_public_key(keys[0])})
    with pytest.raises(BoardClosedError):
        board.append(*cast(keys[1]))


def test_site_issued_credentials_are_registered_at_first_use(voters):
    _, keys = voters
    _, site_list = generate_credentials(BOX, [], CredentialMode.SITE_ISSUED)
    board = Board(BOX, site_list)
    board.register("v0", signing_public_key(keys[0]))
    board.append(*cast(keys[0]))
    authority, _ = voters
    frozen = Board(BOX, authority)
    with pytest.raises(CredentialError, match="frozen"):
        frozen.register("v9", signing_public_key(keys[1]))
    board.head(new_signing_key(), "t", closing=True)
    with pytest.raises(BoardClosedError):
        board.register("v1", signing_public_key(keys[1]))


def test_a_board_belongs_to_the_box_of_its_credential_list(voters):
    credentials, _ = voters
    with pytest.raises(CredentialError):
        Board("another-box", credentials)


def test_the_board_file_round_trips(voters):
    credentials, keys = voters
    board = Board(BOX, credentials)
    for key in keys:
        board.append(*cast(key))
    board.records.append(
        chain_record(board.head_hash, 7, keys[0], b"s" * 64, b"x", server_sealed=True)
    )
    header, lines = read_jsonl_header(board.to_jsonl())
    assert header == {"format": "courtyard-board", "version": 1, "box": BOX}
    assert records_from_lines(lines) == board.records
    with pytest.raises(BoardError):
        read_jsonl_header(b"")
    with pytest.raises(BoardError):
        read_jsonl_header(b'{"format": "x"}\n')
    with pytest.raises(BoardError):
        read_jsonl_header(b"not json\n")
    with pytest.raises(BoardError):
        BoardRecord.from_json({"n": 1})
    line = board.records[0].to_json()
    with pytest.raises(BoardError):
        BoardRecord.from_json({**line, "server_sealed": "no"})
