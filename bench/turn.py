"""Turn benchmark: from a person's reply to the next question in the thread.

Starts N interviews in ``advisor serve`` (HTTP mode behind waitress, offline, the Web API
played by tests/slack_fake.py on loopback) with signed ``/advisor`` commands, then steps
them together: each step sends one signed ``message`` event per thread, all at once, and
times each from the moment it was sent to the moment the next question (a chat.postMessage
with ``advisor_question`` metadata in that thread) reached the Web API server. The floor is
the same step on a bare Bolt app around a one-node LangGraph graph that interrupts in a
loop, checkpointed by the same SqliteSaver set-up. Also times one step at a time (no load),
and the engine alone in-process (``Interviews.reply`` beside the bare graph's ``invoke``).

When the target is missed (or with ``--profile``), the advisor runs in-process once more
under cProfile (the work threads profiled per job) and the functions the step's time goes
to are printed. Writes bench/results/turn.json. Exits 1 when the target is missed.

With ``--workers N`` the server is ``advisor serve --workers N`` and the floor N bare
processes on one port (bot/slack/workers.py's supervisor); CPU counts every process, and
throughput is replies answered per second of the parallel steps. The load average at the
start and end is printed: other work on the machine skews every number.

    .venv/bin/python bench/turn.py [--interviews 50] [--profile] [--workers N]
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import (
    BOT_TOKEN,
    ROOT,
    SCRIPT,
    SIGNING_SECRET,
    USE_CASE,
    BenchSlack,
    Post,
    Server,
    SlackSender,
    advisor_serve,
    bare_app,
    bare_graph,
    children,
    cpu_seconds,
    graph_config,
    latency,
    machine,
    machine_line,
    table,
    temp_dir,
    write_result,
)

TARGET_P50_MS = 50.0
PROJECT = f"{ROOT}/"  # the app's own files, wherever this checkout is
STEP_TIMEOUT = 30.0


class Threads:
    """N interviews started through ``/advisor`` and stepped together through ``send``."""

    def __init__(self, fake: BenchSlack, url: str, label: str, n: int) -> None:
        self.fake = fake
        self.send = SlackSender(url, fake)
        self.channels = [f"C{label.upper()}{i:03d}" for i in range(n)]
        self.thread_ts: dict[str, str] = {}
        self.pending: dict[str, str] = {}  # channel -> question id waiting for an answer
        self.seen: dict[str, int] = defaultdict(int)  # posts per channel already consumed

    def start(self, concurrency: int = 12) -> None:
        def one(channel: str) -> None:
            self.send.command(USE_CASE, channel=channel)

        with ThreadPoolExecutor(concurrency, thread_name_prefix="bench-send") as pool:
            list(pool.map(one, self.channels))
        for channel in self.channels:
            post = self._next(channel, time.monotonic() + 60)
            if post is None or post.kind != "question" or post.thread_ts is None:
                raise RuntimeError(f"no first question in {channel}")
            self.thread_ts[channel] = post.thread_ts
            self.pending[channel] = str(post.question_id)

    def _next(self, channel: str, deadline: float) -> Post | None:
        """The next question or memo in ``channel`` after those already consumed."""
        found: list[Post] = []

        def ready() -> bool:
            for n, post in enumerate(self.fake.after(channel, self.seen[channel])):
                if post.kind in ("question", "memo"):
                    found.append(post)
                    self.seen[channel] += n + 1
                    return True
            return False

        ok = self.fake.wait_until(ready, max(0.0, deadline - time.monotonic()))
        return found[0] if ok else None

    def step(self, answer: Callable[[str], str], parallel: bool) -> list[dict[str, Any]]:
        """One reply in every unfinished thread (all at once, or one after another)."""

        def one(channel: str) -> dict[str, Any]:
            question = self.pending[channel]
            start = time.monotonic()
            sent = self.send.reply(
                answer(question), thread_ts=self.thread_ts[channel], channel=channel
            )
            post = self._next(channel, start + STEP_TIMEOUT)
            sample: dict[str, Any] = {
                "channel": channel,
                "question": question,
                "status": sent.status,
                "ack_s": sent.seconds,
                "next": post.kind if post else "timeout",
                "seconds": (post.at - start) if post else None,
            }
            if post is not None and post.kind == "question":
                self.pending[channel] = str(post.question_id)
            else:
                del self.pending[channel]
            return sample

        active = list(self.pending)
        if not parallel:
            return [one(channel) for channel in active]
        with ThreadPoolExecutor(len(active) or 1, thread_name_prefix="bench-send") as pool:
            return list(pool.map(one, active))


def run_slack(
    fake: BenchSlack, server: Server, label: str, n: int, steps: int, answer: Callable[[str], str]
) -> dict[str, Any]:
    """Parallel steps over ``n`` threads, then sequential steps over a few fresh ones; and
    the server's CPU time per reply in the parallel steps."""
    threads = Threads(fake, server.url, label, n)
    threads.start()
    time.sleep(0.5)  # let the start-up work finish before counting CPU
    cpu = cpu_seconds(server.pid)  # the server's and its workers' (bench/common.py)
    workers = {pid: cpu_seconds(pid) for pid in children(server.pid)}
    own = time.process_time()  # the load generator and the Web API fake share the cores
    parallel: list[dict[str, Any]] = []
    stepping = 0.0  # wall time of the parallel steps: replies / stepping = throughput
    for _ in range(steps):
        if not threads.pending:
            break
        began = time.monotonic()
        parallel += threads.step(answer, parallel=True)
        stepping += time.monotonic() - began
    time.sleep(0.5)  # work after the last question (the memo upload) belongs to the steps
    cpu_ms = (cpu_seconds(server.pid) - cpu) * 1000 / max(len(parallel), 1)
    own_ms = (time.process_time() - own) * 1000 / max(len(parallel), 1)
    # How evenly the shared port spread the work: each worker's share of the workers' CPU.
    spent = {pid: cpu_seconds(pid) - before for pid, before in workers.items()}
    split = [round(t / (sum(spent.values()) or 1), 2) for t in spent.values()]
    alone = Threads(fake, server.url, label + "S", 3)
    alone.start()
    sequential: list[dict[str, Any]] = []
    for _ in range(steps):
        if not alone.pending:
            break
        sequential += alone.step(answer, parallel=False)
    return {
        "parallel": parallel,
        "sequential": sequential,
        "cpu_ms_per_reply": round(cpu_ms, 2),
        "replies_per_s": round(len(parallel) / stepping, 1) if stepping else float("nan"),
        "worker_cpu_split": split,
        "bench_cpu_ms_per_reply": round(own_ms, 2),
    }


def question_seconds(samples: list[dict[str, Any]]) -> list[float]:
    return [s["seconds"] for s in samples if s["next"] == "question"]


# --- the engine alone, in-process -----------------------------------------------------


def engine_steps(db: Path, interviews: int) -> tuple[list[float], int]:
    """Seconds per ``Interviews.reply`` that led to a question, single thread; and the
    number of steps an interview took."""
    os.environ["ADVISOR_DB"] = str(db)
    from graph.interview import Interviews
    from graph.turns import Question

    service = Interviews(db)
    times: list[float] = []
    steps = 0
    for i in range(interviews):
        iid = f"bench:{i}"
        turns = service.start(iid, use_case=USE_CASE, by="Ana Lopez")
        count = 0
        while turns and isinstance(turns[-1], Question) and count < 40:
            start = time.perf_counter()
            turns = service.reply(iid, SCRIPT[turns[-1].id], by="Ana Lopez")
            elapsed = time.perf_counter() - start
            count += 1
            if turns and isinstance(turns[-1], Question):
                times.append(elapsed)
        steps = max(steps, count)
    service.close()
    return times, steps


def graph_steps(db: Path, threads: int, steps: int) -> list[float]:
    from langgraph.types import Command

    graph = bare_graph(db)
    times: list[float] = []
    for t in range(threads):
        config = graph_config(f"bench:{t}")
        graph.invoke({"n": 0}, config, durability="exit")
        for k in range(steps):
            start = time.perf_counter()
            graph.invoke(Command(resume=f"answer {k}"), config, durability="exit")
            times.append(time.perf_counter() - start)
    graph.checkpointer.conn.close()
    return times


# --- where the time goes: the advisor in-process, every app thread profiled -------------

APP_THREADS = ("advisor-", "waitress", "ThreadPoolExecutor", "app-loop")
# Calls that block (no CPU to speak of). Idle threads sit in them when the stats are read,
# and cProfile closes such open calls with the reading thread's clock: their times are
# meaningless, so they are left out.
BLOCKING = (
    "acquire' of '_thread",
    "get' of '_queue",
    "time.sleep",
    "select.",
    "poll' of 'select",
    "method 'select'",
)


class ThreadProfiles:
    """cProfile in every app thread started after ``start()``, timed in per-thread CPU
    time, so waiting for the GIL, a lock or the network costs nothing and the numbers add
    up to the CPU the app spends (the load generator's threads are left out)."""

    def __init__(self) -> None:
        self.profiles: list[tuple[str, cProfile.Profile]] = []
        self._lock = threading.Lock()

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)
        name = threading.current_thread().name
        if not name.startswith(APP_THREADS):
            return
        profile = cProfile.Profile(time.thread_time)
        with self._lock:
            self.profiles.append((name, profile))
        profile.enable()

    def start(self) -> None:
        threading.setprofile(self._hook)

    def stop(self) -> None:
        threading.setprofile(None)

    def clear(self) -> None:
        with self._lock:
            for _, profile in self.profiles:
                profile.clear()

    def stats(self) -> pstats.Stats:
        with self._lock:
            profiles = [p for _, p in self.profiles]
        merged: pstats.Stats | None = None
        for profile in profiles:
            profile.create_stats()
            if not profile.stats:
                continue  # a thread that did nothing (pstats refuses empty profiles)
            if merged is None:
                merged = pstats.Stats(profile)
            else:
                merged.add(profile)
        if merged is None:
            raise RuntimeError("no app thread was profiled")
        return merged


def profile_advisor(fake: BenchSlack, db: Path, n: int, steps: int) -> dict[str, Any]:
    """The same parallel steps against the app in this process: CPU per reply by area and
    by function (every app thread), and wall time queued vs working per job."""
    os.environ["ADVISOR_DB"] = str(db)
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "Task queue depth" warnings
    from bot.slack.app import build
    from bot.slack.config import Settings
    from bot.slack.http_edge import http_server
    from bot.slack.runner import Runner

    phases: dict[str, list[float]] = defaultdict(list)
    guard = threading.Lock()
    original_submit = Runner.submit

    def submit(self: Any, key: str, job: Callable[[], None], **options: Any) -> None:
        queued = time.perf_counter()

        def timed() -> None:
            began = time.perf_counter()
            job()
            with guard:
                phases["queued for a work thread"].append(began - queued)
                phases["job: engine + Web API calls"].append(time.perf_counter() - began)

        original_submit(self, key, timed, **options)

    profiler = ThreadProfiles()
    profiler.start()
    Runner.submit = submit  # type: ignore[method-assign]
    settings = Settings(BOT_TOKEN, SIGNING_SECRET, None, fake.url, 0, "127.0.0.1")
    advisor = build(settings)
    server = http_server(advisor, "127.0.0.1", 0)
    runner = threading.Thread(target=server.run, daemon=True, name="app-loop")
    runner.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}/slack/events"
        threads = Threads(fake, url, "prof", n)
        threads.start()
        advisor.wait_idle(30)
        with guard:
            phases.clear()
        calls_before = len(fake.calls)
        profiler.clear()
        cpu_before = time.process_time()
        samples: list[dict[str, Any]] = []
        for _ in range(steps):
            if not threads.pending:
                break
            samples += threads.step(lambda q: SCRIPT[q], parallel=True)
        advisor.wait_idle(30)
        process_cpu = time.process_time() - cpu_before
        stats = profiler.stats()
        calls = [c.method for c in fake.calls[calls_before:]]
    finally:
        profiler.stop()
        Runner.submit = original_submit  # type: ignore[method-assign]
        server.trigger.pull_trigger(server.close)
        runner.join(5)
        server.task_dispatcher.shutdown()
        advisor.close()
    replies = len(samples)
    raw: dict[Any, Any] = {
        key: value
        for key, value in stats.stats.items()  # type: ignore[attr-defined]
        if not (key[0] == "~" and any(marker in key[2] for marker in BLOCKING))
    }
    total = sum(v[2] for v in raw.values())
    web_api: dict[str, float] = defaultdict(float)
    for method in calls:
        web_api[method] += 1 / max(replies, 1)
    return {
        "replies": replies,
        "app_cpu_ms_per_reply": round(total * 1000 / max(replies, 1), 2),
        "process_cpu_ms_per_reply": round(process_cpu * 1000 / max(replies, 1), 2),
        "step": latency(question_seconds(samples)),
        "phases": {k: latency(v) for k, v in phases.items()},
        "areas": _areas(raw, replies),
        "cumulative": _top(raw, replies, key=3),
        "self": _top(raw, replies, key=2),
        "web_api_calls_per_reply": {k: round(v, 2) for k, v in sorted(web_api.items())},
        "callers": {
            name: _callers(raw, name, replies)
            for name in ("get_state", "_now", "pending", "api_call", "write", "rows_where")
        },
    }


def _where(file: str, name: str) -> str:
    """Which part of the stack a function belongs to."""
    if file == "~":
        for marker, area in (
            ("sqlite3", "sqlite3 (C)"),
            ("ormsgpack", "msgpack (C)"),
            ("socket", "socket I/O (C)"),
            ("select", "socket I/O (C)"),
            ("pydantic_core", "pydantic (C)"),
            ("json", "json (C)"),
        ):
            if marker in name:
                return area
        return "other built-ins"
    if "/site-packages/" in file:
        return file.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if file.startswith(PROJECT):
        return file.removeprefix(PROJECT).rsplit("/", 1)[0] + "/ (advisor)"
    module = file.rsplit("/python3.11/", 1)[-1].split("/", 1)[0].removesuffix(".py")
    return f"stdlib {module}"


def _areas(raw: dict[Any, Any], replies: int) -> list[dict[str, Any]]:
    """Self CPU time grouped by package: sums to the app's CPU per reply."""
    areas: dict[str, float] = defaultdict(float)
    for (file, _line, name), (_cc, _calls, tottime, _cum, _callers) in raw.items():
        areas[_where(file, name)] += tottime
    total = sum(areas.values()) or 1.0
    rows: list[dict[str, Any]] = [
        {
            "area": area,
            "cpu_ms_per_reply": round(t * 1000 / max(replies, 1), 3),
            "share": round(t / total, 3),
        }
        for area, t in areas.items()
    ]
    rows.sort(key=lambda r: r["cpu_ms_per_reply"], reverse=True)
    return rows


def _top(raw: dict[Any, Any], replies: int, key: int, limit: int = 80) -> list[dict[str, Any]]:
    """Functions by cumulative (key 3) or self (key 2) CPU per reply."""
    rows = []
    for (file, line, name), values in raw.items():
        rows.append(
            {
                "function": f"{_short(file)}:{line}:{name}",
                "calls_per_reply": round(values[1] / max(replies, 1), 2),
                "self_ms": round(values[2] * 1000 / max(replies, 1), 3),
                "cum_ms": round(values[3] * 1000 / max(replies, 1), 3),
            }
        )
    rows.sort(key=lambda r: r["cum_ms" if key == 3 else "self_ms"], reverse=True)
    return rows[:limit]


def _callers(raw: dict[Any, Any], name: str, replies: int) -> list[dict[str, Any]]:
    """Which app functions call the functions called ``name``, how often per reply, and
    the CPU spent in those calls."""
    rows: list[dict[str, Any]] = []
    for (file, line, func), values in raw.items():
        if func != name:
            continue
        for (cfile, cline, cfunc), counts in values[4].items():
            if not cfile.startswith(PROJECT) or "site-packages" in cfile:
                continue  # callers in the app only
            rows.append(
                {
                    "function": f"{_short(file)}:{line}:{func}",
                    "caller": f"{_short(cfile)}:{cline}:{cfunc}",
                    "calls_per_reply": round(counts[1] / max(replies, 1), 2),
                    "cum_ms": round(counts[3] * 1000 / max(replies, 1), 3),
                }
            )
    rows.sort(key=lambda r: r["calls_per_reply"], reverse=True)
    return rows


def _short(file: str) -> str:
    for marker in ("site-packages/", PROJECT, "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# --- report ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="Reply-to-next-question latency in Slack.")
    parser.add_argument("--interviews", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="profile even if the target is met")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="run advisor serve --workers N, against N bare processes on one port (the "
        "in-process profile then runs only with --profile); default: one process each",
    )
    args = parser.parse_args()
    workers = args.workers

    info = machine()
    tmp = temp_dir("turn")
    engine, steps = engine_steps(tmp / "engine.db", 10)
    floor_graph = graph_steps(tmp / "graph.db", 10, steps)
    with BenchSlack() as fake:
        db, log = tmp / "advisor.db", tmp / "advisor.log"
        with advisor_serve(fake.url, db, log, workers) as server:
            advisor = run_slack(fake, server, "adv", args.interviews, steps + 5, _scripted)
        db, log = tmp / "bare.db", tmp / "bare.log"
        with bare_app(fake.url, db, log, "turn", workers or 1) as server:
            bare = run_slack(fake, server, "bare", args.interviews, steps, lambda q: "ok")
        load_after = round(os.getloadavg()[0], 2)

        adv_par = latency(question_seconds(advisor["parallel"]))
        bare_par = latency(question_seconds(bare["parallel"]))
        adv_seq = latency(question_seconds(advisor["sequential"]))
        bare_seq = latency(question_seconds(bare["sequential"]))
        timeouts = sum(1 for s in advisor["parallel"] if s["next"] == "timeout")
        memos = sum(1 for s in advisor["parallel"] if s["next"] == "memo")
        met = adv_par["p50_ms"] < TARGET_P50_MS and timeouts == 0 and memos == args.interviews
        profile = None
        if args.profile or (not met and workers is None):
            profile = profile_advisor(fake, tmp / "profile.db", args.interviews, steps + 5)

    ack = latency([s["ack_s"] for s in advisor["parallel"]])
    eng, grf = latency(engine), latency(floor_graph)
    print(
        f"turn: {args.interviews} interviews, one signed reply per thread per step "
        f"({steps} steps to the memo): reply sent -> next question at the Web API"
    )
    print(
        machine_line(info)
        + f"; {load_after} after (other work on the machine skews every number here)"
    )
    count = workers or 1
    print(
        f"workers: {count} process{'es' if count > 1 else ''} for advisor serve"
        f"{f' (--workers {workers})' if workers else ''} and {count} for the floor\n"
    )
    n = args.interviews
    adv_cpu, bare_cpu = advisor["cpu_ms_per_reply"], bare["cpu_ms_per_reply"]
    adv_rate, bare_rate = advisor["replies_per_s"], bare["replies_per_s"]
    rows = [
        ["advisor serve", f"{n} at once", *_cols(adv_par), adv_rate, adv_cpu],
        ["bare Bolt + bare graph (floor)", f"{n} at once", *_cols(bare_par), bare_rate, bare_cpu],
        [
            "ratio",
            "",
            *_ratio(adv_par, bare_par),
            _div(adv_rate, bare_rate),
            _div(adv_cpu, bare_cpu),
        ],
        ["advisor serve", "one at a time", *_cols(adv_seq), "", ""],
        ["bare Bolt + bare graph (floor)", "one at a time", *_cols(bare_seq), "", ""],
        ["ratio", "", *_ratio(adv_seq, bare_seq), "", ""],
        ["Interviews.reply (in-process)", "one at a time", *_cols(eng), "", ""],
        ["bare graph invoke (floor)", "one at a time", *_cols(grf), "", ""],
        ["ratio", "", *_ratio(eng, grf), "", ""],
        ["advisor: event ack (HTTP 200)", f"{n} at once", *_cols(ack), "", ""],
    ]
    headers = ["what", "load", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "replies/s"]
    print(table([*headers, "server CPU ms/reply"], rows))
    print(
        f"\nthis process (load generator + Web API fake), CPU per reply at {n} at once: "
        f"{advisor['bench_cpu_ms_per_reply']} ms against advisor, "
        f"{bare['bench_cpu_ms_per_reply']} ms against the floor"
    )
    if workers:
        print(
            f"share of the CPU per worker, {n} at once: advisor {advisor['worker_cpu_split']}, "
            f"floor {bare['worker_cpu_split']}"
        )
    print(
        f"\ntarget: p50 under {TARGET_P50_MS:.0f} ms with {n} at once: "
        f"{'met' if met else 'MISSED'} ({adv_par['p50_ms']:.1f} ms; "
        f"floor {bare_par['p50_ms']:.1f} ms; "
        f"{memos}/{n} memos delivered, {timeouts} steps timed out)"
    )
    if profile is not None:
        _print_profile(profile, n, advisor["cpu_ms_per_reply"])
    result = {
        "machine": info,
        "load_avg_1m_after": load_after,
        "workers": count,
        "interviews": n,
        "steps": steps,
        "advisor": {
            "parallel": adv_par,
            "sequential": adv_seq,
            "event_ack": ack,
            "cpu_ms_per_reply": advisor["cpu_ms_per_reply"],
            "replies_per_s": adv_rate,
            "worker_cpu_split": advisor["worker_cpu_split"],
            "bench_cpu_ms_per_reply": advisor["bench_cpu_ms_per_reply"],
        },
        "floor": {
            "parallel": bare_par,
            "sequential": bare_seq,
            "cpu_ms_per_reply": bare["cpu_ms_per_reply"],
            "replies_per_s": bare_rate,
            "worker_cpu_split": bare["worker_cpu_split"],
            "bench_cpu_ms_per_reply": bare["bench_cpu_ms_per_reply"],
        },
        "ratio_p50_parallel": _div(adv_par["p50_ms"], bare_par["p50_ms"]),
        "ratio_p50_sequential": _div(adv_seq["p50_ms"], bare_seq["p50_ms"]),
        "engine_in_process": eng,
        "bare_graph_in_process": grf,
        "memos_delivered": memos,
        "timeouts": timeouts,
        "by_question": _by_question(advisor["parallel"]),
        "target": {"p50_ms": TARGET_P50_MS},
        "met": met,
        "profile": profile,
    }
    path = write_result("turn" if workers is None else f"turn-workers{workers}", result, args.out)
    print(f"\nwrote {path}")
    return 0 if met else 1


def _scripted(question: str) -> str:
    return SCRIPT[question]


def _print_profile(profile: dict[str, Any], n: int, cpu_ms: float) -> None:
    """Where the CPU of a reply goes. cProfile slows everything ~3x, so each row also
    shows its share of the app's profiled CPU applied to the unprofiled ``cpu_ms``."""
    total = profile["app_cpu_ms_per_reply"] or 1.0
    print(
        f"\nprofile: advisor in-process, the same {n}-at-once steps, {profile['replies']} "
        f"replies; app threads' CPU {total} ms per reply under cProfile; 'est. ms' = share "
        f"x {cpu_ms} ms (advisor serve's CPU per reply, unprofiled)\n"
    )
    print(
        table(
            ["wall time per job", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
            [[k, *_cols(v)] for k, v in profile["phases"].items()],
        )
    )
    print()
    print(
        table(
            ["CPU by area (self time)", "share", "est. ms/reply"],
            [[a["area"], a["share"], round(a["share"] * cpu_ms, 2)] for a in profile["areas"][:14]],
        )
    )
    print()
    keep = ("graph/", "bot/", "langgraph/", "slack_bolt/", "slack_sdk/", "knowledge/", "yaml/")
    rows = [f for f in profile["cumulative"] if f["function"].startswith(keep)][:28]
    print(
        table(
            ["function (CPU incl. callees)", "calls/reply", "share", "est. ms/reply"],
            [
                [
                    f["function"],
                    f["calls_per_reply"],
                    round(f["cum_ms"] / total, 3),
                    round(f["cum_ms"] / total * cpu_ms, 2),
                ]
                for f in rows
            ],
        )
    )
    print()
    callers = [r for rows in profile["callers"].values() for r in rows]
    print(
        table(
            ["called", "from (app code)", "calls/reply", "est. ms/reply"],
            [
                [
                    r["function"].rsplit(":", 1)[-1],
                    r["caller"],
                    r["calls_per_reply"],
                    round(r["cum_ms"] / total * cpu_ms, 2),
                ]
                for r in callers
            ],
        )
    )
    print()
    print(
        table(
            ["Web API calls per reply", "calls"],
            [[k, v] for k, v in profile["web_api_calls_per_reply"].items()],
        )
    )


def _div(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def _cols(stats: dict[str, float]) -> list[Any]:
    return [stats["n"], stats["p50_ms"], stats["p90_ms"], stats["p99_ms"], stats["max_ms"]]


def _ratio(a: dict[str, float], b: dict[str, float]) -> list[Any]:
    def div(key: str) -> Any:
        return round(a[key] / b[key], 2) if b[key] else ""

    return ["", div("p50_ms"), div("p90_ms"), div("p99_ms"), div("max_ms")]


def _by_question(samples: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        if s["next"] == "question":
            grouped[s["question"]].append(s["seconds"])
    return {q: latency(v) for q, v in grouped.items()}


if __name__ == "__main__":
    sys.exit(main())
