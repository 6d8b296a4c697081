"""/advisor help and list, the App Home, and the memo's Accept / Reject / Revise buttons."""

from __future__ import annotations

import json

from click.testing import CliRunner
from slack_fake import TEAM, FakeSlack, press
from slack_harness import (
    CHANNEL,
    USE_CASE,
    Running,
    app,
    fake,
    memo_summaries,
    start,
)

from bot.cli import cli
from bot.slack.payloads import interview_id

__all__ = ["app", "fake"]  # fixtures


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
