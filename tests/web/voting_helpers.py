"""A meeting through its life for the web tests: published, ceremony held, voting open."""

from __future__ import annotations

import datetime as dt

from app.meetings import services, voting
from app.models import MeetingForm, MeetingKind, Role, utcnow
from elections.rules import Matter

PASSPHRASES = ("correct horse one", "correct horse two", "correct horse three")


class VotingWorld:
    """A community with owners, three scrutineers and a meeting whose vote is open."""

    def __init__(self, make, db_session, app, *, owners: int = 4, start=None,
                 accounts: bool = True, form: MeetingForm = MeetingForm.MIXED):
        self.make, self.s, self.app = make, db_session, app
        self.community = make.community()
        self.start = start or utcnow() - dt.timedelta(days=20)
        self.committee = make.user_with_role(Role.COMMITTEE, self.community)
        self.staff = [make.user_with_role(Role.STAFF, self.community) for _ in range(3)]
        self.scrutineers = [make.user_with_role(Role.SCRUTINEER, self.community)
                            for _ in PASSPHRASES]
        building = make.building(self.community, "1号楼")
        self.owners, self.units = [], []
        for i in range(owners):
            user = make.user() if accounts else None
            person = make.person(self.community, user=user, name=f"业主{i}")
            unit = make.unit(self.community, building, number=f"{101 + i}", area="100.00")
            make.own(person, unit)
            self.owners.append(user)
            self.units.append(unit)
        self.meeting = services.create_meeting(
            db_session, actor=self.committee, now=self.start, community=self.community,
            title="第一次业主大会", kind=MeetingKind.ORDINARY, form=form,
            voting_opens_at=self.start + dt.timedelta(days=16),
            voting_closes_at=self.start + dt.timedelta(days=30))
        for title, matter in (("修改管理规约", Matter.MANAGEMENT_STATUTE),
                              ("续筹维修资金", Matter.RAISE_FUND)):
            services.add_motion(db_session, actor=self.committee, now=self.start,
                                meeting=self.meeting, title=title, body="", matter=matter)
        services.publish(db_session, actor=self.committee, now=self.start, meeting=self.meeting)

    def ceremony(self, k: int = 2):
        with self.app.test_request_context():
            self.box = voting.hold_ceremony(
                self.s, actor=self.committee, now=self.start + dt.timedelta(days=1),
                meeting=self.meeting, k=k,
                passphrases={u.id: p for u, p in zip(self.scrutineers, PASSPHRASES)})
        return self.box

    def url(self, tail: str = "") -> str:
        return f"/c/{self.community.id}/meetings/{self.meeting.id}{tail}"

    def unit_label(self, i: int) -> str:
        """How staff write unit ``i`` on the paper-ballot form ("1号楼 101")."""
        return f"1号楼 {self.units[i].number}"

    def close_now(self):
        """Move the close of voting into the past, as if its time had come."""
        self.meeting.voting_closes_at = utcnow() - dt.timedelta(minutes=1)
        self.s.flush()

