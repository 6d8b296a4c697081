"""The interview service: the state machine every front end drives (graph/interview.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from graph import interview as interview_module
from graph.assessment import Assessment
from graph.interview import Interviews
from graph.memo import FIELD_LABELS
from graph.policy import OPEN_QUESTION
from graph.profile import Profile, Provenance
from graph.questions import relevant_fields
from graph.store import Store
from graph.turns import Ended, MemoReady, Question, Reply, Turn
from knowledge.search import Hit

ROUTER = {
    "task": "1",
    "problems": "accuracy is stuck below target and answers are inconsistent",
    "knowledge": "no",
    "stable": "yes",
    "tried": "system prompt, few-shot, structured output and decomposition",
    "eval": "400 items, 82% now, need 95%",
    "examples": "about 3,000, clean",
    "cleared": "yes, legal approved it",
    "usage": "200k a month, ~1,500 in, 20 out",
    "stakes": "2",
    "constraints": "cost",
    "owner": "the ML platform team",
}


def _question(turns: Sequence[Turn]) -> Question:
    assert turns and isinstance(turns[-1], Question), turns
    return turns[-1]


def _replies(turns: Sequence[Turn]) -> list[Reply]:
    return [t for t in turns if isinstance(t, Reply)]


def _finish(
    service: Interviews, iid: str, script: dict[str, str], turns: list[Turn], by: str = "dana"
) -> tuple[MemoReady, list[str]]:
    """Answer every question from ``script`` until the memo; returns it and the ids asked."""
    asked: list[str] = []
    for _ in range(40):
        memos = [t for t in turns if isinstance(t, MemoReady)]
        if memos:
            return memos[-1], asked
        q = _question(turns)
        asked.append(q.id)
        turns = service.reply(iid, script[q.id], by=by)
    raise AssertionError(f"no memo after {asked}")


@pytest.fixture
def service() -> Interviews:
    return Interviews()


def test_a_full_interview_ends_in_a_stored_memo_with_the_right_decision(
    service: Interviews,
) -> None:
    turns = service.start("t:1", use_case="Route support tickets to 12 queues", by="dana")
    assert _question(turns).id == "task"
    memo, asked = _finish(service, "t:1", ROUTER, turns)
    assert memo.assessment["approach"] == "fine_tuning"
    assert len(asked) == len(set(asked)) <= 12
    stored = service.store.get_memo(memo.memo_id)
    assert stored is not None and stored.markdown == memo.markdown
    assert service.store.get_interview("t:1").status == "done"  # type: ignore[union-attr]
    assert service.pending("t:1") is None
    profile = service.profile("t:1")
    assert profile is not None and profile.monthly_volume == 200_000


def test_an_empty_use_case_is_asked_for_first(service: Interviews) -> None:
    turns = service.start("t:2", use_case="", by="dana")
    assert _question(turns).id == "use_case"
    turns = service.reply("t:2", "   ", by="dana")
    again = _question(turns)
    assert again.id == "use_case" and again.hint
    turns = service.reply("t:2", "what is fine-tuning?", by="dana")
    assert _replies(turns)[0].citations and _question(turns).id == "use_case"
    turns = service.reply("t:2", "Summarise customer calls", by="dana")
    q = _question(turns)
    assert q.id == "task" and q.number == 2
    assert service.store.get_interview("t:2").use_case == "Summarise customer calls"  # type: ignore[union-attr]


def test_an_unreadable_answer_is_asked_again_with_a_hint_and_nothing_guessed(
    service: Interviews,
) -> None:
    service.start("t:3", use_case="Route tickets", by="dana")
    turns = service.reply("t:3", "purple monkey dishwasher", by="dana")
    q = _question(turns)
    assert q.id == "task" and q.hint
    profile = service.profile("t:3")
    assert profile is not None and profile.task_type is None


def test_back_asks_the_previous_question_again_with_its_value_cleared(
    service: Interviews,
) -> None:
    service.start("t:4", use_case="Route tickets", by="dana")
    service.reply("t:4", "1", by="dana")
    turns = service.reply("t:4", "it gets the format wrong", by="dana")
    assert _question(turns).id != "problems"
    turns = service.reply("t:4", "back", by="dana")
    assert _question(turns).id == "problems"
    profile = service.profile("t:4")
    assert profile is not None and profile.problems is None and profile.task_type is not None
    turns = service.reply("t:4", "it makes things up", by="dana")
    profile = service.profile("t:4")
    assert profile is not None and [p.value for p in profile.problems or []] == ["hallucination"]


def test_back_on_the_first_question_says_so(service: Interviews) -> None:
    service.start("t:5", use_case="Route tickets", by="dana")
    turns = service.reply("t:5", "back", by="dana")
    assert "first question" in _replies(turns)[0].text
    assert _question(turns).id == "task"


def test_change_mid_interview_revises_the_field_and_asks_the_pending_question_again(
    service: Interviews,
) -> None:
    turns = service.start("t:6", use_case="Route tickets", by="dana")
    for _ in range(9):
        q = _question(turns)
        if q.id == "stakes":
            break
        turns = service.reply("t:6", ROUTER[q.id], by="dana")
    assert _question(turns).id == "stakes"
    turns = service.reply("t:6", "change volume to 50k", by="lee")
    assert "calls per month: 50,000" in _replies(turns)[0].text
    assert _question(turns).id == "stakes"
    profile = service.profile("t:6")
    assert profile is not None and profile.monthly_volume == 50_000


def test_change_after_the_memo_writes_a_new_version_with_a_new_assessment(
    service: Interviews,
) -> None:
    turns = service.start("t:7", use_case="Route support tickets", by="dana")
    first, _ = _finish(service, "t:7", ROUTER, turns)
    assert first.assessment["approach"] == "fine_tuning"
    turns = service.reply("t:7", "change volume to 2k", by="lee")
    assert "Writing a revised memo" in _replies(turns)[0].text
    second = next(t for t in turns if isinstance(t, MemoReady))
    assert second.memo_id != first.memo_id
    assert second.assessment["gates"]["volume"] == "fail"
    assert second.assessment["approach"] != "fine_tuning"
    assert "(version 2)" in second.markdown
    assert "lee" in second.markdown.split("\n")[4]  # deciders line
    latest = service.store.latest_memo("t:7")
    assert latest is not None and latest.id == second.memo_id and latest.version == 2


def test_a_follow_up_question_is_answered_with_card_citations_then_the_question_returns(
    service: Interviews,
) -> None:
    service.start("t:8", use_case="Answer HR policy questions", by="dana")
    turns = service.reply("t:8", "what is RAG?", by="dana")
    reply = _replies(turns)[0]
    assert reply.citations, reply
    assert any("rag" in c.id for c in reply.citations)
    assert all(c.title and c.sources for c in reply.citations)
    assert reply.citations[0].title in reply.text
    assert _question(turns).id == "task"


def test_why_explains_the_pending_question_from_its_card(service: Interviews) -> None:
    turns = service.start("t:9", use_case="Route tickets", by="dana")
    q = _question(turns)
    turns = service.reply("t:9", "why do you ask?", by="dana")
    reply = _replies(turns)[0]
    assert q.why in reply.text
    assert [c.id for c in reply.citations] == [q.why_card]
    assert _question(turns).id == q.id


def test_memo_early_lists_the_unknowns_as_open_questions(service: Interviews) -> None:
    service.start("t:10", use_case="Route tickets", by="dana")
    service.reply("t:10", "1", by="dana")
    turns = service.reply("t:10", "memo", by="dana")
    memo = next(t for t in turns if isinstance(t, MemoReady))
    assert memo.assessment["open_questions"]
    section = memo.markdown.split("## Open questions")[1].split("##")[0]
    not_asked = section.split("Not asked")[1] if "Not asked" in section else ""
    for question in memo.assessment["open_questions"]:
        field = next(f for f, text in OPEN_QUESTION.items() if text == question)
        assert question in section or FIELD_LABELS[field] in not_asked, question
    profile = service.profile("t:10")
    assert profile is not None
    for field in relevant_fields(profile):
        if getattr(profile, field) is None:
            assert OPEN_QUESTION[field] in section.split("Not asked")[0]


def test_skip_moves_on_and_leaves_the_field_unknown(service: Interviews) -> None:
    service.start("t:11", use_case="Route tickets", by="dana")
    turns = service.reply("t:11", "skip", by="dana")
    assert "open questions" in _replies(turns)[0].text
    assert _question(turns).id != "task"
    profile = service.profile("t:11")
    assert profile is not None and profile.task_type is None


def test_cancel_ends_the_interview_and_later_replies_say_so(service: Interviews) -> None:
    service.start("t:12", use_case="Route tickets", by="dana")
    turns = service.reply("t:12", "cancel", by="dana")
    assert isinstance(turns[-1], Ended)
    assert service.store.get_interview("t:12").status == "cancelled"  # type: ignore[union-attr]
    later = service.reply("t:12", "1", by="dana")
    assert isinstance(later[-1], Ended)
    assert service.store.list_memos() == []


def test_a_button_answers_the_pending_question_and_a_stale_one_is_refused(
    service: Interviews,
) -> None:
    service.start("t:13", use_case="Route tickets", by="dana")
    turns = service.choose("t:13", "task", ["classification"], by="dana")
    assert _question(turns).id == "problems"
    stale = service.choose("t:13", "task", ["extraction"], by="lee")
    assert len(stale) == 1 and "already answered" in stale[0].text  # type: ignore[union-attr]
    profile = service.profile("t:13")
    assert profile is not None and profile.task_type is not None
    assert profile.task_type.value == "classification"


def test_every_answer_is_recorded_even_when_the_step_fails(
    service: Interviews, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.start("t:14", use_case="Route tickets", by="dana")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(interview_module, "parse_answer", broken)
    turns = service.reply("t:14", "1", by="dana")
    assert "Your answer is saved" in _replies(turns)[0].text
    assert _question(turns).id == "task"
    assert [(a.question_id, a.text) for a in service.store.answers("t:14")][-1] == ("task", "1")
    monkeypatch.undo()
    assert _question(service.reply("t:14", "1", by="dana")).id == "problems"


def test_a_restarted_service_resumes_at_the_same_question() -> None:
    first = Interviews()
    first.start("t:15", use_case="Route tickets", by="dana")
    first.reply("t:15", "1", by="dana")
    pending = first.pending("t:15")
    assert pending is not None
    first.close()
    second = Interviews()
    again = second.pending("t:15")
    assert again is not None and again.id == pending.id
    turns = second.start("t:15", use_case="ignored", by="dana")
    assert _question(turns).id == pending.id


def test_two_replies_at_once_to_one_interview_are_both_applied_in_turn(
    service: Interviews,
) -> None:
    service.start("t:16", use_case="Route tickets", by="dana")
    results: list[list[Turn]] = []

    def send(text: str) -> None:
        results.append(service.reply("t:16", text, by="dana"))

    threads = [threading.Thread(target=send, args=(t,)) for t in ("1", "it makes things up")]
    threads[0].start()
    threads[0].join(0.01)  # the first usually wins the lock; either order must be safe
    threads[1].start()
    for t in threads:
        t.join()
    assert len(results) == 2 and all(r for r in results)
    assert len(service.store.answers("t:16")) == 3  # use case + both replies


def test_different_interviews_run_side_by_side(service: Interviews) -> None:
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            iid = f"par:{n}"
            turns = service.start(iid, use_case="Route tickets", by=f"u{n}")
            _finish(service, iid, ROUTER, list(turns), by=f"u{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(service.store.list_memos()) == 4


class FakeLLM:
    """Stands in for graph/claude.py: records calls, returns what the test sets."""

    def __init__(self, extract: dict[str, Any] | None = None) -> None:
        self.to_extract = extract
        self.calls: list[str] = []

    def extract(
        self, text: str, *, profile: Profile, pending: str | None, interview_id: str
    ) -> dict[str, Any] | None:
        self.calls.append(f"extract:{pending}")
        found, self.to_extract = self.to_extract, None
        return found

    def answer(
        self, question: str, hits: Sequence[Hit], *, interview_id: str
    ) -> tuple[str, list[str]] | None:
        self.calls.append("answer")
        return f"Grounded answer [{hits[0].id}]", [hits[0].id]

    def write_prose(
        self,
        profile: Profile,
        assessment: Assessment,
        *,
        interview_id: str,
        answers: Sequence[Provenance] = (),
    ) -> dict[str, str] | None:
        self.calls.append("prose")
        return {"context": "LLM context paragraph.", "rationale": "LLM rationale paragraph."}


def test_the_llm_hook_notes_extra_values_with_provenance_and_writes_prose() -> None:
    llm = FakeLLM(extract={"labeled_examples": 3000, "monthly_volume": 200_000})
    service = Interviews(llm=llm)
    turns = service.start("t:17", use_case="Route tickets; we have 3k labels", by="dana")
    noted = _replies(turns)[0].text
    assert noted.startswith("I noted:") and "3,000" in noted and "200,000" in noted
    profile = service.profile("t:17")
    assert profile is not None and profile.labeled_examples == 3000
    turns = service.reply("t:17", "what is RAG?", by="dana")
    assert _replies(turns)[0].text.startswith("Grounded answer")
    memo = next(t for t in service.reply("t:17", "memo", by="dana") if isinstance(t, MemoReady))
    assert "LLM context paragraph." in memo.markdown
    assert "LLM rationale paragraph." in memo.markdown
    row = next(
        line
        for line in memo.markdown.splitlines()
        if line.startswith("| What will the model do? | Route tickets; we have 3k labels |")
    )
    assert "labelled examples: 3,000" in row and "| dana |" in row


def test_the_offline_path_runs_when_the_llm_returns_nothing() -> None:
    llm = FakeLLM(extract=None)
    llm.write_prose = lambda *a, **k: None  # type: ignore[method-assign]
    service = Interviews(llm=llm)
    service.start("t:18", use_case="Route tickets", by="dana")
    turns = service.reply("t:18", "1", by="dana")
    assert _question(turns).id == "problems"
    assert "extract:task" in llm.calls
    memo = next(t for t in service.reply("t:18", "memo", by="dana") if isinstance(t, MemoReady))
    assert "It is a classification task" in memo.markdown


def test_llm_and_parser_disagreeing_is_confirmed_not_guessed() -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("t:19", use_case="Route tickets", by="dana")
    llm.to_extract = {"task_type": "extraction"}
    turns = service.reply("t:19", "1", by="dana")
    q = _question(turns)
    assert q.id == "task" and "two ways" in q.hint
    profile = service.profile("t:19")
    assert profile is not None and profile.task_type is None


def test_starting_an_interview_twice_shows_where_it_stands(service: Interviews) -> None:
    first = service.start("t:20", use_case="Route tickets", by="dana")
    second = service.start("t:20", use_case="Route tickets", by="dana")
    assert _question(first).id == _question(second).id
    assert len(service.store.answers("t:20")) == 1


def test_replying_to_an_unknown_interview_is_a_friendly_message(service: Interviews) -> None:
    turns = service.reply("nope", "1", by="dana")
    assert isinstance(turns[0], Reply) and "don't know that interview" in turns[0].text
    assert not service.exists("nope")


def test_progress_counts_up_and_the_total_shrinks_as_questions_become_irrelevant(
    service: Interviews,
) -> None:
    turns = service.start("t:21", use_case="Draft marketing emails", by="dana")
    first = _question(turns)
    assert (first.number, first.total) == (1, 12)
    service.reply("t:21", "4", by="dana")
    service.reply("t:21", "it doesn't sound like us", by="dana")
    service.reply("t:21", "no", by="dana")
    q = _question(service.reply("t:21", "no, the brief keeps changing", by="dana"))
    assert q.number == 5 and q.total < 12


def test_store_is_shared_with_the_checkpoints_database(isolated_db: Any) -> None:
    service = Interviews()
    service.start("t:22", use_case="Route tickets", by="dana")
    tables = set(Store(isolated_db).db.table_names())
    assert {"interviews", "answers", "checkpoints"} <= tables
