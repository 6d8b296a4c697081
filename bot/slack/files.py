"""Files shared in an interview thread become measured evidence (DESIGN.md section 8), as
``evidence PATH`` does in the terminal (bot/terminal_evidence.py).

For each file on a reply: what Slack says of it (its own ``size``, ``mimetype`` and
``filetype``) is checked first, so an image, a PDF or a file over the limit is refused
without a byte downloaded; ``files.info`` fills in what the event left out (or a
``file_access: check_file_info`` stub). Then ``url_private`` is downloaded with the bot
token, streamed into a spooled temporary file and never more than the limit read, and
measured (graph.evidence). The measured facts go into the interview with
``add_evidence``. Every failure (a refused type, a 404, a 403, a sign-in page instead of
the file, a timeout, a missing ``files:read`` scope) is one line for the thread; the caller
goes on with the reply's text or the pending question, so nothing the person said is lost.

This runs in the step (bot/slack/step.py, on the thread's work queue), never in a
listener: the download is not inside Slack's 3-second ack.
"""

from __future__ import annotations

import logging
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.payloads import FILE_FIELDS
from bot.slack.registry import FILES_SCOPE
from graph.evidence import (
    MAX_BYTES,
    WHAT_WORKS,
    EvalEvidence,
    EvidenceRefused,
    TrainingEvidence,
    measure_stream,
    too_large,
)
from graph.evidence.reading import display_name
from graph.interview_evidence import evidence_rows
from graph.store import Store
from graph.turns import Question, Reply, Turn

log = logging.getLogger("advisor.slack")

_CHUNK = 64 * 1024
_IN_MEMORY = 1_000_000  # a download past this spills to a temporary file on disk

# What Slack calls the files advisor can measure (its ``filetype`` values and MIME types;
# a JSONL file is usually "text" or unrecognised, so its name's extension counts too).
MEASURABLE_TYPES = frozenset({"csv", "tsv", "json", "jsonl", "ndjson", "text"})
MEASURABLE_MIMETYPES = frozenset(
    {
        "text/csv",
        "text/x-csv",
        "application/csv",
        "text/tab-separated-values",
        "application/json",
        "application/jsonl",
        "application/x-jsonlines",
        "application/x-ndjson",
        "application/ndjson",
        "text/plain",
    }
)
MEASURABLE_EXTENSIONS = (".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".txt")
_UNTYPED = frozenset({"", "auto", "binary"})  # Slack could not tell: the name decides

# filetype -> what the file is, for the one line that refuses it before any download
_KNOWN_OTHERS: dict[str, str] = {
    **dict.fromkeys(
        ("png", "jpg", "jpeg", "gif", "bmp", "tiff", "webp", "heic", "svg", "psd"), "an image"
    ),
    "pdf": "a PDF",
    **dict.fromkeys(
        ("xls", "xlsx", "xlsm", "xlsb", "xltx", "ods", "numbers", "gsheet"), "a spreadsheet"
    ),
    **dict.fromkeys(("doc", "docx", "odt", "pages", "rtf", "gdoc"), "a document"),
    **dict.fromkeys(("ppt", "pptx", "odp", "keynote", "gpres"), "a presentation"),
    **dict.fromkeys(("zip", "gzip", "gz", "tar", "7z", "rar", "bz2"), "an archive"),
    **dict.fromkeys(("mp3", "m4a", "wav", "ogg"), "audio"),
    **dict.fromkeys(("mp4", "mov", "mkv", "webm", "mpg", "avi", "wmv", "flv", "ogv"), "a video"),
}
_WHAT_TO_DO = {
    "a spreadsheet": "export the sheet as CSV and share that",
    "an archive": "share the CSV or JSONL file inside it",
}
_MIME_PREFIXES = (("image/", "an image"), ("audio/", "audio"), ("video/", "a video"))

SCOPE_MISSING = (
    "I can't read files shared here yet: advisor's Slack app does not have the "
    f"`{FILES_SCOPE}` permission. A workspace admin can add it by reinstalling advisor with "
    f"the `{FILES_SCOPE}` scope (manifest.yml lists it); then share the file again."
)
PAST_QUESTIONS = (
    "This interview is past its questions, so I did not read the file. Start a new "
    "interview to use it (or share it at the start of one)."
)
ALREADY_MEASURED = "measured already in this interview (same contents), so nothing changed."
TEXT_NOT_READ = (
    "The file settled the question your message replied to, so I did not read its text "
    "as an answer to the next one."
)


class FileRefused(Exception):
    """This file cannot be measured; the message is one line for the thread."""


class EvidenceEngine(Protocol):
    store: Store

    def add_evidence(
        self, interview_id: str, result: EvalEvidence | TrainingEvidence, *, by: str
    ) -> list[Any]: ...


def file_name(file: dict[str, Any]) -> str:
    """The name to show: what the uploader called it (never used as a path)."""
    raw = str(file.get("name") or file.get("title") or file.get("id") or "the file")
    return display_name(raw)


def type_refusal(file: dict[str, Any]) -> str | None:
    """Why Slack's own description of ``file`` rules it out before download (None: it
    may be measurable; the measure has the last word)."""
    filetype = str(file.get("filetype") or "").lower()
    mimetype = str(file.get("mimetype") or "").lower().split(";")[0].strip()
    name = str(file.get("name") or "").lower()
    if filetype in MEASURABLE_TYPES or name.endswith(MEASURABLE_EXTENSIONS):
        return None
    if filetype in _UNTYPED and (mimetype in MEASURABLE_MIMETYPES or not mimetype):
        return None
    what = _KNOWN_OTHERS.get(filetype) or ("a PDF" if mimetype == "application/pdf" else "")
    what = what or next((k for prefix, k in _MIME_PREFIXES if mimetype.startswith(prefix)), "")
    if what:
        todo = _WHAT_TO_DO.get(what, f"share the eval results or training data as {WHAT_WORKS}")
        return f"it is {what}; {todo}"
    kind = filetype or mimetype
    return f"Slack says it is {kind}, not CSV, JSONL or JSON; share {WHAT_WORKS}"


def _limit(max_bytes: int) -> str:
    return f"{max_bytes // 1_000_000} MB" if max_bytes % 1_000_000 == 0 else f"{max_bytes:,} bytes"


def _allowed_host(url: str, api_host: str) -> bool:
    """The bot token is only ever sent to Slack's own file hosts (https), or to the host of
    a custom SLACK_API_URL (a test's or a proxy's Slack)."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if api_host and parts.netloc.lower() == api_host:
        return True
    slack = host == "slack.com" or host.endswith((".slack.com", ".slack-gov.com"))
    return parts.scheme == "https" and slack


class _SameHostAuth(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to another of Slack's hosts, and the token goes no further
    than the host it was meant for (urllib would otherwise copy the Authorization header
    to any host it is sent to)."""

    def __init__(self, name: str, api_host: str) -> None:
        self.name = name
        self.api_host = api_host

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not _allowed_host(urllib.parse.urljoin(req.full_url, newurl), self.api_host):
            raise FileRefused(
                f"Cannot use {self.name}: Slack sent the download to an address that is not "
                "Slack's, so I did not follow it."
            )
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            old_host = urllib.parse.urlsplit(req.full_url).netloc.lower()
            if urllib.parse.urlsplit(new.full_url).netloc.lower() != old_host:
                new.remove_header("Authorization")
        return new


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:15].lower()
    return start.startswith((b"<!doctype html", b"<html"))


@dataclass
class SlackFiles:
    """Checks, downloads and measures shared files with the bot's client and token.

    ``timeout``: seconds any one read from Slack may take; ``deadline``: one whole download;
    ``budget``: all the files of one message (the step holds its thread meanwhile, and a
    hold is taken over after bot/slack/tables.py's CLAIM_LEASE)."""

    client: WebClient
    max_bytes: int = MAX_BYTES
    timeout: float = 30.0
    deadline: float = 120.0
    budget: float = 300.0

    # --- one file ----------------------------------------------------------------------

    def describe(self, shared: dict[str, Any]) -> dict[str, Any]:
        """``shared`` as the inbox kept it, completed by ``files.info`` when the event did
        not say enough to check it (or Slack sent a ``check_file_info`` stub)."""
        complete = all(shared.get(k) not in (None, "") for k in ("size", "url_private")) and (
            shared.get("mimetype") or shared.get("filetype")
        )
        if complete and shared.get("file_access") != "check_file_info":
            return shared
        try:
            found = self.client.files_info(file=str(shared.get("id") or ""))
        except SlackApiError as err:
            code = str(err.response.get("error") or "unknown_error")
            if code == "missing_scope":
                raise FileRefused(SCOPE_MISSING) from None
            if code in ("file_not_found", "file_deleted"):
                raise FileRefused(
                    f"Cannot use {file_name(shared)}: Slack says it is gone ({code}); "
                    "share it again."
                ) from None
            raise FileRefused(
                f"Cannot use {file_name(shared)}: Slack would not describe it ({code})."
            ) from None
        except Exception as exc:  # network: the line says so, the reply goes on
            log.warning("advisor: files.info failed for %s: %r", shared.get("id"), exc)
            raise FileRefused(
                f"Cannot use {file_name(shared)}: Slack could not be reached to read it; "
                "share it again in a moment."
            ) from None
        info = found.get("file") or {}
        kept = {k: info[k] for k in FILE_FIELDS if isinstance(info.get(k), str | int)}
        return {**shared, **kept, "file_access": info.get("file_access", "visible")}

    def check(self, file: dict[str, Any]) -> None:
        """Refuse, before any download, what Slack's own size and type rule out."""
        name = file_name(file)
        size = file.get("size")
        if isinstance(size, int) and size > self.max_bytes:
            raise FileRefused(f"Cannot use {name}: {too_large(size, self.max_bytes)}.")
        why = type_refusal(file)
        if why:
            raise FileRefused(f"Cannot use {name}: {why}.")
        if not file.get("url_private"):
            raise FileRefused(f"Cannot use {name}: Slack gave no address to download it from.")

    def download(self, file: dict[str, Any], *, until: float | None = None) -> IO[bytes]:
        """``url_private`` with the bot token, into a spooled temporary file: at most
        ``max_bytes`` are read, whatever the server says or sends."""
        name, url = file_name(file), str(file["url_private"])
        api = urllib.parse.urlsplit(self.client.base_url)
        api_host = api.netloc.lower() if self.client.base_url != WebClient.BASE_URL else ""
        if not _allowed_host(url, api_host):
            raise FileRefused(f"Cannot use {name}: its address is not Slack's; I did not fetch it.")
        token = {"Authorization": f"Bearer {self.client.token}"}
        request = urllib.request.Request(url, headers=token)
        handlers: list[urllib.request.BaseHandler] = [_SameHostAuth(name, api_host)]
        if self.client.ssl is not None:
            handlers.append(urllib.request.HTTPSHandler(context=self.client.ssl))
        opener = urllib.request.build_opener(*handlers)
        until = min(until or float("inf"), time.monotonic() + self.deadline)
        spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115 (returned)
        try:
            with opener.open(request, timeout=self.timeout) as response:
                self._check_response(name, response.headers)
                total = 0
                while True:
                    if time.monotonic() > until:
                        raise TimeoutError
                    chunk = response.read(min(_CHUNK, self.max_bytes + 1 - total))
                    if not chunk:
                        break
                    if total == 0 and _looks_like_html(chunk):
                        raise FileRefused(self._html(name))
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise FileRefused(
                            f"Cannot use {name}: too large (over the limit of "
                            f"{_limit(self.max_bytes)})."
                        )
                    spool.write(chunk)
        except FileRefused:
            spool.close()
            raise
        except urllib.error.HTTPError as err:
            spool.close()
            raise FileRefused(self._http_error(name, err.code)) from None
        except (urllib.error.URLError, OSError) as exc:
            spool.close()
            timed_out = isinstance(exc, TimeoutError) or isinstance(
                getattr(exc, "reason", None), TimeoutError
            )
            log.warning("advisor: downloading a shared file failed: %r", exc)
            what = "timed out" if timed_out else "failed"
            raise FileRefused(
                f"Cannot use {name}: the download from Slack {what}; share it again in a moment."
            ) from None
        spool.seek(0)
        return cast(IO[bytes], spool)

    def _check_response(self, name: str, headers: Any) -> None:
        kind = str(headers.get_content_type() or "").lower()
        if kind in ("text/html", "application/xhtml+xml"):
            raise FileRefused(self._html(name))
        length = headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise FileRefused(f"Cannot use {name}: {too_large(int(length), self.max_bytes)}.")

    @staticmethod
    def _html(name: str) -> str:
        return (
            f"Cannot use {name}: Slack sent a web page (a sign-in page) instead of the file. "
            f"The app may be missing the `{FILES_SCOPE}` scope: a workspace admin can "
            f"reinstall advisor with `{FILES_SCOPE}`, then share the file again."
        )

    @staticmethod
    def _http_error(name: str, code: int) -> str:
        if code in (404, 410):
            return f"Cannot use {name}: Slack could not find it (HTTP {code}); share it again."
        if code in (401, 403):
            return (
                f"Cannot use {name}: Slack would not let me download it (HTTP {code}). A "
                f"workspace admin may need to reinstall advisor with the `{FILES_SCOPE}` scope."
            )
        return f"Cannot use {name}: the download from Slack failed (HTTP {code}); share it again."

    def measure(
        self, shared: dict[str, Any], *, until: float | None = None
    ) -> EvalEvidence | TrainingEvidence:
        """One shared file, checked, downloaded and measured; ``FileRefused`` with the line
        to post when it cannot be."""
        file = self.describe(shared)
        self.check(file)
        name = file_name(file)
        with self.download(file, until=until) as stream:
            try:
                return measure_stream(stream, name, max_bytes=self.max_bytes)
            except EvidenceRefused as exc:
                raise FileRefused(f"Cannot use {name}: {exc}") from None

    # --- a reply's files ---------------------------------------------------------------

    def share(
        self,
        engine: EvidenceEngine,
        interview_id: str,
        files: Sequence[dict[str, Any]],
        *,
        by: str,
        retry: bool = False,
    ) -> tuple[list[Turn], bool]:
        """Measure each file and add it to the interview. Returns what the thread is told
        (measured lines, refusals, and the engine's turns after the last file: the question
        it asks now, or the memo) and whether any file was added. A file already in the
        interview is not added again; ``retry``: this message's step is running again after
        a crash, so its files being there already is no news to the person."""
        said: list[Turn] = []
        lines: set[str] = set()  # a missing scope is said once, not once per file
        added = False
        until = time.monotonic() + self.budget
        for shared in files:
            try:
                if time.monotonic() > until:
                    raise FileRefused(
                        f"Cannot use {file_name(shared)}: the files before it took all the "
                        "time I give one message; share it again on its own."
                    )
                result = self.measure(shared, until=until)
            except FileRefused as refused:
                line = str(refused)
                if line not in lines:
                    lines.add(line)
                    said.append(Reply(text=line))
                continue
            known = {r["sha256"]: r for r in evidence_rows(engine.store, interview_id)}
            if result.sha256 in known:  # shared twice, or a step run again after a crash
                summary = str(known[result.sha256]["summary"])
                again = "" if retry else f"\n{result.file}: {ALREADY_MEASURED}"
                said.append(Reply(text=summary + again))
                continue
            turns = engine.add_evidence(interview_id, result, by=by)
            said = [t for t in said if not isinstance(t, Question)]  # only the latest asking
            said.extend(turns)
            added = True
        return said, added
