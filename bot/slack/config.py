"""``advisor serve``'s settings, read from the environment and checked before anything
starts: every problem is one plain sentence (``SetupError``) that names the variable and
where the right value is found, and never echoes a value (it may be a misplaced token)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 3000


class SetupError(Exception):
    """A configuration problem to show the operator as one plain sentence."""


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
