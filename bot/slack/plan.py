"""What a thread should get after one step, worked out without touching Slack or the
database: the engine's turns become outbox items (post, update, upload), and the buttons of
a question that was answered, or asked again, are retired.

A ``Plan`` is the items plus what the thread shows once they are sent (``shown``): the
pending question's key, the memo's, or ``CANCELLED``. The step (bot/slack/step.py) writes a
plan to the outbox in one transaction; delivery (bot/slack/delivery.py) sends it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from bot.slack import blocks
from bot.slack.blocks import Message
from bot.slack.payloads import Where
from bot.slack.tables import Item, ThreadRecord
from graph.store import InterviewRecord, MemoRecord
from graph.turns import Ended, MemoReady, Question, Reply

log = logging.getLogger("advisor.slack")

CANCELLED = "cancelled"


@dataclass
class Plan:
    """Outbox items, in order, and what the thread shows after them."""

    items: list[Item] = field(default_factory=list)
    shown: str | None = None
    forget_question: bool = False  # the live question's buttons are retired by ``items``


def question_key(question: Question) -> str:
    """Names one asking of a question: its id and the interview's answer seq when it was
    asked. A re-ask (after an answer it could not read, or ``back``) has a new key; the same
    question reworded keeps its key."""
    return f"q:{question.id}:{question.seq}"


# The key versions before question seqs stored: ``q:{id}:`` and 16 hex digits of a hash of
# the rendered question (a seq is decimal and never that long).
_HASHED_KEY = re.compile(r"q:(?P<id>[^:]+):[0-9a-f]{16}")


def same_shown(stored: str | None, key: str | None) -> bool:
    """Is ``stored`` (what a thread or inbox row kept) the key ``key`` names? A key the
    earlier version kept, a hash of the question's text, names the asking of the question
    with its id that is pending now: so an upgraded open thread is not sent its pending
    question again, and a reply it had started is answered, not only caught up."""
    if stored == key:
        return True
    hashed = _HASHED_KEY.fullmatch(stored or "")
    return hashed is not None and (key or "").rsplit(":", 1)[0] == f"q:{hashed['id']}"


def memo_key(memo_id: str) -> str:
    return f"memo:{memo_id}"


def post(where: Where, message: Message) -> Item:
    # ``user``: who to tell privately if Slack refuses this message for good.
    payload = {"channel": where.channel, "thread_ts": where.thread_ts, "message": message}
    return "post", {**payload, "user": where.user}


def update(where: Where, ts: str, message: Message) -> Item:
    return "update", {"channel": where.channel, "ts": ts, "message": message}


def upload(where: Where, memo_id: str, comment: str | None) -> Item:
    payload = {"channel": where.channel, "thread_ts": where.thread_ts, "memo_id": memo_id}
    return "upload", {**payload, "comment": comment}


def of_turns(where: Where, turns: list[Any]) -> Plan:
    """The outbox items for the engine's turns, in order."""
    plan = Plan()
    for turn in turns:
        if isinstance(turn, Question):
            key = question_key(turn)
            item = post(where, blocks.question_message(turn))
            item[1]["question"] = turn.model_dump(mode="json")
            item[1]["key"] = key
            plan.items.append(item)
            plan.shown = key
        elif isinstance(turn, Reply):
            plan.items.append(post(where, blocks.reply_message(turn)))
        elif isinstance(turn, Ended):
            plan.items.append(post(where, blocks.ended_message(turn)))
            plan.shown = CANCELLED
        elif isinstance(turn, MemoReady):
            memo = of_memo(where, turn.memo_id)
            plan.items += memo.items
            plan.shown = memo.shown
        else:
            log.warning("advisor: unknown turn %r in thread %s", turn, where.thread_ts)
    return plan


def memo_summary(memo: MemoRecord) -> Message:
    """The memo's summary message: approach, next rung, the five questions, its status."""
    return blocks.memo_summary(
        memo.id,
        memo.assessment,
        use_case=memo.use_case,
        status=memo.status,
        decided_by=memo.decided_by,
    )


def summary(where: Where, memo_id: str) -> Item:
    """The memo's summary, posted: rendered from the stored memo when it is sent, so the
    summary, the file and the canvas come from one read of it (bot/slack/delivery.py)."""
    payload = {"channel": where.channel, "thread_ts": where.thread_ts, "memo_id": memo_id}
    return "post", {**payload, "user": where.user}


def of_memo(where: Where, memo_id: str) -> Plan:
    """A finished interview's memo: the summary with its decision buttons, then the file
    and the canvas. Only the memo's id is queued; nothing here reads the memo."""
    items = [summary(where, memo_id), upload(where, memo_id, None), canvas(where, memo_id)]
    return Plan(items, memo_key(memo_id))


def canvas(where: Where, memo_id: str) -> Item:
    """The memo as a Slack canvas (rendered, editable, searchable), linked in the thread."""
    return "canvas", {"channel": where.channel, "thread_ts": where.thread_ts, "memo_id": memo_id}


def decided(where: Where, memo: MemoRecord) -> list[Item]:
    """A memo accepted or rejected from its summary (``where.message_ts``): the summary
    shows the new status, and the file goes up again with a line saying who decided."""
    items = [update(where, where.message_ts, memo_summary(memo))] if where.message_ts else []
    who = blocks.mention(where.user)
    comment = f"Memo {memo.status} by {who}. Updated {blocks.MEMO_FILENAME}:"
    return [*items, upload(where, memo.id, comment)]


def shown_key(pending: Question | None, record: InterviewRecord | None) -> str | None:
    """What the thread should be showing now: the pending question, the memo, or that it
    was cancelled (None: nothing yet)."""
    if pending is not None:
        return question_key(pending)
    if record is None:
        return None
    if record.status == "cancelled":
        return CANCELLED
    return memo_key(record.memo_id) if record.memo_id else None


def asked(turns: list[Any]) -> Question | None:
    """The question the engine now waits on, from the turns it returned (it ends with one
    whenever a question is pending)."""
    return turns[-1] if turns and isinstance(turns[-1], Question) else None


def live_question(thread: ThreadRecord | None) -> tuple[Question, str] | None:
    """The question message whose buttons are live in the thread, and its id."""
    if thread is None or not thread.question or not thread.question_ts:
        return None
    return Question.model_validate(thread.question), thread.question_ts


def retire_typed(
    where: Where,
    before: Question | None,
    after: Question | None,
    live: tuple[Question, str] | None,
    said: str,
) -> tuple[list[Item], bool]:
    """Once a typed reply moved the interview on (``before`` was pending, ``after`` is),
    the buttons come off the question it was pending on (``live``: its message, remembered
    in the thread's row, so this works after a restart too). Returns the update to send and
    whether the question is retired."""
    if before is None or (after is not None and after.id == before.id) or live is None:
        return [], False
    question, ts = live
    if question.id != before.id:
        return [], False
    if not question.options:
        return [], True
    message = blocks.answered_message(question, said, where.user, typed=True)
    return [update(where, ts, message)], True


def retire_settled(
    where: Where,
    before: Question | None,
    after: Question | None,
    live: tuple[Question, str] | None,
) -> tuple[list[Item], bool]:
    """A shared file settled ``before`` (the interview now asks ``after``, or nothing): the
    buttons come off its live message, which says it was answered in the thread since."""
    if before is None or live is None or live[0].id != before.id:
        return [], False
    if after is not None and after.id == before.id:
        return [], False
    question, ts = live
    if not question.options:
        return [], True
    return [update(where, ts, blocks.settled_message(question))], True


def retire_clicked(
    where: Where,
    pending: Question,
    after: Question | None,
    live: tuple[Question, str] | None,
    answered: str,
) -> tuple[list[Item], bool]:
    """A click answered ``pending``: the clicked message shows the answer and who gave it,
    and so does the live copy of the question if it is another message. Nothing changes
    when the engine asks the same question again (the answer could not be used)."""
    if after is not None and after.id == pending.id:
        return [], False
    done: list[Item] = []
    if where.message_ts:
        done.append(
            update(where, where.message_ts, blocks.answered_message(pending, answered, where.user))
        )
    if live is None or live[0].id != pending.id:
        return done, False
    question, ts = live
    if ts != where.message_ts and question.options:
        done.append(update(where, ts, blocks.answered_message(question, answered, where.user)))
    return done, True


def strip_buttons(where: Where, message: dict[str, Any]) -> list[Item]:
    """A click on a question already answered: its message loses its buttons."""
    shown = message.get("blocks") or []
    kept = [b for b in shown if b.get("type") != "actions"]
    if not where.message_ts or len(kept) == len(shown):
        return []
    kept.append(blocks.context("_Already answered._"))
    text = message.get("text") or "Already answered"
    return [update(where, where.message_ts, Message(text=text, blocks=kept))]


def supersede(where: Where, live: tuple[Question, str] | None, sent_ts: str) -> list[Item]:
    """A question was just posted as ``sent_ts``: an earlier copy that still has buttons
    loses them (only the newest copy of a question keeps buttons)."""
    if live is None or live[1] == sent_ts or not live[0].options:
        return []
    return [update(where, live[1], blocks.superseded_message(live[0]))]
