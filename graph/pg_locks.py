"""PostgreSQL advisory locks: one writer per interview thread, across processes and machines.

A thread's lock is keyed by a stable 64-bit hash of its id (the same in every process,
unlike Python's ``hash``). :func:`hold_thread` takes it at session level on a pooled
connection of its own and keeps it for the whole turn; the server lets go by itself when
that session ends, so a worker killed with ``kill -9`` frees its threads at once, with no
lease to wait out. :func:`xact_lock` takes the same lock for one transaction only, for short
critical sections that do all their work on one connection.

A session lock is only as good as its session: a server restart or a dropped network ends
it while the turn may still run on other connections. :meth:`ThreadLock.check` tells; doing
the turn's writes on ``ThreadLock.conn`` itself makes them fail with the lock instead.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import psycopg
from psycopg import errors

from graph.database import Connection, Pool
from graph.store import Busy

THREAD_NAMESPACE = "advisor:thread:"


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name``, the same in every process."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def thread_key(thread_id: str) -> int:
    """The lock key of one interview thread (its LangGraph thread id)."""
    return lock_key(THREAD_NAMESPACE + thread_id)


class LockLost(RuntimeError):
    """The session that held a thread's lock has ended (server restart, network): another
    worker may now hold it."""


@dataclass
class ThreadLock:
    """A held thread lock and the connection (session) that holds it."""

    thread_id: str
    key: int
    conn: Connection

    def check(self) -> None:
        """Raise :class:`LockLost` unless the holding session is still alive (then, being
        the same session, it still holds the lock)."""
        try:
            self.conn.execute("SELECT 1")
        except psycopg.OperationalError as e:
            raise LockLost(f"lost the lock on {self.thread_id}: {e}") from None


def try_lock(conn: Connection, key: int) -> bool:
    """Take session lock ``key`` if it is free (or already ours); never waits."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", [key]).fetchone()
    return bool(row and row["ok"])


def unlock(conn: Connection, key: int) -> bool:
    """Let go of session lock ``key``; False if this session did not hold it."""
    row = conn.execute("SELECT pg_advisory_unlock(%s) AS ok", [key]).fetchone()
    return bool(row and row["ok"])


def wait_lock(conn: Connection, key: int, wait: float) -> bool:
    """Take session lock ``key``, waiting up to ``wait`` seconds; False if it stayed taken.

    The wait is a blocking ``pg_advisory_lock`` under a transaction-local ``lock_timeout``,
    so the server wakes us the moment the holder lets go. The lock outlives that
    transaction: session locks ignore commit and rollback.
    """
    if wait <= 0:
        return try_lock(conn, key)
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(wait * 1000)}ms"])
            conn.execute("SELECT pg_advisory_lock(%s)", [key])
    except errors.LockNotAvailable:
        return False
    return True


def poll_lock(conn: Connection, key: int, wait: float) -> bool:
    """Take session lock ``key`` by trying again and again for up to ``wait`` seconds.

    For waiters that must not keep a statement open while they wait: a blocked
    ``pg_advisory_lock`` holds a snapshot, and ``CREATE INDEX CONCURRENTLY`` (which
    PostgresSaver.setup runs) waits for every older snapshot in the database, so a worker
    blocked on the schema lock would deadlock with the worker migrating.
    """
    deadline = time.monotonic() + wait
    pause = 0.01
    while not try_lock(conn, key):
        if time.monotonic() + pause > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
    return True


@contextmanager
def hold_thread(pool: Pool, thread_id: str, *, wait: float = 60.0) -> Iterator[ThreadLock]:
    """Work on one thread in one session at a time, anywhere: wait up to ``wait`` seconds
    for whoever holds it, then raise :class:`graph.store.Busy`. The lock's connection stays
    checked out for the block (``ThreadLock.conn``) and the lock is let go at its end."""
    key = thread_key(thread_id)
    with pool.connection() as conn:
        if not wait_lock(conn, key, wait):
            raise Busy(thread_id)
        try:
            yield ThreadLock(thread_id, key, conn)
        finally:
            # A broken session has already let go; the pool discards its connection.
            with suppress(psycopg.OperationalError):
                unlock(conn, key)


def xact_lock(conn: Connection, thread_id: str) -> None:
    """Take the thread's lock until the current transaction ends (call inside one: in
    autocommit it would end at once). Waits as long as the session's ``lock_timeout``."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        raise RuntimeError("xact_lock needs an open transaction (with conn.transaction())")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [thread_key(thread_id)])
