"""The memo is read once per turn (issue 13): the engine says a memo is ready without
reading it back, and each front end reads the stored record once for everything it shows
(the terminal's file, Slack's summary, file and canvas)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from slack_fake import TEAM, FakeSlack
from slack_harness import CHANNEL, Running, app, fake, memo_summaries, start
from teams import ROUTER
from test_terminal import AfterMemo

from bot.cli import cli
from bot.slack.payloads import interview_id
from graph.interview import Interviews
from graph.store import Store

__all__ = ["app", "fake"]  # fixtures

STEPS = ("start", "reply", "choose", "confirm", "amend", "add_evidence", "recover")


class Reads:
    """Memo reads (``Store.get_memo`` and ``latest_memo``), split by turn: a new turn
    begins whenever a front end calls the engine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.turns: list[list[str]] = [[]]
        get_memo, latest_memo = Store.get_memo, Store.latest_memo

        def counted_get(store: Store, memo_id: str) -> Any:
            self.turns[-1].append(memo_id)
            return get_memo(store, memo_id)

        def counted_latest(store: Store, iid: str) -> Any:
            self.turns[-1].append(f"latest of {iid}")
            return latest_memo(store, iid)

        monkeypatch.setattr(Store, "get_memo", counted_get)
        monkeypatch.setattr(Store, "latest_memo", counted_latest)
        for name in STEPS:
            monkeypatch.setattr(Interviews, name, self._turn(getattr(Interviews, name)))

    def _turn(self, step: Any) -> Any:
        def wrapped(service: Interviews, *args: Any, **kwargs: Any) -> Any:
            self.turns.append([])
            return step(service, *args, **kwargs)

        return wrapped

    def reading(self) -> list[list[str]]:
        """The turns that read a memo at all, with what they read."""
        return [list(t) for t in self.turns if t]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    return Reads(monkeypatch)


def test_each_jsonl_memo_line_costs_one_read(
    reads: Reads, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    user = AfterMemo({**ROUTER, "cleared": "not yet"}, ["change cleared to yes"])
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", user.stdout)
        patch.setattr(sys, "stdin", user.stdin)
        cli.main(["chat", "--jsonl", "--name", "dana", "Route tickets"], standalone_mode=False)
    memos = [line for line in user.lines if line["type"] == "memo"]
    assert len(memos) == 2 and all(m["path"] and m["assessment"] for m in memos)
    written = sorted((tmp_path / "memos").glob("*.md"))
    assert len(written) == 2  # each memo's file, from that one read
    ids = [line["memo_id"] for line in user.lines if "memo_id" in line]
    assert reads.reading() == [[ids[0]], [ids[1]]]


def test_the_terminal_reads_the_memo_once_and_not_again_while_it_waits(
    reads: Reads, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    answers = ["Route tickets", "1", "memo", "why?", "change volume to 2k", "memo", ""]
    result = CliRunner().invoke(cli, ["chat", "--name", "dana"], input="\n".join(answers))
    assert result.exit_code == 0, result.output
    assert result.output.count(" written to memos/") == 2
    assert [len(t) for t in reads.reading()] == [1, 1]  # the memo, then the revision


def test_a_slack_memo_turn_reads_the_memo_once_for_summary_file_and_canvas(
    reads: Reads, app: Running, fake: FakeSlack
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    for text in ("memo", "change volume to 2k", "memo"):  # the change asks one more
        assert app.send.reply(text, thread_ts=thread).status == 200
        app.idle()
    app_reads = reads.reading()  # before the test reads anything itself
    stored = app.engine.store
    ids = [m["metadata"]["event_payload"]["memo_id"] for m in memo_summaries(fake, thread)]
    assert len(ids) == 2 and ids[1] == stored.latest_memo(iid).id  # type: ignore[union-attr]
    files = [f for f in fake.thread(CHANNEL, thread) if f.get("type") == "file"]
    assert [f["content"].decode() for f in files] == [
        stored.get_memo(i).markdown  # type: ignore[union-attr]
        for i in ids
    ]
    assert len(fake.called("canvases.create")) == 2
    assert app_reads == [[ids[0]], [ids[1]]]
