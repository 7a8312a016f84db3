"""The service desk's rules at the service layer, on a fixed clock: pauses counted and shown,
the one postponement, breaches escalated once per breach, reopening, reminders spaced."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, DomainError
from app.models import Notification, RequestEvent, RequestKind, Role, ServiceTeam, Urgency
from app.service import clocks, services, sla
from app.service.sweep import sweep
from app.service.workflow import DESK, RESIDENT, RequestStatus

CST = dt.timezone(dt.timedelta(hours=8))
#: Monday 7 Dec 2026, 10:00 in Shanghai: the office is open.
MONDAY = dt.datetime(2026, 12, 7, 10, tzinfo=CST)


@pytest.fixture
def world(app, make, db_session):
    c = make.community()
    c.timezone = "Asia/Shanghai"
    c.settings = {"service_hours": {"opens": "08:30", "closes": "17:30",
                                    "holidays": ["2026-12-08"]}}
    staff = make.user_with_role(Role.STAFF, c)
    boss = make.user_with_role(Role.STAFF, c)
    resident = make.user_with_role(Role.RESIDENT, c)
    team = ServiceTeam(community_id=c.id, name="工程部", supervisor_id=boss.id)
    db_session.add(team)
    db_session.flush()
    with app.test_request_context():
        yield {"c": c, "staff": staff, "boss": boss, "resident": resident, "team": team,
               "s": db_session}


def filed(w, *, kind=RequestKind.REPAIR_HOME, urgency=Urgency.NORMAL, at=MONDAY):
    return services.file_request(
        w["s"], actor=w["resident"], now=at, community=w["c"], party=RESIDENT, kind=kind,
        urgency=urgency, description="Leak", place="Kitchen")


def dispatched(w, req, *, at=MONDAY, done_at=None):
    """The desk dispatches ``req`` to the team (and marks it done at ``done_at``)."""
    kw = {"community": w["c"], "req": req}
    services.dispatch(w["s"], actor=w["staff"], now=at, team=w["team"], assignee=None, **kw)
    if done_at is not None:
        services.move(w["s"], actor=w["staff"], now=done_at, to=RequestStatus.DONE,
                      party=DESK, **kw)
    return kw


def notices(w, kind, user):
    return w["s"].scalar(select(func.count(Notification.id)).where(
        Notification.kind == kind, Notification.user_id == user.id))


def test_each_target_has_its_own_deadline_on_the_office_calendar(world):
    req = filed(world)
    assert req.due_dispatch_at == (MONDAY + dt.timedelta(minutes=3)).astimezone(dt.UTC)
    # on site within one working day of 9 hours: Monday 10:00 + 9 h → Wednesday 10:00,
    # because Tuesday 8 Dec is a holiday of this office
    assert req.due_on_site_at == dt.datetime(2026, 12, 9, 10, tzinfo=CST).astimezone(dt.UTC)
    assert req.due_reply_at is None
    assert [c.target for c in clocks.clocks(req)] == [
        sla.Target.DISPATCH, sla.Target.ON_SITE, sla.Target.COMPLETION]


def test_an_emergency_at_night_runs_around_the_clock(world):
    night = dt.datetime(2026, 12, 5, 23, 50, tzinfo=CST)  # Saturday
    req = filed(world, urgency=Urgency.EMERGENCY, at=night)
    assert req.due_on_site_at == (night + dt.timedelta(minutes=30)).astimezone(dt.UTC)


def test_a_suggestion_is_answered_within_two_working_days(world):
    req = filed(world, kind=RequestKind.SUGGESTION)
    assert req.due_dispatch_at is None
    assert req.due_reply_at == dt.datetime(2026, 12, 10, 10, tzinfo=CST).astimezone(dt.UTC)
    services.add_note(world["s"], actor=world["staff"], now=MONDAY + dt.timedelta(hours=1),
                      community=world["c"], req=req, text="Thank you", party=DESK)
    reply = next(c for c in clocks.clocks(req) if c.target is sla.Target.REPLY)
    assert reply.met_at is not None
    assert not reply.breached(MONDAY + dt.timedelta(days=30))


def test_waiting_for_parts_pauses_and_the_pause_is_counted(world):
    w = world
    req = filed(w)
    kw = dispatched(w, req)
    services.move(w["s"], actor=w["staff"], now=MONDAY + dt.timedelta(hours=1),
                  to=RequestStatus.WAITING_PARTS, party=DESK, **kw)
    due_before = req.due_completion_at
    assert req.paused_at is not None
    assert clocks.breached_clocks(req, MONDAY + dt.timedelta(days=60)) == []
    # resumed Wednesday 11:00: paused 11:00–17:30 Monday (390) and 08:30–11:00 Wed (150);
    # Tuesday is a holiday and counts nothing
    services.move(w["s"], actor=w["staff"], now=dt.datetime(2026, 12, 9, 11, tzinfo=CST),
                  to=RequestStatus.ON_SITE, party=DESK, **kw)
    assert req.paused_at is None
    assert req.paused_minutes == pytest.approx(540)
    cal = clocks.calendar_for(req, w["c"])
    assert cal.between(due_before, req.due_completion_at) == pytest.approx(540)


def test_only_one_postponement_and_it_needs_a_reason(world):
    w = world
    req = filed(w)
    kw = {"community": w["c"], "req": req}
    with pytest.raises(DomainError) as err:
        services.postpone(w["s"], actor=w["staff"], now=MONDAY, days=2, reason=" ", **kw)
    assert err.value.field == "reason"
    with pytest.raises(DomainError) as err:
        services.postpone(w["s"], actor=w["staff"], now=MONDAY, days=30, reason="x", **kw)
    assert err.value.field == "days"
    before = req.due_completion_at
    services.postpone(w["s"], actor=w["staff"], now=MONDAY, days=2, reason="Parts", **kw)
    cal = clocks.calendar_for(req, w["c"])
    assert cal.between(before, req.due_completion_at) == pytest.approx(2 * cal.day_minutes)
    assert notices(w, "service.postponed", w["resident"]) == 1
    with pytest.raises(Conflict):
        services.postpone(w["s"], actor=w["staff"], now=MONDAY, days=1, reason="Again", **kw)


def test_a_breach_is_escalated_to_the_supervisor_once_then_again_for_a_later_target(world):
    w = world
    req = filed(w)
    late = MONDAY + dt.timedelta(minutes=10)
    assert sweep(w["s"], now=late, community=w["c"]).escalated == 1
    assert sweep(w["s"], now=late + dt.timedelta(minutes=5),
                          community=w["c"]).escalated == 0
    # the team is not known before dispatch: every supervisor hears of it
    assert notices(w, "service.escalated", w["boss"]) == 1
    # dispatched late, then the on-site target (Wednesday 10:00) passes as well
    services.dispatch(w["s"], actor=w["staff"], now=late, community=w["c"], req=req,
                      team=w["team"], assignee=None)
    thursday = dt.datetime(2026, 12, 10, 9, tzinfo=CST)
    assert sweep(w["s"], now=thursday, community=w["c"]).escalated == 1
    assert notices(w, "service.escalated", w["boss"]) == 2


def test_reminders_are_spaced(world):
    w = world
    filed(w)
    first = sweep(w["s"], now=MONDAY + dt.timedelta(minutes=1), community=w["c"])
    assert first.reminded == 1  # due within two hours
    again = sweep(w["s"], now=MONDAY + dt.timedelta(hours=1), community=w["c"])
    assert again.reminded == 0
    later = sweep(w["s"], now=MONDAY + dt.timedelta(hours=5), community=w["c"])
    assert later.reminded == 1


def test_reopening_keeps_the_history_restarts_the_clocks_and_counts_a_repeat(world):
    w = world
    req = filed(w)
    kw = dispatched(w, req, done_at=MONDAY + dt.timedelta(hours=2))
    events_before = len(req.events)
    later = MONDAY + dt.timedelta(days=3)
    services.move(w["s"], actor=w["resident"], now=later, to=RequestStatus.REOPENED,
                  party=RESIDENT, **kw)
    assert req.reopen_count == 1
    assert req.dispatched_at is None
    assert req.clock_started_at == later
    assert req.due_dispatch_at > later
    w["s"].refresh(req)
    assert len(req.events) == events_before + 1


def test_residents_cannot_move_a_request_along(world):
    w = world
    req = filed(w)
    with pytest.raises(Conflict):
        services.move(w["s"], actor=w["resident"], now=MONDAY, community=w["c"], req=req,
                      to=RequestStatus.CLOSED, party=RESIDENT, note="never mind")
    assert w["s"].scalar(select(func.count(RequestEvent.id)).where(
        RequestEvent.request_id == req.id)) == 1


def test_a_rating_out_of_range_names_its_field(world):
    w = world
    req = filed(w)
    kw = dispatched(w, req, done_at=MONDAY)
    with pytest.raises(DomainError) as err:
        services.rate(w["s"], actor=w["resident"], now=MONDAY, party=RESIDENT, overall=5,
                      speed=9, attitude=5, **kw)
    assert err.value.field == "speed"


def test_the_daily_board_counts_open_overdue_and_due_today_per_team(world):
    from app.service.queries import daily_board

    w = world
    late = filed(w)  # dispatch due Monday 10:03
    services.dispatch(w["s"], actor=w["staff"], now=MONDAY, team=w["team"], assignee=None,
                      community=w["c"], req=late)  # on site due Wednesday 10:00
    filed(w, at=MONDAY + dt.timedelta(hours=6))  # Monday 16:00: dispatch due 16:03
    waiting = filed(w)
    services.add_note(w["s"], actor=w["staff"], now=MONDAY, community=w["c"], req=waiting,
                      text="Which floor?", party=DESK, ask_resident=True)  # paused
    thursday = dt.datetime(2026, 12, 10, 9, tzinfo=CST)
    rows = {r.team: r for r in daily_board(w["s"], w["c"], now=thursday)}
    assert (rows["工程部"].open, rows["工程部"].overdue) == (1, 1)
    assert rows[""].open == 2
    assert rows[""].overdue == 1  # the paused one is not overdue
    assert [req.id for req, _clock in rows["工程部"].items] == [late.id]
    monday = MONDAY + dt.timedelta(hours=6, minutes=1)
    rows = {r.team: r for r in daily_board(w["s"], w["c"], now=monday)}
    assert rows[""].due_today == 1  # due at 16:03 today; the paused one is neither


def test_everything_unfinished_is_recalled_daily_even_waiting_for_parts(world):
    w = world
    req = filed(w)
    kw = {"community": w["c"], "req": req}
    services.dispatch(w["s"], actor=w["staff"], now=MONDAY, team=w["team"], assignee=w["staff"],
                      **kw)
    services.move(w["s"], actor=w["staff"], now=MONDAY, to=RequestStatus.WAITING_PARTS,
                  party=DESK, **kw)
    assert sweep(w["s"], now=MONDAY + dt.timedelta(hours=1),
                          community=w["c"]).reminded == 1
    assert sweep(w["s"], now=MONDAY + dt.timedelta(hours=9),
                          community=w["c"]).reminded == 0
    assert sweep(w["s"], now=MONDAY + dt.timedelta(hours=26),
                          community=w["c"]).reminded == 1
    assert notices(w, "service.reminder", w["staff"]) == 2


def test_a_reopened_repair_is_dispatched_again_before_it_is_done(world):
    w = world
    req = filed(w)
    kw = dispatched(w, req, done_at=MONDAY)
    services.move(w["s"], actor=w["resident"], now=MONDAY, to=RequestStatus.REOPENED,
                  party=RESIDENT, **kw)
    with pytest.raises(Conflict):
        services.move(w["s"], actor=w["staff"], now=MONDAY, to=RequestStatus.DONE, party=DESK,
                      **kw)
    services.dispatch(w["s"], actor=w["staff"], now=MONDAY, team=w["team"], assignee=None,
                      note="bring the long ladder", **kw)
    assert req.status is RequestStatus.DISPATCHED
    public = " ".join(e.note for e in req.events if e.public)
    assert "ladder" not in public  # the work order's note stays in the office


def test_a_redispatch_ends_the_work_order_and_opens_the_next(world, make):
    w = world
    req = filed(w)
    kw = dispatched(w, req)
    other = make.user_with_role(Role.STAFF, w["c"])
    later = MONDAY + dt.timedelta(hours=1)
    services.dispatch(w["s"], actor=w["staff"], now=later, team=None, assignee=other,
                      note="needs an electrician", **kw)
    first, second = req.work_orders
    assert (first.team_id, first.ended_at) == (w["team"].id, later)
    assert (second.assignee_id, second.ended_at, second.note) == (
        other.id, None, "needs an electrician")
    assert (req.team_id, req.assignee_id) == (None, other.id)
    services.move(w["s"], actor=other, now=later, to=RequestStatus.DONE, party=DESK, **kw)
    assert second.ended_at == later
