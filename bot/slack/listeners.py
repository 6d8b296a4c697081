"""Bolt's listeners: read the payload (bot/slack/payloads.py), keep it in the inbox, queue
the work, and only then ack. Nothing slow happens here.

Bolt runs a listener before it answers Slack (``process_before_response`` is True): a reply
is in the inbox before Slack hears it arrived, so replies sent one after another are kept in
their order, and an inbox that cannot be written is an error Slack redelivers, never a 200
(bot/slack/inbox.py). A listener returns as soon as the input is kept and its work is queued,
so Slack gets its acknowledgement well inside its 3 seconds however busy the engine is. Each
listener is registered by bot/slack/app.py for one entry of bot/slack/registry.py.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, TypeVar

from slack_bolt.context.respond import Respond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.slack import blocks, payloads
from bot.slack.inbox import Inbox, NotKept
from bot.slack.lists import Lists
from bot.slack.payloads import HELP_WORDS, LIST_WORD, Ignored, Said, Where, interview_id
from bot.slack.runner import Job, Runner
from bot.slack.step import Engine, Steps
from bot.slack.tables import SlackTables
from bot.slack.webapi import NOT_IN_CHANNEL, POST_ERRORS, BotIdentity, WebApi
from graph.store import MemoStatus

log = logging.getLogger("advisor.slack")


T = TypeVar("T")


def _ignored(what: str) -> None:
    log.info("advisor: ignored %s Slack would not send", what)


def _usable(parsed: T | Ignored | None) -> T | None:
    """What a payload said, or None: not for us, or (logged) not something Slack sends."""
    if isinstance(parsed, Ignored):
        _ignored(parsed.what)
        return None
    return parsed


class Listeners:
    def __init__(
        self,
        bot: BotIdentity,
        engine: Engine,
        tables: SlackTables,
        inbox: Inbox,
        runner: Runner,
        steps: Steps,
        lists: Lists,
        api: WebApi,
    ) -> None:
        self.bot = bot
        self.engine = engine
        self.tables = tables
        self.inbox = inbox
        self.runner = runner
        self.steps = steps
        self.lists = lists
        self.api = api

    # -- typed ----------------------------------------------------------------------------

    def on_command(self, ack: Any, command: dict[str, Any], respond: Respond) -> None:
        said = payloads.command(command, self.bot.user_id)
        if said.word in HELP_WORDS:
            usage = blocks.notice(blocks.USAGE)
            ack(text=usage["text"], blocks=usage["blocks"], response_type="ephemeral")
            return
        ack()
        where = said.where
        if where is None:
            _ignored("a slash command without a channel or user id")
            return
        if said.word == LIST_WORD:
            self._list(where, respond)
            return
        job = partial(self._open_thread, where, said.text, respond)
        self._submit(said.key, where, job, respond)

    def on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        said = _usable(payloads.mention(body, event, self.bot.user_id))
        if said is None:
            return
        where, iid = said.where, self._thread(said.where)
        if said.in_thread and self._is_interview(iid):
            ts = payloads.slack_ts(event.get("ts"))
            self.inbox.keep("reply", iid, where, said.data(), event_id=said.event_id, ts=ts)
            return
        if said.word in HELP_WORDS:
            if self.inbox.first_time(said.event_id):
                usage = blocks.notice(blocks.USAGE)
                self._submit(f"help:{iid}", where, partial(self.api.ephemeral, where, usage))
            return
        if said.word == LIST_WORD:
            if self.inbox.first_time(said.event_id):
                self._list(where, None)
            return
        self._begin(iid, where, said, payloads.slack_ts(event.get("ts")), intro=True)

    def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        edit = payloads.amended(body, event, self.bot.user_id)
        if edit is not None:  # an answer edited or deleted: the step finds which one
            iid = self._thread(edit.where)
            if self._is_interview(iid):
                kind = "delete" if edit.text is None else "edit"
                self.inbox.keep(kind, iid, edit.where, edit.data(), event_id=edit.event_id)
            return
        said = _usable(payloads.reply(body, event, self.bot.user_id))
        if said is None:
            return
        where, iid = said.where, self._thread(said.where)
        if self._is_interview(iid):
            ts = payloads.slack_ts(event.get("ts"))
            self.inbox.keep("reply", iid, where, said.data(), event_id=said.event_id, ts=ts)

    def on_shortcut(self, ack: Any, body: dict[str, Any]) -> None:
        """ "Decide with advisor" on a message (slash commands cannot run in a thread)."""
        ack()
        said = _usable(payloads.shortcut(body, self.bot.user_id))
        if said is None:
            return
        iid = self._thread(said.where)
        if self._is_interview(iid):  # already an interview: show where it stands
            self.inbox.keep("reply", iid, said.where, {"text": ""}, event_id=said.event_id)
            return
        self._begin(iid, said.where, said, None, intro=True)

    def on_home(self, event: dict[str, Any]) -> None:
        user = _usable(payloads.home_opened(event))
        if user is None:
            return
        self._submit(f"home:{user}", Where("", None, user), partial(self.lists.home, user))

    def on_revoked(self, event: dict[str, Any]) -> None:
        """``app_uninstalled``, or ``tokens_revoked`` naming the bot's token: nothing can be
        sent to this workspace until a valid token returns (the outbox keeps it all)."""
        tokens = payloads.object_of(event.get("tokens"))
        if event.get("type") == "tokens_revoked" and not tokens.get("bot"):
            return  # only user tokens went: the bot's still works
        self.steps.outbox.revoked(str(event.get("type") or "tokens_revoked"))

    # -- clicked --------------------------------------------------------------------------

    def on_answer(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        self._keep_choice(payloads.answer_pressed(body, action), action)

    def on_tick(self, ack: Any) -> None:
        ack()  # a ticked box is not an answer until Submit

    def on_submit(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        self._keep_choice(payloads.submit_pressed(body, action), action)

    def on_confirm(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        choice = _usable(payloads.confirm_pressed(body, action))
        if choice is not None:
            self.inbox.keep("confirm", self._thread(choice.where), choice.where, choice.data())

    def on_accept(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        self._decide_later(body, action, "accepted")

    def on_reject(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        self._decide_later(body, action, "rejected")

    def on_revise(self, ack: Any, body: dict[str, Any]) -> None:
        ack()
        where = payloads.clicked(body)
        if where.thread_ts and where.channel:
            iid = self._thread(where)
            self._submit(iid, where, partial(self.steps.revise, iid, where), label=iid)

    def on_error(self, error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        if isinstance(error, NotKept):
            # Nothing was kept: a 503 (never a 200, never "sorry" in the thread) makes Slack
            # deliver it again, by when the database may take it.
            return BoltResponse(status=503, body='{"error": "not kept; send again"}')
        where = payloads.anywhere(body)
        iid = self._thread(where) if where and where.thread_ts else None
        log.error("advisor: handler failed for thread %s: %r", iid or "-", error, exc_info=error)
        if where and where.channel:
            self.api.apologise(where, None)
        return None  # Bolt's 500, which the edge answers 400: a bug fails the same way again

    # -- helpers --------------------------------------------------------------------------

    def _thread(self, where: Where) -> str:
        """The interview id of the thread ``where`` is in."""
        return interview_id(self.bot.team_id, where.channel, where.thread_ts or "")

    def _is_interview(self, iid: str) -> bool:
        # A thread row exists from the moment a start is kept, in whichever process.
        return self.engine.exists(iid) or self.tables.thread(iid) is not None

    def _submit(
        self,
        key: str,
        where: Where,
        job: Job,
        respond: Respond | None = None,
        *,
        label: str | None = None,
    ) -> None:
        """Queue ``job`` behind earlier work on ``key``; if it fails, say sorry where the
        person will see it."""
        failed = partial(self.api.apologise, where, respond)
        self.runner.submit(key, job, label=label or f"{where.channel}:-", failed=failed)

    def _list(self, where: Where, respond: Respond | None) -> None:
        key = f"list:{where.channel}:{where.user}"
        self._submit(key, where, partial(self.lists.channel, where, respond), respond)

    def _begin(self, iid: str, where: Where, said: Said, ts: str | None, *, intro: bool) -> None:
        data = {"use_case": said.text, "intro": intro}
        self.inbox.keep("start", iid, where, data, event_id=said.event_id, ts=ts)

    def _open_thread(self, where: Where, use_case: str, respond: Respond) -> None:
        """``/advisor <use case>``: the parent message in the channel, then the interview
        in its thread."""
        try:
            parent = self.api.post(where, blocks.parent_message(use_case, where.user))
        except SlackApiError as err:
            if err.response.get("error") in POST_ERRORS:
                respond(text=NOT_IN_CHANNEL, response_type="ephemeral")
                return
            raise
        thread_ts = str(parent["ts"])
        iid = interview_id(self.bot.team_id, where.channel, thread_ts)
        data = {"use_case": use_case, "intro": False}
        self.inbox.keep(
            "start", iid, Where(where.channel, thread_ts, where.user), data, ts=thread_ts
        )

    def _keep_choice(
        self, parsed: payloads.Choice | Ignored | None, action: dict[str, Any]
    ) -> None:
        choice = _usable(parsed)
        if choice is not None:
            iid, ts = self._thread(choice.where), payloads.slack_ts(action.get("action_ts"))
            self.inbox.keep("choose", iid, choice.where, choice.data(), ts=ts)

    def _decide_later(
        self, body: dict[str, Any], action: dict[str, Any], status: MemoStatus
    ) -> None:
        where = payloads.clicked(body)
        if not where.thread_ts or not where.channel:
            return
        iid = self._thread(where)
        memo_id = payloads.text_of(action.get("value"))
        self._submit(iid, where, partial(self.steps.decide, iid, where, memo_id, status), label=iid)
