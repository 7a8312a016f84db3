"""The result record: figures, thresholds, ballot counts and board head, signed.

The record is canonical JSON signed (purpose ``result``) by the site key and by each scrutineer
who brought a share to the opening, with the signing key the ceremony gave them. Signer names are
``"site"`` and ``"scrutineer:<id>"``. The verifier rebuilds the same record from its own recount
and compares it field by field, so an altered figure is named by its place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .ballots import Election, MotionVote
from .ceremony import ScrutineerShare
from .credentials import CredentialList, CredentialMode
from .signatures import add_signature, sign_record
from .tally import ElectionResult, MotionsResult

RESULT_FORMAT = "courtyard-result"
RESULT_PURPOSE = "result"

MODE_STATEMENTS = {
    CredentialMode.AUTHORITY: (
        "Credentials were generated offline by the community office; the site never held a "
        "private credential."
    ),
    CredentialMode.SITE_ISSUED: (
        "Credentials were issued by the site in each owner's browser: weaker, because the site "
        "could have registered a credential for an owner who never voted."
    ),
}


def scrutineer_signer(scrutineer_id: str) -> str:
    """The signer name of a scrutineer on a result."""
    return f"scrutineer:{scrutineer_id}"


def result_record(
    *,
    definition: MotionVote | Election,
    result: MotionsResult | ElectionResult,
    credentials: CredentialList,
    board_count: int,
    board_hash: str,
    server_sealed: int = 0,
    scrutineers: Sequence[str],
    voters_taking_part: int | None = None,
) -> dict[str, Any]:
    """The result record of a ballot box (unsigned).

    ``board_count``/``board_hash`` are the closing head, ``server_sealed`` the number of its
    ballots the server sealed for owners without JavaScript; ``scrutineers`` are the ids of
    those whose shares opened the box; ``voters_taking_part`` (an election round's signed-in
    voters, when counted against) is kept with the board so the verifier recounts alike.
    """
    board: dict[str, Any] = {"count": board_count, "hash": board_hash,
                             "server_sealed": server_sealed}
    if voters_taking_part is not None:
        #: The voters signed in for an election round: more ballots than this void it.
        board["voters_taking_part"] = voters_taking_part
    return {
        "format": RESULT_FORMAT,
        "version": 1,
        "box": definition.box_id,
        "definition": definition.to_json(),
        "credentials": credentials.published(),
        "credentials_statement": MODE_STATEMENTS[credentials.mode],
        "board": board,
        "opened_by": sorted(scrutineers),
        "result": result.to_json(),
    }


def sign_result(
    record: Mapping[str, Any], site_key: bytes, shares: Sequence[ScrutineerShare]
) -> dict[str, Any]:
    """Sign a result record by the site and by each scrutineer whose share opened the box."""
    document = sign_record(RESULT_PURPOSE, record, {"site": site_key})
    for held in shares:
        document = add_signature(
            RESULT_PURPOSE, document, scrutineer_signer(held.scrutineer_id), held.signing_key
        )
    return document


def _key_of(item: Mapping[str, Any]) -> str | None:
    for key in ("motion", "candidate", "name", "record"):
        if key in item:
            return f"{key} {item[key]}"
    return None


def differences(published: Any, recount: Any, path: str = "") -> list[tuple[str, str]]:
    """Every place where two records differ, as ``(place, what)``.

    Lists of motions and candidates are matched by their ids, so a place reads like
    ``result.motions[motion m2].agree.area``.
    """
    if isinstance(published, Mapping) and isinstance(recount, Mapping):
        found = []
        for key in sorted(set(published) | set(recount)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in published:
                found.append((sub, "missing from the published record"))
            elif key not in recount:
                found.append((sub, "not in the recount"))
            else:
                found.extend(differences(published[key], recount[key], sub))
        return found
    if isinstance(published, list) and isinstance(recount, list):
        found = []
        for index in range(max(len(published), len(recount))):
            left = published[index] if index < len(published) else None
            right = recount[index] if index < len(recount) else None
            label = _key_of(right) if isinstance(right, Mapping) else None
            label = label or (_key_of(left) if isinstance(left, Mapping) else None) or str(index)
            found.extend(differences(left, right, f"{path}[{label}]"))
        return found
    if published != recount:
        return [(path, f"published {published!r}, recount {recount!r}")]
    return []
