"""In real Chromium: an owner opens the committee's page, supports a recall proposal and sees
its progress against the 20 % of the area; withdrawing takes the support back."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from browsing import log_in, shot

from app.auth.services import hash_password
from app.committee import recall, services
from app.models import Building, Community, Office, Ownership, Person, Unit, User, utcnow

pytestmark = pytest.mark.e2e
PASSWORD = "e2e committee password"


@pytest.fixture
def street(live_server):
    """Five owners of 100 m² each (500 m²); three sit on the committee; owner 3 proposed to
    recall member 0 (20 % of the area so far); owner 4 is the one who browses."""
    with live_server.app.test_request_context("/?lang=en"), live_server.session() as s:
        community = Community(name="香樟里", address="2 Road", district="徐汇区",
                              office=Office(name="committee e2e office", district="徐汇区"),
                              settings={}, created_at=utcnow())
        s.add(community)
        s.flush()
        building = Building(community_id=community.id, name="1号楼")
        s.add(building)
        s.flush()
        users, persons = [], []
        for i in range(5):
            user = User(username=f"recall-owner{i}", display_name=f"业主{i}",
                        password_hash=hash_password(PASSWORD), created_at=utcnow())
            unit = Unit(community_id=community.id, building_id=building.id,
                        number=f"{101 + i}", floor=1, area=Decimal("100.00"))
            s.add_all([user, unit])
            s.flush()
            person = Person(community_id=community.id, name=f"委员{i}" if i < 3 else f"业主{i}",
                            user_id=user.id, created_at=utcnow())
            s.add(person)
            s.flush()
            s.add(Ownership(unit_id=unit.id, person_id=person.id, started_at=utcnow()))
            users.append(user)
            persons.append(person)
        s.flush()
        committee = services.seat_committee(
            s, community=community, election_ref="election:e2e", term_years=3,
            term_start=dt.date.today(),
            elected=[{"owner_id": persons[i].id, "name": persons[i].name, "votes_head": 4,
                      "votes_area": "400.00", "rank": i + 1} for i in range(3)],
            alternates=[], actor=users[3])
        recall.open_proposal(s, actor=users[3], now=utcnow(), community=community,
                             member_ids=[committee.members[0].id], reason="长期缺席会议")
        s.commit()
        return {"community_id": community.id}


def test_an_owner_supports_a_recall_and_sees_its_progress(page, live_server, street):
    base, cid = live_server.url, street["community_id"]
    log_in(page, base, "recall-owner4", PASSWORD, lang="en")
    page.goto(f"{base}/c/{cid}/committee")
    assert "委员0" in page.locator("#members").inner_text()
    shot(page, "committee-page")
    page.click("#recalls a:has-text('委员0')")
    page.wait_for_url(re.compile(rf"/c/{cid}/committee/recalls/\d+$"))
    progress = page.locator("#support-area")
    assert "100.00 of 500.00 m² (20.00 %)" in progress.inner_text()
    page.click("text=Support this proposal")
    page.wait_for_url(re.compile(rf"/c/{cid}/committee/recalls/\d+$"))
    # 200 of 500 m²: more than a fifth, so the proposal is reached and goes to the meeting.
    assert "200.00 of 500.00 m² (40.00 %)" in page.locator("#support-area").inner_text()
    assert "2 of 5 owners support it." in page.locator("#support-head").inner_text()
    assert page.locator("#reached").is_visible()
    assert page.locator("text=Withdraw my support").count() == 0  # reached: support is fixed
    shot(page, "committee-recall-reached")
