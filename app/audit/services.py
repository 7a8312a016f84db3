"""Append-only, hash-chained audit log.

Each entry's hash covers its content and the previous entry's hash, so changing or removing any
entry breaks every hash after it; ``verify_chain`` finds the first break. Appending locks the
single head row, so concurrent writers queue instead of forking the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry, AuditHead, User

GENESIS = "0" * 64


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "seq": entry.seq,
        "created_at": entry.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "community_id": entry.community_id,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
        "remote_addr": entry.remote_addr,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    now: dt.datetime,
    community_id: int | None = None,
    target: str = "",
    details: dict | None = None,
    remote_addr: str = "",
) -> AuditEntry:
    """Append one entry for a privileged action (flushes, never commits)."""
    head = _locked_head(session)
    entry = AuditEntry(
        seq=head.seq + 1,
        created_at=now,
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else "",
        community_id=community_id,
        action=action,
        target=target,
        details=details or {},
        remote_addr=remote_addr,
        prev_hash=head.entry_hash,
    )
    entry.entry_hash = entry_hash(entry)
    head.seq, head.entry_hash = entry.seq, entry.entry_hash
    session.add(entry)
    session.flush()
    return entry


def _locked_head(session: Session) -> AuditHead:
    """The head row, locked until the transaction ends (made on first use, race-free)."""
    query = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    head = session.scalar(query)
    if head is None:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(
            insert(AuditHead).values(id=1, seq=0, entry_hash=GENESIS).on_conflict_do_nothing()
        )
        head = session.scalar(query)
    return head


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    #: Sequence number where the first break was found, and what is wrong there.
    break_at: int | None = None
    problem: str = ""


def verify_chain(session: Session) -> ChainReport:
    """Walk the whole chain; report the first changed, removed or inserted entry."""
    prev, expected_seq, checked = GENESIS, 1, 0
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for entry in rows:
        if entry.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, "entry missing")
        if entry.prev_hash != prev:
            return ChainReport(False, checked, entry.seq, "link to previous entry broken")
        if entry_hash(entry) != entry.entry_hash:
            return ChainReport(False, checked, entry.seq, "entry content changed")
        prev, expected_seq, checked = entry.entry_hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.entry_hash != prev):
        return ChainReport(False, checked, checked + 1, "entries after this point removed")
    return ChainReport(True, checked)
