"""Bad input and hostile text at the Slack edge, against the real app on loopback.

Generated payloads (wrong types, missing keys, huge strings, any unicode) are sent signed to
``advisor``'s request URL: no request may get a 500 or an exception in its body, and nothing
the app posts may carry one. Pings and links written by people, by team documents or by the
model are echoed back escaped, so they never ping anyone or render a link.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic_fake as fake_api
import pytest
import slack_fake
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_fake import (
    APP_ID,
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    FakeSlack,
    Sent,
    press,
)
from slack_harness import Running
from slack_harness import run_app as slack_app_harness

from bot.slack import blocks
from bot.slack.payloads import interview_id
from graph.claude import Claude
from graph.interview import Interviews
from knowledge.db import open_db
from knowledge.search import add_documents

CHANNEL = "C0CHAN"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# What must never reach a person: a traceback, a source line, an exception's name.
EXCEPTION_TEXT = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]*\", line \d+|\b[A-Z]\w*(?:Error|Exception)\b"
)


def run_app(fake: FakeSlack, engine: Interviews | None = None, **options: Any) -> Running:
    """test_slack_app's app with the app's own retry timings and fewer threads, and more
    time to settle after a burst of generated requests."""
    options = {"delivery": None, "threads": 8, "idle_timeout": 30.0, **options}
    return slack_app_harness(fake, engine, **options)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def app(fake: FakeSlack) -> Iterator[Running]:
    running = run_app(fake)
    yield running
    running.stop()


def strings(node: Any) -> Iterator[str]:
    """Every string anywhere in a JSON-like value (keys too)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from strings(value)


def said_to_people(fake: FakeSlack) -> list[str]:
    """Every string the app sent to Slack to be shown: Web API arguments and response_url
    posts. Ids, timestamps and button values are strings too; they are checked as well."""
    found: list[str] = []
    for call in list(fake.calls):
        if call.method in ("auth.test", "(upload)", "users.info", "chat.getPermalink"):
            continue
        args = dict(call.args)
        if call.method == "files.completeUploadExternal":
            # A file's title is shown as plain text (never parsed for mentions or links).
            args.pop("files", None)
        found.extend(strings(args))
    found.extend(strings(list(fake.responses)))
    return found


def assert_no_exception_text(sent: Sent, fake: FakeSlack) -> None:
    assert sent.status < 500, (sent.status, sent.body[:300])
    assert not EXCEPTION_TEXT.search(sent.body), sent.body[:300]
    for text in said_to_people(fake):
        assert not EXCEPTION_TEXT.search(text), text[:300]


# --- generated payloads -------------------------------------------------------------------

# Text as people (or broken clients) might send it: any unicode, control characters, RTL
# overrides, Slack markup, escapes, commands, and very long strings.
ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "help",
        "list",
        "skip",
        "memo",
        "cancel",
        "back",
        "why?",
        "change volume to 50k",
        "\x00\x01\x1b[31m",
        "\u202e\u200b\ufeff",
        "&lt;!channel&gt; <!here> <@U0ANA> <#C0CHAN|x> <https://a.example|b>",
        "%s %(x)s {0} {x!r} ${x}",
        "🤖" * 2_000,
        "x" * 45_000,
        "a\n" * 3_000,
        "1e309 -0 NaN Infinity 99999999999999999999999",
    ]
)
TEXT = st.text(max_size=300) | ODD_TEXT
# A response_url never pointing beyond loopback (the app would post to it).
NOT_A_URL = TEXT.filter(lambda s: "://" not in s)


def mutated(
    draw: st.DrawFn,
    template: dict[str, Any],
    *,
    text: st.SearchStrategy[str] = TEXT,
    keep: tuple[str, ...] = (),
    loose: bool = False,
) -> dict[str, Any]:
    """``template`` (what Slack sends) with up to four keys dropped or given random text,
    and maybe a key Slack never sends: near misses get past the app's first checks.

    Strict (the default) keeps the types Slack uses (only string values get random text)
    and the ``keep`` keys; ``loose`` may drop any key and put text where an object was."""
    body = dict(template)
    for key in draw(st.lists(st.sampled_from(sorted(template)), max_size=4, unique=True)):
        if draw(st.booleans()):
            if loose or key not in keep:
                del body[key]
        elif loose or isinstance(body[key], str):
            body[key] = draw(text)
    if draw(st.booleans()):
        body[draw(TEXT)] = draw(TEXT)
    return body


@st.composite
def command_forms(draw: st.DrawFn, response_url: str) -> str:
    form = {
        "command": "/advisor",
        "text": draw(TEXT),
        "team_id": TEAM,
        "channel_id": draw(st.sampled_from([CHANNEL, "D0DM", "G0PRIVATE"])),
        "user_id": draw(st.sampled_from(["U0ANA", "U0BEN", BOT_USER, "W0ENT"])),
        "user_name": "ana",
        "trigger_id": f"{draw(st.integers(0, 10**9))}.1.abc",
        "response_url": response_url,
        "api_app_id": APP_ID,
        "is_enterprise_install": draw(st.sampled_from(["false", "true"])),
    }
    # A response_url must never point beyond loopback (the app posts to it). Slack always
    # sends the command, channel and user (without them see test_unusable_requests_...).
    keep = ("command", "channel_id", "user_id")
    return urllib.parse.urlencode(mutated(draw, form, text=NOT_A_URL, keep=keep))


@st.composite
def events(draw: st.DrawFn, thread: str, loose: bool = False) -> str:
    kinds = ["reply", "reply", "reply", "mention", "mention in thread", "home", "other"]
    kind = draw(st.sampled_from(kinds))
    ts = f"1700000099.{draw(st.integers(0, 999_999)):06d}"
    text = draw(TEXT)
    event: dict[str, Any] = {
        "type": "message",
        "channel": CHANNEL,
        "user": draw(st.sampled_from(["U0ANA", "U0BEN"])),
        "text": text,
        "ts": ts,
        "channel_type": "channel",
        "team": TEAM,
    }
    if kind == "reply":
        event["thread_ts"] = thread
        event["subtype"] = draw(st.sampled_from([None, "thread_broadcast", "message_changed"]))
    elif kind.startswith("mention"):
        event.update(type="app_mention", text=f"<@{BOT_USER}> {text}")
        if kind == "mention in thread":
            event["thread_ts"] = thread
    elif kind == "home":
        event = {"type": "app_home_opened", "user": "U0ANA", "channel": "D0DM", "tab": "home"}
    else:
        event["type"] = draw(TEXT)
    body: dict[str, Any] = {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": f"Ev{draw(st.integers(0, 10**12))}",
        "event_time": draw(st.integers(-(2**63), 2**63)),
        "event": {k: v for k, v in event.items() if v is not None},
    }
    if draw(st.booleans()):
        body["event"] = mutated(draw, body["event"], loose=loose)
    if draw(st.booleans()):
        body = mutated(draw, body, keep=("type", "event"), loose=loose)
    return json.dumps(body)


ACTION_IDS = [
    f"{blocks.ANSWER_ACTION}:0",
    f"{blocks.CHECKS_ACTION}:0",
    blocks.SUBMIT_ACTION,
    blocks.ACCEPT_ACTION,
    blocks.REJECT_ACTION,
    blocks.REVISE_ACTION,
    "someone_elses_action",
]


@st.composite
def action_values(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["answer", "json", "text"]))
    if kind == "answer":
        qid = draw(st.sampled_from(["task", "problems", "eval", "nope"]) | TEXT)
        value = draw(st.sampled_from(["classification", "none", "yes"]) | TEXT)
        return json.dumps({"question_id": qid, "value": value})
    if kind == "json":
        return json.dumps(draw(st.dictionaries(TEXT, TEXT, max_size=3)))
    # Text that is not JSON (JSON that is not an object: see test_unusable_requests_...).
    return str(draw(TEXT.filter(lambda t: not parses_as_json(t))))


def parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@st.composite
def block_actions(draw: st.DrawFn, response_url: str, thread: str, loose: bool = False) -> str:
    container = {
        "type": "message",
        "channel_id": CHANNEL,
        "thread_ts": thread,
        "message_ts": draw(st.sampled_from([thread, "1700000000.000002"])),
    }
    action = {
        "type": draw(st.sampled_from(["button", "checkboxes"])),
        "action_id": draw(st.sampled_from(ACTION_IDS)),
        "block_id": draw(TEXT),
        "value": draw(action_values()),
        "text": {"type": "plain_text", "text": draw(TEXT)},
        "action_ts": "1700000000.1",
    }
    option = mutated(
        draw,
        {"value": draw(TEXT), "text": {"type": "plain_text", "text": "x"}},
        keep=("value",),
        loose=loose,
    )
    message = {"ts": thread, "thread_ts": thread, "text": draw(TEXT), "blocks": []}
    payload = {
        "type": "block_actions",
        "user": mutated(
            draw, {"id": draw(st.sampled_from(["U0ANA", "U0BEN"])), "team_id": TEAM}, loose=loose
        ),
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": mutated(draw, container, loose=loose),
        "trigger_id": "1.1.abc",
        "team": {"id": TEAM, "domain": "acme"},
        "channel": mutated(draw, {"id": CHANNEL}, loose=loose),
        "message": mutated(draw, message, loose=loose),
        "state": {
            "values": {
                "b0": {
                    f"{blocks.CHECKS_ACTION}:0": {
                        "selected_options": draw(st.lists(st.just(option), max_size=2))
                    }
                }
            }
        },
        "response_url": response_url,
        "actions": [mutated(draw, action, keep=("action_id",), loose=loose)],
    }
    if draw(st.booleans()):
        keep = ("type", "actions", "response_url")
        payload = mutated(draw, payload, text=NOT_A_URL, keep=keep, loose=loose)
    body = payload
    return urllib.parse.urlencode({"payload": json.dumps(body)})


@st.composite
def url_checks(draw: st.DrawFn) -> tuple[str, str]:
    challenge = draw(TEXT)
    return json.dumps({"token": draw(TEXT), "challenge": challenge, "type": "url_verification"}), (
        challenge
    )


PAYLOAD_RUNS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def open_interview(app: Running, fake: FakeSlack) -> str:
    """A real interview in progress, so generated replies and clicks can land in it."""
    assert app.send.command("summarise our sales calls").status == 200
    app.idle()
    return fake.parents()[-1]


_EVENT_IDS = itertools.count(1)


def fresh_event_id(body: str) -> str:
    """Slack gives every event its own id, and the app drops a repeated one as a retry."""
    data = json.loads(body)
    if isinstance(data.get("event_id"), str):
        data["event_id"] += f"-{next(_EVENT_IDS)}"
    return json.dumps(data)


def still_works(app: Running, fake: FakeSlack) -> None:
    """After all that, an ordinary /advisor still starts an interview with a question."""
    before = len(fake.parents())
    sent = app.send.command("classify support emails")
    assert sent.status == 200
    app.idle()
    assert len(fake.parents()) == before + 1
    assert fake.questions(CHANNEL, fake.parents()[-1])


def test_generated_slash_commands_never_fail_loudly(app: Running, fake: FakeSlack) -> None:
    response_url = f"http://127.0.0.1:{fake.port}/response/fuzz"

    @PAYLOAD_RUNS
    @given(command_forms(response_url))
    def check(body: str) -> None:
        sent = app.send.post(body, FORM)
        app.idle()
        assert_no_exception_text(sent, fake)

    started = len(fake.parents())
    check()
    assert len(fake.parents()) - started >= 5  # many of them really started interviews
    still_works(app, fake)


def test_generated_events_never_fail_loudly(app: Running, fake: FakeSlack) -> None:
    thread = open_interview(app, fake)

    plain_reply = {
        "type": "event_callback",
        "team_id": TEAM,
        "event_id": "Ev1",
        "event": {"type": "message", "channel": CHANNEL, "user": "U0ANA", "text": "skip"}
        | {"ts": "1700000099.000001", "thread_ts": thread},
    }

    @PAYLOAD_RUNS
    @given(events(thread))
    @example(json.dumps(plain_reply))  # at least one that is a real answer
    def check(body: str) -> None:
        sent = app.send.post(fresh_event_id(body), JSON)
        app.idle()
        assert_no_exception_text(sent, fake)

    iid = interview_id(TEAM, CHANNEL, thread)
    check()
    said = [a.text for a in app.advisor.engine.store.answers(iid)]
    assert "skip" in said  # the app kept answering while being fed garbage
    still_works(app, fake)


def test_generated_button_clicks_never_fail_loudly(app: Running, fake: FakeSlack) -> None:
    thread = open_interview(app, fake)
    response_url = f"http://127.0.0.1:{fake.port}/response/fuzz"

    @PAYLOAD_RUNS
    @given(block_actions(response_url, thread))
    def check(body: str) -> None:
        sent = app.send.post(body, FORM)
        app.idle()
        assert_no_exception_text(sent, fake)

    check()
    assert fake.ephemeral  # many reached a handler ("already answered", memo not found)
    still_works(app, fake)


def test_generated_url_checks_echo_the_challenge(app: Running, fake: FakeSlack) -> None:
    @PAYLOAD_RUNS
    @given(url_checks())
    def check(case: tuple[str, str]) -> None:
        body, challenge = case
        sent = app.send.post(body, JSON)
        assert sent.status == 200 and json.loads(sent.body) == {"challenge": challenge}

    check()


# Any JSON at all where Slack sends an object: nested garbage, wrong types everywhere.
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)
ENVELOPE_KEYS = ["type", "event", "event_id", "team", "user", "channel", "actions", "container"]


@st.composite
def garbage_bodies(draw: st.DrawFn) -> tuple[str, str]:
    body: dict[str, Any] = {"type": draw(st.sampled_from(["event_callback", "block_actions"]))}
    for key in draw(st.lists(st.sampled_from(ENVELOPE_KEYS), max_size=4, unique=True)):
        body[key] = draw(ANY_JSON)
    if draw(st.booleans()):
        return json.dumps(body), JSON
    return urllib.parse.urlencode({"payload": json.dumps(body)}), FORM


def test_signed_bodies_of_any_shape_never_get_a_500(app: Running, fake: FakeSlack) -> None:
    thread = open_interview(app, fake)
    response_url = f"http://127.0.0.1:{fake.port}/response/fuzz"
    near_misses = st.tuples(events(thread, loose=True), st.just(JSON)) | st.tuples(
        block_actions(response_url, thread, loose=True), st.just(FORM)
    )

    @PAYLOAD_RUNS
    @given(garbage_bodies() | near_misses)
    @example((json.dumps({"type": "event_callback", "event": "message"}), JSON))
    def check(case: tuple[str, str]) -> None:
        body, kind = case
        sent = app.send.post(body, kind)
        app.idle()
        assert_no_exception_text(sent, fake)

    check()
    still_works(app, fake)


# Bodies Slack itself never sends: each should be answered 4xx (or 200 and ignored), no 500.
MALFORMED: dict[str, tuple[str, str]] = {
    "not JSON": ("{not json", JSON),
    "a JSON list": ("[1, 2]", JSON),
    "a JSON string": ('"event_callback"', JSON),
    "event is a string": (json.dumps({"type": "event_callback", "event": "message"}), JSON),
    "event channel is a number": (
        json.dumps(
            {"type": "event_callback", "event": {"type": "message", "channel": 5, "ts": "1.1"}}
        ),
        JSON,
    ),
    "authorizations is a string": (
        json.dumps({"type": "event_callback", "authorizations": "x", "event": {"type": "x"}}),
        JSON,
    ),
    "payload is not JSON": (urllib.parse.urlencode({"payload": "{oops"}), FORM),
    "payload is a list": (urllib.parse.urlencode({"payload": "[1]"}), FORM),
    "no actions in block_actions": (
        urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})}),
        FORM,
    ),
    "actions is a string": (
        urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "actions": "x"})}),
        FORM,
    ),
}


def test_malformed_signed_bodies_get_no_500(app: Running, fake: FakeSlack) -> None:
    failed = []
    for name, (body, kind) in MALFORMED.items():
        sent = app.send.post(body, kind)
        app.idle()
        if sent.status >= 500 or EXCEPTION_TEXT.search(sent.body):
            failed.append(f"{name}: {sent.status}")
    assert_no_exception_text(app.send.post("{}", JSON), fake)  # and nothing reached Slack
    assert failed == []


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_signed_body_is_refused_and_the_next_request_works(
    app: Running, fake: FakeSlack, name: str
) -> None:
    body, kind = MALFORMED[name]
    sent = app.send.post(body, kind)
    app.idle()
    assert sent.status == 400 and not EXCEPTION_TEXT.search(sent.body), sent
    assert {call.method for call in fake.calls} == {"auth.test"}  # nothing was said or started
    still_works(app, fake)


def test_a_request_bolt_fails_on_anyway_gets_a_400_without_details(
    app: Running, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Shapes nobody has thought of yet: Bolt failing inside (its own 500) or raising out.
    def failing(*args: Any, **kwargs: Any) -> None:
        raise KeyError("inside Bolt")

    def edge_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "advisor.serve"]

    caplog.set_level(logging.INFO, logger="advisor.serve")
    app.advisor.app.use(failing)  # a global middleware that raises
    inside = app.send.command("route tickets")
    assert len(edge_lines()) == 1
    caplog.clear()
    monkeypatch.setattr(app.advisor.app, "dispatch", failing)
    outside = app.send.command("route tickets")
    for sent in (inside, outside):
        assert sent.status == 400 and not EXCEPTION_TEXT.search(sent.body), sent
        assert "inside Bolt" not in sent.body
    assert len(edge_lines()) == 1 and not edge_lines()[0].exc_info  # one line, no traceback


# Requests Slack would not send, each of which once made a listener raise after its ack().
UNUSABLE = {
    "a command without user_id": ("command", "user_id"),
    "a command without channel_id": ("command", "channel_id"),
    "a button whose value is JSON null": ("button", "null"),
    "a button whose value is a JSON list": ("button", "[]"),
    "a Submit whose value is a JSON number": ("submit", "5"),
}


@pytest.mark.parametrize("name", list(UNUSABLE))
def test_listeners_ignore_requests_they_cannot_use(
    app: Running, fake: FakeSlack, name: str
) -> None:
    # Called directly: over HTTP the symptom (a 3 s wait, then 404) depends on a race.
    kind, detail = UNUSABLE[name]
    acks: list[object] = []

    def ack(*args: object, **kwargs: object) -> None:
        acks.append(kwargs)

    if kind == "command":
        command = {"command": "/advisor", "text": "route tickets", "team_id": TEAM}
        command |= {"channel_id": CHANNEL, "user_id": "U0ANA"}
        del command[detail]
        app.advisor.listeners.on_command(ack=ack, command=command, respond=None)  # type: ignore[arg-type]
    else:
        thread = open_interview(app, fake)
        message = last_question(fake, thread)
        action = press(message, "Something else") | {"value": detail}
        body = {
            "type": "block_actions",
            "user": {"id": "U0ANA"},
            "container": {"channel_id": CHANNEL, "thread_ts": thread, "message_ts": message["ts"]},
            "actions": [action],
        }
        on = app.advisor.listeners
        listener = on.on_submit if kind == "submit" else on.on_answer
        listener(ack=ack, body=body, action=action)
    app.idle()
    assert acks


def test_an_unsigned_malformed_body_is_refused_as_unsigned(app: Running, fake: FakeSlack) -> None:
    sent = app.send.post("{not json", JSON, signed={})
    assert sent.status == 401
    # Nothing reached Slack but the start-up auth.test calls (the app's and Bolt's own).
    assert {call.method for call in fake.calls} == {"auth.test"}


def test_slacks_unsigned_ssl_check_is_answered_200(app: Running, fake: FakeSlack) -> None:
    # Slack probes an HTTPS request URL with ssl_check=1, unsigned; Bolt answers it 200.
    sent = app.send.post("ssl_check=1&token=legacy-verification-token", FORM, signed={})
    assert sent.status == 200
    assert app.send.post("ssl_check=1&text=hi", FORM, signed={}).status == 401  # not a probe
    assert {call.method for call in fake.calls} == {"auth.test"}


def test_forged_timestamps_and_bytes_that_are_not_text_are_refused_as_unsigned(
    app: Running, fake: FakeSlack
) -> None:
    body = urllib.parse.urlencode({"command": "/advisor", "text": "x", "channel_id": CHANNEL})
    not_a_time = app.send.post(
        body, FORM, signed={"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=0"}
    )
    not_utf8 = post_bytes(app, b'{"type": "event_callback", "x": "\xff\xfe"}', JSON)
    assert (not_a_time.status, not_utf8.status) == (401, 401)
    assert not EXCEPTION_TEXT.search(not_a_time.body + not_utf8.body)
    assert {call.method for call in fake.calls} == {"auth.test"}
    still_works(app, fake)


def post_bytes(app: Running, body: bytes, content_type: str) -> Sent:
    """``body`` as it is, with a signature computed over its bytes the way Slack would."""
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }
    request = urllib.request.Request(app.send.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Sent(response.status, response.read().decode(), 0.0)
    except urllib.error.HTTPError as err:
        return Sent(err.code, err.read().decode("utf-8", "replace"), 0.0)


# --- escaping what is echoed ---------------------------------------------------------------

# What each hostile string must not become in anything posted: a ping, a mention, a link.
PINGS = ("<!channel>", "<!here>", "<@U123>", "<#C123>", "<https://evil")


def hostile_slack(word: str) -> str:
    """``word`` with pings and links as Slack delivers them: real ones (`<!here>`), and the
    same characters typed literally (Slack sends those as `&lt;...&gt;`)."""
    literal = "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;#C123&gt; &lt;https://evil.example|click&gt;"
    real = "<!channel> <!here> <@U123> <#C123> <https://evil.example|click>"
    return f"{word} {literal} {real}"


def assert_nothing_pings(fake: FakeSlack) -> None:
    texts = said_to_people(fake)
    assert texts
    for text in texts:
        for ping in PINGS:
            assert ping not in text, f"{ping} reached Slack unescaped in: {text[:300]!r}"


def last_question(fake: FakeSlack, thread_ts: str) -> dict[str, Any]:
    questions = fake.questions(CHANNEL, thread_ts)
    assert questions
    return questions[-1]


def pending_id(app: Running, thread_ts: str) -> str | None:
    pending = app.advisor.engine.pending(interview_id(TEAM, CHANNEL, thread_ts))
    return pending.id if pending else None


def test_hostile_text_in_a_whole_interview_never_pings_or_links(
    app: Running, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A person whose display name is itself a ping.
    monkeypatch.setitem(slack_fake.USERS, "U0EVE", "<!channel> Eve <https://evil.example|x>")
    assert app.send.command(hostile_slack("route tickets"), user="U0EVE").status == 200
    app.idle()
    thread_ts = fake.parents()[-1]
    # A follow-up question, then every question answered first with hostile text (asked
    # again with a hint), then with something readable, or skipped.
    app.send.reply(hostile_slack("what is RAG and why"), thread_ts=thread_ts, user="U0EVE")
    app.idle()
    for _ in range(30):
        qid = pending_id(app, thread_ts)
        if qid is None:
            break
        app.send.reply(hostile_slack("well"), thread_ts=thread_ts, user="U0EVE")
        app.idle()
        if pending_id(app, thread_ts) == qid:
            answer = hostile_slack("the platform team") if qid == "owner" else "skip"
            app.send.reply(answer, thread_ts=thread_ts, user="U0ANA")
            app.idle()
    else:
        raise AssertionError("the interview never ended")
    summaries = [
        m
        for m in fake.replies(CHANNEL, thread_ts)
        if (m.get("metadata") or {}).get("event_type") == "advisor_memo"
    ]
    assert summaries, "no memo summary was posted"
    # Clicking a button with a hostile label, accepting the memo (the decider's name is
    # shown), a revision, the channel list and App Home echo use case and names again.
    app.send.click(summaries[-1], press(summaries[-1], "Accept"), user="U0EVE")
    app.send.reply(hostile_slack("change owner to"), thread_ts=thread_ts, user="U0EVE")
    app.send.command("list", user="U0EVE")
    app.idle()
    app.send.event({"type": "app_home_opened", "user": "U0EVE", "channel": "D1", "tab": "home"})
    app.idle()
    assert fake.views and fake.ephemeral
    shown = json.dumps(fake.called("chat.postMessage")[0].args, ensure_ascii=False)
    assert "&lt;!channel&gt;" in shown  # the literal text survived, escaped
    assert_nothing_pings(fake)


def test_a_hostile_click_label_and_answer_are_not_echoed_raw(app: Running, fake: FakeSlack) -> None:
    thread_ts = open_interview(app, fake)
    message = last_question(fake, thread_ts)
    assert message["metadata"]["event_payload"]["question_id"] == "task"
    button = press(message, "Something else")
    # Slack sends back what it was given, but a forged or edited payload could say anything.
    button["text"] = {"type": "plain_text", "text": "<!channel> <@U123> <https://evil.example|x>"}
    assert app.send.click(message, button).status == 200
    app.idle()
    assert_nothing_pings(fake)


def test_team_document_titles_and_text_are_escaped_in_answers(
    fake: FakeSlack, tmp_path: Path
) -> None:
    doc = tmp_path / "policy.md"
    doc.write_text(
        "# <!channel> Wombat policy <@U123> <#C123> <https://evil.example|click>\n\n"
        "Wombat projects need <!here> sign-off from <@U123> before fine-tuning, "
        "see <https://evil.example|the form>.\n",
        encoding="utf-8",
    )
    engine = Interviews()
    assert add_documents(open_db(), [doc])[0].ok
    app = run_app(fake, engine)
    try:
        thread_ts = open_interview(app, fake)
        app.send.reply("what does the wombat policy say about fine-tuning?", thread_ts=thread_ts)
        app.idle()
        answers = [m for m in fake.replies(CHANNEL, thread_ts) if m.get("bot_id") and "blocks" in m]
        assert any("Wombat" in json.dumps(m["blocks"]) for m in answers), "no answer cited it"
        assert_nothing_pings(fake)
    finally:
        app.stop()


def test_model_prose_with_pings_is_escaped(fake: FakeSlack) -> None:
    hostile = "<!channel> <@U123> <#C123> {said} see <https://evil.example|click> [{id}]."

    def responder(request: fake_api.Request) -> fake_api.Scripted:
        choice = (request.body.get("tool_choice") or {}).get("name")
        if choice == "record_profile":
            return fake_api.tool_use("record_profile", {})
        if choice == "write_prose":
            return fake_api.tool_use(
                "write_prose",
                {"context": "<!here> The team <@U123>.", "rationale": "Prompt engineering."},
            )
        # The pings wrapped around words of the cited passage: an answer the app accepts as
        # grounded in the team's guidance, so it is shown.
        passages = re.findall(r'<passage id="([^"]+)"[^>]*>\n(.*?)\n</passage>', request.text, re.S)
        pid, text = passages[0] if passages else ("x", "")
        return fake_api.text(hostile.format(said=" ".join(text.split()[:40]), id=pid))

    with fake_api.running(responder) as model:
        engine = Interviews(llm=Claude(model.client(max_retries=0)))
        app = run_app(fake, engine)
        try:
            thread_ts = open_interview(app, fake)
            app.send.reply("what is the escalation ladder?", thread_ts=thread_ts)
            app.send.reply("memo", thread_ts=thread_ts)
            app.idle()
            assert any("Job: answer." in r.text for r in model.requests)
            shown = "\n".join(said_to_people(fake))
            assert "&lt;!channel&gt;" in shown  # the model's answer was shown, escaped
            assert_nothing_pings(fake)
        finally:
            app.stop()
