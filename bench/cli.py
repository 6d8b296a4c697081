"""CLI start-up benchmark: what a command costs before it does anything much.

Runs each command as a user would (``.venv/bin/advisor …``, a fresh process each time) and
times its CPU (user + system, from the child's rusage) and wall time, beside the floor
measured in the same run: a bare ``python -c 'import sqlite3'`` on the same interpreter. A
command imports only what it uses, so ``--version``, ``assess``, ``knowledge search`` and
``memo list`` each stay within 8x that floor in CPU. Each command runs once untimed first
(byte code compiled, the card index built), then ``--runs`` times; medians are reported.
Writes bench/results/cli.json. Exits 1 when a target is missed.

    .venv/bin/python bench/cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import machine, machine_line, table, temp_dir, write_result

TARGET_RATIO = 8.0
PYTHON = Path(sys.executable)
ADVISOR = PYTHON.with_name("advisor")  # the console script pip installed beside python

# A short profile: the policy's cost is small beside start-up either way.
PROFILE = {"use_case": "Route support tickets", "task_type": "classification"}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(argv: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    timed(argv, env)  # warm: byte code, the card index, the database file
    samples = [timed(argv, env) for _ in range(runs)]
    return {
        "cpu_ms": round(statistics.median(c for c, _ in samples) * 1000, 1),
        "wall_ms": round(statistics.median(w for _, w in samples) * 1000, 1),
        "runs": runs,
    }


def seed_memos(env: dict[str, str], count: int = 20) -> None:
    """A few memos in the scratch database, so ``memo list`` lists something."""
    script = (
        "from graph.store import Store\n"
        "s = Store()\n"
        f"for n in range({count}):\n"
        "    s.create_interview(f'cli:{n}', use_case=f'use case {n}', by='bench')\n"
        "    s.save_memo(interview_id=f'cli:{n}', version=1, markdown='# memo',\n"
        "                assessment={'approach': 'rag'}, use_case=f'use case {n}')\n"
    )
    subprocess.run([str(PYTHON), "-c", script], env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Start-up cost of advisor's commands.")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not ADVISOR.exists():
        sys.exit(f"no advisor script beside {PYTHON}: run `make` first")

    info = machine()
    tmp = temp_dir("cli")
    profile = tmp / "profile.json"
    profile.write_text(json.dumps(PROFILE), encoding="utf-8")
    env = {**os.environ, "ADVISOR_DB": str(tmp / "cli.db")}
    for name in ("ANTHROPIC_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    seed_memos(env)

    advisor = str(ADVISOR)
    targets: dict[str, list[str]] = {
        "advisor --version": [advisor, "--version"],
        "advisor assess FILE": [advisor, "assess", str(profile)],
        "advisor knowledge search Q": [advisor, "knowledge", "search", "how many examples"],
        "advisor memo list": [advisor, "memo", "list"],
    }
    py = str(PYTHON)
    others: dict[str, list[str]] = {  # shown for comparison, no target
        "python: import click, pydantic.BaseModel": [
            py,
            "-c",
            "import click; from pydantic import BaseModel",
        ],
        # What any command that validates input with pydantic pays before its own code: the
        # first model loads pydantic's schema machinery and its plugin lookup
        # (importlib.metadata). `assess` validates the profile, so this is its floor.
        "python: import click, one pydantic model": [
            py,
            "-c",
            "import click\nfrom pydantic import BaseModel\nclass M(BaseModel):\n    x: int",
        ],
        "python: import click, pydantic.BaseModel, sqlite_utils": [
            py,
            "-c",
            "import click, sqlite_utils; from pydantic import BaseModel",
        ],
        "python: import langgraph, slack_bolt": [py, "-c", "import langgraph.graph, slack_bolt"],
        "advisor --help (loads every command)": [advisor, "--help"],
    }
    floor = measure([str(PYTHON), "-c", "import sqlite3"], env, args.runs)
    results = {name: measure(argv, env, args.runs) for name, argv in {**targets, **others}.items()}

    print(f"cli: each command in a fresh process, median of {args.runs} runs after one warm-up")
    print(machine_line(info) + "\n")
    rows: list[list[Any]] = [
        ["python -c 'import sqlite3' (floor)", floor["cpu_ms"], floor["wall_ms"], 1.0, "", ""]
    ]
    met = True
    for name, result in results.items():
        ratio = round(result["cpu_ms"] / floor["cpu_ms"], 2) if floor["cpu_ms"] else float("nan")
        result["ratio"] = ratio
        if name in targets:
            ok = ratio <= TARGET_RATIO
            met = met and ok
            rows.append(
                [
                    name,
                    result["cpu_ms"],
                    result["wall_ms"],
                    ratio,
                    f"≤ {TARGET_RATIO:g}×",
                    "✅" if ok else "❌",
                ]
            )
        else:
            rows.append([name, result["cpu_ms"], result["wall_ms"], ratio, "", ""])
    print(table(["command", "CPU ms", "wall ms", "CPU / floor", "target", "met"], rows))
    print(
        f"\ntarget: each of {', '.join(targets)} within {TARGET_RATIO:g}x the floor's CPU: "
        f"{'met' if met else 'MISSED'}"
    )
    path = write_result(
        "cli",
        {
            "machine": info,
            "floor": floor,
            "commands": results,
            "targets": sorted(targets),
            "target_ratio": TARGET_RATIO,
            "met": met,
        },
        args.out,
    )
    print(f"\nwrote {path}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
