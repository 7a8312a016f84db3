"""Owners' meetings, first part: drafting, the agenda, blockers, the notice and its PDF."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.meetings import services
from app.models import AuditEntry, Meeting, MeetingStatus, NoticeRevision, Role, utcnow
from elections.rules import Matter

LOCAL = "%Y-%m-%dT%H:%M"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def local(days: float) -> str:
    """A datetime-local form value ``days`` from now, in the community's zone."""
    return (utcnow() + dt.timedelta(days=days)).astimezone(SHANGHAI).strftime(LOCAL)


@pytest.fixture
def place(make, login):
    community = make.community()
    committee = make.user_with_role(Role.COMMITTEE, community)
    owner = make.user_with_role(Role.OWNER, community)
    return {"community": community, "committee": committee, "owner": owner}


def draft(client, community, *, kind="ordinary", opens=20, closes=30, title="2027 meeting"):
    response = client.post(f"/c/{community.id}/meetings/new", data={
        "title": title, "kind": kind, "form": "online",
        "voting_opens_at": local(opens), "voting_closes_at": local(closes),
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def add_motion(client, community, mid, title="Amend the statute", matter=Matter.MANAGEMENT_STATUTE):
    return client.post(f"/c/{community.id}/meetings/{mid}/motions",
                       data={"title": title, "body": "Text.", "matter": str(matter.value)})


def audit_actions(db_session, mid):
    return [e.action for e in db_session.scalars(
        select(AuditEntry).where(AuditEntry.target == f"meeting:{mid}").order_by(AuditEntry.seq))]


def test_committee_drafts_adds_motions_and_publishes(client, login, place, db_session):
    """Can the committee draft a meeting, add motions and publish the notice (page and PDF)?"""
    c = place["community"]
    login(place["committee"])
    mid = draft(client, c)
    assert add_motion(client, c, mid).status_code == 302
    assert add_motion(client, c, mid, "Raise the fund", Matter.RAISE_FUND).status_code == 302
    page = client.get(f"/c/{c.id}/meetings/{mid}?lang=en").get_data(as_text=True)
    assert "Raise the fund" in page
    assert "At least 3/4" in page
    assert "More than 1/2" in page
    assert client.post(f"/c/{c.id}/meetings/{mid}/publish").status_code == 302
    meeting = db_session.get(Meeting, mid)
    assert meeting.status is MeetingStatus.PUBLISHED
    assert meeting.revision == 1
    assert meeting.notice_ends_at - meeting.published_at == dt.timedelta(days=15)
    page = client.get(f"/c/{c.id}/meetings/{mid}?lang=en").get_data(as_text=True)
    assert "left in the notice period" in page
    pdf = client.get(f"/c/{c.id}/meetings/{mid}/notice.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    assert audit_actions(db_session, mid) == ["meeting.created", "meeting.published"]
    assert db_session.scalar(select(NoticeRevision).where(NoticeRevision.meeting_id == mid))


def test_blockers_stop_publishing(app, client, login, place, db_session):
    """Does a meeting without motion, or voting inside the notice period, refuse to publish?"""
    c = place["community"]
    login(place["committee"])
    mid = draft(client, c, opens=5, closes=10)
    meeting = db_session.get(Meeting, mid)
    with app.test_request_context():
        found = services.blockers(meeting, utcnow())
    assert len(found) == 2
    page = client.get(f"/c/{c.id}/meetings/{mid}?lang=en").get_data(as_text=True)
    assert "has no motion" in page
    assert "notice period of 15 days" in page
    assert client.post(f"/c/{c.id}/meetings/{mid}/publish").status_code == 422
    assert db_session.get(Meeting, mid).status is MeetingStatus.DRAFT


def test_voting_must_close_after_it_opens(client, login, place):
    """Is a window that closes before it opens refused?"""
    c = place["community"]
    login(place["committee"])
    response = client.post(f"/c/{c.id}/meetings/new?lang=en", data={
        "title": "x", "kind": "ordinary", "form": "online",
        "voting_opens_at": local(30), "voting_closes_at": local(20)})
    assert response.status_code == 422
    assert "close after it opens" in response.get_data(as_text=True)


def test_extraordinary_meeting_uses_seven_days(client, login, place, db_session):
    """Does an extraordinary meeting get a 7-day notice period?"""
    c = place["community"]
    login(place["committee"])
    mid = draft(client, c, kind="extraordinary", opens=8, closes=10)
    add_motion(client, c, mid)
    assert client.post(f"/c/{c.id}/meetings/{mid}/publish").status_code == 302
    meeting = db_session.get(Meeting, mid)
    assert meeting.notice_days == 7
    assert meeting.notice_ends_at - meeting.published_at == dt.timedelta(days=7)


def test_community_setting_overrides_notice_days(make):
    """Does the community's setting replace the default period?"""
    community = make.community()
    community.settings = {"notice_days": 20}
    assert services.notice_days_for(community, services.MeetingKind.ORDINARY) == 20
    assert services.notice_days_for(community, services.MeetingKind.EXTRAORDINARY) == 7


def test_owner_sees_published_not_draft(client, login, place, make):
    """Does an owner see a published notice but not a draft, and never manage?"""
    c = place["community"]
    login(place["committee"])
    published = draft(client, c, title="Published one")
    add_motion(client, c, published)
    client.post(f"/c/{c.id}/meetings/{published}/publish")
    hidden = draft(client, c, title="Secret draft")
    client.post("/logout")
    login(place["owner"])
    listing = client.get(f"/c/{c.id}/meetings?lang=en").get_data(as_text=True)
    assert "Published one" in listing
    assert "Secret draft" not in listing
    assert client.get(f"/c/{c.id}/meetings/{published}").status_code == 200
    assert client.get(f"/c/{c.id}/meetings/{published}/notice.pdf").status_code == 200
    assert client.get(f"/c/{c.id}/meetings/{hidden}").status_code == 404
    assert client.get(f"/c/{c.id}/meetings/new").status_code == 403
    assert add_motion(client, c, hidden).status_code == 403
    assert client.post(f"/c/{c.id}/meetings/{hidden}/publish").status_code == 403


def test_other_community_is_refused(client, login, place, make):
    """Can an owner of another community read this community's notice?"""
    c = place["community"]
    login(place["committee"])
    mid = draft(client, c)
    add_motion(client, c, mid)
    client.post(f"/c/{c.id}/meetings/{mid}/publish")
    client.post("/logout")
    stranger = make.user_with_role(Role.OWNER, make.community())
    login(stranger)
    assert client.get(f"/c/{c.id}/meetings/{mid}").status_code == 403
    assert client.get(f"/c/{c.id}/meetings/{mid}/notice.pdf").status_code == 403


def test_motions_frozen_after_publish(client, login, place, db_session):
    """Once published, is the agenda frozen (409 with a message)?"""
    c = place["community"]
    login(place["committee"])
    mid = draft(client, c)
    add_motion(client, c, mid)
    client.post(f"/c/{c.id}/meetings/{mid}/publish")
    client.get("/?lang=en")
    response = add_motion(client, c, mid, "Sneaked in")
    assert response.status_code == 409
    assert "agenda is frozen" in response.get_data(as_text=True)
    motion = db_session.get(Meeting, mid).motions[0]
    assert client.post(
        f"/c/{c.id}/meetings/{mid}/motions/{motion.id}/remove").status_code == 409
    assert client.get(f"/c/{c.id}/meetings/{mid}/edit").status_code == 409
    assert [m.title for m in db_session.get(Meeting, mid).motions] == ["Amend the statute"]


def test_republish_restarts_the_period_and_is_audited(client, login, place, db_session):
    """Does amending and republishing bump the revision, restart the period and log it?"""
    c = place["community"]
    login(place["committee"])
    mid = draft(client, c)
    add_motion(client, c, mid)
    client.post(f"/c/{c.id}/meetings/{mid}/publish")
    meeting = db_session.get(Meeting, mid)
    meeting.published_at -= dt.timedelta(days=3)  # published three days ago
    meeting.notice_ends_at -= dt.timedelta(days=3)
    db_session.flush()
    first_end = meeting.notice_ends_at
    assert client.post(f"/c/{c.id}/meetings/{mid}/amend").status_code == 302
    assert add_motion(client, c, mid, "Use the fund", Matter.USE_FUND).status_code == 302
    assert client.post(f"/c/{c.id}/meetings/{mid}/publish").status_code == 302
    db_session.refresh(meeting)
    assert meeting.revision == 2
    assert meeting.notice_ends_at > first_end + dt.timedelta(days=2)
    revisions = db_session.scalars(select(NoticeRevision).where(
        NoticeRevision.meeting_id == mid).order_by(NoticeRevision.revision)).all()
    assert [len(r.snapshot["motions"]) for r in revisions] == [1, 2]
    assert audit_actions(db_session, mid)[-2:] == ["meeting.amending", "meeting.republished"]


def test_remove_motion_renumbers(client, login, place, db_session):
    """Does removing a draft motion keep the agenda numbered 1, 2, …?"""
    c = place["community"]
    login(place["committee"])
    mid = draft(client, c)
    for title in ("a", "b", "c"):
        add_motion(client, c, mid, title)
    first = db_session.get(Meeting, mid).motions[0]
    assert client.post(f"/c/{c.id}/meetings/{mid}/motions/{first.id}/remove").status_code == 302
    meeting = db_session.get(Meeting, mid)
    db_session.refresh(meeting)
    assert [(m.position, m.title) for m in meeting.motions] == [(1, "b"), (2, "c")]
