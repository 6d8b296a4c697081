"""A database from the version that named a shown question by a hash of its rendered text
(``q:{id}:{16 hex}``) keeps working after the upgrade to ``q:{id}:{seq}`` (issue 13): an
open thread is not sent its pending question once more."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_fake import TEAM, FakeSlack
from slack_harness import CHANNEL, answer, last_id, run_app, start

from bot.slack.payloads import interview_id
from graph.interview import Interviews
from graph.turns import Question


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def hashed_key(question: Question) -> str:
    """The key the earlier version stored: a hash of the question as rendered."""
    digest = hashlib.sha1(question.model_dump_json(exclude={"seq"}).encode()).hexdigest()
    return f"q:{question.id}:{digest[:16]}"


def downgrade(db: Path, iid: str, key: str) -> None:
    """Rewrite the thread's rows by hand as the earlier version left them: what the thread
    shows, and the key its posted question was queued with."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE threads SET shown_key = ? WHERE interview_id = ?", [key, iid])
        conn.execute(
            "UPDATE outbox SET payload = json_set(payload, '$.key', ?) "
            "WHERE interview_id = ? AND json_extract(payload, '$.key') IS NOT NULL",
            [key, iid],
        )
        (shown,) = conn.execute(
            "SELECT shown_key FROM threads WHERE interview_id = ?", [iid]
        ).fetchone()
    assert shown == key


def asked(fake: FakeSlack, thread: str) -> list[str]:
    return [q["metadata"]["event_payload"]["question_id"] for q in fake.questions(CHANNEL, thread)]


def test_an_upgraded_open_thread_does_not_post_its_pending_question_again(
    fake: FakeSlack, tmp_path: Path
) -> None:
    db = tmp_path / "advisor.db"
    running = run_app(fake, Interviews(db))
    try:
        thread = start(running, fake)
        iid = interview_id(TEAM, CHANNEL, thread)
        pending = running.engine.pending(iid)
        assert pending is not None and asked(fake, thread) == [pending.id]
    finally:
        running.stop()
    downgrade(db, iid, hashed_key(pending))

    running = run_app(fake, Interviews(db))  # start-up reconciles every open thread
    try:
        running.idle()
        assert asked(fake, thread) == [pending.id]
        # An event in the thread: the pending question answered with its button.
        assert answer(running, fake, thread, press_buttons=True, user="U0ANA") == pending.id
        after = running.engine.pending(iid)
    finally:
        running.stop()
    assert after is not None and after.id != pending.id
    assert asked(fake, thread) == [pending.id, after.id]  # the first one was posted once
    assert last_id(fake, thread) == after.id


def test_a_reply_the_earlier_version_had_started_is_answered_after_the_upgrade(
    fake: FakeSlack, tmp_path: Path
) -> None:
    db = tmp_path / "advisor.db"
    running = run_app(fake, Interviews(db))
    try:
        thread = start(running, fake)
        iid = interview_id(TEAM, CHANNEL, thread)
        pending = running.engine.pending(iid)
        assert pending is not None and pending.id == "task"
    finally:
        running.stop()
    key = hashed_key(pending)
    downgrade(db, iid, key)
    # A reply the earlier version kept and began on (its started_key in the old form), then
    # stopped before the engine took it.
    ts = f"{time.time():.6f}"
    said = {"channel": CHANNEL, "thread_ts": thread, "user": "U0ANA", "text": "1", "ts": ts}
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO inbox (interview_id, kind, payload, received_at, attempts, order_ts, "
            "started_key) VALUES (?, 'reply', ?, '2026-12-01T00:00:00.000000+00:00', 1, ?, ?)",
            [iid, json.dumps(said), ts, key],
        )

    running = run_app(fake, Interviews(db))  # start-up adopts the reply nobody finished
    try:
        running.idle()
        after = running.engine.pending(iid)
        answers = running.engine.store.answers(iid)
    finally:
        running.stop()
    assert answers[-1].question_id == "task" and answers[-1].text == "1"  # answered
    assert after is not None and after.id != "task"
    assert asked(fake, thread) == ["task", after.id]  # and "task" was not posted again


def test_a_reply_whose_first_try_saved_it_and_died_is_taken_not_saved_twice(
    fake: FakeSlack, tmp_path: Path
) -> None:
    from bot.slack.plan import shown_key

    db = tmp_path / "advisor.db"
    running = run_app(fake, Interviews(db))
    try:
        thread = start(running, fake)
        iid = interview_id(TEAM, CHANNEL, thread)
        pending = running.engine.pending(iid)
        assert pending is not None and pending.id == "task"
    finally:
        running.stop()
    # The first try began (its started_key kept), saved the answer, and died before the
    # engine applied it: the state a kill -9 inside the engine step leaves.
    ts = f"{time.time():.6f}"
    said = {"channel": CHANNEL, "thread_ts": thread, "user": "U0ANA", "text": "1", "ts": ts}
    Interviews(db).store.record_answer(iid, question_id="task", text="1", by="Ana Lopez")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO inbox (interview_id, kind, payload, received_at, attempts, order_ts, "
            "started_key) VALUES (?, 'reply', ?, '2026-12-02T00:00:00.000000+00:00', 1, ?, ?)",
            [iid, json.dumps(said), ts, shown_key(pending, None)],
        )

    running = run_app(fake, Interviews(db))  # start-up adopts the reply nobody finished
    try:
        running.idle()
        after = running.engine.pending(iid)
        answers = running.engine.store.answers(iid)
    finally:
        running.stop()
    assert [a.text for a in answers if a.question_id == "task"] == ["1"]  # kept once
    assert after is not None and after.id != "task"
    assert asked(fake, thread) == ["task", after.id]
