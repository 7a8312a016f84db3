"""Pages of a meeting's vote: key ceremony, ballot, board, proxies, paper entry, turnout,
close, opening, announcement, objections and the audit bundle."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
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
from sqlalchemy import select

from .. import db
from ..errors import DomainError
from ..keyshares import default_k, held_ceremony
from ..models import (
    Community,
    Meeting,
    MeetingStatus,
    Objection,
    Person,
    Proxy,
    User,
    utcnow,
)
from ..pdf import PDF_MIMETYPE, render_pdf
from ..policy import Permission, can, requires
from . import chainer, opening, proxies, services, turnout, voting
from .views import _load

bp = Blueprint("voting", __name__)
BASE = "/c/<int:community_id>/meetings/<int:meeting_id>"


def _back(community: Community, meeting: Meeting, endpoint: str = "meetings.detail", **args):
    return redirect(url_for(endpoint, community_id=community.id, meeting_id=meeting.id, **args))


def _box_or_none(meeting: Meeting):
    return voting.box_of(db.session(), meeting)


# -- ceremony -----------------------------------------------------------------------------------


@bp.route(f"{BASE}/ceremony", methods=["GET", "POST"])
@requires(Permission.BALLOT_CEREMONY)
def ceremony(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    s, now = db.session(), utcnow()
    scrutineers = voting.scrutineers_of(s, community)
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = held_ceremony(request.form, scrutineers, lambda passphrases, k: (
            voting.hold_ceremony(s, actor=current_user, now=now, meeting=meeting, k=k,
                                 passphrases=passphrases)))
        if not errors:
            flash(_("Key ceremony held: each scrutineer can now download their share."),
                  "success")
            return _back(community, meeting, "voting.my_share")
    return render_template(
        "meetings/ceremony.html", community=community, meeting=meeting,
        scrutineers=scrutineers, errors=errors, box=_box_or_none(meeting),
        blockers=voting.ceremony_blockers(s, meeting, now),
        default_k=default_k(len(scrutineers)),
    ), (422 if errors else 200)


@bp.route(f"{BASE}/my-share")
@requires(Permission.BALLOT_OPEN)
def my_share(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    box = _box_or_none(meeting)
    key = opening.key_of(db.session(), box, current_user) if box else None
    if request.args.get("download") and key is not None:
        response = make_response(key.protected_share + "\n")
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        response.headers["Content-Disposition"] = (
            f'attachment; filename="share-{box.box_id}-{key.share_number}.txt"')
        return response
    from ..qr import qr_svg

    return render_template("meetings/share.html", community=community, meeting=meeting,
                           box=box, key=key, qr=qr_svg(key.protected_share) if key else None)


# -- casting ----------------------------------------------------------------------------------


@bp.get(f"{BASE}/ballot")
@requires(Permission.VOTE_CAST)
def ballot(community, meeting_id: int):
    s, now = db.session(), utcnow()
    meeting = _load(community, meeting_id)
    proxy = _held_proxy(meeting.id)
    box = _box_or_none(meeting)
    voter = voting.voter_of_user(s, box, current_user) if box else None
    first = voting.ballot_of(s, box, voter) if voter else None
    held = list(proxies.active_proxies(s, meeting, holder=current_user))
    return render_template(
        "meetings/ballot.html", community=community, meeting=meeting, box=box, voter=voter,
        first=first, refusal=voting.refusal_to_vote(meeting, box, now), proxy=proxy,
        proxy_owner=s.get(Person, proxy.owner_person_id) if proxy else None, held=held,
        first_message=voting.already_cast_message(first) if first else "",
    )


@bp.post(f"{BASE}/ballot")
@requires(Permission.VOTE_CAST, read=voting.CAST_READ)
def cast(community, meeting_id: int, read: voting.CastTarget | None):
    """Cast the posted ballot: the meeting, its box and the voter are read with the community
    and the roles, in one statement; the ballot is received with one insert."""
    s, now, target = db.session(), utcnow(), read
    # None: no such meeting in this community (the read joins the meeting to it).
    if target is None or (target.status is MeetingStatus.DRAFT
                          and not can(current_user, Permission.MEETINGS_MANAGE, community)):
        abort(404)  # as the meeting's pages answer
    g.community = community
    proxy = _held_proxy(meeting_id)
    if request.form.get("sealed"):
        receipt = voting.cast_online(
            s, actor=current_user, now=now, meeting_id=meeting_id, target=target,
            sealed_b64=request.form["sealed"], credential_b64=request.form.get("credential", ""),
            signature_b64=request.form.get("signature", ""), on_behalf_of=proxy)
    else:
        if not request.form.get("final"):
            raise DomainError(_("Tick the box to confirm that you understand a cast ballot "
                                "is final."), field="final")
        raw = {k[len("choice-"):]: v for k, v in request.form.items()
               if k.startswith("choice-")}
        receipt = voting.cast_plain(s, actor=current_user, now=now, meeting_id=meeting_id,
                                    target=target, raw_choices=raw, on_behalf_of=proxy)
    # The board says so (no flash: a cast writes no session cookie).
    return redirect(url_for("voting.board", community_id=community.id, meeting_id=meeting_id,
                            cast=1, code=receipt.tracking_code))


def _held_proxy(meeting_id: int) -> Proxy | None:
    """The proxy of the request's ``proxy`` argument, which the user must hold (else 404)."""
    if not request.values.get("proxy"):
        return None
    proxy = db.session().get(Proxy, _int(request.values.get("proxy")))
    if proxy is None or proxy.holder_id != current_user.id or proxy.meeting_id != meeting_id:
        abort(404)
    return proxy


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        abort(404)


@bp.route(f"{BASE}/board")
@requires(Permission.MEETINGS_READ)
def board(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    s = db.session()
    box = _box_or_none(meeting)
    code = request.args.get("code", "").strip()
    found = voting.lookup_receipt(s, box, code) if (box and code) else None
    entries = voting.board_entries(s, box) if box else []
    waiting = voting.pending_count(s, box) if box else 0
    if waiting and chainer.chains_after_commit():
        chainer.after_commit(s, box.id)  # left by a stopped worker: chain them now
    heads = []
    if box:
        from ..models import BoardHead

        heads = list(s.scalars(select(BoardHead).where(BoardHead.box_id == box.id)
                               .order_by(BoardHead.seq)))
    from ..signing import site_key_fingerprint, site_public_key

    return render_template("meetings/board.html", community=community, meeting=meeting,
                           box=box, entries=entries, heads=heads, code=code, found=found,
                           waiting=waiting, just_cast=request.args.get("cast") == "1",
                           site_key=site_public_key(), site_fp=site_key_fingerprint())


# -- proxies ----------------------------------------------------------------------------------


@bp.route(f"{BASE}/proxies", methods=["GET", "POST"])
@requires(Permission.VOTE_CAST)
def my_proxy(community, meeting_id: int):
    """An owner names (or revokes) their own proxy."""
    meeting = _load(community, meeting_id)
    s, now = db.session(), utcnow()
    persons = list(voting.persons_of(s, current_user, community))
    if request.method == "POST":
        holder = _find_account(s, request.form.get("holder", ""), community)
        if not persons:
            raise DomainError(_("You own no unit in this community."))
        proxies.name_proxy(s, actor=current_user, now=now, meeting=meeting, owner=persons[0],
                           holder=holder, instructions=request.form.get("instructions", ""))
        flash(_("Proxy named."), "success")
        return _back(community, meeting, "voting.my_proxy")
    mine = [p for person in persons for p in proxies.active_proxies(s, meeting, owner=person)]
    return render_template("meetings/proxies.html", community=community, meeting=meeting,
                           mine=mine, held=proxies.active_proxies(s, meeting, holder=current_user),
                           cap=proxies.proxy_cap(meeting), office=False, users=_users(s, mine))


@bp.route(f"{BASE}/proxies/office", methods=["GET", "POST"])
@requires(Permission.PROXY_MANAGE)
def office_proxies(community, meeting_id: int):
    """Staff record a proxy from a signed paper authorisation, with its scan."""
    meeting = _load(community, meeting_id)
    s, now = db.session(), utcnow()
    if request.method == "POST":
        owner = _owner_of_unit(s, community, request.form.get("unit", ""))
        holder = _find_account(s, request.form.get("holder", ""), community)
        scan = request.files.get("scan")
        if scan is None or not scan.filename:
            raise DomainError(_("Attach the scan of the signed authorisation."), field="scan")
        path = _keep_scan(meeting, scan)
        proxies.name_proxy(s, actor=current_user, now=now, meeting=meeting, owner=owner,
                           holder=holder, instructions=request.form.get("instructions", ""),
                           scan_path=path)
        flash(_("Proxy recorded from the paper authorisation."), "success")
        return _back(community, meeting, "voting.office_proxies")
    rows = list(s.scalars(select(Proxy).where(Proxy.meeting_id == meeting.id).order_by(Proxy.id)))
    return render_template("meetings/proxies.html", community=community, meeting=meeting,
                           mine=rows, held=[], cap=proxies.proxy_cap(meeting), office=True,
                           users=_users(s, rows))


@bp.route(f"{BASE}/proxies/<int:proxy_id>/revoke", methods=["POST"])
@requires(Permission.VOTE_CAST)
def revoke_proxy(community, meeting_id: int, proxy_id: int):
    meeting = _load(community, meeting_id)
    s = db.session()
    proxy = s.get(Proxy, proxy_id)
    if proxy is None or proxy.meeting_id != meeting.id:
        abort(404)
    owner = s.get(Person, proxy.owner_person_id)
    if owner.user_id != current_user.id and not can(current_user, Permission.PROXY_MANAGE,
                                                    community):
        abort(403)
    proxies.revoke_proxy(s, actor=current_user, now=utcnow(), proxy=proxy)
    flash(_("Proxy revoked."), "success")
    return _back(community, meeting, "voting.my_proxy")


def _users(s, rows) -> dict[int, User]:
    ids = {p.holder_id for p in rows}
    persons = {p.owner_person_id for p in rows}
    found = {u.id: u for u in s.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    found.update({-p.id: p for p in s.scalars(select(Person).where(Person.id.in_(persons)))}
                 if persons else {})
    return found


def _find_account(s, login: str, community: Community) -> User:
    login = login.strip()
    user = s.scalar(select(User).where((User.username == login) | (User.phone == login)))
    if user is None or not (set(voting.persons_of(s, user, community))):
        raise DomainError(_("No account of this community has that phone number or login."),
                          field="holder")
    return user


def _owner_of_unit(s, community: Community, label: str) -> Person:
    from ..models import Building, Ownership, Unit

    building, _sep, number = label.strip().rpartition(" ")
    unit = s.scalar(select(Unit).join(Building).where(
        Unit.community_id == community.id, Building.name == building.strip(),
        Unit.number == number.strip()))
    if unit is None:
        raise DomainError(_("No unit %(label)s: write the building and the number, e.g. "
                            "“1号楼 1201”.", label=label), field="unit")
    owner = s.scalar(select(Person).join(Ownership).where(Ownership.unit_id == unit.id,
                                                          Ownership.ended_at.is_(None)))
    if owner is None:
        raise DomainError(_("Unit %(label)s has no owner in the register.", label=label),
                          field="unit")
    return owner


SCAN_TYPES = {b"%PDF": ".pdf", b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg"}


def _keep_scan(meeting: Meeting, upload) -> str:
    """Keep a scanned form under instance/ (PDF, PNG or JPEG, checked by content)."""
    import secrets

    from ..config import INSTANCE

    data = upload.read()
    suffix = next((ext for magic, ext in SCAN_TYPES.items() if data.startswith(magic)), None)
    if suffix is None:
        raise DomainError(_("The scan must be a PDF, PNG or JPEG file."), field="scan")
    folder = INSTANCE / "scans" / f"meeting-{meeting.id}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(8)}{suffix}"
    (folder / name).write_bytes(data)
    return f"scans/meeting-{meeting.id}/{name}"


# -- paper ballots ----------------------------------------------------------------------------


@bp.route(f"{BASE}/paper", methods=["GET", "POST"])
@requires(Permission.PAPER_ENTER)
def paper(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    s, now = db.session(), utcnow()
    box = _box_or_none(meeting)
    if request.method == "POST":
        if box is None:
            raise DomainError(_("The ballot box is not ready: the key ceremony comes first."))
        owner = _owner_of_unit(s, community, request.form.get("unit", ""))
        voter = voting.voter_of_person(s, box, owner.id)
        if voter is None:
            raise DomainError(_("This unit is not in the register frozen for this meeting."),
                              field="unit")
        scan = request.files.get("scan")
        path = _keep_scan(meeting, scan) if scan is not None and scan.filename else ""
        raw = {k[len("choice-"):]: v for k, v in request.form.items() if k.startswith("choice-")}
        entry, receipt = proxies.enter_paper(s, actor=current_user, now=now, meeting=meeting,
                                             voter=voter, raw_choices=raw, scan_path=path,
                                             form_number=request.form.get("form_number", ""))
        if receipt:
            flash(_("Both entries agree: the ballot is sealed on the board (%(code)s).",
                    code=receipt.tracking_code), "success")
        elif entry.status == "disagrees":
            flash(_("This entry disagrees with the other one: the form is listed for a third "
                    "check."), "warning")
        else:
            flash(_("First entry saved. Another staff member enters the same form."), "success")
        return _back(community, meeting, "voting.paper")
    return render_template(
        "meetings/paper.html", community=community, meeting=meeting, box=box,
        refusal=proxies.paper_blockers(meeting, box, now),
        disagreements=proxies.disagreements(s, box) if box else [],
        counts=proxies.paper_counts(s, box) if box else {},
        unit_labels=lambda voter: proxies.unit_labels(s, voter),
        choice_labels={"agree": _("Agree"), "disagree": _("Disagree"), "abstain": _("Abstain")},
        status_labels={"pending": _("waiting for the second entry"),
                       "accepted": _("entries agree"), "disagrees": _("entries disagree"),
                       "superseded": _("set aside by the third check")},
    )


# -- turnout ----------------------------------------------------------------------------------


@bp.route(f"{BASE}/turnout")
@requires(Permission.TURNOUT_READ)
def turnout_page(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    s = db.session()
    box = _box_or_none(meeting)
    figures = turnout.turnout(s, box) if box else None
    points = turnout.series(s, box, figures) if box else []
    tz = ZoneInfo(community.timezone or "Asia/Shanghai")
    return render_template(
        "meetings/turnout.html", community=community, meeting=meeting, box=box,
        figures=figures, points=points, missing=turnout.not_voted(s, box) if box else [],
        point_labels=[at.astimezone(tz).strftime("%m-%d %H:%M") for at, *_rest in points],
    )


@bp.route(f"{BASE}/turnout/not-voted.xlsx")
@requires(Permission.TURNOUT_READ)
def not_voted_xlsx(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    box = _box_or_none(meeting)
    if box is None:
        raise DomainError(_("The ballot box is not ready: the key ceremony comes first."))
    data = turnout.not_voted_xlsx(turnout.not_voted(db.session(), box), meeting.title)
    response = make_response(data)
    response.headers["Content-Type"] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="meeting-{meeting.id}-not-voted.xlsx"')
    return response


# -- close, opening, result -------------------------------------------------------------------


@bp.route(f"{BASE}/close", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def close(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    voting.close_voting(db.session(), actor=current_user, now=utcnow(), meeting=meeting)
    flash(_("Voting is closed and the closing head is published. The scrutineers can now "
            "bring their shares."), "success")
    return _back(community, meeting)


@bp.route(f"{BASE}/opening", methods=["GET", "POST"])
@requires(Permission.BALLOT_OPEN)
def opening_page(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    s, now = db.session(), utcnow()
    box = _box_or_none(meeting)
    error = None
    if request.method == "POST":
        try:
            opening.bring_share(s, actor=current_user, now=now, meeting=meeting,
                                share_text=request.form.get("share", ""),
                                passphrase=request.form.get("passphrase", ""))
        except DomainError as err:
            if err.status != 422:
                raise
            error = err.message
        else:
            if box.opened_at:
                flash(_("The ballot box is open and counted; the result is signed."), "success")
                return _back(community, meeting, "voting.result")
            flash(_("Share received."), "success")
            return _back(community, meeting, "voting.opening_page")
    return render_template("meetings/opening.html", community=community, meeting=meeting,
                           box=box, error=error,
                           mine=opening.key_of(s, box, current_user) if box else None,
                           brought=opening.brought_keys(box) if box else []), (
        422 if error else 200)


def _result_visible(community: Community, meeting: Meeting) -> bool:
    if meeting.status in (MeetingStatus.ANNOUNCED, MeetingStatus.FINAL):
        return True
    return meeting.status is MeetingStatus.OPENED and (
        can(current_user, Permission.MEETINGS_MANAGE, community)
        or can(current_user, Permission.BALLOT_OPEN, community))


@bp.route(f"{BASE}/result")
@requires(Permission.MEETINGS_READ)
def result(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    s, now = db.session(), utcnow()
    box = _box_or_none(meeting)
    if box is None or box.result is None or not _result_visible(community, meeting):
        raise DomainError(_("The result is published once the ballots are opened and the "
                            "announcement is made."))
    return render_template(
        "meetings/result.html", community=community, meeting=meeting, box=box,
        res=box.result["record"], labels=services, objections=opening.objections_of(s, meeting),
        due=opening.announce_due(box), now=now,
        final_blockers=opening.final_blockers(s, meeting, now),
        manage=can(current_user, Permission.MEETINGS_MANAGE, community),
        can_object=can(current_user, Permission.MEETING_OBJECT, community),
        motions={f"m{m.position}": m for m in meeting.motions},
        scrutineer_names=opening.scrutineer_names(s, box),
    )


@bp.route(f"{BASE}/announce", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def announce(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    opening.announce(db.session(), actor=current_user, now=utcnow(), meeting=meeting)
    flash(_("The result is announced; objections are open."), "success")
    return _back(community, meeting, "voting.result")


@bp.route(f"{BASE}/announcement.pdf")
@requires(Permission.MEETINGS_READ)
def announcement_pdf(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    box = _box_or_none(meeting)
    if meeting.status not in (MeetingStatus.ANNOUNCED, MeetingStatus.FINAL):
        raise DomainError(_("The announcement is not published yet."))
    tz = ZoneInfo(community.timezone or "Asia/Shanghai")
    pdf = render_pdf(
        "pdf/meeting_result.html", community=community, meeting=meeting, box=box,
        res=box.result["record"], labels=services,
        motions={f"m{m.position}": m for m in meeting.motions},
        scrutineer_names=opening.scrutineer_names(db.session(), box),
        local=lambda value: value.astimezone(tz).strftime("%Y年%m月%d日 %H:%M"),
        signed_on=meeting.announced_at.astimezone(tz).strftime("%Y年%m月%d日"),
        doc_number=f"业主大会公告〔{meeting.announced_at.astimezone(tz).year}〕"
                   f"第{meeting.id}-2号",
        board_url=url_for("voting.board", community_id=community.id, meeting_id=meeting.id,
                          _external=True),
    )
    response = make_response(pdf)
    response.headers["Content-Type"] = PDF_MIMETYPE
    response.headers["Content-Disposition"] = (
        f'inline; filename="meeting-{meeting.id}-announcement.pdf"')
    return response


@bp.route(f"{BASE}/objections", methods=["POST"])
@requires(Permission.MEETING_OBJECT)
def objection(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    opening.raise_objection(db.session(), actor=current_user, now=utcnow(), meeting=meeting,
                            text=request.form.get("text", ""))
    flash(_("Your objection is on the record; the committee answers it there."), "success")
    return _back(community, meeting, "voting.result")


@bp.route(f"{BASE}/objections/<int:objection_id>/answer", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def answer(community, meeting_id: int, objection_id: int):
    meeting = _load(community, meeting_id)
    s = db.session()
    item = s.get(Objection, objection_id)
    if item is None or item.meeting_id != meeting.id or item.election_id is not None:
        abort(404)  # an objection to the meeting's election is answered on the election's page
    opening.answer_objection(s, actor=current_user, now=utcnow(), objection=item,
                             answer=request.form.get("answer", ""))
    flash(_("Answer recorded."), "success")
    return _back(community, meeting, "voting.result")


@bp.route(f"{BASE}/final", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def final(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    opening.make_final(db.session(), actor=current_user, now=utcnow(), meeting=meeting)
    flash(_("The result is final."), "success")
    return _back(community, meeting, "voting.result")


@bp.route(f"{BASE}/bundle.zip")
@requires(Permission.BUNDLE_READ)
def bundle(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    if meeting.status not in (MeetingStatus.ANNOUNCED, MeetingStatus.FINAL) and not can(
            current_user, Permission.MEETINGS_MANAGE, community) and not can(
            current_user, Permission.BALLOT_OPEN, community):
        raise DomainError(_("The audit bundle is published with the announcement."))
    data = opening.meeting_bundle(db.session(), meeting)
    response = make_response(data)
    response.headers["Content-Type"] = "application/zip"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="meeting-{meeting.id}-bundle.zip"')
    return response
