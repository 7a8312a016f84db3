"""Owners' meetings, first part: drafting, the agenda, publishing and republishing the notice.

Services take ``session``, ``actor`` and ``now``; they flush, never commit, and raise domain
errors. A transition refuses to move while ``blockers`` lists anything.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from elections.rules import SPECIAL_MATTERS, Matter, NonVoterPolicy, adoption_bar

from ..audit.services import record
from ..errors import Conflict, DomainError
from ..models import (
    BallotBox,
    Community,
    Meeting,
    MeetingForm,
    MeetingKind,
    MeetingStatus,
    Motion,
    NoticeRevision,
    User,
)

#: Notice periods when the community's settings name none (days).
DEFAULT_NOTICE_DAYS = {MeetingKind.ORDINARY: 15, MeetingKind.EXTRAORDINARY: 7}
#: Community settings keys that override them.
NOTICE_SETTING = {
    MeetingKind.ORDINARY: "notice_days",
    MeetingKind.EXTRAORDINARY: "notice_days_extraordinary",
}

MATTER_LABELS = {
    Matter.RULES_OF_PROCEDURE: _l("Rules of procedure"),
    Matter.MANAGEMENT_STATUTE: _l("Management statute"),
    Matter.COMMITTEE: _l("Electing or replacing the owners' committee"),
    Matter.SERVICE_COMPANY: _l("Hiring or dismissing the property-service company"),
    Matter.USE_FUND: _l("Using the special maintenance fund"),
    Matter.RAISE_FUND: _l("Raising the special maintenance fund"),
    Matter.REBUILD: _l("Rebuilding or reconstructing buildings and facilities"),
    Matter.CHANGE_USE: _l("Changing the use of common parts or using them for business"),
    Matter.OTHER_MAJOR: _l("Other major matters of common parts"),
}

#: The items as the Civil Code words them, for the paper notice.
MATTER_ZH = {
    Matter.RULES_OF_PROCEDURE: "制定和修改业主大会议事规则",
    Matter.MANAGEMENT_STATUTE: "制定和修改管理规约",
    Matter.COMMITTEE: "选举业主委员会或者更换业主委员会成员",
    Matter.SERVICE_COMPANY: "选聘和解聘物业服务企业或者其他管理人",
    Matter.USE_FUND: "使用建筑物及其附属设施的维修资金",
    Matter.RAISE_FUND: "筹集建筑物及其附属设施的维修资金",
    Matter.REBUILD: "改建、重建建筑物及其附属设施",
    Matter.CHANGE_USE: "改变共有部分的用途或者利用共有部分从事经营活动",
    Matter.OTHER_MAJOR: "有关共有和共同管理权利的其他重大事项",
}

KIND_LABELS = {
    MeetingKind.ORDINARY: _l("Ordinary meeting"),
    MeetingKind.EXTRAORDINARY: _l("Extraordinary meeting"),
}
FORM_LABELS = {
    MeetingForm.ONLINE: _l("Online vote"),
    MeetingForm.WRITTEN: _l("Written consultation"),
    MeetingForm.IN_PERSON: _l("In person"),
    MeetingForm.MIXED: _l("Mixed (online and paper)"),
}
FORM_ZH = {
    MeetingForm.ONLINE: "网络投票",
    MeetingForm.WRITTEN: "书面征求意见",
    MeetingForm.IN_PERSON: "集体讨论（现场会议）",
    MeetingForm.MIXED: "网络投票与书面表决相结合",
}
STATUS_LABELS = {
    MeetingStatus.DRAFT: _l("Draft"),
    MeetingStatus.PUBLISHED: _l("Notice published"),
    MeetingStatus.VOTING: _l("Voting"),
    MeetingStatus.CLOSED: _l("Closed"),
    MeetingStatus.OPENED: _l("Ballots opened"),
    MeetingStatus.ANNOUNCED: _l("Result announced"),
    MeetingStatus.FINAL: _l("Final"),
}

_ZH_FRACTIONS = {(1, 2): "二分之一", (3, 4): "四分之三", (2, 3): "三分之二"}


def policy_text(policy: dict) -> str:
    """The result's sentence about non-voters and unmarked motions, in the reader's language
    (the signed record keeps the English one of ``elections``)."""
    first = (_("Owners who did not vote are not counted.")
             if policy.get("non_voters") == NonVoterPolicy.NOT_COUNTED.value else
             _("Owners who did not vote are counted as taking part, with the majority of those "
               "who voted."))
    second = (_("Ballots offer a “follow the majority” box: unmarked motions of a ballot with "
                "the box ticked count with the majority.")
              if policy.get("follow_majority_box") else
              _("Unmarked motions count as abstentions."))
    return f"{first} {second}"


def bar_text(matter: Matter) -> str:
    """The adoption bar of ``matter`` in words, as ``elections.rules.adoption_bar`` sets it."""
    bar, inclusive = adoption_bar(matter)
    if inclusive:
        return _("At least %(bar)s of the participating area and at least %(bar)s of the "
                 "participating owners", bar=f"{bar.numerator}/{bar.denominator}")
    return _("More than %(bar)s of the participating area and more than %(bar)s of the "
             "participating owners", bar=f"{bar.numerator}/{bar.denominator}")


def bar_text_zh(matter: Matter) -> str:
    """The same bar in the Civil Code's wording (for the paper notice)."""
    bar, inclusive = adoption_bar(matter)
    frac = _ZH_FRACTIONS.get((bar.numerator, bar.denominator),
                             f"{bar.denominator}分之{bar.numerator}")
    if inclusive:
        share = f"{frac}以上"
    elif (bar.numerator, bar.denominator) == (1, 2):
        share = "过半数"
    else:
        share = f"超过{frac}"
    return f"经参与表决专有部分面积{share}的业主且参与表决人数{share}的业主同意"


def is_special(matter: Matter) -> bool:
    return matter in SPECIAL_MATTERS


def notice_days_for(community: Community, kind: MeetingKind) -> int:
    """The notice period of a meeting of ``kind``: the community's setting, else 15 / 7 days."""
    value = (community.settings or {}).get(NOTICE_SETTING[kind])
    try:
        days = int(value)
    except (TypeError, ValueError):
        return DEFAULT_NOTICE_DAYS[kind]
    return days if days > 0 else DEFAULT_NOTICE_DAYS[kind]


def _non_voter_policy(community: Community) -> NonVoterPolicy:
    try:
        return NonVoterPolicy((community.settings or {}).get("non_voter_policy", ""))
    except ValueError:
        return NonVoterPolicy.NOT_COUNTED


#: Meetings whose decisions count for what other areas do (a fund spend, a tender).
DECIDED = (MeetingStatus.ANNOUNCED, MeetingStatus.FINAL)


def adopted_motions(
    session: Session, community: Community, matter: Matter | None = None, *,
    final_only: bool = False,
) -> list[Motion]:
    """Motions the owners adopted in ``community`` (of ``matter``), newest meeting first.

    A fund spend cites one of matter ``USE_FUND``; a tender one of ``SERVICE_COMPANY``. With
    ``final_only`` the objection period must be over too.
    """
    statuses = (MeetingStatus.FINAL,) if final_only else DECIDED
    query = (
        select(Motion).join(Meeting)
        .where(Meeting.community_id == community.id, Meeting.status.in_(statuses),
               Motion.adopted.is_(True))
    )
    if matter is not None:
        query = query.where(Motion.matter_value == Matter(matter).value)
    return list(session.scalars(query.order_by(Meeting.voting_closes_at.desc(), Motion.position)))


def meetings_of(session: Session, community: Community, *, drafts: bool) -> list[Meeting]:
    query = select(Meeting).where(Meeting.community_id == community.id)
    if not drafts:
        query = query.where(Meeting.status != MeetingStatus.DRAFT)
    return list(session.scalars(query.order_by(Meeting.voting_opens_at.desc(), Meeting.id)))


def _check_window(opens: dt.datetime, closes: dt.datetime) -> None:
    if closes <= opens:
        raise DomainError(_("Voting must close after it opens."), field="voting_closes_at")


def create_meeting(
    session: Session, *, actor: User, now: dt.datetime, community: Community, title: str,
    kind: MeetingKind, form: MeetingForm, voting_opens_at: dt.datetime,
    voting_closes_at: dt.datetime,
) -> Meeting:
    """Draft a meeting; its notice period and non-voter policy come from the community."""
    title = title.strip()
    if not title:
        raise DomainError(_("The meeting needs a title."), field="title")
    _check_window(voting_opens_at, voting_closes_at)
    meeting = Meeting(
        community_id=community.id, title=title, kind=kind, form=form,
        voting_opens_at=voting_opens_at, voting_closes_at=voting_closes_at,
        notice_days=notice_days_for(community, kind),
        non_voter_policy=_non_voter_policy(community), status=MeetingStatus.DRAFT,
        revision=0, created_by_id=actor.id, created_at=now,
    )
    session.add(meeting)
    session.flush()
    record(session, actor=actor, action="meeting.created", now=now,
           community_id=community.id, target=f"meeting:{meeting.id}",
           details={"title": title, "kind": kind.value})
    return meeting


def require_draft(meeting: Meeting) -> None:
    if meeting.status is not MeetingStatus.DRAFT:
        raise Conflict(_("The notice is published: its agenda is frozen. Amend the notice to "
                         "change it; republishing restarts the notice period."))


def update_meeting(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting, title: str,
    kind: MeetingKind, form: MeetingForm, voting_opens_at: dt.datetime,
    voting_closes_at: dt.datetime,
) -> Meeting:
    require_draft(meeting)
    title = title.strip()
    if not title:
        raise DomainError(_("The meeting needs a title."), field="title")
    _check_window(voting_opens_at, voting_closes_at)
    if kind is not meeting.kind:
        meeting.notice_days = notice_days_for(meeting.community, kind)
    meeting.title, meeting.kind, meeting.form = title, kind, form
    meeting.voting_opens_at, meeting.voting_closes_at = voting_opens_at, voting_closes_at
    session.flush()
    return meeting


def add_motion(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting, title: str,
    body: str, matter: Matter,
) -> Motion:
    require_draft(meeting)
    title = title.strip()
    if not title:
        raise DomainError(_("The motion needs a title."), field="title")
    position = max((m.position for m in meeting.motions), default=0) + 1
    motion = Motion(meeting=meeting, position=position, title=title, body=body.strip(),
                    matter_value=Matter(matter).value)
    session.add(motion)
    session.flush()
    return motion


def remove_motion(session: Session, *, actor: User, now: dt.datetime, motion: Motion) -> None:
    meeting = motion.meeting
    require_draft(meeting)
    meeting.motions.remove(motion)
    session.flush()
    for position, other in enumerate(meeting.motions, start=1):
        other.position = -position  # two steps: the unique (meeting, position) holds throughout
    session.flush()
    for other in meeting.motions:
        other.position = -other.position
    session.flush()


def notice_would_end(meeting: Meeting, now: dt.datetime) -> dt.datetime:
    """When the notice period ends if the notice is published at ``now``."""
    return now + dt.timedelta(days=meeting.notice_days)


def blockers(meeting: Meeting, now: dt.datetime) -> list[str]:
    """What stops the notice from being published at ``now`` (empty: it can be)."""
    if meeting.status is not MeetingStatus.DRAFT:
        return []
    found = []
    if not meeting.motions:
        found.append(_("The agenda has no motion: nothing unannounced can be voted on."))
    if meeting.voting_closes_at <= meeting.voting_opens_at:
        found.append(_("Voting closes before it opens."))
    if meeting.voting_opens_at < notice_would_end(meeting, now):
        found.append(_(
            "Voting opens before the notice period of %(days)s days would end: published now, "
            "voting could open at %(earliest)s at the earliest.",
            days=meeting.notice_days,
            earliest=format_datetime(notice_would_end(meeting, now), "medium"),
        ))
    from ..elections_web.services import notice_blockers

    found.extend(notice_blockers(object_session(meeting), meeting))
    return found


def _snapshot(meeting: Meeting) -> dict:
    from ..elections_web.services import notice_snapshot

    return {
        "title": meeting.title,
        "kind": meeting.kind.value,
        "form": meeting.form.value,
        "voting_opens_at": meeting.voting_opens_at.isoformat(),
        "voting_closes_at": meeting.voting_closes_at.isoformat(),
        "notice_days": meeting.notice_days,
        "notice_ends_at": meeting.notice_ends_at.isoformat(),
        "non_voter_policy": meeting.non_voter_policy.value,
        "motions": [
            {"position": m.position, "title": m.title, "body": m.body, "matter": m.matter_value}
            for m in meeting.motions
        ],
        "election": notice_snapshot(object_session(meeting), meeting),
    }


def publish(
    session: Session, *, actor: User, now: dt.datetime, meeting: Meeting, reason: str = "",
) -> NoticeRevision:
    """Publish the notice: the agenda freezes and the notice period starts at ``now``.

    Publishing an amended notice again is a republication: a new revision, a new period.
    """
    if meeting.status is not MeetingStatus.DRAFT:
        raise Conflict(_("The notice is already published."))
    found = blockers(meeting, now)
    if found:
        raise DomainError(" ".join(found))
    republishing = meeting.revision > 0
    meeting.status = MeetingStatus.PUBLISHED
    meeting.published_at = now
    meeting.notice_ends_at = notice_would_end(meeting, now)
    meeting.revision += 1
    notice = NoticeRevision(meeting=meeting, revision=meeting.revision, published_at=now,
                            published_by_id=actor.id, snapshot=_snapshot(meeting),
                            reason=reason.strip()[:500])
    session.add(notice)
    session.flush()
    record(session, actor=actor,
           action="meeting.republished" if republishing else "meeting.published", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"revision": meeting.revision,
                    "notice_ends_at": meeting.notice_ends_at.isoformat(),
                    "reason": notice.reason})
    return notice


def amend(session: Session, *, actor: User, now: dt.datetime, meeting: Meeting) -> Meeting:
    """Take a published notice back to draft to change it; it must then be republished."""
    if meeting.status is not MeetingStatus.PUBLISHED:
        raise Conflict(_("Only a published notice whose vote has not opened can be amended."))
    # Any box of the meeting (its motions, or a round of its election) froze its ballot paper.
    if session.scalar(select(BallotBox.id).where(BallotBox.meeting_id == meeting.id)
                      .limit(1)) is not None:
        raise Conflict(_("The key ceremony has frozen the ballot paper: the notice can no "
                         "longer be amended."))
    meeting.status = MeetingStatus.DRAFT
    session.flush()
    record(session, actor=actor, action="meeting.amending", now=now,
           community_id=meeting.community_id, target=f"meeting:{meeting.id}",
           details={"revision": meeting.revision})
    return meeting
