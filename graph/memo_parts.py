"""The memo's body, section by section, phrased for this team only (graph/memo.py puts it
together). A line that would read the same for every team is left to the cards; what stays
rests on the team's own facts, and any guidance it leans on is cited where it is said.

Everything returned here is markdown; values from people and models are inert already.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph.assessment import Approach, Assessment, CostDelta, Gate, GateStatus
from graph.cost import usd
from graph.inert import inert
from graph.labels import (
    DEPLOYMENT,
    ERROR_COST,
    EXCEPTION,
    FIELD,
    GATE_FAILED,
    KNOWLEDGE,
    OPEN_QUESTION,
    PROBLEM,
    TASK,
    article,
    capital,
    count,
    join,
    months,
    pct,
    value_text,
)
from graph.policy import prompt_passes
from graph.profile import Deployment, KnowledgeChanges, Problem, Profile
from graph.questions import relevant_fields
from graph.reasons import EXCEPTION_CARD, calls, rungs

PASS, FAIL, UNKNOWN = GateStatus.pass_, GateStatus.fail, GateStatus.unknown
FIELD_OF_QUESTION = {text: name for name, text in OPEN_QUESTION.items()}


class Cites:
    """The cards cited in the memo's body, in order of first use; ``cite(*ids)`` is the
    inline mark "[a, b]" (or "" for none). Sources lists exactly ``ids``."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def __call__(self, *cards: str) -> str:
        fresh = list(dict.fromkeys(c for c in cards if c))
        for card in fresh:
            if card not in self.ids:
                self.ids.append(card)
        return f"[{', '.join(fresh)}]" if fresh else ""


def cited(text: str, cards: Sequence[str], cite: Cites) -> str:
    """An assessment sentence (escaped) with its cards."""
    return f"{inert(text)} {cite(*cards)}".rstrip()


def aligned(citations: Sequence[Sequence[str]], items: Sequence[str]) -> list[Sequence[str]]:
    """Per-item cards, or none for an assessment saved before they were recorded."""
    return list(citations) if len(citations) == len(items) else [()] * len(items)


# --- the reason, in one sentence ---------------------------------------------------------


def _why_fine_tune(p: Profile, a: Assessment, cite: Cites) -> str:
    exc = a.exception
    if exc is None:
        facts = []
        if p.baseline_score is not None and p.target_score is not None:
            facts.append(f"{pct(p.baseline_score)} against {article(pct(p.target_score))} target")
        if p.labeled_examples is not None:
            facts.append(f"{count(p.labeled_examples)} clean examples")
        if p.monthly_volume is not None:
            facts.append(calls(p.monthly_volume))
        detail = f" ({', '.join(facts)})" if facts else ""
        return f"every fine-tuning gate passes{detail} {cite('fine-tuning-conditions')}."
    card = cite(EXCEPTION_CARD[exc])
    if exc.value == "strong_dataset":
        lead = f"{count(p.labeled_examples or 0)} clean labelled examples are a strong dataset"
        return f"{lead}, so the rest of the ladder may be skipped; every other gate passes {card}."
    if exc.value == "extreme_volume":
        lead = f"at {calls(p.monthly_volume or 0)} a small tuned model is plainly cheaper"
        return f"{lead}, so the ladder and the pressure gate may be skipped {card}."
    where = DEPLOYMENT.get(p.deployment or "", "on your own hardware")
    return (
        f"the model must run {where}, where {EXCEPTION[exc]} is the way; the task is narrow "
        f"and stable and the data clean and cleared {card}."
    )


def _lacking(p: Profile) -> str:
    """What retrieval brings this team: "facts the model lacks and grounding against ..."."""
    problems = p.problems or []
    lacking = ["facts the model lacks"] if Problem.missing_knowledge in problems else []
    if Problem.hallucination in problems:
        lacking.append("grounding against made-up facts")
    if p.knowledge_changes == KnowledgeChanges.often:
        lacking.append("facts that change monthly or faster")
    return join(lacking)


def reason(p: Profile, a: Assessment, cite: Cites) -> str:
    """Why this approach, in one sentence (lower-case start, for "because ...")."""
    if a.approach == Approach.fine_tuning:
        return _why_fine_tune(p, a, cite)
    if a.approach == Approach.hybrid:
        core = _why_fine_tune(p, a, cite).removesuffix(".")
        card = cite("hybrid-layering")
        return f"{core}; the task also needs {_lacking(p)}, which retrieval supplies {card}."
    fails = [GATE_FAILED[g] for g in Gate if a.gates.get(g) == FAIL]
    if fails:
        not_yet = f"fine-tuning is not justified yet because {join(fails)}"
    else:
        not_yet = "fine-tuning is not justified until the open facts are confirmed"
    if a.approach == Approach.rag:
        return (
            f"the task needs {_lacking(p)}, and retrieval supplies facts without training "
            f"anything {cite('rag-vs-fine-tuning')}."
        )
    if prompt_passes(p):
        return (
            f"the current prompt already reaches {pct(p.baseline_score or 0)} against its "
            f"{pct(p.target_score or 0)} target, so there is nothing to climb for "
            f"{cite('escalation-ladder')}."
        )
    return (
        f"nothing calls for facts beyond the input, and {not_yet}, so the answer for now is a "
        f"better prompt {cite('prompting-first')}."
    )


# --- context and drivers -----------------------------------------------------------------


def context(p: Profile) -> str:
    """What the team does today, from its own answers."""
    out: list[str] = []
    if p.task_type is not None:
        stable = ", and it should stay the same for the next 3–6 months" if p.task_stable else ""
        out.append(f"It is {article(TASK[p.task_type])} task{stable}.")
    if p.task_stable is False:
        out.append("The task is still changing: its inputs, outputs or what counts as right.")
    if p.problems:
        out.append(f"What goes wrong today: {value_text('problems', p.problems)}.")
    elif p.problems == []:
        out.append("Nothing is built yet, or nobody has a complaint about it.")
    size, base, target = p.eval_set_size, p.baseline_score, p.target_score
    if size == 0:
        out.append("There is no eval set yet, so no score shows where prompting stands.")
    elif size and base is not None and target is not None:
        out.append(
            f"On {article(count(size))}-item eval, the best prompt scores {pct(base)} against "
            f"{article(pct(target))} target."
        )
    elif size:
        out.append(f"There is {article(count(size))}-item eval set.")
    if p.techniques_tried is not None:
        tried = rungs(p.techniques_tried) if p.techniques_tried else "nothing yet"
        out.append(f"Tried so far: {tried}.")
    return " ".join(out) or "Little is known yet beyond the use case."


_RUNS_ON = {
    Deployment.hosted_api: "on a hosted API",
    Deployment.private_cloud: "in a private cloud",
    Deployment.on_prem: "on premises",
    Deployment.edge: "on the device (edge)",
}


def drivers(p: Profile) -> list[str]:
    """The facts that weigh on the choice, in the team's numbers."""
    out: list[str] = []
    if p.monthly_volume is not None:
        out.append(f"Volume: {calls(p.monthly_volume)}")
    if p.error_cost is not None:
        out.append(capital(ERROR_COST[p.error_cost]))
    if p.knowledge_changes == KnowledgeChanges.none:
        out.append("Needs no facts beyond the input")
    elif p.knowledge_changes is not None:
        out.append(f"Needs facts beyond the input, which change {KNOWLEDGE[p.knowledge_changes]}")
    if p.deployment is not None:
        out.append(f"Must run {_RUNS_ON[p.deployment]}")
    pressure = [x for x, on in (("latency", p.latency_critical), ("cost", p.cost_pressure)) if on]
    felt = [PROBLEM[x] for x in p.problems or [] if x in (Problem.too_slow, Problem.too_expensive)]
    if pressure:
        out.append(f"{capital(join(pressure))} under pressure")
    elif felt:
        out.append(f"The model is {join(felt)} today")
    if p.regulated:
        out.append("Regulated domain")
    if p.human_review is not None:
        out.append(
            ("A person" if p.human_review else "Nobody") + " reviews outputs before they matter"
        )
    if p.brand_voice:
        out.append("Output must hold a fixed brand voice")
    return out


# --- the options, for this team ----------------------------------------------------------


def options(p: Profile, a: Assessment, cite: Cites) -> list[tuple[Approach, list[str], list[str]]]:
    """(option, pros, cons) for the four options; only what this team's facts say."""
    volume, problems, lacking = p.monthly_volume, set(p.problems or []), a.knowledge_needed
    got: dict[tuple[Approach, bool], list[str]] = {}

    def say(approach: Approach, good: bool, text: str, *cards: str) -> None:
        got.setdefault((approach, good), []).append(f"{text} {cite(*cards)}".rstrip())

    pe, rag, ft, hy = (
        Approach.prompt_engineering,
        Approach.rag,
        Approach.fine_tuning,
        Approach.hybrid,
    )
    base, target = p.baseline_score, p.target_score
    if base is not None and target is not None:
        scores = f"{pct(base)} against {pct(target)}"
        if base >= target:
            say(pe, True, f"Already meets its target ({scores})")
        else:
            say(pe, False, f"The best prompt so far scores {scores}")
    if p.task_stable is False:
        say(pe, True, "A prompt changes as fast as your task does", "gate-narrow-stable")
    if volume is not None and volume < 10_000:
        say(pe, True, f"At {calls(volume)}, per-call price barely matters", "gate-volume")
    fixable = [x for x in ("wrong_format", "off_voice", "refuses_harmless") if x in problems]
    if fixable:
        cards = [f"lookalike-{x.replace('_', '-')}" for x in fixable]
        say(pe, True, f"Prompt-level fixes exist for {value_text('problems', fixable)}", *cards)
    if lacking:
        say(
            pe, False, "A prompt cannot supply facts the model lacks", "lookalike-missing-knowledge"
        )
    if p.error_cost is not None and p.error_cost.value in ("high", "critical"):
        say(pe, False, f"Prompts are brittle, and {ERROR_COST[p.error_cost]}", "prompt-brittleness")
    if volume is not None and volume >= 100_000 and (p.cost_pressure or p.latency_critical):
        text = f"A long prompt is paid for on all {calls(volume)}"
        say(pe, False, text, "prompt-cost-economics")

    if lacking:
        say(
            rag,
            True,
            "Brings the facts from your own documents into each call",
            "rag-vs-fine-tuning",
        )
        if Problem.hallucination in problems:
            text = "Grounds answers in retrieved text, the usual fix for made-up facts"
            say(rag, True, text, "lookalike-hallucination")
        if p.regulated or p.human_review:
            who = "your reviewers" if p.human_review else "auditors"
            say(rag, True, f"Answers can cite their passages, which {who} can check")
    else:
        text = "Nothing you reported needs facts beyond the input, so it fixes nothing"
        say(rag, False, text, "rung-rag")
    if p.latency_critical:
        say(rag, False, "A retrieval step adds latency to every call")

    if a.gates.get(Gate.narrow_and_stable) == PASS:
        say(ft, True, "Your task is narrow and stable", "gate-narrow-stable")
    if p.labeled_examples is not None and p.labeled_examples >= 200 and p.labels_clean:
        say(ft, True, f"You already have {count(p.labeled_examples)} clean labelled examples")
    if a.cost is not None and a.cost.saving_per_month_usd > 0:
        say(ft, True, f"Saves about {money(a.cost.saving_per_month_usd)} a month")
    if p.latency_critical or Problem.too_slow in problems:
        say(
            ft,
            True,
            "A smaller tuned model answers faster",
            "lookalike-too-slow",
        )
    if p.deployment in (Deployment.edge, Deployment.on_prem):
        say(ft, True, "A small tuned model can run on your own hardware", "exception-edge-device")
    fails = [GATE_FAILED[g] for g in Gate if a.gates.get(g) == FAIL]
    if fails and not a.fine_tuning_justified:
        say(ft, False, f"Not justified: {join(fails)}")
    elif not a.fine_tuning_justified:
        say(ft, False, "Not justified until the facts under Still open are confirmed")
    if lacking:
        say(
            ft,
            False,
            "Weights don't update when your facts change",
            "mistake-finetune-for-knowledge",
        )
    if a.cost is not None:
        payback = a.cost.break_even_months
        pays = "never pays back" if payback is None else f"pays back in {months(payback)}"
        say(ft, False, f"About {money(a.cost.one_off_usd)} up front; {pays}", "break-even")

    if lacking and a.fine_tuning_justified:
        say(
            hy,
            True,
            "A tuned core for the stable task, retrieval for the facts",
            "hybrid-layering",
        )
        say(hy, False, "Two systems to build and evaluate: a tuned model and an index")
    if not lacking:
        say(hy, False, "Nothing for its retrieval half to supply")
    if not a.fine_tuning_justified:
        say(hy, False, "Fine-tuning is not justified yet")
    return [(x, got.get((x, True), []), got.get((x, False), [])) for x in (pe, rag, ft, hy)]


# --- cost, open questions, validation -----------------------------------------------------


def cost_lines(
    cost: CostDelta | None, missing: Sequence[str], volume: int | None, cite: Cites
) -> list[str]:
    if cost is None:
        needed = join([FIELD.get(f, f) for f in missing])
        if not needed:
            return ["Not computed."]
        return [f"Not computed yet: it needs {needed}."]
    per_month = f"Per month ({count(volume)} calls)" if volume is not None else "Per month"
    payback = cost.break_even_months
    today, tuned = cost.prompted, cost.fine_tuned
    retrains = f"Retraining ({cost.retrains_per_year} a year)"
    return [
        f"| | {inert(today.model)} (today) | {inert(tuned.model)} |",
        "|---|---:|---:|",
        f"| Per call | {money(today.per_call_usd)} | {money(tuned.per_call_usd)} |",
        f"| {per_month} | {money(today.per_month_usd)} | {money(tuned.per_month_usd)} |",
        f"| One-off (training, data, eval) | — | {money(cost.one_off_usd)} |",
        f"| {retrains} | — | {money(cost.retraining_per_year_usd)} a year |",
        "",
        "Break-even: "
        + ("never, at this volume" if payback is None else f"after {months(payback)}")
        + f" {cite('break-even')}. Prices as of {inert(cost.prices_as_of)}, all assumptions "
        "(see the appendix).",
    ]


def cost_summary(cost: CostDelta) -> str:
    """Question five in a line: the saving, the outlay and when it pays back."""
    payback = cost.break_even_months
    when = "it never pays back" if payback is None else f"break-even after {months(payback)}"
    saving = money(cost.saving_per_month_usd)
    return f"Saves {saving} a month for {money(cost.one_off_usd)} up front: {when}"


def money(value: float) -> str:
    """Dollars, with the sign escaped so two amounts on a line never read as maths."""
    return usd(value).replace("$", "\\$")


def cost_notes(cost: CostDelta | None) -> list[str]:
    return list(cost.assumptions) if cost is not None else []


def open_questions(p: Profile, a: Assessment) -> tuple[list[str], list[str]]:
    """Unknown fields: those that could change the decision (asked again), then those the
    interview left out on purpose because no answer to them would."""
    relevant = relevant_fields(p)
    fields = [FIELD_OF_QUESTION.get(q, "") for q in a.open_questions]
    now = [f for f in fields if f and f in relevant]
    later = [f for f in fields if f and f not in relevant]
    return now, later


def field_of(question: str) -> str:
    return FIELD_OF_QUESTION.get(question, "")


def validation(p: Profile, a: Assessment, cite: Cites) -> list[str]:
    """How the team will know it worked, on its own eval and its own risks."""
    out: list[str] = []
    task = p.task_type.value if p.task_type is not None else None
    if task in ("classification", "extraction", "transformation"):
        metric = "precision, recall and F1 per class or field"
    elif task == "question_answering":
        metric = "answer correctness and grounding (is each answer backed by its sources?)"
    else:
        metric = "a written rubric, scored by people or by an LLM judge checked against people"
    size = p.eval_set_size
    where = f"the {count(size)}-item eval" if size else "a new eval of about 100 real inputs"
    ship = f"; ship at {pct(p.target_score)} or better" if p.target_score is not None else ""
    out.append(f"Score {metric} on {where}{ship} {cite('eval-set')}.")
    if a.approach in (Approach.fine_tuning, Approach.hybrid):
        owner = inert(p.retraining_owner.strip()) if p.retraining_owner else "the owner"
        cards = cite("measure-fine-tuned")
        out.append(
            f"After each of the 2–4 retrains a year, {owner} re-runs the eval against a fresh "
            f"prompt baseline {cards}."
        )
    if a.knowledge_needed:
        out.append(
            "Check that answers cite the right passages, and refresh the index as often as the "
            f"facts change {cite('rung-rag')}."
        )
    if p.latency_critical:
        out.append("Measure p95 latency at the expected volume.")
    if p.human_review:
        out.append("Track how often reviewers edit or reject outputs.")
    return out
