"""Proxies, paper and written ballots, objections and the final result, through the web.

The written meeting reproduces a real 书面征求意见: 236 households, 216 forms returned, 209 agree.
"""

from __future__ import annotations

import io

import pytest
from voting_helpers import PASSPHRASES, VotingWorld

from app.models import (
    AuditEntry,
    BoardEntry,
    Channel,
    Meeting,
    MeetingForm,
    MeetingStatus,
    Motion,
    PaperEntry,
    Proxy,
    utcnow,
)
from elections import verify_bundle

pytestmark = pytest.mark.usefixtures("cheap_shares")


@pytest.fixture
def signed_in(app, db_session, password):
    """A separate browser, logged in as ``user`` (for two staff members side by side)."""

    def open_as(user):
        db_session.flush()
        browser = app.test_client()
        response = browser.post("/login", data={"login": user.username, "password": password})
        assert response.status_code == 302
        assert not response.headers["Location"].endswith("/login/totp")
        return browser

    return open_as


def _name_proxy(client, world, holder) -> int:
    return client.post(world.url("/proxies"), data={"holder": holder.username,
                                                    "instructions": "同意第一项"}).status_code


# -- proxies ----------------------------------------------------------------------------------


def test_a_proxy_votes_for_the_owner_and_the_board_says_so(client, login, world, db_session):
    owner, holder = world.owners[0], world.owners[1]
    login(owner)
    assert _name_proxy(client, world, holder) == 302
    proxy = db_session.query(Proxy).one()
    assert proxy.instructions == "同意第一项"
    login(holder)
    page = client.get(world.url(f"/ballot?proxy={proxy.id}")).get_data(as_text=True)
    assert "同意第一项" in page  # the proxy sees the instructions they must follow
    response = client.post(world.url("/ballot"), data={"proxy": proxy.id, "choice-m1": "agree",
                                                         "final": "1"})
    assert response.status_code == 302
    entry = db_session.query(BoardEntry).one()
    assert entry.channel is Channel.PROXY
    board = client.get(world.url(f"/board?code={entry.tracking_code}&lang=en"))
    assert "Cast by a proxy." in board.get_data(as_text=True)
    # The holder still votes for themself: two ballots, one each.
    client.post(world.url("/ballot"), data={"choice-m1": "disagree", "final": "1"})
    assert db_session.query(BoardEntry).count() == 2
    # The owner's own attempt now meets the ballot their proxy cast.
    login(owner)
    again = client.post(world.url("/ballot"), data={"choice-m1": "disagree", "final": "1"})
    assert again.status_code == 409
    assert db_session.query(BoardEntry).count() == 2


def test_one_holder_takes_no_more_proxies_than_the_cap(client, login, make, db_session, app):
    w = VotingWorld(make, db_session, app, owners=5)
    w.community.settings = {**(w.community.settings or {}), "proxy_cap": 2}
    w.ceremony()
    holder = w.owners[4]
    for owner in w.owners[:2]:
        login(owner)
        assert _name_proxy(client, w, holder) == 302
    login(w.owners[2])
    refused = client.post(w.url("/proxies?lang=en"), data={"holder": holder.username})
    assert refused.status_code == 409
    assert "2 proxies" in refused.get_data(as_text=True)
    assert db_session.query(Proxy).count() == 2


def test_a_revoked_proxy_cannot_vote(client, login, world, db_session):
    owner, holder = world.owners[0], world.owners[1]
    login(owner)
    _name_proxy(client, world, holder)
    proxy = db_session.query(Proxy).one()
    assert client.post(world.url(f"/proxies/{proxy.id}/revoke")).status_code == 302
    login(holder)
    response = client.post(world.url("/ballot?lang=en"),
                           data={"proxy": proxy.id, "choice-m1": "agree", "final": "1"})
    assert response.status_code == 409
    assert "revoked" in response.get_data(as_text=True)
    assert db_session.query(BoardEntry).count() == 0
    # The owner votes for themself after revoking.
    login(owner)
    assert client.post(world.url("/ballot"), data={"choice-m1": "agree",
                                                   "final": "1"}).status_code == 302


def test_a_proxy_is_not_revocable_once_it_has_voted(client, login, world, db_session):
    owner, holder = world.owners[0], world.owners[1]
    login(owner)
    _name_proxy(client, world, holder)
    proxy = db_session.query(Proxy).one()
    login(holder)
    client.post(world.url("/ballot"), data={"proxy": proxy.id, "choice-m1": "agree",
                                            "final": "1"})
    login(owner)
    response = client.post(world.url(f"/proxies/{proxy.id}/revoke"))
    assert response.status_code == 409
    db_session.refresh(proxy)
    assert proxy.revoked_at is None


def test_another_owner_cannot_revoke_someone_elses_proxy(client, login, world, db_session):
    login(world.owners[0])
    _name_proxy(client, world, world.owners[1])
    proxy = db_session.query(Proxy).one()
    login(world.owners[2])
    assert client.post(world.url(f"/proxies/{proxy.id}/revoke")).status_code == 403


def test_staff_record_a_proxy_from_the_signed_paper_and_its_scan(client, login, world,
                                                                 db_session):
    login(world.staff[0])
    no_scan = client.post(world.url("/proxies/office?lang=en"),
                          data={"unit": world.unit_label(0), "holder": world.owners[1].username})
    assert no_scan.status_code == 422
    assert "scan" in no_scan.get_data(as_text=True)
    not_a_scan = client.post(world.url("/proxies/office"), data={
        "unit": world.unit_label(0), "holder": world.owners[1].username,
        "scan": (io.BytesIO(b"MZ\x90\x00 not a document"), "authorisation.exe")},
        content_type="multipart/form-data")
    assert not_a_scan.status_code == 422
    assert db_session.query(Proxy).count() == 0
    ok = client.post(world.url("/proxies/office"), data={
        "unit": world.unit_label(0), "holder": world.owners[1].username,
        "scan": (io.BytesIO(b"%PDF-1.4 signed authorisation"), "authorisation.pdf")},
        content_type="multipart/form-data")
    assert ok.status_code == 302
    proxy = db_session.query(Proxy).one()
    assert proxy.scan_path.endswith(".pdf")
    assert db_session.query(AuditEntry).filter_by(action="meeting.proxy_named").count() == 1


# -- paper ballots ----------------------------------------------------------------------------


def _enter(browser, world, i, choice, form_number="W-001"):
    return browser.post(world.url("/paper"), data={
        "unit": world.unit_label(i), "form_number": form_number,
        "choice-m1": choice, "choice-m2": choice})


def test_a_paper_ballot_counts_once_two_staff_entries_agree(world, signed_in, db_session):
    first, second = signed_in(world.staff[0]), signed_in(world.staff[1])
    assert _enter(first, world, 0, "agree").status_code == 302
    assert db_session.query(BoardEntry).count() == 0  # one entry alone counts for nothing
    twice = _enter(first, world, 0, "agree")
    assert twice.status_code == 409  # the second entry must be somebody else's
    assert _enter(second, world, 0, "agree").status_code == 302
    entry = db_session.query(BoardEntry).one()
    assert entry.channel is Channel.PAPER
    assert entry.server_sealed
    # The owner's online attempt now meets the paper ballot.
    again = _enter(signed_in(world.staff[2]), world, 0, "disagree")
    assert again.status_code == 409
    assert db_session.query(BoardEntry).count() == 1


def test_disagreeing_entries_wait_for_a_third_check(world, signed_in, db_session):
    staff = [signed_in(u) for u in world.staff]
    _enter(staff[0], world, 1, "agree")
    _enter(staff[1], world, 1, "disagree")
    assert db_session.query(BoardEntry).count() == 0
    page = staff[0].get(world.url("/paper?lang=en")).get_data(as_text=True)
    assert "1号楼 102" in page or world.units[1].number in page  # listed for the third check
    assert {e.status for e in db_session.query(PaperEntry)} == {"disagrees"}
    assert _enter(staff[2], world, 1, "disagree").status_code == 302
    assert db_session.query(BoardEntry).count() == 1
    statuses = sorted(e.status for e in db_session.query(PaperEntry))
    assert statuses == ["accepted", "accepted", "superseded"]


def test_a_unit_that_is_not_in_the_register_is_named(world, signed_in, db_session):
    browser = signed_in(world.staff[0])
    response = browser.post(world.url("/paper?lang=en"), data={"unit": "9号楼 999",
                                                                "choice-m1": "agree"})
    assert response.status_code == 422
    assert "9号楼 999" in response.get_data(as_text=True)
    assert db_session.query(PaperEntry).count() == 0


def test_a_written_meeting_of_236_households(make, db_session, app, signed_in, client, login):
    """236 households, 236 forms, 216 returned, 209 agree and 7 disagree: participation
    91.53 %, agreement 88.56 % of all owners, adopted."""
    w = VotingWorld(make, db_session, app, owners=236, accounts=False, form=MeetingForm.WRITTEN)
    w.ceremony()
    first, second = signed_in(w.staff[0]), signed_in(w.staff[1])
    for i in range(216):
        choice = "agree" if i < 209 else "disagree"
        for browser in (first, second):
            response = _enter(browser, w, i, choice, form_number=f"W-{i + 1:03}")
            assert response.status_code == 302, (i, response.get_data(as_text=True)[:300])
    assert db_session.query(BoardEntry).count() == 216
    w.close_now()
    login(w.committee)
    assert client.post(w.url("/close")).status_code == 302
    for user, passphrase in list(zip(w.scrutineers, PASSPHRASES))[:2]:
        login(user)
        assert client.post(w.url("/opening"), data={"passphrase": passphrase}).status_code == 302
    login(w.committee)
    page = client.get(w.url("/result?lang=en")).get_data(as_text=True)
    assert "91.53 %" in page  # 216 / 236 took part
    assert "88.56 %" in page  # 209 / 236 agree, of all owners
    assert "96.76 %" in page  # 209 / 216 of those who took part
    adopted = {m.position: m.adopted for m in db_session.query(Motion).filter_by(
        meeting_id=w.meeting.id)}
    assert adopted == {1: True, 2: True}


# -- announcement, objections, final ----------------------------------------------------------


def _vote_and_announce(client, login, world, db_session):
    for owner in world.owners:
        login(owner)
        client.post(world.url("/ballot"), data={"choice-m1": "agree", "choice-m2": "agree",
                                                "final": "1"})
    world.close_now()
    login(world.committee)
    client.post(world.url("/close"))
    for user, passphrase in list(zip(world.scrutineers, PASSPHRASES))[:2]:
        login(user)
        client.post(world.url("/opening"), data={"passphrase": passphrase})
    login(world.committee)
    assert client.post(world.url("/announce")).status_code == 302
    meeting = db_session.get(Meeting, world.meeting.id)
    db_session.refresh(meeting)
    return meeting


def test_objections_are_answered_on_the_record_before_the_result_is_final(client, login, world,
                                                                          db_session):
    meeting = _vote_and_announce(client, login, world, db_session)
    assert meeting.status is MeetingStatus.ANNOUNCED
    login(world.owners[0])
    empty = client.post(world.url("/objections"), data={"text": "  "})
    assert empty.status_code == 422
    assert client.post(world.url("/objections"),
                       data={"text": "3号楼的书面表决票没有送到"}).status_code == 302
    login(world.committee)
    early = client.post(world.url("/final?lang=en"))
    assert early.status_code == 409
    assert "Objections are taken until" in early.get_data(as_text=True)
    objection_id = meeting_objection_id(db_session, meeting)
    assert client.post(world.url(f"/objections/{objection_id}/answer"),
                       data={"answer": "已补送，并延长一天"}).status_code == 302
    twice = client.post(world.url(f"/objections/{objection_id}/answer"), data={"answer": "改"})
    assert twice.status_code == 409  # an answer stays as it was given
    meeting.objections_close_at = utcnow()
    db_session.flush()
    assert client.post(world.url("/final")).status_code == 302
    db_session.refresh(meeting)
    assert meeting.status is MeetingStatus.FINAL
    page = client.get(world.url("/result")).get_data(as_text=True)
    assert "3号楼的书面表决票没有送到" in page
    assert "已补送，并延长一天" in page
    login(world.owners[1])
    late = client.post(world.url("/objections"), data={"text": "太晚了"})
    assert late.status_code == 409


def meeting_objection_id(db_session, meeting) -> int:
    from app.models import Objection

    return db_session.query(Objection).filter_by(meeting_id=meeting.id).one().id


def test_export_bundle_writes_a_bundle_that_verifies(client, login, world, db_session, app,
                                                     tmp_path):
    _vote_and_announce(client, login, world, db_session)
    target = tmp_path / "bundle.zip"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export-bundle", str(world.meeting.id), str(target)])
    assert result.exit_code == 0, result.output
    assert verify_bundle(target).ok
    missing = runner.invoke(args=["export-bundle", "999999", str(tmp_path / "none.zip")])
    assert missing.exit_code != 0
    assert "No meeting 999999" in missing.output
    assert not (tmp_path / "none.zip").exists()


def test_the_bundle_of_an_unopened_meeting_is_refused_by_the_command(world, app, tmp_path):
    result = app.test_cli_runner().invoke(
        args=["export-bundle", str(world.meeting.id), str(tmp_path / "b.zip")])
    assert result.exit_code != 0
    assert "审计包" in result.output  # the site speaks Chinese by default, the command too
    assert not (tmp_path / "b.zip").exists()
