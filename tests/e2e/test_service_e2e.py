"""The service desk in real Chromium: a resident files a repair with a photo on a phone, the
desk dispatches it and finishes the work, the resident rates it, the desk closes it."""

from __future__ import annotations

import re
import struct
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from browsing import log_in, shot
from sqlalchemy import select

from app.auth.services import hash_password
from app.models import (
    Building,
    Community,
    Office,
    Ownership,
    Person,
    Role,
    RoleGrant,
    ServiceRequest,
    ServiceTeam,
    Unit,
    User,
    utcnow,
)
from app.service.workflow import RequestStatus

pytestmark = pytest.mark.e2e

PASSWORD = "a long demo password"



def _png(path: Path) -> Path:
    """A real 8×8 PNG (a photo of the leak, as far as the test is concerned)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\x20\x60\xc0" * 8 for _ in range(8))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2,
                                                                        0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def desk(live_server):
    with live_server.app.test_request_context(), live_server.session() as s:
        office = Office(name="桂林街道社区居委会", district="徐汇区")
        community = Community(name="香樟园", address="桂林路 9 弄", district="徐汇区",
                              office=office, settings={}, created_at=utcnow())
        s.add(community)
        s.flush()
        building = Building(community_id=community.id, name="7号楼")
        s.add(building)
        s.flush()
        hashed = hash_password(PASSWORD)
        resident = User(username="svc-resident", display_name="许平明", password_hash=hashed,
                        created_at=utcnow())
        staff = User(username="svc-staff", display_name="唐春梅", password_hash=hashed,
                     created_at=utcnow())
        unit = Unit(community_id=community.id, building_id=building.id, number="702", floor=7,
                    area=Decimal("89.15"))
        s.add_all([resident, staff, unit])
        s.flush()
        person = Person(community_id=community.id, name="许平明", user_id=resident.id,
                        created_at=utcnow())
        s.add(person)
        s.flush()
        s.add_all([Ownership(unit_id=unit.id, person_id=person.id, started_at=utcnow()),
                   RoleGrant(user_id=staff.id, role=Role.STAFF, community_id=community.id,
                             granted_at=utcnow())])
        team = ServiceTeam(community_id=community.id, name="工程部", supervisor_id=staff.id)
        s.add(team)
        s.commit()
        return {"cid": community.id, "unit": unit.id, "team": team.id}




def _log_out(page) -> None:
    page.click("form[action$='/logout'] button")
    page.wait_for_url(re.compile(r"/$"))


def test_a_resident_files_with_a_photo_the_desk_finishes_and_the_resident_rates(
        browser, live_server, desk, tmp_path):
    base, cid = live_server.url, desk["cid"]
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                is_mobile=True, has_touch=True)
    tab = phone.new_page()
    tab.set_default_timeout(15_000)
    log_in(tab, base, "svc-resident", PASSWORD)
    tab.goto(f"{base}/c/{cid}/service/new")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    tab.select_option("#kind", "repair_home")
    tab.select_option("#unit", str(desk["unit"]))
    tab.fill("#description", "卫生间吊顶漏水，滴到洗手台上。")
    tab.fill("#preferred_time", "工作日 18:00 以后")
    tab.set_input_files("#photos", str(_png(tmp_path / "leak.png")))
    shot(tab, "service-1-file")
    tab.click("main form button[type=submit]")
    tab.wait_for_url(re.compile(rf"/c/{cid}/service/requests/\d+$"))
    request_url = tab.url
    assert "卫生间吊顶漏水" in tab.inner_text("main")
    assert tab.evaluate("document.querySelector('img.photo').naturalWidth") == 8
    shot(tab, "service-2-filed")
    _log_out(tab)

    desktop = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    office = desktop.new_page()
    office.set_default_timeout(15_000)
    log_in(office, base, "svc-staff", PASSWORD)
    office.goto(f"{base}/c/{cid}/service/desk")
    shot(office, "service-3-queue")
    office.click(f"main table a[href$='{request_url.rsplit('/', 1)[1]}']")
    office.select_option("#team", str(desk["team"]))
    office.click("form[action$='/dispatch'] button[type=submit]")
    office.wait_for_selector("text=Work order sent.")
    for status in ("on_site", "done"):
        office.select_option("#to", status)
        office.click("form[action$='/status'] button[type=submit]")
        office.wait_for_selector("text=Status changed.")
    shot(office, "service-4-done")

    log_in(tab, base, "svc-resident", PASSWORD)
    tab.goto(request_url)
    tab.select_option("#overall", "5")
    tab.select_option("#speed", "4")
    tab.select_option("#attitude", "5")
    tab.fill("#comment", "师傅很专业，谢谢！")
    shot(tab, "service-5-rate")
    tab.click("form[action$='/rating'] button[type=submit]")
    tab.wait_for_selector("text=感谢您的评价。")

    office.goto(request_url)
    office.select_option("#to", "closed")
    office.click("form[action$='/status'] button[type=submit]")
    office.wait_for_selector("text=Status changed.")
    shot(office, "service-6-closed")
    with live_server.session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.community_id == cid))
        assert req.status is RequestStatus.CLOSED
        assert [v.overall for v in req.visits] == [5]
        assert len(req.photos) == 1
    phone.close()
    desktop.close()
