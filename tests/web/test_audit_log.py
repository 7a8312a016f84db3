"""The audit log is append-only and hash-chained: any change or removal is found."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from app.audit.services import record, verify_chain
from app.models import AuditEntry, Role


def _fill(db_session, n=5):
    now = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    return [
        record(db_session, actor=None, action=f"test.action{i}", now=now, target=str(i),
               details={"i": i, "note": "业主大会"})
        for i in range(n)
    ]


def test_intact_chain_verifies(db_session):
    entries = _fill(db_session)
    report = verify_chain(db_session)
    assert report.ok
    assert report.checked >= len(entries)


def test_changed_entry_is_found(db_session):
    entries = _fill(db_session)
    victim = entries[2]
    db_session.execute(
        update(AuditEntry).where(AuditEntry.id == victim.id).values(target="forged")
    )
    db_session.expire_all()
    report = verify_chain(db_session)
    assert not report.ok
    assert report.break_at == victim.seq
    assert report.problem == "entry content changed"


def test_removed_entry_is_found(db_session):
    entries = _fill(db_session)
    db_session.execute(delete(AuditEntry).where(AuditEntry.id == entries[1].id))
    report = verify_chain(db_session)
    assert not report.ok
    assert report.break_at == entries[1].seq
    assert report.problem == "entry missing"


def test_removed_last_entry_is_found(db_session):
    entries = _fill(db_session)
    db_session.execute(delete(AuditEntry).where(AuditEntry.id == entries[-1].id))
    report = verify_chain(db_session)
    assert not report.ok
    assert report.break_at == entries[-1].seq


def test_rehashed_forgery_breaks_the_next_link(db_session):
    """Rewriting an entry and its own hash still breaks the link of the entry after it."""
    from app.audit.services import entry_hash

    entries = _fill(db_session)
    victim = entries[1]
    victim.target = "forged"
    victim.entry_hash = entry_hash(victim)
    db_session.flush()
    report = verify_chain(db_session)
    assert not report.ok
    assert report.break_at == entries[2].seq
    assert report.problem == "link to previous entry broken"


def test_auditor_page_shows_a_break(client, make, login, db_session):
    community = make.community()
    auditor = make.user_with_role(Role.AUDITOR, community)
    login(auditor)
    now = dt.datetime.now(dt.UTC)
    entry = record(db_session, actor=None, action="register.exported", now=now,
                   community_id=community.id, target="x")
    page = client.get(f"/c/{community.id}/audit?lang=en").get_data(as_text=True)
    assert "Chain intact" in page
    assert "register.exported" in page
    db_session.execute(update(AuditEntry).where(AuditEntry.id == entry.id).values(target="y"))
    page = client.get(f"/c/{community.id}/audit?lang=en").get_data(as_text=True)
    assert "Chain broken" in page


def test_privileged_actions_are_audited(client, make, login, db_session):
    """Granting a role leaves an audit entry naming who did it, in which community."""
    community = make.community()
    chair = make.user_with_role(Role.CHAIR, community)
    target = make.user()
    login(chair)
    response = client.post(f"/c/{community.id}/roles",
                           data={"login": target.username, "role": "staff"})
    assert response.status_code == 302
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "role.granted")
    )
    assert entry.actor_id == chair.id
    assert entry.community_id == community.id
    assert entry.details == {"role": "staff"}
    assert verify_chain(db_session).ok


def test_concurrent_writers_never_fork_the_chain(engine):
    """Eight writers appending at once (real transactions) leave one gap-free chain."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.orm import Session

    from app.models import AuditHead

    def writer(n: int) -> None:
        for i in range(10):
            with Session(engine) as s, s.begin():
                record(s, actor=None, action="test.concurrent", now=dt.datetime.now(dt.UTC),
                       details={"writer": n, "i": i})

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(writer, range(8)))
        with Session(engine) as s:
            seqs = list(s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
            assert seqs == list(range(1, 81))
            assert verify_chain(s).ok
    finally:
        with Session(engine) as s, s.begin():
            s.execute(delete(AuditEntry))
            s.execute(delete(AuditHead))


def test_every_recorded_action_has_a_readable_name():
    """The audit page names each action in both languages: a new action needs its label."""
    import re
    from pathlib import Path

    from app.audit.labels import ACTION_LABELS

    recorded = set()
    pattern = re.compile(r'action="([a-z_.]+)"(?:\s+if\s+[^\n]+?\s+else\s+"([a-z_.]+)")?')
    for path in Path("app").rglob("*.py"):
        for found in pattern.findall(path.read_text(encoding="utf-8")):
            recorded.update(name for name in found if name)
    assert "meeting.published" in recorded  # the scan finds conditional names
    assert "logout" in recorded
    assert sorted(recorded - set(ACTION_LABELS)) == []
