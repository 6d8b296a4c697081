"""The Slack app: Bolt listeners that acknowledge at once and hand each thread's work to
the interview engine, one event at a time per thread.

Slack is a thin edge here. The engine (``graph.interview.Interviews``) decides what to ask
and what an answer means; this module turns Slack payloads into ``start`` / ``reply`` /
``choose`` calls and renders the turns it gets back (``bot.blocks``). Every listener acks
before doing anything slow: Bolt runs listeners on its executor after the ack when
``process_before_response`` is False, and ours only keep the input and queue the work.

Nothing said is lost to a crash or an outage: what arrives is kept in the store's inbox
before it is handled, and what the app says goes through the store's outbox, written in the
same transaction that marks the input handled, then sent, and retried until Slack takes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import random
import re
import sqlite3
import threading
import time
import urllib.error
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from slack_bolt import App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
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
from slack_sdk.web import SlackResponse

from bot import blocks
from bot.blocks import Message, Row
from bot.slack.tables import (
    Busy,
    InboxItem,
    OutboxItem,
    SlackTables,
    is_busy,
    new_owner,
    retire_owner,
)
from graph.decisions import set_status
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
    "conversations.replies": "channels:history",  # did a message sent before a crash arrive?
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


def retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds a 429's Retry-After header asks for (None: no usable header)."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            with contextlib.suppress(TypeError, ValueError):
                return max(0.0, float(raw))
    return None


class RateLimitRetry(RateLimitErrorRetryHandler):
    """Waits what 429's Retry-After says, plus up to ``jitter`` seconds so parallel
    workers do not come back in lockstep (the stock handler always adds up to 1 s).
    A Retry-After longer than ``max_wait`` is not waited out here, holding a worker:
    the call fails and the outbox sends it again when Slack said to."""

    def __init__(self, max_retry_count: int = 3, jitter: float = 1.0, max_wait: float = 10.0):
        super().__init__(max_retry_count=max_retry_count)
        self.jitter = jitter
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response.headers)
        return wait is None or wait <= self.max_wait

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
        wait = retry_after(response.headers)
        state.next_attempt_requested = True
        time.sleep((1.0 if wait is None else wait) + random.random() * self.jitter)
        state.increment_current_attempt()


class ScaledJitter(Jitter):
    """Up to ``amount`` random seconds on top of a backoff (the stock jitter adds up to 1 s)."""

    def __init__(self, amount: float) -> None:
        self.amount = amount

    def recalculate(self, duration: float) -> float:
        return duration + random.random() * self.amount


def retry_handlers(
    wait: float = 0.5, jitter: float = 1.0, max_wait: float = 10.0
) -> list[RetryHandler]:
    """429 (Retry-After up to ``max_wait``), 500/503 and dropped connections: backoff
    ``wait`` x 2^n plus up to ``jitter`` random seconds. Longer outages are the outbox's."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=wait, jitter=ScaledJitter(jitter))
    return [
        RateLimitRetry(max_retry_count=3, jitter=jitter, max_wait=max_wait),
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
    ]


# Test-only fault injection (tests/test_faults_kill.py). With ADVISOR_FAULT=<point>[:<n>] the
# process dies on the spot, as under kill -9 (os._exit: no clean-up, nothing flushed), the
# n-th time (default: the first) it reaches <point>. Never set in production; unset, it costs
# one environment lookup per step.
FAULT_POINTS = ("before_answer", "after_answer", "before_post", "after_post", "during_upload")
_fault_hits: dict[str, int] = {}


def fault(point: str) -> None:
    wanted = os.environ.get("ADVISOR_FAULT")
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _fault_hits[point] = _fault_hits.get(point, 0) + 1
    if _fault_hits[point] >= int(nth or 1):
        os._exit(137)


class AdvisorClient(WebClient):
    """The Web API client; the one override marks the middle of a file upload (after the
    bytes went up, before Slack attaches the file to the thread) for fault injection."""

    def files_completeUploadExternal(
        self,
        *,
        files: list[dict[str, str | None]],
        channel_id: str | None = None,
        channels: list[str] | None = None,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
        **kwargs: Any,
    ) -> SlackResponse:
        fault("during_upload")
        return super().files_completeUploadExternal(
            files=files,
            channel_id=channel_id,
            channels=channels,
            initial_comment=initial_comment,
            thread_ts=thread_ts,
            **kwargs,
        )


def make_client(
    token: str,
    base_url: str | None = None,
    *,
    wait: float = 0.5,
    jitter: float = 1.0,
    max_wait: float = 10.0,
) -> WebClient:
    """A WebClient for ``base_url`` (``SLACK_API_URL``; Slack's own when None) that
    retries rate limits, server errors and connection errors."""
    url = (base_url.rstrip("/") + "/") if base_url else WebClient.BASE_URL
    return AdvisorClient(
        token=token,
        base_url=url,
        timeout=30,
        retry_handlers=retry_handlers(wait, jitter, max_wait),
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


# What Slack sends, checked where a listener reads it: a request of another shape is not
# from Slack, or cannot be acted on, and is acked and dropped rather than raising mid-way.
_SLACK_ID = re.compile(r"[A-Z0-9]+")  # C0123ABC, U0123ABC, ...
_SLACK_TS = re.compile(r"\d+\.\d+")  # 1700000000.000100


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


def button_value(action: dict[str, Any]) -> dict[str, Any] | None:
    """A button's value: the JSON object the app put there, or None."""
    try:
        value = json.loads(text_of(action.get("value")) or "{}")
    except ValueError:  # not JSON, or numbers too long to read
        return None
    return value if isinstance(value, dict) else None


def _ignored(what: str) -> None:
    log.info("advisor: ignored %s Slack would not send", what)


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


@dataclass
class Plan:
    """What one step wants the thread to get: outbox items, and what the thread shows after
    them (``shown``: the pending question's key, ``memo:<id>`` or ``cancelled``)."""

    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    shown: str | None = None
    forget_question: bool = False


CANCELLED = "cancelled"
BUSY_KEPT = (
    "I'm busy right now, so your reply is waiting in line. It is saved; "
    "I'll answer here as soon as I can."
)
BUSY_TRY_AGAIN = (
    "Sorry, I'm busy right now and couldn't take that in. Please try again in a moment."
)
LOST_CANCEL = "This interview was cancelled. Start a new one to begin again."
# Slack errors that retrying cannot fix: the message is dropped (and logged).
_TRANSIENT_ERRORS = {
    "ratelimited",
    "fatal",
    "internal_error",
    "service_unavailable",
    "request_timeout",
    "invalid_auth",  # a token being rotated: keep the messages until it works again
    "not_authed",
    "account_inactive",
    "token_revoked",
    "team_access_not_granted",
}


def question_key(question: Question) -> str:
    """Names one rendering of a question (text, hint, number): a re-ask differs."""
    digest = hashlib.sha1(question.model_dump_json().encode()).hexdigest()[:16]
    return f"q:{question.id}:{digest}"


def memo_key(memo_id: str) -> str:
    return f"memo:{memo_id}"


def _permanent(error: Exception) -> bool:
    """Would sending again fail the same way? Network trouble, 5xx and 429 would not."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        if status == 429 or status >= 500:
            return False
        return str(error.response.get("error") or "") not in _TRANSIENT_ERRORS
    return not isinstance(error, OSError | TimeoutError | http.client.HTTPException)


def _describe(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", "?")
        return f"HTTP {status}: {error.response.get('error') or 'error'}"
    return f"{type(error).__name__}: {error}"[:300]


class SlackAdvisor:
    """The Bolt ``App`` (``.app``) wired to an interview engine.

    Every reply, click and start is kept in the store's inbox before it is handled, and
    every message for a thread goes through the store's outbox: written right after the
    engine step, then sent and marked sent; a send that fails is retried in the background
    until Slack takes it. ``start()`` picks up whatever a previous run left undone.
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
        self.tables = SlackTables(engine.store)
        self.client = client
        self.signing_secret = signing_secret  # serve.SlackEdge checks signatures before Bolt
        self.bot = identity or whoami(client)
        self.delivery = delivery or Delivery()
        self.owner = new_owner()
        self.inflight = Inflight()
        self.queues = SerialQueues(workers, self.inflight)
        self.names = Names(client)
        self._starting: set[str] = set()  # interviews queued to start, not yet stored
        self._sending: set[str] = set()  # threads with a delivery queued
        self._busy_tries: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._drainer: threading.Thread | None = None
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

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Pick up what an earlier run left undone (replies kept but not handled, questions
        and memos never queued, messages never sent), then keep sending in the background."""
        self._adopt()
        prefix = f"{self.bot.team_id}:"
        records = {r.id: r for r in self.store.list_interviews(prefix=prefix)}
        for thread in self.tables.threads(prefix=prefix):
            record = records.get(thread.interview_id)
            if record is None:
                continue
            if record.status == "done" and record.memo_id:
                settled = thread.shown_key == memo_key(record.memo_id)
            elif record.status == "cancelled":
                settled = thread.shown_key == CANCELLED
            else:
                settled = False  # open: only the engine knows the pending question
            if not settled and thread.channel and thread.thread_ts:
                where = Where(thread.channel, thread.thread_ts, "")
                iid = thread.interview_id
                self._submit(iid, where, iid, None, partial(self._reconcile, iid, where))
        if self._drainer is None:
            self._drainer = threading.Thread(
                target=self._drain_forever, name="advisor-outbox", daemon=True
            )
            self._drainer.start()
        self._wake.set()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every accepted request has been fully handled."""
        return self.inflight.wait_idle(timeout)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._drainer is not None:
            self._drainer.join(10)
        self.queues.shutdown()
        retire_owner(self.owner)  # what is left may now be taken over

    # -- listeners: each acks first, then queues ----------------------------------------

    def on_command(self, ack: Any, command: dict[str, Any], respond: Respond) -> None:
        text = text_of(command.get("text")).strip()
        word = text.lower()
        if word in {"help", "-h", "--help", "?"}:
            usage = blocks.notice(blocks.USAGE)
            ack(text=usage["text"], blocks=usage["blocks"], response_type="ephemeral")
            return
        ack()
        channel, user = slack_id(command.get("channel_id")), slack_id(command.get("user_id"))
        if not channel or not user:
            _ignored(f"a {COMMAND} without a channel or user id")
            return
        where = Where(channel, None, user)
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
        channel, user = slack_id(event.get("channel")), text_of(event.get("user"))
        thread_ts, ts = slack_ts(event.get("thread_ts")), slack_ts(event.get("ts"))
        root = thread_ts or ts
        if not channel or not user or not root:
            _ignored("a mention without a channel, user or timestamp")
            return
        iid = interview_id(self.bot.team_id, channel, root)
        text = blocks.from_slack(text_of(event.get("text")), self.bot.user_id)
        where = Where(channel, root, user)
        event_id = body.get("event_id")
        if thread_ts and self._is_interview(iid):
            self._take("reply", iid, where, {"text": text}, event_id=event_id)
            return
        word = text.lower()
        if word in {"help", "-h", "--help", "?"}:
            if self._first_time(body):
                self._submit(
                    f"help:{iid}",
                    where,
                    None,
                    None,
                    lambda: self._ephemeral(where, blocks.notice(blocks.USAGE)),
                )
            return
        if word == "list":
            if self._first_time(body):
                self._submit(
                    f"list:{channel}:{user}", where, None, None, lambda: self._list(where, None)
                )
            return
        self._begin(iid, where, text, intro=True, event_id=event_id)

    def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        # Only people's plain replies in a thread; edits, deletions, joins, bot posts and
        # every other subtype are not answers. "Also send to channel" replies are.
        if event.get("subtype") not in (None, "thread_broadcast"):
            return
        user = text_of(event.get("user"))
        if event.get("bot_id") or not user or user == self.bot.user_id:
            return
        thread_ts, ts = slack_ts(event.get("thread_ts")), event.get("ts")
        if not thread_ts or thread_ts == ts:
            return
        raw = text_of(event.get("text"))
        if f"<@{self.bot.user_id}>" in raw:
            return  # the app_mention event carries this one
        channel = slack_id(event.get("channel"))
        if not channel:
            _ignored("a reply without a channel")
            return
        iid = interview_id(self.bot.team_id, channel, thread_ts)
        if not self._is_interview(iid):
            return
        where = Where(channel, thread_ts, user)
        text = blocks.from_slack(raw, self.bot.user_id)
        self._take("reply", iid, where, {"text": text}, event_id=body.get("event_id"))

    def on_home(self, event: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user = slack_id(event.get("user"))
        if not user:
            _ignored("an app_home_opened without a user")
            return
        where = Where("", None, user)
        self._submit(f"home:{user}", where, None, None, lambda: self._publish_home(user))

    def on_answer(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        where = self._where(body)
        chosen = button_value(action)
        if chosen is None:
            _ignored("a button whose value is not a JSON object")
            return
        label = text_of(object_of(action.get("text")).get("text")) or str(chosen.get("value"))
        self._choose_later(
            where, str(chosen.get("question_id")), [str(chosen.get("value"))], [label], body
        )

    def on_tick(self, ack: Any) -> None:
        ack()  # a ticked box is not an answer until Submit

    def on_submit(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        where = self._where(body)
        chosen = button_value(action)
        if chosen is None:
            _ignored("a Submit whose value is not a JSON object")
            return
        boxes = ticked(body)
        if boxes is None:
            _ignored("a Submit with ticked boxes of another shape")
            return
        values, labels = boxes
        question_id = str(chosen.get("question_id"))
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
        if where.thread_ts and where.channel:
            iid = interview_id(self.bot.team_id, where.channel, where.thread_ts)
            self._submit(
                iid,
                where,
                iid,
                None,
                lambda: self._send_now(iid, [self._post_item(where, blocks.revise_help())]),
            )

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
        # A thread row exists from the moment a start is kept, in whichever process.
        return self.engine.exists(iid) or self.tables.thread(iid) is not None

    def _where(self, body: dict[str, Any]) -> Where:
        """Where a click happened; a channel or timestamp of the wrong shape is left empty,
        and the listeners drop a click without a channel and thread."""
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

    def _where_any(self, body: dict[str, Any]) -> Where | None:
        if body.get("type") == "block_actions":
            return self._where(body)
        event = object_of(body.get("event"))
        if slack_id(event.get("channel")):
            ts = slack_ts(event.get("thread_ts")) or slack_ts(event.get("ts"))
            return Where(event["channel"], ts, text_of(event.get("user")))
        if slack_id(body.get("channel_id")):
            return Where(body["channel_id"], None, text_of(body.get("user_id")))
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

    def _take(
        self,
        kind: str,
        iid: str,
        where: Where,
        data: dict[str, Any],
        *,
        event_id: str | None = None,
    ) -> bool:
        """Keep what arrived in the inbox (once per event id) and queue its handling behind
        the thread's earlier work. False if it was a retry or could not be kept."""
        payload = {
            "channel": where.channel,
            "thread_ts": where.thread_ts,
            "user": where.user,
            "message_ts": where.message_ts,
            **data,
        }
        try:
            item = self.tables.receive(
                iid,
                kind,
                payload,
                owner=self.owner,
                event_id=event_id,
                thread=(where.channel, where.thread_ts or ""),
            )
        except sqlite3.OperationalError as err:
            if not is_busy(err):
                raise
            # Nothing was kept, so say so: the words are in the log, and with the person.
            log.warning(
                "advisor: database busy, %s in thread %s not kept (from %s): %r",
                kind,
                iid,
                where.user,
                data.get("text") if "text" in data else data.get("values"),
            )
            self._say(where, blocks.notice(BUSY_TRY_AGAIN))
            return False
        if item is None:
            return False
        self._submit(iid, where, iid, None, lambda: self._handle(item))
        return True

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
        message = object_of(body.get("message"))
        listed = message.get("blocks")
        shown = [b for b in listed if isinstance(b, dict)] if isinstance(listed, list) else []
        data = {
            "question_id": question_id,
            "values": values,
            "labels": labels,
            "message": {"text": text_of(message.get("text")), "blocks": shown},
        }
        self._take("choose", iid, where, data)

    def _status_later(
        self, body: dict[str, Any], action: dict[str, Any], status: MemoStatus
    ) -> None:
        where = self._where(body)
        if not where.thread_ts or not where.channel:
            return
        iid = interview_id(self.bot.team_id, where.channel, where.thread_ts)
        memo_id = text_of(action.get("value"))
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

    def _begin(
        self, iid: str, where: Where, use_case: str, *, intro: bool, event_id: str | None = None
    ) -> None:
        with self._lock:
            self._starting.add(iid)
        data = {"use_case": use_case, "intro": intro}
        if not self._take("start", iid, where, data, event_id=event_id):
            with self._lock:
                self._starting.discard(iid)

    def _handle(self, item: InboxItem) -> None:
        """One kept reply, click or start: the engine step and its messages, queued in the
        outbox in one transaction; then sent. A busy database means "later", not "lost"."""
        iid = item.interview_id
        where = _where_of(item)
        try:
            self._step(item, where)
        except Exception as err:
            if is_busy(err):
                self._busy_later(item, where)
                return
            with contextlib.suppress(Exception):  # a poisoned item is not replayed forever
                self.tables.finish_inbox(item.id, error=_describe(err))
            raise
        finally:
            if item.kind == "start":
                with self._lock:
                    self._starting.discard(iid)
        with self._lock:
            self._busy_tries.pop(item.id, None)
        fault("before_post")
        self._deliver_quietly(iid)

    def _step(self, item: InboxItem, where: Where) -> None:
        iid = item.interview_id
        self.tables.hold_thread(
            iid,
            self.owner,
            wait=self.delivery.hold_wait,
            thread=(where.channel, where.thread_ts or ""),
        )
        try:
            fresh = self.tables.inbox_item(item.id)
            if fresh is None or fresh.done_at is not None:
                return
            pending = self.engine.pending(iid)  # read once per step: each read costs
            key = self._key_for(iid, pending)
            if fresh.started_key is not None and fresh.started_key != key:
                # An earlier try got through the engine and died before its messages were
                # queued: do not answer twice, just make sure the thread shows where it is.
                plan = self._catch_up(iid, where)
            else:
                self.tables.start_inbox(item.id, key)
                fault("before_answer")
                plan = self._run(item, iid, where, pending)
                fault("after_answer")
            self.tables.enqueue(
                iid,
                plan.items,
                shown_key=plan.shown,
                forget_question=plan.forget_question,
                finish_inbox=item.id,
            )
        finally:
            with contextlib.suppress(Exception):
                self.tables.release_thread(iid, self.owner)

    def _run(self, item: InboxItem, iid: str, where: Where, pending: Question | None) -> Plan:
        data = item.payload
        if item.kind == "start":
            return self._start(iid, where, str(data.get("use_case") or ""), bool(data.get("intro")))
        if item.kind == "reply":
            return self._reply(iid, where, str(data.get("text") or ""), pending)
        if item.kind == "choose":
            return self._choose(
                iid,
                where,
                str(data.get("question_id") or ""),
                [str(v) for v in data.get("values") or []],
                [str(v) for v in data.get("labels") or []],
                data.get("message") or {},
                pending,
            )
        log.warning("advisor: unknown inbox item %s for thread %s", item.kind, iid)
        return Plan()

    def _start(self, iid: str, where: Where, use_case: str, intro: bool) -> Plan:
        if self.engine.exists(iid):
            return self._catch_up(iid, where)
        assert where.thread_ts is not None
        first: list[tuple[str, dict[str, Any]]] = []
        if intro:
            first.append(self._post_item(where, blocks.parent_message(use_case, where.user)))
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
        turns = self.engine.start(iid, use_case=use_case, by=self.names(where.user), origin=origin)
        plan = self._plan(where, turns)
        plan.items[:0] = first
        return plan

    def _reply(self, iid: str, where: Where, text: str, before: Question | None) -> Plan:
        if before is None and not self.engine.exists(iid):
            return Plan()
        if not text:  # a bare @advisor in the thread: show where the interview stands
            return self._plan(where, [before] if before else [])
        turns = self.engine.reply(iid, text, by=self.names(where.user))
        retire, forget = self._retire(iid, where, before, _asked(turns), text)
        plan = self._plan(where, turns)
        # The next question first, the old question's buttons off after: what the team is
        # waiting for arrives one Web API call sooner.
        plan.items.extend(retire)
        plan.forget_question = forget
        return plan

    def _choose(
        self,
        iid: str,
        where: Where,
        question_id: str,
        values: list[str],
        labels: list[str],
        message: dict[str, Any],
        pending: Question | None,
    ) -> Plan:
        if pending is None or pending.id != question_id:
            # A second click, or a click on an old question: nothing to answer. Take the
            # buttons off that message and tell only the person who clicked.
            try:
                self._ephemeral(
                    where,
                    blocks.notice(
                        "That question was already answered, so I left it as it was. "
                        "The current question is the latest one in this thread."
                    ),
                )
            except Exception as exc:  # a private note is a nicety; the tidy-up still goes out
                log.warning("advisor: no ephemeral note in thread %s: %s", iid, exc)
            return Plan(self._strip_buttons(where, message))
        turns = self.engine.choose(iid, question_id, values, by=self.names(where.user))
        after = _asked(turns)
        done: list[tuple[str, dict[str, Any]]] = []
        forget = False
        if after is None or after.id != question_id:
            answered = ", ".join(labels)
            if where.message_ts:
                message_ = blocks.answered_message(pending, answered, where.user)
                done.append(self._update_item(where, where.message_ts, message_))
            thread = self.tables.thread(iid)
            if thread is not None and thread.question and thread.question_ts:
                shown = Question.model_validate(thread.question)
                if shown.id == question_id:
                    forget = True
                    if thread.question_ts != where.message_ts and shown.options:
                        message_ = blocks.answered_message(shown, answered, where.user)
                        done.append(self._update_item(where, thread.question_ts, message_))
        plan = self._plan(where, turns)
        plan.items[:0] = done
        plan.forget_question = forget
        return plan

    def _set_status(self, iid: str, where: Where, memo_id: str, status: MemoStatus) -> None:
        memo = self.store.get_memo(memo_id)
        if memo is None:
            self._ephemeral(where, blocks.notice("I can't find that memo any more."))
            return
        if memo.status == status:
            self._ephemeral(where, blocks.notice(f"This memo is already {status}."))
            return
        by = self.names(where.user)
        memo = set_status(self.store, memo.id, status, by)
        items = []
        if where.message_ts:
            summary = blocks.memo_summary(
                memo.id,
                memo.assessment,
                use_case=memo.use_case,
                status=memo.status,
                decided_by=memo.decided_by,
            )
            items.append(self._update_item(where, where.message_ts, summary))
        comment = f"Memo {status} by {blocks.mention(where.user)}. Updated {blocks.MEMO_FILENAME}:"
        items.append(self._upload_item(where, memo.id, comment))
        self._send_now(iid, items)

    def _plan(self, where: Where, turns: list[Any]) -> Plan:
        """The outbox items for the engine's turns, in order."""
        plan = Plan()
        for turn in turns:
            if isinstance(turn, Question):
                key = question_key(turn)
                item = self._post_item(where, blocks.question_message(turn))
                item[1]["question"] = turn.model_dump(mode="json")
                item[1]["key"] = key
                plan.items.append(item)
                plan.shown = key
            elif isinstance(turn, Reply):
                plan.items.append(self._post_item(where, blocks.reply_message(turn)))
            elif isinstance(turn, Ended):
                plan.items.append(self._post_item(where, blocks.ended_message(turn)))
                plan.shown = CANCELLED
            elif isinstance(turn, MemoReady):
                record = self.store.get_memo(turn.memo_id)
                summary = blocks.memo_summary(
                    turn.memo_id,
                    turn.assessment,
                    use_case=record.use_case if record else "",
                    status=record.status if record else "proposed",
                    decided_by=record.decided_by if record else None,
                )
                plan.items.append(self._post_item(where, summary))
                plan.items.append(self._upload_item(where, turn.memo_id, None))
                plan.shown = memo_key(turn.memo_id)
            else:
                log.warning("advisor: unknown turn %r in thread %s", turn, where.thread_ts)
        return plan

    def _retire(
        self,
        iid: str,
        where: Where,
        before: Question | None,
        after: Question | None,
        said: str,
    ) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """Once a typed reply moved the interview on (``before`` was pending, ``after`` is),
        take the buttons off the question it was pending on (its message is remembered in
        the store, so this works after a restart too). Returns the update to send and
        whether the question is retired."""
        if before is None:
            return [], False
        if after is not None and after.id == before.id:
            return [], False
        thread = self.tables.thread(iid)
        if thread is None or not thread.question or not thread.question_ts:
            return [], False
        question = Question.model_validate(thread.question)
        if question.id != before.id:
            return [], False
        if not question.options:
            return [], True
        message = blocks.answered_message(question, said, where.user, typed=True)
        return [self._update_item(where, thread.question_ts, message)], True

    def _state_key(self, iid: str) -> str | None:
        """What the thread should be showing now: the pending question, the memo, or that
        it was cancelled (None: nothing yet)."""
        return self._key_for(iid, self.engine.pending(iid))

    def _key_for(self, iid: str, pending: Question | None) -> str | None:
        if pending is not None:
            return question_key(pending)
        record = self.store.get_interview(iid)
        if record is None:
            return None
        if record.status == "cancelled":
            return CANCELLED
        return memo_key(record.memo_id) if record.memo_id else None

    def _catch_up(self, iid: str, where: Where) -> Plan:
        """Messages a thread is missing because a process died between an engine step and
        queueing what it said: the pending question, or the memo, or the cancellation."""
        key = self._state_key(iid)
        thread = self.tables.thread(iid)
        if key is None or (thread is not None and thread.shown_key == key):
            return Plan()
        pending = self.engine.pending(iid)
        if pending is not None:
            return self._plan(where, [pending])
        if key == CANCELLED:
            return self._plan(where, [Ended(text=LOST_CANCEL)])
        record = self.store.get_interview(iid)
        memo = self.store.get_memo(record.memo_id) if record and record.memo_id else None
        if memo is None:
            return Plan()
        turn = MemoReady(memo_id=memo.id, markdown=memo.markdown, assessment=memo.assessment)
        return self._plan(where, [turn])

    def _reconcile(self, iid: str, where: Where) -> None:
        """At start-up: queue what this thread should show but was never queued."""
        thread = self.tables.thread(iid)
        if thread is not None and thread.shown_key == self._state_key(iid):
            self._deliver_quietly(iid)
            return
        try:
            self.tables.hold_thread(iid, self.owner, wait=0.0)
        except Busy:
            return  # another process is working on it and will queue what it shows
        try:
            plan = self._catch_up(iid, where)
            self.tables.enqueue(iid, plan.items, shown_key=plan.shown)
        finally:
            self.tables.release_thread(iid, self.owner)
        self._deliver_quietly(iid)

    def _adopt(self) -> None:
        """Queue inbox items a dead process (or this one, before a restart) left unhandled."""
        for item in self.tables.adopt_inbox(self.owner):
            if item.kind == "start":
                with self._lock:
                    self._starting.add(item.interview_id)
            where = _where_of(item)
            iid = item.interview_id
            log.info("advisor: picking up %s #%d for thread %s", item.kind, item.id, iid)
            self._submit(iid, where, iid, None, partial(self._handle, item))

    def _busy_later(self, item: InboxItem, where: Where) -> None:
        """The database stayed locked: the item is kept in the inbox; try again shortly,
        and tell the thread once that its reply is waiting."""
        with self._lock:
            tries = self._busy_tries.get(item.id, 0) + 1
            self._busy_tries[item.id] = tries
        log.warning(
            "advisor: database busy handling %s #%d in thread %s (try %d); retrying",
            item.kind,
            item.id,
            item.interview_id,
            tries,
        )
        if tries == 1 and item.kind != "start":
            self._say(where, blocks.notice(BUSY_KEPT))
        delay = min(self.delivery.cap, self.delivery.base * 2 ** (tries - 1))
        iid = item.interview_id
        self.inflight.add()

        def again() -> None:
            try:
                if not self._stop.is_set():
                    self._submit(iid, where, iid, None, lambda: self._handle(item))
            finally:
                self.inflight.done()

        timer = threading.Timer(delay, again)
        timer.daemon = True
        timer.start()

    # -- the outbox: send in order, retry until Slack takes it ---------------------------

    def _send_now(self, iid: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        self.tables.enqueue(iid, items)
        self._deliver_quietly(iid)

    def _deliver_quietly(self, iid: str) -> None:
        """Send now if possible. The step is done and its messages are kept, so a problem
        here is not the person's: the background loop sends them later."""
        try:
            self._deliver(iid)
        except Exception:
            log.exception("advisor: sending for thread %s failed; the outbox will retry", iid)
            self._wake.set()

    def _deliver(self, iid: str) -> None:
        """Send this thread's queued messages in order until none is left, one has to wait
        for a retry, or another process is sending them."""
        while True:
            item = self.tables.claim_next(iid, self.owner)
            if item is None:
                return
            try:
                self._send(item)
            except Exception as err:
                if not self._failed(item, err):
                    return

    def _deliver_later(self, iid: str) -> None:
        with self._lock:
            if iid in self._sending:
                return
            self._sending.add(iid)

        def job() -> None:
            with self._lock:
                self._sending.discard(iid)
            self._deliver_quietly(iid)

        self.queues.submit(iid, job)

    def _send(self, item: OutboxItem) -> None:
        payload = item.payload
        where = Where(str(payload["channel"]), payload.get("thread_ts"), "")
        if item.kind == "post":
            message = payload["message"]
            if payload.get("question") and not self._still_shown(item):
                # Answered while this copy waited (Slack was down): no live buttons on it.
                message = blocks.settled_message(Question.model_validate(payload["question"]))
            ts = self._already_sent(item, where, text=message["text"])
            if ts is None:
                ts = str(self._post(where, message)["ts"])
                fault("after_post")
            then: list[tuple[str, dict[str, Any]]] = []
            question = None
            if payload.get("question"):
                thread = self.tables.thread(item.interview_id)
                if thread and thread.question and thread.question_ts and thread.question_ts != ts:
                    earlier = Question.model_validate(thread.question)
                    if earlier.options:  # only the newest copy of a question keeps buttons
                        message = blocks.superseded_message(earlier)
                        then.append(self._update_item(where, thread.question_ts, message))
                question = (str(payload["key"]), payload["question"], ts)
            self._delivered(item, then=then, question=question, sent_ts=ts)
        elif item.kind == "update":
            self._update(where, str(payload["ts"]), payload["message"])
            self._delivered(item)
        elif item.kind == "upload":
            self._send_upload(item, where)
        elif item.kind == "memo_text":
            self._send_memo_text(item, where)
        else:
            self.tables.give_up(item.id, self.owner, f"unknown kind {item.kind}")

    def _delivered(
        self,
        item: OutboxItem,
        *,
        then: list[tuple[str, dict[str, Any]]] | None = None,
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

    def _send_upload(self, item: OutboxItem, where: Where) -> None:
        """decision-memo.md into the thread. Slack unreachable: retried like any message.
        Slack refusing the file (or still failing after ``upload_tries``): the memo goes out
        as text in its place (it is stored either way), and the failure is logged."""
        payload = item.payload
        memo = self.store.get_memo(str(payload["memo_id"]))
        if memo is None:
            self.tables.give_up(item.id, self.owner, "memo not found")
            return
        title = blocks.file_title(memo.use_case)
        comment = payload.get("comment")
        if self._already_sent(item, where, text=comment or "", file=blocks.MEMO_FILENAME):
            self._delivered(item)
            return
        try:
            self.client.files_upload_v2(
                channel=where.channel,
                thread_ts=where.thread_ts,
                content=memo.markdown,
                filename=blocks.MEMO_FILENAME,
                title=title,
                initial_comment=comment,
            )
        except Exception as exc:
            # The file host answering with an error (HTTPError: API methods report theirs
            # as SlackApiError) means Slack is up but will not take the file.
            refused = isinstance(exc, SlackRequestError | urllib.error.HTTPError)
            refused = refused or _permanent(exc)
            if not refused and item.attempts < self.delivery.upload_tries:
                raise
            log.error("advisor: memo upload failed for thread %s: %s", item.interview_id, exc)
            text = {"channel": where.channel, "thread_ts": where.thread_ts, "memo_id": memo.id}
            self.tables.rewrite(item.id, self.owner, "memo_text", {**text, "sent": 0})
            return
        self._delivered(item)

    def _send_memo_text(self, item: OutboxItem, where: Where) -> None:
        payload = dict(item.payload)
        memo = self.store.get_memo(str(payload["memo_id"]))
        if memo is None:
            self.tables.give_up(item.id, self.owner, "memo not found")
            return
        messages = [
            blocks.notice(
                f"I couldn't attach {blocks.MEMO_FILENAME}, so here is the memo as text. "
                f"It is saved: `advisor memo export {memo.id}` prints it too."
            ),
            *(Message(text=chunk, blocks=[]) for chunk in blocks.memo_text_chunks(memo.markdown)),
        ]
        for n in range(int(payload.get("sent") or 0), len(messages)):
            self._post(where, messages[n])
            payload["sent"] = n + 1
            self.tables.progress(item.id, self.owner, payload)
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
            found = self.client.conversations_replies(
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
        described = _describe(error)
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
        delay = min(self.delivery.cap, self.delivery.base * 2 ** max(0, item.attempts - 1))
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

    def _drain_forever(self) -> None:
        """Background: send what is due (retries, and work dead processes left), pick up
        their unhandled inbox items, and prune what was sent long ago."""
        sweep_every = max(self.delivery.poll * 6, 1.0)
        next_sweep = time.monotonic() + sweep_every
        next_prune = time.monotonic() + 60.0
        while not self._stop.is_set():
            wait = self.delivery.poll
            try:
                now = time.monotonic()
                if now >= next_sweep:
                    self._adopt()
                    next_sweep = now + sweep_every
                if now >= next_prune:
                    self.tables.prune(older_than=self.delivery.keep_sent)
                    next_prune = now + 600.0
                ready, soonest = self.tables.outbox_due(self.owner)
                for iid in ready:
                    self._deliver_later(iid)
                if soonest is not None:
                    wait = max(0.01, min(wait, soonest - time.time()))
            except Exception:
                log.exception("advisor: outbox check failed")
            if self._wake.wait(wait):
                self._wake.clear()

    # -- lists ---------------------------------------------------------------------------

    def _list(self, where: Where, respond: Respond | None) -> None:
        prefix = interview_id(self.bot.team_id, where.channel, "")
        records = self.store.list_interviews(prefix=prefix, limit=15)
        self._ephemeral(where, blocks.list_message([self._row(r) for r in records]), respond)

    def _publish_home(self, user: str) -> None:
        self.client.views_publish(user_id=user, view=blocks.home_view(self._user_rows(user)))

    def _user_rows(self, user: str) -> list[Row]:
        """Interviews this person started, or answered in, newest first."""
        records = self.store.list_interviews(
            prefix=f"{self.bot.team_id}:", involving=(user, self.names(user)), limit=25
        )
        return [self._row(r) for r in records]

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

    @staticmethod
    def _post_item(where: Where, message: Message) -> tuple[str, dict[str, Any]]:
        return "post", {"channel": where.channel, "thread_ts": where.thread_ts, "message": message}

    @staticmethod
    def _update_item(where: Where, ts: str, message: Message) -> tuple[str, dict[str, Any]]:
        return "update", {"channel": where.channel, "ts": ts, "message": message}

    @staticmethod
    def _upload_item(where: Where, memo_id: str, comment: str | None) -> tuple[str, dict[str, Any]]:
        payload = {"channel": where.channel, "thread_ts": where.thread_ts, "memo_id": memo_id}
        return "upload", {**payload, "comment": comment}

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

    def _strip_buttons(
        self, where: Where, message: dict[str, Any]
    ) -> list[tuple[str, dict[str, Any]]]:
        kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
        if not where.message_ts or len(kept) == len(message.get("blocks") or []):
            return []
        kept.append(blocks.context("_Already answered._"))
        text = message.get("text") or "Already answered"
        return [self._update_item(where, where.message_ts, Message(text=text, blocks=kept))]

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

    def _say(self, where: Where, message: Message) -> None:
        """Straight to Slack, not through the outbox (for when the database is the problem)."""
        try:
            if where.thread_ts:
                self._post(where, message)
            elif where.channel and where.user:
                self._ephemeral(where, message)
        except Exception:
            log.exception("advisor: could not tell %s", where.channel or "-")

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


def _ts(ts: str) -> float:
    with contextlib.suppress(ValueError):
        return float(ts)
    return 0.0


def _asked(turns: list[Any]) -> Question | None:
    """The question the engine now waits on, from the turns it returned (it ends with one
    whenever a question is pending)."""
    return turns[-1] if turns and isinstance(turns[-1], Question) else None


def _where_of(item: InboxItem) -> Where:
    data = item.payload
    return Where(
        str(data.get("channel") or ""),
        data.get("thread_ts"),
        str(data.get("user") or ""),
        data.get("message_ts"),
    )
