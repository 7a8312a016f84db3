"""Casting, the board, the close and the opening of an owners' meeting, through the web."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from base64 import b64decode, b64encode

import pytest
from sqlalchemy import event
from voting_helpers import PASSPHRASES, VotingWorld

from app import db
from app.meetings import voting
from app.models import BoardEntry, Meeting, MeetingStatus, Motion, utcnow
from elections import encode_motion_ballot, seal_ballot, sign_ballot, verify_bundle
from elections.signatures import new_signing_key, signing_public_key

pytestmark = pytest.mark.usefixtures("cheap_shares")


def test_an_owner_casts_once_and_finds_the_receipt_on_the_board(client, login, world,
                                                                db_session):
    login(world.owners[0])
    page = client.get(world.url("/ballot"))
    assert page.status_code == 200
    assert "final" in page.get_data(as_text=True)
    response = client.post(world.url("/ballot"), data={"choice-m1": "agree",
                                                         "choice-m2": "disagree", "final": "1"})
    assert response.status_code == 302
    entry = db_session.query(BoardEntry).one()
    assert entry.server_sealed  # no JavaScript in the test client: the server sealed it
    board = client.get(world.url(f"/board?code={entry.tracking_code}")).get_data(as_text=True)
    assert entry.tracking_code in board
    assert "receipt-found" in board
    again = client.post(world.url("/ballot?lang=en"), data={"choice-m1": "disagree",
                                                             "final": "1"})
    assert again.status_code == 409
    assert "already cast" in again.get_data(as_text=True)
    assert db_session.query(BoardEntry).count() == 1


def test_the_board_never_shows_a_choice(client, login, world, db_session):
    login(world.owners[0])
    client.post(world.url("/ballot"), data={"choice-m1": "agree", "final": "1"})
    login(world.committee)
    for page in ("/board", "/turnout"):
        text = client.get(world.url(page) + "?lang=en").get_data(as_text=True)
        assert "agree" not in text.lower().replace("disagree", "")


def test_casting_before_the_notice_period_ends_is_refused(client, login, make, db_session, app):
    w = VotingWorld(make, db_session, app, start=utcnow() - dt.timedelta(days=3))
    w.ceremony()
    login(w.owners[0])
    response = client.post(w.url("/ballot"), data={"choice-m1": "agree", "final": "1"})
    assert response.status_code == 409
    assert db_session.query(BoardEntry).count() == 0


def test_casting_after_the_close_is_refused(client, login, make, db_session, app):
    w = VotingWorld(make, db_session, app, start=utcnow() - dt.timedelta(days=40))
    w.ceremony()
    login(w.owners[0])
    response = client.post(w.url("/ballot?lang=en"), data={"choice-m1": "agree", "final": "1"})
    assert response.status_code == 409
    assert "closed" in response.get_data(as_text=True).lower()


def test_an_owner_of_another_community_cannot_vote(client, login, make, world, db_session):
    stranger = make.user_with_role(__import__("app.models", fromlist=["Role"]).Role.OWNER,
                                   make.community())
    login(stranger)
    response = client.post(world.url("/ballot"), data={"choice-m1": "agree", "final": "1"})
    assert response.status_code in (403, 404)
    assert db_session.query(BoardEntry).count() == 0


def test_a_damaged_sealed_ballot_is_refused_and_nothing_is_written(client, login, world,
                                                                    db_session):
    login(world.owners[0])
    response = client.post(world.url("/ballot"), data={"sealed": "!!!", "credential": "x",
                                                         "signature": "y"})
    assert response.status_code == 422
    assert db_session.query(BoardEntry).count() == 0


def _sealed_in_the_browser(box, choices: dict[str, str], key=None) -> dict[str, str]:
    """The form seal.js posts: the ballot sealed to the box key and signed with a credential
    made in the browser."""
    key = key or new_signing_key()
    sealed = seal_ballot(bytes(box.public_key), box.box_id, "motion",
                         encode_motion_ballot(choices, follow_majority=False))
    return {"sealed": b64encode(sealed).decode(),
            "credential": b64encode(signing_public_key(key)).decode(),
            "signature": b64encode(sign_ballot(key, box.box_id, sealed)).decode()}


def test_a_ballot_sealed_in_the_browser_is_received_with_one_read_and_one_insert(
        client, login, world, db_session, app):
    """The cast reads the community, the roles, the meeting, its box and the voter in one
    statement after the session's user, then inserts: nothing else stands before the ballot."""
    login(world.owners[0])
    form = _sealed_in_the_browser(world.box, {"m1": "agree", "m2": "abstain"})
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()).upper())

    engine = db.engine_of(app)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = client.post(world.url("/ballot"), data=form)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 302
    entry = db_session.query(BoardEntry).one()
    assert entry.tracking_code in response.headers["Location"]
    assert not entry.server_sealed
    assert bytes(entry.credential) == b64decode(form["credential"])
    queries = [q for q in statements if not q.startswith(("SAVEPOINT", "RELEASE", "BEGIN"))]
    insert = next(i for i, q in enumerate(queries) if q.startswith("INSERT INTO BOARD_ENTRY"))
    user, read = queries[:insert]  # two reads, no more
    assert " FROM USER_ACCOUNT " in user
    for table in ("COMMUNITY", "ROLE_GRANT", "MEETING", "BALLOT_BOX", "BOX_VOTER"):
        assert f" {table} " in read


def test_a_browser_ballot_whose_signature_does_not_verify_is_refused(client, login, world,
                                                                     db_session):
    login(world.owners[0])
    form = _sealed_in_the_browser(world.box, {"m1": "agree"})
    other = _sealed_in_the_browser(world.box, {"m1": "disagree"})
    form["signature"] = other["signature"]  # signed by another credential, over other bytes
    response = client.post(world.url("/ballot?lang=en"), data=form)
    assert response.status_code == 422
    assert "signature" in response.get_data(as_text=True)
    assert db_session.query(BoardEntry).count() == 0


def test_a_meeting_of_another_community_is_not_voted_on_through_this_ones_address(
        client, login, world, make, db_session, app):
    elsewhere = VotingWorld(make, db_session, app)
    elsewhere.ceremony()
    login(world.owners[0])
    url = f"/c/{world.community.id}/meetings/{elsewhere.meeting.id}/ballot"
    response = client.post(url, data=_sealed_in_the_browser(elsewhere.box, {"m1": "agree"}))
    assert response.status_code == 404
    assert db_session.query(BoardEntry).count() == 0


def _close_and_open(client, login, world, db_session, k=2):
    meeting = db_session.get(Meeting, world.meeting.id)
    meeting.voting_closes_at = utcnow() - dt.timedelta(minutes=1)
    db_session.flush()
    login(world.committee)
    assert client.post(world.url("/close")).status_code == 302
    for user, passphrase in list(zip(world.scrutineers, PASSPHRASES))[:k]:
        login(user)
        response = client.post(world.url("/opening"), data={"passphrase": passphrase})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_opening_with_k_minus_one_shares_opens_nothing(client, login, world, db_session):
    login(world.owners[0])
    client.post(world.url("/ballot"), data={"choice-m1": "agree", "final": "1"})
    _close_and_open(client, login, world, db_session, k=1)
    box = voting.box_of(db_session, world.meeting)
    db_session.refresh(box)
    assert box.opened_at is None
    assert box.private_key is None
    login(world.owners[1])
    assert client.get(world.url("/result")).status_code == 422


def test_a_wrong_passphrase_is_named(client, login, world, db_session):
    meeting = db_session.get(Meeting, world.meeting.id)
    meeting.voting_closes_at = utcnow() - dt.timedelta(minutes=1)
    login(world.committee)
    client.post(world.url("/close"))
    login(world.scrutineers[0])
    response = client.post(world.url("/opening"), data={"passphrase": "wrong passphrase!"})
    assert response.status_code == 422
    assert "passphrase" in response.get_data(as_text=True).lower() or "口令" in \
        response.get_data(as_text=True)


def test_the_whole_vote_opens_counts_announces_and_verifies(client, login, world, db_session):
    for owner, choice in zip(world.owners, ("agree", "agree", "agree", "disagree")):
        login(owner)
        client.post(world.url("/ballot"), data={"choice-m1": choice, "choice-m2": choice,
                                                "final": "1"})
    _close_and_open(client, login, world, db_session)
    meeting = db_session.get(Meeting, world.meeting.id)
    db_session.refresh(meeting)
    assert meeting.status is MeetingStatus.OPENED
    motions = {m.position: m.adopted for m in db_session.query(Motion).filter_by(
        meeting_id=meeting.id)}
    assert motions == {1: True, 2: True}  # 3 of 4 agree: > 1/2, and ≥ 3/4 for raising
    login(world.committee)
    assert client.post(world.url("/announce")).status_code == 302
    login(world.owners[0])
    page = client.get(world.url("/result?lang=en")).get_data(as_text=True)
    assert "Adopted" in page
    assert "300.00" in page
    chinese = client.get(world.url("/result?lang=zh_Hans_CN")).get_data(as_text=True)
    assert "未投票的业主不计入。" in chinese  # the signed record's policy, in the reader's words
    assert "Test User（s" in chinese  # the scrutineers by name, beside their id in the record
    pdf = client.get(world.url("/announcement.pdf"))
    assert pdf.data.startswith(b"%PDF")
    bundle = client.get(world.url("/bundle.zip"))
    assert bundle.status_code == 200
    report = verify_bundle(io.BytesIO(bundle.data).getvalue())
    assert report.ok, report.discrepancies
    assert zipfile.ZipFile(io.BytesIO(bundle.data)).namelist()


def test_a_ballot_received_and_not_yet_chained_is_on_its_receipt_and_the_close_chains_it(
        client, login, world, db_session, monkeypatch):
    """Serving on PostgreSQL, a cast answers once its ballot is received; the worker's chainer
    numbers it a moment later. If that worker stopped first, the receipt is still good, the
    board says a ballot waits, and the close chains it before it publishes the closing head."""
    from app.meetings import chainer

    monkeypatch.setattr(chainer, "chains_after_commit", lambda: True)
    monkeypatch.setattr(chainer, "after_commit", lambda session, box_pk: None)  # it stopped
    for owner, choice in zip(world.owners[:3], ("agree", "agree", "disagree")):
        login(owner)
        assert client.post(world.url("/ballot"), data={"choice-m1": choice,
                                                        "final": "1"}).status_code == 302
    entries = db_session.query(BoardEntry).all()
    assert len(entries) == 3
    assert all(e.number is None for e in entries)
    board = client.get(world.url(f"/board?lang=en&code={entries[0].tracking_code}"))
    text = board.get_data(as_text=True)
    assert "taking its place on the chain" in text
    assert "3 more ballots received" in text
    again = client.post(world.url("/ballot?lang=en"), data={"choice-m1": "agree",
                                                             "final": "1"})
    assert again.status_code == 409  # received is cast: a second one is refused all the same
    monkeypatch.undo()
    _close_and_open(client, login, world, db_session)
    db_session.expire_all()
    numbers = sorted(e.number for e in db_session.query(BoardEntry).all())
    assert numbers == [1, 2, 3]
    login(world.committee)
    bundle = client.get(world.url("/bundle.zip"))
    report = verify_bundle(io.BytesIO(bundle.data).getvalue())
    assert report.ok, report.discrepancies


def test_a_ballot_whose_box_closed_while_it_was_received_is_refused(world, db_session, app):
    """After the window's end, a cast that read the box open re-reads it after its insert:
    a close that got in first (and published its head without this ballot) refuses it."""
    from sqlalchemy import update

    from app.errors import Conflict
    from app.models import BallotBox

    box = voting.box_of(db_session, world.meeting)
    voter = voting.voter_of_user(db_session, box, world.owners[0])
    sealed, credential, signature = voting.server_sealed_ballot(box, {"m1": "agree"})
    world.meeting.voting_closes_at = utcnow() - dt.timedelta(seconds=1)
    db_session.flush()
    # The close commits between this cast's read of the box and its insert.
    db_session.execute(update(BallotBox).where(BallotBox.id == box.id)
                       .values(closed_at=utcnow()).execution_options(synchronize_session=False))
    assert box.closed_at is None  # what the cast read
    with app.test_request_context(), pytest.raises(Conflict, match=r"closed|截止|结束|关闭"):
        voting.append_ballot(db_session, actor=world.owners[0], now=utcnow(), box=box,
                             voter=voter, sealed=sealed, credential=credential,
                             signature=signature, channel=voting.Channel.ONLINE,
                             server_sealed=True)
    assert db_session.query(BoardEntry).count() == 0


def test_the_key_ceremony_form_names_what_is_wrong_and_then_makes_the_box(
        client, login, make, db_session, app):
    """The scrutineers type their passphrases twice; a mismatch or a bad k is named by field
    and nothing is made; then the ceremony is held and each share is there to download."""
    w = VotingWorld(make, db_session, app)
    login(w.committee)
    form = {f"pass-{u.id}": p for u, p in zip(w.scrutineers, PASSPHRASES)}
    form |= {f"again-{u.id}": p for u, p in zip(w.scrutineers, PASSPHRASES)}
    wrong = {**form, f"again-{w.scrutineers[1].id}": "something else", "k": "two"}
    response = client.post(w.url("/ceremony?lang=en"), data=wrong)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "The two passphrases differ." in text
    assert "Give a whole number." in text
    assert voting.box_of(db_session, w.meeting) is None
    assert client.post(w.url("/ceremony"), data={**form, "k": "2"}).status_code == 302
    box = voting.box_of(db_session, w.meeting)
    assert (box.k, box.n) == (2, 3)
    login(w.scrutineers[0])
    share = client.get(w.url("/my-share?download=1"))
    assert share.get_data(as_text=True).startswith("CYSHARE1:")
