"""Courtyard: the Flask site. ``create_app`` is the factory (``flask --app app …``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from flask import Flask, abort, g, request, session
from flask_login import current_user

from . import db
from .config import ROOT, from_environment
from .policy import MAX_ID

LOCALES = ("zh_Hans_CN", "en")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)


def create_app(config: Mapping | None = None) -> Flask:
    """Build the site. ``config`` overrides what the environment gives."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(from_environment())
    if config:
        app.config.update(config)

    db.init_app(app)
    _init_extensions(app)
    _register_blueprints(app)
    _init_request_pipeline(app)
    from . import cli, errors, templating

    errors.init_app(app)
    templating.init_app(app)
    cli.init_app(app)

    if app.config["SCHEMA_CHECK"] and not _running_migration_command():
        from .migrate import check_schema

        check_schema(db.engine_of(app))
    return app


def _running_migration_command() -> bool:
    """``flask --app app db …`` must run on an unmigrated database; nothing else may."""
    return "db" in sys.argv[1:3] or ("--app" in sys.argv and "db" in sys.argv)


def _init_extensions(app: Flask) -> None:
    from .auth.services import load_user
    from .extensions import babel, csrf, limiter, login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)


def select_locale() -> str:
    chosen = session.get("locale") or request.args.get("lang")
    if chosen in LOCALES:
        return chosen
    if current_user and getattr(current_user, "locale", None) in LOCALES:
        return current_user.locale
    best = request.accept_languages.best_match(["zh", "zh_CN", "zh-CN", "en"])
    if best and best.startswith("en"):
        return "en"
    return "zh_Hans_CN"


def select_timezone() -> str:
    community = g.get("community")
    return getattr(community, "timezone", None) or "Asia/Shanghai"


def _register_blueprints(app: Flask) -> None:
    from .activation.views import bp as activation_bp
    from .admin.views import bp as admin_bp
    from .alarms.views import bp as alarms_bp
    from .api.views import bp as api_bp
    from .audit.views import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .committee.views import bp as committee_bp
    from .elections_web.views import bp as elections_bp
    from .main.views import bp as main_bp
    from .meetings.request_views import bp as meeting_requests_bp
    from .meetings.views import bp as meetings_bp
    from .meetings.vote_views import bp as voting_bp
    from .money.fee_views import bp as fees_bp
    from .money.views import bp as money_bp
    from .notifications.views import bp as notifications_bp
    from .register.views import bp as register_bp
    from .service.views import bp as service_bp
    from .tenders_web.views import bp as tenders_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(register_bp)
    app.register_blueprint(activation_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(voting_bp)
    app.register_blueprint(elections_bp)
    app.register_blueprint(meeting_requests_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(service_bp)
    app.register_blueprint(money_bp)
    app.register_blueprint(fees_bp)
    app.register_blueprint(alarms_bp)
    app.register_blueprint(tenders_bp)
    app.register_blueprint(committee_bp)


def _init_request_pipeline(app: Flask) -> None:
    """One commit per request: success commits, anything else rolls back."""

    @app.url_value_preprocessor
    def _refuse_impossible_ids(_endpoint, values):
        # Ids are 32-bit: a larger one cannot exist, and binding it would overflow the driver.
        if values and any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in values.values()):
            abort(404)

    @app.after_request
    def _finish(response):
        s = g.get("db_session")
        if s is not None:
            if response.status_code < 400 and not g.get("rollback_only"):
                s.commit()
            else:
                s.rollback()
        return _security_headers(response)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
