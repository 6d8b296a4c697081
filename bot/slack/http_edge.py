"""HTTP mode: waitress in front, then ``SlackEdge``, then Bolt's WSGI adapter.

``SlackEdge`` checks each request before Bolt sees it: the signature first (401, the body is
never parsed), then whether Bolt can use the body (400). Bolt parses a body before it checks
the signature, and raises on bodies of a shape Slack never sends (a JSON list, an ``event``
that is a string, ``actions`` that is not a list, ...), which waitress would answer with a
500, and a 5xx makes Slack retry the same body again and again.

Only Bolt's public API is used: ``BoltRequest`` reads the body exactly as Bolt will, and
whatever it cannot read is refused. What Bolt's middleware and listener matchers index later
without checking types is mirrored in ``body_problem``; tests/test_http_edge.py dispatches
each mirrored shape through a bare Bolt app, so a Bolt upgrade that changes any of it fails
there, loudly, rather than here, silently.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from waitress.server import create_server

if TYPE_CHECKING:
    from bot.slack.app import SlackApp

log = logging.getLogger("advisor.serve")

EVENTS_PATH = "/slack/events"
HTTP_THREADS = 16  # Slack sends bursts; a waiting ack is worse than an idle thread

# Slack's payloads are small (a message is at most 40,000 characters; a click carries its
# message's blocks): anything bigger is refused before it is read (413).
MAX_BODY = 1024 * 1024

# waitress, set for Slack's traffic: short requests, each answered within 3 seconds. Idle
# or trickling connections are dropped after CHANNEL_TIMEOUT seconds (waitress: 120), and
# waitress holds many open connections cheaply (it only gives a connection a thread once
# its request is complete), so a few hundred slow ones leave room for Slack's. Behind a
# reverse proxy (README, "Running behind a reverse proxy") the proxy shields it further.
WAITRESS = {
    "max_request_body_size": MAX_BODY,  # chunked bodies too: waitress answers 413 itself
    "max_request_header_size": 64 * 1024,  # waitress: 256 KB
    "connection_limit": 1000,  # waitress: 100 (110 slow connections shut out Slack)
    "channel_timeout": 10,
    "cleanup_interval": 2,  # how often idle connections are looked for (waitress: 30)
}

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# --- what Bolt can use ----------------------------------------------------------------


def read_like_bolt(text: str, content_type: str | None) -> tuple[Any, str | None]:
    """The body as Bolt reads it, and why Bolt could not read it (None: it can)."""
    fields = misread_form(text, content_type)
    if fields is not None:
        return fields, None
    headers: dict[str, str | Sequence[str]] = {"content-type": content_type} if content_type else {}
    try:
        return BoltRequest(body=text, headers=headers).body, None
    except (ValueError, RecursionError):  # bad JSON, ints too long to convert, deep nesting
        return None, "the body is not JSON or a form Bolt can read"
    except Exception as err:  # its ids or context are of a shape Bolt cannot index
        return None, f"Bolt cannot read it ({type(err).__name__})"


# Slack sends its ids as a string or an object holding "id", nested two or three deep.
ID_KEYS = ("enterprise", "team", "user", "channel")
NESTED = ("event", "message", "previous_message", "item", "assistant_thread")  # searched for ids
MAX_NESTING = 6


def body_problem(body: Any) -> str | None:
    """Why this parsed body cannot be handled (None: it can), for HTTP requests and Socket
    Mode envelopes alike: a shape Slack never sends that Bolt would half-read, one Bolt
    cannot read at all, or one its middleware and matchers would fail on."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    # Not from Slack, and Bolt would read it wrongly rather than fail (a list as no user).
    problem = _ids_problem(body)
    if problem:
        return problem
    if not isinstance(body.get("response_url", ""), str):
        return "response_url is not a string"
    if not isinstance(body.get("callback_id", ""), str):
        return "callback_id is not a string"
    try:
        BoltRequest(body=body, mode="socket_mode")  # Bolt's own reading of ids and context
    except Exception as err:
        return f"Bolt cannot read it ({type(err).__name__})"
    # What Bolt's middleware and matchers index without checking (tests/test_http_edge.py).
    if "event" in body and not isinstance(body["event"], dict):
        return "event is not an object"
    return _interaction_problem(body)


def _ids_problem(payload: dict[str, Any], depth: int = 0) -> str | None:
    """Ids of another shape are not from Slack (Bolt would read a list as no user at all)."""
    if depth > MAX_NESTING:
        return "objects nested too deeply"
    for key in ID_KEYS:
        if not isinstance(payload.get(key), str | dict | None):
            return f"{key} is neither a string nor an object"
    auths = payload.get("authorizations")
    if auths is not None:
        if not isinstance(auths, list) or not all(isinstance(a, dict) for a in auths):
            return "authorizations is not a list of objects"
        if auths and (problem := _ids_problem(auths[0], depth + 1)):
            return problem
    for key in NESTED:
        value = payload.get(key)
        if isinstance(value, dict) and (problem := _ids_problem(value, depth + 1)):
            return problem
    return None


def _interaction_problem(body: dict[str, Any]) -> str | None:
    """Action, dialog and view payloads: what Bolt's matchers index for each type."""
    kind = body.get("type")
    if "actions" in body:
        actions = body["actions"]
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            return "actions is not a list of objects"
        if kind in ("block_actions", "interactive_message") and not actions:
            return "actions is empty"
        if kind == "block_actions" and not isinstance(actions[0].get("action_id"), str):
            return "the action has no action_id"
    elif kind == "interactive_message" and "callback_id" in body:
        return "actions is missing"
    view = body.get("view", {})
    if not isinstance(view, dict):
        return "view is not an object"
    if kind == "view_submission" and "callback_id" in view and _step_view_problem(body):
        return "the view is incomplete"
    if kind == "workflow_step_edit" and "callback_id" in body and "workflow_step" not in body:
        return "workflow_step is missing"
    return None


def _step_view_problem(body: dict[str, Any]) -> bool:
    view = body["view"]
    return "type" not in view or (view["type"] == "workflow_step" and "workflow_step" not in body)


def misread_form(text: str, content_type: str | None) -> dict[str, str] | None:
    """The fields of a form Bolt misreads, else None. Bolt takes any form body containing
    the word "payload" for an interaction and, finding no payload field, reads it as empty:
    "/advisor check the payload schema" would go unanswered."""
    if content_type == "application/json" or text.startswith("{") or "payload" not in text:
        return None
    fields = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return None if "payload" in fields else fields


class BoltHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, with forms that merely mention "payload" read right."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        req = BoltRequest(
            body=request.get_body(), query=request.query_string, headers=request.get_headers()
        )
        fields = misread_form(req.raw_body, req.content_type)
        if fields is not None:
            # The fields as Bolt should have read them, handed over already parsed. Bolt
            # checks no signature on a parsed body: SlackEdge has checked these very bytes.
            req = BoltRequest(body=fields, query=req.query, headers=req.headers, mode="socket_mode")
        return self.app.dispatch(req)


# --- the edge -----------------------------------------------------------------------------


class SlackEdge:
    """WSGI app in front of Bolt's adapter: the signature first (401, body never parsed),
    then the body's shape (400), then Bolt, which checks the signature again. A signed body
    Bolt still fails on is a 400 too: it would fail the same way each time Slack retried
    it, and a 5xx makes Slack retry."""

    def __init__(self, bolt: WsgiApp, signing_secret: str) -> None:
        self.bolt = bolt
        self.verifier = SignatureVerifier(signing_secret)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != EVENTS_PATH:
            return self.bolt(environ, start_response)  # Bolt's own 404
        if _too_big(environ):
            log.info("advisor: refused a request body over %d bytes unread", MAX_BODY)
            return _answer(start_response, "413 Request Entity Too Large", "body too large")
        raw = _read_body(environ)
        if raw is not None and _is_ssl_check(raw):
            # Slack's certificate check comes unsigned; Bolt answers it 200 before verifying.
            return _answer(start_response, "200 OK", "")
        if raw is None or not self._signed(raw, environ):
            log.info("advisor: refused a request without a valid Slack signature")
            return _answer(start_response, "401 Unauthorized", "invalid request")
        text = raw.decode("utf-8")  # the signature check decoded it already
        content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip() or None
        body, unreadable = read_like_bolt(text, content_type)
        problem = unreadable or body_problem(body)
        if problem:
            log.warning("advisor: refused a signed request Slack would not send: %s", problem)
            return _answer(start_response, "400 Bad Request", "unusable request")
        environ["wsgi.input"] = io.BytesIO(raw)  # read once above: Bolt reads it again
        return self._bolt(environ, start_response)

    def _signed(self, raw: bytes, environ: dict[str, Any]) -> bool:
        stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        try:
            return self.verifier.is_valid(raw, stamp, signature)
        except ValueError:  # a timestamp that is not a number, a body that is not UTF-8
            return False

    def _bolt(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if status.startswith("500"):  # Bolt caught an exception of its own or a listener's
                log.warning("advisor: Bolt could not handle a signed request; answered 400")
                status = "400 Bad Request"
            return start_response(status, headers, exc_info)

        try:
            return self.bolt(environ, start)
        except Exception as err:  # last resort: one line in the log, never a traceback out
            log.warning(
                "advisor: could not handle a signed request (%s); answered 400", type(err).__name__
            )
            return _answer(start_response, "400 Bad Request", "unusable request")


def _answer(start_response: StartResponse, status: str, error: str) -> list[bytes]:
    body = json.dumps({"error": error}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(status, headers, sys.exc_info() if sys.exc_info()[0] else None)
    return [body]


def _is_ssl_check(raw: bytes) -> bool:
    """Slack's ``ssl_check=1&token=…`` probe of an HTTPS request URL."""
    try:
        form = urllib.parse.parse_qs(raw.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return form.get("ssl_check") == ["1"] and set(form) <= {"ssl_check", "token"}


def _too_big(environ: dict[str, Any]) -> bool:
    """Does the request say its body is over ``MAX_BODY``? Asked before reading a byte, so
    a 300 MB body costs nothing (waitress refuses the ones it sees first; another WSGI
    server may not)."""
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY
    except ValueError:
        return False  # a bad Content-Length is a 401 below, never read


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The body, read the way Bolt's WSGI adapter reads it, never more than ``MAX_BODY``
    bytes (None: a bad Content-Length)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    stream = environ.get("wsgi.input")
    if stream is None or length <= 0:
        return b""
    return bytes(stream.read(min(length, MAX_BODY)))


def http_server(
    slack: SlackApp,
    host: str,
    port: int,
    threads: int = HTTP_THREADS,
    *,
    sock: socket.socket | None = None,
    **adjust: Any,
) -> Any:
    """A waitress server for the app at /slack/events (``.run()`` serves, ``.close()`` stops;
    ``.effective_port`` is the port it bound). ``sock``: a socket already listening (one
    that ``advisor serve --workers`` shares between its workers), used instead of binding
    ``host:port``. ``adjust``: more waitress settings, over ``WAITRESS``."""
    edge = SlackEdge(BoltHandler(slack.app, path=EVENTS_PATH), slack.signing_secret)
    settings: dict[str, Any] = {**WAITRESS, **adjust}
    if sock is not None:
        settings["sockets"] = [sock]
    else:
        settings.update(host=host, port=port)
    return create_server(edge, threads=threads, ident="advisor", **settings)
