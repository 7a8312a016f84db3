"""The authorization matrix: every route × every role × own / other community.

``MATRIX`` holds, for every endpoint of the site, a request to make and the roles that may make
it in their own community. Each role is then asked everything, in its own community and from
another one; a route that is missing from the table fails ``test_every_route_is_in_the_matrix``,
so nobody adds a page without saying who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from committee_helpers import seat_small

from app.alarms import services as alarm_services
from app.alarms.core import EventType
from app.elections_web import services as election_services
from app.meetings import services as meeting_services
from app.models import (
    ApiToken,
    DeviceKind,
    DisclosureKind,
    Ledger,
    MeetingForm,
    MeetingKind,
    MeetingRequest,
    NominationChannel,
    RequestKind,
    Role,
    Urgency,
    utcnow,
)
from app.money.disclosure import publish_disclosure
from app.money.fees import record_payment
from app.money.fund import file_spend
from app.money.ledger import BANK, Line, post_entry
from app.register.services import upload_import
from app.service.services import Photo, file_request
from app.service.workflow import DESK
from app.tenders_web import panel as tender_panel
from app.tenders_web import services as tender_services
from elections.rules import Matter

ANON = "anonymous"
ROLES = [ANON, *[r.value for r in Role]]
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANON}
MEMBERS = SIGNED_IN
GOVERNANCE = frozenset({"committee", "chair", "auditor"})
IMPORTERS = frozenset({"committee", "chair", "admin"})
MEETING_MANAGERS = frozenset({"committee", "chair"})
MEETING_READERS = MEETING_MANAGERS | {"owner", "auditor", "scrutineer", "staff"}
VOTERS = frozenset({"owner", "resident"})
MEETING_OFFICE = MEETING_MANAGERS | {"staff"}
TURNOUT_READERS = MEETING_OFFICE | {"auditor", "scrutineer"}
BUNDLE_READERS = MEETING_MANAGERS | {"owner", "auditor", "scrutineer"}
SERVICE_FILERS = frozenset({"owner", "resident", "staff"})
SERVICE_DESK = frozenset({"staff"})
SERVICE_STATS = frozenset({"staff", "committee", "chair", "auditor"})
BOOKKEEPERS = frozenset({"committee", "chair"})
MONEY_AUDITORS = BOOKKEEPERS | {"auditor"}
MONEY_READERS = MONEY_AUDITORS | {"owner"}
FEES_OFFICE = BOOKKEEPERS | {"staff"}
FEES_READERS = FEES_OFFICE | {"owner", "resident", "auditor"}
ALARM_READERS = frozenset({"staff", "committee", "chair"})
ALARM_HANDLERS = frozenset({"staff"})
TENDER_READERS = MEETING_MANAGERS | {"owner", "auditor", "evaluator"}
T = "/c/{c}/tenders/{tender}"
COMMITTEE_READERS = GOVERNANCE | {"owner"}
CM = "/c/{c}/committee"
E = "/c/{c}/meetings/{meeting}/election"


@dataclass(frozen=True)
class Case:
    method: str
    url: str
    allowed: frozenset[str]
    #: Whether the route shows data of one community (then "other community" is denied).
    scoped: bool = True
    data: dict | None = None


MATRIX: dict[str, Case] = {
    "main.index": Case("GET", "/", EVERYONE, scoped=False),
    "main.dashboard": Case("GET", "/dashboard", SIGNED_IN, scoped=False),
    "main.community": Case("GET", "/c/{c}/", MEMBERS),
    "auth.login": Case("GET", "/login", EVERYONE, scoped=False),
    # The second step exists only between a correct password and the code: without a pending
    # login, everybody is sent back to the login page.
    "auth.totp": Case("GET", "/login/totp", frozenset(), scoped=False),
    "auth.totp_setup": Case("GET", "/login/totp/setup", frozenset(), scoped=False),
    "auth.logout": Case("POST", "/logout", EVERYONE, scoped=False),
    "auth.profile": Case("GET", "/profile", SIGNED_IN, scoped=False),
    "notifications.index": Case("GET", "/notifications", SIGNED_IN, scoped=False),
    "notifications.mark_read": Case("POST", "/notifications/read", SIGNED_IN, scoped=False),
    "auth.revoke_token": Case("POST", "/profile/tokens/{token}/revoke", frozenset(),
                              scoped=False),
    "auth.language": Case("POST", "/language/en", EVERYONE, scoped=False),
    "admin.communities": Case("GET", "/admin/communities", frozenset({"admin"}), scoped=False),
    "admin.roles": Case("GET", "/c/{c}/roles", frozenset({"chair", "admin"})),
    "admin.revoke": Case("POST", "/c/{c}/roles/{grant}/revoke", frozenset({"chair", "admin"})),
    "audit.log": Case("GET", "/c/{c}/audit", GOVERNANCE | {"admin"}),
    "register.units": Case("GET", "/c/{c}/register", GOVERNANCE | {"staff", "admin"}),
    "register.import_upload": Case("GET", "/c/{c}/register/import", IMPORTERS),
    "register.import_preview": Case("GET", "/c/{c}/register/import/{imp}", IMPORTERS),
    "register.import_confirm": Case("POST", "/c/{c}/register/import/{imp}/confirm", IMPORTERS),
    "register.import_discard": Case("POST", "/c/{c}/register/import/{imp}/discard", IMPORTERS),
    "register.export": Case("GET", "/c/{c}/register/export.xlsx", GOVERNANCE),
    "activation.activate": Case("GET", "/activate", EVERYONE, scoped=False),
    "activation.letters": Case("GET", "/c/{c}/letters", frozenset({"committee", "chair", "staff"})),
    # A published meeting: its notice is for owners and the governance roles; drafting and
    # the agenda are the committee's (a published agenda answers 409 to them: frozen).
    "meetings.index": Case("GET", "/c/{c}/meetings", MEETING_READERS),
    "meetings.new": Case("GET", "/c/{c}/meetings/new", MEETING_MANAGERS),
    "meetings.detail": Case("GET", "/c/{c}/meetings/{meeting}", MEETING_READERS),
    "meetings.notice_pdf": Case("GET", "/c/{c}/meetings/{meeting}/notice.pdf", MEETING_READERS),
    "meetings.edit": Case("GET", "/c/{c}/meetings/{meeting}/edit", MEETING_MANAGERS),
    "meetings.motion_add": Case("POST", "/c/{c}/meetings/{meeting}/motions", MEETING_MANAGERS,
                                data={"title": "x", "matter": "2"}),
    "meetings.motion_remove": Case("POST", "/c/{c}/meetings/{meeting}/motions/{motion}/remove",
                                   MEETING_MANAGERS),
    "meetings.publish": Case("POST", "/c/{c}/meetings/{meeting}/publish", MEETING_MANAGERS),
    "meetings.amend": Case("POST", "/c/{c}/meetings/{meeting}/amend", MEETING_MANAGERS),
    # The vote of a meeting whose notice is published and whose box is not made yet: the
    # allowed roles get the page or a 409/422 that says why (no ceremony, not closed …).
    "voting.ceremony": Case("GET", "/c/{c}/meetings/{meeting}/ceremony",
                            MEETING_MANAGERS | {"scrutineer"}),
    "voting.my_share": Case("GET", "/c/{c}/meetings/{meeting}/my-share", frozenset({"scrutineer"})),
    "voting.ballot": Case("GET", "/c/{c}/meetings/{meeting}/ballot", VOTERS),
    "voting.cast": Case("POST", "/c/{c}/meetings/{meeting}/ballot", VOTERS),
    "voting.board": Case("GET", "/c/{c}/meetings/{meeting}/board", MEETING_READERS),
    "voting.my_proxy": Case("GET", "/c/{c}/meetings/{meeting}/proxies", VOTERS),
    "voting.office_proxies": Case("GET", "/c/{c}/meetings/{meeting}/proxies/office",
                                  MEETING_OFFICE),
    "voting.revoke_proxy": Case("POST", "/c/{c}/meetings/{meeting}/proxies/{proxy}/revoke",
                                frozenset()),
    "voting.paper": Case("GET", "/c/{c}/meetings/{meeting}/paper", MEETING_OFFICE),
    "voting.turnout_page": Case("GET", "/c/{c}/meetings/{meeting}/turnout", TURNOUT_READERS),
    "voting.not_voted_xlsx": Case("GET", "/c/{c}/meetings/{meeting}/turnout/not-voted.xlsx",
                                  TURNOUT_READERS),
    "voting.close": Case("POST", "/c/{c}/meetings/{meeting}/close", MEETING_MANAGERS),
    "voting.opening_page": Case("GET", "/c/{c}/meetings/{meeting}/opening",
                                frozenset({"scrutineer"})),
    "voting.result": Case("GET", "/c/{c}/meetings/{meeting}/result", MEETING_READERS),
    "voting.announce": Case("POST", "/c/{c}/meetings/{meeting}/announce", MEETING_MANAGERS),
    "voting.announcement_pdf": Case("GET", "/c/{c}/meetings/{meeting}/announcement.pdf",
                                    MEETING_READERS),
    "voting.objection": Case("POST", "/c/{c}/meetings/{meeting}/objections", frozenset({"owner"})),
    "voting.answer": Case("POST", "/c/{c}/meetings/{meeting}/objections/{objection}/answer",
                          frozenset()),
    "voting.final": Case("POST", "/c/{c}/meetings/{meeting}/final", MEETING_MANAGERS),
    # The meeting's committee election, its list published with the notice and no round held
    # yet: the steps that are not due answer 409/422 to those allowed; candidate, round and
    # objection 0 do not exist (404 for everybody).
    "elections.page": Case("GET", E, MEETING_READERS),
    "elections.setup": Case("POST", E + "/setup", MEETING_MANAGERS),
    "elections.nominate": Case("POST", E + "/nominate", MEETING_MANAGERS),
    "elections.self_nominate": Case("POST", E + "/self-nominate", frozenset({"owner"})),
    "elections.withdraw": Case("POST", E + "/candidates/0/withdraw", frozenset()),
    "elections.photo": Case("GET", E + "/candidates/0/photo", frozenset()),
    "elections.disqualify": Case("POST", E + "/disqualify", MEETING_MANAGERS),
    "elections.ceremony": Case("GET", E + "/ceremony", MEETING_MANAGERS | {"scrutineer"}),
    "elections.ballot": Case("GET", E + "/ballot", VOTERS),
    "elections.board": Case("GET", E + "/board", MEETING_READERS),
    "elections.paper": Case("GET", E + "/paper", MEETING_OFFICE),
    "elections.close": Case("POST", E + "/close", MEETING_MANAGERS),
    "elections.opening_page": Case("GET", E + "/opening", frozenset({"scrutineer"})),
    "elections.start_round": Case("POST", E + "/rounds", MEETING_MANAGERS),
    "elections.decide": Case("POST", E + "/decide", MEETING_MANAGERS),
    "elections.bundle": Case("GET", E + "/rounds/1/bundle.zip", frozenset()),
    "elections.result": Case("GET", E + "/result", MEETING_READERS),
    "elections.announce": Case("POST", E + "/announce", MEETING_MANAGERS),
    "elections.announcement_pdf": Case("GET", E + "/announcement.pdf", MEETING_READERS),
    "elections.objection": Case("POST", E + "/objections", frozenset({"owner"})),
    "elections.answer": Case("POST", E + "/objections/0/answer", frozenset()),
    "elections.final": Case("POST", E + "/final", MEETING_MANAGERS),
    "meeting_requests.index": Case("GET", "/c/{c}/meeting-requests", MEETING_READERS),
    "meeting_requests.new": Case("POST", "/c/{c}/meeting-requests", frozenset({"owner"})),
    "meeting_requests.detail": Case("GET", "/c/{c}/meeting-requests/{request}", MEETING_READERS),
    "meeting_requests.support": Case("POST", "/c/{c}/meeting-requests/{request}/support",
                                     frozenset({"owner"})),
    "voting.bundle": Case("GET", "/c/{c}/meetings/{meeting}/bundle.zip", BUNDLE_READERS),
    # The service desk. The request of the world was filed by the desk for a caller without an
    # account: only the desk sees it (owners and residents get 404, not even its existence).
    "service.mine": Case("GET", "/c/{c}/service", SERVICE_FILERS),
    "service.new": Case("GET", "/c/{c}/service/new", SERVICE_FILERS),
    "service.detail": Case("GET", "/c/{c}/service/requests/{req}", SERVICE_DESK),
    "service.photo": Case("GET", "/c/{c}/service/requests/{req}/photos/{photo}", SERVICE_DESK),
    "service.note": Case("POST", "/c/{c}/service/requests/{req}/notes", SERVICE_DESK),
    "service.rate": Case("POST", "/c/{c}/service/requests/{req}/rating", SERVICE_DESK),
    "service.reopen": Case("POST", "/c/{c}/service/requests/{req}/reopen", SERVICE_DESK),
    "service.dispatch": Case("POST", "/c/{c}/service/requests/{req}/dispatch", SERVICE_DESK),
    "service.move": Case("POST", "/c/{c}/service/requests/{req}/status", SERVICE_DESK),
    "service.postpone": Case("POST", "/c/{c}/service/requests/{req}/postpone", SERVICE_DESK),
    "service.desk": Case("GET", "/c/{c}/service/desk", SERVICE_DESK),
    "service.board": Case("GET", "/c/{c}/service/board", SERVICE_DESK),
    "service.sweep": Case("POST", "/c/{c}/service/sweep", SERVICE_DESK),
    "service.stats": Case("GET", "/c/{c}/service/stats", SERVICE_STATS),
    "service.stats_xlsx": Case("GET", "/c/{c}/service/stats.xlsx", SERVICE_STATS),
    "service.settings": Case("GET", "/c/{c}/service/settings", SERVICE_DESK),
    "service.team_add": Case("POST", "/c/{c}/service/teams", SERVICE_DESK),
    # Money: published statements for owners and the governance roles; the books and the
    # fund's sub-accounts for the committee and auditors; booking for the committee (an empty
    # POST answers 422 to them: the form names what is missing).
    "money.index": Case("GET", "/c/{c}/money", MONEY_READERS),
    "money.publish": Case("POST", "/c/{c}/money/disclosures", BOOKKEEPERS),
    "money.disclosure": Case("GET", "/c/{c}/money/disclosures/{disclosure}", MONEY_READERS),
    "money.journal": Case("GET", "/c/{c}/money/journal", MONEY_AUDITORS),
    "money.new_entry": Case("GET", "/c/{c}/money/journal/new", BOOKKEEPERS),
    "money.reverse": Case("POST", "/c/{c}/money/journal/{entry}/reverse", BOOKKEEPERS),
    "money.close_period": Case("POST", "/c/{c}/money/periods", BOOKKEEPERS),
    "money.import_upload": Case("GET", "/c/{c}/money/import", BOOKKEEPERS),
    "money.fund_overview": Case("GET", "/c/{c}/money/fund", MONEY_AUDITORS),
    "money.fund_receipt": Case("POST", "/c/{c}/money/fund/receipts", BOOKKEEPERS),
    "money.file_spend": Case("POST", "/c/{c}/money/fund/spends", BOOKKEEPERS),
    "money.pay_spend": Case("POST", "/c/{c}/money/fund/spends/{spend}/pay", BOOKKEEPERS),
    "money.my_fund": Case("GET", "/c/{c}/money/fund/mine", MONEY_READERS),
    "money.my_fund_pdf": Case("GET", "/c/{c}/money/fund/mine.pdf", MONEY_READERS),
    "money.disclosure_pdf": Case("GET", "/c/{c}/money/disclosures/{disclosure}.pdf",
                                 MONEY_READERS),
    # Any reader may ask, but only about a unit they own (the form offers only those; an
    # empty form answers 422).
    "money.ask_review": Case("POST", "/c/{c}/money/fund/mine/reviews", MONEY_READERS),
    "money.answer_review": Case("POST", "/c/{c}/money/fund/reviews/0/answer", BOOKKEEPERS),
    "money.audit_export": Case("GET", "/c/{c}/money/export.xlsx", MONEY_AUDITORS),
    # Property fees: the schedule for everyone living there and the governance roles; billing,
    # payments, arrears and follow-ups for the office (staff and committee); a receipt for the
    # office or the owner of the unit paid for (the world's payment is for nobody's unit).
    "fees.index": Case("GET", "/c/{c}/money/fees", FEES_READERS),
    "fees.publish_schedule": Case("POST", "/c/{c}/money/fees/schedule", FEES_OFFICE),
    "fees.office": Case("GET", "/c/{c}/money/fees/office", FEES_OFFICE),
    "fees.issue_bills": Case("POST", "/c/{c}/money/fees/bills", FEES_OFFICE),
    "fees.record_payment": Case("POST", "/c/{c}/money/fees/payments", FEES_OFFICE),
    "fees.import_payments": Case("POST", "/c/{c}/money/fees/payments/import", FEES_OFFICE),
    "fees.follow_up": Case("POST", "/c/{c}/money/fees/units/0/follow-ups", FEES_OFFICE),
    "fees.assign_payment": Case("POST", "/c/{c}/money/fees/payments/{payment}/assign",
                                FEES_OFFICE),
    "fees.receipt": Case("GET", "/c/{c}/money/fees/payments/{payment}/receipt.pdf",
                         FEES_OFFICE),
    # The alarm console is the property office's; the committee may look, not handle. The
    # handling posts carry no form: allowed roles get a redirect (acknowledged) or a 422.
    "alarms.console": Case("GET", "/c/{c}/alarms", ALARM_READERS),
    "alarms.feed": Case("GET", "/c/{c}/alarms/feed.json", ALARM_READERS),
    "alarms.stream": Case("GET", "/c/{c}/alarms/stream", ALARM_READERS),
    "alarms.devices": Case("GET", "/c/{c}/alarms/devices", ALARM_READERS),
    "alarms.stats": Case("GET", "/c/{c}/alarms/stats", ALARM_READERS),
    "alarms.detail": Case("GET", "/c/{c}/alarms/{alarm}", ALARM_READERS),
    "alarms.acknowledge": Case("POST", "/c/{c}/alarms/{alarm}/acknowledge", ALARM_HANDLERS),
    "alarms.dispatch": Case("POST", "/c/{c}/alarms/{alarm}/dispatch", ALARM_HANDLERS),
    "alarms.close": Case("POST", "/c/{c}/alarms/{alarm}/close", ALARM_HANDLERS),
    "alarms.note": Case("POST", "/c/{c}/alarms/{alarm}/notes", ALARM_HANDLERS),
    # The registry and the devices' secrets are the property office's.
    "alarms.device_new": Case("GET", "/c/{c}/alarms/devices/new", ALARM_HANDLERS),
    "alarms.device": Case("GET", "/c/{c}/alarms/devices/{device_id}", ALARM_HANDLERS),
    "alarms.renew_secret": Case("POST", "/c/{c}/alarms/devices/{device_id}/secret",
                                ALARM_HANDLERS),
    "alarms.site_map": Case("GET", "/c/{c}/alarms/site-map", ALARM_READERS),
    "alarms.site_map_upload": Case("POST", "/c/{c}/alarms/site-map", ALARM_HANDLERS),
    # Owners arm their own panel (the service refuses another's: 403), staff any panel.
    "alarms.home": Case("GET", "/c/{c}/alarms/home", frozenset({"owner", "staff"})),
    "alarms.arming": Case("POST", "/c/{c}/alarms/devices/{device_id}/arming",
                          frozenset({"staff"}), data={"action": "arm_away"}),
    # Devices only, with their own secret as bearer token: no session opens it.
    "alarms.http_event": Case("POST", "/api/devices/{c}/{device}/events", frozenset()),
    # A published tender: its file and opening record are public notices (any company may
    # bid); bidders are outside accounts, so registering and bidding need only a sign-in
    # (the service checks the registration); the panel's pages are for evaluators.
    "tenders.index": Case("GET", "/c/{c}/tenders", TENDER_READERS),
    "tenders.new": Case("GET", "/c/{c}/tenders/new", MEETING_MANAGERS),
    "tenders.detail": Case("GET", T, EVERYONE, scoped=False),
    "tenders.publish": Case("POST", f"{T}/publish", MEETING_MANAGERS),
    "tenders.register": Case("GET", f"{T}/register", SIGNED_IN, scoped=False),
    "tenders.bid": Case("GET", f"{T}/bid", SIGNED_IN, scoped=False),
    "tenders.withdraw": Case("POST", f"{T}/bid/withdraw", frozenset()),
    "tenders.opening": Case("GET", f"{T}/opening", MEETING_MANAGERS),
    "tenders.opening_record": Case("GET", f"{T}/opening.json", EVERYONE, scoped=False),
    # A bid's file exists outside its seal only from the opening: before it, 404 for all.
    "tenders.document": Case("GET", f"{T}/bids/T0/documents/0", frozenset()),
    "tenders.panel": Case("GET", f"{T}/panel", MEETING_MANAGERS),
    "tenders.declare": Case("GET", f"{T}/declare", frozenset({"evaluator"})),
    "tenders.sheet": Case("GET", f"{T}/sheet", frozenset({"evaluator"})),
    "tenders.report": Case("GET", f"{T}/report", TENDER_READERS),
    # Signing needs an open report: the seated evaluator is answered 409, others denied.
    "tenders.sign_report": Case("POST", f"{T}/report/sign", frozenset({"evaluator"})),
    # The decision steps: a tender taking bids answers 409 to those allowed; objections come
    # from the community's owners and the tender's bidders.
    "tenders.resolve_tie": Case("POST", f"{T}/ties", MEETING_MANAGERS),
    "tenders.to_meeting": Case("POST", f"{T}/to-meeting", MEETING_MANAGERS),
    "tenders.publish_candidates": Case("POST", f"{T}/candidates", MEETING_MANAGERS),
    "tenders.shortlist_motion": Case("POST", f"{T}/shortlist-motion", MEETING_MANAGERS),
    "tenders.objection": Case("POST", f"{T}/objections", frozenset({"owner"})),
    "tenders.answer": Case("POST", f"{T}/objections/0/answer", frozenset()),
    "tenders.award": Case("POST", f"{T}/award", MEETING_MANAGERS),
    "tenders.final": Case("POST", f"{T}/final", MEETING_MANAGERS),
    "tenders.bundle": Case("GET", f"{T}/bundle.json", TENDER_READERS),
    "tenders.file_pdf": Case("GET", f"{T}/tender.pdf", EVERYONE, scoped=False),
    "tenders.report_pdf": Case("GET", f"{T}/report.pdf", TENDER_READERS),
    # The committee's page is for the owners and the governance roles; the office or the
    # chair records a vacancy. The members' vote needs a seat (the service answers 403 to a
    # role holder without one, so no role reaches them here); owners propose and support
    # recalls; a queued recall goes on an agenda by whoever drafts meetings (409: not reached).
    "committee.index": Case("GET", CM, COMMITTEE_READERS),
    "committee.history": Case("GET", f"{CM}/history", COMMITTEE_READERS),
    "committee.vacancy": Case("POST", f"{CM}/members/{{member}}/vacancy",
                              frozenset({"chair", "auditor"}), data={"status": "resigned"}),
    "committee.open_vote": Case("POST", f"{CM}/office-votes", frozenset()),
    "committee.paper": Case("POST", f"{CM}/office-votes/paper", frozenset()),
    "committee.office_vote": Case("GET", f"{CM}/office-votes/{{vote}}", MEETING_MANAGERS),
    "committee.cast": Case("POST", f"{CM}/office-votes/{{vote}}/ballot", frozenset()),
    "committee.close": Case("POST", f"{CM}/office-votes/{{vote}}/close", frozenset()),
    "committee.cancel": Case("POST", f"{CM}/office-votes/{{vote}}/cancel", frozenset()),
    "committee.vote_record": Case("GET", f"{CM}/office-votes/{{decided}}/record.json",
                                  COMMITTEE_READERS),
    "committee.propose": Case("POST", f"{CM}/recalls", frozenset({"owner"})),
    "committee.recall_detail": Case("GET", f"{CM}/recalls/{{recall}}", COMMITTEE_READERS),
    "committee.support": Case("POST", f"{CM}/recalls/{{recall}}/support", frozenset({"owner"})),
    "committee.withdraw": Case("POST", f"{CM}/recalls/{{recall}}/withdraw",
                               frozenset({"owner"})),
    "committee.place": Case("POST", f"{CM}/recalls/{{recall}}/place", MEETING_MANAGERS),
    "api.me": Case("GET", "/api/v1/me", frozenset(), scoped=False),
    "api.openapi": Case("GET", "/api/v1/openapi.json", EVERYONE, scoped=False),
    # The API takes tokens only (test_api.py has its own token matrix): cookies get 401.
    "api.communities": Case("GET", "/api/v1/communities", frozenset(), scoped=False),
    "api.community": Case("GET", "/api/v1/communities/{c}", frozenset()),
    "api.units": Case("GET", "/api/v1/communities/{c}/units", frozenset()),
    "api.my_units": Case("GET", "/api/v1/communities/{c}/my-units", frozenset()),
}


def test_every_route_is_in_the_matrix(app):
    """Is there an access decision written down for every route of the site?"""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    missing = sorted(endpoints - MATRIX.keys())
    assert not missing, f"routes without an entry in the authorization matrix: {missing}"


def test_every_view_declares_its_permission(app):
    """Does every view say, with @requires, what it needs?"""
    undeclared = [
        name for name, view in app.view_functions.items()
        if name != "static" and not hasattr(view, "permission")
    ]
    assert not undeclared


@pytest.fixture
def world(make, db_session, app, cheap_shares):
    """Community A (asked about) and B (elsewhere), each with one account per role."""
    own, other = make.community(), make.community()
    users = {
        where: {role.value: make.user_with_role(role, community) for role in Role}
        for where, community in (("own", own), ("other", other))
    }
    target = make.user()
    grant = make.grant(target, Role.STAFF, own)
    token = ApiToken(user_id=target.id, name="someone else's", prefix="ct_x",
                     token_hash="0" * 64, created_at=utcnow())
    db_session.add(token)
    db_session.flush()
    csv = "楼栋,房号,楼层,面积,业主\n1号楼,101,1,88.50,王伟\n".encode()
    pending = upload_import(db_session, actor=target, now=utcnow(), community=own,
                            filename="register.csv", data=csv, id_key="test-id-key")
    meeting = _published_meeting(db_session, target, own, make)
    asked = MeetingRequest(community_id=own.id, title="Recall the committee",
                           created_by_id=target.id, created_at=utcnow())
    db_session.add(asked)
    db_session.flush()
    req = file_request(db_session, actor=target, now=utcnow(), community=own, party=DESK,
                       kind=RequestKind.COMPLAINT, urgency=Urgency.NORMAL, place="Gate",
                       description="Noise", caller_name="Caller",
                       photos=[Photo("p.png", b"\x89PNG\r\n\x1a\n" + bytes(8))])
    with app.test_request_context():
        money = _money(db_session, make, target, own)
    device, alarm = _raised_alarm(db_session, own)
    tender = _published_tender(db_session, app, users["own"], own)
    committee = seat_small(make, db_session, app, own, target)
    return {"own": own, "other": other, "users": users, "grant": grant, "token": token,
            **{k: committee[k] for k in ("member", "vote", "decided", "recall")},
            "import": pending, "meeting": meeting, "request": asked, "req": req, **money,
            "device": device, "alarm": alarm, "tender": tender}


def _money(db_session, make, actor, community):
    """A published statement, one booked entry and one (emergency) fund spend."""
    now = utcnow()
    published = publish_disclosure(db_session, actor=actor, now=now, community=community,
                                   kind=DisclosureKind.MONTHLY, starts_on=date(2026, 1, 1),
                                   today=date(2026, 12, 3))
    entry = post_entry(db_session, actor=actor, now=now, community=community,
                       ledger=Ledger.OPERATING, entry_date=date(2026, 2, 10), memo="停车费",
                       lines=[Line(BANK, debit=Decimal(10)), Line("4001", credit=Decimal(10))])
    spend = file_spend(db_session, actor=actor, now=now, community=community, title="水管",
                       category="pipes", budget=Decimal(100),
                       unit_ids=[make.unit(community).id], emergency_kind="water_main")
    payment = record_payment(db_session, actor=actor, now=now, community=community,
                             unit=make.unit(community), paid_on=date(2026, 2, 1),
                             amount=Decimal("320.50"))
    return {"disclosure": published, "entry": entry, "spend": spend, "payment": payment}


def _raised_alarm(db_session, community):
    device = alarm_services.register_device(
        db_session, actor=None, now=utcnow(), community=community, code="P-9",
        kind=DeviceKind.PANEL, name="Panel")
    alarm = alarm_services._raise(db_session, device, EventType.BURGLARY, "", utcnow(),
                                  utcnow())
    return device, alarm


def _published_tender(db_session, app, users, community):
    """A tender taking bids, the committee and chair holding its keys, one evaluator seated."""
    from tender_helpers import CRITERIA, PASSPHRASES, adopted_service_motion

    now = utcnow()
    committee, chair = users["committee"], users["chair"]
    motion = adopted_service_motion(db_session, community, committee, now=now)
    with app.test_request_context():
        rules = tender_services.build_rules(
            criteria=CRITERIA, price_weight="30", formula="lowest_price", n_above="",
            n_below="", deadline=now + timedelta(days=30), minimum_bidders=3, panel_size=5,
            drop_extremes=True, shortlist_size=3)
        tender = tender_services.create_tender(
            db_session, actor=committee, now=now, community=community, motion_id=motion.id,
            title="Tender", scope="All", term_months=36, notice_days=20, rules=rules)
        holders = sorted([committee, chair], key=lambda u: u.id)
        tender_services.publish(db_session, actor=committee, now=now, tender=tender, k=2,
                                passphrases={u.id: p for u, p in zip(holders, PASSPHRASES)})
        tender_panel.appoint(db_session, actor=committee, now=now, tender=tender,
                                member=users["evaluator"], seat_role="building")
    return tender


def _published_meeting(db_session, actor, community, make):
    """A published meeting whose agenda holds a motion and a 5-seat committee election."""
    now = utcnow()
    meeting = meeting_services.create_meeting(
        db_session, actor=actor, now=now, community=community, title="Meeting",
        kind=MeetingKind.ORDINARY, form=MeetingForm.ONLINE,
        voting_opens_at=now + timedelta(days=20), voting_closes_at=now + timedelta(days=30))
    meeting_services.add_motion(db_session, actor=actor, now=now, meeting=meeting, title="M",
                                body="", matter=Matter.MANAGEMENT_STATUTE)
    election = election_services.create_election(db_session, actor=actor, now=now,
                                                  meeting=meeting, seats=5)
    for i in range(6):
        person = make.person(community, name=f"候选人{i}")
        make.own(person, make.unit(community))
        election_services.nominate(db_session, actor=actor, now=now, election=election,
                                   person=person, channel=NominationChannel.PREPARATORY_GROUP,
                                   nominators=[], consent=True)
    meeting_services.publish(db_session, actor=actor, now=now, meeting=meeting)
    return meeting


def _ask(client, case: Case, world) -> tuple[int, str]:
    url = case.url.format(c=world["own"].id, grant=world["grant"].id, token=world["token"].id,
                          imp=world["import"].id, meeting=world["meeting"].id,
                          motion=world["meeting"].motions[0].id, proxy=0, objection=0,
                          request=world["request"].id, req=world["req"].id,
                          photo=world["req"].photos[0].id,
                          disclosure=world["disclosure"].id, entry=world["entry"].seq,
                          spend=world["spend"].id, payment=world["payment"].id,
                          alarm=world["alarm"].id, device=world["device"].code,
                          device_id=world["device"].id, tender=world["tender"].id,
                          member=world["member"].id, vote=world["vote"].id,
                          decided=world["decided"].id, recall=world["recall"].id)
    response = client.open(url, method=case.method, data=case.data or {})
    return response.status_code, response.headers.get("Location", "")


def _denied(status: int, location: str) -> bool:
    # 404: an object of somebody else's is not even shown to exist.
    return status in (401, 403, 404) or (status == 302 and "/login" in location)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
def test_matrix(app, client, login, world, make, role, where):
    """Can this role, in its own community or from another one, reach each route?"""
    if role != ANON:
        login(world["users"][where][role])
    wrong = []
    for endpoint, case in MATRIX.items():
        if endpoint in ("auth.logout",):
            continue  # logging out would end the session the other checks use
        allowed = role in case.allowed and (
            where == "own" or not case.scoped or role == "admin"
        )
        status, location = _ask(client, case, world)
        if allowed == _denied(status, location) or status >= 500:
            wrong.append((endpoint, status, "expected allow" if allowed else "expected deny"))
    assert not wrong, wrong
