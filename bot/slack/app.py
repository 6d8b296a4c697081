"""The Slack app, wired: the Bolt ``App`` and the stages a reply goes through.

    listener (listeners.py) -> inbox (inbox.py) -> step (step.py) -> plan (plan.py)
    -> outbox (delivery.py)

A listener keeps what arrived in the inbox, then acks; the thread's work queue (runner.py)
runs its step, which asks the engine and writes the plan of what the thread gets to the
outbox; the outbox sender posts it. ARCHITECTURE.md walks through one reply. This module
only builds the parts, registers the listeners of registry.py, and starts and stops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import blocks
from bot.slack.config import Settings
from bot.slack.delivery import Delivery, Outbox
from bot.slack.files import SlackFiles
from bot.slack.inbox import Inbox
from bot.slack.listeners import Listeners
from bot.slack.lists import Lists
from bot.slack.payloads import Where
from bot.slack.plan import CANCELLED, memo_key
from bot.slack.registry import ACTIONS, COMMAND, EVENTS, SHORTCUTS, action_pattern
from bot.slack.runner import CountingExecutor, Runner
from bot.slack.step import Engine, Steps
from bot.slack.tables import SlackTables, new_owner, retire_owner
from bot.slack.webapi import BotIdentity, Names, WebApi, make_client, whoami

LISTENER_THREADS = 16  # Bolt's executor (lazy listeners only: listeners run before the ack)


class SlackApp:
    """The Bolt ``App`` (``.app``) wired to an interview engine.

    ``start()`` picks up whatever a previous run left undone and starts the outbox's
    background sender; ``wait_idle()`` waits for accepted work to finish; ``close()`` stops.
    """

    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        *,
        signing_secret: str,
        workers: int = 8,
        identity: BotIdentity | None = None,
        delivery: Delivery | None = None,
    ) -> None:
        self.engine = engine
        self.store = engine.store
        self.signing_secret = signing_secret  # http_edge.SlackEdge checks it before Bolt
        self.bot = identity or whoami(client)
        self.timings = delivery or Delivery()
        self.owner = new_owner()
        self.tables = SlackTables(engine.store)
        self.runner = Runner(self.tables, self.owner, workers=workers)
        self.api = WebApi(client)
        names = Names(client)
        self.outbox = Outbox(self.store, self.tables, self.runner, self.api, self.bot, self.timings)
        self.steps = Steps(
            engine,
            self.tables,
            self.runner,
            self.outbox,
            self.api,
            names,
            self.bot,
            self.timings,
            SlackFiles(client),
        )
        self.inbox = Inbox(self.store, self.tables, self.owner, self.api, self.steps.queue)
        lists = Lists(self.store, self.api, names, self.bot)
        self.listeners = Listeners(
            self.bot, engine, self.tables, self.inbox, self.runner, self.steps, lists, self.api
        )
        self.app = App(
            client=client,
            signing_secret=signing_secret,
            name="advisor",
            process_before_response=True,  # kept in the inbox before the ack: listeners.py
            listener_executor=CountingExecutor(self.runner.inflight, LISTENER_THREADS),
            logger=logging.getLogger("advisor.bolt"),
        )
        self._register()

    def _register(self) -> None:
        on = self.listeners
        self.app.command(COMMAND)(on.on_command)
        events: Mapping[str, Callable[..., None]] = {
            "app_mention": on.on_mention,
            "message": on.on_message,
            "app_uninstalled": on.on_revoked,
            "tokens_revoked": on.on_revoked,
            "app_home_opened": on.on_home,
        }
        for event in EVENTS:
            self.app.event(event)(events[event])
        actions: Mapping[str, Callable[..., None]] = {
            blocks.ANSWER_ACTION: on.on_answer,
            blocks.CHECKS_ACTION: on.on_tick,
            blocks.SUBMIT_ACTION: on.on_submit,
            blocks.CONFIRM_ACTION: on.on_confirm,
            blocks.ACCEPT_ACTION: on.on_accept,
            blocks.REJECT_ACTION: on.on_reject,
            blocks.REVISE_ACTION: on.on_revise,
        }
        for action in ACTIONS:
            self.app.action(action_pattern(action))(actions[action])
        for callback_id in SHORTCUTS:
            self.app.shortcut(callback_id)(on.on_shortcut)
        self.app.error(on.on_error)

    def start(self) -> None:
        """Pick up what an earlier run left undone (replies kept but not handled, questions
        and memos never queued, messages never sent), then keep sending in the background."""
        self.inbox.adopt()
        prefix = f"{self.bot.team_id}:"
        records = {r.id: r for r in self.store.list_interviews(prefix=prefix)}
        for thread in self.tables.threads(prefix=prefix):
            record = records.get(thread.interview_id)
            if record is None or not thread.channel or not thread.thread_ts:
                continue
            if record.status == "done" and record.memo_id:
                settled = thread.shown_key == memo_key(record.memo_id)
            elif record.status == "cancelled":
                settled = thread.shown_key == CANCELLED
            else:
                settled = False  # open: only the engine knows the pending question
            if not settled:
                iid, where = thread.interview_id, Where(thread.channel, thread.thread_ts, "")
                reconcile = partial(self.steps.reconcile, iid, where)
                self.runner.submit(iid, reconcile, failed=partial(self.api.apologise, where, None))
        self.outbox.start(sweep=self.inbox.adopt)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every accepted request has been fully handled."""
        return self.runner.wait_idle(timeout)

    def close(self) -> None:
        self.outbox.stop()
        self.runner.shutdown()
        retire_owner(self.owner)  # what is left may now be taken over


def build(
    settings: Settings,
    engine: Engine | None = None,
    *,
    wait: float = 0.5,
    jitter: float = 1.0,
    max_wait: float = 10.0,
    delivery: Delivery | None = None,
) -> SlackApp:
    """The app for ``settings``: checks the bot token with auth.test, opens the engine,
    and starts it, which first picks up whatever an earlier run left undone."""
    client = make_client(
        settings.bot_token, settings.api_url, wait=wait, jitter=jitter, max_wait=max_wait
    )
    identity = whoami(client)
    if engine is None:
        from bot.llm import optional_llm
        from graph.interview import Interviews  # LangGraph loads only when serving

        engine = Interviews(llm=optional_llm())
    app = SlackApp(
        engine, client, signing_secret=settings.signing_secret, identity=identity, delivery=delivery
    )
    app.start()
    return app
