"""The app's own tables (interviews, answers, memos, events, usage) through sqlite-utils.

They live in the same database file as the LangGraph checkpoints (knowledge.db); with
``ADVISOR_DATABASE_URL`` set, :func:`open_store` gives graph/pg_store.py's PostgreSQL twin. The
checkpoints hold where an interview is; these tables hold what people said and what was
decided, in a shape that ``advisor memo list`` and the front ends can query directly. A front
end may keep tables of its own in the same file and transactions (``write``, ``read``): the
Slack app's inbox, outbox and thread map are in bot/slack/tables.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import sqlite_utils
from pydantic import BaseModel, Field

from graph.memo_headers import MEMO_STATUSES, MemoHeader, memo_headers
from knowledge.db import connect_readonly, open_db

if TYPE_CHECKING:
    from graph.pg_store import PgStore

InterviewStatus = Literal["open", "done", "cancelled"]
MemoStatus = Literal["proposed", "accepted", "rejected"]


def utc_now() -> str:
    """Now, as an ISO 8601 UTC timestamp to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Busy(Exception):
    """Another process holds an interview for longer than we could wait."""


def memo_id_for(interview_id: str, version: int) -> str:
    """A short id, the same every time for one interview's memo version (so a node that
    runs twice after a crash overwrites instead of duplicating)."""
    return hashlib.sha1(f"{interview_id}#{version}".encode()).hexdigest()[:8]


class InterviewRecord(BaseModel):
    id: str
    use_case: str
    started_by: str
    started_at: str
    updated_at: str
    status: InterviewStatus
    origin: dict[str, str] = Field(default_factory=dict)
    memo_id: str | None = None


class AnswerRecord(BaseModel):
    interview_id: str
    seq: int
    question_id: str
    by: str  # the person's name as it was when they answered: the memo's "who said what"
    at: str
    text: str
    values: list[str] | None = None
    author_id: str = ""  # a stable id for the person (a front end's user id); "" if none


class MemoRecord(BaseModel):
    id: str
    interview_id: str
    version: int
    status: MemoStatus
    approach: str
    next_rung: str | None
    use_case: str
    markdown: str
    assessment: dict[str, Any]
    created_at: str
    updated_at: str
    decided_by: str | None = None


@dataclass(frozen=True)
class SessionClaim:
    """Who holds an interview's session (graph/session_lock.py): a row of ``sessions``."""

    holder: str
    host: str
    pid: int
    since: str  # ISO 8601 UTC
    beat_at: float  # time.time() of the holder's last heartbeat


_EVIDENCE_COLUMNS = ("interview_id", "file", "sha256", "kind", "by", "at", "summary", "measures")
_SESSIONS = (
    "CREATE TABLE IF NOT EXISTS sessions ("
    " interview_id TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT NOT NULL,"
    " pid INTEGER NOT NULL, since TEXT NOT NULL, beat_at REAL NOT NULL)"
)
# Compare-and-set of a session claim, the same statement in SQLite and PostgreSQL: insert
# when nobody holds it, or replace the holder the caller read (and no other).
CLAIM_FREE = (
    "INSERT INTO sessions (interview_id, holder, host, pid, since, beat_at)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (interview_id) DO NOTHING"
)
CLAIM_FROM = (
    "INSERT INTO sessions (interview_id, holder, host, pid, since, beat_at)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (interview_id) DO UPDATE SET"
    " holder = excluded.holder, host = excluded.host, pid = excluded.pid,"
    " since = excluded.since, beat_at = excluded.beat_at WHERE sessions.holder = {p}"
)


class Store:
    """Thread-safe access to the app tables in SQLite. Every write commits at once.

    :class:`graph.pg_store.PgStore` is the same store in PostgreSQL (:func:`open_store`
    picks one); nothing outside the two touches their SQL, except the Slack front end's own
    tables, which are SQLite-only for now (``write`` and ``read``)."""

    # What a failing database raises (a full disk, a busy file): callers that must outlive
    # it, such as a session's heartbeat, catch these.
    errors: ClassVar[tuple[type[Exception], ...]] = (sqlite3.Error,)

    def __init__(
        self, db_path: str | os.PathLike[str] | None = None, *, readonly: bool = False
    ) -> None:
        """``readonly``: only read (works on read-only media; creates nothing, and a table
        that does not exist yet reads as empty to :meth:`has_table`)."""
        self.readonly = readonly
        self.db = sqlite_utils.Database(connect_readonly(db_path)) if readonly else open_db(db_path)
        self._lock = threading.RLock()
        if not readonly:
            with self._lock:
                self._create_tables()

    def has_table(self, name: str) -> bool:
        with self._lock:
            return self.db.table(name).exists()

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction, taken IMMEDIATE: a deferred one that reads first (as
        sqlite-utils does to introspect) cannot wait for the write lock, it fails at once."""
        with self._lock:
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                # SQLite has rolled back already after some errors (a full disk): a second
                # ROLLBACK would hide the real error behind "no transaction is active".
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
            self.db.conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        """The database, for reads: one thread at a time on this connection."""
        with self._lock:
            yield self.db

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def _create_tables(self) -> None:
        db = self.db
        db.table("interviews").create(
            {
                "id": str,
                "use_case": str,
                "started_by": str,
                "started_at": str,
                "updated_at": str,
                "status": str,
                "origin": str,
                "memo_id": str,
            },
            pk="id",
            if_not_exists=True,
        )
        db.table("answers").create(
            {
                "interview_id": str,
                "seq": int,
                "question_id": str,
                "by": str,
                "at": str,
                "text": str,
                "values": str,
                "author_id": str,
            },
            pk=("interview_id", "seq"),
            if_not_exists=True,
        )
        # Databases made before people were known by id: add the column (old rows stay "").
        if "author_id" not in db.table("answers").columns_dict:
            db.table("answers").add_column("author_id", str)
        db.table("memos").create(
            {
                "id": str,
                "interview_id": str,
                "version": int,
                "status": str,
                "approach": str,
                "next_rung": str,
                "use_case": str,
                "markdown": str,
                "assessment": str,
                "created_at": str,
                "updated_at": str,
                "decided_by": str,
            },
            pk="id",
            if_not_exists=True,
        )
        db.table("events").create({"event_id": str, "at": str}, pk="event_id", if_not_exists=True)
        db.table("usage").create(
            {
                "interview_id": str,
                "at": str,
                "model": str,
                "purpose": str,
                "input_tokens": int,
                "output_tokens": int,
                "cache_read_tokens": int,
                "cache_write_tokens": int,
            },
            if_not_exists=True,
        )
        db.table("memos").create_index(["interview_id"], if_not_exists=True)
        db.table("answers").create_index(["by"], if_not_exists=True)
        db.table("answers").create_index(["author_id"], if_not_exists=True)

    # interviews -----------------------------------------------------------------------

    def create_interview(
        self,
        interview_id: str,
        *,
        use_case: str,
        by: str,
        at: str | None = None,
        origin: dict[str, str] | None = None,
    ) -> InterviewRecord:
        """Insert the interview if it is new; return the stored row either way."""
        now = at or utc_now()
        row = {
            "id": interview_id,
            "use_case": use_case,
            "started_by": by,
            "started_at": now,
            "updated_at": now,
            "status": "open",
            "origin": json.dumps(origin or {}),
            "memo_id": None,
        }
        with self.write():
            self.db.table("interviews").insert(row, ignore=True)
        found = self.get_interview(interview_id)
        assert found is not None
        return found

    def get_interview(self, interview_id: str) -> InterviewRecord | None:
        with self._lock:
            rows = list(self.db.table("interviews").rows_where("id = ?", [interview_id]))
        if not rows:
            return None
        row = rows[0]
        row["origin"] = json.loads(row["origin"] or "{}")
        return InterviewRecord.model_validate(row)

    def update_interview(self, interview_id: str, *, at: str | None = None, **fields: Any) -> None:
        """Set ``use_case``, ``status``, ``memo_id`` or ``origin`` on an interview."""
        allowed = {"use_case", "status", "memo_id", "origin"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update interview field(s): {', '.join(sorted(unknown))}")
        if "origin" in fields:
            fields["origin"] = json.dumps(fields["origin"] or {})
        fields["updated_at"] = at or utc_now()
        with self.write():
            self.db.table("interviews").update(interview_id, fields)

    def list_interviews(
        self,
        status: InterviewStatus | None = None,
        *,
        prefix: str | None = None,
        involving: str | None = None,
        limit: int | None = None,
    ) -> list[InterviewRecord]:
        """Interviews, newest first. ``prefix``: ids starting with it (a Slack channel's
        interviews share ``team:channel:``); ``involving``: the id of someone who started
        the interview (``origin['user_id']``) or answered in it (``author_id``). By id, never
        by name: two people may share a name, and a name can change."""
        clauses: list[str] = []
        args: list[Any] = []
        if status:
            clauses.append("status = ?")
            args.append(status)
        if prefix:
            clauses.append("substr(id, 1, ?) = ?")
            args += [len(prefix), prefix]
        if involving is not None:
            clauses.append(
                "(json_extract(origin, '$.user_id') = ? OR id IN "
                "(SELECT interview_id FROM answers WHERE author_id = ?))"
            )
            args += [involving, involving]
        with self._lock:
            rows = list(
                self.db.table("interviews").rows_where(
                    " AND ".join(clauses) or None,
                    args or None,
                    order_by="started_at desc, rowid desc",
                    limit=limit,
                )
            )
        for row in rows:
            row["origin"] = json.loads(row["origin"] or "{}")
        return [InterviewRecord.model_validate(row) for row in rows]

    # answers --------------------------------------------------------------------------

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
        """Keep what someone said, verbatim, before anything else can fail. Returns its seq.
        ``by`` is the name to show; ``author_id`` who it is (a front end's stable user id)."""
        stamp = at or utc_now()
        with self.write():
            seq = self.db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM answers WHERE interview_id = ?",
                [interview_id],
            ).fetchone()[0]
            self.db.table("answers").insert(
                {
                    "interview_id": interview_id,
                    "seq": seq,
                    "question_id": question_id,
                    "by": by,
                    "at": stamp,
                    "text": text,
                    "values": json.dumps(values) if values is not None else None,
                    "author_id": author_id,
                }
            )
            # An answer is activity: the interview's clock moves in the same transaction.
            self.db.execute(
                "UPDATE interviews SET updated_at = ? WHERE id = ? AND updated_at < ?",
                [stamp, interview_id, stamp],
            )
        return int(seq)

    def amend_answer(self, interview_id: str, seq: int, *, text: str | None) -> None:
        """An answer edited (its new ``text``) or deleted (None: its words are removed,
        the row stays so the seqs and who answered when stay whole)."""
        with self.write():
            self.db.execute(
                'UPDATE answers SET text = ?, "values" = NULL WHERE interview_id = ? AND seq = ?',
                [text or "", interview_id, seq],
            )

    def last_answer(self, interview_id: str) -> AnswerRecord | None:
        """The latest answer kept for an interview (its seq names it)."""
        with self._lock:
            rows = list(
                self.db.table("answers").rows_where(
                    "interview_id = ?", [interview_id], order_by="seq desc", limit=1
                )
            )
        for row in rows:
            row["values"] = json.loads(row["values"]) if row["values"] else None
            row["author_id"] = row.get("author_id") or ""
        return AnswerRecord.model_validate(rows[0]) if rows else None

    def answers(self, interview_id: str) -> list[AnswerRecord]:
        with self._lock:
            rows = list(
                self.db.table("answers").rows_where(
                    "interview_id = ?", [interview_id], order_by="seq"
                )
            )
        for row in rows:
            row["values"] = json.loads(row["values"]) if row["values"] else None
            row["author_id"] = row.get("author_id") or ""
        return [AnswerRecord.model_validate(row) for row in rows]

    # memos ----------------------------------------------------------------------------

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
        """Store one memo version (idempotent per interview and version) and point the
        interview at it."""
        memo_id = memo_id_for(interview_id, version)
        now = at or utc_now()
        row = {
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
        with self.write():
            self.db.table("memos").upsert(row, pk="id")
            self.db.execute(
                "UPDATE interviews SET memo_id = ?, status = 'done', updated_at = ? WHERE id = ?",
                [memo_id, now, interview_id],
            )
        # The row just written, not read back: writing a memo costs no memo read.
        return MemoRecord.model_validate({**row, "assessment": assessment})

    def get_memo(self, memo_id: str) -> MemoRecord | None:
        """A memo by id, or by a prefix of its id that only one memo has."""
        with self._lock:
            rows = list(self.db.table("memos").rows_where("id = ?", [memo_id]))
        if not rows:
            matches = self.memo_ids(memo_id, limit=2)
            if len(matches) != 1:
                return None
            with self._lock:
                rows = list(self.db.table("memos").rows_where("id = ?", [matches[0]]))
        return _memo(rows[0]) if rows else None

    def memo_ids(self, prefix: str, *, limit: int = 5) -> list[str]:
        """Ids of memos starting with ``prefix`` (letters and digits only), in id order."""
        if not prefix or not prefix.isalnum():
            return []
        with self._lock:
            rows = self.db.execute(
                "SELECT id FROM memos WHERE id LIKE ? ORDER BY id LIMIT ?", [prefix + "%", limit]
            ).fetchall()
        return [str(row[0]) for row in rows]

    def latest_memo(self, interview_id: str) -> MemoRecord | None:
        with self._lock:
            rows = list(
                self.db.table("memos").rows_where(
                    "interview_id = ?", [interview_id], order_by="version desc", limit=1
                )
            )
        return _memo(rows[0]) if rows else None

    def list_memos(self) -> list[MemoRecord]:
        """Every memo version, newest first."""
        with self._lock:
            rows = list(self.db.table("memos").rows_where(order_by="created_at desc, version desc"))
        return [_memo(row) for row in rows]

    def memo_headers(self, *, latest_only: bool = True) -> list[MemoHeader]:
        """Memos newest first, header columns only (listing 10,000 memos stays fast)."""
        with self._lock:
            return memo_headers(self.db.conn, latest_only=latest_only)

    def set_memo_status(
        self, memo_id: str, status: MemoStatus, by: str, *, markdown: str, at: str | None = None
    ) -> MemoRecord:
        """Accept or reject a memo (or put it back to proposed), with its ``markdown`` as
        rewritten for that status (graph/decisions.py). KeyError if the memo is unknown."""
        if status not in MEMO_STATUSES:
            raise ValueError(f"status must be one of {', '.join(MEMO_STATUSES)}, not {status!r}")
        now = at or utc_now()
        with self.write() as db:
            changed = db.execute(
                "UPDATE memos SET status = ?, markdown = ?, decided_by = ?, updated_at = ? "
                "WHERE id = ?",
                [status, markdown, by, now, memo_id],
            ).rowcount
        if not changed:
            raise KeyError(memo_id)
        found = self.get_memo(memo_id)
        assert found is not None
        return found

    # evidence files and terminal sessions ------------------------------------------------

    def _evidence_table(self) -> None:
        # Made on first use, as before it was the store's: a database no file was ever shared
        # in has no such table.
        with self.write() as db:
            db.table("evidence").create(
                {column: str for column in _EVIDENCE_COLUMNS}, if_not_exists=True
            )

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
        """One file shared in an interview: its measures (the `advisor evidence check --json`
        object), never its text."""
        self._evidence_table()
        row = {
            "interview_id": interview_id,
            "file": file,
            "sha256": sha256,
            "kind": kind,
            "by": by,
            "at": at,
            "summary": summary,
            "measures": json.dumps(measures, sort_keys=True),
        }
        with self.write() as db:
            db.table("evidence").insert(row)

    def evidence_rows(self, interview_id: str) -> list[dict[str, Any]]:
        """Every file shared in ``interview_id``, oldest first (``measures`` as JSON text)."""
        self._evidence_table()
        with self.read() as db:
            return list(
                db.table("evidence").rows_where(
                    "interview_id = ?", [interview_id], order_by="rowid"
                )
            )

    def session_claim(self, interview_id: str) -> SessionClaim | None:
        """Who holds the interview's session, or None."""
        with self.write() as db:
            db.execute(_SESSIONS)
            row = db.execute(
                "SELECT holder, host, pid, since, beat_at FROM sessions WHERE interview_id = ?",
                [interview_id],
            ).fetchone()
        return SessionClaim(*row) if row is not None else None

    def claim_session(
        self, interview_id: str, claim: SessionClaim, *, replacing: str | None
    ) -> bool:
        """Take the session for ``claim.holder`` if it is held by ``replacing`` (None: by
        nobody), atomically; False when someone else changed it since it was read."""
        args: list[Any] = [interview_id, claim.holder, claim.host, claim.pid, claim.since]
        args.append(claim.beat_at)
        sql = CLAIM_FREE if replacing is None else CLAIM_FROM
        with self.write() as db:
            db.execute(_SESSIONS)
            cursor = db.execute(sql.format(p="?"), args + ([replacing] if replacing else []))
            return cursor.rowcount == 1

    def beat_session(self, interview_id: str, holder: str, at: float) -> bool:
        """Refresh ``holder``'s claim; False when it is no longer theirs."""
        with self.write() as db:
            cursor = db.execute(
                "UPDATE sessions SET beat_at = ? WHERE interview_id = ? AND holder = ?",
                [at, interview_id, holder],
            )
            return cursor.rowcount == 1

    def release_session(self, interview_id: str, holder: str) -> None:
        """Let go of ``holder``'s claim (nothing if it was taken over)."""
        with self.write() as db:
            db.execute(
                "DELETE FROM sessions WHERE interview_id = ? AND holder = ?",
                [interview_id, holder],
            )

    # events and usage -----------------------------------------------------------------

    def seen_event(self, event_id: str, *, at: str | None = None) -> bool:
        """True the first time ``event_id`` is seen, False on every retry after that."""
        with self.write():
            return self.note_event(event_id, at=at)

    def note_event(self, event_id: str, *, at: str | None = None) -> bool:
        """``seen_event`` inside a transaction the caller holds (``write``)."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO events (event_id, at) VALUES (?, ?)",
            [event_id, at or utc_now()],
        )
        return cursor.rowcount == 1

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
        """One LLM call's token counts (the Claude adapter calls this)."""
        with self.write():
            self.db.table("usage").insert(
                {
                    "interview_id": interview_id,
                    "at": at or utc_now(),
                    "model": model,
                    "purpose": purpose,
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "cache_read_tokens": cache_read_tokens,
                    "cache_write_tokens": cache_write_tokens,
                }
            )

    def usage(self, interview_id: str) -> dict[str, int]:
        """Token totals for one interview."""
        with self._lock:
            row = self.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),"
                " COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cache_write_tokens), 0)"
                " FROM usage WHERE interview_id = ?",
                [interview_id],
            ).fetchone()
        keys = ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        return dict(zip(keys, (int(v) for v in row), strict=True))


def open_store(db_path: str | os.PathLike[str] | None = None, *, readonly: bool = False) -> Store:
    """The store this process should use: :class:`graph.pg_store.PgStore` when
    ``ADVISOR_DATABASE_URL`` is set (and ``db_path`` is not given), else the SQLite file.
    PostgreSQL's schema is brought up to date first (graph/pg_schema.py)."""
    if db_path is None and (os.environ.get("ADVISOR_DATABASE_URL") or "").strip():
        from graph.database import Postgres, configured

        backend = configured()
        if isinstance(backend, Postgres):
            return _open_pg(backend.url)
    return Store(db_path, readonly=readonly)


def _open_pg(url: str) -> PgStore:
    # psycopg and the saver load only here: an SQLite run never imports them.
    from graph.pg_store import PgStore

    return PgStore.connect(url)


def _memo(row: dict[str, Any]) -> MemoRecord:
    row = dict(row)
    row["assessment"] = json.loads(row["assessment"] or "{}")
    return MemoRecord.model_validate(row)
