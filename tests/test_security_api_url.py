"""A token pasted into ``SLACK_API_URL`` is never printed: not in ``advisor serve``'s start-up
error, not in slack_sdk's retry log lines (issue 12, item 14)."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.slack.app import build
from bot.slack.config import SetupError, settings_from_env

SECRET = "xoxb-1234567890-0987654321-SeCrEtToKeN"


@pytest.mark.parametrize(
    "url", [f"http://127.0.0.1:9/{SECRET}/", f"http://{SECRET.lower()}.invalid/"]
)
def test_the_api_url_is_never_echoed_in_errors_or_retry_logs(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-real", "SLACK_SIGNING_SECRET": "abc123", "SLACK_API_URL": url}
    settings = settings_from_env(env, port=0, host="127.0.0.1")
    with caplog.at_level(logging.DEBUG), pytest.raises(SetupError) as raised:
        build(settings, wait=0.01, jitter=0.01)
    assert "SLACK_API_URL" in str(raised.value)
    assert SECRET.lower() not in str(raised.value).lower()
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage().lower()]
    assert retries, "slack_sdk logged no retry: the test would prove nothing"
    for record in caplog.records:
        assert SECRET.lower() not in record.getMessage().lower(), record.getMessage()


def test_serve_prints_one_line_without_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-real")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "abc123")
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:9/{SECRET}/")
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1
    assert "SLACK_API_URL" in result.output and SECRET not in result.output
