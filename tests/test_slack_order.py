"""Replies in one thread are applied in Slack's order (the message ``ts``), however close
together they come and whichever worker or process picks them up (issue 12, item 1).

A team pastes four answers one after another, each acknowledged before the next is sent:
"1" (the task: classification), then the answers to the next three questions. Each must land
on its own question, never "8" on the task."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from slack_fake import TEAM, FakeSlack, Serve, SlackSender
from slack_harness import CHANNEL, Running, run_app, start

from bot.slack.payloads import interview_id
from graph.store import Store

THREADS = 10


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def _questions_after(fake: FakeSlack, thread_ts: str) -> list[str]:
    return [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]


def _reference(fake: FakeSlack) -> tuple[list[str], list[str]]:
    """The four replies and the questions they answer when sent one at a time, slowly."""
    running = run_app(fake)
    try:
        ts = start(running, fake)
        replies = ["1", "8", "none", "yes"]
        for text in replies:
            assert running.send.reply(text, thread_ts=ts).status == 200
            running.idle()
        iid = interview_id(TEAM, CHANNEL, ts)
        answered = [(a.question_id, a.text) for a in running.engine.store.answers(iid)][1:]
    finally:
        running.stop()
    assert [text for _, text in answered] == replies
    return replies, [qid for qid, _ in answered]


def _send_back_to_back(senders: list[SlackSender], thread_ts: str, replies: list[str]) -> None:
    """Each reply as soon as the one before was acknowledged, alternating between senders
    (processes) when there are several."""
    for n, text in enumerate(replies):
        sent = senders[n % len(senders)].reply(text, thread_ts=thread_ts, user="U0ANA")
        assert sent.status == 200


def _check(store: Store, threads: list[str], replies: list[str], expected: list[str]) -> None:
    wrong = {}
    for ts in threads:
        got = [(a.question_id, a.text) for a in store.answers(interview_id(TEAM, CHANNEL, ts))]
        if got[1:] != list(zip(expected, replies, strict=True)):
            wrong[ts] = got[1:]
    assert not wrong, f"{len(wrong)} of {len(threads)} threads got answers out of order: {wrong}"


def test_replies_sent_back_to_back_land_on_their_own_questions(fake: FakeSlack) -> None:
    replies, expected = _reference(fake)
    running: Running = run_app(fake)
    try:
        threads = [start(running, fake) for _ in range(THREADS)]
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda ts: _send_back_to_back([running.send], ts, replies), threads))
        running.idle()
        _check(running.engine.store, threads, replies, expected)
    finally:
        running.stop()


def test_replies_split_between_two_processes_land_in_order(
    fake: FakeSlack, isolated_db: Path
) -> None:
    replies, expected = _reference(fake)
    first = Serve(fake)
    second = None
    try:
        before = len(fake.parents())
        for n in range(4):
            first.send.command(f"classify support emails, team {n}")
        threads = fake.wait_for(
            lambda: fake.parents()[before:] if len(fake.parents()) >= before + 4 else None
        )
        for ts in threads:
            fake.wait_for(lambda ts=ts: _questions_after(fake, ts))
        second = Serve(fake)
        senders = [first.send, second.send]
        with ThreadPoolExecutor(len(threads)) as pool:
            list(pool.map(lambda ts: _send_back_to_back(senders, ts, replies), threads))
        for ts in threads:
            fake.wait_for(
                lambda ts=ts: len(_questions_after(fake, ts)) >= 1 + len(replies), timeout=20
            )
        _check(Store(), threads, replies, expected)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_reply_that_arrives_after_a_later_one_is_not_read_against_the_wrong_question(
    fake: FakeSlack,
) -> None:
    """Slack redelivers "1" after "8", typed after it, was applied: "1" was typed for an
    earlier question, so it must not become the answer to the current one."""
    running = run_app(fake)
    try:
        ts = start(running, fake)
        early = running.send.reply_event("1", thread_ts=ts)
        later = running.send.reply_event("8", thread_ts=ts)
        assert running.send.event(later).status == 200
        running.idle()
        assert running.send.event(early, retry=1).status == 200
        running.idle()
        iid = interview_id(TEAM, CHANNEL, ts)
        answered = [a.text for a in running.engine.store.answers(iid)][1:]
        assert answered == ["8"]  # "1" was not applied to the question after the task
        said = [m.get("text", "") for m in fake.replies(CHANNEL, ts)]
        assert any("reached me late" in text for text in said)
    finally:
        running.stop()


def test_an_earlier_reply_that_fails_does_not_hold_up_the_ones_after_it(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept out of order (the earlier message second), the earlier one runs first; when it
    fails, its sender hears sorry and the later reply is still answered."""
    from bot.slack.payloads import Where
    from bot.slack.webapi import APOLOGY

    running = run_app(fake)
    try:
        ts = start(running, fake)
        iid = interview_id(TEAM, CHANNEL, ts)
        real = running.engine.reply

        def reply(interview: str, text: str, *, by: str, **kw: object) -> list[object]:
            if text == "boom":
                raise RuntimeError("a bug")
            return real(interview, text, by=by, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(running.advisor.engine, "reply", reply)
        inbox, where = running.advisor.inbox, Where(CHANNEL, ts, "U0ANA")
        gate = threading.Event()
        running.advisor.runner.submit(iid, lambda: gate.wait(5))  # both kept before either runs
        inbox.keep("reply", iid, where, {"text": "1"}, ts="1700000000.900002")
        inbox.keep("reply", iid, where, {"text": "boom"}, ts="1700000000.900001")
        gate.set()
        running.idle()
        assert [a.text for a in running.engine.store.answers(iid)][1:] == ["1"]
        assert any(m.get("text") == APOLOGY for m in fake.ephemeral)  # to the sender
        assert not running.advisor.tables.inbox(waiting=True)
    finally:
        running.stop()


def test_two_people_answering_one_question_together_do_not_answer_the_next(
    fake: FakeSlack,
) -> None:
    """Ana and Ben both answer the task question before the next one is posted: Ana's
    answer (first in Slack) is applied; Ben's is not read against the question after it."""
    from bot.slack.step import ANSWERED_BEFORE_YOU

    running = run_app(fake)
    try:
        ts = start(running, fake)
        assert running.send.reply("1", thread_ts=ts, user="U0ANA").status == 200
        assert running.send.reply("4", thread_ts=ts, user="U0BEN").status == 200
        running.idle()
        iid = interview_id(TEAM, CHANNEL, ts)
        answered = [(a.question_id, a.text) for a in running.engine.store.answers(iid)][1:]
        assert answered == [("task", "1")]
        said = [m.get("text", "") for m in fake.replies(CHANNEL, ts)]
        assert any(ANSWERED_BEFORE_YOU.split(",")[0] in text for text in said)
        # Ben's next reply, typed under the question he now sees, is applied.
        assert running.send.reply("none", thread_ts=ts, user="U0BEN").status == 200
        running.idle()
        answers = [a.text for a in running.engine.store.answers(iid)][1:]
        assert answers == ["1", "none"]
    finally:
        running.stop()
