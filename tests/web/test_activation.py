"""Activation letters and the activation page: issuing, reissuing, every refusal, the account.

Codes are issued through the service, which returns the plain codes alongside what the PDF
prints; the web tests then use them as an owner would, from the letter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.activation import services
from app.activation.letters import render_letters
from app.activation.services import Scope, ScopeKind
from app.errors import Conflict
from app.models import ActivationCode, AuditEntry, Ownership, Role, User, utcnow
from app.pdf import StaticOnlyFetcher
from app.register.identity import id_digest, make_id_number

ID_KEY = "test-id-key"  # the ID_HASH_KEY of the test app
NEW_PASSWORD = "a long new password"


def page_count(pdf: bytes) -> int:
    """Pages of a PDF: pypdf when installed, else the page objects (WeasyPrint compresses them
    into object streams, so those are inflated first)."""
    try:
        import pypdf
    except ImportError:
        chunks = [pdf]
        for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
            with contextlib.suppress(zlib.error):
                chunks.append(zlib.decompress(m.group(1)))
        return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", c)) for c in chunks)
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


#: The owners' ID numbers (valid check characters), as an owner would type them.
IDS = {name: make_id_number(prefix) for name, prefix in (
    ("alice", "11010119800101001"), ("bob", "11010119750505003"),
    ("carol", "11010119820202002"))}


@pytest.fixture
def world(make, db_session):
    """Two buildings: A-101 (Alice, ID number), A-102 (co-owners Bob and Carol), B-201 (Dan,
    known by his phone only), B-202 (Erin, already activated); and a committee member."""
    community = make.community()
    a, b = make.building(community, "A"), make.building(community, "B")
    units = {n: make.unit(community, bld, n) for bld, n in
             ((a, "101"), (a, "102"), (b, "201"), (b, "202"))}
    people = {}
    for i, (name, unit) in enumerate((("alice", "101"), ("bob", "102"), ("carol", "102"),
                                      ("dan", "201"))):
        person = make.person(community, name=name.title(), phone=f"1390000{i:04d}")
        if name in IDS:
            person.id_number_digest = id_digest(ID_KEY, IDS[name])
        make.own(person, units[unit])
        people[name] = person
    people["erin"] = make.person(community, name="Erin", user=make.user())
    make.own(people["erin"], units["202"])
    committee = make.user_with_role(Role.COMMITTEE, community)
    db_session.flush()
    return {"community": community, "units": units, "people": people, "buildings": (a, b),
            "committee": committee, "ids": IDS}


def issue(app, db_session, world, scope=None, days=30, now=None):
    with app.test_request_context():
        return services.issue_letters(
            db_session, actor=world["committee"], now=now or utcnow(),
            community=world["community"], scope=scope or Scope(ScopeKind.ALL), days=days,
        )


def code_of(issued, world, unit, person) -> str:
    return issued.codes()[(world["units"][unit].id, world["people"][person].id)]


def audit_count(db_session, action: str) -> int:
    return db_session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def activate(client, code, identity, phone="13812345678", username="", password=NEW_PASSWORD,
             confirm=None):
    return client.post("/activate?lang=en", data={
        "step": "account", "code": code, "identity": identity, "phone": phone,
        "username": username, "password": password, "confirm": confirm or password,
    })


# Issuing -----------------------------------------------------------------------------------


def test_issue_for_all_owners_without_account(app, client, login, world, db_session):
    """Does 'all' print one page per unit for every owner without an account, and log it?"""
    login(world["committee"])
    response = client.post(f"/c/{world['community'].id}/letters",
                           data={"scope": "all", "days": "30"})
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"%PDF")
    assert page_count(response.data) == 3  # A-101, A-102 (two codes), B-201; B-202 is done
    rows = db_session.scalars(select(ActivationCode)).all()
    assert sorted(r.person.name for r in rows) == ["Alice", "Bob", "Carol", "Dan"]
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "activation.issued"))
    assert entry.community_id == world["community"].id
    assert entry.details["letters"] == 3
    assert entry.details["codes"] == 4


def test_issue_for_one_building(app, world, db_session):
    issued = issue(app, db_session, world, Scope(ScopeKind.BUILDING,
                                                 building_id=world["buildings"][1].id))
    assert [lt.unit_label for lt in issued.letters] == ["B-201"]


def test_codes_are_stored_only_as_hashes(app, world, db_session):
    issued = issue(app, db_session, world)
    plain = code_of(issued, world, "101", "alice")
    assert len(plain) == 12
    assert not set(plain) & set("0O1I")
    row = db_session.scalar(select(ActivationCode).where(
        ActivationCode.person_id == world["people"]["alice"].id))
    assert row.code_hash == hashlib.sha256(plain.encode()).hexdigest()


def test_pdf_has_a_page_per_unit_and_prints_the_working_code(app, client, world, db_session):
    """Is the code printed on the letter the one that works?"""
    issued = issue(app, db_session, world)
    with app.test_request_context():
        pdf = render_letters(world["community"], issued, site_url="https://cy.example")
    assert pdf.startswith(b"%PDF")
    assert page_count(pdf) == len(issued.letters) == 3
    if shutil.which("pdftotext"):  # poppler-utils, where installed
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                              check=True).stdout.decode()
        for code in issued.codes().values():
            assert services.format_code(code) in text
    response = activate(client, code_of(issued, world, "101", "alice"), world["ids"]["alice"])
    assert response.status_code == 302


def test_new_scope_skips_owners_with_a_valid_code(app, world, db_session):
    issue(app, db_session, world, Scope(ScopeKind.UNIT, unit_id=world["units"]["101"].id))
    issued = issue(app, db_session, world, Scope(ScopeKind.NEW))
    assert [lt.unit_label for lt in issued.letters] == ["A-102", "B-201"]
    assert issued.revoked == 0


def test_reissue_revokes_the_old_code(app, client, world, db_session):
    first = issue(app, db_session, world)
    old = code_of(first, world, "101", "alice")
    second = issue(app, db_session, world, Scope(ScopeKind.UNIT, unit_id=world["units"]["101"].id))
    assert second.revoked == 1
    assert [lt.unit_label for lt in second.letters] == ["A-101"]
    response = client.post("/activate?lang=en", data={"code": old})
    assert response.status_code == 422
    assert "replaced by a newer letter" in response.get_data(as_text=True)
    new = code_of(second, world, "101", "alice")
    assert activate(client, new, world["ids"]["alice"]).status_code == 302


def test_reissue_through_the_unit_button(app, client, login, world, db_session):
    login(world["committee"])
    unit = world["units"]["102"]
    response = client.post(f"/c/{world['community'].id}/letters",
                           data={"scope": "unit", "unit": str(unit.id), "days": "10"})
    assert response.status_code == 200
    assert page_count(response.data) == 1
    assert audit_count(db_session, "activation.issued") == 1


def test_a_unit_whose_owners_all_have_accounts_gets_no_letter(app, client, login, world):
    login(world["committee"])
    response = client.post(f"/c/{world['community'].id}/letters?lang=en", data={
        "scope": "unit", "unit": str(world["units"]["202"].id), "days": "10"})
    assert response.status_code == 422
    assert "already has an account" in response.get_data(as_text=True)


def test_owner_without_id_or_phone_is_left_out_and_named(app, client, login, world, make):
    person = make.person(world["community"], name="Frank")
    make.own(person, make.unit(world["community"], world["buildings"][0], "103"))
    login(world["committee"])
    response = client.post(f"/c/{world['community'].id}/letters", data={"scope": "all",
                                                                         "days": "30"})
    assert page_count(response.data) == 3
    page = client.get(f"/c/{world['community'].id}/letters?lang=en").get_data(as_text=True)
    assert "A-103 Frank" in page  # the flashed warning


def test_letters_page_shows_where_onboarding_stands(app, client, login, world, db_session):
    issue(app, db_session, world, Scope(ScopeKind.UNIT, unit_id=world["units"]["101"].id))
    login(world["committee"])
    response = client.get(f"/c/{world['community'].id}/letters?lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "activated" in page
    assert "code until" in page
    assert "no letter yet" in page


def test_validity_out_of_range_is_refused(app, client, login, world, db_session):
    login(world["committee"])
    response = client.post(f"/c/{world['community'].id}/letters?lang=en",
                           data={"scope": "all", "days": "0"})
    assert response.status_code == 422
    assert db_session.scalar(select(func.count(ActivationCode.id))) == 0


@pytest.mark.parametrize("role", [Role.OWNER, Role.RESIDENT, Role.AUDITOR])
def test_owner_resident_auditor_cannot_issue_letters(client, login, world, make, role):
    """Can an owner, a resident or an auditor get letters? (No: 403.)"""
    login(make.user_with_role(role, world["community"]))
    url = f"/c/{world['community'].id}/letters"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"scope": "all", "days": "30"}).status_code == 403


@pytest.mark.parametrize("role", [Role.CHAIR, Role.STAFF])
def test_chair_and_staff_can_issue_letters(client, login, world, make, role):
    login(make.user_with_role(role, world["community"]))
    assert client.get(f"/c/{world['community'].id}/letters").status_code == 200


def test_other_communitys_unit_or_building_is_404(client, login, world, make, db_session):
    """Can a committee member print letters for another community's unit? (No: 404.)"""
    other = make.community()
    foreign_unit = make.unit(other)
    make.own(make.person(other, phone="13911112222"), foreign_unit)
    login(world["committee"])
    url = f"/c/{world['community'].id}/letters"
    assert client.post(url, data={"scope": "unit", "unit": str(foreign_unit.id),
                                  "days": "10"}).status_code == 404
    assert client.post(url, data={"scope": "building", "building": str(foreign_unit.building_id),
                                  "days": "10"}).status_code == 404
    assert db_session.scalar(select(func.count(ActivationCode.id))) == 0


# Activating --------------------------------------------------------------------------------


def test_owner_activates_logs_in_and_sees_the_community(app, client, world, db_session):
    issued = issue(app, db_session, world)
    code = code_of(issued, world, "101", "alice")
    page = client.get(f"/activate?code={code}").get_data(as_text=True)
    assert services.format_code(code) in page  # prefilled from the QR link
    step2 = client.post("/activate?lang=en", data={"code": services.format_code(code)})
    assert step2.status_code == 200
    assert "ID number" in step2.get_data(as_text=True)
    response = activate(client, code, world["ids"]["alice"], username="alice.w")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/c/{world['community'].id}/")
    user = db_session.scalar(select(User).where(User.username == "alice.w"))
    assert user.phone == "13812345678"
    assert user.display_name == "Alice"
    db_session.refresh(world["people"]["alice"])
    assert world["people"]["alice"].user_id == user.id
    row = db_session.scalar(select(ActivationCode).where(
        ActivationCode.code_hash == services.code_digest(code)))
    assert row.used_at is not None
    assert row.used_by_id == user.id
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "activation.used"))
    assert entry.actor_id == user.id
    assert entry.target == "A-101"
    assert entry.community_id == world["community"].id
    assert world["community"].name in client.get(response.headers["Location"]).get_data(
        as_text=True)
    client.post("/logout")
    again = client.post("/login", data={"login": "13812345678", "password": NEW_PASSWORD})
    assert again.status_code == 302
    assert client.get("/dashboard", follow_redirects=True).status_code == 200


def test_owner_known_by_phone_proves_it_with_the_phone(app, client, world, db_session):
    issued = issue(app, db_session, world)
    code = code_of(issued, world, "201", "dan")
    step2 = client.post("/activate?lang=en", data={"code": code}).get_data(as_text=True)
    assert "Phone number registered with the committee" in step2
    phone = world["people"]["dan"].phone
    assert activate(client, code, f"+86 {phone}", phone="13800001111").status_code == 302


def test_co_owners_each_activate_with_their_own_code(app, client, world, db_session):
    issued = issue(app, db_session, world)
    letter = next(lt for lt in issued.letters if lt.unit_label == "A-102")
    assert len(letter.owners) == 2
    for owner, phone in (("bob", "13800000001"), ("carol", "13800000002")):
        response = activate(client, code_of(issued, world, "102", owner), world["ids"][owner],
                            phone=phone)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        client.post("/logout")
    assert audit_count(db_session, "activation.used") == 2
    for owner in ("bob", "carol"):
        db_session.refresh(world["people"][owner])
        assert world["people"][owner].user_id is not None


def _nothing_written(db_session, users_before):
    assert db_session.scalar(select(func.count(User.id))) == users_before
    assert audit_count(db_session, "activation.used") == 0


def test_unknown_code_is_refused(client, world):
    response = client.post("/activate?lang=en", data={"code": "ABCD-EFGH-JKLM"})
    assert response.status_code == 422
    assert "not known" in response.get_data(as_text=True)


def test_expired_code_is_refused_with_its_date(app, client, world, db_session):
    long_ago = utcnow() - dt.timedelta(days=40)
    issued = issue(app, db_session, world, days=10, now=long_ago)
    users = db_session.scalar(select(func.count(User.id)))
    response = activate(client, code_of(issued, world, "101", "alice"), world["ids"]["alice"])
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "expired at the end of" in page
    assert "new letter" in page
    _nothing_written(db_session, users)


def test_used_code_is_refused_with_when(app, client, world, db_session):
    issued = issue(app, db_session, world)
    code = code_of(issued, world, "101", "alice")
    assert activate(client, code, world["ids"]["alice"]).status_code == 302
    client.post("/logout")
    users = db_session.scalar(select(func.count(User.id)))
    response = activate(client, code, world["ids"]["alice"], phone="13899999999")
    assert response.status_code == 422
    assert "already used on" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count(User.id))) == users


def test_revoked_code_is_refused(app, client, world, db_session):
    first = issue(app, db_session, world)
    issue(app, db_session, world)
    users = db_session.scalar(select(func.count(User.id)))
    response = activate(client, code_of(first, world, "201", "dan"), world["people"]["dan"].phone)
    assert response.status_code == 422
    assert "replaced by a newer letter" in response.get_data(as_text=True)
    _nothing_written(db_session, users)


def test_letter_of_a_former_owner_is_refused(app, client, world, db_session):
    """After a re-import ends an ownership (a sale), does the seller's letter stop working?"""
    issued = issue(app, db_session, world)
    ownership = db_session.scalar(select(Ownership).where(
        Ownership.person_id == world["people"]["alice"].id))
    ownership.ended_at = utcnow()
    db_session.flush()
    users = db_session.scalar(select(func.count(User.id)))
    response = activate(client, code_of(issued, world, "101", "alice"), world["ids"]["alice"])
    assert response.status_code == 422
    assert "no longer owns unit A-101" in response.get_data(as_text=True)
    _nothing_written(db_session, users)


@pytest.mark.parametrize(("owner", "wrong"),
                         [("alice", "110101198001010038"), ("dan", "13911110000")])
def test_wrong_identity_is_refused(app, client, world, db_session, owner, wrong):
    issued = issue(app, db_session, world)
    unit = "101" if owner == "alice" else "201"
    users = db_session.scalar(select(func.count(User.id)))
    response = activate(client, code_of(issued, world, unit, owner), wrong)
    assert response.status_code == 422
    assert "does not match the register" in response.get_data(as_text=True)
    _nothing_written(db_session, users)
    row = db_session.scalar(select(ActivationCode).where(
        ActivationCode.person_id == world["people"][owner].id))
    assert row.used_at is None


def test_phone_already_taken_is_refused(app, client, world, db_session, make):
    make.user(phone="13812345678")
    issued = issue(app, db_session, world)
    users = db_session.scalar(select(func.count(User.id)))
    response = activate(client, code_of(issued, world, "101", "alice"), world["ids"]["alice"])
    assert response.status_code == 422
    assert "already belongs to an account" in response.get_data(as_text=True)
    _nothing_written(db_session, users)


def test_weak_password_and_mismatch_are_refused(app, client, world, db_session):
    issued = issue(app, db_session, world)
    code = code_of(issued, world, "101", "alice")
    weak = activate(client, code, world["ids"]["alice"], password="1234567890")
    assert weak.status_code == 422
    assert "digits only" in weak.get_data(as_text=True)
    differ = activate(client, code, world["ids"]["alice"], confirm="something else entirely")
    assert differ.status_code == 422
    assert "passwords differ" in differ.get_data(as_text=True)


def test_owner_with_an_account_is_sent_to_log_in(app, client, world, db_session, make):
    issued = issue(app, db_session, world)
    world["people"]["alice"].user_id = make.user().id
    db_session.flush()
    response = client.post("/activate?lang=en",
                           data={"code": code_of(issued, world, "101", "alice")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already has an account" in page
    assert "/login" in page
    row = db_session.scalar(select(ActivationCode).where(
        ActivationCode.person_id == world["people"]["alice"].id))
    assert row.used_at is None  # nothing marked


def test_a_code_is_claimed_once_even_in_a_race(app, world, db_session, make):
    """Two requests that both passed the checks: only one conditional UPDATE succeeds."""
    issued = issue(app, db_session, world)
    row = db_session.scalar(select(ActivationCode).where(
        ActivationCode.code_hash == services.code_digest(code_of(issued, world, "101", "alice"))))
    now = utcnow()
    with app.test_request_context():
        services.claim_code(db_session, row, make.user(), now)
        with pytest.raises(Conflict):
            services.claim_code(db_session, row, make.user(), now)


def test_activation_posts_are_rate_limited(client, world):
    statuses = [client.post("/activate", data={"code": "ABCD-EFGH-JKLM"}).status_code
                for _ in range(6)]
    assert statuses[-1] == 429


def test_pdf_rendering_fetches_nothing_outside_static(app):
    """Could text typed into a document make the PDF renderer read a file or call out?"""
    static = Path(app.static_folder).resolve()
    fetcher = StaticOnlyFetcher(static)
    for url in ("file:///etc/passwd", f"file://{static}/../app/config.py",
                "http://169.254.169.254/latest", "https://example.com/x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch((static / "css" / "print.css").as_uri()).read().startswith(b"/*")
