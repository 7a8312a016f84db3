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
    "money.disclosure_published": _l("Statement published"),
    "money.entry_posted": _l("Entry booked"),
    "money.entry_reversed": _l("Entry reversed"),
    "money.exported": _l("Books exported for audit"),
    "money.bills_issued": _l("Fee bills issued"),
    "money.fee_follow_up": _l("Arrears followed up"),
    "money.fee_paid": _l("Fee payment recorded"),
    "money.fee_payment_matched": _l("Bank row matched to a unit"),
    "money.fee_payments_imported": _l("Fee payments imported"),
    "money.fee_schedule_published": _l("Fee schedule published"),
    "money.period_closed": _l("Accounting period closed"),
    "money.review_answered": _l("Fund review answered"),
    "money.review_asked": _l("Fund review requested"),
    "money.spend_filed": _l("Fund expenditure filed"),
    "money.spend_paid": _l("Fund expenditure paid"),
    "money.statement_imported": _l("Bank statement imported"),
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
