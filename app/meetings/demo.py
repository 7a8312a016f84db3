"""The demo community's open meeting: a published notice whose notice period is running."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from elections.rules import Matter

from ..models import Community, MeetingForm, MeetingKind, User
from . import services

MOTIONS = (
    ("修改《梧桐苑管理规约》第十二条（电动自行车停放与充电）",
     "将电动自行车集中停放、充电的规定写入管理规约，禁止在楼道内停放、充电。",
     Matter.MANAGEMENT_STATUTE),
    ("使用专项维修资金更换2号楼电梯",
     "2号楼两部电梯已运行二十年，拟使用本楼专项维修资金约 86 万元更换，费用由2号楼业主分摊。",
     Matter.USE_FUND),
    ("续筹专项维修资金",
     "专项维修资金余额不足首期归集额的百分之三十，拟按每平方米 30 元续筹。",
     Matter.RAISE_FUND),
)


def add_demo_meeting(session: Session, community: Community, now: dt.datetime) -> None:
    """Publish now a 15-day notice for a mixed meeting with three motions."""
    committee = session.scalar(select(User).where(User.username == "committee"))
    published = now
    meeting = services.create_meeting(
        session, actor=committee, now=published, community=community,
        title="2027年第一次业主大会会议", kind=MeetingKind.ORDINARY, form=MeetingForm.MIXED,
        voting_opens_at=published + dt.timedelta(days=16),
        voting_closes_at=published + dt.timedelta(days=30),
    )
    for title, body, matter in MOTIONS:
        services.add_motion(session, actor=committee, now=published, meeting=meeting,
                            title=title, body=body, matter=matter)
    services.publish(session, actor=committee, now=published, meeting=meeting)
