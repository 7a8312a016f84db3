"""The service desk's pure rules: the status table and the SLA clocks on their calendars."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.service import sla
from app.service.workflow import (
    DESK,
    RESIDENT,
    TRANSITIONS,
    RequestStatus,
    TransitionRefused,
    allowed_next,
    check_transition,
)

CST = dt.timezone(dt.timedelta(hours=8))
OFFICE = sla.BusinessCalendar(
    holidays=frozenset({dt.date(2026, 10, 1), dt.date(2026, 10, 2)}),
    extra_workdays=frozenset({dt.date(2026, 10, 10)}),  # a Saturday worked in exchange
)


def at(y, m, d, hh, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=CST)


@pytest.mark.parametrize(("current", "wanted", "party"), list(itertools.product(
    RequestStatus, RequestStatus, (DESK, RESIDENT))))
def test_every_transition_is_allowed_or_refused_as_the_table_says(current, wanted, party):
    """Is each of the 8 × 8 moves, by the desk or the resident, decided by the one table?"""
    allowed = party in TRANSITIONS.get((current, wanted), frozenset())
    if allowed:
        check_transition(current, wanted, party)
        assert wanted in allowed_next(current, party)
    else:
        with pytest.raises(TransitionRefused):
            check_transition(current, wanted, party)
        assert wanted not in allowed_next(current, party)


def test_residents_only_confirm_or_reopen():
    moves = {to for (_frm, to), who in TRANSITIONS.items() if RESIDENT in who}
    assert moves == {RequestStatus.CONFIRMED, RequestStatus.REOPENED}


def test_a_closed_request_can_only_be_reopened():
    assert allowed_next(RequestStatus.CLOSED, DESK) == [RequestStatus.REOPENED]


def test_business_minutes_skip_nights_weekends_and_holidays():
    # Friday 17:00 + 60 open minutes: 30 on Friday, 30 on Monday from 08:30.
    assert OFFICE.add(at(2026, 12, 4, 17), 60) == at(2026, 12, 7, 9).astimezone(dt.UTC)
    # Before opening: the clock starts at 08:30.
    assert OFFICE.add(at(2026, 12, 7, 6), 3) == at(2026, 12, 7, 8, 33).astimezone(dt.UTC)
    # 30 Sep (Wed) 17:00 + 60: 1 and 2 Oct are holidays, 3–4 the weekend → Mon 5 Oct 09:00.
    assert OFFICE.add(at(2026, 9, 30, 17), 60) == at(2026, 10, 5, 9).astimezone(dt.UTC)
    # Saturday 10 Oct is worked in exchange: Friday 9 Oct 17:00 + 60 → Saturday 09:00.
    assert OFFICE.add(at(2026, 10, 9, 17), 60) == at(2026, 10, 10, 9).astimezone(dt.UTC)


def test_working_days_keep_the_time_of_day():
    """Is "2 days" of a suggestion two working days, Friday 10:00 → Tuesday 10:00?"""
    minutes = 2 * OFFICE.day_minutes
    assert OFFICE.add(at(2026, 12, 4, 10), minutes) == at(2026, 12, 8, 10).astimezone(dt.UTC)


def test_emergencies_run_around_the_clock():
    policy = sla.policy_for("repair_home", "emergency")
    cal = sla.calendar_of(policy, OFFICE)
    start = at(2026, 12, 5, 23, 50)  # Saturday night
    due = sla.deadline(cal, start, policy.on_site)
    assert due == at(2026, 12, 6, 0, 20).astimezone(dt.UTC)


def test_defaults_follow_the_design():
    normal = sla.policy_for("repair_common", "normal")
    assert (normal.calendar, normal.dispatch, normal.completion_days) == ("business", 3, 7)
    suggestion = sla.policy_for("suggestion", "normal")
    assert suggestion.dispatch is None
    assert suggestion.minutes(sla.Target.REPLY, OFFICE.day_minutes) == 2 * OFFICE.day_minutes
    assert sla.policy_for("complaint", "emergency").on_site == 30


def test_the_community_can_override_a_target():
    policy = sla.policy_for("repair_home", "normal", {"repair_home/normal": {"on_site": 120,
                                                                              "bogus": 1}})
    assert policy.on_site == 120
    assert policy.dispatch == 3


def test_a_pause_moves_the_deadline_by_its_open_minutes():
    start = at(2026, 12, 7, 9)
    paused = OFFICE.between(at(2026, 12, 7, 16), at(2026, 12, 8, 10))  # 90 + 90
    assert paused == 180
    plain = sla.deadline(OFFICE, start, 60)
    later = sla.deadline(OFFICE, start, 60, paused_minutes=paused)
    assert OFFICE.between(plain, later) == 180


def test_a_postponement_adds_working_days():
    start = at(2026, 12, 7, 9)
    due = sla.deadline(OFFICE, start, 7 * OFFICE.day_minutes, postponed_days=3)
    assert due == sla.deadline(OFFICE, start, 10 * OFFICE.day_minutes)


def test_a_clock_met_late_is_a_breach_and_one_met_in_time_is_not():
    due = at(2026, 12, 7, 9)
    assert sla.Clock(sla.Target.DISPATCH, due, at(2026, 12, 7, 9, 1)).breached(due)
    assert not sla.Clock(sla.Target.DISPATCH, due, due).breached(at(2026, 12, 9, 0))
    running = sla.Clock(sla.Target.DISPATCH, due, None)
    assert not running.breached(due)
    assert running.breached(due + dt.timedelta(seconds=1))
    assert running.remaining(due - dt.timedelta(minutes=5)) == dt.timedelta(minutes=5)


def test_calendar_from_settings():
    cal = sla.calendar_from_settings({"service_hours": {
        "opens": "09:00", "closes": "18:00", "workdays": [1, 2, 3, 4, 5, 6],
        "holidays": ["2027-01-01"]}})
    assert cal.day_minutes == 540
    assert not cal.is_open_day(dt.date(2027, 1, 1))
    assert cal.is_open_day(dt.date(2027, 1, 2))  # a Saturday, open six days a week


def test_a_closed_before_open_office_is_refused():
    with pytest.raises(ValueError):
        sla.BusinessCalendar(opens=dt.time(18), closes=dt.time(9))


moments = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31),
                       timezones=st.just(dt.UTC))


@settings(deadline=None)  # a loaded machine must not fail a correct property
@given(start=moments, minutes=st.integers(min_value=0, max_value=20 * 540))
def test_adding_open_minutes_is_undone_by_counting_them(start, minutes):
    end = OFFICE.add(start, minutes)
    assert end >= start
    assert OFFICE.between(start, end) == pytest.approx(minutes, abs=1e-6)


@settings(deadline=None)
@given(start=moments, a=st.integers(0, 5000), b=st.integers(0, 5000))
def test_more_minutes_never_fall_due_earlier(start, a, b):
    lo, hi = sorted((a, b))
    assert OFFICE.add(start, lo) <= OFFICE.add(start, hi)
