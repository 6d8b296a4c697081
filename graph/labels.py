"""What people read for each id the policy uses, one table per kind, and how numbers read.

The memo, ``advisor assess``, the terminal and the Slack blocks all take their words from
here, so "hybrid" (or any rung or gate) is phrased one way everywhere. The tables are keyed
by the enums; as those are ``StrEnum`` a plain string id looks up the same entry.
"""

from __future__ import annotations

import re
from typing import Any

from graph.assessment import Approach, Exception_, Gate, QuestionId
from graph.profile import Deployment, ErrorCost, KnowledgeChanges, Problem, Rung, TaskType

# Headings and summaries: "Decision: Fine-tuning for ...".
APPROACH: dict[str, str] = {
    Approach.prompt_engineering: "Prompt engineering",
    Approach.rag: "Retrieval (RAG)",
    Approach.fine_tuning: "Fine-tuning",
    Approach.hybrid: "Hybrid (a fine-tuned core, retrieval for the facts)",
}

# Ladder rungs as they read inside a sentence: "Next rung: few-shot examples".
RUNG: dict[str, str] = {
    Rung.system_prompt: "a better system prompt",
    Rung.few_shot: "few-shot examples",
    Rung.structured_output: "structured output",
    Rung.chain_of_thought: "step-by-step reasoning",
    Rung.decomposition: "splitting the task into steps",
    Rung.rag: "retrieval (RAG)",
    Rung.bigger_model: "a bigger model",
    Rung.fine_tuning: "fine-tuning",
}
NO_RUNG = "none: stop climbing"

# The fine-tuning gates, as table rows.
GATE: dict[str, str] = {
    Gate.narrow_and_stable: "Narrow and stable task",
    Gate.prompting_exhausted: "Prompting exhausted, shown by an eval",
    Gate.enough_clean_data: "200+ clean labelled examples",
    Gate.volume: "Enough volume to matter",
    Gate.latency_or_cost_pressure: "Latency or cost pressure",
    Gate.retraining_owner: "Someone owns retraining",
    Gate.data_cleared: "Data cleared for training",
}

# What a team confirms to settle an unknown gate: "confirm cost or latency pressure".
GATE_FACT: dict[str, str] = {
    Gate.narrow_and_stable: "that the task stays the same for the next 3–6 months",
    Gate.prompting_exhausted: "the eval numbers and the rungs tried",
    Gate.enough_clean_data: "how many clean labelled examples there are",
    Gate.volume: "the monthly call volume",
    Gate.latency_or_cost_pressure: "cost or latency pressure",
    Gate.retraining_owner: "the retraining owner",
    Gate.data_cleared: "that the data is cleared for training",
}

# A failed gate as a clause: "Fine-tuning is not justified yet because the volume is too low".
GATE_FAILED: dict[str, str] = {
    Gate.narrow_and_stable: "the task is not narrow and stable",
    Gate.prompting_exhausted: "prompting is not shown to be exhausted",
    Gate.enough_clean_data: "there are not 200+ clean labelled examples",
    Gate.volume: "the volume is too low to pay back a fine-tune",
    Gate.latency_or_cost_pressure: "there is no latency or cost pressure",
    Gate.retraining_owner: "nobody owns retraining",
    Gate.data_cleared: "the data is not cleared for training",
}

EXCEPTION: dict[str, str] = {
    Exception_.self_hosted_small_model: "a small model that must run on your own hardware",
    Exception_.extreme_volume: "volume so high that a small tuned model is plainly cheaper",
    Exception_.strong_dataset: "a strong labelled dataset (1,000+ clean examples)",
}

# The five escalation questions in a few words (the full questions are in the assessment).
QUESTION: dict[str, str] = {
    QuestionId.eval_ceiling: "The eval that shows prompting can't get there",
    QuestionId.ladder_tried: "The prompting ladder tried",
    QuestionId.clean_examples: "200+ clean examples",
    QuestionId.retraining_plan: "Retraining plan and owner",
    QuestionId.cost_delta: "Cost against a better prompt",
}

# Task types as a noun before "task": "an extraction task".
TASK: dict[str, str] = {
    TaskType.classification: "classification",
    TaskType.extraction: "extraction",
    TaskType.transformation: "format-conversion",
    TaskType.generation: "generation",
    TaskType.summarization: "summarisation",
    TaskType.question_answering: "question-answering",
    TaskType.conversation: "conversation",
    TaskType.agent: "agent",
    TaskType.other: "other",
}

PROBLEM: dict[str, str] = {
    Problem.missing_knowledge: "missing knowledge",
    Problem.hallucination: "made-up facts (hallucination)",
    Problem.wrong_format: "wrong format",
    Problem.off_voice: "off voice",
    Problem.refuses_harmless: "refuses harmless requests",
    Problem.too_slow: "too slow",
    Problem.too_expensive: "too expensive",
    Problem.accuracy_plateau: "accuracy stuck below target",
    Problem.inconsistent: "inconsistent answers",
}

DEPLOYMENT: dict[str, str] = {
    Deployment.hosted_api: "hosted API",
    Deployment.private_cloud: "private cloud",
    Deployment.on_prem: "on premises",
    Deployment.edge: "on the device (edge)",
}

# What a wrong answer costs, as a clause: "a wrong answer is costly".
ERROR_COST: dict[str, str] = {
    ErrorCost.low: "a wrong answer costs little",
    ErrorCost.medium: "a wrong answer is moderately costly",
    ErrorCost.high: "a wrong answer is costly",
    ErrorCost.critical: "a wrong answer does serious harm",
}

KNOWLEDGE: dict[str, str] = {
    KnowledgeChanges.none: "not needed",
    KnowledgeChanges.rarely: "rarely",
    KnowledgeChanges.often: "often (monthly or faster)",
}


# Each unknown field that matters, as a question the team can answer.
OPEN_QUESTION: dict[str, str] = {
    "task_type": "What kind of task is it: classification, extraction, format conversion, "
    "generation, summarisation, question answering, conversation or an agent?",
    "problems": "What goes wrong with the model today, or is nothing built yet?",
    "task_stable": "Will the inputs, outputs and definition of a correct answer stay the same "
    "for the next 3-6 months?",
    "techniques_tried": "Which of these have you really tried: a system prompt, few-shot "
    "examples, structured output, chain of thought, decomposition, RAG, a bigger model?",
    "eval_set_size": "Do you have an eval set, and how many items are in it?",
    "baseline_score": "What is the best score prompting has reached on your eval?",
    "target_score": "What score does the use case need to be good enough?",
    "labeled_examples": "How many input/ideal-output pairs could you train on?",
    "labels_clean": "Are those labels consistent, deduplicated and agreed on?",
    "data_cleared": "Are you allowed to train on the data, with sensitive fields redacted and "
    "its provenance known?",
    "monthly_volume": "How many model calls a month will this make in production?",
    "error_cost": "What does a wrong answer cost: low, medium, high or critical?",
    "knowledge_changes": "Does the task need facts beyond the input, and how often do those "
    "facts change?",
    "deployment": "Where must the model run: a hosted API, a private cloud, on-prem or on a "
    "device?",
    "latency_critical": "Is response time a hard requirement?",
    "cost_pressure": "Is model spend under pressure?",
    "retraining_owner": "Who will retrain the model when the base model changes, a year from now?",
    "human_review": "Does a person review the outputs before they matter?",
    "brand_voice": "Must the output hold a fixed brand voice?",
    "regulated": "Is this finance, health, legal, child-safety or similarly regulated work?",
    "avg_input_tokens": "About how many tokens go into each call, prompt included?",
    "avg_output_tokens": "About how many tokens come back from each call?",
}


# Profile fields, as the memo and the interview name them.
FIELD: dict[str, str] = {
    "use_case": "use case",
    "task_type": "task type",
    "problems": "problems today",
    "task_stable": "task stable for 3–6 months",
    "techniques_tried": "techniques tried",
    "eval_set_size": "eval set size",
    "baseline_score": "best prompt score",
    "target_score": "target score",
    "labeled_examples": "labelled examples",
    "labels_clean": "labels clean",
    "data_cleared": "data cleared for training",
    "monthly_volume": "calls per month",
    "error_cost": "cost of a wrong answer",
    "knowledge_changes": "outside knowledge changes",
    "deployment": "deployment",
    "latency_critical": "latency critical",
    "cost_pressure": "cost pressure",
    "retraining_owner": "retraining owner",
    "human_review": "human review",
    "brand_voice": "fixed brand voice",
    "regulated": "regulated domain",
    "avg_input_tokens": "input tokens per call",
    "avg_output_tokens": "output tokens per call",
}

# Enum values as a person says them (task types read as nouns here: "question answering").
VALUE: dict[str, str] = {
    **{k: v.replace("-", " ") for k, v in TASK.items()},
    **PROBLEM,
    **DEPLOYMENT,
    **KNOWLEDGE,
    **RUNG,
}


def value_text(field: str, value: Any) -> str:
    """One profile value as a person would say it ("82%", "3,000", "yes", "nobody")."""
    if value is None:
        return "not known"
    if field in ("baseline_score", "target_score") and isinstance(value, int | float):
        return pct(float(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return count(value)
    if isinstance(value, list):
        if not value:
            return "nothing yet" if field == "techniques_tried" else "none"
        return ", ".join(VALUE.get(str(v), str(v)) for v in value)
    if field == "retraining_owner" and value == "":
        return "nobody"
    text = str(value)
    return VALUE.get(text, text) if field != "use_case" else text


def approach_label(approach: str | None) -> str:
    """An approach id as a heading; an id this version does not know, as plain words."""
    return APPROACH.get(approach or "", (approach or "unknown").replace("_", " "))


def rung_label(rung: str | None) -> str:
    """A rung id inside a sentence; None (or "") is the end of the climb."""
    if not rung:
        return NO_RUNG
    return RUNG.get(rung, rung.replace("_", " "))


def gate_label(gate: str) -> str:
    return GATE.get(gate, gate.replace("_", " "))


def article(word: str) -> str:
    """The word with "a" or "an" as it is spoken: 'an extraction', 'a classification',
    'a 400-item', 'an 800-item', 'an 11,000-item', 'an hour'."""
    spoken = word.lower()
    digits = re.match(r"[\d,]+", spoken)
    if digits:
        number = digits.group().replace(",", "")
        lead = number[: len(number) % 3 or 3]  # the group said first: "11" of 11,000
        vowel = lead.startswith("8") or lead in ("11", "18")
    else:
        vowel = spoken[:1] in ("a", "e", "i", "o") or spoken.startswith(("hour", "honest"))
        vowel = vowel or (spoken.startswith("un") and not spoken.startswith("uni"))
    return ("an " if vowel else "a ") + word


def pct(score: float) -> str:
    """0.82 -> '82%', 0.825 -> '82.5%'."""
    return f"{score * 100:.1f}".removesuffix(".0") + "%"


def count(n: int) -> str:
    """12345 -> '12,345'."""
    return f"{n:,}"


def join(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def capital(text: str) -> str:
    """First letter upper-cased, the rest untouched ("the ML team" -> "The ML team")."""
    return text[:1].upper() + text[1:]


def months(n: float) -> str:
    """'1 month', '2.5 months', 'less than a month'."""
    if n < 1:
        return "less than a month"
    shown = f"{n:.1f}".removesuffix(".0")
    return f"{shown} month" if shown == "1" else f"{shown} months"
