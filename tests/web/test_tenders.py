"""Tenders through the site: the file, sealed bids until the deadline, the opening with the
committee's shares, the panel with recusal, sealed sheets and the report — and the seals,
asked of every role."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import func, select
from tender_helpers import PASSPHRASES, SIGNING_PASSPHRASE, TenderWorld, owners_decided

from app.models import (
    Role,
    SealedSheet,
    Tender,
    TenderBidEvent,
    TenderKey,
    TenderStatus,
)
from app.signing import site_key
from app.tenders_web import decision, panel, services
from elections.sealing import seal_ballot
from elections.signatures import signature_problems, signing_public_key

PRICES = ("1234567.89", "1188000.00", "1300000.00")


@pytest.fixture
def world(make, db_session, app, cheap_shares):
    return TenderWorld(make, db_session, app)


def _at(monkeypatch, moment):
    monkeypatch.setattr("app.tenders_web.views.utcnow", lambda: moment)


def _every_role(make, world):
    """One account per role of the community, a bidder and an evaluator of the panel."""
    accounts = {role.value: make.user_with_role(role, world.community)
                for role in Role if role is not Role.EVALUATOR}
    accounts["chair"], accounts["committee"] = world.chair, world.committee
    accounts["bidder"] = world.bidders[0]
    if world.evaluators:
        accounts["evaluator"] = world.evaluators[0]
    return accounts


PAGES = ("", "/bid", "/register", "/opening", "/opening?box=sheets", "/opening.json", "/panel",
         "/declare", "/sheet", "/report")


def _pages_text(client, world) -> str:
    text = ""
    for tail in PAGES:
        response = client.get(world.url(tail))
        assert response.status_code < 500, tail
        text += response.get_data(as_text=True)
    text += client.get(f"/c/{world.community.id}/tenders").get_data(as_text=True)
    return text


# -- the tender file ----------------------------------------------------------------------------


def test_committee_drafts_and_publishes_a_tender(client, login, make, db_session, world):
    """Can the committee write a tender file citing the adopted motion, and publish it with
    a key ceremony that leaves only protected shares?"""
    login(world.committee)
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/c/{world.community.id}/tenders/new", data={
        "motion_id": world.motion.id, "title": "第二次招标", "scope": "保洁、绿化、秩序维护",
        "term_months": 24, "criteria": "plan | 服务方案 | 50 | 完整\nstaff | 人员 | 20 | 资历",
        "price_weight": "30", "formula": "trimmed_mean", "n_above": "2", "n_below": "1",
        "minimum_bidders": 5, "panel_size": 7, "drop_extremes": "y", "shortlist_size": 3,
        "notice_days": 20, "deadline": deadline})
    assert response.status_code == 302, response.get_data(as_text=True)
    tender = db_session.scalar(select(Tender).where(Tender.title == "第二次招标"))
    assert tender.status is TenderStatus.DRAFT
    assert tender.rules["price_formula"]["kind"] == "trimmed_mean"
    page = client.get(f"/c/{world.community.id}/tenders/{tender.id}")
    assert "服务方案" in page.get_data(as_text=True)
    data = {"k": "2"}
    for user, passphrase in zip(world.holders, PASSPHRASES):
        data[f"pass-{user.id}"] = data[f"again-{user.id}"] = passphrase
    response = client.post(f"/c/{world.community.id}/tenders/{tender.id}/publish", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db_session.refresh(tender)
    assert tender.status is TenderStatus.PUBLISHED
    assert tender.k == 2
    assert tender.n == 2
    keys = db_session.scalars(select(TenderKey).where(TenderKey.tender_id == tender.id)).all()
    assert len(keys) == 4
    assert all(k.protected_share.startswith("CYSHARE1:") for k in keys)
    assert tender.bid_private_key is None
    assert tender.sheet_private_key is None


def test_a_tender_file_whose_weights_do_not_add_up_is_refused(client, login, db_session, world):
    """Does a bad tender file name the field at fault and write nothing?"""
    login(world.committee)
    before = db_session.scalar(select(func.count(Tender.id)))
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    form = {"motion_id": world.motion.id, "title": "坏的", "scope": "x", "term_months": 24,
            "criteria": "plan | 服务方案 | 50 | 完整", "price_weight": "30",
            "formula": "lowest_price", "minimum_bidders": 5, "panel_size": 7,
            "shortlist_size": 3, "notice_days": 20, "deadline": deadline}
    response = client.post(f"/c/{world.community.id}/tenders/new", data=form)
    assert response.status_code == 422
    # The refusal comes from the pure tenders package, worded in the reader's language.
    page = response.get_data(as_text=True)
    assert "权重合计为 80，而不是 100" in page
    assert "weights add up" not in page
    response = client.post(f"/c/{world.community.id}/tenders/new", data={
        **form, "criteria": "plan | 服务方案 | 70 | 完整", "panel_size": 6})
    assert "评标委员会成员人数须为单数，而不是 6" in response.get_data(as_text=True)
    response = client.post(f"/c/{world.community.id}/tenders/new?lang=en", data=form)
    assert "The weights add up to 80, not 100" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count(Tender.id))) == before


def test_a_minimum_below_the_legal_floor_is_refused(app, world):
    with app.test_request_context(), pytest.raises(services.DomainError) as err:
        services.build_rules(criteria="plan | p | 70 | g", price_weight="30",
                             formula="lowest_price", n_above="", n_below="",
                             deadline=world.now, minimum_bidders=2, panel_size=7,
                             drop_extremes=True, shortlist_size=3)
    assert err.value.field == "minimum_bidders"


# -- bids ---------------------------------------------------------------------------------------


def test_a_bidder_registers_and_bids_sealed_and_the_last_bid_counts(
        client, login, make, db_session, world, monkeypatch):
    """Can an outside account register, seal a bid, withdraw and resubmit; does the last
    count at the opening?"""
    user = make.user("acme-property")
    login(user)
    response = client.post(world.url("/register"), data={
        "company": "上海安家物业", "licence_number": "913100001234567890",
        "contact": "张经理 13800000000"})
    assert response.status_code == 302
    # Sealed in the browser: the page posts only the envelope.
    box = services.box_name(world.tender, services.KeyPurpose.BIDS)
    sealed = seal_ballot(bytes(world.tender.bid_public_key), box, "bid",
                         services.bid_plaintext("999000.00", "浏览器封存"))
    assert client.post(world.url("/bid"), data={
        "sealed": base64.b64encode(sealed).decode()}).status_code == 302
    assert client.post(world.url("/bid/withdraw")).status_code == 302
    assert client.post(world.url("/bid"), data={"price": "1000000.50",
                                                "documents": "方案"}).status_code == 302
    assert client.post(world.url("/bid"), data={"price": "-3"}).status_code == 422
    events = db_session.scalars(select(TenderBidEvent)).all()
    assert [e.action.value for e in events] == ["submit", "withdraw", "submit"]
    assert all(b"1000000" not in (e.sealed or b"") for e in events)
    for i in range(2):
        world.bid(world.bidder(i), PRICES[i])
    world.open_bids()
    record = world.tender.opening_record["record"]
    prices = {b["company"]: b["price"] for b in record["bids"]}
    assert prices["上海安家物业"] == "1000000.50"
    assert world.tender.status is TenderStatus.OPENED


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_bid_documents_are_sealed_with_the_bid_and_readable_only_after_the_opening(
        client, login, make, db_session, world):
    """Are a bid's files sealed with it (no file exists before the opening), checked at the
    opening (a file that is not what it says is refused with the reason), downloadable
    afterwards, and named in the opening record and the bundle by their SHA-256?"""
    import hashlib

    from tenders.verify import verify_bundle

    box = services.box_name(world.tender, services.KeyPurpose.BIDS)
    users = [world.bidder(i) for i in range(3)]
    files = [("服务方案.pdf", "application/pdf", PDF), ("资质.png", "image/png", PNG),
             ("fake.pdf", "application/pdf", b"MZ not a pdf")]
    login(users[0])
    sealed = seal_ballot(bytes(world.tender.bid_public_key), box, "bid",
                         services.bid_plaintext("999000.00", "方案", files))
    assert client.post(world.url("/bid"), data={
        "sealed": base64.b64encode(sealed).decode()}).status_code == 302
    client.post("/logout")
    for user, price in zip(users[1:], PRICES[1:], strict=False):
        world.bid(user, price)
    world.appoint(1)
    login(world.committee)
    url = world.url("/bids/T{}/documents/0")
    event = db_session.scalars(select(TenderBidEvent)).first()
    assert client.get(url.format(event.id)).status_code == 404  # before the opening: nothing
    world.open_bids()
    first = services.bidder_of(db_session, world.tender, users[0]).code
    (entry,) = [b for b in world.tender.opening_record["record"]["bids"]
                if b["bidder_id"] == first]
    assert [(f["name"], f["sha256"], f["problem"]) for f in entry["files"][:2]] == [
        ("服务方案.pdf", hashlib.sha256(PDF).hexdigest(), None),
        ("资质.png", hashlib.sha256(PNG).hexdigest(), None)]
    assert "not a application/pdf file" in entry["files"][2]["problem"]
    response = client.get(world.url(f"/bids/{entry['bid_id']}/documents/0"))
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert client.get(world.url(f"/bids/{entry['bid_id']}/documents/2")).status_code == 404
    page = client.get(world.url("?lang=en")).get_data(as_text=True)
    assert "服务方案.pdf" in page
    assert "refused at the opening" in page
    client.post("/logout")
    outsider = make.user()
    login(outsider)
    assert client.get(world.url(f"/bids/{entry['bid_id']}/documents/0")).status_code == 403
    client.post("/logout")
    login(world.committee)
    data = client.get(world.url("/bundle.json")).get_json()
    assert verify_bundle(data) == []
    bids = data["opening"]["record"]["bids"]
    next(b for b in bids if b["bid_id"] == entry["bid_id"])["files"][0]["sha256"] = "0" * 64
    assert any("opened files differ" in p for p in verify_bundle(data))


def test_a_bid_sealed_by_the_server_checks_its_files_with_clear_errors(
        client, login, db_session, world):
    """Without the sealing script the form posts the files: is a wrong type or an oversize
    file refused naming the file, with nothing stored, and a PDF accepted and sealed?"""
    from io import BytesIO

    from tenders.documents import MAX_DOCUMENT_BYTES

    login(world.bidder(0))

    def post(name, mime, content):
        return client.post(world.url("/bid?lang=en"), content_type="multipart/form-data",
                           data={"price": "990000.00",
                                 "files": (BytesIO(content), name, mime)})

    response = post("plan.docx", "application/msword", b"PK\x03\x04")
    assert response.status_code == 422
    assert "plan.docx: only PDF, PNG or JPEG" in response.get_data(as_text=True)
    response = post("big.pdf", "application/pdf", b"%PDF-" + b"0" * MAX_DOCUMENT_BYTES)
    assert response.status_code == 422
    assert "big.pdf: a file is at most 5 MB" in response.get_data(as_text=True)
    response = post("renamed.pdf", "application/pdf", b"MZ")
    assert "renamed.pdf: the content is not a PDF" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count(TenderBidEvent.id))) == 0
    assert post("plan.pdf", "application/pdf", PDF).status_code == 302
    (event,) = db_session.scalars(select(TenderBidEvent)).all()
    assert event.server_sealed
    assert PDF not in bytes(event.sealed)


def test_a_late_bid_is_refused(client, login, db_session, world, monkeypatch):
    """Is a bid at or after the deadline refused, and nothing written?"""
    user = world.bidder(0)
    login(user)
    _at(monkeypatch, world.tender.deadline)
    response = client.post(world.url("/bid"), data={"price": "100000.00"})
    assert response.status_code == 409
    assert db_session.scalar(select(func.count(TenderBidEvent.id))) == 0
    assert client.post(world.url("/bid/withdraw")).status_code == 409


def test_no_role_sees_a_bid_before_the_deadline(client, login, make, world, monkeypatch):
    """Before the deadline, does any page or call show a price — to any role?"""
    for i, price in enumerate(PRICES):
        world.bid(world.bidder(i), price)
    world.appoint(1)
    accounts = _every_role(make, world)
    texts = [_pages_text(client, world)]  # anonymous
    for user in accounts.values():
        login(user)
        texts.append(_pages_text(client, world))
        client.post("/logout")
    for text in texts:
        for price in PRICES:
            assert price not in text
            assert price.replace(".00", "") not in text
    # And the bids box does not open before the deadline, even with every share.
    login(world.chair)
    response = client.post(world.url("/opening"), data={"passphrase": PASSPHRASES[0]})
    assert response.status_code == 409
    assert world.tender.opening_record is None


def test_the_opening_record_is_signed_by_the_site_and_the_key_holders(
        client, login, world, monkeypatch):
    for i, price in enumerate(PRICES):
        world.bid(world.bidder(i), price)
    _at(monkeypatch, world.after_deadline())
    for user, passphrase in zip(world.holders, PASSPHRASES):
        login(user)
        response = client.post(world.url("/opening"), data={"passphrase": passphrase})
        assert response.status_code == 302, response.get_data(as_text=True)
        client.post("/logout")
    world.s.refresh(world.tender)
    assert world.tender.status is TenderStatus.OPENED
    doc = client.get(world.url("/opening.json")).get_json()
    assert sorted(b["price"] for b in doc["record"]["bids"]) == sorted(PRICES)
    keys = {e["scrutineer"]: base64.b64decode(e["signing_key"])
            for e in world.tender.ceremony["record"]["bids"]["scrutineers"]}
    with world.app.app_context():
        expected = {"site": signing_public_key(site_key()), **keys}
    assert signature_problems("tender-opening", doc, expected) == []
    assert "1188000.00" in client.get(world.url()).get_data(as_text=True)


def test_too_few_bids_fail_the_tender_and_say_why(client, world):
    for i in range(2):
        world.bid(world.bidder(i), PRICES[i])
    world.open_bids()
    assert world.tender.status is TenderStatus.FAILED
    assert "2 bids at the deadline" in world.tender.failure_reason
    page = client.get(world.url()).get_data(as_text=True)
    assert "招标失败：截止时共 2 份有效投标" in page


def test_no_one_outside_the_committee_learns_who_sits_on_the_panel(client, login, make, world):
    """Before the opening, does any page name an evaluator — to a bidder, an owner, another
    evaluator, an auditor or an anonymous visitor? (The committee, who appoints, sees them.)"""
    world.bidder(0)
    world.appoint(5)
    names = ["张评委甲", "李评委乙", "王评委丙", "赵评委丁", "陈评委戊"]
    for user, name in zip(world.evaluators, names, strict=True):
        user.display_name = name
    world.s.flush()
    accounts = _every_role(make, world)
    viewers = [None, accounts["bidder"], accounts["owner"], accounts["auditor"],
               world.evaluators[0]]
    for user in viewers:
        if user is not None:
            login(user)
        text = _pages_text(client, world)
        others = names[1:] if user is world.evaluators[0] else names
        assert not [n for n in others if n in text]
        if user is not None:
            client.post("/logout")
    login(world.committee)
    assert names[2] in client.get(world.url("/panel")).get_data(as_text=True)
    client.post("/logout")
    # At the opening the panel is published with the opening record.
    for i, price in enumerate(PRICES[1:], start=1):
        world.bid(world.bidder(i), price)
    world.bid(world.bidders[0], PRICES[0])
    world.open_bids()
    assert all(n in client.get(world.url()).get_data(as_text=True) for n in names)


def test_a_wrong_passphrase_opens_nothing(client, login, world, monkeypatch):
    world.bid(world.bidder(0), PRICES[0])
    _at(monkeypatch, world.after_deadline())
    login(world.chair)
    response = client.post(world.url("/opening"), data={"passphrase": "not the passphrase"})
    assert response.status_code == 422
    assert world.tender.opening_record is None


# -- panel and sheets ---------------------------------------------------------------------------


def _opened(world, evaluators=5):
    for i, price in enumerate(PRICES):
        world.bid(world.bidder(i), price)
    world.appoint(evaluators)
    world.open_bids()


def test_recusal_leaving_an_even_panel_blocks_scoring(client, login, world):
    """Is a member with a conflict recused, and does an even active panel block the sheets?"""
    _opened(world)
    bidder = world.tender.opening_record["record"]["bids"][0]["bidder_id"]
    world.declare_all({0: [bidder]})
    status = panel.panel_state(world.tender)
    assert world.tender.panel[0].code in status.recused
    assert [b.code for b in status.blockers] == ["even_panel"]
    login(world.committee)
    page = client.get(world.url("/panel")).get_data(as_text=True)
    assert "须为单数" in page  # the blocker of the pure package, in Chinese
    client.post("/logout")
    login(world.evaluators[1])
    response = client.post(world.url("/sheet"), data={"sealed": world.sealed_sheet(
        world.evaluators[1], world.scores("30", "20"))})
    assert response.status_code == 409
    # A substitute who declares no conflict makes the panel odd again.
    world.appoint(1)
    with world.app.test_request_context():
        panel.declare(world.s, actor=world.evaluators[-1], now=world.after_deadline(),
                      tender=world.tender, conflicts=[], passphrase=SIGNING_PASSPHRASE)
    assert panel.panel_state(world.tender).ready


def test_a_sheet_is_sealed_in_the_browser_and_cannot_be_changed(client, login, db_session,
                                                                  world):
    """Does the server take only a sealed envelope (never a score in plaintext), keep exactly
    what the browser sealed, and refuse a second sheet?"""
    from app.models import AuditEntry

    _opened(world)
    world.declare_all()
    evaluator = world.evaluators[0]
    login(evaluator)
    page = client.get(world.url("/sheet")).get_data(as_text=True)
    assert 'id="sheet-form"' in page
    assert "js/sheet.js" in page
    assert 'name="score-' not in page  # the score inputs are never posted
    assert "<noscript>" in page
    plain = {f"score-{b}-plan": "35.5" for b in world.bid_ids()}
    assert client.post(world.url("/sheet"), data=plain).status_code == 422
    assert client.post(world.url("/sheet"), data={"sealed": "bm90IGEgc2VhbA=="}
                       ).status_code == 422
    assert db_session.scalar(select(func.count(SealedSheet.id))) == 0
    envelope = world.sealed_sheet(evaluator, world.scores("35.5", "20"))
    assert client.post(world.url("/sheet"), data={"sealed": envelope}).status_code == 302
    again = world.sealed_sheet(evaluator, world.scores("10", "10"))
    assert client.post(world.url("/sheet"), data={"sealed": again}).status_code == 409
    sheets = db_session.scalars(select(SealedSheet)).all()
    assert len(sheets) == 1
    assert base64.b64encode(bytes(sheets[0].sealed)).decode() == envelope
    logged = " ".join(str(e.details) for e in db_session.scalars(select(AuditEntry)))
    assert "35.5" not in logged
    assert "35.5" not in client.get(world.url("/sheet")).get_data(
        as_text=True)


def test_an_out_of_range_sheet_is_recorded_invalid_at_the_opening(client, login, world):
    """A sheet the browser would have refused (sealed by hand out of range) is read only at
    the opening: it is recorded as invalid with the reason, shown in the report, not scored."""
    _opened(world)
    world.declare_all()
    bad, *good = world.evaluators
    with world.app.test_request_context():
        panel.submit_sheet(world.s, actor=bad, now=world.after_deadline(), tender=world.tender,
                           sealed_b64=world.sealed_sheet(bad, world.scores("41", "20")))
    for user in good:
        world.sheet(user, plan="33", staff="21")
    world.open_sheets()
    result = world.tender.evaluation["record"]["result"]
    code = world.tender.panel[0].code
    assert list(result["invalid_sheets"]) == [code]
    assert "41 is outside the range 0–40" in result["invalid_sheets"][code][0]
    assert {c["average"] for r in result["ranking"] for c in r["criteria"]} == {"33.00", "21.00"}
    login(world.chair)
    page = client.get(world.url("/report?lang=en")).get_data(as_text=True)
    assert "Invalid sheets" in page
    assert "41 is outside the range" in page
    from tenders.verify import verify_bundle

    assert verify_bundle(client.get(world.url("/bundle.json")).get_json()) == []


def test_no_role_sees_a_score_before_every_sheet_is_in(client, login, make, world):
    """With all sheets but one in, does any page show a score — to any role? Do the shares
    refuse to open the sheets box?"""
    _opened(world)
    world.declare_all()
    for user in world.evaluators[:-1]:
        world.sheet(user, plan="37.25", staff="23.75")
    accounts = _every_role(make, world)
    for user in [*accounts.values(), *world.evaluators]:
        login(user)
        text = _pages_text(client, world)
        assert "37.25" not in text
        assert "23.75" not in text
        client.post("/logout")
    login(world.chair)
    response = client.post(world.url("/opening?box=sheets"),
                           data={"passphrase": PASSPHRASES[0], "box": "sheets"})
    assert response.status_code == 409
    assert world.tender.evaluation is None


def test_sheets_open_together_and_the_report_shows_every_score(client, login, world):
    _opened(world)
    world.declare_all()
    for i, user in enumerate(world.evaluators):
        world.sheet(user, plan=str(30 + i), staff="20")
    world.open_sheets()
    assert world.tender.status is TenderStatus.EVALUATED
    from app.models import Notification

    kinds = {(n.user_id, n.kind) for n in world.s.scalars(select(Notification))}
    assert (world.evaluators[0].id, "tender.opened") in kinds
    assert (world.bidders[0].id, "tender.opened") in kinds
    assert (world.evaluators[0].id, "tender.evaluated") in kinds
    result = world.tender.evaluation["record"]["result"]
    # Five evaluators: 30 and 34 are dropped, the mean of 31, 32, 33 is 32.
    assert {c["average"] for r in result["ranking"] for c in r["criteria"]
            if c["criterion"] == "plan"} == {"32.00"}
    best = result["ranking"][0]
    assert best["bidder_id"] == world.tender.opening_record["record"]["bids"][1]["bidder_id"]
    assert best["price"]["score"] == "30.00"
    login(world.evaluators[0])
    wrong = client.post(world.url("/report/sign?lang=en"), data={"passphrase": "not mine at all"})
    assert wrong.status_code == 422
    assert "signing passphrase" in wrong.get_data(as_text=True)
    signed = {"passphrase": SIGNING_PASSPHRASE}
    assert client.post(world.url("/report/sign"), data=signed).status_code == 302
    assert client.post(world.url("/report/sign"), data=signed).status_code == 409
    seat = world.tender.panel[0]
    world.s.refresh(seat)
    # Signed with the evaluator's own key, the one the signed evaluation pins for the seat.
    (entry,) = seat.report_signature["signatures"]
    pinned = world.tender.evaluation["record"]["evaluator_keys"][seat.code]
    assert entry["signer"] == seat.code
    assert entry["key"] == pinned == base64.b64encode(bytes(seat.signing_public_key)).decode()
    with world.app.app_context():
        assert entry["key"] != base64.b64encode(signing_public_key(site_key())).decode()
    assert "CYEVKEY1" in seat.protected_signing_key
    client.post("/logout")
    login(world.chair)
    assert client.post(world.url("/report/sign"), data=signed).status_code == 403
    page = client.get(world.url("/report")).get_data(as_text=True)
    assert "32.00" in page
    assert best["total"] in page
    assert "物业公司1" in page


def test_the_audit_bundle_verifies_and_a_changed_score_is_named(client, login, world, tmp_path):
    """Does python -m tenders.verify re-open bids and sheets and recompute the evaluation,
    and name a bundle whose opening record was changed?"""
    from tenders.verify import main, verify_bundle

    _opened(world)
    world.declare_all()
    for i, user in enumerate(world.evaluators):
        world.sheet(user, plan=str(30 + i), staff="20")
    world.open_sheets()
    login(world.evaluators[0])
    assert client.post(world.url("/report/sign"),
                       data={"passphrase": SIGNING_PASSPHRASE}).status_code == 302
    response = client.get(world.url("/bundle.json"))
    assert response.status_code == 200
    data = response.get_json()
    assert verify_bundle(data) == []
    path = tmp_path / "bundle.json"
    path.write_text(response.get_data(as_text=True), encoding="utf-8")
    assert main([str(path)]) == 0
    # An evaluator's signature made by the site's key instead of theirs is named.
    from tenders.signing import sign_report

    seat = next(p for p in data["panel"] if p["report_signature"])
    genuine = seat["report_signature"]
    with world.app.app_context():
        forger = site_key()
    seat["report_signature"] = sign_report(
        forger, tender=data["tender"], evaluator_id=seat["seat"],
        evaluation_record=data["evaluation"]["record"], signed_at="2026-01-01T00:00:00+00:00")
    assert verify_bundle(data) == [
        f"evaluator {seat['seat']}: signature by {seat['seat']} uses an unexpected key"]
    seat["report_signature"] = genuine
    # A key pinned for a seat that does not score is named too.
    keys = data["evaluation"]["record"]["evaluator_keys"]
    keys["E999"] = keys[seat["seat"]]
    assert "the evaluation pins a signing key for E999, who is not an active evaluator" in (
        verify_bundle(data))
    del keys["E999"]
    data["opening"]["record"]["bids"][0]["price"] = "1.00"
    problems = verify_bundle(data)
    assert any("opening record: signature" in p for p in problems)
    assert any("differs from the opening record" in p for p in problems)


def test_the_tender_notice_and_the_report_are_pdfs(client, login, world):
    response = client.get(world.url("/tender.pdf"))
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")
    login(world.chair)
    assert client.get(world.url("/report.pdf")).status_code == 409
    _opened(world)
    world.declare_all()
    for user in world.evaluators:
        world.sheet(user)
    world.open_sheets()
    response = client.get(world.url("/report.pdf"))
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")


def test_candidates_are_published_objections_answered_and_the_award_made_final(
        client, login, make, db_session, world, monkeypatch):
    """After the report: the candidates are published, an owner objects, a bidder complains
    after the objection window, the committee answers both and records the award, and the
    award becomes final only once the complaint window has closed."""
    _opened(world)
    world.declare_all()
    for user in world.evaluators:
        world.sheet(user)
    world.open_sheets()
    owner = make.user_with_role(Role.OWNER, world.community)
    login(owner)
    assert client.post(world.url("/objections"), data={"text": "为何"}).status_code == 409
    client.post("/logout")
    login(world.committee)
    response = client.post(world.url("/to-meeting"))
    assert response.status_code == 302
    assert "/meetings/" in response.headers["Location"]
    db_session.refresh(world.tender)
    from app.models import Meeting

    meeting = db_session.get(Meeting, world.tender.shortlist_meeting_id)
    assert meeting.motions[0].matter.value == 4
    assert "物业公司1" in meeting.motions[0].body
    assert client.post(world.url("/to-meeting")).status_code == 409
    assert client.post(world.url("/candidates")).status_code == 302
    client.post("/logout")
    login(owner)
    assert client.post(world.url("/objections"), data={"text": "请公开谈判记录"}).status_code == 302
    client.post("/logout")
    db_session.refresh(world.tender)
    published = world.tender.candidates_published_at
    _at(monkeypatch, published + dt.timedelta(days=4))
    login(world.bidders[2])
    assert client.post(world.url("/objections"), data={"text": "评分不公"}).status_code == 302
    client.post("/logout")
    stranger = make.user()
    login(stranger)
    assert client.post(world.url("/objections"), data={"text": "x"}).status_code == 403
    client.post("/logout")
    objections = decision.objections_of(db_session, world.tender)
    assert [o.kind for o in objections] == ["objection", "complaint"]
    login(world.committee)
    shortlist = decision.shortlist_of(world.tender)
    award = {"bid_id": shortlist[0], "note": "谈判：服务费不变，增加两名保安。"}
    # The owners' meeting on the shortlist has not decided: no award.
    response = client.post(world.url("/award?lang=en"), data=award)
    assert response.status_code == 409
    assert "no final result" in response.get_data(as_text=True)
    owners_decided(db_session, meeting, adopted=False)
    response = client.post(world.url("/award?lang=en"), data=award)
    assert response.status_code == 409
    assert "did not adopt" in response.get_data(as_text=True)
    owners_decided(db_session, meeting, adopted=True)
    assert client.post(world.url("/award"), data={"bid_id": "T0", "note": "x"}).status_code == 422
    assert client.post(world.url("/award"), data=award).status_code == 302
    assert client.post(world.url("/final")).status_code == 409  # unanswered, window open
    for o in objections:
        assert client.post(world.url(f"/objections/{o.id}/answer"),
                           data={"answer": "已答复"}).status_code == 302
    assert client.post(world.url("/final")).status_code == 409  # complaints until day 10
    _at(monkeypatch, published + dt.timedelta(days=10, minutes=1))
    assert client.post(world.url("/final")).status_code == 302
    db_session.refresh(world.tender)
    assert world.tender.status is TenderStatus.FINAL
    page = client.get(world.url()).get_data(as_text=True)
    assert "增加两名保安" in page
    assert "已答复" in page


def test_the_committee_orders_a_tie_and_the_verifier_recomputes_it(client, login, world):
    """Two bids equal on the whole chain block the shortlist; the committee's recorded order
    unblocks it, and the bundle still verifies."""
    from tenders.verify import verify_bundle

    same = dt.datetime.now(dt.UTC)
    for i, price in enumerate(("1000000.00", "1000000.00", "1200000.00")):
        world.bid(world.bidder(i), price, at=same)
    world.appoint(5)
    world.open_bids()
    world.declare_all()
    for user in world.evaluators:
        world.sheet(user)
    world.open_sheets()
    result = world.tender.evaluation["record"]["result"]
    assert result["shortlist"] == []
    (tie,) = result["ties"]
    login(world.committee)
    assert "equal" in client.get(world.url("/report?lang=en")).get_data(as_text=True).lower()
    assert client.post(world.url("/candidates")).status_code == 409
    response = client.post(world.url("/ties"), data={"order": ", ".join(reversed(tie)),
                                                     "reason": "委员会会议决定，理由见纪要"})
    assert response.status_code == 302, response.get_data(as_text=True)
    world.s.refresh(world.tender)
    result = world.tender.evaluation["record"]["result"]
    assert result["shortlist"] == [tie[1], tie[0]]
    assert result["ranking"][1]["decided_by"] == "committee"
    assert verify_bundle(client.get(world.url("/bundle.json")).get_json()) == []
    assert client.post(world.url("/ties"), data={"order": "T1, T2",
                                                 "reason": "x"}).status_code == 422


def test_the_award_can_cite_the_owners_motion_of_another_meeting(client, login, world):
    """When the owners decided the shortlist at a meeting held apart, the committee cites its
    final, adopted motion (never the motion that decided to tender); then the award is taken."""
    from tender_helpers import adopted_service_motion

    _opened(world)
    world.declare_all()
    for user in world.evaluators:
        world.sheet(user)
    world.open_sheets()
    login(world.committee)
    assert client.post(world.url("/candidates")).status_code == 302
    award = {"bid_id": decision.shortlist_of(world.tender)[0], "note": "谈判记录"}
    response = client.post(world.url("/award?lang=en"), data=award)
    assert response.status_code == 409
    assert "has not been put to an owners" in response.get_data(as_text=True)
    own = {"motion_id": world.motion.id}
    assert client.post(world.url("/shortlist-motion"), data=own).status_code == 422
    other = adopted_service_motion(world.s, world.community, world.committee)
    assert client.post(world.url("/shortlist-motion"),
                       data={"motion_id": other.id}).status_code == 422  # not final yet
    owners_decided(world.s, other.meeting, adopted=True)
    assert client.post(world.url("/shortlist-motion"),
                       data={"motion_id": other.id}).status_code == 302
    assert client.post(world.url("/award"), data=award).status_code == 302
    world.s.refresh(world.tender)
    assert world.tender.shortlist_motion_id == other.id
    assert world.tender.awarded_bid_id == award["bid_id"]
