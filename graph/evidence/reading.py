"""Reading an evidence file safely and one record at a time (DESIGN.md section 8).

A file is opened once, without following a symbolic link, and must be a regular file. A
first pass over its bytes checks the size limit, looks for NUL bytes (binary) and validates
UTF-8 while computing the sha256; only then is it parsed, from the same open file, so what
was checked is what is measured. Parsing streams: CSV through the csv module over a text
stream, JSONL line by line, a JSON list one element at a time. Nothing in a
file is ever executed or followed (no includes, no links, no paths inside it).

Rows are numbered from 1 so a person can find them: in JSONL a row's number is its line
number; in CSV it counts records after the header row (a spreadsheet shows it one lower);
in a JSON list it counts the list's elements. Blank lines are not rows. A record is a
``dict``; a row that cannot be read is a :class:`RowError` carrying the reason, so the
caller can report it by number and go on.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

MAX_BYTES = 50_000_000  # DESIGN.md section 8: at most 50 MB
_CHUNK = 64 * 1024  # small: a chunk and its decoded text are most of the memory a read needs
_SNIFF = 64 * 1024
_BOM = codecs.BOM_UTF8
_UTF16_32_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)
_DELIMITERS = (",", "\t", ";", "|")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
MAX_RECORD_CHARS = 16_000_000  # one element of a JSON list; longer is refused as unreadable
WHAT_WORKS = "a UTF-8 CSV with a header row, JSONL, or a JSON list of objects"

Format = Literal["csv", "jsonl", "json"]


class EvidenceRefused(ValueError):
    """The file cannot be used at all; the message is one line a person can act on."""


@dataclass(frozen=True)
class RowError:
    """A row that could not be read, and why (never quoting the row's contents)."""

    message: str


Record = dict[str, Any]
# (row number, the record or why it is unreadable, the record's JSON text when there is
# one: a cheap first look for personal data needs no walk over the decoded record)
Row = tuple[int, Record | RowError, bytes | str | None]


@dataclass(frozen=True)
class Checked:
    """A file that passed the checks: its bytes are UTF-8 text within the limit."""

    stream: IO[bytes]  # positioned anywhere; readers seek where they need
    sha256: str
    size: int
    start: int  # bytes to skip at the start (a UTF-8 byte-order mark)
    format: Format
    delimiter: str  # for CSV


def display_name(name: str) -> str:
    """The name shown for a file: its last path part, without control characters, clipped.

    A Slack file name is whatever the uploader typed, so it is treated as text, never as a
    path."""
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable()).strip()
    return (clean[:120] + "…" if len(clean) > 120 else clean) or "file"


def _size_text(size: int, limit: int) -> str:
    """Megabytes when that shows the difference from the limit, else bytes."""
    megabytes = f"{size / 1_000_000:.1f} MB"
    if size >= 1_000_000 and megabytes != f"{limit / 1_000_000:.1f} MB":
        return megabytes
    return f"{size:,} bytes"


def _limit_text(limit: int) -> str:
    return f"{limit // 1_000_000} MB" if limit % 1_000_000 == 0 else f"{limit:,} bytes"


def too_large(size: int, max_bytes: int) -> str:
    """The refusal for a file over the limit (also for a caller that knows the size first,
    such as a Slack upload checked before download)."""
    return f"too large ({_size_text(size, max_bytes)}; the limit is {_limit_text(max_bytes)})"


def open_path(path: str | os.PathLike[str], max_bytes: int) -> IO[bytes]:
    """Open ``path`` for reading without following a symlink; refuse what is not a regular
    file or is over ``max_bytes`` (checked from the inode before a byte is read)."""
    # O_NOFOLLOW: a symlink named as the file is refused, so nothing outside what was
    # named is read. O_NONBLOCK: opening a FIFO must not wait for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise EvidenceRefused("no such file") from None
    except IsADirectoryError:
        raise EvidenceRefused("is a directory; name one file") from None
    except PermissionError:
        raise EvidenceRefused("permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise EvidenceRefused(
                "is a symbolic link; name the file it points to (links are not followed)"
            ) from None
        raise EvidenceRefused(f"cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise EvidenceRefused("is a directory; name one file")
        if not stat.S_ISREG(info.st_mode):
            raise EvidenceRefused("is not a regular file (a device, pipe or socket)")
        if info.st_size > max_bytes:
            raise EvidenceRefused(too_large(info.st_size, max_bytes))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check(stream: IO[bytes], max_bytes: int) -> Checked:
    """One pass over the bytes: size, binary, UTF-8 and the sha256; then the format."""
    stream.seek(0)
    head = stream.read(_SNIFF)
    if head.startswith(_UTF16_32_BOMS):
        raise EvidenceRefused("is UTF-16 or UTF-32 text; save it as UTF-8")
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    chunk = head
    while chunk:
        size += len(chunk)
        if size > max_bytes:
            raise EvidenceRefused(too_large(size, max_bytes))
        if b"\0" in chunk:
            raise EvidenceRefused(f"looks binary (contains NUL bytes); give {WHAT_WORKS}")
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            at = size - len(chunk) + exc.start
            raise EvidenceRefused(
                f"is not UTF-8 text (byte 0x{chunk[exc.start]:02x} at offset {at:,}); "
                "save it as UTF-8"
            ) from None
        digest.update(chunk)
        chunk = stream.read(_CHUNK)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise EvidenceRefused(
            "is not UTF-8 text (it ends mid-character); save it as UTF-8"
        ) from None
    start = len(_BOM) if head.startswith(_BOM) else 0
    text = head[start:].decode("utf-8", errors="ignore")  # the head may end mid-character
    body = text.lstrip()
    if not body:
        raise EvidenceRefused(f"is empty; give {WHAT_WORKS}")
    fmt: Format = "json" if body[0] == "[" else "jsonl" if body[0] == "{" else "csv"
    header = body.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=header.count)
    return Checked(stream, digest.hexdigest(), size, start, fmt, delimiter)


def records(checked: Checked) -> Iterator[Row]:
    """Every row of a checked file, in order: a record or the reason it could not be read.
    Reading starts (from the top) when the first row is asked for."""
    checked.stream.seek(checked.start)
    if checked.format == "csv":
        yield from _csv_rows(checked.stream, checked.delimiter)
    elif checked.format == "jsonl":
        yield from _jsonl_rows(checked.stream)
    else:
        yield from _json_list_rows(checked.stream)


def csv_header(checked: Checked) -> list[str]:
    """The CSV header row (column names, trimmed)."""
    checked.stream.seek(checked.start)
    text = io.TextIOWrapper(checked.stream, encoding="utf-8", newline="")
    try:
        header = next(csv.reader(text, delimiter=checked.delimiter), [])
    except csv.Error as exc:
        raise EvidenceRefused(f"has a header row the CSV reader cannot read ({exc})") from None
    finally:
        text.detach()
    return [name.strip() for name in header]


def _csv_rows(stream: IO[bytes], delimiter: str) -> Iterator[Row]:
    # A field may be as long as the file; the csv module's default cap is 128 KiB.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        reader = csv.reader(text, delimiter=delimiter)
        header = [name.strip() for name in next(reader, [])]
        width = len(header)
        row = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row += 1
                yield row, RowError(f"the CSV reader could not read it ({exc})"), None
                continue
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line is not a row
            row += 1
            if len(fields) != width:
                count = f"{len(fields)} field{'' if len(fields) == 1 else 's'}"
                yield row, RowError(f"has {count}; the header has {width}"), None
                continue
            yield row, dict(zip(header, fields, strict=True)), None
    finally:
        text.detach()


def _jsonl_rows(stream: IO[bytes]) -> Iterator[Row]:
    for row, line in enumerate(stream, start=1):  # in JSONL a row's number is its line's
        if not line.strip():
            continue
        try:
            value = json.loads(line.rstrip(b"\r\n"))  # so an error's column is on this line
        except json.JSONDecodeError as exc:
            yield row, RowError(f"not valid JSON ({exc.msg} at column {exc.colno})"), None
            continue
        except RecursionError:
            yield row, RowError("nested too deeply to read"), None
            continue
        yield row, _as_record(value), line


def _json_list_rows(stream: IO[bytes]) -> Iterator[Row]:
    """The elements of a JSON list, one at a time.

    The standard library's C decoder reads each element where it starts (``raw_decode``);
    only the text of the element being read, and the next chunk, is held. An element cut
    by the end of a chunk is read again with more text. Deep nesting stops the decoder
    with RecursionError, which becomes a problem row (an incremental event parser such as
    ijson keeps one prefix string per nesting level, so a few hundred KB of nested
    brackets costs it gigabytes)."""
    text = io.TextIOWrapper(stream, encoding="utf-8")
    decode = json.JSONDecoder().raw_decode
    buf, pos, eof = "", 0, False

    def refill(size: int) -> None:
        nonlocal buf, pos, eof
        chunk = text.read(size)
        eof = not chunk
        buf, pos = buf[pos:] + chunk, 0

    def peek() -> str:
        """The next character after whitespace; "" at the end of the file."""
        nonlocal pos
        while True:
            pos = _WHITESPACE.match(buf, pos).end()  # type: ignore[union-attr]
            if pos < len(buf) or eof:
                return buf[pos : pos + 1]
            refill(_CHUNK)

    def broken(row: int, why: str) -> Row:
        return (
            row,
            RowError(f"not valid JSON ({why}); the rest of the file could not be read"),
            None,
        )

    try:
        peek()
        pos += 1  # the opening "[", as the format was sniffed from it
        row = 0
        while True:
            char = peek()
            if char == "]":
                pos += 1
                if peek():
                    yield row + 1, RowError("text after the list's closing ']' was not read"), None
                return
            if row:
                if char != ",":
                    yield broken(row + 1, "expected ',' between records")
                    return
                pos += 1
                char = peek()
            if not char:
                yield broken(row + 1, "the list ends without its closing ']'")
                return
            size = _CHUNK
            while True:
                try:
                    value, end = decode(buf, pos)
                except json.JSONDecodeError as exc:
                    cut = exc.pos >= len(buf) - 16 or exc.msg.startswith("Unterminated string")
                    if eof or not cut or len(buf) - pos > MAX_RECORD_CHARS:
                        yield broken(row + 1, exc.msg)
                        return
                    refill(size)
                    size *= 2
                    continue
                except RecursionError:
                    yield broken(row + 1, "nested too deeply to read")
                    return
                if end < len(buf) or eof:
                    break
                refill(size)  # a number or literal at the very end may go on
                size *= 2
            start, pos = pos, end
            row += 1
            yield row, _as_record(value), buf[start:end]
    finally:
        text.detach()


def _as_record(value: Any) -> Record | RowError:
    if isinstance(value, dict):
        return value
    kind = {list: "a list", str: "a string", type(None): "null", bool: "true/false"}.get(
        type(value), "a number"
    )
    return RowError(f"is {kind}, not an object with named fields")


def read_bytes_limited(stream: IO[bytes], max_bytes: int) -> bytes:
    """At most ``max_bytes`` from a stream that has no size up front (standard input)."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise EvidenceRefused(f"too large (over the limit of {_limit_text(max_bytes)})")
    return data


def path_name(path: str | os.PathLike[str]) -> str:
    return display_name(Path(path).name or str(path))
