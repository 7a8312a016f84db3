"""Scoring of the opened bids and sheets (评标): averages, price scores, totals, ranking.

Arithmetic is exact: inside a step every sum, product and quotient is a ``Fraction``; each
stated step ends with one rounding, *half up* (ties away from zero, ``ROUND_HALF_UP``):

1. **Criterion average** of a bid — the evaluators' scores, without the single highest and the
   single lowest when five or more evaluators score and the tender keeps the default setting
   (去掉一个最高分和一个最低分), averaged and rounded to 0.01.
2. **Price benchmark** — lowest-price formula: the lowest valid bid, as bid (no rounding);
   trimmed-mean formula: the mean of the valid bids (without the single highest and single
   lowest bid when there are 7 or more; with 6 or fewer the plain mean), rounded to 0.0001.
3. **Price score** (报价得分) — computed from the exact bid and the benchmark of step 2 and
   rounded to 0.01: ``benchmark / bid × price weight``; or ``price weight × (1 − n·|d|)`` with
   ``d = (bid − benchmark) / benchmark``, ``n = n_above`` above and ``n_below`` below the
   benchmark, floored at 0. The deviation shown (0.0001) is for reading only.
4. **Total** — the sum of the rounded criterion averages and the rounded price score (exact).

Where equal values compete to be dropped, entries are ordered by (value, evaluator or bid id):
the first is dropped as lowest, the last as highest. The result is the same whatever the order
of the sheets or bids given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

from .lifecycle import (
    Blocker,
    InvalidSheetError,
    OpenedBid,
    ScoreSheet,
    TieResolution,
    TieResolutionError,
    sheet_problems,
)
from .rules import (
    SCORE_QUANTUM,
    PriceFormula,
    PriceFormulaKind,
    TenderError,
    TenderRules,
    as_decimal,
    canonical_json,
    decimal_text,
    too_few_bids,
)

#: Step 2: a trimmed-mean benchmark has four decimals.
BENCHMARK_QUANTUM = Decimal("0.0001")
#: The deviation from the benchmark is shown with four decimals (1.23 % is ``0.0123``).
DEVIATION_QUANTUM = Decimal("0.0001")
#: Evaluators' extremes are dropped from five evaluators up.
DROP_EXTREMES_MIN_EVALUATORS = 5
#: The trimmed-mean benchmark drops the highest and lowest bid from seven bids up.
TRIMMED_BENCHMARK_MIN_BIDS = 7

ROUNDING_RULE = (
    "Exact decimal arithmetic; each step rounds once, half up: criterion averages, price scores "
    "and totals to 0.01, a mean-price benchmark to 0.0001; totals add rounded parts exactly."
)


class Entry(NamedTuple):
    """One value and where it comes from: an evaluator's score, or a bid's price."""

    source: str
    value: Decimal


def round_half_up(value: Fraction | Decimal | int, quantum: Decimal = SCORE_QUANTUM) -> Decimal:
    """``value`` rounded exactly to a multiple of ``quantum``, ties away from zero.

    Works on the exact rational value, so no decimal context precision is involved.
    """
    digits, exponent = quantum.as_tuple().digits, quantum.as_tuple().exponent
    if digits != (1,) or not isinstance(exponent, int):
        raise ValueError(f"the rounding quantum is a power of ten, not {quantum}")
    steps = Fraction(value) / Fraction(quantum)
    magnitude = int(abs(steps) + Fraction(1, 2))  # floor(|x| + ½): half up, away from zero
    sign = "-" if steps < 0 and magnitude else ""
    return Decimal(f"{sign}{magnitude}E{exponent}")  # built from text: exact, no context


@dataclass(frozen=True)
class Trim:
    """Values split into those kept and the single highest and lowest dropped (if any)."""

    kept: tuple[Entry, ...]
    dropped_low: Entry | None
    dropped_high: Entry | None

    @property
    def kept_sum(self) -> Decimal:
        """The exact sum of the kept values."""
        return sum((e.value for e in self.kept), Decimal(0))

    @property
    def exact_mean(self) -> Fraction:
        """The exact mean of the kept values."""
        return Fraction(self.kept_sum) / len(self.kept)

    def to_json(self) -> dict[str, Any]:
        """Plain data: kept and dropped entries as ``[source, value]`` pairs, and the sum."""
        def pair(e: Entry | None) -> list[str] | None:
            return None if e is None else [e.source, decimal_text(e.value)]

        return {
            "kept": [pair(e) for e in self.kept],
            "dropped_low": pair(self.dropped_low),
            "dropped_high": pair(self.dropped_high),
            "kept_sum": decimal_text(self.kept_sum),
            "kept_count": len(self.kept),
        }


def trim(entries: Iterable[Entry], *, drop: bool) -> Trim:
    """Order ``entries`` by (value, source); with ``drop``, remove the first and the last.

    Exactly one lowest and one highest are dropped, even when several entries share the
    extreme value. ``drop`` needs at least three entries, so something is kept.
    """
    ordered = sorted(entries, key=lambda e: (e.value, e.source))
    if not ordered:
        raise ValueError("nothing to average")
    if not drop:
        return Trim(tuple(ordered), None, None)
    if len(ordered) < 3:
        raise ValueError("dropping the highest and lowest needs at least three values")
    return Trim(tuple(ordered[1:-1]), ordered[0], ordered[-1])


def trimmed_mean(
    values: Iterable[Decimal], *, drop: bool = True, quantum: Decimal = SCORE_QUANTUM
) -> Decimal:
    """The mean of ``values`` without the single highest and lowest (if ``drop``), rounded
    half up to ``quantum``; the sum and the division are exact."""
    entries = [Entry(f"{i:09d}", as_decimal(v, "value")) for i, v in enumerate(values)]
    return round_half_up(trim(entries, drop=drop).exact_mean, quantum)


# -- step 1: criterion averages -----------------------------------------------------------------


@dataclass(frozen=True)
class CriterionScore:
    """A bid's score on one criterion: every evaluator's score, what was dropped, the average."""

    criterion: str
    trim: Trim
    average: Decimal

    def to_json(self) -> dict[str, Any]:
        """Plain data for the report."""
        return {"criterion": self.criterion, "average": decimal_text(self.average),
                **self.trim.to_json()}


def criterion_average(rules: TenderRules, code: str, scores: Iterable[Entry]) -> CriterionScore:
    """Step 1: average the evaluators' scores on one criterion of one bid."""
    entries = list(scores)
    drop = rules.drop_extremes and len(entries) >= DROP_EXTREMES_MIN_EVALUATORS
    trimmed = trim(entries, drop=drop)
    return CriterionScore(code, trimmed, round_half_up(trimmed.exact_mean))


# -- steps 2 and 3: benchmark and price scores --------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    """The price the bids are measured against, and the bids it came from."""

    kind: PriceFormulaKind
    value: Decimal
    #: The bids used; for the trimmed mean, the highest and lowest dropped (7 or more bids).
    trim: Trim

    def to_json(self) -> dict[str, Any]:
        """Plain data for the report."""
        return {"kind": self.kind.value, "value": decimal_text(self.value), **self.trim.to_json()}


def price_benchmark(formula: PriceFormula, prices: Iterable[Entry]) -> Benchmark:
    """Step 2: the benchmark of the valid bids' prices (``Entry(bid_id, price)``)."""
    entries = list(prices)
    if formula.kind is PriceFormulaKind.LOWEST_PRICE:
        trimmed = trim(entries, drop=False)
        return Benchmark(formula.kind, trimmed.kept[0].value, trimmed)
    trimmed = trim(entries, drop=len(entries) >= TRIMMED_BENCHMARK_MIN_BIDS)
    return Benchmark(formula.kind, round_half_up(trimmed.exact_mean, BENCHMARK_QUANTUM), trimmed)


@dataclass(frozen=True)
class PriceScore:
    """Step 3 for one bid."""

    price: Decimal
    #: (bid − benchmark) / benchmark, rounded for reading; ``None`` for the lowest-price formula.
    deviation: Decimal | None
    score: Decimal

    def to_json(self) -> dict[str, Any]:
        """Plain data for the report."""
        return {
            "price": decimal_text(self.price),
            "deviation": None if self.deviation is None else decimal_text(self.deviation),
            "score": decimal_text(self.score),
        }


def price_score(rules: TenderRules, benchmark: Decimal, price: Decimal) -> PriceScore:
    """Step 3: the price score of a bid against the benchmark, per the tender's formula."""
    weight = Fraction(rules.price_weight)
    bid, bench = Fraction(price), Fraction(benchmark)
    if bid <= 0 or bench <= 0:
        raise ValueError("prices and the benchmark are positive")
    formula = rules.price_formula
    if formula.kind is PriceFormulaKind.LOWEST_PRICE:
        return PriceScore(price, None, round_half_up(bench / bid * weight))
    assert formula.n_above is not None
    assert formula.n_below is not None
    deviation = (bid - bench) / bench
    factor = Fraction(formula.n_above if deviation > 0 else formula.n_below)
    exact = max(Fraction(0), weight * (1 - factor * abs(deviation)))
    return PriceScore(price, round_half_up(deviation, DEVIATION_QUANTUM), round_half_up(exact))


# -- the evaluation -----------------------------------------------------------------------------


class Outcome(StrEnum):
    """How the evaluation ended."""

    EVALUATED = "evaluated"
    #: Too few valid bids: the tender failed and must be held again.
    FAILED = "failed"


#: The tie-break chain, in order; ``committee`` is a :class:`TieResolution`.
TIE_BREAK_CHAIN = ("total", "price_score", "price", "submitted_at", "committee")


@dataclass(frozen=True)
class BidResult:
    """One valid bid scored: criteria, price, total, rank and what separated it from the bid
    ranked just above (an element of :data:`TIE_BREAK_CHAIN`; ``None`` for the first or a tie)."""

    bid: OpenedBid
    criteria: tuple[CriterionScore, ...]
    price: PriceScore
    criteria_sum: Decimal
    total: Decimal
    rank: int = 0
    decided_by: str | None = None

    def sort_key(self) -> tuple[Decimal, Decimal, Decimal, datetime]:
        """Higher total, then higher price score, then lower price, then earlier submission."""
        return (-self.total, -self.price.score, self.bid.price, self.bid.submitted_at)

    def to_json(self) -> dict[str, Any]:
        """Plain data for the report."""
        return {
            "bid_id": self.bid.bid_id, "bidder_id": self.bid.bidder_id, "rank": self.rank,
            "decided_by": self.decided_by, "criteria": [c.to_json() for c in self.criteria],
            "criteria_sum": decimal_text(self.criteria_sum), "price": self.price.to_json(),
            "total": decimal_text(self.total),
        }


@dataclass(frozen=True)
class EvaluationResult:
    """Everything the evaluation report and the verifier need: the inputs as given, every
    score kept and dropped, the sums, the benchmark, the ranking, ties and the shortlist."""

    rules: TenderRules
    bids: tuple[OpenedBid, ...]
    sheets: tuple[ScoreSheet, ...]
    active_evaluators: tuple[str, ...] | None
    tie_resolutions: tuple[TieResolution, ...]
    #: Sheets refused when opened (unreadable, sealed for another seat): evaluator → why.
    refused_sheets: Mapping[str, tuple[str, ...]]
    outcome: Outcome
    failure_reason: str | None = None
    benchmark: Benchmark | None = None
    #: Valid bids in rank order.
    ranking: tuple[BidResult, ...] = ()
    #: Groups of bids still tied after the whole chain; the committee must order them.
    ties: tuple[tuple[str, ...], ...] = ()
    shortlist: tuple[str, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    #: Every invalid sheet (refused, out of range, incomplete): evaluator → problems. An
    #: invalid sheet counts as submitted but none of its scores is used.
    invalid_sheets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data; :func:`result_json` turns it into canonical text."""
        return {
            "format": RESULT_FORMAT,
            "rounding": ROUNDING_RULE,
            "inputs": {
                "rules": self.rules.to_json(),
                "bids": [b.to_json() for b in self.bids],
                "sheets": [s.to_json() for s in self.sheets],
                "active_evaluators": None if self.active_evaluators is None
                else list(self.active_evaluators),
                "tie_resolutions": [t.to_json() for t in self.tie_resolutions],
                "refused_sheets": {e: list(p) for e, p in sorted(self.refused_sheets.items())},
            },
            "invalid_sheets": {e: list(p) for e, p in sorted(self.invalid_sheets.items())},
            "outcome": self.outcome.value,
            "failure_reason": self.failure_reason,
            "benchmark": None if self.benchmark is None else self.benchmark.to_json(),
            "ranking": [r.to_json() for r in self.ranking],
            "ties": [list(t) for t in self.ties],
            "shortlist": list(self.shortlist),
            "blockers": [{"code": b.code, "message": b.message, "params": dict(b.params)}
                         for b in self.blockers],
        }


RESULT_FORMAT = "courtyard.tender-evaluation/1"


def _check_bids(bids: Sequence[OpenedBid]) -> None:
    pairs = (("bid", [b.bid_id for b in bids]), ("bidder", [b.bidder_id for b in bids]))
    for what, values in pairs:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise TenderError(f"{what} {value} appears twice among the opened bids")
            seen.add(value)


def _check_sheets(
    rules: TenderRules, sheets: Sequence[ScoreSheet], bid_ids: list[str],
    active: tuple[str, ...] | None, refused: Mapping[str, Sequence[str]],
) -> dict[str, tuple[str, ...]]:
    """Raise for a wrong set of sheets (duplicates, missing or foreign evaluators, another
    panel size); return the sheets that are invalid in themselves (evaluator → problems):
    those refused at the opening, and those scoring out of range or incompletely."""
    problems: list[str] = []
    ids = [s.evaluator_id for s in sheets] + sorted(refused)
    problems += [
        f"two sheets from evaluator {e}: a submitted sheet is final and is never replaced"
        for e in sorted({e for e in ids if ids.count(e) > 1})
    ]
    if active is not None:
        problems += [f"no sheet from active evaluator {e}" for e in active if e not in ids]
        problems += [
            f"sheet from {e}, who is not an active panel member" for e in ids if e not in active
        ]
    if len(ids) != rules.panel_size:
        problems.append(
            f"the tender file sets a panel of {rules.panel_size}; {len(ids)} sheets were opened"
        )
    if problems:
        raise InvalidSheetError(problems)
    invalid = {e: tuple(p) for e, p in refused.items()}
    for sheet in sheets:
        found = sheet_problems(rules, sheet, bid_ids)
        if found:
            invalid[sheet.evaluator_id] = tuple(found)
    return invalid


def _score_bid(
    rules: TenderRules, bid: OpenedBid, sheets: Sequence[ScoreSheet], benchmark: Decimal
) -> BidResult:
    criteria = tuple(
        criterion_average(
            rules, c.code, [Entry(s.evaluator_id, s.score(bid.bid_id, c.code)) for s in sheets]
        )
        for c in rules.criteria
    )
    criteria_sum = sum((c.average for c in criteria), Decimal(0))
    price = price_score(rules, benchmark, bid.price)
    return BidResult(bid, criteria, price, criteria_sum, criteria_sum + price.score)


def rank_bids(
    scored: Iterable[BidResult], resolutions: Sequence[TieResolution] = ()
) -> tuple[tuple[BidResult, ...], tuple[tuple[str, ...], ...]]:
    """Rank by :data:`TIE_BREAK_CHAIN`; return the ranking and the groups still tied.

    Bids equal on the whole chain share a rank (1, 2, 2, 4) unless a :class:`TieResolution`
    names exactly that group, in which case its order decides (``decided_by="committee"``).
    """
    ordered = sorted(scored, key=lambda r: (r.sort_key(), r.bid.bid_id))
    groups: list[list[BidResult]] = []
    for result in ordered:
        if groups and groups[-1][0].sort_key() == result.sort_key():
            groups[-1].append(result)
        else:
            groups.append([result])
    by_set = {frozenset(t.order): t for t in resolutions}
    if len(by_set) != len(resolutions) or any(len(set(t.order)) != len(t.order) for t in
                                               resolutions):
        raise TieResolutionError("a tie resolution names a bid twice or repeats another")
    ranking: list[BidResult] = []
    ties: list[tuple[str, ...]] = []
    previous: BidResult | None = None
    for group in groups:
        ids = frozenset(r.bid.bid_id for r in group)
        resolution = by_set.pop(ids, None) if len(group) > 1 else None
        first_rank = len(ranking) + 1
        if len(group) > 1 and resolution is None:
            ties.append(tuple(sorted(ids)))
        if resolution is not None:
            group = sorted(group, key=lambda r: resolution.order.index(r.bid.bid_id))
        for i, result in enumerate(group):
            rank = first_rank + i if resolution is not None else first_rank
            ranking.append(replace(
                result, rank=rank, decided_by=_decided_by(previous, result, i, resolution)
            ))
            previous = result
    if by_set:
        names = "; ".join(", ".join(sorted(s)) for s in by_set)
        raise TieResolutionError(f"no tie in the ranking matches the resolution for {names}")
    return tuple(ranking), tuple(ties)


def _decided_by(
    previous: BidResult | None, result: BidResult, index: int, resolution: TieResolution | None
) -> str | None:
    if previous is None:
        return None
    if index > 0:
        return "committee" if resolution is not None else None
    for name, a, b in zip(TIE_BREAK_CHAIN, previous.sort_key(), result.sort_key(), strict=False):
        if a != b:
            return name
    return None  # pragma: no cover - different groups always differ somewhere


def _shortlist(
    rules: TenderRules, ranking: Sequence[BidResult], ties: Sequence[tuple[str, ...]]
) -> tuple[tuple[str, ...], tuple[Blocker, ...]]:
    top = [r.bid.bid_id for r in ranking[: rules.shortlist_size]]
    blocking = [t for t in ties if set(t) & set(top)]
    if not blocking:
        return tuple(top), ()
    return (), tuple(
        Blocker(
            "unresolved_tie",
            f"bids {', '.join(t)} are equal on total, price score, price and submission time; "
            "the committee must decide their order and record why before the shortlist goes "
            "to the owners' meeting",
            {"bids": ", ".join(t)},
        )
        for t in blocking
    )


def evaluate(
    rules: TenderRules,
    bids: Iterable[OpenedBid],
    sheets: Iterable[ScoreSheet],
    *,
    active_evaluators: Iterable[str] | None = None,
    tie_resolutions: Iterable[TieResolution] = (),
    refused_sheets: Mapping[str, Sequence[str]] | None = None,
) -> EvaluationResult:
    """Score, rank and shortlist the opened bids from the opened sheets (评标).

    ``refused_sheets`` names the evaluators whose sealed sheet was submitted but refused when
    opened (:func:`~tenders.lifecycle.sheet_from_plaintext`), with why. A sheet out of range
    or incomplete is invalid too; invalid sheets are listed in the result and not scored.

    With fewer valid bids than the tender's minimum the result is :attr:`Outcome.FAILED` with
    the reason. Otherwise every active evaluator must have exactly one sheet (panel size
    as in the tender file; ``active_evaluators``, if given, names them), or
    :class:`InvalidSheetError` lists every problem. Input order never matters.
    """
    opened = tuple(sorted(bids, key=lambda b: b.bid_id))
    _check_bids(opened)
    opened_sheets = tuple(sorted(sheets, key=lambda s: s.evaluator_id))
    active = None if active_evaluators is None else tuple(sorted(active_evaluators))
    resolutions = tuple(tie_resolutions)
    refused = {e: tuple(p) for e, p in sorted((refused_sheets or {}).items())}
    inputs = (rules, opened, opened_sheets, active, resolutions, refused)
    valid = [b for b in opened if b.disqualified is None]
    reason = too_few_bids(rules, len(valid), what="valid bids after review")
    if reason is not None:
        return EvaluationResult(*inputs, outcome=Outcome.FAILED, failure_reason=reason)
    invalid = _check_sheets(rules, opened_sheets, [b.bid_id for b in valid], active, refused)
    counted = [s for s in opened_sheets if s.evaluator_id not in invalid]
    if not counted:
        return EvaluationResult(*inputs, outcome=Outcome.FAILED, invalid_sheets=invalid,
                                failure_reason="no valid score sheet: every sheet is invalid")
    benchmark = price_benchmark(rules.price_formula, [Entry(b.bid_id, b.price) for b in valid])
    scored = [_score_bid(rules, b, counted, benchmark.value) for b in valid]
    ranking, ties = rank_bids(scored, resolutions)
    shortlist, blockers = _shortlist(rules, ranking, ties)
    return EvaluationResult(
        *inputs, outcome=Outcome.EVALUATED, benchmark=benchmark, ranking=ranking, ties=ties,
        shortlist=shortlist, blockers=blockers, invalid_sheets=invalid,
    )


def result_json(result: EvaluationResult) -> str:
    """The result as canonical JSON text (sorted keys, Decimals as strings): what a verifier
    recomputes with :func:`recompute` and compares byte for byte."""
    return canonical_json(result.to_json())


def recompute(data: Mapping[str, Any]) -> EvaluationResult:
    """Evaluate again from the ``inputs`` of a result's JSON (as parsed by ``json.loads``)."""
    if data.get("format") != RESULT_FORMAT:
        raise TenderError(f"not a tender evaluation of format {RESULT_FORMAT}")
    inputs = data["inputs"]
    return evaluate(
        TenderRules.from_json(inputs["rules"]),
        [OpenedBid.from_json(b) for b in inputs["bids"]],
        [ScoreSheet.from_json(s) for s in inputs["sheets"]],
        active_evaluators=inputs["active_evaluators"],
        tie_resolutions=[
            TieResolution(tuple(t["order"]), t["reason"]) for t in inputs["tie_resolutions"]
        ],
        refused_sheets=inputs.get("refused_sheets") or {},
    )
