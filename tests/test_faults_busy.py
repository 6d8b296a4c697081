"""SQLite busy: another connection holds the write lock. Within the busy timeout the reply
waits and goes through; beyond it the person is told, and the reply is never lost: either
it was kept and is handled once the lock goes, or nothing was kept and the thread says to
try again (with the words in the log)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_fake import TEAM, FakeSlack
from slack_harness import CHANNEL, run_app, start

from bot.slack.inbox import BUSY_TRY_AGAIN
from bot.slack.payloads import interview_id
from bot.slack.step import BUSY_KEPT
from knowledge import db as knowledge_db


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


class Locker:
    """A second connection that takes the write lock and keeps it for ``seconds``."""

    def __init__(self, path: Path, seconds: float) -> None:
        self.conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
        self.conn.isolation_level = None
        self.seconds = seconds
        self.held = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.held.set()
        time.sleep(self.seconds)
        self.conn.execute("ROLLBACK")
        self.conn.close()

    def __enter__(self) -> Locker:
        self.thread.start()
        assert self.held.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(10)


def texts(fake: FakeSlack, thread_ts: str) -> list[str]:
    return [str(m.get("text") or "") for m in fake.replies(CHANNEL, thread_ts)]


def question_count(fake: FakeSlack, thread_ts: str) -> int:
    return len(fake.questions(CHANNEL, thread_ts))


def test_a_lock_shorter_than_the_busy_timeout_is_simply_waited_for(
    fake: FakeSlack, isolated_db: Path
) -> None:
    app = run_app(fake)
    try:
        thread_ts = start(app, fake)
        iid = interview_id(TEAM, CHANNEL, thread_ts)
        with Locker(isolated_db, 0.4):
            sent = app.send.reply("skip", thread_ts=thread_ts)
            assert sent.status == 200  # Slack has its ack whatever the database does
            app.idle()
        assert question_count(fake, thread_ts) == 2
        assert not [t for t in texts(fake, thread_ts) if "busy" in t]
        assert [a.text for a in app.engine.store.answers(iid)].count("skip") == 1
    finally:
        app.stop()


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections opened from now on give up after 0.2 s instead of 5 s."""
    monkeypatch.setattr(knowledge_db, "BUSY_TIMEOUT_MS", 200)


def test_a_lock_held_while_a_reply_arrives_asks_to_try_again_and_logs_the_words(
    fake: FakeSlack, isolated_db: Path, short_timeout: None, caplog: pytest.LogCaptureFixture
) -> None:
    app = run_app(fake)
    try:
        thread_ts = start(app, fake)
        iid = interview_id(TEAM, CHANNEL, thread_ts)
        with caplog.at_level(logging.WARNING, logger="advisor.slack"), Locker(isolated_db, 0.6):
            app.send.reply("our owner is Priya", thread_ts=thread_ts)
            app.idle()
            assert fake.ephemeral[-1]["text"] == BUSY_TRY_AGAIN  # to the person
        # Nothing was kept, and that is what the person was told; the log has the words.
        assert not [a for a in app.engine.store.answers(iid) if "Priya" in a.text]
        assert any(
            "our owner is Priya" in r.getMessage() and iid in r.getMessage() for r in caplog.records
        )
        app.send.reply("skip", thread_ts=thread_ts)  # trying again works
        app.idle()
        assert question_count(fake, thread_ts) == 2
    finally:
        app.stop()


def test_a_lock_taken_mid_step_keeps_the_reply_and_answers_once_it_is_free(
    fake: FakeSlack, isolated_db: Path, short_timeout: None
) -> None:
    app = run_app(fake)
    try:
        thread_ts = start(app, fake)
        iid = interview_id(TEAM, CHANNEL, thread_ts)
        engine: Any = app.engine
        real_reply = engine.reply
        lockers: list[Locker] = []

        def reply_under_a_lock(*args: Any, **kwargs: Any) -> Any:
            if not lockers:  # the first try meets a database someone else holds
                lockers.append(Locker(isolated_db, 0.5).__enter__())
            return real_reply(*args, **kwargs)

        engine.reply = reply_under_a_lock
        app.send.reply("skip", thread_ts=thread_ts)
        app.idle()  # includes the retries
        lockers[0].__exit__()
        said = [str(e.get("text")) for e in fake.ephemeral]  # to the person who replied
        assert said.count(BUSY_KEPT) == 1  # told once that the reply waits
        assert question_count(fake, thread_ts) == 2  # and then it was answered
        assert [a.text for a in app.engine.store.answers(iid)].count("skip") == 1
        assert not app.advisor.tables.inbox(waiting=True)
    finally:
        app.stop()
