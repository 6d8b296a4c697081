"""``advisor serve``: the Slack app, over Socket Mode or over HTTP behind waitress.

Socket Mode when ``SLACK_APP_TOKEN`` is set (no public URL needed), otherwise HTTP on
``PORT`` (default 3000) at ``/slack/events``, served by waitress, a production threaded
WSGI server, through Bolt's WSGI adapter (Socket Mode's client and handler are in
``bot/socket_mode.py``). Every configuration problem is one sentence on stderr and exit
status 1, never a traceback.

In front of Bolt, ``SlackEdge`` checks the signature and then the shape of each request:
Bolt parses a body before it checks the signature, and raises on bodies of a shape Slack
never sends (a JSON list, an ``event`` that is a string, ...), which waitress would answer
with a 500. Unsigned or stale requests get a 401 unparsed, signed unusable ones a 400.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

import click
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import (
    build_context,
    build_normalized_headers,
    extract_content_type,
    parse_body,
)
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from waitress.server import create_server

from bot.slack_app import Delivery, SetupError, SlackAdvisor, make_client, whoami
from bot.socket_mode import GuardedSocketModeHandler

log = logging.getLogger("advisor.serve")

EVENTS_PATH = "/slack/events"
DEFAULT_PORT = 3000
HTTP_THREADS = 16  # Slack sends bursts; a waiting ack is worse than an idle thread


@dataclass(frozen=True)
class Settings:
    bot_token: str
    signing_secret: str
    app_token: str | None
    api_url: str | None
    port: int
    host: str

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


def _prefix(value: str) -> str:
    """What a token looks like, without showing it."""
    return f"a {value.split('-', 1)[0]}- token" if "-" in value else "a value with no prefix"


def settings_from_env(
    env: Mapping[str, str], *, port: int | None = None, host: str = "0.0.0.0"
) -> Settings:
    """Read and check the Slack settings; ``SetupError`` says what is wrong and where the
    right value is found."""
    bot = (env.get("SLACK_BOT_TOKEN") or "").strip()
    if not bot:
        raise SetupError(
            "SLACK_BOT_TOKEN is not set. Copy the Bot User OAuth Token (xoxb-...) from your "
            "Slack app's OAuth & Permissions page."
        )
    if not bot.startswith("xoxb-"):
        where = (
            " (that is the app-level token: it goes in SLACK_APP_TOKEN)"
            if bot.startswith("xapp-")
            else ""
        )
        raise SetupError(
            f"SLACK_BOT_TOKEN should be a bot token starting with xoxb-, not {_prefix(bot)}{where}."
        )
    app_token = (env.get("SLACK_APP_TOKEN") or "").strip() or None
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SetupError(
            f"SLACK_APP_TOKEN should be an app-level token starting with xapp-, not "
            f"{_prefix(app_token)}. Create one under Basic Information > App-Level Tokens "
            "with the connections:write scope, or unset it to serve over HTTP."
        )
    secret = (env.get("SLACK_SIGNING_SECRET") or "").strip()
    if not secret and app_token is None:
        raise SetupError(
            "SLACK_SIGNING_SECRET is not set. Copy the Signing Secret from your Slack app's "
            "Basic Information page (or set SLACK_APP_TOKEN to use Socket Mode instead)."
        )
    if secret and (secret.startswith(("xox", "xapp-")) or any(c.isspace() for c in secret)):
        raise SetupError(
            "SLACK_SIGNING_SECRET does not look like a signing secret (a token was pasted "
            "there?). It is the hex string under Basic Information > App Credentials."
        )
    api_url = (env.get("SLACK_API_URL") or "").strip() or None
    if api_url is not None and not api_url.startswith(("http://", "https://")):
        # Never echo the value: a token pasted into the wrong variable would be printed.
        raise SetupError(
            "SLACK_API_URL must be an http(s) URL (starting with http:// or https://); "
            "unset it to use slack.com."
        )
    if port is None:
        raw = (env.get("PORT") or "").strip() or str(DEFAULT_PORT)
        try:
            port = int(raw)
        except ValueError:
            raise SetupError("PORT must be a number, such as 3000.") from None
    if not 0 <= port <= 65_535:
        raise SetupError(f"PORT must be between 0 and 65535, not {port}.")
    return Settings(bot, secret, app_token, api_url, port, host)


def build(
    settings: Settings,
    engine: Any = None,
    *,
    wait: float = 0.5,
    jitter: float = 1.0,
    max_wait: float = 10.0,
    delivery: Delivery | None = None,
) -> SlackAdvisor:
    """The app for ``settings``: checks the bot token with auth.test, opens the engine,
    and starts it, which first picks up whatever an earlier run left undone (replies kept
    but not handled, questions never posted, messages never sent)."""
    client = make_client(
        settings.bot_token, settings.api_url, wait=wait, jitter=jitter, max_wait=max_wait
    )
    identity = whoami(client)
    if engine is None:
        from graph.interview import Interviews  # the engine loads LangGraph: only when serving

        engine = Interviews(llm=_llm())
    advisor = SlackAdvisor(
        engine,
        client,
        signing_secret=settings.signing_secret,
        identity=identity,
        delivery=delivery,
    )
    advisor.start()
    return advisor


def _llm() -> Any:
    if not os.environ.get("ANTHROPIC_API_KEY", "").strip():
        return None
    from graph.claude import llm_from_env

    return llm_from_env()


# --- what Bolt can parse --------------------------------------------------------------
#
# Mirrors what slack_bolt 1.x indexes without checking types, on every request, before any
# listener runs (request/internals.py build_context, payload_utils.py, the built-in
# middleware and listener matchers). Slack always sends these shapes; anything else is not
# from Slack, or not something this app can act on.

ID_KEYS = ("enterprise", "team", "user", "channel")  # a string, or an object holding "id"
NESTED = ("event", "message", "previous_message", "item", "assistant_thread")  # searched for ids
MAX_NESTING = 6  # Bolt recurses into these without limit; Slack nests two or three deep


def _ids_problem(payload: dict[str, Any], depth: int = 0) -> str | None:
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
    if not isinstance(body.get("callback_id", ""), str):
        return "callback_id is not a string"
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


def body_problem(body: Any) -> str | None:
    """Why Bolt would raise on this parsed body (None: it can handle it)."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if "event" in body and not isinstance(body["event"], dict):
        return "event is not an object"
    if not isinstance(body.get("response_url", ""), str):
        return "response_url is not a string"
    urls = body.get("response_urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, dict) for u in urls):
        return "response_urls is not a list of objects"
    return _ids_problem(body) or _interaction_problem(body)


def misread_form(text: str, content_type: str | None) -> dict[str, str] | None:
    """The fields of a form Bolt misreads, else None. Bolt takes any form body containing
    the word "payload" for an interaction and, finding no payload field, reads it as empty:
    "/advisor check the payload schema" would go unanswered."""
    if content_type == "application/json" or text.startswith("{") or "payload" not in text:
        return None
    fields = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return None if "payload" in fields else fields


def parse_like_bolt(text: str, content_type: str | None) -> Any:
    """The body as Bolt will see it, or None where Bolt's parser would raise."""
    try:
        return misread_form(text, content_type) or parse_body(text, content_type)
    except (ValueError, RecursionError):  # bad JSON, ints too long to convert, deep nesting
        return None


class BoltHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, with forms that merely mention "payload" read right."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        req = BoltRequest(
            body=request.get_body(), query=request.query_string, headers=request.get_headers()
        )
        fields = misread_form(req.raw_body, req.content_type)
        if fields is not None:  # what BoltRequest would have built from the right fields
            req.body = fields
            req.context = build_context(BoltContext({}), fields)
        return self.app.dispatch(req)


# --- the HTTP edge ----------------------------------------------------------------------

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


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
        raw = _read_body(environ)
        if raw is not None and _is_ssl_check(raw):
            # Slack's certificate check comes unsigned; Bolt answers it 200 before verifying.
            return _answer(start_response, "200 OK", "")
        headers = build_normalized_headers(WsgiHttpRequest(environ).get_headers())
        if raw is None or not self._signed(raw, headers):
            log.info("advisor: refused a request without a valid Slack signature")
            return _answer(start_response, "401 Unauthorized", "invalid request")
        text = raw.decode("utf-8")  # the signature check decoded it already
        problem = body_problem(parse_like_bolt(text, extract_content_type(headers)))
        if problem:
            log.warning("advisor: refused a signed request Slack would not send: %s", problem)
            return _answer(start_response, "400 Bad Request", "unusable request")
        environ["wsgi.input"] = io.BytesIO(raw)  # read once above: Bolt reads it again
        return self._bolt(environ, start_response)

    def _signed(self, raw: bytes, headers: Mapping[str, Any]) -> bool:
        stamp = headers.get("x-slack-request-timestamp", [None])[0]
        signature = headers.get("x-slack-signature", [None])[0]
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


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The body, read the way Bolt's WSGI adapter reads it (None: a bad Content-Length)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    stream = environ.get("wsgi.input")
    return stream.read(length) if stream is not None and length > 0 else b""


def http_server(
    advisor: SlackAdvisor, host: str, port: int, threads: int = HTTP_THREADS, **adjust: Any
) -> Any:
    """A waitress server for the app at /slack/events (``.run()`` serves, ``.close()`` stops;
    ``.effective_port`` is the port it bound). ``adjust``: more waitress settings."""
    bolt = BoltHandler(advisor.app, path=EVENTS_PATH)
    edge = SlackEdge(bolt, advisor.signing_secret)
    return create_server(edge, host=host, port=port, threads=threads, ident="advisor", **adjust)


# --- Socket Mode ------------------------------------------------------------------------


def socket_mode(advisor: SlackAdvisor, app_token: str) -> GuardedSocketModeHandler:
    """A connected Socket Mode handler (bot/socket_mode.py), with the HTTP edge's shape
    check; a rejected app token is a ``SetupError``."""
    handler = GuardedSocketModeHandler(advisor.app, app_token, body_problem)
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


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@click.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP mode: address to bind.")
@click.option("--port", type=int, default=None, help="HTTP mode: port (default: $PORT, else 3000).")
def serve(host: str, port: int | None) -> None:
    """Run the Slack app: Socket Mode when SLACK_APP_TOKEN is set, else HTTP.

    \b
    Needs SLACK_BOT_TOKEN (xoxb-...), and SLACK_SIGNING_SECRET for HTTP or
    SLACK_APP_TOKEN (xapp-...) for Socket Mode. Interviews are kept in ADVISOR_DB.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = settings_from_env(os.environ, port=port, host=host)
        advisor = build(settings)
    except SetupError as err:
        raise click.ClickException(str(err)) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if settings.socket_mode:
        assert settings.app_token is not None
        try:
            handler = socket_mode(advisor, settings.app_token)
        except SetupError as err:
            raise click.ClickException(str(err)) from None
        click.echo(
            f"advisor: connected to {advisor.bot.team or 'Slack'} over Socket Mode. Ctrl-C stops."
        )
        signal.signal(signal.SIGTERM, on_signal)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        handler.close()
    else:
        try:
            server = http_server(advisor, settings.host, settings.port)
        except OSError as err:
            raise click.ClickException(
                f"Could not listen on {settings.host}:{settings.port}: {err.strerror or err}."
            ) from None
        click.echo(
            f"advisor: listening on http://{settings.host}:{server.effective_port}{EVENTS_PATH} "
            f"for {advisor.bot.team or 'Slack'}. Ctrl-C stops."
        )
        signal.signal(signal.SIGTERM, _exit_quietly)
        server.run()  # returns on Ctrl-C or SIGTERM (waitress catches both)
    log.info("advisor: finishing work in progress")
    advisor.wait_idle(timeout=20)
    advisor.close()
