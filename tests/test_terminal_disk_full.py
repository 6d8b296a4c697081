"""A full disk in `advisor chat` (issue 12, item 3, terminal half): the typed reply is given
back, the failure is said in words, nothing claims "saved", and the interview goes on once
there is space again. The disk is filled for real: SQLite's max_page_count on the file."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_terminal import TEAMS, ScriptedUser

import graph.interview
import knowledge.db
from bot.cli import cli
from graph.store import Store

USE_CASE, SCRIPT = TEAMS["fine_tuning"]


class Disk:
    """Every connection advisor opens, and a switch that fills or frees the 'disk'."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.conns: list[sqlite3.Connection] = []
        real = knowledge.db.connect

        def connect(path: Any = None) -> sqlite3.Connection:
            conn = real(path)
            self.conns.append(conn)
            return conn

        monkeypatch.setattr(knowledge.db, "connect", connect)
        monkeypatch.setattr(graph.interview, "connect", connect)

    def fill(self) -> None:
        for conn in self.conns:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")

    def free(self) -> None:
        for conn in self.conns:
            conn.execute("PRAGMA max_page_count = 1073741823")


class FillsUpAt(ScriptedUser):
    """Answers the router team; the disk is full when it answers ``eval`` the first time."""

    def __init__(self, disk: Disk, at: str) -> None:
        super().__init__(dict(SCRIPT) | {at: "x" * 20_000 + " " + SCRIPT[at]})
        self.disk, self.at, self.filled = disk, at, False

    def answer(self) -> str:
        asked = self.questions()
        if asked and asked[-1]["id"] == self.at and not self.filled:
            self.filled = True
            self.disk.fill()
        elif self.filled:
            self.disk.free()  # someone freed space
            self.script[self.at] = [SCRIPT[self.at]]
        return super().answer()


def test_a_reply_on_a_full_disk_is_given_back_and_typed_again_later(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated_db: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    disk = Disk(monkeypatch)
    user = FillsUpAt(disk, "eval")
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", user.stdout)
        patch.setattr(sys, "stdin", user.stdin)
        with contextlib.suppress(SystemExit):
            cli.main(["chat", "--jsonl", "--name", "dana", USE_CASE], standalone_mode=False)

    errors = [line for line in user.lines if line.get("error") == "not_saved"]
    assert len(errors) == 1
    assert "Could not save your answer: the disk is full" in errors[0]["text"]
    assert "Nothing was lost from before" in errors[0]["text"]
    assert errors[0]["reply"].endswith(SCRIPT["eval"])  # the reply, given back whole
    assert "is saved" not in errors[0]["text"]
    after = user.lines[user.lines.index(errors[0]) + 1]
    assert after["type"] == "question" and after["id"] == "eval"  # asked again
    assert user.lines[-1]["type"] == "memo"
    assert user.lines[-1]["assessment"]["approach"] == "fine_tuning"
    evals = [a.text for a in Store(isolated_db).answers(user_id(user)) if a.question_id == "eval"]
    assert evals == [SCRIPT["eval"]]  # the failed write left nothing half-kept


def user_id(user: ScriptedUser) -> str:
    return next(line["interview_id"] for line in user.lines if "interview_id" in line)


def test_the_terminal_says_what_failed_and_never_saved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    disk = Disk(monkeypatch)
    original = graph.interview.Interviews.start

    def start_then_fill(self: Any, *args: Any, **kwargs: Any) -> Any:
        turns = original(self, *args, **kwargs)
        disk.fill()  # the disk fills while the first question waits
        return turns

    monkeypatch.setattr(graph.interview.Interviews, "start", start_then_fill)
    typed = "1 " + "ticket routing, " * 2_000
    result = CliRunner().invoke(cli, ["chat", "--name", "dana", USE_CASE], input=typed + "\n")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert "Could not save your answer: the disk is full" in result.output
    assert typed in result.output  # the reply, given back
    assert "Your answers are saved" not in result.output
    assert "that reply was not" in result.output
