"""What a measured file settles in the profile (DESIGN.md section 8): a pure function of the
result, no I/O and no clock, so the interview, the Slack thread and the memo all read a
file the same way.

- eval: ``eval_set_size`` = items, ``baseline_score`` = the score;
- training: ``labeled_examples`` = examples, and ``labels_clean`` = true when duplicates +
  conflicts + empty outputs are at most 2 % of examples, false above 10 %, otherwise left
  to ask;
- personal data found: a risk, and a question for ``data_cleared`` (never an answer: a
  scan that finds nothing is no clearance, and provenance is not in the file).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from graph.evidence.personal import KIND_LABEL
from graph.evidence.results import (
    EvalEvidence,
    TrainingEvidence,
    percent,
    personal_text,
    plural,
    score_text,
    weakest_labels,
)

CLEAN_AT_MOST = 0.02
UNCLEAN_ABOVE = 0.10


class ProfileEvidence(BaseModel):
    """One file's contribution to the profile."""

    model_config = ConfigDict(frozen=True)

    file: str
    sha256: str
    values: dict[str, Any]  # profile field -> measured value, ready for graph.profile.merge
    source: str  # provenance: "measured from `eval.csv`, sha256 3f2a91c0, 400 items"
    summary: str  # one line for the terminal or the thread
    risks: list[str]
    questions: dict[str, str]  # profile field -> what to ask, because the file cannot settle it


def labels_clean(result: TrainingEvidence) -> bool | None:
    """The section 8 rule; None = between the two thresholds, so the team is asked."""
    share = result.unclean_share
    if share <= CLEAN_AT_MOST:
        return True
    if share > UNCLEAN_ABOVE:
        return False
    return None


def _unreadable(result: EvalEvidence | TrainingEvidence) -> str:
    unreadable = plural(result.unreadable, "unreadable row")
    return f" ({unreadable} left out)" if result.unreadable else ""


def _unclean_text(result: TrainingEvidence) -> str:
    return (
        f"{result.duplicates:,} duplicates, {result.conflicts:,} conflicting inputs and "
        f"{result.empty_outputs:,} empty outputs ({percent(result.unclean_share)} of examples)"
    )


def profile_evidence(result: EvalEvidence | TrainingEvidence) -> ProfileEvidence:
    """The profile values ``result`` measures, with provenance text, a one-line summary,
    risks, and questions for what it leaves open."""
    name = f"`{result.file}`"
    risks: list[str] = []
    questions: dict[str, str] = {}
    if isinstance(result, EvalEvidence):
        values: dict[str, Any] = {"eval_set_size": result.items, "baseline_score": result.score}
        count = plural(result.items, "item")
        summary = f"Measured from {result.file}: {count}, {score_text(result)}"
        weakest = weakest_labels(result, 1)
        if weakest and len(result.per_label or {}) > 1:
            label, scores = weakest[0]
            summary += f"; per-label F1 lowest on '{label}' ({scores.f1:.2f})"
    else:
        count = plural(result.examples, "example")
        values = {"labeled_examples": result.examples}
        clean = labels_clean(result)
        if clean is not None:
            values["labels_clean"] = clean
        unique = plural(result.unique_inputs, "unique input")
        summary = (
            f"Measured from {result.file}: {count}, {unique}; "
            f"{percent(result.unclean_share)} duplicates, conflicts or empty outputs"
        )
        if clean is None:
            questions["labels_clean"] = (
                f"In {name}, {_unclean_text(result)}. Are the labels clean enough to train "
                "on: consistent, deduplicated, with an agreed definition of a good output?"
            )
        elif clean is False:
            risks.append(
                f"Training data {name} is not clean: {_unclean_text(result)}, above "
                f"{percent(UNCLEAN_ABOVE)}. Deduplicate and resolve conflicting labels first."
            )
        if result.personal_data:
            kinds = ", ".join(KIND_LABEL[k] for k in result.personal_data)
            summary += f"; personal data found ({kinds})"
            where = personal_text(result.personal_data)
            risks.append(
                f"Training data {name} holds personal data: {where}. Redact it, or confirm "
                "the team may train on it, before any fine-tune."
            )
            questions["data_cleared"] = (
                f"{name} holds personal data ({where}). Is the team cleared to train on it, "
                "with that data redacted and its provenance known?"
            )
    summary += _unreadable(result)
    return ProfileEvidence(
        file=result.file,
        sha256=result.sha256,
        values=values,
        source=f"measured from {name}, sha256 {result.short_sha}, {count}",
        summary=summary,
        risks=risks,
        questions=questions,
    )
