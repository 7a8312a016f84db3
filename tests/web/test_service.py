"""The service desk through the site: filing, following, dispatching, clocks, return visits."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from app.models import (
    AuditEntry,
    Notification,
    RequestEvent,
    RequestPhoto,
    ReturnVisit,
    Role,
    ServiceRequest,
    ServiceTeam,
    utcnow,
)
from app.service.workflow import RequestStatus

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def desk(make, db_session):
    community = make.community()
    resident = make.user_with_role(Role.RESIDENT, community)
    other = make.user_with_role(Role.OWNER, community)
    staff = make.user_with_role(Role.STAFF, community)
    tech = make.user_with_role(Role.STAFF, community)
    supervisor = make.user_with_role(Role.STAFF, community)
    team = ServiceTeam(community_id=community.id, name="工程部", supervisor_id=supervisor.id)
    db_session.add(team)
    db_session.flush()
    return {"c": community, "resident": resident, "other": other, "staff": staff,
            "tech": tech, "supervisor": supervisor, "team": team}


def unit_of(db_session, user, community):
    from app.service.services import units_of

    return units_of(db_session, user, community)[0]


def file(client, c, **fields):
    data = {"kind": "repair_home", "urgency": "normal", "unit": "0", "place": "",
            "description": "Kitchen tap leaks", "preferred_time": "after 18:00"}
    data.update(fields)
    return client.post(f"/c/{c.id}/service/new?lang=en", data=data,
                       content_type="multipart/form-data")


def count(db_session, model):
    return db_session.scalar(select(func.count(model.id)))


def test_a_resident_files_a_repair_with_a_photo_and_follows_it(client, login, desk,
                                                                db_session):
    """Can a resident file a repair of their unit with a photo, and see it on their list?"""
    c = desk["c"]
    login(desk["resident"])
    unit = unit_of(db_session, desk["resident"], c)
    response = file(client, c, unit=str(unit.id), photos=(io.BytesIO(PNG), "tap.png"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    req = db_session.scalars(select(ServiceRequest)).one()
    assert (req.unit_id, req.requester_id, req.status) == (
        unit.id, desk["resident"].id, RequestStatus.NEW)
    assert req.receiver_id is None
    assert req.due_dispatch_at is not None
    assert req.due_completion_at is not None
    assert [p.content_type for p in req.photos] == ["image/png"]
    page = client.get(f"/c/{c.id}/service?lang=en").get_data(as_text=True)
    assert "Repair in the home" in page
    detail = client.get(f"/c/{c.id}/service/requests/{req.id}?lang=en")
    assert detail.status_code == 200
    assert "Kitchen tap leaks" in detail.get_data(as_text=True)
    photo = client.get(f"/c/{c.id}/service/requests/{req.id}/photos/{req.photos[0].id}")
    assert photo.status_code == 200
    assert photo.headers["Content-Type"] == "image/png"
    # the desk hears of it
    assert db_session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == "service.filed", Notification.user_id == desk["staff"].id)) == 1


@pytest.mark.parametrize(("payload", "name", "message"), [
    (b"GIF89a" + b"\x00" * 20, "x.gif", "is not a JPEG, PNG or WebP picture"),
    (b"%PDF-1.7", "tap.png", "is not a JPEG, PNG or WebP picture"),
    (JPEG + b"\x00" * (5 * 1024 * 1024), "big.jpg", "is larger than 5 MB"),
])
def test_a_wrong_photo_is_refused_and_nothing_is_written(client, login, desk, db_session,
                                                         payload, name, message):
    """Is a photo of the wrong type (by content, whatever its name) or size refused, naming
    the field, with no request written?"""
    c = desk["c"]
    login(desk["resident"])
    unit = unit_of(db_session, desk["resident"], c)
    response = file(client, c, unit=str(unit.id), photos=(io.BytesIO(payload), name))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'id="photos-error"' in page
    assert count(db_session, ServiceRequest) == 0
    assert count(db_session, RequestPhoto) == 0


def test_bad_input_names_the_field_and_writes_nothing(client, login, desk, db_session):
    """Does a request without a description, or without unit and place, say which field?"""
    c = desk["c"]
    login(desk["resident"])
    response = file(client, c, description="")
    assert response.status_code == 422
    assert 'id="description-error"' in response.get_data(as_text=True)
    response = file(client, c, place="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="place-error"' in page
    assert "Give the unit or the place." in page
    response = file(client, c, kind="teleport", place="Lobby")
    assert response.status_code == 422
    assert 'id="kind-error"' in response.get_data(as_text=True)
    assert count(db_session, ServiceRequest) == 0


def test_a_resident_cannot_file_for_someone_elses_unit(client, login, desk, db_session):
    c = desk["c"]
    login(desk["resident"])
    theirs = unit_of(db_session, desk["other"], c)
    response = file(client, c, unit=str(theirs.id))
    # the unit is not among the resident's choices: the form refuses it
    assert response.status_code == 422
    assert 'id="unit-error"' in response.get_data(as_text=True)
    assert count(db_session, ServiceRequest) == 0


def _filed(client, login, desk, db_session, **fields):
    login(desk["resident"])
    assert file(client, desk["c"], place="2号楼电梯厅", kind="repair_common",
                **fields).status_code == 302
    return db_session.scalars(select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()


def _done_by_the_desk(client, login, desk, req):
    """The desk dispatches the request to the team and marks it done; returns its URL."""
    client.post("/logout")
    login(desk["staff"])
    base = f"/c/{desk['c'].id}/service/requests/{req.id}"
    assert client.post(f"{base}/dispatch", data={"team": str(desk["team"].id)}
                       ).status_code == 302
    assert client.post(f"{base}/status", data={"to": "done"}).status_code == 302
    return base


def test_a_resident_cannot_see_anothers_request(client, login, desk, db_session):
    """Is somebody else's request, its photos and its actions, not even shown to exist?"""
    c = desk["c"]
    req = _filed(client, login, desk, db_session, photos=(io.BytesIO(JPEG), "a.jpg"))
    client.post("/logout")
    login(desk["other"])
    base = f"/c/{c.id}/service/requests/{req.id}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/photos/{req.photos[0].id}").status_code == 404
    assert client.post(f"{base}/notes", data={"text": "mine now"}).status_code == 404
    assert client.post(f"{base}/reopen").status_code == 404
    assert client.post(f"{base}/dispatch", data={"team": "0"}).status_code == 403
    mine = client.get(f"/c/{c.id}/service?lang=en").get_data(as_text=True)
    assert "2号楼电梯厅" not in mine
    assert count(db_session, RequestEvent) == 1  # only the filing


def test_the_desk_dispatches_works_and_the_resident_rates(client, login, desk, db_session):
    """From filing to the return visit: dispatch, on site, done, a good rating, closed."""
    c, team, tech = desk["c"], desk["team"], desk["tech"]
    req = _filed(client, login, desk, db_session)
    client.post("/logout")
    login(desk["staff"])
    base = f"/c/{c.id}/service/requests/{req.id}"
    queue = client.get(f"/c/{c.id}/service/desk?lang=en").get_data(as_text=True)
    assert f">{req.id}</a>" in queue
    assert "left" in queue or "overdue" in queue
    r = client.post(f"{base}/dispatch", data={"team": str(team.id), "assignee": str(tech.id)})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    db_session.refresh(req)
    assert (req.status, req.receiver_id, req.team_id) == (
        RequestStatus.DISPATCHED, desk["staff"].id, team.id)
    assert req.dispatched_at is not None
    assert client.post(f"{base}/status", data={"to": "on_site"}).status_code == 302
    assert client.post(f"{base}/status", data={"to": "done"}).status_code == 302
    db_session.refresh(req)
    assert req.status is RequestStatus.DONE
    assert db_session.scalars(select(ReturnVisit).where(ReturnVisit.request_id == req.id)).one()
    client.post("/logout")
    login(desk["resident"])
    r = client.post(f"{base}/rating", data={"overall": "5", "speed": "4", "attitude": "5",
                                             "comment": "Quick, thanks"})
    assert r.status_code == 302
    db_session.refresh(req)
    assert req.status is RequestStatus.CONFIRMED
    client.post("/logout")
    login(desk["staff"])
    assert client.post(f"{base}/status", data={"to": "closed"}).status_code == 302
    db_session.refresh(req)
    assert req.status is RequestStatus.CLOSED
    actions = db_session.scalars(select(AuditEntry.action).where(
        AuditEntry.target == f"service_request:{req.id}")).all()
    assert "service.dispatched" in actions
    assert actions.count("service.status_changed") == 3
    kinds = set(db_session.scalars(select(Notification.kind).where(
        Notification.user_id == desk["resident"].id)))
    assert {"service.dispatched", "service.done"} <= kinds
    assert db_session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == "service.work_order", Notification.user_id == tech.id)) == 1


def test_a_refused_transition_is_a_conflict(client, login, desk, db_session):
    c = desk["c"]
    req = _filed(client, login, desk, db_session)
    client.post("/logout")
    login(desk["staff"])
    base = f"/c/{c.id}/service/requests/{req.id}"
    r = client.post(f"{base}/status?lang=en", data={"to": "closed"})
    assert r.status_code == 422  # new → closed needs a reason (told to the resident)
    assert 'id="note-error"' in r.get_data(as_text=True)
    r = client.post(f"{base}/status?lang=en", data={"to": "done"})
    assert r.status_code == 409  # a repair is dispatched before it is done
    r = client.post(f"{base}/status?lang=en", data={"to": "on_site"})
    assert r.status_code == 409  # the table has no new → on site
    assert "cannot become" in r.get_data(as_text=True)
    db_session.refresh(req)
    assert req.status is RequestStatus.NEW


def test_a_bad_rating_reopens_and_goes_to_the_supervisor(client, login, desk, db_session):
    req = _filed(client, login, desk, db_session)
    base = _done_by_the_desk(client, login, desk, req)
    client.post("/logout")
    login(desk["resident"])
    r = client.post(f"{base}/rating", data={"overall": "1", "speed": "2", "attitude": "3",
                                             "comment": "Still leaking"})
    assert r.status_code == 302
    db_session.refresh(req)
    assert (req.status, req.reopen_count) == (RequestStatus.REOPENED, 1)
    assert req.escalated_at is not None
    assert db_session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == "service.escalated",
        Notification.user_id == desk["supervisor"].id)) == 1
    # the history stays: filing, dispatch, done, rating, reopening
    kinds = [e.kind for e in req.events]
    assert kinds.count("status") == 3
    assert "rating" in kinds


def test_one_postponement_with_a_reason_told_to_the_resident(client, login, desk,
                                                              db_session):
    c = desk["c"]
    req = _filed(client, login, desk, db_session)
    due = req.due_completion_at
    client.post("/logout")
    login(desk["staff"])
    base = f"/c/{c.id}/service/requests/{req.id}"
    r = client.post(f"{base}/postpone?lang=en", data={"days": "3", "reason": ""})
    assert r.status_code == 422
    assert 'id="reason-error"' in r.get_data(as_text=True)
    r = client.post(f"{base}/postpone", data={"days": "3", "reason": "Parts on order"})
    assert r.status_code == 302
    db_session.refresh(req)
    assert req.due_completion_at > due
    assert db_session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == "service.postponed",
        Notification.user_id == desk["resident"].id)) == 1
    r = client.post(f"{base}/postpone?lang=en", data={"days": "2", "reason": "Again"})
    assert r.status_code == 409
    assert "postponed once already" in r.get_data(as_text=True)


def test_asking_the_resident_pauses_and_their_reply_restarts(client, login, desk,
                                                              db_session):
    c = desk["c"]
    req = _filed(client, login, desk, db_session)
    client.post("/logout")
    login(desk["staff"])
    base = f"/c/{c.id}/service/requests/{req.id}"
    r = client.post(f"{base}/notes", data={"text": "Which tap?", "public": "y",
                                            "ask_resident": "y"})
    assert r.status_code == 302
    db_session.refresh(req)
    assert req.paused_at is not None
    assert req.replied_at is not None
    client.post(f"{base}/notes", data={"text": "internal: check stock"})  # not public
    client.post("/logout")
    login(desk["resident"])
    page = client.get(f"{base}?lang=en").get_data(as_text=True)
    assert "Which tap?" in page
    assert "check stock" not in page
    assert "Clocks paused" in page
    assert client.post(f"{base}/notes", data={"text": "The kitchen one"}).status_code == 302
    db_session.refresh(req)
    assert req.paused_at is None
    assert [e.kind for e in req.events][-2:] == ["note", "resume"]


def test_the_sweep_escalates_a_breach_once(client, login, desk, db_session):
    c = desk["c"]
    req = _filed(client, login, desk, db_session, urgency="emergency")
    req.due_dispatch_at = utcnow() - dt.timedelta(minutes=1)
    db_session.flush()
    client.post("/logout")
    login(desk["staff"])
    assert client.post(f"/c/{c.id}/service/sweep").status_code == 302
    assert client.post(f"/c/{c.id}/service/sweep").status_code == 302
    escalations = db_session.scalars(select(RequestEvent).where(
        RequestEvent.request_id == req.id, RequestEvent.kind == "escalate")).all()
    assert len(escalations) == 1
    board = client.get(f"/c/{c.id}/service/board?lang=en").get_data(as_text=True)
    assert f"Request no. {req.id}" in board
    overdue = client.get(f"/c/{c.id}/service/desk?show=overdue&lang=en").get_data(as_text=True)
    assert f">{req.id}</a>" in overdue


def test_staff_file_for_a_caller_and_own_it(client, login, desk, db_session):
    c = desk["c"]
    login(desk["staff"])
    r = file(client, c, place="Gate 2", kind="complaint", caller_name="王先生",
             caller_phone="13800000000")
    assert r.status_code == 302
    req = db_session.scalars(select(ServiceRequest)).one()
    assert (req.receiver_id, req.caller_name) == (desk["staff"].id, "王先生")
    assert db_session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "service.filed_for_caller")) == 1
    r = file(client, c, place="Gate 2", kind="complaint")
    assert r.status_code == 422
    assert 'id="caller_name-error"' in r.get_data(as_text=True)


def test_monthly_statistics_and_their_xlsx(client, login, desk, db_session, make):
    c = desk["c"]
    req = _filed(client, login, desk, db_session)
    base = _done_by_the_desk(client, login, desk, req)
    client.post(f"{base}/rating", data={"overall": "4", "speed": "4", "attitude": "5"})
    client.post("/logout")
    login(make.user_with_role(Role.COMMITTEE, c))
    page = client.get(f"/c/{c.id}/service/stats?lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for title in ("Requests by kind", "SLA attainment", "Satisfaction", "Requests per month",
                  "Share met in time"):
        assert title in text, title
    assert "<svg" in page.get_data(as_text=True)
    xlsx = client.get(f"/c/{c.id}/service/stats.xlsx?month=2026-01")
    assert xlsx.status_code == 200
    assert xlsx.data[:2] == b"PK"


def test_the_demo_desk_runs_through_the_real_services(app, make, db_session):
    """Does the demo leave requests in every stage, one postponed, one reopened, ratings?"""
    from app.service.demo import add_demo_service

    c = make.community()
    staff = make.user("staff")
    make.grant(staff, Role.STAFF, c)
    for _ in range(5):
        make.own(make.person(c), make.unit(c))
    owner = make.user("owner")
    make.own(make.person(c, user=owner), make.unit(c))
    with app.app_context():
        add_demo_service(db_session, c, utcnow())
    rows = db_session.scalars(select(ServiceRequest).where(
        ServiceRequest.community_id == c.id)).all()
    statuses = {r.status for r in rows}
    assert {RequestStatus.CLOSED, RequestStatus.DISPATCHED, RequestStatus.REOPENED} <= statuses
    assert any(r.postponements for r in rows)
    assert any(r.requester_id == owner.id for r in rows)
    assert db_session.scalar(select(func.count(ReturnVisit.id)).where(
        ReturnVisit.overall.is_not(None))) > 5


def _settings_form(c):
    """The settings page's current values, as the browser would send them back."""
    from app.service import settings as desk_settings

    form = {"opens": "08:30", "closes": "17:30", "holidays": "", "extra_workdays": "",
            "workdays": ["1", "2", "3", "4", "5"]}
    for (kind, urgency), p in desk_settings.policies(c).items():
        key = f"{kind}/{urgency}"
        form[f"{key}/calendar"] = p.calendar
        for f in ("dispatch", "on_site", "reply", "completion_days"):
            value = getattr(p, f)
            form[f"{key}/{f}"] = "" if value is None else str(value)
    return form


def test_the_desk_configures_hours_and_targets_and_open_deadlines_follow(client, login, desk,
                                                                       db_session):
    """Does a changed target apply to unfinished requests, and is the change audited?"""
    c = desk["c"]
    req = _filed(client, login, desk, db_session)
    client.post("/logout")
    login(desk["staff"])
    assert client.get(f"/c/{c.id}/service/settings?lang=en").status_code == 200
    form = _settings_form(c)
    form["repair_common/normal/calendar"] = "always"
    form["repair_common/normal/dispatch"] = "60"
    r = client.post(f"/c/{c.id}/service/settings", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    db_session.refresh(req)
    assert req.due_dispatch_at == req.clock_started_at + dt.timedelta(minutes=60)
    db_session.refresh(c)
    assert c.settings["service_sla"] == {"repair_common/normal": {"calendar": "always",
                                                                  "dispatch": 60}}
    assert db_session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "service.settings_changed")) == 1


def test_bad_settings_name_each_input_and_save_nothing(client, login, desk, db_session):
    c = desk["c"]
    login(desk["staff"])
    form = _settings_form(c)
    form.update({"closes": "07:00", "holidays": "2027-01-01\nnot-a-date",
                 "complaint/normal/dispatch": "-5", "workdays": []})
    r = client.post(f"/c/{c.id}/service/settings?lang=en", data=form)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    for name in ("closes", "holidays", "complaint-normal-dispatch", "workdays"):
        assert f'id="{name}-error"' in page, name
    assert "Nothing was saved" in page
    db_session.refresh(c)
    assert "service_hours" not in (c.settings or {})


def test_the_desk_adds_a_team_with_a_supervisor(client, login, desk, db_session):
    c = desk["c"]
    login(desk["staff"])
    r = client.post(f"/c/{c.id}/service/teams", data={"name": "保洁绿化",
                                                      "supervisor": str(desk["supervisor"].id)})
    assert r.status_code == 302
    team = db_session.scalars(select(ServiceTeam).where(ServiceTeam.name == "保洁绿化")).one()
    assert team.supervisor_id == desk["supervisor"].id
    r = client.post(f"/c/{c.id}/service/teams?lang=en", data={"name": "工程部"})
    assert r.status_code == 422
    assert "a team of that name already" in r.get_data(as_text=True)


def test_the_queue_pages_and_narrows_by_team_and_kind(app, client, login, desk, db_session):
    from app.models import RequestKind, Urgency
    from app.service.queries import PAGE
    from app.service.services import file_request
    from app.service.workflow import DESK

    c = desk["c"]
    with app.test_request_context():
        for i in range(PAGE + 3):
            file_request(db_session, actor=desk["staff"], now=utcnow(), community=c, party=DESK,
                         kind=RequestKind.INQUIRY if i % 2 else RequestKind.COMPLAINT,
                         urgency=Urgency.NORMAL, description=f"Question {i}", place="Desk",
                         caller_name="Caller")
    login(desk["staff"])
    first = client.get(f"/c/{c.id}/service/desk?lang=en").get_data(as_text=True)
    assert first.count("/service/requests/") == PAGE
    assert "Next page" in first
    second = client.get(f"/c/{c.id}/service/desk?page=2&lang=en").get_data(as_text=True)
    assert second.count("/service/requests/") == 3
    assert "Previous page" in second
    assert "Next page" not in second
    inquiries = client.get(f"/c/{c.id}/service/desk?kind=inquiry&team=0&lang=en")
    assert inquiries.get_data(as_text=True).count("/service/requests/") == (PAGE + 3) // 2
    team = client.get(f"/c/{c.id}/service/desk?team={desk['team'].id}&lang=en")
    assert "Nothing here." in team.get_data(as_text=True)
    assert client.get(f"/c/{c.id}/service/desk?kind=bogus&page=-3").status_code == 200
