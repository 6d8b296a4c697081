"""Database errors as one clear line (and exit code 1) instead of a traceback.

Every command that touches the database (``chat``, ``memo …``, ``db …``, ``knowledge …``)
says what is wrong with the file in the same words: read-only, full, not a database, busy,
cannot be opened. ``bot/cli.py`` applies it to every command as a last net.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from knowledge.db import db_path

# what opening the file or creating its folder fails with: no permission, a read-only file
# system, no space, a file where a folder should be (and the reverse)
_FILE_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.ENOTDIR, errno.EISDIR}


def is_full(error: BaseException) -> bool:
    """SQLite (or the file system under it) ran out of space."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "disk is full" in str(error)
    return isinstance(error, OSError) and error.errno == errno.ENOSPC


def database_message(error: BaseException, path: Path | None = None) -> str:
    """One line saying what is wrong with the database file, and what to do."""
    where = path if path is not None else db_path()
    text = str(error)
    if is_full(error):
        return f"the disk holding the database at {where} is full. Free some space and try again."
    if isinstance(error, OSError):
        reason = error.strerror or text
        return f"cannot open the database at {where}: {reason} (ADVISOR_DB moves it)."
    code = getattr(error, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_NOTADB or "not a database" in text:
        return (
            f"database error at {where}: it is not an SQLite file, so not advisor's "
            "database. Point ADVISOR_DB at the right file."
        )
    if "readonly" in text or "read-only" in text or code == sqlite3.SQLITE_READONLY:
        return (
            f"the database at {where} is read-only ({text}). This command writes to it: "
            "run it where the file and its folder are writable, or set ADVISOR_DB."
        )
    if "locked" in text or "busy" in text:
        return (
            f"The database at {where} is busy (another process is writing). Try again in a moment."
        )
    if "unable to open" in text:
        return (
            f"cannot open the database at {where} ({text}): check that its folder exists "
            "and can be written, or set ADVISOR_DB."
        )
    return f"database error at {where}: {text}"


@contextmanager
def database_errors(path: Path | None = None) -> Iterator[None]:
    """SQLite errors, and the OS errors of opening the file, as one ClickException line."""
    try:
        yield
    except sqlite3.Error as exc:
        raise click.ClickException(database_message(exc, path)) from exc
    except OSError as exc:
        if exc.errno not in _FILE_ERRORS:
            raise
        raise click.ClickException(database_message(exc, path)) from exc
    except Exception as exc:
        line = postgres_message(exc)
        if line is None:
            raise
        raise click.ClickException(line) from None


def postgres_message(error: BaseException) -> str | None:
    """One line for a PostgreSQL error (a bad ``ADVISOR_DATABASE_URL``, a server that cannot
    be reached or went away), with no password; None for anything else. Looked up only in
    modules already loaded: an SQLite run never imports psycopg to ask."""
    database = sys.modules.get("graph.database")
    if database is None:
        return None
    if isinstance(error, database.DatabaseUrlError | database.DatabaseUnavailable):
        return str(error)
    psycopg, pool = sys.modules.get("psycopg"), sys.modules.get("psycopg_pool")
    if (psycopg is not None and isinstance(error, psycopg.Error)) or (
        pool is not None and isinstance(error, pool.PoolTimeout)
    ):
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        url = os.environ.get(database.URL_ENV, "")
        return f"PostgreSQL error at {database.redact(url)}: {database.redact(reason, url)}"
    return None
