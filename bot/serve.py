"""``advisor serve``: the Slack app, over Socket Mode or over HTTP behind waitress.

Socket Mode when ``SLACK_APP_TOKEN`` is set (no public URL needed), otherwise HTTP on
``PORT`` (default 3000) at ``/slack/events``, served by waitress, a production threaded
WSGI server, through Bolt's WSGI adapter. Every configuration problem is one sentence on
stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

import click
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.errors import SlackApiError
from waitress.server import create_server

from bot.slack_app import Delivery, SetupError, SlackAdvisor, make_client, whoami

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
        raise SetupError(f"SLACK_API_URL must be an http(s) URL, not {api_url!r}.")
    if port is None:
        raw = (env.get("PORT") or "").strip() or str(DEFAULT_PORT)
        try:
            port = int(raw)
        except ValueError:
            raise SetupError(f"PORT must be a number, not {raw!r}.") from None
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


def http_server(
    advisor: SlackAdvisor, host: str, port: int, threads: int = HTTP_THREADS, **adjust: Any
) -> Any:
    """A waitress server for the app at /slack/events (``.run()`` serves, ``.close()`` stops;
    ``.effective_port`` is the port it bound). ``adjust``: more waitress settings."""
    handler = SlackRequestHandler(advisor.app, path=EVENTS_PATH)
    return create_server(handler, host=host, port=port, threads=threads, ident="advisor", **adjust)


def socket_mode(advisor: SlackAdvisor, app_token: str) -> SocketModeHandler:
    """A connected Socket Mode handler; a rejected app token is a ``SetupError``."""
    handler = SocketModeHandler(advisor.app, app_token)
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
