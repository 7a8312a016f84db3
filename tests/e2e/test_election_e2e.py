"""A committee election in real Chromium: an owner ticks candidates, is stopped at one more
than the seats (the page undoes the tick and says why), casts a ballot sealed by the page,
checks the receipt on the board; two scrutineers open the round's box; the committee
announces and the announcement lists the elected."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pyotp
import pytest
from browsing import log_in, shot
from sqlalchemy import select

from app.auth.services import hash_password
from app.elections_web import rounds
from app.elections_web import services as election_services
from app.meetings import services
from app.models import (
    BoardEntry,
    Building,
    Community,
    ElectionRound,
    MeetingForm,
    MeetingKind,
    NominationChannel,
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
def election(live_server):
    """Seven owners, a 5-seat election with six candidates whose first round is open; six
    owners have voted for candidates 1–5 already (server path)."""
    app = live_server.app
    app.config["SHARE_SCRYPT_COST"] = 2**10
    start = utcnow() - dt.timedelta(days=20)
    with app.test_request_context(), live_server.session() as s:
        office = Office(name="康健街道社区居委会", district="徐汇区")
        community = Community(name="香樟苑", address="康健路 18 弄", district="徐汇区",
                              office=office, settings={}, created_at=utcnow())
        s.add(community)
        s.flush()
        building = Building(community_id=community.id, name="3号楼")
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

        owners, persons = [], []
        for i in range(7):
            user = account(f"elect-owner-{i}", None)
            unit = Unit(community_id=community.id, building_id=building.id,
                        number=f"{301 + i}", floor=3, area=Decimal("88.00"))
            person = Person(community_id=community.id, name=f"候选{i}" if i < 6 else "业主六",
                            user_id=user.id, created_at=utcnow())
            s.add_all([unit, person])
            s.flush()
            s.add(Ownership(unit_id=unit.id, person_id=person.id, started_at=utcnow()))
            owners.append(user)
            persons.append(person)
        committee = account("elect-committee", Role.COMMITTEE, totp=True)
        scrutineers = [account(f"elect-scrutineer-{i}", Role.SCRUTINEER, totp=True)
                       for i in range(3)]
        s.flush()
        m = services.create_meeting(
            s, actor=committee, now=start, community=community, title="香樟苑首次业主大会",
            kind=MeetingKind.ORDINARY, form=MeetingForm.ONLINE,
            voting_opens_at=start + dt.timedelta(days=16),
            voting_closes_at=start + dt.timedelta(days=30))
        services.add_motion(s, actor=committee, now=start, meeting=m, title="制定议事规则",
                            body="", matter=Matter.RULES_OF_PROCEDURE)
        e = election_services.create_election(s, actor=committee, now=start, meeting=m, seats=5)
        for person in persons[:6]:
            election_services.nominate(s, actor=committee, now=start, election=e,
                                       person=person, channel=NominationChannel.SELF,
                                       nominators=[person], consent=True)
        services.publish(s, actor=committee, now=start, meeting=m)
        rounds.hold_ceremony(s, actor=committee, now=start + dt.timedelta(days=1), election=e,
                             k=2, passphrases={u.id: p for u, p in zip(scrutineers,
                                                                         PASSPHRASES)})
        for owner in owners[1:]:
            rounds.cast_plain(s, actor=owner, now=utcnow(), election=e,
                              selected=["c1", "c2", "c3", "c4", "c5"])
        s.commit()
        return {"url": f"{live_server.url}/c/{community.id}/meetings/{m.id}/election",
                "id": e.id, "owner": owners[0].username,
                "committee": (committee.username, committee.totp_secret),
                "scrutineers": [(u.username, u.totp_secret) for u in scrutineers]}


def test_an_owner_is_stopped_at_one_over_the_seats_casts_and_the_elected_are_announced(
        browser, live_server, election):
    base = live_server.url
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                is_mobile=True, has_touch=True)
    tab = phone.new_page()
    tab.set_default_timeout(15_000)
    log_in(tab, base, election["owner"], PASSWORD)
    tab.goto(f"{election['url']}/ballot")
    shot(tab, "elect-1-ballot")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    for cid in ("c1", "c2", "c3", "c4", "c5"):
        tab.check(f"input[name=selected][value={cid}]")
    assert tab.inner_text("#selection-count") == "5 / 5"
    tab.click("input[name=selected][value=c6]")  # the sixth tick for five seats
    assert not tab.is_checked("input[name=selected][value=c6]")
    assert tab.is_visible("#over-selection")
    shot(tab, "elect-2-over-selection")
    tab.uncheck("input[name=selected][value=c5]")
    tab.check("input[name=selected][value=c6]")  # one out, another in: still five
    assert tab.is_hidden("#over-selection")
    tab.check("input[name=final]")
    tab.click("#cast")
    tab.wait_for_selector("#confirm:not([hidden])")
    confirm = tab.inner_text("#confirm-list")
    assert "候选5" in confirm
    assert "候选4" not in confirm
    shot(tab, "elect-3-confirm")
    tab.click("#cast")
    tab.wait_for_url(re.compile(r"/board\?code="))
    code = tab.url.split("code=")[1]
    assert code in tab.inner_text("#receipt-found")
    shot(tab, "elect-4-receipt")
    with live_server.session() as s:
        entry = s.scalar(select(BoardEntry).where(BoardEntry.tracking_code == code))
        assert entry is not None
        assert not entry.server_sealed  # sealed by the page
    phone.close()

    with live_server.session() as s:
        rnd = s.scalar(select(ElectionRound).where(ElectionRound.election_id == election["id"]))
        rnd.closes_at = utcnow() - dt.timedelta(minutes=1)
        s.commit()
    desk = browser.new_context(locale="en-US")
    office = desk.new_page()
    office.set_default_timeout(15_000)
    username, secret = election["committee"]
    log_in(office, base, username, PASSWORD, secret)
    office.goto(election["url"])
    office.click("form[action$='/election/close'] button")
    office.wait_for_load_state()
    for (name, secret), passphrase in list(zip(election["scrutineers"], PASSPHRASES))[:2]:
        context = browser.new_context(locale="en-US")
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        log_in(tab, base, name, PASSWORD, secret)
        tab.goto(f"{election['url']}/opening")
        tab.fill("#passphrase", passphrase)
        tab.click("main form button[type=submit]")
        tab.wait_for_load_state()
        context.close()

    office.goto(f"{election['url']}/result")
    office.click("form[action$='/election/announce'] button")
    office.wait_for_url(re.compile(r"/election/result$"))
    elected = office.inner_text("#elected")
    shot(office, "elect-5-announcement")
    for name in ("候选0", "候选1", "候选2", "候选3", "候选4"):
        assert name in elected
    assert "候选5" not in elected  # one vote of seven: not elected
    pdf = office.request.get(f"{election['url']}/announcement.pdf")
    assert pdf.ok
    assert pdf.body().startswith(b"%PDF")
    desk.close()
