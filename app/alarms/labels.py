"""Readable names of event types, categories, states, causes and device kinds."""

from flask_babel import lazy_gettext as _l

from ..models.alarms import DeviceKind
from .core import AlarmState, ArmingAction, Category, Cause, EventType, PanelState

E = EventType
EVENT_LABELS = {
    E.FIRE: _l("Fire"),
    E.PANIC: _l("Panic button"),
    E.BURGLARY: _l("Intrusion"),
    E.TAMPER: _l("Tamper"),
    E.WATER_LEAK: _l("Water leak"),
    E.WATER_LOW: _l("Water tank level low"),
    E.WATER_HIGH: _l("Water tank level high"),
    E.DOOR_HELD_OPEN: _l("Door held open"),
    E.MOTION: _l("Motion"),
    E.AC_LOSS: _l("Mains power lost"),
    E.LOW_BATTERY: _l("Low battery"),
    E.COMM_TROUBLE: _l("Communication trouble"),
    E.LINE_FAULT: _l("Line fault (open or short circuit)"),
    E.VIDEO_LOSS: _l("Video lost"),
    E.HEARTBEAT_LOST: _l("No heartbeat"),
    E.OFFLINE: _l("Offline"),
    E.OPEN_CLOSE: _l("Opened or closed by a user"),
    E.BYPASS: _l("Zone bypassed"),
    E.PERIODIC_TEST: _l("Periodic test"),
}

CATEGORY_LABELS = {
    Category.ALARM: _l("Alarm"),
    Category.FAULT: _l("Fault"),
    Category.INFO: _l("Information"),
}

STATE_LABELS = {
    AlarmState.RAISED: _l("New"),
    AlarmState.ACKNOWLEDGED: _l("Acknowledged"),
    AlarmState.DISPATCHED: _l("Dispatched"),
    AlarmState.CLEARED: _l("Closed"),
}

CAUSE_LABELS = {
    Cause.REAL: _l("Real alarm"),
    Cause.FALSE: _l("False alarm"),
    Cause.TEST: _l("Test"),
    Cause.RESTORED: _l("Restored by the device"),
}

KIND_LABELS = {
    DeviceKind.PANEL: _l("In-home alarm panel"),
    DeviceKind.PERIMETER: _l("Perimeter zone"),
    DeviceKind.WATER_TANK: _l("Water-tank level sensor"),
    DeviceKind.DOOR: _l("Door sensor"),
    DeviceKind.CAMERA: _l("Camera"),
}

PANEL_STATE_LABELS = {
    PanelState.ARMED_AWAY: _l("Armed (away)"),
    PanelState.ARMED_HOME: _l("Armed (home)"),
    PanelState.DISARMED: _l("Disarmed"),
    PanelState.TRIGGERED: _l("Triggered"),
}

ARMING_LABELS = {
    ArmingAction.ARM_AWAY: _l("Arm (away)"),
    ArmingAction.ARM_HOME: _l("Arm (home)"),
    ArmingAction.DISARM: _l("Disarm"),
    ArmingAction.BYPASS: _l("Bypass a zone"),
    ArmingAction.UNBYPASS: _l("End a zone's bypass"),
}
