"""The two openings: the committee's key shares, the bids box after the deadline (the signed
opening record), the sheets box once every sheet is in (the signed evaluation), and the
committee's order of tied bids."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from decimal import Decimal

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import tenders
from elections import (
    KeyShareError,
    ScrutineerShare,
    Share,
    combine_shares,
)
from elections.errors import SealError
from elections.sealing import BallotOpener
from elections.signatures import sign_record
from tenders.documents import open_documents

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..keyshares import open_share
from ..models import (
    KeyPurpose,
    Tender,
    TenderBidDocument,
    TenderKey,
    TenderStatus,
    User,
)
from ..notifications.services import notify
from ..signing import site_key
from .panel import (
    evaluator_keys,
    panel_state,
    sheet_blockers,
    sheets_of,
)
from .services import (
    BID_KIND,
    OPENING_FORMAT,
    SHEET_KIND,
    _decimal,
    _domain_log,
    bid_events,
    box_name,
    opened_bids,
    rules_of,
)

# -- key shares and the two openings ------------------------------------------------------------


def key_of(session: Session, tender: Tender, user: User, purpose: KeyPurpose) -> TenderKey | None:
    return session.scalar(select(TenderKey).where(
        TenderKey.tender_id == tender.id, TenderKey.purpose == purpose,
        TenderKey.user_id == user.id))


def brought_keys(tender: Tender, purpose: KeyPurpose) -> list[TenderKey]:
    return [k for k in tender.keys if k.purpose is purpose and k.brought is not None]


def opening_blockers(session: Session, tender: Tender, purpose: KeyPurpose,
                     now: dt.datetime) -> list[str]:
    """Why the shares of ``purpose``'s box cannot be brought now (empty: they can)."""
    if purpose is KeyPurpose.BIDS:
        if tender.status is not TenderStatus.PUBLISHED:
            return [_("The bids box opens once, after the deadline.")]
        if now < tender.deadline:
            return [_("The bids open after the deadline, %(when)s.",
                      when=format_datetime(tender.deadline, "medium"))]
        return []
    if tender.status is not TenderStatus.OPENED:
        return [_("The score sheets open once, after the bids were opened and scored.")]
    missing = sheet_blockers(session, tender)
    return [_("%(n)s active evaluators have not submitted their sheet.", n=len(missing))] \
        if missing else []


def bring_share(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                purpose: KeyPurpose, passphrase: str, share_text: str = "") -> TenderKey:
    """A key holder brings their share; with k shares the box opens."""
    found = opening_blockers(session, tender, purpose, now)
    if found:
        raise Conflict(" ".join(found))
    key = key_of(session, tender, actor, purpose)
    if key is None:
        raise Forbidden(_("You hold no share of this tender's boxes."))
    if key.brought is not None:
        raise Conflict(_("You have already brought your share."))
    key.brought = open_share(
        share_text or key.protected_share, passphrase, box_id=box_name(tender, purpose),
        holder_id=key.holder_id,
        mismatch=lambda: _("This share belongs to another box or another key holder."))
    key.brought_at = now
    session.flush()
    record(session, actor=actor, action="tender.share_brought", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"box": purpose.value, "share": key.share_number})
    if len(brought_keys(tender, purpose)) >= tender.k:
        (open_bids if purpose is KeyPurpose.BIDS else open_sheets)(
            session, actor=actor, now=now, tender=tender)
    return key


def _shares(tender: Tender, purpose: KeyPurpose) -> list[ScrutineerShare]:
    return [ScrutineerShare(box_name(tender, purpose), k.holder_id,
                            Share(int(k.brought["x"]), int(k.brought["y"], 16), tender.k, tender.n),
                            base64.b64decode(k.brought["signing_key"]))
            for k in brought_keys(tender, purpose)[: tender.k]]


def _private_key(tender: Tender, purpose: KeyPurpose, public: bytes) -> tuple[bytes, list]:
    shares = _shares(tender, purpose)
    try:
        return combine_shares(shares, public), shares
    except KeyShareError as exc:
        raise Conflict(_("The shares do not rebuild this box's key: one is wrong.")) from exc


def _signed(purpose: str, record_: dict, shares: list[ScrutineerShare]) -> dict:
    """Signed by the site and by each key holder who opened the box."""
    return sign_record(purpose, record_,
                       {"site": site_key(), **{s.scrutineer_id: s.signing_key for s in shares}})


def open_bids(session: Session, *, actor: User, now: dt.datetime, tender: Tender) -> dict:
    """Rebuild the bids key, open each bidder's last bid, sign and publish the opening record.

    With fewer bids (or readable valid bids) than the tender file's minimum the tender fails
    and says why.
    """
    rules = rules_of(tender)
    private, shares = _private_key(tender, KeyPurpose.BIDS, bytes(tender.bid_public_key))
    events = bid_events(session, tender)
    outcome = tenders.close_bidding(rules, _domain_log(events), now)
    by_id = {str(e.id): e for e in events}
    opener = BallotOpener(private, box_name(tender, KeyPurpose.BIDS), BID_KIND)
    bids = []
    for counted in outcome.counted:
        event = by_id[counted.sealed_bid]
        entry = {"bid_id": f"T{event.id}", "bidder_id": event.bidder.code,
                 "company": event.bidder.company, "licence": event.bidder.licence_number,
                 "submitted_at": event.at.astimezone(dt.UTC).isoformat(),
                 "server_sealed": event.server_sealed,
                 "sealed_sha256": hashlib.sha256(bytes(event.sealed)).hexdigest(),
                 "price": None, "documents": "", "files": [], "problem": None}
        try:
            content = json.loads(opener.open(bytes(event.sealed)))
            price = _decimal(content["price"])
            if price <= 0 or price != price.quantize(Decimal("0.01")):
                raise ValueError(price)
            entry["price"], entry["documents"] = str(price), str(content.get("documents", ""))
        except (SealError, ValueError, KeyError, TypeError, AttributeError):
            entry["problem"] = "the bid does not open to a valid price"
        else:
            files = open_documents(content.get("files"))
            entry["files"] = [d.to_json() for d in files]
            session.add_all(TenderBidDocument(
                tender_id=tender.id, bid_id=entry["bid_id"], position=d.position,
                name=d.name or f"document-{d.position + 1}", mime=d.mime, sha256=d.sha256,
                content=d.data) for d in files if d.problem is None)
        bids.append(entry)
    readable = [b for b in bids if b["problem"] is None]
    reason = outcome.failure_reason or tenders.too_few_bids(
        rules, len(readable), what="readable bids at the opening")
    doc = _signed("tender-opening", {
        "format": OPENING_FORMAT, "tender": tender.box_id, "title": tender.title,
        "deadline": tender.deadline.astimezone(dt.UTC).isoformat(),
        "opened_at": now.astimezone(dt.UTC).isoformat(), "bids": bids, "failed": reason,
        "key_holders": [s.scrutineer_id for s in shares],
    }, shares)
    tender.bid_private_key, tender.opening_record, tender.opened_at = private, doc, now
    tender.failure_reason = reason
    tender.status = TenderStatus.FAILED if reason else TenderStatus.OPENED
    session.flush()
    record(session, actor=actor, action="tender.opened", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"bids": len(bids), "failed": bool(reason)})
    # Bidders learn the opening; the panel learns it must declare its conflicts.
    notify(session, now=now, community=tender.community,
           recipients=[b.user_id for b in tender.bidders] + [p.user_id for p in tender.panel],
           kind="tender.opened", link=f"/c/{tender.community_id}/tenders/{tender.id}",
           message=lambda: (_("Bids opened: %(title)s", title=tender.title),
                            _("The tender failed: too few bids.") if reason else
                            _("The opening record is published. Evaluators: declare your "
                              "conflicts of interest, then score.")))
    return doc


def opened_sheets(session: Session, tender: Tender, private: bytes
                  ) -> tuple[list[tenders.ScoreSheet], dict[str, tuple[str, ...]]]:
    """Open every sealed sheet: the readable ones, and the refused ones with why (the
    verifier reads them with the same :func:`tenders.sheet_from_plaintext`)."""
    opener = BallotOpener(private, box_name(tender, KeyPurpose.SHEETS), SHEET_KIND)
    codes = {p.id: p.code for p in tender.panel}
    sheets, refused = [], {}
    for row in sheets_of(session, tender):
        code = codes[row.seat_id]
        try:
            plaintext = opener.open(bytes(row.sealed))
        except SealError:
            refused[code] = (f"the sheet of evaluator {code} does not open",)
            continue
        sheet, problems = tenders.sheet_from_plaintext(code, row.submitted_at, plaintext)
        if sheet is None:
            refused[code] = problems
        else:
            sheets.append(sheet)
    return sheets, refused


def open_sheets(session: Session, *, actor: User, now: dt.datetime, tender: Tender) -> dict:
    """Every sheet is in: open them together, score, rank, sign the evaluation."""
    private, shares = _private_key(tender, KeyPurpose.SHEETS, bytes(tender.sheet_public_key))
    sheets, refused = opened_sheets(session, tender, private)
    result = tenders.evaluate(rules_of(tender), opened_bids(tender), sheets,
                              active_evaluators=panel_state(tender).active,
                              refused_sheets=refused)
    active = panel_state(tender).active
    doc = _signed("tender-evaluation", {"tender": tender.box_id,
                                        "result": json.loads(tenders.result_json(result)),
                                        "evaluator_keys": evaluator_keys(tender, active),
                                        "opened_at": now.astimezone(dt.UTC).isoformat()}, shares)
    tender.sheet_private_key, tender.evaluation, tender.sheets_opened_at = private, doc, now
    tender.status = TenderStatus.EVALUATED
    if result.outcome is tenders.Outcome.FAILED:
        tender.failure_reason = result.failure_reason
    session.flush()
    record(session, actor=actor, action="tender.evaluated", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"sheets": len(sheets), "shortlist": list(result.shortlist)})
    notify(session, now=now, community=tender.community,
           recipients=[p.user_id for p in tender.panel] + [k.user_id for k in tender.keys],
           kind="tender.evaluated", link=f"/c/{tender.community_id}/tenders/{tender.id}/report",
           message=lambda: (_("Evaluation report: %(title)s", title=tender.title),
                            _("Every sheet is in and opened: the report is ready. Evaluators: "
                              "sign it.")))
    return doc


def resolve_tie(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                order: list[str], reason: str) -> dict:
    """The committee orders bids the tie-break chain left equal, and says why on the record;
    the evaluation is recomputed with the resolution and signed again (the software never
    draws lots)."""
    if tender.status is not TenderStatus.EVALUATED:
        raise Conflict(_("Ties are resolved after the evaluation, before the candidates are "
                         "published."))
    if not (reason or "").strip():
        raise DomainError(_("Say why the committee orders these bids so."), field="reason")
    inputs = tender.evaluation["record"]["result"]["inputs"]
    resolutions = [tenders.TieResolution(tuple(t["order"]), t["reason"])
                   for t in inputs["tie_resolutions"]]
    resolutions.append(tenders.TieResolution(tuple(order), reason.strip()[:2000]))
    sheets, refused = opened_sheets(session, tender, bytes(tender.sheet_private_key))
    try:
        result = tenders.evaluate(rules_of(tender), opened_bids(tender), sheets,
                                  active_evaluators=panel_state(tender).active,
                                  tie_resolutions=resolutions, refused_sheets=refused)
    except tenders.TieResolutionError as exc:
        raise DomainError(_("Give the order of exactly the bids of one tie."),
                          field="order") from exc
    shares = _shares(tender, KeyPurpose.SHEETS)
    tender.evaluation = _signed("tender-evaluation", {
        "tender": tender.box_id, "result": json.loads(tenders.result_json(result)),
        "evaluator_keys": tender.evaluation["record"].get("evaluator_keys", {}),
        "opened_at": tender.evaluation["record"]["opened_at"]}, shares)
    for seat in tender.panel:  # the report changed: signatures under the old one lapse
        seat.report_signature, seat.report_signed_at = None, None
    session.flush()
    record(session, actor=actor, action="tender.tie_resolved", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"order": list(order)})
    return tender.evaluation
