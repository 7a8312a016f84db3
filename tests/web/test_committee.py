"""The owners' committee after its election: seating, vacancies and alternates, the members'
vote for chair and vice-chairs, term reminders."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import pytest
from committee_helpers import ALTERNATES, MEMBERS, build, entry
from sqlalchemy import select

from app.committee import chair, reminders, services
from app.errors import Conflict, DomainError
from app.models import (
    AuditEntry,
    ChairVote,
    Committee,
    CommitteeMember,
    MemberRole,
    MemberStatus,
    Notification,
    Role,
    RoleGrant,
    TermReminder,
    utcnow,
)
from app.signing import site_public_key
from elections.signatures import signature_problems


@pytest.fixture
def ctx(app):
    with app.test_request_context("/?lang=en"):
        yield


@pytest.fixture
def town(make, db_session, app):
    return build(make, db_session, app)


def _roles(db_session, user, community) -> set[Role]:
    return {g.role for g in db_session.scalars(select(RoleGrant).where(
        RoleGrant.user_id == user.id, RoleGrant.community_id == community.id))}


def _member(town, i) -> CommitteeMember:
    person = town["persons"][i]
    return next(m for m in town["committee"].members if m.person_id == person.id)


# --- seat_committee -----------------------------------------------------------------------------

def test_seating_makes_members_alternates_in_order_and_grants_the_committee_role(town,
                                                                                 db_session):
    committee = town["committee"]
    assert committee.seats == 5
    assert committee.ended_at is None
    assert committee.term_end == services.term_end(committee.term_start, 3)
    assert committee.term_end.year == committee.term_start.year + 3
    assert [m.role for m in committee.members] == [MemberRole.MEMBER] * 5
    assert [a.name for a in committee.alternates] == ["业主10", "业主11"]
    assert [a.rank for a in committee.alternates] == [1, 2]
    assert _member(town, 5).votes_area == Decimal("899.00")
    for i in MEMBERS:
        assert _roles(db_session, town["owners"][i], town["community"]) == {Role.COMMITTEE}
    for i in ALTERNATES:
        assert _roles(db_session, town["owners"][i], town["community"]) == set()
    seated = db_session.scalars(select(AuditEntry).where(
        AuditEntry.action == "committee.seated")).one()
    assert seated.details["term_years"] == 3


def test_a_new_committee_ends_the_old_and_takes_the_roles_of_those_not_reelected(
        town, db_session, ctx):
    persons, community = town["persons"], town["community"]
    old = town["committee"]
    new = services.seat_committee(
        db_session, community=community, election_ref="election:2", term_years=5,
        term_start=dt.date(2029, 3, 1),
        elected=[entry(persons[i], r, 9, "500.00") for r, i in enumerate((5, 6, 0), 1)],
        alternates=[], actor=town["actor"])
    assert old.ended_at is not None
    assert new.ended_at is None
    assert new.term_end == dt.date(2034, 3, 1)
    assert services.current_committee(db_session, community).id == new.id
    assert _roles(db_session, town["owners"][7], community) == set()  # not re-elected
    assert _roles(db_session, town["owners"][5], community) == {Role.COMMITTEE}
    assert _roles(db_session, town["owners"][0], community) == {Role.COMMITTEE}
    assert [c.id for c in services.past_committees(db_session, community)] == [old.id]


@pytest.mark.parametrize("years", [2, 6])
def test_a_term_outside_three_to_five_years_is_refused(town, db_session, ctx, years):
    with pytest.raises(DomainError, match="3 to 5 years"):
        services.seat_committee(
            db_session, community=town["community"], election_ref="e", term_years=years,
            term_start=dt.date(2027, 1, 1),
            elected=[entry(town["persons"][0], 1, 1, "1.00")], alternates=[],
            actor=town["actor"])
    assert db_session.query(Committee).count() == 1


def test_a_person_of_another_community_cannot_be_seated(town, make, db_session, ctx):
    stranger = make.person(make.community(), name="外人")
    with pytest.raises(DomainError, match="not in this community"):
        services.seat_committee(
            db_session, community=town["community"], election_ref="e", term_years=3,
            term_start=dt.date(2027, 1, 1), elected=[entry(stranger, 1, 1, "1.00")],
            alternates=[], actor=town["actor"])


def test_the_page_shows_members_term_and_alternates_to_owners_and_the_office(
        client, login, town):
    for user in (town["owners"][0], town["auditor"]):
        login(user)
        page = client.get(town["url"] + "?lang=en").get_data(as_text=True)
        assert "业主5" in page
        assert "业主10" in page
        assert town["committee"].term_end.isoformat() in page
        assert "3-year term" in page
    login(town["tenant"])
    assert client.get(town["url"]).status_code == 403


# --- vacancies --------------------------------------------------------------------------------

def _vacate(client, town, i, **extra):
    data = {"status": "resigned", "reason": "搬离小区", "on": dt.date.today().isoformat()}
    return client.post(f"{town['url']}/members/{_member(town, i).id}/vacancy?lang=en",
                       data=data | extra)


def test_vacancies_call_up_alternates_in_order_then_ask_for_a_by_election(
        client, login, town, db_session):
    login(town["auditor"])
    community = town["community"]
    assert _vacate(client, town, 6).status_code == 302
    db_session.expire_all()
    first = db_session.scalars(select(CommitteeMember).where(
        CommitteeMember.person_id == town["persons"][10].id)).one()
    assert first.serving
    assert first.from_alternate_id is not None
    assert _member(town, 6).status is MemberStatus.RESIGNED
    assert _roles(db_session, town["owners"][6], community) == set()
    assert _roles(db_session, town["owners"][10], community) == {Role.COMMITTEE}
    assert db_session.query(Notification).filter_by(
        kind="committee.called_up", user_id=town["owners"][10].id).count() == 1
    assert _vacate(client, town, 7, status="deceased").status_code == 302
    db_session.expire_all()
    assert db_session.scalars(select(CommitteeMember).where(
        CommitteeMember.person_id == town["persons"][11].id)).one().serving
    page = client.get(town["url"] + "?lang=en").get_data(as_text=True)
    assert 'id="by-election"' not in page
    assert _vacate(client, town, 8).status_code == 302
    page = client.get(town["url"] + "?lang=en").get_data(as_text=True)
    assert 'id="by-election"' in page
    assert "no alternate is left: a by-election is needed" in page
    needed = db_session.query(AuditEntry).filter_by(action="committee.by_election_needed")
    assert needed.count() == 1


def test_a_vacancy_without_a_reason_is_refused_and_changes_nothing(client, login, town,
                                                                   db_session):
    login(town["auditor"])
    response = _vacate(client, town, 6, reason=" ")
    assert response.status_code == 422
    assert "Give the reason for the vacancy." in response.get_data(as_text=True)
    db_session.expire_all()
    assert _member(town, 6).serving
    assert not any(a.called_up_at for a in town["committee"].alternates)
    assert _vacate(client, town, 6, on="yesterday").status_code == 422


def test_an_ordinary_member_cannot_record_a_vacancy(client, login, town):
    login(town["owners"][5])  # committee role, not the chair
    assert _vacate(client, town, 6).status_code == 403


# --- the chair vote -----------------------------------------------------------------------------

def _open_vote(client, town, office="chair") -> int:
    response = client.post(f"{town['url']}/office-votes", data={"office": office})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _cast(client, login, town, vote_id, votes: dict[int, int]):
    for voter, candidate in votes.items():
        login(town["owners"][voter])
        response = client.post(f"{town['url']}/office-votes/{vote_id}/ballot",
                               data={"candidate": _member(town, candidate).id})
        assert response.status_code == 302


def test_the_members_choose_a_chair_by_a_majority_of_all_and_the_role_follows(
        client, login, town, db_session, app):
    login(town["owners"][5])
    vote_id = _open_vote(client, town)
    _cast(client, login, town, vote_id, {5: 7, 6: 7, 7: 7, 8: 5})
    response = client.post(f"{town['url']}/office-votes/{vote_id}/close")
    assert response.status_code == 302
    db_session.expire_all()
    assert _member(town, 7).role is MemberRole.CHAIR
    assert _roles(db_session, town["owners"][7], town["community"]) == {Role.COMMITTEE,
                                                                      Role.CHAIR}
    vote = db_session.get(ChairVote, vote_id)
    with app.app_context():
        key = site_public_key()
    assert signature_problems(chair.PURPOSE, vote.document,
                              {"site": base64.b64decode(key)}) == []
    assert vote.document["record"]["chosen"]["votes"] == 3
    assert vote.document["record"]["members"] == 5
    record = client.get(f"{town['url']}/office-votes/{vote_id}/record.json").get_json()
    assert record["record"]["chosen"]["name"] == "业主7"
    decided = db_session.query(AuditEntry).filter_by(action="committee.chair_vote_decided")
    assert decided.count() == 1
    # The new chair now records vacancies.
    login(town["owners"][7])
    assert _vacate(client, town, 9).status_code == 302


@pytest.mark.parametrize("votes", [
    {5: 7, 6: 7, 8: 5, 9: 5},  # a tie, 2 : 2
    {5: 7, 6: 7, 7: 5, 8: 6, 9: 9},  # 2 of 5 leads, but not more than half of all
])
def test_a_tie_or_a_plurality_decides_nothing(client, login, town, db_session, votes):
    login(town["owners"][5])
    vote_id = _open_vote(client, town)
    _cast(client, login, town, vote_id, votes)
    response = client.post(f"{town['url']}/office-votes/{vote_id}/close?lang=en")
    assert response.status_code == 409
    assert "more than half of all 5 members" in response.get_data(as_text=True)
    db_session.expire_all()
    assert all(m.role is MemberRole.MEMBER for m in town["committee"].members)
    assert db_session.get(ChairVote, vote_id).closed_at is None
    assert Role.CHAIR not in _roles(db_session, town["owners"][7], town["community"])


def test_three_of_five_is_a_majority_of_all_even_when_two_did_not_vote(
        client, login, town, db_session):
    login(town["owners"][5])
    vote_id = _open_vote(client, town)
    _cast(client, login, town, vote_id, {5: 6, 6: 6})
    assert client.post(f"{town['url']}/office-votes/{vote_id}/close").status_code == 409
    _cast(client, login, town, vote_id, {9: 6})
    assert client.post(f"{town['url']}/office-votes/{vote_id}/close").status_code == 302


def test_a_paper_vote_is_recorded_with_its_count(client, login, town, db_session):
    login(town["owners"][5])
    base = f"{town['url']}/office-votes/paper?lang=en"
    counts = {f"count-{_member(town, i).id}": n for i, n in ((5, 2), (6, 2), (7, 1))}
    response = client.post(base, data={"office": "chair", **counts})
    assert response.status_code == 409  # a tie
    assert db_session.query(ChairVote).count() == 0
    too_many = {f"count-{_member(town, 5).id}": 4, f"count-{_member(town, 6).id}": 2}
    response = client.post(base, data={"office": "chair", **too_many})
    assert response.status_code == 422
    assert "the committee has 5 members" in response.get_data(as_text=True)
    counts = {f"count-{_member(town, 5).id}": 3, f"count-{_member(town, 6).id}": 2}
    assert client.post(base, data={"office": "vice_chair", **counts}).status_code == 302
    db_session.expire_all()
    assert _member(town, 5).role is MemberRole.VICE_CHAIR
    assert Role.CHAIR not in _roles(db_session, town["owners"][5], town["community"])
    vote = db_session.scalars(select(ChairVote)).one()
    assert vote.mode == "paper"
    assert vote.document["record"]["ballots"] == 5


def test_only_serving_members_vote(client, login, town, make):
    login(town["owners"][5])
    vote_id = _open_vote(client, town)
    outsider = make.user_with_role(Role.COMMITTEE, town["community"])  # the role, not a seat
    login(outsider)
    response = client.post(f"{town['url']}/office-votes/{vote_id}/ballot",
                           data={"candidate": _member(town, 5).id})
    assert response.status_code == 403


def test_a_new_chair_takes_the_role_from_the_old(town, db_session, ctx):
    committee = town["committee"]
    members = {i: _member(town, i) for i in MEMBERS}
    by_id = {m.id: 3 for m in (members[5],)}
    chair.record_paper(db_session, actor=town["owners"][5], now=utcnow(), committee=committee,
                       office="chair", counts=by_id)
    assert Role.CHAIR in _roles(db_session, town["owners"][5], town["community"])
    chair.record_paper(db_session, actor=town["owners"][5], now=utcnow(), committee=committee,
                       office="chair", counts={members[6].id: 4})
    assert members[5].role is MemberRole.MEMBER
    assert members[6].role is MemberRole.CHAIR
    assert Role.CHAIR not in _roles(db_session, town["owners"][5], town["community"])
    with pytest.raises(Conflict):
        chair.record_paper(db_session, actor=town["owners"][5], now=utcnow(),
                           committee=committee, office="chair", counts={members[7].id: 1})


# --- term reminders -----------------------------------------------------------------------------

def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(4, 0), tzinfo=dt.UTC)


def test_reminders_go_out_once_at_six_and_three_months(town, db_session, ctx):
    end = town["committee"].term_end
    sent = lambda day: reminders.send_reminders(db_session, now=_at(day))  # noqa: E731
    assert sent(reminders.months_before(end, 6) - dt.timedelta(days=1)) == 0
    assert sent(reminders.months_before(end, 6)) == 1
    assert sent(reminders.months_before(end, 6) + dt.timedelta(days=1)) == 0
    assert sent(reminders.months_before(end, 3) - dt.timedelta(days=1)) == 0
    assert sent(reminders.months_before(end, 3)) == 1
    assert sent(reminders.months_before(end, 3)) == 0
    assert sent(end - dt.timedelta(days=1)) == 0
    assert db_session.query(TermReminder).count() == 2
    told = db_session.query(Notification).filter_by(kind="committee.term_ending").all()
    readers = {n.user_id for n in told}
    assert town["auditor"].id in readers
    assert town["owners"][5].id in readers
    assert len(told) == 2 * len(readers)
    titles = {n.text["en"]["title"] for n in told}
    assert titles == {"The owners' committee's term ends in 6 months",
                      "The owners' committee's term ends in 3 months"}


def test_a_late_run_sends_only_the_nearest_reminder(town, db_session, ctx):
    end = town["committee"].term_end
    assert reminders.send_reminders(db_session, now=_at(end - dt.timedelta(days=30))) == 1
    assert db_session.query(TermReminder).count() == 2
    titles = {n.text["en"]["title"] for n in db_session.query(Notification).filter_by(
        kind="committee.term_ending")}
    assert titles == {"The owners' committee's term ends in 3 months"}


def test_the_remind_command_is_idempotent(town, app, db_session):
    end = town["committee"].term_end
    town["committee"].term_end = dt.date.today() + dt.timedelta(days=80)
    db_session.flush()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["committee", "remind"])
    assert first.exit_code == 0, first.output
    assert "1 reminder" in first.output
    second = runner.invoke(args=["committee", "remind"])
    assert "0 reminder" in second.output
    assert end  # the original term is irrelevant here


def test_the_system_can_seat_a_committee_without_an_acting_account(town, db_session, ctx):
    """An election made final by a scheduled job has no actor: the roles still follow."""
    persons, community = town["persons"], town["community"]
    services.seat_committee(
        db_session, community=community, election_ref="election:3", term_years=4,
        term_start=dt.date(2030, 1, 1), elected=[entry(persons[0], 1, 9, "500.00")],
        alternates=[], actor=None)
    assert _roles(db_session, town["owners"][0], community) == {Role.COMMITTEE}
    assert _roles(db_session, town["owners"][5], community) == set()
