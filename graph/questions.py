"""The interview's questions: what to ask, in what order, and which questions can be skipped.

Twelve questions cover every profile field but ``use_case`` (the interview opens with that);
related fields share a question, so a team with nothing known up front answers at most 12.
The order follows how a team thinks about its use case: what the task is and what hurts,
then the evidence (what was tried, the eval), then the data, then operations.

Relevance rules (a question is asked only while one of its fields is unknown, relevant and
not skipped; "relevant" means knowing it could still change the decision or the memo):

- Always relevant: task type, problems, techniques tried, eval set size, error cost.
- Baseline and target scores: unless the team has no eval set (size 0): no eval, no score.
- How often facts change: unless the problems already show knowledge is needed (missing
  knowledge or hallucination), which settles RAG whatever the answer.
- Fine-tuning fields (task stability, labelled examples, label quality, clearance, volume,
  tokens, latency/cost pressure, deployment, regulation, retraining owner): only while
  fine-tuning is still possible. It is ruled out once a gate no exception relaxes has failed
  (an open-ended or "other" task, an unstable task, fewer than 200 examples, noisy labels,
  data not cleared), or once a relaxable gate has failed and every exception that would
  relax it is known not to apply. When fine-tuning is out, volume and tokens only fed the
  cost delta against a fine-tune, so they go too.
- Human review: when a wrong answer could cost high or critical (or the cost is unknown).
- Brand voice: for tasks that write prose for people (not classification, extraction or
  format conversion), or when the problems include an off voice.

Every decision here reads only what is known; unknown never rules a question out.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from graph.profile import (
    Deployment,
    ErrorCost,
    KnowledgeChanges,
    Problem,
    Profile,
    Rung,
    TaskType,
)
from graph.turns import Option, Question

# How the answer parser (graph/answers.py) reads a question's replies.
Kind = Literal[
    "choice", "multi", "yesno", "checklist", "eval", "examples", "usage", "owner", "text"
]

NONE = "none"  # the option value meaning "none of these" on multi and checklist questions


class QuestionSpec(BaseModel):
    """One interview question and what the parser needs to read its answers."""

    id: str
    fields: list[str]
    text: str
    why: str  # one line, grounded in ``why_card``
    why_card: str
    options: list[Option] = Field(default_factory=list)
    multi: bool = False
    example: str = ""
    kind: Kind
    # Checklist questions: the one enum field chosen among the options (deployment), and its
    # value when none of its options is ticked.
    group_field: str | None = None
    group_default: str | None = None


def _opt(value: str, label: str) -> Option:
    return Option(value=str(value), label=label)  # str(): enum members become their value


YES_NO = [_opt("yes", "Yes"), _opt("no", "No")]

CATALOG: tuple[QuestionSpec, ...] = (
    QuestionSpec(
        id="task",
        fields=["task_type"],
        kind="choice",
        text="What kind of task is the model doing?",
        why="Fine-tuning only earns its place on narrow, repeatable tasks such as "
        "classification or extraction; open-ended work stays with prompting.",
        why_card="hybrid-layering",
        options=[
            _opt(TaskType.classification, "Classification: sort inputs into fixed categories"),
            _opt(TaskType.extraction, "Extraction: pull fields out of documents"),
            _opt(TaskType.transformation, "Transformation: convert one format into another"),
            _opt(TaskType.generation, "Generation: write new text (emails, posts, copy)"),
            _opt(TaskType.summarization, "Summarization: condense documents or threads"),
            _opt(TaskType.question_answering, "Question answering: answer questions from facts"),
            _opt(TaskType.conversation, "Conversation: open-ended chat with users"),
            _opt(TaskType.agent, "Agent: plans steps and calls tools"),
            _opt(TaskType.other, "Something else"),
        ],
        example="2, or 'extraction'",
    ),
    QuestionSpec(
        id="problems",
        fields=["problems"],
        kind="multi",
        multi=True,
        text="What goes wrong with the model today? Pick all that apply.",
        why="Most complaints have a cheaper fix than training: missing facts call for "
        "retrieval, a wrong format for structured output, an off tone for examples.",
        why_card="prompting-first",
        options=[
            _opt(Problem.missing_knowledge, "It doesn't know our facts (products, policies)"),
            _opt(Problem.hallucination, "It makes things up"),
            _opt(Problem.wrong_format, "It gets the output format wrong"),
            _opt(Problem.off_voice, "It doesn't sound like us"),
            _opt(Problem.refuses_harmless, "It refuses harmless requests"),
            _opt(Problem.too_slow, "It's too slow"),
            _opt(Problem.too_expensive, "It's too expensive"),
            _opt(Problem.accuracy_plateau, "Accuracy is stuck below what we need"),
            _opt(Problem.inconsistent, "Answers are inconsistent from run to run"),
            _opt(NONE, "Nothing built yet, or no complaints"),
        ],
        example="'it makes stuff up and it's slow', or '2, 6'",
    ),
    QuestionSpec(
        id="knowledge",
        fields=["knowledge_changes"],
        kind="choice",
        text="Does the task need facts that are not in the input (products, policies, "
        "prices)? If so, how often do they change?",
        why="Facts that change belong in retrieval: trained weights are frozen the day "
        "training ends.",
        why_card="mistake-finetune-for-knowledge",
        options=[
            _opt(KnowledgeChanges.none, "No: everything it needs is in the input"),
            _opt(KnowledgeChanges.rarely, "Yes, and they rarely change (a few times a year)"),
            _opt(KnowledgeChanges.often, "Yes, and they change monthly or faster"),
        ],
        example="'no', or 'yes, our price list changes every week'",
    ),
    QuestionSpec(
        id="stable",
        fields=["task_stable"],
        kind="yesno",
        text="Will the task (its inputs, its outputs and what counts as correct) stay the "
        "same for the next 3-6 months?",
        why="Training on a spec that is still moving throws the work away; only narrow, "
        "settled tasks are worth a fine-tune.",
        why_card="gate-narrow-stable",
        options=YES_NO,
        example="'yes', or 'no, we're still changing the categories'",
    ),
    QuestionSpec(
        id="tried",
        fields=["techniques_tried"],
        kind="multi",
        multi=True,
        text="Which of these have you really tried (and measured)? Pick all that apply.",
        why="Each rung of the ladder is roughly ten times cheaper than the next, so the "
        "cheaper rungs come before any training.",
        why_card="escalation-ladder",
        options=[
            _opt(Rung.system_prompt, "A better system prompt (role, rules, format)"),
            _opt(Rung.few_shot, "Few-shot examples in the prompt"),
            _opt(Rung.structured_output, "Structured output (JSON schema)"),
            _opt(Rung.chain_of_thought, "Chain of thought (reason step by step)"),
            _opt(Rung.decomposition, "Decomposition (split into several prompts)"),
            _opt(Rung.rag, "RAG (retrieve documents into the prompt)"),
            _opt(Rung.bigger_model, "A bigger or better model"),
            _opt(NONE, "None of these yet"),
        ],
        example="'system prompt, few-shot and structured output', or 'none yet'",
    ),
    QuestionSpec(
        id="eval",
        fields=["eval_set_size", "baseline_score", "target_score"],
        kind="eval",
        text="Do you have an eval set? If so: how many items, the best score prompting "
        "reached on it, and the score you need.",
        why="Only an eval showing prompting stuck below the target can justify training a model.",
        why_card="gate-prompting-exhausted",
        example="'400 items, 82% now, need 95%', or 'no eval yet'",
    ),
    QuestionSpec(
        id="examples",
        fields=["labeled_examples", "labels_clean"],
        kind="examples",
        text="Roughly how many labelled examples (an input plus its ideal output) could you "
        "train on, and are the labels clean (consistent, deduplicated, one agreed idea of "
        "a good answer)?",
        why="A fine-tune needs 200+ clean labelled examples, 1,000+ is better; noisy labels "
        "teach the noise.",
        why_card="gate-clean-examples",
        example="'about 3,000, clean', or 'none yet'",
    ),
    QuestionSpec(
        id="cleared",
        fields=["data_cleared"],
        kind="yesno",
        text="Are you allowed to train on that data: sensitive details redacted, its origin "
        "known, and sign-off given?",
        why="Whatever goes into training ends up in the weights, so it needs redaction and "
        "approval first.",
        why_card="data-preparation",
        options=YES_NO,
        example="'yes, legal approved it', or 'not yet'",
    ),
    QuestionSpec(
        id="usage",
        fields=["monthly_volume", "avg_input_tokens", "avg_output_tokens"],
        kind="usage",
        text="In production, about how many calls a month, and roughly how many tokens go in "
        "and come out per call (today's prompt included)?",
        why="Training only pays back at volume: savings of cents a day never cover the cost "
        "of building and retraining.",
        why_card="gate-volume",
        example="'200k a month, ~1,500 in, 300 out'",
    ),
    QuestionSpec(
        id="stakes",
        fields=["error_cost"],
        kind="choice",
        text="What does a wrong answer cost?",
        why="How much error you can tolerate decides how much evaluation, review and "
        "guardrail work any approach needs.",
        why_card="four-deciding-factors",
        options=[
            _opt(ErrorCost.low, "Little: easy to spot and retry"),
            _opt(ErrorCost.medium, "Some time or rework"),
            _opt(ErrorCost.high, "Money, customers or reputation"),
            _opt(ErrorCost.critical, "Safety, legal or regulatory harm"),
        ],
        example="3, or 'it costs us customers'",
    ),
    QuestionSpec(
        id="constraints",
        fields=[
            "latency_critical",
            "cost_pressure",
            "regulated",
            "brand_voice",
            "human_review",
            "deployment",
        ],
        kind="checklist",
        multi=True,
        group_field="deployment",
        group_default=Deployment.hosted_api.value,
        text="Which of these apply? Pick all that do; anything left out counts as not "
        "applying (and then a hosted API is fine).",
        why="Speed or cost pressure, regulation, review and where the model must run each "
        "change the options; the checklist mirrors the questions to settle before choosing.",
        why_card="decision-checklist",
        options=[
            _opt("latency_critical", "Answers must be fast: latency is a hard requirement"),
            _opt("cost_pressure", "Model spend is under pressure"),
            _opt("regulated", "Regulated domain (finance, health, legal, child safety)"),
            _opt("brand_voice", "Output must hold a fixed brand voice"),
            _opt("human_review", "A person reviews outputs before they are used"),
            _opt(Deployment.private_cloud, "Must run in our private cloud"),
            _opt(Deployment.on_prem, "Must run on our own servers"),
            _opt(Deployment.edge, "Must run on the device (phone, laptop, edge box)"),
            _opt(NONE, "None of these"),
        ],
        example="'cost, and it must run on our own servers', or 'none'",
    ),
    QuestionSpec(
        id="owner",
        fields=["retraining_owner"],
        kind="owner",
        text="If you fine-tune, who retrains the model each time the base model changes, "
        "12 months from now?",
        why="Every base-model upgrade means training again; a fine-tune without an owner "
        "goes stale.",
        why_card="gate-retraining-owner",
        example="'the ML platform team (Priya)', or 'nobody yet'",
    ),
)

# The interview opens with the use case; it is not in CATALOG (the team usually gives it
# with /advisor), but question_for_field("use_case") and spec("use_case") return this.
USE_CASE = QuestionSpec(
    id="use_case",
    fields=["use_case"],
    kind="text",
    text="What will the model do? Describe the use case in a line.",
    why="The advice is for one use case: a classifier and a chat assistant get different answers.",
    why_card="decision-checklist",
    example="Route incoming support tickets to one of 12 queues",
)

_BY_ID: dict[str, QuestionSpec] = {s.id: s for s in (*CATALOG, USE_CASE)}
_BY_FIELD: dict[str, QuestionSpec] = {f: s for s in (*CATALOG, USE_CASE) for f in s.fields}

# Gate thresholds (DESIGN.md section 4), read here as "could this still pass?".
MIN_EXAMPLES = 200
STRONG_DATASET = 1_000
MIN_VOLUME = 5_000
EXTREME_VOLUME = 30_000_000
_NEVER_NARROW = frozenset({TaskType.conversation, TaskType.agent, TaskType.other})
_REQUIRED_RUNGS = (Rung.system_prompt, Rung.few_shot, Rung.structured_output, Rung.decomposition)
_KNOWLEDGE_PROBLEMS = frozenset({Problem.missing_knowledge, Problem.hallucination})
# Tasks whose output is prose a person reads, where a fixed voice can matter.
_PROSE_TASKS = frozenset(
    {
        TaskType.generation,
        TaskType.summarization,
        TaskType.question_answering,
        TaskType.conversation,
        TaskType.agent,
        TaskType.other,
    }
)


def spec(question_id: str) -> QuestionSpec:
    """The question with this id (KeyError if there is none)."""
    return _BY_ID[question_id]


def question_for_field(field: str) -> QuestionSpec:
    """The question that fills ``field`` (KeyError for an unknown field)."""
    return _BY_FIELD[field]


def _knowledge_shown(p: Profile) -> bool:
    return bool(p.problems and _KNOWLEDGE_PROBLEMS & set(p.problems))


def _prompting_fails(p: Profile) -> bool:
    """The prompting_exhausted gate has failed on what is known."""
    if p.eval_set_size == 0:
        return True
    if (
        p.baseline_score is not None
        and p.target_score is not None
        and p.baseline_score >= p.target_score
    ):
        return True
    if p.techniques_tried is not None:
        required = list(_REQUIRED_RUNGS)
        if _knowledge_shown(p) or p.knowledge_changes == KnowledgeChanges.often:
            required.append(Rung.rag)
        if set(required) - set(p.techniques_tried):
            return True
    return False


def fine_tuning_possible(p: Profile) -> bool:
    """Whether some way of filling the unknowns could still justify fine-tuning.

    Mirrors the policy's gates and exceptions, read optimistically: unknown can still pass.
    """
    if p.task_stable is False or p.task_type in _NEVER_NARROW:
        return False  # narrow_and_stable: no exception relaxes it
    if p.labeled_examples is not None and p.labeled_examples < MIN_EXAMPLES:
        return False
    if p.labels_clean is False or p.data_cleared is False:
        return False
    failed: set[str] = set()
    if _prompting_fails(p):
        failed.add("prompting")
    if p.monthly_volume is not None and p.monthly_volume < MIN_VOLUME:
        failed.add("volume")
    if p.latency_critical is False and p.cost_pressure is False:
        failed.add("pressure")
    if p.retraining_owner is not None and not p.retraining_owner.strip():
        failed.add("owner")
    if not failed:
        return True
    if p.deployment in (None, Deployment.edge, Deployment.on_prem):
        return True  # self-hosted small model relaxes every other gate
    extreme = p.monthly_volume is None or p.monthly_volume >= EXTREME_VOLUME
    if extreme and failed <= {"prompting", "pressure"}:
        return True
    strong = p.labeled_examples is None or p.labeled_examples >= STRONG_DATASET
    return strong and failed <= {"prompting"}


def relevant_fields(p: Profile) -> set[str]:
    """Fields whose value could still change the decision or the memo (see module doc)."""
    rel = {"task_type", "problems", "techniques_tried", "eval_set_size", "error_cost"}
    if p.eval_set_size != 0:
        rel |= {"baseline_score", "target_score"}
    if not _knowledge_shown(p):
        rel.add("knowledge_changes")
    if fine_tuning_possible(p):
        rel |= {
            "task_stable",
            "labeled_examples",
            "labels_clean",
            "data_cleared",
            "monthly_volume",
            "avg_input_tokens",
            "avg_output_tokens",
            "latency_critical",
            "cost_pressure",
            "deployment",
            "regulated",
            "retraining_owner",
        }
    if p.error_cost in (None, ErrorCost.high, ErrorCost.critical):
        rel.add("human_review")
    if (
        p.task_type is None
        or p.task_type in _PROSE_TASKS
        or (p.problems is not None and Problem.off_voice in p.problems)
    ):
        rel.add("brand_voice")
    return rel


def missing_fields(
    question: QuestionSpec, profile: Profile, skipped: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """The question's fields that are unknown, relevant and not skipped, in order."""
    if question.id in skipped:
        return []
    rel = relevant_fields(profile)
    return [
        f
        for f in question.fields
        if f in rel and f not in skipped and getattr(profile, f, None) is None
    ]


def next_question(profile: Profile, skipped: set[str]) -> QuestionSpec | None:
    """The first catalog question with a relevant, unknown field that was not skipped.

    ``skipped`` holds question ids (answered or skipped: never asked again) and may also
    hold field names.
    """
    for question in CATALOG:
        if missing_fields(question, profile, skipped):
            return question
    return None


def remaining_estimate(profile: Profile, skipped: set[str]) -> int:
    """How many questions are still to come, the pending one included.

    An upper bound on what is known now: later answers can only rule more out.
    """
    return sum(1 for question in CATALOG if missing_fields(question, profile, skipped))


def to_turn(question: QuestionSpec, number: int, total: int, hint: str = "") -> Question:
    """The turn a front end renders: "question ``number`` of about ``total``"."""
    return Question(
        id=question.id,
        fields=list(question.fields),
        text=question.text,
        why=question.why,
        why_card=question.why_card,
        options=[o.model_copy() for o in question.options],
        multi=question.multi,
        example=question.example,
        hint=hint,
        number=max(1, number),
        total=max(1, number, total),
    )
