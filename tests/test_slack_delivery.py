"""Getting a reply to Slack whatever happens: Web API retries, the memo as text when the file
is refused, apologies when a step fails, many threads at once, and restarts and kills."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from slack_fake import TEAM, FakeSlack, Serve
from slack_harness import (
    CHANNEL,
    USE_CASE,
    Running,
    answer,
    app,
    fake,
    last_question,
    run_app,
    start,
)

from bot.slack.payloads import interview_id

__all__ = ["app", "fake"]  # fixtures


def test_rate_limits_and_server_errors_from_the_web_api_are_retried(
    app: Running, fake: FakeSlack
) -> None:
    fake.fail_next(1, 429, retry_after=0, method="chat.postMessage")
    fake.fail_next(1, 500, method="chat.postMessage")
    fake.fail_next(1, 503, method="chat.getPermalink")
    thread_ts = start(app, fake)
    statuses = [c.method for c in fake.calls if c.method == "chat.postMessage"]
    assert len(statuses) >= 4  # two failed attempts, then the parent and the first question
    assert fake.messages[(CHANNEL, thread_ts)]["text"].endswith(USE_CASE)
    assert last_question(fake, thread_ts)
    record = app.engine.store.get_interview(interview_id(TEAM, CHANNEL, thread_ts))
    assert record is not None and record.origin.get("permalink")


def test_a_failing_handler_apologises_to_the_person_and_logs_the_thread_id(
    app: Running, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine on fire")

    monkeypatch.setattr(app.engine, "reply", broken)
    with caplog.at_level(logging.ERROR, logger="advisor.slack"):
        app.send.reply("skip", thread_ts=thread_ts, user="U0BEN")
        app.idle()
    sorry = fake.ephemeral[-1]  # to the person, in the thread; not to the whole channel
    assert "Sorry, something went wrong" in sorry["text"]
    assert sorry["user"] == "U0BEN" and sorry["thread_ts"] == thread_ts
    assert all("Sorry" not in m["text"] for m in fake.replies(CHANNEL, thread_ts))
    assert any(iid in r.getMessage() and r.exc_info for r in caplog.records)
    monkeypatch.undo()
    app.send.reply("skip", thread_ts=thread_ts)  # the thread still works afterwards
    app.idle()
    assert len(fake.questions(CHANNEL, thread_ts)) == 2


def test_an_error_before_the_work_is_queued_still_apologises_and_logs(
    app: Running, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")  # a full disk is a 503: tests/test_faults_disk_full.py

    monkeypatch.setattr(app.advisor.tables, "receive", broken)  # keeping the reply fails
    with caplog.at_level(logging.ERROR, logger="advisor.slack"):
        sent = app.send.reply("skip", thread_ts=thread_ts)
        app.idle()
    assert sent.status == 400  # a bug fails the same way on a retry; the error is ours to report
    assert "Sorry, something went wrong" in fake.ephemeral[-1]["text"]
    assert any(iid in r.getMessage() for r in caplog.records)


def test_memo_is_posted_as_text_when_the_upload_fails(
    app: Running, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    fake.fail_uploads = True
    with caplog.at_level(logging.ERROR, logger="advisor.slack"):
        app.send.reply("memo", thread_ts=thread_ts)
        app.idle()
    memo = app.engine.store.latest_memo(iid)
    assert memo is not None  # saved whatever Slack did
    assert any("upload failed" in r.getMessage() and iid in r.getMessage() for r in caplog.records)
    texts = [m["text"] for m in fake.replies(CHANNEL, thread_ts)]
    texts = [t for t in texts if not t.startswith("The memo as a canvas")]
    start_at = next(n for n, t in enumerate(texts) if "couldn't attach decision-memo.md" in t)
    body = "".join(texts[start_at + 1 :]).replace("\n", "")
    assert (
        memo.markdown.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "")
        == body
    )


def test_twelve_interviews_starting_at_once_are_all_acknowledged_inside_slacks_3s(
    app: Running, fake: FakeSlack
) -> None:
    users = ["U0ANA", "U0BEN", "U0CHI"] * 4
    with ThreadPoolExecutor(len(users)) as pool:
        sent = list(pool.map(lambda u: app.send.command(f"use case of {u}", user=u), users))
    assert all(s.status == 200 for s in sent)
    assert max(s.seconds for s in sent) < 3.0  # Slack's hard limit for an acknowledgement
    app.idle()
    assert len(fake.parents()) == 12
    for parent_ts in fake.parents():
        assert fake.questions(CHANNEL, parent_ts)


def test_a_new_process_on_the_same_database_continues_the_interview(fake: FakeSlack) -> None:
    first = run_app(fake)
    thread_ts = start(first, fake)
    answer(first, fake, thread_ts, press_buttons=True, user="U0ANA")
    asked_before = [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]
    first.stop()  # the old app is gone; a new one opens the same ADVISOR_DB
    second = run_app(fake)
    try:
        qid = answer(second, fake, thread_ts, press_buttons=False, user="U0BEN")
        assert qid == asked_before[-1]
        asked = [
            m["metadata"]["event_payload"]["question_id"]
            for m in fake.questions(CHANNEL, thread_ts)
        ]
        assert asked[: len(asked_before)] == asked_before and len(asked) == len(asked_before) + 1
    finally:
        second.stop()


def test_a_typed_answer_after_a_restart_still_takes_the_buttons_off_the_old_question(
    fake: FakeSlack,
) -> None:
    first = run_app(fake)
    thread_ts = start(first, fake)
    question = last_question(fake, thread_ts)
    assert [b for b in question["blocks"] if b["type"] == "actions"]  # buttons, for "task"
    first.stop()  # the message id lives in the store, not in this process
    second = run_app(fake)
    try:
        second.send.reply("classification", thread_ts=thread_ts, user="U0BEN")
        second.idle()
        tidied = fake.messages[(CHANNEL, question["ts"])]
        assert tidied.get("edited")
        assert not [b for b in tidied["blocks"] if b["type"] == "actions"]
        assert "<@U0BEN> replied in the thread" in json.dumps(tidied["blocks"])
        assert len(fake.questions(CHANNEL, thread_ts)) == 2
    finally:
        second.stop()


def test_kill_9_mid_interview_and_the_next_reply_continues(fake: FakeSlack, tmp_path: Path) -> None:
    """The real command, killed without warning between two answers."""
    serve = Serve(fake)
    try:
        serve.send.command(USE_CASE)
        thread_ts = fake.wait_for(lambda: fake.parents())[0]
        first = fake.wait_for(lambda: fake.questions(CHANNEL, thread_ts))
        serve.send.reply("skip", thread_ts=thread_ts)
        fake.wait_for(lambda: len(fake.questions(CHANNEL, thread_ts)) == 2)
    finally:
        serve.kill()  # SIGKILL: no shutdown code runs
    serve = Serve(fake)
    try:
        serve.send.reply("skip", thread_ts=thread_ts)
        fake.wait_for(lambda: len(fake.questions(CHANNEL, thread_ts)) == 3)
        asked = [
            m["metadata"]["event_payload"]["question_id"]
            for m in fake.questions(CHANNEL, thread_ts)
        ]
        assert asked[0] == first[0]["metadata"]["event_payload"]["question_id"]
        assert len(set(asked)) == 3  # it went on to a new question, not back to the start
    finally:
        serve.stop()
