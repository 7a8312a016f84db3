"""A tender through its life for the web tests: drafted on an adopted motion, published with
the committee's ceremony, bidders registered, a panel appointed."""

from __future__ import annotations

import base64
import datetime as dt

from app.models import Meeting, MeetingForm, MeetingKind, MeetingStatus, Motion, Role, utcnow
from app.tenders_web import opening, panel, services
from elections.rules import Matter
from elections.sealing import seal_ballot

PASSPHRASES = ("tender key one", "tender key two")
#: Every evaluator's own signing passphrase in these tests.
SIGNING_PASSPHRASE = "my own evaluator key"
CRITERIA = "plan | 服务方案 | 40 | 完整可行\nstaff | 人员配置 | 30 | 资历"


def adopted_service_motion(db_session, community, actor, *, now=None) -> Motion:
    """An announced owners' meeting that adopted hiring the service company by tender."""
    now = now or utcnow()
    meeting = Meeting(community_id=community.id, title="选聘物业服务企业的业主大会",
                      kind=MeetingKind.ORDINARY, form=MeetingForm.ONLINE,
                      voting_opens_at=now - dt.timedelta(days=40),
                      voting_closes_at=now - dt.timedelta(days=30), notice_days=15,
                      status=MeetingStatus.ANNOUNCED, created_at=now - dt.timedelta(days=60),
                      published_at=now - dt.timedelta(days=58),
                      notice_ends_at=now - dt.timedelta(days=43),
                      announced_at=now - dt.timedelta(days=29),
                      objections_close_at=now - dt.timedelta(days=14),
                      created_by_id=actor.id)
    db_session.add(meeting)
    db_session.flush()
    motion = Motion(meeting_id=meeting.id, position=1, title="通过招标选聘物业服务企业",
                    body="", matter_value=Matter.SERVICE_COMPANY.value, adopted=True)
    db_session.add(motion)
    db_session.flush()
    return motion


class TenderWorld:
    """A community whose committee (two key holders) published a tender; bids open."""

    def __init__(self, make, db_session, app, *, minimum_bidders=3, panel_size=5,
                 formula="lowest_price", publish=True, deadline_days=30):
        self.make, self.s, self.app = make, db_session, app
        self.community = make.community()
        self.chair = make.user_with_role(Role.CHAIR, self.community)
        self.committee = make.user_with_role(Role.COMMITTEE, self.community)
        self.holders = [self.chair, self.committee]
        self.now = utcnow()
        self.motion = adopted_service_motion(db_session, self.community, self.committee,
                                             now=self.now)
        with app.test_request_context():
            rules = services.build_rules(
                criteria=CRITERIA, price_weight="30", formula=formula, n_above="2",
                n_below="1", deadline=self.now + dt.timedelta(days=deadline_days),
                minimum_bidders=minimum_bidders, panel_size=panel_size, drop_extremes=True,
                shortlist_size=2)
            self.tender = services.create_tender(
                db_session, actor=self.committee, now=self.now, community=self.community,
                motion_id=self.motion.id, title="2027年物业服务招标", scope="全部公共部位",
                term_months=36, notice_days=20, rules=rules)
            if publish:
                self.publish()
        self.bidders = []
        self.evaluators = []

    def publish(self):
        with self.app.test_request_context():
            services.publish(self.s, actor=self.committee, now=self.now, tender=self.tender,
                             k=2, passphrases={u.id: p for u, p in
                                               zip(self.holders, PASSPHRASES)})

    def url(self, tail: str = "") -> str:
        return f"/c/{self.community.id}/tenders/{self.tender.id}{tail}"

    def after_deadline(self) -> dt.datetime:
        return self.tender.deadline + dt.timedelta(minutes=5)

    def bidder(self, i: int):
        """A company's outside account, registered for the tender."""
        user = self.make.user(f"bidder{self.tender.id}x{i}")
        with self.app.test_request_context():
            services.register_bidder(self.s, actor=user, now=utcnow(), tender=self.tender,
                                     company=f"物业公司{i}", licence_number=f"91310000{i:010d}",
                                     contact=f"经理{i} 1380000000{i}")
        self.bidders.append(user)
        return user

    def bid(self, user, price: str, *, at=None):
        with self.app.test_request_context():
            return services.submit_bid(self.s, actor=user, now=at or utcnow(),
                                       tender=self.tender, price=price, text="方案")

    def appoint(self, count: int):
        with self.app.test_request_context():
            for _i in range(count):
                user = self.make.user()
                panel.appoint(self.s, actor=self.committee, now=self.now, tender=self.tender,
                                 member=user, seat_role="building")
                self.evaluators.append(user)
        return self.evaluators

    def open_bids(self):
        at = self.after_deadline()
        with self.app.test_request_context():
            for user, passphrase in zip(self.holders, PASSPHRASES):
                opening.bring_share(self.s, actor=user, now=at, tender=self.tender,
                                     purpose=services.KeyPurpose.BIDS, passphrase=passphrase)

    def declare_all(self, conflicts=None):
        conflicts = conflicts or {}
        with self.app.test_request_context():
            for i, user in enumerate(self.evaluators):
                panel.declare(self.s, actor=user, now=self.after_deadline(),
                              tender=self.tender, conflicts=conflicts.get(i, []),
                              passphrase=SIGNING_PASSPHRASE)

    def bid_ids(self) -> list[str]:
        return [b.bid_id for b in services.opened_bids(self.tender)]

    def scores(self, plan: str, staff: str) -> dict:
        """A sheet's scores as the browser seals them: bid → criterion → text."""
        return {b: {"plan": plan, "staff": staff} for b in self.bid_ids()}

    def sealed_sheet(self, user, scores: dict) -> str:
        """A sheet sealed as the evaluator's browser seals it (base64 of the envelope)."""
        seat = panel.seat_of(self.s, self.tender, user)
        sealed = seal_ballot(bytes(self.tender.sheet_public_key),
                             services.box_name(self.tender, services.KeyPurpose.SHEETS),
                             services.SHEET_KIND, panel.sheet_plaintext(seat, scores))
        return base64.b64encode(sealed).decode()

    def sheet(self, user, plan="30", staff="20"):
        scores = self.scores(plan, staff)
        with self.app.test_request_context():
            return panel.submit_sheet(self.s, actor=user, now=self.after_deadline(),
                                      tender=self.tender,
                                      sealed_b64=self.sealed_sheet(user, scores))

    def open_sheets(self):
        with self.app.test_request_context():
            for user, passphrase in zip(self.holders, PASSPHRASES):
                opening.bring_share(self.s, actor=user, now=self.after_deadline(),
                                     tender=self.tender, purpose=services.KeyPurpose.SHEETS,
                                     passphrase=passphrase)


def owners_decided(db_session, meeting, *, adopted: bool) -> None:
    """The owners' meeting went through its vote and its objection period: result final."""
    now = utcnow()
    meeting.published_at = meeting.published_at or now - dt.timedelta(days=58)
    meeting.notice_ends_at = meeting.notice_ends_at or now - dt.timedelta(days=43)
    meeting.announced_at = meeting.announced_at or now - dt.timedelta(days=29)
    meeting.objections_close_at = meeting.objections_close_at or now - dt.timedelta(days=14)
    meeting.status = MeetingStatus.FINAL
    for motion in meeting.motions:
        motion.adopted = adopted
    db_session.flush()
