"""Money through the site: booking, import, the fund's spends, disclosure, who sees what."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from money_helpers import decided_motion, small_community, xlsx
from sqlalchemy import func, select, text

from app.models import (
    AuditEntry,
    FundSpend,
    JournalEntry,
    MeetingStatus,
    Notification,
    Role,
    utcnow,
)
from app.money import fund, ledger
from elections.rules import Matter


@pytest.fixture
def place(make, app):
    community, units = small_community(make)
    committee = make.user_with_role(Role.COMMITTEE, community)
    owner = make.user()
    person = make.person(community, user=owner)
    make.own(person, units[0])
    auditor = make.user_with_role(Role.AUDITOR, community)
    return {"c": community, "units": units, "committee": committee, "owner": owner,
            "auditor": auditor}


def entries(db_session, community) -> int:
    return db_session.scalar(select(func.count(JournalEntry.id)).where(
        JournalEntry.community_id == community.id))



def deposit(client, c, rate="100", day="2026-01-05"):
    return client.post(f"/c/{c.id}/money/fund/receipts", data={
        "kind": "deposit", "d-entry_date": day, "d-memo": "首期维修资金", "d-rate": rate,
        "d-motion": "0"})


def test_committee_books_and_reverses_an_entry(client, login, place, db_session):
    """Can the committee book an entry, see it in the journal, and correct it only by reversal?"""
    c = place["c"]
    login(place["committee"])
    page = client.get(f"/c/{c.id}/money/journal/new?lang=en")
    assert page.status_code == 200
    response = client.post(f"/c/{c.id}/money/journal/new", data={
        "entry_date": "2026-02-01", "memo": "Parking February", "debit": "1001",
        "credit": "4001", "amount": "1,280.50"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    journal = client.get(f"/c/{c.id}/money/journal").get_data(as_text=True)
    assert "Parking February" in journal
    assert "1,280.50" in journal
    assert "checks out" in journal
    response = client.post(f"/c/{c.id}/money/journal/1/reverse", data={"reason": "typo"})
    assert response.status_code == 302
    assert ledger.balances(db_session, c)["4001"] == Decimal("0.00")
    assert client.post(f"/c/{c.id}/money/journal/1/reverse",
                       data={"reason": "again"}).status_code == 409
    actions = set(db_session.scalars(select(AuditEntry.action).where(
        AuditEntry.community_id == c.id)))
    assert {"money.entry_posted", "money.entry_reversed"} <= actions


def test_bad_amount_names_the_field_and_writes_nothing(client, login, place, db_session):
    c = place["c"]
    login(place["committee"])
    client.get("/?lang=en")
    for amount, message in (("12.345", "at most two decimals"), ("abc", "Write a number")):
        response = client.post(f"/c/{c.id}/money/journal/new", data={
            "entry_date": "2026-02-01", "memo": "x", "debit": "1001", "credit": "4001",
            "amount": amount})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert entries(db_session, c) == 0


def test_spend_without_adopted_motion_refused(client, login, place, db_session):
    """Is a fund spend with neither an adopted motion nor an emergency refused, clearly?"""
    c = place["c"]
    login(place["committee"])
    client.get("/?lang=en")
    building = c.buildings[0].id
    response = client.post(f"/c/{c.id}/money/fund/spends", data={
        "title": "Repaint the lobby", "category": "other", "budget": "5000", "motion": "0",
        "emergency_kind": "", "buildings": [str(building)], "split": "area"})
    assert response.status_code == 409
    assert "without an adopted motion" in response.get_data(as_text=True)
    rejected = decided_motion(db_session, c, place["committee"], adopted=False)
    response = client.post(f"/c/{c.id}/money/fund/spends", data={
        "title": "Repaint the lobby", "category": "other", "budget": "5000",
        "motion": str(rejected.id), "buildings": [str(building)], "split": "area"})
    assert response.status_code in (409, 422)
    assert db_session.scalar(select(func.count(FundSpend.id))) == 0


def test_spend_on_adopted_motion_paid_within_budget(client, login, place, db_session):
    """A spend citing an adopted item-5 motion: paid by area, and refused beyond its budget."""
    c, units = place["c"], place["units"]
    motion = decided_motion(db_session, c, place["committee"], status=MeetingStatus.FINAL)
    login(place["committee"])
    client.get("/?lang=en")
    assert deposit(client, c).status_code == 302
    building = c.buildings[0].id
    response = client.post(f"/c/{c.id}/money/fund/spends", data={
        "title": "Lift of building 1", "category": "lift", "budget": "100.00",
        "motion": str(motion.id), "buildings": [str(building)], "split": "area"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    spend = db_session.scalar(select(FundSpend).where(FundSpend.community_id == c.id))
    assert {link.unit_id for link in spend.units} == {u.id for u in units[:3]}
    pay = f"/c/{c.id}/money/fund/spends/{spend.id}/pay"
    assert client.post(pay, data={"entry_date": "2026-02-01",
                                  "amount": "60.00"}).status_code == 302
    response = client.post(pay, data={"entry_date": "2026-02-02", "amount": "40.01"})
    assert response.status_code == 409
    assert "Over budget" in response.get_data(as_text=True)
    assert fund.spent_on(spend) == Decimal("60.00")
    page = client.get(f"/c/{c.id}/money/fund").get_data(as_text=True)
    assert "Lift of building 1" in page


def test_top_up_needs_an_item_6_motion(client, login, place, db_session):
    c = place["c"]
    login(place["committee"])
    client.get("/?lang=en")
    use = decided_motion(db_session, c, place["committee"], matter=Matter.USE_FUND)
    response = client.post(f"/c/{c.id}/money/fund/receipts", data={
        "kind": "deposit", "d-entry_date": "2026-01-05", "d-memo": "续筹", "d-rate": "5",
        "d-motion": str(use.id)})
    assert response.status_code in (409, 422)
    raise_ = decided_motion(db_session, c, place["committee"], matter=Matter.RAISE_FUND)
    response = client.post(f"/c/{c.id}/money/fund/receipts", data={
        "kind": "deposit", "d-entry_date": "2026-01-05", "d-memo": "续筹", "d-rate": "5",
        "d-motion": str(raise_.id)})
    assert response.status_code == 302


def test_statement_import_books_every_row(client, login, place, db_session):
    c = place["c"]
    login(place["committee"])
    data = xlsx([["日期", "摘要", "科目", "收入", "支出"],
                 [dt.date(2026, 2, 3), "停车费二月", "4001 停车场地收益", 1200.5, None],
                 ["2026/02/05", "公共照明电费", "5004", None, "300.25"]])
    response = client.post(f"/c/{c.id}/money/import",
                           data={"file": (io.BytesIO(data), "statement.xlsx")})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    got = ledger.balances(db_session, c)
    assert (got["4001"], got["5004"], got["1001"]) == (
        Decimal("1200.50"), Decimal("300.25"), Decimal("900.25"))


def test_bad_import_row_names_row_and_column_and_books_nothing(client, login, place,
                                                               db_session):
    """Does a bad row reject the whole file, naming its row and column?"""
    c = place["c"]
    login(place["committee"])
    client.get("/?lang=en")
    data = xlsx([["日期", "摘要", "科目", "收入", "支出"],
                 ["2026-02-03", "停车费", "4001", "100", None],
                 ["2026-02-30", "电费", "5004", None, "1.234"],
                 ["2026-02-04", "错科目", "5004", "50", None]])
    response = client.post(f"/c/{c.id}/money/import",
                           data={"file": (io.BytesIO(data), "statement.xlsx")})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Write the date as 2026-03-05." in page
    assert "at most two decimals" in page
    assert "not an income account" in page
    assert '<td class="num">3</td><td>日期</td>' in page
    assert '<td class="num">4</td><td>科目</td>' in page
    assert entries(db_session, c) == 0


def test_publish_statement_owner_reads_it_with_charts(client, login, place, db_session):
    """The committee publishes; does the owner get a notice and read it with its charts, and
    is the published statement and its period frozen?"""
    c = place["c"]
    login(place["committee"])
    client.get("/?lang=en")
    deposit(client, c, day="2026-01-05")
    client.post(f"/c/{c.id}/money/journal/new", data={
        "entry_date": "2026-01-10", "memo": "Parking", "debit": "1001", "credit": "4001",
        "amount": "800"})
    client.post(f"/c/{c.id}/money/journal/new", data={
        "entry_date": "2026-01-12", "memo": "Lights", "debit": "5004", "credit": "1001",
        "amount": "120.40"})
    response = client.post(f"/c/{c.id}/money/disclosures",
                           data={"kind": "monthly", "starts_on": "2026-01-01"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    url = response.headers["Location"]
    again = client.post(f"/c/{c.id}/money/disclosures",
                        data={"kind": "monthly", "starts_on": "2026-01-01"})
    assert again.status_code == 409
    late = client.post(f"/c/{c.id}/money/journal/new", data={
        "entry_date": "2026-01-20", "memo": "Late", "debit": "1001", "credit": "4001",
        "amount": "1"})
    assert late.status_code == 409
    assert "is closed" in late.get_data(as_text=True)
    client.post("/logout")
    login(place["owner"])
    notices = db_session.scalars(select(Notification.kind).where(
        Notification.user_id == place["owner"].id)).all()
    assert "money.disclosure" in notices
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert page.count("<svg") >= 3
    assert "Parking income" in page
    assert "800.00" in page
    assert "679.60" in page
    assert "Fund balance at each month end" in page
    index = client.get(f"/c/{c.id}/money").get_data(as_text=True)
    assert "Monthly statement" in index
    assert "Publish and sign" not in index


def test_owner_sees_only_own_units_and_not_the_journal(client, login, place, db_session):
    c, units = place["c"], place["units"]
    fund.deposit_by_area(db_session, actor=place["committee"], now=utcnow(), community=c,
                         rate_per_m2=Decimal("100"), entry_date=dt.date(2026, 1, 5), memo="d")
    login(place["owner"])
    page = client.get(f"/c/{c.id}/money/fund/mine?lang=en").get_data(as_text=True)
    assert units[0].label in page
    assert "6,842.00" in page
    assert units[1].label not in page
    assert client.get(f"/c/{c.id}/money/journal").status_code == 403
    assert client.get(f"/c/{c.id}/money/fund").status_code == 403


def test_another_community_sees_nothing(client, login, place, make, db_session, app):
    """Can the committee of another community read or book anything here? (No.)"""
    c = place["c"]
    with app.test_request_context():
        from app.models import DisclosureKind
        from app.money.disclosure import publish_disclosure
        published = publish_disclosure(db_session, actor=place["committee"], now=utcnow(),
                                       community=c, kind=DisclosureKind.MONTHLY,
                                       starts_on=dt.date(2026, 1, 1), today=dt.date(2026, 3, 1))
    elsewhere, _ = small_community(make)
    stranger = make.user_with_role(Role.COMMITTEE, elsewhere)
    login(stranger)
    assert client.get(f"/c/{c.id}/money/journal").status_code == 403
    assert client.get(f"/c/{c.id}/money/disclosures/{published.id}").status_code == 403
    # Through their own community's URL, the other community's statement does not exist.
    assert client.get(
        f"/c/{elsewhere.id}/money/disclosures/{published.id}").status_code == 404
    assert client.post(f"/c/{c.id}/money/journal/new", data={
        "entry_date": "2026-02-01", "memo": "x", "debit": "1001", "credit": "4001",
        "amount": "1"}).status_code == 403


def test_auditor_sees_a_tampered_entry_named(client, login, place, db_session):
    """The community office audits: does the journal page name the first changed entry?"""
    c = place["c"]
    for n in (1, 2):
        ledger.post_entry(db_session, actor=place["committee"], now=utcnow(), community=c,
                          ledger=ledger.OP, entry_date=dt.date(2026, 2, n), memo=f"e{n}",
                          lines=[ledger.Line("1001", debit=Decimal(n)),
                                 ledger.Line("4001", credit=Decimal(n))])
    db_session.execute(text("UPDATE journal_entry SET memo = 'forged' WHERE community_id = :c "
                            "AND seq = 2"), {"c": c.id})
    db_session.expire_all()
    login(place["auditor"])
    page = client.get(f"/c/{c.id}/money/journal?lang=en").get_data(as_text=True)
    assert "entry 2" in page
    assert "entry content changed" in page
    assert client.get(f"/c/{c.id}/money/journal/new").status_code == 403


def test_every_money_page_renders_in_chinese(client, login, place, db_session, app):
    """Do the pages render in the default language, with data on them?"""
    c = place["c"]
    fund.deposit_by_area(db_session, actor=place["committee"], now=utcnow(), community=c,
                         rate_per_m2=Decimal("100"), entry_date=dt.date(2026, 1, 5), memo="d")
    fund.file_spend(db_session, actor=place["committee"], now=utcnow(), community=c,
                    title="水管", category="pipes", budget=Decimal(100),
                    unit_ids=[place["units"][0].id], emergency_kind="water_main")
    with app.test_request_context():
        from app.models import DisclosureKind
        from app.money.disclosure import publish_disclosure
        published = publish_disclosure(db_session, actor=place["committee"], now=utcnow(),
                                       community=c, kind=DisclosureKind.MONTHLY,
                                       starts_on=dt.date(2026, 1, 1), today=dt.date(2026, 3, 1))
    login(place["committee"])
    client.get("/?lang=zh_Hans_CN")
    for path in ("", "/journal", "/journal/new", "/import", "/fund", "/fund/mine",
                 f"/disclosures/{published.id}"):
        response = client.get(f"/c/{c.id}/money{path}")
        assert response.status_code == 200, path
        assert "专项维修资金" in response.get_data(as_text=True) or path != "/fund"
    assert "维修资金余额" in client.get(f"/c/{c.id}/money/disclosures/{published.id}").get_data(
        as_text=True)


def test_owner_downloads_pdfs_and_auditor_exports_the_books(client, login, place, db_session,
                                                            app):
    """Does the owner get the statement's PDF and their fund statement, and the auditor the
    whole books as XLSX (every line, every unit, every spend)?"""
    c = place["c"]
    fund.deposit_by_area(db_session, actor=place["committee"], now=utcnow(), community=c,
                         rate_per_m2=Decimal("100"), entry_date=dt.date(2026, 1, 5), memo="d")
    with app.test_request_context():
        from app.models import DisclosureKind
        from app.money.disclosure import publish_disclosure
        published = publish_disclosure(db_session, actor=place["committee"], now=utcnow(),
                                       community=c, kind=DisclosureKind.MONTHLY,
                                       starts_on=dt.date(2026, 1, 1), today=dt.date(2026, 3, 1))
    login(place["owner"])
    pdf = client.get(f"/c/{c.id}/money/disclosures/{published.id}.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    mine = client.get(f"/c/{c.id}/money/fund/mine.pdf")
    assert mine.data.startswith(b"%PDF")
    assert client.get(f"/c/{c.id}/money/export.xlsx").status_code == 403
    client.post("/logout")
    login(place["auditor"])
    response = client.get(f"/c/{c.id}/money/export.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    journal, units, _spends = book.worksheets
    assert journal.max_row == 1 + 1 + len(place["units"])  # header, bank line, unit lines
    assert sum(Decimal(str(r[3])) for r in units.iter_rows(min_row=2, values_only=True)) == (
        Decimal(100) * sum(u.area for u in place["units"]))


def test_owner_asks_for_a_review_and_the_committee_answers(client, login, place, db_session):
    """Is an owner's review request kept on the record, limited to their own unit, answered
    once, and both sides told?"""
    from app.models import FundReview

    c, units = place["c"], place["units"]
    login(place["owner"])
    client.get("/?lang=en")
    other = client.post(f"/c/{c.id}/money/fund/mine/reviews",
                        data={"unit": str(units[1].id), "question": "Why?"})
    assert other.status_code == 422  # not a unit of theirs: not even offered
    response = client.post(f"/c/{c.id}/money/fund/mine/reviews",
                           data={"unit": str(units[0].id), "question": "Interest looks low"})
    assert response.status_code == 302
    review = db_session.scalar(select(FundReview).where(FundReview.community_id == c.id))
    assert review.unit_id == units[0].id
    committee_notices = db_session.scalars(select(Notification.kind).where(
        Notification.user_id == place["committee"].id)).all()
    assert "money.review_asked" in committee_notices
    client.post("/logout")
    login(place["committee"])
    url = f"/c/{c.id}/money/fund/reviews/{review.id}/answer"
    assert client.post(url, data={"answer": "Rate 0.35 %, see entry 4."}).status_code == 302
    assert client.post(url, data={"answer": "again"}).status_code == 409
    client.post("/logout")
    login(place["owner"])
    page = client.get(f"/c/{c.id}/money/fund/mine").get_data(as_text=True)
    assert "Rate 0.35 %, see entry 4." in page


def test_quarterly_statement_and_emergency_list(client, login, place, db_session):
    """A quarterly statement covers three months; an emergency spend is listed for the next
    meeting on the committee's page."""
    c = place["c"]
    fund.file_spend(db_session, actor=place["committee"], now=utcnow(), community=c,
                    title="Lift stuck with people inside", category="lift",
                    budget=Decimal(5000), unit_ids=[place["units"][0].id],
                    emergency_kind="lift")
    login(place["committee"])
    client.get("/?lang=en")
    for day, amount in (("2026-01-10", "100"), ("2026-03-31", "50.50")):
        client.post(f"/c/{c.id}/money/journal/new", data={
            "entry_date": day, "memo": "Ads", "debit": "1001", "credit": "4002",
            "amount": amount})
    bad = client.post(f"/c/{c.id}/money/disclosures",
                      data={"kind": "quarterly", "starts_on": "2026-02-01"})
    assert bad.status_code == 422
    response = client.post(f"/c/{c.id}/money/disclosures",
                           data={"kind": "quarterly", "starts_on": "2026-01-01"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "150.50" in page
    index = client.get(f"/c/{c.id}/money").get_data(as_text=True)
    assert "Lift stuck with people inside" in index
    assert "next owners' meeting" in index


def test_committee_closes_a_period_then_it_cannot_change(client, login, place, db_session):
    c = place["c"]
    login(place["committee"])
    client.get("/?lang=en")
    assert client.post(f"/c/{c.id}/money/periods", data={
        "starts_on": "2026-02-01", "ends_on": "2099-02-28"}).status_code == 422
    assert client.post(f"/c/{c.id}/money/periods", data={
        "starts_on": "2026-02-01", "ends_on": "2026-02-28"}).status_code == 302
    response = client.post(f"/c/{c.id}/money/journal/new", data={
        "entry_date": "2026-02-14", "memo": "Late", "debit": "1001", "credit": "4001",
        "amount": "5"})
    assert response.status_code == 409
    assert "is closed" in response.get_data(as_text=True)
    assert "2026-02-01 – 2026-02-28" in client.get(f"/c/{c.id}/money/journal").get_data(
        as_text=True)
