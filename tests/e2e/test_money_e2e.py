"""In real Chromium: the committee publishes a statement; an owner reads it with its charts and
downloads its PDF."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pyotp
import pytest
from browsing import SHOTS, log_in

from app.auth.services import hash_password
from app.models import (
    Building,
    Community,
    Ledger,
    Office,
    Ownership,
    Person,
    Role,
    RoleGrant,
    Unit,
    User,
    utcnow,
)
from app.money import fund
from app.money.ledger import BANK, Line, post_entry

pytestmark = pytest.mark.e2e
PASSWORD = "e2e money password"


@pytest.fixture
def books(live_server):
    """A community of its own with booked January figures, a committee member and an owner."""
    secret = pyotp.random_base32()
    with live_server.app.test_request_context(), live_server.session() as s:
        office = Office(name="money e2e office", district="徐汇区")
        community = Community(name="银杏苑", address="1 Road", district="徐汇区",
                              office=office, settings={}, created_at=utcnow())
        s.add(community)
        s.flush()
        building = Building(community_id=community.id, name="1号楼")
        s.add(building)
        s.flush()
        unit = Unit(community_id=community.id, building_id=building.id, number="101", floor=1,
                    area=Decimal("89.15"))
        committee = User(username="money-committee", display_name="委员",
                         password_hash=hash_password(PASSWORD), totp_secret=secret,
                         totp_enabled=True, created_at=utcnow())
        owner = User(username="money-owner", display_name="业主",
                     password_hash=hash_password(PASSWORD), created_at=utcnow())
        s.add_all([unit, committee, owner])
        s.flush()
        person = Person(community_id=community.id, name="业主", user_id=owner.id,
                        created_at=utcnow())
        s.add(person)
        s.flush()
        s.add_all([Ownership(unit_id=unit.id, person_id=person.id, started_at=utcnow()),
                   RoleGrant(user_id=committee.id, role=Role.COMMITTEE,
                             community_id=community.id, granted_at=utcnow())])
        now = utcnow()
        fund.deposit_by_area(s, actor=committee, now=now, community=community,
                             rate_per_m2=Decimal("150"), entry_date=dt.date(2026, 1, 5),
                             memo="首期维修资金")
        for day, debit, credit, amount in ((8, BANK, "4001", "6800.00"),
                                           (12, "5004", BANK, "1930.40")):
            post_entry(s, actor=committee, now=now, community=community,
                       ledger=Ledger.OPERATING, entry_date=dt.date(2026, 1, day), memo="月度",
                       lines=[Line(debit, debit=Decimal(amount)),
                              Line(credit, credit=Decimal(amount))])
        s.commit()
        return {"community_id": community.id, "secret": secret}




def test_committee_publishes_and_owner_reads_with_charts_and_pdf(page, live_server, books):
    base, cid = live_server.url, books["community_id"]
    log_in(page, base, "money-committee", PASSWORD, books["secret"], lang="en")
    page.goto(f"{base}/c/{cid}/money")
    page.select_option("#kind", "monthly")
    page.fill("#starts_on", "2026-01-01")
    page.click("text=Publish and sign")
    page.wait_for_url(re.compile(rf"/c/{cid}/money/disclosures/\d+$"))
    statement_url = page.url
    SHOTS.mkdir(exist_ok=True)
    for name in ("fund", "journal"):
        page.goto(f"{base}/c/{cid}/money/{name}")
        page.screenshot(path=str(SHOTS / f"money-{name}.png"), full_page=True)
    page.click("form[action$='/logout'] button")

    log_in(page, base, "money-owner", PASSWORD, lang="en")
    page.goto(f"{base}/c/{cid}/money")
    page.click("text=Monthly statement")
    page.wait_for_url(statement_url)
    main = page.locator("main")
    assert "6,800.00" in main.inner_text()
    assert "4,869.60" in main.inner_text()  # 6,800.00 − 1,930.40
    assert page.locator("main svg").count() >= 3  # income, expenses, the fund's balance
    page.screenshot(path=str(SHOTS / "money-statement.png"), full_page=True)
    href = page.locator("text=Download the PDF").get_attribute("href")
    pdf = page.request.get(f"{base}{href}")
    assert pdf.status == 200
    assert pdf.body().startswith(b"%PDF")
