"""The Slack tables' outbox, inbox and thread holds under contention: each message is
claimed by one sender only, in order per interview; work of a dead process is taken over."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import defaultdict

import pytest

from bot.slack.tables import Busy, SlackTables, new_owner, retire_owner
from graph.store import Store


def dead_owner() -> str:
    """The owner name of a process that has exited."""
    proc = subprocess.run(
        [sys.executable, "-c", "from bot.slack.tables import new_owner; print(new_owner())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_racing_senders_on_two_connections_send_each_message_once_and_in_order() -> None:
    writer = SlackTables(Store())
    interviews = [f"T:C:{n}" for n in range(4)]
    for iid in interviews:
        writer.enqueue(iid, [("post", {"n": n}) for n in range(25)])
    sent: dict[str, list[int]] = defaultdict(list)
    claims: list[int] = []
    guard = threading.Lock()

    def sender(store: SlackTables) -> None:
        owner = new_owner()
        for _ in range(400):
            for iid in interviews:
                item = store.claim_next(iid, owner)
                if item is None:
                    continue
                with guard:
                    claims.append(item.id)
                    sent[iid].append(int(item.payload["n"]))
                assert store.delivered(item.id, owner)

    # Two connections, as two processes would have.
    stores = [SlackTables(Store()), SlackTables(Store())]
    threads = [threading.Thread(target=sender, args=(stores[n % 2],)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claims) == len(set(claims)) == 100  # every message claimed exactly once
    for iid in interviews:
        assert sent[iid] == list(range(25))  # and sent in the order it was queued
    assert all(o.delivered_at for o in writer.outbox())


def test_a_message_waiting_for_a_retry_holds_back_the_ones_behind_it() -> None:
    store = SlackTables(Store())
    owner = new_owner()
    store.enqueue("i", [("post", {"n": 1}), ("post", {"n": 2})])
    item = store.claim_next("i", owner)
    assert item is not None and item.payload == {"n": 1}
    store.retry_later(item.id, owner, "HTTP 500: fatal", not_before=9e12)
    assert store.claim_next("i", owner) is None  # n=2 must not overtake n=1
    ready, soonest = store.outbox_due(owner)
    assert ready == [] and soonest == 9e12


def test_a_claim_of_a_dead_process_is_taken_over_and_a_live_one_is_not() -> None:
    store = SlackTables(Store())
    store.enqueue("i", [("post", {"n": 1})])
    alive, other = new_owner(), new_owner()
    assert store.claim_next("i", alive) is not None
    assert store.claim_next("i", other) is None  # alive is still sending it
    retire_owner(alive)  # as if it had died
    taken = store.claim_next("i", other)
    assert taken is not None and taken.attempts == 2  # the second try: it may have been sent
    assert not store.delivered(taken.id, alive)  # the old owner can no longer mark it
    assert store.delivered(taken.id, other)


def test_unhandled_inbox_items_of_a_dead_process_are_adopted_once() -> None:
    store = SlackTables(Store())
    gone = dead_owner()
    live = new_owner()
    kept = store.receive("i", "reply", {"text": "82%"}, owner=gone, event_id="Ev1")
    assert kept is not None
    assert store.receive("i", "reply", {"text": "82%"}, owner=gone, event_id="Ev1") is None
    store.receive("j", "reply", {"text": "mine"}, owner=live)
    adopted = store.adopt_inbox(new_owner())
    assert [i.payload["text"] for i in adopted] == ["82%"]  # not the live process's item
    assert store.adopt_inbox(new_owner()) == []  # and only once


def test_a_thread_is_worked_on_by_one_process_at_a_time() -> None:
    store, other_store = SlackTables(Store()), SlackTables(Store())
    first, second = new_owner(), new_owner()
    store.hold_thread("i", first, thread=("C", "1.0"))
    store.hold_thread("i", first)  # re-entrant for its holder
    with pytest.raises(Busy):
        other_store.hold_thread("i", second, wait=0.1)
    store.release_thread("i", first)
    other_store.hold_thread("i", second, wait=0.1)
    thread = store.thread("i")
    assert thread is not None and thread.holder == second and thread.channel == "C"


def test_sent_messages_are_pruned_but_each_interviews_newest_is_kept() -> None:
    store = SlackTables(Store())
    owner = new_owner()
    store.enqueue("i", [("post", {"n": n}) for n in range(3)])
    while (item := store.claim_next("i", owner)) is not None:
        store.delivered(item.id, owner, sent_ts=f"1.{item.id}")
    assert store.prune(older_than=0) == 2
    [kept] = store.outbox("i")
    assert kept.sent_ts == "1.3" and kept.payload == {}
    assert store.last_sent_ts("i", before=99) == "1.3"


def test_a_thread_runs_its_items_in_slacks_order_and_an_old_inbox_gains_the_column() -> None:
    store = Store()
    with store.write() as db:  # an inbox from before items carried Slack's ts
        db.execute(
            "CREATE TABLE inbox (id INTEGER PRIMARY KEY, interview_id TEXT NOT NULL, "
            "kind TEXT NOT NULL, payload TEXT NOT NULL, event_id TEXT, received_at TEXT "
            "NOT NULL, claimed_by TEXT, claimed_at FLOAT, started_key TEXT, done_at TEXT, "
            "attempts INTEGER DEFAULT 0, last_error TEXT)"
        )
    tables = SlackTables(store)
    owner = new_owner()
    later = tables.receive("T:C:1", "reply", {"text": "8"}, owner=owner, order_ts="1700000000.2")
    first = tables.receive("T:C:1", "reply", {"text": "1"}, owner=owner, order_ts="1700000000.1")
    assert later is not None and first is not None
    nxt = tables.next_inbox("T:C:1")
    assert nxt is not None and nxt.id == first.id  # kept second, first in Slack
    tables.finish_inbox(later.id)
    assert tables.handled_later("T:C:1", "1700000000.1")  # "1" would now arrive late
    assert not tables.handled_later("T:C:1", "1700000000.3")
