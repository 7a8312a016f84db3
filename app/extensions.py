"""Flask extensions, created here and bound in create_app."""

from flask import request
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
