"""Two ``advisor serve`` processes on one database file, as in a rolling restart or two
replicas: replies in different threads, the same event delivered to both, and two replies
to one thread reaching different processes at once. No duplicated question, no lost or
doubled answer, and a database that checks out."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from slack_fake import TEAM, FakeSlack, Sent, Serve, SlackSender

from bot.slack.payloads import interview_id
from bot.slack.step import LATE_REPLY
from bot.slack.tables import SlackTables
from graph.store import Store

CHANNEL = "C0CHAN"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def late(fake: FakeSlack, thread_ts: str) -> int:
    """Replies answered "it came late, send it again" instead of being applied."""
    return sum(LATE_REPLY in str(m.get("text")) for m in fake.replies(CHANNEL, thread_ts))


def question_ids(fake: FakeSlack, thread_ts: str) -> list[str]:
    return [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]


def test_two_processes_on_one_database_never_duplicate_or_lose_a_step(
    fake: FakeSlack, isolated_db: Path
) -> None:
    first = Serve(fake)
    second = None
    try:
        first.send.command("route support tickets")
        x = fake.wait_for(lambda: fake.parents())[0]
        fake.wait_for(lambda: question_ids(fake, x))
        second = Serve(fake)  # starts up (and reconciles) next to a live process
        second.send.command("summarise sales calls")
        y = fake.wait_for(lambda: fake.parents()[1:])[0]
        fake.wait_for(lambda: question_ids(fake, y))
        assert question_ids(fake, x) == ["task"]  # the newcomer re-posted nothing

        a, b = first.send, second.send
        sends: list[tuple[SlackSender, dict[str, Any], str]] = []
        rounds = 3
        for n in range(rounds):
            # Thread x: one reply that Slack delivers to both processes (same event id).
            event = a.reply_event("skip", thread_ts=x, user="U0ANA")
            sends += [(a, event, f"EvX{n}"), (b, event, f"EvX{n}")]
            # Thread y: two different replies at once, one to each process. One person's
            # replies in a row answer the questions in turn (two people's replies to one
            # question do not: tests/test_slack_order.py).
            sends.append((a, a.reply_event("skip", thread_ts=y, user="U0BEN"), f"EvYa{n}"))
            sends.append((b, b.reply_event("skip", thread_ts=y, user="U0BEN"), f"EvYb{n}"))

        def deliver(item: tuple[SlackSender, dict[str, Any], str]) -> Sent:
            sender, event, event_id = item
            return sender.event(event, event_id=event_id)

        with ThreadPoolExecutor(len(sends)) as pool:
            assert all(s.status == 200 for s in pool.map(deliver, sends))

        # Sent all at once, replies can reach advisor out of Slack's order: one that comes
        # after a later one was applied is not applied but answered with a note saying so.
        for thread_ts, sent in ((x, rounds), (y, 2 * rounds)):
            fake.wait_for(
                lambda t=thread_ts, n=sent: len(question_ids(fake, t)) - 1 + late(fake, t) == n,
                timeout=20,
            )
        store = Store()
        tables = SlackTables(store)
        fake.wait_for(lambda: all(o.delivered_at for o in tables.outbox()), timeout=10)
    finally:
        first.stop()
        if second is not None:
            second.stop()

    for thread_ts, sent in ((x, rounds), (y, 2 * rounds)):
        asked = question_ids(fake, thread_ts)
        expected = 1 + sent - late(fake, thread_ts)
        assert len(asked) == len(set(asked)) == expected  # one line of questions, no forks
        assert expected > 1
        iid = interview_id(TEAM, CHANNEL, thread_ts)
        answers = [a.text for a in store.answers(iid)][1:]  # after the use case
        assert answers == ["skip"] * (expected - 1)  # each reply once, the duplicate never
        # Every message was posted exactly once: as many posts as outbox rows.
        rows = [o for o in tables.outbox(iid) if o.kind == "post"]
        posted = [
            c
            for c in fake.called("chat.postMessage")
            if c.args.get("thread_ts") == thread_ts and c.result
        ]
        assert len(posted) == len(rows) and all(o.gave_up_at is None for o in rows)
    # Both processes did part of the work.
    workers = Counter(str(o.claimed_by).rsplit(":", 1)[0] for o in tables.outbox())
    assert len(workers) == 2
    assert not tables.inbox(waiting=True)
    with sqlite3.connect(isolated_db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        holders = conn.execute("SELECT COUNT(*) FROM threads WHERE holder IS NOT NULL")
        assert holders.fetchone()[0] == 0  # nobody is left holding a thread
