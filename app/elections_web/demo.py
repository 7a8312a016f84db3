"""The demo community's first committee election: held within its first owners' meeting, the
candidates nominated through every channel, counted, announced and final — the elected and
the alternates handed to the committee area when it is installed."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from elections import encode_candidate_ballot
from elections.rules import Matter

from ..meetings import opening, services, voting
from ..meetings.demo import DEMO_PASSPHRASES, _user, _vote
from ..models import (
    BoxVoter,
    Community,
    MeetingForm,
    MeetingKind,
    NominationChannel,
    Ownership,
    Person,
    Unit,
)
from . import announcement, rounds
from . import services as election_services

CANDIDATES = (
    ("筹备组推荐，退休工程师，熟悉电梯与消防设施维护。", NominationChannel.PREPARATORY_GROUP),
    ("业主代表推荐，注册会计师，愿意负责维修资金的公开与审计。", NominationChannel.REPRESENTATIVES),
    ("业主联名推荐，小学教师，关注儿童游乐设施与绿化。", NominationChannel.JOINT_OWNERS),
    ("自荐：在小区居住十二年，做过三年楼组长。", NominationChannel.SELF),
)
#: Popularity of each of the twelve candidates (the chance a voter ticks them).
POPULARITY = (0.92, 0.88, 0.86, 0.84, 0.82, 0.8, 0.78, 0.76, 0.74, 0.62, 0.58, 0.3)


def _owners(session: Session, community: Community) -> list[Person]:
    return list(session.scalars(
        select(Person).join(Ownership, Ownership.person_id == Person.id)
        .join(Unit, Unit.id == Ownership.unit_id)
        .where(Unit.community_id == community.id, Person.is_developer.is_(False),
               Ownership.ended_at.is_(None)).order_by(Person.id).distinct()))


def add_demo_election(session: Session, community: Community, now: dt.datetime,
                      bundle_path: Path) -> None:
    """A finished first meeting with a finished 9-seat election (bundle at ``bundle_path``):
    the first committee's, whose term has ended (``now`` is that meeting's time); the committee
    demo seats its successor, which the first committee's page history then shows."""
    rng = random.Random(20260901)
    committee, owner = _user(session, "committee"), _user(session, "owner")
    start = now - dt.timedelta(days=150)
    meeting = services.create_meeting(
        session, actor=committee, now=start, community=community,
        title=f"{start.year}年第一次业主大会会议（选举第一届业主委员会）",
        kind=MeetingKind.ORDINARY,
        form=MeetingForm.MIXED, voting_opens_at=start + dt.timedelta(days=16),
        voting_closes_at=start + dt.timedelta(days=30))
    services.add_motion(session, actor=committee, now=start, meeting=meeting,
                        title="制定《梧桐苑管理规约》", body="管理规约全文见附件。",
                        matter=Matter.MANAGEMENT_STATUTE)
    election = election_services.create_election(session, actor=committee, now=start,
                                                 meeting=meeting)
    owners = [p for p in _owners(session, community) if p.user_id is None]
    rng.shuffle(owners)
    for i, person in enumerate(owners[:12]):
        statement, channel = CANDIDATES[i % len(CANDIDATES)]
        nominators = owners[20 + 5 * i: 25 + 5 * i] if channel in (
            NominationChannel.JOINT_OWNERS, NominationChannel.REPRESENTATIVES) else []
        election_services.nominate(session, actor=committee, now=start, election=election,
                                   person=person, channel=channel, nominators=nominators,
                                   consent=True, statement=statement)
    services.publish(session, actor=committee, now=start, meeting=meeting)
    passphrases = {_user(session, name).id: phrase for name, phrase in DEMO_PASSPHRASES.items()}
    ceremony_at = start + dt.timedelta(days=1)
    box = voting.hold_ceremony(session, actor=committee, now=ceremony_at, meeting=meeting, k=2,
                               passphrases=passphrases)
    election_box = rounds.hold_ceremony(session, actor=committee, now=ceremony_at,
                                        election=election, k=2, passphrases=passphrases)
    opens, closes = start + dt.timedelta(days=16), start + dt.timedelta(days=30)
    _vote(session, meeting, box, rng, share=0.88, start=opens, end=closes, agree=0.85)
    _cast_candidates(session, election, election_box, rng, opens, closes)

    closed = closes + dt.timedelta(hours=1)
    voting.close_voting(session, actor=committee, now=closed, meeting=meeting)
    rounds.close_round(session, actor=committee, now=closed, election=election)
    for name in ("scrutineer1", "scrutineer2"):
        scrutineer = _user(session, name)
        opening.bring_share(session, actor=scrutineer, now=closed, meeting=meeting,
                            share_text="", passphrase=DEMO_PASSPHRASES[name])
        rounds.bring_share(session, actor=scrutineer, now=closed, election=election,
                           share_text="", passphrase=DEMO_PASSPHRASES[name])
    announced = closed + dt.timedelta(days=1)
    opening.announce(session, actor=committee, now=announced, meeting=meeting)
    announcement.announce(session, actor=committee, now=announced, election=election)
    objection = announcement.raise_objection(
        session, actor=owner, now=announced + dt.timedelta(days=2), election=election,
        text="请说明候补委员的递补顺序。")
    announcement.answer_objection(
        session, actor=committee, now=announced + dt.timedelta(days=4), election=election,
        objection=objection, answer="候补委员按得票多少依次递补，名单及得票见选举结果公告。")
    final = announced + dt.timedelta(days=16)
    opening.make_final(session, actor=committee, now=final, meeting=meeting)
    announcement.make_final(session, actor=committee, now=final, election=election)
    bundle_path.parent.mkdir(parents=True, exist_ok=True)
    bundle_path.write_bytes(opening.box_bundle(session, election_box))


def _cast_candidates(session, election, box, rng, start, end) -> None:
    """Owners tick candidates by popularity, at most nine; a few blank; two paper forms
    over-selected (entered as marked: void)."""
    staff, committee = _user(session, "staff"), _user(session, "committee")
    ids = [c.ballot_id for c in election.candidates]
    voters = list(session.scalars(select(BoxVoter).where(BoxVoter.box_id == box.id)
                                  .order_by(BoxVoter.id)))
    rng.shuffle(voters)
    chosen = voters[: round(len(voters) * 0.86)]
    span = (end - start).total_seconds()
    for i, voter in enumerate(chosen):
        at = start + dt.timedelta(seconds=span * (i + 1) / (len(chosen) + 1))
        ticked = [cid for cid, p in zip(ids, POPULARITY, strict=True) if rng.random() < p]
        if i % 37 == 11:
            ticked = []  # a blank ballot: valid, counts for participation
        if i % 61 == 7:  # a paper form with ten ticks, entered as marked by two people
            for clerk in (staff, committee):
                rounds.enter_paper(session, actor=clerk, now=at, election=election,
                                   voter=voter, selected=ids[:10], form_number=f"E-{i:04d}")
            continue
        ticked = sorted(ticked, key=lambda cid: POPULARITY[ids.index(cid)], reverse=True)[:9]
        sealed, credential, signature = rounds.server_sealed(box, encode_candidate_ballot(ticked))
        voting.append_ballot(session, actor=staff, now=at, box=box, voter=voter, sealed=sealed,
                             credential=credential, signature=signature,
                             channel=voting.Channel.ONLINE, server_sealed=True)
