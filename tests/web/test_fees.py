"""Property fees through the site: schedule, bills, payments and their import, arrears."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from money_helpers import small_community, xlsx
from sqlalchemy import func, select

from app.models import FeeBill, FeePayment, Role, UnitUse, utcnow
from app.money import fees


@pytest.fixture
def place(make, app):
    community, units = small_community(make)
    units[3].use = UnitUse.PARKING
    staff = make.user_with_role(Role.STAFF, community)
    owner = make.user()
    make.own(make.person(community, user=owner), units[0])
    return {"c": community, "units": units, "staff": staff, "owner": owner}


def schedule(client, c, day="2026-01-01"):
    return client.post(f"/c/{c.id}/money/fees/schedule", data={
        "effective_from": day, "residential": "2.35", "commercial": "5.00", "parking": "150",
        "other": "1.00", "other_charges": "装修垃圾清运 每户 300 元"})



def test_schedule_bills_by_area_and_owner_sees_only_own_bills(client, login, place,
                                                              db_session):
    """Published rates × area, to the fen, per unit; does the owner see only their bills?"""
    c, units = place["c"], place["units"]
    login(place["staff"])
    client.get("/?lang=en")
    assert schedule(client, c).status_code == 302
    assert schedule(client, c).status_code == 409  # the same day twice
    assert client.post(f"/c/{c.id}/money/fees/bills",
                       data={"period": "2026-01-01"}).status_code == 302
    assert client.post(f"/c/{c.id}/money/fees/bills",
                       data={"period": "2026-01-01"}).status_code == 409
    bills = {b.unit_id: b.amount for b in db_session.scalars(
        select(FeeBill).where(FeeBill.community_id == c.id))}
    assert bills == {units[0].id: Decimal("160.79"),   # 68.42 m² × 2.35
                     units[1].id: Decimal("209.50"),   # 89.15 × 2.35 = 209.5025
                     units[2].id: Decimal("264.07"),
                     units[3].id: Decimal("150.00")}   # a parking space, flat
    client.post("/logout")
    login(place["owner"])
    page = client.get(f"/c/{c.id}/money/fees").get_data(as_text=True)
    assert "160.79" in page
    assert "209.50" not in page
    assert "装修垃圾清运" in page


def test_payments_settle_oldest_first_and_follow_up_is_due(db_session, place, app):
    """Arrears over a month come up for follow-up, then not again for two weeks."""
    c, units = place["c"], place["units"]
    with app.test_request_context("/?lang=en"):
        fees.publish_schedule(db_session, actor=place["staff"], now=utcnow(), community=c,
                              effective_from=dt.date(2026, 1, 1),
                              rates={UnitUse.RESIDENTIAL: "2.00", UnitUse.PARKING: "100"})
        for month in (1, 2, 3):
            fees.issue_bills(db_session, actor=place["staff"], now=utcnow(), community=c,
                             period=dt.date(2026, month, 1))
    fees.record_payment(db_session, actor=place["staff"], now=utcnow(), community=c,
                        unit=units[0], paid_on=dt.date(2026, 2, 3), amount="200.00")
    now = dt.datetime(2026, 5, 10, tzinfo=dt.UTC)
    owed = {a.unit.id: a for a in fees.arrears(db_session, c, now=now, today=now.date())}
    first = owed[units[0].id]
    # 3 × 136.84 owed, 200 paid: January settled, February partly, March open.
    assert first.owed == Decimal("210.52")
    assert first.oldest_due == dt.date(2026, 2, 28)
    assert sum(first.buckets) == first.owed
    assert first.follow_up_due
    fees.follow_up(db_session, actor=place["staff"], now=now, community=c,
                   unit_id=units[0].id, note="电话联系，业主答应月底前缴清")
    later = {a.unit.id: a for a in fees.arrears(db_session, c, now=now + dt.timedelta(days=3),
                                                today=now.date())}
    assert not later[units[0].id].follow_up_due
    again = {a.unit.id: a for a in fees.arrears(db_session, c, now=now + dt.timedelta(days=14),
                                                today=now.date())}
    assert again[units[0].id].follow_up_due


def test_payment_import_matches_units_and_lists_the_rest(client, login, place, db_session):
    c, units = place["c"], place["units"]
    login(place["staff"])
    client.get("/?lang=en")
    data = xlsx([["日期", "房号", "金额", "附言"],
                 ["2026-02-01", units[0].label, "160.79", "一月物业费"],
                 ["2026-02-02", "9号楼-999", "88.00", "不明来款"]])
    response = client.post(f"/c/{c.id}/money/fees/payments/import",
                           data={"file": (io.BytesIO(data), "bank.xlsx")})
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    office = client.get(f"/c/{c.id}/money/fees/office").get_data(as_text=True)
    assert "9号楼-999" in office
    assert "Unmatched bank rows" in office
    matched = db_session.scalar(select(FeePayment).where(FeePayment.unit_id == units[0].id))
    assert matched.amount == Decimal("160.79")
    (stray,) = fees.unmatched_payments(db_session, c)
    url = f"/c/{c.id}/money/fees/payments/{stray.id}/assign"
    assert client.post(url, data={"unit": units[1].label}).status_code == 302
    assert client.post(url, data={"unit": units[2].label}).status_code == 409
    db_session.refresh(stray)
    assert stray.unit_id == units[1].id


def test_bad_payment_row_keeps_nothing(client, login, place, db_session):
    c, units = place["c"], place["units"]
    login(place["staff"])
    client.get("/?lang=en")
    data = xlsx([["日期", "房号", "金额"], ["2026-02-01", units[0].label, "10"],
                 ["someday", units[1].label, "-5"]])
    response = client.post(f"/c/{c.id}/money/fees/payments/import",
                           data={"file": (io.BytesIO(data), "bank.xlsx")})
    assert response.status_code == 422
    assert "Write the date as 2026-03-05." in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count(FeePayment.id)).where(
        FeePayment.community_id == c.id)) == 0


def test_receipt_for_the_owner_of_the_unit_only(client, login, place, db_session, make):
    c, units = place["c"], place["units"]
    mine = fees.record_payment(db_session, actor=place["staff"], now=utcnow(), community=c,
                               unit=units[0], paid_on=dt.date(2026, 2, 1), amount="160.79")
    theirs = fees.record_payment(db_session, actor=place["staff"], now=utcnow(), community=c,
                                 unit=units[1], paid_on=dt.date(2026, 2, 1), amount="1.00")
    login(place["owner"])
    pdf = client.get(f"/c/{c.id}/money/fees/payments/{mine.id}/receipt.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    assert client.get(
        f"/c/{c.id}/money/fees/payments/{theirs.id}/receipt.pdf").status_code == 404
    assert client.get(f"/c/{c.id}/money/fees/office").status_code == 403
