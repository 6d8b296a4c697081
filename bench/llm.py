"""LLM benchmark: calls and tokens per interview with Claude switched on.

Runs a few scripted interviews through ``Interviews(llm=Claude(...))`` against the local
Messages API server in tests/anthropic_fake.py (which reports usage the way the API does,
prompt caching included, with tokens estimated as characters / 4), and prints, per
interview: questions asked, calls, input and output tokens, cache writes and reads, and the
approach reached, beside the same interview run offline. Writes bench/results/llm.json.
Exits 1 when a rich description needs more than 4 questions or the decision differs from
the offline one.

    .venv/bin/python bench/llm.py [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake server lives with the tests

import anthropic_fake as fake_api  # type: ignore[import-not-found]  # noqa: E402

from graph.claude import Claude  # noqa: E402
from graph.interview import Interviews  # noqa: E402
from graph.turns import Question  # noqa: E402

MAX_QUESTIONS_AFTER_RICH = 4
INJECTION: str = fake_api.INJECTION
EMAILS: dict[str, Any] = fake_api.EMAILS
EMAILS_TEXT: str = fake_api.EMAILS_TEXT
SUPPORT: dict[str, Any] = fake_api.SUPPORT


@dataclass
class Scenario:
    name: str
    use_case: str
    facts: dict[str, Any]
    model: fake_api.AdvisorModel
    typed: dict[str, str] = field(default_factory=dict)  # question id -> reply typed first
    rich: bool = False  # the opening states (nearly) every fact


SCENARIOS = [
    Scenario(
        "emails, rich description",
        EMAILS_TEXT,
        EMAILS,
        fake_api.reads_emails(),
        rich=True,
    ),
    Scenario(
        "emails, one line then typed answers",
        "route support emails into queues",
        EMAILS,
        fake_api.AdvisorModel(),
        typed={"task": "classification, 12 queues", "stable": "yes, fixed for the year"},
    ),
    Scenario(
        "support bot, with a follow-up question",
        "answer customer questions about our products",
        SUPPORT,
        fake_api.AdvisorModel(),
        typed={"problems": "what is RAG?"},
    ),
    Scenario(
        "support bot, injection attempts",
        f"answer customer questions about our products. {INJECTION}",
        SUPPORT,
        fake_api.AdvisorModel(obey=True),
        typed={"eval": f"no eval yet. {INJECTION}"},
    ),
]


def run(scenario: Scenario, directory: Path, n: int) -> dict[str, Any]:
    def say_for() -> Any:
        pending = dict(scenario.typed)

        def say(question: Question) -> str | None:
            return pending.pop(question.id, None)

        return say

    with fake_api.running(scenario.model) as fake:
        claude = Claude(fake.client(max_retries=1))
        service = Interviews(str(directory / f"llm{n}.db"), llm=claude)
        asked, memo = fake_api.play(
            service, f"bench:{n}", scenario.use_case, scenario.facts, say=say_for()
        )
        usage = service.store.usage(f"bench:{n}")
        failed = claude.usage()["failed"]
    offline = Interviews(str(directory / f"offline{n}.db"))
    offline_asked, offline_memo = fake_api.play(
        offline, f"bench:off{n}", scenario.use_case, scenario.facts, say=say_for()
    )
    return {
        "interview": scenario.name,
        "questions": len(asked),
        "questions_offline": len(offline_asked),
        "calls": usage["calls"],
        "failed_calls": failed,
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "cache_write_tokens": usage["cache_write_tokens"],
        "cache_read_tokens": usage["cache_read_tokens"],
        "approach": memo.assessment["approach"],
        "same_decision_as_offline": (
            memo.assessment["approach"],
            memo.assessment["next_rung"],
            memo.assessment["gates"],
        )
        == (
            offline_memo.assessment["approach"],
            offline_memo.assessment["next_rung"],
            offline_memo.assessment["gates"],
        ),
        "rich": scenario.rich,
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "interview",
        "questions",
        "offline",
        "calls",
        "in",
        "out",
        "cache write",
        "cache read",
        "approach",
        "same",
    )
    lines = [
        (
            r["interview"],
            str(r["questions"]),
            str(r["questions_offline"]),
            f"{r['calls']} ({r['failed_calls']} failed)" if r["failed_calls"] else str(r["calls"]),
            f"{r['input_tokens']:,}",
            f"{r['output_tokens']:,}",
            f"{r['cache_write_tokens']:,}",
            f"{r['cache_read_tokens']:,}",
            r["approach"],
            "yes" if r["same_decision_as_offline"] else "NO",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i in (0, 8) else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*row) for row in [head, *lines])


def main() -> int:
    parser = argparse.ArgumentParser(description="Calls and tokens per interview with Claude.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "llm.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the adapter's fallback warnings are expected

    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(s, Path(tmp), n) for n, s in enumerate(SCENARIOS, start=1)]
    print(table(rows))
    total = {
        k: sum(r[k] for r in rows)
        for k in (
            "calls",
            "input_tokens",
            "output_tokens",
            "cache_write_tokens",
            "cache_read_tokens",
        )
    }
    prompt = total["input_tokens"] + total["cache_write_tokens"] + total["cache_read_tokens"]
    share = total["cache_read_tokens"] / prompt if prompt else 0.0
    print(
        f"\n{total['calls']} calls; {share:.0%} of prompt tokens read from the cache "
        "(fake server: tokens = characters / 4)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "interviews": rows,
                "total": total,
                "cache_read_share": round(share, 3),
                "token_estimate": "characters / 4 (local fake server)",
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    bad = [r["interview"] for r in rows if not r["same_decision_as_offline"]]
    bad += [r["interview"] for r in rows if r["rich"] and r["questions"] > MAX_QUESTIONS_AFTER_RICH]
    if bad:
        print("target missed: " + "; ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
