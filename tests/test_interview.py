"""The interview service: the state machine every front end drives (graph/interview.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from rendered import stored_markdown
from teams import ROUTER

from graph import steps as steps_module
from graph.assessment import Assessment
from graph.interview import Interviews
from graph.memo import FIELD_LABELS
from graph.policy import OPEN_QUESTION
from graph.profile import Profile, Provenance
from graph.questions import relevant_fields
from graph.store import Store
from graph.turns import Ended, MemoReady, Question, Reply, Turn
from knowledge.search import Hit


def _question(turns: Sequence[Turn]) -> Question:
    assert turns and isinstance(turns[-1], Question), turns
    return turns[-1]


def _replies(turns: Sequence[Turn]) -> list[Reply]:
    return [t for t in turns if isinstance(t, Reply)]


def _finish(
    service: Interviews, iid: str, script: dict[str, str], turns: list[Turn], by: str = "dana"
) -> tuple[MemoReady, list[str]]:
    """Answer every question from ``script`` until the memo (a confirmation gets the same
    words again, which keeps the reading); returns it and the ids asked (not confirmed)."""
    asked: list[str] = []
    for _ in range(40):
        memos = [t for t in turns if isinstance(t, MemoReady)]
        if memos:
            return memos[-1], asked
        q = _question(turns)
        if not q.confirm:
            asked.append(q.id)
        turns = service.reply(iid, script[q.id], by=by)
    raise AssertionError(f"no memo after {asked}")


def _answer(service: Interviews, iid: str, text: str, by: str = "dana") -> list[Turn]:
    """Reply, and keep the reading when it is echoed for confirmation."""
    turns = service.reply(iid, text, by=by)
    if turns and isinstance(turns[-1], Question) and turns[-1].confirm:
        turns = service.reply(iid, "yes", by=by)
    return turns


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
    # The turn says what the stored memo says; its markdown is read from the store.
    assert stored is not None and (stored.assessment, stored.use_case) == (
        memo.assessment,
        memo.use_case,
    )
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
    turns = _answer(service, "t:4", "it gets the format wrong")
    assert _question(turns).id != "problems"
    turns = service.reply("t:4", "back", by="dana")
    assert _question(turns).id == "problems" and not _question(turns).confirm
    profile = service.profile("t:4")
    assert profile is not None and profile.problems is None and profile.task_type is not None
    turns = _answer(service, "t:4", "it makes things up")
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
    for _ in range(20):
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
    markdown = stored_markdown(service.store, second.memo_id)
    assert "(version 2)" in markdown
    assert "lee" in markdown.split("\n")[4]  # deciders line
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
    markdown = stored_markdown(service.store, memo.memo_id)
    section = markdown.split("## Open questions")[1].split("##")[0]
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

    monkeypatch.setattr(steps_module, "parse_answer", broken)
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


def test_an_answer_saved_just_before_a_crash_is_taken_on_restart_not_asked_again() -> None:
    first = Interviews()
    first.start("t:crash", use_case="Route tickets", by="dana")
    first.reply("t:crash", "1", by="dana")
    pending = first.pending("t:crash")
    assert pending is not None and pending.id == "problems"
    # The process dies after keeping the reply and before the interview took it.
    first.store.record_answer("t:crash", question_id="problems", text=ROUTER["problems"], by="dana")
    first.close()
    second = Interviews()
    turns = second.recover("t:crash")
    assert isinstance(turns[0], Reply) and "Picking up your last answer" in turns[0].text
    assert ROUTER["problems"] in turns[0].text
    taken = _question(turns)  # the words were read: what they say is shown to confirm
    assert taken.id == "problems" and taken.confirm and taken.read
    assert second.recover("t:crash") == []  # taken once, not again
    second.reply("t:crash", "yes", by="dana")
    profile = second.profile("t:crash")
    assert profile is not None and profile.problems


def test_recover_finds_nothing_when_every_answer_was_taken(service: Interviews) -> None:
    service.start("t:fine", use_case="Route tickets", by="dana")
    service.reply("t:fine", "1", by="dana")
    service.reply("t:fine", "gibberish zzz", by="dana")  # asked again: taken all the same
    assert service.recover("t:fine") == []
    assert service.recover("t:unknown") == []


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
    markdown = stored_markdown(service.store, memo.memo_id)
    assert "LLM context paragraph." in markdown
    assert "LLM rationale paragraph." in markdown
    row = next(
        line
        for line in markdown.splitlines()
        if line.startswith("| What will the model do? | Route tickets; we have 3k labels |")
    )
    assert "labelled examples: 3,000" in row and "| dana |" in row


def test_the_offline_path_runs_when_the_llm_returns_nothing() -> None:
    llm = FakeLLM(extract=None)
    llm.write_prose = lambda *a, **k: None  # type: ignore[method-assign]
    service = Interviews(llm=llm)
    service.start("t:18", use_case="Route tickets", by="dana")
    turns = service.reply(
        "t:18", "classification, each ticket goes to one of twelve queues", by="dana"
    )
    assert _question(turns).id == "problems"
    assert "extract:task" in llm.calls
    memo = next(t for t in service.reply("t:18", "memo", by="dana") if isinstance(t, MemoReady))
    assert "It is a classification task" in stored_markdown(service.store, memo.memo_id)


TASK_SAID = "classification, each ticket goes to one of twelve queues"  # > 8 words: to the LLM


def test_llm_and_parser_disagreeing_is_confirmed_not_guessed() -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("t:19", use_case="Route tickets", by="dana")
    llm.to_extract = {"task_type": "extraction"}
    turns = service.reply("t:19", TASK_SAID, by="dana")
    q = _question(turns)
    assert q.id == "task" and "two ways" in q.hint
    profile = service.profile("t:19")
    assert profile is not None and profile.task_type is None


def test_a_clash_is_confirmed_once_and_the_same_words_again_keep_the_reading_shown() -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("t:23", use_case="Route tickets", by="dana")
    asked = []
    for _ in range(4):  # the team repeats itself; the model keeps misreading it
        llm.to_extract = {"task_type": "extraction"}
        turns = service.reply("t:23", TASK_SAID, by="dana")
        asked.append(_question(turns))
        if asked[-1].id != "task":
            break
    assert [(q.id, q.confirm) for q in asked] == [("task", True), ("problems", False)]
    assert asked[0].read == ["classification"]  # a choice: the offline reading is shown
    assert llm.calls.count("extract:task") == 1  # the repeat kept it: no second model call
    profile = service.profile("t:23")
    assert profile is not None and profile.task_type is not None
    assert profile.task_type.value == "classification"


@pytest.mark.parametrize(
    ("said", "taken"), [("the second", "extraction"), ("the first one", "classification")]
)
def test_a_clash_is_settled_by_naming_the_first_or_second_reading(said: str, taken: str) -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("t:24", use_case="Route tickets", by="dana")
    llm.to_extract = {"task_type": "extraction"}
    hint = _question(service.reply("t:24", TASK_SAID, by="dana")).hint
    assert hint.index("classification") < hint.index("extraction")  # offline reading first
    turns = service.reply("t:24", said, by="dana")
    assert _question(turns).id == "problems"
    profile = service.profile("t:24")
    assert profile is not None and profile.task_type is not None
    assert profile.task_type.value == taken


def _to_usage(service: Interviews, iid: str) -> None:
    service.choose(iid, "task", ["classification"], by="dana")
    for answer in ("accuracy is stuck", "no", "yes", "system prompt and few-shot", "no eval"):
        _answer(service, iid, answer)
    while (pending := service.pending(iid)) is not None and pending.id != "usage":
        service.reply(iid, "skip", by="dana")


@pytest.mark.parametrize(("said", "volume"), [("yes", 210_000), ("the second", 7_000)])
def test_a_clash_keeps_the_rest_of_the_answer_whichever_reading_is_kept(
    said: str, volume: int
) -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("t:25", use_case="Route tickets", by="dana")
    _to_usage(service, "t:25")
    llm.to_extract = {"monthly_volume": 7000}
    turns = service.reply("t:25", "about 7,000 a day, 1,500 tokens in, 20 out", by="dana")
    q = _question(turns)
    assert q.id == "usage" and q.confirm and "210,000" in q.hint and "7,000" in q.hint
    assert q.read_values["avg_input_tokens"] == 1500  # the rest of the reading is kept
    profile = service.profile("t:25")
    assert profile is not None and profile.monthly_volume is None  # nothing kept unconfirmed
    service.reply("t:25", said, by="dana")
    profile = service.profile("t:25")
    assert profile is not None and profile.monthly_volume == volume
    assert (profile.avg_input_tokens, profile.avg_output_tokens) == (1500, 20)


def test_replies_the_offline_parser_reads_fully_are_not_sent_to_the_llm() -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("t:26", use_case="Route tickets", by="dana")
    assert llm.calls == ["extract:None"]  # the opening description always is
    replies = {
        "task": "2",
        "problems": "it makes things up",
        "knowledge": "no",
        "stable": "yes",
        "tried": "system prompt, few-shot, structured output and decomposition",
        "eval": "400 items, 82% now, need 95%",
    }
    sent = []
    while (q := service.pending("t:26")) is not None and q.id in replies:
        sent.append(q.id)
        service.reply("t:26", replies.pop(q.id), by="dana")
    assert len(sent) >= 5 and "eval" in sent
    assert llm.calls == ["extract:None"]


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("task", "purple monkey dishwasher"),  # unreadable offline
        ("task", "it reads each support ticket and decides which of our queues it belongs in"),
        ("problems", "it makes things up, and our reviewers say it sounds nothing like us"),
    ],
)
def test_unreadable_or_rich_replies_still_go_to_the_llm(question: str, said: str) -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("t:27", use_case="Route tickets", by="dana")
    if question == "problems":
        service.reply("t:27", "1", by="dana")
    service.reply("t:27", said, by="dana")
    assert llm.calls[-1] == f"extract:{question}"


def test_a_partial_reply_goes_to_the_llm() -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("t:28", use_case="Route tickets", by="dana")
    service.choose("t:28", "task", ["classification"], by="dana")
    for answer in ("accuracy is stuck", "no", "yes", "system prompt and few-shot"):
        _answer(service, "t:28", answer)
    assert _question([service.pending("t:28")]).id == "eval"  # type: ignore[list-item]
    service.reply("t:28", "82% now", by="dana")
    assert llm.calls[-1] == "extract:eval"


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
    _answer(service, "t:21", "it doesn't sound like us")
    service.reply("t:21", "no", by="dana")
    q = _question(service.reply("t:21", "no, the brief keeps changing", by="dana"))
    assert q.number == 5 and q.total < 12


def test_store_is_shared_with_the_checkpoints_database(isolated_db: Any) -> None:
    service = Interviews()
    service.start("t:22", use_case="Route tickets", by="dana")
    tables = set(Store(isolated_db).db.table_names())
    assert {"interviews", "answers", "checkpoints"} <= tables


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("what is RAG?", "what-is-rag"),
        ("What's prompt engineering?", "what-is-prompt-engineering"),
        ("define retrieval augmented generation", "what-is-rag"),
        ("what is LoRA?", "lora-peft"),  # no "what is" card for LoRA: the best hit leads
        ("how does RAG compare with fine-tuning?", None),  # not definitional: search order
        ("what is the difference between RAG and fine-tuning?", None),  # not one subject
        ("What is RAG, exactly?", "what-is-rag"),
    ],
)
def test_a_definitional_question_leads_with_the_card_that_defines_it(
    service: Interviews, question: str, lead: str | None
) -> None:
    service.start("t:29", use_case="Answer HR policy questions", by="dana")
    reply = _replies(service.reply("t:29", question, by="dana"))[0]
    first = reply.citations[0]
    assert reply.text.startswith(first.title)
    if lead is not None:
        assert first.id == lead
    else:
        assert not first.id.startswith("what-is-")


LONG_OPENING = (
    "We route inbound support emails into twelve queues for our agents. The current prompt "
    "is good but not good enough, and the team wants to know whether fine-tuning is worth it."
)


def test_a_long_opening_is_titled_by_its_first_sentence_and_kept_whole(
    service: Interviews,
) -> None:
    turns = service.start("t:30", use_case=LONG_OPENING, by="dana")
    assert _question(turns).id == "task"
    title = "We route inbound support emails into twelve queues for our agents"
    profile = service.profile("t:30")
    assert profile is not None and profile.use_case == title
    assert service.store.get_interview("t:30").use_case == title  # type: ignore[union-attr]
    assert service.store.answers("t:30")[0].text == LONG_OPENING
    memo = next(t for t in service.reply("t:30", "memo", by="dana") if isinstance(t, MemoReady))
    markdown = stored_markdown(service.store, memo.memo_id)
    assert title in markdown.splitlines()[0]
    assert " ".join(LONG_OPENING.split()) in markdown  # the answers as recorded


def test_a_long_first_sentence_is_cut_at_a_word_with_an_ellipsis(service: Interviews) -> None:
    words = "classify every inbound support email by product line and urgency " * 4
    service.start("t:31", use_case=f"We {words}\nand then route it", by="dana")
    profile = service.profile("t:31")
    assert profile is not None and profile.use_case.endswith("…")
    kept = profile.use_case.removesuffix("…")
    assert 60 <= len(kept) <= 100 and f"We {words}".startswith(kept + " ")


def test_a_short_one_line_use_case_is_kept_exactly(service: Interviews) -> None:
    service.start("t:32", use_case="Route support tickets to one of 12 queues.", by="dana")
    profile = service.profile("t:32")
    assert profile is not None and profile.use_case == "Route support tickets to one of 12 queues."


def test_a_long_answer_to_the_use_case_question_is_titled_not_refused(
    service: Interviews,
) -> None:
    service.start("t:33", use_case="", by="dana")
    opening = LONG_OPENING + " " + "Volume grows every quarter and so does the bill. " * 10
    assert len(opening) > 500
    q = _question(service.reply("t:33", opening, by="dana"))
    assert q.id == "task" and q.number == 2
    profile = service.profile("t:33")
    assert profile is not None and profile.use_case.startswith("We route inbound support emails")
    assert service.store.answers("t:33")[-1].text == opening


def test_the_llm_title_replaces_a_long_opening_but_not_a_short_one() -> None:
    title = "Route support emails to twelve queues"
    llm = FakeLLM(extract={"use_case": title, "labeled_examples": 3000})
    service = Interviews(llm=llm)
    turns = service.start("t:34", use_case=LONG_OPENING, by="dana")
    profile = service.profile("t:34")
    assert profile is not None and profile.use_case == title
    assert profile.labeled_examples == 3000
    assert service.store.get_interview("t:34").use_case == title  # type: ignore[union-attr]
    assert title in _replies(turns)[0].text  # shown back, so it can be changed
    memo = next(t for t in service.reply("t:34", "memo", by="dana") if isinstance(t, MemoReady))
    lines = stored_markdown(service.store, memo.memo_id).splitlines()
    assert f"> {LONG_OPENING}" in lines  # quoted under the title in Context and problem
    row = next(line for line in lines if line.startswith("|") and LONG_OPENING[:40] in line)
    assert f"use case: {title}" in row and "~~" not in row  # one title, not a changed one

    llm = FakeLLM(extract={"use_case": title})
    service = Interviews(llm=llm)
    service.start("t:35", use_case="Route tickets to queues", by="dana")
    profile = service.profile("t:35")
    assert profile is not None and profile.use_case == "Route tickets to queues"


@pytest.mark.parametrize(
    ("opening", "title"),
    [
        (
            "Dr. Lee's team routes support emails. We have 3k labels.",
            "Dr. Lee's team routes support emails",
        ),
        ("Route tickets\nto queues by topic", "Route tickets"),
        ("Route tickets; we have 3k labels", "Route tickets; we have 3k labels"),
    ],
)
def test_an_opening_of_several_sentences_or_lines_is_titled_by_its_first(
    service: Interviews, opening: str, title: str
) -> None:
    service.start("t:36", use_case=opening, by="dana")
    profile = service.profile("t:36")
    assert profile is not None and profile.use_case == title


# --- confirming what is uncertain -----------------------------------------------------------


def _to(service: Interviews, iid: str, question_id: str, script: dict[str, str]) -> Question:
    """Answer from ``script`` (confirming every reading) until ``question_id`` is asked."""
    for _ in range(30):
        q = service.pending(iid)
        assert q is not None
        if q.id == question_id and not q.confirm:
            return q
        service.reply(iid, "yes" if q.confirm else script[q.id], by="dana")
    raise AssertionError(f"{question_id} was never asked")


def test_words_for_a_list_question_are_shown_for_confirmation_before_they_are_kept(
    service: Interviews,
) -> None:
    service.start("c:1", use_case="Route tickets", by="dana")
    service.reply("c:1", "1", by="dana")
    turns = service.reply(
        "c:1", "it invents refund rules and the replies vary run to run", by="dana"
    )
    q = _question(turns)
    assert (q.id, q.confirm) == ("problems", True)
    assert q.read == ["hallucination", "inconsistent"]
    assert q.read_values == {"problems": ["hallucination", "inconsistent"]}
    assert q.read_text == "made-up facts (hallucination), inconsistent answers"
    read = "I read: made-up facts (hallucination), inconsistent answers"
    assert read in q.hint and q.options  # the options again
    profile = service.profile("c:1")
    assert profile is not None and profile.problems is None  # nothing kept unconfirmed
    turns = service.reply("c:1", "yes", by="lee")
    assert _question(turns).id == "stable"  # made-up facts settle the knowledge question
    noted = "Noted: problems today: made-up facts (hallucination), inconsistent answers."
    assert noted in _replies(turns)[0].text
    profile = service.profile("c:1")
    assert profile is not None and [p.value for p in profile.problems or []] == [
        "hallucination",
        "inconsistent",
    ]
    record = [p for p in service.provenance("c:1") if p.field == "problems"][-1]
    assert record.said.startswith("it invents refund rules")  # the words, not "yes"


@pytest.mark.parametrize("keep", ["", "ok", "Yes.", "looks good"])
def test_an_empty_reply_or_ok_keeps_the_reading(service: Interviews, keep: str) -> None:
    service.start("c:2", use_case="Route tickets", by="dana")
    service.reply("c:2", "1", by="dana")
    service.reply("c:2", "it is slow and pricey", by="dana")
    service.reply("c:2", keep, by="dana")
    profile = service.profile("c:2")
    assert profile is not None and [p.value for p in profile.problems or []] == [
        "too_slow",
        "too_expensive",
    ]


def test_anything_else_at_a_confirmation_is_read_as_a_new_answer(service: Interviews) -> None:
    service.start("c:3", use_case="Route tickets", by="dana")
    service.reply("c:3", "1", by="dana")
    service.reply("c:3", "it is slow and pricey", by="dana")
    turns = service.reply("c:3", "6", by="dana")  # fixing the ticks: only slow
    assert _question(turns).id == "knowledge"
    profile = service.profile("c:3")
    assert profile is not None and [p.value for p in profile.problems or []] == ["too_slow"]


def test_buttons_equal_to_the_reading_keep_it_and_other_ticks_replace_it(
    service: Interviews,
) -> None:
    service.start("c:4", use_case="Route tickets", by="dana")
    service.reply("c:4", "1", by="dana")
    service.reply("c:4", "it is slow and pricey", by="dana")
    turns = service.choose("c:4", "problems", ["too_expensive", "too_slow"], by="dana")
    assert _question(turns).id == "knowledge"
    service.start("c:5", use_case="Route tickets", by="dana")
    service.reply("c:5", "1", by="dana")
    service.reply("c:5", "it is slow and pricey", by="dana")
    service.choose("c:5", "problems", ["too_expensive"], by="dana")
    profile = service.profile("c:5")
    assert profile is not None and [p.value for p in profile.problems or []] == ["too_expensive"]


def test_a_confirm_button_keeps_the_reading_and_a_stale_one_is_refused(
    service: Interviews,
) -> None:
    service.start("c:6", use_case="Route tickets", by="dana")
    assert "no reading" in service.confirm("c:6", "task", by="dana")[0].text  # type: ignore[union-attr]
    service.reply("c:6", "probably 2?", by="dana")
    assert _question([service.pending("c:6")]).confirm  # type: ignore[list-item]
    turns = service.confirm("c:6", "task", by="dana")
    assert _question(turns).id == "problems"
    profile = service.profile("c:6")
    assert profile is not None and profile.task_type is not None
    assert profile.task_type.value == "extraction"
    assert "no reading" in service.confirm("c:6", "task", by="dana")[0].text  # type: ignore[union-attr]


def test_a_hedged_second_answer_is_kept_as_not_sure_never_as_firm(service: Interviews) -> None:
    service.start("c:7", use_case="Route tickets", by="dana")
    for reply in ("1", "6", "no", "yes", "1, 2"):
        _answer(service, "c:7", reply)
    assert _question([service.pending("c:7")]).id == "eval"  # type: ignore[list-item]
    service.reply("c:7", "perhaps 150 items?", by="dana")  # confirm shown
    turns = service.reply("c:7", "maybe 200, honestly unsure", by="dana")  # hedged again
    assert _question(turns).id != "eval"  # never a third time
    profile = service.profile("c:7")
    assert profile is not None and profile.eval_set_size is None
    asked = [p for p in service.provenance("c:7") if p.field == "eval_set_size"]
    assert asked and asked[-1].value is None and "maybe 200" in asked[-1].said


# --- never loop ------------------------------------------------------------------------------


def test_an_unreadable_reply_is_asked_once_more_then_noted_as_not_sure(
    service: Interviews,
) -> None:
    service.start("l:1", use_case="Route tickets", by="dana")
    turns = service.reply("l:1", "purple monkey dishwasher", by="dana")
    again = _question(turns)
    assert again.id == "task" and not again.confirm
    assert "1 Classification" in again.hint and "For example: 2, or 'extraction'" in again.hint
    turns = service.reply("l:1", "purple monkey dishwasher", by="dana")
    assert _question(turns).id == "problems"  # moved on: never a third time
    assert "not sure" in " ".join(r.text for r in _replies(turns))
    record = [p for p in service.provenance("l:1") if p.field == "task_type"]
    assert record and record[-1].value is None and record[-1].said == "purple monkey dishwasher"


def test_a_scripted_user_repeating_nonsense_reaches_a_memo_without_a_loop(
    service: Interviews,
) -> None:
    turns = service.start("l:2", use_case="Route tickets", by="dana")
    shown: list[str] = []
    for _ in range(40):
        if any(isinstance(t, MemoReady) for t in turns):
            break
        q = _question(turns)
        shown.append(q.id)
        turns = service.reply("l:2", "none. unknown. unknown" if q.id == "eval" else "zzz", by="x")
    memo = next(t for t in turns if isinstance(t, MemoReady))
    runs = [len(list(group)) for _, group in __import__("itertools").groupby(shown)]
    assert max(runs) <= 2
    assert memo.assessment["open_questions"]


def test_a_partial_answer_then_nothing_readable_keeps_the_part_and_moves_on(
    service: Interviews,
) -> None:
    service.start("l:3", use_case="Route tickets", by="dana")
    _to(service, "l:3", "eval", {**ROUTER, "problems": "2"})
    turns = service.reply("l:3", "82% now, need 95%", by="dana")
    assert _question(turns).id == "eval" and "how many items" in _question(turns).hint
    turns = service.reply("l:3", "hmm", by="dana")
    assert _question(turns).id != "eval"
    profile = service.profile("l:3")
    assert profile is not None and (profile.baseline_score, profile.target_score) == (0.82, 0.95)
    assert profile.eval_set_size is None
    assert any(p.field == "eval_set_size" and p.value is None for p in service.provenance("l:3"))


# --- relevance after every change, and what was really asked ----------------------------------

UNCLEARED = {**ROUTER, "cleared": "not yet"}


def test_a_change_after_the_memo_asks_the_questions_it_made_relevant_first() -> None:
    service = Interviews()
    turns = service.start("r:1", use_case="Route support tickets", by="dana")
    memo, asked = _finish(service, "r:1", UNCLEARED, turns)
    assert "usage" not in asked and "owner" not in asked  # fine-tuning was out
    turns = service.reply("r:1", "change cleared to yes", by="lee")
    q = _question(turns)
    assert q.id == "usage" and "another question matter" in _replies(turns)[0].text
    second, more = _finish(service, "r:1", ROUTER, turns)
    assert {"usage", "constraints", "owner"} <= set([q.id, *more])
    assert second.memo_id != memo.memo_id
    assert "(version 2)" in stored_markdown(service.store, second.memo_id)
    assert second.assessment["approach"] == "fine_tuning"


def test_back_after_the_memo_reopens_the_last_question_then_writes_a_revision(
    service: Interviews,
) -> None:
    turns = service.start("r:2", use_case="Route support tickets", by="dana")
    memo, _ = _finish(service, "r:2", ROUTER, turns)
    turns = service.reply("r:2", "back", by="lee")
    assert _question(turns).id == "owner"
    turns = service.reply("r:2", "nobody", by="lee")
    revised = next(t for t in turns if isinstance(t, MemoReady))
    assert revised.memo_id != memo.memo_id
    assert revised.assessment["gates"]["retraining_owner"] == "fail"


def test_why_after_the_memo_explains_the_decision(service: Interviews) -> None:
    turns = service.start("r:3", use_case="Route support tickets", by="dana")
    _finish(service, "r:3", UNCLEARED, turns)
    answer = _replies(service.reply("r:3", "why?", by="lee"))[0]
    assert answer.text.startswith("The decision is") and "data cleared" in answer.text
    assert answer.citations


def test_every_question_asked_leaves_a_record_even_when_nothing_is_known(
    service: Interviews,
) -> None:
    service.start("r:4", use_case="Route tickets", by="dana")
    service.reply("r:4", "1", by="dana")
    service.reply("r:4", "skip", by="dana")
    asked = {p.field: p for p in service.provenance("r:4")}
    assert asked["problems"].value is None and asked["problems"].said == "skip"
    assert "task_stable" not in asked  # never asked: no record


def test_constraints_said_in_words_are_recorded_not_lost(service: Interviews) -> None:
    service.start("r:5", use_case="Live chat assistant for a telecom", by="dana")
    _to(service, "r:5", "constraints", {**ROUTER, "task": "7", "problems": "2"})
    service.reply("r:5", "needs to be reasonably quick, it's live chat", by="dana")
    service.reply("r:5", "yes", by="dana")
    profile = service.profile("r:5")
    assert profile is not None and profile.latency_critical is True
    assert profile.human_review is False and profile.deployment == "hosted_api"


# --- with a model: list questions in words go to the extraction --------------------------


def test_words_for_a_list_question_go_to_the_model_and_agreement_keeps_them_firm() -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("m:1", use_case="Route tickets", by="dana")
    service.reply("m:1", "1", by="dana")
    llm.to_extract = {"problems": ["hallucination", "too_slow"]}
    turns = service.reply("m:1", "invents stuff, slow", by="dana")  # short, but words
    assert llm.calls[-1] == "extract:problems"
    assert _question(turns).id == "stable"  # both readings agree: no confirmation needed
    profile = service.profile("m:1")
    assert profile is not None and [p.value for p in profile.problems or []] == [
        "hallucination",
        "too_slow",
    ]


def test_a_model_and_offline_disagreeing_on_a_list_show_the_models_reading_to_confirm() -> None:
    llm = FakeLLM()
    service = Interviews(llm=llm)
    service.start("m:2", use_case="Route tickets", by="dana")
    service.reply("m:2", "1", by="dana")
    llm.to_extract = {"problems": ["hallucination"]}
    said = "it invents stuff, and latency isn't something anyone complains about"
    turns = service.reply("m:2", said, by="dana")
    q = _question(turns)
    assert q.id == "problems" and q.confirm and q.read == ["hallucination"]  # the model's
    assert "two ways" in q.hint and "'the first'" in q.hint
    service.reply("m:2", "the first", by="dana")  # the offline reading after all
    profile = service.profile("m:2")
    assert profile is not None and [p.value for p in profile.problems or []] == [
        "hallucination",
        "too_slow",
    ]
