"""The decision memo: decision first, short, cited where it is said, and right for the team.

Memos are read the way a reviewer reads them: rendered by GitHub's markdown engine
(tests/rendered.py), then checked on the visible text.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from rendered import body, view

from graph.assessment import Assessment
from graph.cost import load_prices
from graph.decisions import set_status
from graph.labels import APPROACH, FIELD, OPEN_QUESTION, RUNG, months
from graph.memo import card_citation, memo_title, render_memo, restatus
from graph.policy import assess
from graph.profile import Profile, Provenance, merge
from graph.questions import relevant_fields
from graph.store import Store
from knowledge.cards import card_ids

SECTIONS = (
    "Summary",
    "Context and problem",
    "Decision drivers",
    "Considered options",
    "Decision outcome",
    "The five questions before fine-tuning",
    "Fine-tuning gates",
    "Cost delta",
    "Risks",
    "Open questions",
    "Validation plan",
    "Answers as recorded",
    "Sources",
    "Profile",
)
BELOW_RAG = ["system_prompt", "few_shot", "structured_output", "chain_of_thought", "decomposition"]
READY: dict[str, Any] = dict(
    task_type="classification",
    problems=["accuracy_plateau"],
    task_stable=True,
    techniques_tried=BELOW_RAG,
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
    brand_voice=False,
    regulated=False,
    avg_input_tokens=1500,
    avg_output_tokens=20,
)

# One team for each approach, and one fine-tuning on the self-hosted exception.
TEAMS: dict[str, dict[str, Any]] = {
    "fine_tuning": dict(READY, use_case="Route support tickets to one of 12 queues"),
    "hybrid": dict(
        READY,
        use_case="Tag insurance claims with the policy clauses they touch",
        task_type="extraction",
        problems=["hallucination"],
        knowledge_changes="often",
        techniques_tried=[*BELOW_RAG, "rag"],
        regulated=True,
    ),
    "rag": dict(
        use_case="Answer employee questions about HR policy",
        task_type="question_answering",
        problems=["missing_knowledge", "hallucination"],
        knowledge_changes="often",
        techniques_tried=["system_prompt"],
        monthly_volume=3000,
        eval_set_size=0,
    ),
    "prompt_engineering": dict(
        use_case="Draft marketing emails",
        task_type="generation",
        problems=["off_voice"],
        task_stable=False,
        techniques_tried=["system_prompt"],
        labeled_examples=50,
        monthly_volume=2000,
        human_review=True,
        brand_voice=True,
    ),
    "self_hosted": dict(
        use_case="Read meter photos on a handheld device",
        task_type="extraction",
        problems=["too_slow"],
        task_stable=True,
        techniques_tried=["system_prompt"],
        eval_set_size=200,
        baseline_score=0.7,
        target_score=0.9,
        labeled_examples=2000,
        labels_clean=True,
        data_cleared=True,
        monthly_volume=40_000,
        deployment="edge",
        retraining_owner="",
        knowledge_changes="none",
        avg_input_tokens=800,
        avg_output_tokens=30,
    ),
}
EXPECTED = {
    "fine_tuning": ("fine_tuning", None),
    "hybrid": ("hybrid", None),
    "rag": ("rag", None),
    "prompt_engineering": ("prompt_engineering", None),
    "self_hosted": ("fine_tuning", "self_hosted_small_model"),
}
CITATION = re.compile(r"\[([a-z0-9]+(?:-[a-z0-9]+)*(?:, [a-z0-9]+(?:-[a-z0-9]+)*)*)\]")


def recorded(fields: dict[str, Any], by: str = "dana") -> list[Provenance]:
    """One answer per field, as the interview records them."""
    profile = Profile.model_validate(fields)
    records: list[Provenance] = []
    for name, value in fields.items():
        _, new = merge(profile, {name: value}, by=by, at="2026-01-15T09:30:00", said=str(value))
        records += new
    return records


def memo(
    fields: dict[str, Any], provenance: list[Provenance] | None = None, **extra: Any
) -> tuple[str, Assessment]:
    profile = Profile.model_validate(fields)
    assessment = assess(profile, load_prices())
    markdown = render_memo(
        profile,
        assessment,
        recorded(fields) if provenance is None else provenance,
        date="2026-01-15",
        deciders=["dana", "lee"],
        thread_link="https://example.slack.com/archives/C1/p123",
        citations_lookup=lambda card_id: card_citation(card_id, for_memo=True),
        **extra,
    )
    return markdown, assessment


def section(markdown: str, heading: str) -> str:
    start = markdown.index(f"\n## {heading}\n") + len(heading) + 5
    end = markdown.find("\n## ", start)
    return markdown[start:] if end < 0 else markdown[start:end]


def cited_in(text: str) -> set[str]:
    return {card for group in CITATION.findall(text) for card in group.split(", ")}


def source_ids(markdown: str) -> list[str]:
    return re.findall(r"^- \\\[([a-z0-9-]+)\\\]", section(markdown, "Sources"), re.MULTILINE)


# --- every approach: shape, length, decision first, citations ---------------------------


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_each_approach_gets_its_decision(team: str) -> None:
    _, assessment = memo(TEAMS[team])
    approach, exception = EXPECTED[team]
    assert assessment.approach.value == approach
    assert (assessment.exception.value if assessment.exception else None) == exception


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_every_section_is_present_in_madr_order(team: str) -> None:
    markdown, assessment = memo(TEAMS[team])
    shown = view(markdown).headings()
    assert shown[0] == memo_title(Profile(**TEAMS[team]), assessment).replace("\\", "")
    h2 = [h for h in shown[1:] if h in SECTIONS]
    assert h2 == list(SECTIONS)
    assert "- **Status:** proposed" in markdown
    assert "- **Deciders:** dana, lee" in markdown


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_the_body_before_the_appendix_is_at_most_900_words(team: str) -> None:
    markdown, _ = memo(TEAMS[team])
    words = view(body(markdown)).words()
    assert 250 < len(words) <= 900, len(words)


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_the_first_150_words_give_approach_next_rung_reason_and_what_is_open(team: str) -> None:
    markdown, assessment = memo(TEAMS[team])
    first = " ".join(view(markdown).words()[:150])
    assert f"Approach: {APPROACH[assessment.approach]}." in first
    rung = RUNG[assessment.next_rung] if assessment.next_rung else "none"
    assert f"Next rung: {rung}" in first
    why = re.search(r"Why: (.+?\.) Still open: (.+?\.)", first)
    assert why is not None, first
    assert len(why.group(1).split()) >= 8  # a real reason, with its card
    assert CITATION.search(why.group(1))


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_sources_are_exactly_the_cards_cited_in_the_body(team: str) -> None:
    markdown, _ = memo(TEAMS[team])
    cited = cited_in(body(markdown))
    sources = source_ids(markdown)
    assert cited and set(sources) == cited  # nothing cited unsourced, nothing sourced uncited
    assert len(sources) == len(set(sources))
    assert cited <= card_ids()
    listing = section(markdown, "Sources")
    for card_id in sources:
        found = card_citation(card_id, for_memo=True)
        assert found is not None and found.sources
        line = next(x for x in listing.splitlines() if f"\\[{card_id}\\]" in x)
        assert all(title.split(" (")[0] in line for title in found.sources), line


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_gate_reasons_and_answers_carry_their_cards_where_they_are_said(team: str) -> None:
    markdown, _assessment = memo(TEAMS[team])
    rows = view(section(markdown, "The five questions before fine-tuning")).cells()[1:]
    assert len(rows) == 5 and all(CITATION.search(answer) for _, answer, _ in rows)
    for step in re.findall(r"^\d+\. .+$", section(markdown, "Decision outcome"), re.MULTILINE):
        assert CITATION.search(step), step
    for risk in re.findall(r"^- .+$", section(markdown, "Risks"), re.MULTILINE):
        assert CITATION.search(risk) or "None particular" in risk, risk


def test_sources_are_few_for_a_rag_decision_and_not_fine_tuning_cards() -> None:
    markdown, _ = memo(TEAMS["rag"])
    sources = source_ids(markdown)
    assert sources[0] == "rag-vs-fine-tuning" and "lookalike-hallucination" in sources
    assert not [s for s in sources if s.startswith("exception-")]
    assert "fine-tuning-example-counts" not in sources and len(sources) <= 16


# --- the decision's words ---------------------------------------------------------------


def test_a_team_held_back_only_by_unknowns_is_told_what_would_settle_it() -> None:
    documents = dict(
        READY,
        use_case="Classify incoming documents into 14 types",
        latency_critical=None,
        cost_pressure=None,
        retraining_owner=None,
        labeled_examples=5000,
        baseline_score=0.81,
        target_score=0.93,
    )
    markdown, assessment = memo(documents)
    assert assessment.next_rung is not None and assessment.next_rung.value == "bigger_model"
    summary = view(section(markdown, "Summary")).text
    assert (
        "Still open: fine-tuning may be justified: confirm cost or latency pressure and the "
        "retraining owner [fine-tuning-conditions]."
    ) in summary
    assert "Next rung: a bigger model." in summary
    retrieval = view(section(markdown, "Considered options")).text
    assert "so it fixes nothing" in retrieval


def test_a_fine_tune_that_pays_back_slowly_is_flagged_in_the_outcome() -> None:
    markdown, assessment = memo(dict(TEAMS["fine_tuning"], monthly_volume=150_000))
    assert assessment.cost is not None and (assessment.cost.break_even_months or 99) > 12
    assert "Mind the cost" in section(markdown, "Decision outcome")
    fast, _ = memo(TEAMS["fine_tuning"])
    assert "Mind the cost" not in fast


@pytest.mark.parametrize(
    ("changes", "reads"),
    [
        ({"task_type": "extraction"}, "It is an extraction task"),
        ({"task_type": "classification"}, "It is a classification task"),
        ({"error_cost": "high"}, "A wrong answer is costly"),
        ({"error_cost": "critical"}, "A wrong answer does serious harm"),
        ({"labeled_examples": 1, "labels_clean": None}, "1 labelled example,"),
        ({"monthly_volume": 1}, "1 call a month"),
        ({"eval_set_size": 80, "baseline_score": 0.5, "target_score": 0.8}, "an 80% target"),
        ({"eval_set_size": 800}, "On an 800-item eval"),
    ],
)
def test_values_read_as_a_person_would_write_them(changes: dict[str, Any], reads: str) -> None:
    markdown, _ = memo(dict(TEAMS["fine_tuning"], **changes))
    text = view(body(markdown)).text
    assert reads in text
    assert "costs: " not in text and "a extraction" not in text and "1 months" not in text


def test_a_month_is_one_month_and_less_is_less() -> None:
    assert (months(0.4), months(1.0), months(1.04), months(2.5)) == (
        "less than a month",
        "1 month",
        "1 month",
        "2.5 months",
    )


def test_regulated_data_not_cleared_for_training_is_a_risk() -> None:
    for cleared in (False, None):
        markdown, _ = memo(dict(TEAMS["hybrid"], data_cleared=cleared))
        risks = view(section(markdown, "Risks")).text
        assert "The work is regulated and its data is not" in risks


def test_a_team_whose_data_is_cleared_is_never_told_to_redact_it() -> None:
    markdown, _ = memo(TEAMS["hybrid"])  # regulated, data cleared
    advice = " ".join(
        view(section(markdown, name)).text for name in ("Decision outcome", "Risks", "Summary")
    )
    assert "redact" not in advice.lower()
    not_cleared, _ = memo(dict(TEAMS["fine_tuning"], data_cleared=False))
    steps = view(section(not_cleared, "Decision outcome")).text
    assert "Get sign-off to train on the data" in steps and "Redact" not in steps


def test_generic_advice_the_same_for_every_team_is_not_in_the_body() -> None:
    for team in TEAMS:
        text = view(body(memo(TEAMS[team])[0])).text
        for generic in (
            "Changes take hours and need no training data",
            "No training data needed",
            "The question is whether to keep improving the prompt",
            "Check out-of-distribution inputs separately",
        ):
            assert generic not in text, (team, generic)


# --- the appendix -----------------------------------------------------------------------


def test_answers_as_recorded_show_who_said_what_and_later_changes() -> None:
    profile = Profile(**TEAMS["fine_tuning"])
    _, first = merge(
        profile,
        {"monthly_volume": 200_000},
        by="dana",
        at="2026-01-15T09:30",
        said="about 200k a month",
    )
    _, second = merge(
        profile,
        {"monthly_volume": 2_000_000},
        by="lee",
        at="2026-01-15T09:40",
        said="change volume to 2M",
    )
    markdown, _ = memo(TEAMS["fine_tuning"], [*first, *second])
    rows = view(section(markdown, "Answers as recorded")).cells()
    assert rows[0] == ["Question", "Answer", "Recorded as", "Who", "When"]
    assert rows[1][1:] == [
        "about 200k a month",
        "calls per month: 200,000 (changed later)",
        "dana",
        "2026-01-15 09:30",
    ]
    assert "~~calls per month: 200,000~~" in markdown
    assert rows[2][1:] == [
        "change volume to 2M",
        "calls per month: 2,000,000",
        "lee",
        "2026-01-15 09:40",
    ]


def test_back_and_other_commands_get_no_row_in_the_answers() -> None:
    profile = Profile(**TEAMS["rag"])
    _, said = merge(profile, {"monthly_volume": 3000}, by="dana", at="2026-01-15T09:30", said="3k")
    _, back = merge(
        profile, {"monthly_volume": None}, by="dana", at="2026-01-15T09:31", said="back"
    )
    _, skip = merge(profile, {"eval_set_size": None}, by="dana", at="2026-01-15T09:32", said="skip")
    markdown, _ = memo(TEAMS["rag"], [*said, *back, *skip])
    rows = view(section(markdown, "Answers as recorded")).cells()
    assert [row[1] for row in rows[1:]] == ["3k"]
    assert "(taken back)" in rows[1][2]


def test_a_long_opening_is_kept_whole_in_the_profile_and_never_cut() -> None:
    opening = (
        "We answer employee questions about HR policy. The handbook changes every month, "
        "the bot invents rules it has never seen, and people escalate to HR anyway. "
    ) * 6
    said = " ".join(opening.split())
    title = "We answer employee questions about HR policy"
    records = [Provenance(field="use_case", value=title, by="dana", at="2026-01-15", said=said)]
    markdown, _ = memo(dict(TEAMS["rag"], use_case=title), records)
    rendered = view(markdown)
    assert rendered.headings()[0] == f"Decision: Retrieval (RAG) for “{title}”"
    assert f"Use case, in the team's words: {said}" in view(section(markdown, "Profile")).text
    profile_json = section(markdown, "Profile").split("```json")[1].split("```")[0]
    assert Profile.model_validate_json(profile_json).use_case == title  # over 500: the title
    assert said not in view(body(markdown)).text  # too long to quote in the body ...
    assert "full description is under Profile" in view(body(markdown)).text  # ... so it points
    row = view(section(markdown, "Answers as recorded")).cells()[1]
    assert row[1].endswith("(in full under Profile)") and said[:150] in row[1]


def test_a_short_opening_is_quoted_under_context() -> None:
    said = "We answer HR questions; the handbook changes monthly and the bot invents rules."
    title = "We answer HR questions"
    records = [Provenance(field="use_case", value=title, by="dana", at="2026-01-15", said=said)]
    markdown, _ = memo(dict(TEAMS["rag"], use_case=title), records)
    quote = view(section(markdown, "Context and problem")).tags("blockquote")
    assert [q.text for q in quote] == [said]
    profile_json = section(markdown, "Profile").split("```json")[1].split("```")[0]
    assert Profile.model_validate_json(profile_json).use_case == said  # in full, re-assessable


def test_the_title_is_the_teams_words_even_when_a_model_summarised_them() -> None:
    said = "we route inbound support emails into twelve queues for our agents and want to know"
    model_title = "AI-powered email triage platform"
    records = [Provenance(field="use_case", value=model_title, by="dana", at="t", said=said)]
    markdown, _ = memo(dict(TEAMS["fine_tuning"], use_case=model_title), records)
    heading = view(markdown).headings()[0]
    assert model_title not in heading and heading.startswith(
        f"Decision: Fine-tuning for “{said[:40]}"
    )


def test_a_use_case_changed_later_is_titled_by_the_new_words_not_the_command() -> None:
    records = [
        Provenance(
            field="use_case", value="Route tickets", by="dana", at="1", said="Route tickets"
        ),
        Provenance(
            field="use_case",
            value="Route support tickets to 12 queues",
            by="lee",
            at="2",
            said="change use case to Route support tickets to 12 queues",
        ),
    ]
    fields = dict(TEAMS["fine_tuning"], use_case="Route support tickets to 12 queues")
    markdown, _ = memo(fields, records)
    assert view(markdown).headings()[0].endswith("“Route support tickets to 12 queues”")
    assert "change use case" not in view(section(markdown, "Context and problem")).text


def test_model_prose_is_labelled_brief_and_keeps_the_body_short() -> None:
    long = "This team has climbed every rung and the numbers show a ceiling. " * 20
    markdown, _ = memo(TEAMS["hybrid"], prose={"context": long, "rationale": long})
    outcome = view(section(markdown, "Decision outcome")).text
    assert "(Written by the model.)" in outcome
    assert len(view(body(markdown)).words()) <= 900


# --- open questions, status -------------------------------------------------------------


def test_open_questions_split_what_could_change_the_decision_from_what_could_not() -> None:
    markdown, assessment = memo(TEAMS["rag"])
    opens = section(markdown, "Open questions")
    asked, _, not_asked = opens.partition("Not asked")
    profile = Profile(**TEAMS["rag"])
    for question in assessment.open_questions:
        field = next(f for f, text in OPEN_QUESTION.items() if text == question)
        if field in relevant_fields(profile):
            assert question in asked
        else:
            assert FIELD[field] in not_asked


def test_status_line_is_rewritten_with_who_and_when() -> None:
    markdown, _ = memo(TEAMS["prompt_engineering"])
    accepted = restatus(markdown, "accepted", by="dana", date="2026-02-01")
    assert "- **Status:** accepted (by dana, 2026-02-01)" in accepted
    assert "- **Status:** proposed" not in accepted
    assert restatus(accepted, "proposed").count("- **Status:** proposed\n") == 1


def test_memo_status_change_is_reflected_in_the_stored_markdown() -> None:
    markdown, assessment = memo(TEAMS["rag"])
    store = Store()
    record = store.save_memo(
        interview_id="cli:abc",
        version=1,
        markdown=markdown,
        assessment=assessment.model_dump(mode="json"),
        use_case=TEAMS["rag"]["use_case"],
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
