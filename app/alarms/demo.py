"""The demo community's devices and a few days of alarms, run through the real services.

Panels in a dozen flats (the demo owner's first flat among them), the perimeter in four zones
on the site map, fire and domestic water tanks, lobby and fire-exit doors, cameras at the gates.
Handled alarms (a real one, a false one, a test), one dispatched, two still open, a device with
a low battery and one offline: the console has something to show before the simulator runs.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Building, Community, DeviceKind, Ownership, Person, Unit, User
from . import core, services
from .core import Cause, DeviceEvent, Qualifier

#: (code, kind, name, place, x, y, heartbeat seconds)
COMMON_DEVICES = (
    ("Z-N", DeviceKind.PERIMETER, "北侧围墙防区", "北侧围墙（桂林路一侧）", 0.50, 0.04, 900),
    ("Z-E", DeviceKind.PERIMETER, "东侧围墙防区", "东侧围墙（幼儿园一侧）", 0.96, 0.50, 900),
    ("Z-S", DeviceKind.PERIMETER, "南侧围墙防区", "南侧围墙（河道一侧）", 0.50, 0.96, 900),
    ("Z-W", DeviceKind.PERIMETER, "西侧围墙防区", "西侧围墙（地库出入口）", 0.04, 0.50, 900),
    ("T-FIRE", DeviceKind.WATER_TANK, "消防水箱液位", "3号楼屋顶消防水箱", 0.80, 0.20, 900),
    ("T-DOM", DeviceKind.WATER_TANK, "生活水箱液位", "地下泵房生活水箱", 0.08, 0.87, 900),
    ("D-1", DeviceKind.DOOR, "1号楼门厅门磁", "1号楼 门厅", 0.22, 0.47, 900),
    ("D-2", DeviceKind.DOOR, "2号楼门厅门磁", "2号楼 门厅", 0.50, 0.47, 900),
    ("D-3F", DeviceKind.DOOR, "3号楼消防通道门磁", "3号楼 北侧消防通道", 0.78, 0.15, 900),
    ("C-GATE", DeviceKind.CAMERA, "南大门摄像机", "南大门（主入口）", 0.45, 0.93, 300),
    ("C-PARK", DeviceKind.CAMERA, "地库入口摄像机", "地库入口", 0.17, 0.82, 300),
)
#: Building positions on the site map (x of each tower's centre).
BUILDING_X = {"1号楼": 0.22, "2号楼": 0.50, "3号楼": 0.78}


def add_demo_alarms(session: Session, community: Community, now: dt.datetime) -> None:
    staff = session.scalar(select(User).where(User.username == "staff"))
    services.set_site_map(session, actor=staff, now=now - dt.timedelta(days=30),
                          community=community, data=_site_plan_png())
    devices = {}
    for code, kind, name, place, x, y, heartbeat in COMMON_DEVICES:
        devices[code] = services.register_device(
            session, actor=staff, now=now - dt.timedelta(days=30), community=community,
            code=code, kind=kind, name=name, place=place, map_x=x, map_y=y,
            heartbeat_seconds=heartbeat)
    for unit in _panel_units(session, community):
        label = f"{unit.building.name} {unit.number}"
        devices[f"P-{unit.id}"] = services.register_device(
            session, actor=staff, now=now - dt.timedelta(days=30), community=community,
            code=f"P-{unit.building.name[0]}-{unit.number}", kind=DeviceKind.PANEL,
            name=f"{label} 入户报警主机", place=label, unit=unit,
            map_x=BUILDING_X.get(unit.building.name, 0.5),
            map_y=round(0.45 - unit.floor * 0.014, 3), heartbeat_seconds=3600)
    panels = [d for d in devices.values() if d.kind is DeviceKind.PANEL]
    seq = iter(range(1, 10_000))

    def event(device, code=None, kind=None, *, at, q=Qualifier.NEW, zone=""):
        ev = DeviceEvent(f"demo-{next(seq)}", at, core.CONTACT_ID[code] if code else kind, q,
                         zone, code)
        return services.ingest_event(session, device=device, event=ev, now=at, channel="mqtt")

    # Days ago: a real intrusion on the north fence, handled and closed.
    t = now - dt.timedelta(days=3, hours=7)
    real = event(devices["Z-N"], 130, at=t, zone="2").alarm
    event(devices["Z-N"], 130, at=t + dt.timedelta(seconds=40), zone="2")
    services.dispatch(session, actor=staff, now=t + dt.timedelta(minutes=1), alarm=real,
                      assignee=staff, note="北侧围墙 2 号防区，带手电筒")
    services.add_note(session, actor=staff, now=t + dt.timedelta(minutes=9), alarm=real,
                      text="有人翻越围墙，已报警并调取监控")
    services.close(session, actor=staff, now=t + dt.timedelta(minutes=40), alarm=real,
                   cause=Cause.REAL, note="派出所已出警")
    # Yesterday: a smoke alarm from cooking in a flat (false), and the monthly test.
    t = now - dt.timedelta(days=1, hours=3)
    false = event(panels[1], 110, at=t).alarm
    services.acknowledge(session, actor=staff, now=t + dt.timedelta(seconds=50), alarm=false)
    services.close(session, actor=staff, now=t + dt.timedelta(minutes=6), alarm=false,
                   cause=Cause.FALSE, note="业主做饭油烟触发，已电话确认")
    test = event(devices["T-FIRE"], 204, at=t + dt.timedelta(hours=2)).alarm
    services.close(session, actor=staff, now=t + dt.timedelta(hours=2, minutes=3), alarm=test,
                   cause=Cause.TEST, note="月度液位测试")
    # Heartbeats of everything, so none counts as silent.
    for device in devices.values():
        event(device, 602, at=now - dt.timedelta(seconds=30))
    # This morning: the fire-exit door propped open, dispatched and not yet closed.
    t = now - dt.timedelta(hours=2)
    door = event(devices["D-3F"], 426, at=t).alarm
    services.dispatch(session, actor=staff, now=t + dt.timedelta(minutes=2), alarm=door,
                      assignee=staff, note="消防通道门被杂物顶住")
    # Open now: the domestic tank running low and a panic button in the owner's flat.
    event(devices["T-DOM"], 204, at=now - dt.timedelta(minutes=25))
    event(panels[0], 120, at=now - dt.timedelta(minutes=3))
    # Arming: the owner armed their flat when leaving this morning; staff bypassed a fence zone
    # under repair.
    owner = session.scalar(select(User).where(User.username == "owner"))
    if owner is not None and services.owns_panel(session, owner, panels[0]):
        services.arm(session, actor=owner, now=now - dt.timedelta(hours=3), device=panels[0],
                     action=core.ArmingAction.ARM_AWAY, as_staff=False)
    services.arm(session, actor=staff, now=now - dt.timedelta(days=2), device=devices["Z-E"],
                 action=core.ArmingAction.BYPASS, zone="4", as_staff=True)
    # Faults: a panel's battery is low; the car-park camera went offline (its last will).
    event(panels[2], 302, at=now - dt.timedelta(hours=5))
    services.set_availability(session, device=devices["C-PARK"], online=True,
                              now=now - dt.timedelta(hours=1))
    services.set_availability(session, device=devices["C-PARK"], online=False,
                              now=now - dt.timedelta(minutes=12))
    session.flush()


def _site_plan_png() -> bytes:
    """A simple plan of the demo site (lawns, paths, the three towers, the gate), drawn here
    with Pillow (WeasyPrint's dependency) so the demo needs no image file."""
    import io

    from PIL import Image, ImageDraw

    w, h = 1000, 700
    img = Image.new("RGB", (w, h), (232, 240, 226))
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, w - 20, h - 20), outline=(150, 150, 150), width=6)  # the wall
    draw.rectangle((20, 330, w - 20, 370), fill=(220, 220, 215))  # the east-west path
    draw.rectangle((430, 370, 470, h - 20), fill=(220, 220, 215))  # to the south gate
    draw.rectangle((40, 560, 180, 660), fill=(205, 205, 200))  # pump room, car-park ramp
    for x in BUILDING_X.values():  # the three towers
        cx = int(x * w)
        draw.rectangle((cx - 70, 120, cx + 70, 320), fill=(200, 196, 186),
                       outline=(120, 110, 100), width=3)
    draw.rectangle((400, h - 28, 500, h - 12), fill=(180, 50, 42))  # the main gate
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _panel_units(session: Session, community: Community) -> list[Unit]:
    """The demo owner's flats first, then a few flats on different floors of each building."""
    owner_units = list(session.scalars(
        select(Unit).join(Ownership, Ownership.unit_id == Unit.id)
        .join(Person, Person.id == Ownership.person_id)
        .join(User, User.id == Person.user_id)
        .where(User.username == "owner", Unit.community_id == community.id)
        .order_by(Unit.id)))
    others = list(session.scalars(
        select(Unit).join(Building).where(Unit.community_id == community.id,
                                          Unit.floor.in_([3, 8, 12, 17]),
                                          Unit.number.like("%02"))
        .order_by(Building.name, Unit.floor)))
    return owner_units + [u for u in others if u not in owner_units][:12]
