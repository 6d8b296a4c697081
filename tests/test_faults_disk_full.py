"""The inbox cannot be written (a full disk; here a real SQLite file capped with
``max_page_count``): ``advisor serve`` must not ack 200 nor say anything is saved. It answers
5xx, so Slack delivers the reply again, and the redelivery is kept once there is room
(issue 12, item 3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_fake import TEAM, FakeSlack
from slack_harness import CHANNEL, Running, run_app, start

from bot.slack.payloads import interview_id


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def _fill_disk(running: Running, full: bool) -> None:
    db = running.engine.store.db
    with running.engine.store.read():
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages if full else 1073741823}")


def test_a_reply_the_inbox_cannot_keep_gets_an_error_and_no_saved_message(
    fake: FakeSlack,
) -> None:
    running = run_app(fake)
    try:
        ts = start(running, fake)
        iid = interview_id(TEAM, CHANNEL, ts)
        before = len(fake.replies(CHANNEL, ts))
        text = "classification " + "of support emails by topic and urgency " * 800  # ~30 KB
        event = running.send.reply_event(text, thread_ts=ts)
        _fill_disk(running, True)
        sent = running.send.event(event, event_id="EvDISKFULL1")
        running.idle()
        assert sent.status >= 500  # Slack delivers it again
        said = [m.get("text", "") for m in fake.replies(CHANNEL, ts)[before:]]
        assert not any("saved" in s.lower() for s in said), said
        assert len(running.engine.store.answers(iid)) == 1  # only the use case

        _fill_disk(running, False)  # room again: Slack's retry is kept and answered
        again = running.send.event(event, event_id="EvDISKFULL1", retry=1)
        running.idle()
        assert again.status == 200
        answers = running.engine.store.answers(iid)
        assert [a.question_id for a in answers][1:] == ["task"]
        assert text.startswith(answers[-1].text[:1000])
    finally:
        running.stop()
