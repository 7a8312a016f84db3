"""Whatever single thing is changed in a bundle, does the verifier name where it broke?

Each test takes an honest bundle, changes one thing as an attacker would — a record changed,
deleted, inserted, moved or replayed, a key share swapped, a figure altered, a signature
forged — and checks that verification fails and names the place.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from election_world import (
    BOX_SETTINGS,
    SCRUTINEERS,
    World,
    passphrase,
    read_file,
    read_json,
    replace_file,
)
from hypothesis import given
from hypothesis import strategies as st

from elections import verify_bundle
from elections.board import genesis_hash, record_hash
from elections.bundle import build_bundle
from elections.canonical import b64, canonical_json, unb64
from elections.ceremony import make_ceremony, unprotect_share
from elections.signatures import sign_record
from elections.verify import Report

WORLDS = st.sampled_from(["motion_world", "election_world"])


def board_lines(world: World) -> tuple[bytes, list[dict]]:
    header, *lines = read_file(world.bundle, "board.jsonl").rstrip(b"\n").split(b"\n")
    return header, [json.loads(line) for line in lines]


def with_board(world: World, header: bytes, records: list[dict]) -> bytes:
    data = b"\n".join([header, *(canonical_json(r) for r in records)]) + b"\n"
    return replace_file(world.bundle, "board.jsonl", data)


def rechain(box_id: str, records: list[dict]) -> list[dict]:
    """Renumber and re-hash every record, as an attacker rewriting the board would."""
    prev = genesis_hash(box_id)
    out = []
    for number, record in enumerate(records, start=1):
        digest = record_hash(
            prev,
            number,
            unb64(record["credential"]),
            unb64(record["signature"]),
            hashlib.sha256(unb64(record["sealed"])).digest(),
            server_sealed=record["server_sealed"],
        )
        out.append({**record, "n": number, "prev": prev.hex(), "hash": digest.hex()})
        prev = digest
    return out


def names(report: Report, place: str) -> bool:
    """True when a discrepancy is at ``place`` exactly or at a sub-place of it."""
    return any(
        p == place or p.startswith(place + ",") or p.startswith(place + " ")
        for p in report.places()
    )


def flip(text: str, at: int) -> str:
    data = bytearray(unb64(text))
    data[at % len(data)] ^= 0x40
    return b64(bytes(data))


@BOX_SETTINGS
@given(WORLDS, st.data())
def test_a_changed_record_is_named(request, world_name, data):
    world = request.getfixturevalue(world_name)
    header, records = board_lines(world)
    index = data.draw(st.integers(0, len(records) - 1))
    field = data.draw(
        st.sampled_from(["sealed", "signature", "credential", "n", "prev", "server_sealed"])
    )
    record = dict(records[index])
    if field == "credential":
        other = records[(index + 1) % len(records)]
        record["credential"] = other["credential"]
    elif field == "n":
        record["n"] = record["n"] + data.draw(st.integers(1, 5))
    elif field == "prev":
        record["prev"] = os.urandom(32).hex()
    elif field == "server_sealed":  # hide (or invent) that the server sealed this ballot
        record["server_sealed"] = not record["server_sealed"]
    else:
        record[field] = flip(record[field], data.draw(st.integers(0, 300)))
    records[index] = record
    report = verify_bundle(with_board(world, header, records))
    assert not report.ok
    assert names(report, f"board record {index + 1}"), report.places()


@BOX_SETTINGS
@given(WORLDS, st.data())
def test_a_deleted_record_is_named(request, world_name, data):
    world = request.getfixturevalue(world_name)
    header, records = board_lines(world)
    index = data.draw(st.integers(0, len(records) - 1))
    del records[index]
    report = verify_bundle(with_board(world, header, records))
    assert not report.ok
    assert names(report, f"board record {index + 1}"), report.places()


@BOX_SETTINGS
@given(WORLDS, st.data(), st.booleans())
def test_an_inserted_record_is_named(request, world_name, data, forged_credential):
    world = request.getfixturevalue(world_name)
    header, records = board_lines(world)
    index = data.draw(st.integers(0, len(records)))
    fake = dict(records[data.draw(st.integers(0, len(records) - 1))])
    if forged_credential:  # a ballot for a credential the office never issued
        fake["credential"] = b64(os.urandom(32))
    fake["sealed"] = flip(fake["sealed"], 60)
    records.insert(index, fake)
    chained = rechain(world.box_id, records)
    records = records[:index] + chained[index : index + 1] + records[index + 1 :]
    report = verify_bundle(with_board(world, header, records))
    assert not report.ok
    assert names(report, f"board record {index + 1}"), report.places()


@BOX_SETTINGS
@given(WORLDS, st.data())
def test_reordered_records_are_named(request, world_name, data):
    world = request.getfixturevalue(world_name)
    header, records = board_lines(world)
    i = data.draw(st.integers(0, len(records) - 2))
    j = data.draw(st.integers(i + 1, len(records) - 1))
    records[i], records[j] = records[j], records[i]
    report = verify_bundle(with_board(world, header, records))
    assert not report.ok
    assert names(report, f"board record {i + 1}"), report.places()


@BOX_SETTINGS
@given(WORLDS, st.data())
def test_a_replayed_ballot_is_named_even_with_a_recomputed_chain(request, world_name, data):
    world = request.getfixturevalue(world_name)
    header, records = board_lines(world)
    original = data.draw(st.integers(0, len(records) - 1))
    position = data.draw(st.integers(original + 1, len(records)))
    records.insert(position, dict(records[original]))
    report = verify_bundle(with_board(world, header, rechain(world.box_id, records)))
    assert not report.ok
    replay = [d for d in report.discrepancies if "replay" in d.problem]
    assert replay, report.places()
    assert replay[0].place.startswith(f"board record {position + 1}, voter ")
    assert f"record {original + 1} " in replay[0].problem


def test_a_board_rewritten_by_the_site_itself_is_caught_by_heads_and_scrutineers(motion_world):
    """The site holds its own key: it can re-chain and re-sign, but not the scrutineers."""
    world = motion_world
    header, records = board_lines(world)
    del records[2]
    records = rechain(world.box_id, records)
    board_bytes = b"\n".join([header, *(canonical_json(r) for r in records)]) + b"\n"
    closing = dict(world.heads[-1]["record"], count=len(records), hash=records[-1]["hash"])
    heads = [*world.heads[:-1], sign_record("board-head", closing, {"site": world.site_key})]
    result = dict(world.result_doc["record"])
    result["board"] = {"count": len(records), "hash": records[-1]["hash"]}
    resigned = sign_record("result", result, {"site": world.site_key})
    resigned["signatures"] += world.result_doc["signatures"][1:]
    bundle = build_bundle(
        None,
        definition=world.definition,
        electorate=world.electorate,
        credentials=world.credentials,
        ceremony=world.ceremony_doc,
        board=world.board,
        heads=heads,
        private_key=world.private_key,
        shares=world.shares,
        result=resigned,
        site_key=world.site_key,
        created_at="2026-03-01T10:00:00Z",
    )
    bundle = replace_file(bundle, "board.jsonl", board_bytes)
    report = verify_bundle(bundle)
    assert not report.ok
    assert names(report, "head 2")  # the head published while voting ran
    assert any(d.place == "result" and "scrutineer" in d.problem for d in report.discrepancies)
    assert names(report, "result, result.counts.ballots")


@BOX_SETTINGS
@given(WORLDS, st.data())
def test_a_swapped_key_share_is_named(request, world_name, data):
    world = request.getfixturevalue(world_name)
    opening = read_json(world.bundle, "opening.json")
    index = data.draw(st.integers(0, len(opening["shares"]) - 1))
    target = opening["shares"][index]
    if data.draw(st.booleans()):
        target["y"] = format(int(target["y"], 16) ^ (1 << data.draw(st.integers(0, 255))), "x")
    else:  # the same scrutineer's share of another ceremony
        other = make_ceremony(world.box_id, 3, {s: passphrase(s) for s in SCRUTINEERS}, cost=2**10)
        held = unprotect_share(
            other.protected_shares[target["scrutineer"]], passphrase(target["scrutineer"])
        )
        target["y"] = format(held.share.y, "x")
    bundle = replace_file(world.bundle, "opening.json", canonical_json(opening))
    report = verify_bundle(bundle)
    assert not report.ok
    assert names(report, f"key share {target['x']} (scrutineer {target['scrutineer']})")


#: Paths of figures in a result; "*" stands for one motion or candidate, drawn at random.
FIGURES = {
    "motion_world": [
        ("motions", "*", "agree", "headcount"),
        ("motions", "*", "disagree", "area"),
        ("motions", "*", "adopted"),
        ("motions", "*", "thresholds", "0", "met"),
        ("counts", "void"),
        ("quorum_met",),
    ],
    "election_world": [
        ("candidates", "*", "votes", "headcount"),
        ("candidates", "*", "votes", "area"),
        ("candidates", "*", "outcome"),
        ("counts", "blank"),
        ("elected",),
        ("unfilled_seats",),
    ],
}


def _alter(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return value[:-1] if value else ["c1"]
    return value + "1"


@BOX_SETTINGS
@given(WORLDS, st.data())
def test_an_altered_figure_in_the_result_is_named(request, world_name, data):
    world = request.getfixturevalue(world_name)
    document = json.loads(read_file(world.bundle, "result.json"))
    path = data.draw(st.sampled_from(FIGURES[world_name]))
    node = document["record"]["result"]
    place = "result, result"
    for step in path[:-1]:
        if step == "*":
            node = data.draw(st.sampled_from(node))
            label = "motion" if "motion" in node else "candidate"
            place += f"[{label} {node[label]}]"
        elif step.isdigit():
            node = node[int(step)]
            place += f"[name {node['name']}]"  # thresholds are named by what they test
        else:
            node = node[step]
            place += f".{step}"
    node[path[-1]] = _alter(node[path[-1]])
    place += f".{path[-1]}"
    bundle = replace_file(world.bundle, "result.json", canonical_json(document))
    report = verify_bundle(bundle)
    assert not report.ok
    assert any(p.startswith(place) for p in report.places()), (place, report.places())
    assert "result" in report.places()  # the signatures no longer hold either


@pytest.mark.parametrize(
    ("file", "place"),
    [
        ("result.json", "result"),
        ("heads.json", "head 1"),
        ("ceremony.json", "ceremony"),
        ("manifest.json", "manifest"),
    ],
)
@pytest.mark.parametrize("which", [0, -1])
def test_a_forged_signature_is_named(motion_world, file, place, which):
    document = read_json(motion_world.bundle, file)
    target = document["heads"][0] if file == "heads.json" else document
    target["signatures"][which]["sig"] = b64(os.urandom(64))
    report = verify_bundle(replace_file(motion_world.bundle, file, canonical_json(document)))
    assert not report.ok
    assert any(p == place or p.startswith(place + " (") for p in report.places()), report.places()


def test_a_forged_ballot_signature_is_named(motion_world):
    header, records = board_lines(motion_world)
    records[4]["signature"] = b64(os.urandom(64))
    records = rechain(motion_world.box_id, records)
    report = verify_bundle(with_board(motion_world, header, records))
    assert names(report, "board record 5")
    assert any("signature does not verify" in d.problem for d in report.discrepancies)


@pytest.mark.parametrize(
    "file",
    [
        "definition.json",
        "electorate.json",
        "credentials.json",
        "opening.json",
        "board.jsonl",
        "heads.json",
    ],
)
def test_a_missing_or_garbled_file_is_named(motion_world, file):
    report = verify_bundle(replace_file(motion_world.bundle, file, b"\x00garbage"))
    assert not report.ok
    assert f"file {file}" in report.places()


def test_a_changed_area_in_the_electorate_shows_in_the_recount(motion_world):
    electorate = read_json(motion_world.bundle, "electorate.json")
    electorate["units"][0]["area"] = "999.99"
    report = verify_bundle(
        replace_file(motion_world.bundle, "electorate.json", canonical_json(electorate))
    )
    assert "file electorate.json" in report.places()
    assert any(p.startswith("result, result.total") for p in report.places())
