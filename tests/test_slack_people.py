"""People are known by their Slack user id (issue 14, item 1): two people who share a display
name never see each other's interviews, a rename keeps someone's history, and a private
channel's use case and link reach only the people who took part."""

from __future__ import annotations

import json
from typing import Any

import pytest
import slack_fake
from slack_fake import TEAM, FakeSlack
from slack_harness import CHANNEL, Running, app, fake, run_app, start

from bot.slack.payloads import interview_id
from graph.interview import Interviews
from graph.store import Store

__all__ = ["app", "fake"]  # fixtures

PRIVATE = "G0PRIV"  # a private channel (the U0ANB twin is not in it)


@pytest.fixture
def twins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second "Ana Lopez" in the workspace, a different person."""
    monkeypatch.setitem(slack_fake.USERS, "U0ANB", "Ana Lopez")


def _home(app: Running, fake: FakeSlack, user: str) -> str:
    app.send.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    app.idle()
    published = [c for c in fake.called("views.publish") if c.args["user_id"] == user]
    assert published, f"no App Home for {user}"
    return json.dumps(published[-1].args["view"])


def _start_in(app: Running, fake: FakeSlack, channel: str, text: str, user: str) -> str:
    app.send.command(text, user=user, channel=channel)
    app.idle()
    return fake.parents()[-1]


def test_a_namesake_never_sees_a_private_channels_interview(
    twins: Any, app: Running, fake: FakeSlack
) -> None:
    # Ben starts an interview in a private channel; Ana (U0ANA) answers in it.
    thread = _start_in(app, fake, PRIVATE, "triage merger documents for Project Falcon", "U0BEN")
    app.send.reply("no", thread_ts=thread, user="U0ANA", channel=PRIVATE)
    app.idle()
    iid = interview_id(TEAM, PRIVATE, thread)
    assert [a.author_id for a in app.engine.store.answers(iid)][-1] == "U0ANA"

    assert "Project Falcon" in _home(app, fake, "U0ANA")
    other = _home(app, fake, "U0ANB")  # same display name, another person
    assert "Project Falcon" not in other
    assert PRIVATE not in other  # nor the thread's permalink


def test_two_people_with_one_name_are_two_people_in_the_record(
    twins: Any, app: Running, fake: FakeSlack
) -> None:
    thread = start(app, fake, user="U0ANA")
    app.send.reply("no", thread_ts=thread, user="U0ANB")
    app.idle()
    answers = app.engine.store.answers(interview_id(TEAM, CHANNEL, thread))
    assert [(a.by, a.author_id) for a in answers] == [
        ("Ana Lopez", "U0ANA"),
        ("Ana Lopez", "U0ANB"),
    ]
    # The second Ana answered, so the interview is hers to see too; but only that one.
    start(app, fake, "only the first Ana's use case", user="U0ANA")
    assert "only the first Ana" not in _home(app, fake, "U0ANB")


def test_a_rename_keeps_the_interviews_someone_answered_in(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    db = tmp_path / "advisor.db"
    running = run_app(fake, Interviews(db))
    try:
        thread = start(running, fake, "summarise sales calls", user="U0BEN")
        running.send.reply("no", thread_ts=thread, user="U0CHI")
        running.idle()
    finally:
        running.stop()
    # Chi renames herself; the app restarts (its name cache is empty again).
    monkeypatch.setitem(slack_fake.USERS, "U0CHI", "Chi N.")
    running = run_app(fake, Interviews(db))
    try:
        assert "summarise sales calls" in _home(running, fake, "U0CHI")
    finally:
        running.stop()


def test_an_older_database_gains_the_author_column(tmp_path: Any) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE answers (interview_id TEXT, seq INTEGER, question_id TEXT, by TEXT,"
        ' at TEXT, text TEXT, "values" TEXT, PRIMARY KEY (interview_id, seq))'
    )
    conn.execute("INSERT INTO answers VALUES ('i', 1, 'task', 'Ana Lopez', 'now', 'x', NULL)")
    conn.commit()
    conn.close()
    store = Store(db)
    try:
        assert [a.author_id for a in store.answers("i")] == [""]
        store.record_answer("i", question_id="eval", text="y", by="Ana Lopez", author_id="U0ANA")
        assert [a.author_id for a in store.answers("i")] == ["", "U0ANA"]
    finally:
        store.close()
