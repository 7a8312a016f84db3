"""The steps of a tender before the numbers: bids up to the deadline, the panel, the sheets.

Each step is a pure function over plain values. A step that can be refused raises a
:class:`~tenders.rules.TenderError` subclass; a step that waits on people returns *blockers*
(:class:`Blocker`) a page can show, with what the caller must do about each.

* **Bids** (投标): a bidder submits, may withdraw and resubmit, strictly before the deadline;
  the last submission counts. A late bid or withdrawal is refused.
* **Panel** (评标委员会): members declare conflicts of interest; a member with a conflict with
  any bidder is recused (回避). The active panel must be odd, at least five, and as large as the
  tender file says; otherwise the caller appoints a substitute.
* **Sheets** (评分表): one per active evaluator, scoring every valid bid on every criterion within
  the criterion's range. A sheet is a frozen value: once submitted it is never changed.
* **Opened bids and ties**: a bid as opened (price, time, a disqualification reason if review
  ruled it invalid), and the committee's recorded order for bids the tie-break chain left tied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from .rules import (
    MINIMUM_PANEL_SIZE,
    SCORE_QUANTUM,
    TenderError,
    TenderRules,
    as_decimal,
    bid_is_on_time,
    decimal_text,
    has_places,
    instant_text,
    too_few_bids,
)


class BidError(TenderError):
    """A submission or withdrawal is refused (late, unknown bidder, nothing to withdraw)."""


class LateBidError(BidError):
    """A bid or a withdrawal arrived at or after the deadline."""


class TieResolutionError(TenderError):
    """A committee's tie resolution does not match a tie of the ranking."""


class PanelNotReadyError(TenderError):
    """Scoring cannot start: the panel has blockers (listed in ``blockers``)."""

    def __init__(self, blockers: Sequence[Blocker]) -> None:
        self.blockers = tuple(blockers)
        super().__init__("; ".join(b.message for b in self.blockers))


class InvalidSheetError(TenderError):
    """A score sheet is incomplete or out of range; ``problems`` names every place at fault."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Blocker:
    """Something that must be done before the next step; ``code`` is stable for pages, and
    with ``params`` lets a page word the blocker in its reader's language."""

    code: str
    message: str
    params: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)


# -- bids until the deadline --------------------------------------------------------------------


class BidAction(StrEnum):
    """What a bidder did."""

    SUBMIT = "submit"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class BidEvent:
    """One submission or withdrawal; ``sealed_bid`` identifies the sealed envelope submitted."""

    bidder_id: str
    action: BidAction
    at: datetime
    sealed_bid: str | None = None


def record_bid_event(
    rules: TenderRules, log: Sequence[BidEvent], event: BidEvent
) -> tuple[BidEvent, ...]:
    """The log with ``event`` appended, or a :class:`BidError` saying why it is refused.

    Refused: anything at or after the deadline (:class:`LateBidError`), a submission without a
    sealed bid, a withdrawal by a bidder with no standing bid, or an event earlier than the last
    one logged (the log is in time order).
    """
    if not bid_is_on_time(rules, event.at):
        verb = "bid" if event.action is BidAction.SUBMIT else "withdrawal"
        raise LateBidError(
            f"late {verb} from {event.bidder_id} refused: {event.at.isoformat()} is not before "
            f"the deadline {rules.deadline.isoformat()}"
        )
    if log and event.at < log[-1].at:
        raise BidError("bid events are recorded in time order")
    if event.action is BidAction.SUBMIT and not event.sealed_bid:
        raise BidError(f"a submission from {event.bidder_id} needs its sealed bid")
    if event.action is BidAction.WITHDRAW and event.bidder_id not in standing_bids(log):
        raise BidError(f"{event.bidder_id} has no standing bid to withdraw")
    return (*log, event)


def standing_bids(log: Iterable[BidEvent]) -> dict[str, BidEvent]:
    """Per bidder, the submission that counts: the last one, unless withdrawn after it."""
    standing: dict[str, BidEvent] = {}
    for event in log:
        if event.action is BidAction.SUBMIT:
            standing[event.bidder_id] = event
        else:
            standing.pop(event.bidder_id, None)
    return standing


@dataclass(frozen=True)
class DeadlineOutcome:
    """The bids counted at the deadline, and the reason the tender failed if it did."""

    counted: tuple[BidEvent, ...]
    failure_reason: str | None

    @property
    def failed(self) -> bool:
        """Too few bids: the tender failed and must be held again."""
        return self.failure_reason is not None


def close_bidding(rules: TenderRules, log: Sequence[BidEvent], now: datetime) -> DeadlineOutcome:
    """Count the standing bids once the deadline has passed; too few → failed, with reason."""
    if bid_is_on_time(rules, now):
        raise BidError(f"bidding is open until {rules.deadline.isoformat()}")
    counted = tuple(sorted(standing_bids(log).values(), key=lambda e: (e.at, e.bidder_id)))
    return DeadlineOutcome(counted, too_few_bids(rules, len(counted), what="bids at the deadline"))


# -- opened bids and the committee's tie decisions ------------------------------------------


@dataclass(frozen=True)
class OpenedBid:
    """A bid as opened after the deadline: the counted (last) submission of one bidder."""

    bid_id: str
    bidder_id: str
    price: Decimal
    submitted_at: datetime
    #: Why the bid was ruled invalid at review (资格审查), or ``None`` for a valid bid.
    disqualified: str | None = None

    def __post_init__(self) -> None:
        price = as_decimal(self.price, f"price of bid {self.bid_id}")
        if price <= 0:
            raise TenderError(f"bid {self.bid_id}: the price must be positive, not {price}")
        object.__setattr__(self, "price", price)
        if self.submitted_at.tzinfo is None or self.submitted_at.utcoffset() is None:
            raise TenderError(f"bid {self.bid_id}: the submission time needs a time zone")

    def to_json(self) -> dict[str, Any]:
        """Plain data (price as exact decimal text, time in UTC)."""
        return {
            "bid_id": self.bid_id, "bidder_id": self.bidder_id,
            "price": decimal_text(self.price), "submitted_at": instant_text(self.submitted_at),
            "disqualified": self.disqualified,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OpenedBid:
        """Inverse of :meth:`to_json`."""
        return cls(
            data["bid_id"], data["bidder_id"], data["price"],
            datetime.fromisoformat(data["submitted_at"]), data.get("disqualified"),
        )


@dataclass(frozen=True)
class TieResolution:
    """The committee's recorded order for bids the tie-break chain left tied (never a lot
    drawn by the software)."""

    order: tuple[str, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {"order": list(self.order), "reason": self.reason}



# -- the evaluation panel -----------------------------------------------------------------------


@dataclass(frozen=True)
class PanelMember:
    """An appointed evaluator; ``role`` e.g. committee, building representative, authority."""

    member_id: str
    name: str = ""
    role: str = ""


@dataclass(frozen=True)
class ConflictDeclaration:
    """A member's declaration (利益冲突声明): the bidders they have a conflict with, if any."""

    member_id: str
    conflicts_with: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PanelStatus:
    """Who scores, who is recused and why, and what blocks scoring."""

    active: tuple[str, ...]
    #: Recused member → the bidders they declared a conflict with.
    recused: Mapping[str, tuple[str, ...]]
    blockers: tuple[Blocker, ...]

    @property
    def ready(self) -> bool:
        """Scoring may start."""
        return not self.blockers

    def require_ready(self) -> None:
        """Raise :class:`PanelNotReadyError` unless scoring may start."""
        if self.blockers:
            raise PanelNotReadyError(self.blockers)


def panel_status(
    rules: TenderRules,
    members: Sequence[PanelMember],
    declarations: Iterable[ConflictDeclaration],
    bidder_ids: Iterable[str],
) -> PanelStatus:
    """Apply recusal and report the blockers of the panel against the bidders of the tender.

    A member who declared a conflict with any of ``bidder_ids`` is recused from the whole
    evaluation. Blockers: a member who has not declared; an even active panel (appoint a
    substitute, who then declares); fewer than five active members; an active panel of another
    size than the tender file sets.
    """
    bidders = frozenset(bidder_ids)
    ids = [m.member_id for m in members]
    if len(set(ids)) != len(ids):
        raise TenderError("a member is appointed to the panel twice")
    declared = {d.member_id: d for d in declarations}
    blockers: list[Blocker] = []
    active: list[str] = []
    recused: dict[str, tuple[str, ...]] = {}
    for member_id in ids:
        declaration = declared.get(member_id)
        if declaration is None:
            blockers.append(Blocker(
                "undeclared", f"member {member_id} has not declared conflicts of interest",
                {"member": member_id},
            ))
            continue
        conflicts = sorted(declaration.conflicts_with & bidders)
        if conflicts:
            recused[member_id] = tuple(conflicts)
        else:
            active.append(member_id)
    if blockers:
        return PanelStatus(tuple(active), recused, tuple(blockers))
    count = len(active)
    who = f" after recusing {', '.join(sorted(recused))}" if recused else ""
    facts = {"count": str(count), "recused": ", ".join(sorted(recused))}
    if count % 2 == 0:
        blockers.append(Blocker(
            "even_panel",
            f"the active panel has {count} members{who}; it must have an odd number: appoint "
            "a substitute member, who declares conflicts of interest before scoring starts",
            facts,
        ))
    elif count < MINIMUM_PANEL_SIZE:
        blockers.append(Blocker(
            "panel_too_small",
            f"the active panel has {count} members{who}; at least {MINIMUM_PANEL_SIZE} are "
            f"required: appoint {MINIMUM_PANEL_SIZE - count} substitute members",
            {**facts, "minimum": str(MINIMUM_PANEL_SIZE),
             "missing": str(MINIMUM_PANEL_SIZE - count)},
        ))
    elif count != rules.panel_size:
        change = "appoint substitute members" if count < rules.panel_size else "release members"
        blockers.append(Blocker(
            "panel_size",
            f"the active panel has {count} members{who}; the tender file sets "
            f"{rules.panel_size}: {change}",
            {**facts, "size": str(rules.panel_size)},
        ))
    return PanelStatus(tuple(active), recused, tuple(blockers))


# -- score sheets -------------------------------------------------------------------------------


def _number_or_raw(value: Any) -> Any:
    # Numbers become Decimal; anything else is kept for validate_sheet to name and refuse.
    try:
        return as_decimal(value, "score")
    except (TypeError, ValueError):
        return value


def _frozen_scores(scores: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    # A sheet is final once submitted: a read-only copy the caller cannot change.
    return MappingProxyType({
        bid: MappingProxyType({code: _number_or_raw(v) for code, v in by_criterion.items()})
        for bid, by_criterion in scores.items()
    })


@dataclass(frozen=True)
class ScoreSheet:
    """One evaluator's sealed sheet, as opened: ``scores[bid_id][criterion_code]`` = points.

    Values are frozen: the dataclass refuses assignment and ``scores`` is a read-only view.
    Scores given as ``Decimal``, ``int`` or decimal text are stored as ``Decimal``; anything
    else (a ``float``, a word) is kept for :func:`validate_sheet` to refuse by its place.
    """

    evaluator_id: str
    scores: Mapping[str, Mapping[str, Any]] = field(hash=False)
    submitted_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", _frozen_scores(self.scores))

    def score(self, bid_id: str, criterion: str) -> Decimal:
        """The validated score of ``bid_id`` on ``criterion``."""
        return as_decimal(self.scores[bid_id][criterion], "score")

    def to_json(self) -> dict[str, Any]:
        """Plain data (scores as exact decimal text, keys sorted when encoded); a value that is
        not a number (an invalid sheet's) is kept as the text it was given."""
        return {
            "evaluator_id": self.evaluator_id,
            "submitted_at": None if self.submitted_at is None else instant_text(self.submitted_at),
            "scores": {
                bid: {code: decimal_text(v) if isinstance(v, Decimal) else str(v)
                      for code, v in by_criterion.items()}
                for bid, by_criterion in self.scores.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreSheet:
        """Inverse of :meth:`to_json`."""
        at = data.get("submitted_at")
        return cls(
            data["evaluator_id"], data["scores"],
            None if at is None else datetime.fromisoformat(at),
        )


#: What the evaluator's browser seals (canonical JSON): ``{"evaluator_id": seat, "scores":
#: {bid_id: {criterion_code: "decimal text"}}}``.
SHEET_PLAINTEXT_KEYS = frozenset({"evaluator_id", "scores"})


def sheet_from_plaintext(
    evaluator_id: str, submitted_at: datetime | None, plaintext: bytes
) -> tuple[ScoreSheet | None, tuple[str, ...]]:
    """An opened sheet's content as a :class:`ScoreSheet`, or ``None`` and why it is refused.

    The sheet is sealed in the evaluator's browser, so the server saw only ciphertext; this is
    the first place its content is read. It must be the JSON object above, sealed for the seat
    that submitted it (``evaluator_id``), with every score given as text. Ranges are checked
    afterwards by :func:`sheet_problems`, as for any sheet.
    """
    who = f"sheet of evaluator {evaluator_id}"
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, (f"{who} is not readable JSON",)
    if not isinstance(data, dict) or set(data) != SHEET_PLAINTEXT_KEYS:
        return None, (f"{who} does not have the fields evaluator_id and scores",)
    if data["evaluator_id"] != evaluator_id:
        return None, (f"{who} was sealed for evaluator {data['evaluator_id']!r}",)
    scores = data["scores"]
    if not isinstance(scores, dict) or not all(
        isinstance(by, dict) and all(isinstance(v, str) for v in by.values())
        for by in scores.values()
    ):
        return None, (f"{who}: scores must map each bid to criterion scores written as text",)
    return ScoreSheet(evaluator_id, scores, submitted_at), ()


def _check_value(rules: TenderRules, where: str, code: str, raw: Any) -> str | None:
    criterion = rules.criteria_by_code[code]
    try:
        value = as_decimal(raw, where)
    except (TypeError, ValueError) as exc:
        return str(exc)
    if not criterion.min_score <= value <= criterion.weight:
        return (
            f"{where}: {value} is outside the range {criterion.min_score}–{criterion.weight} "
            f"of {criterion.label}"
        )
    if not has_places(value, SCORE_QUANTUM):
        return f"{where}: {value} has more than two decimals"
    return None


def sheet_problems(
    rules: TenderRules, sheet: ScoreSheet, bid_ids: Iterable[str]
) -> list[str]:
    """Every fault of ``sheet`` against the valid ``bid_ids``, each naming evaluator, bid and
    criterion: a missing bid or score, an unknown bid or criterion, a score out of range."""
    who = f"sheet of evaluator {sheet.evaluator_id}"
    expected = list(bid_ids)
    problems: list[str] = []
    for bid_id in sorted(set(sheet.scores) - set(expected)):
        problems.append(f"{who} scores unknown bid {bid_id}")
    for bid_id in expected:
        by_criterion = sheet.scores.get(bid_id)
        if by_criterion is None:
            problems.append(f"{who} has no scores for bid {bid_id}")
            continue
        for code in sorted(set(by_criterion) - set(rules.criteria_by_code)):
            problems.append(f"{who}, bid {bid_id}: unknown criterion {code!r}")
        for criterion in rules.criteria:
            if criterion.code not in by_criterion:
                problems.append(f"{who}, bid {bid_id}: no score for {criterion.label}")
                continue
            where = f"{who}, bid {bid_id}, criterion {criterion.code!r}"
            problem = _check_value(rules, where, criterion.code, by_criterion[criterion.code])
            if problem:
                problems.append(problem)
    return problems


def validate_sheet(rules: TenderRules, sheet: ScoreSheet, bid_ids: Iterable[str]) -> ScoreSheet:
    """Return ``sheet`` if it scores every bid on every criterion within range; else raise
    :class:`InvalidSheetError` listing every problem. Call it before sealing a sheet."""
    problems = sheet_problems(rules, sheet, bid_ids)
    if problems:
        raise InvalidSheetError(problems)
    return sheet


def blockers_before_opening_sheets(
    active: Iterable[str], submitted: Iterable[str]
) -> tuple[Blocker, ...]:
    """Sheets open together, only when every active evaluator has submitted one.

    The blockers name who has not submitted yet — never a score.
    """
    done = set(submitted)
    return tuple(
        Blocker("sheet_missing", f"evaluator {member_id} has not submitted a score sheet",
                {"member": member_id})
        for member_id in active
        if member_id not in done
    )
