"""What the Slack app handles and what it calls: the one list manifest.yml must match.

bot/slack/app.py registers exactly these listeners, and tests/test_slack_manifest.py checks
the manifest against this module both ways (every event, action and scope the code needs is
declared; nothing declared goes unused). A new listener or Web API method starts here.
"""

from __future__ import annotations

import re

from bot.slack import blocks

COMMAND = "/advisor"
COMMAND_SCOPE = "commands"
FILES_SCOPE = "files:read"  # reading files shared in a thread (files.info, url_private)

# Bolt event type -> the bot events the manifest subscribes to for it.
EVENTS: dict[str, tuple[str, ...]] = {
    "app_mention": ("app_mention",),
    "message": ("message.channels", "message.groups"),  # replies in public/private threads
    "app_home_opened": ("app_home_opened",),
    # The workspace took the app or its token away: stop sending until a token works.
    "app_uninstalled": ("app_uninstalled",),
    "tokens_revoked": ("tokens_revoked",),
}
# Bot scope each subscribed event needs (None: no scope).
EVENT_SCOPES: dict[str, str | None] = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "app_home_opened": None,
    "app_uninstalled": None,
    "tokens_revoked": None,
}

# Block Kit action ids (bot/slack/blocks.py builds the messages that carry them).
ACTIONS: tuple[str, ...] = (
    blocks.ANSWER_ACTION,
    blocks.CHECKS_ACTION,
    blocks.SUBMIT_ACTION,
    blocks.CONFIRM_ACTION,
    blocks.ACCEPT_ACTION,
    blocks.REJECT_ACTION,
    blocks.REVISE_ACTION,
)

# Message shortcuts (callback id -> the name people see in a message's menu).
SHORTCUTS: dict[str, str] = {"advisor_decide": "Decide with advisor"}

# Every Web API method this app calls, with the bot scope it needs (None: none needed).
# files_upload_v2 is files.getUploadURLExternal + an upload POST + files.completeUploadExternal.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": None,
    "conversations.replies": "channels:history",  # did a message sent before a crash arrive?
    "users.info": "users:read",
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    # A file shared in an interview thread: described, and its url_private downloaded with
    # the bot token (bot/slack/files.py); both need files:read.
    "files.info": FILES_SCOPE,
    "assistant.threads.setStatus": "chat:write",  # "is thinking…" while Claude works
    "canvases.create": "canvases:write",  # the memo as a canvas
    "canvases.access.set": "canvases:write",  # the channel may open and edit it
}
APP_TOKEN_METHODS = {"apps.connections.open": "connections:write"}  # Socket Mode, xapp- token


def action_pattern(action: str) -> re.Pattern[str]:
    """Matches ``action`` and its numbered copies: Slack wants action ids unique inside a
    message, so answer buttons and checkbox groups carry a ``:<n>`` suffix."""
    return re.compile(rf"^{re.escape(action)}(:\d+)?$")
