"""Spread per-ballot crypto over processes (opening and verifying 100,000 ballots).

Work is cut into chunks and mapped over a process pool in order; with one worker, or little
work, everything runs in this process so small counts and tests pay no start-up cost. The
benchmark's crypto floor uses the same helper, so the code and the floor get the same cores.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Below this many items the pool costs more than it saves.
INLINE_BELOW = 2_000
CHUNK = 1_000

Progress = Callable[[int, int], None]


def worker_count(workers: int | None = None) -> int:
    """The number of processes to use: ``workers``, else every core this process may use."""
    if workers is not None:
        return max(1, workers)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def chunked(items: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    """``items`` cut into consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    # fork is fastest but unsafe once threads run; forkserver re-imports this package instead.
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while bulk-loading many long-lived objects.

    Loading 100,000 records allocates millions of objects that all survive; every automatic
    collection would walk them again for nothing. Reference counting still frees garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def iter_chunks(
    func: Callable[[T], list[R]],
    chunks: Sequence[T],
    total: int,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[list[R]]:
    """``func`` over every chunk, each chunk's results yielded in order as soon as they exist.

    ``func`` must be a module-level function (it is sent to worker processes); ``total`` is the
    number of items, for ``progress(done, total)`` after each chunk. ``meanwhile`` runs in this
    process once the workers have their work; what the caller does with a chunk also overlaps
    the workers' crypto on the chunks after it.
    """
    done = 0

    def report(part: list[R]) -> list[R]:
        nonlocal done
        done += len(part)
        if progress is not None:
            progress(done, total)
        return part

    if worker_count(workers) == 1 or total < INLINE_BELOW:
        if meanwhile is not None:
            meanwhile()
        for chunk in chunks:
            yield report(func(chunk))
        return
    with _context().Pool(worker_count(workers)) as pool:
        parts = pool.imap(func, chunks)
        if meanwhile is not None:
            meanwhile()
        for part in parts:
            yield report(part)


def map_chunks(
    func: Callable[[T], list[R]],
    chunks: Sequence[T],
    total: int,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> list[R]:
    """All of :func:`iter_chunks`'s results in one list."""
    results: list[R] = []
    for part in iter_chunks(
        func, chunks, total, workers=workers, progress=progress, meanwhile=meanwhile
    ):
        results.extend(part)
    return results
