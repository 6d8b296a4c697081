"""One writer per interview thread on PostgreSQL: advisory locks across sessions and processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors
from psycopg.rows import dict_row

from graph.database import Pool, open_pool
from graph.pg_locks import (
    LockLost,
    hold_thread,
    thread_key,
    try_lock,
    unlock,
    xact_lock,
)
from graph.store import Busy

ROOT = Path(__file__).parent.parent
THREAD = "T1:C1:1700000000.000100"


@pytest.fixture
def pool(pg_url: str) -> Iterator[Pool]:
    with open_pool(pg_url, max_size=6) as pool:
        yield pool


def session(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def test_thread_key_is_a_stable_signed_64_bit_number() -> None:
    # The same in every process, release and machine (no hash randomisation): workers of
    # two advisor versions running side by side during an upgrade must agree on it.
    assert thread_key(THREAD) == -1837722117465877648
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from graph.pg_locks import thread_key; print(thread_key({THREAD!r}))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
    )
    assert int(other.stdout) == thread_key(THREAD)
    assert thread_key(THREAD) != thread_key(THREAD + "1")


def test_two_sessions_cannot_both_hold_a_thread(pg_url: str) -> None:
    key = thread_key(THREAD)
    with session(pg_url) as a, session(pg_url) as b:
        assert try_lock(a, key)
        assert not try_lock(b, key)
        assert try_lock(b, thread_key("another thread"))  # other threads are not held up
        assert unlock(a, key)
        assert try_lock(b, key)
        assert not try_lock(a, key)


def test_a_waiting_worker_gets_the_thread_when_the_holder_lets_go(pool: Pool) -> None:
    order: list[str] = []
    with hold_thread(pool, THREAD) as held:
        waiter = threading.Thread(target=lambda: _take(pool, order))
        waiter.start()
        time.sleep(0.3)
        order.append("first done")
        held.check()
    waiter.join(5)
    assert order == ["first done", "second got it"]


def _take(pool: Pool, order: list[str]) -> None:
    with hold_thread(pool, THREAD, wait=5):
        order.append("second got it")


def test_busy_after_waiting_as_long_as_asked(pool: Pool) -> None:
    with hold_thread(pool, THREAD):
        began = time.monotonic()
        with pytest.raises(Busy), hold_thread(pool, THREAD, wait=0.3):
            pass
        assert 0.25 < time.monotonic() - began < 3
        with pytest.raises(Busy), hold_thread(pool, THREAD, wait=0):
            pass
    with hold_thread(pool, THREAD, wait=0):  # free again, and the waits left no lock behind
        pass


def test_lock_timeout_does_not_stay_on_the_pooled_connection(pool: Pool) -> None:
    with hold_thread(pool, THREAD, wait=0.2) as held:
        setting = held.conn.execute("SELECT current_setting('lock_timeout') AS t").fetchone()
        assert setting == {"t": "0"}


def test_a_worker_killed_with_sigkill_frees_its_thread_at_once(pg_url: str, pool: Pool) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_SLEEP, pg_url, THREAD],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Busy), hold_thread(pool, THREAD, wait=0.2):
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(5)
        with hold_thread(pool, THREAD, wait=5):  # no lease to wait out
            pass
    finally:
        holder.kill()
        holder.wait()


HOLD_AND_SLEEP = """
import sys, time
from graph.database import open_pool
from graph.pg_locks import hold_thread
with open_pool(sys.argv[1]) as pool, hold_thread(pool, sys.argv[2]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_restart_ends_the_hold_and_check_says_so(pg_server, pool: Pool) -> None:
    with hold_thread(pool, THREAD) as held:
        pg_server.restart()
        with pytest.raises(LockLost):
            held.check()
        # Meanwhile another worker may take the thread: the lost lock protects nothing.
        with hold_thread(pool, THREAD, wait=5):
            pass


def test_xact_lock_serialises_two_transactions(pg_url: str) -> None:
    with session(pg_url) as a, session(pg_url) as b:
        with a.transaction():
            xact_lock(a, THREAD)
            with pytest.raises(errors.LockNotAvailable), b.transaction():
                b.execute("SET LOCAL lock_timeout = '200ms'")
                xact_lock(b, THREAD)
        with b.transaction():  # a committed: its lock went with the transaction
            xact_lock(b, THREAD)
        with pytest.raises(RuntimeError, match="open transaction"):
            xact_lock(a, THREAD)
