"""Every access rule of the site, in one place.

A permission is a ``"<scope>:<resource>:<action>"`` string. ``ROLE_PERMISSIONS`` says which
community roles hold which permissions; ``can(user, permission, community)`` answers; views
declare what they need with ``@requires(...)``, which also loads the community of the URL
(404 when missing, 403 when forbidden).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from typing import Protocol

from flask import abort, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import Row, Select, bindparam, exists, select

from . import db
from .models import Community, Ownership, Person, Residency, Role, RoleGrant, User


class Permission(enum.StrEnum):
    #: Anyone, signed in or not.
    PUBLIC = "public"
    #: Any signed-in user, about their own account.
    ACCOUNT = "self:account:use"
    #: Site administration: communities, offices, first accounts.
    SITE_MANAGE = "site:community:manage"
    COMMUNITY_VIEW = "community:overview:read"
    OWN_UNITS_READ = "community:own-units:read"
    REGISTER_READ = "community:register:read"
    REGISTER_IMPORT = "community:register:import"
    REGISTER_EXPORT = "community:register:export"
    ACTIVATION_ISSUE = "community:activation:issue"
    ROLES_MANAGE = "community:roles:manage"
    AUDIT_READ = "community:audit:read"
    #: Published meeting notices (drafts need MEETINGS_MANAGE).
    MEETINGS_READ = "community:meeting:read"
    MEETINGS_MANAGE = "community:meeting:manage"
    #: Casting a ballot (owners, and proxy holders, who may be residents); the service checks
    #: whose ballot it is.
    VOTE_CAST = "community:ballot:cast"
    MEETING_OBJECT = "community:meeting:object"
    #: Owners open and support a request for an extraordinary meeting.
    MEETING_REQUEST = "community:meeting-request:support"
    #: Holding the key ceremony (the scrutineers type their passphrases; the committee starts).
    BALLOT_CEREMONY = "community:ballot-box:ceremony"
    #: Bringing a key share to the opening.
    BALLOT_OPEN = "community:ballot-box:open"
    PAPER_ENTER = "community:paper-ballot:enter"
    PROXY_MANAGE = "community:proxy:manage"
    TURNOUT_READ = "community:turnout:read"
    BUNDLE_READ = "community:meeting:bundle"
    #: Filing a request and following one's own (the service checks whose it is).
    SERVICE_FILE = "community:service-request:file"
    #: The property office's desk: every request of the community, work orders, the board.
    SERVICE_DESK = "community:service-desk:work"
    SERVICE_STATS = "community:service-stats:read"
    #: Business hours, holidays, SLA targets and teams of the desk.
    SERVICE_CONFIGURE = "community:service-desk:configure"
    #: Published statements and the fund's reports; an owner's own units' fund statement.
    MONEY_READ = "community:accounts:read"
    #: Booking entries, importing statements, filing and paying fund spends, publishing.
    MONEY_BOOK = "community:accounts:book"
    #: The whole journal, its chain check, every unit's sub-account (committee, auditors).
    MONEY_AUDIT = "community:accounts:audit"
    #: The published fee schedule, and one's own units' bills, payments and receipts.
    FEES_READ = "community:fees:read"
    #: Publishing the schedule, billing, entering and importing payments, arrears, follow-ups.
    FEES_MANAGE = "community:fees:manage"
    #: The alarm console, the device list and an alarm's record.
    ALARMS_READ = "community:alarm:read"
    #: Acknowledging, dispatching, closing and annotating alarms (the property office).
    ALARMS_HANDLE = "community:alarm:handle"
    #: The device registry: adding devices, reading and renewing their channel secrets.
    DEVICES_MANAGE = "community:alarm-device:manage"
    #: Arming, disarming and bypassing: staff any panel or zone, owners their own panel (the
    #: service checks whose panel it is).
    ALARMS_ARM = "community:alarm:arm"
    #: Tenders beyond their public notice: the list, the panel's state, the report.
    TENDERS_READ = "community:tender:read"
    #: Writing the tender file, publishing it (the key ceremony), appointing the panel.
    TENDERS_MANAGE = "community:tender:manage"
    #: Bringing a committee member's key share to open the bids or the sheets.
    TENDER_OPEN = "community:tender-box:open"
    #: Declaring conflicts and filling a sealed score sheet (the service checks the seat).
    TENDER_EVALUATE = "community:tender-sheet:score"
    #: The committee's page: members, roles, term, alternates, history, recall proposals.
    COMMITTEE_READ = "community:committee:read"
    #: Recording a vacancy (the chair, or the community office); the alternate follows.
    COMMITTEE_VACANCY = "community:committee-vacancy:record"
    #: Taking part in the members' vote for chair and vice-chairs (the service checks the
    #: voter is a serving member).
    COMMITTEE_OFFICE_VOTE = "community:committee-office:vote"
    #: Owners propose a recall of committee members and support it.
    RECALL_SUPPORT = "community:recall:support"


P = Permission
_GOVERNANCE = {P.COMMUNITY_VIEW, P.REGISTER_READ, P.REGISTER_EXPORT, P.AUDIT_READ,
               P.MONEY_READ, P.MONEY_AUDIT, P.FEES_READ, P.COMMITTEE_READ}
#: What the committee does around a vote (never reading a ballot: nobody can before opening).
#: What the committee does in a tender (never reading a sealed bid or sheet).
_TENDER_OFFICE = {P.TENDERS_READ, P.TENDERS_MANAGE, P.TENDER_OPEN}
_MEETING_OFFICE = {P.MEETINGS_READ, P.BALLOT_CEREMONY, P.PAPER_ENTER, P.PROXY_MANAGE,
                   P.TURNOUT_READ, P.BUNDLE_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset({P.COMMUNITY_VIEW, P.OWN_UNITS_READ, P.MEETINGS_READ, P.VOTE_CAST,
                           P.MEETING_OBJECT, P.MEETING_REQUEST, P.BUNDLE_READ,
                           P.SERVICE_FILE, P.MONEY_READ, P.FEES_READ, P.ALARMS_ARM,
                           P.TENDERS_READ, P.COMMITTEE_READ, P.RECALL_SUPPORT}),
    Role.RESIDENT: frozenset({P.COMMUNITY_VIEW, P.OWN_UNITS_READ, P.VOTE_CAST,
                              P.SERVICE_FILE, P.FEES_READ}),
    Role.COMMITTEE: frozenset(
        _GOVERNANCE | _MEETING_OFFICE | _TENDER_OFFICE
        | {P.REGISTER_IMPORT, P.ACTIVATION_ISSUE, P.MEETINGS_MANAGE, P.SERVICE_STATS,
           P.MONEY_BOOK, P.FEES_MANAGE, P.ALARMS_READ, P.COMMITTEE_OFFICE_VOTE}
    ),
    Role.CHAIR: frozenset(
        _GOVERNANCE | _MEETING_OFFICE | _TENDER_OFFICE
        | {P.REGISTER_IMPORT, P.ACTIVATION_ISSUE, P.ROLES_MANAGE, P.MEETINGS_MANAGE,
           P.SERVICE_STATS, P.MONEY_BOOK, P.FEES_MANAGE, P.ALARMS_READ,
           P.COMMITTEE_VACANCY, P.COMMITTEE_OFFICE_VOTE}
    ),
    Role.SCRUTINEER: frozenset({P.COMMUNITY_VIEW, P.MEETINGS_READ, P.BALLOT_CEREMONY,
                                P.BALLOT_OPEN, P.TURNOUT_READ, P.BUNDLE_READ}),
    Role.EVALUATOR: frozenset({P.COMMUNITY_VIEW, P.TENDERS_READ, P.TENDER_EVALUATE}),
    Role.STAFF: frozenset(
        {P.COMMUNITY_VIEW, P.REGISTER_READ, P.ACTIVATION_ISSUE, P.MEETINGS_READ, P.PAPER_ENTER,
         P.PROXY_MANAGE, P.TURNOUT_READ, P.SERVICE_FILE, P.SERVICE_DESK, P.SERVICE_STATS,
         P.SERVICE_CONFIGURE, P.FEES_READ, P.FEES_MANAGE, P.ALARMS_READ, P.ALARMS_HANDLE,
         P.ALARMS_ARM, P.DEVICES_MANAGE}
    ),
    Role.AUDITOR: frozenset(
        _GOVERNANCE | {P.MEETINGS_READ, P.TURNOUT_READ, P.BUNDLE_READ, P.SERVICE_STATS,
                       P.TENDERS_READ, P.COMMITTEE_VACANCY}
    ),
    #: The site admin sets communities up; configuration, never ballots.
    Role.ADMIN: frozenset(
        {P.COMMUNITY_VIEW, P.REGISTER_READ, P.REGISTER_IMPORT, P.ROLES_MANAGE, P.AUDIT_READ}
    ),
}


def roles_in(user: User, community: Community) -> frozenset[Role]:
    """The roles ``user`` holds in ``community`` (cached for the request)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cache = g.setdefault("_roles_cache", {})
    key = (user.id, community.id)
    if key not in cache:
        _community_and_roles(user, community.id)
    return cache[key]


@functools.cache
def _community_and_roles_query():
    """Built once: building it costs more than running it, and every page runs it."""
    user_id, community_id = bindparam("user_id"), bindparam("community_id")
    person_ids = select(Person.id).where(
        Person.user_id == user_id, Person.community_id == community_id
    )
    return select(
        Community,
        exists().where(Ownership.person_id.in_(person_ids), Ownership.ended_at.is_(None)),
        exists().where(Residency.person_id.in_(person_ids), Residency.ended_at.is_(None)),
        RoleGrant.role, RoleGrant.community_id, RoleGrant.office_id,
    ).join_from(Community, RoleGrant, RoleGrant.user_id == user_id, isouter=True).where(
        Community.id == community_id)


def _community_and_roles(user: User, community_id: int) -> Community | None:
    """The community and the roles ``user`` holds in it, in one round trip (every page asks);
    the roles go to the request's cache."""
    rows = db.session().execute(_community_and_roles_query(),
                                {"user_id": user.id, "community_id": community_id}).all()
    return _access_of(user, rows)


#: Columns of the community-and-roles read before a view's own (see :class:`ViewRead`).
_ACCESS_WIDTH = 6


def _access_of(user: User, rows) -> Community | None:
    """The community of the rows of :func:`_community_and_roles_query` (extended or not), and
    ``user``'s roles there into the request's cache."""
    if not rows:
        return None
    community, owns, resides = rows[0][0], rows[0][1], rows[0][2]
    roles: set[Role] = {Role.ADMIN} if user.is_site_admin else set()
    if owns:
        roles.add(Role.OWNER)
    if resides:
        roles.add(Role.RESIDENT)
    for role, grant_community, grant_office in (row[3:_ACCESS_WIDTH] for row in rows):
        if role is not None and (grant_community == community.id or (
            grant_office is not None and grant_office == community.office_id
        )):
            roles.add(role)
    g.setdefault("_roles_cache", {})[(user.id, community.id)] = frozenset(roles)
    return community


class ViewRead(Protocol):
    """What a view on a hot path reads in the same statement as its community and the user's
    roles there (``@requires(..., read=...)``): one round trip instead of two, the decorator
    still deciding access before the view runs.

    ``extend`` adds columns and outer joins to the community-and-roles query; its bound
    parameters are named after the view's URL arguments (and ``user_id``). ``take`` turns the
    rows' columns from ``offset`` on into the view's ``read`` argument.
    """

    def extend(self, query: Select) -> Select: ...

    def take(self, rows: Sequence[Row], offset: int): ...


@functools.cache
def _extended_query(read: ViewRead) -> Select:
    return read.extend(_community_and_roles_query())


def load_community_with(read: ViewRead, community_id: int, user: User,
                        args: dict) -> tuple[Community, object]:
    """The community of the URL with ``user``'s roles, and ``read``'s part, in one statement."""
    rows = db.session().execute(_extended_query(read),
                                {**args, "user_id": user.id, "community_id": community_id}).all()
    community = _access_of(user, rows)
    if community is None:
        abort(404)
    return community, read.take(rows, _ACCESS_WIDTH)


def can(user: User, permission: Permission, community: Community | None = None) -> bool:
    """Whether ``user`` holds ``permission`` (in ``community`` for community permissions)."""
    if permission is P.PUBLIC:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if permission is P.ACCOUNT:
        return True
    if permission is P.SITE_MANAGE:
        return user.is_site_admin
    if community is None:
        return False
    return any(permission in ROLE_PERMISSIONS[role] for role in roles_in(user, community))


def communities_of(user: User) -> list[tuple[Community, frozenset[Role]]]:
    """Every community where ``user`` holds a role, with the roles."""
    s = db.session()
    if user.is_site_admin:
        candidates = s.scalars(select(Community).order_by(Community.name)).all()
    else:
        ids = set(
            s.scalars(select(Person.community_id).where(Person.user_id == user.id)).all()
        )
        grants = s.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()
        ids |= {gr.community_id for gr in grants if gr.community_id}
        office_ids = {gr.office_id for gr in grants if gr.office_id}
        if office_ids:
            ids |= set(
                s.scalars(select(Community.id).where(Community.office_id.in_(office_ids)))
            )
        candidates = s.scalars(
            select(Community).where(Community.id.in_(ids)).order_by(Community.name)
        ).all()
    result = []
    for community in candidates:
        roles = roles_in(user, community)
        if roles:
            result.append((community, roles))
    return result


def actor():
    """Who is asking: the bearer of an API token on /api/, else the session's user.

    The API never accepts the session cookie, so no cross-site form can drive it.
    """
    if request.path.startswith("/api/"):
        return g.get("api_user") or _ANONYMOUS
    return current_user


class _Anonymous:
    is_authenticated = False
    is_site_admin = False
    id = None


_ANONYMOUS = _Anonymous()


#: Ids are 32-bit integers: a larger one cannot exist (and would overflow the driver).
MAX_ID = 2**31 - 1


def load_community(community_id: int, user: User | None = None) -> Community:
    """The community of the URL (404 when missing), with ``user``'s roles in it when given."""
    if user is not None and getattr(user, "is_authenticated", False):
        community = _community_and_roles(user, community_id)
    else:
        community = db.session().get(Community, community_id)
    if community is None:
        abort(404)
    return community


def requires(permission: Permission, *, read: ViewRead | None = None) -> Callable:
    """Declare the permission a view needs.

    A view with a ``community_id`` URL argument gets the loaded ``community`` instead.
    Anonymous users are sent to the login page; others without the permission get 403.
    With ``read`` (a hot path, the cast), the view's own read is made in the statement that
    loads the community and the roles, and the view gets its result as ``read``.
    """

    if read is not None and permission is P.PUBLIC:
        raise TypeError("a view's read is made with the signed-in user's roles")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = actor()
            if permission not in (P.PUBLIC,) and not user.is_authenticated:
                # Before any look-up: an anonymous visitor learns nothing, not even existence.
                if request.path.startswith("/api/"):
                    abort(401)
                return redirect(url_for("auth.login", next=request.full_path))
            community = None
            if "community_id" in kwargs:
                community_id = kwargs.pop("community_id")
                if read is None:
                    community = load_community(community_id, user)
                else:
                    community, kwargs["read"] = load_community_with(read, community_id, user,
                                                                    kwargs)
                kwargs["community"] = community
            if not can(user, permission, community):
                abort(403)
            return view(*args, **kwargs)

        wrapper.permission = permission
        return wrapper

    return decorate
