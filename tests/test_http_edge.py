"""The HTTP edge in front of Bolt (bot/slack/http_edge.py): Slack's URL check, signatures,
and what the edge assumes of Bolt, pinned so a Bolt upgrade that changes it fails here."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Sequence
from typing import Any

import pytest
import slack_bolt.version
from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request import BoltRequest
from slack_fake import TEAM, FakeSlack, SlackSender
from slack_harness import (
    Running,
    app,
    fake,
)

from bot.slack.http_edge import body_problem, misread_form, read_like_bolt
from bot.slack.registry import ACTIONS, COMMAND, EVENTS, action_pattern

__all__ = ["app", "fake"]  # fixtures

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def test_the_request_url_check_is_answered(app: Running) -> None:
    body = json.dumps({"token": "t", "challenge": "c4ll3ng3", "type": "url_verification"})
    sent = app.send.post(body, "application/json")
    assert sent.status == 200 and json.loads(sent.body) == {"challenge": "c4ll3ng3"}


def test_bad_or_stale_signatures_are_rejected(app: Running, fake: FakeSlack) -> None:
    calls = len(fake.calls)
    body = "command=%2Fadvisor&text=x&team_id=T0TEAM&channel_id=C0CHAN&user_id=U0ANA"
    form = "application/x-www-form-urlencoded"
    forged = app.send.post(
        body, form, signed={"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"}
    )
    stale = app.send.post(body, form, signed=app.send.sign(body, timestamp=1_600_000_000))
    wrong = SlackSender(app.send.url, fake, secret="f" * 32).post(body, form)
    unsigned = app.send.post(body, form, signed={})
    assert [s.status for s in (forged, stale, wrong, unsigned)] == [401, 401, 401, 401]
    app.idle()
    assert len(fake.calls) == calls  # nothing was started


# --- what the edge assumes of Bolt ---------------------------------------------------------


def bare_bolt() -> App:
    """A Bolt app with listeners like ours and no Web API calls (a fixed authorization)."""

    def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=None, team_id=TEAM, bot_token="xoxb-x", bot_user_id="U0BOT", bot_id="B0"
        )

    app = App(signing_secret="s", authorize=authorize, request_verification_enabled=False)
    app.command(COMMAND)(lambda ack: ack())
    for event in EVENTS:
        app.event(event)(lambda: None)
    for action in ACTIONS:
        app.action(action_pattern(action))(lambda ack: ack())
    return app


# Shapes Slack never sends that Bolt itself fails on, by the reason the edge gives.
BOLT_FAILS_ON: dict[str, dict[str, Any]] = {
    "event is not an object": {"type": "event_callback", "event": "message"},
    "actions is not a list of objects": {"type": "block_actions", "actions": ["press"]},
    "actions is empty": {"type": "block_actions", "actions": []},
    "the action has no action_id": {"type": "block_actions", "actions": [{"block_id": "b"}]},
    "actions is missing": {"type": "interactive_message", "callback_id": "c"},
    "view is not an object": {"type": "view_submission", "view": "x"},
    "the view is incomplete": {"type": "view_submission", "view": {"callback_id": "c"}},
    "workflow_step is missing": {"type": "workflow_step_edit", "callback_id": "c"},
    "Bolt cannot read it (AttributeError)": {"type": "view_submission", "response_urls": "x"},
}


@pytest.mark.parametrize("problem", list(BOLT_FAILS_ON))
def test_each_shape_the_edge_refuses_for_bolt_still_breaks_bolt(problem: str) -> None:
    body = BOLT_FAILS_ON[problem]
    assert body_problem(body) == problem
    try:
        status = bare_bolt().dispatch(BoltRequest(body=body, mode="socket_mode")).status
    except Exception:
        status = 500  # raised before any listener ran
    # If this fails, Bolt handles the shape now: the edge's check for it can go.
    assert status == 500, f"Bolt {slack_bolt.version.__version__} handles '{problem}' now"


def test_bolt_still_reads_a_form_that_mentions_payload_as_empty() -> None:
    form = urllib.parse.urlencode({"command": COMMAND, "text": "check the payload schema"})
    headers: dict[str, str | Sequence[str]] = {"content-type": FORM}
    # If this fails, Bolt reads such forms right now: misread_form and BoltHandler can go.
    assert BoltRequest(body=form, headers=headers).body == {}
    assert misread_form(form, FORM) == {"command": COMMAND, "text": "check the payload schema"}
    assert misread_form(urllib.parse.urlencode({"payload": "{}"}), FORM) is None


def test_the_edge_reads_a_body_as_bolt_does_and_names_what_bolt_cannot_read() -> None:
    assert read_like_bolt('{"type": "event_callback"}', JSON) == ({"type": "event_callback"}, None)
    assert read_like_bolt("command=%2Fadvisor&text=hi", FORM) == (
        {"command": "/advisor", "text": "hi"},
        None,
    )
    assert read_like_bolt("{not json", JSON)[1] == "the body is not JSON or a form Bolt can read"
    assert read_like_bolt("[1, 2]", JSON)[1] == "Bolt cannot read it (AttributeError)"
