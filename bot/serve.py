"""``advisor serve``: the Slack app (bot/slack/), over Socket Mode or over HTTP.

Socket Mode when ``SLACK_APP_TOKEN`` is set (no public URL needed), otherwise HTTP on
``PORT`` (default 3000) at ``/slack/events``, served by waitress. Every configuration
problem is one sentence on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from types import FrameType

import click

SQLITE_ONLY = (
    "advisor serve cannot use ADVISOR_DATABASE_URL yet: the Slack tables (inbox, outbox, "
    "thread map) are SQLite-only for now. Unset it to serve from the SQLite file (ADVISOR_DB)."
)


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
    if (os.environ.get("ADVISOR_DATABASE_URL") or "").strip():
        raise click.ClickException(SQLITE_ONLY)
    # Bolt, slack_sdk and the engine load here, not when another command starts.
    from bot.slack import socket_mode
    from bot.slack.app import build
    from bot.slack.config import SetupError, settings_from_env
    from bot.slack.http_edge import EVENTS_PATH, body_problem, http_server

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = settings_from_env(os.environ, port=port, host=host)
        slack = build(settings)
    except SetupError as err:
        raise click.ClickException(str(err)) from None
    team = slack.bot.team or "Slack"
    if settings.app_token is not None:
        try:
            handler = socket_mode.connect(slack.app, settings.app_token, body_problem)
        except SetupError as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"advisor: connected to {team} over Socket Mode. Ctrl-C stops.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        handler.close()
    else:
        try:
            server = http_server(slack, settings.host, settings.port)
        except OSError as err:
            raise click.ClickException(
                f"Could not listen on {settings.host}:{settings.port}: {err.strerror or err}."
            ) from None
        click.echo(
            f"advisor: listening on http://{settings.host}:{server.effective_port}{EVENTS_PATH} "
            f"for {team}. Ctrl-C stops."
        )
        signal.signal(signal.SIGTERM, _exit_quietly)
        server.run()  # returns on Ctrl-C or SIGTERM (waitress catches both)
    logging.getLogger("advisor.serve").info("advisor: finishing work in progress")
    slack.wait_idle(timeout=20)
    slack.close()
