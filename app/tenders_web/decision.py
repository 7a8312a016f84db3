"""After the report: the shortlist to an owners' meeting, the candidates' publication with its
objections and complaints, the award and the final decision; and the audit bundle."""

from __future__ import annotations

import base64
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from elections.rules import Matter

from ..audit.services import record
from ..errors import Conflict, DomainError
from ..models import (
    MeetingStatus,
    Motion,
    Tender,
    TenderObjection,
    TenderStatus,
    User,
)
from ..objections import objection_blockers
from .panel import (
    sheets_of,
)
from .services import (
    bid_events,
)

# -- publication of the candidates, objections, complaints, award ------------------------------

#: The candidates are published within 3 days of the report, for at least 3 days; complaints
#: are taken within 10 days of the publication.
PUBLISH_WITHIN_DAYS, OBJECTION_DAYS, COMPLAINT_DAYS = 3, 3, 10


def shortlist_of(tender: Tender) -> list[str]:
    return list((tender.evaluation or {}).get("record", {}).get("result", {})
                .get("shortlist", []))


def shortlist_to_meeting(session: Session, *, actor: User, now: dt.datetime, tender: Tender):
    """Draft an owners' meeting whose motion is the ranked shortlist (matter 4: hiring the
    service company); the committee completes and publishes it as any meeting."""
    from ..meetings import services as meetings
    from ..models import MeetingForm, MeetingKind

    if tender.status not in (TenderStatus.EVALUATED, TenderStatus.PUBLICISED):
        raise Conflict(_("Only an evaluated tender puts its shortlist to the owners."))
    if not shortlist_of(tender) or tender.shortlist_meeting_id is not None:
        raise Conflict(_("The shortlist is empty, or already put to an owners' meeting."))
    result = tender.evaluation["record"]["result"]
    companies = {b["bid_id"]: b["company"] for b in tender.opening_record["record"]["bids"]}
    lines = [_("%(rank)s. %(company)s — total %(total)s, price %(price)s yuan", rank=r["rank"],
               company=companies[r["bid_id"]], total=r["total"], price=r["price"]["price"])
             for r in result["ranking"] if r["bid_id"] in result["shortlist"]]
    meeting = meetings.create_meeting(
        session, actor=actor, now=now, community=tender.community,
        title=_("Choosing the service company: %(title)s", title=tender.title),
        kind=MeetingKind.ORDINARY, form=MeetingForm.MIXED,
        voting_opens_at=now + dt.timedelta(days=20), voting_closes_at=now + dt.timedelta(days=30))
    motion = meetings.add_motion(session, actor=actor, now=now, meeting=meeting,
                                 title=_("Shortlist of the tender %(title)s", title=tender.title),
                                 body="\n".join(lines), matter=Matter.SERVICE_COMPANY)
    tender.shortlist_meeting_id, tender.shortlist_motion_id = meeting.id, motion.id
    session.flush()
    record(session, actor=actor, action="tender.shortlist_to_meeting", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"meeting": meeting.id})
    return meeting


def publish_candidates(session: Session, *, actor: User, now: dt.datetime,
                       tender: Tender) -> Tender:
    """Publish the shortlisted candidates (公示): objections for 3 days, complaints for 10."""
    if tender.status is not TenderStatus.EVALUATED or not shortlist_of(tender):
        raise Conflict(_("Only an evaluated tender with a shortlist publishes its candidates."))
    tender.status, tender.candidates_published_at = TenderStatus.PUBLICISED, now
    tender.objections_close_at = now + dt.timedelta(days=OBJECTION_DAYS)
    tender.complaints_close_at = now + dt.timedelta(days=COMPLAINT_DAYS)
    session.flush()
    late = now > tender.sheets_opened_at + dt.timedelta(days=PUBLISH_WITHIN_DAYS)
    record(session, actor=actor, action="tender.candidates_published", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"shortlist": shortlist_of(tender), "late": late})
    return tender


def objections_of(session: Session, tender: Tender) -> list[TenderObjection]:
    return list(session.scalars(select(TenderObjection).where(
        TenderObjection.tender_id == tender.id).order_by(TenderObjection.created_at,
                                                        TenderObjection.id)))


def raise_objection(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                    text: str) -> TenderObjection:
    """An objection while the candidates are published; a complaint until 10 days after."""
    if tender.status is not TenderStatus.PUBLICISED or now >= tender.complaints_close_at:
        raise Conflict(_("Objections and complaints are taken while the candidates are "
                         "published and for 10 days after."))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write what you object to."), field="text")
    kind = "objection" if now < tender.objections_close_at else "complaint"
    objection = TenderObjection(tender_id=tender.id, user_id=actor.id, kind=kind,
                                text=text[:4000], created_at=now)
    session.add(objection)
    session.flush()
    record(session, actor=actor, action="tender.objection", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"objection": objection.id, "kind": kind})
    return objection


def answer_objection(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                     objection: TenderObjection, answer: str) -> TenderObjection:
    answer = (answer or "").strip()
    if not answer:
        raise DomainError(_("Write the answer."), field="answer")
    if objection.answer is not None:
        raise Conflict(_("This objection has been answered; answers stay on the record."))
    objection.answer, objection.answered_by_id, objection.answered_at = answer[:4000], actor.id, now
    session.flush()
    record(session, actor=actor, action="tender.objection_answered", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"objection": objection.id})
    return objection


def shortlist_motions(session: Session, tender: Tender) -> list[Motion]:
    """Final adopted motions (matter 4) the committee may cite as the owners' decision on the
    shortlist, when the owners decided it at another meeting than the one drafted here."""
    from ..meetings.services import adopted_motions

    return [m for m in adopted_motions(session, tender.community, Matter.SERVICE_COMPANY,
                                       final_only=True) if m.id != tender.motion_id]


def link_shortlist_motion(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                          motion_id: int) -> Tender:
    """Cite the owners' adopted, final motion on the shortlist (another meeting's)."""
    if tender.status not in (TenderStatus.EVALUATED, TenderStatus.PUBLICISED):
        raise Conflict(_("Only an evaluated tender puts its shortlist to the owners."))
    motion = session.get(Motion, motion_id)
    if motion is None or motion not in shortlist_motions(session, tender):
        raise DomainError(_("Choose a final, adopted motion of an owners' meeting on hiring "
                            "the service company (not the one that decided to tender)."),
                          field="motion_id")
    tender.shortlist_motion_id, tender.shortlist_meeting_id = motion.id, motion.meeting_id
    session.flush()
    record(session, actor=actor, action="tender.shortlist_motion_linked", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"motion": motion.id})
    return tender


def award_blockers(tender: Tender) -> list[str]:
    """Why the owners' decision on the shortlist does not yet allow an award (empty: it does)."""
    motion = tender.shortlist_motion
    if motion is None:
        return [_("The shortlist has not been put to an owners' meeting: the award needs the "
                  "owners' adopted motion on it.")]
    if motion.meeting.status is not MeetingStatus.FINAL:
        return [_("The owners' meeting on the shortlist (%(title)s) has no final result yet: "
                  "the award waits until it is final.", title=motion.meeting.title)]
    if not motion.adopted:
        return [_("The owners did not adopt the shortlist motion (%(title)s): no award can be "
                  "made on this tender.", title=motion.meeting.title)]
    return []


def record_award(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                 bid_id: str, note: str) -> Tender:
    """The committee records the negotiation and the award to a shortlisted bid, once the
    owners' meeting has adopted the shortlist motion and its result is final."""
    if tender.status is not TenderStatus.PUBLICISED:
        raise Conflict(_("The award is recorded once the candidates are published."))
    found = award_blockers(tender)
    if found:
        raise Conflict(" ".join(found))
    if bid_id not in shortlist_of(tender):
        raise DomainError(_("Choose a bid of the shortlist."), field="bid_id")
    if not (note or "").strip():
        raise DomainError(_("Record the negotiation: what was agreed, and why this bid."),
                          field="note")
    tender.awarded_bid_id, tender.award_note, tender.awarded_at = bid_id, note.strip()[:8000], now
    session.flush()
    record(session, actor=actor, action="tender.awarded", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"bid": bid_id})
    return tender


def final_blockers(session: Session, tender: Tender, now: dt.datetime) -> list[str]:
    if tender.status is not TenderStatus.PUBLICISED:
        return [_("Only a tender whose candidates are published becomes final.")]
    found = objection_blockers(
        objections_of(session, tender), closes_at=tender.complaints_close_at, now=now,
        period_message=lambda when: _("Complaints are taken until %(when)s.", when=when))
    if tender.awarded_bid_id is None:
        found.append(_("The committee has not recorded the award."))
    found += award_blockers(tender)
    return found


def make_final(session: Session, *, actor: User, now: dt.datetime, tender: Tender) -> Tender:
    found = final_blockers(session, tender, now)
    if found:
        raise Conflict(" ".join(found))
    tender.status, tender.final_at = TenderStatus.FINAL, now
    session.flush()
    record(session, actor=actor, action="tender.final", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"bid": tender.awarded_bid_id})
    return tender


# -- audit bundle -------------------------------------------------------------------------------


def tender_bundle(session: Session, tender: Tender) -> dict:
    """Everything ``python -m tenders.verify`` needs to re-open the bids and the sheets and
    recompute the scores, once the bids have been opened."""
    if tender.opening_record is None:
        raise Conflict(_("The bids have not been opened."))
    from tenders.verify import BUNDLE_FORMAT

    from ..signing import site_public_key

    def b64(value: bytes | None) -> str | None:
        return None if value is None else base64.b64encode(bytes(value)).decode()

    return {
        "format": BUNDLE_FORMAT, "tender": tender.box_id, "title": tender.title,
        "rules": tender.rules, "ceremony": tender.ceremony, "site_key": site_public_key(),
        "bids": [{"event": e.id, "bidder_id": e.bidder.code, "action": e.action.value,
                  "at": e.at.astimezone(dt.UTC).isoformat(), "sealed": b64(e.sealed),
                  "server_sealed": e.server_sealed} for e in bid_events(session, tender)],
        "bid_private_key": b64(tender.bid_private_key), "opening": tender.opening_record,
        "panel": [{"seat": s.code, "role": s.seat_role, "conflicts": s.conflicts,
                   "report_signature": s.report_signature,
                   "declared_at": s.declared_at.astimezone(dt.UTC).isoformat()
                   if s.declared_at else None} for s in tender.panel],
        "sheets": [{"seat": next(p.code for p in tender.panel if p.id == s.seat_id),
                    "submitted_at": s.submitted_at.astimezone(dt.UTC).isoformat(),
                    "sealed": b64(s.sealed)}
                   for s in (sheets_of(session, tender) if tender.evaluation else [])],
        "sheet_private_key": b64(tender.sheet_private_key), "evaluation": tender.evaluation,
    }
