"""Readable names for audit actions and chain problems (the stored values stay stable codes)."""

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "account.created": _l("Account created"),
    "account.password_changed": _l("Password changed"),
    "account.totp_enabled": _l("Two-step login turned on"),
    "activation.issued": _l("Activation letters issued"),
    "activation.used": _l("Account activated with a letter"),
    "community.created": _l("Community created"),
    "login.failed": _l("Failed login"),
    "login.succeeded": _l("Login"),
    "logout": _l("Logout"),
    "meeting.amending": _l("Meeting notice reopened for amendment"),
    "meeting.announced": _l("Meeting result announced"),
    "meeting.ceremony": _l("Key ceremony held"),
    "meeting.closed": _l("Voting closed"),
    "meeting.created": _l("Meeting drafted"),
    "meeting.final": _l("Meeting result made final"),
    "meeting.objection": _l("Objection raised"),
    "meeting.objection_answered": _l("Objection answered"),
    "meeting.opened": _l("Ballot box opened"),
    "meeting.paper_entered": _l("Paper ballot entered"),
    "meeting.proxy_named": _l("Proxy named"),
    "meeting.proxy_revoked": _l("Proxy revoked"),
    "meeting.published": _l("Meeting notice published"),
    "meeting.republished": _l("Meeting notice republished"),
    "meeting.share_brought": _l("Scrutineer's share brought"),
    "meeting_request.opened": _l("Extraordinary meeting requested"),
    "meeting_request.supported": _l("Request for an extraordinary meeting supported"),
    "meeting_request.reached": _l("Request for an extraordinary meeting reached 20 %"),
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
