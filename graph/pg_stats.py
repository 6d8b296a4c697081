"""``advisor db stats`` on PostgreSQL: rows and bytes per table, interviews and checkpoints.

The SQLite report (graph/retention.py) counts pages of one file; here the server reports
each table's size (``pg_total_relation_size``: its indexes and TOAST included) and the
database's. Compaction and pruning are SQLite-only for now (``advisor db compact|prune``
say so); the engine still compacts each finished PostgreSQL thread itself.
"""

from __future__ import annotations

from pydantic import BaseModel

from graph.database import Pool, redact
from graph.pg_schema import version

# The engine's tables: LangGraph's checkpoints and the app's own (graph/pg_schema.py).
TABLES = (
    "checkpoints",
    "checkpoint_blobs",
    "checkpoint_writes",
    "interviews",
    "answers",
    "memos",
    "events",
    "usage",
    "evidence",
    "sessions",
)
INTERVIEW_TABLES = (
    *("checkpoints", "checkpoint_blobs", "checkpoint_writes"),
    *("interviews", "answers", "memos", "usage", "evidence"),
)


class PgStats(BaseModel):
    """Sizes and counts for one PostgreSQL database."""

    url: str  # without its password
    schema_version: int
    database_bytes: int
    tables: dict[str, int]  # rows per table (tables not made yet are left out)
    table_bytes: dict[str, int]  # bytes per table, its indexes included
    interviews_by_status: dict[str, int]
    interviews: int
    threads: int
    checkpoints_per_interview_avg: float
    checkpoints_per_interview_max: int
    interview_bytes: int
    bytes_per_interview: int


def pg_stats(pool: Pool, url: str) -> PgStats:
    with pool.connection() as conn:
        present = [
            name
            for name in TABLES
            if (row := conn.execute("SELECT to_regclass(%s) AS t", [name]).fetchone())
            and row["t"] is not None
        ]
        rows: dict[str, int] = {}
        sizes: dict[str, int] = {}
        for name in present:  # names from TABLES only: safe in the statement
            found = conn.execute(
                f"SELECT count(*) AS n, pg_total_relation_size('{name}') AS b FROM {name}"
            ).fetchone()
            assert found is not None
            rows[name], sizes[name] = int(found["n"]), int(found["b"])
        by_status: dict[str, int] = {}
        if "interviews" in present:
            for row in conn.execute(
                "SELECT status, count(*) AS n FROM interviews GROUP BY status ORDER BY status"
            ):
                by_status[str(row["status"])] = int(row["n"])
        threads, average, most = 0, 0.0, 0
        if "checkpoints" in present:
            found = conn.execute(
                "SELECT count(*) AS threads, COALESCE(avg(n), 0) AS avg, COALESCE(max(n), 0)"
                " AS max FROM (SELECT thread_id, count(*) AS n FROM checkpoints"
                " GROUP BY thread_id) AS per_thread"
            ).fetchone()
            assert found is not None
            threads, average, most = int(found["threads"]), float(found["avg"]), int(found["max"])
        size = conn.execute("SELECT pg_database_size(current_database()) AS b").fetchone()
        schema = version(conn)
    interviews = sum(by_status.values())
    interview_bytes = sum(sizes.get(name, 0) for name in INTERVIEW_TABLES)
    return PgStats(
        url=redact(url),
        schema_version=schema,
        database_bytes=int(size["b"]) if size else 0,
        tables=rows,
        table_bytes=sizes,
        interviews_by_status=by_status,
        interviews=interviews,
        threads=threads,
        checkpoints_per_interview_avg=round(average, 2),
        checkpoints_per_interview_max=most,
        interview_bytes=interview_bytes,
        bytes_per_interview=interview_bytes // interviews if interviews else 0,
    )
