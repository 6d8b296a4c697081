"""The policy on profiles drawn from the guidance: gates, exceptions, remedies, questions."""

from __future__ import annotations

from typing import Any

import pytest

from graph.assessment import Approach, Assessment, Exception_, Gate, QuestionId, Status
from graph.cost import Prices, load_prices
from graph.policy import assess, knowledge_needed
from graph.profile import Profile, Rung
from graph.reasons import APPROACH_CARDS, RUNG_CARD
from knowledge.cards import card_ids


def make(**fields: Any) -> Profile:
    """A profile from plain JSON-like values, as the CLI and the interview would build it."""
    return Profile.model_validate({"use_case": "x", **fields})


BELOW_FINE_TUNING = [r.value for r in Rung if r != Rung.fine_tuning]

# A team for whom every gate passes and no exception applies (500 examples < 1,000; hosted;
# far below extreme volume), so one changed field shows exactly what that gate does.
PASSING: dict[str, Any] = {
    "use_case": "Route support emails into one of 12 categories",
    "task_type": "classification",
    "problems": ["accuracy_plateau"],
    "task_stable": True,
    "techniques_tried": BELOW_FINE_TUNING,
    "eval_set_size": 400,
    "baseline_score": 0.82,
    "target_score": 0.95,
    "labeled_examples": 500,
    "labels_clean": True,
    "data_cleared": True,
    "monthly_volume": 200_000,
    "error_cost": "medium",
    "knowledge_changes": "none",
    "deployment": "hosted_api",
    "latency_critical": False,
    "cost_pressure": True,
    "retraining_owner": "Priya on the ML platform team",
    "human_review": True,
    "brand_voice": False,
    "regulated": False,
    "avg_input_tokens": 1_200,
    "avg_output_tokens": 10,
}


@pytest.fixture(scope="module")
def prices() -> Prices:
    return load_prices()


def team(**changes: Any) -> Profile:
    return Profile.model_validate({**PASSING, **changes})


def answer(result: Assessment, qid: QuestionId) -> tuple[Status, str]:
    found = next(q for q in result.escalation_questions if q.id == qid)
    return found.status, found.answer


def gates_other_than(result: Assessment, gate: Gate) -> set[str]:
    return {result.gates[g].value for g in Gate if g != gate}


# --- the guidance's worked examples ------------------------------------------------------


def test_twelve_category_email_classifier_at_volume_is_a_fine_tune(prices: Prices) -> None:
    result = assess(
        team(labeled_examples=3_000, monthly_volume=1_000_000, avg_input_tokens=1_500), prices
    )
    assert result.approach == Approach.fine_tuning
    assert result.next_rung == Rung.fine_tuning
    assert result.fine_tuning_justified
    assert result.exception is None  # every gate passes: no exception needed
    assert {s.value for s in result.gates.values()} == {"pass"}
    assert answer(result, QuestionId.eval_ceiling) == (
        Status.yes,
        "Your 400-item eval puts prompting at 82% against a 95% target.",
    )
    assert [q.status for q in result.escalation_questions] == [Status.yes] * 5
    assert "3,000" in answer(result, QuestionId.clean_examples)[1]
    assert result.next_steps[0].startswith("Fine-tune a small model on the 3,000 clean examples")


def test_brand_voice_team_with_800_posts_should_try_few_shot_first(prices: Prices) -> None:
    # 003's worked example: they wanted a fine-tune; a one-day few-shot experiment won.
    voice = make(
        use_case="Write blog posts in our brand voice",
        task_type="generation",
        problems=["off_voice"],
        brand_voice=True,
        task_stable=True,
        techniques_tried=["system_prompt"],
        labeled_examples=800,
        labels_clean=True,
        eval_set_size=100,
    )
    result = assess(voice, prices)
    assert result.approach == Approach.prompt_engineering
    assert result.next_rung == Rung.few_shot
    assert not result.fine_tuning_justified
    assert result.gates[Gate.prompting_exhausted].value == "fail"
    assert any("5–10 few-shot examples of the voice" in step for step in result.next_steps)
    assert "lookalike-off-voice" in result.citations


def test_policy_qa_bot_over_changing_documents_gets_rag(prices: Prices) -> None:
    bot = make(
        use_case="Answer staff questions about our HR policies",
        task_type="question_answering",
        problems=["missing_knowledge"],
        knowledge_changes="often",
        techniques_tried=["system_prompt", "few_shot"],
        labeled_examples=50,
        monthly_volume=3_000,
    )
    result = assess(bot, prices)
    assert result.knowledge_needed
    assert result.approach == Approach.rag
    assert result.next_rung == Rung.rag
    assert any(step.startswith("Put RAG over") for step in result.next_steps)
    assert "lookalike-missing-knowledge" in result.citations


# --- every gate failing on its own -------------------------------------------------------

ALONE: list[tuple[Gate, dict[str, Any], str, str]] = [
    (Gate.narrow_and_stable, {"task_stable": False}, "still changing", "hold steady for 3–6"),
    (Gate.narrow_and_stable, {"task_type": "conversation"}, "conversation task", "hold steady"),
    (Gate.prompting_exhausted, {"eval_set_size": 0}, "no eval set", "Build a 100-item eval"),
    (Gate.enough_clean_data, {"labeled_examples": 150}, "150 labelled", "at least 200"),
    (Gate.enough_clean_data, {"labels_clean": False}, "not clean", "at least 200"),
    (Gate.volume, {"monthly_volume": 3_000}, "3,000 calls", "5,000–10,000 a month"),
    (
        Gate.latency_or_cost_pressure,
        {"latency_critical": False, "cost_pressure": False},
        "Neither latency nor cost",
        "nothing for a fine-tune to win",
    ),
    (Gate.retraining_owner, {"retraining_owner": ""}, "Nobody owns", "Name the owner"),
    (
        Gate.data_cleared,
        {"data_cleared": False},
        "not cleared",
        "Get sign-off to train on the data",
    ),
]


@pytest.mark.parametrize(("gate", "change", "reason", "step"), ALONE)
def test_one_failing_gate_blocks_fine_tuning_and_becomes_a_next_step(
    prices: Prices, gate: Gate, change: dict[str, Any], reason: str, step: str
) -> None:
    result = assess(team(**change), prices)
    assert result.gates[gate].value == "fail"
    assert gates_other_than(result, gate) == {"pass"}
    assert not result.fine_tuning_justified
    assert result.exception is None
    assert result.approach == Approach.prompt_engineering
    assert result.next_rung is None  # the whole ladder below fine-tuning is tried
    assert reason in result.gate_reasons[gate].reason
    assert any(step in s for s in result.next_steps), result.next_steps


def test_the_same_team_with_every_gate_passing_is_justified(prices: Prices) -> None:
    result = assess(team(), prices)
    assert result.fine_tuning_justified and result.approach == Approach.fine_tuning


def test_an_untried_required_rung_fails_the_gate_and_is_the_next_rung(prices: Prices) -> None:
    tried = [r for r in BELOW_FINE_TUNING if r != "decomposition"]
    result = assess(team(techniques_tried=tried), prices)
    assert result.gates[Gate.prompting_exhausted].value == "fail"
    assert (
        "Splitting the task into steps is still untried"
        in result.gate_reasons[Gate.prompting_exhausted].reason
    )
    assert result.next_rung == Rung.decomposition
    assert answer(result, QuestionId.ladder_tried) == (
        Status.no,
        "Still untried: splitting the task into steps; tried so far: a better system prompt, "
        "few-shot examples and structured output; RAG is not required, as no knowledge gap is "
        "reported.",
    )


def test_rag_is_required_for_exhaustion_only_when_knowledge_is_needed(prices: Prices) -> None:
    tried = ["system_prompt", "few_shot", "structured_output", "decomposition"]
    assert assess(team(techniques_tried=tried), prices).gates[Gate.prompting_exhausted] == "pass"
    needs = team(techniques_tried=tried, knowledge_changes="often")
    assert assess(needs, prices).gates[Gate.prompting_exhausted] == "fail"


# --- the exceptions ----------------------------------------------------------------------


def test_edge_device_with_clean_cleared_data_skips_everything_else(prices: Prices) -> None:
    edge = team(
        deployment="edge",
        techniques_tried=[],
        eval_set_size=0,
        labeled_examples=300,
        monthly_volume=100,
        latency_critical=False,
        cost_pressure=False,
        retraining_owner="",
    )
    result = assess(edge, prices)
    assert result.exception == Exception_.self_hosted_small_model
    assert result.fine_tuning_justified and result.approach == Approach.fine_tuning
    assert result.next_rung == Rung.fine_tuning
    assert any("prompt baseline" in risk for risk in result.risks)
    assert "exception-edge-device" in result.citations


def test_edge_device_without_cleared_data_is_not_an_exception(prices: Prices) -> None:
    edge = team(deployment="on_prem", techniques_tried=[], eval_set_size=0, data_cleared=False)
    result = assess(edge, prices)
    assert result.exception is None and not result.fine_tuning_justified
    # The one thing between the team and the exception is named as a step.
    assert any("Get sign-off to train on the data" in step for step in result.next_steps)


def test_edge_device_needs_a_narrow_stable_task(prices: Prices) -> None:
    result = assess(team(deployment="edge", eval_set_size=0, task_stable=False), prices)
    assert result.exception is None and not result.fine_tuning_justified


def test_extreme_volume_relaxes_the_climb_and_pressure_only(prices: Prices) -> None:
    huge = dict(
        monthly_volume=40_000_000,
        techniques_tried=[],
        eval_set_size=0,
        latency_critical=False,
        cost_pressure=False,
    )
    result = assess(team(**huge), prices)
    assert result.exception == Exception_.extreme_volume
    assert result.fine_tuning_justified
    blocked = assess(team(**huge, retraining_owner=""), prices)
    assert blocked.exception is None and not blocked.fine_tuning_justified


def test_strong_dataset_skips_the_climb_but_nothing_else(prices: Prices) -> None:
    strong = dict(labeled_examples=5_000, techniques_tried=["system_prompt"], eval_set_size=0)
    result = assess(team(**strong), prices)
    assert result.exception == Exception_.strong_dataset
    assert result.approach == Approach.fine_tuning
    assert any("measure it against a prompt baseline" in r for r in result.risks)
    low_volume = assess(team(**strong, monthly_volume=1_000), prices)
    assert low_volume.exception is None and not low_volume.fine_tuning_justified


def test_exceptions_are_tried_in_table_order(prices: Prices) -> None:
    both = team(deployment="edge", labeled_examples=5_000, eval_set_size=0)
    assert assess(both, prices).exception == Exception_.self_hosted_small_model


# --- symptom remedies and the next rung --------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "rung", "words"),
    [
        ("wrong_format", Rung.structured_output, "JSON schema"),
        ("off_voice", Rung.few_shot, "few-shot examples of the voice"),
        ("refuses_harmless", Rung.system_prompt, "what is in scope"),
        ("too_slow", Rung.system_prompt, "smaller, faster model"),
        ("too_expensive", Rung.system_prompt, "caching, batching and prompt compression"),
    ],
)
def test_each_look_alike_symptom_gets_its_real_remedy(
    prices: Prices, problem: str, rung: Rung, words: str
) -> None:
    tried = ["system_prompt", "few_shot"] if rung == Rung.structured_output else []
    result = assess(make(problems=[problem], techniques_tried=tried), prices)
    assert result.approach == Approach.prompt_engineering
    assert result.next_rung == rung
    assert any(words in step for step in result.next_steps), result.next_steps


def test_a_tried_remedy_moves_on_to_the_next_problem(prices: Prices) -> None:
    profile = make(problems=["wrong_format", "off_voice"], techniques_tried=["structured_output"])
    assert assess(profile, prices).next_rung == Rung.few_shot


def test_the_first_listed_problem_wins(prices: Prices) -> None:
    first = make(problems=["too_slow", "wrong_format"], techniques_tried=[])
    assert assess(first, prices).next_rung == Rung.system_prompt
    flipped = make(problems=["wrong_format", "too_slow"], techniques_tried=[])
    assert assess(flipped, prices).next_rung == Rung.structured_output


def test_hallucination_gets_rag_with_a_grounding_instruction(prices: Prices) -> None:
    result = assess(make(problems=["hallucination"]), prices)
    assert result.approach == Approach.rag and result.next_rung == Rung.rag
    assert any("grounding instruction" in step for step in result.next_steps)


def test_rag_already_tried_falls_back_to_the_lowest_untried_rung(prices: Prices) -> None:
    profile = make(problems=["missing_knowledge"], techniques_tried=["system_prompt", "rag"])
    result = assess(profile, prices)
    assert result.approach == Approach.rag
    assert result.next_rung == Rung.few_shot


def test_a_prompt_that_meets_its_target_stops_the_climb(prices: Prices) -> None:
    profile = team(baseline_score=0.96, techniques_tried=["system_prompt"], problems=["off_voice"])
    result = assess(profile, prices)
    assert result.next_rung is None
    assert result.gates[Gate.prompting_exhausted].value == "fail"
    assert result.next_steps[0].startswith("Ship the current prompt: it reaches 96%")
    assert answer(result, QuestionId.eval_ceiling)[0] == Status.no


def test_null_techniques_tried_counts_as_nothing_tried(prices: Prices) -> None:
    result = assess(make(techniques_tried=None, problems=[]), prices)
    assert result.next_rung == Rung.system_prompt
    assert result.gates[Gate.prompting_exhausted].value == "unknown"


def test_the_next_rung_is_the_lowest_untried_one(prices: Prices) -> None:
    profile = make(problems=[], techniques_tried=["system_prompt", "few_shot"])
    assert assess(profile, prices).next_rung == Rung.structured_output


# --- hybrid, unknowns and the words around them ------------------------------------------


def test_a_justified_fine_tune_with_changing_facts_is_hybrid(prices: Prices) -> None:
    result = assess(team(knowledge_changes="often"), prices)
    assert result.knowledge_needed
    assert result.approach == Approach.hybrid
    assert result.next_rung == Rung.fine_tuning
    assert any("RAG" in step and "stable core" in step for step in result.next_steps)
    assert any("keep them in RAG" in risk for risk in result.risks)


def test_nothing_known_means_prompting_and_every_gate_unknown(prices: Prices) -> None:
    result = assess(make(use_case="Something with an LLM"), prices)
    assert result.approach == Approach.prompt_engineering
    assert result.next_rung == Rung.system_prompt
    assert {s.value for s in result.gates.values()} == {"unknown"}
    assert {q.status for q in result.escalation_questions} == {Status.unknown}
    assert result.cost is None
    assert result.cost_missing == ["avg_input_tokens", "avg_output_tokens", "monthly_volume"]
    assert len(result.open_questions) >= 20
    assert result.next_steps[0].startswith("Build a 100-item eval set from real inputs")


def test_no_eval_set_answers_question_one_plainly(prices: Prices) -> None:
    result = assess(team(eval_set_size=0, baseline_score=None), prices)
    assert answer(result, QuestionId.eval_ceiling) == (
        Status.no,
        "No eval set yet: nobody can show prompts have hit a ceiling.",
    )
    # No eval means no baseline to ask about.
    assert not any("best score prompting" in q for q in result.open_questions)


def test_either_pressure_passes_but_one_unknown_and_one_false_stays_unknown(
    prices: Prices,
) -> None:
    assert assess(team(latency_critical=None), prices).gates[Gate.latency_or_cost_pressure] == (
        "pass"
    )
    mixed = team(latency_critical=None, cost_pressure=False)
    result = assess(mixed, prices)
    assert result.gates[Gate.latency_or_cost_pressure].value == "unknown"
    assert "Is response time a hard requirement?" in result.open_questions


def test_an_other_task_type_cannot_pass_as_narrow(prices: Prices) -> None:
    result = assess(team(task_type="other"), prices)
    assert result.gates[Gate.narrow_and_stable].value == "unknown"
    assert not result.fine_tuning_justified


def test_each_unknown_gate_field_becomes_an_open_question(prices: Prices) -> None:
    result = assess(team(monthly_volume=None, data_cleared=None), prices)
    assert result.gates[Gate.volume].value == "unknown"
    assert "How many model calls a month will this make in production?" in result.open_questions
    assert any("allowed to train" in q for q in result.open_questions)
    assert answer(result, QuestionId.cost_delta) == (
        Status.unknown,
        "Cannot price it yet: monthly call volume is not known.",
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"monthly_volume": 7_500}, "7,500 calls a month is borderline"),
        (
            {"regulated": True, "data_cleared": None},
            "The work is regulated and its data is not known",
        ),
        (
            {"error_cost": "critical", "human_review": False},
            "A wrong answer does serious harm and nobody reviews",
        ),
        (
            {"error_cost": "high", "human_review": False},
            "A wrong answer is costly and nobody reviews",
        ),
        # A device team fine-tunes without an owner (the exception relaxes the gate).
        ({"retraining_owner": "", "deployment": "edge"}, "Nobody owns retraining"),
        ({"labels_clean": False}, "copies the noise"),
        ({"eval_set_size": 40}, "A 40-item eval is small"),
        ({}, "clear the 200 floor but not the 1,000+"),  # fine-tuning on 500 examples
    ],
)
def test_risks_name_the_teams_own_situation(
    prices: Prices, change: dict[str, Any], words: str
) -> None:
    result = assess(team(**change), prices)
    assert any(words in risk for risk in result.risks), result.risks


def test_risks_about_a_fine_tune_are_not_raised_when_there_is_none(prices: Prices) -> None:
    # No owner and borderline volume matter only to a fine-tune that is going ahead.
    result = assess(team(retraining_owner="", monthly_volume=7_500), prices)
    assert not result.fine_tuning_justified
    assert not any("Nobody owns retraining" in r or "borderline" in r for r in result.risks)


def test_no_risk_is_raised_for_a_reviewed_low_stakes_prompt(prices: Prices) -> None:
    calm = make(
        use_case="Draft meeting summaries",
        task_type="summarization",
        error_cost="low",
        human_review=True,
        regulated=False,
        monthly_volume=800,
        labels_clean=True,
    )
    assert assess(calm, prices).risks == []


def test_every_gate_reason_and_answer_is_one_sentence(prices: Prices) -> None:
    for profile in (team(), make(), team(eval_set_size=0, labeled_examples=20)):
        result = assess(profile, prices)
        texts = [r.reason for r in result.gate_reasons.values()]
        texts += [q.answer for q in result.escalation_questions]
        for text in texts:
            assert text.endswith("."), text
            assert ". " not in text.rstrip("."), text


def test_citations_are_complete_unique_and_in_first_use_order(prices: Prices) -> None:
    profile = team(monthly_volume=7_500, eval_set_size=0, techniques_tried=["system_prompt"])
    result = assess(profile, prices)
    assert len(result.citations) == len(set(result.citations))
    assert result.next_rung is not None and result.exception is None
    # The approach and the next rung lead; then the gates, then the five questions.
    used = [*APPROACH_CARDS[result.approach], RUNG_CARD[result.next_rung]]
    used += [c for r in result.gate_reasons.values() for c in r.citations]
    used += [c for q in result.escalation_questions for c in q.citations]
    first_use = list(dict.fromkeys(used))
    assert result.citations[: len(first_use)] == first_use


def test_knowledge_needed_follows_the_problems_and_the_pace_of_change() -> None:
    assert knowledge_needed(make(problems=["hallucination"]))
    assert knowledge_needed(make(knowledge_changes="often"))
    assert not knowledge_needed(make(knowledge_changes="rarely", problems=[]))
    assert not knowledge_needed(make())


def test_every_cited_card_exists_in_the_catalog(prices: Prices) -> None:
    catalog = card_ids()
    if not catalog:
        pytest.skip("knowledge/cards has no cards yet")
    profiles = [team(**change) for _, change, _, _ in ALONE] + [
        team(),
        team(knowledge_changes="often", regulated=True, deployment="hosted_api"),
        team(deployment="edge", eval_set_size=0, labeled_examples=5_000, monthly_volume=7_000),
        team(monthly_volume=40_000_000, eval_set_size=15, human_review=False, error_cost="high"),
        make(),
        *(make(problems=[p]) for p in PROBLEMS),
    ]
    for profile in profiles:
        result = assess(profile, prices)
        assert set(result.citations) <= catalog, set(result.citations) - catalog


PROBLEMS = [
    "missing_knowledge",
    "hallucination",
    "wrong_format",
    "off_voice",
    "refuses_harmless",
    "too_slow",
    "too_expensive",
    "accuracy_plateau",
    "inconsistent",
]


def test_a_score_without_an_eval_asks_for_the_eval_behind_it(prices: Prices) -> None:
    result = assess(make(baseline_score=0.7, target_score=0.9), prices)
    assert answer(result, QuestionId.eval_ceiling)[0] == Status.unknown
    assert result.next_steps[0].startswith("Write down the eval behind the 70% score")


# --- felt pressure, no RAG without a knowledge gap, what stands in the way ----------------

# The document-classification team from issue 11: 5,000 clean labels, 81% against a 93%
# target after every prompting rung up to decomposition, 2M calls a month, "it's getting
# expensive at our volume". No knowledge gap; nobody set the pressure flags.
DOCUMENTS: dict[str, Any] = {
    "use_case": "Classify incoming documents into one of 14 types",
    "task_type": "classification",
    "problems": ["accuracy_plateau", "too_expensive"],
    "task_stable": True,
    "techniques_tried": BELOW_FINE_TUNING[:5],  # up to decomposition
    "eval_set_size": 500,
    "baseline_score": 0.81,
    "target_score": 0.93,
    "labeled_examples": 5_000,
    "labels_clean": True,
    "data_cleared": True,
    "monthly_volume": 2_000_000,
    "knowledge_changes": "none",
    "deployment": "hosted_api",
    "retraining_owner": "the document platform team",
}


def documents(**changes: Any) -> Profile:
    return Profile.model_validate({**DOCUMENTS, **changes})


def test_document_classifier_that_says_too_expensive_is_a_fine_tune(prices: Prices) -> None:
    result = assess(documents(), prices)
    assert result.gates[Gate.latency_or_cost_pressure].value == "pass"
    assert "too expensive" in result.gate_reasons[Gate.latency_or_cost_pressure].reason
    assert {s.value for s in result.gates.values()} == {"pass"}  # RAG is not required
    assert result.approach == Approach.fine_tuning and result.exception is None
    assert result.next_rung == Rung.fine_tuning


def test_document_classifier_short_of_the_ladder_fine_tunes_on_its_strong_dataset(
    prices: Prices,
) -> None:
    result = assess(documents(techniques_tried=["system_prompt", "few_shot"]), prices)
    assert result.gates[Gate.prompting_exhausted].value == "fail"
    assert result.exception == Exception_.strong_dataset
    assert result.approach == Approach.fine_tuning


def test_document_classifier_without_felt_pressure_is_told_what_stands_in_the_way(
    prices: Prices,
) -> None:
    result = assess(documents(problems=["accuracy_plateau"], retraining_owner=None), prices)
    assert result.gates[Gate.latency_or_cost_pressure].value == "unknown"
    assert not result.fine_tuning_justified
    assert result.approach == Approach.prompt_engineering
    # Every rung up to decomposition is tried and nothing is lacking: RAG fixes nothing.
    assert result.next_rung == Rung.bigger_model
    assert result.unknowns_in_the_way == [Gate.latency_or_cost_pressure, Gate.retraining_owner]
    assert any(
        step.startswith("Confirm cost or latency pressure and the retraining owner")
        for step in result.next_steps
    ), result.next_steps


@pytest.mark.parametrize("problem", ["too_slow", "too_expensive"])
def test_a_team_that_reports_slow_or_expensive_feels_the_pressure(
    prices: Prices, problem: str
) -> None:
    result = assess(team(latency_critical=None, cost_pressure=None, problems=[problem]), prices)
    assert result.gates[Gate.latency_or_cost_pressure].value == "pass"
    flags_off = team(latency_critical=False, cost_pressure=False, problems=[problem])
    assert assess(flags_off, prices).gates[Gate.latency_or_cost_pressure].value == "pass"


def test_rag_is_skipped_on_the_ladder_only_when_nothing_is_lacking(prices: Prices) -> None:
    climbed = BELOW_FINE_TUNING[:5]
    calm = make(problems=[], knowledge_changes="rarely", techniques_tried=climbed)
    assert assess(calm, prices).next_rung == Rung.bigger_model
    lacking = make(problems=["missing_knowledge"], techniques_tried=climbed)
    assert assess(lacking, prices).next_rung == Rung.rag
    everything = make(problems=[], techniques_tried=[*climbed, "bigger_model"])
    assert assess(everything, prices).next_rung is None


def test_a_failed_gate_that_no_exception_relaxes_leaves_nothing_to_confirm(
    prices: Prices,
) -> None:
    result = assess(documents(problems=["accuracy_plateau"], monthly_volume=1_000), prices)
    assert result.gates[Gate.volume].value == "fail"
    assert result.unknowns_in_the_way == []
    assert not any(step.startswith("Confirm") for step in result.next_steps)


def test_an_exception_can_be_the_shorter_road_to_a_justified_fine_tune(prices: Prices) -> None:
    # Decomposition untried fails the ladder gate, but 5,000 clean examples relax it: only
    # the unknown retraining owner stands in the way.
    profile = documents(
        techniques_tried=["system_prompt", "few_shot", "structured_output"],
        retraining_owner=None,
    )
    result = assess(profile, prices)
    assert result.gates[Gate.prompting_exhausted].value == "fail"
    assert result.unknowns_in_the_way == [Gate.retraining_owner]
