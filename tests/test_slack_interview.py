"""A whole interview in a Slack thread, as a team sees it: started by /advisor or a mention,
answered by buttons, checkboxes or typed replies, by several people at once, ending with the
memo file and its summary. Everything else in the channel is left alone."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from slack_fake import BOT_ID, BOT_USER, TEAM, FakeSlack, press, transcript
from slack_harness import (
    CHANNEL,
    PRESSED,
    USE_CASE,
    Running,
    answer,
    app,
    checkbox_labels,
    checkbox_state,
    fake,
    last_question,
    memo_summaries,
    run_to_memo,
    start,
)

from bot.slack.payloads import interview_id
from bot.slack.step import ANSWERED_BEFORE_YOU, LATE_REPLY

__all__ = ["app", "fake"]  # fixtures


def test_whole_interview_with_buttons_ends_with_memo_file_and_summary(
    app: Running, fake: FakeSlack
) -> None:
    thread_ts = start(app, fake)
    parent = fake.messages[(CHANNEL, thread_ts)]
    assert USE_CASE in parent["text"] and "<@U0ANA>" in parent["text"]
    first = last_question(fake, thread_ts)
    assert first["thread_ts"] == thread_ts
    assert first["metadata"]["event_type"] == "advisor_question"

    asked = run_to_memo(app, fake, thread_ts, buttons=True)
    assert len(set(asked)) >= 8 and asked[0] == "task"

    # Every question message carried its metadata and, once clicked, lost its buttons.
    for message in fake.questions(CHANNEL, thread_ts):
        payload = message["metadata"]["event_payload"]
        assert set(payload) == {"question_id", "fields"} and payload["fields"]
        if payload["question_id"] in PRESSED:
            assert message.get("edited"), payload["question_id"]
            assert not [b for b in message["blocks"] if b["type"] == "actions"]
            assert "answered by <@U0" in json.dumps(message["blocks"])

    summaries = memo_summaries(fake, thread_ts)
    assert len(summaries) == 1
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    memo = app.engine.store.latest_memo(iid)
    assert memo is not None
    payload = summaries[0]["metadata"]["event_payload"]
    assert payload["approach"] == memo.approach and payload["next_rung"] == memo.next_rung
    text = json.dumps(summaries[0]["blocks"], ensure_ascii=False)
    assert sum(text.count(icon) for icon in "✅❌❓") == 5

    files = [f for f in fake.thread(CHANNEL, thread_ts) if f.get("type") == "file"]
    assert [f["name"] for f in files] == ["decision-memo.md"]
    assert files[0]["content"].decode() == memo.markdown
    assert set(fake.methods()) >= {
        "files.getUploadURLExternal",
        "(upload)",
        "files.completeUploadExternal",
    }
    # "who said what": the memo names the people who answered.
    assert "Ana Lopez" in memo.markdown and "Ben Okafor" in memo.markdown


def test_whole_interview_by_typed_replies(app: Running, fake: FakeSlack) -> None:
    thread_ts = start(app, fake)
    asked = run_to_memo(app, fake, thread_ts, buttons=False)
    assert len(set(asked)) >= 8
    assert len(memo_summaries(fake, thread_ts)) == 1
    assert not fake.called("chat.update") or all(
        "replied in the thread" in json.dumps(c.args["blocks"]) for c in fake.called("chat.update")
    )


def test_slash_command_without_text_asks_for_the_use_case_in_the_thread(
    app: Running, fake: FakeSlack
) -> None:
    thread_ts = start(app, fake, "")
    question = last_question(fake, thread_ts)
    assert question["metadata"]["event_payload"]["question_id"] == "use_case"
    app.send.reply(USE_CASE, thread_ts=thread_ts)
    app.idle()
    record = app.engine.store.get_interview(interview_id(TEAM, CHANNEL, thread_ts))
    assert record is not None and record.use_case == USE_CASE
    assert last_question(fake, thread_ts)["metadata"]["event_payload"]["question_id"] != "use_case"


def test_a_mention_starts_an_interview_and_a_mention_in_its_thread_answers(
    app: Running, fake: FakeSlack
) -> None:
    sent, ts = app.send.mention(USE_CASE, user="U0BEN")
    assert sent.status == 200
    app.idle()
    iid = interview_id(TEAM, CHANNEL, ts)
    assert app.engine.exists(iid)
    intro = fake.replies(CHANNEL, ts)[0]
    assert USE_CASE in intro["text"] and "<@U0BEN>" in intro["text"]
    pending = app.engine.pending(iid)
    assert pending is not None
    app.send.mention("skip", user="U0ANA", thread_ts=ts)
    app.idle()
    after = app.engine.pending(iid)
    assert after is not None and after.id != pending.id
    # A bare mention asks the pending question again; only the new copy keeps buttons.
    app.send.mention("", user="U0CHI", thread_ts=ts)
    app.idle()
    copies = [
        m
        for m in fake.questions(CHANNEL, ts)
        if m["metadata"]["event_payload"]["question_id"] == after.id
    ]
    assert len(copies) == 2
    with_buttons = [m for m in copies if any(b["type"] == "actions" for b in m["blocks"])]
    assert with_buttons == [copies[-1]]
    assert "Asked again below" in json.dumps(copies[0]["blocks"])


def test_a_use_case_that_mentions_payload_starts_an_interview(
    app: Running, fake: FakeSlack
) -> None:
    # Bolt takes any form containing "payload" for an interaction, and reads this one as empty.
    use_case = "check the JSON payload of each webhook against its schema"
    thread_ts = start(app, fake, use_case)
    record = app.engine.store.get_interview(interview_id(TEAM, CHANNEL, thread_ts))
    assert record is not None and record.use_case == use_case


def test_a_submit_with_ticks_of_another_shape_is_ignored_and_the_question_stays(
    app: Running, fake: FakeSlack
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    for _ in range(10):  # answer until a checkbox question is asked
        pending = app.engine.pending(iid)
        assert pending is not None
        if pending.multi:
            break
        answer(app, fake, thread_ts, press_buttons=True, user="U0ANA")
    else:
        raise AssertionError("no checkbox question was asked")
    message = last_question(fake, thread_ts)
    labels = PRESSED.get(pending.id) or [checkbox_labels(message)[0]]
    state = checkbox_state(message, labels)
    good = json.loads(json.dumps(state))
    for block in state.values():
        for ticks in block.values():
            ticks["selected_options"].append({"text": {"type": "plain_text", "text": "no value"}})
    sent = app.send.click(message, press(message, "Submit"), user="U0ANA", state=state)
    app.idle()
    assert sent.status == 200
    still = app.engine.pending(iid)
    assert still is not None and still.id == pending.id  # nothing was answered
    assert not any("Sorry" in m.get("text", "") for m in fake.replies(CHANNEL, thread_ts))
    app.send.click(message, press(message, "Submit"), user="U0ANA", state=good)
    app.idle()
    after = app.engine.pending(iid)
    assert after is None or after.id != pending.id  # the real Submit still answers it


def test_pings_and_links_in_a_use_case_are_echoed_harmlessly(app: Running, fake: FakeSlack) -> None:
    hostile = "&lt;!channel&gt; <!here> triage <@U0999> <https://evil.example|click> & co"
    thread_ts = start(app, fake, hostile)
    parent = fake.messages[(CHANNEL, thread_ts)]
    everything = parent["text"] + json.dumps(parent["blocks"])
    for bad in ("<!channel>", "<!here>", "<@U0999>", "<https://evil"):
        assert bad not in everything
    assert "&lt;!channel&gt;" in parent["text"] and "&amp; co" in parent["text"]


def test_a_retried_event_gets_no_second_reply(app: Running, fake: FakeSlack) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    posted = len(fake.called("chat.postMessage"))
    first = app.send.reply("why?", thread_ts=thread_ts, event_id="Ev0RETRY")
    again = app.send.reply("why?", thread_ts=thread_ts, event_id="Ev0RETRY", retry=1)
    assert (first.status, again.status) == (200, 200)
    app.idle()
    once = len(fake.called("chat.postMessage")) - posted
    assert once >= 1
    app.send.reply("why?", thread_ts=thread_ts, event_id="Ev0RETRY", retry=2)
    app.idle()
    assert len(fake.called("chat.postMessage")) - posted == once
    assert sum(a.text == "why?" for a in app.engine.store.answers(iid)) == 1


def test_bots_edits_deletions_and_other_threads_are_ignored(app: Running, fake: FakeSlack) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    calls = len(fake.calls)
    answers = len(app.engine.store.answers(iid))
    send = app.send
    send.reply("skip", thread_ts=thread_ts, user=BOT_USER, bot_id=BOT_ID)  # our own message
    send.reply("skip", thread_ts=thread_ts, user="U0OTHERBOT", bot_id="B0OTHER")
    send.reply("skip", thread_ts=thread_ts, subtype="bot_message", bot_id="B0OTHER")
    send.reply("skip", thread_ts=thread_ts, subtype="message_changed")
    send.reply("skip", thread_ts=thread_ts, subtype="message_deleted")
    send.reply("skip", thread_ts=thread_ts, subtype="channel_join")
    send.reply("skip", thread_ts="1799999999.000001")  # a thread that is not an interview
    send.event(
        {"type": "message", "channel": CHANNEL, "user": "U0ANA", "text": "skip", "ts": "1.2"}
    )
    app.idle()
    assert len(fake.calls) == calls
    assert len(app.engine.store.answers(iid)) == answers


def test_concurrent_replies_in_one_thread_do_not_fork_the_interview(
    app: Running, fake: FakeSlack
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    first = last_question(fake, thread_ts)["metadata"]["event_payload"]["question_id"]
    users = ["U0ANA", "U0BEN", "U0CHI", "U0ANA"]
    with ThreadPoolExecutor(len(users)) as pool:
        sent = list(pool.map(lambda u: app.send.reply("skip", thread_ts=thread_ts, user=u), users))
    assert all(s.status == 200 for s in sent)
    app.idle()
    asked = [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]
    # One line of questions, none asked twice. Replies typed under a question someone else
    # answered first (or that arrived after a later one) are not applied to the next
    # question: each of those is told so (tests/test_slack_order.py).
    told = [
        m
        for m in fake.replies(CHANNEL, thread_ts)
        if any(note[:40] in str(m.get("text")) for note in (LATE_REPLY, ANSWERED_BEFORE_YOU))
    ]
    applied = len(users) - len(told)
    assert applied >= 1
    assert asked[0] == first and len(asked) == 1 + applied == len(set(asked))
    answers = app.engine.store.answers(iid)
    skipped = [a.question_id for a in answers if a.text == "skip"]
    assert skipped == asked[:applied]


def test_a_second_click_on_a_question_does_not_answer_twice(app: Running, fake: FakeSlack) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    message = last_question(fake, thread_ts)
    assert message["metadata"]["event_payload"]["question_id"] == "task"
    button = press(message, PRESSED["task"][0])
    app.send.click(message, button, user="U0ANA")
    app.send.click(message, press(message, "Something else"), user="U0BEN")  # stale copy
    app.idle()
    profile = app.engine.profile(iid)
    assert profile is not None and profile.task_type == "classification"
    notices = [e for e in fake.ephemeral if e["user"] == "U0BEN"]
    assert notices and "already answered" in notices[-1]["text"]
    asked = [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]
    assert asked.count("task") == 1 and len(asked) == 2


def test_thread_reads_like_a_conversation(app: Running, fake: FakeSlack) -> None:
    """The transcript a team sees (printed with -s; used for the README walkthrough)."""
    thread_ts = start(app, fake)
    run_to_memo(app, fake, thread_ts, buttons=True)
    text = transcript(fake, CHANNEL, thread_ts)
    print(text)
    assert text.startswith("[advisor] *Decision interview:* " + USE_CASE)
    assert "📎 decision-memo.md" in text
