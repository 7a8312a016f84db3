"""Does an honest bundle verify offline, with the same count the site signed?"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from election_world import build_world, read_json

from elections import verify_bundle
from elections.bundle import FILES, MANIFEST
from elections.canonical import b64
from elections.result import RESULT_PURPOSE, differences, scrutineer_signer
from elections.rules import NonVoterPolicy, VotingPolicy
from elections.signatures import new_signing_key, signature_problems, signing_public_key

ROOT = Path(__file__).resolve().parents[3]


def test_an_honest_meeting_bundle_verifies(motion_world):
    report = verify_bundle(motion_world.bundle)
    assert report.ok, report.discrepancies
    assert report.records == len(motion_world.board.records)
    assert any(note.startswith("recount:") for note in report.notes)


def test_an_honest_election_bundle_verifies(election_world):
    report = verify_bundle(election_world.bundle)
    assert report.ok, report.discrepancies


@pytest.mark.parametrize(
    "policy",
    [VotingPolicy(NonVoterPolicy.FOLLOW_MAJORITY), VotingPolicy(follow_majority_box=False)],
)
def test_bundles_verify_under_every_policy(policy):
    world = build_world(seed=7, policy=policy, units=16, turnout=0.6)
    assert verify_bundle(world.bundle).ok


def test_the_bundle_is_a_zip_of_versioned_json_with_a_signed_manifest(motion_world):
    archive = zipfile.ZipFile(BytesIO(motion_world.bundle))
    assert archive.namelist() == [MANIFEST, *FILES]
    manifest = read_json(motion_world.bundle, MANIFEST)
    assert manifest["record"]["format"] == "courtyard-audit-bundle"
    assert manifest["record"]["version"] == 1
    for name in FILES:
        if name.endswith(".json"):
            data = read_json(motion_world.bundle, name)
            body = data.get("record", data)
            assert body["version"] == 1, name
            assert body["format"].startswith("courtyard-"), name
    assert motion_world.rebuild() == motion_world.bundle  # deterministic bytes
    records = list(motion_world.board.records)  # a board kept in a database, say
    assert motion_world.rebuild(board=records) == motion_world.bundle


def test_the_result_is_signed_by_the_site_and_each_scrutineer_who_opened(motion_world):
    document = motion_world.result_doc
    expected = {"site": signing_public_key(motion_world.site_key)}
    for held in motion_world.shares:
        expected[scrutineer_signer(held.scrutineer_id)] = signing_public_key(held.signing_key)
    assert signature_problems(RESULT_PURPOSE, document, expected) == []
    record = document["record"]
    assert record["opened_by"] == sorted(s.scrutineer_id for s in motion_world.shares)
    assert record["board"]["count"] == len(motion_world.board.records)
    assert record["board"]["server_sealed"] == sum(
        r.server_sealed for r in motion_world.board.records
    )
    assert record["board"]["server_sealed"] > 0
    assert record["credentials"] == motion_world.credentials.published()
    assert "offline" in record["credentials_statement"]
    for motion in record["result"]["motions"]:
        for threshold in motion["thresholds"]:
            assert set(threshold) >= {"figure", "bar", "met"}


def test_differences_name_motions_and_candidates_by_id():
    published = {"motions": [{"motion": "m1", "agree": 3}, {"motion": "m2", "agree": 4}]}
    recount = {"motions": [{"motion": "m1", "agree": 3}, {"motion": "m2", "agree": 5}]}
    assert differences(published, recount) == [
        ("motions[motion m2].agree", "published 4, recount 5")
    ]
    assert differences({"a": 1}, {"b": 1}) == [
        ("a", "not in the recount"),
        ("b", "missing from the published record"),
    ]


def test_the_verifier_pins_the_site_key_when_given(motion_world):
    assert verify_bundle(motion_world.bundle, site_key=signing_public_key(motion_world.site_key)).ok
    report = verify_bundle(motion_world.bundle, site_key=signing_public_key(new_signing_key()))
    assert "manifest" in report.places()


def test_a_large_bundle_is_verified_by_several_processes():
    world = build_world(seed=11, units=2_400, turnout=1.0)
    assert len(world.board.records) > 2_000
    report = verify_bundle(world.bundle, workers=2)
    assert report.ok, report.discrepancies[:5]


def test_the_command_line_exits_0_when_all_holds_and_1_on_a_discrepancy(motion_world, tmp_path):
    good = tmp_path / "good.zip"
    good.write_bytes(motion_world.bundle)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "elections.verify",
            str(good),
            "--site-key",
            b64(signing_public_key(motion_world.site_key)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: everything in the bundle holds" in run.stdout
    assert "RuntimeWarning" not in run.stderr
    bad = tmp_path / "bad.zip"
    bad.write_bytes(motion_world.bundle[:-100])
    run = subprocess.run(
        [sys.executable, "-m", "elections", "verify", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert "DISCREPANCY  bundle:" in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "elections.verify", str(tmp_path / "none.zip")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
