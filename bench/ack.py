"""Ack benchmark: how fast ``/advisor`` is acknowledged under a burst of commands.

Sends N signed ``/advisor`` slash commands, C at a time (each of C clients sends its next
command as soon as the last one was acked), to ``advisor serve`` (HTTP mode, waitress, the
Web API played by tests/slack_fake.py on loopback, offline) and, as the floor, to a bare
Bolt app that only acks and posts one message, behind the same waitress set-up. Both run as
subprocesses. Prints p50/p99 ack latency and the ratio, and how long until every interview
had its first question; writes bench/results/ack.json. Exits 1 when a target is missed.

    .venv/bin/python bench/ack.py [--commands 120] [--concurrency 12]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import (
    BenchSlack,
    Server,
    SlackSender,
    advisor_serve,
    bare_app,
    latency,
    machine,
    machine_line,
    table,
    temp_dir,
    write_result,
)

TARGET_RATIO_P50 = 1.5
TARGET_P99_MS = 1_000.0  # "far under Slack's 3 s"
WARMUP = 4


def burst(
    fake: BenchSlack, server: Server, commands: int, concurrency: int, label: str
) -> dict[str, Any]:
    """Warm up, then ``commands`` commands from ``concurrency`` clients; wait (bounded)
    until the app has posted what each command asks for."""
    send = SlackSender(server.url, fake)
    channel = f"C{label.upper()}"
    done_kind = "question" if label == "advisor" else "other"
    want_thread = label == "advisor"  # the advisor's first question is in the new thread

    def finished() -> int:
        return fake.count(
            lambda p: (
                p.channel == channel
                and p.kind == done_kind
                and (p.thread_ts is not None) == want_thread
            )
        )

    for n in range(WARMUP):
        if send.command(f"warm-up {n}", channel=channel).status != 200:
            raise RuntimeError(f"{server.name} refused a warm-up command")
    if not fake.wait_until(lambda: finished() >= WARMUP, 30):
        raise RuntimeError(f"{server.name} did not answer the warm-up commands")

    acks: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    per_client = [
        commands // concurrency + (1 if i < commands % concurrency else 0)
        for i in range(concurrency)
    ]

    def client(i: int) -> None:
        for k in range(per_client[i]):
            sent = send.command(f"Route support tickets to 12 queues ({i}-{k})", channel=channel)
            with lock:
                acks.append(sent.seconds)
                statuses.append(sent.status)

    start = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, range(concurrency)))
    sent_all = time.monotonic() - start
    complete = fake.wait_until(lambda: finished() >= WARMUP + commands, 60)
    drained = time.monotonic() - start
    return {
        "app": server.name,
        "commands": commands,
        "concurrency": concurrency,
        "http_200": sum(1 for s in statuses if s == 200),
        "ack": latency(acks),
        "sent_all_s": round(sent_all, 3),
        "all_done_s": round(drained, 3) if complete else None,
        "done": finished() - WARMUP,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Ack latency of /advisor under a burst.")
    parser.add_argument("--commands", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    info = machine()
    tmp = temp_dir("ack")
    runs: dict[str, dict[str, Any]] = {}
    with BenchSlack() as fake:
        with bare_app(fake.url, tmp / "bare.db", tmp / "bare.log", "ack") as bare:
            runs["bare"] = burst(fake, bare, args.commands, args.concurrency, "bare")
        with advisor_serve(fake.url, tmp / "advisor.db", tmp / "advisor.log") as advisor:
            runs["advisor"] = burst(fake, advisor, args.commands, args.concurrency, "advisor")

    bare_ack, adv_ack = runs["bare"]["ack"], runs["advisor"]["ack"]
    ratio_p50 = adv_ack["p50_ms"] / bare_ack["p50_ms"]
    ratio_p99 = adv_ack["p99_ms"] / bare_ack["p99_ms"]
    ok = (
        ratio_p50 <= TARGET_RATIO_P50
        and adv_ack["p99_ms"] < TARGET_P99_MS
        and runs["advisor"]["http_200"] == args.commands
        and runs["advisor"]["done"] == args.commands
    )

    print(f"ack: {args.commands} signed /advisor commands, {args.concurrency} at a time")
    print(machine_line(info) + "\n")
    rows = []
    for key, label, what in (
        ("bare", "bare Bolt app (floor)", "message posted"),
        ("advisor", "advisor serve", "first question posted"),
    ):
        run = runs[key]
        rows.append(
            [
                label,
                run["ack"]["p50_ms"],
                run["ack"]["p90_ms"],
                run["ack"]["p99_ms"],
                run["ack"]["max_ms"],
                f"{run['http_200']}/{args.commands}",
                f"{run['done']} {what} in {run['all_done_s']} s",
            ]
        )
    rows.append(
        [
            "ratio advisor / bare",
            ratio_p50,
            "",
            ratio_p99,
            "",
            "",
            f"target p50 <= {TARGET_RATIO_P50}x",
        ]
    )
    print(
        table(
            ["app", "p50 ms", "p90 ms", "p99 ms", "max ms", "HTTP 200", "work done"],
            rows,
        )
    )
    print(
        f"\ntarget: p50 within {TARGET_RATIO_P50}x of the bare app "
        f"({'met' if ratio_p50 <= TARGET_RATIO_P50 else 'MISSED'}: {ratio_p50:.2f}x); "
        f"p99 under {TARGET_P99_MS:.0f} ms, far under Slack's 3 s "
        f"({'met' if adv_ack['p99_ms'] < TARGET_P99_MS else 'MISSED'}: {adv_ack['p99_ms']:.1f} ms)"
    )
    result = {
        "machine": info,
        "commands": args.commands,
        "concurrency": args.concurrency,
        "bare": runs["bare"],
        "advisor": runs["advisor"],
        "ratio_p50": round(ratio_p50, 3),
        "ratio_p99": round(ratio_p99, 3),
        "target": {"ratio_p50": TARGET_RATIO_P50, "p99_ms": TARGET_P99_MS},
        "met": ok,
    }
    path = write_result("ack", result, args.out)
    print(f"\nwrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
