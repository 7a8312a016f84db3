"""A bid's documents (投标文件): PDF or images, sealed inside the bid with its price.

The bidder's browser checks the type and sizes before sealing; the server cannot look inside
a sealed bid, so the same rule is applied again when the bid is opened, and a file that breaks
it is refused there with the reason (the bid itself stands: its price is still read). The
opening record names every file by its SHA-256, so the verifier re-opens the bid and checks
each file against the record.

Inside the sealed bid: ``"files": [{"name": …, "type": "application/pdf", "data": base64}]``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Accepted types and the first bytes a file of the type starts with.
DOCUMENT_TYPES = {
    "application/pdf": b"%PDF-",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
}
MAX_DOCUMENTS = 5
MAX_DOCUMENT_BYTES = 5 * 2**20
MAX_DOCUMENTS_BYTES = 8 * 2**20
MAX_NAME = 200


@dataclass(frozen=True)
class OpenedDocument:
    """One file of an opened bid; ``problem`` says why it is refused (``None``: accepted)."""

    position: int
    name: str
    mime: str
    data: bytes
    problem: str | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The opening record's entry: the file named by its hash, never its content."""
        return {"position": self.position, "name": self.name, "type": self.mime,
                "size": len(self.data), "sha256": self.sha256, "problem": self.problem}


def document_problem(mime: str, data: bytes) -> str | None:
    """Why a single file is not an accepted document, or ``None``."""
    magic = DOCUMENT_TYPES.get(mime)
    if magic is None:
        return f"type {mime!r} is not accepted: PDF, PNG or JPEG only"
    if len(data) > MAX_DOCUMENT_BYTES:
        return f"{len(data)} bytes: a file has at most {MAX_DOCUMENT_BYTES} bytes"
    if not data.startswith(magic):
        return f"the content is not a {mime} file"
    return None


def open_documents(files: Any) -> list[OpenedDocument]:
    """The files of an opened bid's content, each checked; beyond the count or the total
    size the later files are refused."""
    if files is None:
        return []
    if not isinstance(files, Sequence) or isinstance(files, str | bytes):
        return [OpenedDocument(0, "", "", b"", "the files of the bid are not a list")]
    opened: list[OpenedDocument] = []
    total = 0
    for position, entry in enumerate(files):
        if not isinstance(entry, dict):
            opened.append(OpenedDocument(position, "", "", b"", "not a file entry"))
            continue
        name = str(entry.get("name", ""))[:MAX_NAME]
        mime = str(entry.get("type", ""))
        try:
            data = base64.b64decode(str(entry.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            opened.append(OpenedDocument(position, name, mime, b"", "the file is damaged"))
            continue
        problem = document_problem(mime, data)
        if problem is None and position >= MAX_DOCUMENTS:
            problem = f"a bid has at most {MAX_DOCUMENTS} files"
        if problem is None and total + len(data) > MAX_DOCUMENTS_BYTES:
            problem = f"the files of a bid have at most {MAX_DOCUMENTS_BYTES} bytes together"
        if problem is None:
            total += len(data)
        opened.append(OpenedDocument(position, name, mime, data, problem))
    return opened
