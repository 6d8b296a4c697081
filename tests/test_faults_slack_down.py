"""The Slack Web API down for a while: connection refused, then 500s, then 429 with
Retry-After. Answers are kept, the interview goes on, and every message arrives once, in
order, when Slack takes calls again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_fake import TEAM, FakeSlack, press
from slack_harness import CHANNEL, Running, run_app, start

from bot.slack.payloads import interview_id


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def app(fake: FakeSlack) -> Iterator[Running]:
    running = run_app(fake, max_wait=0.2)  # a longer Retry-After is the outbox's to honour
    yield running
    if not fake.is_up:
        fake.up()
    running.stop()


def question_ids(fake: FakeSlack, thread_ts: str) -> list[str]:
    return [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]


def test_answers_given_while_slack_is_down_are_kept_and_delivered_in_order_on_recovery(
    app: Running, fake: FakeSlack
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    store = app.engine.store
    fake.down()  # connection refused
    for _ in range(2):
        assert app.send.reply("skip", thread_ts=thread_ts).status == 200
    app.idle()
    # The interview moved on without Slack: both answers are in, the messages are queued.
    assert [a.text for a in store.answers(iid)].count("skip") == 2
    pending = app.engine.pending(iid)
    assert pending is not None
    tables = app.advisor.tables
    waiting = fake.wait_for(lambda: [o for o in tables.outbox(iid) if o.attempts >= 2], timeout=5)
    assert "URLError" in str(waiting[0].last_error)  # tried, failed, and tried again
    assert question_ids(fake, thread_ts) == ["task"]

    # Slack comes back, but answers 500 twice and then 429 "wait one second".
    fake.fail_next(2, 500, method="chat.postMessage")
    fake.fail_next(1, 429, retry_after=1, method="chat.postMessage")
    fake.up()
    fake.wait_for(lambda: all(o.delivered_at for o in app.advisor.tables.outbox(iid)), timeout=10)

    posts = fake.called("chat.postMessage")
    refused = [n for n, c in enumerate(posts) if c.result is None]
    assert len(refused) == 3  # the two 500s and the 429 were really answered
    assert posts[refused[-1] + 1].at - posts[refused[-1]].at >= 1.0  # Retry-After honoured

    # Everything arrived once, in the order it was said: skipped, Q2, skipped, Q3.
    asked = question_ids(fake, thread_ts)
    assert len(asked) == len(set(asked)) == 3 and asked[-1] == pending.id
    replies = [m["text"] for m in fake.replies(CHANNEL, thread_ts)]
    skipped = [n for n, t in enumerate(replies) if t.startswith("Skipped")]
    questions = [n for n, m in enumerate(fake.replies(CHANNEL, thread_ts)) if m.get("metadata")]
    assert len(skipped) == 2 and skipped[0] < questions[1] < skipped[1] < questions[2]
    # The question answered while it could not be shown arrives without live buttons.
    late = fake.questions(CHANNEL, thread_ts)[1]
    assert not [b for b in late["blocks"] if b["type"] == "actions"]
    assert "Answered in this thread since" in str(late["blocks"])
    assert all(o.gave_up_at is None for o in app.advisor.tables.outbox(iid))


def test_a_long_retry_after_is_waited_out_by_the_outbox_not_a_worker(
    app: Running, fake: FakeSlack
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    fake.fail_next(1, 429, retry_after=1, method="chat.postMessage")
    began = time.monotonic()
    app.send.reply("skip", thread_ts=thread_ts)
    app.idle()  # the handler is done at once: the message waits in the outbox
    assert time.monotonic() - began < 1.0
    [waiting] = [o for o in app.advisor.tables.outbox(iid) if o.delivered_at is None][:1]
    assert waiting.not_before - time.time() > 0.5 and "429" in str(waiting.last_error)
    fake.wait_for(lambda: len(question_ids(fake, thread_ts)) == 2, timeout=5)
    posts = fake.called("chat.postMessage")
    refused = [c for c in posts if c.result is None][-1]
    assert posts[posts.index(refused) + 1].at - refused.at >= 1.0


def test_a_message_slack_refuses_for_good_is_dropped_and_the_rest_still_go_out(
    app: Running, fake: FakeSlack
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    fake.errors["chat.update"] = "message_not_found"  # someone deleted the old question
    message = fake.questions(CHANNEL, thread_ts)[-1]
    app.send.click(message, press(message, "Something else"))
    app.idle()
    fake.errors.clear()
    rows = app.advisor.tables.outbox(iid)
    assert [o.kind for o in rows if o.gave_up_at] == ["update"]
    assert all(o.delivered_at for o in rows if o.kind == "post")
    assert len(question_ids(fake, thread_ts)) == 2  # the thread went on
