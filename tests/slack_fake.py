"""A local Slack: a Web API server on 127.0.0.1 and a client that sends signed requests.

``FakeSlack`` speaks enough of the Web API for the app (auth.test, chat.*, users.info,
views.publish, the three calls of files_upload_v2, and files.info with ``url_private``
downloads for files people share: ``share_file``), accepts form or JSON bodies, keeps
the messages and files it was given so a test can read the thread back, records every call,
and can be told to fail the next calls with 429 (Retry-After) or 500.

``SlackSender`` plays Slack's side of the Events API: slash commands, ``event_callback``
and ``block_actions`` payloads shaped like the real ones, signed with the signing secret.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
TEAM = "T0TEAM"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0APP"
APP_TOKEN = "xapp-1-A0APP-1-socketmodetoken"  # what apps.connections.open takes
USERS = {"U0ANA": "Ana Lopez", "U0BEN": "Ben Okafor", "U0CHI": "Chi Nguyen"}

SIGN_IN_PAGE = (
    "<!DOCTYPE html><html><head><title>Slack</title></head>"
    "<body>Sign in to Acme on Slack</body></html>"
)

_JSON_ARGS = (
    "blocks",
    "metadata",
    "view",
    "files",
    "attachments",
    "document_content",
)


def _text_chars(block: Any) -> int:
    if isinstance(block, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else _text_chars(v)
            for k, v in block.items()
        )
    if isinstance(block, list):
        return sum(_text_chars(b) for b in block)
    return 0


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    result: dict[str, Any] | None = None  # what the fake answered (None: failed on purpose)


@dataclass
class Failure:
    status: int
    retry_after: int | None
    method: str | None


class FakeSlack:
    """The Web API on loopback. ``url`` is what ``SLACK_API_URL`` should be.

    ``socket_url``: Socket Mode is on, and apps.connections.open with ``app_token``
    answers with a fresh URL from it (tests/socket_fake.py ``SocketModeServer.open_url``).
    Without it, every app token is refused with invalid_auth."""

    def __init__(
        self,
        token: str = BOT_TOKEN,
        *,
        socket_url: Callable[[], str] | None = None,
        app_token: str = APP_TOKEN,
    ) -> None:
        self.token = token
        self.socket_url = socket_url
        self.app_token = app_token
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.views: list[dict[str, Any]] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # posts to response_url
        self.errors: dict[str, str] = {}  # method -> Slack error code (ok: false)
        self.fail_uploads = False
        self.refuse_blocks: str | None = None  # chat.* with blocks gets this error
        self.canvases: dict[str, dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = []  # assistant.threads.setStatus calls
        self.free_team = False  # canvases.create needs a channel_id (a tabbed canvas)
        # Files people shared (``share_file``): the Slack file object, its bytes, and how
        # its url_private answers (status, content type, body, delay) when a test says so.
        self.shared: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.serving: dict[str, dict[str, Any]] = {}
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # socketserver's default of 5 drops bursts of calls
            allow_reuse_address = True  # down() then up() on the same port

        self._server_class = Server
        self._handler_class = Handler
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api/"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.is_up = True

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.is_up:
            self.down()

    def down(self) -> None:
        """Stop listening: every call now gets "connection refused"."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
        self.is_up = False

    def up(self) -> None:
        """Listen again on the same port (after ``down``), with everything kept."""
        self.server = self._server_class(("127.0.0.1", self.port), self._handler_class)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.is_up = True

    # --- test controls ----------------------------------------------------------------

    def fail_next(
        self, count: int, status: int, *, retry_after: int | None = None, method: str | None = None
    ) -> None:
        """The next ``count`` calls (of ``method``, or any) get ``status`` instead."""
        with self._lock:
            self._failures.extend(Failure(status, retry_after, method) for _ in range(count))

    def called(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def methods(self) -> set[str]:
        with self._lock:
            return {c.method for c in self.calls}

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The parent and every reply and file in one thread, oldest first."""
        with self._lock:
            items = [
                m
                for (ch, ts), m in self.messages.items()
                if ch == channel and (ts == thread_ts or m.get("thread_ts") == thread_ts)
            ]
            items += [
                f
                for f in self.files.values()
                if f.get("channel") == channel and f.get("thread_ts") == thread_ts
            ]
            # A snapshot, copied under the lock: chat.update edits messages in place.
            return copy.deepcopy(sorted(items, key=lambda m: float(m["ts"])))

    def parents(self) -> list[str]:
        """The ts of every message the app posted outside a thread, oldest first."""
        return [
            c.result["ts"]
            for c in self.called("chat.postMessage")
            if not c.args.get("thread_ts") and c.result and c.result.get("ok")
        ]

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return [m for m in self.thread(channel, thread_ts) if m["ts"] != thread_ts]

    def questions(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.replies(channel, thread_ts)
            if (m.get("metadata") or {}).get("event_type") == "advisor_question"
        ]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.01)
        raise AssertionError("timed out waiting for the fake Slack to see it")

    # --- the server -------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlparse(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if parsed.path.startswith("/upload/"):
            self._upload(request, parsed.path.rsplit("/", 1)[-1], raw)
            return
        if parsed.path.startswith("/files-pri/"):
            self._download(request, parsed.path)
            return
        if parsed.path.startswith("/response/"):
            with self._lock:
                self.responses.append(json.loads(raw or b"{}"))
            self._send(request, 200, {"ok": True})
            return
        if not parsed.path.startswith("/api/"):
            self._send(request, 404, {"ok": False, "error": "not_found"})
            return
        method = parsed.path.removeprefix("/api/")
        args = self._args(request, raw, parsed.query)
        auth = request.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ") if auth else args.get("token")
        call = Call(method, args, token)
        with self._lock:
            self.calls.append(call)
            failure = self._take_failure(method)
        if failure is not None:
            headers = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            body = {"ok": False, "error": "ratelimited" if failure.status == 429 else "fatal"}
            self._send(request, failure.status, body, headers)
            return
        if method == "apps.connections.open" and token != self.token:
            self._connections_open(request, call, token)
            return
        if token != self.token:
            self._send(request, 200, {"ok": False, "error": "invalid_auth"})
            return
        error = self.errors.get(method)
        if error:
            self._send(request, 200, {"ok": False, "error": error})
            return
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            self._send(request, 200, {"ok": False, "error": "unknown_method"})
            return
        with self._lock:
            body = handler(args)
            call.result = body
        self._send(request, 200, body)

    def _connections_open(
        self, request: BaseHTTPRequestHandler, call: Call, token: str | None
    ) -> None:
        """Socket Mode's one call, made with the app-level token, not the bot's."""
        if self.socket_url is None or token != self.app_token:
            body: dict[str, Any] = {"ok": False, "error": "invalid_auth"}
        elif "apps.connections.open" in self.errors:
            body = {"ok": False, "error": self.errors["apps.connections.open"]}
        else:
            body = {"ok": True, "url": self.socket_url()}
        with self._lock:
            call.result = body
        self._send(request, 200, body)

    def add_user_message(self, event: dict[str, Any]) -> None:
        """Keep a person's message as Slack would, so the thread reads back whole."""
        with self._lock:
            self.messages[(event["channel"], event["ts"])] = dict(event)

    def _take_failure(self, method: str) -> Failure | None:
        for n, failure in enumerate(self._failures):
            if failure.method in (None, method):
                return self._failures.pop(n)
        return None

    @staticmethod
    def _args(request: BaseHTTPRequestHandler, raw: bytes, query: str) -> dict[str, Any]:
        args: dict[str, Any] = dict(urllib.parse.parse_qsl(query))
        kind = request.headers.get("Content-Type") or ""
        if raw and kind.startswith("application/json"):
            args.update(json.loads(raw))
        elif raw:
            args.update(urllib.parse.parse_qsl(raw.decode()))
        for key in _JSON_ARGS:
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any] | str,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        request.send_response(status)
        kind = "application/json" if isinstance(body, dict) else "text/plain"
        request.send_header("Content-Type", f"{kind}; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(data)

    def _upload(self, request: BaseHTTPRequestHandler, file_id: str, raw: bytes) -> None:
        with self._lock:
            self.calls.append(Call("(upload)", {"file_id": file_id, "bytes": len(raw)}, None))
            known = file_id in self.files
            if known and not self.fail_uploads:
                self.files[file_id]["content"] = raw
        if self.fail_uploads or not known:
            self._send(request, 500, "upload failed")
        else:
            self._send(request, 200, f"OK - {len(raw)}")

    def share_file(
        self,
        name: str,
        content: bytes,
        *,
        mimetype: str = "text/csv",
        filetype: str = "csv",
        size: int | None = None,
        user: str = "U0ANA",
        **serving: Any,
    ) -> dict[str, Any]:
        """A file someone uploads to Slack: the file object as a ``file_share`` event and
        files.info show it (``size`` defaults to the content's). ``serving`` changes how its
        url_private answers: ``status`` (say 403), ``content_type`` and ``body`` (an HTML
        sign-in page), ``delay`` in seconds before answering, ``redirect`` (a URL to send
        the download to with a 302), ``no_length`` (no Content-Length header)."""
        file_id = f"F{next(self._ids):08d}"
        now = int(time.time())
        base = f"http://127.0.0.1:{self.port}/files-pri/{TEAM}-{file_id}"
        file = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "user_team": TEAM,
            "editable": False,
            "size": len(content) if size is None else size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{base}/{urllib.parse.quote(name)}",
            "url_private_download": f"{base}/download/{urllib.parse.quote(name)}",
            "permalink": f"https://acme.slack.com/files/{user}/{file_id}/{name}",
            "has_rich_preview": False,
            "file_access": "visible",
        }
        with self._lock:
            self.shared[file_id] = file
            self.contents[file_id] = content
            self.serving[file_id] = serving
        return copy.deepcopy(file)

    def downloads(self) -> list[Call]:
        """Every request for a shared file's url_private."""
        return self.called("(download)")

    def _download(self, request: BaseHTTPRequestHandler, path: str) -> None:
        """url_private: the bytes for the bot token; Slack's sign-in page for anyone else
        (a token without files:read gets that page too); 404 for a file it does not know."""
        auth = request.headers.get("Authorization") or ""
        file_id = path.removeprefix("/files-pri/").split("/", 1)[0].rsplit("-", 1)[-1]
        with self._lock:
            self.calls.append(Call("(download)", {"file_id": file_id, "path": path}, auth))
            file = self.shared.get(file_id)
            content = self.contents.get(file_id, b"")
            serving = dict(self.serving.get(file_id) or {})
        if serving.get("delay"):
            time.sleep(float(serving["delay"]))
        if file is None:
            self._send(request, 404, "Not Found")
            return
        if serving.get("redirect"):  # elsewhere: the app must not carry the token along
            request.send_response(302)
            request.send_header("Location", str(serving["redirect"]))
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if auth != f"Bearer {self.token}":
            serving = {"status": 200, "content_type": "text/html", "body": SIGN_IN_PAGE}
        status = int(serving.get("status") or 200)
        body = serving.get("body", content if status == 200 else b"Forbidden")
        data = body.encode() if isinstance(body, str) else body
        try:
            request.send_response(status)
            request.send_header("Content-Type", serving.get("content_type") or file["mimetype"])
            if not serving.get("no_length"):  # without it the body ends when the fake hangs up
                request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except OSError:  # the app stopped reading (a cap, a timeout): that is its right
            pass

    def next_ts(self) -> str:
        """Message timestamps in posting order, shared by the app's and people's messages."""
        return f"1700000000.{next(self._ts):06d}"

    # --- Web API methods (called with the lock held) ----------------------------------

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "advisor",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _refused(self, args: dict[str, Any]) -> dict[str, Any] | None:
        """What Slack says of a message it will not take whatever the retries: blocks whose
        text adds up past its practical limit, text past 40,000, or (``refuse_blocks``)
        blocks this test's Slack refuses, such as ``invalid_blocks``."""
        listed = args.get("blocks") or []
        if listed and self.refuse_blocks:
            return {"ok": False, "error": self.refuse_blocks}
        if sum(_text_chars(b) for b in listed) > 12_000:
            return {"ok": False, "error": "msg_blocks_too_long"}
        if len(str(args.get("text") or "")) > 40_000:
            return {"ok": False, "error": "msg_too_long"}
        return None

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = self._refused(args)
        if refused:
            return refused
        if args.get("markdown_text") is not None:
            # Slack renders it; it may not come with text or blocks, nor pass 12,000.
            if args.get("text") or args.get("blocks"):
                return {"ok": False, "error": "invalid_arguments"}
            if len(str(args["markdown_text"])) > 12_000:
                return {"ok": False, "error": "msg_too_long"}
            args = {**args, "text": args["markdown_text"]}
        ts = self.next_ts()
        msg = {
            "type": "message",
            "ts": ts,
            "channel": args["channel"],
            "text": args.get("text", ""),
            "blocks": args.get("blocks") or [],
            "metadata": args.get("metadata"),
            "thread_ts": args.get("thread_ts"),
            "user": BOT_USER,
            "bot_id": BOT_ID,
        }
        self.messages[(args["channel"], ts)] = msg
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": msg}

    def _api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = self._refused(args)
        if refused:
            return refused
        key = (args["channel"], args["ts"])
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        msg = self.messages[key]
        msg.update({"text": args.get("text", msg["text"]), "blocks": args.get("blocks") or []})
        if args.get("metadata"):
            msg["metadata"] = args["metadata"]
        msg["edited"] = True
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": msg["text"]}

    def _api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self.next_ts()
        self.ephemeral.append({**args, "ts": ts})
        return {"ok": True, "message_ts": ts}

    def _api_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args["message_ts"]).replace(".", "")
        link = f"https://acme.slack.com/archives/{args['channel']}/p{ts}"
        return {"ok": True, "channel": args["channel"], "permalink": link}

    def _api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args["user"]
        if user not in USERS:
            return {"ok": False, "error": "user_not_found"}
        name = USERS[user]
        return {
            "ok": True,
            "user": {
                "id": user,
                "name": name.split()[0].lower(),
                "real_name": name,
                "profile": {"display_name": "", "real_name": name},
            },
        }

    def _api_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, root = args["channel"], args["ts"]
        oldest = float(args.get("oldest") or 0)
        found = []
        for (ch, ts), m in sorted(self.messages.items(), key=lambda kv: float(kv[0][1])):
            in_thread = ch == channel and (ts == root or m.get("thread_ts") == root)
            if in_thread and (ts == root or float(ts) > oldest):
                found.append({k: v for k, v in m.items() if k != "channel"})
        for f in self.files.values():
            in_thread = f.get("channel") == channel and f.get("thread_ts") == root
            if in_thread and f.get("ts") and float(f["ts"]) > oldest:
                found.append(
                    {
                        "type": "message",
                        "ts": f["ts"],
                        "thread_ts": root,
                        "user": BOT_USER,
                        "bot_id": BOT_ID,
                        "text": f.get("initial_comment") or "",
                        "files": [{"id": f["id"], "name": f["name"]}],
                    }
                )
        found.sort(key=lambda m: float(m["ts"]))
        return {"ok": True, "messages": copy.deepcopy(found), "has_more": False}

    def _api_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": False, "error": "not_allowed_token_type"}  # the bot token: not for this

    def _api_assistant_threads_setStatus(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = str(args.get("channel_id")), str(args.get("thread_ts"))
        if (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "invalid_thread_ts"}
        self.statuses.append({"channel": channel, "thread_ts": thread_ts, **args})
        return {"ok": True}

    def _api_canvases_create(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.free_team and not args.get("channel_id"):
            return {"ok": False, "error": "free_teams_cannot_create_non_tabbed_canvases"}
        content = args.get("document_content") or {}
        if isinstance(content, str):
            content = json.loads(content)
        if content and content.get("type") != "markdown":
            return {"ok": False, "error": "invalid_arguments"}
        canvas_id = f"F{next(self._ids):010d}"
        self.canvases[canvas_id] = {
            "title": args.get("title"),
            "markdown": content.get("markdown", ""),
            "channel_id": args.get("channel_id"),
            "access": {},
        }
        return {"ok": True, "canvas_id": canvas_id}

    def _api_canvases_access_set(self, args: dict[str, Any]) -> dict[str, Any]:
        canvas = self.canvases.get(str(args.get("canvas_id")))
        if canvas is None:
            return {"ok": False, "error": "canvas_not_found"}
        channels = args.get("channel_ids") or []
        if isinstance(channels, str):
            channels = json.loads(channels) if channels.startswith("[") else channels.split(",")
        for channel in channels:
            canvas["access"][channel] = args.get("access_level")
        return {"ok": True}

    def _api_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        self.views.append(args)
        return {"ok": True, "view": {"id": f"V{next(self._ids)}", **args["view"]}}

    def _api_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file = self.shared.get(str(args.get("file") or ""))
        if file is None:
            return {"ok": False, "error": "file_not_found"}
        return {
            "ok": True,
            "file": copy.deepcopy(file),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):06d}"
        self.files[file_id] = {
            "id": file_id,
            "name": args.get("filename"),
            "length": int(args.get("length") or 0),
            "content": None,
            "completed": False,
        }
        upload_url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
        return {"ok": True, "upload_url": upload_url, "file_id": file_id}

    def _api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        done = []
        for item in args.get("files") or []:
            entry = self.files.get(item["id"])
            if entry is None or entry["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            entry.update(
                {
                    "title": item.get("title"),
                    "initial_comment": args.get("initial_comment"),
                    "completed": True,
                    "channel": args.get("channel_id"),
                    "thread_ts": args.get("thread_ts"),
                    "ts": self.next_ts(),
                    "type": "file",
                }
            )
            done.append({"id": entry["id"], "title": entry.get("title"), "name": entry["name"]})
        return {"ok": True, "files": done}


# --- Slack's side: signed requests --------------------------------------------------


@dataclass
class Sent:
    status: int
    body: str
    seconds: float


class SlackSender:
    """Sends what Slack would send to the app's request URL, signed like Slack signs it."""

    def __init__(self, url: str, fake: FakeSlack, secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self.fake = fake
        self.secret = secret
        self._ts = itertools.count(1)

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(
            self.secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256
        ).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        signed: dict[str, str] | None = None,
    ) -> Sent:
        all_headers = {
            "Content-Type": content_type,
            **(signed if signed is not None else self.sign(body)),
        }
        all_headers.update(headers or {})
        request = urllib.request.Request(
            self.url, data=body.encode(), headers=all_headers, method="POST"
        )
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read().decode()
        return Sent(status, text, time.perf_counter() - start)

    # --- payloads ---------------------------------------------------------------------

    def command(
        self, text: str, *, user: str = "U0ANA", channel: str = "C0CHAN", **extra: str
    ) -> Sent:
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "ml-team",
            "user_id": user,
            "user_name": USERS.get(user, user).split()[0].lower(),
            "command": "/advisor",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"http://127.0.0.1:{self.fake.port}/response/{next(self._ts)}",
            "trigger_id": f"{next(self._ts)}.1.abc",
        }
        form.update(extra)
        return self.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> Sent:
        body = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event": {"event_ts": event.get("ts", "1700000001.000001"), **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",  # unique, like Slack's
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(body), "application/json", headers=headers)

    def user_ts(self) -> str:
        return self.fake.next_ts()

    def reply_event(
        self,
        text: str,
        *,
        thread_ts: str,
        user: str = "U0ANA",
        channel: str = "C0CHAN",
        **extra: Any,
    ) -> dict[str, Any]:
        """A person's message in a thread, kept in the fake's thread; ``event`` sends it."""
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": self.user_ts(),
            "thread_ts": thread_ts,
            "channel_type": "channel",
            "team": TEAM,
        }
        event.update(extra)
        self.fake.add_user_message(event)
        return event

    def reply(
        self,
        text: str,
        *,
        thread_ts: str,
        user: str = "U0ANA",
        channel: str = "C0CHAN",
        event_id: str | None = None,
        retry: int | None = None,
        **extra: Any,
    ) -> Sent:
        """A person's message in a thread (a ``message`` event with ``thread_ts``)."""
        event = self.reply_event(text, thread_ts=thread_ts, user=user, channel=channel, **extra)
        return self.event(event, event_id=event_id, retry=retry)

    def file_reply(
        self,
        text: str,
        *,
        thread_ts: str,
        user: str = "U0ANA",
        channel: str = "C0CHAN",
        name: str = "screenshot.png",
        files: list[dict[str, Any]] | None = None,
    ) -> Sent:
        """A reply with a file attached, as Slack sends it: ``message`` with subtype
        ``file_share``, the text alongside and the file in ``files`` (a screenshot unless
        ``files`` are given, say from ``FakeSlack.share_file``)."""
        if files is not None:
            event = self.reply_event(
                text,
                thread_ts=thread_ts,
                user=user,
                channel=channel,
                subtype="file_share",
                files=files,
                upload=False,
                display_as_bot=False,
            )
            return self.event(event)
        file_id = f"F{next(self._ts):08d}"
        file = {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": name,
            "mimetype": "image/png",
            "filetype": "png",
            "pretty_type": "PNG",
            "user": user,
            "user_team": TEAM,
            "editable": False,
            "size": 48213,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"https://files.slack.com/files-pri/{TEAM}-{file_id}/{name}",
            "url_private_download": (
                f"https://files.slack.com/files-pri/{TEAM}-{file_id}/download/{name}"
            ),
            "permalink": f"https://acme.slack.com/files/{user}/{file_id}/{name}",
            "has_rich_preview": False,
            "file_access": "visible",
        }
        event = self.reply_event(
            text,
            thread_ts=thread_ts,
            user=user,
            channel=channel,
            subtype="file_share",
            files=[file],
            upload=False,
            display_as_bot=False,
        )
        return self.event(event)

    def edit(self, message: dict[str, Any], text: str) -> Sent:
        """The person edits ``message`` (a reply ``reply_event`` made): Slack sends
        ``message_changed`` with the edited message nested under ``message`` and the old one
        under ``previous_message``; the event's own ts is new, the message keeps its ts."""
        now = self.user_ts()
        edited = {
            **{k: v for k, v in message.items() if k not in ("channel", "event_ts")},
            "text": text,
            "edited": {"user": message["user"], "ts": now},
        }
        previous = {k: v for k, v in message.items() if k not in ("channel", "event_ts")}
        self.fake.add_user_message({**edited, "channel": message["channel"]})
        event = {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "message": edited,
            "channel": message["channel"],
            "previous_message": previous,
            "event_ts": now,
            "ts": now,
            "channel_type": "channel",
        }
        return self.event(event)

    def delete(self, message: dict[str, Any]) -> Sent:
        """The person deletes ``message``: ``message_deleted`` with ``deleted_ts`` and the
        message as it was under ``previous_message`` (no ``user`` at the top)."""
        now = self.user_ts()
        with self.fake._lock:
            self.fake.messages.pop((message["channel"], message["ts"]), None)
        event = {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "deleted_ts": message["ts"],
            "channel": message["channel"],
            "previous_message": {
                k: v for k, v in message.items() if k not in ("channel", "event_ts")
            },
            "event_ts": now,
            "ts": now,
            "channel_type": "channel",
        }
        return self.event(event)

    def mention(
        self,
        text: str,
        *,
        user: str = "U0ANA",
        channel: str = "C0CHAN",
        thread_ts: str | None = None,
    ) -> tuple[Sent, str]:
        ts = self.user_ts()
        event = {
            "type": "app_mention",
            "channel": channel,
            "user": user,
            "text": f"<@{BOT_USER}> {text}",
            "ts": ts,
            "team": TEAM,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        self.fake.add_user_message(event)
        return self.event(event), ts

    def shortcut(
        self, message: dict[str, Any], *, user: str = "U0ANA", callback_id: str = "advisor_decide"
    ) -> Sent:
        """A message shortcut on ``message``: a ``message_action`` payload, as Slack sends it."""
        payload = {
            "type": "message_action",
            "token": "legacy-verification-token",
            "action_ts": str(time.time()),
            "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM, "name": user.lower()},
            "channel": {"id": message["channel"], "name": "ml-team"},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": f"{next(self._ts)}.1.abc",
            "response_url": f"http://127.0.0.1:{self.fake.port}/response/{next(self._ts)}",
            "message_ts": message["ts"],
            "message": {
                k: v
                for k, v in message.items()
                if k in ("type", "user", "ts", "text", "thread_ts", "team")
            },
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")

    def click(
        self,
        message: dict[str, Any],
        action: dict[str, Any],
        *,
        user: str = "U0ANA",
        state: dict[str, Any] | None = None,
    ) -> Sent:
        """A ``block_actions`` payload for pressing ``action`` on ``message``."""
        channel = message["channel"]
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
                "thread_ts": message.get("thread_ts"),
            },
            "trigger_id": f"{next(self._ts)}.1.abc",
            "team": {"id": TEAM, "domain": "acme"},
            "channel": {"id": channel, "name": "ml-team"},
            "message": {
                "type": "message",
                "ts": message["ts"],
                "thread_ts": message.get("thread_ts"),
                "text": message["text"],
                "blocks": message["blocks"],
                "user": BOT_USER,
                "bot_id": BOT_ID,
            },
            "state": {"values": state or {}},
            "response_url": f"http://127.0.0.1:{self.fake.port}/response/{next(self._ts)}",
            # Slack's clock, as for messages: a thread's clicks and replies run in ts order.
            "actions": [{**action, "action_ts": self.user_ts()}],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button in a message's blocks, in order."""
    found = []
    for block in message.get("blocks") or []:
        if block.get("type") == "actions":
            for element in block["elements"]:
                if element.get("type") == "button":
                    found.append({**element, "block_id": block.get("block_id", "b")})
    return found


def press(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The action payload for the button labelled ``label`` (as Slack would send it)."""
    for element in buttons(message):
        if element["text"]["text"] == label:
            return {
                "type": "button",
                "action_id": element["action_id"],
                "block_id": element["block_id"],
                "text": element["text"],
                "value": element.get("value", ""),
            }
    labels = [b["text"]["text"] for b in buttons(message)]
    raise AssertionError(f"no button {label!r} in {labels}")


def transcript(fake: FakeSlack, channel: str, thread_ts: str) -> str:
    """The thread as a person would read it: one paragraph per message, files named."""
    lines: list[str] = []
    for item in fake.thread(channel, thread_ts):
        if item.get("type") == "file":
            size = len(item.get("content") or b"")
            lines.append(f"[advisor] 📎 {item['name']} ({size} bytes)")
            continue
        who = "advisor" if item.get("bot_id") else item.get("user", "?")
        body = []
        for block in item.get("blocks") or []:
            kind = block.get("type")
            if kind in ("section", "header"):
                body.append(block["text"]["text"])
            elif kind == "context":
                body.append("  " + " ".join(e.get("text", "") for e in block["elements"]))
            elif kind == "actions":
                labels = []
                for e in block["elements"]:
                    if e["type"] == "button":
                        labels.append(f"[{e['text']['text']}]")
                    elif e["type"] == "checkboxes":
                        labels += [f"☐ {o['text']['text']}" for o in e["options"]]
                body.append("  " + " ".join(labels))
        lines.append(f"[{who}] " + ("\n    ".join(body) or item.get("text", "")))
    return "\n".join(lines)


# --- the real command ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


class Serve:
    """``advisor serve`` in its own process (HTTP, waitress), against ``fake``, on the
    ADVISOR_DB of the test. ``fault``: ADVISOR_FAULT for this run (see bot/slack/faults.py);
    ``env``: more environment (say, for Claude); ``args``: more options (``--workers 2``)."""

    def __init__(
        self,
        fake: FakeSlack,
        *,
        fault: str | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        base = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.url,
            "PORT": "0",
            "PYTHONUNBUFFERED": "1",
        }
        base.pop("SLACK_APP_TOKEN", None)
        base.pop("ADVISOR_FAULT", None)
        if fault:
            base["ADVISOR_FAULT"] = fault
        env = {**base, **(env or {})}
        found = self._launch(
            env, ["--host", "127.0.0.1", *(args or [])], r"listening on (http://\S+/slack/events)"
        )
        self.send = SlackSender(found.group(1), fake, secret=env["SLACK_SIGNING_SECRET"])

    def _launch(self, env: dict[str, str], args: list[str], ready: str) -> re.Match[str]:
        """Start ``advisor serve args`` and read its output until a line matches ``ready``;
        the rest of its output is kept in ``output`` by a background thread."""
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import cli; cli()", "serve", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            found = re.search(ready, line)
            if found:
                self._drainer = threading.Thread(target=self._drain, daemon=True)
                self._drainer.start()
                return found
        raise AssertionError(f"advisor serve did not start: {''.join(self.output)}")

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def died(self, timeout: float = 10.0) -> int:
        """Wait for the process to end by itself (a fault); its exit status."""
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> str:
        """SIGTERM, then SIGKILL after ``timeout`` s; everything the process wrote."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._drainer.join(5)
        return "".join(self.output)
