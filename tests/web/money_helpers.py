"""Helpers for the money tests: a community with units, a decided meeting, a funded fund."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl

from app.models import Meeting, MeetingForm, MeetingKind, MeetingStatus, Motion, utcnow
from elections.rules import Matter

DAY = dt.date(2026, 3, 15)


def decided_motion(db_session, community, user, *, matter=Matter.USE_FUND, adopted=True,
                   status=MeetingStatus.ANNOUNCED) -> Motion:
    """A meeting whose result is announced, with one motion of ``matter``."""
    now = utcnow()
    meeting = Meeting(
        community_id=community.id, title="Fund meeting", kind=MeetingKind.ORDINARY,
        form=MeetingForm.ONLINE, voting_opens_at=now - dt.timedelta(days=10),
        voting_closes_at=now - dt.timedelta(days=5), notice_days=15, status=status,
        published_at=now - dt.timedelta(days=30), notice_ends_at=now - dt.timedelta(days=15),
        announced_at=now - dt.timedelta(days=4), revision=1, created_by_id=user.id,
        created_at=now - dt.timedelta(days=31))
    meeting.motions = [Motion(position=1, title="Repair the lifts of building 1", body="",
                              matter_value=Matter(matter).value, adopted=adopted)]
    db_session.add(meeting)
    db_session.flush()
    return meeting.motions[0]


def small_community(make, *, areas=("68.42", "89.15", "112.37")):
    community = make.community()
    building = make.building(community, name="1号楼")
    other = make.building(community, name="2号楼")
    units = [make.unit(community, building, number=f"10{i}", area=a)
             for i, a in enumerate(areas, start=1)]
    units.append(make.unit(community, other, number="201", area="100.00"))
    return community, units


def rate(value: str) -> Decimal:
    return Decimal(value)


def xlsx(rows) -> bytes:
    """A workbook whose first sheet holds ``rows``."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
