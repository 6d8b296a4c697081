"""The inbox: what a listener keeps before anything can fail, then queues for its step.

A reply, click or start is written to the inbox table (once per Slack event id: a retried
event is kept only the first time) and handed to the thread's work queue. What a dead process
(or this one, before a restart) kept but never handled is adopted and queued again.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from bot.slack import blocks
from bot.slack.payloads import Where, kept
from bot.slack.tables import InboxItem, SlackTables, is_busy
from bot.slack.webapi import WebApi
from graph.store import Store

log = logging.getLogger("advisor.slack")

BUSY_TRY_AGAIN = (
    "Sorry, I'm busy right now and couldn't take that in. Please try again in a moment."
)


class NotKept(Exception):
    """The inbox could not be written (disk full, read-only file, ...): nothing was kept, so
    the request is answered with an error and Slack delivers it again (bot/slack/listeners.py)."""


class Inbox:
    def __init__(
        self,
        store: Store,
        tables: SlackTables,
        owner: str,
        api: WebApi,
        queue: Callable[[InboxItem], None],
    ) -> None:
        self.store = store
        self.tables = tables
        self.owner = owner
        self.api = api
        self.queue = queue  # the step's: handle the item behind its thread's earlier work

    def keep(
        self,
        kind: str,
        interview_id: str,
        where: Where,
        data: dict[str, Any],
        *,
        event_id: str | None = None,
        ts: str | None = None,
    ) -> bool:
        """Keep what arrived and queue its handling. False if it was a retry of an event
        already kept, or the database was busy (the person is told); ``NotKept`` when the
        database cannot be written at all. ``ts``: Slack's ts of the
        message or click, the order the thread's items are handled in."""
        try:
            item = self.tables.receive(
                interview_id,
                kind,
                kept(where, data),
                owner=self.owner,
                event_id=event_id,
                thread=(where.channel, where.thread_ts or ""),
                order_ts=ts,
            )
        except sqlite3.Error as err:
            if not is_busy(err):
                log.error(
                    "advisor: could not keep a %s for thread %s (%s); Slack will send it again",
                    kind,
                    interview_id,
                    err,
                )
                raise NotKept(str(err)) from err
            # Nothing was kept, so say so: the words are in the log, and with the person.
            log.warning(
                "advisor: database busy, %s in thread %s not kept (from %s): %r",
                kind,
                interview_id,
                where.user,
                data.get("text") if "text" in data else data.get("values"),
            )
            self.api.say(where, blocks.notice(BUSY_TRY_AGAIN))
            return False
        if item is None:
            return False
        self.queue(item)
        return True

    def first_time(self, event_id: str | None) -> bool:
        """False for an event Slack already delivered (a retry), for work not kept here."""
        return not event_id or self.store.seen_event(event_id)

    def adopt(self) -> None:
        """Queue inbox items a dead process (or this one, before a restart) left unhandled."""
        for item in self.tables.adopt_inbox(self.owner):
            log.info(
                "advisor: picking up %s #%d for thread %s", item.kind, item.id, item.interview_id
            )
            self.queue(item)
