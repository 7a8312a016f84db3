"""Does the key ceremony hand out protected shares that only k scrutineers together can use?"""

from __future__ import annotations

import itertools
import re

import pytest
from election_world import TEST_COST, passphrase

from elections.ceremony import (
    TEXT_PREFIX,
    combine_shares,
    make_ceremony,
    protect_share,
    share_fingerprint,
    unprotect_share,
)
from elections.errors import KeyShareError, WeakPassphraseError, WrongPassphraseError
from elections.sealing import open_ballot, seal_ballot
from elections.signatures import sign_bytes, signing_public_key, verify_bytes

SCRUTINEERS = ("chen", "lin", "huang", "zhou", "wu")


@pytest.fixture(scope="module")
def ceremony():
    return make_ceremony("box-7", 3, {s: passphrase(s) for s in SCRUTINEERS}, cost=TEST_COST)


@pytest.fixture(scope="module")
def held(ceremony):
    return {s: unprotect_share(ceremony.protected_shares[s], passphrase(s)) for s in SCRUTINEERS}


def test_the_public_record_lists_each_scrutineer_and_commits_to_each_share(ceremony, held):
    record = ceremony.record()
    assert (record["k"], record["n"], record["box"]) == (3, 5, "box-7")
    assert [e["scrutineer"] for e in record["scrutineers"]] == list(SCRUTINEERS)
    for entry in ceremony.scrutineers:
        mine = held[entry.scrutineer_id]
        assert entry.x == mine.share.x
        assert entry.share_fingerprint == share_fingerprint("box-7", mine.share)
        assert entry.signing_public_key == signing_public_key(mine.signing_key)
    assert "private" not in repr(record)


def test_any_three_of_five_open_the_box_and_two_do_not(ceremony, held):
    sealed = seal_ballot(ceremony.public_key, "box-7", "motion", b"ballot")
    for trio in itertools.combinations(SCRUTINEERS, 3):
        key = combine_shares([held[s] for s in trio], ceremony.public_key)
        assert open_ballot(key, "box-7", "motion", sealed) == b"ballot"
    with pytest.raises(KeyShareError):
        combine_shares([held["chen"], held["lin"]], ceremony.public_key)


def test_a_share_from_another_ceremony_is_refused(ceremony, held):
    other = make_ceremony("box-7", 3, {s: passphrase(s) for s in SCRUTINEERS}, cost=TEST_COST)
    stranger = unprotect_share(other.protected_shares["wu"], passphrase("wu"))
    with pytest.raises(KeyShareError, match="one is wrong"):
        combine_shares([held["chen"], held["lin"], stranger], ceremony.public_key)


def test_shares_of_another_box_are_refused(held):
    other = make_ceremony("box-8", 2, {"a": passphrase("a"), "b": passphrase("b")}, cost=TEST_COST)
    mixed = [held["chen"], unprotect_share(other.protected_shares["a"], passphrase("a"))]
    with pytest.raises(KeyShareError, match="different ballot boxes"):
        combine_shares(mixed)
    with pytest.raises(KeyShareError):
        combine_shares([])


def test_a_wrong_passphrase_or_an_altered_text_is_refused(ceremony):
    text = ceremony.protected_shares["chen"]
    with pytest.raises(WrongPassphraseError):
        unprotect_share(text, passphrase("lin"))
    altered = text[:-3] + ("A" if text[-3] != "A" else "B") + text[-2:]
    with pytest.raises((WrongPassphraseError, KeyShareError)):
        unprotect_share(altered, passphrase("chen"))
    for junk in ("hello", TEXT_PREFIX + "!!!", TEXT_PREFIX + "AAAA"):
        with pytest.raises(KeyShareError):
            unprotect_share(junk, passphrase("chen"))


def test_the_protected_share_fits_a_qr_code_in_alphanumeric_mode(ceremony):
    for text in ceremony.protected_shares.values():
        assert re.fullmatch(r"[0-9A-Z $%*+\-./:]+", text)
        assert len(text) < 400


def test_scanned_text_with_line_breaks_and_lower_case_still_opens(ceremony, held):
    text = ceremony.protected_shares["zhou"]
    wrapped = "\n".join(text[i : i + 60] for i in range(0, len(text), 60)).lower()
    assert unprotect_share(wrapped, passphrase("zhou")) == held["zhou"]


def test_a_short_passphrase_is_refused():
    with pytest.raises(WeakPassphraseError):
        make_ceremony("b", 2, {"a": "short", "b": passphrase("b")}, cost=TEST_COST)


def test_the_scrypt_cost_must_be_sane(held):
    with pytest.raises(KeyShareError):
        protect_share(held["chen"], passphrase("chen"), cost=1000)


def test_each_scrutineer_can_sign_with_the_key_in_their_share(ceremony, held):
    entry = next(e for e in ceremony.scrutineers if e.scrutineer_id == "huang")
    signature = sign_bytes(held["huang"].signing_key, b"count record")
    assert verify_bytes(entry.signing_public_key, b"count record", signature)
