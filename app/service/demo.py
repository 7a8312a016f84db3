"""The demo community's service desk: three teams, a technician and a supervisor, and two
months of requests run through the real services (filed, dispatched, done, rated; some late,
one postponed, one reopened after a bad rating, some open now)."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    Community,
    Ownership,
    Person,
    RequestKind,
    Role,
    RoleGrant,
    Unit,
    Urgency,
    User,
)
from . import services
from .workflow import DESK, RESIDENT, RequestStatus

#: (kind, urgency, place or None for the resident's unit, description)
SAMPLES = (
    (RequestKind.REPAIR_HOME, Urgency.NORMAL, None, "厨房水龙头一直滴水，关不紧。"),
    (RequestKind.REPAIR_HOME, Urgency.EMERGENCY, None, "卫生间水管爆裂，水流到楼下了！"),
    (RequestKind.REPAIR_COMMON, Urgency.NORMAL, "2号楼电梯厅", "电梯厅顶灯不亮，晚上很黑。"),
    (RequestKind.REPAIR_COMMON, Urgency.NORMAL, "地下车库B区", "车库B区排水沟堵塞，有积水。"),
    (RequestKind.REPAIR_WARRANTY, Urgency.NORMAL, None, "入住不到两年，客厅墙面开裂。"),
    (RequestKind.COMPLAINT, Urgency.NORMAL, "1号楼楼下", "夜里十一点后广场舞音乐太响。"),
    (RequestKind.HELP, Urgency.NORMAL, "南门", "钥匙锁在家里了，请帮忙联系开锁。"),
    (RequestKind.INQUIRY, Urgency.NORMAL, "物业服务中心", "明年物业费标准是否调整？"),
    (RequestKind.SUGGESTION, Urgency.NORMAL, "小区花园", "建议在花园增设几张休息长椅。"),
    (RequestKind.REPAIR_COMMON, Urgency.EMERGENCY, "3号楼电梯", "3号楼电梯困人！"),
)
#: Extra demo accounts of the office: (username, display name).
OFFICE_ACCOUNTS = (("technician", "王师傅 (工程部)"), ("supervisor", "陈经理 (客服主管)"))


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def _office_accounts(session: Session, community: Community, now: dt.datetime) -> list[User]:
    from ..demo import _account

    users = []
    for username, display in OFFICE_ACCOUNTS:
        user = _account(session, username, display, None, now)
        session.add(RoleGrant(user_id=user.id, role=Role.STAFF, community_id=community.id,
                              granted_at=now))
        users.append(user)
    session.flush()
    return users


def add_demo_service(session: Session, community: Community, now: dt.datetime) -> None:
    rng = random.Random(8)
    # The office opens Monday to Saturday; the holidays are illustrative (set yours on the
    # desk's settings page).
    community.settings = {**(community.settings or {}), "service_hours": {
        "opens": "08:30", "closes": "17:30", "workdays": [1, 2, 3, 4, 5, 6],
        "holidays": ["2027-01-01", "2027-01-02", "2027-02-06", "2027-02-07", "2027-02-08",
                     "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"],
        "extra_workdays": ["2027-02-14"]}}
    staff = _user(session, "staff")
    technician, supervisor = _office_accounts(session, community, now)
    teams = [services.create_team(session, actor=staff, now=now, community=community,
                                  name=name, supervisor=supervisor)
             for name in ("工程部", "保洁绿化", "秩序维护")]
    residents = [u for u in (_user(session, "owner"), _user(session, "resident")) if u]
    unit_of = {u.id: services.units_of(session, u, community) for u in residents}
    # Other owners without an account call the desk: staff file for them.
    callers = session.execute(
        select(Person.name, Person.phone, Unit.id).join(Ownership, Ownership.person_id == Person.id)
        .join(Unit, Unit.id == Ownership.unit_id)
        .where(Person.community_id == community.id, Person.user_id.is_(None))
        .limit(40)).all()
    for i in range(36):
        kind, urgency, place, text = SAMPLES[i % len(SAMPLES)]
        filed = now - dt.timedelta(days=60 - i * 1.6, hours=rng.randint(0, 8))
        filed = filed.replace(hour=rng.choice((1, 9, 10, 11, 14, 16, 20)),
                              minute=rng.randint(0, 59))
        if i % 4 == 0 and residents:
            who = residents[i % len(residents)]
            units = unit_of[who.id]
            req = services.file_request(
                session, actor=who, now=filed, community=community, party=RESIDENT,
                kind=kind, urgency=urgency, description=text, place=place or "",
                unit_id=None if place or not units else units[0].id,
                preferred_time="工作日 18:00 以后" if place is None else "")
        else:
            name, phone, unit_id = callers[i % len(callers)]
            req = services.file_request(
                session, actor=staff, now=filed, community=community, party=DESK, kind=kind,
                urgency=urgency, description=text, place=place or "",
                unit_id=None if place else unit_id, caller_name=name, caller_phone=phone or "")
        _work(session, req, community, staff, technician, teams, rng, filed, now, open_=i >= 31,
              n=i)


def _work(session, req, community, staff, technician, teams, rng, filed, now, *, open_, n):
    """Run one request through the desk as the office would have, up to ``now``.

    ``n`` is the request's place in the demo (never its id: ids differ between databases)."""
    def at(minutes: float) -> dt.datetime:
        return min(filed + dt.timedelta(minutes=minutes), now)

    kw = {"session": session, "community": community, "req": req}
    if req.kind in (RequestKind.INQUIRY, RequestKind.SUGGESTION):
        services.add_note(actor=staff, now=at(rng.choice((30, 200, 2000))), party=DESK,
                          text="感谢您的来信，已转物业经理，三个工作日内答复。", **kw)
        if not open_:
            services.move(actor=staff, now=at(3000), to=RequestStatus.DONE, party=DESK, **kw)
            _rate(session, req, community, rng, at(4000), n)
        return
    team = teams[0] if req.kind.value.startswith("repair") else teams[2]
    services.dispatch(actor=staff, now=at(rng.choice((1, 2, 2, 3, 6, 15))), team=team,
                      assignee=technician if team is teams[0] else None, **kw)
    if open_ and rng.random() < 0.5:
        return
    services.move(actor=technician, now=at(rng.choice((20, 25, 90, 300))),
                  to=RequestStatus.ON_SITE, party=DESK, **kw)
    if n % 5 == 0:
        services.move(actor=technician, now=at(400), to=RequestStatus.WAITING_PARTS,
                      party=DESK, note="需更换阀芯，配件已订购。", **kw)
        if n % 10 == 0:
            services.postpone(actor=staff, now=at(420), days=3,
                              reason="配件需从厂家调货，预计三个工作日到货。", **kw)
        if open_:
            return
        services.move(actor=technician, now=at(2 * 1440), to=RequestStatus.ON_SITE,
                      party=DESK, **kw)
    if open_:
        return
    services.move(actor=technician, now=at(rng.choice((120, 600, 3000))),
                  to=RequestStatus.DONE, party=DESK, **kw)
    _rate(session, req, community, rng, at(4500), n)
    if req.status is RequestStatus.REOPENED and at(7000) < now:
        # The repeat visit: dispatched again, fixed, rated well this time.
        services.dispatch(actor=staff, now=at(4510), team=team, assignee=technician, **kw)
        services.move(actor=technician, now=at(5500), to=RequestStatus.DONE, party=DESK,
                      **kw)
        services.rate(session, actor=req.requester or staff, now=at(7000),
                      community=community, req=req, party=RESIDENT if req.requester else DESK,
                      overall=4, speed=3, attitude=5, comment="这次修好了。")
    if req.status is RequestStatus.CONFIRMED and rng.random() < 0.7:
        services.move(actor=staff, now=at(7200), to=RequestStatus.CLOSED, party=DESK, **kw)


def _rate(session, req, community, rng, when, n):
    """The return visit: the resident rates on the site, or staff record a phone call."""
    overall = rng.choice((5, 5, 4, 4, 3, 1)) if n % 7 else 2
    actor = req.requester or _user(session, "staff")
    services.rate(session, actor=actor, now=when, community=community, req=req,
                  party=RESIDENT if req.requester else DESK, overall=overall,
                  speed=max(1, overall - rng.randint(0, 1)), attitude=min(5, overall + 1),
                  comment="师傅很专业，谢谢！" if overall >= 4 else
                  ("还是漏水，希望再来看看。" if overall <= 2 else ""))
