"""Property-fee pages: the schedule (everyone in the community), one's own bills and receipts,
and the office's billing, payments, bank imports, arrears and follow-ups."""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Blueprint,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import db
from ..errors import DomainError, NotFound
from ..models import Community, UnitUse, utcnow
from ..pdf import PDF_MIMETYPE, render_pdf
from ..policy import Permission, can, requires
from . import fees
from .forms import BillsForm, FollowUpForm, PaymentForm, ScheduleForm, StatementImportForm
from .fund import owned_units
from .imports import ImportRejected
from .views import _today

bp = Blueprint("fees", __name__)


def _back(community: Community, endpoint: str = "fees.office"):
    return redirect(url_for(endpoint, community_id=community.id))


def _first_error(form) -> DomainError:
    name, errors = next(iter(form.errors.items()))
    return DomainError(f"{getattr(form, name).label.text}: {errors[0]}", field=name)


@bp.route("/c/<int:community_id>/money/fees")
@requires(Permission.FEES_READ)
def index(community):
    """The schedule in force (明码标价) and, for an owner, their units' bills and payments."""
    g.community = community
    s = db.session()
    units = owned_units(s, current_user, community)
    today = _today(community)
    return render_template(
        "money/fees.html", community=community,
        schedule=fees.schedule_on(s, community, today), schedules=fees.schedules_of(s, community),
        use_labels=fees.USE_LABELS, UnitUse=UnitUse, Decimal=Decimal,
        bills=fees.bills_of_units(s, units), payments=fees.payments_of_units(s, units),
        owed=fees.arrears(s, community, now=utcnow(), today=today, units=units) if units else [],
        manage=can(current_user, Permission.FEES_MANAGE, community),
        form=ScheduleForm(formdata=None))


@bp.route("/c/<int:community_id>/money/fees/schedule", methods=["POST"])
@requires(Permission.FEES_MANAGE)
def publish_schedule(community):
    g.community = community
    form = ScheduleForm()
    if not form.validate_on_submit():
        raise _first_error(form)
    fees.publish_schedule(
        db.session(), actor=current_user, now=utcnow(), community=community,
        effective_from=form.effective_from.data, other_charges=form.other_charges.data,
        rates={UnitUse.RESIDENTIAL: form.residential.data,
               UnitUse.COMMERCIAL: form.commercial.data, UnitUse.PARKING: form.parking.data,
               UnitUse.OTHER: form.other.data})
    flash(_("Fee schedule published."), "success")
    return _back(community, "fees.index")


@bp.route("/c/<int:community_id>/money/fees/office")
@requires(Permission.FEES_MANAGE)
def office(community):
    g.community = community
    s = db.session()
    return render_template(
        "money/fees_office.html", community=community, ageing=fees.AGEING,
        arrears=fees.arrears(s, community, now=utcnow(), today=_today(community)),
        unmatched=fees.unmatched_payments(s, community),
        follow_ups=fees.follow_ups_of(s, community), bills_form=BillsForm(formdata=None),
        payment_form=PaymentForm(formdata=None), import_form=StatementImportForm(formdata=None),
        follow_form=FollowUpForm(formdata=None), problems=[])


@bp.route("/c/<int:community_id>/money/fees/bills", methods=["POST"])
@requires(Permission.FEES_MANAGE)
def issue_bills(community):
    g.community = community
    form = BillsForm()
    if not form.validate_on_submit():
        raise _first_error(form)
    count = fees.issue_bills(db.session(), actor=current_user, now=utcnow(),
                             community=community, period=form.period.data)
    flash(_("%(n)s bills issued.", n=count), "success")
    return _back(community)


@bp.route("/c/<int:community_id>/money/fees/payments", methods=["POST"])
@requires(Permission.FEES_MANAGE)
def record_payment(community):
    g.community = community
    s = db.session()
    form = PaymentForm()
    if not form.validate_on_submit():
        raise _first_error(form)
    unit = fees.find_unit(s, community, form.unit.data)
    if unit is None:
        raise DomainError(_("No unit %(label)s in the register.", label=form.unit.data),
                          field="unit")
    payment = fees.record_payment(s, actor=current_user, now=utcnow(), community=community,
                                  unit=unit, paid_on=form.paid_on.data,
                                  amount=form.amount.data.strip().replace(",", ""),
                                  reference=form.reference.data or "")
    flash(_("Payment recorded; receipt no. %(n)s.", n=payment.id), "success")
    return _back(community)


@bp.route("/c/<int:community_id>/money/fees/payments/import", methods=["POST"])
@requires(Permission.FEES_MANAGE)
def import_payments(community):
    g.community = community
    s = db.session()
    form = StatementImportForm()
    if not form.validate_on_submit():
        raise _first_error(form)
    try:
        result = fees.import_payments(s, actor=current_user, now=utcnow(), community=community,
                                      data=form.file.data.read())
    except ImportRejected as err:
        return render_template(
            "money/fees_office.html", community=community, ageing=fees.AGEING,
            arrears=fees.arrears(s, community, now=utcnow(), today=_today(community)),
            unmatched=fees.unmatched_payments(s, community),
            follow_ups=fees.follow_ups_of(s, community), bills_form=BillsForm(formdata=None),
            payment_form=PaymentForm(formdata=None), import_form=form,
            follow_form=FollowUpForm(formdata=None), problems=err.problems), 422
    flash(_("%(n)s payments matched to units; %(m)s rows matched no unit and are listed below.",
            n=result.matched, m=len(result.unmatched)), "success")
    return _back(community)


@bp.route("/c/<int:community_id>/money/fees/units/<int:unit_id>/follow-ups",
          methods=["POST"])
@requires(Permission.FEES_MANAGE)
def follow_up(community, unit_id: int):
    g.community = community
    form = FollowUpForm()
    if not form.validate_on_submit():
        raise _first_error(form)
    fees.follow_up(db.session(), actor=current_user, now=utcnow(), community=community,
                   unit_id=unit_id, note=form.note.data)
    flash(_("Follow-up recorded."), "success")
    return _back(community)


@bp.route("/c/<int:community_id>/money/fees/payments/<int:payment_id>/receipt.pdf")
@requires(Permission.FEES_READ)
def receipt(community, payment_id: int):
    """The receipt of a payment: for the office, or the owner of the unit paid for."""
    s = db.session()
    payment = fees.load_payment(s, community, payment_id)
    mine = {u.id for u in owned_units(s, current_user, community)}
    if payment.unit_id not in mine and not can(current_user, Permission.FEES_MANAGE,
                                               community):
        raise NotFound(_("There is no such payment."))
    pdf = render_pdf("pdf/fee_receipt.html", community=community, payment=payment,
                     signed_on=payment.paid_on.isoformat(),
                     doc_number=f"物业费收据 No. {payment.id:06d}")
    response = make_response(pdf)
    response.headers["Content-Type"] = PDF_MIMETYPE
    response.headers["Content-Disposition"] = f'inline; filename="receipt-{payment.id}.pdf"'
    return response


@bp.route("/c/<int:community_id>/money/fees/payments/<int:payment_id>/assign",
          methods=["POST"])
@requires(Permission.FEES_MANAGE)
def assign_payment(community, payment_id: int):
    g.community = community
    label = (request.form.get("unit") or "").strip()
    if not label:
        raise DomainError(_("Give the unit, e.g. 1号楼-101."), field="unit")
    fees.assign_payment(db.session(), actor=current_user, now=utcnow(), community=community,
                        payment_id=payment_id, label=label)
    flash(_("Payment matched to %(unit)s.", unit=label), "success")
    return _back(community)
