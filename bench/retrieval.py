"""Retrieval benchmark: does a team's question find the card that answers it, and how fast?

Loads every bench/questions/*.toml ([[question]] with `text` and `cards` = the ids that
answer it), builds the index from the built-in cards in a temporary database, and prints
recall@1, recall@3, MRR (a hit is any expected card) and p50/p99 in-process query latency
for each file (part) and overall. part_a/part_b were written alongside the cards;
reviewer.toml by someone who had read only the card titles. A last row, "cards held out",
asks each card's own `questions:` with that question left out of the index (fold j drops
the j-th question of every card): a check on ranking that no question file was tuned on,
reported but not held to the target (a neighbouring card often answers too). Writes
bench/results/retrieval.json. Exits 1 when a target is missed.

    .venv/bin/python bench/retrieval.py [--repeat N] [--questions DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import yaml

from knowledge.cards import CARDS_DIR, Card, load_cards
from knowledge.db import open_db
from knowledge.search import build_index, search

HERE = Path(__file__).resolve().parent
TARGET_RECALL_AT_3 = 0.95
TARGET_P50_MS = 5.0
DEPTH = 10  # MRR counts a first hit down to this rank


def load_questions(directory: Path) -> list[dict[str, Any]]:
    questions: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        for n, entry in enumerate(data.get("question", []), start=1):
            text, cards = entry.get("text"), entry.get("cards")
            if not isinstance(text, str) or not text.strip() or not cards:
                sys.exit(f"{path.name} question {n}: needs `text` and a non-empty `cards` list")
            questions.append({"file": path.name, "text": text, "cards": list(cards)})
    return questions


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _write_cards(directory: Path, cards: list[Card]) -> None:
    directory.mkdir(parents=True)
    for card in cards:
        meta = card.model_dump(exclude={"body"})
        front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
        (directory / f"{card.id}.md").write_text(f"---\n{front}---\n{card.body}\n", "utf-8")


def held_out(tmp: Path) -> dict[str, Any]:
    """Recall of each card's own questions, each asked with itself left out of the index."""
    cards = load_cards(CARDS_DIR)
    ranks: list[int | None] = []
    for fold in range(max(len(card.questions) for card in cards)):
        asked: list[tuple[str, str]] = []
        kept: list[Card] = []
        for card in cards:
            questions = list(card.questions)
            if fold < len(questions):
                asked.append((questions.pop(fold), card.id))
            kept.append(card.model_copy(update={"questions": questions}))
        directory = tmp / f"fold-{fold}"
        _write_cards(directory / "cards", kept)
        db = open_db(directory / "bench.db")
        build_index(db, directory / "cards")
        for text, card_id in asked:
            got = [hit.id for hit in search(db, text, k=DEPTH)]
            ranks.append(got.index(card_id) + 1 if card_id in got else None)
        db.close()
    n = len(ranks)
    return {
        "questions": n,
        "recall_at_1": sum(1 for r in ranks if r == 1) / n,
        "recall_at_3": sum(1 for r in ranks if r is not None and r <= 3) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Retrieval benchmark for the guidance cards.")
    parser.add_argument("--questions", type=Path, default=HERE / "questions")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each question")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "retrieval.json")
    args = parser.parse_args()

    questions = load_questions(args.questions)
    if not questions:
        sys.exit(f"no questions in {args.questions}/*.toml")
    known = {card.id for card in load_cards(CARDS_DIR)}
    unknown = sorted({c for q in questions for c in q["cards"] if c not in known})
    if unknown:
        sys.exit(f"questions name cards that do not exist: {unknown}")

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        passages = build_index(db)
        ranks: list[int | None] = []
        latencies: list[float] = []
        misses: list[dict[str, Any]] = []
        for question in questions:
            hits = search(db, question["text"], k=DEPTH)
            got = [hit.id for hit in hits]
            rank = next((i for i, id in enumerate(got, start=1) if id in question["cards"]), None)
            ranks.append(rank)
            if rank is None or rank > 3:
                misses.append({**question, "rank": rank, "top3": got[:3]})
            for _ in range(args.repeat):
                start = time.perf_counter()
                search(db, question["text"], k=DEPTH)
                latencies.append((time.perf_counter() - start) * 1000)
        db.close()
        cards_held_out = held_out(Path(tmp))

    parts: dict[str, list[int]] = {}
    for n, question in enumerate(questions):
        parts.setdefault(question["file"], []).append(n)
    rows = {name: _scores(ranks, latencies, index, args.repeat) for name, index in parts.items()}
    rows["overall"] = _scores(ranks, latencies, list(range(len(questions))), args.repeat)
    results: dict[str, Any] = {
        "questions": len(questions),
        "cards": len(known),
        "passages": passages,
        **{k: v for k, v in rows["overall"].items() if k != "questions"},
        "parts": rows,
        "timed_queries": len(latencies),
        "misses": misses,
        "cards_held_out": cards_held_out,
    }

    print(
        f"retrieval: {len(questions)} questions, {len(known)} cards, {len(latencies)} timed queries"
    )
    print("(latency is in-process search time; noisy while other work shares the machine)\n")
    head = f"| {'part':<14} | {'n':>4} | {'recall@1':>8} | {'recall@3':>8} | {'MRR':>6} |"
    head += f" {'p50 ms':>7} | {'p99 ms':>7} |"
    print(head)
    print("|" + "|".join("-" * (len(cell) + 0) for cell in head.split("|")[1:-1]) + "|")
    for name, row in rows.items():
        print(
            f"| {name.removesuffix('.toml'):<14} | {row['questions']:>4} | "
            f"{row['recall_at_1']:>8.3f} | {row['recall_at_3']:>8.3f} | {row['mrr']:>6.3f} | "
            f"{row['p50_ms']:>7.3f} | {row['p99_ms']:>7.3f} |"
        )
    row = cards_held_out
    print(
        f"| {'cards held out':<14} | {row['questions']:>4} | {row['recall_at_1']:>8.3f} | "
        f"{row['recall_at_3']:>8.3f} | {row['mrr']:>6.3f} | {'':>7} | {'':>7} |"
    )
    target = f"recall@3 >= {TARGET_RECALL_AT_3} in every part and overall"
    print(f"\ntargets: {target}; p50 < {TARGET_P50_MS} ms")
    if misses:
        print(f"\nmissed the top 3 ({len(misses)}):")
        for miss in misses:
            print(f"  [{miss['file']}] {miss['text']}")
            print(f"      want {miss['cards']}, rank {miss['rank']}, got {miss['top3']}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")

    recall_ok = all(row["recall_at_3"] >= TARGET_RECALL_AT_3 for row in rows.values())
    return 0 if recall_ok and results["p50_ms"] < TARGET_P50_MS else 1


def _scores(
    ranks: list[int | None], latencies: list[float], index: list[int], repeat: int
) -> dict[str, Any]:
    """Recall@1, recall@3, MRR and latency over the questions at ``index``."""
    mine = [ranks[i] for i in index]
    times = [latencies[i * repeat + r] for i in index for r in range(repeat)]
    n = len(mine)
    return {
        "questions": n,
        "recall_at_1": sum(1 for r in mine if r == 1) / n,
        "recall_at_3": sum(1 for r in mine if r is not None and r <= 3) / n,
        "mrr": sum(1 / r for r in mine if r is not None) / n,
        "p50_ms": statistics.median(times) if times else 0.0,
        "p99_ms": percentile(times, 0.99) if times else 0.0,
    }


if __name__ == "__main__":
    raise SystemExit(main())
