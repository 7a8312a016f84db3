"""Log in (password, then TOTP where the role needs it), log out, profile and API tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from .. import db
from ..audit.services import record
from ..errors import DomainError
from ..extensions import account_limit, address_limit, limiter, pending_login, submitted_login
from ..models import ApiToken, User, utcnow
from ..policy import Permission, requires
from ..qr import qr_svg
from . import services
from .forms import LoginForm, PasswordChangeForm, TokenForm, TotpForm

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(address_limit, methods=["POST"])
@limiter.limit(account_limit, methods=["POST"], key_func=submitted_login)
@requires(Permission.PUBLIC)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        s = db.session()
        user = services.authenticate(s, form.login.data, form.password.data)
        if user is None:
            record(s, actor=None, action="login.failed", now=utcnow(),
                   target=form.login.data[:60], remote_addr=request.remote_addr or "")
            # A failed attempt is recorded: commit it even though the answer is an error.
            s.commit()
            form.password.errors.append(_("Wrong phone/username or password."))
            return render_template("auth/login.html", form=form), 422
        session.clear()
        session["pending_user_id"] = user.id
        session["pending_remember"] = bool(form.remember.data)
        session["pending_next"] = safe_next(request.args.get("next"))
        if services.needs_totp(s, user):
            if user.totp_enabled:
                return redirect(url_for("auth.totp"))
            return redirect(url_for("auth.totp_setup"))
        return _finish_login(user)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


def _pending_user() -> User:
    user_id = session.get("pending_user_id")
    user = db.session().get(User, user_id) if user_id else None
    if user is None:
        abort(redirect(url_for("auth.login")))
    return user


def _finish_login(user: User):
    s = db.session()
    target = session.get("pending_next") or url_for("main.dashboard")
    remember = session.get("pending_remember", False)
    session.clear()
    login_user(user, remember=remember)
    user.last_login_at = utcnow()
    record(s, actor=user, action="login.succeeded", now=utcnow(),
           remote_addr=request.remote_addr or "")
    return redirect(target)


@bp.route("/login/totp", methods=["GET", "POST"])
@limiter.limit(address_limit, methods=["POST"])
@limiter.limit(account_limit, methods=["POST"], key_func=pending_login)
@requires(Permission.PUBLIC)
def totp():
    user = _pending_user()
    if not user.totp_enabled:
        return redirect(url_for("auth.totp_setup"))
    form = TotpForm()
    if form.validate_on_submit():
        if services.confirm_totp(db.session(), user, form.code.data, utcnow(),
                                 request.remote_addr or ""):
            return _finish_login(user)
        form.code.errors.append(_("This code is wrong or already used. Try the next one."))
    return render_template("auth/totp.html", form=form), 422 if form.errors else 200


@bp.route("/login/totp/setup", methods=["GET", "POST"])
@limiter.limit(address_limit, methods=["POST"])
@limiter.limit(account_limit, methods=["POST"], key_func=pending_login)
@requires(Permission.PUBLIC)
def totp_setup():
    user = _pending_user()
    if user.totp_enabled:
        return redirect(url_for("auth.totp"))
    s = db.session()
    services.start_totp_enrolment(user)
    form = TotpForm()
    if form.validate_on_submit():
        if services.confirm_totp(s, user, form.code.data, utcnow(), request.remote_addr or ""):
            flash(_("Two-step login is on. You will need your app at every login."), "success")
            return _finish_login(user)
        form.code.errors.append(_("This code is wrong. Check the time on your phone."))
    uri = services.totp_uri(user)
    return render_template(
        "auth/totp_setup.html", form=form, qr=qr_svg(uri), secret=user.totp_secret
    ), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
@requires(Permission.PUBLIC)
def logout():
    if current_user.is_authenticated:
        record(db.session(), actor=current_user, action="logout", now=utcnow(),
               remote_addr=request.remote_addr or "")
    logout_user()
    session.clear()
    return redirect(url_for("main.index"))


@bp.route("/profile", methods=["GET", "POST"])
@requires(Permission.ACCOUNT)
def profile():
    s = db.session()
    token_form, password_form = TokenForm(prefix="token"), PasswordChangeForm(prefix="pw")
    new_token = None
    if request.method == "POST" and "token-name" in request.form and token_form.validate():
        try:
            new_token = services.create_token(s, current_user, token_form.name.data, utcnow(),
                                              request.remote_addr or "")
        except DomainError as err:
            token_form.name.errors.append(err.message)
    elif request.method == "POST" and "pw-new" in request.form and password_form.validate():
        if services.authenticate(s, current_user.username, password_form.current.data) is None:
            password_form.current.errors.append(_("The current password is wrong."))
        else:
            try:
                services.check_password_rules(password_form.new.data)
                current_user.password_hash = services.hash_password(password_form.new.data)
                record(s, actor=current_user, action="account.password_changed", now=utcnow(),
                       remote_addr=request.remote_addr or "")
                flash(_("Password changed."), "success")
                return redirect(url_for("auth.profile"))
            except DomainError as err:
                password_form.new.errors.append(err.message)
    tokens = s.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    failed = bool(token_form.errors or password_form.errors)
    return render_template(
        "auth/profile.html", token_form=token_form, password_form=password_form,
        tokens=tokens, new_token=new_token,
    ), 422 if failed else 200


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(Permission.ACCOUNT)
def revoke_token(token_id: int):
    services.revoke_token(db.session(), current_user, token_id, utcnow(),
                          request.remote_addr or "")
    flash(_("Token revoked."), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/language/<lang>", methods=["POST"])
@requires(Permission.PUBLIC)
def language(lang: str):
    if lang not in ("zh_Hans_CN", "en"):
        abort(404)
    session["locale"] = lang
    if current_user.is_authenticated:
        current_user.locale = lang
    return redirect(safe_next(request.form.get("next")))
