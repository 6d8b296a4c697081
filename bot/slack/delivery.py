"""The outbox sender: what a step queued for a thread reaches Slack, in order, exactly once.

Per thread, the oldest unsent item is claimed (bot/slack/tables.py), sent, and marked sent;
the next waits behind it. A send that fails waits with backoff (or as long as a 429's
Retry-After says) and is tried again by the background loop, which also picks up work a dead
process left behind. A message tried before may have reached Slack just before its process
died: the thread is read back first, so it is not posted twice. Slack refusing a message for
good (the channel is gone) drops it; Slack refusing the memo file sends the memo as text.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import random
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.slack import blocks
from bot.slack import plan as planning
from bot.slack.faults import fault
from bot.slack.payloads import Where
from bot.slack.runner import Runner
from bot.slack.tables import Item, OutboxItem, SlackTables
from bot.slack.webapi import REFUSED_CONTENT, BotIdentity, WebApi, retry_after
from graph.store import MemoRecord, Store
from graph.turns import Question

log = logging.getLogger("advisor.slack")

# Slack errors that retrying cannot fix are dropped (and logged); these can be fixed.
_TRANSIENT_ERRORS = {
    "ratelimited",
    "fatal",
    "internal_error",
    "service_unavailable",
    "request_timeout",
    "not_authed",
    "team_access_not_granted",
}
# The workspace's token no longer works: nothing can be sent there until one does. The
# outbox stops (keeping everything) and asks auth.test now and then (Outbox.revoked).
REVOKED = {"token_revoked", "invalid_auth", "account_inactive", "app_uninstalled"}


# The memos one delivery pass has read, by id and the time their items were queued.
Memos = dict[tuple[str, str], MemoRecord | None]

REFUSED_NOTE = (
    "Slack would not show my last message in this thread, even as plain text. "
    "The interview is waiting for you: reply in the thread, or mention @advisor there to "
    "see where it stands."
)


@dataclass(frozen=True)
class Delivery:
    """How the outbox retries. A failed send waits ``base`` x 2^(attempts-1) seconds, at
    most ``cap`` (or what a 429's Retry-After says); every ``poll`` seconds the app looks for
    work a dead process left behind; a thread another process is working on is waited for up
    to ``hold_wait`` seconds."""

    base: float = 1.0
    cap: float = 60.0
    poll: float = 5.0
    hold_wait: float = 60.0
    upload_tries: int = 5  # then the memo goes out as text
    keep_sent: float = 3600.0  # sent messages are kept this long (seconds), then pruned


class Outbox:
    """Sends the outbox: now, right after a step, and in the background until Slack takes
    everything."""

    def __init__(
        self,
        store: Store,
        tables: SlackTables,
        runner: Runner,
        api: WebApi,
        bot: BotIdentity,
        timings: Delivery,
    ) -> None:
        self.store = store
        self.tables = tables
        self.runner = runner
        self.api = api
        self.bot = bot
        self.timings = timings
        self.owner = runner.owner
        self._sending: set[str] = set()  # threads with a delivery queued
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._loop: threading.Thread | None = None
        self._revoked: str | None = None  # why this workspace's token stopped working
        self._probe_at = 0.0

    # -- sending now ----------------------------------------------------------------------

    def send_now(self, interview_id: str, items: list[Item]) -> None:
        """Queue ``items`` and send them (work that is not an engine step: a status change)."""
        self.tables.enqueue(interview_id, items)
        self.deliver_quietly(interview_id)

    def deliver_quietly(self, interview_id: str) -> None:
        """Send now if possible. The step is done and its messages are kept, so a problem
        here is not the person's: the background loop sends them later."""
        try:
            self.deliver(interview_id)
        except Exception:
            log.exception(
                "advisor: sending for thread %s failed; the outbox will retry", interview_id
            )
            self._wake.set()

    def revoked(self, reason: str) -> None:
        """The workspace's token was revoked (or the app uninstalled): stop sending, keep
        every message, and try the token again now and then (``_probe``)."""
        with self._lock:
            first, self._revoked = self._revoked is None, reason
            self._probe_at = time.monotonic() + self.timings.cap
        if first:
            log.error(
                "advisor: Slack says %s for team %s: sending is stopped (nothing is lost) "
                "until a valid bot token works again",
                reason,
                self.bot.team_id,
            )

    def _probe(self) -> None:
        """While revoked: is the token good again (auth.test)? Then send what waited."""
        with self._lock:
            if self._revoked is None or time.monotonic() < self._probe_at:
                return
            self._probe_at = time.monotonic() + self.timings.cap
        try:
            self.api.client.auth_test()
        except Exception:
            return
        with self._lock:
            self._revoked = None
        log.warning("advisor: the bot token works again for team %s: sending", self.bot.team_id)

    def deliver(self, interview_id: str) -> None:
        """Send this thread's queued messages in order until none is left, one has to wait
        for a retry, or another process is sending them."""
        memos: Memos = {}  # a memo's summary, file and canvas: one read of it (``_memo``)
        while True:
            if self._revoked is not None:
                return  # kept in the outbox; the loop sends it once a token works
            item = self.tables.claim_next(interview_id, self.owner)
            if item is None:
                return
            try:
                self._send(item, memos)
            except Exception as err:
                if not self._failed(item, err):
                    return

    def deliver_later(self, interview_id: str) -> None:
        """Send this thread's messages on its work queue (once, however often asked)."""
        with self._lock:
            if interview_id in self._sending:
                return
            self._sending.add(interview_id)

        def job() -> None:
            with self._lock:
                self._sending.discard(interview_id)
            self.deliver_quietly(interview_id)

        self.runner.submit(interview_id, job)

    # -- the background loop ----------------------------------------------------------------

    def start(self, sweep: Callable[[], None]) -> None:
        """Keep sending in the background; every few polls ``sweep`` (pick up inbox items a
        dead process left)."""
        if self._loop is None:
            self._loop = threading.Thread(
                target=self._drain_forever, args=(sweep,), name="advisor-outbox", daemon=True
            )
            self._loop.start()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._loop is not None:
            self._loop.join(10)

    def _drain_forever(self, sweep: Callable[[], None]) -> None:
        """Send what is due (retries, and work dead processes left), pick up their unhandled
        inbox items, and prune what was sent long ago."""
        sweep_every = max(self.timings.poll * 6, 1.0)
        next_sweep = time.monotonic() + sweep_every
        next_prune = time.monotonic() + 60.0
        while not self._stop.is_set():
            wait = self.timings.poll
            try:
                self._probe()
                now = time.monotonic()
                if now >= next_sweep:
                    sweep()
                    next_sweep = now + sweep_every
                if now >= next_prune:
                    self.tables.prune(older_than=self.timings.keep_sent)
                    next_prune = now + 600.0
                revoked = self._revoked is not None  # nothing can be sent: only probe
                ready, soonest = ([], None) if revoked else self.tables.outbox_due(self.owner)
                for interview_id in ready:
                    self.deliver_later(interview_id)
                if soonest is not None:
                    wait = max(0.01, min(wait, soonest - time.time()))
            except Exception:
                log.exception("advisor: outbox check failed")
            if self._wake.wait(wait):
                self._wake.clear()

    # -- one item -----------------------------------------------------------------------------

    def _memo(self, item: OutboxItem, memos: Memos) -> MemoRecord | None:
        """The stored memo ``item`` names (None: it is gone, and ``item`` is given up). Read
        once for the items one step queued together (they share ``created_at``): a status
        change queued later reads it again."""
        key = (str(item.payload["memo_id"]), item.created_at)
        if key not in memos:
            memos[key] = self.store.get_memo(key[0])
        memo = memos[key]
        if memo is None:
            self.tables.give_up(item.id, self.owner, "memo not found")
        return memo

    def _send(self, item: OutboxItem, memos: Memos) -> None:
        payload = item.payload
        where = Where(str(payload["channel"]), payload.get("thread_ts"), "")
        if item.kind == "post":
            self._send_post(item, where, memos)
        elif item.kind == "update":
            self.api.update(where, str(payload["ts"]), payload["message"])
            self._delivered(item)
        elif item.kind == "upload":
            self._send_upload(item, where, memos)
        elif item.kind == "memo_text":
            self._send_memo_text(item, where, memos)
        elif item.kind == "canvas":
            self._send_canvas(item, where, memos)
        else:
            self.tables.give_up(item.id, self.owner, f"unknown kind {item.kind}")

    def _send_post(self, item: OutboxItem, where: Where, memos: Memos) -> None:
        payload = item.payload
        message = payload.get("message")
        if message is None:  # a memo's summary (plan.summary), as the memo is now
            memo = self._memo(item, memos)
            if memo is None:
                return
            message = planning.memo_summary(memo)
        if payload.get("question") and not self._still_shown(item):
            # Answered while this copy waited (Slack was down): no live buttons on it.
            message = blocks.settled_message(Question.model_validate(payload["question"]))
        ts = self._already_sent(item, where, text=message["text"])
        if ts is None:
            question = payload.get("question")
            fallback = blocks.plain_fallback(
                message, Question.model_validate(question) if question else None
            )
            try:
                ts = str(self.api.post(where, message, fallback)["ts"])
            except SlackApiError as err:
                if _error(err) not in REFUSED_CONTENT:
                    raise
                self._refused(item, where, err)
                return
            fault("after_post")
        if not payload.get("question"):
            self._delivered(item, sent_ts=ts)
            return
        live = planning.live_question(self.tables.thread(item.interview_id))
        then = planning.supersede(where, live, ts)
        self._delivered(
            item, then=then, question=(str(payload["key"]), payload["question"], ts), sent_ts=ts
        )

    def _refused(self, item: OutboxItem, where: Where, err: SlackApiError) -> None:
        """Slack refused the message even as plain text: tell the person privately and
        drop it (a question stays pending in the interview: a reply still answers it)."""
        user = str(item.payload.get("user") or "")
        if user:
            person = Where(where.channel, where.thread_ts, user)
            with contextlib.suppress(Exception):  # the log line below still says it
                self.api.ephemeral(person, blocks.notice(REFUSED_NOTE))
        log.error(
            "advisor: gave up sending %s #%d for thread %s: %s (plain text refused too)",
            item.kind,
            item.id,
            item.interview_id,
            describe(err),
        )
        self.tables.give_up(item.id, self.owner, describe(err))

    def _delivered(
        self,
        item: OutboxItem,
        *,
        then: list[Item] | None = None,
        question: tuple[str, dict[str, Any], str] | None = None,
        sent_ts: str | None = None,
    ) -> None:
        sent = self.tables.delivered(
            item.id, self.owner, then=then or [], question=question, sent_ts=sent_ts
        )
        if not sent:
            log.warning(
                "advisor: %s #%d for thread %s was taken over while being sent",
                item.kind,
                item.id,
                item.interview_id,
            )

    def _send_upload(self, item: OutboxItem, where: Where, memos: Memos) -> None:
        """decision-memo.md into the thread. Slack unreachable: retried like any message.
        Slack refusing the file (or still failing after ``upload_tries``): the memo goes out
        as text in its place (it is stored either way), and the failure is logged."""
        payload = item.payload
        memo = self._memo(item, memos)
        if memo is None:
            return
        comment = payload.get("comment")
        if self._already_sent(item, where, text=comment or "", file=blocks.MEMO_FILENAME):
            self._delivered(item)
            return
        try:
            self.api.client.files_upload_v2(
                channel=where.channel,
                thread_ts=where.thread_ts,
                content=memo.markdown,
                filename=blocks.MEMO_FILENAME,
                title=blocks.file_title(memo.use_case),
                initial_comment=comment,
            )
        except Exception as exc:
            # The file host answering with an error (HTTPError: API methods report theirs
            # as SlackApiError) means Slack is up but will not take the file.
            refused = isinstance(exc, SlackRequestError | urllib.error.HTTPError)
            refused = refused or _permanent(exc)
            if not refused and item.attempts < self.timings.upload_tries:
                raise
            log.error("advisor: memo upload failed for thread %s: %s", item.interview_id, exc)
            text = {"channel": where.channel, "thread_ts": where.thread_ts, "memo_id": memo.id}
            self.tables.rewrite(item.id, self.owner, "memo_text", {**text, "sent": 0})
            return
        self._delivered(item)

    def _send_memo_text(self, item: OutboxItem, where: Where, memos: Memos) -> None:
        payload = dict(item.payload)
        memo = self._memo(item, memos)
        if memo is None:
            return
        # Rendered Markdown (markdown_text), not raw Markdown in mrkdwn messages.
        chunks = blocks.memo_text_chunks(memo.markdown, blocks.MARKDOWN_LIMIT)
        messages: list[str | blocks.Message] = [
            blocks.notice(
                f"I couldn't attach {blocks.MEMO_FILENAME}, so here is the memo as text. "
                f"It is saved: `advisor memo export {memo.id}` prints it too."
            ),
            *chunks,
        ]
        for n in range(int(payload.get("sent") or 0), len(messages)):
            said = messages[n]
            if isinstance(said, str):
                self.api.post_markdown(where, said)
            else:
                self.api.post(where, said)
            payload["sent"] = n + 1
            self.tables.progress(item.id, self.owner, payload)
        self._delivered(item)

    def _send_canvas(self, item: OutboxItem, where: Where, memos: Memos) -> None:
        """The memo as a canvas the channel can open and edit, linked in the thread. A
        workspace that cannot have one (a free team, canvases off) keeps the file alone."""
        memo = self._memo(item, memos)
        if memo is None:
            return
        title = blocks.file_title(memo.use_case)
        content = {"type": "markdown", "markdown": blocks.canvas_markdown(memo.markdown)}
        client = self.api.client
        try:
            try:
                made = client.canvases_create(title=title, document_content=content)
            except SlackApiError as err:
                if _error(err) != "free_teams_cannot_create_non_tabbed_canvases":
                    raise
                # A free team's canvases live in a channel tab.
                made = client.canvases_create(
                    title=title, document_content=content, channel_id=where.channel
                )
            canvas_id = str(made["canvas_id"])
            client.canvases_access_set(
                canvas_id=canvas_id, access_level="write", channel_ids=[where.channel]
            )
        except SlackApiError as err:
            if not _permanent(err):
                raise
            log.warning(
                "advisor: no canvas for memo %s in thread %s (%s); the file is there",
                memo.id,
                item.interview_id,
                _error(err),
            )
            self._delivered(item)
            return
        base = self.bot.url or "https://slack.com/"
        url = f"{base.rstrip('/')}/docs/{self.bot.team_id}/{canvas_id}"
        self.api.post(where, blocks.canvas_link(url, title))
        self._delivered(item)

    def _still_shown(self, item: OutboxItem) -> bool:
        thread = self.tables.thread(item.interview_id)
        return thread is None or thread.shown_key in (None, item.payload.get("key"))

    def _already_sent(
        self, item: OutboxItem, where: Where, *, text: str, file: str | None = None
    ) -> str | None:
        """For a message tried before (perhaps by a process that died after Slack took it
        and before it was marked sent): the id of the copy already in the thread, if any.
        Messages go out in order, so it can only be after the last one marked sent."""
        if item.attempts <= 1 or not where.thread_ts:
            return None
        after = self.tables.last_sent_ts(item.interview_id, item.id) or where.thread_ts
        try:
            found = self.api.client.conversations_replies(
                channel=where.channel, ts=where.thread_ts, oldest=after, limit=200
            )
        except Exception as exc:  # cannot tell: sending twice beats not sending
            log.warning("advisor: could not read thread %s back: %s", item.interview_id, exc)
            return None
        for message in found.get("messages") or []:
            ts = str(message.get("ts") or "")
            if not ts or _ts(ts) <= _ts(after) or ts == where.thread_ts:
                continue
            if message.get("user") != self.bot.user_id and message.get("bot_id") != self.bot.bot_id:
                continue
            names = [f.get("name") for f in message.get("files") or []]
            if (file in names if file else not names) and (message.get("text") or "") == text:
                log.info("advisor: %s #%d was already in the thread", item.kind, item.id)
                return ts
        return None

    def _failed(self, item: OutboxItem, error: Exception) -> bool:
        """Record a failed send. True if it was dropped for good (send the next one), False
        if it waits for a retry (and holds the ones behind it)."""
        described = describe(error)
        if isinstance(error, SlackApiError) and _error(error) in REVOKED:
            self.revoked(_error(error))
            self.tables.retry_later(item.id, self.owner, described, time.time())
            return False
        if _permanent(error) and (isinstance(error, SlackApiError) or item.attempts >= 3):
            log.error(
                "advisor: gave up sending %s #%d for thread %s: %s",
                item.kind,
                item.id,
                item.interview_id,
                described,
                exc_info=not isinstance(error, SlackApiError),
            )
            self.tables.give_up(item.id, self.owner, described)
            return True
        delay = min(self.timings.cap, self.timings.base * 2 ** max(0, item.attempts - 1))
        delay *= 1 + random.random() * 0.2
        if isinstance(error, SlackApiError):
            asked = retry_after(getattr(error.response, "headers", None))
            if asked is not None:
                delay = max(delay, asked)
        log.warning(
            "advisor: could not send %s #%d for thread %s (attempt %d): %s; again in %.1fs",
            item.kind,
            item.id,
            item.interview_id,
            item.attempts,
            described,
            delay,
        )
        self.tables.retry_later(item.id, self.owner, described, time.time() + delay)
        self._wake.set()
        return False


def _error(error: SlackApiError) -> str:
    return str(error.response.get("error") or "")


def _permanent(error: Exception) -> bool:
    """Would sending again fail the same way? Network trouble, 5xx and 429 would not."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        if status == 429 or status >= 500:
            return False
        return str(error.response.get("error") or "") not in _TRANSIENT_ERRORS
    return not isinstance(error, OSError | TimeoutError | http.client.HTTPException)


def describe(error: Exception) -> str:
    """An error in one short line, for the tables and the log."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", "?")
        return f"HTTP {status}: {error.response.get('error') or 'error'}"
    return f"{type(error).__name__}: {error}"[:300]


def _ts(ts: str) -> float:
    with contextlib.suppress(ValueError):
        return float(ts)
    return 0.0
