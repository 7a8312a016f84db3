"""The audit bundle: one ZIP of versioned JSON that lets anyone recheck a ballot box.

See ``elections/README.md`` for the file-by-file format. :func:`build_bundle` writes it after
the result is signed; :func:`read_bundle` reads it back for :mod:`elections.verify`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .ballots import Election, MotionVote
from .board import Board, BoardRecord, board_jsonl
from .canonical import b64, canonical_json, sha256_hex
from .ceremony import ScrutineerShare
from .credentials import CredentialList
from .electorate import Electorate
from .errors import BundleFormatError
from .signatures import sign_record, signing_public_key

BUNDLE_FORMAT = "courtyard-audit-bundle"
BUNDLE_VERSION = 1
MANIFEST_PURPOSE = "bundle"
MANIFEST = "manifest.json"
#: Every file of a version 1 bundle besides the manifest.
FILES = (
    "definition.json",
    "electorate.json",
    "credentials.json",
    "ceremony.json",
    "board.jsonl",
    "heads.json",
    "opening.json",
    "result.json",
)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _versioned(kind: str, body: Mapping[str, Any]) -> bytes:
    return canonical_json({"format": f"courtyard-{kind}", "version": 1, **body})


def opening_json(private_key: bytes, shares: Sequence[ScrutineerShare]) -> dict[str, Any]:
    """What the opening publishes: the rebuilt key and the shares that rebuilt it."""
    return {
        "private_key": b64(private_key),
        "shares": [
            {
                "scrutineer": s.scrutineer_id,
                "x": s.share.x,
                "k": s.share.k,
                "n": s.share.n,
                "y": format(s.share.y, "x"),
            }
            for s in sorted(shares, key=lambda s: s.share.x)
        ],
    }


def build_bundle(
    path: str | Path | None,
    *,
    definition: MotionVote | Election,
    electorate: Electorate,
    credentials: CredentialList,
    ceremony: Mapping[str, Any],
    board: Board | Sequence[BoardRecord],
    heads: Sequence[Mapping[str, Any]],
    private_key: bytes,
    shares: Sequence[ScrutineerShare],
    result: Mapping[str, Any],
    site_key: bytes,
    created_at: str,
) -> bytes:
    """Write the audit bundle (to ``path`` if given) and return its bytes.

    ``electorate`` must be the pseudonymised register the credentials were made for;
    ``board`` is a :class:`Board` or the records of a board kept elsewhere, in order;
    ``ceremony``, each of ``heads`` and ``result`` are signed documents. The manifest lists
    each file's SHA-256 and is signed by the site key.
    """
    files = {
        "definition.json": _versioned("definition", definition.to_json()),
        "electorate.json": _versioned("electorate", electorate.to_json()),
        "credentials.json": canonical_json(credentials.to_json()),
        "ceremony.json": canonical_json(dict(ceremony)),
        "board.jsonl": board.to_jsonl()
        if isinstance(board, Board)
        else board_jsonl(definition.box_id, board),
        "heads.json": _versioned("heads", {"heads": [dict(h) for h in heads]}),
        "opening.json": _versioned("opening", opening_json(private_key, shares)),
        "result.json": canonical_json(dict(result)),
    }
    manifest = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "box": definition.box_id,
        "kind": definition.kind.value,
        "created_at": created_at,
        "site_key": b64(signing_public_key(site_key)),
        "files": {name: sha256_hex(data) for name, data in files.items()},
    }
    files[MANIFEST] = canonical_json(sign_record(MANIFEST_PURPOSE, manifest, {"site": site_key}))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in (MANIFEST, *FILES):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


@dataclass(frozen=True)
class BundleFiles:
    """The raw files of a bundle, and the parsed JSON of each except the board."""

    raw: Mapping[str, bytes]
    json: Mapping[str, Any]
    #: Files that are missing or not JSON, with the reason.
    unreadable: Mapping[str, str]


def read_bundle(source: str | Path | bytes) -> BundleFiles:
    """Read a bundle's files; a file that is missing or not JSON is listed, not fatal."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleFormatError(f"not a readable ZIP file: {exc}") from exc
    raw: dict[str, bytes] = {}
    parsed: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    with archive:
        names = set(archive.namelist())
        for name in (MANIFEST, *FILES):
            if name not in names:
                unreadable[name] = "missing from the bundle"
                continue
            raw[name] = archive.read(name)
            if name.endswith(".json"):
                try:
                    parsed[name] = json.loads(raw[name])
                except ValueError as exc:
                    unreadable[name] = f"not JSON: {exc}"
        for extra in sorted(names - {MANIFEST, *FILES}):
            unreadable[extra] = "not a file of a version 1 bundle"
    return BundleFiles(raw, parsed, unreadable)
