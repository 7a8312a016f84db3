"""Committee elections (差额选举) within an owners' meeting, through the web: nominations and
eligibility, candidate ballots online and on paper, the count, run-off rounds, alternates,
the announcement and the hand-over to the committee area."""

from __future__ import annotations

import datetime as dt
import io
import sys
import types
import zipfile

import pytest
from election_helpers import ElectionWorld
from voting_helpers import PASSPHRASES

from app.elections_web import announcement, rounds
from app.elections_web import services as election_services
from app.meetings import services as meeting_services
from app.models import (
    BoardEntry,
    Candidate,
    Election,
    ElectionStatus,
    MeetingStatus,
    NominationChannel,
    NoticeRevision,
    Role,
    TieRule,
    utcnow,
)
from elections import verify_bundle

pytestmark = pytest.mark.usefixtures("cheap_shares")

#: Nine ballots: c1..c3 get 9, c4 8, and c5 and c6 tie at 5 (both over half) for seat 5.
TIE = [[0, 1, 2, 3, 4]] * 4 + [[0, 1, 2, 3, 5]] * 4 + [[0, 1, 2, 4, 5]]


@pytest.fixture
def draft(make, db_session, app):
    """A draft meeting whose 5-seat election has 6 candidates (not yet published)."""
    return ElectionWorld(make, db_session, app, publish=False)


@pytest.fixture
def world(make, db_session, app):
    w = ElectionWorld(make, db_session, app)
    w.ceremony()
    return w


def _cast(client, login, w, i, selected):
    login(w.owners[i])
    return client.post(w.url("/ballot?lang=en"), data={"selected": selected, "final": "1"})


def _close_and_open(client, login, w):
    w.close_round_now()
    login(w.committee)
    assert client.post(w.url("/close")).status_code == 302
    for user, passphrase in list(zip(w.scrutineers, PASSPHRASES))[:2]:
        login(user)
        response = client.post(w.url("/opening"), data={"passphrase": passphrase})
        assert response.status_code == 302, response.get_data(as_text=True)[:400]


# -- setup and nominations -----------------------------------------------------------------------


def test_the_committee_puts_an_election_on_the_agenda_with_its_defaults(client, login, make,
                                                                       db_session, app):
    w = ElectionWorld(make, db_session, app, publish=False, candidates=0)
    db_session.delete(w.election)
    db_session.flush()
    login(w.committee)
    assert 'name="seats"' in client.get(w.url()).get_data(as_text=True)
    response = client.post(w.url("/setup"), data={"seats": "9", "vice_chairs": "2",
                                                   "term_years": "3", "tie_rule": "runoff"})
    assert response.status_code == 302
    election = db_session.query(Election).filter_by(meeting_id=w.meeting.id).one()
    assert (election.seats, election.vice_chairs, election.term_years) == (9, 2, 3)


@pytest.mark.parametrize(("seats", "term", "field_text"), [
    ("8", "3", "odd number"), ("3", "3", "odd number"), ("9", "6", "3 to 5 years"),
    ("9", "2", "3 to 5 years")])
def test_an_even_or_small_committee_or_a_wrong_term_is_refused(client, login, draft, db_session,
                                                               seats, term, field_text):
    login(draft.committee)
    response = client.post(draft.url("/setup?lang=en"), data={
        "seats": seats, "vice_chairs": "2", "term_years": term, "tie_rule": "runoff"})
    assert response.status_code == 422
    assert field_text in response.get_data(as_text=True)
    db_session.refresh(draft.election)
    assert (draft.election.seats, draft.election.term_years) == (5, 3)


def test_a_joint_nomination_records_the_nominating_owners(client, login, draft, db_session):
    w = draft
    login(w.committee)
    nominators = "\n".join(w.unit_label(i) for i in range(2, 7))
    response = client.post(w.url("/nominate"), data={
        "unit": w.unit_label(7), "channel": "joint_owners", "nominators": nominators,
        "consent": "1", "statement": "十年业主，热心公益"})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    candidate = db_session.query(Candidate).filter_by(person_id=w.persons[7].id).one()
    page = client.get(w.url("?lang=en")).get_data(as_text=True)
    assert "Nominate a candidate" in page
    assert "nominated by 5 owners" in page
    assert candidate.channel is NominationChannel.JOINT_OWNERS
    assert candidate.nominators == sorted(p.id for p in w.persons[2:7])
    assert candidate.statement == "十年业主，热心公益"


def test_a_joint_nomination_by_too_few_owners_is_refused(client, login, draft, db_session):
    login(draft.committee)
    response = client.post(draft.url("/nominate?lang=en"), data={
        "unit": draft.unit_label(7), "channel": "joint_owners",
        "nominators": draft.unit_label(2), "consent": "1"})
    assert response.status_code == 422
    assert "at least 5 owners" in response.get_data(as_text=True)
    assert db_session.query(Candidate).filter_by(person_id=draft.persons[7].id).count() == 0


def test_an_owner_nominates_themselves(client, login, draft, db_session):
    login(draft.owners[8])
    page = client.get(draft.url("?lang=en")).get_data(as_text=True)
    assert "Stand yourself" in page
    assert "Nominate a candidate" not in page
    response = client.post(draft.url("/self-nominate"), data={"statement": "我愿意服务大家",
                                                               "consent": "1"})
    assert response.status_code == 302
    candidate = db_session.query(Candidate).filter_by(person_id=draft.persons[8].id).one()
    assert candidate.channel is NominationChannel.SELF
    assert candidate.nominators == [draft.persons[8].id]


def test_a_resident_who_owns_nothing_cannot_stand(client, login, make, draft, db_session):
    tenant = make.user_with_role(Role.RESIDENT, draft.community)
    login(tenant)
    response = client.post(draft.url("/self-nominate?lang=en"), data={"consent": "1"})
    assert response.status_code == 403
    login(draft.committee)
    stranger = make.person(draft.community, name="租户甲")
    make.reside(stranger, draft.units[0])
    with pytest.raises(Exception, match="owns no unit"):
        election_services.nominate(
            db_session, actor=draft.committee, now=utcnow(), election=draft.election,
            person=stranger, channel=NominationChannel.PREPARATORY_GROUP, nominators=[],
            consent=True)


def test_a_disqualified_owner_is_refused(client, login, draft, db_session):
    login(draft.committee)
    response = client.post(draft.url("/disqualify"), data={
        "unit": draft.unit_label(7), "reason": "无完全民事行为能力"})
    assert response.status_code == 302
    response = client.post(draft.url("/nominate?lang=en"), data={
        "unit": draft.unit_label(7), "channel": "preparatory_group", "consent": "1"})
    assert response.status_code == 422
    assert "not eligible" in response.get_data(as_text=True)
    assert "无完全民事行为能力" in response.get_data(as_text=True)


def test_no_candidate_without_consent(client, login, draft, db_session):
    login(draft.committee)
    response = client.post(draft.url("/nominate?lang=en"), data={
        "unit": draft.unit_label(7), "channel": "preparatory_group"})
    assert response.status_code == 422
    assert "consent" in response.get_data(as_text=True)
    assert db_session.query(Candidate).filter_by(person_id=draft.persons[7].id).count() == 0


def test_the_notice_waits_for_more_candidates_than_seats(client, login, draft, db_session):
    login(draft.committee)
    victim = draft.election.candidates[-1]
    assert client.post(draft.url(f"/candidates/{victim.id}/withdraw")).status_code == 302
    meeting_url = f"/c/{draft.community.id}/meetings/{draft.meeting.id}"
    page = client.get(meeting_url + "?lang=en").get_data(as_text=True)
    assert "more candidates than its 5 seats" in page
    response = client.post(meeting_url + "/publish")
    assert response.status_code == 422
    db_session.refresh(draft.meeting)
    assert draft.meeting.status is MeetingStatus.DRAFT


def test_the_list_is_published_with_the_notice_page_and_pdf(client, login, make, db_session,
                                                          app):
    draft = ElectionWorld(make, db_session, app, publish=False, start=utcnow())
    login(draft.committee)
    meeting_url = f"/c/{draft.community.id}/meetings/{draft.meeting.id}"
    assert client.post(meeting_url + "/publish").status_code == 302
    notice = db_session.query(NoticeRevision).filter_by(meeting_id=draft.meeting.id).one()
    assert [c["name"] for c in notice.snapshot["election"]["candidates"]] == [
        f"业主{i}" for i in range(6)]
    login(draft.owners[8])
    page = client.get(meeting_url).get_data(as_text=True)
    assert "election-notice" in page
    assert "业主5" in page
    pdf = client.get(meeting_url + "/notice.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    # The list is frozen with the notice.
    login(draft.committee)
    response = client.post(draft.url("/nominate"), data={
        "unit": draft.unit_label(7), "channel": "preparatory_group", "consent": "1"})
    assert response.status_code == 409


# -- ballots -------------------------------------------------------------------------------------


def test_exactly_as_many_as_seats_is_cast_and_one_more_is_refused(client, login, world,
                                                                  db_session):
    too_many = [world.cid(i) for i in range(6)]
    response = _cast(client, login, world, 0, too_many)
    assert response.status_code == 422
    assert "6 candidates for 5 seats" in response.get_data(as_text=True)
    assert db_session.query(BoardEntry).count() == 0
    assert _cast(client, login, world, 0, too_many[:5]).status_code == 302
    assert db_session.query(BoardEntry).count() == 1


def test_the_ballot_page_carries_the_seat_limit_and_the_candidates(client, login, world):
    login(world.owners[1])
    page = client.get(world.url("/ballot")).get_data(as_text=True)
    assert 'data-seats="5"' in page
    assert page.count('name="selected"') == 6
    assert "candidate_ballot.js" in page


def test_a_blank_ballot_is_valid_and_counts_for_participation(client, login, world,
                                                             db_session):
    for i in range(6):
        assert _cast(client, login, world, i, [world.cid(j) for j in range(5)]).status_code == 302
    assert _cast(client, login, world, 6, []).status_code == 302
    _close_and_open(client, login, world)
    result = rounds.round_result(db_session, world.election.rounds[0])
    assert result["counts"] == {"ballots": 7, "valid": 7, "void": 0, "blank": 1}
    assert result["participating"]["headcount"] == 7


def test_paper_ballots_over_selected_or_unreadable_are_recorded_and_void(client, login, world,
                                                                        db_session):
    staff = world.staff
    over = [world.cid(i) for i in range(6)]
    for user in staff:
        login(user)
        response = client.post(world.url("/paper"), data={
            "unit": world.unit_label(7), "selected": over, "form_number": "P-7"})
        assert response.status_code == 302
    for user in staff:
        login(user)
        client.post(world.url("/paper"), data={"unit": world.unit_label(8), "unreadable": "1",
                                               "form_number": "P-8"})
    assert db_session.query(BoardEntry).count() == 2
    login(staff[0])
    page = client.get(world.url("/paper?lang=en")).get_data(as_text=True)
    assert "6 marked for 5 seats: void" in page
    assert "unreadable: void" in page
    for i in range(5):
        _cast(client, login, world, i, [world.cid(j) for j in range(5)])
    _close_and_open(client, login, world)
    result = rounds.round_result(db_session, world.election.rounds[0])
    assert result["counts"]["void"] == 2
    assert sorted(v["reason"] for v in result["voids"]) == ["over_selection", "unreadable"]
    assert result["participating"]["headcount"] == 7


# -- counting, run-off, alternates, announcement -------------------------------------------------


def test_seats_go_by_votes_and_those_over_the_threshold_become_alternates(client, login,
                                                                          make, db_session,
                                                                          app):
    w = ElectionWorld(make, db_session, app, candidates=7)
    w.ceremony()
    # 9 owners vote: c1..c5 get 9, 8, 8, 7, 6; c6 gets 5 (over half: alternate); c7 gets 2.
    ballots = ([[0, 1, 2, 3, 4]] * 2 + [[0, 1, 2, 3, 5]] * 3 + [[0, 1, 2, 4, 5]] * 2
               + [[0, 2, 3, 4, 6], [0, 1, 3, 4, 6]])
    for i, picks in enumerate(ballots):
        assert _cast(client, login, w, i, [w.cid(p) for p in picks]).status_code == 302
    _close_and_open(client, login, w)
    db_session.refresh(w.election)
    assert w.election.status is ElectionStatus.DECIDED
    elected = [c.person.name for c in announcement.elected_of(w.election)]
    assert elected == ["业主0", "业主1", "业主2", "业主3", "业主4"]
    assert [c.person.name for c in announcement.alternates_of(w.election)] == ["业主5"]
    seventh = next(c for c in w.election.candidates if c.position == 7)
    assert seventh.outcome == "not_elected"
    assert seventh.votes_head == 2


def test_a_candidate_ranked_into_a_seat_but_below_the_threshold_is_not_elected(
        client, login, make, db_session, app):
    w = ElectionWorld(make, db_session, app, candidates=6)
    w.ceremony()
    # 7 owners vote; c5 gets 3 of 7 (not more than half), c6 gets 1.
    ballots = [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3],
               [0, 1, 2, 3], [0, 1, 2, 3, 5], [0, 1, 2, 3]]
    for i, picks in enumerate(ballots):
        _cast(client, login, w, i, [w.cid(p) for p in picks])
    _close_and_open(client, login, w)
    result = rounds.round_result(db_session, w.election.rounds[0])
    fifth = next(t for t in result["candidates"] if t["candidate"] == "c5")
    assert fifth["rank"] == 5
    assert fifth["outcome"] == "not_elected"
    assert result["unfilled_seats"] == 1
    state = rounds.standing(db_session, w.election)
    assert state.next_round == ("new", 1, [c.id for c in w.election.candidates[4:]])


def test_a_tie_for_the_last_seat_goes_to_a_run_off_and_is_decided_there(client, login, make,
                                                                       db_session, app):
    w = ElectionWorld(make, db_session, app, candidates=6)
    w.ceremony()
    # c1..c3 get 9, c4 8; c5 and c6 tie at 5 (both over half) for the last seat.
    for i, p in enumerate(TIE):
        assert _cast(client, login, w, i, [w.cid(j) for j in p]).status_code == 302
    _close_and_open(client, login, w)
    first = rounds.round_result(db_session, w.election.rounds[0])
    assert first["runoff"] == ["c5", "c6"]
    assert first["runoff_seats"] == 1
    db_session.refresh(w.election)
    assert w.election.status is ElectionStatus.RUNNING
    login(w.committee)
    page = client.get(w.url("?lang=en")).get_data(as_text=True)
    assert "A further round is due" in page
    closes = (utcnow() + dt.timedelta(hours=2)).astimezone(
        dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    response = client.post(w.url("/rounds"), data={"closes_at": closes, "note": "现场加投"})
    assert response.status_code == 302
    with app.test_request_context():
        rounds.hold_ceremony(db_session, actor=w.committee, now=utcnow(), election=w.election,
                             k=2, passphrases={u.id: p for u, p in zip(w.scrutineers,
                                                                         PASSPHRASES)})
    login(w.owners[0])
    page = client.get(w.url("/ballot")).get_data(as_text=True)
    assert 'data-seats="1"' in page
    assert page.count('name="selected"') == 2
    for i in range(9):
        choice = w.cid(5) if i < 6 else w.cid(4)
        assert _cast(client, login, w, i, [choice]).status_code == 302
    _close_and_open(client, login, w)
    db_session.refresh(w.election)
    assert w.election.status is ElectionStatus.DECIDED
    assert [c.person.name for c in announcement.elected_of(w.election)] == [
        "业主0", "业主1", "业主2", "业主3", "业主5"]
    # The run-off's loser reached the threshold in the first round: the first alternate.
    assert [c.person.name for c in announcement.alternates_of(w.election)] == ["业主4"]
    # Every round's bundle verifies offline.
    for number in (1, 2):
        login(w.committee)
        data = client.get(w.url(f"/rounds/{number}/bundle.zip")).data
        assert zipfile.is_zipfile(io.BytesIO(data))
        report = verify_bundle(io.BytesIO(data))
        assert report.ok, report.discrepancies


def test_where_the_rules_say_so_the_elected_members_decide_a_tie(client, login, make,
                                                                db_session, app):
    w = ElectionWorld(make, db_session, app, candidates=6, tie_rule=TieRule.ELECTED_DECIDE)
    w.ceremony()
    for i, p in enumerate(TIE):
        _cast(client, login, w, i, [w.cid(j) for j in p])
    _close_and_open(client, login, w)
    login(w.committee)
    page = client.get(w.url("?lang=en")).get_data(as_text=True)
    assert "decide-tie" in page
    tied = [c.id for c in w.election.candidates[4:]]
    refused = client.post(w.url("/decide?lang=en"), data={"chosen": tied, "note": "x"})
    assert refused.status_code == 422  # two chosen for one seat
    response = client.post(w.url("/decide"), data={
        "chosen": [tied[0]], "note": "当选委员会议 2026-12-01，4 票对 0 票"})
    assert response.status_code == 302
    db_session.refresh(w.election)
    assert w.election.status is ElectionStatus.DECIDED
    assert [c.person.name for c in announcement.elected_of(w.election)][-1] == "业主4"
    assert [c.person.name for c in announcement.alternates_of(w.election)] == ["业主5"]
    assert w.election.rounds[-1].decision["note"].startswith("当选委员会议")


def test_the_announcement_lists_the_elected_and_the_final_result_seats_them(
        client, login, make, db_session, app, monkeypatch):
    w = ElectionWorld(make, db_session, app, candidates=6)
    w.ceremony()
    # c1..c3 9, c4 7, c5 6; c6 5 (over half: the alternate).
    picks = [[0, 1, 2, 3, 4]] * 4 + [[0, 1, 2, 3, 5]] * 3 + [[0, 1, 2, 4, 5]] * 2
    for i, p in enumerate(picks):
        _cast(client, login, w, i, [w.cid(j) for j in p])
    _close_and_open(client, login, w)
    login(w.committee)
    assert client.post(w.url("/announce")).status_code == 302
    login(w.owners[8])
    page = client.get(w.url("/result?lang=en")).get_data(as_text=True)
    assert "Elected members" in page
    assert "业主4" in page
    pdf = client.get(w.url("/announcement.pdf"))
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    assert client.post(w.url("/objections"), data={"text": "计票有误？"}).status_code == 302
    seen = {}
    fake = types.SimpleNamespace(seat_committee=lambda session, **kw: seen.update(kw))
    monkeypatch.setattr(announcement, "committee_services", fake)
    login(w.committee)
    assert client.post(w.url("/final")).status_code == 409  # period running, objection open
    election = db_session.get(Election, w.election.id)
    election.objections_close_at = utcnow() - dt.timedelta(minutes=1)
    db_session.flush()
    assert client.post(w.url("/final")).status_code == 409  # the objection is unanswered
    objection = announcement.objections_of(db_session, election)[0]
    client.post(w.url(f"/objections/{objection.id}/answer"), data={"answer": "已复核，无误。"})
    assert client.post(w.url("/final")).status_code == 302
    assert seen["election_ref"] == election.ref
    assert seen["term_years"] == 3
    assert [e["name"] for e in seen["elected"]] == ["业主0", "业主1", "业主2", "业主3", "业主4"]
    assert seen["elected"][0] == {"owner_id": w.persons[0].id, "name": "业主0",
                                  "votes_head": 9, "votes_area": "900.00", "rank": 1}
    assert [a["name"] for a in seen["alternates"]] == ["业主5"]
    db_session.refresh(election)
    assert election.status is ElectionStatus.FINAL
    assert election.seated


def test_without_the_committee_area_the_final_result_seats_nobody(client, login, make,
                                                                 db_session, app,
                                                                 monkeypatch):
    monkeypatch.setattr(announcement, "committee_services", None)
    monkeypatch.setitem(sys.modules, "app.committee", None)
    w = ElectionWorld(make, db_session, app, candidates=6)
    w.ceremony()
    for i in range(9):
        _cast(client, login, w, i, [w.cid(j) for j in range(5)])
    _close_and_open(client, login, w)
    db_session.refresh(w.election)
    with app.test_request_context():
        announcement.announce(db_session, actor=w.committee, now=utcnow(), election=w.election)
        announcement.make_final(db_session, actor=w.committee,
                                now=utcnow() + dt.timedelta(days=16), election=w.election)
    assert w.election.status is ElectionStatus.FINAL
    assert not w.election.seated


def test_the_meetings_own_box_is_untouched_by_the_election(world, db_session):
    """The motions keep their own ballot box; the election's round has another."""
    from app.meetings import voting

    assert voting.box_of(db_session, world.meeting) is None
    assert rounds.round_box(db_session, world.election.rounds[0]) is not None
    assert meeting_services.blockers(world.meeting, utcnow()) == []


def test_more_ballots_than_voters_signed_in_voids_the_round_and_says_why(client, login, world,
                                                                        db_session):
    for i in range(7):
        _cast(client, login, world, i, [world.cid(j) for j in range(5)])
    world.close_round_now()
    login(world.committee)
    response = client.post(world.url("/close"), data={"voters_signed_in": "6"})
    assert response.status_code == 302
    for user, passphrase in list(zip(world.scrutineers, PASSPHRASES))[:2]:
        login(user)
        client.post(world.url("/opening"), data={"passphrase": passphrase})
    result = rounds.round_result(db_session, world.election.rounds[0])
    assert result["void_round"] == "more ballots (7) than voters (6)"
    assert all(t["outcome"] == "not_elected" for t in result["candidates"])
    page = client.get(world.url("?lang=en")).get_data(as_text=True)
    assert "This round is void: more ballots (7) than voters (6)" in page
    chinese = client.get(world.url("?lang=zh_Hans_CN")).get_data(as_text=True)
    assert "选票数（7）多于投票人数（6）" in chinese  # the signed English, in the reader's words
    state = rounds.standing(db_session, world.election)
    assert state.next_round == ("new", 5, [c.id for c in world.election.candidates])
    data = client.get(world.url("/rounds/1/bundle.zip")).data
    report = verify_bundle(io.BytesIO(data))
    assert report.ok, report.discrepancies


def test_ballots_equal_to_the_voters_signed_in_keep_the_round(client, login, world,
                                                               db_session):
    for i in range(7):
        _cast(client, login, world, i, [world.cid(j) for j in range(5)])
    world.close_round_now()
    login(world.committee)
    assert client.post(world.url("/close"), data={"voters_signed_in": "7"}).status_code == 302
    for user, passphrase in list(zip(world.scrutineers, PASSPHRASES))[:2]:
        login(user)
        client.post(world.url("/opening"), data={"passphrase": passphrase})
    result = rounds.round_result(db_session, world.election.rounds[0])
    assert result["void_round"] is None
    assert [t["candidate"] for t in result["candidates"] if t["outcome"] == "elected"] == [
        "c1", "c2", "c3", "c4", "c5"]


def test_once_a_round_has_its_box_the_notice_and_its_list_can_no_longer_be_amended(
        client, login, world, db_session):
    login(world.committee)
    response = client.post(f"/c/{world.community.id}/meetings/{world.meeting.id}/amend")
    assert response.status_code == 409
    db_session.refresh(world.meeting)
    assert world.meeting.status is MeetingStatus.PUBLISHED


def test_the_round_ceremony_form_names_a_mismatch_and_then_makes_the_round_box(
        client, login, make, db_session, app):
    w = ElectionWorld(make, db_session, app)
    login(w.committee)
    form = {f"pass-{u.id}": p for u, p in zip(w.scrutineers, PASSPHRASES)}
    form |= {f"again-{u.id}": p for u, p in zip(w.scrutineers, PASSPHRASES)}
    wrong = {**form, f"again-{w.scrutineers[0].id}": "not the same", "k": "2"}
    response = client.post(w.url("/ceremony?lang=en"), data=wrong)
    assert response.status_code == 422
    assert "The two passphrases differ." in response.get_data(as_text=True)
    assert rounds.round_box(db_session, rounds.latest_round(w.election)) is None
    assert client.post(w.url("/ceremony"), data={**form, "k": "2"}).status_code == 302
    db_session.expire_all()
    box = rounds.round_box(db_session, rounds.latest_round(w.election))
    assert (box.k, box.n) == (2, 3)
