"""The policy: profile -> assessment (DESIGN.md section 4). A pure function.

No I/O, no clock, no LLM: the same profile and prices always give the same assessment, so
it can be tested exhaustively. Every statement carries the ids of the knowledge cards that
back it; :attr:`Assessment.citations` lists them in order of first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.assessment import (
    Approach,
    Assessment,
    CostDelta,
    EscalationAnswer,
    Exception_,
    Gate,
    GateResult,
    GateStatus,
    QuestionId,
    Status,
)
from graph.cost import COST_FIELDS, Prices, cost_delta, usd
from graph.profile import (
    Deployment,
    ErrorCost,
    KnowledgeChanges,
    Problem,
    Profile,
    Rung,
    TaskType,
)

PASS, FAIL, UNKNOWN = GateStatus.pass_, GateStatus.fail, GateStatus.unknown

MIN_EXAMPLES = 200  # 003: the floor for a fine-tune
STRONG_DATASET = 1_000  # 003: "1,000+ is better"; the strong-dataset exception
MIN_VOLUME = 5_000  # 001: consider fine-tuning from 5,000-10,000 calls a month
BORDERLINE_VOLUME = 10_000
EXTREME_VOLUME = 30_000_000  # ~1M calls a day; 003's example is 100M extractions a day
SMALL_EVAL = 100  # 003's brand-voice eval and the eval-set card's starting size

NOT_NARROW = frozenset({TaskType.conversation, TaskType.agent})
# Rungs the prompting_exhausted gate (and escalation question two) require; rag only when
# knowledge is needed.
REQUIRED_RUNGS = (Rung.system_prompt, Rung.few_shot, Rung.structured_output, Rung.decomposition)
# The look-alike problems and the rung that really fixes each (003), in DESIGN.md's order.
REMEDIES: dict[Problem, Rung] = {
    Problem.wrong_format: Rung.structured_output,
    Problem.off_voice: Rung.few_shot,
    Problem.refuses_harmless: Rung.system_prompt,
    Problem.too_slow: Rung.system_prompt,
    Problem.too_expensive: Rung.system_prompt,
}

# Which profile fields each gate reads. A gate is unknown, never pass, while any group here
# is entirely None (the latency/cost gate passes on either flag, so they form one group).
GATE_FIELDS: dict[Gate, tuple[tuple[str, ...], ...]] = {
    Gate.narrow_and_stable: (("task_stable",), ("task_type",)),
    Gate.prompting_exhausted: (
        ("eval_set_size",),
        ("baseline_score",),
        ("target_score",),
        ("techniques_tried",),
    ),
    Gate.enough_clean_data: (("labeled_examples",), ("labels_clean",)),
    Gate.volume: (("monthly_volume",),),
    Gate.latency_or_cost_pressure: (("latency_critical", "cost_pressure"),),
    Gate.retraining_owner: (("retraining_owner",),),
    Gate.data_cleared: (("data_cleared",),),
}

# What each exception relaxes; the gates it does not relax must still pass.
RELAXES: dict[Exception_, frozenset[Gate]] = {
    Exception_.self_hosted_small_model: frozenset(Gate)
    - {Gate.narrow_and_stable, Gate.enough_clean_data, Gate.data_cleared},
    Exception_.extreme_volume: frozenset({Gate.prompting_exhausted, Gate.latency_or_cost_pressure}),
    Exception_.strong_dataset: frozenset({Gate.prompting_exhausted}),
}

EXCEPTION_CARD: dict[Exception_, str] = {
    Exception_.self_hosted_small_model: "exception-edge-device",
    Exception_.extreme_volume: "exception-extreme-volume",
    Exception_.strong_dataset: "exception-strong-dataset",
}
RUNG_CARD: dict[Rung, str] = {
    Rung.system_prompt: "rung-system-prompt",
    Rung.few_shot: "rung-few-shot",
    Rung.structured_output: "rung-structured-output",
    Rung.chain_of_thought: "rung-chain-of-thought",
    Rung.decomposition: "rung-decomposition",
    Rung.rag: "rung-rag",
    Rung.bigger_model: "rung-bigger-model",
    Rung.fine_tuning: "rung-fine-tuning",
}
PROBLEM_CARD: dict[Problem, str] = {
    Problem.missing_knowledge: "lookalike-missing-knowledge",
    Problem.hallucination: "lookalike-hallucination",
    Problem.wrong_format: "lookalike-wrong-format",
    Problem.off_voice: "lookalike-off-voice",
    Problem.refuses_harmless: "lookalike-refuses-harmless",
    Problem.too_slow: "lookalike-too-slow",
    Problem.too_expensive: "lookalike-too-expensive",
    Problem.accuracy_plateau: "gate-prompting-exhausted",
    Problem.inconsistent: "prompt-brittleness",
}
APPROACH_CARDS: dict[Approach, tuple[str, ...]] = {
    Approach.prompt_engineering: ("prompting-first", "escalation-ladder"),
    Approach.rag: ("rag-vs-fine-tuning", "escalation-ladder"),
    Approach.fine_tuning: ("fine-tuning-conditions",),
    Approach.hybrid: ("hybrid-layering", "fine-tuning-conditions"),
}

RUNG_LABEL: dict[Rung, str] = {
    Rung.system_prompt: "a better system prompt",
    Rung.few_shot: "few-shot examples",
    Rung.structured_output: "structured output",
    Rung.chain_of_thought: "chain of thought",
    Rung.decomposition: "decomposition",
    Rung.rag: "RAG",
    Rung.bigger_model: "a bigger model",
    Rung.fine_tuning: "fine-tuning",
}
TASK_LABEL: dict[TaskType, str] = {
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

QUESTION_TEXT: dict[QuestionId, str] = {
    QuestionId.eval_ceiling: "Which eval shows prompting cannot reach the target, and what are "
    "its numbers?",
    QuestionId.ladder_tried: "Have RAG, few-shot examples, structured output and decomposition "
    "all been tried?",
    QuestionId.clean_examples: "Are there 200 or more clean labelled examples to train on?",
    QuestionId.retraining_plan: "Who retrains the model when the base model changes, and who "
    "owns it a year from now?",
    QuestionId.cost_delta: "What does a fine-tune save against a better prompt on today's "
    "model, per call and per month?",
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


# How the prompting_exhausted gate names its unknown inputs.
OPEN_LABEL: dict[str, str] = {
    "eval_set_size": "whether there is an eval set",
    "baseline_score": "prompting's best score on it",
    "target_score": "the target score",
    "techniques_tried": "which rungs have been tried",
}


# --- small helpers -----------------------------------------------------------------------


def pct(score: float) -> str:
    """0.82 -> '82%', 0.825 -> '82.5%'."""
    return f"{score * 100:.1f}".removesuffix(".0") + "%"


def count(n: int) -> str:
    return f"{n:,}"


def join(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def rungs(items: list[Rung] | tuple[Rung, ...]) -> str:
    return join([RUNG_LABEL[r] for r in items])


def capital(text: str) -> str:
    """First letter upper-cased, the rest untouched ("the ML team" -> "The ML team")."""
    return text[:1].upper() + text[1:]


def knowledge_needed(profile: Profile) -> bool:
    """Problems include missing knowledge or hallucination, or the facts change often."""
    problems = profile.problems or []
    return (
        Problem.missing_knowledge in problems
        or Problem.hallucination in problems
        or profile.knowledge_changes == KnowledgeChanges.often
    )


def required_rungs(profile: Profile) -> tuple[Rung, ...]:
    """The rungs that must be tried before prompting counts as exhausted."""
    return (*REQUIRED_RUNGS, Rung.rag) if knowledge_needed(profile) else REQUIRED_RUNGS


def _tried(profile: Profile) -> set[Rung]:
    # A null techniques_tried counts as nothing tried.
    return set(profile.techniques_tried or [])


def _passes(baseline: float | None, target: float | None) -> bool:
    return baseline is not None and target is not None and baseline >= target


@dataclass
class _Cites:
    """Card ids in order of first use."""

    ids: list[str] = field(default_factory=list)

    def add(self, *cards: str) -> list[str]:
        for card in cards:
            if card not in self.ids:
                self.ids.append(card)
        return list(cards)


@dataclass(frozen=True)
class _Line:
    text: str
    cards: tuple[str, ...] = ()


# --- the gates ---------------------------------------------------------------------------


def _gate(status: GateStatus, reason: str, *cards: str) -> GateResult:
    return GateResult(status=status, reason=reason, citations=list(cards))


def _narrow_and_stable(p: Profile) -> GateResult:
    card = "gate-narrow-stable"
    if p.task_stable is False:
        return _gate(
            FAIL,
            "The task is still changing, and fine-tuning a target that moves within 3-6 months "
            "wastes the training.",
            card,
        )
    if p.task_type in NOT_NARROW:
        return _gate(
            FAIL,
            f"A {TASK_LABEL[p.task_type]} task is open-ended rather than narrow, so it belongs "
            "on prompting (with RAG where facts are needed).",
            card,
            "hybrid-layering",
        )
    if p.task_stable and p.task_type is not None and p.task_type != TaskType.other:
        return _gate(
            PASS,
            f"A {TASK_LABEL[p.task_type]} task whose definition of correct holds for the next "
            "3-6 months is narrow and stable.",
            card,
        )
    if p.task_stable is None:
        reason = "Nobody has said whether the task will stay the same for the next 3-6 months."
    elif p.task_type is None:
        reason = "The task type is not known, so nobody can confirm the task is narrow."
    else:
        reason = "An 'other' task type cannot be confirmed as narrow; say what kind of task it is."
    return _gate(UNKNOWN, reason, card)


def _prompting_exhausted(p: Profile) -> GateResult:
    cards = ("gate-prompting-exhausted", "escalation-ladder")
    size, base, target = p.eval_set_size, p.baseline_score, p.target_score
    need = required_rungs(p)
    if size == 0:
        return _gate(
            FAIL,
            "There is no eval set, so nothing shows prompting has hit a ceiling.",
            *cards,
            "eval-set",
        )
    if base is not None and target is not None and base >= target:
        return _gate(
            FAIL,
            f"Prompting already reaches {pct(base)} against a {pct(target)} target, so there is "
            "no ceiling to break through.",
            *cards,
        )
    if p.techniques_tried is not None:
        untried = [r for r in need if r not in p.techniques_tried]
        if untried:
            verb = "is" if len(untried) == 1 else "are"
            return _gate(
                FAIL,
                f"{capital(rungs(untried))} {verb} still untried, so the ladder is not exhausted.",
                *cards,
            )
        if size is not None and base is not None and target is not None:
            return _gate(
                PASS,
                f"Your {count(size)}-item eval puts prompting at {pct(base)} against a "
                f"{pct(target)} target after {rungs(need)}.",
                *cards,
                "eval-set",
            )
    missing = [
        OPEN_LABEL[name]
        for name in ("eval_set_size", "baseline_score", "target_score", "techniques_tried")
        if getattr(p, name) is None
    ]
    return _gate(UNKNOWN, f"Not known yet: {join(missing)}.", *cards)


def _enough_clean_data(p: Profile) -> GateResult:
    n, clean = p.labeled_examples, p.labels_clean
    if n is not None and n < MIN_EXAMPLES:
        return _gate(
            FAIL,
            f"{count(n)} labelled examples is below the 200 floor, where a model memorises "
            "instead of generalising.",
            "gate-clean-examples",
            "mistake-too-few-examples",
        )
    if clean is False:
        return _gate(
            FAIL,
            "The labels are not clean yet, and a model trained on them learns the noise.",
            "gate-clean-examples",
            "mistake-noisy-data",
        )
    if n is not None and clean:
        better = " (1,000+ would be better)" if n < STRONG_DATASET else ""
        return _gate(
            PASS,
            f"{count(n)} clean labelled examples clear the 200 floor{better}.",
            "gate-clean-examples",
        )
    if n is None:
        reason = "Nobody has counted the labelled examples yet."
    else:
        reason = f"There are {count(n)} labelled examples, but nobody has said they are clean."
    return _gate(UNKNOWN, reason, "gate-clean-examples")


def _volume(p: Profile) -> GateResult:
    v = p.monthly_volume
    if v is None:
        return _gate(UNKNOWN, "The monthly call volume is not known yet.", "gate-volume")
    if v < MIN_VOLUME:
        return _gate(
            FAIL,
            f"{count(v)} calls a month is too few for a cheaper model to pay back a fine-tune.",
            "gate-volume",
            "break-even",
        )
    if v < BORDERLINE_VOLUME:
        return _gate(
            PASS,
            f"{count(v)} calls a month is enough, but borderline: the practitioner essay puts "
            "break-even at 5,000-10,000 a month.",
            "gate-volume",
            "break-even",
        )
    return _gate(
        PASS, f"{count(v)} calls a month is enough for a per-call saving to matter.", "gate-volume"
    )


def _latency_or_cost(p: Profile) -> GateResult:
    card = "gate-latency-cost"
    slow, costly = p.latency_critical, p.cost_pressure
    if slow or costly:
        what = (
            "Latency is critical and spend is under pressure"
            if slow and costly
            else "Latency is critical"
            if slow
            else "Spend is under pressure"
        )
        return _gate(PASS, f"{what}, so a smaller fine-tuned model has something to win.", card)
    if slow is False and costly is False:
        return _gate(
            FAIL,
            "Neither latency nor cost is under pressure, so a fine-tune buys nothing a prompt "
            "does not.",
            card,
        )
    return _gate(UNKNOWN, "Not known yet whether latency or cost is under pressure.", card)


def _retraining_owner(p: Profile) -> GateResult:
    owner = p.retraining_owner
    if owner is None:
        return _gate(
            UNKNOWN,
            "Nobody has said who retrains the model when the base model changes.",
            "gate-retraining-owner",
        )
    if not owner.strip():
        return _gate(
            FAIL,
            "Nobody owns retraining, yet every base-model upgrade means training again.",
            "gate-retraining-owner",
            "mistake-one-time-investment",
        )
    return _gate(
        PASS,
        f"{capital(owner.strip())} owns retraining when the base model changes.",
        "gate-retraining-owner",
    )


def _data_cleared(p: Profile) -> GateResult:
    if p.data_cleared:
        return _gate(
            PASS,
            "The data is cleared for training: sensitive fields redacted, provenance known.",
            "data-preparation",
        )
    if p.data_cleared is False:
        cards = (
            ("data-preparation", "regulated-governance") if p.regulated else ("data-preparation",)
        )
        return _gate(
            FAIL,
            "The data is not cleared for training: redaction and sign-off come first.",
            *cards,
        )
    return _gate(
        UNKNOWN, "Nobody has said whether the data may be used for training.", "data-preparation"
    )


GATE_CHECKS = {
    Gate.narrow_and_stable: _narrow_and_stable,
    Gate.prompting_exhausted: _prompting_exhausted,
    Gate.enough_clean_data: _enough_clean_data,
    Gate.volume: _volume,
    Gate.latency_or_cost_pressure: _latency_or_cost,
    Gate.retraining_owner: _retraining_owner,
    Gate.data_cleared: _data_cleared,
}


def evaluate_gates(profile: Profile) -> dict[Gate, GateResult]:
    """Every gate, in the memo's order, with its status and a one-sentence reason."""
    return {gate: GATE_CHECKS[gate](profile) for gate in Gate}


# --- exceptions, approach, next rung -----------------------------------------------------


def exception_applies(exc: Exception_, p: Profile, gates: dict[Gate, GateStatus]) -> bool:
    """Whether the exception's situation holds (not yet whether it justifies fine-tuning)."""
    narrow = gates[Gate.narrow_and_stable] == PASS
    if exc == Exception_.self_hosted_small_model:
        return p.deployment in (Deployment.edge, Deployment.on_prem) and narrow
    if exc == Exception_.extreme_volume:
        return p.monthly_volume is not None and p.monthly_volume >= EXTREME_VOLUME and narrow
    return (
        p.labeled_examples is not None
        and p.labeled_examples >= STRONG_DATASET
        and p.labels_clean is True
    )


def blocking_gates(exc: Exception_, gates: dict[Gate, GateStatus]) -> list[Gate]:
    """Gates the exception does not relax that do not pass."""
    return [g for g in Gate if g not in RELAXES[exc] and gates[g] != PASS]


def choose_exception(p: Profile, gates: dict[Gate, GateStatus]) -> Exception_ | None:
    """None when every gate passes; else the first exception (table order) that justifies."""
    if all(status == PASS for status in gates.values()):
        return None
    for exc in Exception_:
        if exception_applies(exc, p, gates) and not blocking_gates(exc, gates):
            return exc
    return None


def choose_approach(justified: bool, needs_knowledge: bool) -> Approach:
    if justified:
        return Approach.hybrid if needs_knowledge else Approach.fine_tuning
    return Approach.rag if needs_knowledge else Approach.prompt_engineering


def choose_next_rung(p: Profile, approach: Approach) -> tuple[Rung | None, Problem | None]:
    """The next rung to climb, and the problem it remedies (if chosen for one)."""
    if approach in (Approach.fine_tuning, Approach.hybrid):
        return Rung.fine_tuning, None
    if _passes(p.baseline_score, p.target_score):
        return None, None  # the current prompt passes its eval: stop climbing
    tried = _tried(p)
    if approach == Approach.rag and Rung.rag not in tried:
        return Rung.rag, None
    for problem in p.problems or []:
        remedy = REMEDIES.get(problem)
        if remedy is not None and remedy not in tried:
            return remedy, problem
    for rung in Rung:
        if rung != Rung.fine_tuning and rung not in tried:
            return rung, None
    return None, None


# --- the five escalation questions -------------------------------------------------------


def _answer(qid: QuestionId, status: Status, answer: str, *cards: str) -> EscalationAnswer:
    return EscalationAnswer(
        id=qid, question=QUESTION_TEXT[qid], answer=answer, status=status, citations=list(cards)
    )


def _q_eval_ceiling(p: Profile) -> EscalationAnswer:
    qid, cards = QuestionId.eval_ceiling, ("five-questions", "eval-set")
    size, base, target = p.eval_set_size, p.baseline_score, p.target_score
    if size == 0:
        return _answer(
            qid, Status.no, "No eval set yet: nobody can show prompts have hit a ceiling.", *cards
        )
    on = f"Your {count(size)}-item eval puts" if size is not None else "Your eval puts"
    if base is not None and target is not None:
        if base >= target:
            return _answer(
                qid,
                Status.no,
                f"{on} prompting at {pct(base)}, already at or above the {pct(target)} target, "
                "so prompts have not hit a ceiling.",
                *cards,
            )
        if size is not None:
            return _answer(
                qid,
                Status.yes,
                f"{on} prompting at {pct(base)} against a {pct(target)} target.",
                *cards,
            )
        return _answer(
            qid,
            Status.unknown,
            f"Prompting reportedly scores {pct(base)} against a {pct(target)} target, but "
            "nobody has said what eval that comes from.",
            *cards,
        )
    if size is None:
        text = "Nobody has said whether an eval set exists, so no numbers show a ceiling yet."
    elif base is None and target is None:
        text = f"You have a {count(size)}-item eval, but no prompting score or target on it yet."
    elif target is not None:
        text = (
            f"You have a {count(size)}-item eval and a {pct(target)} target, but no prompting "
            "score on it yet."
        )
    else:
        text = f"{on} prompting at {pct(base or 0)}, but nobody has agreed the target score."
    return _answer(qid, Status.unknown, text, *cards)


def _q_ladder_tried(p: Profile) -> EscalationAnswer:
    qid, cards = QuestionId.ladder_tried, ("five-questions", "escalation-ladder")
    if p.techniques_tried is None:
        return _answer(
            qid, Status.unknown, "Nobody has said which rungs of the ladder were tried.", *cards
        )
    need = required_rungs(p)
    tried = [r for r in need if r in p.techniques_tried]
    untried = [r for r in need if r not in p.techniques_tried]
    rag_note = "" if Rung.rag in need else "; RAG is not required, as no knowledge gap is reported"
    if not untried:
        return _answer(qid, Status.yes, f"You have tried {rungs(need)}{rag_note}.", *cards)
    so_far = f"; tried so far: {rungs(tried)}" if tried else "; none of them has been tried yet"
    return _answer(qid, Status.no, f"Still untried: {rungs(untried)}{so_far}{rag_note}.", *cards)


def _q_clean_examples(p: Profile, gate: GateResult) -> EscalationAnswer:
    qid = QuestionId.clean_examples
    n, clean = p.labeled_examples, p.labels_clean
    status = {PASS: Status.yes, FAIL: Status.no, UNKNOWN: Status.unknown}[gate.status]
    if n is None:
        text = (
            "The labels are said to be unclean, and nobody has counted the examples."
            if clean is False
            else "Nobody has counted the labelled examples yet."
        )
    elif n < MIN_EXAMPLES:
        dirty = ", and their labels are not clean" if clean is False else ""
        text = f"You have {count(n)} labelled examples, short of the 200 floor{dirty}."
    elif clean is False:
        text = f"You have {count(n)} labelled examples, but their labels are not clean yet."
    elif clean is None:
        text = f"You have {count(n)} labelled examples, but nobody has checked they are clean."
    else:
        better = "; 1,000+ would be better" if n < STRONG_DATASET else ""
        text = f"You have {count(n)} clean labelled examples, above the 200 floor{better}."
    return _answer(qid, status, text, "five-questions", "gate-clean-examples")


def _q_retraining(p: Profile, prices: Prices) -> EscalationAnswer:
    qid, cards = QuestionId.retraining_plan, ("five-questions", "gate-retraining-owner")
    owner = p.retraining_owner
    if owner is None:
        return _answer(
            qid,
            Status.unknown,
            "No owner is named yet for retraining when the base model changes.",
            *cards,
        )
    if not owner.strip():
        return _answer(
            qid,
            Status.no,
            "Nobody owns retraining, so the first base-model upgrade would strand a fine-tune.",
            *cards,
            "mistake-one-time-investment",
        )
    return _answer(
        qid,
        Status.yes,
        f"{capital(owner.strip())} owns retraining; plan on about "
        f"{prices.retraining.per_year} retrains a year as base models change.",
        *cards,
        "cost-stack",
    )


def _q_cost(
    p: Profile, prices: Prices, cost: CostDelta | None, missing: list[str]
) -> EscalationAnswer:
    qid, cards = QuestionId.cost_delta, ("five-questions", "cost-stack", "break-even")
    if cost is None:
        what = join([COST_FIELDS[name] for name in missing])
        verb = "is" if len(missing) == 1 else "are"
        return _answer(
            qid, Status.unknown, f"Cannot price it yet: {what} {verb} not known.", *cards
        )
    volume = p.monthly_volume or 0
    head = (
        f"At {count(volume)} calls a month the prompted model costs "
        f"{usd(cost.prompted.per_call_usd)} a call ({usd(cost.prompted.per_month_usd)} a month) "
        f"against {usd(cost.fine_tuned.per_call_usd)} ({usd(cost.fine_tuned.per_month_usd)}) "
        "fine-tuned"
    )
    upfront = (
        f"{usd(cost.one_off_usd)} up front and {usd(cost.retraining_per_year_usd)} a year of "
        "retraining"
    )
    months = cost.break_even_months
    if months is None:
        return _answer(
            qid,
            Status.no,
            f"{head}: saving {usd(cost.saving_per_month_usd)} a month never pays back {upfront}.",
            *cards,
        )
    horizon = prices.payback_horizon_months
    status = Status.yes if months <= horizon else Status.no
    verdict = "" if status == Status.yes else f", beyond the {horizon:g}-month horizon"
    return _answer(
        qid,
        status,
        f"{head}: saving {usd(cost.saving_per_month_usd)} a month repays {upfront} in "
        f"{months:.1f} months{verdict}.",
        *cards,
    )


# --- risks, open questions, next steps ---------------------------------------------------


def _risks(
    p: Profile,
    gates: dict[Gate, GateStatus],
    justified: bool,
    exception: Exception_ | None,
    prices: Prices,
) -> list[_Line]:
    out: list[_Line] = []
    if exception is not None:
        skipped = join([g.value for g in Gate if g in RELAXES[exception] and gates[g] != PASS])
        out.append(
            _Line(
                f"The {exception.value} exception skips the climb ({skipped} not passing): "
                "still measure the fine-tune against a prompt baseline on the same eval.",
                (EXCEPTION_CARD[exception], "mistake-no-baseline"),
            )
        )
    v = p.monthly_volume
    if v is not None and MIN_VOLUME <= v < BORDERLINE_VOLUME:
        out.append(
            _Line(
                f"{count(v)} calls a month is borderline: the practitioner essay puts break-even "
                "at 5,000-10,000 a month, so the saving may not cover retraining.",
                ("break-even", "gate-volume"),
            )
        )
    n = p.labeled_examples
    if justified and n is not None and n < STRONG_DATASET:
        out.append(
            _Line(
                f"{count(n)} examples clears the 200 floor but not the 1,000+ the handbook calls "
                "better (other sources ask for more); expect gains from collecting more.",
                ("fine-tuning-example-counts",),
            )
        )
    if p.labels_clean is False:
        out.append(
            _Line(
                "The labels are not clean: a model trained on them copies the noise, and an eval "
                "drawn from the same data will hide it until real traffic arrives.",
                ("mistake-noisy-data",),
            )
        )
    if p.regulated and p.data_cleared is not True:
        out.append(
            _Line(
                "Regulated work without cleared data: treat training data like production data "
                "(audited, redacted, approved) before any of it reaches a model's weights.",
                ("regulated-governance", "data-preparation"),
            )
        )
    if p.error_cost in (ErrorCost.high, ErrorCost.critical) and p.human_review is False:
        out.append(
            _Line(
                f"A wrong answer costs {p.error_cost.value} and nobody reviews outputs: whatever "
                "the approach, add guardrails, monitoring with alert thresholds and an "
                "escalation path.",
                ("decision-checklist", "measure-fine-tuned"),
            )
        )
    if p.retraining_owner is not None and not p.retraining_owner.strip():
        out.append(
            _Line(
                "Nobody owns retraining: a fine-tune would go stale at the next base-model "
                f"upgrade (plan on {prices.retraining.per_year} a year).",
                ("gate-retraining-owner", "mistake-one-time-investment"),
            )
        )
    if justified and p.knowledge_changes == KnowledgeChanges.often:
        out.append(
            _Line(
                "The facts change monthly or faster: keep them in RAG, because weights trained "
                "on today's facts go stale.",
                ("mistake-finetune-for-knowledge",),
            )
        )
    if justified:
        out.append(
            _Line(
                "A fine-tune is tied to one base-model version and may not carry over to its "
                "successor: budget for retraining, not a one-time project.",
                ("cost-stack", "mistake-one-time-investment"),
            )
        )
    size = p.eval_set_size
    if size is not None and 0 < size < SMALL_EVAL:
        out.append(
            _Line(
                f"A {count(size)}-item eval is small: a gap of a few points may be noise, so grow "
                "it toward 100+ real items.",
                ("eval-set",),
            )
        )
    if p.regulated and p.deployment == Deployment.hosted_api:
        out.append(
            _Line(
                "Regulated data sent to a hosted API on every call: confirm the provider's "
                "terms, or consider private cloud or on-prem.",
                ("privacy-on-prem",),
            )
        )
    return out


def _matters(name: str, p: Profile) -> bool:
    """Whether an unknown field would change the assessment or the memo."""
    if name == "use_case":
        return False
    if name == "baseline_score":
        return p.eval_set_size != 0  # no eval, no score to ask about
    if name in ("labels_clean", "data_cleared"):
        return p.labeled_examples != 0
    if name == "latency_critical":
        return not p.cost_pressure
    if name == "cost_pressure":
        return not p.latency_critical
    return True


def open_questions(p: Profile) -> list[str]:
    """Every unknown field that matters, as a question the team can answer."""
    out = [
        OPEN_QUESTION[name]
        for name in Profile.model_fields
        if getattr(p, name) is None and _matters(name, p)
    ]
    if p.task_type == TaskType.other:
        out.insert(0, "Which kind of task is it closest to, so narrowness can be judged?")
    return out


def _rung_step(p: Profile, rung: Rung, problem: Problem | None) -> _Line:
    measure = "measure it on the eval" if p.eval_set_size else "score it on the new eval"
    card = RUNG_CARD[rung]
    if rung == Rung.fine_tuning:
        n = f"the {count(p.labeled_examples)}" if p.labeled_examples else "your"
        return _Line(
            f"Fine-tune a small model on {n} clean examples, holding some back, and compare it "
            "with the best prompt on the same eval before switching traffic.",
            (card, "mistake-no-baseline"),
        )
    if problem == Problem.wrong_format:
        return _Line(
            f"Force the output into a JSON schema (structured output) instead of training the "
            f"format in; {measure}.",
            (PROBLEM_CARD[problem], card),
        )
    if problem == Problem.refuses_harmless:
        return _Line(
            f"Rewrite the system prompt to spell out what is in scope so harmless requests are "
            f"not refused; {measure}.",
            (PROBLEM_CARD[problem], card),
        )
    if problem == Problem.too_slow:
        return _Line(
            f"Try a smaller, faster model with a tighter system prompt before any fine-tune; "
            f"{measure}.",
            (PROBLEM_CARD[problem], card),
        )
    if problem == Problem.too_expensive:
        return _Line(
            "Cut cost first with prompt caching, batching and prompt compression, then re-price "
            "the calls.",
            (PROBLEM_CARD[problem], "prompt-cost-economics"),
        )
    if rung == Rung.few_shot and (problem == Problem.off_voice or p.brand_voice):
        lead = (PROBLEM_CARD[Problem.off_voice],) if problem else ()
        return _Line(
            "Add 5-10 few-shot examples of the voice, picked from your best real outputs, plus "
            f"a short list of tone rules; {measure}.",
            (*lead, card, "brand-voice-example"),
        )
    steps = {
        Rung.system_prompt: "Write a clear system prompt: the role, the instructions, explicit "
        f"rules and the exact output format; {measure}.",
        Rung.few_shot: "Add 3-10 few-shot input/output pairs covering the common cases and the "
        f"tricky ones; {measure}.",
        Rung.structured_output: f"Make the model return JSON that matches a schema; {measure}.",
        Rung.chain_of_thought: f"Ask the model to reason step by step before it answers; "
        f"{measure}.",
        Rung.decomposition: "Split the task across several smaller prompts, one decision "
        f"each; {measure}.",
        Rung.rag: _rag_step(p, measure),
        Rung.bigger_model: f"Try the next bigger model with the same prompt; {measure}.",
    }
    cards: tuple[str, ...] = (card,)
    if rung == Rung.rag:
        symptoms = (Problem.missing_knowledge, Problem.hallucination)
        cards = (*(PROBLEM_CARD[s] for s in symptoms if s in (p.problems or [])), card)
    return _Line(steps[rung], cards)


def _rag_step(p: Profile, measure: str) -> str:
    grounding = (
        " and add a grounding instruction: answer only from what was retrieved"
        if Problem.hallucination in (p.problems or [])
        else ""
    )
    return (
        "Put RAG over the documents that hold the facts the model lacks (the policies, product "
        f"docs or records it should answer from){grounding}; {measure}."
    )


GATE_FIX: dict[Gate, _Line] = {
    Gate.narrow_and_stable: _Line(
        "Keep prompting until the task's inputs, outputs and definition of correct hold steady "
        "for 3-6 months; fine-tune only the stable core.",
        ("gate-narrow-stable", "hybrid-pilot-then-finetune"),
    ),
    Gate.prompting_exhausted: _Line(
        "Finish the ladder and record each rung's score on the eval, so the ceiling is shown "
        "in numbers.",
        ("gate-prompting-exhausted",),
    ),
    Gate.enough_clean_data: _Line(
        "Collect and clean at least 200 labelled examples from real traffic (1,000+ is better): "
        "deduplicate, resolve contradictory labels, agree what good looks like.",
        ("gate-clean-examples", "data-preparation"),
    ),
    Gate.volume: _Line(
        "Stay on prompting at this volume; revisit fine-tuning once calls pass 5,000-10,000 a "
        "month.",
        ("gate-volume", "break-even"),
    ),
    Gate.latency_or_cost_pressure: _Line(
        "With no latency or cost pressure there is nothing for a fine-tune to win: keep the "
        "prompt and revisit if either changes.",
        ("gate-latency-cost",),
    ),
    Gate.retraining_owner: _Line(
        "Name the owner who retrains the model when the base model changes (2-4 times a year) "
        "and re-runs the eval each time.",
        ("gate-retraining-owner",),
    ),
    Gate.data_cleared: _Line(
        "Redact PII and get sign-off to train on the data, with its provenance written down.",
        ("data-preparation", "regulated-governance"),
    ),
}


def _next_steps(
    p: Profile,
    results: dict[Gate, GateResult],
    rung: Rung | None,
    problem: Problem | None,
    approach: Approach,
    justified: bool,
    prices: Prices,
) -> list[_Line]:
    gates = {g: r.status for g, r in results.items()}
    out: list[_Line] = []
    size, base, target = p.eval_set_size, p.baseline_score, p.target_score
    if size is None and base is not None:
        out.append(
            _Line(
                f"Write down the eval behind the {pct(base)} score (how many items, drawn from "
                "which real inputs) so later rungs are measured on the same set.",
                ("eval-set",),
            )
        )
    elif not size:
        out.append(
            _Line(
                "Build a 100-item eval set from real inputs with agreed answers, and score "
                "today's prompt on it.",
                ("eval-set",),
            )
        )
    elif base is None or target is None:
        out.append(
            _Line(
                f"Score today's best prompt on your {count(size)}-item eval and agree the target "
                "score it must reach.",
                ("eval-set",),
            )
        )
    if rung is None and _passes(base, target) and not justified:
        assert base is not None and target is not None
        out.append(
            _Line(
                f"Ship the current prompt: it reaches {pct(base)} against the {pct(target)} "
                "target; keep running the eval to catch drift.",
                ("escalation-ladder", "measure-prompting"),
            )
        )
    if approach == Approach.hybrid:
        out.append(
            _Line(
                "Keep the changing facts in RAG and fine-tune only the stable core of the task.",
                ("hybrid-layering", "mistake-finetune-for-knowledge"),
            )
        )
    if rung is not None:
        out.append(_rung_step(p, rung, problem))
    if justified:
        owner = (p.retraining_owner or "").strip()
        who = f"Agree with {owner}" if owner else "Agree"
        out.append(
            _Line(
                f"{who} a retraining plan: about {prices.retraining.per_year} retrains a year, "
                "each checked against the eval before it ships.",
                ("gate-retraining-owner", "cost-stack"),
            )
        )
        out.append(
            _Line(
                "Track accuracy and drift on live traffic with alert thresholds after the switch.",
                ("measure-fine-tuned",),
            )
        )
        return out
    # Not justified: name the gates to fix when the ladder is done (or the prompt passes), or
    # when an exception is only blocked by gates it does not relax.
    fix: list[Gate] = []
    if rung is None and not _passes(base, target):
        fix = [g for g in Gate if gates[g] == FAIL]
    for exc in Exception_:
        if exception_applies(exc, p, gates):
            fix += [g for g in blocking_gates(exc, gates) if gates[g] == FAIL and g not in fix]
    out.extend(GATE_FIX[g] for g in fix)
    if rung is None and not _passes(base, target) and any(s == UNKNOWN for s in gates.values()):
        out.append(
            _Line(
                "Answer the open questions below so the remaining fine-tuning gates can be judged.",
                ("fine-tuning-conditions",),
            )
        )
    return out


# --- the policy ---------------------------------------------------------------------------


def assess(profile: Profile, prices: Prices) -> Assessment:
    """The whole assessment of one profile. Pure: same inputs, same output."""
    cites = _Cites()
    results = evaluate_gates(profile)
    gates = {gate: result.status for gate, result in results.items()}
    exception = choose_exception(profile, gates)
    justified = all(s == PASS for s in gates.values()) or exception is not None
    needs_knowledge = knowledge_needed(profile)
    approach = choose_approach(justified, needs_knowledge)
    rung, problem = choose_next_rung(profile, approach)

    cites.add(*APPROACH_CARDS[approach])
    if exception is not None:
        cites.add(EXCEPTION_CARD[exception])
    if rung is not None:
        cites.add(RUNG_CARD[rung])
    for result in results.values():
        cites.add(*result.citations)

    cost, missing = cost_delta(profile, prices)
    questions = [
        _q_eval_ceiling(profile),
        _q_ladder_tried(profile),
        _q_clean_examples(profile, results[Gate.enough_clean_data]),
        _q_retraining(profile, prices),
        _q_cost(profile, prices, cost, missing),
    ]
    for q in questions:
        cites.add(*q.citations)

    risks = _risks(profile, gates, justified, exception, prices)
    steps = _next_steps(profile, results, rung, problem, approach, justified, prices)
    for line in (*risks, *steps):
        cites.add(*line.cards)

    return Assessment(
        approach=approach,
        next_rung=rung,
        fine_tuning_justified=justified,
        exception=exception,
        knowledge_needed=needs_knowledge,
        gates=gates,
        gate_reasons=results,
        escalation_questions=questions,
        cost=cost,
        cost_missing=missing,
        risks=[line.text for line in risks],
        open_questions=open_questions(profile),
        next_steps=[line.text for line in steps],
        citations=cites.ids,
    )
