"""A tender in real Chromium: three companies bid (each bid sealed by the page's JavaScript),
the deadline passes, two committee members open the bids with their passphrases, the panel
scores on sealed sheets, and the evaluation report shows the ranking."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pyotp
import pytest
from browsing import log_in
from sqlalchemy import select

from app.auth.services import hash_password
from app.models import (
    Community,
    Meeting,
    MeetingForm,
    MeetingKind,
    MeetingStatus,
    Motion,
    Office,
    Role,
    RoleGrant,
    Tender,
    TenderBidEvent,
    User,
    utcnow,
)
from app.tenders_web import opening, panel, services
from elections.rules import Matter

pytestmark = pytest.mark.e2e

PASSWORD = "a long demo password"
PASSPHRASES = ("tender chair's phrase", "tender committee's phrase")
PRICES = ("1280000.00", "1190000.50", "1335000.00")
SIGNING_PASSPHRASE = "evaluator's own phrase"
PDF = b"%PDF-1.4\n% a bid's service plan\n%%EOF\n"


@pytest.fixture(scope="module")
def tender(live_server):
    app = live_server.app
    app.config["SHARE_SCRYPT_COST"] = 2**10
    now = utcnow()
    with app.test_request_context(), live_server.session() as s:
        office = Office(name="漕河泾街道社区居委会", district="徐汇区")
        community = Community(name="香樟园", address="田林路 18 弄", district="徐汇区",
                              office=office, settings={}, created_at=now)
        s.add(community)
        s.flush()
        hashed = hash_password(PASSWORD)

        def account(name: str, role: Role | None = None) -> User:
            totp = role in (Role.CHAIR, Role.COMMITTEE)
            user = User(username=name, display_name=name, password_hash=hashed,
                        created_at=now, totp_secret=pyotp.random_base32() if totp else None,
                        totp_enabled=totp)
            s.add(user)
            s.flush()
            if role is not None:
                s.add(RoleGrant(user_id=user.id, role=role, community_id=community.id,
                                granted_at=now))
            return user

        holders = [account("tender-chair", Role.CHAIR), account("tender-committee",
                                                                Role.COMMITTEE)]
        meeting = Meeting(community_id=community.id, title="2026年香樟园业主大会",
                          kind=MeetingKind.ORDINARY, form=MeetingForm.ONLINE,
                          voting_opens_at=now - dt.timedelta(days=40),
                          voting_closes_at=now - dt.timedelta(days=30), notice_days=15,
                          status=MeetingStatus.FINAL, published_at=now - dt.timedelta(days=58),
                          notice_ends_at=now - dt.timedelta(days=43),
                          created_by_id=holders[1].id, created_at=now - dt.timedelta(days=60))
        s.add(meeting)
        s.flush()
        motion = Motion(meeting_id=meeting.id, position=1, title="通过招标选聘物业服务企业",
                        body="", matter_value=Matter.SERVICE_COMPANY.value, adopted=True)
        s.add(motion)
        s.flush()
        rules = services.build_rules(
            criteria="plan | 服务方案 | 40 | 完整可行\nstaff | 人员配置 | 30 | 资历",
            price_weight="30", formula="lowest_price", n_above="", n_below="",
            deadline=now + dt.timedelta(days=25), minimum_bidders=3, panel_size=5,
            drop_extremes=True, shortlist_size=2)
        t = services.create_tender(s, actor=holders[1], now=now, community=community,
                                   motion_id=motion.id, title="香樟园物业服务招标",
                                   scope="公共部位维修养护、保洁、绿化、秩序维护", term_months=36,
                                   notice_days=20, rules=rules)
        services.publish(s, actor=holders[1], now=now, tender=t, k=2,
                         passphrases={u.id: p for u, p in zip(holders, PASSPHRASES)})
        bidders = [account(f"tender-bidder-{i}") for i in range(3)]
        for i, user in enumerate(bidders):
            services.register_bidder(s, actor=user, now=now, tender=t,
                                     company=f"香樟物业公司{i}",
                                     licence_number=f"91310104{i:010d}", contact="经理")
        evaluators = [account(f"tender-evaluator-{i}") for i in range(5)]
        for user in evaluators:
            panel.appoint(s, actor=holders[1], now=now, tender=t, member=user,
                             seat_role="building")
        s.commit()
        return {"id": t.id, "url": f"{live_server.url}/c/{community.id}/tenders/{t.id}",
                "holders": [(u.username, u.totp_secret) for u in holders],
                "bidders": [u.username for u in bidders],
                "evaluators": [u.username for u in evaluators]}




def _tab(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    return context, tab


def _deadline_passes(live_server, tender_id: int) -> None:
    """Time passes: the deadline is moved to a minute ago (the file's rules with it)."""
    with live_server.session() as s:
        t = s.get(Tender, tender_id)
        past = utcnow() - dt.timedelta(minutes=1)
        t.deadline = past
        t.rules = {**t.rules, "deadline": past.isoformat()}
        s.commit()


def test_bidders_submit_the_panel_scores_and_the_report_shows(browser, live_server, tender):
    base = live_server.url
    for i, (username, price) in enumerate(zip(tender["bidders"], PRICES)):
        context, tab = _tab(browser)
        log_in(tab, base, username, PASSWORD)
        tab.goto(f"{tender['url']}/bid")
        tab.fill("#price", price)
        tab.fill("#documents", "服务方案与人员配置")
        if i == 0:
            # A Word file is refused by the page, naming it; nothing is posted.
            posted = []
            tab.on("request", lambda r, posted=posted: posted.append(r.url)
                   if r.method == "POST" else None)
            tab.set_input_files("#files", files=[
                {"name": "方案.docx", "mimeType": "application/msword", "buffer": b"PK\x03\x04"}])
            tab.click("#bid-form button[type=submit]")
            assert "方案.docx" in tab.inner_text("#bid-errors")
            assert posted == []
            tab.set_input_files("#files", files=[
                {"name": "服务方案.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        with tab.expect_navigation():
            tab.click("#bid-form button[type=submit]")
        assert "您的投标已密封并记录" in tab.inner_text("main")
        context.close()
    with live_server.session() as s:
        events = s.scalars(select(TenderBidEvent).where(
            TenderBidEvent.tender_id == tender["id"])).all()
        assert len(events) == 3
        assert not any(e.server_sealed for e in events)  # sealed by the browser
        assert all(p.encode() not in bytes(e.sealed) for e in events for p in PRICES)
        assert all(PDF not in bytes(e.sealed) for e in events)

    _deadline_passes(live_server, tender["id"])
    for (username, secret), passphrase in zip(tender["holders"], PASSPHRASES):
        context, tab = _tab(browser)
        log_in(tab, base, username, PASSWORD, secret)
        tab.goto(f"{tender['url']}/opening")
        tab.fill("#passphrase", passphrase)
        tab.click("main form button[type=submit]")
        tab.wait_for_url(re.compile(r"/opening\?box=bids$"))
        context.close()
    context, tab = _tab(browser)
    tab.goto(tender["url"])
    assert "1190000.50" in tab.inner_text("main")  # the opening record is public
    assert "服务方案.pdf" in tab.inner_text("main")  # named, with its hash
    context.close()
    context, tab = _tab(browser)
    log_in(tab, base, tender["evaluators"][0], PASSWORD)
    tab.goto(tender["url"])
    with tab.expect_download() as download:
        tab.click("text=服务方案.pdf")
    with open(download.value.path(), "rb") as handle:
        assert handle.read() == PDF  # out of its seal only after the opening
    context.close()

    for username in tender["evaluators"]:
        context, tab = _tab(browser)
        log_in(tab, base, username, PASSWORD)
        # The declaration: no conflict, and a signing passphrase of the evaluator's own.
        tab.goto(f"{tender['url']}/declare")
        tab.fill("#passphrase", SIGNING_PASSPHRASE)
        tab.fill("#again", SIGNING_PASSPHRASE)
        tab.click("main form button[type=submit]")
        tab.wait_for_url(re.compile(r"/sheet$"))
        context.close()
    for i, username in enumerate(tender["evaluators"]):
        context, tab = _tab(browser)
        log_in(tab, base, username, PASSWORD)
        tab.goto(f"{tender['url']}/sheet")
        posted = []
        tab.on("request", lambda r, posted=posted: posted.append(r.post_data or "")
               if r.method == "POST" else None)
        fields = tab.query_selector_all("input.score")
        if i == 0:  # out of range: the page says which cell, and nothing leaves the browser
            for field in fields:
                field.fill("41")
            tab.click("#seal-sheet")
            assert "40" in tab.inner_text("#sheet-errors")
            assert posted == []
        for field in fields:
            plan = field.get_attribute("data-criterion") == "plan"
            field.fill(str(30 + i) if plan else str(Decimal(20) + i))
        tab.click("#seal-sheet")
        tab.wait_for_url(re.compile(r"/sheet$"))
        assert len(posted) == 1
        assert "sealed=" in posted[0]
        assert "score" not in posted[0]
        assert "不可更改" in tab.inner_text("main")
        context.close()

    with live_server.app.test_request_context(), live_server.session() as s:
        t = s.get(Tender, tender["id"])
        for username, passphrase in zip([h for h, _ in tender["holders"]], PASSPHRASES):
            user = s.scalar(select(User).where(User.username == username))
            opening.bring_share(s, actor=user, now=utcnow(), tender=t,
                                 purpose=services.KeyPurpose.SHEETS, passphrase=passphrase)
        s.commit()
    context, tab = _tab(browser)
    log_in(tab, base, tender["evaluators"][0], PASSWORD)
    tab.goto(f"{tender['url']}/report")
    text = tab.inner_text("main")
    assert "香樟物业公司1" in text
    assert "32.00" in text
    ranking = tab.inner_text("table")
    assert ranking.index("香樟物业公司1") < ranking.index("香樟物业公司0")
    tab.fill("#passphrase", SIGNING_PASSPHRASE)
    tab.click("main form button[type=submit]")
    tab.wait_for_url(re.compile(r"/report$"))
    assert "本人密钥" in tab.inner_text("main")
    context.close()
    with live_server.app.test_request_context(), live_server.session() as s:
        from app.tenders_web.decision import tender_bundle
        from tenders.verify import verify_bundle

        assert verify_bundle(tender_bundle(s, s.get(Tender, tender["id"]))) == []
