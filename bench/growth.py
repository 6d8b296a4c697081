"""Growth benchmark: what finished interviews cost on disk, what open ones cost in memory,
and how ``advisor memo list`` / ``memo export`` hold up with many memos.

1. Disk: N interviews run to their memo through ``graph.interview.Interviews`` with typed
   answers; database bytes and checkpoint rows per interview as the engine leaves them,
   then after ``graph.retention.compact_finished`` and a VACUUM. Floors: the app's own
   tables (what people said and decided) and a bare one-node LangGraph graph stepped as
   many times on the same SqliteSaver set-up.
2. Memory: VmRSS of ``advisor serve`` (HTTP mode, offline, the local Web API) idle, and
   with M interviews open (started by signed ``/advisor`` commands, first question posted).
3. Memos: K memos saved through ``Store.save_memo`` (a real rendered memo reused); wall
   time of ``advisor memo list`` and ``advisor memo export ID`` as subprocesses and as
   in-process calls, beside the same at an empty database and ``advisor --version``.

Writes bench/results/growth.json. Exits 1 when a target is missed.

    .venv/bin/python bench/growth.py [--interviews 1000] [--open 500] [--memos 10000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import (
    PYTHON,
    SCRIPT,
    USE_CASE,
    BenchSlack,
    SlackSender,
    advisor_serve,
    bare_graph,
    graph_config,
    machine,
    machine_line,
    rss_kib,
    table,
    temp_dir,
    write_result,
)

# Targets: a finished interview, once compacted, keeps at most this many checkpoints and
# bytes; an open interview costs at most this much memory; memo commands stay interactive.
TARGET_CHECKPOINTS_AFTER = 2.0
TARGET_BYTES_AFTER = 64 * 1024
TARGET_KIB_PER_OPEN = 256
ADVISOR = str(Path(PYTHON).parent / "advisor")
REPEAT = 3
TARGET_IN_PROCESS_S = 1.0


# --- 1. disk ------------------------------------------------------------------------


def db_facts(db: Path) -> dict[str, Any]:
    """retention.stats, trimmed to what the table shows."""
    from graph.retention import stats

    s = stats(db)
    return {
        "total_bytes": s.total_bytes,
        "file_bytes": s.file_bytes,
        "wal_bytes": s.wal_bytes,
        "interviews": s.interviews,
        "threads": s.threads,
        "rows": s.tables,
        "table_bytes": s.table_bytes,
        "interview_bytes": s.interview_bytes,
        "bytes_per_interview": s.bytes_per_interview,
        "checkpoints_per_interview": s.checkpoints_per_interview_avg,
        "checkpoints_max": s.checkpoints_per_interview_max,
    }


def per_interview(facts: dict[str, Any], n: int) -> dict[str, float]:
    rows, sizes = facts["rows"], facts["table_bytes"]
    app = sum(sizes.get(t, 0) for t in ("interviews", "answers", "memos", "usage"))
    graph = sum(sizes.get(t, 0) for t in ("checkpoints", "writes"))
    return {
        "bytes": facts["interview_bytes"] / n,
        "checkpoint_bytes": graph / n,
        "app_table_bytes": app / n,
        "checkpoint_rows": rows.get("checkpoints", 0) / n,
        "write_rows": rows.get("writes", 0) / n,
    }


def run_interviews(db: Path, first: int, count: int, compact: bool = True) -> tuple[int, str]:
    """Interviews ``first`` .. ``first + count - 1`` to their memo; (replies per interview,
    one memo id). Runs in a worker process. ``compact=False`` switches off the engine's
    compaction of finished interviews, to see what LangGraph alone would keep."""
    os.environ["ADVISOR_DB"] = str(db)
    import graph.interview
    from graph.interview import Interviews
    from graph.turns import MemoReady, Question

    if not compact and hasattr(graph.interview, "compact_thread"):
        graph.interview.compact_thread = lambda *args, **kwargs: 0

    service = Interviews(db)
    steps = 0
    memo_id = ""
    for i in range(first, first + count):
        iid = f"bench:growth:{i}"
        turns = service.start(iid, use_case=USE_CASE, by="Ana Lopez")
        replies = 0
        while turns and isinstance(turns[-1], Question) and replies < 40:
            turns = service.reply(iid, SCRIPT[turns[-1].id], by="Ana Lopez")
            replies += 1
        memos = [t for t in turns if isinstance(t, MemoReady)]
        if not memos:
            raise RuntimeError(f"interview {i} ended without a memo: {turns!r}")
        memo_id = memos[-1].memo_id
        steps = max(steps, replies)
    service.close()
    return steps, memo_id


def run_all(db: Path, n: int, workers: int, compact: bool = True) -> tuple[int, float, str]:
    """``n`` interviews split over ``workers`` processes on one database (as two
    ``advisor serve`` processes would share it); (replies per interview, seconds, a memo)."""
    from graph.interview import Interviews

    Interviews(db).close()  # tables, checkpoint schema and card index made once, up front
    share = [n // workers + (1 if w < n % workers else 0) for w in range(workers)]
    firsts = [sum(share[:w]) for w in range(workers)]
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        done = list(pool.map(run_interviews, [db] * workers, firsts, share, [compact] * workers))
    seconds = time.perf_counter() - start
    return max(steps for steps, _ in done), seconds, done[0][1]


def revise_after_compaction(db: Path) -> bool:
    """A compacted finished interview still takes a revision and writes memo version 2."""
    from graph.interview import Interviews
    from graph.turns import MemoReady

    service = Interviews(db)
    try:
        turns = service.reply("bench:growth:0", "change volume to 50k", by="Ana Lopez")
        return any(isinstance(t, MemoReady) for t in turns)
    finally:
        service.close()


def bare_floor(db: Path, threads: int, steps: int) -> dict[str, float]:
    """Checkpoint rows and bytes per thread of a bare interrupt loop stepped ``steps``
    times (start + steps invokes), on the engine's SqliteSaver set-up."""
    from langgraph.types import Command

    graph = bare_graph(db)
    for t in range(threads):
        config = graph_config(f"bare:{t}")
        graph.invoke({"n": 0}, config, durability="exit")
        for k in range(steps):
            graph.invoke(Command(resume=f"answer {k}"), config, durability="exit")
    conn = graph.checkpointer.conn
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sizes = dict(
        conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat WHERE name IN ('checkpoints', 'writes',"
            " 'sqlite_autoindex_checkpoints_1', 'sqlite_autoindex_writes_1') GROUP BY name"
        ).fetchall()
    )
    rows = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    writes = conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0]
    conn.close()
    return {
        "threads": threads,
        "steps": steps,
        "bytes": sum(sizes.values()) / threads,
        "checkpoint_rows": rows / threads,
        "write_rows": writes / threads,
    }


def policy(db: Path, n: int, workers: int, compact: bool) -> dict[str, Any]:
    """``n`` interviews into ``db``; its facts as left, then after compact_finished and a
    VACUUM."""
    from graph.retention import compact_finished, vacuum

    steps, seconds, memo_id = run_all(db, n, workers, compact)
    before = db_facts(db)
    start = time.perf_counter()
    removed = compact_finished(db)
    compact_s = time.perf_counter() - start
    vacuum(db)
    after = db_facts(db)
    return {
        "interviews": n,
        "engine_compacts": compact,
        "steps_per_interview": steps,
        "run_s": round(seconds, 2),
        "workers": workers,
        "before": before,
        "after": after,
        "per_interview_before": per_interview(before, n),
        "per_interview_after": per_interview(after, n),
        "checkpoints_removed": removed,
        "compact_s": round(compact_s, 3),
        "sample_memo_id": memo_id,
        "db": str(db),
    }


def disk(tmp: Path, n: int, workers: int, uncompacted: int) -> dict[str, Any]:
    os.environ["ADVISOR_DB"] = str(tmp / "growth.db")
    shipped = policy(tmp / "growth.db", n, workers, compact=True)
    shipped["revision_after_compaction_ok"] = revise_after_compaction(tmp / "growth.db")
    without = policy(tmp / "uncompacted.db", uncompacted, workers, compact=False)
    shipped["without_retention"] = without
    shipped["bare_graph_floor"] = bare_floor(
        tmp / "bare.db", min(n, 200), shipped["steps_per_interview"]
    )
    return shipped


# --- 2. memory ----------------------------------------------------------------------


def memory(tmp: Path, n: int) -> dict[str, Any]:
    with BenchSlack() as fake:
        server = advisor_serve(fake.url, tmp / "rss.db", tmp / "rss.log")
        with server:
            time.sleep(1.0)
            idle = rss_kib(server.pid)
            send = SlackSender(server.url, fake)
            channel = "CGROWTH"

            def one(i: int) -> int:
                return int(send.command(f"{USE_CASE} ({i})", channel=channel).status)

            start = time.monotonic()
            with ThreadPoolExecutor(12, thread_name_prefix="bench-send") as pool:
                statuses = list(pool.map(one, range(n)))

            def asked() -> int:
                return fake.count(
                    lambda p: p.channel == channel and p.kind == "question" and p.thread_ts
                )

            complete = fake.wait_until(lambda: asked() >= n, 120)
            started_s = time.monotonic() - start
            time.sleep(1.0)
            busy = rss_kib(server.pid)
    return {
        "interviews_open": asked(),
        "http_200": sum(1 for s in statuses if s == 200),
        "started_s": round(started_s, 2) if complete else None,
        "idle_rss_kib": idle["VmRSS"],
        "open_rss_kib": busy["VmRSS"],
        "open_peak_kib": busy["VmHWM"],
        "kib_per_open_interview": round((busy["VmRSS"] - idle["VmRSS"]) / max(n, 1), 1),
    }


# --- 3. memos -----------------------------------------------------------------------


def fill_memos(db: Path, source: Path, memo_id: str, k: int) -> tuple[str, float]:
    """``k`` memos through Store.save_memo, each a copy of a real one; (an id, seconds)."""
    from graph.store import Store

    real = Store(source).get_memo(memo_id)
    if real is None:
        raise RuntimeError(f"memo {memo_id} not found in {source}")
    store = Store(db)
    start = time.perf_counter()
    last = ""
    for i in range(k):
        record = store.save_memo(
            interview_id=f"T0TEAM:C0CHAN:1700000000.{i:06d}",
            version=1,
            markdown=real.markdown,
            assessment=real.assessment,
            use_case=f"{real.use_case} #{i}",
            at=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00+00:00",
        )
        if i == k // 2:
            last = record.id
    seconds = time.perf_counter() - start
    store.close()
    return last, seconds


def wall(argv: list[str], db: Path) -> tuple[float, int, int]:
    """Fastest wall seconds of a command over REPEAT runs (the least disturbed by whatever
    else the machine is doing); its exit status; bytes printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ANTHROPIC_"))}
    env["ADVISOR_DB"] = str(db)
    times = []
    code, size = 0, 0
    for _ in range(REPEAT):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
        times.append(time.perf_counter() - start)
        code, size = done.returncode, len(done.stdout)
    return min(times), code, size


def in_process(args: list[str], db: Path) -> tuple[float, int, int]:
    """Fastest seconds of the same command through click's CliRunner, in this process."""
    from click.testing import CliRunner

    from bot.cli import cli

    runner = CliRunner()
    env = {"ADVISOR_DB": str(db)}
    times = []
    code, size = 0, 0
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = runner.invoke(cli, args, env=env)
        times.append(time.perf_counter() - start)
        code, size = result.exit_code, len(result.stdout)
    return min(times), code, size


def memos(tmp: Path, source: Path, memo_id: str, k: int) -> dict[str, Any]:
    from graph.store import Store

    full, empty = tmp / "memos.db", tmp / "empty.db"
    Store(empty).close()
    some_id, fill_s = fill_memos(full, source, memo_id, k)
    rows: list[dict[str, Any]] = []
    cases = [
        ("advisor --version", ["--version"], empty, "floor: start-up and imports"),
        ("advisor memo list", ["memo", "list"], empty, "floor: no memos"),
        ("advisor memo list", ["memo", "list"], full, f"{k:,} memos"),
        ("advisor memo export ID", ["memo", "export", some_id], full, f"{k:,} memos"),
    ]
    for label, argv, db, where in cases:
        sub_s, sub_code, sub_bytes = wall([ADVISOR, *argv], db)
        fn_s, fn_code, _ = in_process(argv, db)
        rows.append(
            {
                "command": label,
                "database": where,
                "subprocess_s": round(sub_s, 3),
                "in_process_s": round(fn_s, 4),
                "exit": sub_code if sub_code == fn_code else f"{sub_code}/{fn_code}",
                "stdout_bytes": sub_bytes,
            }
        )
    start = time.perf_counter()
    listed = len(Store(full).list_memos())
    list_s = time.perf_counter() - start
    return {
        "memos": k,
        "fill_s": round(fill_s, 2),
        "db_bytes": full.stat().st_size,
        "store_list_memos_s": round(list_s, 4),
        "listed": listed,
        "commands": rows,
    }


# --- report ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="Database, memory and memo-command growth.")
    parser.add_argument("--interviews", type=int, default=1000)
    parser.add_argument("--open", type=int, default=500, dest="open_")
    parser.add_argument("--memos", type=int, default=10_000)
    parser.add_argument(
        "--uncompacted",
        type=int,
        default=200,
        help="interviews run with the engine's compaction off (the 'before' rows)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, len(os.sched_getaffinity(0))),
        help="processes running the finished interviews",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    info = machine()
    tmp = temp_dir("growth")
    d = disk(tmp, args.interviews, args.workers, args.uncompacted)
    m = memory(tmp, args.open_)
    c = memos(tmp, Path(d["db"]), d["sample_memo_id"], args.memos)
    a = d["per_interview_before"]  # what the shipped engine keeps

    n = args.interviews
    w = d["without_retention"]
    f = d["bare_graph_floor"]
    print(f"growth: {n:,} finished interviews, {args.open_} open, {args.memos:,} memos")
    print(machine_line(info) + "\n")
    print(
        f"1. disk: interviews of {d['steps_per_interview']} replies each, to the memo "
        f"({n:,} in {d['run_s']} s by {d['workers']} processes); the engine compacts an "
        f"interview when it finishes; {w['interviews']:,} more were run with that switched "
        f"off. A compacted interview "
        f"{'still takes a revision' if d['revision_after_compaction_ok'] else 'FAILED a revision'}."
    )

    def row(label: str, per: dict[str, float], facts: dict[str, Any] | None) -> list[Any]:
        return [
            label,
            round(per["bytes"]),
            round(per["checkpoint_bytes"]),
            round(per["app_table_bytes"]),
            per["checkpoint_rows"],
            per["write_rows"],
            facts["total_bytes"] if facts else "",
        ]

    rows = [
        row(f"no retention ({w['interviews']:,})", w["per_interview_before"], w["before"]),
        row(
            f"  then compact_finished + VACUUM ({w['compact_s']} s)",
            w["per_interview_after"],
            w["after"],
        ),
        row(f"as shipped: compacted on finish ({n:,})", d["per_interview_before"], d["before"]),
        row(
            f"  then compact_finished + VACUUM ({d['compact_s']} s)",
            d["per_interview_after"],
            d["after"],
        ),
        [
            f"floor: bare graph, {f['steps']} steps",
            round(f["bytes"]),
            round(f["bytes"]),
            "",
            f["checkpoint_rows"],
            f["write_rows"],
            "",
        ],
    ]
    print(
        table(
            [
                "per interview",
                "bytes",
                "checkpoint bytes",
                "app-table bytes",
                "checkpoints",
                "writes",
                "db file bytes",
            ],
            rows,
        )
    )
    print(
        f"\n2. memory: advisor serve, VmRSS idle {m['idle_rss_kib']:,} KiB; with "
        f"{m['interviews_open']} interviews open {m['open_rss_kib']:,} KiB "
        f"(peak {m['open_peak_kib']:,} KiB); {m['kib_per_open_interview']} KiB per open "
        f"interview; all started in {m['started_s']} s"
    )
    print(
        f"\n3. memos: {c['memos']:,} saved in {c['fill_s']} s ({c['db_bytes']:,} bytes); "
        f"Store.list_memos (every full row) {c['store_list_memos_s'] * 1000:.1f} ms; "
        f"commands: fastest of {REPEAT} runs"
    )
    print(
        table(
            ["command", "database", "subprocess s", "in-process s", "exit", "stdout bytes"],
            [list(r.values()) for r in c["commands"]],
        )
    )

    cli_rows = [r for r in c["commands"] if r["database"].endswith("memos")]
    startup = c["commands"][0]["subprocess_s"]
    checks = {
        "checkpoints_after": a["checkpoint_rows"] <= TARGET_CHECKPOINTS_AFTER,
        "bytes_after": a["bytes"] <= TARGET_BYTES_AFTER,
        "revision_after_compaction": d["revision_after_compaction_ok"],
        "kib_per_open": m["kib_per_open_interview"] <= TARGET_KIB_PER_OPEN
        and m["interviews_open"] >= args.open_,
        "memo_commands": all(
            r["in_process_s"] < TARGET_IN_PROCESS_S
            and r["subprocess_s"] - startup < TARGET_IN_PROCESS_S
            and r["exit"] == 0
            for r in cli_rows
        ),
    }
    print(
        "\ntargets: "
        + "; ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in checks.items())
        + f" (checkpoints <= {TARGET_CHECKPOINTS_AFTER}, bytes <= {TARGET_BYTES_AFTER:,} per "
        f"finished interview after compaction; <= {TARGET_KIB_PER_OPEN} KiB per open "
        f"interview; memo commands under {TARGET_IN_PROCESS_S} s in-process and over the "
        f"start-up floor)"
    )
    result = {
        "machine": info,
        "disk": d,
        "memory": m,
        "memos": c,
        "targets": {
            "checkpoints_after": TARGET_CHECKPOINTS_AFTER,
            "bytes_after": TARGET_BYTES_AFTER,
            "kib_per_open": TARGET_KIB_PER_OPEN,
            "memo_command_s": TARGET_IN_PROCESS_S,
        },
        "checks": checks,
        "met": all(checks.values()),
    }
    path = write_result("growth", result, args.out)
    print(f"\nwrote {path}")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
