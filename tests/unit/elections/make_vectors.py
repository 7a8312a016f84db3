"""Write ``vectors.json``: shared test vectors for elections/sealing.py and static/js/seal.js.

Every key and nonce is derived from a label with SHA-256, so the file is reproducible:
``python tests/unit/elections/make_vectors.py`` rewrites it byte for byte, and
``test_sealing.py`` checks that the Python code still produces every vector.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from elections.ballots import encode_candidate_ballot, encode_motion_ballot  # noqa: E402
from elections.board import tracking_code  # noqa: E402
from elections.canonical import b64  # noqa: E402
from elections.credentials import credential_text, sign_ballot  # noqa: E402
from elections.sealing import box_public_key, seal_ballot  # noqa: E402
from elections.signatures import signing_public_key  # noqa: E402

PATH = Path(__file__).with_name("vectors.json")


def derived(label: str, size: int = 32) -> bytes:
    """Deterministic bytes for a label (test vectors only)."""
    return hashlib.sha256(f"courtyard test vector {label}".encode()).digest()[:size]


CASES = [
    (
        "motion ballot",
        "box-2026-agm",
        "motion",
        encode_motion_ballot({"m1": "agree", "m2": "disagree", "m3": "abstain"}),
    ),
    (
        "candidate ballot",
        "box-2026-committee",
        "candidate",
        encode_candidate_ballot(["c03", "c01", "c07"]),
    ),
    ("blank candidate ballot", "box-2026-committee", "candidate", encode_candidate_ballot([])),
    (
        "unicode box id",
        "幸福里小区-2026-业主大会",
        "motion",
        encode_motion_ballot({"改建": "agree"}, follow_majority=True),
    ),
    ("empty plaintext", "b", "bid", b""),
    ("long plaintext", "box-long", "score", bytes(range(256)) * 5),
]


def build() -> dict[str, Any]:
    """The whole vector file as plain data."""
    box_private = derived("box private key")
    box_public = box_public_key(box_private)
    credential = derived("credential")
    seals = []
    for index, (name, box_id, kind, plaintext) in enumerate(CASES):
        ephemeral = derived(f"ephemeral {index}")
        nonce = derived(f"nonce {index}", 12)
        sealed = seal_ballot(
            box_public, box_id, kind, plaintext, ephemeral_private=ephemeral, nonce=nonce
        )
        seals.append(
            {
                "name": name,
                "box_id": box_id,
                "kind": kind,
                "plaintext": b64(plaintext),
                "ephemeral_private": b64(ephemeral),
                "nonce": b64(nonce),
                "sealed": b64(sealed),
                "tracking_code": tracking_code(sealed),
                "signature": b64(sign_ballot(credential, box_id, sealed)),
            }
        )
    return {
        "format": "courtyard-seal-vectors",
        "version": 1,
        "box_private": b64(box_private),
        "box_public": b64(box_public),
        "credential_private": b64(credential),
        "credential_public": b64(signing_public_key(credential)),
        "credential_text": credential_text(credential),
        "seals": seals,
        "ballots": [
            {
                "motion": {"choices": {"m2": "agree", "m1": "abstain"}, "follow_majority": False},
                "plaintext": b64(encode_motion_ballot({"m2": "agree", "m1": "abstain"})),
            },
            {
                "candidate": ["c9", "c10", "c2"],
                "plaintext": b64(encode_candidate_ballot(["c9", "c10", "c2"])),
            },
        ],
    }


def render() -> bytes:
    """The file's exact bytes (sorted keys, indented for reading)."""
    return (json.dumps(build(), sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


if __name__ == "__main__":
    PATH.write_bytes(render())
    print(f"wrote {PATH}")
