"""A thread that never stops talking: the database grows linearly, a long open interview is
compacted as it runs, and past MAX_REPLIES replies the interview says so and takes no more."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from teams import ROUTER

from graph import limits, retention
from graph.interview import Interviews
from graph.turns import MemoReady, Question, Reply, Turn

IID = "spam:1"
SPAM = "what is RAG?"  # a follow-up question: the interview stays on its question, and answers


@pytest.fixture
def service(isolated_db: Path) -> Iterator[Interviews]:
    svc = Interviews()
    yield svc
    svc.close()


def checkpoint_bytes(db: Path) -> int:
    """Bytes the checkpointer holds for the thread (its checkpoints and their writes)."""
    conn = sqlite3.connect(db)
    try:
        (cps,) = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints"
            " WHERE thread_id = ?",
            (IID,),
        ).fetchone()
        (ws,) = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (IID,)
        ).fetchone()
        return int(cps) + int(ws)
    finally:
        conn.close()


def spam(service: Interviews, n: int) -> list[Turn]:
    turns: list[Turn] = []
    for _ in range(n):
        turns = service.reply(IID, SPAM, by="troll")
    return turns


def test_each_reply_adds_about_the_same_bytes_however_long_the_thread(
    service: Interviews, isolated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What one step stores, without the compaction and the limit that also bound it.
    monkeypatch.setattr("graph.interview.compact_thread", lambda *args, **kwargs: 0)
    monkeypatch.setattr("graph.interview.MAX_REPLIES", 10_000)
    service.start(IID, use_case="Route support tickets to the right team", by="dana")
    start = checkpoint_bytes(isolated_db)
    turns = spam(service, 100)
    at_100 = (checkpoint_bytes(isolated_db) - start) / 100
    turns = spam(service, 300)
    at_400 = (checkpoint_bytes(isolated_db) - start) / 400

    assert isinstance(turns[0], Reply) and "RAG" in turns[0].text  # it still answers
    assert isinstance(turns[-1], Question) and turns[-1].id == "task"
    assert at_400 <= 2 * at_100, (at_100, at_400)  # today's main: ~4× (quadratic)
    assert at_400 < 50_000  # one reply's output, not the conversation so far


def test_a_long_open_interview_is_compacted_as_it_runs_and_still_resumes(
    service: Interviews, isolated_db: Path
) -> None:
    service.start(IID, use_case="Route support tickets to the right team", by="dana")
    spam(service, 2 * retention.COMPACT_EVERY + 5)

    stats = retention.stats()
    assert stats.checkpoints_per_interview_max <= retention.COMPACT_EVERY + 5
    pending = service.pending(IID)
    assert pending is not None and pending.id == "task"
    turns = service.reply(IID, ROUTER["task"], by="dana")
    assert isinstance(turns[-1], Question) and turns[-1].id != "task"


def test_past_the_limit_a_reply_is_refused_with_what_is_saved_and_how_to_go_on(
    service: Interviews, isolated_db: Path
) -> None:
    service.start(IID, use_case="Route support tickets to the right team", by="dana")
    turns = spam(service, limits.MAX_REPLIES - 1)  # the opening was reply 1
    assert isinstance(turns[-1], Question)
    answers = len(service.store.answers(IID))
    assert answers == limits.MAX_REPLIES

    refused = service.reply(IID, SPAM, by="troll")
    assert len(refused) == 1 and isinstance(refused[0], Reply)
    text = refused[0].text
    assert f"limit of {limits.MAX_REPLIES} replies" in text
    assert "not recorded" in text and "Everything answered before is saved" in text
    assert "'memo'" in text and "start a new interview" in text
    assert len(service.store.answers(IID)) == answers  # nothing more stored
    assert service.pending(IID) is not None  # still at its question
    again = service.choose(IID, "use_case", ["x"], by="troll")  # a button on an old question
    assert "limit" in again[0].text and len(service.store.answers(IID)) == answers

    # 'memo' still finishes it, with what was said; then nothing more is taken.
    memo = [t for t in service.reply(IID, "memo", by="dana") if isinstance(t, MemoReady)]
    assert memo
    after = service.reply(IID, "change volume to 50k", by="dana")
    assert len(after) == 1 and f"memo {memo[0].memo_id} stays as written" in after[0].text
    assert "'memo'" not in after[0].text


def test_a_reply_is_stored_as_one_checkpoint_at_its_next_question(
    service: Interviews, isolated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("graph.interview.compact_thread", lambda *args, **kwargs: 0)
    turns: list[Turn] = service.start(IID, use_case="Route support tickets", by="dana")
    replies = 0
    while isinstance(turns[-1], Question):
        turns = service.reply(IID, ROUTER[turns[-1].id], by="dana")
        replies += 1
    assert any(isinstance(t, MemoReady) for t in turns)
    conn = sqlite3.connect(isolated_db)
    try:
        (stored,) = conn.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (IID,)
        ).fetchone()
        (written,) = conn.execute(
            "SELECT COUNT(*) FROM writes WHERE thread_id = ?", (IID,)
        ).fetchone()
    finally:
        conn.close()
    # The start and each reply: one checkpoint each, and the question it stopped at.
    assert stored <= replies + 2, (stored, replies)  # per step ("sync"): 1.4 a reply
    assert written <= 2 * (replies + 1), (written, replies)  # per step: 12 a reply
