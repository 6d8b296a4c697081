"""Which database advisor uses, and how it connects to PostgreSQL.

Unset ``ADVISOR_DATABASE_URL``: the SQLite file (``ADVISOR_DB``, default
``.advisor/advisor.db``), the embedded default. Set to a ``postgresql://`` URL: checkpoints
and the app's tables live in that PostgreSQL database, shared by every worker.

PostgreSQL connections come from one psycopg pool per process, configured the way LangGraph's
PostgresSaver needs them (autocommit, dict rows, prepared statements) and checked before
each use, so a pool outlives a server restart. Nothing here prints a password: every message
that names the URL names it through :func:`redact`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from knowledge.db import DEFAULT_DB, db_path

log = logging.getLogger(__name__)

URL_ENV = "ADVISOR_DATABASE_URL"
SCHEMES = ("postgresql", "postgres")
EXAMPLE = "postgresql://advisor:PASSWORD@db.example.com:5432/advisor"

Connection = psycopg.Connection[DictRow]
Pool = ConnectionPool[Connection]

# How every pooled connection is opened. autocommit: PostgresSaver.setup() runs CREATE INDEX
# CONCURRENTLY, which cannot run inside a transaction, and the saver commits nothing itself;
# the app's writes open explicit transactions (``with conn.transaction()``). dict_row: the
# saver reads rows by column name. prepare_threshold=0: what the saver's own
# from_conn_string uses (prepare each statement on first use); behind PgBouncer in
# transaction mode older than 1.21 it would have to be None.
CONNECTION_KWARGS: dict[str, Any] = {
    "autocommit": True,
    "prepare_threshold": 0,
    "row_factory": dict_row,
    "connect_timeout": 5,  # seconds, per attempt (libpq)
    "application_name": "advisor",
}
# The server notices a worker's machine that vanished (no FIN) within about a minute instead
# of the kernel default of two hours: its session, and any advisory lock it holds, ends.
# Ignored on unix sockets.
SESSION_SETTINGS = (
    "SET tcp_keepalives_idle = 30",
    "SET tcp_keepalives_interval = 10",
    "SET tcp_keepalives_count = 3",
)


class DatabaseUrlError(ValueError):
    """``ADVISOR_DATABASE_URL`` is set but is not a PostgreSQL URL advisor can use."""


class DatabaseUnavailable(RuntimeError):
    """The PostgreSQL server in ``ADVISOR_DATABASE_URL`` cannot be reached or refused us."""


@dataclass(frozen=True)
class Sqlite:
    """The embedded default: one SQLite file."""

    path: Path

    def __str__(self) -> str:
        return f"SQLite {self.path}"


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL database (the URL may hold a password: it is never shown)."""

    url: str = field(repr=False)

    @property
    def shown(self) -> str:
        return redact(self.url)

    def __str__(self) -> str:
        return f"PostgreSQL {self.shown}"

    def __repr__(self) -> str:
        return f"Postgres({self.shown!r})"


Backend = Sqlite | Postgres

_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^@/?#:]*):(?P<pw>[^@/?#]*)@")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<pw>[^&#]*)", re.IGNORECASE)


def _passwords(url: str) -> list[str]:
    found = [m.group("pw") for m in (_USERINFO.search(url), *_QUERY_PASSWORD.finditer(url)) if m]
    return [pw for pw in found if pw]


def redact(text: str, url: str | None = None) -> str:
    """``text`` with every password of ``url`` (default: ``text`` itself is the URL) shown as
    ``***``: in the user part, in a ``password=`` parameter, and anywhere it recurs (libpq
    quotes a bad password in its own error messages)."""
    secrets = _passwords(url if url is not None else text)
    shown = _USERINFO.sub(r"\g<head>:***@", text)
    shown = _QUERY_PASSWORD.sub(r"\g<head>***", shown)
    for secret in sorted(secrets, key=len, reverse=True):
        shown = shown.replace(secret, "***")
    return shown


def parse_url(url: str) -> str:
    """The URL, stripped, if libpq can use it; :class:`DatabaseUrlError` (one line, no
    password) if not."""
    url = url.strip()
    shown = redact(url)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise DatabaseUrlError(
            f"{URL_ENV} must be a postgresql:// URL such as {EXAMPLE}, not {shown!r}"
        )
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        reason = redact(str(e).strip().splitlines()[0], url)
        raise DatabaseUrlError(f"{URL_ENV} is not a usable URL ({reason}): {shown!r}") from None
    ports = [p for p in str(parts.get("port") or "").split(",") if p]
    if any(not p.isdigit() or not 0 < int(p) < 65536 for p in ports):
        raise DatabaseUrlError(f"{URL_ENV} has a port that is not a number 1-65535: {shown!r}")
    return url


def configured(environ: Mapping[str, str] | None = None) -> Backend:
    """The database this process should use: PostgreSQL when ``ADVISOR_DATABASE_URL`` is set
    (and valid), otherwise the SQLite file."""
    env = os.environ if environ is None else environ
    url = (env.get(URL_ENV) or "").strip()
    if url:
        return Postgres(parse_url(url))
    return Sqlite(db_path(env.get("ADVISOR_DB") or DEFAULT_DB))


def _configure(conn: Connection) -> None:
    for statement in SESSION_SETTINGS:
        conn.execute(statement)


def _checker(owner: list[Pool]) -> Callable[[Connection], None]:
    """The check run on each connection the pool hands out (one empty query).

    When it finds a broken one, the others idle beside it are as broken (a server restart
    cut them all): check them all now. Otherwise psycopg_pool finds them one hand-out at a
    time, sleeping 1 s, 2 s, 4 s... between finds, and a pool of ten idle connections would
    keep a caller waiting past its timeout after every restart."""

    def check(conn: Connection) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.OperationalError:
            if owner:
                owner[0].check()
            raise

    return check


def reach(url: str) -> None:
    """Connect once, so a wrong host or password is one clear line at start-up instead of a
    pool that retries in the background. :class:`DatabaseUnavailable` if it fails."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECTION_KWARGS["connect_timeout"]):
            pass
    except psycopg.Error as e:
        # libpq's first line says what failed (refused, no such database, bad password).
        lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
        reason = redact(lines[0] if lines else type(e).__name__, url)
        raise DatabaseUnavailable(f"cannot use PostgreSQL at {redact(url)}: {reason}") from None


def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    timeout: float = 15.0,
    name: str = "advisor",
) -> Pool:
    """An open pool of connections to ``url``, shared by the app's tables and PostgresSaver.

    ``max_size``: connections one process may hold at once; a turn holds one for its thread
    lock and briefly another for each statement, so about twice the work threads plus two.
    ``timeout``: how long a caller waits for a free connection (or for the server to come
    back) before ``PoolTimeout``. Every connection is checked (one empty query) when it is
    handed out, so the broken ones a server restart leaves are replaced, not returned; a
    connection that breaks while in use fails that one call, and the pool replaces it.
    """
    url = parse_url(url)
    reach(url)
    owner: list[Pool] = []
    pool: Pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=dict(CONNECTION_KWARGS),
        configure=_configure,
        check=_checker(owner),
        timeout=timeout,
        max_idle=300.0,  # close connections idle for 5 minutes (down to min_size)
        max_lifetime=1800.0,  # and renew every one within 30 minutes
        reconnect_timeout=300.0,  # then log, call reconnect_failed, keep trying on demand
        name=name,
        open=False,
    )
    owner.append(pool)
    pool.open(wait=True, timeout=timeout)
    log.info(
        "PostgreSQL pool %s open: %s, %d-%d connections", name, redact(url), min_size, max_size
    )
    return pool
