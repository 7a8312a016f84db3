"""The evaluation panel (评标委员会): appointment, conflict declarations and recusal, the sealed
score sheets, and the members' signatures under the report."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import tenders
from elections import WeakPassphraseError
from tenders import signing as tender_signing
from tenders.signing import (
    SigningKeyError,
    evaluation_sha256,
    new_evaluator_key,
    open_evaluator_key,
)

from ..audit.services import record
from ..errors import Conflict, DomainError, Forbidden
from ..models import (
    PanelSeat,
    Role,
    RoleGrant,
    SealedSheet,
    Tender,
    TenderStatus,
    User,
)
from .messages import blocker_texts
from .services import (
    bidder_of,
    opened_bids,
    rules_of,
    sealed_envelope,
)

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
            conflicts: list[str], note: str = "", passphrase: str = "",
            again: str | None = None) -> PanelSeat:
    """A member declares conflicts of interest with the opened bidders (once, on the record).

    A member without a conflict scores and will sign the report: they get their own signing
    key here, kept only under the ``passphrase`` they choose (typed twice on the page)."""
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
    if not conflicts:
        if again is not None and again != passphrase:
            raise DomainError(_("The two passphrases differ."), field="passphrase")
        cost = current_app.config.get("SHARE_SCRYPT_COST", 2**15)
        try:
            seat.signing_public_key, seat.protected_signing_key = new_evaluator_key(
                seat.code, passphrase, cost=cost)
        except WeakPassphraseError as exc:
            raise DomainError(_("Choose a signing passphrase of at least 10 characters: you "
                                "type it to sign the evaluation report."),
                              field="passphrase") from exc
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


#: A sealed sheet is a few hundred bytes per bid; anything far larger is not a sheet.
MAX_SEALED_SHEET = 64 * 1024


def submit_sheet(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                 sealed_b64: str) -> SealedSheet:
    """Keep the evaluator's sheet as sealed by their browser (to the sheets box).

    The server never sees a score: it checks only who submits, when, and that the envelope
    is one (its header and size); the scores' ranges are checked at the opening, where an
    invalid sheet is recorded with the reason. A submitted sheet cannot be changed: there is
    no other path, and the database keeps one sheet per seat.
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
        raise Conflict(blocker_texts(status.blockers))
    if seat.code not in status.active:
        raise Forbidden(_("You are recused from this evaluation."))
    sealed = sealed_envelope(sealed_b64, MAX_SEALED_SHEET)
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


def sheet_plaintext(seat: PanelSeat, scores: dict[str, dict[str, str]]) -> bytes:
    """What the evaluator's browser seals (the tests seal the same in Python)."""
    return tenders.canonical_json({"evaluator_id": seat.code, "scores": scores}).encode()


def evaluation_hash(tender: Tender) -> str:
    return evaluation_sha256(tender.evaluation["record"])


def evaluator_keys(tender: Tender, active: tuple[str, ...]) -> dict[str, str]:
    """The active evaluators' public signing keys, pinned in the signed evaluation."""
    return {s.code: base64.b64encode(bytes(s.signing_public_key)).decode()
            for s in tender.panel if s.code in active and s.signing_public_key is not None}


def sign_report(session: Session, *, actor: User, now: dt.datetime, tender: Tender,
                passphrase: str) -> PanelSeat:
    """An active evaluator signs the evaluation report with their own key (once; the
    signature names the report's hash, so a recomputed report needs a new signature)."""
    seat = seat_of(session, tender, actor)
    if seat is None:
        raise Forbidden(_("You are not on this tender's panel."))
    if tender.status not in (TenderStatus.EVALUATED, TenderStatus.PUBLICISED,
                             TenderStatus.FINAL):
        raise Conflict(_("The report is signed once the sheets are open."))
    if seat.code not in panel_state(tender).active or seat.protected_signing_key is None:
        raise Forbidden(_("You are recused from this evaluation."))
    if seat.report_signed_at is not None:
        raise Conflict(_("You have signed the report."))
    try:
        private = open_evaluator_key(seat.protected_signing_key, seat.code, passphrase)
    except SigningKeyError as exc:
        raise DomainError(_("This is not your signing passphrase (the one you chose when you "
                            "declared)."), field="passphrase") from exc
    seat.report_signature = tender_signing.sign_report(
        private, tender=tender.box_id, evaluator_id=seat.code,
        evaluation_record=tender.evaluation["record"],
        signed_at=now.astimezone(dt.UTC).isoformat())
    seat.report_signed_at = now
    session.flush()
    record(session, actor=actor, action="tender.report_signed", now=now,
           community_id=tender.community_id, target=f"tender:{tender.id}",
           details={"seat": seat.code})
    return seat
