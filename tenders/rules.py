"""The tender file's rules (招标文件): criteria, weights, the price formula, bidders and panel.

A :class:`TenderRules` value is checked when it is built, so a tender that exists is a tender
whose scoring is well defined: every criterion names its weight and its score range, the
criteria weights and the price weight add up to exactly 100, the price formula is complete, the
minimum number of bidders is at least the legal floor of three, and the evaluation panel is an
odd number of at least five members.

Numbers are ``Decimal`` (or ``int``); a ``float`` is refused everywhere, because a binary float
cannot state a weight or a price exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from elections.canonical import canonical_json as _canonical_bytes
from elections.canonical import decimal_text, instant_text

# -- domain errors ------------------------------------------------------------------------------


class TenderError(Exception):
    """Base of every domain error raised by :mod:`tenders`.

    Besides its English message, an error a user can meet carries a stable ``code`` and the
    ``params`` to word it (numbers as text): the web layer words it in the reader's language
    from these (``app.tenders_web.messages``), without this package knowing any UI.
    """

    def __init__(self, message: str, *, code: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = {k: str(v) for k, v in params.items()}


class TenderRulesError(TenderError):
    """The tender file states rules that cannot be applied."""


class CriterionError(TenderRulesError):
    """A criterion is ill-formed (bad code, weight or score range, or a duplicate)."""


class WeightsError(TenderRulesError):
    """The criteria weights and the price weight do not add up to exactly 100."""


class PriceFormulaError(TenderRulesError):
    """The price formula is incomplete or inconsistent (e.g. ``n_above`` not above ``n_below``)."""


class MinimumBiddersError(TenderRulesError):
    """The tender asks for fewer bidders than the law allows."""


class PanelSizeError(TenderRulesError):
    """The evaluation panel size is even or below the minimum."""


# -- constants of the rules ---------------------------------------------------------------------

#: Criteria weights plus the price weight add up to this many points.
TOTAL_POINTS = Decimal(100)
#: This community's default minimum number of bids.
DEFAULT_MINIMUM_BIDDERS = 5
#: Bidding Law art. 28: with fewer than three bidders the tender must be held again
#: (投标人少于三个的，招标人应当依照本法重新招标). No tender may ask for fewer.
LEGAL_MINIMUM_BIDDERS = 3
#: Default size of the evaluation panel (评标委员会).
DEFAULT_PANEL_SIZE = 7
#: An evaluation panel has an odd number of members, at least five (5人以上单数).
MINIMUM_PANEL_SIZE = 5
#: The owners' meeting receives a shortlist of two or three bids.
SHORTLIST_SIZES = (2, 3)
#: Evaluators' scores, criterion averages, price scores and totals have two decimals.
SCORE_QUANTUM = Decimal("0.01")


def as_decimal(value: object, what: str) -> Decimal:
    """``value`` as a finite ``Decimal``; ``float`` and anything inexact are refused.

    ``what`` names the place for the error message (e.g. ``"weight of criterion 'plan'"``).
    """
    if isinstance(value, bool | float):
        raise TypeError(f"{what}: {value!r} is a {type(value).__name__}; use Decimal or str")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except ArithmeticError as exc:
            raise ValueError(f"{what}: {value!r} is not a number") from exc
    else:
        raise TypeError(f"{what}: {value!r} is not a number")
    if not result.is_finite():
        raise ValueError(f"{what}: {value!r} is not a finite number")
    return result


def canonical_json(data: Any) -> str:
    """Deterministic JSON text: the encoding of ``elections.canonical`` (keys sorted, compact,
    Decimals as exact strings, datetimes as UTC ISO 8601, floats refused), so a tender's
    bundle and a ballot box's are hashed and signed alike."""
    return _canonical_bytes(data).decode("utf-8")


def has_places(value: Decimal, quantum: Decimal) -> bool:
    """Whether ``value`` is a whole multiple of ``quantum`` (e.g. at most two decimals)."""
    return value % quantum == 0


# -- criteria and the price formula -------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One scored criterion of the tender file (评分项), e.g. the service plan.

    Evaluators score it in points between ``min_score`` and ``max_score`` (inclusive, at most
    two decimals). The total of a bid is the sum of its criterion averages plus its price
    score, so the top of the range *is* the criterion's weight: ``max_score`` defaults to
    ``weight`` and must equal it.
    """

    code: str
    name: str
    weight: Decimal
    min_score: Decimal = Decimal(0)
    max_score: Decimal | None = None
    #: Scoring guidance printed on the sheet (评分标准).
    guidance: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise CriterionError(f"a criterion needs a code (criterion named {self.name!r})",
                                 code="criterion_code", name=self.name)
        label = self.label
        try:
            weight = as_decimal(self.weight, f"weight of {label}")
            low = as_decimal(self.min_score, f"minimum score of {label}")
            high = weight if self.max_score is None else as_decimal(
                self.max_score, f"maximum score of {label}"
            )
        except (TypeError, ValueError) as exc:
            raise CriterionError(str(exc), code="criterion_number", criterion=self.code) from exc
        if weight <= 0:
            raise CriterionError(f"{label}: the weight must be positive, not {weight}",
                                 code="criterion_weight", criterion=self.code, weight=weight)
        if high != weight:
            raise CriterionError(
                f"{label}: the maximum score ({high}) must equal the weight ({weight}), "
                "because the total adds criterion scores as points"
            )
        if low < 0 or low >= high:
            raise CriterionError(
                f"{label}: the score range {low}–{high} must start at 0 or more and be non-empty"
            )
        if not has_places(low, SCORE_QUANTUM) or not has_places(weight, SCORE_QUANTUM):
            raise CriterionError(f"{label}: weights and scores have at most two decimals",
                                 code="criterion_places", criterion=self.code)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "min_score", low)
        object.__setattr__(self, "max_score", high)

    @property
    def label(self) -> str:
        """How messages name the criterion: ``criterion 'plan' (Service plan)``."""
        return f"criterion {self.code!r}" + (f" ({self.name})" if self.name else "")

    def to_json(self) -> dict[str, Any]:
        """Plain data (numbers as exact decimal text)."""
        return {
            "code": self.code,
            "name": self.name,
            "weight": decimal_text(self.weight),
            "min_score": decimal_text(self.min_score),
            "max_score": decimal_text(self.weight),
            "guidance": self.guidance,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Criterion:
        """Inverse of :meth:`to_json`."""
        return cls(
            code=data["code"], name=data.get("name", ""), weight=data["weight"],
            min_score=data.get("min_score", "0"), max_score=data.get("max_score"),
            guidance=data.get("guidance", ""),
        )


class PriceFormulaKind(StrEnum):
    """How the price score (报价得分) is computed; fixed in the tender file."""

    #: Benchmark = the lowest valid bid; score = benchmark / bid × price weight.
    LOWEST_PRICE = "lowest_price"
    #: Benchmark = the mean of the valid bids, without the single highest and single lowest
    #: when there are 7 or more; score = weight × (1 − n·|deviation|), floored at 0.
    TRIMMED_MEAN = "trimmed_mean"


@dataclass(frozen=True)
class PriceFormula:
    """The price formula and, for the trimmed-mean benchmark, its penalty factors.

    ``n_above`` applies to bids above the benchmark and ``n_below`` to bids below it; both are
    positive and ``n_above > n_below`` (a price above the benchmark costs more than one below).
    """

    kind: PriceFormulaKind = PriceFormulaKind.LOWEST_PRICE
    n_above: Decimal | None = None
    n_below: Decimal | None = None

    def __post_init__(self) -> None:
        try:
            kind = PriceFormulaKind(self.kind)
        except ValueError as exc:
            raise PriceFormulaError(f"unknown price formula {self.kind!r}") from exc
        object.__setattr__(self, "kind", kind)
        if kind is PriceFormulaKind.LOWEST_PRICE:
            if self.n_above is not None or self.n_below is not None:
                raise PriceFormulaError(
                    "the lowest-price formula takes no deviation factors (n_above, n_below)"
                )
            return
        if self.n_above is None or self.n_below is None:
            raise PriceFormulaError(
                "the trimmed-mean formula needs both factors: n_above and n_below",
                code="factors_missing",
            )
        try:
            above = as_decimal(self.n_above, "n_above")
            below = as_decimal(self.n_below, "n_below")
        except (TypeError, ValueError) as exc:
            raise PriceFormulaError(str(exc), code="factors_number") from exc
        if below <= 0:
            raise PriceFormulaError(f"n_below must be positive, not {below}",
                                    code="n_below_positive", below=below)
        if above <= below:
            raise PriceFormulaError(
                f"n_above ({above}) must be larger than n_below ({below}): a bid above the "
                "benchmark loses more points than one the same distance below it",
                code="n_above_larger", above=above, below=below,
            )
        object.__setattr__(self, "n_above", above)
        object.__setattr__(self, "n_below", below)

    def to_json(self) -> dict[str, Any]:
        """Plain data (factors as exact decimal text, ``None`` for the lowest-price formula)."""
        return {
            "kind": self.kind.value,
            "n_above": None if self.n_above is None else decimal_text(self.n_above),
            "n_below": None if self.n_below is None else decimal_text(self.n_below),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PriceFormula:
        """Inverse of :meth:`to_json`."""
        return cls(PriceFormulaKind(data["kind"]), data.get("n_above"), data.get("n_below"))


# -- the tender file ----------------------------------------------------------------------------


def _aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise TenderRulesError(f"{what} must be an aware datetime (with a time zone)")
    return value


@dataclass(frozen=True)
class TenderRules:
    """Everything in the tender file that decides who may bid, who scores, and how.

    Built values are valid: the constructor raises a :class:`TenderRulesError` subclass naming
    the criterion or setting at fault.
    """

    criteria: tuple[Criterion, ...]
    price_weight: Decimal
    price_formula: PriceFormula
    #: Bids are accepted strictly before this instant (投标截止时间).
    deadline: datetime
    minimum_bidders: int = DEFAULT_MINIMUM_BIDDERS
    panel_size: int = DEFAULT_PANEL_SIZE
    #: Drop each criterion's single highest and single lowest evaluator score when five or
    #: more evaluators score (去掉一个最高分和一个最低分).
    drop_extremes: bool = True
    shortlist_size: int = 3
    criteria_by_code: Mapping[str, Criterion] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        criteria = tuple(self.criteria)
        object.__setattr__(self, "criteria", criteria)
        if not criteria:
            raise CriterionError("the tender file needs at least one scored criterion",
                                 code="criteria_missing")
        by_code: dict[str, Criterion] = {}
        for criterion in criteria:
            if not isinstance(criterion, Criterion):
                raise CriterionError(f"{criterion!r} is not a Criterion")
            if criterion.code in by_code:
                raise CriterionError(f"{criterion.label} appears twice in the tender file",
                                     code="criterion_twice", criterion=criterion.code)
            by_code[criterion.code] = criterion
        object.__setattr__(self, "criteria_by_code", by_code)
        try:
            price_weight = as_decimal(self.price_weight, "price weight")
        except (TypeError, ValueError) as exc:
            raise WeightsError(str(exc), code="price_weight_number") from exc
        object.__setattr__(self, "price_weight", price_weight)
        if price_weight <= 0 or not has_places(price_weight, SCORE_QUANTUM):
            raise WeightsError(
                f"the price weight must be positive with at most two decimals, not {price_weight}",
                code="price_weight", weight=price_weight,
            )
        total = sum((c.weight for c in criteria), price_weight)
        if total != TOTAL_POINTS:
            parts = " + ".join(f"{c.code} {c.weight}" for c in criteria)
            raise WeightsError(
                f"weights add up to {total}, not {TOTAL_POINTS}: {parts} + price {price_weight}",
                code="weights_total", total=total, expected=TOTAL_POINTS, parts=parts,
                price=price_weight,
            )
        if not isinstance(self.price_formula, PriceFormula):
            raise PriceFormulaError("the tender file needs a PriceFormula")
        _aware(self.deadline, "the deadline")
        self._check_counts()

    def _check_counts(self) -> None:
        if isinstance(self.minimum_bidders, bool) or not isinstance(self.minimum_bidders, int):
            raise MinimumBiddersError("the minimum number of bidders must be a whole number")
        if self.minimum_bidders < LEGAL_MINIMUM_BIDDERS:
            raise MinimumBiddersError(
                f"a tender cannot ask for fewer than {LEGAL_MINIMUM_BIDDERS} bidders "
                f"(it asks for {self.minimum_bidders}); Bidding Law art. 28",
                code="minimum_bidders", legal=LEGAL_MINIMUM_BIDDERS, asked=self.minimum_bidders,
            )
        size = self.panel_size
        if isinstance(size, bool) or not isinstance(size, int) or size < MINIMUM_PANEL_SIZE:
            raise PanelSizeError(
                f"the evaluation panel needs at least {MINIMUM_PANEL_SIZE} members, not {size}",
                code="panel_minimum", minimum=MINIMUM_PANEL_SIZE, size=size,
            )
        if size % 2 == 0:
            raise PanelSizeError(f"the evaluation panel has an odd number of members, not {size}",
                                 code="panel_odd", size=size)
        if self.shortlist_size not in SHORTLIST_SIZES:
            raise TenderRulesError(
                f"the shortlist for the owners' meeting has 2 or 3 bids, not {self.shortlist_size}",
                code="shortlist_size", size=self.shortlist_size,
            )
        if not isinstance(self.drop_extremes, bool):
            raise TenderRulesError("drop_extremes is true or false")

    def criterion(self, code: str) -> Criterion:
        """The criterion with this code; ``KeyError`` when the tender has none."""
        return self.criteria_by_code[code]

    def to_json(self) -> dict[str, Any]:
        """Plain data for bundles and reports (deadline as ISO 8601 text)."""
        return {
            "criteria": [c.to_json() for c in self.criteria],
            "price_weight": decimal_text(self.price_weight),
            "price_formula": self.price_formula.to_json(),
            "deadline": instant_text(self.deadline),
            "minimum_bidders": self.minimum_bidders,
            "panel_size": self.panel_size,
            "drop_extremes": self.drop_extremes,
            "shortlist_size": self.shortlist_size,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TenderRules:
        """Inverse of :meth:`to_json`."""
        return cls(
            criteria=tuple(Criterion.from_json(c) for c in data["criteria"]),
            price_weight=data["price_weight"],
            price_formula=PriceFormula.from_json(data["price_formula"]),
            deadline=datetime.fromisoformat(data["deadline"]),
            minimum_bidders=int(data["minimum_bidders"]),
            panel_size=int(data["panel_size"]),
            drop_extremes=bool(data["drop_extremes"]),
            shortlist_size=int(data["shortlist_size"]),
        )


# -- one rule, one place ------------------------------------------------------------------------


def too_few_bids(rules: TenderRules, count: int, *, what: str = "bids") -> str | None:
    """Why the tender fails with ``count`` bids, or ``None`` when there are enough.

    Exactly ``rules.minimum_bidders`` passes; one fewer fails. ``what`` words the reason
    (``"bids at the deadline"``, ``"valid bids after review"``).
    """
    if count >= rules.minimum_bidders:
        return None
    return (
        f"the tender failed: {count} {what}, but the tender file requires at least "
        f"{rules.minimum_bidders}; the tender must be held again"
    )


def bid_is_on_time(rules: TenderRules, at: datetime) -> bool:
    """Whether a bid (or a withdrawal) made at ``at`` is before the deadline (strictly)."""
    return _aware(at, "the time of a bid") < rules.deadline
