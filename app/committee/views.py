"""Pages of the owners' committee: the serving committee and its history, vacancies, the
members' vote for chair and vice-chairs, and owners' recall proposals."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import db
from ..errors import Conflict, DomainError
from ..models import (
    ChairVote,
    Committee,
    CommitteeMember,
    Community,
    MemberRole,
    MemberStatus,
    RecallProposal,
    utcnow,
)
from ..policy import MAX_ID, Permission, can, requires
from . import chair, recall, services

bp = Blueprint("committee", __name__)
BASE = "/c/<int:community_id>/committee"

ROLE_LABELS = {MemberRole.CHAIR: _l("Chair"), MemberRole.VICE_CHAIR: _l("Vice-chair"),
               MemberRole.MEMBER: _l("Member")}
STATUS_LABELS = {MemberStatus.SERVING: _l("Serving"), MemberStatus.RESIGNED: _l("Resigned"),
                 MemberStatus.REMOVED: _l("Removed"), MemberStatus.RECALLED: _l("Recalled"),
                 MemberStatus.DECEASED: _l("Deceased"),
                 MemberStatus.OTHER: _l("Other vacancy")}


def _get(model, object_id: int, community: Community, committee_of=None):
    found = db.session().get(model, object_id) if 0 < object_id <= MAX_ID else None
    owner = committee_of(found) if found is not None and committee_of else found
    if found is None or owner is None or owner.community_id != community.id:
        abort(404)
    return found


def _committee(obj) -> Committee:
    return db.session().get(Committee, obj.committee_id)


def _serving_committee(community: Community) -> Committee:
    committee = services.current_committee(db.session(), community)
    if committee is None:
        raise Conflict(_("This community has no serving committee."))
    return committee


def _page(community: Community, *, errors: dict | None = None, form=None, status: int = 200):
    s = db.session()
    committee = services.current_committee(s, community)
    proposals = [(p, recall.progress(s, p)) for p in recall.proposals_of(s, community)]
    context = {
        "community": community, "committee": committee, "errors": errors or {},
        "form": form or {}, "proposals": proposals, "ROLE_LABELS": ROLE_LABELS,
        "STATUS_LABELS": STATUS_LABELS, "vacancy_statuses": services.VACANCY_STATUSES,
        "office_label": chair.office_label, "today": services.today_in(community, utcnow()),
        "can_vacancy": can(current_user, Permission.COMMITTEE_VACANCY, community),
        "can_recall": can(current_user, Permission.RECALL_SUPPORT, community),
        "queued": recall.queued(s, community),
        "draft_meeting": recall.next_draft_meeting(s, community),
        "can_place": can(current_user, Permission.MEETINGS_MANAGE, community),
    }
    if committee is not None:
        context |= {
            "members": services.serving(committee),
            "former": [m for m in committee.members if not m.serving],
            "waiting": services.waiting_alternates(committee),
            "vacancies": services.vacancies(committee),
            "by_election": services.by_election_needed(committee),
            "me": services.member_of(s, committee, current_user),
            "has_chair": any(m.role is MemberRole.CHAIR for m in services.serving(committee)),
            "open_vote": chair.open_vote_of(s, committee),
            "decided": [v for v in chair.votes_of(s, committee) if v.closed_at],
        }
    return render_template("committee/index.html", **context), status


@bp.route(BASE)
@requires(Permission.COMMITTEE_READ)
def index(community):
    return _page(community)


@bp.route(f"{BASE}/history")
@requires(Permission.COMMITTEE_READ)
def history(community):
    return render_template("committee/history.html", community=community,
                           committees=services.past_committees(db.session(), community),
                           ROLE_LABELS=ROLE_LABELS, STATUS_LABELS=STATUS_LABELS)


@bp.route(f"{BASE}/members/<int:member_id>/vacancy", methods=["POST"])
@requires(Permission.COMMITTEE_VACANCY)
def vacancy(community, member_id: int):
    member = _get(CommitteeMember, member_id, community, _committee)
    form = request.form
    try:
        status = MemberStatus(form.get("status", ""))
    except ValueError:
        status = None
    try:
        on = dt.date.fromisoformat(form.get("on", ""))
    except ValueError:
        return _page(community, form=form, status=422,
                     errors={"vacancy": {member.id: {"on": _("Enter the date as YYYY-MM-DD.")}}})
    try:
        called = services.record_vacancy(
            db.session(), actor=current_user, now=utcnow(), community=community, member=member,
            status=status, reason=form.get("reason", ""), on=on)
    except DomainError as err:
        if not err.field:
            raise
        return _page(community, form=form, status=422,
                     errors={"vacancy": {member.id: {err.field: err.message}}})
    if called is not None:
        flash(_("The vacancy is recorded; %(name)s, the first alternate, is called up.",
                name=called.name), "success")
    else:
        flash(_("The vacancy is recorded. No alternate is left: a by-election is needed."),
              "warning")
    return redirect(url_for("committee.index", community_id=community.id))


@bp.route(f"{BASE}/office-votes", methods=["POST"])
@requires(Permission.COMMITTEE_OFFICE_VOTE)
def open_vote(community):
    vote = chair.open_vote(db.session(), actor=current_user, now=utcnow(),
                           committee=_serving_committee(community),
                           office=request.form.get("office", ""))
    return redirect(url_for("committee.office_vote", community_id=community.id,
                            vote_id=vote.id))


@bp.route(f"{BASE}/office-votes/paper", methods=["POST"])
@requires(Permission.COMMITTEE_OFFICE_VOTE)
def paper(community):
    committee = _serving_committee(community)
    counts, errors = {}, {}
    for member in services.serving(committee):
        text = request.form.get(f"count-{member.id}", "").strip() or "0"
        if not text.isdigit():
            errors["paper"] = _("The count for %(name)s is not a whole number.",
                                name=member.name)
        else:
            counts[member.id] = int(text)
    try:
        if errors:
            raise DomainError(errors["paper"], field="paper")
        winner = chair.record_paper(db.session(), actor=current_user, now=utcnow(),
                                    committee=committee, office=request.form.get("office", ""),
                                    counts=counts)
    except DomainError as err:
        if err.status not in (409, 422):
            raise
        return _page(community, errors={"paper": err.message}, form=request.form,
                     status=err.status)
    flash(_("The paper vote is recorded: %(name)s is chosen.", name=winner.name), "success")
    return redirect(url_for("committee.index", community_id=community.id))


@bp.route(f"{BASE}/office-votes/<int:vote_id>")
@requires(Permission.COMMITTEE_OFFICE_VOTE)
def office_vote(community, vote_id: int):
    s = db.session()
    vote = _get(ChairVote, vote_id, community, _committee)
    committee = _committee(vote)
    me = services.member_of(s, committee, current_user)
    ballots = chair.ballots(s, vote)
    mine = next((b for b in ballots if me and b.voter_id == me.id), None)
    return render_template("committee/vote.html", community=community, vote=vote,
                           committee=committee, members=services.serving(committee), me=me,
                           mine=mine, cast=len(ballots), office_label=chair.office_label,
                           ROLE_LABELS=ROLE_LABELS)


@bp.route(f"{BASE}/office-votes/<int:vote_id>/ballot", methods=["POST"])
@requires(Permission.COMMITTEE_OFFICE_VOTE)
def cast(community, vote_id: int):
    vote = _get(ChairVote, vote_id, community, _committee)
    candidate = request.form.get("candidate", "")
    chair.cast(db.session(), actor=current_user, now=utcnow(), vote=vote,
               candidate_id=int(candidate) if candidate.isdigit() else 0)
    flash(_("Your vote is recorded; you may change it until the vote closes."), "success")
    return redirect(url_for("committee.office_vote", community_id=community.id,
                            vote_id=vote.id))


@bp.route(f"{BASE}/office-votes/<int:vote_id>/close", methods=["POST"])
@requires(Permission.COMMITTEE_OFFICE_VOTE)
def close(community, vote_id: int):
    vote = _get(ChairVote, vote_id, community, _committee)
    winner = chair.close_vote(db.session(), actor=current_user, now=utcnow(), vote=vote)
    flash(_("%(name)s is chosen %(office)s.", name=winner.name,
            office=chair.office_label(vote.office)), "success")
    return redirect(url_for("committee.index", community_id=community.id))


@bp.route(f"{BASE}/office-votes/<int:vote_id>/cancel", methods=["POST"])
@requires(Permission.COMMITTEE_OFFICE_VOTE)
def cancel(community, vote_id: int):
    vote = _get(ChairVote, vote_id, community, _committee)
    chair.cancel_vote(db.session(), actor=current_user, now=utcnow(), vote=vote)
    flash(_("The vote is dropped; a new one can be opened."), "success")
    return redirect(url_for("committee.index", community_id=community.id))


@bp.route(f"{BASE}/office-votes/<int:vote_id>/record.json")
@requires(Permission.COMMITTEE_READ)
def vote_record(community, vote_id: int):
    vote = _get(ChairVote, vote_id, community, _committee)
    if vote.document is None:
        abort(404)
    return jsonify(vote.document)


@bp.route(f"{BASE}/recalls", methods=["POST"])
@requires(Permission.RECALL_SUPPORT)
def propose(community):
    ids = [int(i) for i in request.form.getlist("members") if i.isdigit()]
    try:
        found = recall.open_proposal(db.session(), actor=current_user, now=utcnow(),
                                     community=community, member_ids=ids,
                                     reason=request.form.get("reason", ""))
    except DomainError as err:
        if not err.field:
            raise
        return _page(community, errors={f"recall-{err.field}": err.message}, form=request.form,
                     status=422)
    flash(_("Your recall proposal is open; other owners can now support it."), "success")
    return redirect(url_for("committee.recall_detail", community_id=community.id,
                            proposal_id=found.id))


@bp.route(f"{BASE}/recalls/<int:proposal_id>")
@requires(Permission.COMMITTEE_READ)
def recall_detail(community, proposal_id: int):
    s = db.session()
    proposal = _get(RecallProposal, proposal_id, community)
    return render_template(
        "committee/recall.html", community=community, proposal=proposal,
        progress=recall.progress(s, proposal), names=recall.names(proposal),
        can_support=can(current_user, Permission.RECALL_SUPPORT, community),
        supported=recall.has_supported(s, proposal, current_user),
        draft_meeting=recall.next_draft_meeting(s, community),
        can_place=can(current_user, Permission.MEETINGS_MANAGE, community))


@bp.route(f"{BASE}/recalls/<int:proposal_id>/support", methods=["POST"])
@requires(Permission.RECALL_SUPPORT)
def support(community, proposal_id: int):
    proposal = _get(RecallProposal, proposal_id, community)
    now = recall.support(db.session(), actor=current_user, now=utcnow(), proposal=proposal)
    flash(_("Your support is counted: %(area)s %% of the area.", area=now.area_percent),
          "success")
    return redirect(url_for("committee.recall_detail", community_id=community.id,
                            proposal_id=proposal.id))


@bp.route(f"{BASE}/recalls/<int:proposal_id>/withdraw", methods=["POST"])
@requires(Permission.RECALL_SUPPORT)
def withdraw(community, proposal_id: int):
    proposal = _get(RecallProposal, proposal_id, community)
    recall.withdraw(db.session(), actor=current_user, now=utcnow(), proposal=proposal)
    flash(_("Your support is withdrawn."), "success")
    return redirect(url_for("committee.recall_detail", community_id=community.id,
                            proposal_id=proposal.id))


@bp.route(f"{BASE}/recalls/<int:proposal_id>/place", methods=["POST"])
@requires(Permission.MEETINGS_MANAGE)
def place(community, proposal_id: int):
    s = db.session()
    proposal = _get(RecallProposal, proposal_id, community)
    meeting = recall.next_draft_meeting(s, community)
    if meeting is None:
        raise Conflict(_("There is no draft meeting: draft the next owners' meeting first."))
    recall.place(s, actor=current_user, now=utcnow(), proposal=proposal, meeting=meeting)
    flash(_("The recall is on the agenda of %(title)s.", title=meeting.title), "success")
    return redirect(url_for("meetings.detail", community_id=community.id,
                            meeting_id=meeting.id))
