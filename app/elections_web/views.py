"""Pages of a meeting's committee election: setup and nominations, the key ceremony of each
round, the candidate ballot, the board, paper ballots, close, opening, further rounds, the
result and its announcement (page + PDF), objections, final, and each round's audit bundle."""

from __future__ import annotations

import datetime as dt
import re
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
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import db
from ..errors import DomainError
from ..keyshares import default_k, held_ceremony
from ..meetings import opening, voting
from ..meetings.views import _aware, _load
from ..meetings.vote_views import _keep_scan, _owner_of_unit
from ..models import (
    BoardHead,
    Community,
    ElectionStatus,
    Meeting,
    MeetingStatus,
    NominationChannel,
    Objection,
    Proxy,
    TieRule,
    utcnow,
)
from ..pdf import PDF_MIMETYPE, render_pdf
from ..policy import Permission, can, requires
from . import announcement, rounds, services

bp = Blueprint("elections", __name__)

_MORE_BALLOTS = re.compile(r"more ballots \((\d+)\) than voters \((\d+)\)")


@bp.app_template_filter("void_reason")
def void_reason(reason: str) -> str:
    """Why a round is void, in the reader's words (the signed record keeps the English)."""
    if found := _MORE_BALLOTS.fullmatch(reason or ""):
        return _("more ballots (%(ballots)s) than voters (%(voters)s)",
                 ballots=found.group(1), voters=found.group(2))
    if reason == "participation quorum not reached":
        return _("the participation quorum was not reached")
    return reason
BASE = "/c/<int:community_id>/meetings/<int:meeting_id>/election"


@bp.app_context_processor
def _election_of_meeting() -> dict:
    """Meeting pages (notice page and PDF) show the meeting's election and candidate list."""
    return {"election_of_meeting": lambda meeting: services.election_of(db.session(), meeting)}


@bp.app_template_filter("candidate_name")
def _candidate_name(candidate_id: int, election) -> str:
    """The name of a candidate row of ``election`` (for lists of ids in a round)."""
    return next((c.person.name for c in election.candidates if c.id == candidate_id), "?")


def _load_open_to_nomination(community: Community, meeting_id: int) -> Meeting:
    """A meeting whose election takes nominations is visible to owners while still a draft:
    the call for candidates comes before the notice that publishes them."""
    meeting = db.session().get(Meeting, meeting_id)
    if (meeting is not None and meeting.community_id == community.id
            and meeting.status is MeetingStatus.DRAFT
            and services.election_of(db.session(), meeting) is not None
            and can(current_user, Permission.VOTE_CAST, community)):
        g.community = community
        return meeting
    return _load(community, meeting_id)


def _election(community: Community, meeting_id: int, *, nominating: bool = False):
    meeting = (_load_open_to_nomination if nominating else _load)(community, meeting_id)
    election = services.election_of(db.session(), meeting)
    if election is None:
        abort(404)
    return meeting, election


def _back(community: Community, meeting: Meeting, endpoint: str = "elections.page", **args):
    return redirect(url_for(endpoint, community_id=community.id, meeting_id=meeting.id, **args))


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(_("Give a whole number."), field=field) from None


def _context(community, meeting, election, **extra) -> dict:
    s = db.session()
    rnd = rounds.latest_round(election)
    return {"community": community, "meeting": meeting, "election": election,
            "labels": services, "round": rnd, "box": rounds.round_box(s, rnd),
            "state": rounds.standing(s, election), **extra}


# -- setup and nominations -----------------------------------------------------------------------


@bp.route(BASE)
@requires(Permission.MEETINGS_READ)
def page(community, meeting_id: int):
    meeting = _load_open_to_nomination(community, meeting_id)
    s, now = db.session(), utcnow()
    election = services.election_of(s, meeting)
    manage = can(current_user, Permission.MEETINGS_MANAGE, community)
    if election is None:
        if not manage:
            abort(404)
        return render_template("elections/setup.html", community=community, meeting=meeting,
                               labels=services, election=None)
    results = [(r, rounds.round_result(s, r)) for r in election.rounds]
    return render_template(
        "elections/election.html", **_context(community, meeting, election), manage=manage,
        now=now, results=results, draft=meeting.status is MeetingStatus.DRAFT,
        ceremony_blockers=rounds.ceremony_blockers(s, election, now),
        by_ballot={c.ballot_id: c for c in election.candidates},
    )


@bp.route(f"{BASE}/setup", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def setup(community, meeting_id: int):
    meeting = _load(community, meeting_id)
    s, now, form = db.session(), utcnow(), request.form
    args = {"seats": _int(form.get("seats", services.DEFAULT_SEATS), "seats"),
            "vice_chairs": _int(form.get("vice_chairs", 2), "vice_chairs"),
            "term_years": _int(form.get("term_years", services.DEFAULT_TERM_YEARS),
                               "term_years")}
    try:
        args["tie_rule"] = TieRule(form.get("tie_rule", TieRule.RUNOFF.value))
    except ValueError:
        raise DomainError(_("Choose how a tie is settled."), field="tie_rule") from None
    election = services.election_of(s, meeting)
    if election is None:
        services.create_election(s, actor=current_user, now=now, meeting=meeting, **args)
        flash(_("The committee election is on the agenda."), "success")
    else:
        services.update_election(s, actor=current_user, now=now, election=election, **args)
        flash(_("Election saved."), "success")
    return _back(community, meeting)


PHOTO_TYPES = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg"}


def _photo(meeting: Meeting) -> str:
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return ""
    head = upload.stream.read(4)
    upload.stream.seek(0)
    if not any(head.startswith(magic) for magic in PHOTO_TYPES):
        raise DomainError(_("The photo must be a PNG or JPEG file."), field="photo")
    return _keep_scan(meeting, upload)


def _owners(community: Community, text: str):
    lines = [line.strip() for line in (text or "").replace("，", "\n").splitlines()]
    return [_owner_of_unit(db.session(), community, line) for line in lines if line]


@bp.route(f"{BASE}/nominate", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def nominate(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    form = request.form
    try:
        channel = NominationChannel(form.get("channel", ""))
    except ValueError:
        raise DomainError(_("Choose the nomination channel."), field="channel") from None
    person = _owner_of_unit(db.session(), community, form.get("unit", ""))
    services.nominate(db.session(), actor=current_user, now=utcnow(), election=election,
                      person=person, channel=channel,
                      nominators=_owners(community, form.get("nominators", "")),
                      consent=bool(form.get("consent")), statement=form.get("statement", ""),
                      photo_path=_photo(meeting))
    flash(_("%(name)s is on the candidate list.", name=person.name), "success")
    return _back(community, meeting)


@bp.route(f"{BASE}/self-nominate", methods=["POST"])
@requires(Permission.VOTE_CAST)
def self_nominate(community, meeting_id: int):
    meeting, election = _election(community, meeting_id, nominating=True)
    candidate = services.self_nominate(
        db.session(), actor=current_user, now=utcnow(), election=election,
        statement=request.form.get("statement", ""), consent=bool(request.form.get("consent")),
        photo_path=_photo(meeting))
    flash(_("%(name)s is on the candidate list.", name=candidate.person.name), "success")
    return _back(community, meeting)


@bp.route(f"{BASE}/candidates/<int:candidate_id>/withdraw", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def withdraw(community, meeting_id: int, candidate_id: int):
    meeting, election = _election(community, meeting_id)
    candidate = next((c for c in election.candidates if c.id == candidate_id), None)
    if candidate is None:
        abort(404)
    services.withdraw(db.session(), actor=current_user, now=utcnow(), candidate=candidate)
    flash(_("Candidate taken off the list."), "success")
    return _back(community, meeting)


@bp.route(f"{BASE}/candidates/<int:candidate_id>/photo")
@requires(Permission.MEETINGS_READ)
def photo(community, meeting_id: int, candidate_id: int):
    _meeting, election = _election(community, meeting_id)
    candidate = next((c for c in election.candidates if c.id == candidate_id), None)
    if candidate is None or not candidate.photo_path:
        abort(404)
    from ..config import INSTANCE

    return send_file(INSTANCE / candidate.photo_path)


@bp.route(f"{BASE}/disqualify", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def disqualify(community, meeting_id: int):
    meeting, _election_row = _election(community, meeting_id)
    person = _owner_of_unit(db.session(), community, request.form.get("unit", ""))
    services.disqualify(db.session(), actor=current_user, now=utcnow(), person=person,
                        reason=request.form.get("reason", ""))
    flash(_("%(name)s is recorded as not eligible to stand.", name=person.name), "success")
    return _back(community, meeting)


# -- ceremony, ballot, board, paper --------------------------------------------------------------


@bp.route(f"{BASE}/ceremony", methods=["GET", "POST"])
@requires(Permission.BALLOT_CEREMONY)
def ceremony(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    s, now = db.session(), utcnow()
    scrutineers = voting.scrutineers_of(s, community)
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = held_ceremony(request.form, scrutineers, lambda passphrases, k: (
            rounds.hold_ceremony(s, actor=current_user, now=now, election=election, k=k,
                                 passphrases=passphrases)))
        if not errors:
            flash(_("Key ceremony held: each scrutineer keeps their share of this round's "
                    "box."), "success")
            return _back(community, meeting)
    return render_template(
        "elections/ceremony.html", **_context(community, meeting, election),
        scrutineers=scrutineers, errors=errors,
        blockers=rounds.ceremony_blockers(s, election, now),
        default_k=default_k(len(scrutineers)),
    ), (422 if errors else 200)


def _proxy(meeting: Meeting) -> Proxy | None:
    if not request.values.get("proxy"):
        return None
    try:
        proxy = db.session().get(Proxy, int(request.values["proxy"]))
    except ValueError:
        abort(404)
    if proxy is None or proxy.holder_id != current_user.id or proxy.meeting_id != meeting.id:
        abort(404)
    return proxy


@bp.route(f"{BASE}/ballot", methods=["GET", "POST"])
@requires(Permission.VOTE_CAST)
def ballot(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    s, now = db.session(), utcnow()
    proxy = _proxy(meeting)
    if request.method == "POST":
        if request.form.get("sealed"):
            receipt = rounds.cast_online(
                s, actor=current_user, now=now, election=election,
                sealed_b64=request.form["sealed"],
                credential_b64=request.form.get("credential", ""),
                signature_b64=request.form.get("signature", ""), on_behalf_of=proxy)
        else:
            if not request.form.get("final"):
                raise DomainError(_("Tick the box to confirm that you understand a cast ballot "
                                    "is final."), field="final")
            receipt = rounds.cast_plain(s, actor=current_user, now=now, election=election,
                                        selected=request.form.getlist("selected"),
                                        on_behalf_of=proxy)
        flash(_("Your ballot is cast and sealed. Keep your receipt: %(code)s.",
                code=receipt.tracking_code), "success")
        return _back(community, meeting, "elections.board", code=receipt.tracking_code)
    ctx = _context(community, meeting, election)
    box = ctx["box"]
    voter = voting.voter_of_user(s, box, current_user) if box else None
    first = voting.ballot_of(s, box, voter) if voter else None
    return render_template(
        "elections/ballot.html", **ctx, voter=voter, first=first, proxy=proxy,
        refusal=rounds.refusal_to_vote(election, ctx["round"], box, now),
        first_message=voting.already_cast_message(first) if first else "",
        by_ballot={c.ballot_id: c for c in election.candidates},
    )


@bp.route(f"{BASE}/board")
@requires(Permission.MEETINGS_READ)
def board(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    s = db.session()
    ctx = _context(community, meeting, election)
    box = ctx["box"]
    code = request.args.get("code", "").strip()
    found = voting.lookup_receipt(s, box, code) if (box and code) else None
    heads = list(s.scalars(select(BoardHead).where(BoardHead.box_id == box.id)
                           .order_by(BoardHead.seq))) if box else []
    return render_template("elections/board.html", **ctx, code=code, found=found, heads=heads,
                           entries=voting.board_entries(s, box) if box else [])


@bp.route(f"{BASE}/paper", methods=["GET", "POST"])
@requires(Permission.PAPER_ENTER)
def paper(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    s, now = db.session(), utcnow()
    ctx = _context(community, meeting, election)
    box = ctx["box"]
    if request.method == "POST":
        if box is None:
            raise DomainError(_("The ballot box is not ready: the key ceremony comes first."))
        owner = _owner_of_unit(s, community, request.form.get("unit", ""))
        voter = voting.voter_of_person(s, box, owner.id)
        if voter is None:
            raise DomainError(_("This unit is not in the register frozen for this meeting."),
                              field="unit")
        entry, receipt = rounds.enter_paper(
            s, actor=current_user, now=now, election=election, voter=voter,
            selected=request.form.getlist("selected"),
            unreadable=bool(request.form.get("unreadable")),
            form_number=request.form.get("form_number", ""))
        verdict = rounds.paper_verdict(box, entry.choices)
        if receipt:
            flash(_("Both entries agree: the ballot is sealed on the board (%(code)s).",
                    code=receipt.tracking_code) + (f" {verdict}" if verdict else ""), "success")
        elif entry.status == "disagrees":
            flash(_("This entry disagrees with the other one: the form is listed for a third "
                    "check."), "warning")
        else:
            flash(_("First entry saved. Another staff member enters the same form."), "success")
        return _back(community, meeting, "elections.paper")
    return render_template("elections/paper.html", **ctx,
                           entries=rounds.paper_entries(s, box) if box else [],
                           verdict=lambda e: rounds.paper_verdict(box, e.choices))


# -- close, opening, further rounds --------------------------------------------------------------


@bp.route(f"{BASE}/close", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def close(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    raw = request.form.get("voters_signed_in", "").strip()
    rounds.close_round(db.session(), actor=current_user, now=utcnow(), election=election,
                       voters_signed_in=_int(raw, "voters_signed_in") if raw else None)
    flash(_("The round is closed and its closing head published. The scrutineers can now "
            "bring their shares."), "success")
    return _back(community, meeting)


@bp.route(f"{BASE}/opening", methods=["GET", "POST"])
@requires(Permission.BALLOT_OPEN)
def opening_page(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    s, now = db.session(), utcnow()
    ctx = _context(community, meeting, election)
    box, error = ctx["box"], None
    if request.method == "POST":
        try:
            rounds.bring_share(s, actor=current_user, now=now, election=election,
                               share_text=request.form.get("share", ""),
                               passphrase=request.form.get("passphrase", ""))
        except DomainError as err:
            if err.status != 422:
                raise
            error = err.message
        else:
            if box.opened_at:
                flash(_("The round's ballot box is open and counted; the count is signed."),
                      "success")
                return _back(community, meeting)
            flash(_("Share received."), "success")
            return _back(community, meeting, "elections.opening_page")
    return render_template("elections/opening.html", **ctx, error=error,
                           mine=opening.key_of(s, box, current_user) if box else None,
                           brought=opening.brought_keys(box) if box else []), (
        422 if error else 200)


@bp.route(f"{BASE}/rounds", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def start_round(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    now = utcnow()
    try:
        closes = _aware(dt.datetime.fromisoformat(request.form.get("closes_at", "")), community)
    except ValueError:
        raise DomainError(_("Give the date and time the round closes."),
                          field="closes_at") from None
    rnd = rounds.start_round(db.session(), actor=current_user, now=now, election=election,
                             opens_at=now, closes_at=closes, note=request.form.get("note", ""))
    flash(_("Round %(n)s is prepared: the scrutineers hold its key ceremony.", n=rnd.number),
          "success")
    return _back(community, meeting, "elections.ceremony")


@bp.route(f"{BASE}/decide", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def decide(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    chosen = [_int(v, "chosen") for v in request.form.getlist("chosen")]
    rounds.decide_tie(db.session(), actor=current_user, now=utcnow(), election=election,
                      chosen=chosen, note=request.form.get("note", ""))
    flash(_("The elected members' decision is recorded."), "success")
    return _back(community, meeting)


@bp.route(f"{BASE}/rounds/<int:number>/bundle.zip")
@requires(Permission.BUNDLE_READ)
def bundle(community, meeting_id: int, number: int):
    meeting, election = _election(community, meeting_id)
    rnd = next((r for r in election.rounds if r.number == number), None)
    if rnd is None:
        abort(404)
    data = opening.box_bundle(db.session(), rounds.round_box(db.session(), rnd))
    response = make_response(data)
    response.headers["Content-Type"] = "application/zip"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="meeting-{meeting.id}-election-r{number}-bundle.zip"')
    return response


def _signers(election) -> dict[int, list[str]]:
    """Per counted round, the scrutineers whose shares opened the box and signed its count."""
    s, found = db.session(), {}
    for rnd in election.rounds:
        box = rounds.round_box(s, rnd)
        if box is not None and box.result is not None:
            names = opening.scrutineer_names(s, box)
            found[rnd.number] = [names.get(sid, sid) for sid in box.result["record"]["opened_by"]]
    return found


# -- result, announcement, objections, final -----------------------------------------------------


@bp.route(f"{BASE}/result")
@requires(Permission.MEETINGS_READ)
def result(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    s, now = db.session(), utcnow()
    results = [(r, rounds.round_result(s, r)) for r in election.rounds]
    return render_template(
        "elections/result.html", **_context(community, meeting, election), now=now,
        results=results, elected=announcement.elected_of(election),
        alternates=announcement.alternates_of(election),
        objections=announcement.objections_of(s, election),
        final_blockers=announcement.final_blockers(s, election, now),
        manage=can(current_user, Permission.MEETINGS_MANAGE, community),
        can_object=can(current_user, Permission.MEETING_OBJECT, community),
        by_ballot={c.ballot_id: c for c in election.candidates},
        scrutineers=_signers(election),
    )


@bp.route(f"{BASE}/announce", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def announce(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    announcement.announce(db.session(), actor=current_user, now=utcnow(), election=election)
    flash(_("The elected members are announced; objections are open."), "success")
    return _back(community, meeting, "elections.result")


@bp.route(f"{BASE}/announcement.pdf")
@requires(Permission.MEETINGS_READ)
def announcement_pdf(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    if election.status not in (ElectionStatus.ANNOUNCED, ElectionStatus.FINAL):
        raise DomainError(_("The announcement is not published yet."))
    s = db.session()
    tz = ZoneInfo(community.timezone or "Asia/Shanghai")
    pdf = render_pdf(
        "pdf/election_result.html", community=community, meeting=meeting, election=election,
        elected=announcement.elected_of(election),
        alternates=announcement.alternates_of(election),
        results=[(r, rounds.round_result(s, r)) for r in election.rounds],
        by_ballot={c.ballot_id: c for c in election.candidates},
        scrutineers=_signers(election),
        signed_on=election.announced_at.astimezone(tz).strftime("%Y年%m月%d日"),
        objections_until=election.objections_close_at.astimezone(tz).strftime("%Y年%m月%d日"),
        doc_number=f"业主大会公告〔{election.announced_at.astimezone(tz).year}〕"
                   f"第{meeting.id}-E{election.id}号",
    )
    response = make_response(pdf)
    response.headers["Content-Type"] = PDF_MIMETYPE
    response.headers["Content-Disposition"] = (
        f'inline; filename="meeting-{meeting.id}-election-announcement.pdf"')
    return response


@bp.route(f"{BASE}/objections", methods=["POST"])
@requires(Permission.MEETING_OBJECT)
def objection(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    announcement.raise_objection(db.session(), actor=current_user, now=utcnow(),
                                 election=election, text=request.form.get("text", ""))
    flash(_("Your objection is on the record; the committee answers it there."), "success")
    return _back(community, meeting, "elections.result")


@bp.route(f"{BASE}/objections/<int:objection_id>/answer", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def answer(community, meeting_id: int, objection_id: int):
    meeting, election = _election(community, meeting_id)
    item = db.session().get(Objection, objection_id)
    if item is None or item.election_id != election.id:
        abort(404)
    announcement.answer_objection(db.session(), actor=current_user, now=utcnow(),
                                  election=election, objection=item,
                                  answer=request.form.get("answer", ""))
    flash(_("Answer recorded."), "success")
    return _back(community, meeting, "elections.result")


@bp.route(f"{BASE}/final", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def final(community, meeting_id: int):
    meeting, election = _election(community, meeting_id)
    announcement.make_final(db.session(), actor=current_user, now=utcnow(), election=election)
    flash(_("The election's result is final."), "success")
    return _back(community, meeting, "elections.result")
