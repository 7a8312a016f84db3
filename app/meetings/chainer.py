"""Chaining received ballots after the commit, in a thread of the serving process.

Serving on PostgreSQL, a cast writes its ballot and commits without waiting for any other cast;
this module then wakes one thread per process that chains what was received
(:func:`app.meetings.voting.chain_pending`), in batches, holding the box row only for the
batch. Two processes' threads take turns on the row lock; each ballot wakes a thread after its
commit, so the pass that wake starts reads it, unless another pass has chained it first. A
ballot left received (the process stopped in between) is chained by the next cast, the next
look at the board, or at the latest by the close, which chains everything under its lock.

Elsewhere — SQLite, the tests, commands — the cast chains in its own transaction.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from flask import current_app, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
#: How long the thread waits after a wake before it chains (the batch gathers meanwhile).
GATHER_SECONDS = 0.2
_PENDING_KEY = "courtyard.chain_boxes"


def chains_after_commit() -> bool:
    """Whether this cast leaves the chaining to the thread (``BOARD_CHAIN`` = ``background``).

    The default is ``background`` when serving requests on PostgreSQL and ``inline`` otherwise
    (and under ``TESTING``, so that a test sees its ballot numbered).
    """
    if not has_request_context():
        return False
    mode = current_app.config.get("BOARD_CHAIN")
    if mode is None:
        from ..db import engine

        mode = ("background" if engine().dialect.name == "postgresql"
                and not current_app.testing else "inline")
    return mode == "background"


def after_commit(session: Session, box_pk: int) -> None:
    """Ask for the box to be chained once this session's transaction has committed."""
    session.info.setdefault(_PENDING_KEY, set()).add(box_pk)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    boxes = session.info.pop(_PENDING_KEY, None)
    if boxes:
        engine = session.get_bind()
        for box_pk in boxes:
            CHAINER.wake(engine, box_pk)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


class Chainer:
    """One thread per process that drains the boxes it is woken for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted: set[tuple[Engine, int]] = set()
        self._woken = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def wake(self, engine: Engine, box_pk: int) -> None:
        with self._lock:
            self._wanted.add((engine, box_pk))
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                # A forked worker starts its own thread (threads do not survive the fork).
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="board-chainer",
                                                daemon=True)
                self._thread.start()
        self._woken.set()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until nothing waits to be chained by this process (for tests and the bench)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            self._woken.wait()
            # Let the casts of the next few milliseconds join the batch: one lock, one commit.
            time.sleep(GATHER_SECONDS)
            with self._lock:
                self._woken.clear()
                wanted, self._wanted = self._wanted, set()
            for engine, box_pk in wanted:
                try:
                    drain(engine, box_pk)
                except Exception:  # a failed batch is retried at the next wake, or by the close
                    log.exception("chaining the ballots of box %s failed", box_pk)
            with self._lock:
                if not self._wanted:
                    self._idle.set()


def drain(engine: Engine, box_pk: int) -> int:
    """Chain what the box has received, in one transaction holding the box row.

    One pass is enough: every ballot wakes its process's thread after its commit, so a
    ballot this pass's read did not see (committed after it began) has woken a thread after
    this pass was taken up, and that thread's next pass finds it.
    """
    from .voting import chain_pending

    with Session(engine) as session:
        done = chain_pending(session, box_pk)
        session.commit()
        return done


CHAINER = Chainer()
