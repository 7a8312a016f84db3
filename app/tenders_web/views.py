"""Pages of a tender: the file and its notice, the ceremony, bidders' registration and sealed
bids, the opening, the panel, declarations, sealed sheets and the evaluation report."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from tenders import documents

from .. import db
from ..errors import Conflict, DomainError
from ..models import (
    Community,
    KeyPurpose,
    Tender,
    TenderBidDocument,
    TenderObjection,
    TenderStatus,
    User,
    utcnow,
)
from ..pdf import PDF_MIMETYPE, render_pdf
from ..policy import Permission, can, requires
from . import decision, messages, services
from . import opening as boxes
from . import panel as seats
from .forms import TenderForm

bp = Blueprint("tenders", __name__)
BASE = "/c/<int:community_id>/tenders"
ONE = f"{BASE}/<int:tender_id>"

@bp.app_template_global()
def tender_blocker(blocker) -> str:
    """A blocker of the pure ``tenders`` package, in the reader's language."""
    return messages.blocker_text(blocker)


STATUS_LABELS = {
    TenderStatus.DRAFT: _l("Draft"), TenderStatus.PUBLISHED: _l("Taking bids"),
    TenderStatus.OPENED: _l("Bids opened"), TenderStatus.FAILED: _l("Failed"),
    TenderStatus.EVALUATED: _l("Evaluated"), TenderStatus.PUBLICISED: _l("Candidates published"),
    TenderStatus.FINAL: _l("Awarded, final"),
}


def _load(community: Community, tender_id: int) -> Tender:
    """The tender of this community (404 otherwise; drafts only for those who manage)."""
    tender = db.session().get(Tender, tender_id)
    if tender is None or tender.community_id != community.id:
        abort(404)
    if tender.status is TenderStatus.DRAFT and not can(
        current_user, Permission.TENDERS_MANAGE, community
    ):
        abort(404)
    g.community = community
    return tender


def _back(tender: Tender, endpoint: str = "tenders.detail", **args):
    return redirect(url_for(endpoint, community_id=tender.community_id, tender_id=tender.id,
                            **args))


@bp.route(BASE)
@requires(Permission.TENDERS_READ)
def index(community):
    g.community = community
    manage = can(current_user, Permission.TENDERS_MANAGE, community)
    rows = services.tenders_of(db.session(), community, drafts=manage)
    return render_template("tenders/list.html", community=community, tenders=rows,
                           manage=manage, labels=STATUS_LABELS)


@bp.route(f"{BASE}/new", methods=["GET", "POST"])
@requires(Permission.TENDERS_MANAGE)
def new(community):
    g.community = community
    s = db.session()
    form = TenderForm()
    form.motion_id.choices = [(m.id, f"{m.meeting.title} · {m.title}")
                              for m in services.tender_motions(s, community)]
    if form.validate_on_submit():
        tz = ZoneInfo(community.timezone or "Asia/Shanghai")
        try:
            rules = services.build_rules(
                criteria=form.criteria.data, price_weight=form.price_weight.data,
                formula=form.formula.data, n_above=form.n_above.data or "",
                n_below=form.n_below.data or "",
                deadline=form.deadline.data.replace(tzinfo=tz).astimezone(dt.UTC),
                minimum_bidders=form.minimum_bidders.data, panel_size=form.panel_size.data,
                drop_extremes=form.drop_extremes.data, shortlist_size=form.shortlist_size.data)
            tender = services.create_tender(
                s, actor=current_user, now=utcnow(), community=community,
                motion_id=form.motion_id.data, title=form.title.data, scope=form.scope.data,
                term_months=form.term_months.data, notice_days=form.notice_days.data,
                rules=rules)
        except DomainError as err:
            getattr(form, err.field or "title", form.title).errors.append(err.message)
        else:
            flash(_("Tender drafted. Check the file, then publish it with the committee's "
                    "key ceremony."), "success")
            return _back(tender)
    return render_template("tenders/form.html", community=community, form=form), (
        422 if form.errors else 200)


@bp.route(ONE)
@requires(Permission.PUBLIC)
def detail(community, tender_id: int):
    """The tender file and notice: public, so that any company can read it and bid."""
    tender = _load(community, tender_id)
    s, now = db.session(), utcnow()
    manage = can(current_user, Permission.TENDERS_MANAGE, community)
    bidder = services.bidder_of(s, tender, current_user)
    result = (tender.evaluation or {}).get("record", {}).get("result") or {}
    companies = {b["bid_id"]: b["company"]
                 for b in (tender.opening_record or {}).get("record", {}).get("bids", [])}
    return render_template(
        "tenders/detail.html", community=community, tender=tender, now=now,
        candidates=[(r, companies.get(r["bid_id"], r["bid_id"])) for r in result.get("ranking", [])
                    if r["bid_id"] in result.get("shortlist", [])],
        objections=decision.objections_of(s, tender),
        may_object=bidder is not None or can(current_user, Permission.MEETING_OBJECT, community),
        final_blockers=decision.final_blockers(s, tender, now) if manage else [],
        award_blockers=decision.award_blockers(tender),
        shortlist_motions=decision.shortlist_motions(s, tender) if manage else [],
        rules=services.rules_of(tender), labels=STATUS_LABELS, manage=manage,
        can_read=can(current_user, Permission.TENDERS_READ, community),
        holders=services.key_holders(s, community) if manage else [],
        publish_blockers=services.publish_blockers(s, tender, now) if manage else [],
        bidder=bidder, companies=companies, failure=_failure(tender),
        # The members' identities are sealed until the opening, then published with it.
        panel_names={u.id: u.display_name or u.username for u in s.scalars(select(User).where(
            User.id.in_([p.user_id for p in tender.panel])))} if tender.opened_at else {},
        opening=(tender.opening_record or {}).get("record"),
    )


def _failure(tender: Tender) -> str | None:
    """Why the tender failed, in the reader's language (the signed record keeps the rule's
    own words)."""
    if tender.status is not TenderStatus.FAILED:
        return None
    bids = (tender.opening_record or {}).get("record", {}).get("bids", [])
    readable = sum(1 for b in bids if b["problem"] is None)
    return _("The tender failed: %(n)s valid bids at the deadline, but the tender file requires "
             "at least %(min)s. The tender must be held again.", n=readable,
             min=services.rules_of(tender).minimum_bidders)


@bp.route(f"{ONE}/publish", methods=["POST"])
@requires(Permission.TENDERS_MANAGE)
def publish(community, tender_id: int):
    tender = _load(community, tender_id)
    s = db.session()
    passphrases = {}
    for user in services.key_holders(s, community):
        first = request.form.get(f"pass-{user.id}", "")
        if first != request.form.get(f"again-{user.id}", ""):
            raise DomainError(_("The two passphrases differ."), field=f"pass-{user.id}")
        passphrases[user.id] = first
    try:
        k = int(request.form.get("k", ""))
    except ValueError as exc:
        raise DomainError(_("Give a whole number."), field="k") from exc
    services.publish(s, actor=current_user, now=utcnow(), tender=tender, k=k,
                     passphrases=passphrases)
    flash(_("The tender is published: bids are taken, sealed, until the deadline."), "success")
    return _back(tender)


@bp.route(f"{ONE}/register", methods=["GET", "POST"])
@requires(Permission.ACCOUNT)
def register(community, tender_id: int):
    """A company registers with its own account (bidders hold no role in the community)."""
    tender = _load(community, tender_id)
    s = db.session()
    errors = {}
    if request.method == "POST":
        try:
            services.register_bidder(
                s, actor=current_user, now=utcnow(), tender=tender,
                company=request.form.get("company", ""),
                licence_number=request.form.get("licence_number", ""),
                contact=request.form.get("contact", ""))
        except DomainError as err:
            if err.status != 422:
                raise
            errors[err.field or "company"] = err.message
        else:
            flash(_("Your company is registered: submit your sealed bid before the deadline."),
                  "success")
            return _back(tender, "tenders.bid")
    return render_template("tenders/register.html", community=community, tender=tender,
                           errors=errors, bidder=services.bidder_of(s, tender, current_user)), (
        422 if errors else 200)


@bp.route(f"{ONE}/bid", methods=["GET", "POST"])
@requires(Permission.ACCOUNT)
def bid(community, tender_id: int):
    tender = _load(community, tender_id)
    s, now = db.session(), utcnow()
    bidder = services.bidder_of(s, tender, current_user)
    if bidder is None:
        if request.method == "POST":
            abort(403)
        return _back(tender, "tenders.register")
    if request.method == "POST":
        files = [(f.filename or "document", f.mimetype or "", f.read())
                 for f in request.files.getlist("files") if f and f.filename]
        services.submit_bid(s, actor=current_user, now=now, tender=tender,
                            sealed_b64=request.form.get("sealed", "").strip(),
                            price=request.form.get("price", ""),
                            text=request.form.get("documents", ""), files=files)
        flash(_("Your bid is sealed and recorded. Until the deadline you may withdraw it or "
                "submit a new one: the last counts."), "success")
        return _back(tender, "tenders.bid")
    closed = None
    try:
        services.require_bidding_open(tender, now)
    except Conflict as err:
        closed = err.message
    return render_template(
        "tenders/bid.html", community=community, tender=tender, bidder=bidder, closed=closed,
        limits=documents,
        standing=services.standing_bid(s, tender, bidder),
        box=services.box_name(tender, KeyPurpose.BIDS))


@bp.route(f"{ONE}/bid/withdraw", methods=["POST"])
@requires(Permission.ACCOUNT)
def withdraw(community, tender_id: int):
    tender = _load(community, tender_id)
    services.withdraw_bid(db.session(), actor=current_user, now=utcnow(), tender=tender)
    flash(_("Your bid is withdrawn. You may submit a new one before the deadline."), "success")
    return _back(tender, "tenders.bid")


def _purpose() -> KeyPurpose:
    try:
        return KeyPurpose(request.values.get("box", KeyPurpose.BIDS.value))
    except ValueError:
        abort(404)


@bp.route(f"{ONE}/opening", methods=["GET", "POST"])
@requires(Permission.TENDER_OPEN)
def opening(community, tender_id: int):
    """A key holder brings their share of the bids box (or, with ?box=sheets, the sheets)."""
    tender = _load(community, tender_id)
    s, now, purpose = db.session(), utcnow(), _purpose()
    errors = {}
    if request.method == "POST":
        try:
            boxes.bring_share(s, actor=current_user, now=now, tender=tender,
                                 purpose=purpose, passphrase=request.form.get("passphrase", ""),
                                 share_text=request.form.get("share", ""))
        except DomainError as err:
            if err.status != 422:
                raise
            errors[err.field or "passphrase"] = err.message
        else:
            flash(_("Your share is brought."), "success")
            return _back(tender, "tenders.opening", box=purpose.value)
    return render_template(
        "tenders/opening.html", community=community, tender=tender, purpose=purpose,
        errors=errors, blockers=boxes.opening_blockers(s, tender, purpose, now),
        key=boxes.key_of(s, tender, current_user, purpose),
        brought=len(boxes.brought_keys(tender, purpose))), (422 if errors else 200)


@bp.route(f"{ONE}/bids/<bid_id>/documents/<int:position>")
@requires(Permission.TENDERS_READ)
def document(community, tender_id: int, bid_id: str, position: int):
    """A bid's document, out of its seal: only after the opening (before it, no file exists
    outside the sealed bid)."""
    tender = _load(community, tender_id)
    found = db.session().scalar(select(TenderBidDocument).where(
        TenderBidDocument.tender_id == tender.id, TenderBidDocument.bid_id == bid_id,
        TenderBidDocument.position == position))
    if found is None:
        abort(404)
    response = make_response(found.content)
    response.headers["Content-Type"] = found.mime
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"document-{bid_id}-{position + 1}\"; "
        f"filename*=UTF-8''{quote(found.name)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route(f"{ONE}/opening.json")
@requires(Permission.PUBLIC)
def opening_record(community, tender_id: int):
    """The signed opening record (bidders, prices, time), published once the bids open."""
    tender = _load(community, tender_id)
    if not tender.opening_record:
        raise Conflict(_("The bids have not been opened."))
    return jsonify(tender.opening_record)


@bp.route(f"{ONE}/panel", methods=["GET", "POST"])
@requires(Permission.TENDERS_MANAGE)
def panel(community, tender_id: int):
    tender = _load(community, tender_id)
    s = db.session()
    errors = {}
    if request.method == "POST":
        name = request.form.get("username", "").strip()
        member = s.scalar(select(User).where(User.username == name)) if name else None
        try:
            if member is None:
                raise DomainError(_("No account with this user name."), field="username")
            seats.appoint(s, actor=current_user, now=utcnow(), tender=tender, member=member,
                             seat_role=request.form.get("seat_role", "").strip() or "member")
        except DomainError as err:
            if err.status != 422:
                raise
            errors[err.field or "username"] = err.message
        else:
            flash(_("Evaluator appointed."), "success")
            return _back(tender, "tenders.panel")
    status = seats.panel_state(tender) if tender.status is TenderStatus.OPENED else None
    return render_template("tenders/panel.html", community=community, tender=tender,
                           errors=errors, status=status,
                           users={u.id: u for u in s.scalars(select(User).where(
                               User.id.in_([p.user_id for p in tender.panel])))}), (
        422 if errors else 200)


@bp.route(f"{ONE}/declare", methods=["GET", "POST"])
@requires(Permission.TENDER_EVALUATE)
def declare(community, tender_id: int):
    tender = _load(community, tender_id)
    s = db.session()
    seat = seats.seat_of(s, tender, current_user)
    errors = {}
    if request.method == "POST":
        try:
            seats.declare(s, actor=current_user, now=utcnow(), tender=tender,
                          conflicts=request.form.getlist("conflict"),
                          note=request.form.get("note", ""),
                          passphrase=request.form.get("passphrase", ""),
                          again=request.form.get("again", ""))
        except DomainError as err:
            if err.status != 422:
                raise
            errors[err.field or "conflicts"] = err.message
        else:
            flash(_("Your declaration is recorded."), "success")
            return _back(tender, "tenders.sheet")
    bids = (tender.opening_record or {}).get("record", {}).get("bids", [])
    return render_template("tenders/declare.html", community=community, tender=tender,
                           seat=seat, bids=bids, errors=errors), (422 if errors else 200)


@bp.route(f"{ONE}/sheet", methods=["GET", "POST"])
@requires(Permission.TENDER_EVALUATE)
def sheet(community, tender_id: int):
    """The evaluator's own score sheet: filled once, sealed in the browser (the page needs
    JavaScript, as the ballot page does), never shown back."""
    tender = _load(community, tender_id)
    s = db.session()
    seat = seats.seat_of(s, tender, current_user)
    errors = {}
    if request.method == "POST":
        try:
            seats.submit_sheet(s, actor=current_user, now=utcnow(), tender=tender,
                               sealed_b64=request.form.get("sealed", "").strip())
        except DomainError as err:
            if err.status != 422:
                raise
            errors["scores"] = err.message
        else:
            flash(_("Your sheet is sealed. Nobody can read it before every active evaluator "
                    "has submitted theirs."), "success")
            return _back(tender, "tenders.sheet")
    sealed = None
    if seat is not None:
        sealed = next((x for x in seats.sheets_of(s, tender) if x.seat_id == seat.id), None)
    blockers = seats.sheet_blockers(s, tender) if tender.status is TenderStatus.OPENED else ()
    return render_template(
        "tenders/sheet.html", community=community, tender=tender, seat=seat, sealed=sealed,
        errors=errors, blockers=blockers, rules=services.rules_of(tender),
        box=services.box_name(tender, KeyPurpose.SHEETS),
        bids=[b for b in (tender.opening_record or {}).get("record", {}).get("bids", [])
              if b["problem"] is None]), (422 if errors else 200)


@bp.route(f"{ONE}/report")
@requires(Permission.TENDERS_READ)
def report(community, tender_id: int):
    """The evaluation report: every sheet, the dropped scores, sums and ranking — only once
    every sheet is in and opened."""
    tender = _load(community, tender_id)
    seat = seats.seat_of(db.session(), tender, current_user)
    can_sign = (seat is not None and seat.report_signed_at is None
                and tender.status in (TenderStatus.EVALUATED, TenderStatus.PUBLICISED,
                                      TenderStatus.FINAL)
                and seat.code in seats.panel_state(tender).active)
    return render_template("tenders/report.html", community=community, tender=tender,
                           can_sign=can_sign, **_report_context(tender),
                           manage=can(current_user, Permission.TENDERS_MANAGE, community))


def _report_context(tender: Tender) -> dict:
    result = (tender.evaluation or {}).get("record", {}).get("result")
    bids = {b["bid_id"]: b for b in
            (tender.opening_record or {}).get("record", {}).get("bids", [])}
    shortlist = [bids[b]["company"] for b in (result or {}).get("shortlist", []) if b in bids]
    active = seats.panel_state(tender).active if result else ()
    return {"result": result, "bids": bids, "shortlist": shortlist, "labels": STATUS_LABELS,
            "evaluators": [s for s in tender.panel if s.code in active],
            "signatures": (tender.evaluation or {}).get("signatures", [])}


def _pdf(template: str, tender: Tender, filename: str, **context):
    tz = ZoneInfo(tender.community.timezone or "Asia/Shanghai")
    pdf = render_pdf(template, community=tender.community, tender=tender,
                     local=lambda value: value.astimezone(tz).strftime("%Y年%m月%d日 %H:%M"),
                     signed_on=(tender.published_at or tender.created_at).astimezone(tz)
                     .strftime("%Y年%m月%d日"), **context)
    response = make_response(pdf)
    response.headers["Content-Type"] = PDF_MIMETYPE
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.route(f"{ONE}/tender.pdf")
@requires(Permission.PUBLIC)
def file_pdf(community, tender_id: int):
    """The tender notice and file on paper."""
    tender = _load(community, tender_id)
    if tender.status is TenderStatus.DRAFT:
        raise Conflict(_("A draft has no notice yet: publish it first."))
    return _pdf("pdf/tender_notice.html", tender, f"tender-{tender.id}.pdf",
                rules=services.rules_of(tender))


@bp.route(f"{ONE}/report.pdf")
@requires(Permission.TENDERS_READ)
def report_pdf(community, tender_id: int):
    """The evaluation report on paper, once the sheets are open."""
    tender = _load(community, tender_id)
    context = _report_context(tender)
    if context["result"] is None:
        raise Conflict(_("No score exists to show: the sheets open together once every active "
                         "evaluator has submitted, and the committee has brought its shares."))
    return _pdf("pdf/tender_report.html", tender, f"tender-{tender.id}-report.pdf", **context)


@bp.route(f"{ONE}/ties", methods=["POST"])
@requires(Permission.TENDERS_MANAGE)
def resolve_tie(community, tender_id: int):
    tender = _load(community, tender_id)
    order = [b.strip() for b in request.form.get("order", "").split(",") if b.strip()]
    boxes.resolve_tie(db.session(), actor=current_user, now=utcnow(), tender=tender,
                         order=order, reason=request.form.get("reason", ""))
    flash(_("The committee's order is recorded and the evaluation recomputed."), "success")
    return _back(tender, "tenders.report")


@bp.route(f"{ONE}/report/sign", methods=["POST"])
@requires(Permission.TENDER_EVALUATE)
def sign_report(community, tender_id: int):
    tender = _load(community, tender_id)
    seats.sign_report(db.session(), actor=current_user, now=utcnow(), tender=tender,
                      passphrase=request.form.get("passphrase", ""))
    flash(_("You have signed the evaluation report with your own key."), "success")
    return _back(tender, "tenders.report")


@bp.route(f"{ONE}/bundle.json")
@requires(Permission.TENDERS_READ)
def bundle(community, tender_id: int):
    """The audit bundle, checked offline with ``python -m tenders.verify``."""
    tender = _load(community, tender_id)
    response = jsonify(decision.tender_bundle(db.session(), tender))
    response.headers["Content-Disposition"] = (
        f'attachment; filename="tender-{tender.box_id}.json"')
    return response


# -- the candidates' publication, objections, award, final -----------------------------------


@bp.route(f"{ONE}/to-meeting", methods=["POST"])
@requires(Permission.TENDERS_MANAGE)
def to_meeting(community, tender_id: int):
    tender = _load(community, tender_id)
    meeting = decision.shortlist_to_meeting(db.session(), actor=current_user, now=utcnow(),
                                            tender=tender)
    flash(_("A draft owners' meeting holds the shortlist as its motion: check the dates and "
            "publish it."), "success")
    return redirect(url_for("meetings.detail", community_id=community.id, meeting_id=meeting.id))


@bp.route(f"{ONE}/shortlist-motion", methods=["POST"])
@requires(Permission.TENDERS_MANAGE)
def shortlist_motion(community, tender_id: int):
    """Cite the owners' adopted motion on the shortlist when another meeting decided it."""
    tender = _load(community, tender_id)
    try:
        motion_id = int(request.form.get("motion_id", ""))
    except ValueError as exc:
        raise DomainError(_("Choose a motion."), field="motion_id") from exc
    decision.link_shortlist_motion(db.session(), actor=current_user, now=utcnow(),
                                   tender=tender, motion_id=motion_id)
    flash(_("The owners' motion on the shortlist is cited."), "success")
    return _back(tender)


@bp.route(f"{ONE}/candidates", methods=["POST"])
@requires(Permission.TENDERS_MANAGE)
def publish_candidates(community, tender_id: int):
    tender = _load(community, tender_id)
    decision.publish_candidates(db.session(), actor=current_user, now=utcnow(), tender=tender)
    flash(_("The candidates are published: objections are taken for 3 days, complaints for "
            "10."), "success")
    return _back(tender)


@bp.route(f"{ONE}/objections", methods=["POST"])
@requires(Permission.ACCOUNT)
def objection(community, tender_id: int):
    """An owner of the community or a bidder of the tender objects, or complains."""
    tender = _load(community, tender_id)
    s = db.session()
    if services.bidder_of(s, tender, current_user) is None and not can(
            current_user, Permission.MEETING_OBJECT, community):
        abort(403)
    decision.raise_objection(s, actor=current_user, now=utcnow(), tender=tender,
                             text=request.form.get("text", ""))
    flash(_("Your objection is recorded; the committee answers it on the record."), "success")
    return _back(tender)


@bp.route(f"{ONE}/objections/<int:objection_id>/answer", methods=["POST"])
@requires(Permission.TENDERS_MANAGE)
def answer(community, tender_id: int, objection_id: int):
    tender = _load(community, tender_id)
    s = db.session()
    found = s.get(TenderObjection, objection_id)
    if found is None or found.tender_id != tender.id:
        abort(404)
    decision.answer_objection(s, actor=current_user, now=utcnow(), tender=tender,
                              objection=found, answer=request.form.get("answer", ""))
    flash(_("Answer recorded."), "success")
    return _back(tender)


@bp.route(f"{ONE}/award", methods=["POST"])
@requires(Permission.TENDERS_MANAGE)
def award(community, tender_id: int):
    tender = _load(community, tender_id)
    decision.record_award(db.session(), actor=current_user, now=utcnow(), tender=tender,
                          bid_id=request.form.get("bid_id", ""),
                          note=request.form.get("note", ""))
    flash(_("The negotiation and the award are recorded."), "success")
    return _back(tender)


@bp.route(f"{ONE}/final", methods=["POST"])
@requires(Permission.TENDERS_MANAGE)
def final(community, tender_id: int):
    tender = _load(community, tender_id)
    decision.make_final(db.session(), actor=current_user, now=utcnow(), tender=tender)
    flash(_("The award is final."), "success")
    return _back(tender)
