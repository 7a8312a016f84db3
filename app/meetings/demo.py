"""The demo community's meetings: one finished (announced, final, with an audit bundle that
verifies) and one whose vote is open now, both run through the real services."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from elections.rules import Matter

from ..models import BoxVoter, Community, MeetingForm, MeetingKind, Person, User
from . import opening, proxies, requests, services, voting

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
FINISHED_MOTIONS = (
    ("选聘上海梧桐物业服务有限公司为本小区物业服务企业",
     "合同期三年，物业服务费标准不变。", Matter.SERVICE_COMPANY),
    ("制定《梧桐苑业主大会议事规则》", "议事规则全文见附件。", Matter.RULES_OF_PROCEDURE),
)
#: The demo scrutineers' passphrases (printed by ``make demo`` so the open vote can be opened).
DEMO_PASSPHRASES = {"scrutineer1": "wutong scrutineer one", "scrutineer2": "wutong scrutineer two",
                    "scrutineer3": "wutong scrutineer three"}


def _user(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _meeting(session, community, committee, *, title, motions, published, opens, closes):
    meeting = services.create_meeting(
        session, actor=committee, now=published, community=community, title=title,
        kind=MeetingKind.ORDINARY, form=MeetingForm.MIXED, voting_opens_at=opens,
        voting_closes_at=closes)
    for motion_title, body, matter in motions:
        services.add_motion(session, actor=committee, now=published, meeting=meeting,
                            title=motion_title, body=body, matter=matter)
    services.publish(session, actor=committee, now=published, meeting=meeting)
    passphrases = {_user(session, name).id: phrase for name, phrase in DEMO_PASSPHRASES.items()}
    box = voting.hold_ceremony(session, actor=committee, now=published + dt.timedelta(days=1),
                               meeting=meeting, k=2, passphrases=passphrases)
    return meeting, box


def _vote(session, meeting, box, rng, *, share, start, end, agree, skip=()):
    """Owners cast (sealed on the server here; a real owner's browser seals it)."""
    staff, committee = _user(session, "staff"), _user(session, "committee")
    voters = [v for v in session.scalars(select(BoxVoter).where(BoxVoter.box_id == box.id)
                                         .order_by(BoxVoter.id)) if v.id not in skip]
    rng.shuffle(voters)
    chosen = voters[: round(len(voters) * share)]
    span = (end - start).total_seconds()
    for i, voter in enumerate(sorted(chosen, key=lambda _v: rng.random())):
        at = start + dt.timedelta(seconds=span * (i + 1) / (len(chosen) + 1))
        choices = {f"m{n}": ("agree" if rng.random() < agree else
                             rng.choice(("disagree", "abstain")))
                   for n in range(1, len(meeting.motions) + 1)}
        if i % 9 == 4:  # a returned paper form, entered by two people
            for clerk in (staff, committee):
                proxies.enter_paper(session, actor=clerk, now=at, meeting=meeting, voter=voter,
                                    raw_choices=choices, form_number=f"{box.id}-{i:04d}")
            continue
        sealed, credential, signature = voting.server_sealed_ballot(box, choices)
        owner = session.scalar(select(User).join(Person, Person.user_id == User.id).limit(1))
        voting.append_ballot(session, actor=owner or staff, now=at, box=box, voter=voter,
                             sealed=sealed, credential=credential, signature=signature,
                             channel=voting.Channel.ONLINE, server_sealed=True)


def add_demo_meetings(session: Session, community: Community, now: dt.datetime,
                      bundle_path: Path) -> None:
    """A finished meeting with its bundle at ``bundle_path``, and a meeting voting now."""
    rng = random.Random(20261202)
    committee = _user(session, "committee")
    owner = _user(session, "owner")
    owner_voter_ids = set()

    start = now - dt.timedelta(days=80)
    finished, box = _meeting(
        session, community, committee, title="2026年第二次业主大会会议",
        motions=FINISHED_MOTIONS, published=start, opens=start + dt.timedelta(days=16),
        closes=start + dt.timedelta(days=30))
    _vote(session, finished, box, rng, share=0.86, start=start + dt.timedelta(days=16),
          end=start + dt.timedelta(days=29), agree=0.8)
    closed = start + dt.timedelta(days=30, hours=1)
    voting.close_voting(session, actor=committee, now=closed, meeting=finished)
    for name in ("scrutineer1", "scrutineer2"):
        opening.bring_share(session, actor=_user(session, name), now=closed, meeting=finished,
                            share_text="", passphrase=DEMO_PASSPHRASES[name])
    opening.announce(session, actor=committee, now=closed + dt.timedelta(days=1),
                     meeting=finished)
    objection = opening.raise_objection(
        session, actor=owner, now=closed + dt.timedelta(days=3), meeting=finished,
        text="请公布纸质表决票的双人录入记录。")
    opening.answer_objection(
        session, actor=committee, now=closed + dt.timedelta(days=5), objection=objection,
        answer="纸质表决票均由两名工作人员分别录入，一致后方计入；审计包可供下载核验。")
    opening.make_final(session, actor=committee, now=closed + dt.timedelta(days=17),
                       meeting=finished)
    bundle_path.parent.mkdir(parents=True, exist_ok=True)
    bundle_path.write_bytes(opening.meeting_bundle(session, finished))

    published = now - dt.timedelta(days=20)
    current, box = _meeting(
        session, community, committee, title="2027年第一次业主大会会议", motions=MOTIONS,
        published=published, opens=published + dt.timedelta(days=16),
        closes=published + dt.timedelta(days=30))
    mine = voting.voter_of_user(session, box, owner)
    if mine is not None:
        owner_voter_ids.add(mine.id)  # the demo owner has not voted yet: try it
    _vote(session, current, box, rng, share=0.45, start=published + dt.timedelta(days=16),
          end=now - dt.timedelta(minutes=5), agree=0.7, skip=owner_voter_ids)

    # An owner's request for an extraordinary meeting, still gathering support.
    requests.open_request(
        session, actor=owner, now=now - dt.timedelta(days=4), community=community,
        title="提前更换小区物业服务企业",
        reason="近半年电梯多次困人、垃圾清运不及时，业主多次投诉未见改进，提议召开临时会议，"
               "决定是否提前解除物业服务合同并重新选聘。")
