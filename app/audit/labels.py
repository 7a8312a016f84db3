"""Readable names for audit actions and chain problems (the stored values stay stable codes)."""

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "account.created": _l("Account created"),
    "account.password_changed": _l("Password changed"),
    "account.totp_enabled": _l("Two-step login turned on"),
    "activation.issued": _l("Activation letters issued"),
    "activation.used": _l("Account activated with a letter"),
    "alarm.acknowledged": _l("Alarm acknowledged"),
    "alarm.arming": _l("Alarm panel armed, disarmed or bypassed"),
    "alarm.closed": _l("Alarm closed"),
    "alarm.device_added": _l("Alarm device registered"),
    "alarm.device_secret_renewed": _l("Alarm device secret renewed"),
    "alarm.dispatched": _l("Alarm dispatched"),
    "alarm.site_map_uploaded": _l("Site map for the alarms uploaded"),
    "community.created": _l("Community created"),
    "login.failed": _l("Failed login"),
    "login.succeeded": _l("Login"),
    "logout": _l("Logout"),
    "register.exported": _l("Register exported"),
    "register.import_applied": _l("Register import applied"),
    "register.import_discarded": _l("Register import discarded"),
    "register.import_uploaded": _l("Register file uploaded"),
    "role.granted": _l("Role granted"),
    "role.revoked": _l("Role revoked"),
    "token.created": _l("API token created"),
    "token.revoked": _l("API token revoked"),
}

CHAIN_PROBLEMS = {
    "entry missing": _l("an entry is missing"),
    "link to previous entry broken": _l("the link to the previous entry is broken"),
    "entry content changed": _l("the entry's content was changed"),
    "entries after this point removed": _l("entries after this point were removed"),
}
