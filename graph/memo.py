"""The decision memo: markdown in the shape of a MADR decision record (DESIGN.md section 5).

Rendering is a pure function of the profile, the assessment and who said what; card titles
and their guidance documents come in through ``citations_lookup`` so this module needs no
I/O. Everything a reader sees is phrased for a person, not a parser.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from graph.assessment import (
    Approach,
    Assessment,
    CostDelta,
    Gate,
    GateStatus,
    Status,
)
from graph.policy import OPEN_QUESTION
from graph.profile import Profile, Provenance, Rung
from graph.questions import relevant_fields
from graph.turns import Citation
from knowledge import cards

APPROACH_NAMES: dict[str, str] = {
    Approach.prompt_engineering: "Prompt engineering",
    Approach.rag: "Retrieval (RAG)",
    Approach.fine_tuning: "Fine-tuning",
    Approach.hybrid: "Hybrid: a fine-tuned core with retrieval",
}

RUNG_NAMES: dict[str, str] = {
    Rung.system_prompt: "a better system prompt",
    Rung.few_shot: "few-shot examples",
    Rung.structured_output: "structured output",
    Rung.chain_of_thought: "step-by-step reasoning",
    Rung.decomposition: "splitting the task into steps",
    Rung.rag: "retrieval (RAG)",
    Rung.bigger_model: "a bigger model",
    Rung.fine_tuning: "fine-tuning",
}

RUNG_WHAT: dict[str, str] = {
    Rung.system_prompt: "state the role, the rules, what is out of scope and the exact output "
    "format in the system prompt",
    Rung.few_shot: "put a handful of real input/ideal-output pairs in the prompt",
    Rung.structured_output: "make the model fill a JSON schema instead of free text",
    Rung.chain_of_thought: "ask the model to reason step by step before it answers",
    Rung.decomposition: "split the task into smaller prompts, each checked on its own",
    Rung.rag: "retrieve the relevant documents at query time and put them in the prompt",
    Rung.bigger_model: "try the next model up before training anything",
    Rung.fine_tuning: "train a smaller model on your labelled examples and compare it with "
    "the best prompt on the same eval",
}

GATE_NAMES: dict[str, str] = {
    Gate.narrow_and_stable: "Narrow and stable task",
    Gate.prompting_exhausted: "Prompting exhausted, shown by an eval",
    Gate.enough_clean_data: "200+ clean labelled examples",
    Gate.volume: "Enough volume to matter",
    Gate.latency_or_cost_pressure: "Latency or cost pressure",
    Gate.retraining_owner: "Someone owns retraining",
    Gate.data_cleared: "Data cleared for training",
}

EXCEPTION_NAMES: dict[str, str] = {
    "self_hosted_small_model": "a small model that must run on your own hardware",
    "extreme_volume": "volume so high that a small tuned model is plainly cheaper",
    "strong_dataset": "a strong labelled dataset (1,000+ clean examples) already exists",
}

FIELD_LABELS: dict[str, str] = {
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

VALUE_NAMES: dict[str, str] = {
    "question_answering": "question answering",
    "missing_knowledge": "missing knowledge",
    "wrong_format": "wrong format",
    "off_voice": "off voice",
    "refuses_harmless": "refuses harmless requests",
    "too_slow": "too slow",
    "too_expensive": "too expensive",
    "accuracy_plateau": "accuracy plateau",
    "hallucination": "hallucination",
    "inconsistent": "inconsistent",
    "hosted_api": "hosted API",
    "private_cloud": "private cloud",
    "on_prem": "on premises",
    "edge": "on the device (edge)",
    "often": "often (monthly or faster)",
    "rarely": "rarely",
    "none": "not needed",
    **{rung.value: RUNG_NAMES[rung] for rung in Rung},
}

ANSWER_ICONS: dict[str, str] = {Status.yes: "✅", Status.no: "❌", Status.unknown: "❓"}
GATE_ICONS: dict[str, str] = {
    GateStatus.pass_: "✅ pass",
    GateStatus.fail: "❌ fail",
    GateStatus.unknown: "❓ unknown",
}

_STATUS_LINE = re.compile(r"^- \*\*Status:\*\* .*$", re.MULTILINE)

CitationLookup = Callable[[str], Citation | None]


def card_citation(card_id: str, *, for_memo: bool = False) -> Citation | None:
    """A card as a citation (title and the guidance documents it draws on); None if unknown.
    ``for_memo`` formats each document as markdown: *title* (short name)."""
    try:
        found = cards.card(card_id)
    except (KeyError, ValueError):
        return None
    sources = []
    for title in found.sources:
        if for_memo:
            try:
                title = f"*{title}* ({cards.source_for_title(title).short})"
            except KeyError:
                title = f"*{title}*"
        sources.append(title)
    return Citation(id=found.id, title=found.title, sources=sources)


# small formatting helpers ------------------------------------------------------------


def count(n: int) -> str:
    return f"{n:,}"


def pct(x: float) -> str:
    value = x * 100
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def usd(x: float) -> str:
    """Dollars: two significant digits below a dollar, cents below $10, whole dollars above."""
    if x == 0:
        return "$0"
    if abs(x) < 1:
        decimals = max(2, 1 - math.floor(math.log10(abs(x))))
        return f"${x:.{decimals}f}"
    if abs(x) < 10:
        return f"${x:,.2f}"
    return f"${x:,.0f}"


def value_text(field: str, value: Any) -> str:
    """One profile value as a person would say it."""
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
        return ", ".join(VALUE_NAMES.get(str(v), str(v)) for v in value)
    if field == "retraining_owner" and value == "":
        return "nobody"
    text = str(value)
    return VALUE_NAMES.get(text, text.replace("_", " "))


def memo_title(profile: Profile, assessment: Assessment) -> str:
    use_case = " ".join(profile.use_case.split()).rstrip(".")
    return f"Decision: {APPROACH_NAMES[assessment.approach]} for “{use_case}”"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return " ".join(text.replace("|", "\\|").split())


def restatus(markdown: str, status: str, *, by: str = "", date: str = "") -> str:
    """The memo with its status line rewritten (accepted/rejected by whom, when)."""
    line = f"- **Status:** {status}"
    if status != "proposed" and (by or date):
        line += " (" + ", ".join(part for part in (f"by {by}" if by else "", date) if part) + ")"
    if _STATUS_LINE.search(markdown):
        return _STATUS_LINE.sub(line.replace("\\", "\\\\"), markdown, count=1)
    return markdown


# sections ----------------------------------------------------------------------------


def _context(p: Profile) -> str:
    sentences: list[str] = []
    if p.task_type is not None:
        kind = value_text("task_type", p.task_type.value)
        stable = ", and it should stay the same for the next 3–6 months" if p.task_stable else ""
        article = "an" if kind[0] in "aeiou" else "a"
        sentences.append(f"It is {article} {kind} task{stable}.")
    if p.task_stable is False:
        sentences.append("The task is still changing: inputs, outputs or what counts as right.")
    if p.problems:
        sentences.append(f"What goes wrong today: {value_text('problems', p.problems)}.")
    elif p.problems == []:
        sentences.append("Nothing is built yet, or nobody has a complaint about it.")
    if p.eval_set_size == 0:
        sentences.append("There is no eval set yet, so no score shows where prompting stands.")
    elif p.eval_set_size and p.baseline_score is not None and p.target_score is not None:
        sentences.append(
            f"On a {count(p.eval_set_size)}-item eval, the best prompt scores "
            f"{pct(p.baseline_score)} against a {pct(p.target_score)} target."
        )
    elif p.eval_set_size:
        sentences.append(f"There is a {count(p.eval_set_size)}-item eval set.")
    if p.techniques_tried is not None:
        tried = value_text("techniques_tried", [r.value for r in p.techniques_tried])
        sentences.append(f"Tried so far: {tried}.")
    sentences.append(
        "The question is whether to keep improving the prompt, add retrieval, or fine-tune a model."
    )
    return " ".join(sentences)


def _drivers(p: Profile) -> list[str]:
    out: list[str] = []
    if p.monthly_volume is not None:
        out.append(f"Volume: {count(p.monthly_volume)} calls a month")
    if p.error_cost is not None:
        out.append(f"A wrong answer costs: {p.error_cost.value}")
    lacking = [x for x in (p.problems or []) if x.value in ("missing_knowledge", "hallucination")]
    if lacking:
        shown = value_text("problems", [x.value for x in lacking])
        out.append(f"The model lacks facts it needs ({shown})")
    if p.knowledge_changes is not None:
        if p.knowledge_changes.value == "none":
            out.append("Needs no facts beyond the input")
        else:
            changes = value_text("knowledge_changes", p.knowledge_changes.value)
            out.append(f"Needs facts beyond the input; they change {changes}")
    if p.deployment is not None:
        out.append(f"Must run: {value_text('deployment', p.deployment.value)}")
    if p.latency_critical:
        out.append("Latency is critical")
    if p.cost_pressure:
        out.append("Model spend is under pressure")
    if p.regulated:
        out.append("Regulated domain (finance, health, legal, child safety or similar)")
    if p.human_review is not None:
        out.append(
            "A person reviews outputs before they matter"
            if p.human_review
            else "No person reviews outputs before they matter"
        )
    if p.brand_voice:
        out.append("Output must hold a fixed brand voice")
    if p.labeled_examples is not None:
        data = f"{count(p.labeled_examples)} labelled examples"
        if p.labels_clean is not None:
            data += ", clean" if p.labels_clean else ", not yet clean"
        if p.data_cleared is not None:
            data += ", cleared for training" if p.data_cleared else ", not cleared for training"
        out.append(f"Training data: {data}")
    if p.retraining_owner is not None:
        out.append(
            f"Retraining owner: {p.retraining_owner}"
            if p.retraining_owner
            else "Nobody owns retraining"
        )
    return out


def _gate_fails(a: Assessment) -> list[Gate]:
    return [g for g, s in a.gates.items() if s == GateStatus.fail]


def _options(p: Profile, a: Assessment) -> list[tuple[str, list[str], list[str]]]:
    """(option, pros, cons) for the four options, phrased for this team."""
    volume = p.monthly_volume
    below_target = (
        p.baseline_score is not None
        and p.target_score is not None
        and p.baseline_score < p.target_score
    )
    problems = set(p.problems or [])

    pe_pros = ["Changes take hours and need no training data or new infrastructure"]
    pe_cons: list[str] = []
    if p.baseline_score is not None and p.target_score is not None and not below_target:
        pe_pros.append(
            f"Your prompt already meets its target ({pct(p.baseline_score)} against "
            f"{pct(p.target_score)})"
        )
    if p.task_stable is False:
        pe_pros.append("Your task is still changing, and a prompt changes with it")
    if volume is not None and volume < 10_000:
        pe_pros.append(f"At {count(volume)} calls a month, per-call price barely matters")
    fixable = [x for x in ("wrong_format", "off_voice", "refuses_harmless") if x in problems]
    if fixable:
        pe_pros.append(f"Prompt-level fixes exist for {value_text('problems', fixable)}")
    if below_target:
        assert p.baseline_score is not None and p.target_score is not None
        pe_cons.append(
            f"The best prompt so far scores {pct(p.baseline_score)} against a "
            f"{pct(p.target_score)} target"
        )
    if a.knowledge_needed:
        pe_cons.append("A prompt alone cannot supply facts the model doesn't have")
    if p.error_cost is not None and p.error_cost.value in ("high", "critical"):
        pe_cons.append(
            "Prompts are brittle: small wording changes swing behaviour, and your cost of a "
            f"wrong answer is {p.error_cost.value}"
        )
    if volume is not None and volume >= 100_000 and (p.cost_pressure or p.latency_critical):
        pe_cons.append(f"Long prompts repeat on every one of {count(volume)} calls a month")

    rag_pros: list[str] = []
    rag_cons: list[str] = []
    if a.knowledge_needed:
        rag_pros.append("Supplies the facts the model lacks, from your own documents")
        if p.knowledge_changes is not None and p.knowledge_changes.value == "often":
            rag_pros.append("Your facts change often; an index is updated, weights are not")
        if problems & {"hallucination"}:
            rag_pros.append(
                "Grounding answers in retrieved text is the usual fix for made-up facts"
            )
    else:
        rag_cons.append(
            "Nothing you reported needs facts beyond the input, so retrieval fixes nothing"
        )
    if p.regulated or p.human_review:
        rag_pros.append("Answers can cite the passages they came from, which reviewers can check")
    rag_pros.append("No training data needed")
    rag_cons.append("A document index to build, keep fresh and evaluate")
    if p.latency_critical:
        rag_cons.append("A retrieval step adds latency to every call")

    ft_pros: list[str] = []
    ft_cons: list[str] = []
    gates = a.gates
    if gates.get(Gate.narrow_and_stable) == GateStatus.pass_:
        ft_pros.append("Your task is narrow and stable, the kind a tuned model learns well")
    if p.labeled_examples is not None and p.labeled_examples >= 200 and p.labels_clean:
        ft_pros.append(f"You already have {count(p.labeled_examples)} clean labelled examples")
    if a.cost is not None and a.cost.saving_per_month_usd > 0:
        ft_pros.append(
            f"At {count(p.monthly_volume or 0)} calls a month a tuned smaller model would save "
            f"about {usd(a.cost.saving_per_month_usd)} a month"
        )
    if p.latency_critical:
        ft_pros.append("A smaller tuned model with a short prompt answers faster")
    if p.deployment is not None and p.deployment.value in ("edge", "on_prem"):
        ft_pros.append("A small tuned model can run on your own hardware")
    for gate in _gate_fails(a):
        reason = a.gate_reasons[gate].reason if gate in a.gate_reasons else ""
        ft_cons.append(f"{GATE_NAMES[gate]}: not met." + (f" {reason}" if reason else ""))
    if a.knowledge_needed:
        ft_cons.append("Weights don't update when your facts change")
    ft_cons.append("Every base-model upgrade means retraining, typically 2–4 times a year")
    if a.cost is not None:
        months = a.cost.break_even_months
        pays = (
            "and it never pays back at this volume"
            if months is None
            else f"paid back after about {months:.0f} months"
        )
        ft_cons.append(f"One-off cost of about {usd(a.cost.one_off_usd)}, {pays}")

    hy_pros = ["A tuned model for the stable core, retrieval for the facts that change"]
    hy_cons = ["Two systems to build, run and evaluate: a tuned model and an index"]
    if not a.knowledge_needed:
        hy_cons.append(
            "Nothing you reported needs outside facts, so the retrieval half adds nothing"
        )
    if not a.fine_tuning_justified:
        hy_cons.append("Needs fine-tuning to be justified, and it is not yet")

    return [
        (APPROACH_NAMES[Approach.prompt_engineering], pe_pros, pe_cons),
        (APPROACH_NAMES[Approach.rag], rag_pros, rag_cons),
        (APPROACH_NAMES[Approach.fine_tuning], ft_pros, ft_cons),
        (APPROACH_NAMES[Approach.hybrid], hy_pros, hy_cons),
    ]


def _why(p: Profile, a: Assessment) -> str:
    fails = [GATE_NAMES[g].lower() for g in _gate_fails(a)]
    unknown = [GATE_NAMES[g].lower() for g, s in a.gates.items() if s == GateStatus.unknown]
    not_yet = ""
    if fails:
        not_yet = f"Fine-tuning is not justified yet; these gates fail: {'; '.join(fails)}."
    elif unknown:
        not_yet = (
            f"Fine-tuning is not justified yet; these gates are unknown: {'; '.join(unknown)}."
        )
    if a.approach in (Approach.fine_tuning, Approach.hybrid):
        if a.exception is not None:
            why = (
                f"The climb up the prompting ladder may be skipped because of "
                f"{EXCEPTION_NAMES.get(a.exception.value, a.exception.value)}; the gates "
                "that exception does not relax all pass."
            )
        else:
            why = "Every fine-tuning gate passes."
        if a.approach == Approach.hybrid:
            why += " The task also needs facts beyond the input, which retrieval supplies."
        return why
    if a.approach == Approach.rag:
        return (
            "The task needs knowledge the model doesn't have, and retrieval supplies it without "
            f"training anything. {not_yet}"
        ).strip()
    return (
        f"Nothing here needs facts beyond the input, so the answer is a better prompt. {not_yet}"
    ).strip()


def _next_rung(p: Profile, a: Assessment) -> str:
    if a.next_rung is not None:
        rung = a.next_rung
        return f"**Next rung: {RUNG_NAMES[rung]}** — {RUNG_WHAT[rung]}."
    if (
        p.baseline_score is not None
        and p.target_score is not None
        and p.baseline_score >= p.target_score
    ):
        return (
            f"**Next rung: none.** Your current prompt meets its target ({pct(p.baseline_score)} "
            f"against {pct(p.target_score)}): stop climbing and keep the eval running."
        )
    return (
        "**Next rung: none.** Every rung below fine-tuning has been tried; the next steps are "
        "the gates that do not pass yet."
    )


def _cost(cost: CostDelta | None, missing: Sequence[str], volume: int | None) -> list[str]:
    if cost is None:
        if missing:
            needed = ", ".join(FIELD_LABELS.get(f, f) for f in missing)
            return [
                f"Not computed: it needs {needed}. With those, this section shows the cost per "
                "call and per month for the prompted model today and a fine-tuned smaller model."
            ]
        return ["Not computed."]
    calls = f"per month ({count(volume)} calls)" if volume is not None else "per month"
    break_even = (
        f"{cost.break_even_months:.1f} months"
        if cost.break_even_months is not None
        else "never at this volume"
    )
    lines = [
        f"| | {_cell(cost.prompted.model)} (today) | {_cell(cost.fine_tuned.model)} |",
        "|---|---:|---:|",
        f"| Per call | {usd(cost.prompted.per_call_usd)} | {usd(cost.fine_tuned.per_call_usd)} |",
        f"| {calls.capitalize()} | {usd(cost.prompted.per_month_usd)} "
        f"| {usd(cost.fine_tuned.per_month_usd)} |",
        "",
        f"- Saving: {usd(cost.saving_per_call_usd)} per call, "
        f"{usd(cost.saving_per_month_usd)} per month",
        f"- One-off (training, data work, eval set-up): {usd(cost.one_off_usd)}",
        f"- Retraining: {cost.retrains_per_year} times a year, "
        f"{usd(cost.retraining_per_year_usd)} a year",
        f"- Break-even: {break_even}",
    ]
    if not any(cost.prices_as_of in item for item in cost.assumptions):
        lines.append(f"- Prices as of {cost.prices_as_of}")
    lines += [f"- Assumption: {item}" for item in cost.assumptions]
    return lines


def _open_questions(p: Profile, a: Assessment) -> list[str]:
    """Every unknown, split: those that could change the decision, then those the interview
    left out on purpose because no answer to them would."""
    field_of = {text: name for name, text in OPEN_QUESTION.items()}
    relevant = relevant_fields(p)
    now = [q for q in a.open_questions if field_of.get(q, "") in relevant or q not in field_of]
    later = [field_of[q] for q in a.open_questions if q not in now]
    out = [f"- {q}" for q in now] if now else ["- None that would change this decision."]
    if later:
        names = ", ".join(FIELD_LABELS.get(f, f) for f in later)
        out += [
            "",
            f"Not asked, because no answer would change this decision: {names}. They matter "
            "again only if the decision is revisited (for example, if fine-tuning comes back "
            "on the table).",
        ]
    return out


def _validation(p: Profile, a: Assessment) -> list[str]:
    out: list[str] = []
    size = p.eval_set_size
    task = p.task_type.value if p.task_type is not None else None
    if task in ("classification", "extraction", "transformation"):
        metric = "precision, recall and F1 (per class or per field)"
    elif task == "question_answering":
        metric = "answer correctness and grounding (is each answer backed by its sources?)"
    else:
        metric = "a task metric: a written rubric, scored by people or by an LLM judge that "
        metric += "is checked against people"
    if not size:
        out.append(
            "Build the eval set first: about 100 real inputs with answers the team agrees on."
        )
        out.append(f"Metric on that set: {metric}.")
    else:
        out.append(f"Metric on the {count(size)}-item eval set: {metric}.")
    if p.target_score is not None:
        now = f" (today {pct(p.baseline_score)})" if p.baseline_score is not None else ""
        out.append(f"Ship at {pct(p.target_score)} or better{now}.")
    out.append(
        "Re-run the prompt baseline on the same eval before and after every change; any "
        "tuned or retrieval-backed version has to beat it to stay."
    )
    out.append(
        "Watch for drift: score a sample of production traffic every week and alert when it "
        "falls clearly below the eval score."
    )
    out.append(
        "Check out-of-distribution inputs separately: keep a set of unusual cases (new "
        "categories, formats, lengths) and track them on their own."
    )
    if a.knowledge_needed:
        out.append(
            "For retrieval: check that answers cite the right passages, and refresh the index "
            "at least as often as the facts change."
        )
    if a.approach in (Approach.fine_tuning, Approach.hybrid):
        owner = p.retraining_owner or "the owner named above"
        out.append(
            "Retrain 2–4 times a year and whenever the base model changes; "
            f"{owner} re-runs the full eval each time, against a fresh prompt baseline."
        )
        out.append("During training, track validation loss and accuracy on held-out data.")
    if p.latency_critical:
        out.append("Measure latency (p95) and throughput at the expected volume.")
    if p.human_review:
        out.append("Track how often reviewers edit or reject outputs.")
    return out


QUOTE_CHARS = 2_000  # the team's opening description, quoted under Context
TABLE_QUOTE_CHARS = 200  # ... and shortened in the answers table, which points to the quote


def _opening(provenance: Sequence[Provenance]) -> str:
    """The team's opening description when the use case is a title made from it, else ""."""
    first = next((r for r in provenance if r.field == "use_case"), None)
    if first is None or first.said in ("", "back") or first.said == first.value:
        return ""
    return first.said


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _answers_table(
    provenance: Sequence[Provenance], question_for: Callable[[str], str] | None
) -> list[str]:
    if not provenance:
        return ["No answers recorded."]
    latest: dict[str, int] = {}
    for i, record in enumerate(provenance):
        latest[record.field] = i
    groups: list[tuple[tuple[str, str, str], list[tuple[int, Provenance]]]] = []
    for i, record in enumerate(provenance):
        key = (record.said, record.by, record.at)
        if groups and groups[-1][0] == key:
            groups[-1][1].append((i, record))
        else:
            groups.append((key, [(i, record)]))
    opening = _opening(provenance)
    lines = ["| Question | Answer | Recorded as | Who | When |", "|---|---|---|---|---|"]
    for (said, by, at), records in groups:
        if opening and said == opening and len(said) > TABLE_QUOTE_CHARS:
            said = _shorten(said, TABLE_QUOTE_CHARS) + " (in full under Context and problem)"
        first = records[0][1].field
        question = question_for(first) if question_for else FIELD_LABELS.get(first, first)
        recorded = []
        for i, record in records:
            text = f"{FIELD_LABELS.get(record.field, record.field)}: "
            text += value_text(record.field, record.value)
            recorded.append(text if latest[record.field] == i else f"~~{text}~~ (changed later)")
        lines.append(
            f"| {_cell(question)} | {_cell(said) or '—'} | {_cell('; '.join(recorded))} "
            f"| {_cell(by)} | {_cell(at.replace('T', ' ')[:16])} |"
        )
    return lines


def _sources(citations: Sequence[str], lookup: CitationLookup | None) -> list[str]:
    if not citations:
        return ["No knowledge cards cited."]
    lines = []
    for card_id in citations:
        found = lookup(card_id) if lookup else None
        if found is None:
            lines.append(f"- `{card_id}`")
            continue
        line = f"- **{found.title}** (`{card_id}`)"
        if found.sources:
            line += " — draws on " + "; ".join(found.sources)
        lines.append(line)
    return lines


def render_memo(
    profile: Profile,
    assessment: Assessment,
    provenance: Sequence[Provenance],
    *,
    title: str | None = None,
    status: str = "proposed",
    date: str,
    deciders: Sequence[str] = (),
    thread_link: str | None = None,
    citations_lookup: CitationLookup | None = None,
    question_for: Callable[[str], str] | None = None,
    prose: dict[str, str] | None = None,
    memo_ref: str | None = None,
) -> str:
    """The decision memo as markdown.

    ``citations_lookup`` turns a card id into its title and guidance document titles;
    ``question_for`` turns a profile field into the question that asked for it; ``prose``
    (from the optional LLM) may replace the context paragraph and add a rationale.
    """
    p, a = profile, assessment
    prose = prose or {}
    out: list[str] = [f"# {title or memo_title(p, a)}", ""]
    out.append(f"- **Status:** {status}")
    out.append(f"- **Date:** {date}")
    out.append(f"- **Deciders:** {', '.join(deciders) if deciders else 'not recorded'}")
    if thread_link:
        out.append(f"- **Thread:** {thread_link}")
    if memo_ref:
        out.append(f"- **Memo:** {memo_ref}")
    out += ["", "## Context and problem", "", f"**Use case:** {p.use_case.strip()}", ""]
    opening = _opening(provenance)
    if opening:
        out += [f"> {_shorten(opening, QUOTE_CHARS)}", ""]
    out += [prose.get("context") or _context(p), ""]

    out += ["## Decision drivers", ""]
    drivers = _drivers(p)
    out += (
        [f"- {d}" for d in drivers] if drivers else ["- Not enough known yet; see open questions."]
    )
    out.append("")

    out += ["## Considered options", ""]
    for name, pros, cons in _options(p, a):
        chosen = " (chosen)" if name == APPROACH_NAMES[a.approach] else ""
        out += [f"### {name}{chosen}", ""]
        out += [f"- 👍 {x}" for x in pros] + [f"- 👎 {x}" for x in cons] + [""]

    out += ["## Decision outcome", ""]
    out += [f"**Chosen option: {APPROACH_NAMES[a.approach]}.** {_why(p, a)}", ""]
    slow = a.cost is not None and (
        a.cost.break_even_months is None or a.cost.break_even_months > 12
    )
    if a.approach in (Approach.fine_tuning, Approach.hybrid) and a.cost is not None and slow:
        months = a.cost.break_even_months
        payback = "never pays back" if months is None else f"takes {months:.0f} months to pay back"
        out += [
            f"Mind the cost: at today's volume the fine-tune {payback} (see the cost delta); "
            "the case rests on quality, latency or control more than on savings.",
            "",
        ]
    if prose.get("rationale"):
        out += [prose["rationale"], ""]
    out += [_next_rung(p, a), ""]
    if a.next_steps:
        out += ["Next steps:", ""]
        out += [f"{i}. {step}" for i, step in enumerate(a.next_steps, 1)] + [""]

    out += ["## The five questions before fine-tuning", ""]
    out += ["| | Question | Answer |", "|---|---|---|"]
    for q in a.escalation_questions:
        out.append(f"| {ANSWER_ICONS[q.status]} | {_cell(q.question)} | {_cell(q.answer)} |")
    out.append("")

    out += ["## Fine-tuning gates", ""]
    out += ["| Gate | Status | Reason |", "|---|---|---|"]
    for gate in Gate:
        if gate not in a.gates:
            continue
        reason = a.gate_reasons[gate].reason if gate in a.gate_reasons else ""
        out.append(f"| {GATE_NAMES[gate]} | {GATE_ICONS[a.gates[gate]]} | {_cell(reason)} |")
    out.append("")
    if a.exception is not None:
        name = EXCEPTION_NAMES.get(a.exception.value, a.exception.value)
        out += [f"Exception applied: **{name}** (`{a.exception.value}`).", ""]

    out += ["## Cost delta", "", *_cost(a.cost, a.cost_missing, p.monthly_volume), ""]

    out += ["## Risks", ""]
    out += [f"- {r}" for r in a.risks] if a.risks else ["- None identified."]
    out += ["", "## Open questions", "", *_open_questions(p, a), ""]

    out += ["## Validation plan", "", *(f"- {v}" for v in _validation(p, a)), ""]

    out += ["## Answers as recorded", "", *_answers_table(provenance, question_for), ""]

    out += ["## Sources", "", *_sources(a.citations, citations_lookup), ""]

    profile_json = json.dumps(p.model_dump(mode="json", exclude_none=True), indent=2)
    out += [
        "<details><summary>Profile (reproduce with <code>advisor assess</code>)</summary>",
        "",
        "```json",
        profile_json,
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)
