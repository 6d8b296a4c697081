"""Slack as it really behaves (issue 14): replies with files, edits and deletions, messages
Slack refuses for good, revoked tokens. Each drives the real app with the payload shape
Slack sends (tests/slack_fake.py ``SlackSender``)."""

from __future__ import annotations

import time

import pytest
from slack_fake import BOT_USER, TEAM, FakeSlack, press
from slack_harness import (
    CHANNEL,
    PRESSED,
    TYPED,
    Running,
    app,
    checkbox_state,
    fake,
    last_id,
    run_app,
    start,
)

from bot.slack import payloads
from bot.slack.payloads import interview_id

__all__ = ["app", "fake"]  # fixtures


def _typed(qid: str) -> str:
    return TYPED.get(qid) or ", ".join(PRESSED.get(qid, []))


def test_a_reply_with_a_file_attached_is_an_answer(app: Running, fake: FakeSlack) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    asked = last_id(fake, thread)
    text = _typed(asked)
    sent = app.send.file_reply(f"{text} (see screenshot)", thread_ts=thread, user="U0BEN")
    assert sent.status == 200
    app.idle()
    said = app.engine.store.answers(iid)[-1]
    assert said.question_id == asked and said.text == f"{text} (see screenshot)"
    assert said.author_id == "U0BEN"
    assert last_id(fake, thread) != asked  # the thread moved on to the next question


def test_a_file_share_keeps_the_files_for_later_without_their_content() -> None:
    event = {
        "type": "message",
        "subtype": "file_share",
        "text": "Extraction (see screenshot)",
        "user": "U0ANA",
        "ts": "1700000002.000200",
        "thread_ts": "1700000001.000100",
        "channel": "C0CHAN",
        "files": [
            {
                "id": "F0SHOT",
                "name": "shot.png",
                "title": "shot.png",
                "mimetype": "image/png",
                "filetype": "png",
                "size": 48213,
                "url_private": "https://files.slack.com/files-pri/T-F0SHOT/shot.png",
                "preview": "not kept",
            },
            {"id": "F0HIDDEN", "file_access": "check_file_info"},
        ],
    }
    said = payloads.reply({"event_id": "Ev1"}, event, BOT_USER)
    assert isinstance(said, payloads.Said)
    assert said.text == "Extraction (see screenshot)" and said.ts == "1700000002.000200"
    assert said.data()["files"] == [
        {
            "id": "F0SHOT",
            "name": "shot.png",
            "title": "shot.png",
            "mimetype": "image/png",
            "filetype": "png",
            "size": 48213,
            "url_private": "https://files.slack.com/files-pri/T-F0SHOT/shot.png",
        },
        # a stub: the step asks files.info for the rest (bot/slack/files.py)
        {"id": "F0HIDDEN", "file_access": "check_file_info"},
    ]


# --- item 3: edits and deletions ------------------------------------------------------------


def _answer_typed(app: Running, fake: FakeSlack, thread: str, text: str) -> dict[str, object]:
    event = app.send.reply_event(text, thread_ts=thread, user="U0ANA")
    assert app.send.event(event).status == 200
    app.idle()
    return event


def _said(fake: FakeSlack, thread: str) -> list[str]:
    return [str(m.get("text")) for m in fake.replies(CHANNEL, thread)]


def test_an_edit_of_the_latest_answer_is_read_again(app: Running, fake: FakeSlack) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    assert last_id(fake, thread) == "task"
    sent = _answer_typed(app, fake, thread, "classification")
    asked = last_id(fake, thread)
    assert app.engine.profile(iid).task_type == "classification"  # type: ignore[union-attr]
    questions = len(fake.questions(CHANNEL, thread))
    assert app.send.edit(sent, "extraction").status == 200
    app.idle()
    assert app.engine.profile(iid).task_type == "extraction"  # type: ignore[union-attr]
    assert any(t.startswith("Updated:") and "xtraction" in t for t in _said(fake, thread))
    assert app.engine.store.answers(iid)[-1].text == "extraction"  # the record says it too
    # The question waiting now is still the one shown: not asked a second time.
    assert last_id(fake, thread) == asked and len(fake.questions(CHANNEL, thread)) == questions


def test_an_edit_of_an_older_answer_is_a_change(app: Running, fake: FakeSlack) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    first = _answer_typed(app, fake, thread, "classification")
    _answer_typed(app, fake, thread, ", ".join(PRESSED["problems"]))
    app.send.edit(first, "extraction")
    app.idle()
    assert app.engine.profile(iid).task_type == "extraction"  # type: ignore[union-attr]
    assert any(t.startswith("Changed:") for t in _said(fake, thread))


def test_a_deleted_answer_leaves_the_record_and_the_memo(app: Running, fake: FakeSlack) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    _answer_typed(app, fake, thread, "classification")
    _answer_typed(app, fake, thread, ", ".join(PRESSED["problems"]))
    secret = _answer_typed(app, fake, thread, "no, the Falcon merger files stay out of it")
    known = app.engine.profile(iid)
    assert known is not None and known.knowledge_changes is not None
    assert app.send.delete(secret).status == 200
    app.idle()
    profile = app.engine.profile(iid)
    assert profile is not None and profile.knowledge_changes is None
    assert any("was deleted" in t for t in _said(fake, thread))
    assert all("Falcon" not in a.text for a in app.engine.store.answers(iid))
    app.send.reply("memo", thread_ts=thread)
    app.idle()
    memo = app.engine.store.latest_memo(iid)
    assert memo is not None and "Falcon" not in memo.markdown


def test_a_preview_added_to_an_answer_changes_nothing(app: Running, fake: FakeSlack) -> None:
    thread = start(app, fake)
    sent = _answer_typed(app, fake, thread, "classification")
    calls = len(fake.called("chat.postMessage"))
    app.send.edit(sent, "classification")  # same words: Slack added an unfurl
    app.idle()
    assert len(fake.called("chat.postMessage")) == calls


# --- item 4: messages Slack refuses for good -------------------------------------------------


def test_refused_blocks_send_the_question_as_plain_text(app: Running, fake: FakeSlack) -> None:
    fake.refuse_blocks = "invalid_blocks"
    thread = start(app, fake)  # the parent message is refused too, and goes out as text
    posted = [m for m in fake.replies(CHANNEL, thread) if not m.get("blocks")]
    question = [m for m in posted if "What kind of task" in m["text"]]
    assert question, "the first question never reached the thread"
    assert "Classification: sort inputs into fixed categories" in question[-1]["text"]
    iid = interview_id(TEAM, CHANNEL, thread)
    pending = app.engine.pending(iid)
    assert pending is not None and pending.id == "task"
    app.send.reply("classification", thread_ts=thread)  # and it can be answered by typing
    app.idle()
    assert app.engine.profile(iid).task_type == "classification"  # type: ignore[union-attr]


def test_refused_even_as_text_tells_the_person_and_keeps_the_question(
    app: Running, fake: FakeSlack
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    fake.errors["chat.postMessage"] = "msg_too_long"
    app.send.reply("classification", thread_ts=thread, user="U0BEN")
    app.idle()
    notes = [e for e in fake.ephemeral if e["user"] == "U0BEN"]
    assert notes and "would not show" in notes[-1]["text"]
    pending = app.engine.pending(iid)
    assert pending is not None and pending.id == "problems"  # still waiting, not skipped
    del fake.errors["chat.postMessage"]
    app.send.reply(", ".join(PRESSED["problems"]), thread_ts=thread, user="U0BEN")
    app.idle()
    assert app.engine.pending(iid).id != "problems"  # type: ignore[union-attr]


def test_no_message_carries_more_block_text_than_slack_takes() -> None:
    from bot.slack import blocks
    from graph.turns import Question

    long = "word " * 2_500  # 12,500 characters, each section under 3,000
    question = Question(id="eval", text=long, fields=["eval"], why=long, hint=long[:2900])
    message = blocks.question_message(question)
    assert blocks.block_text(message["blocks"]) <= blocks.BLOCKS_TEXT_LIMIT
    assert "shortened" in str(message["blocks"][-1])


# --- item 5: a revoked token ------------------------------------------------------------------


def _posts(fake: FakeSlack) -> int:
    return len(fake.called("chat.postMessage"))


def test_a_revoked_token_stops_the_outbox_until_a_valid_one_works(
    app: Running, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    good = fake.token
    fake.token = "xoxb-someone-else"  # every call with our token: invalid_auth
    fake.errors["auth.test"] = "token_revoked"
    app.send.reply("classification", thread_ts=thread)
    app.idle()
    tried = _posts(fake)
    time.sleep(1.5)  # three times the retry cap: a transient error would be retried
    assert _posts(fake) == tried  # no retrying a token that cannot work
    lines = [r for r in caplog.records if "sending is stopped" in r.getMessage()]
    assert len(lines) == 1 and "invalid_auth" in lines[0].getMessage()
    assert app.engine.pending(iid).id == "problems"  # type: ignore[union-attr]
    fake.token = good  # reinstalled: the token works again
    del fake.errors["auth.test"]
    fake.wait_for(lambda: len(fake.questions(CHANNEL, thread)) >= 2, timeout=10)
    assert last_id(fake, thread) == "problems"


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER]}},
    ],
)
def test_uninstalling_stops_sending_at_once(
    app: Running, fake: FakeSlack, event: dict[str, object]
) -> None:
    thread = start(app, fake)
    fake.errors["auth.test"] = "account_inactive"
    assert app.send.event(event).status == 200
    app.idle()
    before = _posts(fake)
    app.send.reply("classification", thread_ts=thread)
    app.idle()
    time.sleep(0.3)
    assert _posts(fake) == before  # nothing even tried
    del fake.errors["auth.test"]
    fake.wait_for(lambda: _posts(fake) > before, timeout=10)


def test_a_user_token_revoked_changes_nothing(app: Running, fake: FakeSlack) -> None:
    thread = start(app, fake)
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": ["U0ANA"], "bot": []}}
    app.send.event(revoked)
    app.idle()
    before = _posts(fake)
    app.send.reply("classification", thread_ts=thread)
    app.idle()
    assert _posts(fake) > before


# --- confirmations (issue 10): the reading ticked, and a Confirm button -----------------------

WORDS = "accuracy is stuck below target and answers are inconsistent"


def _confirming(app: Running, fake: FakeSlack) -> tuple[str, dict[str, object]]:
    thread = start(app, fake)
    _answer_typed(app, fake, thread, "classification")
    _answer_typed(app, fake, thread, WORDS)  # read from words: shown back to confirm
    message = fake.questions(CHANNEL, thread)[-1]
    return thread, message


def test_a_reading_comes_back_ticked_with_a_confirm_button(app: Running, fake: FakeSlack) -> None:
    thread, message = _confirming(app, fake)
    meta = message["metadata"]["event_payload"]  # type: ignore[index]
    assert meta["question_id"] == "problems" and meta["confirm"] is True and meta["read"]
    boxes = [
        e
        for b in message["blocks"]  # type: ignore[attr-defined]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "checkboxes"
    ]
    ticked = [o["value"] for box in boxes for o in box.get("initial_options", [])]
    assert ticked and sorted(ticked) == sorted(meta["read"])
    iid = interview_id(TEAM, CHANNEL, thread)
    assert app.send.click(message, press(message, "Confirm")).status == 200  # type: ignore[arg-type]
    app.idle()
    profile = app.engine.profile(iid)
    assert profile is not None and sorted(str(p) for p in profile.problems or []) == sorted(ticked)
    assert last_id(fake, thread) != "problems"


def test_fixing_the_ticks_answers_the_confirmation(app: Running, fake: FakeSlack) -> None:
    thread, message = _confirming(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    fixed = ["It's too expensive"]
    state = checkbox_state(message, fixed)  # type: ignore[arg-type]
    app.send.click(message, press(message, "Submit"), state=state)  # type: ignore[arg-type]
    app.idle()
    profile = app.engine.profile(iid)
    assert profile is not None and [str(p) for p in profile.problems or []] == ["too_expensive"]


# --- the memo as a canvas, rendered Markdown when the file fails ------------------------------


def _memo(app: Running, fake: FakeSlack) -> tuple[str, str]:
    thread = start(app, fake)
    app.send.reply("memo", thread_ts=thread)
    app.idle()
    memo = app.engine.store.latest_memo(interview_id(TEAM, CHANNEL, thread))
    assert memo is not None
    return thread, memo.markdown


def test_the_memo_is_a_canvas_the_channel_can_edit_linked_in_the_thread(
    app: Running, fake: FakeSlack
) -> None:
    thread, markdown = _memo(app, fake)
    assert len(fake.canvases) == 1
    canvas_id, canvas = next(iter(fake.canvases.items()))
    assert canvas["markdown"] == markdown.replace("<", "&lt;")  # nothing in it can ping
    assert canvas["access"] == {CHANNEL: "write"}
    said = [str(m.get("text") or "") for m in fake.replies(CHANNEL, thread)]
    assert any(f"https://acme.slack.com/docs/{TEAM}/{canvas_id}" in t for t in said)
    assert any(f.get("name") == "decision-memo.md" for f in fake.thread(CHANNEL, thread))


def test_a_free_team_gets_a_tabbed_canvas(app: Running, fake: FakeSlack) -> None:
    fake.free_team = True
    _memo(app, fake)
    assert [c["channel_id"] for c in fake.canvases.values()] == [CHANNEL]


def test_no_canvas_leaves_the_file_and_says_nothing_wrong(app: Running, fake: FakeSlack) -> None:
    fake.errors["canvases.create"] = "canvas_disabled_user_team"
    thread, _ = _memo(app, fake)
    assert not fake.canvases
    assert any(f.get("name") == "decision-memo.md" for f in fake.thread(CHANNEL, thread))
    said = [str(m.get("text") or "") for m in fake.replies(CHANNEL, thread)]
    assert not any("canvas" in t or "Sorry" in t for t in said)


def test_a_memo_whose_file_fails_is_posted_as_rendered_markdown(
    app: Running, fake: FakeSlack
) -> None:
    fake.fail_uploads = True
    _memo(app, fake)
    rendered = [c.args for c in fake.called("chat.postMessage") if "markdown_text" in c.args]
    assert rendered and all("text" not in a and "blocks" not in a for a in rendered)
    assert all(len(a["markdown_text"]) <= 12_000 for a in rendered)


# --- "Decide with advisor" on a message --------------------------------------------------------


def test_the_message_shortcut_starts_an_interview_in_that_messages_thread(
    app: Running, fake: FakeSlack
) -> None:
    said = {
        "type": "message",
        "channel": CHANNEL,
        "user": "U0BEN",
        "text": "Should we fine-tune a model to route our support tickets?",
        "ts": fake.next_ts(),
        "team": TEAM,
    }
    fake.add_user_message(said)
    assert app.send.shortcut(said, user="U0CHI").status == 200
    app.idle()
    iid = interview_id(TEAM, CHANNEL, str(said["ts"]))
    record = app.engine.store.get_interview(iid)
    assert record is not None and "route our support tickets" in record.use_case
    assert record.origin["user_id"] == "U0CHI"
    assert fake.questions(CHANNEL, str(said["ts"]))  # the first question is in its thread
    before = len(fake.questions(CHANNEL, str(said["ts"])))
    app.send.shortcut(said, user="U0CHI")  # again on the same message: no second interview
    app.idle()
    assert len(fake.questions(CHANNEL, str(said["ts"]))) <= before + 1
    assert len(app.engine.store.list_interviews(prefix=f"{TEAM}:{CHANNEL}:")) == 1


# --- "is thinking…" while Claude works -------------------------------------------------------


class QuietClaude:
    """An LLM hook that reads nothing more (the offline reading stands) and writes no prose."""

    def extract(self, *args: object, **kwargs: object) -> None:
        return None

    def answer(self, *args: object, **kwargs: object) -> None:
        return None

    def write_prose(self, *args: object, **kwargs: object) -> None:
        return None


def test_the_thread_shows_claude_is_working_until_the_reply_lands(fake: FakeSlack) -> None:
    from graph.interview import Interviews

    running = run_app(fake, Interviews(llm=QuietClaude()))  # type: ignore[arg-type]
    try:
        thread = start(running, fake)
        fake.statuses.clear()
        since = len(fake.calls)
        running.send.reply("classification", thread_ts=thread)
        running.idle()
        shown = [s for s in fake.statuses if s["thread_ts"] == thread]
        assert shown and shown[0]["status"] == "is thinking…"
        calls = fake.calls[since:]
        status_at = next(
            i for i, c in enumerate(calls) if c.method == "assistant.threads.setStatus"
        )
        posted_at = max(i for i, c in enumerate(calls) if c.method == "chat.postMessage")
        assert status_at < posted_at  # set before the answer went out (which clears it)
    finally:
        running.stop()


def test_without_claude_no_status_is_set(app: Running, fake: FakeSlack) -> None:
    thread = start(app, fake)
    app.send.reply("classification", thread_ts=thread)
    app.idle()
    assert not fake.called("assistant.threads.setStatus")
