"""Template helpers: locale-aware formatting, the navigation, the current community."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask, g, request, session, url_for
from flask_babel import format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from . import charts
from .models import Role
from .policy import Permission, can, communities_of

ROLE_LABELS = {
    Role.OWNER: _l("Owner"),
    Role.RESIDENT: _l("Resident"),
    Role.COMMITTEE: _l("Committee member"),
    Role.CHAIR: _l("Committee chair"),
    Role.SCRUTINEER: _l("Scrutineer"),
    Role.EVALUATOR: _l("Tender evaluator"),
    Role.STAFF: _l("Property staff"),
    Role.AUDITOR: _l("Community-office auditor"),
    Role.ADMIN: _l("Site admin"),
}


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals():
        return {
            "Permission": Permission,
            "charts": charts,
            "can": lambda perm, community=None: can(current_user, perm, community),
            "my_communities": (
                (lambda: communities_of(current_user))
                if current_user.is_authenticated
                else (lambda: [])
            ),
            "current_locale": str(get_locale()),
            "lang_url": _lang_url,
            "role_label": lambda role: ROLE_LABELS.get(role, role),
            "unread_notices": _unread_notices,
        }

    @app.template_filter("area")
    def _area(value: Decimal | None) -> str:
        return "" if value is None else format_decimal(value, format="#,##0.00")

    @app.template_filter("num")
    def _num(value) -> str:
        return "" if value is None else format_decimal(value)

    @app.template_global("pct")
    def _pct(part, whole) -> str:
        """``part`` of ``whole`` as a percentage with two decimals, rounded half up (91.53 %)."""
        from decimal import ROUND_HALF_UP

        whole = Decimal(str(whole))
        if not whole:
            return "—"
        share = (Decimal(str(part)) * 100 / whole).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return f"{share} %"

    @app.template_filter("b64")
    def _b64(value: bytes | None) -> str:
        import base64

        return "" if value is None else base64.b64encode(bytes(value)).decode()

    @app.template_filter("hex")
    def _hex(value: bytes | None) -> str:
        return "" if value is None else bytes(value).hex()

    @app.template_filter("when")
    def _when(value: dt.datetime | None, fmt: str = "medium") -> str:
        return "" if value is None else format_datetime(value, fmt)

    @app.before_request
    def _remember_lang():
        lang = request.args.get("lang")
        if lang in ("zh_Hans_CN", "en"):
            session["locale"] = lang
        g.setdefault("community", None)


def _unread_notices() -> int:
    if not current_user.is_authenticated:
        return 0
    from . import db
    from .notifications.services import unread_count

    return unread_count(db.session(), current_user)


def _lang_url(lang: str) -> str:
    args = dict(request.view_args or {})
    args.update(request.args.to_dict())
    args["lang"] = lang
    try:
        return url_for(request.endpoint, **args) if request.endpoint else f"/?lang={lang}"
    except Exception:  # a route needing arguments we cannot rebuild
        return f"/?lang={lang}"
