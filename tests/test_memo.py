"""The decision memo reads right for three very different teams, and its status can change."""

from __future__ import annotations

import re
from typing import Any

import pytest

from graph.assessment import Assessment, Gate
from graph.cost import load_prices
from graph.decisions import set_status
from graph.memo import FIELD_LABELS, GATE_NAMES, memo_title, render_memo, restatus
from graph.memo import card_citation as citation
from graph.policy import OPEN_QUESTION, assess
from graph.profile import Profile, Provenance, merge
from graph.questions import relevant_fields
from graph.store import Store

SECTIONS = (
    "## Context and problem",
    "## Decision drivers",
    "## Considered options",
    "## Decision outcome",
    "## The five questions before fine-tuning",
    "## Fine-tuning gates",
    "## Cost delta",
    "## Risks",
    "## Open questions",
    "## Validation plan",
    "## Answers as recorded",
    "## Sources",
)

TEAMS: dict[str, dict[str, Any]] = {
    # A narrow, stable, high-volume classifier that has climbed the ladder.
    "router": dict(
        use_case="Route support tickets to one of 12 queues",
        task_type="classification",
        problems=["accuracy_plateau"],
        task_stable=True,
        techniques_tried=["system_prompt", "few_shot", "structured_output", "decomposition"],
        eval_set_size=400,
        baseline_score=0.82,
        target_score=0.95,
        labeled_examples=3000,
        labels_clean=True,
        data_cleared=True,
        monthly_volume=2_000_000,
        error_cost="medium",
        knowledge_changes="none",
        deployment="hosted_api",
        latency_critical=True,
        cost_pressure=True,
        retraining_owner="ML platform team",
        human_review=False,
        avg_input_tokens=1500,
        avg_output_tokens=20,
    ),
    # A policy Q&A bot that lacks the facts; little known beyond that.
    "hr_bot": dict(
        use_case="Answer employee questions about HR policy",
        task_type="question_answering",
        problems=["missing_knowledge", "hallucination"],
        knowledge_changes="often",
        monthly_volume=3000,
        eval_set_size=0,
    ),
    # A marketing drafter whose voice is off and whose brief keeps moving.
    "drafts": dict(
        use_case="Draft marketing emails",
        task_type="generation",
        problems=["off_voice"],
        task_stable=False,
        techniques_tried=["system_prompt"],
        labeled_examples=50,
        monthly_volume=2000,
        human_review=True,
    ),
}


def _memo(team: str, provenance: list[Provenance] | None = None) -> tuple[str, Assessment]:
    profile = Profile(**TEAMS[team])
    assessment = assess(profile, load_prices())
    markdown = render_memo(
        profile,
        assessment,
        provenance or [],
        date="2026-01-15",
        deciders=["dana", "lee"],
        thread_link="https://example.slack.com/archives/C1/p123",
        citations_lookup=lambda card_id: citation(card_id, for_memo=True),
    )
    return markdown, assessment


def _section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    rest = markdown[start + len(heading) :]
    end = rest.find("\n## ")
    return rest if end < 0 else rest[:end]


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_every_section_is_present_in_order(team: str) -> None:
    markdown, assessment = _memo(team)
    positions = [markdown.index(heading) for heading in SECTIONS]
    assert positions == sorted(positions)
    assert markdown.startswith(f"# {memo_title(Profile(**TEAMS[team]), assessment)}\n")
    assert "- **Status:** proposed" in markdown
    assert "- **Date:** 2026-01-15" in markdown
    assert "- **Deciders:** dana, lee" in markdown
    assert "- **Thread:** https://example.slack.com/archives/C1/p123" in markdown


def test_fine_tuning_team_gets_fine_tuning_with_costs_and_a_retraining_plan() -> None:
    markdown, assessment = _memo("router")
    assert assessment.approach.value == "fine_tuning"
    assert markdown.startswith("# Decision: Fine-tuning for “Route support tickets to one of 12")
    assert "### Fine-tuning (chosen)" in markdown
    assert "**Next rung: fine-tuning**" in markdown
    cost = _section(markdown, "## Cost delta")
    assert assessment.cost is not None
    assert "| Per call |" in cost and "Per month (2,000,000 calls)" in cost
    assert "Break-even" in cost
    plan = _section(markdown, "## Validation plan")
    assert "precision, recall and F1" in plan
    assert "Retrain 2–4 times a year" in plan and "ML platform team" in plan
    assert "drift" in plan and "out-of-distribution" in plan


def test_rag_team_gets_rag_and_open_questions_for_what_is_unknown() -> None:
    markdown, assessment = _memo("hr_bot")
    assert assessment.approach.value == "rag"
    assert "### Retrieval (RAG) (chosen)" in markdown
    assert "**Next rung: retrieval (RAG)**" in markdown
    cost = _section(markdown, "## Cost delta")
    assert "Not computed" in cost and "input tokens per call" in cost
    opens = _section(markdown, "## Open questions")
    asked_now, not_asked = opens.split("Not asked")
    assert assessment.open_questions
    for question in assessment.open_questions:
        field = next(f for f, text in OPEN_QUESTION.items() if text == question)
        if field in relevant_fields(Profile(**TEAMS["hr_bot"])):
            assert f"- {question}" in asked_now
        else:
            assert FIELD_LABELS[field] in not_asked
    plan = _section(markdown, "## Validation plan")
    assert "Build the eval set first" in plan
    assert "Retrain 2–4 times a year" not in plan


def test_prompting_team_is_told_the_next_prompt_rung_and_why_not_fine_tuning() -> None:
    markdown, assessment = _memo("drafts")
    assert assessment.approach.value == "prompt_engineering"
    assert assessment.next_rung is not None and assessment.next_rung.value == "few_shot"
    assert "**Next rung: few-shot examples**" in markdown
    outcome = _section(markdown, "## Decision outcome")
    assert "narrow and stable task" in outcome
    assert "Prompt-level fixes exist for off voice" in markdown
    assert "Track how often reviewers edit or reject outputs" in markdown


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_gates_table_and_five_questions_match_the_assessment(team: str) -> None:
    markdown, assessment = _memo(team)
    gates = _section(markdown, "## Fine-tuning gates")
    for gate in Gate:
        status = assessment.gates[gate].value
        row = re.search(rf"^\| {re.escape(GATE_NAMES[gate])} \| (.+?) \|", gates, re.MULTILINE)
        assert row is not None, gate
        assert row.group(1).endswith(status)
    five = _section(markdown, "## The five questions before fine-tuning")
    icons = {"yes": "✅", "no": "❌", "unknown": "❓"}
    for q in assessment.escalation_questions:
        assert f"| {icons[q.status.value]} | {q.question} |" in five


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_sources_name_each_cited_card_and_its_guidance_documents(team: str) -> None:
    markdown, assessment = _memo(team)
    sources = _section(markdown, "## Sources")
    assert assessment.citations
    for card_id in assessment.citations:
        found = citation(card_id)
        assert found is not None
        assert f"**{found.title}** (`{card_id}`)" in sources
        for title in found.sources:
            assert f"*{title}*" in sources


def test_answers_as_recorded_show_who_said_what_and_later_changes() -> None:
    profile = Profile(**TEAMS["router"])
    _, first = merge(
        profile,
        {"monthly_volume": 200_000},
        by="dana",
        at="2026-01-15T09:30:00+00:00",
        said="about 200k a month",
    )
    _, second = merge(
        profile,
        {"monthly_volume": 2_000_000},
        by="lee",
        at="2026-01-15T09:40:00+00:00",
        said="change volume to 2M",
    )
    markdown, _ = _memo("router", [*first, *second])
    table = _section(markdown, "## Answers as recorded")
    assert "| about 200k a month | ~~calls per month: 200,000~~ (changed later) | dana |" in table
    assert "| change volume to 2M | calls per month: 2,000,000 | lee | 2026-01-15 09:40 |" in table


def test_status_line_is_rewritten_with_who_and_when() -> None:
    markdown, _ = _memo("drafts")
    accepted = restatus(markdown, "accepted", by="dana", date="2026-02-01")
    assert "- **Status:** accepted (by dana, 2026-02-01)" in accepted
    assert "- **Status:** proposed" not in accepted
    assert restatus(accepted, "proposed").count("- **Status:** proposed\n") == 1


def test_memo_status_change_is_reflected_in_the_stored_markdown() -> None:
    markdown, assessment = _memo("hr_bot")
    store = Store()
    record = store.save_memo(
        interview_id="cli:abc",
        version=1,
        markdown=markdown,
        assessment=assessment.model_dump(mode="json"),
        use_case=TEAMS["hr_bot"]["use_case"],
    )
    updated = set_status(store, record.id, "rejected", "lee", at="2026-03-02T10:00:00+00:00")
    assert updated.status == "rejected" and updated.decided_by == "lee"
    stored = store.get_memo(record.id)
    assert stored is not None
    assert "- **Status:** rejected (by lee, 2026-03-02)" in stored.markdown
    with pytest.raises(ValueError):
        set_status(store, record.id, "maybe", "lee")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        set_status(store, "nope", "accepted", "lee")


def test_a_fine_tune_that_pays_back_slowly_is_flagged_in_the_outcome() -> None:
    slow = Profile(**{**TEAMS["router"], "monthly_volume": 150_000})
    assessment = assess(slow, load_prices())
    assert assessment.approach.value == "fine_tuning" and assessment.cost is not None
    assert (assessment.cost.break_even_months or 99) > 12
    markdown = render_memo(slow, assessment, [], date="2026-01-15")
    assert "Mind the cost" in _section(markdown, "## Decision outcome")
    fast, _ = _memo("router")
    assert "Mind the cost" not in fast


def test_a_long_opening_is_quoted_under_context_and_shortened_in_the_answers_table() -> None:
    opening = (
        "We answer employee questions about HR policy. The handbook changes every month, "
        "the bot invents rules it has never seen, and people escalate to HR anyway. "
    ) * 3
    title = TEAMS["hr_bot"]["use_case"]
    said = " ".join(opening.split())
    records = [Provenance(field="use_case", value=title, by="dana", at="2026-01-15", said=said)]
    markdown, _ = _memo("hr_bot", records)
    context = _section(markdown, "## Context and problem")
    assert f"**Use case:** {title}\n\n> {said}\n" in context
    row = next(line for line in _section(markdown, "## Answers as recorded").splitlines()[4:])
    assert said[:100] in row and said not in row and "in full under Context and problem" in row

    short = [Provenance(field="use_case", value=title, by="dana", at="2026-01-15", said=title)]
    markdown, _ = _memo("hr_bot", short)
    assert "\n> " not in _section(markdown, "## Context and problem")  # no quote of a title
