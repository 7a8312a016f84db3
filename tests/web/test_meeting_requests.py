"""Owners require an extraordinary meeting: a request, online support, 20 % tells the committee."""

from __future__ import annotations

import pytest

from app.models import (
    AuditEntry,
    MeetingRequest,
    MeetingRequestSupport,
    Notification,
    Role,
)


@pytest.fixture
def street(make, db_session):
    """A community of ten owners (one of them co-owning a flat with a spouse) and a committee."""
    community = make.community()
    building = make.building(community, "3号楼")
    owners, flats = [], []
    for i in range(10):
        user = make.user()
        person = make.person(community, user=user, name=f"业主{i}")
        flats.append(make.unit(community, building, number=f"{301 + i}"))
        make.own(person, flats[-1])
        owners.append(user)
    spouse = make.user()  # co-owns owner 0's flat: one person with owner 0 for headcount
    make.own(make.person(community, user=spouse, name="配偶"), flats[0])
    committee = make.user_with_role(Role.COMMITTEE, community)
    chair = make.user_with_role(Role.CHAIR, community)
    return {"community": community, "owners": owners, "spouse": spouse,
            "committee": committee, "chair": chair,
            "url": f"/c/{community.id}/meeting-requests"}


def _open(client, street, title="罢免现任业主委员会"):
    return client.post(street["url"], data={"title": title, "reason": "物业费账目长期不公开"})


def test_an_owner_opens_a_request_and_counts_as_its_first_supporter(client, login, street,
                                                                    db_session):
    login(street["owners"][1])
    response = _open(client, street)
    assert response.status_code == 302
    request = db_session.query(MeetingRequest).one()
    assert request.reached_at is None
    page = client.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "1 of 10 owners support this request (10.00 %)" in page
    assert "1 more owners are needed." in page
    assert db_session.query(AuditEntry).filter_by(action="meeting_request.opened").count() == 1


def test_a_request_without_a_title_is_refused_and_keeps_the_reason(client, login, street,
                                                                   db_session):
    login(street["owners"][1])
    response = client.post(street["url"] + "?lang=en", data={"title": "  ", "reason": "账目"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="title-error"' in page
    assert "账目" in page  # what the owner wrote is kept
    assert db_session.query(MeetingRequest).count() == 0


def test_a_fifth_of_the_owners_tells_the_committee_once(client, login, street, db_session):
    login(street["owners"][1])
    location = _open(client, street).headers["Location"]
    request = db_session.query(MeetingRequest).one()
    # The co-owning spouse and owner 0 are one person: both supporting still counts once.
    for user in (street["owners"][0], street["spouse"]):
        login(user)
        assert client.post(f"{location}/support").status_code == 302
    db_session.refresh(request)
    assert request.reached_at is not None  # 2 of 10 = 20 %: "以上" includes the bar
    told = db_session.query(Notification).filter_by(kind="meeting_request.reached").all()
    assert {n.user_id for n in told} == {street["committee"].id, street["chair"].id}
    assert db_session.query(AuditEntry).filter_by(action="meeting_request.reached").count() == 1
    login(street["owners"][2])
    client.post(f"{location}/support")
    assert db_session.query(Notification).filter_by(
        kind="meeting_request.reached").count() == 2  # told once, not at every later support
    page = client.get(location + "?lang=en").get_data(as_text=True)
    assert 'id="reached"' in page
    assert "3 of 10 owners" in page


def test_support_counts_once_per_owner(client, login, street, db_session):
    login(street["owners"][1])
    location = _open(client, street).headers["Location"]
    again = client.post(f"{location}/support?lang=en")
    assert again.status_code == 409
    assert "already support" in again.get_data(as_text=True)
    assert db_session.query(MeetingRequestSupport).count() == 1


def test_only_owners_of_the_community_support(client, login, street, make, db_session):
    login(street["owners"][1])
    location = _open(client, street).headers["Location"]
    stranger = make.user_with_role(Role.OWNER, make.community())
    login(stranger)
    assert client.post(f"{location}/support").status_code == 403
    login(street["committee"])  # a committee member who owns nothing here reads, not supports
    assert client.get(location).status_code == 200
    assert client.post(f"{location}/support").status_code == 403
    assert db_session.query(MeetingRequestSupport).count() == 1
