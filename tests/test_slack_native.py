"""Slack as it really behaves (issue 14): replies with files, edits and deletions, messages
Slack refuses for good, revoked tokens. Each drives the real app with the payload shape
Slack sends (tests/slack_fake.py ``SlackSender``)."""

from __future__ import annotations

from slack_fake import BOT_USER, TEAM, FakeSlack
from slack_harness import CHANNEL, PRESSED, TYPED, Running, app, fake, last_id, start

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
        }
    ]
