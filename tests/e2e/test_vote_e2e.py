"""An owners' meeting in real Chromium: an owner votes on a phone (the ballot sealed by the page's
JavaScript), gets a receipt and finds it on the board; two scrutineers open the box; the
committee announces and the announcement shows the result."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from browsing import log_in, shot
from sqlalchemy import select

from app.auth.services import hash_password
from app.meetings import services, voting
from app.models import (
    BoardEntry,
    Building,
    Community,
    MeetingForm,
    MeetingKind,
    Office,
    Ownership,
    Person,
    Role,
    RoleGrant,
    Unit,
    User,
    utcnow,
)
from elections.rules import Matter

pytestmark = pytest.mark.e2e

PASSWORD = "a long demo password"
PASSPHRASES = ("first scrutineer's phrase", "second scrutineer's phrase",
               "third scrutineer's phrase")



@pytest.fixture(scope="module")
def meeting(live_server):
    """A community of three owners whose vote is open, with three scrutineers (k = 2)."""
    app = live_server.app
    app.config["SHARE_SCRYPT_COST"] = 2**10
    start = utcnow() - dt.timedelta(days=20)
    with app.test_request_context(), live_server.session() as s:
        office = Office(name="枫林街道社区居委会", district="徐汇区")
        community = Community(name="银杏苑", address="枫林路 8 弄", district="徐汇区",
                              office=office, settings={}, created_at=utcnow())
        s.add(community)
        s.flush()
        building = Building(community_id=community.id, name="5号楼")
        s.add(building)
        s.flush()
        hashed = hash_password(PASSWORD)

        def account(name: str, role: Role | None, totp: bool = False) -> User:
            user = User(username=name, display_name=name, password_hash=hashed,
                        created_at=utcnow(),
                        totp_secret=pyotp.random_base32() if totp else None, totp_enabled=totp)
            s.add(user)
            s.flush()
            if role is not None:
                s.add(RoleGrant(user_id=user.id, role=role, community_id=community.id,
                                granted_at=utcnow()))
            return user

        owners = []
        for i in range(3):
            user = account(f"vote-owner-{i}", None)
            unit = Unit(community_id=community.id, building_id=building.id,
                        number=f"{501 + i}", floor=5, area=Decimal("96.40"))
            person = Person(community_id=community.id, name=f"业主{i}", user_id=user.id,
                            created_at=utcnow())
            s.add_all([unit, person])
            s.flush()
            s.add(Ownership(unit_id=unit.id, person_id=person.id, started_at=utcnow()))
            owners.append(user)
        committee = account("vote-committee", Role.COMMITTEE, totp=True)
        scrutineers = [account(f"vote-scrutineer-{i}", Role.SCRUTINEER, totp=True)
                       for i in range(3)]
        m = services.create_meeting(
            s, actor=committee, now=start, community=community, title="2027年银杏苑业主大会",
            kind=MeetingKind.ORDINARY, form=MeetingForm.ONLINE,
            voting_opens_at=start + dt.timedelta(days=16),
            voting_closes_at=start + dt.timedelta(days=30))
        services.add_motion(s, actor=committee, now=start, meeting=m,
                            title="选聘物业服务企业", body="", matter=Matter.SERVICE_COMPANY)
        services.publish(s, actor=committee, now=start, meeting=m)
        voting.hold_ceremony(s, actor=committee, now=start + dt.timedelta(days=1), meeting=m,
                             k=2, passphrases={u.id: p for u, p in zip(scrutineers, PASSPHRASES)})
        # The other two owners vote by the server path, so the result has a majority.
        for owner in owners[1:]:
            voting.cast_plain(s, actor=owner, now=utcnow(), meeting_id=m.id,
                              raw_choices={"m1": "agree"})
        s.commit()
        return {"url": f"{live_server.url}/c/{community.id}/meetings/{m.id}", "id": m.id,
                "owner": owners[0].username, "committee": (committee.username,
                                                           committee.totp_secret),
                "scrutineers": [(u.username, u.totp_secret) for u in scrutineers]}




def test_an_owner_votes_on_a_phone_scrutineers_open_and_the_result_is_announced(
        browser, live_server, meeting):
    base = live_server.url
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                is_mobile=True, has_touch=True)
    tab = phone.new_page()
    tab.set_default_timeout(15_000)
    log_in(tab, base, meeting["owner"], PASSWORD)
    tab.goto(f"{meeting['url']}/ballot")
    shot(tab, "vote-1-ballot")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    tab.check("input[name=choice-m1][value=agree]")
    tab.check("input[name=final]")
    tab.click("#cast")
    tab.wait_for_selector("#confirm:not([hidden])")  # first press: the choices to confirm
    assert "选聘物业服务企业" in tab.inner_text("#confirm-list")
    shot(tab, "vote-2-confirm")
    tab.click("#cast")  # second press: sealed on the phone, then sent
    tab.wait_for_url(re.compile(r"/board\?.*code="))
    found = tab.inner_text("#receipt-found")
    shot(tab, "vote-3-receipt")
    code = parse_qs(urlparse(tab.url).query)["code"][0]
    assert code in tab.inner_text("[role=status]")  # "your ballot is cast": the receipt
    assert code in found
    with live_server.session() as s:
        entry = s.scalar(select(BoardEntry).where(BoardEntry.tracking_code == code))
        assert entry is not None
        assert not entry.server_sealed  # sealed by the browser
    # A second attempt is refused, saying when the first was cast.
    tab.goto(f"{meeting['url']}/ballot")
    assert code in tab.inner_text("main")
    phone.close()

    # The close comes: move it into the past, as time would.
    from app.models import Meeting

    with live_server.session() as s:
        s.get(Meeting, meeting["id"]).voting_closes_at = utcnow() - dt.timedelta(minutes=1)
        s.commit()
    desk = browser.new_context(locale="en-US")
    office = desk.new_page()
    office.set_default_timeout(15_000)
    committee, secret = meeting["committee"]
    log_in(office, base, committee, PASSWORD, secret)
    office.goto(meeting["url"])
    office.click("form[action$='/close'] button")
    office.wait_for_load_state()

    for (username, secret), passphrase in list(zip(meeting["scrutineers"], PASSPHRASES))[:2]:
        context = browser.new_context(locale="en-US")
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        log_in(tab, base, username, PASSWORD, secret)
        tab.goto(f"{meeting['url']}/opening")
        tab.fill("#passphrase", passphrase)
        tab.click("main form button[type=submit]")
        tab.wait_for_load_state()
        shot(tab, f"vote-4-opening-{username}")
        context.close()

    office.goto(f"{meeting['url']}/result")
    office.click("form[action$='/announce'] button")
    office.wait_for_url(re.compile(r"/result$"))
    text = office.inner_text("main")
    shot(office, "vote-5-announcement")
    assert "Adopted" in text
    assert "3 / 3 = 100.00 %" in text  # every owner took part, and all three agree
    pdf = office.request.get(f"{meeting['url']}/announcement.pdf")
    assert pdf.ok
    assert pdf.body().startswith(b"%PDF")
    desk.close()
