"""manifest.yml against the code: everything the app handles is declared, every Web API
method it calls is covered by a declared scope, and nothing unused is requested."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_fake import BOT_TOKEN, SIGNING_SECRET, FakeSlack

from bot.slack import registry
from bot.slack.app import SlackApp
from bot.slack.webapi import make_client
from graph.store import Store

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


class NoEngine:
    """Enough of an engine to build the app; nothing here is called."""

    def __init__(self) -> None:
        self.store = Store()


@pytest.fixture
def app() -> Iterator[Any]:
    with FakeSlack() as fake:
        advisor = SlackApp(
            NoEngine(),  # type: ignore[arg-type]
            make_client(BOT_TOKEN, fake.url),
            signing_secret=SIGNING_SECRET,
        )
        yield advisor.app
        advisor.close()


def test_the_slash_command_is_declared(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [registry.COMMAND]
    assert commands[0]["url"].endswith("/slack/events")


def test_subscribed_events_are_exactly_the_ones_handled(manifest: dict[str, Any]) -> None:
    declared = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    handled = {name for names in registry.EVENTS.values() for name in names}
    assert declared == handled


def test_interactivity_and_home_tab_match_the_listeners(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["interactivity"]["is_enabled"] is bool(registry.ACTIONS)
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is ("app_home_opened" in registry.EVENTS)
    # No message.im subscription, so no Messages tab that would look broken.
    assert home["messages_tab_enabled"] is False
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]


def test_scopes_are_exactly_what_the_code_needs(manifest: dict[str, Any]) -> None:
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    needed = {registry.COMMAND_SCOPE}
    needed |= {registry.EVENT_SCOPES[e] for e in events if registry.EVENT_SCOPES[e]}
    needed |= {s for s in registry.METHOD_SCOPES.values() if s}
    assert declared == needed, f"unused: {declared - needed}, missing: {needed - declared}"
    assert "user" not in manifest["oauth_config"]["scopes"]  # no user token at all


def _requests() -> dict[str, BoltRequest]:
    form = {"content-type": ["application/x-www-form-urlencoded"]}
    as_json = {"content-type": ["application/json"]}
    requests = {
        registry.COMMAND: BoltRequest(
            body=urllib.parse.urlencode(
                {"command": registry.COMMAND, "text": "x", "team_id": "T", "user_id": "U"}
            ),
            headers=form,
        )
    }
    for event in registry.EVENTS:
        body = {
            "type": "event_callback",
            "team_id": "T",
            "event": {"type": event, "user": "U", "channel": "C", "ts": "1.1"},
        }
        requests[event] = BoltRequest(body=json.dumps(body), headers=as_json)
    for action in registry.ACTIONS:
        payload = {
            "type": "block_actions",
            "team": {"id": "T"},
            "user": {"id": "U"},
            "actions": [{"action_id": f"{action}:0", "block_id": "b", "type": "button"}],
        }
        requests[action] = BoltRequest(
            body=urllib.parse.urlencode({"payload": json.dumps(payload)}), headers=form
        )
    for callback_id in registry.SHORTCUTS:
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "team": {"id": "T"},
            "user": {"id": "U"},
        }
        requests[callback_id] = BoltRequest(
            body=urllib.parse.urlencode({"payload": json.dumps(payload)}), headers=form
        )
    return requests


def test_message_shortcuts_are_declared(manifest: dict[str, Any]) -> None:
    declared = {s["callback_id"]: s for s in manifest["features"].get("shortcuts", [])}
    assert set(declared) == set(registry.SHORTCUTS)
    for callback_id, name in registry.SHORTCUTS.items():
        assert declared[callback_id]["name"] == name and declared[callback_id]["type"] == "message"


def test_every_registered_listener_is_in_the_registry_and_vice_versa(app: Any) -> None:
    requests = _requests()
    listeners = list(app._listeners)  # Bolt keeps no public list of its listeners
    matched_by: dict[int, list[str]] = {id(listener): [] for listener in listeners}
    for name, request in requests.items():
        hits = [
            listener
            for listener in listeners
            if listener.matches(req=request, resp=BoltResponse(status=200))
        ]
        assert hits, f"nothing handles {name}"
        for listener in hits:
            matched_by[id(listener)].append(name)
    orphans = [listener for listener in listeners if not matched_by[id(listener)]]
    assert not orphans, "a listener is registered outside the registry in bot/registry.py"


def test_app_token_methods_are_not_bot_scopes(manifest: dict[str, Any]) -> None:
    # Socket Mode's apps.connections.open uses the xapp- token's own scope.
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    assert not declared & set(registry.APP_TOKEN_METHODS.values())
