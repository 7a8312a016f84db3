"""The books and the fund through their services: balance, chain, periods, spends, disclosure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from money_helpers import DAY, decided_motion, small_community
from sqlalchemy import select, text

from app.errors import Conflict, DomainError
from app.models import (
    DisclosureKind,
    ImmutableRecord,
    JournalEntry,
    JournalLine,
    Ledger,
    MeetingStatus,
    Role,
    utcnow,
)
from app.money import disclosure, fund, ledger
from app.money.ledger import BANK, Line
from app.signing import site_public_key
from elections.rules import Matter
from elections.signatures import signature_problems


@pytest.fixture
def ctx(app):
    """A request in English, so the tests read the domain errors' English text."""
    with app.test_request_context("/?lang=en"):
        yield


@pytest.fixture
def world(make, db_session, ctx):
    community, units = small_community(make)
    chair = make.user_with_role(Role.CHAIR, community)
    return community, units, chair


def _book(db_session, community, chair, amount, *, day=DAY, income="4001"):
    return ledger.post_entry(
        db_session, actor=chair, now=utcnow(), community=community, ledger=Ledger.OPERATING,
        entry_date=day, memo="停车费", lines=[Line(BANK, debit=Decimal(amount)),
                                           Line(income, credit=Decimal(amount))])


def test_unbalanced_entry_refused(db_session, world):
    """Is an entry whose debits differ from its credits refused, and nothing booked?"""
    community, _, chair = world
    with pytest.raises(DomainError, match="debits must equal"):
        ledger.post_entry(db_session, actor=chair, now=utcnow(), community=community,
                          ledger=Ledger.OPERATING, entry_date=DAY, memo="x",
                          lines=[Line(BANK, debit=Decimal("10.00")),
                                 Line("4001", credit=Decimal("9.99"))])
    assert ledger.journal(db_session, community) == []


def test_fund_account_refused_in_operating_ledger(db_session, world):
    community, units, chair = world
    with pytest.raises(DomainError, match="not in this ledger"):
        ledger.post_entry(db_session, actor=chair, now=utcnow(), community=community,
                          ledger=Ledger.OPERATING, entry_date=DAY, memo="x",
                          lines=[Line(BANK, debit=Decimal(1)),
                                 Line("F301", credit=Decimal(1), unit_id=units[0].id)])


def test_entries_cannot_be_edited_or_deleted(db_session, world):
    """Does the ORM refuse to change or delete a booked entry or line?"""
    community, _, chair = world
    entry = _book(db_session, community, chair, "10.00")
    entry.memo = "changed"
    with pytest.raises(ImmutableRecord):
        db_session.flush()
    db_session.rollback()


def test_reversal_corrects_and_is_single(db_session, world):
    """Does a reversal bring the balance back, and can an entry be reversed only once?"""
    community, _, chair = world
    entry = _book(db_session, community, chair, "250.00")
    assert ledger.balances(db_session, community)["4001"] == Decimal("250.00")
    ledger.reverse_entry(db_session, actor=chair, now=utcnow(), entry=entry,
                         entry_date=DAY, reason="wrong account")
    assert ledger.balances(db_session, community)["4001"] == Decimal("0.00")
    with pytest.raises(Conflict, match="already been reversed"):
        ledger.reverse_entry(db_session, actor=chair, now=utcnow(), entry=entry,
                             entry_date=DAY, reason="again")


def test_closed_period_refuses_entries(db_session, world):
    """Once a period is closed, is an entry dated in it refused, and a later one accepted?"""
    community, _, chair = world
    ledger.close_period(db_session, actor=chair, now=utcnow(), community=community,
                        starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31))
    with pytest.raises(Conflict, match="closed"):
        _book(db_session, community, chair, "1.00", day=dt.date(2026, 3, 31))
    _book(db_session, community, chair, "1.00", day=dt.date(2026, 4, 1))


def test_chain_check_names_the_first_broken_entry(db_session, world):
    """Changing an entry's amount behind the site's back: does the check name that entry?"""
    community, _, chair = world
    for amount in ("1.00", "2.00", "3.00"):
        _book(db_session, community, chair, amount)
    assert ledger.verify_ledger(db_session, community).ok
    second = ledger.load_entry(db_session, community, 2)
    line_id = second.lines[0].id
    db_session.execute(text("UPDATE journal_line SET debit = 999 WHERE id = :id"),
                       {"id": line_id})
    db_session.expire_all()
    report = ledger.verify_ledger(db_session, community)
    assert (report.ok, report.break_at) == (False, 2)


def test_deposit_interest_and_building_balances(db_session, world):
    """Deposits by area, interest by balance: does every figure add up to the fen?"""
    community, units, chair = world
    fund.deposit_by_area(db_session, actor=chair, now=utcnow(), community=community,
                         rate_per_m2=Decimal("150.00"), entry_date=DAY, memo="首期维修资金")
    per_unit = ledger.unit_fund_balances(db_session, community)
    assert per_unit[units[0].id] == Decimal("10263.00")  # 68.42 m² × 150
    fund.share_interest(db_session, actor=chair, now=utcnow(), community=community,
                        amount=Decimal("100.01"), entry_date=DAY, memo="利息")
    per_unit = ledger.unit_fund_balances(db_session, community)
    total = sum(per_unit.values())
    assert total == Decimal("150.00") * sum(u.area for u in units) + Decimal("100.01")
    buildings = dict(ledger.group_by_building(db_session, community, per_unit))
    assert sum(buildings.values()) == total
    assert ledger.balances(db_session, community)["F101"] == total


def test_spend_needs_an_adopted_fund_motion(db_session, world):
    """Is a spend refused without a motion, with a rejected one, or one of another matter?"""
    community, units, chair = world
    args = {"actor": chair, "now": utcnow(), "community": community, "title": "电梯维修",
            "category": "lift", "budget": Decimal("5000"), "unit_ids": [units[0].id]}
    with pytest.raises(Conflict, match="without an adopted motion"):
        fund.file_spend(db_session, **args)
    rejected = decided_motion(db_session, community, chair, adopted=False)
    other = decided_motion(db_session, community, chair, matter=Matter.MANAGEMENT_STATUTE)
    for motion in (rejected, other):
        with pytest.raises(Conflict, match="not one"):
            fund.file_spend(db_session, motion_id=motion.id, **args)
    good = decided_motion(db_session, community, chair)
    spend = fund.file_spend(db_session, motion_id=good.id, **args)
    assert spend.motion_id == good.id


def test_motion_of_another_community_refused(db_session, make, world):
    community, units, chair = world
    elsewhere, _ = small_community(make)
    motion = decided_motion(db_session, elsewhere, chair)
    with pytest.raises(Conflict):
        fund.file_spend(db_session, actor=chair, now=utcnow(), community=community,
                        title="x", category="lift", budget=Decimal(1), unit_ids=[units[0].id],
                        motion_id=motion.id)


def test_payment_split_by_area_and_over_budget_refused(db_session, world):
    """Is a payment split by area to the fen, and a payment beyond the budget refused?"""
    community, units, chair = world
    fund.deposit_by_area(db_session, actor=chair, now=utcnow(), community=community,
                         rate_per_m2=Decimal("100"), entry_date=DAY, memo="deposit")
    motion = decided_motion(db_session, community, chair, status=MeetingStatus.FINAL)
    spend = fund.file_spend(db_session, actor=chair, now=utcnow(), community=community,
                            title="1号楼电梯", category="lift", budget=Decimal("100.00"),
                            unit_ids=[u.id for u in units[:3]], motion_id=motion.id)
    entry = fund.pay_spend(db_session, actor=chair, now=utcnow(), spend=spend,
                           amount=Decimal("100.00"), entry_date=DAY, memo="")
    debits = {ln.unit_id: ln.debit for ln in entry.lines if ln.unit_id}
    assert debits == {units[0].id: Decimal("25.35"), units[1].id: Decimal("33.02"),
                      units[2].id: Decimal("41.63")}
    assert fund.spent_on(spend) == Decimal("100.00")
    with pytest.raises(Conflict, match="Over budget"):
        fund.pay_spend(db_session, actor=chair, now=utcnow(), spend=spend,
                       amount=Decimal("0.01"), entry_date=DAY, memo="")
    with_shares = disclosure.statement(db_session, community, DAY, DAY)["fund"]["spends"][0]
    assert dict(with_shares["shares"]) == {units[0].label: "25.35", units[1].label: "33.02",
                                           units[2].label: "41.63"}
    # A reversed payment gives the budget back.
    ledger.reverse_entry(db_session, actor=chair, now=utcnow(), entry=entry, entry_date=DAY,
                         reason="invoice wrong")
    assert fund.spent_on(spend) == Decimal("0.00")


def test_emergency_spend_notifies_owners(db_session, make, world):
    community, units, chair = world
    owner = make.user_with_role(Role.OWNER, community)
    spend = fund.file_spend(db_session, actor=chair, now=utcnow(), community=community,
                            title="水管爆裂", category="pipes", budget=Decimal("800"),
                            unit_ids=[units[0].id], emergency_kind="water_main")
    assert spend.basis.value == "emergency"
    from app.notifications.services import notifications_of
    assert [n.kind for n in notifications_of(db_session, owner)] == ["money.emergency_spend"]


def test_published_disclosure_is_signed_frozen_and_closes_the_period(db_session, world):
    """Is a published statement signed by the site, frozen, and its period closed?"""
    community, units, chair = world
    _book(db_session, community, chair, "1200.00", day=dt.date(2026, 3, 3))
    ledger.post_entry(db_session, actor=chair, now=utcnow(), community=community,
                      ledger=Ledger.OPERATING, entry_date=dt.date(2026, 3, 9), memo="水电",
                      lines=[Line("5004", debit=Decimal("200.50")),
                             Line(BANK, credit=Decimal("200.50"))])
    fund.deposit_by_area(db_session, actor=chair, now=utcnow(), community=community,
                         rate_per_m2=Decimal("10"), entry_date=dt.date(2026, 3, 5), memo="d")
    with pytest.raises(Conflict, match="not ended"):
        disclosure.publish_disclosure(
            db_session, actor=chair, now=utcnow(), community=community,
            kind=DisclosureKind.MONTHLY, starts_on=dt.date(2026, 3, 1),
            today=dt.date(2026, 3, 31))
    published = disclosure.publish_disclosure(
        db_session, actor=chair, now=utcnow(), community=community,
        kind=DisclosureKind.MONTHLY, starts_on=dt.date(2026, 3, 1), today=dt.date(2026, 4, 2))
    fig = published.document["record"]["figures"]
    assert (fig["total_income"], fig["total_expense"], fig["net"]) == (
        "1200.00", "200.50", "999.50")
    assert fig["fund"]["contributions"] == fig["fund"]["closing"] == str(
        Decimal(10) * sum(u.area for u in units))
    import base64
    key = base64.b64decode(site_public_key())
    assert signature_problems(disclosure.PURPOSE, published.document, {"site": key}) == []
    with pytest.raises(Conflict, match="closed"):
        _book(db_session, community, chair, "1.00", day=dt.date(2026, 3, 20))
    with pytest.raises(Conflict, match="already published"):
        disclosure.publish_disclosure(
            db_session, actor=chair, now=utcnow(), community=community,
            kind=DisclosureKind.MONTHLY, starts_on=dt.date(2026, 3, 1),
            today=dt.date(2026, 4, 2))
    published.title = "changed"
    with pytest.raises(ImmutableRecord):
        db_session.flush()
    db_session.rollback()


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["income", "expense", "reverse"]), amounts),
                    min_size=1, max_size=8))
def test_every_balance_is_the_sum_of_its_entries(db_session, make, ctx, ops):
    """Any run of entries and reversals: does each balance equal the sum of its lines, each
    entry balance, and the chain verify?"""
    community, _ = small_community(make)
    chair = make.user_with_role(Role.CHAIR, community)
    booked = []
    for op, amount in ops:
        if op == "reverse" and booked:
            ledger.reverse_entry(db_session, actor=chair, now=utcnow(), entry=booked.pop(0),
                                 entry_date=DAY, reason="r")
            continue
        pair = ([Line(BANK, debit=amount), Line("4002", credit=amount)] if op != "expense"
                else [Line("5002", debit=amount), Line(BANK, credit=amount)])
        booked.append(ledger.post_entry(
            db_session, actor=chair, now=utcnow(), community=community,
            ledger=Ledger.OPERATING, entry_date=DAY, memo=op, lines=pair))
    lines = db_session.scalars(select(JournalLine).join(JournalEntry).where(
        JournalEntry.community_id == community.id)).all()
    by_account = {}
    for ln in lines:
        code = ln.account.code
        by_account[code] = by_account.get(code, 0) + ln.debit - ln.credit
    got = ledger.balances(db_session, community)
    assert got[BANK] == by_account.get(BANK, 0)
    assert got["4002"] == -by_account.get("4002", 0)
    assert got["5002"] == by_account.get("5002", 0)
    assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines)
    assert ledger.verify_ledger(db_session, community).ok


def test_yearly_report_lists_every_units_sub_account(db_session, world):
    """Does the yearly fund report list each unit's balance, adding up to the fund's?"""
    community, units, chair = world
    fund.deposit_by_area(db_session, actor=chair, now=utcnow(), community=community,
                         rate_per_m2=Decimal("33.33"), entry_date=DAY, memo="d")
    assert disclosure.missing_yearly_report(db_session, community, dt.date(2027, 2, 1)) == 2026
    published = disclosure.publish_disclosure(
        db_session, actor=chair, now=utcnow(), community=community,
        kind=DisclosureKind.YEARLY, starts_on=dt.date(2026, 1, 1), today=dt.date(2027, 1, 5))
    assert disclosure.missing_yearly_report(db_session, community, dt.date(2027, 2, 1)) is None
    fund_fig = published.document["record"]["figures"]["fund"]
    assert len(fund_fig["units"]) == len(units)
    assert sum(Decimal(v) for _, _, v in fund_fig["units"]) == Decimal(fund_fig["closing"])


def test_equal_split_when_the_owners_chose_it(db_session, world):
    """A spend shared equally: three units, 100.00 yuan → 33.34, 33.33, 33.33."""
    community, units, chair = world
    motion = decided_motion(db_session, community, chair)
    spend = fund.file_spend(db_session, actor=chair, now=utcnow(), community=community,
                            title="门禁", category="other", budget=Decimal("100"),
                            unit_ids=[u.id for u in units[:3]], motion_id=motion.id,
                            split="equal")
    parts = fund.allocation(db_session, spend, Decimal("100.00"))
    assert sorted(parts.values(), reverse=True) == [Decimal("33.34"), Decimal("33.33"),
                                                    Decimal("33.33")]
    assert parts[units[0].id] == Decimal("33.34")  # ties: the lowest unit id first


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["deposit", "interest", "pay"]),
                              st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999"),
                                          places=2)), min_size=1, max_size=6),
       areas=st.lists(st.decimals(min_value=Decimal("1"), max_value=Decimal("300"), places=2),
                      min_size=1, max_size=5))
def test_fund_sub_accounts_always_add_up_to_the_bank(db_session, make, ctx, ops, areas):
    """Any run of deposits, interest and payments: do the units' sub-accounts add up to the
    fund's bank balance, and every payment's shares to its amount?"""
    community, units = small_community(make, areas=[str(a) for a in areas])
    chair = make.user_with_role(Role.CHAIR, community)
    motion = decided_motion(db_session, community, chair)
    spend = fund.file_spend(db_session, actor=chair, now=utcnow(), community=community,
                            title="w", category="other", budget=Decimal("10000000"),
                            unit_ids=[u.id for u in units], motion_id=motion.id)
    for op, amount in ops:
        if op == "deposit":
            fund.deposit_by_area(db_session, actor=chair, now=utcnow(), community=community,
                                 rate_per_m2=amount, entry_date=DAY, memo="d")
        elif op == "interest":
            if any(v > 0 for v in ledger.unit_fund_balances(db_session, community).values()):
                fund.share_interest(db_session, actor=chair, now=utcnow(), community=community,
                                    amount=amount, entry_date=DAY, memo="i")
        else:
            entry = fund.pay_spend(db_session, actor=chair, now=utcnow(), spend=spend,
                                   amount=amount, entry_date=DAY, memo="p")
            assert sum(ln.debit for ln in entry.lines if ln.unit_id) == amount
    per_unit = ledger.unit_fund_balances(db_session, community)
    assert sum(per_unit.values(), Decimal(0)) == ledger.balances(db_session, community)["F101"]
    assert ledger.verify_ledger(db_session, community).ok
