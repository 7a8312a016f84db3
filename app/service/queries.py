"""What the desk's pages read: a resident's own requests, the queue, the daily board (日清日审)
and the monthly statistics. Reads only; every list is one indexed query per page."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Community,
    RequestKind,
    ReturnVisit,
    ServiceRequest,
    ServiceTeam,
    Unit,
    User,
)
from . import sla
from .clocks import clocks
from .workflow import OPEN_STATUSES, RequestStatus

PAGE = 50


def requests_of(session: Session, community: Community, user: User) -> list[ServiceRequest]:
    """The requests filed by or for ``user``: a resident sees only these."""
    return list(session.scalars(
        select(ServiceRequest).options(selectinload(ServiceRequest.unit).selectinload(Unit.building))
        .where(ServiceRequest.community_id == community.id,
               ServiceRequest.requester_id == user.id)
        .order_by(ServiceRequest.created_at.desc()).limit(200)))


def _overdue(now: dt.datetime):
    """Running and past any of its deadlines (paused requests are not overdue)."""
    return and_(ServiceRequest.paused_at.is_(None), or_(
        and_(ServiceRequest.dispatched_at.is_(None), ServiceRequest.due_dispatch_at < now),
        and_(ServiceRequest.on_site_at.is_(None), ServiceRequest.due_on_site_at < now),
        and_(ServiceRequest.replied_at.is_(None), ServiceRequest.due_reply_at < now),
        and_(ServiceRequest.done_at.is_(None), ServiceRequest.due_completion_at < now),
    ))


QUEUE_FILTERS = ("open", "overdue", "mine", "done", "all")


def desk_queue(session: Session, community: Community, *, now: dt.datetime, user: User,
               which: str = "open", team_id: int | None = None,
               kind: RequestKind | None = None, page: int = 1,
               ) -> tuple[list[ServiceRequest], bool]:
    """A page of the staff queue, soonest completion first, and whether more pages follow.

    ``which`` is one of ``QUEUE_FILTERS``; ``team_id`` (0: not dispatched) and ``kind`` narrow.
    """
    q = select(ServiceRequest).options(
        selectinload(ServiceRequest.unit).selectinload(Unit.building),
        selectinload(ServiceRequest.team),
        selectinload(ServiceRequest.assignee),
    ).where(ServiceRequest.community_id == community.id)
    open_ = ServiceRequest.status.in_(list(OPEN_STATUSES))
    if which == "open":
        q = q.where(open_)
    elif which == "overdue":
        q = q.where(open_, _overdue(now))
    elif which == "mine":
        q = q.where(open_, or_(ServiceRequest.receiver_id == user.id,
                               ServiceRequest.assignee_id == user.id))
    elif which == "done":
        q = q.where(ServiceRequest.status.in_([RequestStatus.DONE, RequestStatus.CONFIRMED]))
    if team_id is not None:
        q = q.where(ServiceRequest.team_id == team_id if team_id
                    else ServiceRequest.team_id.is_(None))
    if kind is not None:
        q = q.where(ServiceRequest.kind == kind)
    q = q.order_by(ServiceRequest.due_completion_at.asc().nulls_last(), ServiceRequest.id)
    page = min(max(page, 1), 10_000)
    rows = list(session.scalars(q.limit(PAGE + 1).offset((page - 1) * PAGE)))
    return rows[:PAGE], len(rows) > PAGE


#: The board lists at most this many requests per team (the counts are complete; the desk's
#: "overdue" view has them all).
BOARD_ITEMS = 20


@dataclass
class BoardRow:
    team: str
    open: int = 0
    overdue: int = 0
    due_today: int = 0
    #: (request, its most urgent running clock), most urgent first, at most BOARD_ITEMS.
    items: list[tuple[ServiceRequest, sla.Clock]] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.overdue + self.due_today - len(self.items)


_RUNNING = ((sla.Target.DISPATCH, "dispatched_at", "due_dispatch_at"),
            (sla.Target.ON_SITE, "on_site_at", "due_on_site_at"),
            (sla.Target.REPLY, "replied_at", "due_reply_at"),
            (sla.Target.COMPLETION, "done_at", "due_completion_at"))


def daily_board(session: Session, community: Community, *, now: dt.datetime) -> list[BoardRow]:
    """日清日审: per team, everything open, overdue or due today (the community's day).

    The counts come from the clock columns of every open request (read as plain rows, no
    objects); only the requests listed are loaded whole.
    """
    zone = ZoneInfo(community.timezone or "Asia/Shanghai")
    today = now.astimezone(zone).date()
    end_of_day = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    columns = [ServiceRequest.id, ServiceRequest.team_id, ServiceRequest.paused_at] + [
        getattr(ServiceRequest, name) for _t, met, due in _RUNNING for name in (met, due)]
    rows = session.execute(select(*columns).where(
        ServiceRequest.community_id == community.id,
        ServiceRequest.status.in_(list(OPEN_STATUSES)))).all()
    names = {t.id: t.name for t in session.scalars(
        select(ServiceTeam).where(ServiceTeam.community_id == community.id))}
    board: dict[str, BoardRow] = {}
    listed: dict[str, list[tuple[dt.datetime, sla.Target, int]]] = defaultdict(list)
    for row in rows:
        name = names.get(row.team_id, "")
        line = board.setdefault(name, BoardRow(team=name))
        line.open += 1
        running = [(getattr(row, due), target) for target, met, due in _RUNNING
                   if getattr(row, met) is None and getattr(row, due) is not None]
        if not running or row.paused_at is not None:
            continue  # a paused request waits for the resident or for parts: neither late nor due
        due_at, target = min(running)
        late = due_at < now
        today_due = not late and due_at < end_of_day
        line.overdue += late
        line.due_today += today_due
        if late or today_due:
            listed[name].append((due_at, target, row.id))
    wanted = {name: sorted(items)[:BOARD_ITEMS] for name, items in listed.items()}
    ids = [i for items in wanted.values() for _d, _t, i in items]
    loaded = {r.id: r for r in session.scalars(
        select(ServiceRequest).options(selectinload(ServiceRequest.unit)
                                       .selectinload(Unit.building))
        .where(ServiceRequest.id.in_(ids)))} if ids else {}
    for name, items in wanted.items():
        board[name].items = [(loaded[i], sla.Clock(target, due_at, None))
                             for due_at, target, i in items]
    return sorted(board.values(), key=lambda r: (r.team == "", r.team))


@dataclass(frozen=True)
class MonthStats:
    year: int
    month: int
    total: int
    by_kind: dict[RequestKind, int]
    #: Per target: (met in time, measured).
    attainment: dict[sla.Target, tuple[int, int]]
    repeats: int
    ratings: int
    #: Averages of the month's ratings (None without any).
    overall: float | None
    speed: float | None
    attitude: float | None


def month_bounds(year: int, month: int, tz: str) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(tz)
    start = dt.datetime(year, month, 1, tzinfo=zone)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def monthly_stats(session: Session, community: Community, year: int, month: int) -> MonthStats:
    """Requests filed in the month: volumes by kind, SLA attainment per target, repeats and
    the month's return-visit ratings."""
    start, end = month_bounds(year, month, community.timezone or "Asia/Shanghai")
    rows = session.scalars(select(ServiceRequest).where(
        ServiceRequest.community_id == community.id,
        ServiceRequest.created_at >= start, ServiceRequest.created_at < end)).all()
    by_kind = Counter(r.kind for r in rows)
    attainment: dict[sla.Target, list[int]] = defaultdict(lambda: [0, 0])
    for req in rows:
        for clock in clocks(req):
            if clock.met_at is not None:
                attainment[clock.target][1] += 1
                attainment[clock.target][0] += not clock.breached(clock.met_at)
    avg = session.execute(
        select(func.count(ReturnVisit.id), func.avg(ReturnVisit.overall),
               func.avg(ReturnVisit.speed), func.avg(ReturnVisit.attitude))
        .join(ServiceRequest)
        .where(ServiceRequest.community_id == community.id, ReturnVisit.done_at >= start,
               ReturnVisit.done_at < end, ReturnVisit.overall.is_not(None))).one()
    return MonthStats(
        year=year, month=month, total=len(rows),
        by_kind={k: by_kind.get(k, 0) for k in RequestKind},
        attainment={t: tuple(attainment[t]) for t in sla.Target if t in attainment},
        repeats=sum(1 for r in rows if r.reopen_count > 0),
        ratings=avg[0] or 0,
        overall=None if avg[1] is None else float(avg[1]),
        speed=None if avg[2] is None else float(avg[2]),
        attitude=None if avg[3] is None else float(avg[3]),
    )


def previous_months(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """``count`` months ending with ``year``-``month``, oldest first."""
    out = []
    for _ in range(count):
        out.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def trend(session: Session, community: Community, year: int, month: int,
          months: int = 6) -> list[MonthStats]:
    """The statistics of the last ``months`` months, for the trend charts."""
    return [monthly_stats(session, community, y, m)
            for y, m in previous_months(year, month, months)]
