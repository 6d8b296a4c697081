"""The profile: what the interview learns about a team's use case (DESIGN.md section 2).

Every field but ``use_case`` may be ``None``, meaning "not known yet". Values arrive through
:func:`merge`, which also records who gave each one and when, so the memo can say who said
what.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)


class TaskType(StrEnum):
    classification = "classification"
    extraction = "extraction"
    transformation = "transformation"  # format conversion
    generation = "generation"
    summarization = "summarization"
    question_answering = "question_answering"
    conversation = "conversation"
    agent = "agent"
    other = "other"


class Problem(StrEnum):
    missing_knowledge = "missing_knowledge"
    hallucination = "hallucination"
    wrong_format = "wrong_format"
    off_voice = "off_voice"
    refuses_harmless = "refuses_harmless"
    too_slow = "too_slow"
    too_expensive = "too_expensive"
    accuracy_plateau = "accuracy_plateau"
    inconsistent = "inconsistent"


class Rung(StrEnum):
    """The escalation ladder, in the order it is climbed (DESIGN.md section 3)."""

    system_prompt = "system_prompt"
    few_shot = "few_shot"
    structured_output = "structured_output"
    chain_of_thought = "chain_of_thought"
    decomposition = "decomposition"
    rag = "rag"
    bigger_model = "bigger_model"
    fine_tuning = "fine_tuning"


LADDER: tuple[Rung, ...] = tuple(Rung)


class ErrorCost(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class KnowledgeChanges(StrEnum):
    none = "none"
    rarely = "rarely"
    often = "often"  # monthly or faster


class Deployment(StrEnum):
    hosted_api = "hosted_api"
    private_cloud = "private_cloud"
    on_prem = "on_prem"
    edge = "edge"


class Profile(BaseModel):
    """DESIGN.md section 2. ``None`` = not known yet."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    use_case: str = Field(
        min_length=1, max_length=500, description="one line: what the model is for"
    )
    task_type: TaskType | None = Field(
        None, description="what kind of task; transformation = format conversion"
    )
    problems: list[Problem] | None = Field(
        None, description="what goes wrong today; empty list = nothing built yet / no complaint"
    )
    task_stable: bool | None = Field(
        None, description="same inputs, outputs and definition of correct for the next 3-6 months"
    )
    techniques_tried: list[Rung] | None = Field(
        None, description="ladder rungs the team has really tried"
    )
    eval_set_size: int | None = Field(
        None, ge=0, description="items in their eval set; 0 = no eval set"
    )
    baseline_score: float | None = Field(
        None, ge=0, le=1, description="best score prompting reached on that eval, 0-1"
    )
    target_score: float | None = Field(
        None, ge=0, le=1, description="the score the use case needs, 0-1"
    )
    labeled_examples: int | None = Field(
        None, ge=0, description="input/ideal-output pairs they could train on"
    )
    labels_clean: bool | None = Field(
        None, description="labels consistent, deduplicated, agreed definition of good"
    )
    data_cleared: bool | None = Field(
        None, description="allowed to train on it; sensitive data redacted; provenance known"
    )
    monthly_volume: int | None = Field(
        None, ge=0, description="model calls per month in production"
    )
    error_cost: ErrorCost | None = Field(None, description="what a wrong answer costs")
    knowledge_changes: KnowledgeChanges | None = Field(
        None,
        description="does the task need facts beyond the input, and how often do they change "
        "(often = monthly or faster)",
    )
    deployment: Deployment | None = Field(None, description="where the model must run")
    latency_critical: bool | None = Field(None, description="latency is a hard requirement")
    cost_pressure: bool | None = Field(None, description="model spend is under pressure")
    retraining_owner: str | None = Field(
        None, max_length=200, description='who retrains when the base model changes; "" = nobody'
    )
    human_review: bool | None = Field(
        None, description="a person reviews outputs before they matter"
    )
    brand_voice: bool | None = Field(None, description="output must hold a fixed voice")
    regulated: bool | None = Field(
        None, description="finance, health, legal, child safety or similar"
    )
    avg_input_tokens: int | None = Field(
        None, ge=0, description="tokens per call, today's prompt included"
    )
    avg_output_tokens: int | None = Field(None, ge=0, description="output tokens per call")


FIELDS: tuple[str, ...] = tuple(Profile.model_fields)


class Provenance(BaseModel):
    """Who set one profile field, when, and from what they said."""

    field: str
    value: Any
    by: str
    at: str  # ISO 8601; passed in by the caller, never read from a clock here
    said: str = ""


def unknown_fields(profile: Profile) -> list[str]:
    """Fields still ``None``, in the model's order."""
    return [name for name in FIELDS if getattr(profile, name) is None]


def same_value(a: Any, b: Any) -> bool:
    """Equal as profile values: lists as sets, floats to a tolerance, enums as strings."""
    if isinstance(a, list) and isinstance(b, list):
        return {str(x) for x in a} == {str(x) for x in b}
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return str(a) == str(b)


def conflicts(extracted: dict[str, Any], offline: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields both readings set to different values: ``{field: (offline, extracted)}``.

    ``offline`` is what graph/answers.py ``parse_answer`` read from the same reply for the
    pending question (only when it read it cleanly: ``ok`` and not ``skipped``). Such a
    field must be confirmed with the user, not taken from the model.
    """
    return {
        name: (offline[name], value)
        for name, value in extracted.items()
        if name in offline and offline[name] is not None and not same_value(offline[name], value)
    }


def merge(
    profile: Profile,
    updates: dict[str, Any],
    *,
    by: str,
    at: str,
    said: str = "",
) -> tuple[Profile, list[Provenance]]:
    """Apply ``updates`` to a copy of ``profile`` and return it with one record per change.

    Every value is validated by the model; an invalid one raises ``ValueError`` naming the
    field, and nothing is applied. Unknown field names are rejected the same way.
    """
    unknown = sorted(set(updates) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown profile field(s): {', '.join(unknown)}")
    data = profile.model_dump()
    data.update(updates)
    try:
        merged = Profile.model_validate(data)
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
        raise ValueError(f"invalid value for {', '.join(fields) or 'profile'}: {exc}") from exc
    records = [
        Provenance(field=name, value=merged.model_dump(mode="json")[name], by=by, at=at, said=said)
        for name in updates
    ]
    return merged, records


def merge_each(
    profile: Profile,
    updates: dict[str, Any],
    *,
    by: str,
    at: str,
    said: str,
    keep: Collection[str] = (),
) -> tuple[Profile, list[Provenance], dict[str, Any]]:
    """Merge what validates; a bad value for one field never loses the others.

    ``keep``: fields a file measured. A value for one of them is recorded as a statement
    (the memo shows it beside the measurement) but the measured value stays.
    """
    records: list[Provenance] = []
    applied: dict[str, Any] = {}
    for name, value in updates.items():
        try:
            merged, found = merge(profile, {name: value}, by=by, at=at, said=said)
        except ValueError:
            log.info("dropped invalid value for %s: %r", name, value)
            continue
        records += found
        if name in keep:
            continue
        profile = merged
        applied[name] = found[0].value
    return profile, records, applied
