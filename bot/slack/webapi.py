"""The Slack Web API: the client (retries for rate limits, server errors and dropped
connections), who the bot is, people's display names, and the calls the app makes that do
not go through the outbox (posting, updating, private notes, apologies).

Retries here are short (seconds); a longer outage is the outbox's to wait out
(bot/slack/delivery.py), so no worker is held while Slack is down.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import urllib.error
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

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
from slack_sdk.web import SlackResponse

from bot.slack import blocks
from bot.slack.blocks import Message
from bot.slack.config import SetupError
from bot.slack.faults import fault
from bot.slack.payloads import Where

log = logging.getLogger("advisor.slack")

# Never "saved": this is said when something failed, and what failed may be the database.
APOLOGY = (
    "Sorry, something went wrong on my side while handling that. Please try again in a moment."
)
NOT_IN_CHANNEL = (
    "I can't post in this channel yet. Invite me with `/invite @advisor` and run the command again."
)
POST_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


# --- the client ---------------------------------------------------------------------------


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
    retries rate limits, server errors and connection errors. Its log lines never show
    ``SLACK_API_URL``'s contents (a token pasted there would be printed)."""
    url = (base_url.rstrip("/") + "/") if base_url else WebClient.BASE_URL
    logger = logging.getLogger("advisor.slack.web")
    if base_url:
        HideApiUrl.urls.add(url)
        if not any(isinstance(f, HideApiUrl) for f in logger.filters):
            logger.addFilter(HideApiUrl())
    return AdvisorClient(
        token=token,
        base_url=url,
        timeout=30,
        retry_handlers=retry_handlers(wait, jitter, max_wait),
        logger=logger,
    )


def hide_api_url(text: str, base_url: str) -> str:
    """``text`` with a custom ``SLACK_API_URL`` (and its host) replaced by that name."""
    if not base_url or base_url == WebClient.BASE_URL:
        return text
    stem = base_url.rstrip("/")
    host = urllib.parse.urlsplit(stem).netloc
    text = text.replace(stem, "SLACK_API_URL")
    return text.replace(host, "SLACK_API_URL") if host else text


class HideApiUrl(logging.Filter):
    """slack_sdk's retry and error lines name the request URL: with a custom SLACK_API_URL
    that name is logged instead of its contents."""

    urls: ClassVar[set[str]] = set()  # every custom base URL a client was made for, in this process

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = message
        for url in HideApiUrl.urls:
            hidden = hide_api_url(hidden, url)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    bot_id: str
    team_id: str
    team: str
    url: str = ""  # the workspace's address (auth.test ``url``), for links to canvases


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
        reason = hide_api_url(str(getattr(err, "reason", err)), client.base_url)
        # Never a custom URL's contents: a token pasted into SLACK_API_URL would be printed.
        custom = client.base_url != WebClient.BASE_URL
        where = "SLACK_API_URL" if custom else client.base_url
        raise SetupError(
            f"Could not reach the Slack Web API at {where} ({reason}). "
            "Check the network, or SLACK_API_URL if you set it."
        ) from None
    return BotIdentity(
        user_id=str(result.get("user_id", "")),
        bot_id=str(result.get("bot_id", "")),
        team_id=str(result.get("team_id", "")),
        team=str(result.get("team", "")),
        url=str(result.get("url", "")),
    )


# --- people's names ------------------------------------------------------------------


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


# Slack refusing what a message says (not that it was sent): the same words as plain text
# may still get through.
REFUSED_CONTENT = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "too_many_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
    }
)

# --- calls made directly (not through the outbox) -------------------------------------------


class WebApi:
    """The Web API calls the app makes itself: messages the outbox sends, private notes,
    and what has to reach the person when the database is the problem."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, where: Where, message: Message, fallback: Message | None = None) -> Any:
        """Post ``message``; if Slack refuses its blocks for good (REFUSED_CONTENT), the
        same words as plain text (``fallback``, or the message's own text). A refusal of
        that too raises."""
        try:
            return self._post(where, message)
        except SlackApiError as err:
            code = str(err.response.get("error") or "")
            if code not in REFUSED_CONTENT or not (message["blocks"] or "metadata" in message):
                raise
            log.warning("advisor: Slack refused a message (%s); sending it as plain text", code)
            return self._post(where, fallback or blocks.plain_fallback(message))

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

    def post_markdown(self, where: Where, markdown: str) -> Any:
        """Standard Markdown that Slack renders (``markdown_text``: at most 12,000
        characters, and never with ``text`` or ``blocks``)."""
        args: dict[str, Any] = {"channel": where.channel, "markdown_text": markdown}
        if where.thread_ts:
            args["thread_ts"] = where.thread_ts
        return self.client.chat_postMessage(**args)

    def update(self, where: Where, ts: str, message: Message) -> None:
        args: dict[str, Any] = {
            "channel": where.channel,
            "ts": ts,
            "text": message["text"],
            "blocks": message["blocks"],
        }
        if "metadata" in message:
            args["metadata"] = message["metadata"]
        self.client.chat_update(**args)

    def ephemeral(self, where: Where, message: Message, respond: Respond | None = None) -> None:
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
            if respond is None or err.response.get("error") not in POST_ERRORS:
                raise
            respond(text=message["text"], blocks=message["blocks"], response_type="ephemeral")

    def set_status(self, where: Where, status: str) -> bool:
        """The thread's status line (assistant.threads.setStatus; ``""`` clears it). A
        nicety: False, and one debug line, if Slack will not show it here."""
        if not where.channel or not where.thread_ts:
            return False
        try:
            self.client.assistant_threads_setStatus(
                channel_id=where.channel, thread_ts=where.thread_ts, status=status
            )
        except Exception as exc:
            log.debug("advisor: no thread status in %s: %s", where.channel, exc)
            return False
        return True

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except Exception as exc:  # a link is a nicety
            log.warning("advisor: no permalink for %s/%s: %s", channel, ts, exc)
            return None

    def say(self, where: Where, message: Message) -> None:
        """Straight to Slack, not through the outbox (for when the database is the problem)."""
        self._privately(where, message, None)

    def apologise(self, where: Where, respond: Respond | None) -> None:
        self._privately(where, blocks.notice(APOLOGY), respond)

    def _privately(self, where: Where, message: Message, respond: Respond | None) -> None:
        """To the person who triggered it, ephemeral (in the thread when there is one): an
        apology or "busy" is theirs, not the channel's. Without a person, in the thread."""
        try:
            if where.channel and where.user:
                try:
                    self.ephemeral(where, message, respond)
                    return
                except SlackApiError:
                    if not where.thread_ts:
                        raise
            if where.thread_ts:
                self.post(where, message)
            elif respond is not None:
                respond(text=message["text"], response_type="ephemeral")
        except Exception:
            log.exception("advisor: could not tell %s", where.channel or "-")
