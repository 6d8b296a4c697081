"""The app tables: answers kept in order, Slack retries deduplicated, memos versioned, and
the queries App Home and `/advisor list` use."""

from __future__ import annotations

import threading
from pathlib import Path

from graph.store import Store


def test_a_slack_event_is_new_only_the_first_time() -> None:
    store = Store()
    assert store.seen_event("Ev1") is True
    assert store.seen_event("Ev1") is False
    assert store.seen_event("Ev2") is True


def test_seen_event_is_true_exactly_once_under_concurrent_retries() -> None:
    store = Store()
    results: list[bool] = []
    lock = threading.Lock()

    def deliver() -> None:
        first = store.seen_event("EvRace")
        with lock:
            results.append(first)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_answers_are_kept_verbatim_in_order_per_interview() -> None:
    store = Store()
    store.create_interview("a", use_case="x", by="dana")
    assert store.record_answer("a", question_id="volume", text="~200k", by="dana") == 1
    assert store.record_answer("b", question_id="volume", text="5k", by="lee") == 1
    assert (
        store.record_answer("a", question_id="task", text="", by="lee", values=["classification"])
        == 2
    )
    rows = store.answers("a")
    assert [(r.seq, r.text, r.by, r.values) for r in rows] == [
        (1, "~200k", "dana", None),
        (2, "", "lee", ["classification"]),
    ]


def test_saving_the_same_memo_version_twice_does_not_duplicate_it() -> None:
    store = Store()
    store.create_interview("i1", use_case="Route tickets", by="dana", origin={"channel": "C1"})
    args = dict(interview_id="i1", markdown="# m", assessment={"approach": "rag"}, use_case="u")
    one = store.save_memo(version=1, **args)  # type: ignore[arg-type]
    again = store.save_memo(version=1, **args)  # type: ignore[arg-type]
    two = store.save_memo(version=2, **args)  # type: ignore[arg-type]
    assert one.id == again.id != two.id
    assert len(store.list_memos()) == 2
    latest = store.latest_memo("i1")
    assert latest is not None and latest.version == 2
    interview = store.get_interview("i1")
    assert interview is not None
    assert interview.status == "done" and interview.memo_id == two.id
    assert interview.origin == {"channel": "C1"}


def test_a_memo_can_be_found_by_a_unique_prefix_of_its_id() -> None:
    store = Store()
    memo = store.save_memo(
        interview_id="i1", version=1, markdown="# m", assessment={}, use_case="u"
    )
    found = store.get_memo(memo.id[:4])
    assert found is not None and found.id == memo.id
    assert store.get_memo("") is None


def test_tables_live_in_the_advisor_database(isolated_db: Path) -> None:
    Store().create_interview("i1", use_case="u", by="dana")
    reopened = Store(isolated_db)
    assert reopened.get_interview("i1") is not None
    assert {"interviews", "answers", "memos", "events", "usage"} <= set(reopened.db.table_names())


def test_token_usage_adds_up_per_interview() -> None:
    store = Store()
    store.record_usage("i1", model="m", purpose="extract", input_tokens=100, output_tokens=10)
    store.record_usage(
        "i1", model="m", purpose="prose", input_tokens=50, output_tokens=5, cache_read_tokens=80
    )
    assert store.usage("i1") == {
        "calls": 2,
        "input_tokens": 150,
        "output_tokens": 15,
        "cache_read_tokens": 80,
        "cache_write_tokens": 0,
    }


def test_interviews_by_channel_prefix_and_by_who_took_part() -> None:
    store = Store()
    store.create_interview(
        "T:C1:1",
        use_case="a",
        by="Ana",
        at="2024-01-01T00:00:00+00:00",
        origin={"user_id": "U0ANA"},
    )
    store.create_interview(
        "T:C1:2",
        use_case="b",
        by="Ben",
        at="2024-01-02T00:00:00+00:00",
        origin={"user_id": "U0BEN"},
    )
    store.create_interview(
        "T:C2:3",
        use_case="c",
        by="Ben",
        at="2024-01-03T00:00:00+00:00",
        origin={"user_id": "U0BEN"},
    )
    store.create_interview("T:C1_:4", use_case="d", by="Chi", at="2024-01-04T00:00:00+00:00")
    store.record_answer(
        "T:C2:3",
        question_id="task",
        text="x",
        by="Ana Lopez",
        at="2024-01-05T00:00:00+00:00",
        author_id="U0ANA",
    )
    # A namesake's answer (another person, the same display name) is not Ana's.
    store.record_answer("T:C1:2", question_id="task", text="y", by="Ana Lopez", author_id="U0ANB")
    assert [r.id for r in store.list_interviews(prefix="T:C1:")] == ["T:C1:2", "T:C1:1"]
    assert [r.id for r in store.list_interviews(prefix="T:C1:", limit=1)] == ["T:C1:2"]
    mine = store.list_interviews(prefix="T:", involving="U0ANA")
    assert [r.id for r in mine] == ["T:C2:3", "T:C1:1"]  # started one, answered in another
