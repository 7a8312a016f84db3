"""Courtyard's vote integrity engine: pure domain code, plain data in, plain data out.

No Flask, no database: only the standard library and ``cryptography``, so an auditor can run
``python -m elections.verify BUNDLE`` on their own machine. The public API, by step of a vote:

Electorate and rules (art. 278)
    ``Electorate(units)``, ``Unit``, ``Voter``; ``Matter``, ``Choice``, ``VotingPolicy``,
    ``NonVoterPolicy``, ``Weight``, ``Threshold``; ``quorum``, ``adoption``,
    ``ordinary_approval``.
Ballots
    ``MotionVote``, ``Motion``, ``Election``, ``Candidate``; ``encode_motion_ballot``,
    ``encode_candidate_ballot``; ``read_ballot`` (the validity rules).
Key ceremony (when voting opens)
    ``make_ceremony(box_id, k, passphrases) -> Ceremony``; ``protect_share``,
    ``unprotect_share(text, passphrase)``, ``combine_shares(shares, expected_public_key)``.
Credentials
    ``generate_credentials``, ``CredentialList`` (``.fingerprint``, ``.published()``),
    ``sign_ballot``; offline: ``python -m elections.credentials``.
Casting
    ``seal_ballot(box_public, box_id, kind, plaintext)``; ``Board.append(...) -> Receipt``,
    ``Board.head(site_key, at)`` (signed), ``Board.lookup(code)``; ``chain_record`` and
    ``check_ballot`` for a board kept in a database.
Opening and result
    ``open_ballot``, ``count_board(...)``, ``tally_motions``, ``tally_candidates``,
    ``result_record(...)``, ``sign_result(record, site_key, shares)``.
Audit
    ``build_bundle(path, ...)``, ``verify_bundle(path) -> Report``.

Names are imported on first use (PEP 562), so ``python -m elections.verify`` and
``python -m elections.credentials`` run without importing their module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name → module that defines it.
_EXPORTS = {
    "errors": (
        "ElectionError",
        "ElectorateError",
        "UnknownVoterError",
        "DefinitionError",
        "DuplicateBallotError",
        "SealError",
        "KeyShareError",
        "WrongPassphraseError",
        "WeakPassphraseError",
        "SignatureError",
        "CredentialError",
        "BoardError",
        "DuplicateCredentialError",
        "BoardClosedError",
        "BundleFormatError",
    ),
    "electorate": ("Electorate", "Unit", "Voter", "parse_area"),
    "rules": (
        "Matter",
        "Choice",
        "NonVoterPolicy",
        "VotingPolicy",
        "Weight",
        "Threshold",
        "quorum",
        "adoption",
        "adoption_bar",
        "ordinary_approval",
        "majority_choice",
        "extraordinary_request",
        "check",
    ),
    "ballots": (
        "BallotKind",
        "Motion",
        "MotionVote",
        "Candidate",
        "Election",
        "MotionBallot",
        "CandidateBallot",
        "VoidBallot",
        "VoidReason",
        "encode_motion_ballot",
        "encode_candidate_ballot",
        "read_ballot",
        "read_motion_ballot",
        "read_candidate_ballot",
        "check_candidate_selection",
        "definition_from_json",
    ),
    "tally": (
        "Cast",
        "MotionsResult",
        "MotionTally",
        "ElectionResult",
        "CandidateTally",
        "Outcome",
        "tally_motions",
        "tally_candidates",
        "tally",
    ),
    "sealing": (
        "seal_ballot",
        "open_ballot",
        "BallotOpener",
        "generate_box_keypair",
        "box_public_key",
    ),
    "shamir": ("Share", "split_secret", "combine_secret"),
    "ceremony": (
        "Ceremony",
        "ScrutineerShare",
        "make_ceremony",
        "protect_share",
        "unprotect_share",
        "combine_shares",
    ),
    "credentials": (
        "CredentialList",
        "CredentialMode",
        "CredentialEntry",
        "generate_credentials",
        "sign_ballot",
        "credential_text",
        "parse_credential_text",
    ),
    "signatures": ("new_signing_key", "signing_public_key", "sign_record", "add_signature"),
    "board": (
        "Board",
        "BoardRecord",
        "Receipt",
        "chain_record",
        "check_ballot",
        "head_record",
        "genesis_hash",
        "tracking_code",
    ),
    "counting": ("count_board", "open_board", "read_casts"),
    "result": ("result_record", "sign_result"),
    "bundle": ("build_bundle", "read_bundle"),
    "verify": ("verify_bundle", "Report", "Discrepancy"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'elections' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from .ballots import *  # noqa: F403
    from .board import *  # noqa: F403
    from .bundle import *  # noqa: F403
    from .ceremony import *  # noqa: F403
    from .counting import *  # noqa: F403
    from .credentials import *  # noqa: F403
    from .electorate import *  # noqa: F403
    from .errors import *  # noqa: F403
    from .result import *  # noqa: F403
    from .rules import *  # noqa: F403
    from .sealing import *  # noqa: F403
    from .shamir import *  # noqa: F403
    from .signatures import *  # noqa: F403
    from .tally import *  # noqa: F403
    from .verify import *  # noqa: F403
