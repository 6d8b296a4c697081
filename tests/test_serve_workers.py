"""``advisor serve --workers 2``: one port, two worker processes, one supervisor (issue 16,
item 2). Replies sent all at once to the port are each answered once and in order; a worker
killed with -9 mid-run is restarted and nothing is lost or posted twice; SIGTERM stops
every worker after it finished its work, with exit status 0; workers that keep crashing at
start stop the supervisor with status 1."""

from __future__ import annotations

import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from slack_fake import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack, Serve, SlackSender
from slack_harness import CHANNEL, ROOT, run_app, start

from bot.slack.payloads import interview_id
from bot.slack.tables import SlackTables
from graph.store import Store

THREADS = 20
REPLIES = ["1", "8", "none", "yes"]  # a team pasting answers one after another
READY = re.compile(r"worker (\d+) of \d+ ready \(pid (\d+)\)")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def asked(fake: FakeSlack, thread_ts: str) -> list[str]:
    return [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]


def reference(fake: FakeSlack) -> list[str]:
    """The questions REPLIES answer when sent one at a time to one process, slowly."""
    running = run_app(fake)
    try:
        ts = start(running, fake)
        for text in REPLIES:
            assert running.send.reply(text, thread_ts=ts).status == 200
            running.idle()
        store = running.engine.store
        answered = [a.question_id for a in store.answers(interview_id(TEAM, CHANNEL, ts))]
    finally:
        running.stop()
    return answered[1:]  # after the use case


def workers(serve: Serve) -> dict[int, int]:
    """Worker number -> pid of its latest process, from the supervisor's output."""
    return {int(m[1]): int(m[2]) for m in READY.finditer("".join(serve.output))}


def start_threads(fake: FakeSlack, send: SlackSender, count: int) -> list[str]:
    before = len(fake.parents())
    with ThreadPoolExecutor(count) as pool:
        sent = list(
            pool.map(lambda n: send.command(f"classify support emails, team {n}"), range(count))
        )
    assert all(s.status == 200 for s in sent)
    threads = fake.wait_for(
        lambda: fake.parents()[before:] if len(fake.parents()) >= before + count else None
    )
    for ts in threads:
        fake.wait_for(lambda ts=ts: asked(fake, ts))
    return list(threads)


def send_like_slack(send: SlackSender, thread_ts: str, text: str) -> None:
    """One reply, sent again with the same event id (as Slack retries) until it is acked:
    a worker killed mid-request drops its connection."""
    event = send.reply_event(text, thread_ts=thread_ts, user="U0ANA")
    event_id = f"Ev{event['ts'].replace('.', '')}"
    for attempt in range(20):
        try:
            sent = send.event(event, event_id=event_id, retry=attempt or None)
            if sent.status == 200:
                return
        except (ConnectionError, http.client.HTTPException, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"reply {text!r} in {thread_ts} was never acknowledged")


def wait_for_every_question(fake: FakeSlack, threads: list[str], serve: Serve) -> None:
    """Every thread asked its question after the last reply; else what is stuck, and why."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(len(asked(fake, ts)) >= 1 + len(REPLIES) for ts in threads):
            return
        time.sleep(0.05)
    store = Store()
    tables = SlackTables(store)
    stuck = {ts: asked(fake, ts) for ts in threads if len(asked(fake, ts)) < 1 + len(REPLIES)}
    lines = [f"threads stuck: {stuck}"]
    for ts in stuck:
        iid = interview_id(TEAM, CHANNEL, ts)
        lines.append(f"answers {[(a.question_id, a.text) for a in store.answers(iid)]}")
        lines += [f"inbox {i!r}" for i in tables.inbox() if i.interview_id == iid]
        lines += [f"outbox {o!r}" for o in tables.outbox(iid)]
        lines += [f"thread {m.get('ts')} {m.get('text')!r:.80}" for m in fake.thread(CHANNEL, ts)]
    raise AssertionError("\n".join(lines) + "\n" + "".join(serve.output)[-6000:])


def back_to_back(send: SlackSender, thread_ts: str) -> None:
    for text in REPLIES:
        send_like_slack(send, thread_ts, text)


def check_every_reply_once_in_order(
    fake: FakeSlack, threads: list[str], expected: list[str]
) -> None:
    store = Store()
    tables = SlackTables(store)
    wrong = {}
    for ts in threads:
        iid = interview_id(TEAM, CHANNEL, ts)
        got = [(a.question_id, a.text) for a in store.answers(iid)][1:]
        if got != list(zip(expected, REPLIES, strict=True)):
            wrong[ts] = got
        questions = asked(fake, ts)
        assert len(questions) == len(set(questions)) == 1 + len(REPLIES), (ts, questions)
        # Every message went out exactly once: one chat.postMessage per outbox post.
        rows = [o for o in tables.outbox(iid) if o.kind == "post"]
        posted = [
            c for c in fake.called("chat.postMessage") if c.args.get("thread_ts") == ts and c.result
        ]
        assert len(posted) == len(rows) and all(o.gave_up_at is None for o in rows)
    assert not wrong, f"{len(wrong)} of {len(threads)} threads got answers out of order: {wrong}"
    assert not tables.inbox(waiting=True)


def pids_of_outbox_senders() -> set[str]:
    return {str(o.claimed_by).split(":")[1] for o in SlackTables(Store()).outbox()}


def test_two_workers_on_one_port_answer_every_reply_once_and_in_order(fake: FakeSlack) -> None:
    expected = reference(fake)
    serve = Serve(fake, args=["--workers", "2"])
    try:
        pids = workers(serve)
        assert sorted(pids) == [1, 2]
        threads = start_threads(fake, serve.send, THREADS)
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda ts: back_to_back(serve.send, ts), threads))
        wait_for_every_question(fake, threads, serve)
        tables = SlackTables(Store())
        fake.wait_for(lambda: all(o.delivered_at for o in tables.outbox()), timeout=10)
        check_every_reply_once_in_order(fake, threads, expected)
        # Both workers took part (the port is shared, not served by one of them).
        assert {str(pid) for pid in pids.values()} <= pids_of_outbox_senders()
    finally:
        output = serve.stop(timeout=30)
    assert serve.proc.returncode == 0, output


def test_a_worker_killed_mid_run_is_restarted_and_nothing_is_lost_or_posted_twice(
    fake: FakeSlack,
) -> None:
    expected = reference(fake)
    serve = Serve(fake, args=["--workers", "2"])
    try:
        victim = workers(serve)[2]
        threads = start_threads(fake, serve.send, THREADS)
        with ThreadPoolExecutor(THREADS) as pool:
            sending = [pool.submit(back_to_back, serve.send, ts) for ts in threads]
            # Mid-run: a quarter of the replies have been answered.
            fake.wait_for(
                lambda: sum(len(asked(fake, ts)) - 1 for ts in threads) >= THREADS, timeout=20
            )
            os.kill(victim, signal.SIGKILL)
            for future in sending:
                future.result()
        wait_for_every_question(fake, threads, serve)
        tables = SlackTables(Store())
        fake.wait_for(lambda: all(o.delivered_at for o in tables.outbox()), timeout=15)
        check_every_reply_once_in_order(fake, threads, expected)
        # The supervisor said so in one line and started another worker in its place.
        fake.wait_for(lambda: workers(serve)[2] != victim, timeout=15)
        said = "".join(serve.output)
        assert re.search(rf"worker 2 \(pid {victim}\) was killed by SIGKILL; started another", said)
    finally:
        output = serve.stop(timeout=30)
    assert serve.proc.returncode == 0, output


def test_sigterm_stops_every_worker_after_its_work_and_exits_0(fake: FakeSlack) -> None:
    serve = Serve(fake, args=["--workers", "2"])
    pids = list(workers(serve).values())
    [ts] = start_threads(fake, serve.send, 1)
    assert serve.send.reply("1", thread_ts=ts).status == 200
    output = serve.stop(timeout=30)  # SIGTERM at once: the reply is still being worked on
    assert serve.proc.returncode == 0, output
    assert len(asked(fake, ts)) == 2  # the reply accepted before SIGTERM was answered
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # every worker is gone (and was reaped)
    assert "all workers stopped" in output
    with sqlite3.connect(os.environ["ADVISOR_DB"]) as conn:
        holders = conn.execute("SELECT COUNT(*) FROM threads WHERE holder IS NOT NULL")
        assert holders.fetchone()[0] == 0  # nobody is left holding a thread


def test_workers_that_keep_crashing_at_start_stop_the_supervisor_with_status_1(
    fake: FakeSlack, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        "ADVISOR_DB": str(
            tmp_path
        ),  # a folder: each worker fails to open it, the supervisor never does
    }
    env.pop("SLACK_APP_TOKEN", None)
    argv = [sys.executable, "-c", "from bot.cli import cli; cli()", "serve", "--workers", "2"]
    done = subprocess.run(
        [*argv, "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "worker 1 exited 3 times within 10 s" in done.stderr
    assert "listening on" not in done.stdout


def test_db_stats_shows_the_slack_work_waiting_to_be_done() -> None:
    from click.testing import CliRunner

    from bot.cli import cli

    tables = SlackTables(Store())
    where = {"channel": CHANNEL, "thread_ts": "1.0", "user": "U0ANA"}
    for n in range(2):
        tables.receive("T:C:1.0", "reply", {**where, "text": f"r{n}"}, owner="gone:1:x")
    shown = CliRunner().invoke(cli, ["db", "stats"])
    assert shown.exit_code == 0, shown.output
    assert "2 inbox item(s) waiting (oldest kept 20" in shown.output
    assert "0 message(s) unsent, 0 given up" in shown.output
    data = CliRunner().invoke(cli, ["db", "stats", "--json"]).output
    assert '"inbox_waiting": 2' in data


def test_in_socket_mode_each_worker_holds_its_own_connection_and_serves_it() -> None:
    from socket_fake import SocketModeServer, SocketServe

    with SocketModeServer() as server, FakeSlack(socket_url=server.open_url) as fake:
        serve = SocketServe(fake, server, args=["--workers", "2"])
        try:
            assert len(fake.called("apps.connections.open")) == 2
            first, second = server.wait_connection(1), server.wait_connection(2)
            assert len(server.live()) == 2
            threads = []
            for conn in (first, second):  # Slack may deliver on either connection
                serve.send.connection = conn
                before = len(fake.parents())
                assert serve.send.command("classify support emails").status == 200
                threads.append(fake.wait_for(lambda n=before: fake.parents()[n:])[0])
            for ts in threads:
                assert fake.wait_for(lambda ts=ts: asked(fake, ts)) == ["task"]
            pids = set(workers(serve).values())
        finally:
            output = serve.stop(timeout=30)
    assert serve.proc.returncode == 0, output
    assert len(pids) == 2


def test_a_step_killed_between_its_checkpoint_and_its_question_asks_the_question_again(
    isolated_db: Path,
) -> None:
    """The engine's side of a kill -9 mid-step (graph/interview.py, ``_now``): LangGraph
    saves the checkpoint, then the interrupt holding the next question in a second
    transaction. With only the first saved, the interview still has its question."""
    from graph.interview import Interviews

    service = Interviews()
    iid = "cut:1"
    service.start(iid, use_case="classify support emails", by="Ana Lopez")
    asked_next = service.reply(iid, "1", by="Ana Lopez")[-1]
    with sqlite3.connect(isolated_db) as conn:  # as if killed before the second transaction
        [latest] = conn.execute(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? "
            "ORDER BY checkpoint_id DESC LIMIT 1",
            [iid],
        ).fetchone()
        conn.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_id = ?", [iid, latest])
    pending = service.pending(iid)
    assert pending is not None and pending.id == getattr(asked_next, "id", None)
    turns = service.reply(iid, "none", by="Ana Lopez")  # answers that question, not nothing
    assert [(a.question_id, a.text) for a in service.store.answers(iid)][-1] == (pending.id, "none")
    assert turns
    service.close()
