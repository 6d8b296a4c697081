"""Where a thread's work is serialised (bot/slack/runner.py): one thread's jobs run one at a
time in arrival order, other threads meanwhile; an engine step holds the thread against other
processes; a failing job is logged, answered with ``failed``, and the queue goes on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from bot.slack.runner import Runner
from bot.slack.tables import Busy, SlackTables, new_owner
from graph.store import Store


@pytest.fixture
def runner() -> Iterator[Runner]:
    running = Runner(SlackTables(Store()), new_owner(), workers=4)
    yield running
    running.shutdown()


def test_one_threads_jobs_run_one_at_a_time_in_arrival_order(runner: Runner) -> None:
    ran: list[int] = []
    busy = threading.Lock()
    overlapped: list[int] = []

    def job(n: int) -> None:
        if not busy.acquire(blocking=False):
            overlapped.append(n)
            return
        try:
            time.sleep(0.002)
            ran.append(n)
        finally:
            busy.release()

    for n in range(30):
        runner.submit("T:C:1", lambda n=n: job(n))
    assert runner.wait_idle(10)
    assert ran == list(range(30)) and overlapped == []


def test_other_threads_run_while_one_is_busy(runner: Runner) -> None:
    release = threading.Event()
    done: list[str] = []
    runner.submit("T:C:slow", lambda: (release.wait(5), done.append("slow")))
    runner.submit("T:C:quick", lambda: done.append("quick"))
    deadline = time.monotonic() + 5
    while "quick" not in done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done == ["quick"]  # not stuck behind the slow thread
    release.set()
    assert runner.wait_idle(5) and done == ["quick", "slow"]


def test_a_failing_job_is_answered_and_the_queue_goes_on(
    runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    said: list[str] = []

    def broken() -> None:
        raise RuntimeError("engine on fire")

    runner.submit("T:C:1", broken, label="T:C:1", failed=lambda: said.append("sorry"))
    runner.submit("T:C:1", lambda: said.append("next"))
    assert runner.wait_idle(5)
    assert said == ["sorry", "next"]
    assert any("T:C:1" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_step_holds_its_thread_against_another_process() -> None:
    ours = Runner(SlackTables(Store()), new_owner())
    theirs = Runner(SlackTables(Store()), new_owner())  # its own connection, as a process
    try:
        with ours.holding("T:C:1", wait=0.0, thread=("C", "1.0")):
            with pytest.raises(Busy), theirs.holding("T:C:1", wait=0.1):
                pass
            with theirs.holding("T:C:2", wait=0.0):  # another thread is free
                pass
        with theirs.holding("T:C:1", wait=0.1):  # let go when the step ended
            pass
    finally:
        ours.shutdown()
        theirs.shutdown()
