"""The decision explained for this team: risks, open questions and next steps, and
:func:`explain`, which puts the decision and its explanation together as an Assessment.

Pure, like the decision (graph/policy.py): nothing here changes an outcome. Every line
carries the ids of the cards behind it (``risk_citations``/``step_citations`` line up
with ``risks``/``next_steps``). Only what differs from team to team is said: a line that
would read the same for everyone belongs in the cards, not in a memo.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.assessment import Approach, Assessment, Exception_, Gate, GateStatus
from graph.cost import Prices, cost_delta
from graph.labels import (
    ERROR_COST,
    EXCEPTION,
    GATE_FACT,
    OPEN_QUESTION,
    article,
    capital,
    count,
    join,
    pct,
)
from graph.policy import (
    MIN_VOLUME,
    STRONG_DATASET,
    Decision,
    blocking_gates,
    exception_applies,
    prompt_passes,
)
from graph.profile import Deployment, ErrorCost, KnowledgeChanges, Problem, Profile, Rung, TaskType
from graph.reasons import (
    APPROACH_CARDS,
    EXCEPTION_CARD,
    PROBLEM_CARD,
    RUNG_CARD,
    calls,
    five_answers,
    gate_reasons,
)

PASS, FAIL, UNKNOWN = GateStatus.pass_, GateStatus.fail, GateStatus.unknown
SMALL_EVAL = 100  # 003's brand-voice eval and the eval-set card's starting size


@dataclass(frozen=True)
class Line:
    """One sentence and the cards it rests on."""

    text: str
    cards: tuple[str, ...] = ()


# --- risks --------------------------------------------------------------------------------


def risks(p: Profile, d: Decision, prices: Prices) -> list[Line]:
    """What could go wrong for this team, from its own facts."""
    out: list[Line] = []
    if d.exception is not None:
        out.append(
            Line(
                f"The fine-tune rests on an exception ({EXCEPTION[d.exception]}), not on every "
                "gate passing: measure it against a prompt baseline on the same eval before "
                "switching.",
                (EXCEPTION_CARD[d.exception], "mistake-no-baseline"),
            )
        )
    v = p.monthly_volume
    if d.fine_tuning_justified and v is not None and MIN_VOLUME <= v < 2 * MIN_VOLUME:
        out.append(
            Line(
                f"{calls(v)} is borderline: the practitioner essay puts break-even at "
                "5,000–10,000 a month, so the saving may not cover retraining.",
                ("break-even", "gate-volume"),
            )
        )
    n = p.labeled_examples
    if d.fine_tuning_justified and n is not None and n < STRONG_DATASET:
        out.append(
            Line(
                f"{count(n)} examples clear the 200 floor but not the 1,000+ the handbook calls "
                "better (other sources ask for more); expect gains from collecting more.",
                ("fine-tuning-example-counts",),
            )
        )
    if p.labels_clean is False:
        out.append(
            Line(
                "The labels are not clean: a model trained on them copies the noise, and an eval "
                "drawn from the same data will hide it until real traffic arrives.",
                ("mistake-noisy-data",),
            )
        )
    if p.regulated and p.data_cleared is not True:
        state = "is not cleared" if p.data_cleared is False else "is not known to be cleared"
        out.append(
            Line(
                f"The work is regulated and its data {state} for training: none of it may reach "
                "a model's weights until it is approved and audited like production data.",
                ("regulated-governance", "data-preparation"),
            )
        )
    if p.error_cost in (ErrorCost.high, ErrorCost.critical) and p.human_review is False:
        out.append(
            Line(
                f"{capital(ERROR_COST[p.error_cost])} and nobody reviews outputs: whatever the "
                "approach, add guardrails, monitoring with alert thresholds and an escalation "
                "path.",
                ("decision-checklist", "measure-fine-tuned"),
            )
        )
    owner = p.retraining_owner
    if d.fine_tuning_justified and owner is not None and not owner.strip():  # an exception
        out.append(
            Line(
                "Nobody owns retraining: a fine-tune would go stale at the next base-model "
                f"upgrade (plan on {prices.retraining.per_year} a year).",
                ("gate-retraining-owner", "mistake-one-time-investment"),
            )
        )
    if d.fine_tuning_justified and p.knowledge_changes == KnowledgeChanges.often:
        out.append(
            Line(
                "The facts change monthly or faster: keep them in RAG, because weights trained "
                "on today's facts go stale.",
                ("mistake-finetune-for-knowledge",),
            )
        )
    size = p.eval_set_size
    if size is not None and 0 < size < SMALL_EVAL:
        out.append(
            Line(
                f"{capital(article(count(size)))}-item eval is small: a gap of a few points may "
                "be noise, so grow it toward 100+ real items.",
                ("eval-set",),
            )
        )
    if p.regulated and p.deployment == Deployment.hosted_api:
        out.append(
            Line(
                "Regulated data goes to a hosted API on every call: confirm the provider's "
                "terms, or consider a private cloud or on-prem.",
                ("privacy-on-prem",),
            )
        )
    return out


# --- open questions -----------------------------------------------------------------------


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


# --- next steps ---------------------------------------------------------------------------


def _measure(p: Profile) -> str:
    return "measure it on the eval" if p.eval_set_size else "score it on the new eval"


def rung_step(p: Profile, rung: Rung, problem: Problem | None) -> Line:
    """What climbing ``rung`` means for this team, in one instruction."""
    measure, card = _measure(p), RUNG_CARD[rung]
    if rung == Rung.fine_tuning:
        n = f"the {count(p.labeled_examples)}" if p.labeled_examples else "your"
        return Line(
            f"Fine-tune a small model on {n} clean examples, holding some back, and compare it "
            "with the best prompt on the same eval before switching traffic.",
            (card, "mistake-no-baseline"),
        )
    if problem is not None and problem in FIXES:
        text, extra = FIXES[problem]
        return Line(text.format(measure=measure), (PROBLEM_CARD[problem], card, *extra))
    if rung == Rung.few_shot and p.brand_voice:
        return Line(
            "Add 5–10 few-shot examples of the voice, picked from your best real outputs, plus "
            f"a short list of tone rules; {measure}.",
            (card, "brand-voice-example"),
        )
    if rung == Rung.rag:
        grounding = (
            " and add a grounding instruction: answer only from what was retrieved"
            if Problem.hallucination in (p.problems or [])
            else ""
        )
        symptoms = (Problem.missing_knowledge, Problem.hallucination)
        lead = tuple(PROBLEM_CARD[s] for s in symptoms if s in (p.problems or []))
        return Line(
            "Put RAG over the documents that hold the facts the model lacks (the policies, "
            f"product docs or records it should answer from){grounding}; {measure}.",
            (*lead, card),
        )
    return Line(STEPS[rung].format(measure=measure), (card,))


# A problem's own remedy: the instruction, and cards beyond the problem's and the rung's.
FIXES: dict[Problem, tuple[str, tuple[str, ...]]] = {
    Problem.wrong_format: (
        "Force the output into a JSON schema (structured output) instead of training the "
        "format in; {measure}.",
        (),
    ),
    Problem.off_voice: (
        "Add 5–10 few-shot examples of the voice, picked from your best real outputs, plus a "
        "short list of tone rules; {measure}.",
        ("brand-voice-example",),
    ),
    Problem.refuses_harmless: (
        "Rewrite the system prompt to spell out what is in scope so harmless requests are not "
        "refused; {measure}.",
        (),
    ),
    Problem.too_slow: (
        "Try a smaller, faster model with a tighter system prompt before any fine-tune; {measure}.",
        (),
    ),
    Problem.too_expensive: (
        "Cut cost first with prompt caching, batching and prompt compression, then re-price "
        "the calls.",
        ("prompt-cost-economics",),
    ),
}
STEPS: dict[Rung, str] = {
    Rung.system_prompt: "Write a clear system prompt: the role, the instructions, explicit rules "
    "and the exact output format; {measure}.",
    Rung.few_shot: "Add 3–10 few-shot input/output pairs covering the common cases and the "
    "tricky ones; {measure}.",
    Rung.structured_output: "Make the model return JSON that matches a schema; {measure}.",
    Rung.chain_of_thought: "Ask the model to reason step by step before it answers; {measure}.",
    Rung.decomposition: "Split the task across several smaller prompts, one decision each; "
    "{measure}.",
    Rung.bigger_model: "Try the next bigger model with the same prompt; {measure}.",
}

GATE_FIX: dict[Gate, Line] = {
    Gate.narrow_and_stable: Line(
        "Keep prompting until the task's inputs, outputs and definition of correct hold steady "
        "for 3–6 months; fine-tune only the stable core.",
        ("gate-narrow-stable", "hybrid-pilot-then-finetune"),
    ),
    Gate.prompting_exhausted: Line(
        "Finish the ladder and record each rung's score on the eval, so the ceiling is shown "
        "in numbers.",
        ("gate-prompting-exhausted",),
    ),
    Gate.enough_clean_data: Line(
        "Collect and clean at least 200 labelled examples from real traffic (1,000+ is better): "
        "deduplicate, resolve contradictory labels, agree what good looks like.",
        ("gate-clean-examples", "data-preparation"),
    ),
    Gate.volume: Line(
        "Stay on prompting at this volume; revisit fine-tuning once calls pass 5,000–10,000 a "
        "month.",
        ("gate-volume", "break-even"),
    ),
    Gate.latency_or_cost_pressure: Line(
        "With no latency or cost pressure there is nothing for a fine-tune to win: keep the "
        "prompt and revisit if either changes.",
        ("gate-latency-cost",),
    ),
    Gate.retraining_owner: Line(
        "Name the owner who retrains the model when the base model changes (2–4 times a year) "
        "and re-runs the eval each time.",
        ("gate-retraining-owner",),
    ),
    Gate.data_cleared: Line(
        "Get sign-off to train on the data, with its provenance written down.",
        ("data-preparation",),
    ),
}


def next_steps(p: Profile, d: Decision, prices: Prices) -> list[Line]:
    """What the team does next, most urgent first."""
    out: list[Line] = []
    size, base, target = p.eval_set_size, p.baseline_score, p.target_score
    if size is None and base is not None:
        out.append(
            Line(
                f"Write down the eval behind the {pct(base)} score (how many items, drawn from "
                "which real inputs) so later rungs are measured on the same set.",
                ("eval-set",),
            )
        )
    elif not size:
        out.append(
            Line(
                "Build a 100-item eval set from real inputs with agreed answers, and score "
                "today's prompt on it.",
                ("eval-set",),
            )
        )
    elif base is None or target is None:
        out.append(
            Line(
                f"Score today's best prompt on your {count(size)}-item eval and agree the target "
                "score it must reach.",
                ("eval-set",),
            )
        )
    passes = prompt_passes(p)
    if d.next_rung is None and passes and not d.fine_tuning_justified:
        assert base is not None and target is not None
        out.append(
            Line(
                f"Ship the current prompt: it reaches {pct(base)} against the {pct(target)} "
                "target; keep running the eval to catch drift.",
                ("escalation-ladder", "measure-prompting"),
            )
        )
    if d.approach == Approach.hybrid:
        out.append(
            Line(
                "Keep the changing facts in RAG and fine-tune only the stable core of the task.",
                ("hybrid-layering", "mistake-finetune-for-knowledge"),
            )
        )
    if d.next_rung is not None:
        out.append(rung_step(p, d.next_rung, d.remedies))
    if d.fine_tuning_justified:
        owner = (p.retraining_owner or "").strip()
        with_ = f" with {owner}" if owner else ""
        out.append(
            Line(
                f"Agree a retraining plan{with_}: about {prices.retraining.per_year} retrains a "
                "year, each checked against the eval before it ships.",
                ("gate-retraining-owner", "cost-stack"),
            )
        )
        return out
    if d.unknowns_in_the_way:
        facts = join([GATE_FACT[g] for g in d.unknowns_in_the_way])
        out.append(
            Line(
                f"Confirm {facts}: nothing else stands between you and a justified fine-tune.",
                ("fine-tuning-conditions",),
            )
        )
    # Name the gates to fix when the ladder is done (or the prompt passes), or when an
    # exception is only blocked by gates it does not relax.
    fix: list[Gate] = []
    if d.next_rung is None and not passes:
        fix = [g for g in Gate if d.gates[g] == FAIL]
    for exc in Exception_:
        if exception_applies(exc, p, d.gates):
            blocked = blocking_gates(exc, d.gates)
            fix += [g for g in blocked if d.gates[g] == FAIL and g not in fix]
    out.extend(GATE_FIX[g] for g in fix)
    return out


# --- the assessment -----------------------------------------------------------------------


def explain(p: Profile, d: Decision, prices: Prices) -> Assessment:
    """The decision with its reasons, answers, risks, open questions and next steps."""
    reasons = gate_reasons(p, d.gates)
    cost, missing = cost_delta(p, prices)
    questions = five_answers(p, reasons, prices, cost, missing)
    risk_lines = risks(p, d, prices)
    steps = next_steps(p, d, prices)

    cited = list(APPROACH_CARDS[d.approach])
    if d.exception is not None:
        cited.append(EXCEPTION_CARD[d.exception])
    if d.next_rung is not None:
        cited.append(RUNG_CARD[d.next_rung])
    for result in reasons.values():
        cited += result.citations
    for q in questions:
        cited += q.citations
    for line in (*risk_lines, *steps):
        cited += line.cards

    return Assessment(
        approach=d.approach,
        next_rung=d.next_rung,
        fine_tuning_justified=d.fine_tuning_justified,
        exception=d.exception,
        knowledge_needed=d.knowledge_needed,
        gates=d.gates,
        gate_reasons=reasons,
        escalation_questions=questions,
        cost=cost,
        cost_missing=missing,
        risks=[line.text for line in risk_lines],
        open_questions=open_questions(p),
        next_steps=[line.text for line in steps],
        citations=list(dict.fromkeys(cited)),
        unknowns_in_the_way=d.unknowns_in_the_way,
        risk_citations=[list(line.cards) for line in risk_lines],
        step_citations=[list(line.cards) for line in steps],
    )
