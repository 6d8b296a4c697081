"""A caller that already read the pending question (the Slack step, holding the thread)
hands it to ``reply``: the checkpoint is not read again, and the reply does exactly what it
does without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from teams import ROUTER

from graph.interview import Interviews
from graph.turns import MemoReady, Question, Turn


@pytest.fixture
def service(isolated_db: Path) -> Iterator[Interviews]:
    svc = Interviews()
    yield svc
    svc.close()


def strip(turns: list[Turn]) -> list[dict[str, Any]]:
    return [t.model_dump(exclude={"memo_id", "markdown"}) for t in turns]


def test_a_reply_given_the_pending_question_reads_no_checkpoint_and_does_the_same(
    service: Interviews, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Any] = []
    real = service.graph.get_state
    monkeypatch.setattr(
        service.graph, "get_state", lambda *a, **k: reads.append(a) or real(*a, **k)
    )
    plain = service.start("a", use_case="Route support tickets", by="dana")
    given = service.start("b", use_case="Route support tickets", by="dana")
    for _ in range(30):
        if not isinstance(plain[-1], Question):
            break
        text = ROUTER[plain[-1].id]
        plain = service.reply("a", text, by="dana")
        pending = service.pending("b")
        assert pending is not None
        reads.clear()
        given = service.reply("b", text, by="dana", pending=pending)
        assert reads == []  # the reply itself read no checkpoint
        assert strip(given) == strip(plain)
    assert any(isinstance(t, MemoReady) for t in given)
    texts = [(a.question_id, a.text) for a in service.store.answers("b")]
    assert texts == [(a.question_id, a.text) for a in service.store.answers("a")]
