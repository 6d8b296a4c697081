"""Resource attacks on ``advisor serve``'s HTTP edge (issue 12, items 8 and 9): huge bodies
are refused before they are read, chunked ones are cut off at the cap, and slow connections
that trickle a byte at a time do not shut Slack's requests out."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from typing import Any

from slack_fake import FakeSlack
from slack_harness import Running, app, fake, start

from bot.slack.http_edge import MAX_BODY, SlackEdge

__all__ = ["app", "fake"]  # fixtures


def _port(app: Running) -> int:
    return int(app.server.effective_port)


def _status(conn: socket.socket, timeout: float = 10.0) -> int:
    """The status code of the response on ``conn`` (0: closed with no answer)."""
    conn.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return int(data.split()[1]) if data.startswith(b"HTTP/") else 0


def _head(length_header: str) -> bytes:
    return (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{length_header}\r\n\r\n"
    ).encode()


def test_a_300_mb_content_length_is_refused_before_the_body_is_read(app: Running) -> None:
    with socket.create_connection(("127.0.0.1", _port(app))) as conn:
        conn.sendall(_head("Content-Length: 300000000") + b'{"type": "x"}')
        assert _status(conn) == 413  # answered with 13 bytes sent of the 300 MB announced


def test_the_edge_itself_never_reads_a_body_over_the_cap() -> None:
    """Under a WSGI server that does not enforce a cap, the edge refuses by Content-Length
    and reads nothing."""

    class Watched(io.BytesIO):
        asked = 0

        def read(self, size: int | None = -1) -> bytes:
            Watched.asked += size or 0
            return super().read(size)

    statuses: list[str] = []
    edge = SlackEdge(lambda env, start: [b""], "secret")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "CONTENT_LENGTH": str(300 * 1024 * 1024),
        "wsgi.input": Watched(b"{}"),
    }
    edge(environ, lambda status, headers, exc=None: statuses.append(status))
    assert statuses == ["413 Request Entity Too Large"] and Watched.asked == 0


def test_a_chunked_body_over_the_cap_is_cut_off(app: Running, fake: FakeSlack) -> None:
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", _port(app))) as conn:
        conn.sendall(_head("Transfer-Encoding: chunked"))
        try:
            for _ in range(2 * MAX_BODY // len(chunk) + 2):
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading at the cap and hung up
        assert _status(conn) == 413
    start(app, fake)  # and the server answers Slack as before


def test_slow_connections_do_not_shut_out_slacks_requests(app: Running, fake: FakeSlack) -> None:
    """150 connections that send a request a byte at a time (more than waitress's default
    limit of 100 connections); a signed request from Slack is still answered."""
    slow: list[socket.socket] = []
    stop = threading.Event()
    for _ in range(150):
        conn = socket.create_connection(("127.0.0.1", _port(app)))
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(conn)

    def trickle() -> None:
        while not stop.wait(0.5):
            for conn in slow:
                with contextlib.suppress(OSError):  # waitress dropped it: fine
                    conn.sendall(b"a")

    dripping = threading.Thread(target=trickle, daemon=True)
    dripping.start()
    try:
        time.sleep(0.5)
        thread_ts = start(app, fake)  # a slash command answered, and its thread started
        assert thread_ts
    finally:
        stop.set()
        dripping.join(5)
        for conn in slow:
            conn.close()
