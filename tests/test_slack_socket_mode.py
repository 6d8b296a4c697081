"""``advisor serve`` over Socket Mode, end to end on the real wire protocol: the command
in its own process with SLACK_APP_TOKEN set, apps.connections.open on the fake Web API
(tests/slack_fake.py), and a websocket server on loopback that speaks RFC 6455 and Slack's
envelopes (tests/socket_fake.py). Every envelope must be acked within Slack's 3 seconds."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from slack_fake import TEAM, FakeSlack, press
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.connection import ConnectionState
from socket_fake import (
    APP_TOKEN,
    Delivered,
    SocketModeServer,
    SocketServe,
    accept_key,
    encode_frame,
    read_frame,
)

from bot.slack.payloads import interview_id
from bot.slack.socket_mode import PromptSocketModeClient, client_class, missing_internals
from graph.store import AnswerRecord, Store

CHANNEL = "C0CHAN"
USE_CASE = "route support tickets to 12 queues"
TASK = "Classification: sort inputs into fixed categories"
SLACK_ACK_DEADLINE = 3.0  # seconds Slack waits for an ack before it gives up or retries
PROMPTLY = 1.5  # a healthy ack or reconnect takes a tenth of this: room for a slow machine


@pytest.fixture
def server() -> Iterator[SocketModeServer]:
    with SocketModeServer() as socket_server:
        yield socket_server


@pytest.fixture
def fake(server: SocketModeServer) -> Iterator[FakeSlack]:
    with FakeSlack(socket_url=server.open_url) as web_api:
        yield web_api


@pytest.fixture
def serve(fake: FakeSlack, server: SocketModeServer) -> Iterator[SocketServe]:
    running = SocketServe(fake, server)
    yield running
    running.kill()  # a graceful stop has its own test; this keeps the others quick


# --- helpers ----------------------------------------------------------------------------


def acked(sent: Any) -> Delivered:
    """The delivery, checked: acked on time, for the envelope that was sent."""
    assert isinstance(sent, Delivered)
    assert sent.envelope is not None
    assert sent.status == 200, f"no ack for {sent.envelope.type} in {SLACK_ACK_DEADLINE}s"
    assert sent.ack is not None and sent.ack.envelope_id == sent.envelope.envelope_id
    assert sent.seconds < SLACK_ACK_DEADLINE
    return sent


def start(serve: SocketServe, fake: FakeSlack, text: str = USE_CASE) -> tuple[str, dict[str, Any]]:
    """/advisor TEXT over the socket; the new thread's ts and its first question."""
    before = len(fake.parents())
    sent = acked(serve.send.command(text))
    assert sent.body == ""  # a bare ack: the interview goes on in a thread
    thread_ts = fake.wait_for(lambda: fake.parents()[before:])[0]
    return thread_ts, fake.wait_for(lambda: fake.questions(CHANNEL, thread_ts))[-1]


def question_id(message: dict[str, Any]) -> str:
    return str(message["metadata"]["event_payload"]["question_id"])


def next_question(fake: FakeSlack, thread_ts: str, after: dict[str, Any]) -> dict[str, Any]:
    """The question posted after ``after``, once there is one."""
    return fake.wait_for(
        lambda: [
            q for q in fake.questions(CHANNEL, thread_ts) if float(q["ts"]) > float(after["ts"])
        ]
    )[0]


def answers(thread_ts: str) -> list[tuple[str, str]]:
    """(question id, answer) for each answer the interview kept, in order."""
    return [(a.question_id, a.text) for a in records(thread_ts)]


def records(thread_ts: str) -> list[AnswerRecord]:
    return Store().answers(interview_id(TEAM, CHANNEL, thread_ts))


def assert_clean_wire(server: SocketModeServer, serve: SocketServe) -> None:
    """The client spoke RFC 6455 and Slack's protocol without a slip, and said nothing
    alarming: every frame masked, every text an ack, no refused handshake, no traceback."""
    assert server.errors == [] and server.refused == []
    assert all(c.unmasked == 0 for c in server.connections)
    assert "Traceback" not in serve.log(), serve.log()


# --- a conversation over the socket -----------------------------------------------------


def test_a_slash_command_envelope_is_acked_and_the_first_question_is_posted_in_a_thread(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    server.wait_connection(1)
    opened = fake.called("apps.connections.open")
    assert len(opened) == 1 and opened[0].token == APP_TOKEN  # the app token, not the bot's
    assert len(server.connections) == 1  # one websocket, with the ticket it was given

    thread_ts, first = start(serve, fake)

    parent = fake.messages[(CHANNEL, thread_ts)]
    assert USE_CASE in parent["text"] and "<@U0ANA>" in parent["text"]
    assert first["thread_ts"] == thread_ts and question_id(first) == "task"
    assert answers(thread_ts) == [("use_case", USE_CASE)]
    assert_clean_wire(server, serve)


def test_a_threaded_reply_envelope_answers_and_the_next_question_is_posted(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    thread_ts, first = start(serve, fake)

    event = serve.send.reply_event(TASK, thread_ts=thread_ts, user="U0BEN")
    sent = acked(serve.send.event(event, event_id="EvREPLY1"))
    assert sent.ack is not None and sent.ack.payload is None  # events take a bare ack

    second = next_question(fake, thread_ts, first)
    assert question_id(second) != question_id(first)
    assert ("task", TASK) in answers(thread_ts)

    # Slack delivers an envelope again when it thinks the ack was lost: same event_id,
    # retry_attempt 1. Acked again, answered once.
    again = acked(serve.send.event(event, event_id="EvREPLY1", retry=1))
    assert again.envelope is not None and again.envelope.body["retry_attempt"] == 1
    serve.send.event(serve.send.reply_event("skip", thread_ts=thread_ts), event_id="EvREPLY2")
    third = next_question(fake, thread_ts, second)
    kept = answers(thread_ts)
    assert [text for _, text in kept].count(TASK) == 1
    assert kept[-1][0] == question_id(second)  # "skip" answered the second question
    assert len(fake.questions(CHANNEL, thread_ts)) == 3
    assert float(third["ts"]) > float(second["ts"])
    assert_clean_wire(server, serve)


def test_a_button_press_envelope_is_acked_and_records_the_answer(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    thread_ts, first = start(serve, fake)

    sent = acked(serve.send.click(first, press(first, TASK), user="U0CHI"))
    assert sent.envelope is not None and sent.envelope.type == "interactive"

    second = next_question(fake, thread_ts, first)
    assert question_id(second) != "task"
    pressed_answer = [a for a in records(thread_ts) if a.question_id == "task"]
    assert len(pressed_answer) == 1 and "Chi Nguyen" in pressed_answer[0].by
    chosen = json.loads(press(first, TASK)["value"])["value"]
    assert pressed_answer[0].values == [chosen]
    # The pressed question loses its buttons and says who answered.
    pressed = fake.wait_for(lambda: fake.messages[(CHANNEL, first["ts"])].get("edited"))
    assert pressed
    shown = fake.messages[(CHANNEL, first["ts"])]
    assert not [b for b in shown["blocks"] if b["type"] == "actions"]
    assert "answered by <@U0CHI>" in json.dumps(shown["blocks"])
    assert_clean_wire(server, serve)


def test_help_comes_back_in_the_ack_payload(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    sent = acked(serve.send.command("help"))
    assert sent.envelope is not None and sent.envelope.body["accepts_response_payload"]
    assert sent.ack is not None and sent.ack.payload is not None
    assert sent.ack.payload["response_type"] == "ephemeral"
    assert "/advisor" in sent.ack.payload["text"]
    assert not fake.parents()  # nothing posted in the channel
    assert_clean_wire(server, serve)


# --- what Slack would never send --------------------------------------------------------

UNUSABLE = [
    ("events_api", {"type": "event_callback", "team_id": TEAM, "event": "not an object"}),
    ("events_api", {"type": "event_callback", "authorizations": "x", "event": {"type": "x"}}),
    ("interactive", {"type": "block_actions", "actions": "press", "user": {"id": "U0ANA"}}),
    ("slash_commands", {"command": "/advisor", "text": "x", "user": ["U0ANA"]}),
]


def test_envelopes_bolt_cannot_handle_are_acked_and_dropped_and_the_socket_keeps_working(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    for kind, payload in UNUSABLE:
        envelope = server.send(kind, payload)
        ack = server.wait_ack(envelope.envelope_id, SLACK_ACK_DEADLINE)
        assert ack.payload is None  # acked, so Slack does not deliver it again
    # Frames that are no envelope at all are ignored too.
    conn = server.live()[-1]
    conn.send_json({"type": "something_new"})
    conn.send_frame(0x1, b"{not json")

    _thread_ts, first = start(serve, fake)  # the same connection still works

    assert question_id(first) == "task" and len(fake.parents()) == 1
    assert len(server.connections) == 1 and conn.open
    fake.wait_for(lambda: serve.log().count("dropped a Socket Mode") == len(UNUSABLE))
    assert server.errors == [] and server.refused == []


@pytest.mark.parametrize("payload", [["not", "an", "object"], "a string", None, 42])
def test_an_envelope_whose_payload_is_not_an_object_is_acked_and_dropped(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer, payload: Any
) -> None:
    envelope = server.send("events_api", payload)
    ack = server.wait_ack(envelope.envelope_id, PROMPTLY)
    assert ack.payload is None  # acked, so Slack does not deliver it again
    fake.wait_for(lambda: "the payload is not a JSON object" in serve.log())
    _thread_ts, first = start(serve, fake)  # and the socket keeps working
    assert question_id(first) == "task"
    assert_clean_wire(server, serve)


# --- the wire: ping/pong, reconnects ----------------------------------------------------


def test_the_client_answers_pings_and_pings_the_server(
    serve: SocketServe, server: SocketModeServer
) -> None:
    conn = server.wait_connection(1)
    conn.ping(b"are you there")
    server.wait_for(lambda: b"are you there" in conn.pongs)
    # The client pings as soon as it connects, to time the server's pongs.
    assert conn.pings and conn.pings[0].count(b":") == 1
    assert_clean_wire(server, serve)


def test_a_large_envelope_with_an_eight_byte_length_is_read_whole(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    # app_home_opened carries the Home tab as it is now: up to 100 blocks of 3,000 chars.
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{n} " + "x" * 2_900}}
        for n in range(100)
    ]
    view = {"type": "home", "blocks": blocks}
    home = {"type": "app_home_opened", "user": "U0ANA", "channel": "D0DM", "tab": "home"}
    sent = acked(serve.send.event({**home, "view": view}))
    assert sent.envelope is not None and len(json.dumps(sent.envelope.body)) > 1 << 16
    fake.wait_for(lambda: fake.called("views.publish"))
    assert_clean_wire(server, serve)


def test_a_refresh_request_moves_to_a_new_connection_that_keeps_working(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    first_conn = server.wait_connection(1)
    thread_ts, first = start(serve, fake)

    server.disconnect("refresh_requested")
    second_conn = server.wait_connection(2)
    assert len(fake.called("apps.connections.open")) == 2  # a new URL, a new ticket
    assert second_conn.number == 2 and not server.refused
    first_conn.ended.wait(5)  # the client lets the old connection go
    assert first_conn.ended.is_set()

    sent = acked(serve.send.click(first, press(first, TASK)))
    assert sent.ack is not None and sent.ack.connection == 2
    assert question_id(next_question(fake, thread_ts, first)) != "task"
    assert_clean_wire(server, serve)


def test_stop_ends_the_socket_and_finishes_work_in_progress(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    conn = server.wait_connection(1)
    thread_ts, _first = start(serve, fake)
    began = time.monotonic()
    serve.stop()  # SIGTERM
    assert serve.proc.returncode == 0
    assert time.monotonic() - began < 10
    conn.ended.wait(5)
    assert conn.ended.is_set()
    assert "Traceback" not in serve.log(), serve.log()
    assert answers(thread_ts) == [("use_case", USE_CASE)]


# --- where slack_sdk's built-in client is slow, and bot/socket_mode.py is not ------------


def test_an_envelope_right_after_a_refresh_is_acked_promptly(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    server.wait_connection(1)
    server.disconnect("refresh_requested")
    server.wait_connection(2)
    serve.send.wait = PROMPTLY
    sent = acked(serve.send.command("help"))  # the built-in client alone: 3.1 s, too late
    assert sent.ack is not None and sent.ack.connection == 2


def test_an_envelope_on_the_old_connection_during_a_refresh_is_still_handled(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    first = server.wait_connection(1)
    server.hold_upgrades.clear()  # the new connection takes a while to come up
    server.disconnect("refresh_requested", conn=first)
    server.wait_for(lambda: server.upgrades == 2)  # the client is moving
    # Slack may still deliver on the old connection until the new one is up.
    event = {"type": "app_home_opened", "user": "U0ANA", "tab": "home"}
    envelope = server.send(
        "events_api", {"type": "event_callback", "event": event}, connection=first
    )
    server.hold_upgrades.set()
    server.wait_connection(2)
    ack = server.wait_ack(envelope.envelope_id, timeout=SLACK_ACK_DEADLINE)
    assert ack.at - envelope.at < SLACK_ACK_DEADLINE


def test_the_client_reconnects_promptly_when_the_server_closes_the_connection(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    server.wait_connection(1).close(1001, "going away")
    server.wait_connection(2, timeout=PROMPTLY)  # the built-in client alone: 10 s / 60 s
    assert len(fake.called("apps.connections.open")) == 2
    serve.send.wait = PROMPTLY
    sent = acked(serve.send.command("help"))
    assert sent.ack is not None and sent.ack.connection == 2


def test_the_client_reconnects_promptly_when_the_connection_drops(
    serve: SocketServe, fake: FakeSlack, server: SocketModeServer
) -> None:
    server.wait_connection(1).drop()
    server.wait_connection(2, timeout=PROMPTLY)  # the built-in client alone: 10 s / 60 s
    assert len(fake.called("apps.connections.open")) == 2
    serve.send.wait = PROMPTLY
    sent = acked(serve.send.command("help"))
    assert sent.ack is not None and sent.ack.connection == 2


def test_the_installed_slack_sdk_has_what_the_socket_mode_fixes_rely_on() -> None:
    assert missing_internals() == []
    assert client_class() is PromptSocketModeClient


def test_a_slack_sdk_without_those_internals_gets_its_own_client_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delitem(ConnectionState.__annotations__, "terminated")  # renamed, say
    monkeypatch.delattr(SocketModeClient, "_run_current_session")
    assert client_class() is SocketModeClient
    warning = caplog.records[-1]
    assert warning.levelname == "WARNING"
    assert "ConnectionState.terminated" in warning.getMessage()
    assert "SocketModeClient._run_current_session" in warning.getMessage()


# --- the fake itself: strict enough that a clean wire means something ---------------------


def handshake(server: SocketModeServer, url: str) -> tuple[socket.socket, bytes]:
    """A raw websocket client: the upgrade for ``url``; the socket and the reply head."""
    parsed = urllib.parse.urlsplit(url)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {parsed.path}?{parsed.query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    if head.startswith(b"HTTP/1.1 101"):
        assert f"Sec-WebSocket-Accept: {accept_key(key)}".encode() in head
    return sock, head


def test_the_fake_refuses_a_ticket_used_twice_and_unmasked_frames() -> None:
    with SocketModeServer() as server:
        url = server.open_url()
        sock, head = handshake(server, url)
        with sock, sock.makefile("rb") as stream:
            assert head.startswith(b"HTTP/1.1 101")
            hello = read_frame(stream)
            assert hello is not None and json.loads(hello.payload)["type"] == "hello"
            again, refused = handshake(server, url)  # the same ticket: a new one is needed
            again.close()
            assert refused.startswith(b"HTTP/1.1 401") and server.refused

            sock.sendall(encode_frame(0x1, b'{"envelope_id": "e1"}', mask=os.urandom(4)))
            server.wait_for(lambda: "e1" in server.acks)
            sock.sendall(encode_frame(0x1, b'{"envelope_id": "e2"}'))  # no mask
            closing = read_frame(stream)
            assert closing is not None and closing.opcode == 0x8
            assert closing.payload[:2] == (1002).to_bytes(2, "big")
            assert server.errors and "without a mask" in server.errors[0]
