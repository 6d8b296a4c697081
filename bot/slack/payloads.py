"""What a Slack request says, read without side effects: where it comes from (team, channel,
thread, person), which interview it belongs to, and what was typed, pressed or ticked.

Everything is checked where it is read. A request of a shape Slack never sends is not from
Slack, or cannot be acted on: it comes back as ``Ignored`` (the listener acks it and logs one
line) rather than raising half-way. ``None`` means "not for us" (a bot's post, an edit, a
thread that is not an interview), which is normal traffic and not logged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from bot.slack import blocks

HELP_WORDS = frozenset({"help", "-h", "--help", "?"})
LIST_WORD = "list"

_SLACK_ID = re.compile(r"[A-Z0-9]+")  # C0123ABC, U0123ABC, ...
_SLACK_TS = re.compile(r"\d+\.\d+")  # 1700000000.000100


@dataclass(frozen=True)
class Where:
    """Where a piece of work happens: the channel, the thread, the person, and the message
    that was clicked."""

    channel: str
    thread_ts: str | None
    user: str
    message_ts: str | None = None


class Ignored(NamedTuple):
    """A request Slack would not send; ``what`` names it for the log."""

    what: str


def interview_id(team_id: str, channel_id: str, thread_ts: str) -> str:
    """The engine's id for a Slack thread (DESIGN.md section 6)."""
    return f"{team_id}:{channel_id}:{thread_ts}"


def slack_id(value: Any) -> str:
    """``value`` if it is a Slack id (channel, user, team), else ""."""
    return value if isinstance(value, str) and _SLACK_ID.fullmatch(value) else ""


def slack_ts(value: Any) -> str | None:
    """``value`` if it is a Slack message timestamp, else None."""
    return value if isinstance(value, str) and _SLACK_TS.fullmatch(value) else None


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def object_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# --- typed: the slash command, mentions, thread replies ---------------------------------


@dataclass(frozen=True)
class Command:
    """``/advisor <text>`` in a channel (no thread: slash commands cannot be used in one)."""

    where: Where | None  # None: no usable channel or user id (only help can be answered)
    text: str  # the use case, Slack markup turned back into text
    word: str  # the text as typed, lowered: "help", "list", or a use case
    key: str  # names this command's work in the queue


def command(payload: dict[str, Any], bot_user: str) -> Command:
    raw = text_of(payload.get("text")).strip()
    channel, user = slack_id(payload.get("channel_id")), slack_id(payload.get("user_id"))
    where = Where(channel, None, user) if channel and user else None
    trigger = text_of(payload.get("trigger_id"))
    key = f"start:{trigger}" if trigger else f"start:{channel}:{user}"
    return Command(where, blocks.from_slack(raw, bot_user), raw.lower(), key)


@dataclass(frozen=True)
class Said:
    """A message someone posted for the app: a mention, or a reply in an interview thread.
    ``where.thread_ts`` is the thread it is in, or, for a new mention, the one it starts."""

    where: Where
    text: str  # Slack markup turned back into text, the bot's own mention dropped
    in_thread: bool  # posted inside an existing thread
    event_id: str | None
    files: tuple[dict[str, Any], ...] = ()  # files shared with it (``shared_files``)
    ts: str | None = None  # the message's own ts: an edit or deletion names it

    @property
    def word(self) -> str:
        return self.text.lower()

    def data(self) -> dict[str, Any]:
        """What the inbox keeps of it: the text, and the files (not downloaded) if any."""
        data: dict[str, Any] = {"text": self.text, "ts": self.ts}
        if self.files:
            data["files"] = list(self.files)
        return data


# What is kept of a shared file: enough to check and fetch it later (url_private with the
# bot token, bot/slack/files.py), never its content. ``file_access: check_file_info`` marks
# a stub whose details only files.info gives.
FILE_FIELDS = (
    "id",
    "name",
    "title",
    "mimetype",
    "filetype",
    "size",
    "url_private",
    "file_access",
)
# Message subtypes that are a person's reply: plain, "also send to channel", a file with text.
REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")


def shared_files(event: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The files on a message, as Slack lists them (``files``), each cut to FILE_FIELDS; a
    file without an id is left out. A ``check_file_info`` stub is kept: the step asks
    files.info for the rest."""
    listed = event.get("files")
    kept = []
    for item in listed if isinstance(listed, list) else []:
        file = object_of(item)
        if not text_of(file.get("id")):
            continue
        kept.append({k: file[k] for k in FILE_FIELDS if isinstance(file.get(k), str | int)})
    return tuple(kept)


def mention(body: dict[str, Any], event: dict[str, Any], bot_user: str) -> Said | Ignored | None:
    if event.get("subtype") not in (None, "file_share") or event.get("bot_id"):
        return None
    if not event.get("user"):
        return None
    channel, user = slack_id(event.get("channel")), text_of(event.get("user"))
    thread_ts, ts = slack_ts(event.get("thread_ts")), slack_ts(event.get("ts"))
    root = thread_ts or ts
    if not channel or not user or not root:
        return Ignored("a mention without a channel, user or timestamp")
    text = blocks.from_slack(text_of(event.get("text")), bot_user)
    in_thread = thread_ts is not None
    files = shared_files(event)  # a file shared with a mention in the thread is evidence too
    return Said(Where(channel, root, user), text, in_thread, _event_id(body), files, ts)


def reply(body: dict[str, Any], event: dict[str, Any], bot_user: str) -> Said | Ignored | None:
    """A person's plain reply in a thread. "Also send to channel" replies are answers, and
    so are replies with a file attached (``file_share``: the text is the answer, the files
    are kept alongside). Edits and deletions are read by ``edited`` and ``deleted``; joins,
    bot posts and every other subtype are not answers. A reply that mentions the app is the
    mention event's to handle."""
    if event.get("subtype") not in REPLY_SUBTYPES:
        return None
    user = text_of(event.get("user"))
    if event.get("bot_id") or not user or user == bot_user:
        return None
    thread_ts, ts = slack_ts(event.get("thread_ts")), event.get("ts")
    if not thread_ts or thread_ts == ts:
        return None
    raw = text_of(event.get("text"))
    if f"<@{bot_user}>" in raw:
        return None
    channel = slack_id(event.get("channel"))
    if not channel:
        return Ignored("a reply without a channel")
    text = blocks.from_slack(raw, bot_user)
    files = shared_files(event)
    return Said(Where(channel, thread_ts, user), text, True, _event_id(body), files, slack_ts(ts))


@dataclass(frozen=True)
class Amended:
    """A person's reply in a thread edited (``text``) or deleted (``text`` is None)."""

    where: Where
    ts: str  # the reply's own ts (an edit keeps it)
    text: str | None
    event_id: str | None

    def data(self) -> dict[str, Any]:
        return {"ts": self.ts, "text": self.text}


def amended(body: dict[str, Any], event: dict[str, Any], bot_user: str) -> Amended | None:
    """``message_changed`` (the edited message under ``message``, the old one under
    ``previous_message``) or ``message_deleted`` (``deleted_ts``, the old one under
    ``previous_message``) of a person's reply in a thread; None for anything else, such as
    a bot's message, a thread's parent (Slack "changes" it when a reply arrives) or a link
    preview added to a message whose text stayed the same."""
    subtype = event.get("subtype")
    if subtype not in ("message_changed", "message_deleted"):
        return None
    channel = slack_id(event.get("channel"))
    before = object_of(event.get("previous_message"))
    now = object_of(event.get("message")) if subtype == "message_changed" else {}
    shown = now if subtype == "message_changed" else before
    user = text_of(shown.get("user"))
    thread_ts, ts = slack_ts(shown.get("thread_ts")), slack_ts(shown.get("ts"))
    if subtype == "message_deleted":
        ts = slack_ts(event.get("deleted_ts")) or ts
    if not channel or not user or user == bot_user or shown.get("bot_id"):
        return None
    if not thread_ts or not ts or thread_ts == ts or shown.get("subtype") not in REPLY_SUBTYPES:
        return None
    if subtype == "message_deleted":
        return Amended(Where(channel, thread_ts, user), ts, None, _event_id(body))
    text = blocks.from_slack(text_of(now.get("text")), bot_user)
    if text == blocks.from_slack(text_of(before.get("text")), bot_user):
        return None  # an unfurl or a file added: the words are the same
    return Amended(Where(channel, thread_ts, user), ts, text, _event_id(body))


def shortcut(body: dict[str, Any], bot_user: str) -> Said | Ignored:
    """ "Decide with advisor" on a message: an interview in that message's thread (its own
    thread if it has none), with the message's words as the use case."""
    message = object_of(body.get("message"))
    channel = slack_id(object_of(body.get("channel")).get("id"))
    user = slack_id(object_of(body.get("user")).get("id"))
    ts = slack_ts(message.get("ts")) or slack_ts(body.get("message_ts"))
    root = slack_ts(message.get("thread_ts")) or ts
    if not channel or not user or not root:
        return Ignored("a message shortcut without a channel, user or message")
    text = blocks.from_slack(text_of(message.get("text")), bot_user)
    key = text_of(body.get("trigger_id")) or root
    return Said(Where(channel, root, user), text, True, f"shortcut:{key}", ts=ts)


def home_opened(event: dict[str, Any]) -> str | Ignored | None:
    """The user who opened the app's Home tab (None: another tab)."""
    if event.get("tab") not in (None, "home"):
        return None
    return slack_id(event.get("user")) or Ignored("an app_home_opened without a user")


def _event_id(body: dict[str, Any]) -> str | None:
    value = body.get("event_id")
    return str(value) if value else None


# --- clicked: buttons and checkboxes -----------------------------------------------------


def clicked(body: dict[str, Any]) -> Where:
    """Where a click happened; a channel or timestamp of the wrong shape is left empty, and
    a click without a channel and thread is dropped by whoever reads it."""
    container = object_of(body.get("container"))
    message = object_of(body.get("message"))
    channel = slack_id(container.get("channel_id")) or slack_id(
        object_of(body.get("channel")).get("id")
    )
    return Where(
        channel=channel,
        thread_ts=slack_ts(container.get("thread_ts")) or slack_ts(message.get("thread_ts")),
        user=text_of(object_of(body.get("user")).get("id")),
        message_ts=slack_ts(container.get("message_ts")) or slack_ts(message.get("ts")),
    )


def anywhere(body: dict[str, Any]) -> Where | None:
    """Where any request came from, as far as it says: for apologising after an error."""
    if body.get("type") == "block_actions":
        return clicked(body)
    event = object_of(body.get("event"))
    if slack_id(event.get("channel")):
        ts = slack_ts(event.get("thread_ts")) or slack_ts(event.get("ts"))
        return Where(event["channel"], ts, text_of(event.get("user")))
    if slack_id(body.get("channel_id")):
        return Where(body["channel_id"], None, text_of(body.get("user_id")))
    return None


def button_value(action: dict[str, Any]) -> dict[str, Any] | None:
    """A button's value: the JSON object the app put there, or None."""
    try:
        value = json.loads(text_of(action.get("value")) or "{}")
    except ValueError:  # not JSON, or numbers too long to read
        return None
    return value if isinstance(value, dict) else None


def ticked(body: dict[str, Any]) -> tuple[list[str], list[str]] | None:
    """The values and labels of the boxes ticked in a checkbox question, from the click's
    state; None if any of it is not of the shape Slack sends (a guess could answer "none
    of these" for someone who ticked boxes)."""
    values: list[str] = []
    labels: list[str] = []
    for block in object_of(object_of(body.get("state")).get("values")).values():
        for action_id, state in object_of(block).items():
            if not action_id.startswith(blocks.CHECKS_ACTION):
                continue
            options = object_of(state).get("selected_options") or []
            if not isinstance(options, list):
                return None
            for option in options:
                value = text_of(object_of(option).get("value"))
                if not value:
                    return None
                values.append(value)
                labels.append(text_of(object_of(option.get("text")).get("text")) or value)
    return values, labels


@dataclass(frozen=True)
class Choice:
    """An answer given by a button or a Submit: what the inbox keeps of the click."""

    where: Where
    question_id: str
    values: list[str]
    labels: list[str]
    message: dict[str, Any]  # the clicked message's text and blocks, to take buttons off it

    def data(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "values": self.values,
            "labels": self.labels,
            "message": self.message,
        }


def answer_pressed(body: dict[str, Any], action: dict[str, Any]) -> Choice | Ignored | None:
    chosen = button_value(action)
    if chosen is None:
        return Ignored("a button whose value is not a JSON object")
    label = text_of(object_of(action.get("text")).get("text")) or str(chosen.get("value"))
    return _choice(body, str(chosen.get("question_id")), [str(chosen.get("value"))], [label])


def submit_pressed(body: dict[str, Any], action: dict[str, Any]) -> Choice | Ignored | None:
    chosen = button_value(action)
    if chosen is None:
        return Ignored("a Submit whose value is not a JSON object")
    boxes = ticked(body)
    if boxes is None:
        return Ignored("a Submit with ticked boxes of another shape")
    values, labels = boxes
    return _choice(body, str(chosen.get("question_id")), values, labels or ["none of these"])


def confirm_pressed(body: dict[str, Any], action: dict[str, Any]) -> Choice | Ignored | None:
    """*Confirm* on a reading: an answer that keeps what the question shows (no values)."""
    chosen = button_value(action)
    if chosen is None:
        return Ignored("a Confirm whose value is not a JSON object")
    return _choice(body, str(chosen.get("question_id")), [], ["confirmed"])


def _choice(
    body: dict[str, Any], question_id: str, values: list[str], labels: list[str]
) -> Choice | None:
    where = clicked(body)
    if not where.thread_ts or not where.channel:
        return None
    message = object_of(body.get("message"))
    listed = message.get("blocks")
    shown = [b for b in listed if isinstance(b, dict)] if isinstance(listed, list) else []
    kept = {"text": text_of(message.get("text")), "blocks": shown}
    return Choice(where, question_id, values, labels, kept)


# --- kept: what the inbox and outbox hold of a Where --------------------------------------


def kept(where: Where, data: dict[str, Any]) -> dict[str, Any]:
    """An inbox item's payload: where it happened and what it said."""
    return {
        "channel": where.channel,
        "thread_ts": where.thread_ts,
        "user": where.user,
        "message_ts": where.message_ts,
        **data,
    }


def where_kept(payload: dict[str, Any]) -> Where:
    """The Where an inbox or outbox payload was made from."""
    return Where(
        str(payload.get("channel") or ""),
        payload.get("thread_ts"),
        str(payload.get("user") or ""),
        payload.get("message_ts"),
    )
