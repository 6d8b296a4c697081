"""The question catalog: coverage, order, skipping rules and interview length."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.answers import parse_answer, parse_choice
from graph.profile import (
    FIELDS,
    Deployment,
    ErrorCost,
    KnowledgeChanges,
    Problem,
    Profile,
    Rung,
    TaskType,
    merge,
)
from graph.questions import (
    CATALOG,
    USE_CASE,
    fine_tuning_possible,
    missing_fields,
    next_question,
    question_for_field,
    relevant_fields,
    remaining_estimate,
    spec,
    to_turn,
)
from graph.turns import Question

CARDS_DIR = Path(__file__).resolve().parents[1] / "knowledge" / "cards"
PLAN_CARDS = Path("/tmp/plan/CARDS.md")


def known_card_ids() -> set[str]:
    files = {p.stem for p in CARDS_DIR.glob("*.md")}
    if files:
        return files
    if PLAN_CARDS.exists():  # before the cards land, the planned catalog
        return set(re.findall(r"^([a-z0-9-]+)\s{2,}", PLAN_CARDS.read_text(), re.MULTILINE))
    pytest.skip("no card catalog available")


# --- the catalog -----------------------------------------------------------------------------


def test_every_profile_field_but_the_use_case_has_exactly_one_question() -> None:
    covered = [f for q in CATALOG for f in q.fields]
    assert sorted(covered) == sorted(set(FIELDS) - {"use_case"})


def test_at_most_twelve_questions_cover_the_whole_profile() -> None:
    assert len(CATALOG) <= 12


def test_question_ids_are_unique_and_short() -> None:
    ids = [q.id for q in CATALOG]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z]{3,12}", i) for i in ids)


def test_every_why_is_one_line_grounded_in_a_real_card() -> None:
    cards = known_card_ids()
    for q in (*CATALOG, USE_CASE):
        assert q.why_card in cards, q.id
        assert q.why and "\n" not in q.why and len(q.why) <= 200


def test_choice_options_are_valid_values_for_their_field() -> None:
    for q in CATALOG:
        for option in q.options:
            if option.value == "none" and q.kind in ("multi", "checklist"):
                continue
            if q.kind == "yesno":
                assert option.value in ("yes", "no")
                continue
            field = (
                q.group_field if q.kind == "checklist" and option.value not in q.fields else None
            )
            field = field or (option.value if q.kind == "checklist" else q.fields[0])
            value: Any = True if q.kind == "checklist" and field == option.value else option.value
            if q.kind == "multi":
                value = [option.value]
            Profile.model_validate({"use_case": "x", field: value})


def test_free_text_questions_show_an_example_and_choice_questions_list_options() -> None:
    for q in CATALOG:
        assert q.example
        if q.kind in ("choice", "multi", "yesno", "checklist"):
            assert q.options and len(q.options) <= 10  # Slack checkbox/button limit
        else:
            assert not q.options


@pytest.mark.parametrize("question", [q for q in CATALOG if q.options], ids=lambda q: q.id)
def test_option_numbers_pick_the_option_at_that_position(question: Any) -> None:
    for number, option in enumerate(question.options, start=1):
        by_number = parse_answer(question, str(number))
        by_button = parse_choice(question, [option.value])
        assert by_number.ok and by_number.values == by_button.values, (number, option.value)


@pytest.mark.parametrize("question", [q for q in CATALOG if q.options], ids=lambda q: q.id)
def test_option_labels_typed_back_pick_that_option(question: Any) -> None:
    for option in question.options:
        assert (
            parse_answer(question, option.label).values
            == parse_choice(question, [option.value]).values
        ), option.label


def test_lookups_by_id_and_field() -> None:
    assert spec("eval").fields == ["eval_set_size", "baseline_score", "target_score"]
    assert question_for_field("deployment").id == "constraints"
    assert question_for_field("use_case") is USE_CASE
    with pytest.raises(KeyError):
        spec("nope")
    with pytest.raises(KeyError):
        question_for_field("nope")


def test_a_turn_carries_the_question_and_progress() -> None:
    turn = to_turn(spec("task"), 4, 10, hint="Pick one option.")
    assert isinstance(turn, Question)
    assert (turn.id, turn.number, turn.total, turn.hint) == ("task", 4, 10, "Pick one option.")
    assert turn.why_card == "hybrid-layering" and len(turn.options) == 9
    assert to_turn(spec("task"), 5, 3).total == 5  # never "question 5 of 3"


# --- order and skipping ----------------------------------------------------------------------


def blank() -> Profile:
    return Profile(use_case="Route support emails")


def test_the_interview_opens_with_the_task_and_what_hurts() -> None:
    asked: list[str] = []
    profile = blank()
    for _ in range(3):
        q = next_question(profile, set(asked))
        assert q is not None
        asked.append(q.id)
    assert asked == ["task", "problems", "knowledge"]


def test_a_skipped_question_is_not_asked_again() -> None:
    assert next_question(blank(), {"task"}).id == "problems"  # type: ignore[union-attr]
    assert next_question(blank(), {"task", "problems", "knowledge"}).id == "stable"  # type: ignore[union-attr]


def test_known_fields_are_not_asked() -> None:
    profile = blank().model_copy(update={"task_type": TaskType.extraction, "problems": []})
    assert next_question(profile, set()).id == "knowledge"  # type: ignore[union-attr]


def test_knowledge_problems_settle_the_facts_question() -> None:
    profile = blank().model_copy(update={"problems": [Problem.hallucination]})
    assert "knowledge_changes" not in relevant_fields(profile)


def test_no_eval_set_means_no_score_questions() -> None:
    profile = blank().model_copy(update={"eval_set_size": 0})
    assert {"baseline_score", "target_score"}.isdisjoint(relevant_fields(profile))


@pytest.mark.parametrize(
    "update",
    [
        {"task_type": TaskType.agent},
        {"task_type": TaskType.conversation},
        {"task_stable": False},
        {"labeled_examples": 150},
        {"labels_clean": False},
        {"data_cleared": False},
        # volume too low, and the only exception that relaxes it cannot apply
        {"monthly_volume": 1_000, "deployment": Deployment.hosted_api},
        # nobody owns retraining on a hosted API
        {"retraining_owner": "", "deployment": Deployment.private_cloud},
        # no eval, too few examples for the strong-dataset exception, hosted, modest volume
        {
            "eval_set_size": 0,
            "labeled_examples": 500,
            "monthly_volume": 100_000,
            "deployment": Deployment.hosted_api,
        },
    ],
)
def test_fine_tuning_questions_are_dropped_once_fine_tuning_is_ruled_out(
    update: dict[str, Any],
) -> None:
    profile = blank().model_copy(update=update)
    assert not fine_tuning_possible(profile)
    rel = relevant_fields(profile)
    for field in ("retraining_owner", "monthly_volume", "avg_input_tokens", "data_cleared"):
        assert field not in rel


@pytest.mark.parametrize(
    "update",
    [
        {},
        # no eval, but the exceptions may still apply
        {"eval_set_size": 0},
        {"eval_set_size": 0, "labeled_examples": 5_000, "labels_clean": True},
        {"monthly_volume": 1_000},  # an edge deployment would relax the volume gate
        {"retraining_owner": "", "deployment": Deployment.on_prem},
    ],
)
def test_fine_tuning_questions_stay_while_fine_tuning_is_possible(update: dict[str, Any]) -> None:
    profile = blank().model_copy(update=update)
    assert fine_tuning_possible(profile)
    assert {"task_stable", "labeled_examples", "deployment"} <= relevant_fields(profile)


def test_brand_voice_is_not_asked_of_a_classifier() -> None:
    profile = blank().model_copy(update={"task_type": TaskType.classification, "problems": []})
    assert "brand_voice" not in relevant_fields(profile)
    voice = profile.model_copy(update={"problems": [Problem.off_voice]})
    assert "brand_voice" in relevant_fields(voice)


def test_human_review_matters_only_when_mistakes_are_costly() -> None:
    low = blank().model_copy(update={"error_cost": ErrorCost.low})
    high = blank().model_copy(update={"error_cost": ErrorCost.critical})
    assert "human_review" not in relevant_fields(low)
    assert "human_review" in relevant_fields(high)


def test_missing_fields_respects_skipped_fields() -> None:
    assert missing_fields(spec("eval"), blank(), {"baseline_score"}) == [
        "eval_set_size",
        "target_score",
    ]
    assert missing_fields(spec("eval"), blank(), {"eval"}) == []


def test_nothing_is_left_to_ask_once_everything_is_known() -> None:
    full = blank().model_copy(
        update={
            "task_type": TaskType.classification,
            "problems": [],
            "task_stable": True,
            "techniques_tried": list(Rung),
            "eval_set_size": 100,
            "baseline_score": 0.8,
            "target_score": 0.9,
            "labeled_examples": 1000,
            "labels_clean": True,
            "data_cleared": True,
            "monthly_volume": 10_000,
            "error_cost": ErrorCost.low,
            "knowledge_changes": KnowledgeChanges.none,
            "deployment": Deployment.hosted_api,
            "latency_critical": False,
            "cost_pressure": True,
            "retraining_owner": "ML team",
            "human_review": True,
            "brand_voice": False,
            "regulated": False,
            "avg_input_tokens": 1000,
            "avg_output_tokens": 10,
        }
    )
    assert next_question(full, set()) is None
    assert remaining_estimate(full, set()) == 0


# --- whole interviews --------------------------------------------------------------------

TEAMS: dict[str, dict[str, str]] = {
    "nothing built yet, writing copy": {
        "task": "generation",
        "problems": "nothing built yet",
        "knowledge": "no",
        "stable": "yes",
        "tried": "none yet",
        "eval": "no eval yet",
        "examples": "none",
        "stakes": "low",
        "constraints": "none",
    },
    "support bot that needs our docs": {
        "task": "question answering",
        "problems": "it doesn't know our policies and makes stuff up",
        "stable": "yes",
        "tried": "system prompt, few-shot",
        "eval": "200 items, 70% now, need 90%",
        "examples": "none",
        "stakes": "high",
        "constraints": "a person reviews outputs",
    },
    "open-ended agent": {
        "task": "agent",
        "problems": "inconsistent",
        "knowledge": "rarely",
        "tried": "system prompt",
        "eval": "no eval yet",
        "stakes": "medium",
        "constraints": "none",
    },
    "classifier that hit the ceiling": {
        "task": "classification",
        "problems": "accuracy is stuck",
        "knowledge": "no",
        "stable": "yes",
        "tried": "system prompt, few-shot, structured output, decomposition, chain of thought",
        "eval": "500 items, 85% now, need 95%",
        "examples": "about 5,000, clean",
        "cleared": "yes",
        "usage": "2M a month, 1,200 in, 5 out",
        "stakes": "critical",
        "constraints": "cost, regulated, a person reviews outputs",
        "owner": "ML platform team",
    },
    "extraction on the device": {
        "task": "extraction",
        "problems": "too slow",
        "knowledge": "no",
        "stable": "yes",
        "tried": "system prompt",
        "eval": "no eval yet",
        "examples": "about 3,000, clean",
        "cleared": "yes",
        "usage": "1M a month, 500 in, 100 out",
        "stakes": "medium",
        "constraints": "on the device",
        "owner": "mobile team",
    },
    "brand voice with 800 posts": {
        "task": "generation",
        "problems": "it doesn't sound like us",
        "knowledge": "no",
        "stable": "yes",
        "tried": "system prompt",
        "eval": "100 items, 80% now, need 90%",
        "examples": "800, clean",
        "cleared": "yes",
        "usage": "3k a month, 2000 in, 800 out",
        "stakes": "medium",
        "constraints": "brand voice",
        "owner": "nobody",
    },
}


def interview(answers: dict[str, str]) -> tuple[Profile, list[str]]:
    """Answer every question the catalog asks, the way the interview does."""
    profile, asked = blank(), list[str]()
    while (q := next_question(profile, set(asked))) is not None:
        assert q.id not in asked
        parsed = parse_answer(q, answers[q.id])
        assert parsed.ok and not parsed.skipped and not parsed.missing, (q.id, parsed)
        profile, _ = merge(profile, parsed.values, by="team", at="2026-01-01")
        asked.append(q.id)
    return profile, asked


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_a_typical_team_answers_at_most_twelve_questions(team: str) -> None:
    profile, asked = interview(TEAMS[team])
    assert len(asked) <= 12
    # every question asked was still relevant, and nothing that matters is left unknown
    assert all(getattr(profile, f) is not None for f in relevant_fields(profile) - {"use_case"})


def test_teams_without_a_fine_tuning_case_get_short_interviews() -> None:
    lengths = {team: len(interview(answers)[1]) for team, answers in TEAMS.items()}
    assert lengths["open-ended agent"] < lengths["classifier that hit the ceiling"]
    assert lengths["support bot that needs our docs"] <= 8
    assert sorted(lengths.values())[len(lengths) // 2] <= 12  # the median


def test_the_estimate_is_honest_as_the_interview_goes() -> None:
    answers = TEAMS["nothing built yet, writing copy"]
    profile, asked = blank(), list[str]()
    while (q := next_question(profile, set(asked))) is not None:
        estimate = remaining_estimate(profile, set(asked))
        _, rest = interview_from(profile, asked, answers)
        assert estimate >= len(rest) >= 1  # an upper bound that includes this question
        parsed = parse_answer(q, answers[q.id])
        profile, _ = merge(profile, parsed.values, by="team", at="t")
        asked.append(q.id)


def interview_from(
    profile: Profile, asked: list[str], answers: dict[str, str]
) -> tuple[Profile, list[str]]:
    rest: list[str] = []
    while (q := next_question(profile, {*asked, *rest})) is not None:
        profile, _ = merge(profile, parse_answer(q, answers[q.id]).values, by="t", at="t")
        rest.append(q.id)
    return profile, rest


# --- agreement with the policy -------------------------------------------------------------

profiles = st.builds(
    Profile,
    use_case=st.just("x"),
    task_type=st.none() | st.sampled_from(TaskType),
    problems=st.none() | st.lists(st.sampled_from(Problem), max_size=3, unique=True),
    task_stable=st.none() | st.booleans(),
    techniques_tried=st.none() | st.lists(st.sampled_from(Rung), max_size=8, unique=True),
    eval_set_size=st.none() | st.sampled_from([0, 50, 400]),
    baseline_score=st.none() | st.sampled_from([0.7, 0.9]),
    target_score=st.none() | st.sampled_from([0.8, 0.95]),
    labeled_examples=st.none() | st.sampled_from([0, 150, 500, 5_000]),
    labels_clean=st.none() | st.booleans(),
    data_cleared=st.none() | st.booleans(),
    monthly_volume=st.none() | st.sampled_from([1_000, 7_000, 200_000, 50_000_000]),
    error_cost=st.none() | st.sampled_from(ErrorCost),
    knowledge_changes=st.none() | st.sampled_from(KnowledgeChanges),
    deployment=st.none() | st.sampled_from(Deployment),
    latency_critical=st.none() | st.booleans(),
    cost_pressure=st.none() | st.booleans(),
    retraining_owner=st.none() | st.sampled_from(["", "ML team"]),
)


def complete(profile: Profile, data: st.DataObject) -> Profile:
    """Fill every unknown field the way some team could answer it."""
    filled = profile.model_dump()
    choices: dict[str, list[Any]] = {
        "task_type": list(TaskType),
        "problems": [[], [Problem.accuracy_plateau], [Problem.missing_knowledge]],
        "task_stable": [True, False],
        "techniques_tried": [[], list(Rung)],
        "eval_set_size": [0, 400],
        "baseline_score": [0.7, 0.99],
        "target_score": [0.9],
        "labeled_examples": [0, 300, 5_000],
        "labels_clean": [True, False],
        "data_cleared": [True, False],
        "monthly_volume": [1_000, 100_000, 40_000_000],
        "error_cost": list(ErrorCost),
        "knowledge_changes": list(KnowledgeChanges),
        "deployment": list(Deployment),
        "latency_critical": [True, False],
        "cost_pressure": [True, False],
        "retraining_owner": ["", "ML team"],
        "human_review": [True, False],
        "brand_voice": [True, False],
        "regulated": [True, False],
        "avg_input_tokens": [1_000],
        "avg_output_tokens": [100],
    }
    for field, options in choices.items():
        if filled[field] is None:
            filled[field] = data.draw(st.sampled_from(options), label=field)
    return Profile.model_validate(filled)


@settings(max_examples=300, deadline=None)
@given(profile=profiles, data=st.data())
def test_ruling_fine_tuning_out_agrees_with_the_policy(profile: Profile, data: Any) -> None:
    """If the questions stop asking about fine-tuning, no answer to them could justify it."""
    policy = pytest.importorskip("graph.policy")
    cost = pytest.importorskip("graph.cost")
    if fine_tuning_possible(profile):
        return
    finished = complete(profile, data)
    assert not policy.assess(finished, cost.load_prices()).fine_tuning_justified
