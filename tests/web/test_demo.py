"""Does ``flask demo`` build its community once, with every role and a bundle that verifies?"""

from __future__ import annotations

import json
import zipfile

import pytest
from sqlalchemy import func, select

import app.demo as demo
from app.meetings import voting
from app.models import (
    BoardEntry,
    Building,
    Community,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    Unit,
    User,
    utcnow,
)
from app.register.summary import electorate_units, register_headcount
from elections import Electorate
from elections.rules import Matter
from elections.verify import verify_bundle


@pytest.fixture
def built(app, db_session, tmp_path, monkeypatch):
    """The demo built once on the test database, its files written under ``tmp_path``."""
    monkeypatch.setattr(demo, "INSTANCE", tmp_path)
    monkeypatch.setattr(demo, "DEMO_HINT", tmp_path / "demo-activation.txt")
    with app.app_context():
        assert demo.build_demo(db_session) is True
        yield db_session.scalar(select(Community).where(Community.name == demo.DEMO_COMMUNITY))


def test_the_register_has_240_units_in_three_buildings_and_fewer_owners(built, db_session):
    units = db_session.scalar(select(func.count(Unit.id)).where(Unit.community_id == built.id))
    buildings = db_session.scalar(
        select(func.count(Building.id)).where(Building.community_id == built.id)
    )
    assert (units, buildings) == (240, 3)
    members = electorate_units(db_session, built)
    assert len(members) == 240
    assert any(u.developer_unsold for u in members)
    assert any(len(u.owners) == 2 for u in members)
    headcount = register_headcount(db_session, built)
    # co-owners, owners of two flats and the developer's unsold flats each count once
    assert 200 < headcount < 240
    assert headcount == Electorate(members).headcount


def test_every_role_has_its_demo_account(built, db_session):
    names = set(db_session.scalars(select(User.username).where(User.is_demo)))
    expected = {u for u, *_ in demo.DEMO_ACCOUNTS} | {"owner", "resident", "admin"}
    assert expected <= names


def test_running_it_again_keeps_the_data(built, app, db_session, tmp_path):
    before = db_session.scalar(select(func.count(Unit.id)))
    bundle = (tmp_path / "demo-bundle.zip").read_bytes()
    with app.app_context():
        assert demo.build_demo(db_session) is False
    assert db_session.scalar(select(func.count(Unit.id))) == before
    assert (tmp_path / "demo-bundle.zip").read_bytes() == bundle


def test_the_demo_bundle_verifies_offline(built, db_session, tmp_path, capsys):
    path = tmp_path / "demo-bundle.zip"
    report = verify_bundle(path)
    assert report.ok, report
    with zipfile.ZipFile(path) as bundle:
        definition = json.loads(bundle.read("definition.json"))
        electorate = json.loads(bundle.read("electorate.json"))
    # The bundle is the finished demo meeting's: its motions, as the owners saw them.
    assert "制定《梧桐苑业主大会议事规则》" in json.dumps(definition, ensure_ascii=False)
    assert len(electorate["units"]) == 240
    assert Electorate.from_json(electorate).headcount == register_headcount(db_session, built)
    demo.print_logins(db_session)
    # The command printed names the file where it really is.
    assert f"python -m elections.verify {path}" in capsys.readouterr().out


def test_the_demo_has_a_finished_meeting_and_one_voting_now(built, db_session):
    """One meeting final with its result, one whose vote is open, the demo owner not voted."""
    meetings = {m.status: m for m in db_session.scalars(
        select(Meeting).where(Meeting.community_id == built.id))}
    finished, current = meetings[MeetingStatus.FINAL], meetings[MeetingStatus.PUBLISHED]
    assert all(m.adopted is not None for m in finished.motions)
    assert [m.matter for m in current.motions] == [
        Matter.MANAGEMENT_STATUTE, Matter.USE_FUND, Matter.RAISE_FUND]
    assert current.notice_ends_at <= utcnow() < current.voting_closes_at
    box = voting.box_of(db_session, current)
    cast = db_session.scalar(select(func.count(BoardEntry.id)).where(BoardEntry.box_id == box.id))
    assert cast > 50
    owner = db_session.scalar(select(User).where(User.username == "owner"))
    mine = voting.voter_of_user(db_session, box, owner)
    assert mine is not None
    assert voting.ballot_of(db_session, box, mine) is None  # left for whoever tries the demo
    assert db_session.scalar(select(func.count(MeetingRequest.id)).where(
        MeetingRequest.community_id == built.id)) == 1
def test_the_demo_books_verify_and_statements_are_published(built, db_session):
    """Do the demo's books check out, with published statements and a fund that adds up?"""
    from app.money import disclosure, ledger

    assert ledger.verify_ledger(db_session, built).ok
    published = disclosure.disclosures_of(db_session, built)
    assert len(published) == 3
    per_unit = ledger.unit_fund_balances(db_session, built)
    assert sum(per_unit.values()) == ledger.balances(db_session, built)["F101"]
    from app.models import utcnow
    from app.money import fees

    now = utcnow()
    behind = fees.arrears(db_session, built, now=now, today=now.date())
    assert 0 < len(behind) < 60
    assert any(a.follow_up_due for a in behind)


def test_the_demo_has_an_evaluated_tender_and_one_taking_bids(built, db_session, tmp_path):
    from app.models import Tender, TenderStatus
    from tenders.verify import main

    tenders = db_session.scalars(select(Tender).where(Tender.community_id == built.id)
                                 .order_by(Tender.id)).all()
    assert [t.status for t in tenders] == [TenderStatus.EVALUATED, TenderStatus.PUBLISHED]
    result = tenders[0].evaluation["record"]["result"]
    assert result["outcome"] == "evaluated"
    assert len(result["ranking"]) == 5
    assert len(result["shortlist"]) == 3
    # Each bid came with a PDF, out of its seal since the opening.
    from app.models import TenderBidDocument

    documents = db_session.scalars(select(TenderBidDocument).where(
        TenderBidDocument.tender_id == tenders[0].id)).all()
    assert len(documents) == 5
    assert all(d.content.startswith(b"%PDF-") for d in documents)
    # Four of the five evaluators signed the report with their own keys.
    assert sum(1 for seat in tenders[0].panel if seat.report_signature) == 4
    assert main([str(tmp_path / "demo-tender-bundle.json")]) == 0


def test_the_demo_committee_serves_with_its_chair_alternates_and_a_recall(built, db_session):
    """The demo logins chair (周建国) and committee (林晓峰) sit on a serving committee."""
    from app.committee import recall, services
    from app.models import MemberRole, Role, RoleGrant

    committee = services.current_committee(db_session, built)
    assert committee is not None
    serving = services.serving(committee)
    assert len(serving) == committee.seats == 7
    roles = {m.name: m.role for m in serving}
    assert roles["周建国"] is MemberRole.CHAIR
    assert roles["林晓峰"] is MemberRole.VICE_CHAIR
    chair = db_session.scalar(select(User).where(User.username == "chair"))
    assert db_session.scalar(select(RoleGrant).where(
        RoleGrant.user_id == chair.id, RoleGrant.role == Role.CHAIR,
        RoleGrant.community_id == built.id)) is not None
    # One member resigned and the first alternate took the seat; the second still waits.
    assert [a.called_up_at is not None for a in committee.alternates] == [True, False]
    assert not services.by_election_needed(committee)
    assert 0 < (committee.term_end - utcnow().date()).days < 200
    (proposal,) = recall.proposals_of(db_session, built)
    progress = recall.progress(db_session, proposal)
    assert proposal.reached_at is None
    assert progress.backing.supporters == 3
    assert not progress.threshold.met
def test_the_demo_has_a_finished_committee_election_whose_bundle_verifies(built, db_session,
                                                                         tmp_path):
    """The first meeting elected 9 members and named alternates; the count verifies."""
    from app.elections_web import announcement
    from app.models import Election, ElectionStatus

    election = db_session.scalars(select(Election).join(Meeting).where(
        Meeting.community_id == built.id)).one()
    assert election.status is ElectionStatus.FINAL
    assert election.meeting.status is MeetingStatus.FINAL
    assert len(announcement.elected_of(election)) == 9
    assert len(announcement.alternates_of(election)) >= 1
    assert len(election.candidates) > election.seats
    report = verify_bundle(tmp_path / "demo-election-bundle.zip")
    assert report.ok, report
