"""Live turnout while voting is open: who took part, by area and headcount, against the 2/3
bars, over time — and who has not voted yet, for the office's follow-up. Never any choice."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elections.rules import Weight, quorum

from ..models import (
    BallotBox,
    BoardEntry,
    BoxVoter,
    Building,
    Ownership,
    Person,
    TurnoutPoint,
    Unit,
)


@dataclass(frozen=True)
class Turnout:
    ballots: int
    headcount: int
    area: Decimal
    total_headcount: int
    total_area: Decimal
    #: The two quorum thresholds of art. 278(2) as ``elections.rules`` computes them.
    thresholds: tuple

    @property
    def area_share(self) -> Fraction:
        return Fraction(self.area) / Fraction(self.total_area) if self.total_area else Fraction(0)

    @property
    def headcount_share(self) -> Fraction:
        return Fraction(self.headcount, self.total_headcount or 1)


def turnout(session: Session, box: BallotBox) -> Turnout:
    total_area, total_heads = session.execute(
        select(func.coalesce(func.sum(BoxVoter.area), 0), func.count(BoxVoter.id))
        .where(BoxVoter.box_id == box.id)
    ).one()
    area, heads = session.execute(
        select(func.coalesce(func.sum(BoxVoter.area), 0), func.count(BoxVoter.id))
        .join(BoardEntry, BoardEntry.voter_ref == BoxVoter.id).where(BoardEntry.box_id == box.id)
    ).one()
    area, total_area = Decimal(area), Decimal(total_area)  # sums keep the exact column type
    thresholds = quorum(Weight(heads, area), Weight(total_heads, total_area))
    return Turnout(heads, heads, area, total_heads, total_area, thresholds)


def series(session: Session, box: BallotBox, total: Turnout) -> list[tuple]:
    """(moment, headcount %, area %) after each ballot, thinned to at most ~60 points."""
    points = list(session.scalars(select(TurnoutPoint).where(TurnoutPoint.box_id == box.id)
                                  .order_by(TurnoutPoint.at, TurnoutPoint.id)))
    step = max(1, len(points) // 60)
    chosen = points[::step] + ([points[-1]] if points and (len(points) - 1) % step else [])
    return [
        (p.at, Fraction(p.ballots * 100, total.total_headcount or 1),
         Fraction(p.area) * 100 / Fraction(total.total_area) if total.total_area else 0)
        for p in chosen
    ]


@dataclass(frozen=True)
class Missing:
    voter_id: str
    units: str
    owners: str
    phones: str
    area: Decimal


def not_voted(session: Session, box: BallotBox) -> list[Missing]:
    """Owners with no ballot on the board yet, with their units and phone numbers."""
    voted = select(BoardEntry.voter_ref).where(BoardEntry.box_id == box.id)
    voters = list(session.scalars(select(BoxVoter).where(BoxVoter.box_id == box.id,
                                                         BoxVoter.id.not_in(voted))))
    unit_ids = sorted({u for v in voters for u in v.unit_ids})
    labels: dict[int, str] = {}
    owners: dict[int, list[tuple[str, str]]] = {}
    for uid, building, number in session.execute(
        select(Unit.id, Building.name, Unit.number).join(Building).where(Unit.id.in_(unit_ids))
    ):
        labels[uid] = f"{building} {number}"
    for uid, name, phone in session.execute(
        select(Ownership.unit_id, Person.name, Person.phone).join(Person)
        .where(Ownership.unit_id.in_(unit_ids), Ownership.ended_at.is_(None))
    ):
        owners.setdefault(uid, []).append((name, phone or ""))
    rows = []
    for v in voters:
        people = sorted({o for u in v.unit_ids for o in owners.get(u, [])})
        rows.append(Missing(
            v.voter_id, "、".join(labels.get(u, str(u)) for u in v.unit_ids),
            "、".join(p[0] for p in people), "、".join(p[1] for p in people if p[1]), v.area))
    return sorted(rows, key=lambda m: m.units)


def not_voted_xlsx(rows: list[Missing], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Not voted")[:31]
    sheet.append([title])
    sheet.append([_("Units"), _("Owners"), _("Phone"), _("Area (m²)")])
    for row in rows:
        sheet.append([row.units, row.owners, row.phones, float(row.area)])
    for column, width in zip("ABCD", (28, 24, 28, 12)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
