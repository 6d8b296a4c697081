"""The app's tables in PostgreSQL: the same store as graph/store.py, shared by every worker.

:class:`PgStore` has :class:`graph.store.Store`'s methods and records over the process's
psycopg pool (graph/database.py); the tables are migration step 2 of graph/pg_schema.py.
Every write is one transaction on one pooled connection. Where SQLite relies on its single
writer (``BEGIN IMMEDIATE``), PostgreSQL gets what it needs explicitly: an answer's seq is
numbered under a transaction-scoped advisory lock of its interview, and everything else is a
single statement (``ON CONFLICT`` upserts, compare-and-set updates).

The Slack front end's own tables (inbox, outbox, thread map) are SQLite-only for now:
``write`` and ``read``, which hand out an SQLite database, refuse here, and ``advisor serve``
refuses to start with ``ADVISOR_DATABASE_URL`` set.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, NoReturn

import psycopg
import sqlite_utils
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg_pool import PoolTimeout

from graph.database import Connection, Pool, Postgres, configured, open_pool
from graph.memo_headers import MEMO_STATUSES, MemoHeader
from graph.pg_locks import lock_key
from graph.pg_schema import migrate
from graph.store import (
    CLAIM_FREE,
    CLAIM_FROM,
    AnswerRecord,
    InterviewRecord,
    InterviewStatus,
    MemoRecord,
    MemoStatus,
    SessionClaim,
    Store,
    memo_id_for,
    utc_now,
)

log = logging.getLogger(__name__)

SLACK_ONLY = (
    "the Slack tables (inbox, outbox, thread map) are SQLite-only for now: "
    "unset ADVISOR_DATABASE_URL to use them"
)
_INTERVIEW = "id, use_case, started_by, started_at, updated_at, status, origin, memo_id"
_ANSWER = 'interview_id, seq, question_id, "by", "at", text, "values", author_id'
_MEMO = (
    "id, interview_id, version, status, approach, next_rung, use_case, markdown, assessment,"
    " created_at, updated_at, decided_by"
)
_EVIDENCE = 'interview_id, file, sha256, kind, "by", "at", summary, measures'
_HEADER = "id, interview_id, version, status, approach, use_case, created_at"
# The seq lock's own namespace: a turn holds its thread's lock (graph/pg_locks.py) on
# another connection while it records an answer, so sharing that key would self-deadlock.
_SEQ_NAMESPACE = "advisor:answers:"


class PgStore(Store):
    """The app tables in PostgreSQL. Thread-safe (the pool is); every write commits at once.

    A subclass so every front end typed against :class:`Store` takes it; it overrides every
    public method (tests/test_store.py checks), so none of SQLite's code runs here.
    """

    errors: ClassVar[tuple[type[Exception], ...]] = (psycopg.Error, PoolTimeout)

    def __init__(self, pool: Pool, *, owns_pool: bool = False) -> None:
        # Store.__init__ is not called: there is no SQLite file behind this store.
        self.pool = pool
        self.readonly = False
        self._owns_pool = owns_pool

    @classmethod
    def connect(cls, url: str) -> PgStore:
        """A store on its own pool to ``url``, its schema brought up to date."""
        pool = open_pool(url, max_size=4, name="advisor-store")
        try:
            migrate(pool)
        except BaseException:
            pool.close()
            raise
        return cls(pool, owns_pool=True)

    def has_table(self, name: str) -> bool:
        row = self._one("SELECT to_regclass(%s) IS NOT NULL AS ok", [name])
        return bool(row and row["ok"])

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        _slack_only()
        yield  # unreachable: _slack_only raises

    @contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        _slack_only()
        yield

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()

    # plumbing --------------------------------------------------------------------------

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            return [dict(row) for row in conn.execute(sql, args).fetchall()]

    def _one(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    def _run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One statement in its own transaction (autocommit); the rows it changed."""
        with self.pool.connection() as conn:
            return conn.execute(sql, args).rowcount

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.pool.connection() as conn, conn.transaction():
            yield conn

    # interviews ------------------------------------------------------------------------

    def create_interview(
        self,
        interview_id: str,
        *,
        use_case: str,
        by: str,
        at: str | None = None,
        origin: dict[str, str] | None = None,
    ) -> InterviewRecord:
        now = at or utc_now()
        self._run(
            "INSERT INTO interviews (id, use_case, started_by, started_at, updated_at, status,"
            " origin, memo_id) VALUES (%s, %s, %s, %s, %s, 'open', %s, NULL)"
            " ON CONFLICT (id) DO NOTHING",
            [interview_id, use_case, by, now, now, json.dumps(origin or {})],
        )
        found = self.get_interview(interview_id)
        assert found is not None
        return found

    def get_interview(self, interview_id: str) -> InterviewRecord | None:
        row = self._one(f"SELECT {_INTERVIEW} FROM interviews WHERE id = %s", [interview_id])
        return _interview(row) if row is not None else None

    def update_interview(self, interview_id: str, *, at: str | None = None, **fields: Any) -> None:
        allowed = {"use_case", "status", "memo_id", "origin"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update interview field(s): {', '.join(sorted(unknown))}")
        if "origin" in fields:
            fields["origin"] = json.dumps(fields["origin"] or {})
        fields["updated_at"] = at or utc_now()
        columns = sorted(fields)  # names from `allowed` only: safe in the statement
        assignments = ", ".join(f"{column} = %s" for column in columns)
        changed = self._run(
            f"UPDATE interviews SET {assignments} WHERE id = %s",
            [*(fields[c] for c in columns), interview_id],
        )
        if not changed:  # as sqlite-utils' update does for a missing row
            raise sqlite_utils.db.NotFoundError(interview_id)

    def list_interviews(
        self,
        status: InterviewStatus | None = None,
        *,
        prefix: str | None = None,
        involving: str | None = None,
        limit: int | None = None,
    ) -> list[InterviewRecord]:
        clauses: list[str] = []
        args: list[Any] = []
        if status:
            clauses.append("status = %s")
            args.append(status)
        if prefix:
            clauses.append("left(id, %s) = %s")
            args += [len(prefix), prefix]
        if involving is not None:
            clauses.append(
                "((origin::jsonb ->> 'user_id') = %s OR id IN "
                "(SELECT interview_id FROM answers WHERE author_id = %s))"
            )
            args += [involving, involving]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {_INTERVIEW} FROM interviews{where} ORDER BY started_at DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        return [_interview(row) for row in self._all(sql, args)]

    # answers ---------------------------------------------------------------------------

    def record_answer(
        self,
        interview_id: str,
        *,
        question_id: str,
        text: str,
        by: str,
        at: str | None = None,
        values: list[str] | None = None,
        author_id: str = "",
    ) -> int:
        stamp = at or utc_now()
        with self._transaction() as conn:
            # Two workers answering one interview at once must not take the same seq.
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s)", [lock_key(_SEQ_NAMESPACE + interview_id)]
            )
            row = conn.execute(
                'INSERT INTO answers (interview_id, seq, question_id, "by", "at", text,'
                ' "values", author_id) SELECT %s, COALESCE(MAX(seq), 0) + 1, %s, %s, %s, %s,'
                " %s, %s FROM answers WHERE interview_id = %s RETURNING seq",
                [
                    interview_id,
                    question_id,
                    by,
                    stamp,
                    text,
                    json.dumps(values) if values is not None else None,
                    author_id,
                    interview_id,
                ],
            ).fetchone()
            # An answer is activity: the interview's clock moves in the same transaction.
            conn.execute(
                "UPDATE interviews SET updated_at = %s WHERE id = %s AND updated_at < %s",
                [stamp, interview_id, stamp],
            )
        assert row is not None
        return int(row["seq"])

    def amend_answer(self, interview_id: str, seq: int, *, text: str | None) -> None:
        self._run(
            'UPDATE answers SET text = %s, "values" = NULL WHERE interview_id = %s AND seq = %s',
            [text or "", interview_id, seq],
        )

    def last_answer(self, interview_id: str) -> AnswerRecord | None:
        row = self._one(
            f"SELECT {_ANSWER} FROM answers WHERE interview_id = %s ORDER BY seq DESC LIMIT 1",
            [interview_id],
        )
        return _answer(row) if row is not None else None

    def answers(self, interview_id: str) -> list[AnswerRecord]:
        rows = self._all(
            f"SELECT {_ANSWER} FROM answers WHERE interview_id = %s ORDER BY seq", [interview_id]
        )
        return [_answer(row) for row in rows]

    # memos -----------------------------------------------------------------------------

    def save_memo(
        self,
        *,
        interview_id: str,
        version: int,
        markdown: str,
        assessment: dict[str, Any],
        use_case: str,
        at: str | None = None,
    ) -> MemoRecord:
        memo_id = memo_id_for(interview_id, version)
        now = at or utc_now()
        row: dict[str, Any] = {
            "id": memo_id,
            "interview_id": interview_id,
            "version": version,
            "status": "proposed",
            "approach": str(assessment.get("approach", "")),
            "next_rung": assessment.get("next_rung"),
            "use_case": use_case,
            "markdown": markdown,
            "assessment": json.dumps(assessment),
            "created_at": now,
            "updated_at": now,
            "decided_by": None,
        }
        columns = list(row)
        # The whole row replaced, as sqlite-utils' upsert of every column does.
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
        with self._transaction() as conn:
            conn.execute(
                f"INSERT INTO memos ({', '.join(columns)})"
                f" VALUES ({', '.join(['%s'] * len(columns))})"
                f" ON CONFLICT (id) DO UPDATE SET {updates}",
                [row[c] for c in columns],
            )
            conn.execute(
                "UPDATE interviews SET memo_id = %s, status = 'done', updated_at = %s"
                " WHERE id = %s",
                [memo_id, now, interview_id],
            )
        return MemoRecord.model_validate({**row, "assessment": assessment})

    def get_memo(self, memo_id: str) -> MemoRecord | None:
        row = self._one(f"SELECT {_MEMO} FROM memos WHERE id = %s", [memo_id])
        if row is None:
            matches = self.memo_ids(memo_id, limit=2)
            if len(matches) != 1:
                return None
            row = self._one(f"SELECT {_MEMO} FROM memos WHERE id = %s", [matches[0]])
        return _memo(row) if row is not None else None

    def memo_ids(self, prefix: str, *, limit: int = 5) -> list[str]:
        if not prefix or not prefix.isalnum():
            return []
        rows = self._all(
            "SELECT id FROM memos WHERE left(id, %s) = %s ORDER BY id LIMIT %s",
            [len(prefix), prefix, limit],
        )
        return [str(row["id"]) for row in rows]

    def latest_memo(self, interview_id: str) -> MemoRecord | None:
        row = self._one(
            f"SELECT {_MEMO} FROM memos WHERE interview_id = %s ORDER BY version DESC LIMIT 1",
            [interview_id],
        )
        return _memo(row) if row is not None else None

    def list_memos(self) -> list[MemoRecord]:
        rows = self._all(f"SELECT {_MEMO} FROM memos ORDER BY created_at DESC, version DESC")
        return [_memo(row) for row in rows]

    def memo_headers(self, *, latest_only: bool = True) -> list[MemoHeader]:
        where = (
            " WHERE version = (SELECT MAX(version) FROM memos AS m"
            " WHERE m.interview_id = memos.interview_id)"
            if latest_only
            else ""
        )
        rows = self._all(
            f"SELECT {_HEADER} FROM memos{where} ORDER BY created_at DESC, version DESC"
        )
        return [
            MemoHeader(
                str(r["id"]),
                str(r["interview_id"]),
                int(r["version"]),
                str(r["status"]),
                str(r["approach"]),
                str(r["use_case"]),
                str(r["created_at"]),
            )
            for r in rows
        ]

    def set_memo_status(
        self, memo_id: str, status: MemoStatus, by: str, *, markdown: str, at: str | None = None
    ) -> MemoRecord:
        if status not in MEMO_STATUSES:
            raise ValueError(f"status must be one of {', '.join(MEMO_STATUSES)}, not {status!r}")
        changed = self._run(
            "UPDATE memos SET status = %s, markdown = %s, decided_by = %s, updated_at = %s"
            " WHERE id = %s",
            [status, markdown, by, at or utc_now(), memo_id],
        )
        if not changed:
            raise KeyError(memo_id)
        found = self.get_memo(memo_id)
        assert found is not None
        return found

    # evidence files and terminal sessions ----------------------------------------------

    def add_evidence_row(
        self,
        interview_id: str,
        *,
        file: str,
        sha256: str,
        kind: str,
        by: str,
        at: str,
        summary: str,
        measures: dict[str, Any],
    ) -> None:
        self._run(
            f"INSERT INTO evidence ({_EVIDENCE}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [interview_id, file, sha256, kind, by, at, summary, _json(measures)],
        )

    def evidence_rows(self, interview_id: str) -> list[dict[str, Any]]:
        return self._all(
            f"SELECT {_EVIDENCE} FROM evidence WHERE interview_id = %s ORDER BY rowid",
            [interview_id],
        )

    def session_claim(self, interview_id: str) -> SessionClaim | None:
        row = self._one(
            "SELECT holder, host, pid, since, beat_at FROM sessions WHERE interview_id = %s",
            [interview_id],
        )
        return SessionClaim(**row) if row is not None else None

    def claim_session(
        self, interview_id: str, claim: SessionClaim, *, replacing: str | None
    ) -> bool:
        args: list[Any] = [interview_id, claim.holder, claim.host, claim.pid, claim.since]
        args.append(claim.beat_at)
        sql = CLAIM_FREE if replacing is None else CLAIM_FROM
        return self._run(sql.format(p="%s"), args + ([replacing] if replacing else [])) == 1

    def beat_session(self, interview_id: str, holder: str, at: float) -> bool:
        return (
            self._run(
                "UPDATE sessions SET beat_at = %s WHERE interview_id = %s AND holder = %s",
                [at, interview_id, holder],
            )
            == 1
        )

    def release_session(self, interview_id: str, holder: str) -> None:
        self._run(
            "DELETE FROM sessions WHERE interview_id = %s AND holder = %s", [interview_id, holder]
        )

    # events and usage ------------------------------------------------------------------

    def seen_event(self, event_id: str, *, at: str | None = None) -> bool:
        return self.note_event(event_id, at=at)

    def note_event(self, event_id: str, *, at: str | None = None) -> bool:
        """``seen_event``: one statement, its own transaction (PostgreSQL has no caller's
        ``write`` transaction to join)."""
        changed = self._run(
            'INSERT INTO events (event_id, "at") VALUES (%s, %s) ON CONFLICT DO NOTHING',
            [event_id, at or utc_now()],
        )
        return changed == 1

    def record_usage(
        self,
        interview_id: str,
        *,
        model: str,
        purpose: str,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        at: str | None = None,
    ) -> None:
        self._run(
            'INSERT INTO usage (interview_id, "at", model, purpose, input_tokens, output_tokens,'
            " cache_read_tokens, cache_write_tokens) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                interview_id,
                at or utc_now(),
                model,
                purpose,
                input_tokens,
                output_tokens,
                cache_read_tokens,
                cache_write_tokens,
            ],
        )

    def usage(self, interview_id: str) -> dict[str, int]:
        row = self._one(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens), 0) AS input_tokens,"
            " COALESCE(SUM(output_tokens), 0) AS output_tokens,"
            " COALESCE(SUM(cache_read_tokens), 0) AS cache_read_tokens,"
            " COALESCE(SUM(cache_write_tokens), 0) AS cache_write_tokens"
            " FROM usage WHERE interview_id = %s",
            [interview_id],
        )
        assert row is not None
        return {key: int(value) for key, value in row.items()}


def open_engine() -> tuple[PgStore, PostgresSaver]:
    """The engine's store and LangGraph's own checkpointer on one pool to the configured
    database (``ADVISOR_DATABASE_URL``), its schema migrated first (once per start-up; other
    workers starting at once wait for it). Closing the saver's pool closes both."""
    backend = configured()
    if not isinstance(backend, Postgres):
        raise ValueError("ADVISOR_DATABASE_URL is not set")
    pool = open_pool(backend.url)
    try:
        migrate(pool)
    except BaseException:
        pool.close()
        raise
    return PgStore(pool), PostgresSaver(pool)


def compact_pg_thread(saver: PostgresSaver, interview_id: str) -> None:
    """Keep the thread's latest checkpoint (and what it needs) only: PostgresSaver's own
    ``keep_latest`` prune, in one transaction on one snapshot, safe beside a running turn.
    A failure never fails the caller's turn; the next compaction catches up."""
    try:
        saver.prune([interview_id], strategy="keep_latest")
    except (psycopg.Error, PoolTimeout, NotImplementedError):
        log.warning("interview %s: compaction deferred", interview_id, exc_info=True)


def _json(measures: dict[str, Any]) -> str:
    return json.dumps(measures, sort_keys=True)  # the same text as in SQLite


def _slack_only() -> NoReturn:
    raise NotImplementedError(SLACK_ONLY)


def _interview(row: dict[str, Any]) -> InterviewRecord:
    return InterviewRecord.model_validate({**row, "origin": json.loads(row["origin"] or "{}")})


def _answer(row: dict[str, Any]) -> AnswerRecord:
    values = json.loads(row["values"]) if row["values"] else None
    return AnswerRecord.model_validate(
        {**row, "values": values, "author_id": row["author_id"] or ""}
    )


def _memo(row: dict[str, Any]) -> MemoRecord:
    return MemoRecord.model_validate({**row, "assessment": json.loads(row["assessment"] or "{}")})
