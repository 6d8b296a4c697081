"""Socket Mode for ``advisor serve``: Bolt's handler on slack_sdk's built-in client, with
the client's gaps closed and every envelope Bolt cannot handle acked and dropped.

The built-in client (slack_sdk 3.x, ``slack_sdk/socket_mode/builtin``) is slow to notice a
connection that ended: it reconnects only at its next health check (``ping_interval``,
10 s in Bolt) after a close frame, takes a read of ``b""`` for "no data yet" when the TCP
connection drops (spinning a core for about a minute), and on a refresh waits for the old
connection's 3 s read before it reads the new one. ``PromptSocketModeClient`` corrects
these with a few overrides of its internals; if a future slack_sdk lacks them, the handler
falls back to the plain client and says so in the log.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import socket
import weakref
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.connection import Connection, ConnectionState
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack.config import SetupError

log = logging.getLogger("advisor.socket_mode")

BOLT_PING_INTERVAL = 10.0  # seconds between health checks, Bolt's default

Problem = Callable[[Any], str | None]  # why Bolt would raise on a payload (None: it is fine)


class _EndOfStream:
    """A connection's socket whose read of ``b""`` (the peer ended the stream) is an error,
    unless the app let the connection go itself."""

    def __init__(self, sock: Any, let_go: Callable[[], bool]) -> None:
        self.sock = sock
        self.let_go = let_go

    def recv(self, size: int) -> bytes:
        data: bytes = self.sock.recv(size)
        if not data and size and not self.let_go():
            raise ConnectionResetError(errno.ECONNRESET, "Slack ended the connection")
        return data

    def __getattr__(self, name: str) -> Any:  # send, close, ...: the socket's own
        return getattr(self.sock, name)


class PromptSocketModeClient(SocketModeClient):
    """slack_sdk's built-in client, moving to a new connection as soon as one ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._let_go: weakref.WeakSet[Connection] = weakref.WeakSet()  # before threads start
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        # slack_sdk opens the new connection, then closes the old one, waiting up to 3 s for
        # the old one's read, which holds up both readers and the message thread. Keep that
        # order (the old connection is read until the new one is up) but wake the old reader
        # the moment it is closed.
        old, state = self.current_session, self.current_session_state
        if old is not None:
            close = old.close

            def close_now() -> None:
                self._let_go_of(old, state)
                close()

            old.close = close_now  # type: ignore[method-assign]
        super().connect()
        session = self.current_session
        # slack_sdk takes a read of b"" for "no data yet"; python-slack-sdk#1246 fixed it,
        # #1269 reverted: a dropped connection spins a core and is noticed ~60 s later.
        if session is not None and session.sock is not None:
            let_go = functools.partial(self._let_go.__contains__, session)
            session.sock = _EndOfStream(session.sock, let_go)  # type: ignore[assignment]

    def disconnect(self) -> None:
        # Same 3 s wait on the read when the app stops (SIGTERM).
        if self.current_session is not None:
            self._let_go_of(self.current_session, self.current_session_state)
        super().disconnect()

    def _let_go_of(self, session: Connection, state: ConnectionState) -> None:
        """End ``session`` now: its reader wakes at once and stops."""
        self._let_go.add(session)
        state.terminated = True
        sock = session.sock.sock if isinstance(session.sock, _EndOfStream) else session.sock
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # the base method: TLS state stays as it is
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _run_current_session(self) -> None:
        session = self.current_session
        if session is None or session in self._let_go or not session.is_active():
            return  # nothing to read (a connection let go is being replaced)
        super()._run_current_session()
        # slack_sdk reconnects after a close frame or a reset only at its next health
        # check, ping_interval later: deaf until then. Reconnect now; the check stays.
        ended_by_itself = session is self.current_session and session not in self._let_go
        if ended_by_itself and self.auto_reconnect_enabled and not self.closed:
            try:
                self.connect_to_new_endpoint()
            except Exception as err:  # the health check tries again
                log.warning("advisor: could not reconnect to Slack yet: %s", err)

    def run_message_listeners(self, message: dict[str, Any], raw_message: str) -> None:
        envelope_id, payload = message.get("envelope_id"), message.get("payload", {})
        # slack_sdk raises on a payload that is not an object, before any listener: never
        # acked, so Slack would deliver it again and again.
        if isinstance(envelope_id, str) and not isinstance(payload, dict):
            log.warning(
                "advisor: dropped a Socket Mode %s envelope: the payload is not a JSON object",
                message.get("type"),
            )
            self.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))
            return
        super().run_message_listeners(message, raw_message)


# What PromptSocketModeClient relies on in slack_sdk's internals.
RELIES_ON: dict[type, tuple[str, ...]] = {
    SocketModeClient: (
        "current_session",
        "current_session_state",
        "auto_reconnect_enabled",
        "closed",
        "connect",
        "disconnect",
        "_run_current_session",
        "connect_to_new_endpoint",
        "run_message_listeners",
    ),
    Connection: ("sock", "is_active"),
    ConnectionState: ("terminated",),
}


def missing_internals() -> list[str]:
    """What PromptSocketModeClient needs and this slack_sdk lacks (declared or defined)."""
    return [
        f"{cls.__name__}.{name}"
        for cls, names in RELIES_ON.items()
        for name in names
        if not hasattr(cls, name)
        and not any(name in vars(c).get("__annotations__", {}) for c in cls.__mro__)
    ]


def client_class() -> type[SocketModeClient]:
    """PromptSocketModeClient, or the built-in client if slack_sdk changed under it."""
    missing = missing_internals()
    if not missing:
        return PromptSocketModeClient
    log.warning(
        "advisor: this slack_sdk lacks %s; using its Socket Mode client as it is (it may "
        "take up to a minute to notice a lost connection)",
        ", ".join(missing),
    )
    return SocketModeClient


class GuardedSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler on PromptSocketModeClient, with a shape check: an
    envelope Bolt cannot handle (``problem`` says why) is acked, so Slack does not deliver
    it again, and dropped with one line in the log."""

    def __init__(self, app: App, app_token: str, problem: Problem) -> None:
        # What Bolt's __init__ does (it builds the built-in client itself), with our client.
        self.app = app
        self.app_token = app_token
        self.problem = problem
        self.client = client_class()(
            app_token=app_token,
            logger=app.logger,
            web_client=app.client,
            proxy=app.client.proxy,
            ping_interval=BOLT_PING_INTERVAL,
        )
        self.client.socket_mode_request_listeners.append(self.handle)

    def handle(self, client: Any, req: SocketModeRequest) -> None:
        why = self.problem(req.payload)
        if why:
            log.warning("advisor: dropped a Socket Mode %s envelope: %s", req.type, why)
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        super().handle(client, req)


def connect(app: App, app_token: str, problem: Problem) -> GuardedSocketModeHandler:
    """A connected Socket Mode handler with the HTTP edge's shape check (``problem``); a
    rejected app token is a ``SetupError``."""
    handler = GuardedSocketModeHandler(app, app_token, problem)
    try:
        handler.connect()
    except SlackApiError as err:
        code = err.response.get("error", "unknown_error")
        raise SetupError(
            f"Slack rejected SLACK_APP_TOKEN ({code}). Generate an app-level token with the "
            "connections:write scope under Basic Information > App-Level Tokens, and check "
            "that Socket Mode is enabled."
        ) from None
    except OSError as err:
        raise SetupError(f"Could not open the Socket Mode connection: {err}.") from None
    return handler
