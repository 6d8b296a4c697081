"""Two terminals on one interview (issue 12, item 2): real `advisor chat` processes on one
database. One session answers; the other is told where the interview is open."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from teams import ROUTER

from graph.session_lock import SessionLock, SessionLost, SessionOpen
from graph.store import Store

ROOT = Path(__file__).resolve().parents[1]
USE_CASE = "Route support tickets to one of 12 queues"


def _advisor(*args: str, db: Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ADVISOR_DB": str(db), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import cli; cli()", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def _next_question(out: IO[str], seen: list[dict[str, Any]]) -> dict[str, Any] | None:
    for raw in out:
        line = json.loads(raw)
        seen.append(line)
        if line["type"] in ("question", "memo", "ended"):
            return line
    return None


def _answer(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(text + "\n")
    proc.stdin.flush()


def _start_and_answer(proc: subprocess.Popen[str], count: int) -> tuple[str, dict[str, Any]]:
    """Answer ``count`` questions of the router team; the interview id and the question now
    waiting."""
    assert proc.stdout is not None
    seen: list[dict[str, Any]] = []
    question = _next_question(proc.stdout, seen)
    for _ in range(count):
        assert question is not None and question["type"] == "question"
        _answer(proc, "yes" if question.get("confirm") else ROUTER[question["id"]])
        question = _next_question(proc.stdout, seen)
    interview_id = next(line["interview_id"] for line in seen if "interview_id" in line)
    assert question is not None and question["type"] == "question"
    return interview_id, question


def test_a_second_terminal_on_an_open_interview_is_told_where_it_is_open(
    tmp_path: Path, isolated_db: Path
) -> None:
    first = _advisor("chat", "--jsonl", "--name", "dana", USE_CASE, db=isolated_db, cwd=tmp_path)
    try:
        interview_id, waiting = _start_and_answer(first, 3)

        # The second terminal types an answer meant for the question it would be shown.
        second = _advisor(
            "chat", "--jsonl", "--name", "lee", "--resume", interview_id, db=isolated_db,
            cwd=tmp_path,
        )  # fmt: skip
        out, err = second.communicate("8\nnone\nyes\n", timeout=60)
        assert second.returncode == 1
        assert "already open in another session" in err
        assert f"process {first.pid}" in err
        assert f"chat --jsonl --resume {interview_id}" in err
        assert "Traceback" not in err
        assert '"type": "question"' not in out  # it was shown nothing to answer
        pretty = _advisor("chat", "--resume", interview_id, db=isolated_db, cwd=tmp_path)
        out, err = pretty.communicate("8\n", timeout=60)
        assert pretty.returncode == 1 and "already open in another session" in err
        assert f"chat --resume {interview_id}" in err and "Question" not in out

        # The first session is untouched: it finishes with every answer where it was typed.
        assert first.stdout is not None
        seen: list[dict[str, Any]] = []
        question: dict[str, Any] | None = waiting
        while question is not None and question["type"] == "question":
            _answer(first, "yes" if question.get("confirm") else ROUTER[question["id"]])
            question = _next_question(first.stdout, seen)
        assert question is not None and question["type"] == "memo"
        assert question["assessment"]["approach"] == "fine_tuning"
        first.stdin.close()  # type: ignore[union-attr]
        assert first.wait(30) == 0
    finally:
        first.kill()
        first.wait(10)

    store = Store(isolated_db)
    answers = store.answers(interview_id)
    assert {a.by for a in answers} == {"dana"}  # nothing from the second terminal
    for a in answers:
        if a.question_id in ROUTER and a.text != "yes":
            assert a.text == ROUTER[a.question_id], a  # each answer on its own question

    # Once the first session ended, the interview can be resumed again.
    again = _advisor("chat", "--jsonl", "--resume", interview_id, db=isolated_db, cwd=tmp_path)
    out, err = again.communicate("", timeout=60)
    assert again.returncode == 0, err
    assert "finished" in out


def test_a_session_killed_with_sigkill_does_not_keep_the_interview(
    tmp_path: Path, isolated_db: Path
) -> None:
    first = _advisor("chat", "--jsonl", "--name", "dana", USE_CASE, db=isolated_db, cwd=tmp_path)
    try:
        interview_id, waiting = _start_and_answer(first, 2)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    second = _advisor("chat", "--jsonl", "--resume", interview_id, db=isolated_db, cwd=tmp_path)
    out, err = second.communicate("", timeout=60)
    assert "another session" not in err
    questions = [json.loads(line) for line in out.splitlines() if '"question"' in line]
    assert questions and questions[0]["id"] == waiting["id"]


def test_a_stale_claim_is_taken_over_and_its_holder_stops_before_replying(
    isolated_db: Path,
) -> None:
    store = Store(isolated_db)
    stopped = SessionLock(store, "cli:x", beat=3600)  # stopped: it never beats
    stopped.acquire()
    time.sleep(0.05)
    fresh = SessionLock(Store(isolated_db), "cli:x", stale=0.01)  # its lease is over
    try:
        fresh.acquire()
    except SessionOpen:
        raise AssertionError("a claim past its lease must be taken over") from None
    # the stopped session wakes up: its next reply must not be applied
    try:
        stopped.check()
    except SessionLost:
        pass
    else:
        raise AssertionError("the old holder still thinks it holds the interview")
    other = SessionLock(Store(isolated_db), "cli:x")
    try:
        other.acquire()
    except SessionOpen as exc:
        assert exc.holder.pid == os.getpid()
    else:
        raise AssertionError("a live, fresh claim was taken")
    fresh.release()
    stopped.release()
    other.acquire()  # free again
    other.release()
