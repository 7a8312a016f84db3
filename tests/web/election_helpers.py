"""A meeting with a committee election for the web tests: owners, candidates, scrutineers."""

from __future__ import annotations

import datetime as dt

from voting_helpers import PASSPHRASES

from app.elections_web import rounds
from app.elections_web import services as election_services
from app.meetings import services
from app.models import MeetingForm, MeetingKind, NominationChannel, Role, utcnow
from elections.rules import Matter


class ElectionWorld:
    """``owners`` owners of 100 m² each; a draft meeting with a 5-seat election and
    ``candidates`` candidates (owners 0…), published unless ``publish=False``."""

    def __init__(self, make, db_session, app, *, owners: int = 9, candidates: int = 6,
                 seats: int = 5, publish: bool = True, start=None, **election_args):
        self.make, self.s, self.app = make, db_session, app
        self.community = make.community()
        self.start = start or utcnow() - dt.timedelta(days=20)
        self.committee = make.user_with_role(Role.COMMITTEE, self.community)
        self.staff = [make.user_with_role(Role.STAFF, self.community) for _ in range(2)]
        self.scrutineers = [make.user_with_role(Role.SCRUTINEER, self.community)
                            for _ in PASSPHRASES]
        building = make.building(self.community, "1号楼")
        self.owners, self.persons, self.units = [], [], []
        for i in range(owners):
            user = make.user()
            person = make.person(self.community, user=user, name=f"业主{i}")
            unit = make.unit(self.community, building, number=f"{101 + i}", area="100.00")
            make.own(person, unit)
            self.owners.append(user)
            self.persons.append(person)
            self.units.append(unit)
        self.meeting = services.create_meeting(
            db_session, actor=self.committee, now=self.start, community=self.community,
            title="选举第一届业主委员会", kind=MeetingKind.ORDINARY, form=MeetingForm.MIXED,
            voting_opens_at=self.start + dt.timedelta(days=16),
            voting_closes_at=self.start + dt.timedelta(days=30))
        services.add_motion(db_session, actor=self.committee, now=self.start,
                            meeting=self.meeting, title="通过业主大会议事规则", body="",
                            matter=Matter.RULES_OF_PROCEDURE)
        self.election = election_services.create_election(
            db_session, actor=self.committee, now=self.start, meeting=self.meeting,
            seats=seats, **election_args)
        for person in self.persons[:candidates]:
            election_services.nominate(
                db_session, actor=self.committee, now=self.start, election=self.election,
                person=person, channel=NominationChannel.PREPARATORY_GROUP, nominators=[],
                consent=True, statement=f"{person.name}的竞选陈述")
        if publish:
            services.publish(db_session, actor=self.committee, now=self.start,
                             meeting=self.meeting)

    def ceremony(self, k: int = 2, now=None):
        with self.app.test_request_context():
            return rounds.hold_ceremony(
                self.s, actor=self.committee, now=now or self.start + dt.timedelta(days=1),
                election=self.election, k=k,
                passphrases={u.id: p for u, p in zip(self.scrutineers, PASSPHRASES)})

    def url(self, tail: str = "") -> str:
        return f"/c/{self.community.id}/meetings/{self.meeting.id}/election{tail}"

    def unit_label(self, i: int) -> str:
        return f"1号楼 {self.units[i].number}"

    def cid(self, i: int) -> str:
        """The ballot id of candidate ``i`` (owner i)."""
        return f"c{i + 1}"

    def close_round_now(self):
        """Move the current round's close into the past, as if its time had come."""
        rnd = rounds.latest_round(self.election)
        rnd.opens_at = min(rnd.opens_at, utcnow() - dt.timedelta(hours=1))
        rnd.closes_at = utcnow() - dt.timedelta(minutes=1)
        self.s.flush()
