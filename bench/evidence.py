"""Evidence benchmark: how fast ``graph.evidence`` measures a file, and how much memory it
needs, beside a floor measured in the same run on the same file.

Files (written to a scratch directory): an eval CSV, training JSONL in the chat shape, and
a JSON list of prompt/completion records, each 100,000 rows (1 % of training rows carry
an email, phone, card number or IBAN; 2 % repeat an earlier row), plus chat JSONL near the
50 MB limit. For each file, in a fresh process per run:

- ``measure``: ``measure_path`` (the checks pass with sha256 and UTF-8 validation, then
  every measure and the personal-data scan);
- ``floor``: just reading and decoding the same file with no measures (csv.reader over a
  text stream, ``json.loads`` per line, ``json.load`` of the whole JSON list: the fastest
  decode, holding the whole list in memory).

Wall and CPU time are the median of ``--repeat`` runs; peak RSS is the process's high-water
mark (interpreter and libraries included; ``idle`` is a process that only imports them);
the tracemalloc peak (a separate run, as tracing slows the code) is the Python objects
alive at once. Writes bench/results/evidence.json. Exits 1 when a target is missed:
100,000 rows in under 2 s of CPU time (wall time is printed too; on a shared machine it
also counts time spent waiting for a core), and a tracemalloc peak under a quarter of the
file's size (a training file keeps 16 bytes a row for duplicates and conflicts, an eval 8).

    .venv/bin/python bench/evidence.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import machine, machine_line, table, temp_dir, write_result

TARGET_S = 2.0
TARGET_PEAK_SHARE = 0.25  # Python objects alive at once, as a share of the file's bytes
NEAR_LIMIT_BYTES = 48_000_000
LABELS = [f"queue_{n}" for n in range(12)]
WORDS = ["the", "order", "arrived", "late", "and", "the", "invoice", "shows", "a", "charge"]


# --- files -----------------------------------------------------------------------------


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _personal(rng: random.Random, n: int) -> str:
    """One kind of personal data in 1 % of rows (valid values, so the validators run)."""
    if n % 100:
        return ""
    return rng.choice(
        [
            f" write to user{n}@example.com",
            " call (415) 555-2671",
            " card 4111 1111 1111 1111",
            " IBAN DE89 3704 0044 0532 0130 00",
        ]
    )


def write_eval_csv(path: Path, rows: int) -> None:
    rng = random.Random(1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "input", "expected", "predicted"])
        for n in range(rows):
            expected = rng.choice(LABELS)
            predicted = expected if rng.random() < 0.82 else rng.choice(LABELS)
            writer.writerow([n, _sentence(rng, 14), expected, predicted])


def _chat(rng: random.Random, n: int) -> dict[str, Any]:
    seed = n - 7 if n % 50 == 0 and n else n  # 2 % repeat an earlier row exactly
    local = random.Random(seed)
    return {
        "messages": [
            {"role": "system", "content": "Route the ticket to one queue. Answer the queue."},
            {"role": "user", "content": _sentence(local, 24) + _personal(rng, n)},
            {"role": "assistant", "content": local.choice(LABELS)},
        ]
    }


def write_chat_jsonl(path: Path, rows: int | None, size: int | None = None) -> int:
    rng = random.Random(2)
    n = 0
    with path.open("w", encoding="utf-8") as handle:
        while (rows is not None and n < rows) or (size is not None and handle.tell() < size):
            handle.write(json.dumps(_chat(rng, n)) + "\n")
            n += 1
    return n


def write_json_list(path: Path, rows: int) -> None:
    rng = random.Random(3)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        for n in range(rows):
            record = {
                "prompt": _sentence(rng, 20) + _personal(rng, n),
                "completion": rng.choice(LABELS),
            }
            handle.write(("," if n else "") + json.dumps(record) + "\n")
        handle.write("]\n")


# --- one run, in its own process -------------------------------------------------------


def _floor(path: Path) -> int:
    """Read and decode every record with no measures; returns the rows seen."""
    count = 0
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            for _ in csv.reader(handle):
                count += 1
        return count - 1
    if path.suffix == ".jsonl":
        with path.open("rb") as handle:
            for line in handle:
                json.loads(line)
                count += 1
        return count
    with path.open("rb") as handle:
        return len(json.load(handle))


def _measure(path: Path) -> int:
    from graph.evidence import measure_path

    return measure_path(path).rows


def child(mode: str, path: Path, trace: bool) -> None:
    run: Callable[[Path], int] = {"floor": _floor, "measure": _measure, "idle": lambda p: 0}[mode]
    import graph.evidence  # noqa: F401  # loaded before timing in every mode

    if trace:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "wall": wall, "cpu": cpu, "rss_kib": rss_kib, "peak": peak}))


def run_child(mode: str, path: Path, trace: bool = False) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", mode, str(path)] + (["--trace"] if trace else [])
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, cwd=Path(__file__).parent
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure_case(path: Path, repeat: int) -> dict[str, Any]:
    facts: dict[str, Any] = {"file": path.name, "bytes": path.stat().st_size}
    for mode in ("floor", "measure"):
        runs = [run_child(mode, path) for _ in range(repeat)]
        traced = run_child(mode, path, trace=True)
        facts[mode] = {
            "rows": runs[0]["rows"],
            "wall_s": statistics.median(r["wall"] for r in runs),
            "cpu_s": statistics.median(r["cpu"] for r in runs),
            "rss_mib": max(r["rss_kib"] for r in runs) / 1024,
            "tracemalloc_peak_mib": traced["peak"] / 2**20,
        }
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.trace)
        return

    info = machine()
    print(machine_line(info))
    scratch = temp_dir("evidence")
    files = {
        "eval CSV": scratch / "eval.csv",
        "training JSONL (chat)": scratch / "train.jsonl",
        "training JSON list": scratch / "train.json",
        "training JSONL near 50 MB": scratch / "big.jsonl",
    }
    write_eval_csv(files["eval CSV"], args.rows)
    write_chat_jsonl(files["training JSONL (chat)"], args.rows)
    write_json_list(files["training JSON list"], args.rows)
    write_chat_jsonl(files["training JSONL near 50 MB"], None, NEAR_LIMIT_BYTES)

    idle = run_child("idle", files["eval CSV"])
    cases = {name: measure_case(path, args.repeat) for name, path in files.items()}
    rows_out = []
    missed = []
    for name, facts in cases.items():
        floor, done = facts["floor"], facts["measure"]
        # The target is judged on CPU time: on this shared machine wall time also counts the
        # time other work holds the cores; both are printed.
        per_100k = done["cpu_s"] * 100_000 / done["rows"]
        share = done["tracemalloc_peak_mib"] * 2**20 / facts["bytes"]
        rows_out.append(
            [
                name,
                done["rows"],
                round(facts["bytes"] / 1e6, 1),
                round(done["wall_s"], 3),
                round(done["cpu_s"], 3),
                round(floor["wall_s"], 3),
                round(floor["cpu_s"], 3),
                round(done["cpu_s"] / floor["cpu_s"], 2),
                round(per_100k, 2),
                round(done["rss_mib"], 1),
                round(floor["rss_mib"], 1),
                round(done["tracemalloc_peak_mib"], 2),
                round(floor["tracemalloc_peak_mib"], 2),
            ]
        )
        if per_100k >= TARGET_S:
            missed.append(f"{name}: {per_100k:.2f} CPU s per 100,000 rows (target < {TARGET_S} s)")
        if share >= TARGET_PEAK_SHARE:
            missed.append(f"{name}: tracemalloc peak {share:.1%} of the file (target < 25 %)")
        facts["s_per_100k_rows"] = per_100k
        facts["peak_share_of_file"] = share
    print()
    print(
        table(
            [
                "file",
                "rows",
                "MB",
                "wall s",
                "CPU s",
                "floor wall s",
                "floor CPU s",
                "CPU × floor",
                "CPU s per 100k rows",
                "peak RSS MiB",
                "floor RSS MiB",
                "tracemalloc peak MiB",
                "floor tracemalloc MiB",
            ],
            rows_out,
        )
    )
    print(
        f"\nidle process (imports only): peak RSS {idle['rss_kib'] / 1024:.1f} MiB. "
        f"Median of {args.repeat} runs; load average {info['load_avg_1m']} at start."
    )
    path = write_result("evidence", {"machine": info, "idle": idle, "cases": cases})
    print(f"wrote {path}")
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed))
        sys.exit(1)


if __name__ == "__main__":
    main()
