"""Communities (tenants) and the owners' register: buildings, units, people, ownerships."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Area, Base, intpk, str80, str200, timestamp


def enum_column(enum_cls: type[enum.Enum], length: int = 32):
    """Enums are stored by value, as plain strings (readable in SQL, portable)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Office(Base):
    """A community office (社区居委会 / 街道办) that audits several communities."""

    __tablename__ = "office"

    id: Mapped[intpk]
    name: Mapped[str200] = mapped_column(unique=True)
    district: Mapped[str80] = mapped_column(default="")
    communities: Mapped[list[Community]] = relationship(back_populates="office")


class Community(Base):
    """A residential community (小区): the tenant every record belongs to."""

    __tablename__ = "community"

    id: Mapped[intpk]
    name: Mapped[str200]
    address: Mapped[str200] = mapped_column(default="")
    district: Mapped[str80] = mapped_column(default="")
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    #: Community rules that later modules read (proxy cap, non-voter policy, notice days …).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[timestamp]

    office: Mapped[Office | None] = relationship(back_populates="communities")
    buildings: Mapped[list[Building]] = relationship(
        back_populates="community", order_by="Building.name"
    )


class Building(Base):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str80]

    community: Mapped[Community] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building", order_by="Unit.number")


class UnitUse(enum.StrEnum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    PARKING = "parking"
    OTHER = "other"


class Unit(Base):
    """An exclusive part (专有部分): its area is its vote weight."""

    __tablename__ = "unit"
    __table_args__ = (
        UniqueConstraint("building_id", "number"),
        CheckConstraint("area > 0", name="area_positive"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    floor: Mapped[int]
    #: Exclusive area in m², exact to 0.01 (registered, else surveyed, else contract area).
    area: Mapped[Decimal] = mapped_column(Area)
    use: Mapped[UnitUse] = mapped_column(enum_column(UnitUse), default=UnitUse.RESIDENTIAL)
    #: False once a re-import removed the unit; history that cites it stays intact.
    active: Mapped[bool] = mapped_column(default=True)

    building: Mapped[Building] = relationship(back_populates="units")
    ownerships: Mapped[list[Ownership]] = relationship(
        back_populates="unit", primaryjoin="and_(Unit.id == Ownership.unit_id, "
        "Ownership.ended_at.is_(None))", viewonly=True
    )

    @property
    def label(self) -> str:
        return f"{self.building.name}-{self.number}"


class Person(Base):
    """Someone in the register of one community: an owner, a resident or both."""

    __tablename__ = "person"

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str80]
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    #: The ID number as shown to staff: the first 3 and last 4 characters.
    id_number_masked: Mapped[str | None] = mapped_column(String(24))
    #: HMAC of the normalised ID number: matches a person on re-import and at activation.
    id_number_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The developer's unsold units count as one person together (SPC interpretation art. 9).
    is_developer: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[timestamp]

    ownerships: Mapped[list[Ownership]] = relationship(
        back_populates="person", primaryjoin="and_(Person.id == Ownership.person_id, "
        "Ownership.ended_at.is_(None))", viewonly=True
    )


class Ownership(Base):
    """A person owns a unit (co-owners: several rows for one unit). Ended, never deleted."""

    __tablename__ = "ownership"

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    started_at: Mapped[timestamp]
    ended_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship(back_populates="ownerships")
    person: Mapped[Person] = relationship(back_populates="ownerships")


class ResidencyKind(enum.StrEnum):
    TENANT = "tenant"
    FAMILY = "family"


class Residency(Base):
    """A tenant or family member living in a unit (使用人)."""

    __tablename__ = "residency"

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[ResidencyKind] = mapped_column(enum_column(ResidencyKind))
    started_at: Mapped[timestamp]
    ended_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship()
    person: Mapped[Person] = relationship()
