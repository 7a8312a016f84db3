"""A tender on the site: the tender file, the committee's key ceremony, bidders and their sealed
bids until the deadline. The openings are in ``opening``, the panel and its sheets in ``panel``,
the publication, objections and award in ``decision``.

Every rule of a tender is in ``tenders`` and every seal in ``elections``; this module loads,
calls and stores. Services take ``session``, ``actor`` and ``now``, flush but never commit, and
raise domain errors (``app.errors``) that the one error handler turns into responses.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import tenders
from elections import (
    WeakPassphraseError,
    make_ceremony,
    seal_ballot,
)
from elections.rules import Matter
from elections.sealing import MAGIC, MIN_SIZE
from tenders import documents

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..meetings.services import adopted_motions
from ..models import (
    Bidder,
    BidEventKind,
    Community,
    KeyPurpose,
    Motion,
    Role,
    RoleGrant,
    Tender,
    TenderBidEvent,
    TenderKey,
    TenderStatus,
    User,
)
from ..signing import sign
from .messages import error_text, not_a_number

#: scrypt cost of the committee's shares (the tests lower it with SHARE_SCRYPT_COST).
DEFAULT_SHARE_COST = 2**15
BID_KIND, SHEET_KIND = "bid", "sheet"
#: A sealed bid holds its documents (``tenders.documents``: at most 8 MB of files, base64
#: inside the sealed JSON) and the text.
MAX_SEALED_BID = 11 * 2**20
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
        except tenders.TenderError as exc:
            raise DomainError(_("Line %(n)s: %(problem)s", n=number, problem=error_text(exc)),
                              field="criteria") from exc
        except ValueError as exc:
            raise DomainError(_("Line %(n)s: %(problem)s", n=number,
                                problem=not_a_number(parts[2])), field="criteria") from exc
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
        raise DomainError(_("The price weight and the factors must be numbers."),
                          field="formula") from exc
    except tenders.TenderError as exc:
        field = next((f for cls, f in _RULE_FIELDS.items() if isinstance(exc, cls)), "criteria")
        raise DomainError(error_text(exc), field=field) from exc


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


def bid_plaintext(price: str, documents: str,
                  files: list[tuple[str, str, bytes]] = ()) -> bytes:
    """What a bid seals (the browser writes the same canonical JSON): the price, the text,
    and the files as ``{"name", "type", "data": base64}``."""
    return tenders.canonical_json({
        "documents": documents, "price": price,
        "files": [{"name": n, "type": t, "data": base64.b64encode(d).decode()}
                  for n, t, d in files]}).encode("utf-8")


def check_files(files: list[tuple[str, str, bytes]]) -> None:
    """The document rules for a bid the server seals (a browser without the sealing script):
    the same rule the opening applies, with errors naming the file."""
    if len(files) > documents.MAX_DOCUMENTS:
        raise DomainError(_("At most %(n)s files per bid.", n=documents.MAX_DOCUMENTS),
                          field="files")
    if sum(len(d) for _n, _t, d in files) > documents.MAX_DOCUMENTS_BYTES:
        raise DomainError(_("The files of a bid are at most %(mb)s MB together.",
                            mb=documents.MAX_DOCUMENTS_BYTES // 2**20), field="files")
    for name, mime, data in files:
        if mime not in documents.DOCUMENT_TYPES:
            raise DomainError(_("%(name)s: only PDF, PNG or JPEG files are accepted.",
                                name=name), field="files")
        if len(data) > documents.MAX_DOCUMENT_BYTES:
            raise DomainError(_("%(name)s: a file is at most %(mb)s MB.", name=name,
                                mb=documents.MAX_DOCUMENT_BYTES // 2**20), field="files")
        if documents.document_problem(mime, data):
            raise DomainError(_("%(name)s: the content is not a PDF, PNG or JPEG file.",
                                name=name), field="files")


def sealed_envelope(text: str, limit: int) -> bytes:
    """A sealed envelope posted by a page, checked for what the server can check without
    reading it: base64, the sealing header, a size within ``limit``."""
    if len(text) > limit * 4 // 3 + 8:
        raise DomainError(_("The sealed envelope is larger than %(mb)s MB allows.",
                            mb=round(limit / 2**20, 1)), field="sealed")
    try:
        sealed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DomainError(_("The sealed envelope is damaged: reload the page and try again."),
                          field="sealed") from exc
    if len(sealed) < MIN_SIZE or sealed[:4] != MAGIC or len(sealed) > limit:
        raise DomainError(_("The sealed envelope is damaged: reload the page and try again."),
                          field="sealed")
    return sealed


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
               sealed_b64: str = "", price: str = "", text: str = "",
               files: list[tuple[str, str, bytes]] = ()) -> TenderBidEvent:
    """A sealed bid before the deadline (sealed by the page; else by the server, marked so).

    A new submission replaces the bidder's earlier one: the last counts.
    """
    bidder = bidder_of(session, tender, actor)
    if bidder is None:
        raise Forbidden(_("Register your company for this tender first."))
    require_bidding_open(tender, now)
    if sealed_b64:
        sealed = sealed_envelope(sealed_b64, MAX_SEALED_BID)
        server_sealed = False
    else:
        try:
            value = _decimal(price)
        except ValueError:
            value = Decimal(0)
        if value <= 0 or value != value.quantize(Decimal("0.01")):
            raise DomainError(_("Give the price in yuan, with at most two decimals."),
                              field="price")
        check_files(list(files))
        sealed = seal_ballot(bytes(tender.bid_public_key), box_name(tender, KeyPurpose.BIDS),
                             BID_KIND, bid_plaintext(str(value), text.strip()[:20000],
                                                     list(files)))
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


def opened_bids(tender: Tender) -> list[tenders.OpenedBid]:
    """The readable bids of the opening record as the pure domain takes them."""
    if not tender.opening_record:
        return []
    return [tenders.OpenedBid(b["bid_id"], b["bidder_id"], b["price"],
                              dt.datetime.fromisoformat(b["submitted_at"]))
            for b in tender.opening_record["record"]["bids"] if b["problem"] is None]
