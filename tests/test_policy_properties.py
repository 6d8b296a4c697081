"""Properties of the policy over generated profiles, including None in every field."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.assessment import Assessment, Gate, QuestionId
from graph.cost import Prices, load_prices
from graph.policy import GATE_FIELDS, assess
from graph.profile import (
    Deployment,
    ErrorCost,
    KnowledgeChanges,
    Problem,
    Profile,
    Rung,
    TaskType,
)

PRICES: Prices = load_prices()
RUNS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def enum_values(enum: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([member.value for member in enum])


# Numbers cluster around the thresholds the policy cares about, so boundaries get hit.
COUNTS = st.sampled_from([0, 1, 150, 199, 200, 999, 1_000, 4_999, 5_000, 9_999, 10_000])
VOLUMES = COUNTS | st.sampled_from([29_999_999, 30_000_000, 10**9]) | st.integers(0, 10**8)
SCORES = st.sampled_from([0.0, 0.5, 0.82, 0.95, 1.0]) | st.floats(0, 1)

FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "task_type": maybe(enum_values(TaskType)),
    "problems": maybe(st.lists(enum_values(Problem), max_size=4)),
    "task_stable": maybe(st.booleans()),
    "techniques_tried": maybe(st.lists(enum_values(Rung), max_size=8)),
    "eval_set_size": maybe(COUNTS | st.integers(0, 10**6)),
    "baseline_score": maybe(SCORES),
    "target_score": maybe(SCORES),
    "labeled_examples": maybe(COUNTS | st.integers(0, 10**6)),
    "labels_clean": maybe(st.booleans()),
    "data_cleared": maybe(st.booleans()),
    "monthly_volume": maybe(VOLUMES),
    "error_cost": maybe(enum_values(ErrorCost)),
    "knowledge_changes": maybe(enum_values(KnowledgeChanges)),
    "deployment": maybe(enum_values(Deployment)),
    "latency_critical": maybe(st.booleans()),
    "cost_pressure": maybe(st.booleans()),
    "retraining_owner": maybe(st.sampled_from(["", "  ", "Priya", "the ML platform team"])),
    "human_review": maybe(st.booleans()),
    "brand_voice": maybe(st.booleans()),
    "regulated": maybe(st.booleans()),
    "avg_input_tokens": maybe(st.integers(0, 200_000)),
    "avg_output_tokens": maybe(st.integers(0, 20_000)),
}


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    values = {name: draw(strategy) for name, strategy in FIELDS.items()}
    values["use_case"] = draw(st.text(min_size=1, max_size=40))
    return Profile.model_validate(values)


@RUNS
@given(profiles())
def test_any_profile_gets_a_complete_json_serialisable_assessment(profile: Profile) -> None:
    result = assess(profile, PRICES)
    dumped = result.model_dump(mode="json")
    assert set(dumped) == set(Assessment.model_fields)
    json.dumps(dumped)
    assert list(result.gates) == list(Gate)
    assert list(result.gate_reasons) == list(Gate)
    assert [q.id for q in result.escalation_questions] == list(QuestionId)
    assert all(q.answer and q.question and q.citations for q in result.escalation_questions)
    assert all(r.reason and r.citations for r in result.gate_reasons.values())
    assert result.next_steps or result.next_rung is None
    assert len(result.citations) == len(set(result.citations))
    # cost and cost_missing are each other's complement.
    assert (result.cost is None) == bool(result.cost_missing)


@RUNS
@given(profiles())
def test_the_same_profile_always_gets_the_same_assessment(profile: Profile) -> None:
    before = profile.model_dump()
    first = assess(profile, PRICES)
    assert assess(profile.model_copy(deep=True), PRICES) == first
    assert profile.model_dump() == before  # the input is not mutated


@RUNS
@given(profiles(), st.data())
def test_an_unknown_field_never_lets_its_gate_pass(profile: Profile, data: st.DataObject) -> None:
    gate = data.draw(st.sampled_from(list(Gate)))
    group = data.draw(st.sampled_from(GATE_FIELDS[gate]))
    blanked = profile.model_copy(update=dict.fromkeys(group))
    assert assess(blanked, PRICES).gates[gate].value != "pass"


@RUNS
@given(profiles(), st.integers(0, 10**6), st.integers(1, 10**6))
def test_more_clean_examples_never_unjustify_a_fine_tune(
    profile: Profile, examples: int, more: int
) -> None:
    fewer = profile.model_copy(update={"labeled_examples": examples, "labels_clean": True})
    richer = fewer.model_copy(update={"labeled_examples": examples + more})
    if assess(fewer, PRICES).fine_tuning_justified:
        assert assess(richer, PRICES).fine_tuning_justified


@RUNS
@given(profiles())
def test_justification_matches_the_gates_and_the_exception(profile: Profile) -> None:
    result = assess(profile, PRICES)
    all_pass = all(status.value == "pass" for status in result.gates.values())
    assert result.fine_tuning_justified == (all_pass or result.exception is not None)
    if all_pass:
        assert result.exception is None
    fine_tuning = result.approach.value in ("fine_tuning", "hybrid")
    assert fine_tuning == result.fine_tuning_justified
    assert (result.next_rung == Rung.fine_tuning) == fine_tuning
    if result.approach.value in ("rag", "hybrid"):
        assert result.knowledge_needed


@RUNS
@given(profiles())
def test_rag_is_never_the_next_rung_for_a_team_that_lacks_no_knowledge(profile: Profile) -> None:
    result = assess(profile, PRICES)
    if not result.knowledge_needed:
        assert result.next_rung != Rung.rag


@RUNS
@given(profiles(), st.sampled_from([Problem.too_slow, Problem.too_expensive]))
def test_reporting_slow_or_expensive_passes_the_pressure_gate(
    profile: Profile, problem: Problem
) -> None:
    felt = profile.model_copy(update={"problems": [*(profile.problems or []), problem]})
    assert assess(felt, PRICES).gates[Gate.latency_or_cost_pressure].value == "pass"


@RUNS
@given(profiles())
def test_only_unknowns_in_the_way_are_named_and_always_when_no_gate_fails(
    profile: Profile,
) -> None:
    result = assess(profile, PRICES)
    named = result.unknowns_in_the_way
    assert all(result.gates[g].value == "unknown" for g in named)
    if result.fine_tuning_justified:
        assert named == []
    elif all(status.value != "fail" for status in result.gates.values()):
        assert named  # DESIGN section 4: only unknowns stand in the way, so say which
