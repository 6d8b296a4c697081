"""Why the decision came out as it did: a reason for each gate and the five escalation
answers (guidance 003, "how to apply it"), each citing the cards behind it.

Pure, like the decision (graph/policy.py) it explains: it never changes an outcome, it only
words it. The texts are plain sentences (no markdown); the memo escapes them as a whole.
"""

from __future__ import annotations

from graph.assessment import (
    Approach,
    CostDelta,
    EscalationAnswer,
    Exception_,
    Gate,
    GateResult,
    GateStatus,
    QuestionId,
    Status,
)
from graph.cost import COST_FIELDS, Prices, usd
from graph.labels import PROBLEM, RUNG, TASK, article, capital, count, join, months, pct
from graph.policy import (
    MIN_EXAMPLES,
    MIN_VOLUME,
    NOT_NARROW,
    STRONG_DATASET,
    prompt_passes,
    required_rungs,
)
from graph.profile import Problem, Profile, Rung

PASS, FAIL, UNKNOWN = GateStatus.pass_, GateStatus.fail, GateStatus.unknown

EXCEPTION_CARD: dict[Exception_, str] = {
    Exception_.self_hosted_small_model: "exception-edge-device",
    Exception_.extreme_volume: "exception-extreme-volume",
    Exception_.strong_dataset: "exception-strong-dataset",
}
RUNG_CARD: dict[Rung, str] = {rung: "rung-" + rung.value.replace("_", "-") for rung in Rung}
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

# How the prompting_exhausted gate names its unknown inputs.
OPEN_LABEL: dict[str, str] = {
    "eval_set_size": "whether there is an eval set",
    "baseline_score": "prompting's best score on it",
    "target_score": "the target score",
    "techniques_tried": "which rungs have been tried",
}


def rungs(items: list[Rung] | tuple[Rung, ...]) -> str:
    return join([RUNG[r] for r in items])


def examples(n: int) -> str:
    """'1 labelled example', '3,000 labelled examples'."""
    return f"{count(n)} labelled example" + ("" if n == 1 else "s")


def calls(n: int) -> str:
    """'1 call a month', '2,000,000 calls a month'."""
    return f"{count(n)} call{'' if n == 1 else 's'} a month"


def _gate(status: GateStatus, reason: str, *cards: str) -> GateResult:
    return GateResult(status=status, reason=reason, citations=list(cards))


# --- why each gate came out as it did ----------------------------------------------------


def _narrow_and_stable(p: Profile, status: GateStatus) -> GateResult:
    card = "gate-narrow-stable"
    if status == FAIL and p.task_stable is False:
        reason = (
            "The task is still changing, and fine-tuning a target that moves within 3–6 months "
            "wastes the training."
        )
        return _gate(FAIL, reason, card)
    if status == FAIL:
        assert p.task_type in NOT_NARROW
        reason = (
            f"{capital(article(TASK[p.task_type]))} task is open-ended rather than narrow, so "
            "it belongs on prompting (with RAG where facts are needed)."
        )
        return _gate(FAIL, reason, card, "hybrid-layering")
    if status == PASS:
        assert p.task_type is not None
        reason = (
            f"{capital(article(TASK[p.task_type]))} task that holds for the next 3–6 months is "
            "narrow and stable."
        )
        return _gate(PASS, reason, card)
    if p.task_stable is None:
        reason = "Nobody has said whether the task will stay the same for the next 3–6 months."
    elif p.task_type is None:
        reason = "The task type is not known, so nobody can confirm the task is narrow."
    else:
        reason = "A task of kind 'other' cannot be confirmed as narrow; say what kind it is."
    return _gate(UNKNOWN, reason, card)


def _prompting_exhausted(p: Profile, status: GateStatus) -> GateResult:
    cards = ("gate-prompting-exhausted", "escalation-ladder")
    size, base, target = p.eval_set_size, p.baseline_score, p.target_score
    need = required_rungs(p)
    if size == 0:
        reason = "There is no eval set, so nothing shows prompting has hit a ceiling."
        return _gate(FAIL, reason, *cards, "eval-set")
    if prompt_passes(p):
        assert base is not None and target is not None
        reason = (
            f"Prompting already reaches {pct(base)} against {article(pct(target))} target, so "
            "there is no ceiling to break through."
        )
        return _gate(FAIL, reason, *cards)
    if status == FAIL:
        untried = [r for r in need if r not in (p.techniques_tried or [])]
        verb = "is" if len(untried) == 1 else "are"
        reason = f"{capital(rungs(untried))} {verb} still untried, so the ladder is not exhausted."
        return _gate(FAIL, reason, *cards)
    if status == PASS:
        assert size is not None and base is not None and target is not None
        reason = (
            f"Your {count(size)}-item eval puts prompting at {pct(base)} against "
            f"{article(pct(target))} target after {rungs(need)}."
        )
        return _gate(PASS, reason, *cards, "eval-set")
    missing = [label for name, label in OPEN_LABEL.items() if getattr(p, name) is None]
    return _gate(UNKNOWN, f"Not known yet: {join(missing)}.", *cards)


def _enough_clean_data(p: Profile, status: GateStatus) -> GateResult:
    n, card = p.labeled_examples, "gate-clean-examples"
    if status == FAIL and n is not None and n < MIN_EXAMPLES:
        reason = (
            f"{capital(examples(n))} is below the 200 floor, where a model memorises instead of "
            "generalising."
        )
        return _gate(FAIL, reason, card, "mistake-too-few-examples")
    if status == FAIL:
        reason = "The labels are not clean yet, and a model trained on them learns the noise."
        return _gate(FAIL, reason, card, "mistake-noisy-data")
    if status == PASS:
        assert n is not None
        better = " (1,000+ would be better)" if n < STRONG_DATASET else ""
        return _gate(PASS, f"{count(n)} clean labelled examples clear the 200 floor{better}.", card)
    if n is None:
        return _gate(UNKNOWN, "Nobody has counted the labelled examples yet.", card)
    reason = f"There are {examples(n)}, but nobody has said they are clean."
    return _gate(UNKNOWN, reason, card)


def _volume(p: Profile, status: GateStatus) -> GateResult:
    v = p.monthly_volume
    if v is None:
        return _gate(UNKNOWN, "The monthly call volume is not known yet.", "gate-volume")
    if status == FAIL:
        reason = f"{calls(v)} is too few for a cheaper model to pay back a fine-tune."
        return _gate(FAIL, reason, "gate-volume", "break-even")
    if v < 2 * MIN_VOLUME:
        reason = (
            f"{calls(v)} is enough, but borderline: the practitioner essay puts break-even at "
            "5,000–10,000 a month."
        )
        return _gate(PASS, reason, "gate-volume", "break-even")
    return _gate(PASS, f"{calls(v)} is enough for a per-call saving to matter.", "gate-volume")


def _latency_or_cost(p: Profile, status: GateStatus) -> GateResult:
    card = "gate-latency-cost"
    if status == PASS:
        said = []
        if p.latency_critical:
            said.append("latency is critical")
        if p.cost_pressure:
            said.append("spend is under pressure")
        felt = [x for x in p.problems or [] if x in (Problem.too_slow, Problem.too_expensive)]
        if felt and not said:
            said.append(f"you report the model as {join([PROBLEM[x] for x in felt])}")
        reason = f"{capital(join(said))}, so a smaller fine-tuned model has something to win."
        return _gate(PASS, reason, card)
    if status == FAIL:
        reason = (
            "Neither latency nor cost is under pressure, so a fine-tune buys nothing a prompt "
            "does not."
        )
        return _gate(FAIL, reason, card)
    return _gate(UNKNOWN, "Not known yet whether latency or cost is under pressure.", card)


def _retraining_owner(p: Profile, status: GateStatus) -> GateResult:
    card = "gate-retraining-owner"
    if status == UNKNOWN:
        reason = "Nobody has said who retrains the model when the base model changes."
        return _gate(UNKNOWN, reason, card)
    if status == FAIL:
        reason = "Nobody owns retraining, yet every base-model upgrade means training again."
        return _gate(FAIL, reason, card, "mistake-one-time-investment")
    owner = capital((p.retraining_owner or "").strip())
    return _gate(PASS, f"{owner} owns retraining when the base model changes.", card)


def _data_cleared(p: Profile, status: GateStatus) -> GateResult:
    if status == PASS:
        reason = "Cleared for training: sensitive fields redacted, provenance known."
        return _gate(PASS, reason, "data-preparation")
    if status == FAIL:
        cards = (
            ("data-preparation", "regulated-governance") if p.regulated else ("data-preparation",)
        )
        reason = "The data is not cleared for training yet, and sign-off comes before any training."
        return _gate(FAIL, reason, *cards)
    reason = "Nobody has said whether the data may be used for training."
    return _gate(UNKNOWN, reason, "data-preparation")


REASONS = {
    Gate.narrow_and_stable: _narrow_and_stable,
    Gate.prompting_exhausted: _prompting_exhausted,
    Gate.enough_clean_data: _enough_clean_data,
    Gate.volume: _volume,
    Gate.latency_or_cost_pressure: _latency_or_cost,
    Gate.retraining_owner: _retraining_owner,
    Gate.data_cleared: _data_cleared,
}


def gate_reasons(p: Profile, gates: dict[Gate, GateStatus]) -> dict[Gate, GateResult]:
    """Every gate, in the memo's order, with its status and a one-sentence reason."""
    return {gate: REASONS[gate](p, gates[gate]) for gate in Gate}


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
                f"{on} prompting at {pct(base)} against {article(pct(target))} target.",
                *cards,
            )
        return _answer(
            qid,
            Status.unknown,
            f"Prompting reportedly scores {pct(base)} against {article(pct(target))} target, but "
            "nobody has said what eval that comes from.",
            *cards,
        )
    if size is None:
        text = "Nobody has said whether an eval set exists, so no numbers show a ceiling yet."
    elif base is None and target is None:
        eval_ = f"{article(count(size))}-item eval"
        text = f"You have {eval_}, but no prompting score or target on it yet."
    elif target is not None:
        text = (
            f"You have {article(count(size))}-item eval and {article(pct(target))} target, but "
            "no prompting score on it yet."
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
        text = f"You have {examples(n)}, short of the 200 floor{dirty}."
    elif clean is False:
        text = f"You have {examples(n)}, but their labels are not clean yet."
    elif clean is None:
        text = f"You have {examples(n)}, but nobody has checked they are clean."
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
        f"At {calls(volume)} the prompted model costs "
        f"{usd(cost.prompted.per_call_usd)} a call ({usd(cost.prompted.per_month_usd)} a month) "
        f"against {usd(cost.fine_tuned.per_call_usd)} ({usd(cost.fine_tuned.per_month_usd)}) "
        "fine-tuned"
    )
    upfront = (
        f"{usd(cost.one_off_usd)} up front and {usd(cost.retraining_per_year_usd)} a year of "
        "retraining"
    )
    payback = cost.break_even_months
    if payback is None:
        return _answer(
            qid,
            Status.no,
            f"{head}: saving {usd(cost.saving_per_month_usd)} a month never pays back {upfront}.",
            *cards,
        )
    horizon = prices.payback_horizon_months
    status = Status.yes if payback <= horizon else Status.no
    verdict = "" if status == Status.yes else f", beyond the {horizon:g}-month horizon"
    return _answer(
        qid,
        status,
        f"{head}: saving {usd(cost.saving_per_month_usd)} a month repays {upfront} in "
        f"{months(payback)}{verdict}.",
        *cards,
    )


def five_answers(
    p: Profile,
    reasons: dict[Gate, GateResult],
    prices: Prices,
    cost: CostDelta | None,
    missing: list[str],
) -> list[EscalationAnswer]:
    """The five escalation questions answered from the profile, in DESIGN.md's order."""
    return [
        _q_eval_ceiling(p),
        _q_ladder_tried(p),
        _q_clean_examples(p, reasons[Gate.enough_clean_data]),
        _q_retraining(p, prices),
        _q_cost(p, prices, cost, missing),
    ]
