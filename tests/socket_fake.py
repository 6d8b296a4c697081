"""A local Slack Socket Mode server: RFC 6455 websockets on 127.0.0.1, Slack's envelopes.

``SocketModeServer`` plays the far end of Socket Mode, on the standard library only: the
HTTP upgrade (``Sec-WebSocket-Accept``), masked client frames (an unmasked one is a
protocol error, closed with 1002), unmasked server frames with 7-, 16- and 64-bit
lengths, fragmented client messages, ping/pong and the close handshake. Each connection
gets Slack's ``hello``; the server sends ``events_api`` / ``slash_commands`` /
``interactive`` envelopes and keeps the client's acks (``{"envelope_id": ...,
"payload": ...}``), and can ask the client to reconnect (a ``disconnect`` message), close
the connection, or drop it without a word.

Each URL it hands out carries a ticket good for one connection, so a client that
reconnects must have called ``apps.connections.open`` again. ``FakeSlack(socket_url=
server.open_url)`` answers that call with one.

``SocketSender`` is ``SlackSender`` over the socket: the same payloads, each sent as an
envelope, waiting for its ack. ``SocketServe`` is ``advisor serve`` in Socket Mode.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import itertools
import json
import os
import re
import socket
import socketserver
import struct
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_fake import APP_ID, APP_TOKEN, BOT_TOKEN, FakeSlack, Sent, Serve, SlackSender

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL = {CLOSE, PING, PONG}


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept for a client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def encode_frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None
) -> bytes:
    """One frame; servers send them unmasked, clients with a 4-byte ``mask``."""
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if mask is not None else 0
    size = len(payload)
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[n % 4] for n, b in enumerate(payload))


@dataclass
class Frame:
    fin: bool
    opcode: int
    masked: bool
    rsv: int
    payload: bytes


class ProtocolError(Exception):
    """The peer broke RFC 6455; ``code`` is the close code that says so."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


def read_exact(stream: Any, size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) < size:
        raise EOFError("the connection closed in the middle of a frame")
    return data


def read_frame(stream: Any) -> Frame | None:
    """The next frame from a buffered binary stream, unmasked; None at a clean end."""
    first = stream.read(2)
    if not first:
        return None
    if len(first) < 2:
        raise EOFError("the connection closed in the middle of a frame")
    b1, b2 = first
    size = b2 & 0x7F
    if size == 126:
        size = struct.unpack("!H", read_exact(stream, 2))[0]
    elif size == 127:
        size = struct.unpack("!Q", read_exact(stream, 8))[0]
    masked = bool(b2 & 0x80)
    mask = read_exact(stream, 4) if masked else b""
    payload = read_exact(stream, size)
    if masked:
        payload = bytes(b ^ mask[n % 4] for n, b in enumerate(payload))
    return Frame(bool(b1 & 0x80), b1 & 0x0F, masked, b1 & 0x70, payload)


@dataclass
class Ack:
    """What the client sent back for one envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    connection: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class Envelope:
    """One envelope the server sent."""

    envelope_id: str
    type: str
    body: dict[str, Any]
    connection: int
    at: float = field(default_factory=time.monotonic)


class Connection:
    """One client's websocket, seen from the server."""

    def __init__(self, server: SocketModeServer, number: int, sock: socket.socket) -> None:
        self.server = server
        self.number = number
        self.sock = sock
        self.texts: list[str] = []  # every text message the client sent
        self.pings: list[bytes] = []  # payloads of the client's pings (each answered)
        self.pongs: list[bytes] = []  # payloads of the client's pongs
        self.frames = 0
        self.unmasked = 0  # frames the client sent without a mask (must stay 0)
        self.close_code: int | None = None  # from the client's close frame, if it sent one
        self.ended = threading.Event()  # the TCP connection is gone
        self._send_lock = threading.Lock()
        self._closing = False  # we sent a close frame

    @property
    def open(self) -> bool:
        return not self.ended.is_set() and not self._closing

    # --- sending ------------------------------------------------------------------------

    def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        with self._send_lock:
            self.sock.sendall(encode_frame(opcode, payload, fin=fin))

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(TEXT, json.dumps(message).encode())

    def ping(self, payload: bytes = b"") -> None:
        self.send_frame(PING, payload)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the close handshake; the client should answer or drop the connection."""
        self._closing = True
        with contextlib.suppress(OSError):
            self.send_frame(CLOSE, struct.pack("!H", code) + reason.encode())
        self.server._changed()

    def drop(self) -> None:
        """End the TCP connection without a close frame (a crash, a network cut)."""
        self._closing = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.server._changed()

    # --- receiving ----------------------------------------------------------------------

    def serve(self, stream: Any) -> None:
        try:
            self._receive(stream)
        except ProtocolError as err:
            self.server.errors.append(f"connection {self.number}: {err}")
            with contextlib.suppress(OSError):
                self.send_frame(CLOSE, struct.pack("!H", err.code))
        except (EOFError, OSError):
            pass  # the client went away
        finally:
            self.ended.set()
            self.server._changed()

    def _receive(self, stream: Any) -> None:
        parts: list[bytes] = []
        kind: int | None = None
        while True:
            frame = read_frame(stream)
            if frame is None:
                return
            self.frames += 1
            if not frame.masked:
                self.unmasked += 1
                raise ProtocolError(1002, "a client frame without a mask")
            if frame.rsv:
                raise ProtocolError(1002, "reserved bits set without an extension")
            if frame.opcode in CONTROL:
                if not frame.fin or len(frame.payload) > 125:
                    raise ProtocolError(1002, "a fragmented or oversized control frame")
                if self._control(frame):
                    return
                continue
            if frame.opcode == CONTINUATION and kind is None:
                raise ProtocolError(1002, "a continuation frame with nothing to continue")
            if frame.opcode != CONTINUATION:
                if kind is not None:
                    raise ProtocolError(1002, "a new message inside a fragmented one")
                if frame.opcode not in (TEXT, BINARY):
                    raise ProtocolError(1002, f"unknown opcode {frame.opcode:#x}")
                kind = frame.opcode
            parts.append(frame.payload)
            if frame.fin:
                data, message_kind = b"".join(parts), kind
                parts, kind = [], None
                if message_kind == TEXT:
                    self._text(data)

    def _control(self, frame: Frame) -> bool:
        """Handle a control frame; True when the connection is closing."""
        if frame.opcode == PING:
            self.pings.append(frame.payload)
            with contextlib.suppress(OSError):
                self.send_frame(PONG, frame.payload)
        elif frame.opcode == PONG:
            self.pongs.append(frame.payload)
        else:
            if len(frame.payload) >= 2:
                self.close_code = struct.unpack("!H", frame.payload[:2])[0]
            if not self._closing:  # the client started it: answer, as RFC 6455 asks
                self._closing = True
                with contextlib.suppress(OSError):
                    self.send_frame(CLOSE, frame.payload[:2])
            return True
        self.server._changed()
        return False

    def _text(self, data: bytes) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(1007, "a text message that is not UTF-8") from None
        self.texts.append(text)
        try:
            message = json.loads(text)
        except ValueError:
            self.server.errors.append(f"connection {self.number}: not JSON: {text[:80]!r}")
            message = None
        if isinstance(message, dict) and "envelope_id" in message:
            payload = message.get("payload")
            self.server._acked(Ack(str(message["envelope_id"]), payload, self.number))
        else:
            self.server.errors.append(f"connection {self.number}: not an ack: {text[:80]!r}")
        self.server._changed()


class _Handler(socketserver.StreamRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        self.server.owner._accept(self.request, self.rfile)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: SocketModeServer


class SocketModeServer:
    """Slack's Socket Mode end on loopback. ``open_url`` is what apps.connections.open
    returns; ``send`` delivers an envelope on the newest open connection."""

    def __init__(self, *, app_id: str = APP_ID, hello: bool = True) -> None:
        self.app_id = app_id
        self.hello = hello
        self.tickets: list[str] = []  # every ticket handed out, oldest first
        self.refused: list[str] = []  # why a handshake was refused
        self.errors: list[str] = []  # protocol errors and messages that were not acks
        self.connections: list[Connection] = []
        self.envelopes: list[Envelope] = []
        self.acks: dict[str, list[Ack]] = {}
        self._used: set[str] = set()
        self.upgrades = 0  # upgrade requests accepted so far
        self.hold_upgrades = threading.Event()  # clear it to keep new connections waiting
        self.hold_upgrades.set()
        self._numbers = itertools.count(1)
        self._cond = threading.Condition()
        self._tcp = _TCPServer(("127.0.0.1", 0), _Handler)
        self._tcp.owner = self
        self.port = self._tcp.server_address[1]
        self._thread = threading.Thread(
            target=self._tcp.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> SocketModeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._tcp.shutdown()
        self._tcp.server_close()
        for conn in list(self.connections):
            conn.drop()
        self._thread.join(5)

    # --- what apps.connections.open hands out -------------------------------------------

    def open_url(self) -> str:
        """A fresh URL with a one-connection ticket, shaped like Slack's
        wss://.../link/?ticket=...&app_id=..., but ws:// (the builtin client speaks plain
        TCP to any port but 443)."""
        ticket = str(uuid.uuid4())
        with self._cond:
            self.tickets.append(ticket)
        query = urllib.parse.urlencode({"ticket": ticket, "app_id": self.app_id})
        return f"ws://127.0.0.1:{self.port}/link/?{query}"

    # --- test controls ------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (checked whenever something arrives)."""
        with self._cond:
            value = self._cond.wait_for(predicate, timeout)
        if not value:
            raise AssertionError("timed out waiting for the Socket Mode server to see it")
        return value

    def live(self) -> list[Connection]:
        return [c for c in self.connections if c.open]

    def wait_connection(self, number: int, timeout: float = 5.0) -> Connection:
        """The ``number``-th connection (1 is the first), once it is open."""
        return self.wait_for(
            lambda: (
                len(self.connections) >= number
                and self.connections[number - 1].open
                and self.connections[number - 1]
            ),
            timeout,
        )

    def send(
        self,
        kind: str,
        payload: Any,
        *,
        accepts_response_payload: bool = False,
        connection: Connection | None = None,
        **extra: Any,
    ) -> Envelope:
        """Deliver one envelope, as Slack does, on ``connection`` or the newest open one."""
        conn = connection or self.wait_for(lambda: self.live() and self.live()[-1])
        envelope_id = str(uuid.uuid4())
        body = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            **extra,
        }
        envelope = Envelope(envelope_id, kind, body, conn.number)
        with self._cond:
            self.envelopes.append(envelope)
        conn.send_json(body)
        return envelope

    def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> Ack:
        """The client's ack for an envelope, within ``timeout`` seconds."""
        acks = self.wait_for(lambda: self.acks.get(envelope_id), timeout)
        return acks[0]

    def disconnect(self, reason: str = "refresh_requested", conn: Connection | None = None) -> None:
        """Ask the client to move to a new connection, as Slack does every few hours."""
        target = conn or self.live()[-1]
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        target.send_json(message)

    # --- the server ---------------------------------------------------------------------

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _acked(self, ack: Ack) -> None:
        with self._cond:
            self.acks.setdefault(ack.envelope_id, []).append(ack)

    def _accept(self, sock: socket.socket, stream: Any) -> None:
        key = self._handshake(sock, stream)
        if key is None:
            return
        with self._cond:
            self.upgrades += 1
            self._cond.notify_all()
        # A slow network, on demand: the client is kept waiting for its upgrade.
        self.hold_upgrades.wait(10)
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            ).encode()
        )
        conn = Connection(self, next(self._numbers), sock)
        if self.hello:  # before the connection is listed: no envelope can come first
            self._hello(conn)
        with self._cond:
            self.connections.append(conn)
            self._cond.notify_all()
        conn.serve(stream)

    def _hello(self, conn: Connection) -> None:
        with contextlib.suppress(OSError):  # gone already: its reader sees the end
            conn.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self.live()) + 1,
                    "debug_info": {
                        "host": "applink-fake",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )

    def _handshake(self, sock: socket.socket, stream: Any) -> str | None:
        """The client's Sec-WebSocket-Key, or None after refusing the upgrade."""
        lines: list[str] = []
        while True:
            line = stream.readline(8192)
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line.decode("latin-1").rstrip("\r\n"))
        if not lines:
            self._refuse(sock, "400 Bad Request", "an empty request")
            return None
        method, _, rest = lines[0].partition(" ")
        target, _, version = rest.partition(" ")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        problem = self._upgrade_problem(method, version, headers)
        if problem:
            self._refuse(sock, "400 Bad Request", problem)
            return None
        parsed = urllib.parse.urlsplit(target)
        ticket = dict(urllib.parse.parse_qsl(parsed.query)).get("ticket", "")
        with self._cond:
            known = ticket in self.tickets and ticket not in self._used
            self._used.add(ticket)
        if parsed.path != "/link/" or not known:
            self._refuse(sock, "401 Unauthorized", f"no valid ticket in {target!r}")
            return None
        return headers["sec-websocket-key"]

    @staticmethod
    def _upgrade_problem(method: str, version: str, headers: dict[str, str]) -> str | None:
        if method != "GET" or version != "HTTP/1.1":
            return f"not a GET over HTTP/1.1: {method} {version}"
        if "host" not in headers:
            return "no Host header"
        if headers.get("upgrade", "").lower() != "websocket":
            return "no Upgrade: websocket"
        if "upgrade" not in re.split(r"\s*,\s*", headers.get("connection", "").lower()):
            return "no Connection: Upgrade"
        if headers.get("sec-websocket-version") != "13":
            return "not Sec-WebSocket-Version: 13"
        try:
            key = base64.b64decode(headers.get("sec-websocket-key", ""), validate=True)
        except binascii.Error:
            key = b""
        if len(key) != 16:
            return "a Sec-WebSocket-Key that is not 16 bytes in base64"
        return None

    def _refuse(self, sock: socket.socket, status: str, why: str) -> None:
        """Answer the upgrade with an HTTP error instead of 101, and note why."""
        with self._cond:
            self.refused.append(why)
            self._cond.notify_all()
        body = why.encode()
        with contextlib.suppress(OSError):
            sock.sendall(
                f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )


# --- Slack's side: envelopes ------------------------------------------------------------


@dataclass
class Delivered(Sent):
    """An envelope sent over the socket: ``status`` 200 once acked (``seconds`` after it
    was sent), 0 when no ack came in time; ``body`` is the ack's payload as JSON."""

    envelope: Envelope | None = None
    ack: Ack | None = None


class SocketSender(SlackSender):
    """``SlackSender`` over Socket Mode: the same slash commands, events and clicks, each
    delivered as the envelope Slack would wrap it in, then its ack awaited."""

    def __init__(self, server: SocketModeServer, fake: FakeSlack, *, wait: float = 3.0) -> None:
        super().__init__(f"ws://127.0.0.1:{server.port}/link/", fake, secret="")
        self.server = server
        self.wait = wait
        self.connection: Connection | None = None  # where to deliver (None: the newest)

    def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        signed: dict[str, str] | None = None,
    ) -> Sent:
        extra: dict[str, Any] = {}
        if content_type.startswith("application/json"):
            kind, payload = "events_api", json.loads(body)
            retry = (headers or {}).get("X-Slack-Retry-Num")
            extra = {
                "retry_attempt": int(retry or 0),
                "retry_reason": (headers or {}).get("X-Slack-Retry-Reason", ""),
            }
        else:
            form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
            if "payload" in form:
                kind, payload = "interactive", json.loads(form["payload"])
            else:
                kind, payload = "slash_commands", form
        # Slack takes a response in the ack for commands and view submissions only.
        accepts = kind == "slash_commands" or (
            isinstance(payload, dict) and payload.get("type") == "view_submission"
        )
        envelope = self.server.send(
            kind, payload, accepts_response_payload=accepts, connection=self.connection, **extra
        )
        try:
            ack = self.server.wait_ack(envelope.envelope_id, self.wait)
        except AssertionError:
            return Delivered(0, "", self.wait, envelope, None)
        text = json.dumps(ack.payload) if ack.payload is not None else ""
        return Delivered(200, text, ack.at - envelope.at, envelope, ack)


# --- the real command, in Socket Mode ---------------------------------------------------

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


class SocketServe(Serve):
    """``advisor serve`` in its own process with SLACK_APP_TOKEN set, against ``fake``
    (whose apps.connections.open hands out ``server``'s URLs), on the test's ADVISOR_DB.
    Ready once it says it is connected; ``send`` delivers envelopes on the socket.
    ``args``: more options (``--workers 2``)."""

    send: SocketSender

    def __init__(
        self,
        fake: FakeSlack,
        server: SocketModeServer,
        *,
        app_token: str = APP_TOKEN,
        signing_secret: bool = False,
        args: list[str] | None = None,
    ) -> None:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": app_token,
            "SLACK_API_URL": fake.url,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("ADVISOR_FAULT", None)
        if not signing_secret:  # Socket Mode needs no signing secret
            env.pop("SLACK_SIGNING_SECRET", None)
        for name in PROXY_VARIABLES:  # slack_sdk tunnels even 127.0.0.1 through a proxy
            env.pop(name, None)
        self._launch(env, args or [], r"connected to .* over Socket Mode")
        self.send = SocketSender(server, fake)

    def log(self) -> str:
        return "".join(self.output)
