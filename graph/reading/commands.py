"""Commands and questions to the advisor, and the names people use for profile fields.

``parse_command`` tells an answer from something said to the interview itself: ``skip``,
``back``, ``memo``, ``cancel``, ``help``, ``change <field> to <value>`` ("actually the volume
is 50k" too), and questions to the advisor ("why do you ask?", "what is RAG?") as ``ask``.
An unsure answer ("not sure?", "82%?", "yes?") is no question.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from pydantic import BaseModel

from graph.instructions import looks_like_instructions, without_instructions
from graph.profile import FIELDS
from graph.questions import spec
from graph.reading.text import prepare
from graph.reading.vocabulary import _table

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 1_000

CommandKind = Literal["skip", "back", "memo", "cancel", "change", "ask", "help"]


class Command(BaseModel):
    """Something the user tells the interview rather than an answer to the question."""

    kind: CommandKind
    field: str | None = None
    value: str | None = None
    text: str
    # "whats an eval set? so no": the answer typed after a question to the advisor
    rest: str = ""


def _alts(text: str) -> frozenset[str]:
    return frozenset(p.strip() for p in text.split("|") if p.strip())


def _norm(text: str) -> str:
    """Lower case, underscores as spaces, no trailing punctuation."""
    text = text.lower().replace("_", " ")
    return " ".join(text.split()).strip(" .!?,;")


_SKIP = re.compile(
    r"(?:skip(?: (?:it|this|this one|this question))?|pass|idk|dunno|n/?a|unknown|"
    r"(?:i'?m |i am |we'?re |we are )?(?:not sure|unsure)(?: yet)?|no (?:idea|clue)(?: yet)?|"
    r"(?:i |we )?(?:really |honestly )?(?:don'?t|do not) know(?: yet)?|"
    r"can'?t say|cannot say|hard to say|not known|no comment|beats me|who knows|"
    r"(?:no idea|dunno|idk|not sure|don'?t know),? (?:honestly|really|sorry|tbh)|"
    r"(?:honestly|really|sorry|tbh),? (?:no idea|dunno|idk|not sure|don'?t know))"
)


def is_skip(clean: str) -> bool:
    """'skip', 'don't know', 'n/a', '?': the team does not know."""
    if re.fullmatch(r"[?\s]+", clean):
        return True
    norm = _norm(clean).removesuffix(", skip").removesuffix(" sorry")
    return bool(_SKIP.fullmatch(norm))


# --- commands --------------------------------------------------------------------------------

_COMMANDS: dict[CommandKind, frozenset[str]] = {
    "skip": _alts(
        "skip | skip it | skip this | skip this one | skip this question | skip question | pass"
        " | next | next question"
    ),
    "back": _alts(
        "back | go back | go back one | previous | previous question | undo | back up"
        " | last question | take me back"
    ),
    "memo": _alts(
        "memo | the memo | write the memo | write memo | write it | memo now | memo please"
        " | finish | finish now | finish up | done | we're done | were done | i'm done | im done"
        " | all done | wrap up | wrap it up | just write the memo | skip to the memo"
        " | generate the memo | generate memo | stop and write the memo | that's enough"
        " | thats enough | enough questions | write the memo now | finish with what you have"
    ),
    "cancel": _alts(
        "cancel | cancel it | cancel the interview | cancel interview | quit | exit | abort"
        " | stop | stop the interview | never mind | nevermind | forget it"
    ),
    "help": _alts(
        "help | help me | help please | commands | what can i say | what can i type"
        " | how does this work"
    ),
}

_CHANGE = re.compile(
    r"^(?:(?:please|can you|could you|let'?s|i want to|i'?d like to|i need to|we need to)\s+)?"
    r"(?P<verb>change|set|update|correct|edit|revise|amend)\s+(?P<rest>.+)$"
)
_CHANGE_REST = re.compile(
    r"^(?:(?:my|the|our|your)\s+)?(?:answer\s+(?:for|about|on|to)\s+(?:the\s+)?)?"
    r"(?P<name>.+?)(?:\s*(?:=|:)\s*|\s+(?:to|as|is|are|should be|becomes|into)\s+)"
    r"(?P<value>.+)$"
)
_ACTUALLY = re.compile(
    r"^actually,?\s+(?:(?:the|our|my)\s+)?(?P<name>[a-z][a-z ]{1,30}?)\s+"
    r"(?:is|are|=|should be|was)\s+(?P<value>.+)$"
)
_Q_START = re.compile(
    r"^(?:why|what|what's|whats|how|when|where|which|who|whom|whose|is|are|does|do|did|can|"
    r"could|should|would|will|was|were|isn't|aren't|doesn't|explain|define|tell me|wdym)\b"
)
_STRONG_Q = re.compile(
    r"^(?:why\b|what(?:'s|s)\b|what\s+(?:is|are|does|do|did|counts?|exactly|kind|happens|"
    r"would|should|about|if|makes|means|type|were)\b|how\s+(?:many|much|do|does|did|should|"
    r"would|can|long|often|is|are|come)\b|explain\b|define\b|tell me\b|"
    r"(?:can|could) you (?:explain|tell)\b|wdym\b|what do you mean\b)"
)


def _command_norm(text: str) -> str:
    norm = _norm(text).lstrip("/ ")
    norm = re.sub(r"^(?:please|ok|okay|um|uh)[, ]+", "", norm)
    return re.sub(r"[, ]+please$", "", norm)


def parse_command(text: str) -> Command | None:
    """A command or a question to the advisor; None for an ordinary answer."""
    try:
        if not isinstance(text, str) or len(text) > MAX_ANSWER_CHARS:
            return None
        if looks_like_instructions(text):  # an instruction to the model is no command
            text = without_instructions(text)
        clean = prepare(text)
        norm = _command_norm(clean)
        if not norm:
            return None
        for kind, phrases in _COMMANDS.items():
            if norm in phrases:
                return Command(kind=kind, text=clean)
        change = _change(clean, norm)
        if change is not None:
            return change
        if _is_question(clean):
            asked, rest = _question_then_answer(clean)
            return Command(kind="ask", text=asked, rest=rest)
        return None
    except Exception:
        log.exception("command parser failed")
        return None


def _change(clean: str, norm: str) -> Command | None:
    m = _CHANGE.match(norm)
    if m:
        rest = _CHANGE_REST.match(m.group("rest"))
        name = rest.group("name") if rest else m.group("rest")
        value = _original(clean, rest.group("value")) if rest else None
        field = field_from_name(name)
        if field is not None:
            return Command(kind="change", field=field, value=value, text=clean)
        if m.group("verb") != "set" and (value is not None or len(norm.split()) <= 4):
            return Command(kind="change", field=None, value=value, text=clean)
        return None
    m = _ACTUALLY.match(norm)
    if m and (field := field_from_name(m.group("name"))) is not None:
        return Command(
            kind="change", field=field, value=_original(clean, m.group("value")), text=clean
        )
    return None


def _original(clean: str, lowered: str) -> str:
    """The value as the user typed it (case kept), found from its lower-cased form."""
    at = clean.lower().rfind(lowered)
    return clean[at : at + len(lowered)] if at >= 0 else lowered


_AFTER_QUESTION = re.compile(
    r"^(?:(?:so|then|anyway|anyways|ok|okay|but|and|well|in that case)\b[,.]?\s*)+"
)


def _question_then_answer(clean: str) -> tuple[str, str]:
    """A question to the advisor and the answer typed after it ("whats an eval set? so no"):
    the question, and the answer ("" when nothing but the question was typed)."""
    at = clean.find("?")
    if at < 0:
        return clean, ""
    rest = _AFTER_QUESTION.sub("", clean[at + 1 :].strip(" ,.;-")).strip()
    if not re.search(r"[A-Za-z0-9]", rest) or _is_question(rest):
        return clean, ""
    return clean[: at + 1], rest


def _is_question(clean: str) -> bool:
    """A question addressed to the advisor ('why do you ask?', 'what is RAG?'), not an
    unsure answer ('not sure?', '82%?', 'yes?')."""
    s = clean.strip().lower()
    if not re.search(r"[a-z]", s) or is_skip(clean):
        return False
    if s.endswith("?") and _Q_START.match(s):
        return True
    return bool(_STRONG_Q.match(s))


_FIRST = re.compile(r"(?:the )?(?:first|former|1st)(?: one| reading)?")
_SECOND = re.compile(r"(?:the )?(?:second|latter|2nd)(?: one| reading)?")


def pick_reading(text: str, readings: dict[str, list[Any]]) -> dict[str, Any] | None:
    """After a clash, 'the first' picks the offline reading and 'the second' the LLM's."""
    if not readings:
        return None
    said = re.sub(r"[^a-z0-9 ]+", " ", text.lower())
    said = " ".join(w for w in said.split() if w not in ("i", "meant", "mean", "please"))
    for pattern, index in ((_FIRST, 0), (_SECOND, 1)):
        if pattern.fullmatch(said):
            return {name: pair[index] for name, pair in readings.items()}
    return None


# --- field names -----------------------------------------------------------------------------

_ALIASES = _table("""
use_case: use case | usecase | what it does
task_type: task | task type | type | kind of task | task kind | type of task
problems: problems | problem | issues | complaints | what goes wrong | symptoms
knowledge_changes: knowledge | knowledge changes | facts | freshness | how often facts change
task_stable: stable | stability | task stable | task stability | stable task
techniques_tried: tried | techniques | techniques tried | rungs | what we tried | ladder
    | approaches tried | what we've tried
eval_set_size: eval | eval size | eval set | eval set size | evaluation | eval items | test set
    | test set size | evals | size of the eval
baseline_score: baseline | baseline score | score | current score | prompt score | accuracy
    | best score | current accuracy
target_score: target | target score | goal | required score | needed score
labeled_examples: examples | labelled examples | labeled examples | training examples
    | training data | data | example count | number of examples
labels_clean: clean | labels clean | clean labels | label quality | labels
data_cleared: cleared | data cleared | clearance | approval | data approval | permission
    | sign-off | signoff
monthly_volume: volume | monthly volume | calls | calls per month | monthly calls | requests
    | traffic | usage | calls a month
avg_input_tokens: tokens in | input tokens | input | prompt tokens | avg input tokens | tokens
    | prompt size | prompt length
avg_output_tokens: tokens out | output tokens | output | completion tokens | avg output tokens
    | output length
error_cost: error cost | stakes | cost of errors | cost of a wrong answer | risk | cost of error
    | wrong answer cost
deployment: deployment | where it runs | hosting | runs on | where it must run | deploy target
latency_critical: latency | latency critical | speed | latency pressure
cost_pressure: cost pressure | cost | budget | spend | costs
retraining_owner: owner | retraining owner | retraining | who retrains
human_review: human review | review | reviewer | human in the loop | reviews
brand_voice: brand voice | voice | brand | tone
regulated: regulated | regulation | regulatory | compliance
""")
_NAME_TO_FIELD: dict[str, str] = {
    alias: field for field, aliases in _ALIASES.items() for alias in aliases
}
_QUESTION_FIELD = {
    "usage": "monthly_volume",
    "stakes": "error_cost",
    "constraints": "latency_critical",
    "pressure": "latency_critical",
    "safeguards": "regulated",
    "owner": "retraining_owner",
}


def field_from_name(name: str) -> str | None:
    """The profile field a person means: 'volume' -> 'monthly_volume'; None if unknown."""
    if not isinstance(name, str):
        return None
    key = re.sub(r"^(?:the|my|our|your|a|an)\s+", "", _norm(name))
    key = re.sub(r"\s+(?:answer|question|field|value|number|figure)$", "", key)
    for candidate in dict.fromkeys((key, key.replace("-", " "), key.removesuffix("s"))):
        if candidate.replace(" ", "_") in FIELDS:
            return candidate.replace(" ", "_")
        if candidate in _NAME_TO_FIELD:
            return _NAME_TO_FIELD[candidate]
        if candidate in _QUESTION_FIELD:
            return _QUESTION_FIELD[candidate]
    try:
        return spec(key).fields[0] if key else None
    except KeyError:
        return None


__all__ = [
    "MAX_ANSWER_CHARS",
    "Command",
    "CommandKind",
    "field_from_name",
    "is_skip",
    "parse_command",
    "pick_reading",
]
