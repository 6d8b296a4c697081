"""What the Slack and growth benchmarks share: machine facts, percentiles, markdown tables,
results files, a recording Web API fake, and servers run as subprocesses.

The app under test always runs in its own process (``advisor serve``, or the bare Bolt app
below), so the load generator and the local Web API server in this process do not share
its interpreter lock. Both are served by waitress with ``bot.slack.http_edge``'s settings.

``python bench/common.py bare --mode ack|turn`` runs the bare Bolt app: the floor the
advisor is compared with. ``ack`` acks ``/advisor`` and posts one message; ``turn`` also
runs a one-node LangGraph graph that interrupts in a loop, on the same SqliteSaver set-up
as the interview engine, and posts each interrupt as a question in the thread.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime
import json
import os
import platform
import queue
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PYTHON = sys.executable
sys.path.insert(0, str(ROOT / "tests"))  # the local Slack lives with the tests

import slack_fake  # type: ignore[import-not-found]  # noqa: E402
import teams  # type: ignore[import-not-found]  # noqa: E402

BOT_TOKEN: str = slack_fake.BOT_TOKEN
SIGNING_SECRET: str = slack_fake.SIGNING_SECRET
SlackSender = slack_fake.SlackSender
QUESTION_EVENT = "advisor_question"
MEMO_EVENT = "advisor_memo"

# Typed answers that take the interview for "Route support tickets to 12 queues" to a memo
# (question id -> reply). Typed, as people answer in a thread; "1" picks the first option.
USE_CASE = "Route support tickets to 12 queues"
SCRIPT = {"use_case": USE_CASE, **teams.ROUTER}


# --- facts and numbers --------------------------------------------------------------


def machine() -> dict[str, Any]:
    """The machine and software a result was measured on."""
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("langgraph", "langgraph-checkpoint-sqlite", "slack_bolt", "waitress"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "?"
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model or platform.processor() or "?",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews results
        "versions": versions,
    }


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"machine: {info['nproc']} CPU ({info['cpu']}), Python {info['python']}, "
        f"SQLite {info['sqlite']}, {info['date']}, load average {info['load_avg_1m']} at start"
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 1]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds, and the sample count."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 2),
        "p90_ms": round(percentile(ms, 0.90), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
        "mean_ms": round(sum(ms) / len(ms), 2) if ms else float("nan"),
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; numbers right-aligned."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] == "" for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if n else "-" * (w + 2)
            for w, n in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def write_result(name: str, data: dict[str, Any], out: Path | None = None) -> Path:
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc/<pid>/status."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its children (``--workers``) have used so far
    (/proc/<pid>/stat): the live ones and those already reaped."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    total = ticks / os.sysconf("SC_CLK_TCK")
    for child in children(pid):
        with contextlib.suppress(FileNotFoundError):  # exited since it was listed
            total += cpu_seconds(child)
    return total


def children(pid: int) -> list[int]:
    """The pids of a process's live children (a supervisor's workers)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="utf-8") as handle:
                found += [int(c) for c in handle.read().split()]
        except FileNotFoundError:
            continue
    return found


# --- the local Web API, recording when each post arrives ------------------------------


@dataclass
class Post:
    at: float  # time.monotonic() when the Web API server got it
    channel: str
    thread_ts: str | None
    kind: str  # question | memo | other
    question_id: str | None = None


class BenchSlack(slack_fake.FakeSlack):
    """tests/slack_fake.py's Web API server, noting when every chat.postMessage arrives so
    a benchmark can wait for "the next question in this thread"."""

    def __init__(self) -> None:
        super().__init__()
        self.posted = threading.Condition()
        self.posts: list[Post] = []
        self._by_channel: dict[str, list[Post]] = {}

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        body: dict[str, Any] = super()._api_chat_postMessage(args)
        meta = args.get("metadata") or {}
        kinds = {QUESTION_EVENT: "question", MEMO_EVENT: "memo"}
        kind = kinds.get(str(meta.get("event_type")), "")
        payload = meta.get("event_payload") or {}
        post = Post(
            at=now,
            channel=str(args.get("channel")),
            thread_ts=args.get("thread_ts"),
            kind=kind or "other",
            question_id=payload.get("question_id"),
        )
        with self.posted:
            self.posts.append(post)
            self._by_channel.setdefault(post.channel, []).append(post)
            self.posted.notify_all()
        return body

    def count(self, predicate: Callable[[Post], bool]) -> int:
        with self.posted:
            return sum(1 for p in self.posts if predicate(p))

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """True once ``condition()`` holds (checked after each post), False at the deadline."""
        deadline = time.monotonic() + timeout
        with self.posted:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.posted.wait(min(left, 0.2))
        return True

    def after(self, channel: str, since: int) -> list[Post]:
        """Posts to ``channel`` after its first ``since`` posts (call with ``posted`` held)."""
        return self._by_channel.get(channel, [])[since:]


# --- servers in their own process -----------------------------------------------------

_LISTENING = re.compile(r"listening on http://[^:/\s]+:(\d+)(/\S*)")


class Server:
    """A server subprocess that prints ``listening on http://HOST:PORT/PATH`` when ready."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._log_handle = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=self._log_handle,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"{name} did not start in 60 s; see {log}") from None
            if line is None:
                self.stop()
                raise RuntimeError(f"{name} exited at start-up:\n{self.log.read_text()[-2000:]}")
            found = _LISTENING.search(line)
            if found:
                self.port = int(found.group(1))
                self.url = f"http://127.0.0.1:{self.port}{found.group(2)}"
                return

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM this server (it finishes work in progress), SIGKILL after 20 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log_handle.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_env(api_url: str, db: Path) -> dict[str, str]:
    """The environment of a server under test: offline (no Anthropic key), the local Web
    API, its own database."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ANTHROPIC_", "PORT"))
    }
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api_url,
        ADVISOR_DB=str(db),
        PYTHONUNBUFFERED="1",
    )
    return env


def advisor_serve(api_url: str, db: Path, log: Path, workers: int | None = None) -> Server:
    """``advisor serve`` in HTTP mode on a free loopback port (``--workers`` if given)."""
    advisor = str(Path(PYTHON).parent / "advisor")
    argv = [advisor, "serve", "--host", "127.0.0.1", "--port", "0"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return Server("advisor serve", argv, server_env(api_url, db), log)


def bare_app(api_url: str, db: Path, log: Path, mode: str, workers: int = 1) -> Server:
    """The bare Bolt app (``mode`` ack or turn) behind the same waitress set-up; with
    ``workers`` > 1, that many processes on one port, run as ``advisor serve --workers``
    runs its own (the same supervisor)."""
    argv = [PYTHON, str(Path(__file__).resolve()), "bare", "--mode", mode]
    if workers > 1:
        argv += ["--workers", str(workers)]
    return Server(f"bare Bolt app ({mode})", argv, server_env(api_url, db), log)


def temp_dir(prefix: str) -> Path:
    """A scratch directory, removed when the benchmark exits (set BENCH_KEEP=1 to keep it:
    the databases and server logs are there)."""
    path = Path(tempfile.mkdtemp(prefix=f"advisor-bench-{prefix}-"))
    if not os.environ.get("BENCH_KEEP"):
        atexit.register(shutil.rmtree, path, True)
    return path


# --- the floor: a bare Bolt app, and a bare LangGraph graph ----------------------------


def bare_graph(db: Path | str) -> Any:
    """One node that interrupts, looping forever, checkpointed the way the interview engine
    checkpoints (``SqliteSaver`` on ``knowledge.db.connect``, durability "exit": one
    checkpoint per invoke, as graph/interview.py runs it)."""
    from typing import TypedDict

    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import START, StateGraph
    from langgraph.types import interrupt

    from knowledge.db import connect

    class State(TypedDict, total=False):
        n: int
        last: str

    def ask(state: State) -> dict[str, Any]:
        answer = interrupt({"kind": "question", "id": f"q{state.get('n', 0)}"})
        return {"n": state.get("n", 0) + 1, "last": str(answer)}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "ask")
    return builder.compile(checkpointer=SqliteSaver(connect(db)))


def graph_config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": 100_000}


def _bare_supervise(mode: str, workers: int) -> None:
    """N bare apps on one port: bot/slack/workers.py's supervisor, socket and all."""
    from bot.slack.workers import Supervisor, bind

    sock = bind("127.0.0.1", 0)
    argv = [PYTHON, str(Path(__file__).resolve()), "bare", "--mode", mode]
    argv += ["--socket-fd", str(sock.fileno())]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    port = sock.getsockname()[1]

    def announce() -> None:
        print(f"bare: listening on http://127.0.0.1:{port}/slack/events", flush=True)

    supervisor = Supervisor(argv, workers, pass_fds=(sock.fileno(),), echo=print)
    sys.exit(supervisor.run(stop, announce))


def _bare_main(mode: str, socket_fd: int | None = None) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from langgraph.types import Command
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from waitress.server import create_server

    from bot.slack.http_edge import EVENTS_PATH, HTTP_THREADS
    from bot.slack.webapi import make_client

    client = make_client(os.environ["SLACK_BOT_TOKEN"], os.environ["SLACK_API_URL"])
    app = App(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=16),  # as many as the advisor's
    )
    graph = bare_graph(os.environ["ADVISOR_DB"]) if mode == "turn" else None

    def ask(channel: str, thread_ts: str, out: dict[str, Any]) -> None:
        value = out["__interrupt__"][0].value
        meta = {"event_type": QUESTION_EVENT, "event_payload": {"question_id": value["id"]}}
        client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=f"Question {value['id']}", metadata=meta
        )

    @app.command("/advisor")
    def on_command(ack: Any, command: dict[str, Any]) -> None:
        ack()
        channel = command["channel_id"]
        parent = client.chat_postMessage(channel=channel, text=f"started: {command['text']}")
        if graph is not None:
            thread_ts = str(parent["ts"])
            out = graph.invoke({"n": 0}, graph_config(f"{channel}:{thread_ts}"), durability="exit")
            ask(channel, thread_ts, out)

    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        if graph is None or event.get("bot_id") or not event.get("thread_ts"):
            return
        channel, thread_ts = event["channel"], event["thread_ts"]
        out = graph.invoke(
            Command(resume=event.get("text") or ""),
            graph_config(f"{channel}:{thread_ts}"),
            durability="exit",
        )
        ask(channel, thread_ts, out)

    handler = SlackRequestHandler(app, path=EVENTS_PATH)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    if socket_fd is None:
        server: Any = create_server(
            handler, host="127.0.0.1", port=0, threads=HTTP_THREADS, ident="bare"
        )
        print(f"bare: listening on http://127.0.0.1:{server.effective_port}{EVENTS_PATH}")
    else:  # one of several workers on the supervisor's socket
        from bot.slack.workers import worker_ready

        if graph is not None:
            graph.checkpointer.setup()  # its tables, before a second worker races to create them
        sock = socket.socket(fileno=socket_fd)
        server = create_server(handler, sockets=[sock], threads=HTTP_THREADS, ident="bare")
        worker_ready("bare")
    sys.stdout.flush()
    server.run()


def main() -> None:
    parser = argparse.ArgumentParser(description="The bare Bolt app the benchmarks compare with.")
    parser.add_argument("what", choices=["bare"])
    parser.add_argument("--mode", choices=["ack", "turn"], default="ack")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--socket-fd", type=int, default=None)  # a supervisor's worker
    args = parser.parse_args()
    if args.workers > 1:
        _bare_supervise(args.mode, args.workers)
    _bare_main(args.mode, args.socket_fd)


if __name__ == "__main__":
    main()
