"""advisor migrates its own PostgreSQL schema: versioned, once, however many workers start."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from graph.database import Connection, Pool, open_pool
from graph.pg_schema import MIGRATIONS, Migration, SchemaError, applied, migrate, version

ROOT = Path(__file__).parent.parent


@pytest.fixture
def pool(pg_url: str) -> Iterator[Pool]:
    with open_pool(pg_url, max_size=8) as pool:
        yield pool


def tables(pool: Pool) -> set[str]:
    with pool.connection() as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}


def notes_table(conn: Connection) -> None:
    conn.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL)")


def notes_author(conn: Connection) -> None:
    conn.execute("ALTER TABLE notes ADD COLUMN author text")


# advisor's own steps, then two a later release might add (numbered after the real ones).
REAL = [m.version for m in MIGRATIONS]
NOTES, AUTHOR = REAL[-1] + 1, REAL[-1] + 2
STEPS = (
    *MIGRATIONS,
    Migration(NOTES, "notes", notes_table),
    Migration(AUTHOR, "author", notes_author),
)


def test_a_fresh_database_gets_langgraphs_checkpoint_tables_and_the_app_tables(
    pool: Pool,
) -> None:
    assert migrate(pool) == [1, 2]
    assert {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations"} <= (
        tables(pool)
    )
    app = {"interviews", "answers", "memos", "events", "usage", "evidence", "sessions"}
    assert app <= tables(pool)
    with pool.connection() as conn:
        assert applied(conn) == {1: "LangGraph checkpoint tables", 2: "app tables"}
        assert version(conn) == 2
        indexes = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'checkpoints'")
        assert "checkpoints_thread_id_idx" in {row["indexname"] for row in indexes}


def test_migrating_again_changes_nothing(pool: Pool) -> None:
    assert migrate(pool, STEPS) == [*REAL, NOTES, AUTHOR]
    with pool.connection() as conn:
        conn.execute("INSERT INTO notes (body, author) VALUES ('kept', 'ana')")
        stamps = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    assert migrate(pool, STEPS) == []
    with pool.connection() as conn:
        assert conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall() == (
            stamps
        )
        assert conn.execute("SELECT body, author FROM notes").fetchall() == [
            {"body": "kept", "author": "ana"}
        ]


def test_a_newer_advisor_applies_only_its_new_steps_in_order(pool: Pool) -> None:
    assert migrate(pool, STEPS[:-1]) == [*REAL, NOTES]
    assert migrate(pool, STEPS) == [AUTHOR]
    with pool.connection() as conn:
        assert list(applied(conn)) == [*REAL, NOTES, AUTHOR]
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes'"
        )
        assert {row["column_name"] for row in columns} == {"id", "body", "author"}


def test_a_failing_step_leaves_nothing_half_done(pool: Pool) -> None:
    def half(conn: Connection) -> None:
        conn.execute("CREATE TABLE half_made (x int)")
        conn.execute("SELECT no_such_function()")

    with pytest.raises(SchemaError, match=rf"schema step {NOTES} \(half\) failed"):
        migrate(pool, (*MIGRATIONS, Migration(NOTES, "half", half)))
    assert "half_made" not in tables(pool)
    with pool.connection() as conn:
        assert list(applied(conn)) == REAL  # the steps before it stay applied
    assert migrate(pool, STEPS) == [NOTES, AUTHOR]  # fixed in the next release: it runs then


def test_steps_must_be_in_ascending_order(pool: Pool) -> None:
    with pytest.raises(ValueError, match="ascending"):
        migrate(pool, (STEPS[1], STEPS[0]))
    with pytest.raises(ValueError, match="ascending"):
        migrate(pool, (STEPS[0], STEPS[0]))
    assert "schema_migrations" not in tables(pool)


def test_migrate_refuses_a_connection_inside_transactions(pg_url: str) -> None:
    with psycopg.connect(pg_url, row_factory=dict_row) as conn, pytest.raises(ValueError):
        migrate(conn)


def test_versions_this_advisor_does_not_know_are_reported(
    pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    migrate(pool, STEPS)
    with caplog.at_level(logging.WARNING, logger="graph.pg_schema"):
        assert migrate(pool) == []  # an older advisor starting after a newer one migrated
    assert f"versions [{NOTES}, {AUTHOR}] this advisor does not know" in caplog.text


def test_workers_starting_at_once_migrate_once(pg_url: str) -> None:
    ran: list[int] = []

    def slow_notes(conn: Connection) -> None:
        ran.append(NOTES)
        time.sleep(0.3)  # long enough for every other worker to arrive and wait
        notes_table(conn)

    steps = (*MIGRATIONS, Migration(NOTES, "notes", slow_notes))
    results: list[list[int]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            with psycopg.connect(pg_url, autocommit=True, row_factory=dict_row) as conn:
                start.wait()
                results.append(migrate(conn, steps))
        except BaseException as e:
            failures.append(e)

    workers = [threading.Thread(target=worker) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert failures == []
    assert sorted(results) == [[], [], [], [*REAL, NOTES]]
    assert ran == [NOTES]


def test_worker_processes_starting_at_once_all_come_up(pg_url: str) -> None:
    # Real processes and LangGraph's own setup (CREATE INDEX CONCURRENTLY, which waits for
    # every older snapshot: a worker blocked inside pg_advisory_lock would deadlock it).
    script = (
        "import sys; from graph.database import open_pool; from graph.pg_schema import migrate\n"
    )
    script += "with open_pool(sys.argv[1]) as pool: print(migrate(pool))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, pg_url], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert sorted(outputs) == [str(REAL), "[]", "[]"]
