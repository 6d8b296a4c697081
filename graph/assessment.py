"""The assessment: what the policy concludes from a profile (DESIGN.md section 5).

``advisor assess --json`` prints ``Assessment.model_dump(mode="json")``; the memo and the
Slack summary are rendered from it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from graph.profile import Rung


class Approach(StrEnum):
    prompt_engineering = "prompt_engineering"
    rag = "rag"
    fine_tuning = "fine_tuning"
    hybrid = "hybrid"


class GateStatus(StrEnum):
    pass_ = "pass"
    fail = "fail"
    unknown = "unknown"


class Gate(StrEnum):
    """Fine-tuning gates, in the order the memo lists them."""

    narrow_and_stable = "narrow_and_stable"
    prompting_exhausted = "prompting_exhausted"
    enough_clean_data = "enough_clean_data"
    volume = "volume"
    latency_or_cost_pressure = "latency_or_cost_pressure"
    retraining_owner = "retraining_owner"
    data_cleared = "data_cleared"


class Exception_(StrEnum):
    """Cases where the climb may be skipped, in the order they are tried."""

    self_hosted_small_model = "self_hosted_small_model"
    extreme_volume = "extreme_volume"
    strong_dataset = "strong_dataset"


class Status(StrEnum):
    yes = "yes"
    no = "no"
    unknown = "unknown"


class QuestionId(StrEnum):
    """The five escalation-rule questions (guidance 003, "how to apply it")."""

    eval_ceiling = "eval_ceiling"
    ladder_tried = "ladder_tried"
    clean_examples = "clean_examples"
    retraining_plan = "retraining_plan"
    cost_delta = "cost_delta"


class EscalationAnswer(BaseModel):
    id: QuestionId
    question: str
    answer: str  # one sentence citing the team's own numbers
    status: Status
    citations: list[str] = Field(default_factory=list)  # card ids


class GateResult(BaseModel):
    """One gate with the reason, for the memo's gates table."""

    status: GateStatus
    reason: str
    citations: list[str] = Field(default_factory=list)


class CostSide(BaseModel):
    model: str
    per_call_usd: float
    per_month_usd: float


class CostDelta(BaseModel):
    """Question five in numbers. Built only when tokens and volume are known."""

    prices_as_of: str  # the price file's date
    prompted: CostSide  # the prompted model today
    fine_tuned: CostSide  # a fine-tuned smaller model
    saving_per_call_usd: float
    saving_per_month_usd: float
    one_off_usd: float  # training + data work + eval set-up
    retraining_per_year_usd: float
    retrains_per_year: int
    break_even_months: float | None  # None: never pays back
    assumptions: list[str] = Field(default_factory=list)


class Assessment(BaseModel):
    approach: Approach
    next_rung: Rung | None
    fine_tuning_justified: bool
    exception: Exception_ | None
    knowledge_needed: bool
    gates: dict[Gate, GateStatus]
    gate_reasons: dict[Gate, GateResult]
    escalation_questions: list[EscalationAnswer]
    cost: CostDelta | None
    cost_missing: list[str] = Field(default_factory=list)  # fields needed for ``cost``
    risks: list[str]
    open_questions: list[str]
    next_steps: list[str]
    citations: list[str]  # every card id cited anywhere above, first use first
    # Only unknown gates keep fine-tuning from being justified: the fewest whose answers
    # would settle it (empty when it is justified, or when a failed gate stands in the way).
    unknowns_in_the_way: list[Gate] = Field(default_factory=list)
    # The cards behind each risk and next step, in the same order as ``risks``/``next_steps``.
    risk_citations: list[list[str]] = Field(default_factory=list)
    step_citations: list[list[str]] = Field(default_factory=list)
