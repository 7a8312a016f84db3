"""Owners propose to recall committee members: support online, more than 20 % of the area
puts the recall to the next owners' meeting."""

from __future__ import annotations

import datetime as dt

import pytest
from committee_helpers import build
from sqlalchemy import select

from app.meetings import services as meeting_services
from app.models import (
    AuditEntry,
    MeetingForm,
    MeetingKind,
    Motion,
    Notification,
    RecallProposal,
    RecallSupport,
    utcnow,
)
from elections.rules import Matter


@pytest.fixture
def town(make, db_session, app):
    return build(make, db_session, app)


def _draft_meeting(db_session, app, town, title="2027年业主大会"):
    now = utcnow()
    with app.test_request_context("/?lang=en"):
        return meeting_services.create_meeting(
            db_session, actor=town["actor"], now=now, community=town["community"],
            title=title, kind=MeetingKind.ORDINARY, form=MeetingForm.ONLINE,
            voting_opens_at=now + dt.timedelta(days=30),
            voting_closes_at=now + dt.timedelta(days=40))


def _propose(client, login, town, owner=0, members=(6,)):
    login(town["owners"][owner])
    ids = [m.id for m in town["committee"].members
           if m.person_id in {town["persons"][i].id for i in members}]
    response = client.post(f"{town['url']}/recalls?lang=en",
                           data={"members": ids, "reason": "长期不公开账目"})
    return response


def _support(client, login, town, owner, url):
    login(town["owners"][owner])
    return client.post(f"{url}/support?lang=en")


def test_an_owner_proposes_and_sees_the_area_against_the_bar(client, login, town, db_session):
    response = _propose(client, login, town)
    assert response.status_code == 302
    proposal = db_session.scalars(select(RecallProposal)).one()
    assert [t.member.name for t in proposal.targets] == ["业主6"]
    page = client.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "Supporters hold 150.00 of 1,000.00 m² (15.00 %)" in page
    assert "1 of 12 owners support it." in page
    assert 'id="reached"' not in page


def test_exactly_a_fifth_of_the_area_is_not_enough_and_just_over_it_is(
        client, login, town, db_session, app):
    meeting = _draft_meeting(db_session, app, town)
    url = _propose(client, login, town).headers["Location"]  # owner 0: 150.00
    assert _support(client, login, town, 1, url).status_code == 302  # + 50.00 = 20.00 %
    proposal = db_session.scalars(select(RecallProposal)).one()
    db_session.refresh(proposal)
    assert proposal.reached_at is None
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "(20.00 %)" in page
    assert 'id="reached"' not in page
    assert db_session.query(Motion).filter_by(meeting_id=meeting.id).count() == 0
    assert _support(client, login, town, 2, url).status_code == 302  # + 0.01 m²
    db_session.refresh(proposal)
    assert proposal.reached_at is not None
    motion = db_session.get(Motion, proposal.motion_id)
    assert motion.meeting_id == meeting.id
    assert motion.matter is Matter.COMMITTEE
    assert "业主6" in motion.title
    told = {n.user_id for n in db_session.query(Notification).filter_by(kind="recall.reached")}
    assert town["auditor"].id in told
    assert town["owners"][5].id in told
    assert db_session.query(AuditEntry).filter_by(action="recall.reached").count() == 1
    # Reached: support no longer changes.
    assert _support(client, login, town, 3, url).status_code == 409
    login(town["owners"][1])
    assert client.post(f"{url}/withdraw").status_code == 409


def test_without_a_draft_meeting_the_recall_waits_and_is_offered_when_one_is_drafted(
        client, login, town, db_session, app):
    url = _propose(client, login, town, owner=3).headers["Location"]  # 99.99
    for owner in (4, 0):  # + 100 + 150
        _support(client, login, town, owner, url)
    proposal = db_session.scalars(select(RecallProposal)).one()
    db_session.refresh(proposal)
    assert proposal.reached_at is not None
    assert proposal.motion_id is None
    login(town["owners"][5])  # a committee member drafts meetings
    page = client.get(town["url"] + "?lang=en").get_data(as_text=True)
    assert 'id="queued"' in page
    meeting = _draft_meeting(db_session, app, town, title="临时会议")
    page = client.get(town["url"] + "?lang=en").get_data(as_text=True)
    assert "on the agenda of 临时会议" in page
    response = client.post(f"{url}/place")
    assert response.status_code == 302
    db_session.refresh(proposal)
    assert db_session.get(Motion, proposal.motion_id).meeting_id == meeting.id
    assert client.post(f"{url}/place").status_code == 409  # only once


def test_support_by_a_non_owner_is_refused(client, login, town, db_session):
    url = _propose(client, login, town).headers["Location"]
    login(town["tenant"])
    assert client.post(f"{url}/support").status_code == 403
    login(town["auditor"])
    assert client.post(f"{url}/support").status_code == 403
    assert db_session.query(RecallSupport).count() == 1


def test_support_twice_is_refused(client, login, town, db_session):
    url = _propose(client, login, town).headers["Location"]
    response = _support(client, login, town, 0, url)
    assert response.status_code == 409
    assert "You already support this proposal." in response.get_data(as_text=True)
    assert db_session.query(RecallSupport).count() == 1


def test_an_owner_withdraws_while_open_and_may_support_again(client, login, town, db_session):
    url = _propose(client, login, town).headers["Location"]
    _support(client, login, town, 1, url)
    login(town["owners"][1])
    assert client.post(f"{url}/withdraw").status_code == 302
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "(15.00 %)" in page
    assert "Support this proposal" in page
    assert client.post(f"{url}/withdraw").status_code == 409  # nothing left to withdraw
    assert _support(client, login, town, 1, url).status_code == 302
    assert db_session.query(AuditEntry).filter_by(action="recall.withdrawn").count() == 1


def test_a_proposal_needs_a_serving_member_and_a_reason(client, login, town, db_session):
    response = _propose(client, login, town, members=())
    assert response.status_code == 422
    assert "Name at least one member to recall." in response.get_data(as_text=True)
    login(town["owners"][0])
    response = client.post(f"{town['url']}/recalls?lang=en",
                           data={"members": [town["committee"].members[0].id], "reason": ""})
    assert response.status_code == 422
    assert "Give the reason for the recall." in response.get_data(as_text=True)
    assert db_session.query(RecallProposal).count() == 0


def test_a_recall_of_a_succeeded_committee_takes_no_more_support(client, login, town, app,
                                                                 db_session):
    from committee_helpers import entry

    from app.committee import services

    url = _propose(client, login, town).headers["Location"]
    with app.test_request_context("/?lang=en"):
        services.seat_committee(
            db_session, community=town["community"], election_ref="election:2", term_years=3,
            term_start=dt.date.today(), elected=[entry(town["persons"][4], 1, 9, "500.00")],
            alternates=[], actor=town["actor"])
    db_session.flush()
    assert _support(client, login, town, 1, url).status_code == 409
