"""The Slack app end to end: the real app behind waitress on loopback, the Web API played by
tests/slack_fake.py, and Slack's requests signed like Slack signs them."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from slack_fake import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    FakeSlack,
    Serve,
    SlackSender,
    press,
    transcript,
)

from bot.cli import cli
from bot.serve import Settings, build, http_server
from bot.slack_app import METHOD_SCOPES, Delivery, SlackAdvisor, interview_id
from graph.interview import Interviews

CHANNEL = "C0CHAN"
ROOT = Path(__file__).resolve().parent.parent
USE_CASE = "classify support emails into 12 categories"

# One team's answers for "classify support emails": typed, or (when the question has
# options) the labels to press/tick.
TYPED = {
    "knowledge": "no",
    "tried": "system prompt, few-shot, structured output, chain of thought and decomposition",
    "eval": "400 items, 82% now, need 95%",
    "examples": "about 3,000, clean",
    "usage": "2M a month, ~1,500 in, 20 out",
    "owner": "the ML platform team (Priya)",
    "use_case": USE_CASE,
}
PRESSED = {
    "task": ["Classification: sort inputs into fixed categories"],
    "problems": ["Accuracy is stuck below what we need", "It's too expensive"],
    "stable": ["Yes"],
    "cleared": ["Yes"],
    "stakes": ["Some time or rework"],
    "constraints": [
        "Model spend is under pressure",
        "Answers must be fast: latency is a hard requirement",
    ],
}


@dataclass
class Running:
    advisor: SlackAdvisor
    server: Any
    thread: threading.Thread
    send: SlackSender
    idle_timeout: float = 20.0

    @property
    def engine(self) -> Interviews:
        return self.advisor.engine  # type: ignore[return-value]

    def idle(self) -> None:
        assert self.advisor.wait_idle(self.idle_timeout), "the app did not finish its work"

    def stop(self) -> None:
        # Close waitress from inside its own loop (closing from here races its poll()).
        self.server.trigger.pull_trigger(self.server.close)
        self.thread.join(5)
        self.server.task_dispatcher.shutdown()
        self.advisor.close()


def run_app(
    fake: FakeSlack,
    engine: Interviews | None = None,
    *,
    token: str = BOT_TOKEN,
    secret: str = SIGNING_SECRET,
    threads: int = 16,
    idle_timeout: float = 20.0,
    **options: Any,
) -> Running:
    """``advisor serve``'s app behind waitress on loopback, talking to ``fake``; ``options``
    go to ``build`` (retry timings in tenths of a second unless told otherwise)."""
    settings = Settings(token, secret, None, fake.url, 0, "127.0.0.1")
    options.setdefault("delivery", Delivery(base=0.05, cap=0.5, poll=0.05))
    advisor = build(settings, engine, wait=0.01, jitter=0.01, **options)
    server = http_server(advisor, "127.0.0.1", 0, threads=threads, asyncore_loop_timeout=0.05)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}/slack/events"
    sender = SlackSender(url, fake, secret=secret)
    return Running(advisor, server, thread, sender, idle_timeout)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server
        # Whatever a test did, the app only called methods whose scopes the manifest asks for.
        manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
        scopes = set(manifest["oauth_config"]["scopes"]["bot"])
        for method in server.methods() - {"(upload)"}:
            assert method in METHOD_SCOPES, f"{method} is not in METHOD_SCOPES"
            assert METHOD_SCOPES[method] in scopes | {None}, f"{method} needs a scope"


@pytest.fixture
def app(fake: FakeSlack) -> Iterator[Running]:
    running = run_app(fake)
    yield running
    running.stop()


# --- helpers ----------------------------------------------------------------------------


def start(app: Running, fake: FakeSlack, text: str = USE_CASE, user: str = "U0ANA") -> str:
    """/advisor TEXT; returns the new thread's ts."""
    before = len(fake.parents())
    sent = app.send.command(text, user=user)
    assert sent.status == 200 and sent.body == ""
    app.idle()
    made = fake.parents()
    assert len(made) == before + 1
    return made[-1]


def last_question(fake: FakeSlack, thread_ts: str) -> dict[str, Any]:
    questions = fake.questions(CHANNEL, thread_ts)
    assert questions, "no question in the thread"
    return questions[-1]


def checkbox_state(message: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for n, block in enumerate(message["blocks"]):
        if block["type"] != "actions":
            continue
        for element in block["elements"]:
            if element["type"] == "checkboxes":
                chosen = [o for o in element["options"] if o["text"]["text"] in labels]
                state.setdefault(f"b{n}", {})[element["action_id"]] = {
                    "type": "checkboxes",
                    "selected_options": chosen,
                }
    return state


def answer(
    app: Running,
    fake: FakeSlack,
    thread_ts: str,
    *,
    press_buttons: bool,
    user: str,
    text: str | None = None,
) -> str:
    """Answer the pending question once, by button/checkbox or by typing; returns its id."""
    message = last_question(fake, thread_ts)
    qid = message["metadata"]["event_payload"]["question_id"]
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    pending = app.engine.pending(iid)
    assert pending is not None and pending.id == qid  # the thread shows what the engine waits on
    if text is not None:
        sent = app.send.reply(text, thread_ts=thread_ts, user=user)
    elif press_buttons and qid in PRESSED:
        labels = PRESSED[qid]
        if pending.multi:
            submit = press(message, "Submit")
            sent = app.send.click(message, submit, user=user, state=checkbox_state(message, labels))
        else:
            sent = app.send.click(message, press(message, labels[0]), user=user)
    else:
        text = TYPED.get(qid) or ", ".join(PRESSED.get(qid, [])) or pending.example
        sent = app.send.reply(text, thread_ts=thread_ts, user=user)
    assert sent.status == 200
    app.idle()
    return qid


def run_to_memo(app: Running, fake: FakeSlack, thread_ts: str, *, buttons: bool) -> list[str]:
    asked: list[str] = []
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    for turn in range(40):
        if app.engine.pending(iid) is None:
            return asked
        user = ("U0ANA", "U0BEN", "U0CHI")[turn % 3]
        # An answer the engine could not read is asked again with a hint: skip it then.
        again = "skip" if asked and asked[-1] == last_id(fake, thread_ts) else None
        asked.append(answer(app, fake, thread_ts, press_buttons=buttons, user=user, text=again))
    raise AssertionError(f"the interview never ended: {asked}")


def last_id(fake: FakeSlack, thread_ts: str) -> str:
    return str(last_question(fake, thread_ts)["metadata"]["event_payload"]["question_id"])


def memo_summaries(fake: FakeSlack, thread_ts: str) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.replies(CHANNEL, thread_ts)
        if (m.get("metadata") or {}).get("event_type") == "advisor_memo"
    ]


# --- a whole interview ------------------------------------------------------------------


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


def checkbox_labels(message: dict[str, Any]) -> list[str]:
    """The labels of ``message``'s checkbox options."""
    return [
        option["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "checkboxes"
        for option in element["options"]
    ]


# --- escaping ---------------------------------------------------------------------------


def test_pings_and_links_in_a_use_case_are_echoed_harmlessly(app: Running, fake: FakeSlack) -> None:
    hostile = "&lt;!channel&gt; <!here> triage <@U0999> <https://evil.example|click> & co"
    thread_ts = start(app, fake, hostile)
    parent = fake.messages[(CHANNEL, thread_ts)]
    everything = parent["text"] + json.dumps(parent["blocks"])
    for bad in ("<!channel>", "<!here>", "<@U0999>", "<https://evil"):
        assert bad not in everything
    assert "&lt;!channel&gt;" in parent["text"] and "&amp; co" in parent["text"]


# --- help, list, home -------------------------------------------------------------------


def test_help_is_an_immediate_ephemeral_answer(app: Running, fake: FakeSlack) -> None:
    sent = app.send.command("help")
    assert sent.status == 200
    body = json.loads(sent.body)
    assert body["response_type"] == "ephemeral"
    assert "/advisor list" in body["text"] and "&lt;use case&gt;" in body["text"]
    app.idle()
    assert not fake.called("chat.postMessage")


def test_list_shows_this_channels_decisions_with_links_and_status(
    app: Running, fake: FakeSlack
) -> None:
    first = start(app, fake, "summarise sales calls")
    start(app, fake, "route tickets")
    app.send.reply("cancel", thread_ts=first)
    app.idle()
    app.send.command("list", user="U0CHI")
    app.idle()
    shown = fake.called("chat.postEphemeral")[-1].args
    assert shown["user"] == "U0CHI" and shown["channel"] == CHANNEL
    text = json.dumps(shown["blocks"])
    assert "summarise sales calls" in text and "route tickets" in text
    assert "cancelled" in text and "in progress" in text
    assert f"https://acme.slack.com/archives/{CHANNEL}/p{first.replace('.', '')}" in text


def test_app_home_lists_the_users_interviews(app: Running, fake: FakeSlack) -> None:
    start(app, fake, "extract invoice fields", user="U0CHI")
    start(app, fake, "someone else's use case", user="U0ANA")
    sent = app.send.event(
        {"type": "app_home_opened", "user": "U0CHI", "channel": "D1", "tab": "home"}
    )
    assert sent.status == 200
    app.idle()
    view = fake.called("views.publish")[-1].args
    assert view["user_id"] == "U0CHI"
    text = json.dumps(view["view"])
    assert "extract invoice fields" in text and "someone else" not in text


def test_not_in_channel_explains_how_to_invite(app: Running, fake: FakeSlack) -> None:
    fake.errors["chat.postMessage"] = "not_in_channel"
    sent = app.send.command(USE_CASE)
    assert sent.status == 200
    app.idle()
    assert fake.responses and "/invite @advisor" in fake.responses[-1]["text"]


# --- robustness -------------------------------------------------------------------------


def test_the_request_url_check_is_answered(app: Running) -> None:
    body = json.dumps({"token": "t", "challenge": "c4ll3ng3", "type": "url_verification"})
    sent = app.send.post(body, "application/json")
    assert sent.status == 200 and json.loads(sent.body) == {"challenge": "c4ll3ng3"}


def test_bad_or_stale_signatures_are_rejected(app: Running, fake: FakeSlack) -> None:
    calls = len(fake.calls)
    body = "command=%2Fadvisor&text=x&team_id=T0TEAM&channel_id=C0CHAN&user_id=U0ANA"
    form = "application/x-www-form-urlencoded"
    forged = app.send.post(
        body, form, signed={"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"}
    )
    stale = app.send.post(body, form, signed=app.send.sign(body, timestamp=1_600_000_000))
    wrong = SlackSender(app.send.url, fake, secret="f" * 32).post(body, form)
    unsigned = app.send.post(body, form, signed={})
    assert [s.status for s in (forged, stale, wrong, unsigned)] == [401, 401, 401, 401]
    app.idle()
    assert len(fake.calls) == calls  # nothing was started


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
    # One line of questions: each skip settled the next one, none was asked twice.
    assert asked[0] == first and len(asked) == 1 + len(users) == len(set(asked))
    answers = app.engine.store.answers(iid)
    skipped = [a.question_id for a in answers if a.text == "skip"]
    assert skipped == asked[: len(users)]


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


def test_rate_limits_and_server_errors_from_the_web_api_are_retried(
    app: Running, fake: FakeSlack
) -> None:
    fake.fail_next(1, 429, retry_after=0, method="chat.postMessage")
    fake.fail_next(1, 500, method="chat.postMessage")
    fake.fail_next(1, 503, method="chat.getPermalink")
    thread_ts = start(app, fake)
    statuses = [c.method for c in fake.calls if c.method == "chat.postMessage"]
    assert len(statuses) >= 4  # two failed attempts, then the parent and the first question
    assert fake.messages[(CHANNEL, thread_ts)]["text"].endswith(USE_CASE)
    assert last_question(fake, thread_ts)
    record = app.engine.store.get_interview(interview_id(TEAM, CHANNEL, thread_ts))
    assert record is not None and record.origin.get("permalink")


def test_a_failing_handler_apologises_in_the_thread_and_logs_the_thread_id(
    app: Running, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine on fire")

    monkeypatch.setattr(app.engine, "reply", broken)
    with caplog.at_level(logging.ERROR, logger="advisor.slack"):
        app.send.reply("skip", thread_ts=thread_ts)
        app.idle()
    assert "Sorry, something went wrong" in fake.replies(CHANNEL, thread_ts)[-1]["text"]
    assert any(iid in r.getMessage() and r.exc_info for r in caplog.records)
    monkeypatch.undo()
    app.send.reply("skip", thread_ts=thread_ts)  # the thread still works afterwards
    app.idle()
    assert len(fake.questions(CHANNEL, thread_ts)) == 2


def test_an_error_before_the_work_is_queued_still_apologises_and_logs(
    app: Running, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(app.advisor.tables, "receive", broken)  # keeping the reply fails
    with caplog.at_level(logging.ERROR, logger="advisor.slack"):
        sent = app.send.reply("skip", thread_ts=thread_ts)
        app.idle()
    assert sent.status == 200  # Slack got its ack; the error is ours to report
    assert "Sorry, something went wrong" in fake.replies(CHANNEL, thread_ts)[-1]["text"]
    assert any(iid in r.getMessage() for r in caplog.records)


def test_memo_is_posted_as_text_when_the_upload_fails(
    app: Running, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    fake.fail_uploads = True
    with caplog.at_level(logging.ERROR, logger="advisor.slack"):
        app.send.reply("memo", thread_ts=thread_ts)
        app.idle()
    memo = app.engine.store.latest_memo(iid)
    assert memo is not None  # saved whatever Slack did
    assert any("upload failed" in r.getMessage() and iid in r.getMessage() for r in caplog.records)
    texts = [m["text"] for m in fake.replies(CHANNEL, thread_ts)]
    start_at = next(n for n, t in enumerate(texts) if "couldn't attach decision-memo.md" in t)
    body = "".join(texts[start_at + 1 :]).replace("\n", "")
    assert (
        memo.markdown.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "")
        == body
    )


# --- the decision -----------------------------------------------------------------------


def test_accept_changes_the_memo_status_its_file_and_the_export(
    app: Running, fake: FakeSlack
) -> None:
    thread_ts = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    app.send.reply("memo", thread_ts=thread_ts, user="U0BEN")
    app.idle()
    summary = memo_summaries(fake, thread_ts)[-1]
    app.send.click(summary, press(summary, "Accept"), user="U0CHI")
    app.idle()
    memo = app.engine.store.latest_memo(iid)
    assert memo is not None and memo.status == "accepted" and memo.decided_by == "Chi Nguyen"
    assert "accepted" in memo.markdown.lower()
    updated = fake.messages[(CHANNEL, summary["ts"])]
    assert "*Status:* Accepted by Chi Nguyen" in json.dumps(updated["blocks"], ensure_ascii=False)
    files = [f for f in fake.thread(CHANNEL, thread_ts) if f.get("type") == "file"]
    assert len(files) == 2 and files[-1]["content"].decode() == memo.markdown
    completed = fake.called("files.completeUploadExternal")[-1].args
    assert (
        completed["thread_ts"] == thread_ts
        and "accepted by <@U0CHI>" in completed["initial_comment"]
    )
    # A second Accept changes nothing and says so privately.
    app.send.click(summary, press(summary, "Accept"), user="U0ANA")
    app.idle()
    assert len([f for f in fake.thread(CHANNEL, thread_ts) if f.get("type") == "file"]) == 2
    assert "already accepted" in fake.ephemeral[-1]["text"]
    # `advisor memo export` prints the same memo, status and all.
    exported = CliRunner().invoke(cli, ["memo", "export", memo.id])
    assert exported.exit_code == 0 and exported.output.strip() == memo.markdown.strip()
    # Reject changes it back the other way.
    app.send.click(summary, press(summary, "Reject"), user="U0BEN")
    app.idle()
    rejected = app.engine.store.latest_memo(iid)
    assert rejected is not None and rejected.status == "rejected"
    assert "Rejected by Ben Okafor" in json.dumps(fake.messages[(CHANNEL, summary["ts"])]["blocks"])
    # Revise explains how.
    app.send.click(summary, press(summary, "Revise"), user="U0ANA")
    app.idle()
    assert "change volume to 50k" in fake.replies(CHANNEL, thread_ts)[-1]["text"]


# --- latency and restarts ----------------------------------------------------------------


def test_twelve_interviews_starting_at_once_are_all_acknowledged_inside_slacks_3s(
    app: Running, fake: FakeSlack
) -> None:
    users = ["U0ANA", "U0BEN", "U0CHI"] * 4
    with ThreadPoolExecutor(len(users)) as pool:
        sent = list(pool.map(lambda u: app.send.command(f"use case of {u}", user=u), users))
    assert all(s.status == 200 for s in sent)
    assert max(s.seconds for s in sent) < 3.0  # Slack's hard limit for an acknowledgement
    app.idle()
    assert len(fake.parents()) == 12
    for parent_ts in fake.parents():
        assert fake.questions(CHANNEL, parent_ts)


def test_a_new_process_on_the_same_database_continues_the_interview(fake: FakeSlack) -> None:
    first = run_app(fake)
    thread_ts = start(first, fake)
    answer(first, fake, thread_ts, press_buttons=True, user="U0ANA")
    asked_before = [
        m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread_ts)
    ]
    first.stop()  # the old app is gone; a new one opens the same ADVISOR_DB
    second = run_app(fake)
    try:
        qid = answer(second, fake, thread_ts, press_buttons=False, user="U0BEN")
        assert qid == asked_before[-1]
        asked = [
            m["metadata"]["event_payload"]["question_id"]
            for m in fake.questions(CHANNEL, thread_ts)
        ]
        assert asked[: len(asked_before)] == asked_before and len(asked) == len(asked_before) + 1
    finally:
        second.stop()


def test_a_typed_answer_after_a_restart_still_takes_the_buttons_off_the_old_question(
    fake: FakeSlack,
) -> None:
    first = run_app(fake)
    thread_ts = start(first, fake)
    question = last_question(fake, thread_ts)
    assert [b for b in question["blocks"] if b["type"] == "actions"]  # buttons, for "task"
    first.stop()  # the message id lives in the store, not in this process
    second = run_app(fake)
    try:
        second.send.reply("classification", thread_ts=thread_ts, user="U0BEN")
        second.idle()
        tidied = fake.messages[(CHANNEL, question["ts"])]
        assert tidied.get("edited")
        assert not [b for b in tidied["blocks"] if b["type"] == "actions"]
        assert "<@U0BEN> replied in the thread" in json.dumps(tidied["blocks"])
        assert len(fake.questions(CHANNEL, thread_ts)) == 2
    finally:
        second.stop()


def test_kill_9_mid_interview_and_the_next_reply_continues(fake: FakeSlack, tmp_path: Path) -> None:
    """The real command, killed without warning between two answers."""
    serve = Serve(fake)
    try:
        serve.send.command(USE_CASE)
        thread_ts = fake.wait_for(lambda: fake.parents())[0]
        first = fake.wait_for(lambda: fake.questions(CHANNEL, thread_ts))
        serve.send.reply("skip", thread_ts=thread_ts)
        fake.wait_for(lambda: len(fake.questions(CHANNEL, thread_ts)) == 2)
    finally:
        serve.kill()  # SIGKILL: no shutdown code runs
    serve = Serve(fake)
    try:
        serve.send.reply("skip", thread_ts=thread_ts)
        fake.wait_for(lambda: len(fake.questions(CHANNEL, thread_ts)) == 3)
        asked = [
            m["metadata"]["event_payload"]["question_id"]
            for m in fake.questions(CHANNEL, thread_ts)
        ]
        assert asked[0] == first[0]["metadata"]["event_payload"]["question_id"]
        assert len(set(asked)) == 3  # it went on to a new question, not back to the start
    finally:
        serve.stop()


def test_thread_reads_like_a_conversation(app: Running, fake: FakeSlack) -> None:
    """The transcript a team sees (printed with -s; used for the README walkthrough)."""
    thread_ts = start(app, fake)
    run_to_memo(app, fake, thread_ts, buttons=True)
    text = transcript(fake, CHANNEL, thread_ts)
    print(text)
    assert text.startswith("[advisor] *Decision interview:* " + USE_CASE)
    assert "📎 decision-memo.md" in text
