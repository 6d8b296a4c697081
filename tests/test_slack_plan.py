"""From the engine's turns to what a thread gets (bot/slack/plan.py), as pure functions: the
outbox items in order, what the thread shows afterwards, and which buttons are retired."""

from __future__ import annotations

import json
from typing import Any

from bot.slack import plan
from bot.slack.payloads import Where
from bot.slack.tables import ThreadRecord
from graph.store import InterviewRecord, MemoRecord
from graph.turns import Ended, MemoReady, Option, Question, Reply

WHERE = Where("C0CHAN", "1.0", "U0BEN", "1.5")
ASSESSMENT = {"approach": "rag", "next_rung": None, "escalation_questions": []}


def question(qid: str = "stable", *, seq: int = 3, options: bool = True, **extra: Any) -> Question:
    choices = [Option(value="yes", label="Yes"), Option(value="no", label="No")]
    return Question(
        id=qid,
        fields=[qid],
        text=f"Is {qid} settled?",
        options=choices if options else [],
        seq=seq,
        **extra,
    )


def texts(items: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [json.dumps(payload["message"]) for kind, payload in items if kind in ("post", "update")]


def stored_memo(**changes: Any) -> MemoRecord:
    fields: dict[str, Any] = {
        "id": "3eeda5c3",
        "interview_id": "i",
        "version": 1,
        "status": "proposed",
        "approach": "rag",
        "next_rung": None,
        "use_case": "route tickets",
        "markdown": "# m",
        "assessment": ASSESSMENT,
        "created_at": "t",
        "updated_at": "t",
    }
    return MemoRecord(**{**fields, **changes})


def live(q: Question, ts: str = "1.3") -> tuple[Question, str]:
    return q, ts


# --- a question's identity ----------------------------------------------------------------


def test_rewording_a_question_keeps_its_key_and_asking_it_again_does_not() -> None:
    first = question(seq=3)
    reworded = first.model_copy(update={"text": "Has it settled down?", "number": 5})
    asked_again = first.model_copy(update={"seq": 4, "hint": "I couldn't read that."})
    assert plan.question_key(reworded) == plan.question_key(first) == "q:stable:3"
    assert plan.question_key(asked_again) != plan.question_key(first)


def test_a_key_from_before_seqs_names_the_pending_asking_of_a_question_with_its_id() -> None:
    key = plan.question_key(question(seq=3))
    hashed = "q:stable:0123456789abcdef"  # what the earlier version kept: a hash of the text
    assert plan.same_shown(key, key) and plan.same_shown(None, None)
    assert plan.same_shown(hashed, key)  # an upgraded thread shows its pending question
    assert not plan.same_shown(hashed, plan.question_key(question("tried", seq=3)))
    assert not plan.same_shown(hashed, plan.memo_key("3eeda5c3"))
    assert not plan.same_shown(hashed, None) and not plan.same_shown("q:stable:2", key)


def test_the_thread_should_show_the_pending_question_else_the_memo_or_the_cancellation() -> None:
    def record(status: str, memo_id: str | None = None) -> InterviewRecord:
        return InterviewRecord(
            id="i",
            use_case="u",
            started_by="a",
            started_at="t",
            updated_at="t",
            status=status,  # type: ignore[arg-type]
            memo_id=memo_id,
        )

    assert plan.shown_key(question(), record("done", "m1")) == "q:stable:3"
    assert plan.shown_key(None, record("done", "m1")) == "memo:m1"
    assert plan.shown_key(None, record("cancelled")) == plan.CANCELLED
    assert plan.shown_key(None, record("open")) is None
    assert plan.shown_key(None, None) is None


# --- turns to items -------------------------------------------------------------------------


def test_turns_become_posts_in_order_and_the_thread_shows_the_last_question() -> None:
    q = question()
    out = plan.of_turns(WHERE, [Reply(text="Noted: volume 50k."), q])
    assert [kind for kind, _ in out.items] == ["post", "post"]
    assert "Noted: volume 50k." in texts(out.items)[0]
    posted = out.items[1][1]
    assert posted["channel"] == "C0CHAN" and posted["thread_ts"] == "1.0"
    assert posted["key"] == out.shown == "q:stable:3"
    assert Question.model_validate(posted["question"]) == q  # kept to re-render it later
    assert posted["message"]["metadata"]["event_payload"]["question_id"] == "stable"


def test_a_reply_alone_leaves_what_the_thread_shows_unchanged() -> None:
    assert plan.of_turns(WHERE, [Reply(text="Why we ask: …")]).shown is None


def test_a_cancellation_is_posted_and_the_thread_shows_it_closed() -> None:
    out = plan.of_turns(WHERE, [Ended(text="Cancelled.")])
    assert out.shown == plan.CANCELLED and "closed" in texts(out.items)[0]


def test_a_memo_is_its_summary_then_the_file_then_the_canvas_queued_by_id_only() -> None:
    memo = MemoReady(memo_id="3eeda5c3", assessment=ASSESSMENT, use_case="route tickets")
    out = plan.of_turns(WHERE, [memo])
    assert [kind for kind, _ in out.items] == ["post", "upload", "canvas"]  # summary, file, canvas
    # Nothing of the memo is queued but its id: delivery reads it once, when it sends.
    where = {"channel": "C0CHAN", "thread_ts": "1.0", "memo_id": "3eeda5c3"}
    assert out.items[0][1] == {**where, "user": "U0BEN"}
    assert out.items[1][1] == {**where, "comment": None}
    assert out.items[2][1] == where
    assert out.shown == "memo:3eeda5c3"


def test_the_summary_is_the_stored_memo_as_it_is_now_and_says_who_decided() -> None:
    summary = plan.memo_summary(stored_memo(status="accepted", decided_by="Chi Nguyen"))
    text = json.dumps(summary, ensure_ascii=False)
    assert "route tickets" in text and "Accepted by Chi Nguyen" in text


def test_a_stored_memo_plans_the_same_messages_as_the_engines_memo_turn() -> None:
    turn = MemoReady(memo_id="3eeda5c3", assessment=ASSESSMENT, use_case="route tickets")
    assert plan.of_memo(WHERE, stored_memo().id) == plan.of_turns(WHERE, [turn])


def test_the_question_waited_on_is_the_last_turn_only_if_it_is_a_question() -> None:
    q = question()
    assert plan.asked([Reply(text="x"), q]) == q
    assert plan.asked([q, Reply(text="x")]) is None and plan.asked([]) is None


# --- retiring buttons ----------------------------------------------------------------------


def test_a_typed_answer_takes_the_buttons_off_the_question_it_answered() -> None:
    before = question("stable")
    items, forget = plan.retire_typed(WHERE, before, question("cleared"), live(before), "yes")
    assert forget and [kind for kind, _ in items] == ["update"]
    assert items[0][1]["ts"] == "1.3"
    assert "replied in the thread" in texts(items)[0] and '"actions"' not in texts(items)[0]


def test_a_typed_reply_that_did_not_move_on_retires_nothing() -> None:
    before = question("stable")
    assert plan.retire_typed(WHERE, before, question("stable", seq=4), live(before), "?") == (
        [],
        False,
    )
    assert plan.retire_typed(WHERE, None, question(), live(before), "hi") == ([], False)


def test_a_typed_answer_leaves_another_questions_buttons_alone() -> None:
    items = plan.retire_typed(WHERE, question("stable"), None, live(question("cleared")), "y")
    assert items == ([], False)


def test_a_free_text_question_is_forgotten_without_an_edit() -> None:
    before = question("owner", options=False)
    assert plan.retire_typed(WHERE, before, question("stable"), live(before), "Priya") == (
        [],
        True,
    )


def test_a_click_shows_the_answer_on_the_clicked_message_and_on_the_live_copy() -> None:
    pending = question("stable")
    items, forget = plan.retire_clicked(WHERE, pending, question("cleared"), live(pending), "Yes")
    assert forget and [payload["ts"] for _, payload in items] == ["1.5", "1.3"]
    assert all("answered by" in t for t in texts(items))


def test_a_click_on_the_live_copy_itself_is_edited_once() -> None:
    pending = question("stable")
    items, _ = plan.retire_clicked(WHERE, pending, None, live(pending, ts="1.5"), "Yes")
    assert [payload["ts"] for _, payload in items] == ["1.5"]


def test_a_click_the_engine_asks_again_for_changes_nothing() -> None:
    pending = question("stable")
    assert plan.retire_clicked(WHERE, pending, question("stable", seq=4), live(pending), "Y") == (
        [],
        False,
    )


def test_a_click_on_an_answered_question_strips_its_buttons() -> None:
    message = {"text": "Q", "blocks": [{"type": "section"}, {"type": "actions", "elements": []}]}
    [(kind, payload)] = plan.strip_buttons(WHERE, message)
    assert kind == "update" and payload["ts"] == "1.5"
    assert [b["type"] for b in payload["message"]["blocks"]] == ["section", "context"]
    assert plan.strip_buttons(WHERE, {"text": "Q", "blocks": [{"type": "section"}]}) == []


def test_only_the_newest_copy_of_a_question_keeps_its_buttons() -> None:
    earlier = question("stable")
    [(kind, payload)] = plan.supersede(WHERE, live(earlier, "1.3"), sent_ts="1.9")
    assert (
        kind == "update"
        and payload["ts"] == "1.3"
        and "Asked again below" in texts([(kind, payload)])[0]
    )
    assert plan.supersede(WHERE, live(earlier, "1.9"), sent_ts="1.9") == []
    assert plan.supersede(WHERE, live(question("owner", options=False)), sent_ts="1.9") == []
    assert plan.supersede(WHERE, None, sent_ts="1.9") == []


def test_the_live_question_is_read_from_the_threads_row() -> None:
    q = question()
    row = ThreadRecord(
        interview_id="i", channel="C", thread_ts="1.0", question=q.model_dump(), question_ts="1.3"
    )
    assert plan.live_question(row) == (q, "1.3")
    assert plan.live_question(row.model_copy(update={"question_ts": None})) is None
    assert plan.live_question(None) is None


def test_a_decision_updates_the_summary_and_uploads_the_file_naming_who_decided() -> None:
    memo = stored_memo(status="rejected", decided_by="Ben Okafor")
    update, upload = plan.decided(WHERE, memo)
    assert update[0] == "update" and "Rejected by Ben Okafor" in texts([update])[0]
    assert upload[1]["comment"] == "Memo rejected by <@U0BEN>. Updated decision-memo.md:"
    [only] = plan.decided(Where("C0CHAN", "1.0", "U0BEN"), memo)  # no summary message to edit
    assert only[0] == "upload"
