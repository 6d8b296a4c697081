"""One terminal session per interview, across processes.

``advisor chat --resume ID`` in two terminals at once would both answer the same question:
a reply typed under one question lands on the next, and answers given together fork the
checkpoint. So a session claims its interview in the store's ``sessions`` table (a
compare-and-set: ``Store.claim_session``, in SQLite or PostgreSQL) and holds it until it
ends. A claim is taken over when its process is gone (same machine: the pid no longer
runs) or has not beaten for ``STALE`` seconds (another machine, a reused pid, a stopped
process). A holder checks its claim before each reply, so a session that was taken over
while stopped (Ctrl-Z) stops instead of answering.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from graph.store import SessionClaim, Store

log = logging.getLogger(__name__)

BEAT = 15.0  # seconds between a holder's heartbeats
STALE = 60.0  # a claim not refreshed for this long is taken over, even if its pid runs
TRIES = 10  # compare-and-set rounds lost to other sessions before giving up


@dataclass(frozen=True)
class Holder:
    """Who has an interview open."""

    host: str
    pid: int
    since: str  # ISO 8601 UTC

    def where(self) -> str:
        here = socket.gethostname()
        machine = "" if self.host == here else f" on {self.host}"
        return f"process {self.pid}{machine}, open since {self.since[11:16]} UTC"


class SessionOpen(Exception):
    """Another live session holds the interview."""

    def __init__(self, interview_id: str, holder: Holder) -> None:
        super().__init__(f"interview {interview_id} is open in another session ({holder.where()})")
        self.interview_id = interview_id
        self.holder = holder


class SessionLost(Exception):
    """This session's claim was taken over (it was stopped for longer than ``STALE``)."""


def _pid_gone(host: str, pid: int) -> bool:
    """True when the holder is known to be dead: on this machine and its pid does not run."""
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return False  # this process: only its own release frees it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # runs, as someone else
    return False


class SessionLock:
    """The claim of one session on one interview; a context manager."""

    def __init__(
        self, store: Store, interview_id: str, *, beat: float = BEAT, stale: float = STALE
    ) -> None:
        self.store = store
        self.interview_id = interview_id
        self.beat = beat
        self.stale = stale
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    def acquire(self) -> None:
        """Claim the interview, or raise :class:`SessionOpen` naming who has it."""
        for _ in range(TRIES):
            now = time.time()
            found = self.store.session_claim(self.interview_id)
            if found is not None and found.holder != self.holder:
                if not (_pid_gone(found.host, found.pid) or now - found.beat_at > self.stale):
                    raise SessionOpen(self.interview_id, Holder(found.host, found.pid, found.since))
                log.info(
                    "interview %s: taking over the session of %s", self.interview_id, found.holder
                )
            since = datetime.now(UTC).replace(microsecond=0).isoformat()
            claim = SessionClaim(self.holder, socket.gethostname(), os.getpid(), since, now)
            # Only from the holder just read: a session that claimed it meanwhile keeps it,
            # and the next round sees who that is.
            replacing = found.holder if found is not None else None
            if self.store.claim_session(self.interview_id, claim, replacing=replacing):
                break
        else:  # other sessions kept winning the claim: one of them has it
            last = self.store.session_claim(self.interview_id) or claim
            raise SessionOpen(self.interview_id, Holder(last.host, last.pid, last.since))
        self._beater = threading.Thread(target=self._beat, name="session-beat", daemon=True)
        self._beater.start()

    def check(self) -> None:
        """Before a reply: still ours? Refreshes the claim; :class:`SessionLost` if not."""
        if not self._refresh():
            raise SessionLost(self.interview_id)

    def release(self) -> None:
        self._stop.set()
        if self._beater is not None:
            self._beater.join(timeout=5)
        try:
            self.store.release_session(self.interview_id, self.holder)
        except self.store.errors as exc:  # a full disk: the dead pid frees it next time
            log.warning("interview %s: could not release the session: %s", self.interview_id, exc)

    def _refresh(self) -> bool:
        return self.store.beat_session(self.interview_id, self.holder, time.time())

    def _beat(self) -> None:
        while not self._stop.wait(self.beat):
            try:
                if not self._refresh():
                    return  # taken over: check() tells the session
            except self.store.errors as exc:  # busy or full: try again next beat
                log.warning("interview %s: heartbeat failed: %s", self.interview_id, exc)

    def __enter__(self) -> SessionLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
