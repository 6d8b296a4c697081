"""The app's own tables (interviews, answers, memos, events, usage) through sqlite-utils.

They live in the same database file as the LangGraph checkpoints (knowledge.db). The
checkpoints hold where an interview is; these tables hold what people said and what was
decided, in a shape that ``advisor memo list`` and the Slack app can query directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from graph.memo import restatus
from knowledge.db import open_db

InterviewStatus = Literal["open", "done", "cancelled"]
MemoStatus = Literal["proposed", "accepted", "rejected"]
MEMO_STATUSES: tuple[str, ...] = ("proposed", "accepted", "rejected")


def utc_now() -> str:
    """Now, as an ISO 8601 UTC timestamp to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


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
    by: str
    at: str
    text: str
    values: list[str] | None = None


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


class Store:
    """Thread-safe access to the app tables. Every write commits at once."""

    def __init__(self, db_path: str | os.PathLike[str] | None = None) -> None:
        self.db = open_db(db_path)
        self._lock = threading.RLock()
        with self._lock:
            self._create_tables()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taken IMMEDIATE: a deferred one that reads first (as
        sqlite-utils does to introspect) cannot wait for the write lock, it fails at once."""
        with self._lock:
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.conn.execute("ROLLBACK")
                raise
            self.db.conn.execute("COMMIT")

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
            },
            pk=("interview_id", "seq"),
            if_not_exists=True,
        )
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
        with self._write():
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
        with self._write():
            self.db.table("interviews").update(interview_id, fields)

    def list_interviews(self, status: InterviewStatus | None = None) -> list[InterviewRecord]:
        where, args = ("status = ?", [status]) if status else (None, None)
        with self._lock:
            table = self.db.table("interviews")
            rows = list(table.rows_where(where, args, order_by="started_at desc"))
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
    ) -> int:
        """Keep what someone said, verbatim, before anything else can fail. Returns its seq."""
        with self._write():
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
                    "at": at or utc_now(),
                    "text": text,
                    "values": json.dumps(values) if values is not None else None,
                }
            )
        return int(seq)

    def answers(self, interview_id: str) -> list[AnswerRecord]:
        with self._lock:
            rows = list(
                self.db.table("answers").rows_where(
                    "interview_id = ?", [interview_id], order_by="seq"
                )
            )
        for row in rows:
            row["values"] = json.loads(row["values"]) if row["values"] else None
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
        with self._write():
            self.db.table("memos").upsert(row, pk="id")
            self.db.execute(
                "UPDATE interviews SET memo_id = ?, status = 'done', updated_at = ? WHERE id = ?",
                [memo_id, now, interview_id],
            )
        found = self.get_memo(memo_id)
        assert found is not None
        return found

    def get_memo(self, memo_id: str) -> MemoRecord | None:
        """A memo by id, or by a unique prefix of its id."""
        with self._lock:
            rows = list(self.db.table("memos").rows_where("id = ?", [memo_id]))
            if not rows and len(memo_id) >= 3 and memo_id.isalnum():
                table = self.db.table("memos")
                rows = list(table.rows_where("id LIKE ?", [memo_id + "%"], limit=2))
                if len(rows) != 1:
                    return None
        if not rows:
            return None
        return _memo(rows[0])

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

    def set_memo_status(
        self, memo_id: str, status: MemoStatus, by: str, *, at: str | None = None
    ) -> MemoRecord:
        """Accept or reject a memo (or put it back to proposed); the markdown's status line
        is rewritten so an export says the same. KeyError if the memo is unknown."""
        if status not in MEMO_STATUSES:
            raise ValueError(f"status must be one of {', '.join(MEMO_STATUSES)}, not {status!r}")
        now = at or utc_now()
        with self._write():
            memo = self.get_memo(memo_id)
            if memo is None:
                raise KeyError(memo_id)
            markdown = restatus(memo.markdown, status, by=by, date=now[:10])
            self.db.table("memos").update(
                memo.id,
                {"status": status, "markdown": markdown, "decided_by": by, "updated_at": now},
            )
        found = self.get_memo(memo.id)
        assert found is not None
        return found

    # events and usage -----------------------------------------------------------------

    def seen_event(self, event_id: str, *, at: str | None = None) -> bool:
        """True the first time ``event_id`` is seen, False on every retry after that."""
        with self._write():
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
        with self._write():
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


def _memo(row: dict[str, Any]) -> MemoRecord:
    row = dict(row)
    row["assessment"] = json.loads(row["assessment"] or "{}")
    return MemoRecord.model_validate(row)
