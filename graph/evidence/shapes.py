"""What kind of evidence a file holds, from its column names or keys (DESIGN.md section 8),
and how to take the measured values out of one record.

Names are matched after trimming and case-folding, so ``Expected`` and ``expected `` both
count. An eval is recognised first (an expected value and a prediction, or a per-item
score), then a training file (chat records, ``prompt``+``completion``, ``input``+``output``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from graph.evidence.reading import RowError

EXPECTED = ("expected", "label", "gold", "target", "reference")
PREDICTED = ("predicted", "prediction", "output", "model_output")
SCORES = ("score", "correct")
CHAT = "messages"
PAIRS = (("prompt", "completion"), ("input", "output"))
ASSISTANT_ROLES = frozenset({"assistant", "model"})  # "model": Gemini's name for it
_TRUE = frozenset({"true", "yes", "y", "pass", "passed", "correct", "right"})
_FALSE = frozenset({"false", "no", "n", "fail", "failed", "incorrect", "wrong"})

ScoreSource = Literal["exact_match", "score", "correct"]
TrainingForm = Literal["chat", "prompt_completion", "input_output"]


@dataclass(frozen=True)
class EvalShape:
    """Key names as the file spells them."""

    expected: str | None
    predicted: str | None
    score: str | None
    scored_by: ScoreSource


@dataclass(frozen=True)
class TrainingShape:
    form: TrainingForm
    input: str  # the messages key for chat records
    output: str | None  # None for chat records
    system: str | None  # a top-level system prompt beside the messages (Bedrock, Anthropic)


Shape = EvalShape | TrainingShape


def recognised() -> str:
    """What the shapes are, for a refusal message."""
    return (
        f"an eval needs one of {'/'.join(EXPECTED)} with one of {'/'.join(PREDICTED)}, "
        f"or a per-item {'/'.join(SCORES)}; training data needs '{CHAT}' (chat records), "
        "prompt+completion, or input+output"
    )


def detect(keys: Iterable[str]) -> Shape | None:
    """The shape named by ``keys`` (a CSV header or a first record's keys), or None."""
    names: dict[str, str] = {}
    for key in keys:
        names.setdefault(str(key).strip().casefold(), key)

    def first(candidates: Iterable[str]) -> str | None:
        return next((names[c] for c in candidates if c in names), None)

    expected, predicted = first(EXPECTED), first(PREDICTED)
    score_name = next((c for c in SCORES if c in names), None)
    if score_name is not None:
        source: ScoreSource = "score" if score_name == "score" else "correct"
        # A per-item score is the team's own judgement of each answer (often an LLM
        # judge's), so it is the score; expected/predicted still give per-label numbers.
        both = expected is not None and predicted is not None
        return EvalShape(
            expected if both else None, predicted if both else None, names[score_name], source
        )
    if expected is not None and predicted is not None:
        return EvalShape(expected, predicted, None, "exact_match")
    if CHAT in names:
        return TrainingShape("chat", names[CHAT], None, names.get("system"))
    for (a, b), form in zip(PAIRS, ("prompt_completion", "input_output"), strict=True):
        if a in names and b in names:
            return TrainingShape(form, names[a], names[b], None)  # type: ignore[arg-type]
    return None


def as_text(value: Any) -> str:
    """A value as text for comparing: strings as they are, anything else as canonical JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def as_score(value: Any, name: str) -> float | RowError:
    """A per-item score or correct flag as a number in 0-1."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        word = value.strip().casefold()
        if not word:
            return RowError(f"'{name}' is empty")
        if word in _TRUE:
            return 1.0
        if word in _FALSE:
            return 0.0
        try:
            value = float(word)
        except ValueError:
            return RowError(f"'{name}' is not a number from 0 to 1")
    if not isinstance(value, int | float) or value != value:  # value != value: NaN
        return RowError(f"'{name}' is not a number from 0 to 1")
    if not 0 <= value <= 1:
        return RowError(f"'{name}' is {value:g}, outside 0 to 1")
    return float(value)


def field(record: dict[str, Any], key: str) -> Any:
    """``record[key]``, or a RowError naming the missing key."""
    if key not in record:
        return RowError(f"has no '{key}' field")
    return record[key]


def chat_pair(record: dict[str, Any], shape: TrainingShape) -> tuple[str, str] | RowError:
    """(input, output) of one chat record: the output is the last assistant message, the
    input everything before it (the system prompt included), as one canonical text."""
    messages = field(record, shape.input)
    if isinstance(messages, RowError):
        return messages
    if isinstance(messages, str):  # a CSV cell holding the JSON list
        try:
            messages = json.loads(messages)
        except (json.JSONDecodeError, RecursionError):
            return RowError(f"'{shape.input}' is not a JSON list of messages")
    if not isinstance(messages, list) or not messages:
        return RowError(f"'{shape.input}' is not a list of messages")
    turns: list[str] = []  # "role\x1ftext" of each message, after a top-level system prompt
    if shape.system is not None and shape.system in record:
        turns.append("system\x1f" + _content(record[shape.system]))
    offset, last, output = len(turns), -1, ""
    for index, message in enumerate(messages):
        role = message.get("role") if type(message) is dict else None
        if type(role) is not str:
            return RowError(f"message {index + 1} has no role")
        content = message.get("content")
        text = content if type(content) is str else _message_text(message)
        if role in ASSISTANT_ROLES or role.strip().casefold() in ASSISTANT_ROLES:
            last, output = index, text
        turns.append(role + "\x1f" + text)
    if last < 0:
        return RowError("has no assistant message to learn from")
    return "\x1e".join(turns[: offset + last]), output


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content", message.get("parts"))
    if content is None:
        # An assistant turn that calls a tool has no text: the call is what it learns.
        calls = {k: message[k] for k in ("tool_calls", "function_call") if k in message}
        return as_text(calls) if calls else ""
    return _content(content)


def _content(content: Any) -> str:
    """Text of a content value: a string, or a list of parts ({"text": ...} or others)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            else as_text(part)
            for part in content
        )
    return as_text(content)
