"""The app's own tables (interviews, answers, memos, events, usage) through sqlite-utils.

They live in the same database file as the LangGraph checkpoints (knowledge.db). The
checkpoints hold where an interview is; these tables hold what people said and what was
decided, in a shape that ``advisor memo list`` and the Slack app can query directly.

Three more tables make a front end crash-safe, for any number of processes on one file:
``inbox`` (what arrived and is not yet handled), ``outbox`` (messages to send, in order, per
interview) and ``threads`` (where an interview's thread is, what it last showed there, and
which process is working on it). Work is claimed with a compare-and-set inside
``BEGIN IMMEDIATE``; a claim held by a process that died is taken over.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
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


def precise_now() -> str:
    """Now, as an ISO 8601 UTC timestamp to the microsecond (always with the fraction, so
    the strings sort in time order)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


# -- who is working: claims on inbox, outbox and threads name their owner ---------------

CLAIM_LEASE = 600.0  # seconds: a claim older than this is taken over even if its owner lives
_live: set[str] = set()  # owners created in this process and not yet retired
_live_lock = threading.Lock()


def new_owner() -> str:
    """A name for one running app instance: host, pid and a nonce."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    with _live_lock:
        _live.add(owner)
    return owner


def retire_owner(owner: str) -> None:
    """This instance stops (or, in a test, pretends to die): its claims may be taken over."""
    with _live_lock:
        _live.discard(owner)


def owner_alive(owner: str) -> bool:
    """False when the owner's process is known to be gone; True when it may still run."""
    try:
        host, pid_text, _nonce = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return True
    if host != socket.gethostname():
        return True  # another machine: only the lease can tell
    if pid == os.getpid():
        with _live_lock:
            return owner in _live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claimable(
    claimed_by: str | None,
    claimed_at: float | None,
    owner: str,
    now: float,
    *,
    reentrant: bool = False,
) -> bool:
    """May ``owner`` take this claim? Free ones, ones whose owner died, ones past the lease;
    its own only when ``reentrant`` (an unfinished delivery of ours may have been sent)."""
    if claimed_by is None or (reentrant and claimed_by == owner):
        return True
    if claimed_at is not None and now - claimed_at > CLAIM_LEASE:
        return True
    return not owner_alive(claimed_by)


class Busy(Exception):
    """Another process holds an interview's thread for longer than we could wait."""


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


class MemoHeader(BaseModel):
    """A memo without its markdown and assessment: what a listing needs."""

    id: str
    interview_id: str
    version: int
    status: MemoStatus
    approach: str
    use_case: str
    created_at: str


class OutboxItem(BaseModel):
    """One message to send for an interview. Sent in ``id`` order per interview; a failed
    one waits until ``not_before`` (epoch seconds) and blocks the ones behind it."""

    id: int
    interview_id: str
    kind: str
    payload: dict[str, Any]
    created_at: str
    claimed_by: str | None = None
    claimed_at: float | None = None  # epoch seconds
    delivered_at: str | None = None
    attempts: int = 0
    last_error: str | None = None
    not_before: float = 0.0  # epoch seconds
    gave_up_at: str | None = None
    sent_ts: str | None = None  # the id Slack gave the message, once sent


class InboxItem(BaseModel):
    """Something a person did (a reply, a click, a start) kept before it is handled, so a
    crash between "received" and "handled" loses nothing."""

    id: int
    interview_id: str
    kind: str
    payload: dict[str, Any]
    event_id: str | None = None
    received_at: str
    claimed_by: str | None = None
    claimed_at: float | None = None
    started_key: str | None = None  # what the interview showed when handling began
    done_at: str | None = None
    attempts: int = 0
    last_error: str | None = None


class ThreadRecord(BaseModel):
    """A front end's view of one interview's thread."""

    interview_id: str
    channel: str
    thread_ts: str
    shown_key: str | None = None  # what the thread was last given to show (queued or sent)
    question: dict[str, Any] | None = None  # the question message whose buttons are live
    question_ts: str | None = None
    holder: str | None = None  # the process working on this interview right now
    held_at: float | None = None


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
        db.table("answers").create_index(["by"], if_not_exists=True)
        db.table("outbox").create(
            {
                "id": int,
                "interview_id": str,
                "kind": str,
                "payload": str,
                "created_at": str,
                "claimed_by": str,
                "claimed_at": float,
                "delivered_at": str,
                "attempts": int,
                "last_error": str,
                "not_before": float,
                "gave_up_at": str,
                "sent_ts": str,
            },
            pk="id",
            not_null={"interview_id", "kind", "payload", "created_at"},
            defaults={"attempts": 0, "not_before": 0.0},
            if_not_exists=True,
        )
        db.table("inbox").create(
            {
                "id": int,
                "interview_id": str,
                "kind": str,
                "payload": str,
                "event_id": str,
                "received_at": str,
                "claimed_by": str,
                "claimed_at": float,
                "started_key": str,
                "done_at": str,
                "attempts": int,
                "last_error": str,
            },
            pk="id",
            not_null={"interview_id", "kind", "payload", "received_at"},
            defaults={"attempts": 0},
            if_not_exists=True,
        )
        db.table("threads").create(
            {
                "interview_id": str,
                "channel": str,
                "thread_ts": str,
                "shown_key": str,
                "question": str,
                "question_ts": str,
                "holder": str,
                "held_at": float,
            },
            pk="interview_id",
            if_not_exists=True,
        )
        # The work still to do is a small slice of each table: partial indexes find it.
        db.execute(
            "CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox (interview_id, id) "
            "WHERE delivered_at IS NULL AND gave_up_at IS NULL"
        )
        db.execute("CREATE INDEX IF NOT EXISTS inbox_waiting ON inbox (id) WHERE done_at IS NULL")

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

    def list_interviews(
        self,
        status: InterviewStatus | None = None,
        *,
        prefix: str | None = None,
        involving: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[InterviewRecord]:
        """Interviews, newest first. ``prefix``: ids starting with it (a Slack channel's
        interviews share ``team:channel:``); ``involving``: (user id, name) of someone who
        started the interview or answered in it."""
        clauses: list[str] = []
        args: list[Any] = []
        if status:
            clauses.append("status = ?")
            args.append(status)
        if prefix:
            clauses.append("substr(id, 1, ?) = ?")
            args += [len(prefix), prefix]
        if involving is not None:
            user_id, name = involving
            clauses.append(
                "(json_extract(origin, '$.user_id') = ? OR id IN "
                "(SELECT interview_id FROM answers WHERE by = ?))"
            )
            args += [user_id, name]
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

    def answered_by(self, by: str) -> list[str]:
        """Ids of the interviews ``by`` answered in, most recent answer first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT interview_id FROM answers WHERE by = ? GROUP BY interview_id "
                "ORDER BY MAX(at) DESC",
                [by],
            ).fetchall()
        return [str(row[0]) for row in rows]

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
        stamp = at or utc_now()
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
                    "at": stamp,
                    "text": text,
                    "values": json.dumps(values) if values is not None else None,
                }
            )
            # An answer is activity: the interview's clock moves in the same transaction.
            self.db.execute(
                "UPDATE interviews SET updated_at = ? WHERE id = ? AND updated_at < ?",
                [stamp, interview_id, stamp],
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

    def memo_headers(self, *, latest_only: bool = True) -> list[MemoHeader]:
        """Memos newest first, header columns only (listing 10,000 memos stays fast)."""
        columns = "id, interview_id, version, status, approach, use_case, created_at"
        where = (
            " WHERE version = (SELECT MAX(version) FROM memos AS m"
            " WHERE m.interview_id = memos.interview_id)"
            if latest_only
            else ""
        )
        sql = f"SELECT {columns} FROM memos{where} ORDER BY created_at DESC, version DESC"
        with self._lock:
            cursor = self.db.execute(sql)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        return [MemoHeader.model_validate(dict(zip(names, row, strict=True))) for row in rows]

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

    # inbox: what arrived and is not handled yet --------------------------------------

    def receive(
        self,
        interview_id: str,
        kind: str,
        payload: dict[str, Any],
        *,
        owner: str,
        event_id: str | None = None,
        thread: tuple[str, str] | None = None,
    ) -> InboxItem | None:
        """Keep an incoming reply, click or start, claimed by ``owner``, in one transaction
        with its event id (None: a retry of an event already kept) and the thread's row
        (``thread``: channel and thread id)."""
        with self._write():
            if event_id is not None:
                seen = self.db.execute(
                    "INSERT OR IGNORE INTO events (event_id, at) VALUES (?, ?)",
                    [event_id, utc_now()],
                )
                if seen.rowcount != 1:
                    return None
            if thread is not None:
                self.db.execute(
                    "INSERT OR IGNORE INTO threads (interview_id, channel, thread_ts) "
                    "VALUES (?, ?, ?)",
                    [interview_id, *thread],
                )
            cursor = self.db.execute(
                "INSERT INTO inbox (interview_id, kind, payload, event_id, received_at, "
                "claimed_by, claimed_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                [
                    interview_id,
                    kind,
                    json.dumps(payload),
                    event_id,
                    precise_now(),
                    owner,
                    time.time(),
                ],
            )
            item_id = int(cursor.lastrowid or 0)
        found = self.inbox_item(item_id)
        assert found is not None
        return found

    def inbox_item(self, item_id: int) -> InboxItem | None:
        with self._lock:
            rows = list(self.db.table("inbox").rows_where("id = ?", [item_id]))
        return _inbox(rows[0]) if rows else None

    def inbox(self, *, waiting: bool = False) -> list[InboxItem]:
        """Every inbox item (``waiting``: only those not handled yet), oldest first."""
        where = "done_at IS NULL" if waiting else None
        with self._lock:
            rows = list(self.db.table("inbox").rows_where(where, order_by="id"))
        return [_inbox(row) for row in rows]

    def start_inbox(self, item_id: int, key: str | None) -> None:
        """Handling begins; ``key`` (what the interview showed) is kept from the first try."""
        with self._write():
            self.db.execute(
                "UPDATE inbox SET started_key = COALESCE(started_key, ?), "
                "attempts = attempts + 1 WHERE id = ?",
                [key, item_id],
            )

    def finish_inbox(self, item_id: int, *, error: str | None = None) -> None:
        with self._write():
            self.db.execute(
                "UPDATE inbox SET done_at = ?, last_error = ? WHERE id = ? AND done_at IS NULL",
                [precise_now(), error, item_id],
            )

    def adopt_inbox(self, owner: str) -> list[InboxItem]:
        """Unhandled items whose process died (or that nobody holds), now held by ``owner``."""
        now = time.time()
        with self._write():
            rows = list(self.db.table("inbox").rows_where("done_at IS NULL", order_by="id"))
            taken = []
            for row in rows:
                if not _claimable(row["claimed_by"], row["claimed_at"], owner, now):
                    continue
                cursor = self.db.execute(
                    "UPDATE inbox SET claimed_by = ?, claimed_at = ? "
                    "WHERE id = ? AND done_at IS NULL AND claimed_by IS ?",
                    [owner, now, row["id"], row["claimed_by"]],
                )
                if cursor.rowcount == 1:
                    taken.append(_inbox({**row, "claimed_by": owner, "claimed_at": now}))
        return taken

    # threads: where an interview is shown, and who works on it --------------------------

    def thread(self, interview_id: str) -> ThreadRecord | None:
        with self._lock:
            rows = list(self.db.table("threads").rows_where("interview_id = ?", [interview_id]))
        return _thread(rows[0]) if rows else None

    def threads(self, *, prefix: str | None = None) -> list[tuple[ThreadRecord, InterviewRecord]]:
        """Every thread (with ``prefix``: of one team or channel) and its interview."""
        where, args = (
            ("substr(t.interview_id, 1, ?) = ?", [len(prefix), prefix])
            if prefix
            else (
                "1",
                [],
            )
        )
        with self._lock:
            cursor = self.db.execute(
                "SELECT t.interview_id, t.channel, t.thread_ts, t.shown_key, t.question, "
                "t.question_ts, t.holder, t.held_at, i.id, i.use_case, i.started_by, "
                "i.started_at, i.updated_at, i.status, i.origin, i.memo_id FROM threads t "
                f"JOIN interviews i ON i.id = t.interview_id WHERE {where} ORDER BY i.rowid",
                args,
            )
            rows = cursor.fetchall()
        out = []
        for row in rows:
            thread = _thread(dict(zip(_THREAD_COLUMNS, row[:8], strict=True)))
            record = dict(zip(_INTERVIEW_COLUMNS, row[8:], strict=True))
            record["origin"] = json.loads(record["origin"] or "{}")
            out.append((thread, InterviewRecord.model_validate(record)))
        return out

    def hold_thread(
        self,
        interview_id: str,
        owner: str,
        *,
        wait: float = 60.0,
        thread: tuple[str, str] = ("", ""),
    ) -> None:
        """Work on one interview in one process at a time: wait up to ``wait`` seconds for
        another live process to let go, then raise ``Busy``. Re-entrant for ``owner``."""
        deadline = time.monotonic() + wait
        pause = 0.005
        while True:
            now = time.time()
            with self._write():
                self.db.execute(
                    "INSERT OR IGNORE INTO threads (interview_id, channel, thread_ts) "
                    "VALUES (?, ?, ?)",
                    [interview_id, *thread],
                )
                holder, held_at = self.db.execute(
                    "SELECT holder, held_at FROM threads WHERE interview_id = ?", [interview_id]
                ).fetchone()
                if _claimable(holder, held_at, owner, now, reentrant=True):
                    self.db.execute(
                        "UPDATE threads SET holder = ?, held_at = ? WHERE interview_id = ?",
                        [owner, now, interview_id],
                    )
                    return
            if time.monotonic() + pause > deadline:
                raise Busy(interview_id)
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def release_thread(self, interview_id: str, owner: str) -> None:
        with self._write():
            self._release(interview_id, owner)

    def _release(self, interview_id: str, owner: str) -> None:
        self.db.execute(
            "UPDATE threads SET holder = NULL, held_at = NULL WHERE interview_id = ? "
            "AND holder = ?",
            [interview_id, owner],
        )

    # outbox: messages to send, in order, per interview ----------------------------------

    def enqueue(
        self,
        interview_id: str,
        items: Sequence[tuple[str, dict[str, Any]]],
        *,
        shown_key: str | None = None,
        forget_question: bool = False,
        finish_inbox: int | None = None,
        release: str | None = None,
    ) -> list[int]:
        """Queue messages for one interview, all or nothing, together with what the thread
        now shows (``shown_key``), the question whose buttons were retired
        (``forget_question``), the inbox item this handled and the thread hold to let go."""
        with self._write():
            ids = self._add(interview_id, items)
            if shown_key is not None:
                self.db.execute(
                    "UPDATE threads SET shown_key = ? WHERE interview_id = ?",
                    [shown_key, interview_id],
                )
            if forget_question:
                self.db.execute(
                    "UPDATE threads SET question = NULL, question_ts = NULL WHERE interview_id = ?",
                    [interview_id],
                )
            if finish_inbox is not None:
                self.db.execute(
                    "UPDATE inbox SET done_at = ? WHERE id = ? AND done_at IS NULL",
                    [precise_now(), finish_inbox],
                )
            if release is not None:
                self._release(interview_id, release)
        return ids

    def _add(self, interview_id: str, items: Iterable[tuple[str, dict[str, Any]]]) -> list[int]:
        ids = []
        now = precise_now()
        for kind, payload in items:
            cursor = self.db.execute(
                "INSERT INTO outbox (interview_id, kind, payload, created_at, attempts, "
                "not_before) VALUES (?, ?, ?, ?, 0, 0)",
                [interview_id, kind, json.dumps(payload), now],
            )
            ids.append(int(cursor.lastrowid or 0))
        return ids

    def claim_next(self, interview_id: str, owner: str) -> OutboxItem | None:
        """The interview's oldest unsent message, now claimed by ``owner``; None when there
        is none, it waits for a retry, or another live process is sending it."""
        now = time.time()
        with self._write():
            rows = list(
                self.db.table("outbox").rows_where(
                    "interview_id = ? AND delivered_at IS NULL AND gave_up_at IS NULL",
                    [interview_id],
                    order_by="id",
                    limit=1,
                )
            )
            if not rows:
                return None
            row = rows[0]
            if row["not_before"] > now or not _claimable(
                row["claimed_by"], row["claimed_at"], owner, now
            ):
                return None
            cursor = self.db.execute(
                "UPDATE outbox SET claimed_by = ?, claimed_at = ?, attempts = attempts + 1 "
                "WHERE id = ? AND delivered_at IS NULL AND claimed_by IS ?",
                [owner, now, row["id"], row["claimed_by"]],
            )
            if cursor.rowcount != 1:
                return None
        return _outbox(
            {**row, "claimed_by": owner, "claimed_at": now, "attempts": row["attempts"] + 1}
        )

    def delivered(
        self,
        item_id: int,
        owner: str,
        *,
        then: Sequence[tuple[str, dict[str, Any]]] = (),
        question: tuple[str, dict[str, Any], str] | None = None,
        sent_ts: str | None = None,
    ) -> bool:
        """Mark a claimed message sent, queue what follows from it (``then``), and when it
        was the question the thread is on (``question``: its shown key, the question and its
        message id) remember that message. False if the claim had been taken over."""
        with self._write():
            cursor = self.db.execute(
                "UPDATE outbox SET delivered_at = ?, last_error = NULL, sent_ts = ? "
                "WHERE id = ? AND claimed_by = ? AND delivered_at IS NULL",
                [precise_now(), sent_ts, item_id, owner],
            )
            if cursor.rowcount != 1:
                return False
            interview_id = self.db.execute(
                "SELECT interview_id FROM outbox WHERE id = ?", [item_id]
            ).fetchone()[0]
            if question is not None:
                key, body, ts = question
                self.db.execute(
                    "UPDATE threads SET question = ?, question_ts = ? "
                    "WHERE interview_id = ? AND shown_key = ?",
                    [json.dumps(body), ts, interview_id, key],
                )
            self._add(interview_id, then)
        return True

    def last_sent_ts(self, interview_id: str, before: int) -> str | None:
        """The Slack id of the newest message sent for this interview before item ``before``."""
        with self._lock:
            row = self.db.execute(
                "SELECT sent_ts FROM outbox WHERE interview_id = ? AND id < ? "
                "AND sent_ts IS NOT NULL ORDER BY id DESC LIMIT 1",
                [interview_id, before],
            ).fetchone()
        return str(row[0]) if row else None

    def rewrite(self, item_id: int, owner: str, kind: str, payload: dict[str, Any]) -> None:
        """Turn a claimed message into another (a memo file into memo text) in its place in
        the queue; the claim is let go so the next claim sends it."""
        with self._write():
            self.db.execute(
                "UPDATE outbox SET kind = ?, payload = ?, attempts = 0, claimed_by = NULL, "
                "claimed_at = NULL, not_before = 0 WHERE id = ? AND claimed_by = ?",
                [kind, json.dumps(payload), item_id, owner],
            )

    def progress(self, item_id: int, owner: str, payload: dict[str, Any]) -> None:
        """Save how far a multi-part message got, so a retry sends only the rest."""
        with self._write():
            self.db.execute(
                "UPDATE outbox SET payload = ? WHERE id = ? AND claimed_by = ?",
                [json.dumps(payload), item_id, owner],
            )

    def retry_later(self, item_id: int, owner: str, error: str, not_before: float) -> None:
        """A send failed: let the claim go and wait until ``not_before`` (epoch seconds)."""
        with self._write():
            self.db.execute(
                "UPDATE outbox SET claimed_by = NULL, claimed_at = NULL, last_error = ?, "
                "not_before = ? WHERE id = ? AND claimed_by = ?",
                [error[:500], not_before, item_id, owner],
            )

    def give_up(self, item_id: int, owner: str, error: str) -> None:
        """A send that can never work (the channel is gone): stop trying, keep the record."""
        with self._write():
            self.db.execute(
                "UPDATE outbox SET gave_up_at = ?, last_error = ? WHERE id = ? AND claimed_by = ?",
                [precise_now(), error[:500], item_id, owner],
            )

    def outbox(self, interview_id: str | None = None) -> list[OutboxItem]:
        """Every kept message (of one interview), oldest first."""
        where, args = ("interview_id = ?", [interview_id]) if interview_id else (None, None)
        with self._lock:
            rows = list(self.db.table("outbox").rows_where(where, args, order_by="id"))
        return [_outbox(row) for row in rows]

    def outbox_due(self, owner: str) -> tuple[list[str], float | None]:
        """Interviews with a message ``owner`` may send now, and the earliest time (epoch
        seconds) one that waits for a retry becomes due."""
        now = time.time()
        with self._lock:
            rows = self.db.execute(
                "SELECT o.interview_id, o.claimed_by, o.claimed_at, o.not_before FROM outbox o "
                "WHERE o.delivered_at IS NULL AND o.gave_up_at IS NULL AND o.id = ("
                "SELECT MIN(p.id) FROM outbox p WHERE p.interview_id = o.interview_id "
                "AND p.delivered_at IS NULL AND p.gave_up_at IS NULL)"
            ).fetchall()
        ready: list[str] = []
        soonest: float | None = None
        for interview_id, claimed_by, claimed_at, not_before in rows:
            if not _claimable(claimed_by, claimed_at, owner, now):
                continue
            if not_before > now:
                soonest = not_before if soonest is None else min(soonest, not_before)
            else:
                ready.append(str(interview_id))
        return ready, soonest

    def prune_outbox(
        self, *, older_than: float = 3600.0, failed_older_than: float = 30 * 86400
    ) -> int:
        """Forget sent messages and handled inbox items older than ``older_than`` seconds
        (and abandoned messages after ``failed_older_than``). Returns rows deleted."""

        def cutoff(age: float) -> str:
            moment = datetime.fromtimestamp(time.time() - age, UTC)
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

        with self._write():
            # The newest sent message of each interview stays (its payload emptied): a retry
            # looks for its own copy in the thread only after that one.
            newest = "SELECT MAX(id) FROM outbox WHERE sent_ts IS NOT NULL GROUP BY interview_id"
            gone = self.db.execute(
                f"DELETE FROM outbox WHERE (delivered_at < ? AND id NOT IN ({newest})) "
                "OR gave_up_at < ?",
                [cutoff(older_than), cutoff(failed_older_than)],
            ).rowcount
            self.db.execute(
                "UPDATE outbox SET payload = '{}' WHERE delivered_at < ? AND payload != '{}'",
                [cutoff(older_than)],
            )
            gone += self.db.execute(
                "DELETE FROM inbox WHERE done_at < ?", [cutoff(older_than)]
            ).rowcount
        return int(gone)


def _memo(row: dict[str, Any]) -> MemoRecord:
    row = dict(row)
    row["assessment"] = json.loads(row["assessment"] or "{}")
    return MemoRecord.model_validate(row)


_THREAD_COLUMNS = (
    "interview_id",
    "channel",
    "thread_ts",
    "shown_key",
    "question",
    "question_ts",
    "holder",
    "held_at",
)
_INTERVIEW_COLUMNS = (
    "id",
    "use_case",
    "started_by",
    "started_at",
    "updated_at",
    "status",
    "origin",
    "memo_id",
)


def _outbox(row: dict[str, Any]) -> OutboxItem:
    return OutboxItem.model_validate({**row, "payload": json.loads(row["payload"] or "{}")})


def _inbox(row: dict[str, Any]) -> InboxItem:
    return InboxItem.model_validate({**row, "payload": json.loads(row["payload"] or "{}")})


def _thread(row: dict[str, Any]) -> ThreadRecord:
    question = json.loads(row["question"]) if row.get("question") else None
    return ThreadRecord.model_validate({**row, "question": question})
