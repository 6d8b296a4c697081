"""Where a thread's work is serialised, and the only place.

In this process, every job is queued under a key (an interview's id, for anything that
touches its thread): jobs of one key run one at a time, in arrival order; different keys run
in parallel on a shared pool. Across processes on one database, an engine step also holds
the thread's row in the Slack tables (``holding``), so two ``advisor serve`` processes never
step one interview at once. The engine itself takes no lock: its callers serialise.

``Inflight`` counts accepted work that has not finished, so a caller can wait for the app to
go quiet (tests, a clean shutdown).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from bot.slack.tables import SlackTables

log = logging.getLogger("advisor.slack")

Job = Callable[[], None]


class Inflight:
    """Counts work accepted but not finished."""

    def __init__(self) -> None:
        self._count = 0
        self._cond = threading.Condition()

    def add(self) -> None:
        with self._cond:
            self._count += 1

    def done(self) -> None:
        with self._cond:
            self._count -= 1
            if self._count <= 0:
                self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._count <= 0, timeout)


class CountingExecutor(ThreadPoolExecutor):
    """Bolt's listener executor, counted in ``Inflight``."""

    def __init__(self, inflight: Inflight, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="advisor-bolt")
        self._inflight = inflight

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self._inflight.add()

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._inflight.done()

        return super().submit(run)


class Runner:
    """Jobs in per-key FIFO queues on a shared pool, and the cross-process thread hold."""

    def __init__(self, tables: SlackTables, owner: str, *, workers: int = 8) -> None:
        self.tables = tables
        self.owner = owner
        self.inflight = Inflight()
        self.stopped = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="advisor-work")
        self._queues: dict[str, deque[Job]] = {}
        self._lock = threading.Lock()

    def submit(
        self, key: str, job: Job, *, label: str | None = None, failed: Job | None = None
    ) -> None:
        """Queue ``job`` behind earlier work on ``key``. If it raises, the error is logged
        with ``label`` (the thread it was for) and ``failed`` runs (say sorry)."""

        def guarded() -> None:
            try:
                job()
            except Exception:
                log.exception("advisor: handler failed for thread %s", label or key)
                if failed is not None:
                    failed()

        self.inflight.add()
        with self._lock:
            queue = self._queues.get(key)
            if queue is not None:  # a drainer is already working on this key
                queue.append(guarded)
                return
            self._queues[key] = deque([guarded])
        self._pool.submit(self._drain, key)

    def later(self, delay: float, job: Job) -> None:
        """Run ``job`` after ``delay`` seconds (unless stopping), counted as work meanwhile."""
        self.inflight.add()

        def run() -> None:
            try:
                if not self.stopped.is_set():
                    job()
            finally:
                self.inflight.done()

        timer = threading.Timer(delay, run)
        timer.daemon = True
        timer.start()

    @contextmanager
    def holding(
        self, interview_id: str, *, wait: float, thread: tuple[str, str] = ("", "")
    ) -> Iterator[None]:
        """The thread's hold across processes for the length of the block: waits up to
        ``wait`` seconds for another process to let go, then raises ``Busy``."""
        self.tables.hold_thread(interview_id, self.owner, wait=wait, thread=thread)
        try:
            yield
        finally:
            try:
                self.tables.release_thread(interview_id, self.owner)
            except Exception:  # the hold lapses when this process is gone, or after the lease
                log.warning("advisor: could not let go of thread %s", interview_id)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        return self.inflight.wait_idle(timeout)

    def shutdown(self) -> None:
        self.stopped.set()
        self._pool.shutdown(wait=True)

    def _drain(self, key: str) -> None:
        while True:
            with self._lock:
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]
                    return
                job = queue[0]  # stays queued while it runs, so new work lines up behind
            try:
                job()
            except Exception:  # jobs guard themselves; this keeps the drainer alive
                log.exception("advisor: unhandled error in work for %s", key)
            finally:
                with self._lock:
                    queue.popleft()
                self.inflight.done()
