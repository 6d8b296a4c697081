"""``advisor serve`` start-up: a missing or wrong token or secret is one clear sentence
and exit status 1, never a traceback; Socket Mode is used when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from slack_fake import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.cli import cli
from bot.slack.app import build
from bot.slack.config import Settings, SetupError, settings_from_env
from bot.slack.http_edge import body_problem
from bot.slack.socket_mode import GuardedSocketModeHandler
from bot.slack.webapi import make_client, whoami


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def serve(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["serve"], env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-123"}, "starting with xoxb-, not a xoxp- token"),
        ({"SLACK_BOT_TOKEN": "xapp-1-A"}, "it goes in SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "banana"}, "starting with xoxb-"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"},
            "SLACK_APP_TOKEN should be an app-level token starting with xapp-",
        ),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "xoxb-oops"},
            "does not look like a signing secret",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "abc", "PORT": "eighty"},
            "PORT must be a number",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "abc", "SLACK_API_URL": "slack"},
            "SLACK_API_URL must be an http(s) URL",
        ),
    ],
)
def test_bad_settings_stop_serve_with_one_clear_line(env: dict[str, str], expected: str) -> None:
    code, output = serve(env)
    assert code == 1
    assert expected in output
    assert "Traceback" not in output
    assert "xoxb-1" not in output and "xoxp-123" not in output  # tokens are never echoed


def test_a_token_slack_rejects_is_reported_at_start_up(fake: FakeSlack) -> None:
    code, output = serve(
        {
            "SLACK_BOT_TOKEN": "xoxb-revoked",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.url,
        }
    )
    assert code == 1
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in output
    assert "Traceback" not in output
    assert [c.method for c in fake.calls] == ["auth.test"]


def test_unreachable_web_api_is_a_setup_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(BOT_TOKEN, f"http://127.0.0.1:{port}/api", wait=0.01, jitter=0.01)
    with pytest.raises(SetupError, match="Could not reach the Slack Web API"):
        whoami(client)


def test_socket_mode_is_chosen_when_an_app_token_is_set(fake: FakeSlack) -> None:
    code, output = serve(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-1-bad", "SLACK_API_URL": fake.url}
    )
    assert code == 1
    assert "Slack rejected SLACK_APP_TOKEN (invalid_auth)" in output
    assert "Traceback" not in output
    opened = fake.called("apps.connections.open")
    assert len(opened) == 1 and opened[0].token == "xapp-1-bad"


def test_settings_default_to_http_on_port_3000() -> None:
    settings = settings_from_env(
        {"SLACK_BOT_TOKEN": " xoxb-1\n", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    )
    assert settings.bot_token == "xoxb-1"  # stray whitespace from copy-paste is dropped
    assert (settings.socket_mode, settings.port, settings.api_url) == (False, 3000, None)
    with_app = settings_from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert with_app.socket_mode and with_app.signing_secret == ""


def test_rate_limited_calls_wait_as_long_as_retry_after_says(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("bot.slack.webapi.time.sleep", slept.append)
    client = make_client(BOT_TOKEN, fake.url, jitter=0.5)
    fake.fail_next(2, 429, retry_after=7, method="chat.postMessage")
    result = client.chat_postMessage(channel="C1", text="hello")
    assert result["ok"]
    assert len(fake.called("chat.postMessage")) == 3
    assert len(slept) == 2 and all(7 <= s <= 7.5 for s in slept)


class Acks:
    """Stands in for the Socket Mode client: keeps the envelope ids the app acknowledged."""

    def __init__(self) -> None:
        self.envelopes: list[str] = []
        self.logger = logging.getLogger("test.socket_mode")

    def send_socket_mode_response(self, response: Any) -> None:
        self.envelopes.append(response.envelope_id)


def test_socket_mode_acks_and_drops_envelopes_bolt_cannot_handle(fake: FakeSlack) -> None:
    advisor = build(Settings(BOT_TOKEN, "", "xapp-1-test", fake.url, 0, "127.0.0.1"))
    try:
        handler = GuardedSocketModeHandler(
            advisor.app, "xapp-1-test", body_problem
        )  # not connected
        acks = Acks()
        broken = {"type": "event_callback", "authorizations": "x", "event": {"type": "x"}}
        handler.handle(acks, SocketModeRequest("events_api", "env-broken", broken))
        home = {"type": "app_home_opened", "user": "U0ANA", "channel": "D0DM", "tab": "home"}
        body = {"type": "event_callback", "team_id": "T0TEAM", "event": home}
        handler.handle(acks, SocketModeRequest("events_api", "env-home", body))
        assert advisor.wait_idle(10)
        # Both acked, so Slack does not send either again; the real one was handled.
        assert acks.envelopes == ["env-broken", "env-home"]
        assert fake.called("views.publish")
    finally:
        advisor.close()
