"""The Slack app: Bolt listeners that acknowledge at once and hand each thread's work to
the interview engine, one event at a time per thread.

Slack is a thin edge here. The engine (``graph.interview.Interviews``) decides what to ask
and what an answer means; this module turns Slack payloads into ``start`` / ``reply`` /
``choose`` calls and renders the turns it gets back (``bot.blocks``). Every listener acks
before doing anything slow: Bolt runs listeners on its executor after the ack when
``process_before_response`` is False, and ours only queue the work.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import threading
import time
import urllib.error
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt import App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot import blocks
from bot.blocks import Message, Row
from graph.store import InterviewRecord, MemoStatus, Store
from graph.turns import Ended, MemoReady, Question, Reply

log = logging.getLogger("advisor.slack")

# --- what the app handles and what it calls: the one registry the manifest is checked
# against (tests/test_slack_manifest.py) --------------------------------------------------

COMMAND = "/advisor"
# Bolt event type -> the bot events the manifest subscribes to for it.
EVENTS: dict[str, tuple[str, ...]] = {
    "app_mention": ("app_mention",),
    "message": ("message.channels", "message.groups"),  # replies in public/private threads
    "app_home_opened": ("app_home_opened",),
}
ACTIONS: tuple[str, ...] = (
    blocks.ANSWER_ACTION,
    blocks.CHECKS_ACTION,
    blocks.SUBMIT_ACTION,
    blocks.ACCEPT_ACTION,
    blocks.REJECT_ACTION,
    blocks.REVISE_ACTION,
)
# Bot scope each subscribed event needs (None: no scope).
EVENT_SCOPES: dict[str, str | None] = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "app_home_opened": None,
}
COMMAND_SCOPE = "commands"
# Every Web API method this app calls, with the bot scope it needs (None: none needed).
# files_upload_v2 is files.getUploadURLExternal + an upload POST + files.completeUploadExternal.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": None,
    "users.info": "users:read",
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
APP_TOKEN_METHODS = {"apps.connections.open": "connections:write"}  # Socket Mode, xapp- token

APOLOGY = (
    "Sorry, something went wrong on my side while handling that. Everything said so far "
    "is saved; please try again in a moment."
)
NOT_IN_CHANNEL = (
    "I can't post in this channel yet. Invite me with `/invite @advisor` and run the command again."
)
_POST_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}

Turn = Question | Reply | MemoReady | Ended


class Engine(Protocol):
    """What the app needs from ``graph.interview.Interviews``."""

    store: Store

    def start(
        self, interview_id: str, *, use_case: str, by: str, origin: dict[str, str] | None = None
    ) -> list[Any]: ...

    def reply(self, interview_id: str, text: str, *, by: str) -> list[Any]: ...

    def choose(
        self, interview_id: str, question_id: str, values: list[str], *, by: str
    ) -> list[Any]: ...

    def pending(self, interview_id: str) -> Question | None: ...

    def exists(self, interview_id: str) -> bool: ...


class SetupError(Exception):
    """A configuration problem to show the operator as one plain sentence."""


def interview_id(team_id: str, channel_id: str, thread_ts: str) -> str:
    """The engine's id for a Slack thread (DESIGN.md section 6)."""
    return f"{team_id}:{channel_id}:{thread_ts}"


# --- the Web API client -----------------------------------------------------------------


class RateLimitRetry(RateLimitErrorRetryHandler):
    """Waits what 429's Retry-After says, plus up to ``jitter`` seconds so parallel
    workers do not come back in lockstep (the stock handler always adds up to 1 s)."""

    def __init__(self, max_retry_count: int = 3, jitter: float = 1.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.jitter = jitter

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("rate limited without a response")
        wait = 1.0
        for key, value in response.headers.items():
            if key.lower() == "retry-after":
                raw = value[0] if isinstance(value, list) else value
                with contextlib.suppress(TypeError, ValueError):
                    wait = max(0.0, float(raw))
        state.next_attempt_requested = True
        time.sleep(wait + random.random() * self.jitter)
        state.increment_current_attempt()


class ScaledJitter(Jitter):
    """Up to ``amount`` random seconds on top of a backoff (the stock jitter adds up to 1 s)."""

    def __init__(self, amount: float) -> None:
        self.amount = amount

    def recalculate(self, duration: float) -> float:
        return duration + random.random() * self.amount


def retry_handlers(wait: float = 0.5, jitter: float = 1.0) -> list[RetryHandler]:
    """429 (Retry-After), 500/503 and dropped connections: backoff ``wait`` x 2^n plus up
    to ``jitter`` random seconds."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=wait, jitter=ScaledJitter(jitter))
    return [
        RateLimitRetry(max_retry_count=3, jitter=jitter),
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
    ]


def make_client(
    token: str, base_url: str | None = None, *, wait: float = 0.5, jitter: float = 1.0
) -> WebClient:
    """A WebClient for ``base_url`` (``SLACK_API_URL``; Slack's own when None) that
    retries rate limits, server errors and connection errors."""
    url = (base_url.rstrip("/") + "/") if base_url else WebClient.BASE_URL
    return WebClient(
        token=token, base_url=url, timeout=30, retry_handlers=retry_handlers(wait, jitter)
    )


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    bot_id: str
    team_id: str
    team: str


def whoami(client: WebClient) -> BotIdentity:
    """auth.test, with failures turned into one readable sentence."""
    try:
        result = client.auth_test()
    except SlackApiError as err:
        code = err.response.get("error", "unknown_error")
        if code in {"invalid_auth", "not_authed", "account_inactive", "token_revoked"}:
            raise SetupError(
                f"Slack rejected SLACK_BOT_TOKEN ({code}). Reinstall the app to your "
                "workspace and copy the Bot User OAuth Token (xoxb-...) again."
            ) from None
        raise SetupError(f"Slack's auth.test failed: {code}.") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise SetupError(
            f"Could not reach the Slack Web API at {client.base_url} ({reason}). "
            "Check the network, or SLACK_API_URL if you set it."
        ) from None
    return BotIdentity(
        user_id=str(result.get("user_id", "")),
        bot_id=str(result.get("bot_id", "")),
        team_id=str(result.get("team_id", "")),
        team=str(result.get("team", "")),
    )


# --- running work: per-thread order, threads in parallel -------------------------------


class Inflight:
    """Counts work that has been accepted but not finished, so a caller can wait for
    the app to go quiet (tests; a clean shutdown)."""

    def __init__(self) -> None:
        self._count = 0
        self._cond = threading.Condition()

    def add(self) -> None:
        with self._cond:
            self._count += 1

    def done(self) -> None:
        with self._cond:
            self._count -= 1
            if self._count <= 0:
                self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._count <= 0, timeout)


class CountingExecutor(ThreadPoolExecutor):
    """Bolt's listener executor, counted in ``Inflight``."""

    def __init__(self, inflight: Inflight, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="advisor-bolt")
        self._inflight = inflight

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self._inflight.add()

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._inflight.done()

        return super().submit(run)


class SerialQueues:
    """One FIFO queue per key (an interview thread), drained by a shared pool: events of
    one thread run one at a time in arrival order, different threads run in parallel."""

    def __init__(self, workers: int, inflight: Inflight) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="advisor-work")
        self._queues: dict[str, deque[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self._inflight = inflight

    def submit(self, key: str, job: Callable[[], None]) -> None:
        self._inflight.add()
        with self._lock:
            queue = self._queues.get(key)
            if queue is not None:  # a drainer is already working on this key
                queue.append(job)
                return
            self._queues[key] = deque([job])
        self._pool.submit(self._drain, key)

    def _drain(self, key: str) -> None:
        while True:
            with self._lock:
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]
                    return
                job = queue[0]  # stays queued while it runs, so new work lines up behind
            try:
                job()
            except Exception:  # jobs guard themselves; this keeps the drainer alive
                log.exception("advisor: unhandled error in work for %s", key)
            finally:
                with self._lock:
                    queue.popleft()
                self._inflight.done()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


# --- people's names -----------------------------------------------------------------


class Names:
    """Display names for user ids (users.info), cached; the id itself when unknown, so
    the memo says "Ana Lopez" where it can and never fails because of a name."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, user_id: str) -> str:
        with self._lock:
            if user_id in self._cache:
                return self._cache[user_id]
        name = user_id
        try:
            user = self._client.users_info(user=user_id).get("user") or {}
            profile = user.get("profile") or {}
            name = (
                profile.get("display_name")
                or profile.get("real_name")
                or user.get("real_name")
                or user.get("name")
                or user_id
            )
        except SlackApiError as exc:  # unknown user, missing scope: the id it is
            log.warning("advisor: users.info failed for %s: %s", user_id, exc)
        except Exception as exc:  # a network problem: use the id now, ask again next time
            log.warning("advisor: users.info failed for %s: %s", user_id, exc)
            return user_id
        with self._lock:
            self._cache[user_id] = name
        return name


# --- the app ------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Where a piece of work happens: the channel, the thread, the person."""

    channel: str
    thread_ts: str | None
    user: str
    message_ts: str | None = None


class SlackAdvisor:
    """The Bolt ``App`` (``.app``) wired to an interview engine.

    ``client`` is used for every Web API call; ``auth.test`` runs once here so a bad token
    fails at start-up with a readable message.
    """

    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        *,
        signing_secret: str,
        workers: int = 8,
        identity: BotIdentity | None = None,
    ) -> None:
        self.engine = engine
        self.store = engine.store
        self.client = client
        self.bot = identity or whoami(client)
        self.inflight = Inflight()
        self.queues = SerialQueues(workers, self.inflight)
        self.names = Names(client)
        self._starting: set[str] = set()  # interviews queued to start, not yet stored
        self._asked: dict[str, tuple[Question, str]] = {}  # last question (and its ts)
        self._lock = threading.Lock()
        self.app = App(
            client=client,
            signing_secret=signing_secret,
            name="advisor",
            process_before_response=False,
            listener_executor=CountingExecutor(self.inflight, max_workers=16),
            logger=logging.getLogger("advisor.bolt"),
        )
        self._register()

    # -- registration ------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.command(COMMAND)(self.on_command)
        handlers: Mapping[str, Callable[..., None]] = {
            "app_mention": self.on_mention,
            "message": self.on_message,
            "app_home_opened": self.on_home,
        }
        for event in EVENTS:
            app.event(event)(handlers[event])
        actions: Mapping[str, Callable[..., None]] = {
            blocks.ANSWER_ACTION: self.on_answer,
            blocks.CHECKS_ACTION: self.on_tick,
            blocks.SUBMIT_ACTION: self.on_submit,
            blocks.ACCEPT_ACTION: self.on_accept,
            blocks.REJECT_ACTION: self.on_reject,
            blocks.REVISE_ACTION: self.on_revise,
        }
        for action in ACTIONS:
            app.action(re.compile(rf"^{re.escape(action)}(:\d+)?$"))(actions[action])
        app.error(self.on_error)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every accepted request has been fully handled."""
        return self.inflight.wait_idle(timeout)

    def close(self) -> None:
        self.queues.shutdown()

    # -- listeners: each acks first, then queues ----------------------------------------

    def on_command(self, ack: Any, command: dict[str, Any], respond: Respond) -> None:
        text = (command.get("text") or "").strip()
        word = text.lower()
        if word in {"help", "-h", "--help", "?"}:
            usage = blocks.notice(blocks.USAGE)
            ack(text=usage["text"], blocks=usage["blocks"], response_type="ephemeral")
            return
        ack()
        where = Where(command["channel_id"], None, command["user_id"])
        if word == "list":
            self._submit(
                f"list:{where.channel}:{where.user}",
                where,
                None,
                respond,
                lambda: self._list(where, respond),
            )
            return
        use_case = blocks.from_slack(text, self.bot.user_id)
        key = f"start:{command.get('trigger_id') or time.monotonic()}"
        self._submit(
            key, where, None, respond, lambda: self._start_from_command(where, use_case, respond)
        )

    def on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        channel, user = event["channel"], event["user"]
        root = event.get("thread_ts") or event["ts"]
        iid = interview_id(self.bot.team_id, channel, root)
        text = blocks.from_slack(event.get("text") or "", self.bot.user_id)
        if not self._first_time(body):
            return
        where = Where(channel, root, user)
        if event.get("thread_ts") and self._is_interview(iid):
            self._submit(iid, where, iid, None, lambda: self._reply(iid, where, text))
            return
        word = text.lower()
        if word in {"help", "-h", "--help", "?"}:
            self._submit(
                f"help:{iid}",
                where,
                None,
                None,
                lambda: self._ephemeral(where, blocks.notice(blocks.USAGE)),
            )
            return
        if word == "list":
            self._submit(
                f"list:{channel}:{user}", where, None, None, lambda: self._list(where, None)
            )
            return
        self._begin(iid, where, text, intro=True)

    def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        # Only people's plain replies in a thread; edits, deletions, joins, bot posts and
        # every other subtype are not answers. "Also send to channel" replies are.
        if event.get("subtype") not in (None, "thread_broadcast"):
            return
        user = event.get("user")
        if event.get("bot_id") or not user or user == self.bot.user_id:
            return
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if not thread_ts or thread_ts == ts:
            return
        raw = event.get("text") or ""
        if f"<@{self.bot.user_id}>" in raw:
            return  # the app_mention event carries this one
        iid = interview_id(self.bot.team_id, event["channel"], thread_ts)
        if not self._is_interview(iid) or not self._first_time(body):
            return
        where = Where(event["channel"], thread_ts, user)
        text = blocks.from_slack(raw, self.bot.user_id)
        self._submit(iid, where, iid, None, lambda: self._reply(iid, where, text))

    def on_home(self, event: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user = event["user"]
        where = Where("", None, user)
        self._submit(f"home:{user}", where, None, None, lambda: self._publish_home(user))

    def on_answer(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        where = self._where(body)
        try:
            chosen = json.loads(action.get("value") or "{}")
        except json.JSONDecodeError:
            return
        label = (action.get("text") or {}).get("text") or str(chosen.get("value"))
        self._choose_later(
            where, str(chosen.get("question_id")), [str(chosen.get("value"))], [label], body
        )

    def on_tick(self, ack: Any) -> None:
        ack()  # a ticked box is not an answer until Submit

    def on_submit(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        where = self._where(body)
        try:
            question_id = str(json.loads(action.get("value") or "{}").get("question_id"))
        except json.JSONDecodeError:
            return
        values, labels = [], []
        for block in ((body.get("state") or {}).get("values") or {}).values():
            for action_id, state in block.items():
                if action_id.startswith(blocks.CHECKS_ACTION):
                    for option in state.get("selected_options") or []:
                        values.append(option["value"])
                        labels.append((option.get("text") or {}).get("text") or option["value"])
        self._choose_later(where, question_id, values, labels or ["none of these"], body)

    def on_accept(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        self._status_later(body, action, "accepted")

    def on_reject(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        self._status_later(body, action, "rejected")

    def on_revise(self, ack: Any, body: dict[str, Any]) -> None:
        ack()
        where = self._where(body)
        if where.thread_ts:
            iid = interview_id(self.bot.team_id, where.channel, where.thread_ts)
            self._submit(iid, where, iid, None, lambda: self._post(where, blocks.revise_help()))

    def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        where = self._where_any(body)
        iid = (
            interview_id(self.bot.team_id, where.channel, where.thread_ts)
            if where and where.thread_ts
            else None
        )
        log.error("advisor: handler failed for thread %s: %r", iid or "-", error, exc_info=error)
        if where and where.channel:
            self._apologise(where, None)

    # -- helpers for listeners ---------------------------------------------------------

    def _first_time(self, body: dict[str, Any]) -> bool:
        """False for an event Slack already delivered (a retry): dedupe by event_id."""
        event_id = body.get("event_id")
        return not event_id or self.store.seen_event(str(event_id))

    def _is_interview(self, iid: str) -> bool:
        with self._lock:
            if iid in self._starting:
                return True
        return self.engine.exists(iid)

    def _where(self, body: dict[str, Any]) -> Where:
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
        return Where(
            channel=channel,
            thread_ts=container.get("thread_ts") or message.get("thread_ts"),
            user=(body.get("user") or {}).get("id") or "",
            message_ts=container.get("message_ts") or message.get("ts"),
        )

    def _where_any(self, body: dict[str, Any]) -> Where | None:
        if body.get("type") == "block_actions":
            return self._where(body)
        event = body.get("event") or {}
        if event.get("channel"):
            return Where(
                event["channel"], event.get("thread_ts") or event.get("ts"), event.get("user") or ""
            )
        if body.get("channel_id"):
            return Where(body["channel_id"], None, body.get("user_id") or "")
        return None

    def _submit(
        self,
        key: str,
        where: Where,
        iid: str | None,
        respond: Respond | None,
        job: Callable[[], None],
    ) -> None:
        """Queue ``job`` behind earlier work on ``key``; if it fails, log the thread id
        and say sorry where the person will see it."""

        def guarded() -> None:
            try:
                job()
            except Exception:
                log.exception("advisor: handler failed for thread %s", iid or f"{where.channel}:-")
                self._apologise(where, respond)

        self.queues.submit(key, guarded)

    def _choose_later(
        self,
        where: Where,
        question_id: str,
        values: list[str],
        labels: list[str],
        body: dict[str, Any],
    ) -> None:
        if not where.thread_ts or not where.channel:
            return
        iid = interview_id(self.bot.team_id, where.channel, where.thread_ts)
        message = body.get("message") or {}
        self._submit(
            iid,
            where,
            iid,
            None,
            lambda: self._choose(iid, where, question_id, values, labels, message),
        )

    def _status_later(
        self, body: dict[str, Any], action: dict[str, Any], status: MemoStatus
    ) -> None:
        where = self._where(body)
        if not where.thread_ts:
            return
        iid = interview_id(self.bot.team_id, where.channel, where.thread_ts)
        memo_id = str(action.get("value") or "")
        self._submit(iid, where, iid, None, lambda: self._set_status(iid, where, memo_id, status))

    # -- the work (runs on the per-thread queues) ---------------------------------------

    def _start_from_command(self, where: Where, use_case: str, respond: Respond) -> None:
        try:
            parent = self._post(
                Where(where.channel, None, where.user), blocks.parent_message(use_case, where.user)
            )
        except SlackApiError as err:
            if err.response.get("error") in _POST_ERRORS:
                respond(text=NOT_IN_CHANNEL, response_type="ephemeral")
                return
            raise
        thread_ts = str(parent["ts"])
        iid = interview_id(self.bot.team_id, where.channel, thread_ts)
        self._begin(iid, Where(where.channel, thread_ts, where.user), use_case, intro=False)

    def _begin(self, iid: str, where: Where, use_case: str, *, intro: bool) -> None:
        with self._lock:
            self._starting.add(iid)
        self._submit(iid, where, iid, None, lambda: self._start(iid, where, use_case, intro))

    def _start(self, iid: str, where: Where, use_case: str, intro: bool) -> None:
        try:
            if self.engine.exists(iid):
                return
            assert where.thread_ts is not None
            if intro:
                self._post(where, blocks.parent_message(use_case, where.user))
            origin = {
                "source": "slack",
                "team_id": self.bot.team_id,
                "channel_id": where.channel,
                "thread_ts": where.thread_ts,
                "user_id": where.user,
            }
            link = self._permalink(where.channel, where.thread_ts)
            if link:
                origin["permalink"] = link
            turns = self.engine.start(
                iid, use_case=use_case, by=self.names(where.user), origin=origin
            )
        finally:
            with self._lock:
                self._starting.discard(iid)
        self._render(iid, where, turns)

    def _reply(self, iid: str, where: Where, text: str) -> None:
        if not self.engine.exists(iid):
            return
        if not text:  # a bare @advisor in the thread: show where the interview stands
            pending = self.engine.pending(iid)
            self._render(iid, where, [pending] if pending else [])
            return
        before = self.engine.pending(iid)
        turns = self.engine.reply(iid, text, by=self.names(where.user))
        self._retire_question(iid, where, before, text)
        self._render(iid, where, turns)

    def _choose(
        self,
        iid: str,
        where: Where,
        question_id: str,
        values: list[str],
        labels: list[str],
        message: dict[str, Any],
    ) -> None:
        pending = self.engine.pending(iid) if self.engine.exists(iid) else None
        if pending is None or pending.id != question_id:
            # A second click, or a click on an old question: nothing to answer. Take the
            # buttons off that message and tell only the person who clicked.
            self._strip_buttons(where, message)
            self._ephemeral(
                where,
                blocks.notice(
                    "That question was already answered, so I left it as it was. "
                    "The current question is the latest one in this thread."
                ),
            )
            return
        turns = self.engine.choose(iid, question_id, values, by=self.names(where.user))
        after = self.engine.pending(iid)
        if after is None or after.id != question_id:
            if where.message_ts:
                self._update(
                    where,
                    where.message_ts,
                    blocks.answered_message(pending, ", ".join(labels), where.user),
                )
            with self._lock:
                self._asked.pop(iid, None)
        self._render(iid, where, turns)

    def _set_status(self, iid: str, where: Where, memo_id: str, status: MemoStatus) -> None:
        memo = self.store.get_memo(memo_id)
        if memo is None:
            self._ephemeral(where, blocks.notice("I can't find that memo any more."))
            return
        if memo.status == status:
            self._ephemeral(where, blocks.notice(f"This memo is already {status}."))
            return
        by = self.names(where.user)
        memo = self.store.set_memo_status(memo.id, status, by)
        if where.message_ts:
            self._update(
                where,
                where.message_ts,
                blocks.memo_summary(
                    memo.id,
                    memo.assessment,
                    use_case=memo.use_case,
                    status=memo.status,
                    decided_by=memo.decided_by,
                ),
            )
        comment = f"Memo {status} by <@{where.user}>. Updated {blocks.MEMO_FILENAME}:"
        self._upload_memo(iid, where, memo.id, memo.markdown, memo.use_case, comment)

    def _render(self, iid: str, where: Where, turns: list[Any]) -> None:
        for turn in turns:
            if isinstance(turn, Question):
                posted = self._post(where, blocks.question_message(turn))
                with self._lock:
                    earlier = self._asked.get(iid)
                    self._asked[iid] = (turn, str(posted["ts"]))
                if earlier is not None and earlier[0].options:
                    # Only the newest copy of a question keeps its buttons.
                    self._update(where, earlier[1], blocks.superseded_message(earlier[0]))
            elif isinstance(turn, Reply):
                self._post(where, blocks.reply_message(turn))
            elif isinstance(turn, Ended):
                self._post(where, blocks.ended_message(turn))
            elif isinstance(turn, MemoReady):
                self._deliver_memo(iid, where, turn)
            else:
                log.warning("advisor: unknown turn %r in thread %s", turn, iid)

    def _retire_question(self, iid: str, where: Where, before: Question | None, said: str) -> None:
        """Once a typed reply moved the interview on, take the buttons off the question it
        was pending on (if this process posted it), so nobody clicks a stale one."""
        if before is None:
            return
        after = self.engine.pending(iid)
        if after is not None and after.id == before.id:
            return
        with self._lock:
            asked = self._asked.get(iid)
            if asked is None or asked[0].id != before.id:
                return
            del self._asked[iid]
        question, ts = asked
        if question.options:
            message = blocks.answered_message(question, said, where.user, typed=True)
            self._update(where, ts, message)

    def _deliver_memo(self, iid: str, where: Where, turn: MemoReady) -> None:
        record = self.store.get_memo(turn.memo_id)
        use_case = record.use_case if record else ""
        status = record.status if record else "proposed"
        self._post(
            where,
            blocks.memo_summary(turn.memo_id, turn.assessment, use_case=use_case, status=status),
        )
        self._upload_memo(iid, where, turn.memo_id, turn.markdown, use_case, None)

    def _upload_memo(
        self,
        iid: str,
        where: Where,
        memo_id: str,
        markdown: str,
        use_case: str,
        comment: str | None,
    ) -> None:
        """decision-memo.md into the thread; if that fails, the memo as text (it is
        already stored, so nothing is lost) and a log line with the thread id."""
        title = f"Decision memo: {use_case}"[:250] if use_case else "Decision memo"
        try:
            self.client.files_upload_v2(
                channel=where.channel,
                thread_ts=where.thread_ts,
                content=markdown,
                filename=blocks.MEMO_FILENAME,
                title=title,
                initial_comment=comment,
            )
            return
        except Exception as exc:
            log.error("advisor: memo upload failed for thread %s: %s", iid, exc)
        self._post(
            where,
            blocks.notice(
                f"I couldn't attach {blocks.MEMO_FILENAME}, so here is the memo as text. "
                f"It is saved: `advisor memo export {memo_id}` prints it too."
            ),
        )
        for chunk in blocks.memo_text_chunks(markdown):
            self._post(where, Message(text=chunk, blocks=[]))

    def _list(self, where: Where, respond: Respond | None) -> None:
        prefix = interview_id(self.bot.team_id, where.channel, "")
        records = [r for r in self.store.list_interviews() if r.id.startswith(prefix)][:15]
        self._ephemeral(where, blocks.list_message([self._row(r) for r in records]), respond)

    def _publish_home(self, user: str) -> None:
        self.client.views_publish(user_id=user, view=blocks.home_view(self._user_rows(user)))

    def _user_rows(self, user: str) -> list[Row]:
        """Interviews this person started, or answered in, newest first."""
        name = self.names(user)
        answered = {
            row["interview_id"]
            for row in self.store.db.query(
                "SELECT DISTINCT interview_id FROM answers WHERE by = ?", [name]
            )
        }
        mine = [
            r
            for r in self.store.list_interviews()
            if r.origin.get("user_id") == user or r.id in answered
        ]
        return [self._row(r) for r in mine[:25]]

    def _row(self, record: InterviewRecord) -> Row:
        memo = self.store.get_memo(record.memo_id) if record.memo_id else None
        return Row(
            use_case=record.use_case,
            status=blocks.status_line(
                record.status, memo.status if memo else None, memo.approach if memo else None
            ),
            link=record.origin.get("permalink") or None,
            started_at=record.started_at,
            started_by=record.started_by,
        )

    # -- Web API calls -----------------------------------------------------------------

    def _post(self, where: Where, message: Message) -> Any:
        args: dict[str, Any] = {
            "channel": where.channel,
            "text": message["text"],
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if where.thread_ts:
            args["thread_ts"] = where.thread_ts
        if message["blocks"]:
            args["blocks"] = message["blocks"]
        if "metadata" in message:
            args["metadata"] = message["metadata"]
        return self.client.chat_postMessage(**args)

    def _update(self, where: Where, ts: str, message: Message) -> None:
        args: dict[str, Any] = {
            "channel": where.channel,
            "ts": ts,
            "text": message["text"],
            "blocks": message["blocks"],
        }
        if "metadata" in message:
            args["metadata"] = message["metadata"]
        self.client.chat_update(**args)

    def _strip_buttons(self, where: Where, message: dict[str, Any]) -> None:
        kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
        if not where.message_ts or len(kept) == len(message.get("blocks") or []):
            return
        kept.append(blocks.context("_Already answered._"))
        self._update(
            where,
            where.message_ts,
            Message(text=message.get("text") or "Already answered", blocks=kept),
        )

    def _ephemeral(self, where: Where, message: Message, respond: Respond | None = None) -> None:
        """A message only ``where.user`` sees; through response_url when the bot is not
        in the channel."""
        try:
            args: dict[str, Any] = {
                "channel": where.channel,
                "user": where.user,
                "text": message["text"],
                "blocks": message["blocks"],
            }
            if where.thread_ts:
                args["thread_ts"] = where.thread_ts
            self.client.chat_postEphemeral(**args)
        except SlackApiError as err:
            if respond is None or err.response.get("error") not in _POST_ERRORS:
                raise
            respond(text=message["text"], blocks=message["blocks"], response_type="ephemeral")

    def _permalink(self, channel: str, ts: str) -> str | None:
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except Exception as exc:  # a link is a nicety
            log.warning("advisor: no permalink for %s/%s: %s", channel, ts, exc)
            return None

    def _apologise(self, where: Where, respond: Respond | None) -> None:
        try:
            if where.thread_ts:
                self._post(where, blocks.notice(APOLOGY))
            elif respond is not None:
                respond(text=APOLOGY, response_type="ephemeral")
            elif where.channel and where.user:
                self._ephemeral(where, blocks.notice(APOLOGY))
        except Exception:
            log.exception("advisor: could not apologise in %s", where.channel or "-")
