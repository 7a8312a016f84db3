"""The letters page (committee and staff) and the activation page (anyone with a letter)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user

from .. import db
from ..errors import DomainError, NotFound
from ..extensions import account_limit, address_limit, limiter
from ..models import Community, utcnow
from ..pdf import PDF_MIMETYPE
from ..policy import Permission, requires
from . import services
from .forms import AccountForm, CodeForm, IssueForm
from .letters import letters_filename, render_letters
from .status import OwnerState, onboarding_status

bp = Blueprint("activation", __name__)


def _submitted_code() -> str:
    """Rate-limit key: the code being tried, from whatever address (as for logins)."""
    return "activation:" + services.normalize_code(request.form.get("code"))


def _ip() -> str:
    return request.remote_addr or ""


# Letters -----------------------------------------------------------------------------------


@bp.route("/c/<int:community_id>/letters", methods=["GET", "POST"])
@requires(Permission.ACTIVATION_ISSUE)
def letters(community: Community):
    g.community = community
    form = IssueForm(buildings=[(b.id, b.name) for b in community.buildings])
    if request.method == "GET":
        form.days.data = current_app.config["ACTIVATION_CODE_DAYS"]
    if form.validate_on_submit():
        try:
            issued = services.issue_letters(
                db.session(), actor=current_user, now=utcnow(), community=community,
                scope=form.chosen_scope(), days=form.days.data, ip=_ip(),
            )
        except NotFound:
            raise
        except DomainError as err:
            getattr(form, err.field or "scope", form.scope).errors.append(err.message)
        else:
            return _letters_pdf(community, issued)
    status = onboarding_status(db.session(), community, utcnow())
    return render_template(
        "activation/letters.html", community=community, form=form, buildings=status,
        State=OwnerState, default_days=current_app.config["ACTIVATION_CODE_DAYS"],
    ), (422 if form.errors else 200)


def _letters_pdf(community: Community, issued: services.Issued) -> Response:
    pdf = render_letters(community, issued, site_url=current_app.config["SITE_URL"])
    if issued.skipped:
        flash(_("No letter for %(n)d owners: the register has neither their ID number nor "
                "their phone. %(who)s", n=len(issued.skipped), who="; ".join(issued.skipped)),
              "warning")
    return Response(pdf, mimetype=PDF_MIMETYPE, headers={
        "Content-Disposition": f'attachment; filename="{letters_filename(community, issued)}"',
        # The only copy of the codes: no cache may keep it.
        "Cache-Control": "no-store",
    })


# Activation --------------------------------------------------------------------------------


@bp.route("/activate", methods=["GET", "POST"])
# As for logins: a code and an ID number are guessed like a password.
@limiter.limit(address_limit, methods=["POST"])
@limiter.limit(account_limit, methods=["POST"], key_func=_submitted_code)
@requires(Permission.PUBLIC)
def activate():
    """Step 1: the code (prefilled from the letter's QR link). Step 2: identity and login."""
    if request.method == "POST" and request.form.get("step") == "account":
        return _account_step()
    form = CodeForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = services.format_code(request.args["code"][:40])
    if form.validate_on_submit():
        try:
            code = services.check_code(db.session(), now=utcnow(), raw_code=form.code.data)
        except DomainError as err:
            return _code_step(form, err)
        account = AccountForm(formdata=None, code=services.format_code(form.code.data))
        return _render_account(account, code)
    return _code_step(form)


def _code_step(form: CodeForm, err: DomainError | None = None):
    if err is not None:
        form.code.errors = [*form.code.errors, err.message]  # a tuple until validated
    already = isinstance(err, services.AlreadyActivated)
    return render_template("activation/code.html", form=form, already=already), (
        422 if form.errors else 200
    )


def _render_account(form: AccountForm, code):
    proof = services.proof_for(code.person)
    if proof is services.Proof.PHONE:
        form.identity.label.text = _("Phone number registered with the committee")
    return render_template(
        "activation/account.html", form=form, proof=proof, Proof=services.Proof,
        unit_label=services.unit_label(code.unit), owner_name=code.person.name,
    ), (422 if form.errors else 200)


def _account_step():
    s = db.session()
    form = AccountForm()
    try:
        code = services.check_code(s, now=utcnow(), raw_code=form.code.data)
    except DomainError as err:
        # The code went bad between the steps (expired, used, reissued): start again.
        return _code_step(CodeForm(formdata=None, code=form.code.data), err)
    if form.validate_on_submit():
        try:
            done = services.activate(
                s, now=utcnow(), raw_code=form.code.data, identity=form.identity.data,
                phone=form.phone.data, username=form.username.data,
                password=form.password.data,
                id_hash_key=current_app.config["ID_HASH_KEY"], locale=str(get_locale()),
                ip=_ip(),
            )
        except DomainError as err:
            getattr(form, err.field or "identity", form.identity).errors.append(err.message)
        else:
            # A fresh session for the new login, as the login page does (no fixation).
            session.clear()
            login_user(done.user)
            done.user.last_login_at = utcnow()
            flash(_("Welcome! Your account is ready. From now on, log in with your phone number "
                    "and password."), "success")
            return redirect(url_for("main.community", community_id=done.community_id))
    return _render_account(form, code)
