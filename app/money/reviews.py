"""Owners ask for a review of their unit's fund figures; the committee answers on the record."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import Conflict, DomainError, NotFound
from ..models import Community, FundReview, Role, User
from ..notifications.services import holders_of, notify
from .fund import owned_units


def ask_review(session: Session, *, actor: User, now: dt.datetime, community: Community,
               unit_id: int, question: str) -> FundReview:
    """File a review request on a unit ``actor`` owns (any other unit: not found)."""
    if unit_id not in {u.id for u in owned_units(session, actor, community)}:
        raise NotFound(_("You own no such unit here."))
    question = (question or "").strip()
    if not question:
        raise DomainError(_("Say which figure you question and why."), field="question")
    review = FundReview(community_id=community.id, unit_id=unit_id, user_id=actor.id,
                        question=question[:2000], created_at=now)
    session.add(review)
    session.flush()
    record(session, actor=actor, action="money.review_asked", now=now,
           community_id=community.id, target=f"fund_review:{review.id}",
           details={"unit_id": unit_id})
    notify(session, now=now, community=community,
           recipients=holders_of(session, community, Role.COMMITTEE, Role.CHAIR),
           kind="money.review_asked", link=f"/c/{community.id}/money/fund",
           message=lambda: (_("An owner asks for a review of the fund figures"),
                            _("Unit %(unit)s: %(question)s", unit=review.unit.label,
                              question=review.question[:200])))
    return review


def answer_review(session: Session, *, actor: User, now: dt.datetime, community: Community,
                  review_id: int, answer: str) -> FundReview:
    review = session.get(FundReview, review_id)
    if review is None or review.community_id != community.id:
        raise NotFound(_("There is no such review request."))
    if review.answer is not None:
        raise Conflict(_("This request has been answered already."))
    answer = (answer or "").strip()
    if not answer:
        raise DomainError(_("Write the answer."), field="answer")
    review.answer, review.answered_by_id, review.answered_at = answer[:4000], actor.id, now
    session.flush()
    record(session, actor=actor, action="money.review_answered", now=now,
           community_id=community.id, target=f"fund_review:{review.id}")
    notify(session, now=now, community=community, recipients=[review.user_id],
           kind="money.review_answered", link=f"/c/{community.id}/money/fund/mine",
           message=lambda: (_("Your fund review request is answered"), review.answer[:300]))
    return review


def reviews_of(session: Session, community: Community, *, user: User | None = None,
               open_only: bool = False) -> list[FundReview]:
    query = select(FundReview).where(FundReview.community_id == community.id)
    if user is not None:
        query = query.where(FundReview.user_id == user.id)
    if open_only:
        query = query.where(FundReview.answer.is_(None))
    return list(session.scalars(query.order_by(FundReview.created_at.desc(),
                                               FundReview.id.desc())))
