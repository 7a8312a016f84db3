"""A tender on the site: the file, the committee's key ceremony, bidders and their sealed bids,
the opening, the panel and recusal, sealed sheets and the evaluation.

Every rule of a tender is in ``tenders`` and every seal in ``elections``; this module loads,
calls and stores. Services take ``session``, ``actor`` and ``now``, flush but never commit, and
raise domain errors (``app.errors``) that the one error handler turns into responses.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import tenders
from elections import (
    KeyShareError,
    ScrutineerShare,
    Share,
    WeakPassphraseError,
    WrongPassphraseError,
    combine_shares,
    make_ceremony,
    seal_ballot,
    unprotect_share,
)
from elections.errors import SealError
from elections.rules import Matter
from elections.sealing import MAGIC, MIN_SIZE, BallotOpener
from elections.signatures import sign_record

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..meetings.services import adopted_motions
from ..models import (
    Bidder,
    BidEventKind,
    Community,
    KeyPurpose,
    Motion,
    PanelSeat,
    Role,
    RoleGrant,
    SealedSheet,
    Tender,
    TenderBidEvent,
    TenderKey,
    TenderObjection,
    TenderStatus,
    User,
)
from ..signing import sign, site_key

#: scrypt cost of the committee's shares (the tests lower it with SHARE_SCRYPT_COST).
DEFAULT_SHARE_COST = 2**15
BID_KIND, SHEET_KIND = "bid", "sheet"
#: Roles whose holders keep a share of the tender's boxes.
KEY_HOLDER_ROLES = (Role.COMMITTEE, Role.CHAIR)
OPENING_FORMAT = "courtyard.tender-opening/1"


def rules_of(tender: Tender) -> tenders.TenderRules:
    return tenders.TenderRules.from_json(tender.rules)


def box_name(tender: Tender, purpose: KeyPurpose) -> str:
    return f"{tender.box_id}/{purpose.value}"


def tenders_of(session: Session, community: Community, *, drafts: bool) -> list[Tender]:
    query = select(Tender).where(Tender.community_id == community.id)
    if not drafts:
        query = query.where(Tender.status != TenderStatus.DRAFT)
    return list(session.scalars(query.order_by(Tender.deadline.desc(), Tender.id)))


def tender_motions(session: Session, community: Community) -> list[Motion]:
    """The adopted motions a tender may cite: hiring the service company (art. 278(1) 4)."""
    return adopted_motions(session, community, matter=Matter.SERVICE_COMPANY)


# -- the tender file ----------------------------------------------------------------------------


def parse_criteria(text: str) -> tuple[tenders.Criterion, ...]:
    """Criteria from lines ``code | name | weight | guidance``; errors name the line."""
    criteria = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 3:
            raise DomainError(_("Line %(n)s: write code | name | weight | guidance.", n=number),
                              field="criteria")
        try:
            criteria.append(tenders.Criterion(parts[0], parts[1], _decimal(parts[2]),
                                              guidance=" | ".join(parts[3:])))
        except (tenders.TenderError, ValueError) as exc:
            raise DomainError(_("Line %(n)s: %(problem)s", n=number, problem=str(exc)),
                              field="criteria") from exc
    return tuple(criteria)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not a number") from exc
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a number")
    return value


_RULE_FIELDS = {
    tenders.WeightsError: "price_weight", tenders.PriceFormulaError: "formula",
    tenders.MinimumBiddersError: "minimum_bidders", tenders.PanelSizeError: "panel_size",
    tenders.CriterionError: "criteria",
}


def build_rules(*, criteria: str, price_weight: str, formula: str, n_above: str, n_below: str,
                deadline: dt.datetime, minimum_bidders: int, panel_size: int,
                drop_extremes: bool, shortlist_size: int) -> tenders.TenderRules:
    """The tender file's rules, or a :class:`DomainError` naming the field at fault."""
    parsed = parse_criteria(criteria)
    try:
        kind = tenders.PriceFormulaKind(formula)
        factors = ((_decimal(n_above), _decimal(n_below))
                   if kind is tenders.PriceFormulaKind.TRIMMED_MEAN else (None, None))
        return tenders.TenderRules(
            criteria=parsed, price_weight=_decimal(price_weight),
            price_formula=tenders.PriceFormula(kind, *factors), deadline=deadline,
            minimum_bidders=minimum_bidders, panel_size=panel_size,
            drop_extremes=drop_extremes, shortlist_size=shortlist_size)
    except ValueError as exc:
        raise DomainError(str(exc), field="formula") from exc
    except tenders.TenderError as exc:
        field = next((f for cls, f in _RULE_FIELDS.items() if isinstance(exc, cls)), "criteria")
        raise DomainError(str(exc), field=field) from exc


def create_tender(
    session: Session, *, actor: User, now: dt.datetime, community: Community, motion_id: int,
    title: str, scope: str, term_months: int, notice_days: int, rules: tenders.TenderRules,
) -> Tender:
    """Draft a tender citing the adopted motion that decided it."""
    motion = session.get(Motion, motion_id)
    if motion is None or motion not in tender_motions(session, community):
        raise DomainError(_("Choose an adopted motion of an owners' meeting to hire the "
                            "service company."), field="motion_id")
    if term_months <= 0:
        raise DomainError(_("The contract term is a positive number of months."),
                          field="term_months")
    if rules.deadline < now + dt.timedelta(days=notice_days):
        raise DomainError(_("The deadline must leave the whole notice period after today."),
                          field="deadline")
    tender = Tender(community_id=community.id, motion_id=motion.id, title=title.strip(),
                    scope=scope.strip(), term_months=term_months, notice_days=notice_days,
                    rules=rules.to_json(), deadline=rules.deadline.astimezone(dt.UTC),
                    status=TenderStatus.DRAFT, created_at=now, created_by_id=actor.id)
    session.add(tender)
    session.flush()
    tender.box_id = f"c{community.id}-tender-{tender.id}"
    session.flush()
    record(session, actor=actor, action="tender.created", now=now, community_id=community.id,
           target=f"tender:{tender.id}", details={"motion": motion.id})
    return tender


def key_holders(session: Session, community: Community) -> list[User]:
    """The committee members (and chair) who hold the tender's key shares."""
    return list(session.scalars(
        select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role.in_(KEY_HOLDER_ROLES), RoleGrant.community_id == community.id)
        .order_by(User.id).distinct()))


def publish_blockers(session: Session, tender: Tender, now: dt.datetime) -> list[str]:
    found = []
    if tender.status is not TenderStatus.DRAFT:
        found.append(_("The tender has been published."))
    elif tender.deadline < now + dt.timedelta(days=tender.notice_days):
        found.append(_("The deadline must leave the whole notice period after today."))
    if len(key_holders(session, tender.community)) < 2:
        found.append(_("At least two committee members are needed to hold the key shares."))
    return found


def publish(session: Session, *, actor: User, now: dt.datetime, tender: Tender, k: int,
            passphrases: dict[int, str]) -> Tender:
    """Publish the notice: the committee's key ceremony for the bids box and the sheets box.

    ``passphrases`` maps each key holder's user id to the passphrase they typed; both boxes'
    private keys are split k-of-n among them and forgotten here.
    """
    found = publish_blockers(session, tender, now)
    if found:
        raise Conflict(" ".join(found))
    holders = {u.id: u for u in key_holders(session, tender.community)}
    if set(passphrases) != set(holders):
        raise DomainError(_("Every committee member takes part in the ceremony."),
                          field="passphrases")
    if not 2 <= k <= len(holders):
        raise DomainError(_("The number of shares needed must be between 2 and %(n)s.",
                            n=len(holders)), field="k")
    names = {uid: f"k{uid}" for uid in holders}
    cost = current_app.config.get("SHARE_SCRYPT_COST", DEFAULT_SHARE_COST)
    records = {}
    for purpose in KeyPurpose:
        try:
            ceremony = make_ceremony(box_name(tender, purpose), k,
                                     {names[u]: passphrases[u] for u in sorted(holders)},
                                     cost=cost)
        except WeakPassphraseError as exc:
            raise DomainError(_("Each passphrase needs at least 10 characters."),
                              field="passphrases") from exc
        records[purpose.value] = ceremony.record()
        setattr(tender, f"{'bid' if purpose is KeyPurpose.BIDS else 'sheet'}_public_key",
                ceremony.public_key)
        for entry in ceremony.scrutineers:
            uid = next(u for u, name in names.items() if name == entry.scrutineer_id)
            tender.keys.append(TenderKey(
                tender_id=tender.id, purpose=purpose, user_id=uid,
                holder_id=entry.scrutineer_id, share_number=entry.x,
                protected_share=ceremony.protected_shares[entry.scrutineer_id]))
    tender.ceremony = sign("tender-ceremony", records)
    tender.k, tender.n = k, len(holders)
    tender.status, tender.published_at = TenderStatus.PUBLISHED, now
    session.flush()
    record(session, actor=actor, action="tender.published", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"k": k, "n": len(holders), "deadline": tender.deadline.isoformat()})
    return tender


# -- bidders and bids ---------------------------------------------------------------------------


def bidder_of(session: Session, tender: Tender, user: User) -> Bidder | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return session.scalar(select(Bidder).where(Bidder.tender_id == tender.id,
                                               Bidder.user_id == user.id))


def require_bidding_open(tender: Tender, now: dt.datetime) -> None:
    if tender.status is not TenderStatus.PUBLISHED:
        raise Conflict(_("This tender takes no bids."))
    if now >= tender.deadline:
        raise Conflict(_("The deadline was %(when)s: late bids are refused.",
                         when=format_datetime(tender.deadline, "medium")))


def register_bidder(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                    company: str, licence_number: str, contact: str) -> Bidder:
    """A company registers for the tender through its own (outside) account."""
    require_bidding_open(tender, now)
    if bidder_of(session, tender, actor) is not None:
        raise Conflict(_("You are registered for this tender."))
    held = set(session.scalars(select(RoleGrant.role).where(
        RoleGrant.user_id == actor.id, RoleGrant.community_id == tender.community_id)))
    if held & {Role.COMMITTEE, Role.CHAIR, Role.EVALUATOR}:
        raise Forbidden(_("A committee member or evaluator of this community cannot bid."))
    for value, field in ((company, "company"), (licence_number, "licence_number"),
                         (contact, "contact")):
        if not (value or "").strip():
            raise DomainError(_("This field is required."), field=field)
    bidder = Bidder(tender_id=tender.id, user_id=actor.id, company=company.strip()[:200],
                    licence_number=licence_number.strip()[:40], contact=contact.strip()[:200],
                    registered_at=now)
    tender.bidders.append(bidder)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DomainError(_("A company with this licence number is registered already."),
                          field="licence_number") from exc
    record(session, actor=actor, action="tender.bidder_registered", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"bidder": bidder.code})
    return bidder


def bid_events(session: Session, tender: Tender) -> list[TenderBidEvent]:
    return list(session.scalars(select(TenderBidEvent).where(TenderBidEvent.tender_id == tender.id)
                                .order_by(TenderBidEvent.at, TenderBidEvent.id)))


def _domain_log(events: list[TenderBidEvent]) -> tuple[tenders.BidEvent, ...]:
    return tuple(tenders.BidEvent(e.bidder.code, tenders.BidAction(e.action.value), e.at,
                                  str(e.id) if e.sealed is not None else None) for e in events)


def bid_plaintext(price: str, documents: str) -> bytes:
    """What a bid seals (the browser writes the same canonical JSON)."""
    return tenders.canonical_json({"documents": documents, "price": price}).encode("utf-8")


def _append(session: Session, tender: Tender, bidder: Bidder, now: dt.datetime,
            kind: BidEventKind, sealed: bytes | None, server_sealed: bool) -> TenderBidEvent:
    log = _domain_log(bid_events(session, tender))
    try:
        tenders.record_bid_event(rules_of(tender), log, tenders.BidEvent(
            bidder.code, tenders.BidAction(kind.value), now, "new" if sealed else None))
    except tenders.LateBidError as exc:
        raise Conflict(_("The deadline was %(when)s: late bids are refused.",
                         when=format_datetime(tender.deadline, "medium"))) from exc
    except tenders.BidError as exc:
        raise Conflict(_("You have no standing bid to withdraw.")) from exc
    event = TenderBidEvent(tender_id=tender.id, bidder_id=bidder.id, action=kind, at=now,
                           sealed=sealed, server_sealed=server_sealed)
    session.add(event)
    session.flush()
    return event


def submit_bid(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
               sealed_b64: str = "", price: str = "", documents: str = "") -> TenderBidEvent:
    """A sealed bid before the deadline (sealed by the page; else by the server, marked so).

    A new submission replaces the bidder's earlier one: the last counts.
    """
    bidder = bidder_of(session, tender, actor)
    if bidder is None:
        raise Forbidden(_("Register your company for this tender first."))
    require_bidding_open(tender, now)
    if sealed_b64:
        try:
            sealed = base64.b64decode(sealed_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DomainError(_("The sealed bid is damaged: reload the page and try again."),
                              field="sealed") from exc
        if len(sealed) < MIN_SIZE or sealed[:4] != MAGIC:
            raise DomainError(_("The sealed bid is damaged: reload the page and try again."),
                              field="sealed")
        server_sealed = False
    else:
        try:
            value = _decimal(price)
        except ValueError:
            value = Decimal(0)
        if value <= 0 or value != value.quantize(Decimal("0.01")):
            raise DomainError(_("Give the price in yuan, with at most two decimals."),
                              field="price")
        sealed = seal_ballot(bytes(tender.bid_public_key), box_name(tender, KeyPurpose.BIDS),
                             BID_KIND, bid_plaintext(str(value), documents.strip()[:20000]))
        server_sealed = True
    event = _append(session, tender, bidder, now, BidEventKind.SUBMIT, sealed, server_sealed)
    record(session, actor=actor, action="tender.bid_submitted", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"bidder": bidder.code, "sealed_sha256": hashlib.sha256(sealed).hexdigest()})
    return event


def withdraw_bid(session: Session, *, actor: User, now: dt.datetime,
                 tender: Tender) -> TenderBidEvent:
    bidder = bidder_of(session, tender, actor)
    if bidder is None:
        raise Forbidden(_("Register your company for this tender first."))
    require_bidding_open(tender, now)
    event = _append(session, tender, bidder, now, BidEventKind.WITHDRAW, None, False)
    record(session, actor=actor, action="tender.bid_withdrawn", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"bidder": bidder.code})
    return event


def standing_bid(session: Session, tender: Tender, bidder: Bidder) -> TenderBidEvent | None:
    """The bidder's submission that counts now, if any."""
    events = bid_events(session, tender)
    standing = tenders.standing_bids(_domain_log(events)).get(bidder.code)
    if standing is None:
        return None
    return next(e for e in events if str(e.id) == standing.sealed_bid)


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
    try:
        held = unprotect_share((share_text or key.protected_share).strip(), passphrase)
    except WrongPassphraseError as exc:
        raise DomainError(_("The passphrase does not open this share."),
                          field="passphrase") from exc
    except KeyShareError as exc:
        raise DomainError(_("This is not a readable share: paste the whole CYSHARE1 text."),
                          field="share") from exc
    if held.box_id != box_name(tender, purpose) or held.scrutineer_id != key.holder_id:
        raise DomainError(_("This share belongs to another box or another key holder."),
                          field="share")
    key.brought = {"x": held.share.x, "y": format(held.share.y, "x"),
                   "signing_key": base64.b64encode(held.signing_key).decode()}
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
                 "price": None, "documents": "", "problem": None}
        try:
            content = json.loads(opener.open(bytes(event.sealed)))
            price = _decimal(content["price"])
            if price <= 0 or price != price.quantize(Decimal("0.01")):
                raise ValueError(price)
            entry["price"], entry["documents"] = str(price), str(content.get("documents", ""))
        except (SealError, ValueError, KeyError, TypeError):
            entry["problem"] = "the bid does not open to a valid price"
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
    return doc


def opened_bids(tender: Tender) -> list[tenders.OpenedBid]:
    """The readable bids of the opening record as the pure domain takes them."""
    if not tender.opening_record:
        return []
    return [tenders.OpenedBid(b["bid_id"], b["bidder_id"], b["price"],
                              dt.datetime.fromisoformat(b["submitted_at"]))
            for b in tender.opening_record["record"]["bids"] if b["problem"] is None]


# -- the panel ----------------------------------------------------------------------------------


def seat_of(session: Session, tender: Tender, user: User) -> PanelSeat | None:
    return session.scalar(select(PanelSeat).where(PanelSeat.tender_id == tender.id,
                                                  PanelSeat.user_id == user.id))


def appoint(session: Session, *, actor: User, now: dt.datetime, tender: Tender, member: User,
            seat_role: str) -> PanelSeat:
    """Appoint an evaluator (given the evaluator role in the community if they lack it)."""
    if tender.status not in (TenderStatus.PUBLISHED, TenderStatus.OPENED):
        raise Conflict(_("The panel is appointed while the tender is published or opened."))
    if tender.status is TenderStatus.OPENED and sheets_of(session, tender):
        raise Conflict(_("Scoring has started: the panel is fixed."))
    if bidder_of(session, tender, member) is not None:
        raise DomainError(_("A bidder cannot sit on the panel."), field="username")
    if seat_of(session, tender, member) is not None:
        raise DomainError(_("This person is on the panel already."), field="username")
    seat = PanelSeat(tender_id=tender.id, user_id=member.id, seat_role=seat_role[:80],
                     appointed_at=now)
    tender.panel.append(seat)
    has_role = session.scalar(select(RoleGrant.id).where(
        RoleGrant.user_id == member.id, RoleGrant.role == Role.EVALUATOR,
        RoleGrant.community_id == tender.community_id))
    if not has_role:
        session.add(RoleGrant(user_id=member.id, role=Role.EVALUATOR,
                              community_id=tender.community_id, granted_at=now,
                              granted_by_id=actor.id))
    session.flush()
    record(session, actor=actor, action="tender.evaluator_appointed", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"seat": seat.code, "role": seat.seat_role})
    return seat


def declare(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
            conflicts: list[str], note: str = "") -> PanelSeat:
    """A member declares conflicts of interest with the opened bidders (once, on the record)."""
    seat = seat_of(session, tender, actor)
    if seat is None:
        raise Forbidden(_("You are not on this tender's panel."))
    if tender.status is not TenderStatus.OPENED:
        raise Conflict(_("Conflicts are declared once the bids are opened and the bidders "
                         "known."))
    if seat.declared_at is not None:
        raise Conflict(_("You have declared; a declaration stays on the record."))
    known = {b.bidder_id for b in opened_bids(tender)}
    unknown = set(conflicts) - known
    if unknown:
        raise DomainError(_("Choose bidders of this tender."), field="conflicts")
    seat.conflicts, seat.conflict_note, seat.declared_at = sorted(conflicts), note[:2000], now
    session.flush()
    record(session, actor=actor, action="tender.conflicts_declared", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"seat": seat.code, "recused": bool(conflicts)})
    return seat


def panel_state(tender: Tender) -> tenders.PanelStatus:
    members = [tenders.PanelMember(s.code, "", s.seat_role) for s in tender.panel]
    declarations = [tenders.ConflictDeclaration(s.code, frozenset(s.conflicts or ()))
                    for s in tender.panel if s.declared_at is not None]
    return tenders.panel_status(rules_of(tender), members, declarations,
                                [b.bidder_id for b in opened_bids(tender)])


# -- sealed score sheets ------------------------------------------------------------------------


def sheets_of(session: Session, tender: Tender) -> list[SealedSheet]:
    return list(session.scalars(select(SealedSheet).where(SealedSheet.tender_id == tender.id)
                                .order_by(SealedSheet.seat_id)))


def sheet_blockers(session: Session, tender: Tender) -> tuple[tenders.Blocker, ...]:
    """The panel's blockers, then who has not submitted: never a score."""
    status = panel_state(tender)
    if status.blockers:
        return status.blockers
    codes = {s.id: s.code for s in tender.panel}
    return tenders.blockers_before_opening_sheets(
        status.active, [codes[s.seat_id] for s in sheets_of(session, tender)])


def submit_sheet(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                 raw: dict[tuple[str, str], str]) -> SealedSheet:
    """Validate the evaluator's scores, seal the sheet to the sheets box, keep only the seal.

    ``raw`` maps (bid id, criterion code) → the typed score. A submitted sheet cannot be
    changed: there is no other path, and the database keeps one sheet per seat.
    """
    seat = seat_of(session, tender, actor)
    if seat is None:
        raise Forbidden(_("You are not on this tender's panel."))
    if tender.status is not TenderStatus.OPENED:
        raise Conflict(_("Sheets are taken while the opened bids are being scored."))
    if session.scalar(select(SealedSheet.id).where(SealedSheet.seat_id == seat.id)):
        raise Conflict(_("Your sheet is sealed: a submitted sheet cannot be changed."))
    status = panel_state(tender)
    if status.blockers:
        raise Conflict(" ".join(b.message for b in status.blockers))
    if seat.code not in status.active:
        raise Forbidden(_("You are recused from this evaluation."))
    bids = opened_bids(tender)
    criteria = rules_of(tender).criteria
    scores = {b.bid_id: {c.code: raw[(b.bid_id, c.code)].strip() for c in criteria
                         if (raw.get((b.bid_id, c.code)) or "").strip()} for b in bids}
    sheet = tenders.ScoreSheet(seat.code, scores, now)
    try:
        tenders.validate_sheet(rules_of(tender), sheet, [b.bid_id for b in bids])
    except tenders.InvalidSheetError as exc:
        raise DomainError("; ".join(exc.problems), field="scores") from exc
    sealed = seal_ballot(bytes(tender.sheet_public_key), box_name(tender, KeyPurpose.SHEETS),
                         SHEET_KIND, tenders.canonical_json(sheet.to_json()).encode("utf-8"))
    row = SealedSheet(tender_id=tender.id, seat_id=seat.id, sealed=sealed, submitted_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(_("Your sheet is sealed: a submitted sheet cannot be changed.")) from exc
    record(session, actor=actor, action="tender.sheet_sealed", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"seat": seat.code, "sealed_sha256": hashlib.sha256(sealed).hexdigest()})
    return row


def open_sheets(session: Session, *, actor: User, now: dt.datetime, tender: Tender) -> dict:
    """Every sheet is in: open them together, score, rank, sign the evaluation."""
    private, shares = _private_key(tender, KeyPurpose.SHEETS, bytes(tender.sheet_public_key))
    opener = BallotOpener(private, box_name(tender, KeyPurpose.SHEETS), SHEET_KIND)
    sheets = [tenders.ScoreSheet.from_json(json.loads(opener.open(bytes(s.sealed))))
              for s in sheets_of(session, tender)]
    result = tenders.evaluate(rules_of(tender), opened_bids(tender), sheets,
                              active_evaluators=panel_state(tender).active)
    doc = _signed("tender-evaluation", {"tender": tender.box_id,
                                        "result": json.loads(tenders.result_json(result)),
                                        "opened_at": now.astimezone(dt.UTC).isoformat()}, shares)
    tender.sheet_private_key, tender.evaluation, tender.sheets_opened_at = private, doc, now
    tender.status = TenderStatus.EVALUATED
    if result.outcome is tenders.Outcome.FAILED:
        tender.failure_reason = result.failure_reason
    session.flush()
    record(session, actor=actor, action="tender.evaluated", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"sheets": len(sheets), "shortlist": list(result.shortlist)})
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
    opener = BallotOpener(bytes(tender.sheet_private_key), box_name(tender, KeyPurpose.SHEETS),
                          SHEET_KIND)
    sheets = [tenders.ScoreSheet.from_json(json.loads(opener.open(bytes(s.sealed))))
              for s in sheets_of(session, tender)]
    try:
        result = tenders.evaluate(rules_of(tender), opened_bids(tender), sheets,
                                  active_evaluators=panel_state(tender).active,
                                  tie_resolutions=resolutions)
    except tenders.TieResolutionError as exc:
        raise DomainError(_("Give the order of exactly the bids of one tie."),
                          field="order") from exc
    shares = _shares(tender, KeyPurpose.SHEETS)
    tender.evaluation = _signed("tender-evaluation", {
        "tender": tender.box_id, "result": json.loads(tenders.result_json(result)),
        "opened_at": tender.evaluation["record"]["opened_at"]}, shares)
    for seat in tender.panel:  # the report changed: signatures under the old one lapse
        seat.report_signature, seat.report_signed_at = None, None
    session.flush()
    record(session, actor=actor, action="tender.tie_resolved", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"order": list(order)})
    return tender.evaluation


def evaluation_hash(tender: Tender) -> str:
    return hashlib.sha256(tenders.canonical_json(tender.evaluation["record"]).encode()).hexdigest()


def sign_report(session: Session, *, actor: User, now: dt.datetime, tender: Tender) -> PanelSeat:
    """An active evaluator signs the evaluation report (once; the signature names its hash)."""
    seat = seat_of(session, tender, actor)
    if seat is None:
        raise Forbidden(_("You are not on this tender's panel."))
    if tender.status not in (TenderStatus.EVALUATED, TenderStatus.PUBLICISED,
                             TenderStatus.FINAL):
        raise Conflict(_("The report is signed once the sheets are open."))
    if seat.code not in panel_state(tender).active:
        raise Forbidden(_("You are recused from this evaluation."))
    if seat.report_signed_at is not None:
        raise Conflict(_("You have signed the report."))
    seat.report_signature = sign("tender-report-signature", {
        "tender": tender.box_id, "evaluator": seat.code, "evaluation_sha256":
        evaluation_hash(tender), "signed_at": now.astimezone(dt.UTC).isoformat()})
    seat.report_signed_at = now
    session.flush()
    record(session, actor=actor, action="tender.report_signed", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"seat": seat.code})
    return seat


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
    meetings.add_motion(session, actor=actor, now=now, meeting=meeting,
                        title=_("Shortlist of the tender %(title)s", title=tender.title),
                        body="\n".join(lines), matter=Matter.SERVICE_COMPANY)
    tender.shortlist_meeting_id = meeting.id
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


def record_award(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                 bid_id: str, note: str) -> Tender:
    """The committee records the negotiation and the award to a shortlisted bid."""
    if tender.status is not TenderStatus.PUBLICISED:
        raise Conflict(_("The award is recorded once the candidates are published."))
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
    found = []
    if now < tender.complaints_close_at:
        found.append(_("Complaints are taken until %(when)s.",
                       when=format_datetime(tender.complaints_close_at, "medium")))
    open_count = sum(1 for o in objections_of(session, tender) if o.answer is None)
    if open_count:
        found.append(_("%(n)s objections are not yet answered.", n=open_count))
    if tender.awarded_bid_id is None:
        found.append(_("The committee has not recorded the award."))
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
