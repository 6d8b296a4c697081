"""``advisor serve``: the Slack app (bot/slack/), over Socket Mode or over HTTP.

Socket Mode when ``SLACK_APP_TOKEN`` is set (no public URL needed), otherwise HTTP on
``PORT`` (default 3000) at ``/slack/events``, served by waitress. Every configuration
problem is one sentence on stderr and exit status 1, never a traceback.

``--workers N`` (N > 1) runs a supervisor that starts N worker processes (bot/slack/
workers.py): in HTTP mode they share the one port, in Socket Mode each holds its own
connection. A worker is this same command with the hidden ``--worker`` flag (and, for
HTTP, ``--socket-fd``: the supervisor's listening socket, inherited).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
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
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes, about one per core: HTTP workers share the port; in Socket "
    "Mode each holds its own connection.",
)
@click.option("--worker", is_flag=True, hidden=True, help="Run as one of a supervisor's workers.")
@click.option("--socket-fd", type=int, default=None, hidden=True, help="Inherited listening fd.")
def serve(host: str, port: int | None, workers: int, worker: bool, socket_fd: int | None) -> None:
    """Run the Slack app: Socket Mode when SLACK_APP_TOKEN is set, else HTTP.

    \b
    Needs SLACK_BOT_TOKEN (xoxb-...), and SLACK_SIGNING_SECRET for HTTP or
    SLACK_APP_TOKEN (xapp-...) for Socket Mode. Interviews are kept in ADVISOR_DB.
    """
    if (os.environ.get("ADVISOR_DATABASE_URL") or "").strip():
        raise click.ClickException(SQLITE_ONLY)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if workers > 1:
        sys.exit(_supervise(host, port, workers))
    # Bolt, slack_sdk and the engine load here, not when another command starts.
    from bot.slack import socket_mode
    from bot.slack.app import build
    from bot.slack.config import SetupError, settings_from_env
    from bot.slack.http_edge import EVENTS_PATH, body_problem, http_server
    from bot.slack.workers import worker_ready

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
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        if worker:
            worker_ready("connected over Socket Mode")
        else:
            click.echo(f"advisor: connected to {team} over Socket Mode. Ctrl-C stops.")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        handler.close()
    else:
        try:
            inherited = None if socket_fd is None else socket.socket(fileno=socket_fd)
            server = http_server(slack, settings.host, settings.port, sock=inherited)
        except OSError as err:
            raise click.ClickException(
                f"Could not listen on {settings.host}:{settings.port}: {err.strerror or err}."
            ) from None
        signal.signal(signal.SIGTERM, _exit_quietly)
        if worker:
            worker_ready(f"serving port {server.effective_port}")
        else:
            click.echo(
                f"advisor: listening on http://{settings.host}:{server.effective_port}"
                f"{EVENTS_PATH} for {team}. Ctrl-C stops."
            )
        server.run()  # returns on Ctrl-C or SIGTERM (waitress catches both)
    logging.getLogger("advisor.serve").info("advisor: finishing work in progress")
    slack.wait_idle(timeout=20)
    slack.close()


def _supervise(host: str, port: int | None, count: int) -> int:
    """The supervisor: settings and the bot token checked once, the port bound once, then
    ``count`` workers kept running until SIGTERM or Ctrl-C. Its exit status."""
    from bot.slack.config import SetupError, settings_from_env
    from bot.slack.http_edge import EVENTS_PATH
    from bot.slack.webapi import make_client, whoami
    from bot.slack.workers import Supervisor, bind, worker_argv

    try:
        settings = settings_from_env(os.environ, port=port, host=host)
        team = whoami(make_client(settings.bot_token, settings.api_url)).team or "Slack"
    except SetupError as err:
        raise click.ClickException(str(err)) from None
    sock = None
    if settings.app_token is None:
        try:
            sock = bind(settings.host, settings.port)
        except OSError as err:
            raise click.ClickException(
                f"Could not listen on {settings.host}:{settings.port}: {err.strerror or err}."
            ) from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: stop.set())

    def announce() -> None:
        if sock is None:
            click.echo(
                f"advisor: {count} workers connected to {team} over Socket Mode, one "
                "connection each. Ctrl-C stops."
            )
        else:
            click.echo(
                f"advisor: listening on http://{settings.host}:{sock.getsockname()[1]}"
                f"{EVENTS_PATH} for {team} with {count} workers. Ctrl-C stops."
            )

    fds = () if sock is None else (sock.fileno(),)
    argv = worker_argv(None if sock is None else sock.fileno())
    supervisor = Supervisor(argv, count, pass_fds=fds, echo=click.echo)
    try:
        code = supervisor.run(stop, announce)
    finally:
        if sock is not None:
            sock.close()
    logging.getLogger("advisor.serve").info("advisor: all workers stopped")
    return code
