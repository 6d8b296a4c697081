"""Text echoed back to Slack is escaped on every path: a use case, an answer, a correction,
a follow-up question or a clicker's id holding ``<!channel>``, ``<@U0999>`` or
``<https://evil.example|click>`` never pings anyone or renders a link, wherever it shows up
(parent message, "Noted"/"Changed" replies, the answered question, the memo summary and its
file comment, `/advisor list`, App Home)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_fake import TEAM, FakeSlack, press
from slack_harness import CHANNEL, Running, run_app, start

from bot.slack import blocks
from bot.slack.payloads import interview_id

# As Slack delivers them: a real @channel, a mention of someone, a masked link, and the
# same characters typed literally (which Slack sends escaped).
HOSTILE = "<!channel> <@U0999> <https://evil.example|click> &lt;!here&gt; &lt;@U0998&gt;"
FORBIDDEN = ("<!", "<@U0999", "<@U0998", "<https://evil", "<http://evil", "|click>")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def app(fake: FakeSlack) -> Iterator[Running]:
    running = run_app(fake)
    yield running
    running.stop()


def rendered(fake: FakeSlack) -> list[str]:
    """Everything Slack would render as mrkdwn that the app sent, one string per item."""
    out: list[str] = []
    for message in fake.messages.values():
        if message.get("bot_id"):
            out.append(str(message.get("text")) + json.dumps(message.get("blocks")))
    for call in fake.called("chat.update"):
        out.append(str(call.args.get("text")) + json.dumps(call.args.get("blocks")))
    for note in fake.ephemeral:
        out.append(str(note.get("text")) + json.dumps(note.get("blocks")))
    for view in fake.views:
        out.append(json.dumps(view["view"]))
    for file in fake.files.values():
        out.append(f"{file.get('title')} {file.get('initial_comment')}")
    out += [json.dumps(r) for r in fake.responses]
    return out


def assert_harmless(fake: FakeSlack) -> None:
    for text in rendered(fake):
        for bad in FORBIDDEN:
            assert bad not in text, f"{bad!r} reached Slack in: {text[:300]}"


def test_every_echo_of_hostile_text_is_harmless(app: Running, fake: FakeSlack) -> None:
    thread_ts = start(app, fake, HOSTILE)  # the parent message names the use case
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    parent = fake.messages[(CHANNEL, thread_ts)]
    # A real @channel shows as the words "@channel"; typed brackets show as brackets.
    assert "@channel" in parent["text"] and "&lt;!here&gt;" in parent["text"]
    send = app.send
    # A typed answer to a button question: quoted on the retired question.
    send.reply(f"classification {HOSTILE}", thread_ts=thread_ts)
    # A correction, an unreadable correction and a follow-up question: all echoed back.
    send.reply(f"change owner to {HOSTILE}", thread_ts=thread_ts)
    send.reply(f"change volume to {HOSTILE}", thread_ts=thread_ts)
    send.reply(f"what is RAG {HOSTILE}?", thread_ts=thread_ts)
    send.reply("memo", thread_ts=thread_ts)
    app.idle()
    quoted = [c for c in fake.called("chat.update") if "replied in the thread" in str(c.args)]
    assert quoted  # the quote path really ran
    said = [m["text"] for m in fake.replies(CHANNEL, thread_ts) if m.get("bot_id")]
    changed = [t for t in said if t.startswith("Changed")]
    assert changed and "@channel" in changed[0]  # shown as words, not as a ping
    summary = next(
        m
        for m in fake.replies(CHANNEL, thread_ts)
        if (m.get("metadata") or {}).get("event_type") == "advisor_memo"
    )
    assert "evil.example" in json.dumps(summary["blocks"]) or "click" in json.dumps(
        summary["blocks"]
    )
    # A click from a forged user id, then the list and the home tab.
    send.click(summary, press(summary, "Accept"), user="U1|<!channel>")
    send.command("list", user="U0CHI")
    send.event({"type": "app_home_opened", "user": "U0ANA", "channel": "D1", "tab": "home"})
    app.idle()
    memo = app.engine.store.latest_memo(iid)
    assert memo is not None and memo.status == "accepted"
    assert fake.views and fake.ephemeral
    assert_harmless(fake)


def test_a_mention_with_hostile_text_starts_an_interview_harmlessly(
    app: Running, fake: FakeSlack
) -> None:
    sent, ts = app.send.mention(HOSTILE, user="U0BEN")
    assert sent.status == 200
    app.idle()
    assert app.engine.exists(interview_id(TEAM, CHANNEL, ts))
    assert_harmless(fake)


@pytest.mark.parametrize(
    ("user_id", "shown"),
    [("U0ANA", "<@U0ANA>"), ("W123ABC", "<@W123ABC>"), ("<!channel>", "&lt;!channel&gt;")],
)
def test_only_real_user_ids_become_mentions(user_id: str, shown: str) -> None:
    assert blocks.mention(user_id) == shown


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.slack.com/archives/C1/p1", "<https://acme.slack.com/archives/C1/p1|x>"),
        ("https://evil.example|click", "x"),
        ("javascript:alert(1)", "x"),
        (None, "x"),
    ],
)
def test_only_plain_https_links_are_linked(url: Any, expected: str) -> None:
    assert blocks.link(url, "x") == expected
