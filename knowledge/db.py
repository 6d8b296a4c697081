"""The one SQLite database advisor keeps: where it lives and how it is opened."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a database is opened: `advisor memo list` never needs it
    import sqlite_utils

DEFAULT_DB = Path(".advisor") / "advisor.db"
BUSY_TIMEOUT_MS = 5_000


def db_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The database file: an explicit path, else ``ADVISOR_DB``, else ``.advisor/advisor.db``."""
    chosen = Path(path) if path is not None else Path(os.environ.get("ADVISOR_DB") or DEFAULT_DB)
    return chosen


def connect(path: str | os.PathLike[str] | None = None) -> sqlite3.Connection:
    """A raw connection in WAL mode with a busy timeout, safe to share across threads.

    WAL lets readers run while a writer holds the lock; the busy timeout makes a second
    writer wait instead of failing at once.
    """
    file = db_path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(file, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def open_db(path: str | os.PathLike[str] | None = None) -> sqlite_utils.Database:
    """The app database through sqlite-utils (tables, FTS5), opened with :func:`connect`."""
    import sqlite_utils

    return sqlite_utils.Database(connect(path))


def connect_readonly(path: str | os.PathLike[str] | None = None) -> sqlite3.Connection:
    """A connection that only reads, for commands that never write (``memo list``,
    ``memo export``): it creates no file or folder and works on read-only media.

    FileNotFoundError when there is no database yet. A WAL database on read-only media
    without its ``-shm`` file cannot be opened with ``mode=ro``; since nobody can be writing
    to a folder nobody can write, it is then read as ``immutable``.
    """
    file = db_path(path)
    if not file.is_file():
        raise FileNotFoundError(errno.ENOENT, "no database yet", str(file))
    uri = file.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if os.access(file.parent, os.W_OK):
            raise
    except BaseException:
        conn.close()
        raise
    conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn
