"""``advisor serve --workers N``: a supervisor process and N worker processes.

Each worker is an ordinary ``advisor serve`` started with the hidden ``--worker`` flag; the
workers share the SQLite file exactly as two separately started processes do (the inbox,
outbox and thread holds in bot/slack/tables.py claim work across processes, and a dead
worker's claims are taken over once its pid is gone).

Workers are started with ``subprocess`` (a fresh interpreter each), not ``os.fork``: a fork
of a process that has loaded the app copies its threads' locks and SQLite connections
half-way, while a fresh interpreter inherits only what it is given. It also makes a
restart the same thing as a start. The cost, each worker importing the app, is about a
second per start.

HTTP: the supervisor binds the port once and hands the listening socket to every worker
(``pass_fds``); each worker's waitress accepts on it, so a connection goes to whichever
worker is free, and one still waiting in the backlog when a worker dies is accepted by
another. Socket Mode: each worker opens its own connection, and Slack spreads envelopes
over an app's connections (up to 10).
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("advisor.serve")

READY = "advisor: worker ready"  # what a worker prints once it serves (read, not shown)
CRASHES = 3  # a slot whose worker exits this often within CRASH_WINDOW s: give up
CRASH_WINDOW = 10.0
STOP_GRACE = 40.0  # a worker drains up to 20 s of replies and 10 s of outbox, then exits
BACKLOG = 1024  # waitress's own default backlog
PARENT_CHECK = 1.0  # how often a worker checks that its supervisor is still there


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every HTTP worker accepts on (OSError: it cannot be bound)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart on the same port
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def worker_ready(detail: str) -> None:
    """Tell the supervisor this worker serves, and stop when the supervisor is gone."""
    print(f"{READY} (pid {os.getpid()}): {detail}", flush=True)
    parent = os.getppid()

    def watch() -> None:
        # A supervisor killed with -9 cannot stop its workers: they stop themselves (SIGTERM,
        # so the usual drain runs) rather than keep serving, orphaned, on the port.
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        log.warning("advisor: the supervisor is gone; this worker stops")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="advisor-supervisor-watch", daemon=True).start()


@dataclass
class Worker:
    slot: int
    proc: subprocess.Popen[str]
    ready: threading.Event = field(default_factory=threading.Event)


class Supervisor:
    """Keeps ``count`` workers running ``argv``: restarts one that dies (one log line),
    gives up when one keeps dying, and stops them all on ``stop``."""

    def __init__(
        self,
        argv: list[str],
        count: int,
        *,
        pass_fds: tuple[int, ...] = (),
        echo: Callable[[str], None] = print,
    ) -> None:
        self.argv = argv
        self.count = count
        self.pass_fds = pass_fds
        self.echo = echo
        self.workers: dict[int, Worker] = {}
        self.exits: dict[int, collections.deque[float]] = {
            slot: collections.deque(maxlen=CRASHES) for slot in range(count)
        }

    def run(self, stop: threading.Event, announce: Callable[[], None]) -> int:
        """Serve until ``stop`` is set (0), or until a worker keeps crashing (1).
        ``announce`` is called once, when every worker first serves."""
        # The first worker starts alone: it creates or migrates the database's tables, which
        # two processes doing at once on a new file can fail at ("database is busy").
        self._spawn(0)
        waiting = list(range(1, self.count))
        announced = False
        while not stop.wait(0.1):
            if waiting and self.workers[0].ready.is_set():
                for slot in waiting:
                    self._spawn(slot)
                waiting = []
            for worker in list(self.workers.values()):
                code = worker.proc.poll()
                if code is None:
                    continue
                if self._keeps_crashing(worker.slot):
                    log.error(
                        "advisor: worker %d exited %d times within %.0f s (last: %s); stopping",
                        worker.slot + 1,
                        CRASHES,
                        CRASH_WINDOW,
                        _status(code),
                    )
                    self.stop_all()
                    return 1
                new = self._spawn(worker.slot)
                log.warning(
                    "advisor: worker %d (pid %d) %s; started another (pid %d)",
                    worker.slot + 1,
                    worker.proc.pid,
                    _status(code),
                    new.proc.pid,
                )
            ready = all(w.ready.is_set() for w in self.workers.values())
            if not announced and not waiting and ready:
                announce()
                announced = True
        return 0 if self.stop_all() else 1

    def stop_all(self) -> bool:
        """SIGTERM every worker (each finishes the work it took), SIGKILL any still running
        after ``STOP_GRACE`` s. True if every worker stopped cleanly."""
        running = [w for w in self.workers.values() if w.proc.poll() is None]
        for worker in running:
            worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        clean = True
        for worker in running:
            try:
                code = worker.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("advisor: worker %d did not stop in time; killed", worker.slot + 1)
                worker.proc.kill()
                code = worker.proc.wait()
            # -SIGTERM: stopped while still starting, before it served; whatever it had taken
            # up by then is taken over at the next start (its pid is gone)
            clean = clean and code in (0, -signal.SIGTERM)
        return clean

    def _keeps_crashing(self, slot: int) -> bool:
        exits = self.exits[slot]
        exits.append(time.monotonic())
        return len(exits) == CRASHES and exits[-1] - exits[0] <= CRASH_WINDOW

    def _spawn(self, slot: int) -> Worker:
        proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,  # read for the ready line, the rest passed on
            text=True,
            pass_fds=self.pass_fds,
            # Its own process group: Ctrl-C reaches the supervisor only, which then stops
            # each worker once, so no worker is interrupted again in the middle of its drain.
            process_group=0,
        )
        worker = Worker(slot, proc)
        self.workers[slot] = worker
        threading.Thread(
            target=self._read, args=(worker,), name=f"advisor-worker-{slot + 1}", daemon=True
        ).start()
        return worker

    def _read(self, worker: Worker) -> None:
        assert worker.proc.stdout is not None
        for line in worker.proc.stdout:
            if line.startswith(READY) and not worker.ready.is_set():
                worker.ready.set()
                self.echo(
                    f"advisor: worker {worker.slot + 1} of {self.count} ready "
                    f"(pid {worker.proc.pid})"
                )
            else:
                self.echo(line.rstrip("\n"))


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def worker_argv(socket_fd: int | None) -> list[str]:
    """The command line of one worker (the supervisor's own interpreter and environment)."""
    argv = [sys.executable, "-c", "from bot.cli import cli; cli()", "serve", "--worker"]
    if socket_fd is not None:
        argv += ["--socket-fd", str(socket_fd)]
    return argv
