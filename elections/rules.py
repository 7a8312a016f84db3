"""Civil Code of the PRC, art. 278: the quorum and thresholds of owners' decisions.

Each rule is one pure function here; pages, PDFs, the tally and the offline verifier all call
these. Arithmetic is exact: areas are ``Decimal``, ratios and bars are ``Fraction``; "at least"
is ``≥`` and "more than" is ``>``.

* Participation quorum (art. 278(2)): owners holding **at least 2/3** of the total exclusive
  area **and** at least 2/3 of all owners by headcount take part.
* Items (6)–(8) (raising the maintenance fund, rebuilding, changing the use of common parts):
  **at least 3/4** of the participating area and at least 3/4 of the participating owners.
* Every other item, using the fund (5) included: **more than 1/2** of both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum, StrEnum
from fractions import Fraction
from typing import Any

from .canonical import decimal_text, fraction_text


class Matter(IntEnum):
    """The matters of art. 278(1), numbered as in the article."""

    RULES_OF_PROCEDURE = 1  #: 制定和修改业主大会议事规则
    MANAGEMENT_STATUTE = 2  #: 制定和修改管理规约
    COMMITTEE = 3  #: 选举业主委员会或者更换业主委员会成员
    SERVICE_COMPANY = 4  #: 选聘和解聘物业服务企业或者其他管理人
    USE_FUND = 5  #: 使用建筑物及其附属设施的维修资金
    RAISE_FUND = 6  #: 筹集建筑物及其附属设施的维修资金
    REBUILD = 7  #: 改建、重建建筑物及其附属设施
    CHANGE_USE = 8  #: 改变共有部分的用途或者利用共有部分从事经营活动
    OTHER_MAJOR = 9  #: 有关共有和共同管理权利的其他重大事项


#: Items (6)–(8): the special majority.
SPECIAL_MATTERS = frozenset({Matter.RAISE_FUND, Matter.REBUILD, Matter.CHANGE_USE})

QUORUM_BAR = Fraction(2, 3)
SPECIAL_BAR = Fraction(3, 4)
ORDINARY_BAR = Fraction(1, 2)
#: 物业管理条例 art. 15: an extraordinary meeting is held when 20 % or more of the owners
#: propose it ("以上" includes the bar itself).
EXTRAORDINARY_REQUEST_BAR = Fraction(1, 5)
#: Owners holding **more than** 20 % of the total exclusive area can propose to recall a
#: committee member (a strict bar: exactly a fifth is not enough).
RECALL_PROPOSAL_BAR = Fraction(1, 5)


class Choice(StrEnum):
    """A mark on one motion of a ballot."""

    AGREE = "agree"
    DISAGREE = "disagree"
    ABSTAIN = "abstain"


class NonVoterPolicy(StrEnum):
    """What the rules of procedure do with owners who cast no ballot."""

    #: They do not take part (most communities, and the plain reading of art. 278).
    NOT_COUNTED = "not_counted"
    #: They are counted as taking part, with the majority of those who voted.
    FOLLOW_MAJORITY = "follow_majority"


@dataclass(frozen=True)
class VotingPolicy:
    """A community's counting settings, stated on every result."""

    non_voters: NonVoterPolicy = NonVoterPolicy.NOT_COUNTED
    #: The ballot carries a "follow the majority" box (随多数): a voter who ticks it is counted
    #: with the majority on every motion they left unmarked.
    follow_majority_box: bool = False

    def statement(self) -> str:
        """The sentence every result carries about this policy."""
        first = (
            "Owners who did not vote are not counted."
            if self.non_voters is NonVoterPolicy.NOT_COUNTED
            else "Owners who did not vote are counted as taking part, with the majority of "
            "those who voted."
        )
        second = (
            " Ballots offer a 'follow the majority' box: unmarked motions of a ballot with the "
            "box ticked count with the majority."
            if self.follow_majority_box
            else " Unmarked motions count as abstentions."
        )
        return first + second

    def to_json(self) -> dict[str, Any]:
        """Plain data for records and bundles."""
        return {
            "non_voters": self.non_voters.value,
            "follow_majority_box": self.follow_majority_box,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VotingPolicy:
        """Inverse of :meth:`to_json`."""
        return cls(NonVoterPolicy(data["non_voters"]), bool(data["follow_majority_box"]))


@dataclass(frozen=True)
class Weight:
    """Headcount and area taken together: the two measures of every art. 278 figure."""

    headcount: int = 0
    area: Decimal = Decimal(0)

    def __add__(self, other: Weight) -> Weight:
        return Weight(self.headcount + other.headcount, self.area + other.area)

    def __sub__(self, other: Weight) -> Weight:
        return Weight(self.headcount - other.headcount, self.area - other.area)

    def to_json(self) -> dict[str, Any]:
        """Plain data (area as exact decimal text)."""
        return {"headcount": self.headcount, "area": decimal_text(self.area)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Weight:
        """Inverse of :meth:`to_json`."""
        return cls(int(data["headcount"]), Decimal(str(data["area"])))


ZERO = Weight()


@dataclass(frozen=True)
class Threshold:
    """One test of a result: ``figure = numerator / denominator`` against ``bar``.

    ``inclusive`` means "at least" (``≥``); otherwise "more than" (``>``). With a zero
    denominator (nobody took part) the figure is 0 and the threshold is not met.
    """

    name: str
    numerator: Decimal | int
    denominator: Decimal | int
    bar: Fraction
    inclusive: bool
    met: bool

    @property
    def figure(self) -> Fraction:
        """The exact ratio tested."""
        if not self.denominator:
            return Fraction(0)
        return Fraction(self.numerator) / Fraction(self.denominator)

    @property
    def comparison(self) -> str:
        """``"≥"`` or ``">"``."""
        return "≥" if self.inclusive else ">"

    def to_json(self) -> dict[str, Any]:
        """Plain data: figure and bar as exact ``p/q`` text."""

        def num(value: Decimal | int) -> str | int:
            return decimal_text(value) if isinstance(value, Decimal) else value

        return {
            "name": self.name,
            "numerator": num(self.numerator),
            "denominator": num(self.denominator),
            "figure": fraction_text(self.figure),
            "bar": fraction_text(self.bar),
            "comparison": self.comparison,
            "met": self.met,
        }


def check(
    name: str,
    numerator: Decimal | int,
    denominator: Decimal | int,
    bar: Fraction,
    *,
    inclusive: bool,
) -> Threshold:
    """Compare ``numerator / denominator`` with ``bar`` exactly (no division, no floats)."""
    if numerator < 0 or denominator < 0 or numerator > denominator:
        raise ValueError(f"{name}: {numerator}/{denominator} is not a proportion")
    if not denominator:
        met = False
    else:
        lhs = Fraction(numerator) * bar.denominator
        rhs = Fraction(denominator) * bar.numerator
        met = lhs >= rhs if inclusive else lhs > rhs
    return Threshold(name, numerator, denominator, bar, inclusive, met)


def quorum(participating: Weight, total: Weight) -> tuple[Threshold, Threshold]:
    """Art. 278(2): at least 2/3 of the total area and at least 2/3 of all owners take part."""
    return (
        check("quorum_area", participating.area, total.area, QUORUM_BAR, inclusive=True),
        check(
            "quorum_headcount",
            participating.headcount,
            total.headcount,
            QUORUM_BAR,
            inclusive=True,
        ),
    )


def adoption_bar(matter: Matter) -> tuple[Fraction, bool]:
    """The bar of a matter and whether it is inclusive: (3/4, ≥) for items 6–8, else (1/2, >)."""
    if matter in SPECIAL_MATTERS:
        return SPECIAL_BAR, True
    return ORDINARY_BAR, False


def adoption(matter: Matter, agree: Weight, participating: Weight) -> tuple[Threshold, Threshold]:
    """Art. 278(2): the share of participating area and of participating owners who agree."""
    bar, inclusive = adoption_bar(matter)
    return (
        check("agree_area", agree.area, participating.area, bar, inclusive=inclusive),
        check(
            "agree_headcount",
            agree.headcount,
            participating.headcount,
            bar,
            inclusive=inclusive,
        ),
    )


def ordinary_approval(votes: Weight, participating: Weight) -> tuple[Threshold, Threshold]:
    """A committee candidate's approval: more than half of participating area and owners."""
    return (
        check("votes_area", votes.area, participating.area, ORDINARY_BAR, inclusive=False),
        check(
            "votes_headcount",
            votes.headcount,
            participating.headcount,
            ORDINARY_BAR,
            inclusive=False,
        ),
    )


def extraordinary_request(supporters: int, owners: int) -> Threshold:
    """Whether ``supporters`` of ``owners`` (headcount) reach the 20 % that requires the
    committee to call an extraordinary meeting (at least one fifth)."""
    return check("request_headcount", supporters, owners, EXTRAORDINARY_REQUEST_BAR,
                 inclusive=True)


def recall_proposal(supporting_area: Decimal, total_area: Decimal) -> Threshold:
    """Whether owners holding ``supporting_area`` of ``total_area`` hold more than the 20 %
    that puts a recall of committee members (罢免) to the owners' meeting."""
    return check("recall_area", supporting_area, total_area, RECALL_PROPOSAL_BAR,
                 inclusive=False)


def committee_office(votes: int, members: int) -> Threshold:
    """Whether a member chosen chair or vice-chair by ``votes`` of the committee's ``members``
    holds a majority of all members (more than half)."""
    return check("office_votes", votes, members, ORDINARY_BAR, inclusive=False)


def majority_choice(agree: Weight, disagree: Weight) -> Choice:
    """The side a "follow the majority" vote joins on one motion.

    Agree (or disagree) when it leads by both area and headcount among the marked ballots; when
    the two measures disagree or tie there is no majority and the vote counts as an abstention.
    """
    if agree.area > disagree.area and agree.headcount > disagree.headcount:
        return Choice.AGREE
    if disagree.area > agree.area and disagree.headcount > agree.headcount:
        return Choice.DISAGREE
    return Choice.ABSTAIN
