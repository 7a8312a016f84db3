"""The life of a service request: its statuses and the one table of allowed transitions.

Pure (no Flask, no database) so that the table can be tested exhaustively; the services call
``check_transition`` before every change and record each change as an event.
"""

from __future__ import annotations

import enum


class RequestStatus(enum.StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ON_SITE = "on_site"
    #: The completion clock pauses while parts are awaited.
    WAITING_PARTS = "waiting_parts"
    DONE = "done"
    #: The resident confirmed the work (by a good rating at the return visit).
    CONFIRMED = "confirmed"
    CLOSED = "closed"
    #: Reopened after a bad rating or by the resident: the history stays, it counts as a repeat.
    REOPENED = "reopened"


S = RequestStatus

#: Who moves a request: the desk (staff) or the resident who filed it.
DESK, RESIDENT = "desk", "resident"

#: (from, to) → who may make that move. Everything else is refused.
TRANSITIONS: dict[tuple[RequestStatus, RequestStatus], frozenset[str]] = {
    (S.NEW, S.DISPATCHED): frozenset({DESK}),
    # Inquiries, suggestions and help are often answered at the desk without a work order.
    (S.NEW, S.DONE): frozenset({DESK}),
    (S.NEW, S.CLOSED): frozenset({DESK}),  # withdrawn, duplicate, not ours (with a reason)
    (S.DISPATCHED, S.ON_SITE): frozenset({DESK}),
    (S.DISPATCHED, S.WAITING_PARTS): frozenset({DESK}),
    (S.DISPATCHED, S.DONE): frozenset({DESK}),
    (S.ON_SITE, S.WAITING_PARTS): frozenset({DESK}),
    (S.ON_SITE, S.DONE): frozenset({DESK}),
    (S.WAITING_PARTS, S.ON_SITE): frozenset({DESK}),
    (S.WAITING_PARTS, S.DONE): frozenset({DESK}),
    (S.DONE, S.CONFIRMED): frozenset({DESK, RESIDENT}),
    (S.DONE, S.REOPENED): frozenset({DESK, RESIDENT}),
    (S.CONFIRMED, S.CLOSED): frozenset({DESK}),
    (S.CONFIRMED, S.REOPENED): frozenset({DESK, RESIDENT}),
    (S.CLOSED, S.REOPENED): frozenset({DESK, RESIDENT}),
    (S.REOPENED, S.DISPATCHED): frozenset({DESK}),
    (S.REOPENED, S.DONE): frozenset({DESK}),
}

#: Statuses in which the request is still the office's to finish.
OPEN_STATUSES = frozenset({S.NEW, S.DISPATCHED, S.ON_SITE, S.WAITING_PARTS, S.REOPENED})
#: Statuses that need a reason when entered (told to the resident).
NEEDS_REASON = frozenset({(S.NEW, S.CLOSED)})


class TransitionRefused(Exception):
    """A move the table does not allow (or not to this party)."""

    def __init__(self, current: RequestStatus, wanted: RequestStatus, party: str):
        super().__init__(f"{current} → {wanted} is not allowed for {party}")
        self.current, self.wanted, self.party = current, wanted, party


def allowed_next(current: RequestStatus, party: str) -> list[RequestStatus]:
    """The statuses ``party`` may move a request to from ``current``, in table order."""
    return [to for (frm, to), who in TRANSITIONS.items() if frm is current and party in who]


def check_transition(current: RequestStatus, wanted: RequestStatus, party: str) -> None:
    if party not in TRANSITIONS.get((current, wanted), frozenset()):
        raise TransitionRefused(current, wanted, party)
