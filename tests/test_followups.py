"""'why?' and follow-up questions add what the card says beyond the question's why line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.card_notes import beyond, sentences
from graph.followups import FollowUps
from graph.questions import CATALOG, USE_CASE, QuestionSpec
from knowledge.cards import card

SPECS = (*CATALOG, USE_CASE)


@pytest.fixture(scope="module")
def followups(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FollowUps]:
    found = FollowUps(tmp_path_factory.mktemp("kb") / "advisor.db", None)
    yield found
    found.close()


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d[\d,]*", text))


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_why_adds_a_sentence_of_the_card_beyond_the_why_line(
    followups: FollowUps, spec: QuestionSpec
) -> None:
    text = followups.answer("why?", spec, interview_id="t")["text"]
    added = [s for s in sentences(card(spec.why_card).body) if s in text and s not in spec.why]
    assert added, text
    # the card is cited where its words are used, not only in the citation list
    assert f"[{spec.why_card}]" in text
    # and what is added is not the why line again
    assert len(text) > len(f"Why I ask: {spec.why}") + 60


@pytest.mark.parametrize("question", ["examples", "usage", "eval", "owner", "stable"])
def test_why_on_a_gate_question_gives_a_figure_the_line_does_not(
    followups: FollowUps, question: str
) -> None:
    spec = next(s for s in CATALOG if s.id == question)
    text = followups.answer("why do you ask?", spec, interview_id="t")["text"]
    assert _numbers(text) - _numbers(spec.why), text


def test_why_on_examples_names_the_documents_that_disagree(followups: FollowUps) -> None:
    spec = next(s for s in CATALOG if s.id == "examples")
    text = followups.answer("why?", spec, interview_id="t")["text"]
    # the handbook's floor is in the line; the card's higher bars from other documents are not
    assert "500 to 10,000" in text and "practitioner essay" in text


def test_a_follow_up_on_the_why_card_quotes_more_than_its_line(followups: FollowUps) -> None:
    spec = next(s for s in CATALOG if s.id == "usage")
    text = followups.answer("why does volume matter for fine-tuning?", spec, interview_id="t")[
        "text"
    ]
    # the top card is the one behind the why line: its opening would say the line again
    assert f"[{spec.why_card}]" in text, text
    assert "5,000 to 10,000" in text and "break-even" not in text.split("\n")[0].lower()


def test_beyond_skips_sentences_the_known_line_already_says(tmp_path: Path) -> None:
    body = (
        "Fine-tuning needs 200 clean labelled examples before it is worth trying at all.\n\n"
        "The practitioner essay says 500 to 10,000 examples is the minimum, though a team "
        "can start smaller."
    )
    assert beyond(body, "Fine-tuning needs 200 clean labelled examples.") == [
        "The practitioner essay says 500 to 10,000 examples is the minimum, though a team "
        "can start smaller."
    ]
    assert beyond("Short.", "anything") == []
