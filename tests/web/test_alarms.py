"""Device alarms on the database and through the site: ingestion, merging, faults, handling,
the console and its feed."""

from __future__ import annotations

import datetime as dt

import pytest
from alarm_helpers import event_payload
from sqlalchemy import func, select

from app.alarms import core, services
from app.alarms.core import AlarmState, Cause, EventType, MessageError
from app.models import Alarm, AuditEntry, DeviceEventRecord, DeviceKind, Notification, Role, utcnow

_APP = {}


@pytest.fixture(autouse=True)
def _app_for_ingestion(app):
    """Ingestion notifies (rendered in every language), so it runs in an app context of its
    own, as in the ingester; a context kept open for the test would leak its locale into the
    test client's requests."""
    _APP["app"] = app
    yield
    _APP.clear()


@pytest.fixture
def ctx(app):
    """A request context for tests that call the handling services directly (no client)."""
    with app.test_request_context():
        yield


@pytest.fixture
def site(make, db_session):
    community = make.community()
    staff = make.user_with_role(Role.STAFF, community)
    other_staff = make.user_with_role(Role.STAFF, community)
    owner = make.user_with_role(Role.OWNER, community)
    unit = db_session.scalar(select(services.Unit).join(services.Ownership).join(services.Person)
                             .where(services.Person.user_id == owner.id))
    now = utcnow()
    panel = services.register_device(
        db_session, actor=staff, now=now, community=community, code="P-1-101",
        kind=DeviceKind.PANEL, name="1-101 panel", place="1号楼 101", unit=unit,
        map_x=0.2, map_y=0.3, heartbeat_seconds=60)
    fence = services.register_device(
        db_session, actor=staff, now=now, community=community, code="Z-N-3",
        kind=DeviceKind.PERIMETER, name="North fence", place="北侧围墙")
    return {"community": community, "staff": staff, "other_staff": other_staff, "owner": owner,
            "panel": panel, "fence": fence, "now": now}


def mqtt(db_session, device, now=None, **kw):
    topic = core.topic_for(device.community_id, device.code, core.Channel.EVENT)
    with _APP["app"].app_context():
        return services.ingest_message(db_session, topic=topic,
                                       payload=event_payload(device, **kw), now=now or utcnow())


def alarms(db_session, device):
    return list(db_session.scalars(select(Alarm).where(Alarm.device_id == device.id)
                                   .order_by(Alarm.id)))


def test_an_event_raises_an_alarm_and_a_redelivery_is_stored_once(db_session, site):
    """Does an event raise an alarm, and does the same message id (a QoS 1 redelivery) not?"""
    panel = site["panel"]
    payload = event_payload(panel, code=130, message_id="dup-1")
    topic = core.topic_for(panel.community_id, panel.code, core.Channel.EVENT)
    first = services.ingest_message(db_session, topic=topic, payload=payload, now=utcnow())
    again = services.ingest_message(db_session, topic=topic, payload=payload, now=utcnow())
    assert first.action == "raise"
    assert again.duplicate
    [alarm] = alarms(db_session, panel)
    assert (alarm.event_type, alarm.state, alarm.count, alarm.priority) == (
        EventType.BURGLARY, AlarmState.RAISED, 1, 2)
    assert db_session.scalar(select(func.count(DeviceEventRecord.id)).where(
        DeviceEventRecord.device_id == panel.id)) == 1
    assert panel.last_seen_at is not None


def test_duplicates_within_the_window_merge_with_a_count(db_session, site):
    """Are repeated events of one device, type and zone one alarm with a count?"""
    fence, now = site["fence"], site["now"]
    for i in range(3):
        mqtt(db_session, fence, code=130, zone="3", now=now + dt.timedelta(seconds=i))
    mqtt(db_session, fence, code=130, zone="4", now=now)
    later = now + core.MERGE_WINDOW + dt.timedelta(minutes=1)
    mqtt(db_session, fence, code=130, zone="3", now=later,
         ts=later)
    rows = alarms(db_session, fence)
    assert [(a.zone, a.count) for a in rows] == [("3", 3), ("4", 1), ("3", 1)]


def test_a_restore_marks_an_alarm_and_clears_a_fault(db_session, site):
    """Does a restore leave an alarm for staff to close, but end a power fault by itself?"""
    panel = site["panel"]
    mqtt(db_session, panel, code=130)
    mqtt(db_session, panel, code=130, q=3)
    mqtt(db_session, panel, code=301)
    mqtt(db_session, panel, code=301, q=3)
    alarm, fault = alarms(db_session, panel)
    assert alarm.state is AlarmState.RAISED
    assert alarm.restored_at is not None
    assert fault.state is AlarmState.CLEARED
    assert fault.cause is Cause.RESTORED


def test_info_events_are_recorded_without_an_alarm(db_session, site):
    panel = site["panel"]
    assert mqtt(db_session, panel, code=602).action == "record"
    assert mqtt(db_session, panel, code=401).action == "record"
    assert alarms(db_session, panel) == []


def test_a_flooding_device_is_throttled_and_said_so(db_session, site):
    """Does a device raising alarm after alarm stop raising new ones, and is it listed?"""
    fence, now = site["fence"], site["now"]
    for i in range(core.FLOOD_LIMIT + 5):
        mqtt(db_session, fence, code=130, zone=f"z{i}", now=now)
    assert len(alarms(db_session, fence)) == core.FLOOD_LIMIT
    assert services.throttled_devices(db_session, site["community"], now) == [fence]
    actions = db_session.scalars(select(DeviceEventRecord.action).where(
        DeviceEventRecord.device_id == fence.id)).all()
    assert actions.count("throttle") == 5


def test_refused_messages(db_session, site):
    panel = site["panel"]
    topic = core.topic_for(panel.community_id, panel.code, core.Channel.EVENT)
    other = core.topic_for(panel.community_id, "NOPE", core.Channel.EVENT)
    with pytest.raises(MessageError, match="unknown_device"):
        services.ingest_message(db_session, topic=other, payload=event_payload(panel),
                                now=utcnow())
    forged = event_payload(site["fence"])  # signed with another device's secret
    with pytest.raises(MessageError, match="bad_signature"):
        services.ingest_message(db_session, topic=topic, payload=forged, now=utcnow())
    wrong_community = core.topic_for(panel.community_id + 1000, panel.code, core.Channel.EVENT)
    with pytest.raises(MessageError, match="unknown_device"):
        services.ingest_message(db_session, topic=wrong_community, payload=event_payload(panel),
                                now=utcnow())


def test_availability_last_will_and_heartbeat_faults(db_session, site):
    """Does "offline" raise a fault that "online" clears, and does silence raise one?"""
    panel, community, now = site["panel"], site["community"], site["now"]
    avail = core.topic_for(panel.community_id, panel.code, core.Channel.AVAILABILITY)
    services.ingest_message(db_session, topic=avail, payload=b"online", now=now)
    services.ingest_message(db_session, topic=avail, payload=b"offline", now=now)
    [fault] = alarms(db_session, panel)
    assert fault.event_type is EventType.OFFLINE
    assert fault.state is AlarmState.RAISED
    assert [f.device for f in services.faulty_devices(db_session, community, now)] == [panel]
    services.ingest_message(db_session, topic=avail, payload=b"online", now=now)
    assert fault.state is AlarmState.CLEARED

    late = now + dt.timedelta(seconds=panel.heartbeat_seconds) + core.HEARTBEAT_GRACE * 2
    faulty = services.faulty_devices(db_session, community, late)
    assert [(f.device, f.reasons) for f in faulty] == [(panel, (EventType.HEARTBEAT_LOST,))]
    [swept] = services.sweep_heartbeats(db_session, now=late)
    assert services.sweep_heartbeats(db_session, now=late) == []  # once
    mqtt(db_session, panel, code=602, now=late + dt.timedelta(seconds=1))
    assert swept.state is AlarmState.CLEARED


def test_panel_state_is_kept(db_session, site):
    panel = site["panel"]
    topic = core.topic_for(panel.community_id, panel.code, core.Channel.STATE)
    services.ingest_message(db_session, topic=topic, payload=b"armed_away", now=utcnow())
    assert panel.state is core.PanelState.ARMED_AWAY


def test_handling_is_audited_and_notifies(db_session, site, ctx):
    """Acknowledge, dispatch, close: each a transition, an audit entry and the right notices."""
    panel, staff, other = site["panel"], site["staff"], site["other_staff"]
    alarm = mqtt(db_session, panel, code=110).alarm  # fire: priority 1
    kinds = db_session.scalars(select(Notification.user_id).where(
        Notification.kind == "alarm.raised")).all()
    assert set(kinds) == {staff.id, other.id}
    home = db_session.scalars(select(Notification.user_id).where(
        Notification.kind == "alarm.home")).all()
    assert home == [site["owner"].id]

    now = utcnow()
    services.acknowledge(db_session, actor=staff, now=now, alarm=alarm)
    with pytest.raises(services.Conflict):
        services.acknowledge(db_session, actor=staff, now=now, alarm=alarm)
    with pytest.raises(services.DomainError):
        services.dispatch(db_session, actor=staff, now=now, alarm=alarm, assignee=site["owner"])
    services.dispatch(db_session, actor=staff, now=now, alarm=alarm, assignee=other,
                      note="Bring the extinguisher")
    assert db_session.scalar(select(Notification).where(
        Notification.kind == "alarm.dispatched")).user_id == other.id
    with pytest.raises(services.DomainError):
        services.close(db_session, actor=staff, now=now, alarm=alarm, cause=Cause.RESTORED)
    services.close(db_session, actor=staff, now=now, alarm=alarm, cause=Cause.FALSE,
                   note="Cooking smoke")
    assert alarm.state is AlarmState.CLEARED
    assert alarm.cause is Cause.FALSE
    with pytest.raises(services.Conflict):
        services.close(db_session, actor=staff, now=now, alarm=alarm, cause=Cause.REAL)
    actions = db_session.scalars(select(AuditEntry.action).where(
        AuditEntry.target == f"alarm:{alarm.id}").order_by(AuditEntry.seq)).all()
    assert actions == ["alarm.acknowledged", "alarm.dispatched", "alarm.closed"]
    assert [n.action for n in alarm.notes] == ["acknowledged", "dispatched", "closed"]


def test_http_ingestion_service(db_session, site, ctx):
    panel = site["panel"]
    outcome = services.ingest_http(db_session, community_id=panel.community_id,
                                   code=panel.code, token=panel.secret,
                                   payload=event_payload(panel, code=154), now=utcnow())
    assert outcome.alarm.event_type is EventType.WATER_LEAK
    with pytest.raises(MessageError):
        services.ingest_http(db_session, community_id=panel.community_id, code=panel.code,
                             token="wrong", payload=event_payload(panel), now=utcnow())


def test_retention_rotates_raw_events_and_keeps_alarms(db_session, site):
    """Do old heartbeats go while an old alarm keeps its events?"""
    panel, now = site["panel"], site["now"]
    old = now - dt.timedelta(days=200)
    mqtt(db_session, panel, code=602, now=old, ts=old)
    mqtt(db_session, site["fence"], code=130, now=old, ts=old)
    mqtt(db_session, panel, code=602, now=now)
    assert services.rotate_events(db_session, now=now, keep_days=180) == 1
    kept = db_session.scalars(select(DeviceEventRecord.action)).all()
    assert sorted(kept) == ["raise", "record"]
    with pytest.raises(services.DomainError):
        services.rotate_events(db_session, now=now, keep_days=0)


# --- through the site ----------------------------------------------------------------------


def test_the_console_shows_a_new_alarm_in_its_next_poll(client, login, db_session, site):
    """Is an alarm stored now in the feed the console asks for once a second (< 2 s)?"""
    c = site["community"]
    login(site["staff"])
    page = client.get(f"/c/{c.id}/alarms?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "No open alarm." in html
    assert 'data-poll-ms="1000"' in html
    assert "js/alarms.js" in html
    assert client.get(f"/c/{c.id}/alarms/feed.json").get_json()["alarms"] == []

    mqtt(db_session, site["panel"], code=120)  # panic
    db_session.commit()
    feed = client.get(f"/c/{c.id}/alarms/feed.json?lang=en")
    assert feed.headers["Cache-Control"] == "no-store"
    [row] = feed.get_json()["alarms"]
    assert (row["type"], row["type_label"], row["priority"], row["state"]) == (
        "panic", "Panic button", 1, "raised")
    assert row["unit"]
    assert (row["x"], row["y"]) == (0.2, 0.3)
    html = client.get(f"/c/{c.id}/alarms?lang=en").get_data(as_text=True)
    assert "Panic button" in html
    assert 'class="dev panel alarmed"' in html
    ack = client.post(f"{row['url']}/acknowledge", data={"next": "console"})
    assert ack.headers["Location"].endswith(f"/c/{c.id}/alarms")
    # Chinese is the default language of the site.
    assert client.get(f"/c/{c.id}/alarms/feed.json?lang=zh_Hans_CN").get_json()[
        "alarms"][0]["type_label"] == "紧急求助"


def test_faults_and_floods_are_on_the_console(client, login, db_session, site):
    c = site["community"]
    avail = core.topic_for(c.id, site["panel"].code, core.Channel.AVAILABILITY)
    services.ingest_message(db_session, topic=avail, payload=b"offline", now=utcnow())
    for i in range(core.FLOOD_LIMIT + 1):
        mqtt(db_session, site["fence"], zone=f"z{i}")
    db_session.commit()
    login(site["staff"])
    feed = client.get(f"/c/{c.id}/alarms/feed.json?lang=en").get_json()
    assert [f["device"] for f in feed["faults"]] == ["1-101 panel"]
    assert feed["faults"][0]["reasons"] == ["Offline"]
    assert [d["device"] for d in feed["throttled"]] == ["North fence"]
    html = client.get(f"/c/{c.id}/alarms/devices?lang=en").get_data(as_text=True)
    assert "Faulty" in html
    assert "Throttled" in html


def test_staff_acknowledge_dispatch_and_close_through_the_site(client, login, db_session, site):
    c, staff, other = site["community"], site["staff"], site["other_staff"]
    alarm = mqtt(db_session, site["fence"], code=130, zone="3").alarm
    db_session.commit()
    login(staff)
    base = f"/c/{c.id}/alarms/{alarm.id}"
    page = client.get(f"{base}?lang=en").get_data(as_text=True)
    assert "Intrusion" in page
    assert "Acknowledge" in page
    assert client.post(f"{base}/acknowledge").status_code == 302
    assert client.post(f"{base}/acknowledge").status_code == 409
    bad = client.post(f"{base}/dispatch?lang=en", data={"assignee": "999999"})
    assert bad.status_code == 422
    assert "Send" in bad.get_data(as_text=True)
    assert client.post(f"{base}/dispatch", data={"assignee": str(other.id),
                                                 "note": "North gate"}).status_code == 302
    assert client.post(f"{base}/notes", data={"text": "On site, fence cut"}).status_code == 302
    assert client.post(f"{base}/notes", data={"text": ""}).status_code == 422
    assert client.post(f"{base}/close", data={"cause": "restored"}).status_code == 422
    assert client.post(f"{base}/close", data={"cause": "real",
                                              "note": "Police called"}).status_code == 302
    db_session.expire_all()
    alarm = db_session.get(Alarm, alarm.id)
    assert alarm.state is AlarmState.CLEARED
    assert alarm.assignee_id == other.id
    page = client.get(f"{base}?lang=en").get_data(as_text=True)
    assert "On site, fence cut" in page
    assert "Real alarm" in page
    notice = db_session.scalar(select(Notification).where(Notification.kind ==
                                                          "alarm.dispatched"))
    assert notice.user_id == other.id
    assert notice.link == base


def test_the_committee_sees_but_does_not_handle(client, login, make, db_session, site):
    c = site["community"]
    alarm = mqtt(db_session, site["fence"]).alarm
    db_session.commit()
    login(make.user_with_role(Role.COMMITTEE, c))
    page = client.get(f"/c/{c.id}/alarms/{alarm.id}?lang=en").get_data(as_text=True)
    assert "Acknowledge" not in page
    assert client.post(f"/c/{c.id}/alarms/{alarm.id}/acknowledge").status_code == 403


def test_an_alarm_of_another_community_is_not_found(client, login, make, db_session, site):
    alarm = mqtt(db_session, site["fence"]).alarm
    elsewhere = make.community()
    db_session.commit()
    login(make.user_with_role(Role.STAFF, elsewhere))
    assert client.get(f"/c/{elsewhere.id}/alarms/{alarm.id}").status_code == 404


def test_http_endpoint_takes_the_device_token(client, db_session, site):
    """Can a device without MQTT report over HTTP with its token, and nobody without it?"""
    panel = site["panel"]
    url = f"/api/devices/{panel.community_id}/{panel.code}/events"
    body = event_payload(panel, code=154, message_id="h1")
    ok = client.post(url, data=body, headers={"Authorization": f"Bearer {panel.secret}"},
                     content_type="application/json")
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert ok.get_json()["action"] == "raise"
    again = client.post(url, data=body, headers={"Authorization": f"Bearer {panel.secret}"})
    assert again.get_json()["duplicate"] is True
    assert client.post(url, data=body).status_code == 401
    assert client.post(url, data=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    bad = client.post(url, data=b"{}", headers={"Authorization": f"Bearer {panel.secret}"})
    assert bad.status_code == 422
    assert bad.get_json()["error"] == "bad_field"


def test_demo_alarms(app, client, login, make, db_session):
    """Does the demo leave handled alarms, open ones, a dispatched one and two faults?"""
    from app.alarms.demo import add_demo_alarms

    community = make.community()
    staff = make.user("staff")
    make.grant(staff, Role.STAFF, community)
    building = make.building(community, "1号楼")
    owner = make.user("owner")
    make.own(make.person(community, user=owner), make.unit(community, building, "302", floor=3))
    for floor in (8, 12):
        make.own(make.person(community), make.unit(community, building, f"{floor}02",
                                                   floor=floor))
    with app.app_context():
        add_demo_alarms(db_session, community, utcnow())
    db_session.commit()
    login(staff)
    feed = client.get(f"/c/{community.id}/alarms/feed.json?lang=en").get_json()
    assert sorted((a["type"], a["state"]) for a in feed["alarms"]
                  if a["category"] == "alarm") == [
        ("door_held_open", "dispatched"), ("panic", "raised"), ("water_low", "raised")]
    assert sorted(r for f in feed["faults"] for r in f["reasons"]) == ["Low battery", "Offline"]
    causes = db_session.scalars(select(Alarm.cause).where(
        Alarm.community_id == community.id, Alarm.state == AlarmState.CLEARED)).all()
    assert sorted(causes) == [Cause.FALSE, Cause.REAL, Cause.TEST]
    assert db_session.scalar(select(Notification).where(
        Notification.user_id == owner.id, Notification.kind == "alarm.home"))


def test_owner_arms_their_own_panel_and_not_another(client, login, make, db_session, site):
    """Can an owner arm and disarm their own flat's panel, recorded with who and when, and is
    anyone else's panel refused?"""
    c, panel, owner = site["community"], site["panel"], site["owner"]
    db_session.commit()
    login(owner)
    page = client.get(f"/c/{c.id}/alarms/home?lang=en").get_data(as_text=True)
    assert "1号楼 101" in page
    url = f"/c/{c.id}/alarms/devices/{panel.id}/arming"
    assert client.post(url, data={"action": "arm_away"}).status_code == 302
    db_session.expire_all()
    assert db_session.get(type(panel), panel.id).state is core.PanelState.ARMED_AWAY
    assert client.post(url, data={"action": "bypass"}).status_code == 422  # which zone?
    assert client.post(url, data={"action": "bypass", "zone": "2"}).status_code == 302
    assert client.post(url, data={"action": "launch"}).status_code == 422
    page = client.get(f"/c/{c.id}/alarms/home?lang=en").get_data(as_text=True)
    assert "Armed (away)" in page
    assert "Bypassed zones: 2" in page
    assert "waiting" in page  # not sent yet: no ingester runs in this test
    fence_url = f"/c/{c.id}/alarms/devices/{site['fence'].id}/arming"
    assert client.post(fence_url, data={"action": "disarm"}).status_code == 403
    actions = db_session.scalars(select(AuditEntry.details).where(
        AuditEntry.action == "alarm.arming")).all()
    assert [a["action"] for a in actions] == ["arm_away", "bypass"]


def test_staff_arm_any_panel_and_a_bypassed_zone_raises_nothing(client, login, db_session,
                                                               site):
    c, fence = site["community"], site["fence"]
    db_session.commit()
    login(site["staff"])
    url = f"/c/{c.id}/alarms/devices/{fence.id}/arming"
    assert client.post(url, data={"action": "bypass", "zone": "3"}).status_code == 302
    assert "Bypassed zones: 3" in client.get(f"/c/{c.id}/alarms/devices?lang=en").get_data(
        as_text=True)
    db_session.expire_all()
    fence = db_session.get(type(fence), fence.id)
    assert mqtt(db_session, fence, code=130, zone="3").action == "record"
    assert mqtt(db_session, fence, code=372, zone="3").action == "raise"  # a fault still counts
    assert mqtt(db_session, fence, code=130, zone="4").action == "raise"
    assert client.post(url, data={"action": "unbypass", "zone": "3"}).status_code == 302
    db_session.expire_all()
    assert mqtt(db_session, db_session.get(type(fence), fence.id), code=130,
                zone="3").action == "raise"


def test_monthly_statistics_page(client, login, db_session, site):
    c, staff = site["community"], site["staff"]
    alarm = mqtt(db_session, site["fence"], code=130).alarm
    services.acknowledge(db_session, actor=staff, now=alarm.raised_at + dt.timedelta(seconds=42),
                         alarm=alarm)
    services.close(db_session, actor=staff, now=utcnow(), alarm=alarm, cause=Cause.TEST)
    mqtt(db_session, site["panel"], code=302)
    db_session.commit()
    login(staff)
    page = client.get(f"/c/{c.id}/alarms/stats?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html
    assert "Alarms and faults per month" in html
    assert "42 s" in html


def test_staff_register_a_device_and_renew_its_secret(client, login, make, db_session, site):
    """Can staff add a device (unit, map place, heartbeat), read its topics and secret, and
    renew the secret so the old one stops working?"""
    c = site["community"]
    building = make.building(c, "9号楼")
    make.unit(c, building, "1201", floor=12)
    db_session.commit()
    login(site["staff"])
    assert client.get(f"/c/{c.id}/alarms/devices/new?lang=en").status_code == 200
    form = {"code": "P-9-1201", "kind": "panel", "name": "9-1201 panel", "place": "9号楼 1201",
            "unit": "9号楼-1201", "map_x": "40", "map_y": "55.5", "heartbeat_minutes": "10",
            "sia_account": ""}
    bad = client.post(f"/c/{c.id}/alarms/devices/new?lang=en", data={**form, "unit": "9号楼-99"})
    assert bad.status_code == 422
    assert "No unit 9号楼-99" in bad.get_data(as_text=True)
    assert client.post(f"/c/{c.id}/alarms/devices/new", data={**form, "code": "a b"}
                       ).status_code == 422
    dup = client.post(f"/c/{c.id}/alarms/devices/new?lang=en", data={**form, "code": "Z-N-3"})
    assert dup.status_code == 422
    assert "already has the code" in dup.get_data(as_text=True)
    ok = client.post(f"/c/{c.id}/alarms/devices/new", data=form)
    assert ok.status_code == 302
    device = services.find_device(db_session, c.id, "P-9-1201")
    assert (device.unit.number, device.map_x, device.map_y, device.heartbeat_seconds) == (
        "1201", 0.4, 0.555, 600)
    page = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert device.secret in page
    assert f"courtyard/{c.id}/P-9-1201/event" in page
    old = device.secret
    assert client.post(f"/c/{c.id}/alarms/devices/{device.id}/secret").status_code == 302
    db_session.expire_all()
    device = services.find_device(db_session, c.id, "P-9-1201")
    assert device.secret != old
    with pytest.raises(MessageError):
        services.ingest_http(db_session, community_id=c.id, code=device.code, token=old,
                             payload=b"{}", now=utcnow())
    assert db_session.scalar(select(AuditEntry).where(
        AuditEntry.action == "alarm.device_secret_renewed"))


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


def test_staff_upload_the_site_map_the_console_draws_on(client, login, db_session, site):
    import io

    c = site["community"]
    db_session.commit()
    login(site["staff"])
    assert client.get(f"/c/{c.id}/alarms/site-map").status_code == 204
    bad = client.post(f"/c/{c.id}/alarms/site-map?lang=en",
                      data={"image": (io.BytesIO(b"<svg onload=alert(1)>"), "map.png")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "PNG or JPEG" in bad.get_data(as_text=True)
    ok = client.post(f"/c/{c.id}/alarms/site-map",
                     data={"image": (io.BytesIO(PNG_1PX), "plan.png")},
                     content_type="multipart/form-data")
    assert ok.status_code == 302
    image = client.get(f"/c/{c.id}/alarms/site-map")
    assert (image.status_code, image.mimetype, image.data) == (200, "image/png", PNG_1PX)
    assert f'<image href="/c/{c.id}/alarms/site-map"' in client.get(
        f"/c/{c.id}/alarms").get_data(as_text=True)


def test_dispatch_is_a_work_order_of_the_service_desk(client, login, db_session, site):
    """Dispatching files a desk request for the alarm and sends it as a work order: the alarm
    page links the request, the request page links the alarm, both are audited, and the desk's
    SLA clocks run (an intrusion is an emergency)."""
    from app.models import ServiceRequest, WorkOrder
    from app.models.service import RequestKind, Urgency

    c, staff, other = site["community"], site["staff"], site["other_staff"]
    alarm = mqtt(db_session, site["fence"], code=130, zone="3").alarm
    db_session.commit()
    login(staff)
    base = f"/c/{c.id}/alarms/{alarm.id}"
    done = client.post(f"{base}/dispatch?lang=en", data={"assignee": str(other.id),
                                                         "note": "North gate"},
                       follow_redirects=True)
    assert done.status_code == 200
    db_session.expire_all()
    alarm = db_session.get(Alarm, alarm.id)
    req = db_session.get(ServiceRequest, alarm.service_request_id)
    assert req is not None
    assert req.community_id == c.id
    assert f"Dispatched as work order of request no. {req.id}" in done.get_data(as_text=True)
    assert (req.kind, req.urgency, req.status.value) == (
        RequestKind.HELP, Urgency.EMERGENCY, "dispatched")
    assert req.place == "北侧围墙"
    assert f"Alarm no. {alarm.id}" in req.description
    assert "North gate" in req.description
    assert req.due_on_site_at is not None  # the desk's clocks run
    [order] = db_session.scalars(select(WorkOrder).where(WorkOrder.request_id == req.id)).all()
    assert (order.assignee_id, order.dispatched_by_id, order.note) == (
        other.id, staff.id, "North gate")
    assert alarm.state is AlarmState.DISPATCHED
    assert alarm.assignee_id == other.id
    page = client.get(f"{base}?lang=en").get_data(as_text=True)
    assert f'href="/c/{c.id}/service/requests/{req.id}"' in page
    assert f"Request no. {req.id}" in page
    desk = client.get(f"/c/{c.id}/service/requests/{req.id}?lang=en").get_data(as_text=True)
    assert f'href="{base}"' in desk
    assert f"alarm no. {alarm.id}" in desk
    actions = {(e.action, e.target) for e in db_session.scalars(select(AuditEntry))}
    assert ("alarm.dispatched", f"alarm:{alarm.id}") in actions
    assert ("service.dispatched", f"service_request:{req.id}") in actions
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "alarm.dispatched"))
    assert entry.details["service_request"] == req.id
    # A refused assignee writes nothing: no request filed.
    second = mqtt(db_session, site["panel"], code=110).alarm
    db_session.commit()
    before = db_session.scalar(select(func.count(ServiceRequest.id)))
    assert client.post(f"/c/{c.id}/alarms/{second.id}/dispatch",
                       data={"assignee": str(site["owner"].id)}).status_code == 422
    assert db_session.scalar(select(func.count(ServiceRequest.id))) == before
