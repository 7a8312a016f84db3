"""Flask extensions, created here and bound in create_app."""

from flask import current_app, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: No default limits: only the routes that ask for one (login, activation) are limited.
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="fixed-window")


def submitted_login() -> str:
    """Rate-limit key: the account being tried, whatever address it is tried from."""
    return "login:" + (request.form.get("login") or "").strip().lower()


def account_limit() -> str:
    """Attempts at one account (or one activation code), from wherever they come."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def address_limit() -> str:
    """Attempts from one address: looser, since an office's wifi serves many owners at once."""
    return current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]


def pending_login() -> str:
    """Rate-limit key of the second step: the account whose password was right."""
    return "totp:" + str(session.get("pending_user_id", ""))
