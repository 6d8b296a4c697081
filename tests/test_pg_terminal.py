"""The terminal and the engine on PostgreSQL (ADVISOR_DATABASE_URL), end to end: real
`advisor` processes against the throw-away server; a session killed with SIGKILL is resumed
by another process and finishes to a memo that `advisor memo list` shows."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest
from teams import ROUTER

from graph.pg_store import PgStore
from graph.session_lock import SessionLock, SessionLost, SessionOpen

ROOT = Path(__file__).resolve().parents[1]
USE_CASE = "Route support tickets to one of 12 queues"


def _env(url: str, db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ADVISOR_DATABASE_URL": url,
        "ADVISOR_DB": str(db),
        "PYTHONPATH": str(ROOT),
    }


def _advisor(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import cli; cli()", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def _run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from bot.cli import cli; cli()", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def _next(out: IO[str], seen: list[dict[str, Any]]) -> dict[str, Any] | None:
    for raw in out:
        line = json.loads(raw)
        seen.append(line)
        if line["type"] in ("question", "memo", "ended"):
            return line
    return None


def _answer(proc: subprocess.Popen[str], question: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(("yes" if question.get("confirm") else ROUTER[question["id"]]) + "\n")
    proc.stdin.flush()


def test_an_interview_killed_on_postgresql_is_resumed_by_another_process_to_its_memo(
    pg_url: str, tmp_path: Path, isolated_db: Path
) -> None:
    env = _env(pg_url, isolated_db)
    first = _advisor("chat", "--jsonl", "--name", "dana", USE_CASE, env=env, cwd=tmp_path)
    seen: list[dict[str, Any]] = []
    try:
        assert first.stdout is not None
        question = _next(first.stdout, seen)
        for _ in range(3):
            assert question is not None and question["type"] == "question", first.stderr
            _answer(first, question)
            question = _next(first.stdout, seen)
        assert question is not None and question["type"] == "question"
        waiting = question
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    interview_id = next(line["interview_id"] for line in seen if "interview_id" in line)

    second = _advisor(
        "chat", "--jsonl", "--name", "dana", "--resume", interview_id, env=env, cwd=tmp_path
    )
    assert second.stdout is not None
    after: list[dict[str, Any]] = []
    question = _next(second.stdout, after)
    # Where it stopped, and not "open in another session": the dead holder's claim is taken.
    assert question is not None and question["id"] == waiting["id"]
    while question is not None and question["type"] == "question":
        _answer(second, question)
        question = _next(second.stdout, after)
    assert question is not None and question["type"] == "memo"
    assert question["assessment"]["approach"] == "fine_tuning"
    second.stdin.close()  # type: ignore[union-attr]
    assert second.wait(60) == 0, second.stderr.read()  # type: ignore[union-attr]

    listed = _run("memo", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    store = PgStore.connect(pg_url)
    try:
        memo = store.latest_memo(interview_id)
        assert memo is not None and memo.id in listed.stdout and "fine_tuning" in listed.stdout
        answers = store.answers(interview_id)
        assert [a.seq for a in answers] == list(range(1, len(answers) + 1))
        assert {a.by for a in answers} == {"dana"}
        assert store.session_claim(interview_id) is None  # the session let go at its end
    finally:
        store.close()
    exported = _run("memo", "export", memo.id, env=env, cwd=tmp_path)
    assert exported.returncode == 0 and exported.stdout.startswith("# Decision")
    accepted = _run("memo", "accept", memo.id, "--by", "Ana", env=env, cwd=tmp_path)
    assert accepted.returncode == 0 and "is now accepted" in accepted.stdout, accepted.stderr
    assert "accepted" in _run("memo", "list", env=env, cwd=tmp_path).stdout

    # Nothing of the interview went to the SQLite file (it holds the local card index only).
    with sqlite3.connect(isolated_db) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert not {"interviews", "answers", "memos", "checkpoints", "sessions"} & tables

    stats = _run("db", "stats", "--json", env=env, cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    found = json.loads(stats.stdout)
    assert found["interviews_by_status"] == {"done": 1}
    assert found["tables"]["memos"] == 1 and found["threads"] == 1
    assert found["checkpoints_per_interview_max"] == 1  # compacted when it finished


def test_db_migrate_prints_the_schema_version_and_sqlite_has_nothing_to_migrate(
    pg_url: str, tmp_path: Path, isolated_db: Path
) -> None:
    env = _env(pg_url, isolated_db)
    first = _run("db", "migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "schema version 2 (applied step(s) 1, 2)" in first.stdout
    assert "postgresql://postgres@127.0.0.1" in first.stdout
    again = _run("db", "migrate", env=env, cwd=tmp_path)
    assert "schema version 2 (already up to date)" in again.stdout
    compact = _run("db", "compact", env=env, cwd=tmp_path)
    assert compact.returncode == 1 and "SQLite-only for now" in compact.stderr

    sqlite_env = {k: v for k, v in env.items() if k != "ADVISOR_DATABASE_URL"}
    local = _run("db", "migrate", env=sqlite_env, cwd=tmp_path)
    assert local.returncode == 0 and local.stdout.startswith("Nothing to migrate")


def test_serve_refuses_postgresql_in_one_line_and_a_bad_url_is_one_line(
    pg_url: str, tmp_path: Path, isolated_db: Path
) -> None:
    env = {**_env(pg_url, isolated_db), "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    served = _run("serve", env=env, cwd=tmp_path)
    assert served.returncode == 1
    assert served.stderr.strip().splitlines() == [
        "Error: advisor serve cannot use ADVISOR_DATABASE_URL yet: the Slack tables (inbox, "
        "outbox, thread map) are SQLite-only for now. Unset it to serve from the SQLite file "
        "(ADVISOR_DB)."
    ]
    wrong = pg_url.rsplit("/", 1)[0].replace("postgres@", "postgres:hunter2@") + "/no_such_db"
    chat = _run("chat", "--jsonl", USE_CASE, env=_env(wrong, isolated_db), cwd=tmp_path)
    assert chat.returncode == 1
    lines = chat.stderr.strip().splitlines()
    assert len(lines) == 1 and "no_such_db" in lines[0] and "hunter2" not in chat.stderr


def test_one_terminal_session_per_interview_across_postgresql_stores(pg_url: str) -> None:
    one, two = PgStore.connect(pg_url), PgStore.connect(pg_url)  # two processes' stores
    try:
        stopped = SessionLock(one, "cli:x", beat=3600)  # stopped: it never beats
        stopped.acquire()
        with pytest.raises(SessionOpen) as refused:
            SessionLock(two, "cli:x").acquire()
        assert refused.value.holder.pid == os.getpid()
        time.sleep(0.05)
        fresh = SessionLock(two, "cli:x", stale=0.01)  # its lease is over: taken over
        fresh.acquire()
        with pytest.raises(SessionLost):
            stopped.check()  # the stopped session wakes up and must not reply
        stopped.release()  # lets go of nothing: the claim is no longer its own
        claim = one.session_claim("cli:x")
        assert claim is not None and claim.holder == fresh.holder
        fresh.release()
        assert one.session_claim("cli:x") is None
    finally:
        one.close()
        two.close()
