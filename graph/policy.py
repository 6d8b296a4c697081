"""The policy: profile -> decision (DESIGN.md section 4). A pure function, read in five minutes.

This file is the whole decision: the seven fine-tuning gates, the three exceptions, the
approach and the next rung. No I/O, no clock, no LLM, no wording: the same profile always
gets the same decision. Why each gate came out as it did, the five escalation answers, the
risks and the next steps are the decision's explanation (graph/explanation.py); card ids and
sentences live there. :func:`assess` returns both as one :class:`Assessment`.

Unknown never counts as pass: a gate whose inputs are missing is ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graph.assessment import Approach, Exception_, Gate, GateStatus
from graph.labels import OPEN_QUESTION  # re-exported: importers read it here
from graph.profile import Deployment, KnowledgeChanges, Problem, Profile, Rung, TaskType

if TYPE_CHECKING:
    from graph.assessment import Assessment
    from graph.cost import Prices

__all__ = ["OPEN_QUESTION", "Decision", "assess", "decide"]

PASS, FAIL, UNKNOWN = GateStatus.pass_, GateStatus.fail, GateStatus.unknown

MIN_EXAMPLES = 200  # 003: the floor for a fine-tune
STRONG_DATASET = 1_000  # 003: "1,000+ is better"; the strong-dataset exception
MIN_VOLUME = 5_000  # 001: consider fine-tuning from 5,000-10,000 calls a month
BORDERLINE_VOLUME = 10_000
EXTREME_VOLUME = 30_000_000  # ~1M calls a day; 003's example is 100M extractions a day

NOT_NARROW = frozenset({TaskType.conversation, TaskType.agent})
# Rungs prompting_exhausted requires; rag too when knowledge is needed.
REQUIRED_RUNGS = (Rung.system_prompt, Rung.few_shot, Rung.structured_output, Rung.decomposition)
FELT_PRESSURE = frozenset({Problem.too_slow, Problem.too_expensive})
# The look-alike problems and the rung that really fixes each (003), in DESIGN.md's order.
REMEDIES: dict[Problem, Rung] = {
    Problem.wrong_format: Rung.structured_output,
    Problem.off_voice: Rung.few_shot,
    Problem.refuses_harmless: Rung.system_prompt,
    Problem.too_slow: Rung.system_prompt,  # with a smaller model
    Problem.too_expensive: Rung.system_prompt,  # with caching, batching, compression
}

# The profile fields each gate reads, grouped: while every field of a group is None the
# gate cannot pass (the latency/cost gate passes on any one of its three, so they are one).
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
    Gate.latency_or_cost_pressure: (("latency_critical", "cost_pressure", "problems"),),
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


def knowledge_needed(p: Profile) -> bool:
    """Problems include missing knowledge or hallucination, or the facts change often."""
    problems = p.problems or []
    return (
        Problem.missing_knowledge in problems
        or Problem.hallucination in problems
        or p.knowledge_changes == KnowledgeChanges.often
    )


def required_rungs(p: Profile) -> tuple[Rung, ...]:
    """The rungs that must be tried before prompting counts as exhausted."""
    return (*REQUIRED_RUNGS, Rung.rag) if knowledge_needed(p) else REQUIRED_RUNGS


def prompt_passes(p: Profile) -> bool:
    """The current prompt reaches its target on the eval: stop climbing."""
    base, target = p.baseline_score, p.target_score
    return base is not None and target is not None and base >= target


def felt_pressure(p: Profile) -> bool:
    """The team reports the model as too slow or too expensive."""
    return bool(FELT_PRESSURE & set(p.problems or []))


# --- the gates: pass, fail or unknown -----------------------------------------------------


def _narrow_and_stable(p: Profile) -> GateStatus:
    if p.task_stable is False or p.task_type in NOT_NARROW:
        return FAIL
    if p.task_stable and p.task_type is not None and p.task_type != TaskType.other:
        return PASS
    return UNKNOWN


def _prompting_exhausted(p: Profile) -> GateStatus:
    if p.eval_set_size == 0 or prompt_passes(p):
        return FAIL
    if p.techniques_tried is not None:
        if any(rung not in p.techniques_tried for rung in required_rungs(p)):
            return FAIL
        if None not in (p.eval_set_size, p.baseline_score, p.target_score):
            return PASS  # an eval, a score below target, and every required rung tried
    return UNKNOWN


def _enough_clean_data(p: Profile) -> GateStatus:
    n = p.labeled_examples
    if (n is not None and n < MIN_EXAMPLES) or p.labels_clean is False:
        return FAIL
    return PASS if n is not None and p.labels_clean else UNKNOWN


def _volume(p: Profile) -> GateStatus:
    if p.monthly_volume is None:
        return UNKNOWN
    return PASS if p.monthly_volume >= MIN_VOLUME else FAIL


def _latency_or_cost_pressure(p: Profile) -> GateStatus:
    if p.latency_critical or p.cost_pressure or felt_pressure(p):
        return PASS
    if p.latency_critical is False and p.cost_pressure is False:
        return FAIL  # neither flag, and neither too_slow nor too_expensive reported
    return UNKNOWN


def _retraining_owner(p: Profile) -> GateStatus:
    if p.retraining_owner is None:
        return UNKNOWN
    return PASS if p.retraining_owner.strip() else FAIL


def _data_cleared(p: Profile) -> GateStatus:
    return {True: PASS, False: FAIL, None: UNKNOWN}[p.data_cleared]


GATE_CHECKS = {
    Gate.narrow_and_stable: _narrow_and_stable,
    Gate.prompting_exhausted: _prompting_exhausted,
    Gate.enough_clean_data: _enough_clean_data,
    Gate.volume: _volume,
    Gate.latency_or_cost_pressure: _latency_or_cost_pressure,
    Gate.retraining_owner: _retraining_owner,
    Gate.data_cleared: _data_cleared,
}


def evaluate_gates(p: Profile) -> dict[Gate, GateStatus]:
    """Every gate, in the memo's order."""
    return {gate: check(p) for gate, check in GATE_CHECKS.items()}


# --- exceptions ---------------------------------------------------------------------------


def exception_applies(exc: Exception_, p: Profile, gates: dict[Gate, GateStatus]) -> bool:
    """Whether the exception's situation holds (not yet whether it justifies fine-tuning)."""
    narrow = gates[Gate.narrow_and_stable] == PASS
    if exc == Exception_.self_hosted_small_model:
        return p.deployment in (Deployment.edge, Deployment.on_prem) and narrow
    if exc == Exception_.extreme_volume:
        return p.monthly_volume is not None and p.monthly_volume >= EXTREME_VOLUME and narrow
    n = p.labeled_examples
    return n is not None and n >= STRONG_DATASET and p.labels_clean is True


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


def unknowns_in_the_way(p: Profile, gates: dict[Gate, GateStatus]) -> list[Gate]:
    """When only unknown gates keep fine-tuning from being justified, the fewest of them
    that would settle it: on the plain route (every gate) when no gate fails, or through an
    exception whose situation holds and whose unrelaxed gates are unknown, never failed.
    Empty when fine-tuning is justified or some failed gate stands in every route."""
    routes = [[g for g in Gate if gates[g] != PASS]]
    routes += [blocking_gates(e, gates) for e in Exception_ if exception_applies(e, p, gates)]
    open_routes = [r for r in routes if r and all(gates[g] == UNKNOWN for g in r)]
    return min(open_routes, key=len) if open_routes else []


# --- approach and next rung ---------------------------------------------------------------


def choose_approach(justified: bool, needs_knowledge: bool) -> Approach:
    if justified:
        return Approach.hybrid if needs_knowledge else Approach.fine_tuning
    return Approach.rag if needs_knowledge else Approach.prompt_engineering


def choose_next_rung(p: Profile, approach: Approach) -> tuple[Rung | None, Problem | None]:
    """The next rung to climb, and the problem it remedies (if chosen for one)."""
    if approach in (Approach.fine_tuning, Approach.hybrid):
        return Rung.fine_tuning, None
    if prompt_passes(p):
        return None, None  # the current prompt passes its eval: stop climbing
    tried = set(p.techniques_tried or [])  # null counts as nothing tried
    if approach == Approach.rag and Rung.rag not in tried:
        return Rung.rag, None
    for problem in p.problems or []:
        remedy = REMEDIES.get(problem)
        if remedy is not None and remedy not in tried:
            return remedy, problem
    # Retrieval injects facts the model lacks; with nothing lacking it fixes nothing.
    skip = {Rung.fine_tuning} if knowledge_needed(p) else {Rung.fine_tuning, Rung.rag}
    for rung in Rung:
        if rung not in skip and rung not in tried:
            return rung, None
    return None, None  # everything tried: the next steps are the failing gates


# --- the decision -------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    gates: dict[Gate, GateStatus]
    knowledge_needed: bool
    exception: Exception_ | None
    fine_tuning_justified: bool
    approach: Approach
    next_rung: Rung | None
    remedies: Problem | None  # the problem the next rung was chosen to fix, if any
    unknowns_in_the_way: list[Gate] = field(default_factory=list)


def decide(p: Profile) -> Decision:
    """The decision for one profile. Pure: same profile, same decision."""
    gates = evaluate_gates(p)
    exception = choose_exception(p, gates)
    justified = all(s == PASS for s in gates.values()) or exception is not None
    needs = knowledge_needed(p)
    approach = choose_approach(justified, needs)
    rung, problem = choose_next_rung(p, approach)
    return Decision(
        gates=gates,
        knowledge_needed=needs,
        exception=exception,
        fine_tuning_justified=justified,
        approach=approach,
        next_rung=rung,
        remedies=problem,
        unknowns_in_the_way=[] if justified else unknowns_in_the_way(p, gates),
    )


def assess(profile: Profile, prices: Prices) -> Assessment:
    """The decision with its explanation, as ``advisor assess --json`` prints it."""
    from graph.explanation import explain  # the explanation is built on this module

    return explain(profile, decide(profile), prices)
