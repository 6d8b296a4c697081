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


# The app's tables, with the columns of their SQLite twins (graph/store.py,
# graph/session_lock.py, graph/interview_evidence.py) so both stores hold the same records.
# Timestamps stay ISO 8601 text, compared as text, exactly as in SQLite. ``rowid`` stands in
# for SQLite's implicit one where the order of insertion breaks ties. "by", "at" and "values"
# are quoted: SQL keywords.
_APP_TABLES = (
    """CREATE TABLE interviews (
        id text PRIMARY KEY, use_case text, started_by text, started_at text,
        updated_at text, status text, origin text, memo_id text,
        rowid bigint GENERATED ALWAYS AS IDENTITY)""",
    """CREATE TABLE answers (
        interview_id text NOT NULL, seq integer NOT NULL, question_id text, "by" text,
        "at" text, text text, "values" text, author_id text,
        PRIMARY KEY (interview_id, seq))""",
    """CREATE TABLE memos (
        id text PRIMARY KEY, interview_id text, version integer, status text, approach text,
        next_rung text, use_case text, markdown text, assessment text, created_at text,
        updated_at text, decided_by text)""",
    'CREATE TABLE events (event_id text PRIMARY KEY, "at" text)',
    """CREATE TABLE usage (
        interview_id text, "at" text, model text, purpose text, input_tokens bigint,
        output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint)""",
    """CREATE TABLE evidence (
        interview_id text, file text, sha256 text, kind text, "by" text, "at" text,
        summary text, measures text, rowid bigint GENERATED ALWAYS AS IDENTITY)""",
    """CREATE TABLE sessions (
        interview_id text PRIMARY KEY, holder text NOT NULL, host text NOT NULL,
        pid integer NOT NULL, since text NOT NULL, beat_at double precision NOT NULL)""",
    "CREATE INDEX memos_interview_id ON memos (interview_id)",
    'CREATE INDEX answers_by ON answers ("by")',
    "CREATE INDEX answers_author_id ON answers (author_id)",
    # SQLite scans usage and evidence per interview; a shared server should not.
    "CREATE INDEX usage_interview_id ON usage (interview_id)",
    "CREATE INDEX evidence_interview_id ON evidence (interview_id)",
)


def _app_tables(conn: Connection) -> None:
    for statement in _APP_TABLES:
        conn.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "LangGraph checkpoint tables", _checkpoint_tables, transactional=False),
    Migration(2, "app tables", _app_tables),
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


def version(conn: Connection) -> int:
    """The schema version the database is at (0 before the first migration)."""
    return max(applied(conn), default=0)


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
