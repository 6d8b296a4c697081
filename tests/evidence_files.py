"""Eval and training files with known answers, made by the tests themselves.

``eval_rows()``: 400 items, 328 right (82 %), four labels of different sizes, with right
answers written in other cases and spacing, and one prediction that is never an expected
value. ``training_rows()``: 3,000 examples with planted duplicates, conflicting labels,
empty outputs and personal data (valid values, and invalid card numbers, IBANs and SSNs
that only a checksum or rule tells apart), and the answers a measure must find.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# label -> (support, right answers); 24 + 100 + 120 + 84 = 328 of 400
EVAL_PLAN = {
    "billing": (40, 24),
    "refund": (120, 100),
    "shipping": (140, 120),
    "account": (100, 84),
}
WRONG_FOR = {"billing": "refund", "refund": "other", "shipping": "account", "account": "billing"}


def eval_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for label, (support, right) in EVAL_PLAN.items():
        for n in range(support):
            if n < right:
                predicted = [label, f"  {label.upper()} ", label.title()][n % 3]
            else:
                predicted = WRONG_FOR[label]
            expected = f" {label.title()}" if n % 4 == 3 else label
            row = {"id": len(rows) + 1, "input": f"{label} ticket {n}", "expected": expected}
            rows.append({**row, "predicted": predicted})
    # interleave the labels so no label sits in one block of the file
    return sorted(rows, key=lambda r: (int(r["input"].rsplit(" ", 1)[1]), r["expected"]))


QUEUES = ["billing", "refund", "shipping", "account", "technical", "sales"]
SYSTEM = "Route the ticket to one queue. Answer with the queue's name only."
VALID = {
    "email": [f"reach me at jo.{n}@example.org" for n in range(12)],
    "phone": [
        "+1 415 555 2671",
        "+44 20 7946 0958",
        "+49 30 901820",
        "+33 1 42 68 53 00",
        "(650) 253-0000",
        "212-736-5000",
        "+61 2 9374 4000",
        "(202) 456-1111",
    ],
    "payment_card": [
        "4111 1111 1111 1111",
        "5555 5555 5555 4444",
        "3782 822463 10005",
        "4012888888881881",
        "6011-1111-1111-1117",
    ],
    "iban": [
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "NL91ABNA0417164300",
        "FR14 2004 1010 0505 0001 3M02 606",
    ],
    "us_ssn": ["536-90-4399", "401-22-5678", "772-18-3321"],
}
INVALID = [  # shaped like the above, failing Luhn, mod-97 or the SSN rules
    "4111 1111 1111 1112",
    "5555 5555 5555 4445",
    "3782 822463 10006",
    "4012888888881882",
    "6011-1111-1111-1118",
    "DE89 3704 0044 0532 0130 01",
    "GB82 WEST 1234 5698 7654 33",
    "NL91ABNA0417164301",
    "FR14 2004 1010 0505 0001 3M02 607",
    "666-12-3456",
    "000-12-3456",
]
PERSONAL_ROWS = {"email": 101, "phone": 201, "payment_card": 301, "iban": 401, "us_ssn": 501}
INVALID_FROM = 601
DUPLICATE_ROWS = range(2001, 2031)  # repeat rows 1..30 exactly
CONFLICT_ROWS = range(2101, 2121)  # rows 31..50's inputs with another queue
EMPTY_ROWS = range(2201, 2216)


def _ticket(n: int) -> str:
    return f"Ticket {n}: the customer asks about order {n} and wants an answer today."


def training_rows() -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """3,000 (input, output) pairs, and what measuring them must find."""
    pairs: list[tuple[str, str]] = []
    extra: dict[int, str] = {}
    for kind, first in PERSONAL_ROWS.items():
        for offset, value in enumerate(VALID[kind]):
            extra[first + offset] = value
    for offset, value in enumerate(INVALID):
        extra[INVALID_FROM + offset] = value
    for row in range(1, 3001):
        if row in DUPLICATE_ROWS:
            pairs.append(pairs[row - DUPLICATE_ROWS.start])
        elif row in CONFLICT_ROWS:
            source = row - CONFLICT_ROWS.start + 31
            text, queue = pairs[source - 1]
            pairs.append((text, QUEUES[(QUEUES.index(queue) + 1) % len(QUEUES)]))
        else:
            text = _ticket(row) + (f" {extra[row]}" if row in extra else "")
            pairs.append((text, "" if row in EMPTY_ROWS else QUEUES[row % len(QUEUES)]))
    answers = {
        "examples": 3000,
        "unique_inputs": 3000 - len(DUPLICATE_ROWS) - len(CONFLICT_ROWS),
        "duplicates": len(DUPLICATE_ROWS),
        "conflicts": len(CONFLICT_ROWS),
        "empty_outputs": len(EMPTY_ROWS),
        "label_counts": dict(Counter(out for _, out in pairs if out)),
        "personal_data": {
            kind: {
                "count": len(VALID[kind]),
                "rows": [PERSONAL_ROWS[kind] + n for n in range(min(10, len(VALID[kind])))],
            }
            for kind in ("email", "phone", "payment_card", "iban", "us_ssn")
        },
        "values": [*(v for values in VALID.values() for v in values), *INVALID],
    }
    return pairs, answers


def chat(text: str, output: str) -> dict[str, Any]:
    """The OpenAI fine-tuning chat shape."""
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": text},
            {"role": "assistant", "content": output},
        ]
    }


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: Sequence[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_json_list(path: Path, rows: Sequence[Any]) -> Path:
    path.write_text(json.dumps(list(rows), indent=1), encoding="utf-8")
    return path
