"""Devices that watch a community, the raw events they send, and the alarms made of them.

The meaning of events (Contact ID codes, categories, merging, the lifecycle) lives in the pure
``app.alarms.core``; the enums below are stored by value.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..alarms.core import AlarmState, ArmingAction, Category, Cause, EventType, PanelState
from .base import Base, intpk, str80, str200, timestamp
from .community import Unit, enum_column


class DeviceKind(enum.StrEnum):
    #: An in-home alarm panel of one unit (入户报警主机).
    PANEL = "panel"
    #: A perimeter zone (周界防区), placed on the site map.
    PERIMETER = "perimeter"
    #: A water-tank level sensor (消防 / 生活水箱液位).
    WATER_TANK = "water_tank"
    #: A door sensor that reports a door held open (门磁).
    DOOR = "door"
    CAMERA = "camera"


class Device(Base):
    """One device of a community's registry, known to the ingester by its code."""

    __tablename__ = "alarm_device"
    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        CheckConstraint("heartbeat_seconds > 0", name="heartbeat_positive"),
        CheckConstraint("map_x IS NULL OR (map_x >= 0 AND map_x <= 1)", name="map_x_range"),
        CheckConstraint("map_y IS NULL OR (map_y >= 0 AND map_y <= 1)", name="map_y_range"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    #: The id in MQTT topics and HTTP paths: letters, digits and ``_.:-``.
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[DeviceKind] = mapped_column(enum_column(DeviceKind))
    name: Mapped[str200]
    #: Where it is, in words ("2号楼 1单元 门厅", "北侧围墙 3 号防区").
    place: Mapped[str200] = mapped_column(default="")
    #: The unit of an in-home panel.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    #: Position on the site map as fractions of its width and height (0 … 1).
    map_x: Mapped[float | None] = mapped_column(Float)
    map_y: Mapped[float | None] = mapped_column(Float)
    #: Key of the HMAC on MQTT payloads and bearer token of the HTTP endpoint. Kept in clear
    #: because verifying an HMAC needs it; it opens this device's channel and nothing else.
    secret: Mapped[str] = mapped_column(String(80))
    #: The SIA DC-09 account (3 to 16 hex digits) of a panel that reports to the SIA
    #: receiver instead of MQTT; unique across the site, since one receiver serves all.
    sia_account: Mapped[str | None] = mapped_column(String(16), unique=True)
    #: How often the device reports at least (a periodic test, any event, or "online").
    heartbeat_seconds: Mapped[int] = mapped_column(default=300)
    last_seen_at: Mapped[dt.datetime | None]
    #: From the retained availability topic: None until the device said either.
    online: Mapped[bool | None]
    #: Retained panel or zone state.
    state: Mapped[PanelState | None] = mapped_column(enum_column(PanelState))
    #: Zones whose alarms are recorded only (bypassed by staff or the unit's owner).
    bypassed_zones: Mapped[list] = mapped_column(JSON, default=list)
    #: Set while the device floods: its new events are kept but raise no alarm.
    throttled_until: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[timestamp]

    unit: Mapped[Unit | None] = relationship()


class Alarm(Base):
    """An alarm or a fault: one or more events of one device, type and zone, and its handling."""

    __tablename__ = "alarm"
    __table_args__ = (
        CheckConstraint("count >= 1", name="count_positive"),
        CheckConstraint("(state = 'cleared') = (cleared_at IS NOT NULL)", name="cleared_at"),
        CheckConstraint("state <> 'cleared' OR cause IS NOT NULL", name="cleared_cause"),
        Index("ix_alarm_open", "community_id", "state"),
        Index("ix_alarm_merge", "device_id", "event_type", "zone", "state"),
        #: The console's stream without Redis looks for what changed since its last look.
        Index("ix_alarm_updated", "community_id", "updated_at"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("alarm_device.id"))
    category: Mapped[Category] = mapped_column(enum_column(Category))
    event_type: Mapped[EventType] = mapped_column(enum_column(EventType))
    zone: Mapped[str] = mapped_column(String(64), default="")
    #: 1 most urgent (fire, panic) … 4.
    priority: Mapped[int]
    state: Mapped[AlarmState] = mapped_column(enum_column(AlarmState),
                                              default=AlarmState.RAISED)
    #: How many events were merged into it (duplicates within the merge window).
    count: Mapped[int] = mapped_column(default=1)
    #: When the first and the latest merged event happened (device clock).
    first_at: Mapped[dt.datetime]
    last_at: Mapped[dt.datetime]
    #: When the site received the first event: the console's clock starts here.
    raised_at: Mapped[dt.datetime] = mapped_column(index=True)
    #: Any change the console must show (new, merged, handled): what the feed sorts by.
    updated_at: Mapped[dt.datetime]
    #: The device reported the condition over (an alarm still needs closing by staff).
    restored_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    dispatched_at: Mapped[dt.datetime | None]
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: Who was sent (a staff account of the community).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cleared_at: Mapped[dt.datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cause: Mapped[Cause | None] = mapped_column(enum_column(Cause))
    #: The service desk's request whose work order sent someone (see ``services.dispatch``).
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"),
                                                           index=True)

    device: Mapped[Device] = relationship()
    service_request = relationship("ServiceRequest")
    notes: Mapped[list[AlarmNote]] = relationship(order_by="AlarmNote.id",
                                                  back_populates="alarm")


class AlarmNote(Base):
    __tablename__ = "alarm_note"

    id: Mapped[intpk]
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarm.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: What happened, in short: "acknowledged", "dispatched", "closed", or "" for a free note.
    action: Mapped[str80] = mapped_column(default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[timestamp]

    alarm: Mapped[Alarm] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class SiteMap(Base):
    """The community's site plan (PNG or JPEG) that devices are placed on; one per community,
    kept in the database so that every worker serves it and backups hold it."""

    __tablename__ = "alarm_site_map"

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ArmingCommand(Base):
    """Arm, disarm or bypass, asked by someone: who and when, and when it went to the device.

    The site writes the command; the MQTT ingester publishes what is not yet sent (an outbox:
    a command survives an ingester that is down) on the device's ``command`` topic.
    """

    __tablename__ = "alarm_arming"
    __table_args__ = (Index("ix_alarm_arming_unsent", "sent_at"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("alarm_device.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[ArmingAction] = mapped_column(enum_column(ArmingAction))
    zone: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]

    device: Mapped[Device] = relationship()
    actor: Mapped[User] = relationship()


class DeviceEventRecord(Base):
    """Every event received, as it came (raw events are rotated by the retention policy)."""

    __tablename__ = "alarm_event"
    __table_args__ = (
        #: A QoS 1 redelivery carries the same message id: stored once.
        UniqueConstraint("device_id", "message_id"),
    )

    id: Mapped[intpk]
    device_id: Mapped[int] = mapped_column(ForeignKey("alarm_device.id"))
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[EventType] = mapped_column(enum_column(EventType))
    code: Mapped[int | None]
    qualifier: Mapped[int]
    zone: Mapped[str] = mapped_column(String(64), default="")
    occurred_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(index=True)
    #: "mqtt" or "http".
    channel: Mapped[str] = mapped_column(String(16))
    #: What the ingester did with it: raise, merge, restore, record, throttle.
    action: Mapped[str] = mapped_column(String(16))
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarm.id"), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)


from .accounts import User  # noqa: E402
