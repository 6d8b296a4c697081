"""Kill -9 at every step boundary of an interview, with the real ``advisor serve``.

Each run is started with ADVISOR_FAULT set to one boundary, so the process dies exactly
there (os._exit, as under kill -9); the next run on the same database must lose nothing and
leave no thread hanging: the pending question, the unsent messages, the unhandled reply and
the half-uploaded memo all arrive, each once.
"""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Iterator

import pytest
from slack_fake import TEAM, FakeSlack, Serve

from bot.slack.payloads import interview_id
from bot.slack.tables import SlackTables
from graph.store import Store

CHANNEL = "C0CHAN"
USE_CASE = "classify support emails into 12 categories"
KILLED = 137


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def question_ids(fake: FakeSlack, thread_ts: str) -> list[str]:
    return [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]


def texts(fake: FakeSlack, thread_ts: str) -> list[str]:
    return [str(m.get("text") or "") for m in fake.replies(CHANNEL, thread_ts)]


def run(fake: FakeSlack, fault: str | None = None) -> Serve:
    return Serve(fake, fault=fault)


def reply_and_die(serve: Serve, text: str, thread_ts: str) -> None:
    """Send a reply to a process set to die while handling it. The reply is kept before the
    ack, so the process may die before its 200 is written: Slack sees a dropped
    connection then, and sends the event again (the event id keeps it once)."""
    with contextlib.suppress(http.client.RemoteDisconnected, ConnectionError):
        serve.send.reply(text, thread_ts=thread_ts)


def test_kill_9_at_every_step_boundary_loses_nothing_and_leaves_no_thread_hanging(
    fake: FakeSlack,
) -> None:
    store = Store()  # the same ADVISOR_DB the processes use, read from outside
    tables = SlackTables(store)

    # 1. Killed after the answer is saved, before anything it says is queued.
    serve = run(fake, "after_answer:2")  # the second engine step: the first reply
    try:
        serve.send.command(USE_CASE)
        thread_ts = fake.wait_for(lambda: fake.parents())[0]
        fake.wait_for(lambda: fake.questions(CHANNEL, thread_ts))
        iid = interview_id(TEAM, CHANNEL, thread_ts)
        reply_and_die(serve, "skip", thread_ts)
        assert serve.died() == KILLED
    finally:
        serve.kill()
    assert question_ids(fake, thread_ts) == ["task"]  # nothing after the answer went out
    assert [a.text for a in store.answers(iid)][-1] == "skip"  # but the answer is saved

    # 2. On restart the pending question is posted (the reply left unfinished is caught up,
    #    not answered twice: that is step 1 of this run). Then killed with the next step's
    #    messages queued but not yet posted.
    serve = run(fake, "before_post:2")
    try:
        fake.wait_for(lambda: len(question_ids(fake, thread_ts)) == 2)
        reply_and_die(serve, "skip", thread_ts)
        assert serve.died() == KILLED
    finally:
        serve.kill()
    assert len(question_ids(fake, thread_ts)) == 2
    assert [o for o in tables.outbox(iid) if o.delivered_at is None]  # queued, unsent

    # 3. On restart the queued messages go out. Then killed after the reply is kept but
    #    before the engine sees it.
    serve = run(fake, "before_answer")
    try:
        fake.wait_for(lambda: len(question_ids(fake, thread_ts)) == 3)
        reply_and_die(serve, "skip", thread_ts)
        assert serve.died() == KILLED
    finally:
        serve.kill()
    assert len(question_ids(fake, thread_ts)) == 3
    assert [i.payload["text"] for i in tables.inbox(waiting=True)] == ["skip"]

    # 4. On restart the kept reply is handled. Then "memo", killed in the middle of the
    #    file upload (bytes sent, file not yet attached to the thread).
    serve = run(fake, "during_upload")
    try:
        fake.wait_for(lambda: len(question_ids(fake, thread_ts)) == 4)
        reply_and_die(serve, "memo", thread_ts)
        assert serve.died() == KILLED
    finally:
        serve.kill()
    summaries = [m for m in fake.replies(CHANNEL, thread_ts) if "Decision memo" in m["text"]]
    assert len(summaries) == 1
    assert not [f for f in fake.thread(CHANNEL, thread_ts) if f.get("type") == "file"]

    # 5. On restart the memo file arrives. Then a reply in the finished thread, killed after
    #    Slack took the answer but before it was marked sent.
    serve = run(fake, "after_post")
    try:
        files = fake.wait_for(
            lambda: [f for f in fake.thread(CHANNEL, thread_ts) if f.get("completed")]
        )
        reply_and_die(serve, "thanks", thread_ts)
        assert serve.died() == KILLED
    finally:
        serve.kill()
    posted = len(fake.called("chat.postMessage"))

    # 6. A clean run finds that message already in the thread and does not post it again.
    serve = run(fake)
    try:
        fake.wait_for(lambda: not [o for o in tables.outbox(iid) if o.delivered_at is None])
        assert len(fake.called("chat.postMessage")) == posted
    finally:
        serve.stop()

    memo = store.latest_memo(iid)
    assert memo is not None
    assert [f["content"].decode() for f in files] == [memo.markdown]
    asked = question_ids(fake, thread_ts)
    assert len(asked) == len(set(asked)) == 4  # every question once, none lost
    said = [a.text for a in store.answers(iid)]
    assert said[1:] == ["skip", "skip", "skip", "memo", "thanks"]  # each reply once
    skipped = [t for t in texts(fake, thread_ts) if t.startswith("Skipped")]
    assert len(skipped) == 2  # step 1's reply died with its process; steps 2 and 3 arrived
    done = [t for t in texts(fake, thread_ts) if "memo is written" in t]
    assert len(done) == 1  # the reply Slack already had was not posted twice
    assert not tables.inbox(waiting=True)
    assert all(o.gave_up_at is None for o in tables.outbox(iid))
