"""The owners' register: the register page, import (upload, preview, confirm, discard), export.

Views parse the request, call one service and render or redirect; the services flush, the
request pipeline commits (or rolls back on an error status, so a rejected file writes nothing).
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import db
from ..models import utcnow
from ..policy import Permission, requires
from . import services
from .forms import ImportForm

bp = Blueprint("register", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/c/<int:community_id>/register")
@requires(Permission.REGISTER_READ)
def units(community):
    g.community = community
    query = request.args.get("q", "")[:80]
    view = services.register_page(db.session(), community, query=query,
                                  page=request.args.get("page", 1, type=int))
    return render_template("register/units.html", community=community, view=view, q=query,
                           use_labels=services.USE_LABELS)


@bp.route("/c/<int:community_id>/register/import", methods=["GET", "POST"])
@requires(Permission.REGISTER_IMPORT)
def import_upload(community):
    g.community = community
    s, form, problems = db.session(), ImportForm(), []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            pending = services.upload_import(
                s, actor=current_user, now=utcnow(), community=community,
                filename=upload.filename or "", data=upload.read(),
                id_key=current_app.config["ID_HASH_KEY"], ip=request.remote_addr or "")
        except services.ImportRejected as err:
            form.file.errors.append(err.message)
            problems = err.problems
        else:
            return redirect(url_for("register.import_preview", community_id=community.id,
                                    import_id=pending.id))
    return render_template(
        "register/import.html", community=community, form=form, problems=problems,
        recent=services.recent_imports(s, community),
    ), (422 if form.errors else 200)


@bp.route("/c/<int:community_id>/register/import/<int:import_id>")
@requires(Permission.REGISTER_IMPORT)
def import_preview(community, import_id: int):
    g.community = community
    pending = services.get_import(db.session(), community, import_id)
    return render_template("register/preview.html", community=community, pending=pending,
                           use_labels=services.USE_LABELS, field_labels=services.FIELD_LABELS)


@bp.route("/c/<int:community_id>/register/import/<int:import_id>/confirm", methods=["POST"])
@requires(Permission.REGISTER_IMPORT)
def import_confirm(community, import_id: int):
    s = db.session()
    pending = services.get_import(s, community, import_id)
    counts = services.confirm_import(s, actor=current_user, now=utcnow(), community=community,
                                     pending=pending, ip=request.remote_addr or "")
    flash(_("Register updated: %(a)s units added, %(c)s changed, %(r)s removed.",
            a=counts["units_added"], c=counts["units_changed"], r=counts["units_removed"]),
          "success")
    return redirect(url_for("register.units", community_id=community.id))


@bp.route("/c/<int:community_id>/register/import/<int:import_id>/discard", methods=["POST"])
@requires(Permission.REGISTER_IMPORT)
def import_discard(community, import_id: int):
    s = db.session()
    pending = services.get_import(s, community, import_id)
    services.discard_import(s, actor=current_user, now=utcnow(), community=community,
                            pending=pending, ip=request.remote_addr or "")
    flash(_("Import discarded; the register is unchanged."), "success")
    return redirect(url_for("register.import_upload", community_id=community.id))


@bp.route("/c/<int:community_id>/register/export.xlsx")
@requires(Permission.REGISTER_EXPORT)
def export(community):
    now = utcnow()
    content = services.export_register(
        db.session(), actor=current_user, now=now, community=community,
        chinese=str(get_locale()).startswith("zh"), ip=request.remote_addr or "")
    response = send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                         download_name=f"{community.name}-register-{now:%Y%m%d}.xlsx")
    response.headers["Cache-Control"] = "no-store"  # owners' personal data
    return response
