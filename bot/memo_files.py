"""Writing a finished memo into ``memos/`` without ever following a symbolic link.

A link planted in ``memos/`` (dangling, or to a file elsewhere) must not make advisor
write outside the folder or overwrite someone's file. So the folder is opened with
``O_NOFOLLOW`` (a ``memos`` that is itself a link is refused), every name is looked at with
``lstat`` through that folder's descriptor, a new file is created with
``O_CREAT | O_EXCL | O_NOFOLLOW``, and the memo's own earlier file is replaced by renaming a
fresh file over it (a rename replaces a link; it never writes through one).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import uuid
from pathlib import Path

from graph.store import MemoRecord

MEMO_DIR = Path("memos")
_TRIES = 20  # names tried before giving up (each taken by something not ours)


class MemoFileError(OSError):
    """The memo could not be written where asked (the reason is in words)."""


def slug(text: str, limit: int = 50) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (words[:limit].rstrip("-") or "memo") if words else "memo"


def _stem(memo: MemoRecord) -> str:
    stem = f"{slug(memo.use_case)}-{memo.created_at[:10]}"
    return stem + (f"-v{memo.version}" if memo.version > 1 else "")


def _names(memo: MemoRecord) -> list[str]:
    """memos/<slug>-<date>.md; later versions get -v2, -v3; then names with the memo id."""
    stem = _stem(memo)
    names = [f"{stem}.md", f"{stem}-{memo.id}.md"]
    names += [f"{stem}-{memo.id}-{n}.md" for n in range(2, _TRIES)]
    return names


def _open_folder(directory: Path) -> int:
    with contextlib.suppress(FileExistsError):  # a link or a file there: said below
        directory.mkdir(parents=True, exist_ok=True)
    try:
        return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise MemoFileError(
                exc.errno,
                f"{directory} is a symbolic link or not a folder; memos are written only "
                "into a real folder (remove the link, or choose one with --memo-dir)",
            ) from None
        raise


def _is_ours(memo: MemoRecord, name: str, folder: int) -> bool | None:
    """None: the name is free; True: a regular file holding this memo; False: anything else
    (a link, someone else's file, a folder)."""
    try:
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return False
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
    with os.fdopen(fd, "rb") as f:
        head = f.read(1_000_000)
    return f"`{memo.id}`".encode() in head


def _create(name: str, folder: int, data: bytes) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(name, dir_fd=folder)  # a half-written memo is no memo
        raise


def memo_path(memo: MemoRecord, directory: Path) -> Path:
    """Where :func:`write_memo` would put the memo now (its own file, or the first free
    name); never a name taken by a link or another memo."""
    folder = _open_folder(directory)
    try:
        for name in _names(memo):
            if _is_ours(memo, name, folder) is not False:
                return directory / name
    finally:
        os.close(folder)
    raise MemoFileError(errno.EEXIST, f"no free name for the memo in {directory}")


def write_memo(memo: MemoRecord, directory: Path) -> Path:
    """Write the memo into ``directory``; its own earlier file is replaced, nothing else is."""
    data = memo.markdown.encode("utf-8")
    folder = _open_folder(directory)
    try:
        for name in _names(memo):
            ours = _is_ours(memo, name, folder)
            if ours is False:
                continue
            if ours is None:
                try:
                    _create(name, folder, data)
                except FileExistsError:
                    continue  # taken between the look and the create
                return directory / name
            temp = f".{name}.{uuid.uuid4().hex[:8]}.tmp"
            _create(temp, folder, data)
            os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
            return directory / name
    finally:
        os.close(folder)
    raise MemoFileError(errno.EEXIST, f"no free name for the memo in {directory}")
