"""The PostgreSQL schema: created and migrated by advisor itself, versioned.

Each step has a version; ``schema_migrations`` records the versions applied. :func:`migrate`
runs the missing steps in order under one advisory lock, so any number of workers starting
at once migrate once and the rest wait for it. A step runs in its own transaction with its
version row (all of it or none); a step marked ``transactional=False`` manages its own
statements (LangGraph's ``PostgresSaver.setup()`` creates indexes CONCURRENTLY, which no
transaction may contain) and must be safe to run again if it is cut short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver

from graph.database import Connection, Pool
from graph.pg_locks import lock_key, poll_lock, unlock

log = logging.getLogger(__name__)

SCHEMA_LOCK = lock_key("advisor:schema")
SCHEMA_WAIT = 300.0  # seconds a worker waits for another worker's migration


class SchemaError(RuntimeError):
    """The schema could not be brought up to date."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]
    transactional: bool = True


def _checkpoint_tables(conn: Connection) -> None:
    # LangGraph keeps its own version table (checkpoint_migrations) and applies only what
    # is missing, so a cut-short run is finished by the next one.
    PostgresSaver(conn).setup()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "LangGraph checkpoint tables", _checkpoint_tables, transactional=False),
)

_CREATE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@contextmanager
def _session(target: Pool | Connection) -> Iterator[Connection]:
    if isinstance(target, psycopg.Connection):
        yield target
    else:
        with target.connection() as conn:
            yield conn


def applied(conn: Connection) -> dict[int, str]:
    """Versions recorded in ``schema_migrations`` (none when the table is missing)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS ok").fetchone()
    if not exists or not exists["ok"]:
        return {}
    rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
    return {int(row["version"]): str(row["name"]) for row in rows}


def _check_order(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or (versions and versions[0] < 1):
        raise ValueError(f"migration versions must be unique, positive and ascending: {versions}")


def migrate(
    target: Pool | Connection,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    wait: float = SCHEMA_WAIT,
) -> list[int]:
    """Bring the schema up to date; return the versions this call applied (``[]`` when it
    was current, or another worker had just done it)."""
    _check_order(migrations)
    with _session(target) as conn:
        if not conn.autocommit:
            raise ValueError("migrate needs an autocommit connection (see graph.database)")
        if not poll_lock(conn, SCHEMA_LOCK, wait):
            raise SchemaError(f"another worker held the schema lock for over {wait:.0f} s")
        try:
            conn.execute(_CREATE)
            done = applied(conn)
            unknown = sorted(set(done) - {m.version for m in migrations})
            if unknown:
                log.warning("database schema has versions %s this advisor does not know", unknown)
            ran: list[int] = []
            for step in migrations:
                if step.version in done:
                    continue
                _apply(conn, step)
                ran.append(step.version)
                log.info("schema migrated to version %d: %s", step.version, step.name)
            return ran
        finally:
            with suppress(psycopg.OperationalError):
                unlock(conn, SCHEMA_LOCK)


def _apply(conn: Connection, step: Migration) -> None:
    record = "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)"
    try:
        if step.transactional:
            with conn.transaction():
                step.apply(conn)
                conn.execute(record, [step.version, step.name])
        else:
            step.apply(conn)
            conn.execute(record, [step.version, step.name])
    except psycopg.Error as e:
        raise SchemaError(f"schema step {step.version} ({step.name}) failed: {e}") from e
