"""Money pages: published statements (owners), the books and imports (committee), the fund.

Views parse the form, check the permission (``@requires``), call one service and render or
redirect; services flush and the request pipeline commits, or rolls back on an error status
(so a refused spend or a rejected import writes nothing).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

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
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import db
from ..audit.services import record
from ..errors import DomainError
from ..models import Community, DisclosureKind, Ledger, Unit, utcnow
from ..pdf import PDF_MIMETYPE, render_pdf
from ..policy import Permission, can, requires
from ..signing import site_key_fingerprint
from . import disclosure as disclosures
from . import fund, ledger, reviews
from .export import audit_workbook
from .forms import (
    AnswerForm,
    ClosePeriodForm,
    DepositForm,
    EntryForm,
    InterestForm,
    PayForm,
    PublishForm,
    ReverseForm,
    ReviewForm,
    SpendForm,
    StatementImportForm,
)
from .imports import ImportRejected, import_statement

bp = Blueprint("money", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today(community: Community) -> dt.date:
    return utcnow().astimezone(ZoneInfo(community.timezone or "Asia/Shanghai")).date()


def _decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal((text or "").strip().replace(",", ""))
    except InvalidOperation as exc:
        raise DomainError(_("Write a number, e.g. 1234.50."), field=field) from exc
    if not value.is_finite():
        raise DomainError(_("Write a number, e.g. 1234.50."), field=field)
    return value


def _fail(form, err: DomainError, default: str) -> None:
    target = getattr(form, err.field or default, None) or getattr(form, default)
    target.errors = [*target.errors, err.message]


@bp.route("/c/<int:community_id>/money")
@requires(Permission.MONEY_READ)
def index(community):
    g.community = community
    s = db.session()
    book = can(current_user, Permission.MONEY_BOOK, community)
    return render_template(
        "money/index.html", community=community,
        disclosures=disclosures.disclosures_of(s, community), labels=disclosures.KIND_LABELS,
        book=book, audit=can(current_user, Permission.MONEY_AUDIT, community),
        publish_form=PublishForm(formdata=None) if book else None,
        owns=bool(fund.owned_units(s, current_user, community)),
        missing_year=disclosures.missing_yearly_report(s, community, _today(community))
        if book else None,
        emergencies=fund.emergency_spends(s, community) if book else [],
    )


@bp.route("/c/<int:community_id>/money/disclosures", methods=["POST"])
@requires(Permission.MONEY_BOOK)
def publish(community):
    g.community = community
    form = PublishForm()
    if form.validate_on_submit():
        published = disclosures.publish_disclosure(
            db.session(), actor=current_user, now=utcnow(), community=community,
            kind=DisclosureKind(form.kind.data), starts_on=form.starts_on.data,
            today=_today(community))
        flash(_("Statement published, signed and sent to the owners."), "success")
        return redirect(url_for("money.disclosure", community_id=community.id,
                                disclosure_id=published.id))
    raise DomainError(_("Choose the statement and the first day of its period."),
                      field="starts_on")


@bp.route("/c/<int:community_id>/money/disclosures/<int:disclosure_id>")
@requires(Permission.MONEY_READ)
def disclosure(community, disclosure_id: int):
    g.community = community
    published = disclosures.load_disclosure(db.session(), community, disclosure_id)
    fig = disclosures.figures_of(published)
    return render_template(
        "money/disclosure.html", community=community, d=published, fig=fig,
        labels=disclosures.KIND_LABELS, categories=fund.CATEGORIES,
        fingerprint=site_key_fingerprint(), Decimal=Decimal, **disclosures.chart_data(fig),
    )


@bp.route("/c/<int:community_id>/money/journal")
@requires(Permission.MONEY_AUDIT)
def journal(community):
    g.community = community
    s = db.session()
    return render_template(
        "money/journal.html", community=community, entries=ledger.journal(s, community),
        report=ledger.verify_ledger(s, community), balances=ledger.balances(s, community),
        accounts=ledger.accounts_of(s, community), reversed=ledger.reversed_seqs(s, community),
        periods=ledger.closed_periods(s, community), label=ledger.account_label,
        ledger_labels=ledger.LEDGER_LABELS, book=can(current_user, Permission.MONEY_BOOK,
                                                     community),
        reverse_form=ReverseForm(formdata=None), close_form=ClosePeriodForm(formdata=None),
    )


@bp.route("/c/<int:community_id>/money/periods", methods=["POST"])
@requires(Permission.MONEY_BOOK)
def close_period(community):
    """Close the books of a period that has ended (month-end closing, 结账)."""
    g.community = community
    form = ClosePeriodForm()
    if not form.validate_on_submit():
        raise DomainError(_("Give the first and the last day of the period."), field="ends_on")
    if form.ends_on.data >= _today(community):
        raise DomainError(_("Only a period that has ended can be closed."), field="ends_on")
    ledger.close_period(db.session(), actor=current_user, now=utcnow(), community=community,
                        starts_on=form.starts_on.data, ends_on=form.ends_on.data)
    flash(_("Period closed: entries can no longer be dated in it."), "success")
    return redirect(url_for("money.journal", community_id=community.id))


@bp.route("/c/<int:community_id>/money/journal/new", methods=["GET", "POST"])
@requires(Permission.MONEY_BOOK)
def new_entry(community):
    g.community = community
    s = db.session()
    form = EntryForm()
    choices = [(a.code, ledger.account_label(a))
               for a in ledger.accounts_of(s, community, Ledger.OPERATING)]
    form.debit.choices = form.credit.choices = choices
    if form.validate_on_submit():
        try:
            amount = _decimal(form.amount.data, "amount")
            entry = ledger.post_entry(
                s, actor=current_user, now=utcnow(), community=community,
                ledger=Ledger.OPERATING, entry_date=form.entry_date.data, memo=form.memo.data,
                lines=[ledger.Line(form.debit.data, debit=amount),
                       ledger.Line(form.credit.data, credit=amount)])
        except DomainError as err:
            _fail(form, err, "amount")
            status = err.status
        else:
            flash(_("Entry %(seq)s booked.", seq=entry.seq), "success")
            return redirect(url_for("money.journal", community_id=community.id))
    else:
        status = 422 if form.errors else 200
    return render_template("money/entry_form.html", community=community, form=form), status


@bp.route("/c/<int:community_id>/money/journal/<int:seq>/reverse", methods=["POST"])
@requires(Permission.MONEY_BOOK)
def reverse(community, seq: int):
    g.community = community
    s = db.session()
    entry = ledger.load_entry(s, community, seq)
    form = ReverseForm()
    if not form.validate_on_submit():
        raise DomainError(_("Say why the entry is reversed."), field="reason")
    reversal = ledger.reverse_entry(s, actor=current_user, now=utcnow(), entry=entry,
                                    entry_date=_today(community), reason=form.reason.data)
    flash(_("Entry %(seq)s reversed by entry %(rev)s.", seq=seq, rev=reversal.seq), "success")
    return redirect(url_for("money.journal", community_id=community.id))


@bp.route("/c/<int:community_id>/money/import", methods=["GET", "POST"])
@requires(Permission.MONEY_BOOK)
def import_upload(community):
    g.community = community
    form, problems = StatementImportForm(), []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            count = import_statement(db.session(), actor=current_user, now=utcnow(),
                                     community=community, filename=upload.filename or "",
                                     data=upload.read())
        except ImportRejected as err:
            form.file.errors.append(err.message)
            problems = err.problems
        else:
            flash(_("%(n)s rows booked.", n=count), "success")
            return redirect(url_for("money.journal", community_id=community.id))
    return render_template("money/import.html", community=community, form=form,
                           problems=problems), (422 if form.errors else 200)


def _fund_forms(s, community: Community) -> tuple[DepositForm, InterestForm, SpendForm]:
    deposit, interest, spend = (DepositForm(formdata=None, prefix="d"),
                                InterestForm(formdata=None, prefix="i"),
                                SpendForm(formdata=None))
    _motion_choices(s, community, deposit, spend)
    return deposit, interest, spend


def _motion_choices(s, community: Community, deposit: DepositForm | None,
                    spend: SpendForm | None) -> None:
    from elections.rules import Matter

    from ..meetings.services import adopted_motions

    if deposit is not None:
        deposit.motion.choices = [(0, _("None: initial deposit"))] + [
            (m.id, f"{m.meeting.title} · {m.title}")
            for m in adopted_motions(s, community, Matter.RAISE_FUND)]
    if spend is not None:
        spend.motion.choices = [(0, "—")] + [
            (m.id, f"{m.meeting.title} · {m.title}") for m in fund.eligible_motions(s, community)]
        spend.buildings.choices = [(b.id, b.name) for b in community.buildings]


@bp.route("/c/<int:community_id>/money/fund")
@requires(Permission.MONEY_AUDIT)
def fund_overview(community):
    g.community = community
    s = db.session()
    per_unit = ledger.unit_fund_balances(s, community)
    units = fund.active_units(s, community)
    deposit, interest, spend = _fund_forms(s, community)
    return render_template(
        "money/fund.html", community=community, per_unit=per_unit, units=units,
        buildings=ledger.group_by_building(s, community, per_unit),
        total=sum(per_unit.values(), Decimal("0.00")), spends=fund.spends_of(s, community),
        spent_on=fund.spent_on, categories=fund.CATEGORIES, emergencies=fund.EMERGENCIES,
        book=can(current_user, Permission.MONEY_BOOK, community),
        deposit_form=deposit, interest_form=interest, spend_form=spend,
        pay_form=PayForm(formdata=None), answer_form=AnswerForm(formdata=None),
        reviews=reviews.reviews_of(s, community),
    )


@bp.route("/c/<int:community_id>/money/fund/receipts", methods=["POST"])
@requires(Permission.MONEY_BOOK)
def fund_receipt(community):
    """Deposits and top-ups by area (prefix ``d``) or interest shared by balance (``i``)."""
    g.community = community
    s = db.session()
    if request.form.get("kind") == "interest":
        form = InterestForm(prefix="i")
        if not form.validate_on_submit():
            raise DomainError(_("Give the date, a description and the amount."), field="amount")
        fund.share_interest(s, actor=current_user, now=utcnow(), community=community,
                            amount=_decimal(form.amount.data, "amount"),
                            entry_date=form.entry_date.data, memo=form.memo.data)
    else:
        form = DepositForm(prefix="d")
        _motion_choices(s, community, form, None)
        if not form.validate_on_submit():
            raise DomainError(_("Give the date, a description and the rate."), field="rate")
        args = {"actor": current_user, "now": utcnow(), "community": community,
                "rate_per_m2": _decimal(form.rate.data, "rate"),
                "entry_date": form.entry_date.data, "memo": form.memo.data}
        if form.motion.data:
            fund.top_up(s, motion_id=form.motion.data, **args)
        else:
            fund.deposit_by_area(s, **args)
    flash(_("Booked to the fund."), "success")
    return redirect(url_for("money.fund_overview", community_id=community.id))


@bp.route("/c/<int:community_id>/money/fund/spends", methods=["POST"])
@requires(Permission.MONEY_BOOK)
def file_spend(community):
    g.community = community
    s = db.session()
    form = SpendForm()
    _motion_choices(s, community, None, form)
    if not form.validate_on_submit():
        field, errors = next(iter(form.errors.items()))
        raise DomainError(f"{getattr(form, field).label.text}: {errors[0]}", field=field)
    unit_ids = list(s.scalars(select(Unit.id).where(
        Unit.community_id == community.id, Unit.active.is_(True),
        Unit.building_id.in_(form.buildings.data or [-1]))))
    spend = fund.file_spend(
        s, actor=current_user, now=utcnow(), community=community, title=form.title.data,
        category=form.category.data, budget=_decimal(form.budget.data, "budget"),
        unit_ids=unit_ids, motion_id=form.motion.data or None,
        emergency_kind=form.emergency_kind.data or None, description=form.description.data,
        split=form.split.data)
    flash(_("Expenditure %(title)s filed.", title=spend.title), "success")
    return redirect(url_for("money.fund_overview", community_id=community.id))


@bp.route("/c/<int:community_id>/money/fund/spends/<int:spend_id>/pay", methods=["POST"])
@requires(Permission.MONEY_BOOK)
def pay_spend(community, spend_id: int):
    g.community = community
    s = db.session()
    spend = fund.load_spend(s, community, spend_id)
    form = PayForm()
    if not form.validate_on_submit():
        raise DomainError(_("Give the date and the amount paid."), field="amount")
    fund.pay_spend(s, actor=current_user, now=utcnow(), spend=spend,
                   amount=_decimal(form.amount.data, "amount"),
                   entry_date=form.entry_date.data, memo=form.memo.data or "")
    flash(_("Payment booked and split among the units."), "success")
    return redirect(url_for("money.fund_overview", community_id=community.id))


@bp.route("/c/<int:community_id>/money/fund/mine")
@requires(Permission.MONEY_READ)
def my_fund(community):
    """The fund statement of each unit the reader owns (nobody else's)."""
    g.community = community
    s = db.session()
    units = fund.owned_units(s, current_user, community)
    form = ReviewForm(formdata=None)
    form.unit.choices = [(u.id, u.label) for u in units]
    return render_template(
        "money/my_fund.html", community=community,
        statements=[(u, fund.unit_statement(s, u)) for u in units], review_form=form,
        reviews=reviews.reviews_of(s, community, user=current_user))


@bp.route("/c/<int:community_id>/money/fund/mine/reviews", methods=["POST"])
@requires(Permission.MONEY_READ)
def ask_review(community):
    g.community = community
    s = db.session()
    form = ReviewForm()
    form.unit.choices = [(u.id, u.label) for u in fund.owned_units(s, current_user, community)]
    if not form.validate_on_submit():
        raise DomainError(_("Choose your unit and say which figure you question."),
                          field="question")
    reviews.ask_review(s, actor=current_user, now=utcnow(), community=community,
                       unit_id=form.unit.data, question=form.question.data)
    flash(_("Your request is on the record; the committee will answer it."), "success")
    return redirect(url_for("money.my_fund", community_id=community.id))


@bp.route("/c/<int:community_id>/money/fund/reviews/<int:review_id>/answer",
          methods=["POST"])
@requires(Permission.MONEY_BOOK)
def answer_review(community, review_id: int):
    g.community = community
    form = AnswerForm()
    if not form.validate_on_submit():
        raise DomainError(_("Write the answer."), field="answer")
    reviews.answer_review(db.session(), actor=current_user, now=utcnow(), community=community,
                          review_id=review_id, answer=form.answer.data)
    flash(_("Answer recorded and sent to the owner."), "success")
    return redirect(url_for("money.fund_overview", community_id=community.id))


@bp.route("/c/<int:community_id>/money/disclosures/<int:disclosure_id>.pdf")
@requires(Permission.MONEY_READ)
def disclosure_pdf(community, disclosure_id: int):
    published = disclosures.load_disclosure(db.session(), community, disclosure_id)
    fig = disclosures.figures_of(published)
    with force_locale("zh_Hans_CN"):
        pdf = render_pdf("pdf/money_disclosure.html", community=community, d=published,
                         fig=fig, fingerprint=site_key_fingerprint(), Decimal=Decimal,
                         signed_on=published.published_at.date().isoformat(),
                         **disclosures.chart_data(fig))
    return _file(pdf, PDF_MIMETYPE, f"statement-{published.starts_on.isoformat()}"
                                    f"-{published.kind.value}.pdf")


@bp.route("/c/<int:community_id>/money/fund/mine.pdf")
@requires(Permission.MONEY_READ)
def my_fund_pdf(community):
    s = db.session()
    statements = [(u, fund.unit_statement(s, u))
                  for u in fund.owned_units(s, current_user, community)]
    pdf = render_pdf("pdf/money_fund_statement.html", community=community,
                     statements=statements, signed_on=_today(community).isoformat())
    return _file(pdf, PDF_MIMETYPE, "fund-statement.pdf")


@bp.route("/c/<int:community_id>/money/export.xlsx")
@requires(Permission.MONEY_AUDIT)
def audit_export(community):
    s = db.session()
    record(s, actor=current_user, action="money.exported", now=utcnow(),
           community_id=community.id, target=f"community:{community.id}")
    return _file(audit_workbook(s, community), XLSX,
                 f"books-{community.id}-{_today(community).isoformat()}.xlsx")


def _file(data: bytes, mimetype: str, filename: str):
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
