"""The Slack front end's own tables, kept in the store's database and transactions.

``inbox``: what arrived (a reply, a click, a start), kept before it is handled, so a crash
between "received" and "handled" loses nothing. ``outbox``: the messages to send, in order
per interview, written with the step that produced them and retried until Slack takes them.
``threads``: where an interview's thread is, what it last showed there (``shown_key``), the
question message whose buttons are live, and which process is working on it (the hold).

Any number of processes may share one database file. Work is claimed with a compare-and-set
inside ``BEGIN IMMEDIATE``; a claim whose process died, or that is older than the lease, is
taken over. The interviews, answers and memos themselves are the store's (graph/store.py).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from graph.retention import register_front_end_tables
from graph.store import Busy, Store

# -- who is working: claims on inbox, outbox and threads name their owner ---------------

CLAIM_LEASE = 600.0  # seconds: a claim older than this is taken over even if its owner lives
_live: set[str] = set()  # owners created in this process and not yet retired
_live_lock = threading.Lock()

Item = tuple[str, dict[str, Any]]  # an outbox item to queue: its kind and payload


# graph/retention.py counts these tables in `advisor db stats` and removes a pruned
# interview's thread link with it; it names none of them itself.
register_front_end_tables({"inbox": None, "outbox": None, "threads": "interview_id"})


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


def precise_now() -> str:
    """Now, as an ISO 8601 UTC timestamp to the microsecond (always with the fraction, so
    the strings sort in time order)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def is_busy(error: BaseException) -> bool:
    """SQLite could not get its lock within the busy timeout (or a thread stayed held)."""
    if isinstance(error, Busy):
        return True
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


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
    """Something a person did (a reply, a click, a start) kept before it is handled."""

    id: int
    interview_id: str
    kind: str
    payload: dict[str, Any]
    event_id: str | None = None
    received_at: str
    claimed_by: str | None = None
    claimed_at: float | None = None
    order_ts: str | None = None  # Slack's ts of the message or click: the thread's order
    started_key: str | None = None  # what the interview showed when handling began
    done_at: str | None = None
    attempts: int = 0
    last_error: str | None = None


class ThreadRecord(BaseModel):
    """One interview's thread in Slack."""

    interview_id: str
    channel: str
    thread_ts: str
    shown_key: str | None = None  # what the thread was last given to show (queued or sent)
    question: dict[str, Any] | None = None  # the question message whose buttons are live
    question_ts: str | None = None
    holder: str | None = None  # the process working on this interview right now
    held_at: float | None = None


class SlackTables:
    """The inbox, outbox and threads tables, in ``store``'s database and transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.write() as db:
            _create_tables(db)

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
        order_ts: str | None = None,
    ) -> InboxItem | None:
        """Keep an incoming reply, click or start, claimed by ``owner``, in one transaction
        with its event id (None: a retry of an event already kept) and the thread's row
        (``thread``: channel and thread id). ``order_ts``: Slack's ts of the message or
        click (else now, in Slack's format), the order the thread's items are handled in."""
        with self.store.write() as db:
            if event_id is not None and not self.store.note_event(event_id):
                return None
            if thread is not None:
                db.execute(
                    "INSERT OR IGNORE INTO threads (interview_id, channel, thread_ts) "
                    "VALUES (?, ?, ?)",
                    [interview_id, *thread],
                )
            cursor = db.execute(
                "INSERT INTO inbox (interview_id, kind, payload, event_id, received_at, "
                "claimed_by, claimed_at, attempts, order_ts) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
                [
                    interview_id,
                    kind,
                    json.dumps(payload),
                    event_id,
                    precise_now(),
                    owner,
                    time.time(),
                    order_ts or f"{time.time():.6f}",
                ],
            )
            item_id = int(cursor.lastrowid or 0)
        found = self.inbox_item(item_id)
        assert found is not None
        return found

    def inbox_item(self, item_id: int) -> InboxItem | None:
        with self.store.read() as db:
            rows = list(db.table("inbox").rows_where("id = ?", [item_id]))
        return _inbox(rows[0]) if rows else None

    def inbox(self, *, waiting: bool = False) -> list[InboxItem]:
        """Every inbox item (``waiting``: only those not handled yet), oldest first."""
        where = "done_at IS NULL" if waiting else None
        with self.store.read() as db:
            rows = list(db.table("inbox").rows_where(where, order_by="id"))
        return [_inbox(row) for row in rows]

    def next_inbox(self, interview_id: str) -> InboxItem | None:
        """The thread's unhandled item that came first in Slack (lowest ``order_ts``),
        whichever process kept it: the caller holds the thread, so it is the one to run."""
        with self.store.read() as db:
            rows = list(
                db.table("inbox").rows_where(
                    "interview_id = ? AND done_at IS NULL",
                    [interview_id],
                    order_by="order_ts, id",
                    limit=1,
                )
            )
        return _inbox(rows[0]) if rows else None

    def handled_later(self, interview_id: str, order_ts: str) -> bool:
        """Was a reply that came after ``order_ts`` in Slack handled already (this one
        reached us late: Slack redelivered it, or it raced a later one)?"""
        with self.store.read() as db:
            row = db.execute(
                "SELECT 1 FROM inbox WHERE interview_id = ? AND done_at IS NOT NULL "
                "AND kind = 'reply' AND order_ts > ? LIMIT 1",
                [interview_id, order_ts],
            ).fetchone()
        return row is not None

    def question_before(self, interview_id: str, ts: str) -> tuple[str, str] | None:
        """The question the thread showed at Slack's ``ts``: the key and message ts of the
        newest question message sent before it (None: none is known, or it was pruned)."""
        with self.store.read() as db:
            rows = db.execute(
                "SELECT payload, sent_ts FROM outbox WHERE interview_id = ? AND kind = 'post' "
                "AND sent_ts IS NOT NULL AND sent_ts < ? ORDER BY id DESC LIMIT 50",
                [interview_id, ts],
            ).fetchall()
        for payload, sent_ts in rows:
            key = json.loads(payload or "{}").get("key")
            if key:
                return str(key), str(sent_ts)
        return None

    def repliers_between(self, interview_id: str, after: str, before: str) -> set[str]:
        """Who sent the replies and clicks handled in the thread between Slack's ``after``
        and ``before``."""
        with self.store.read() as db:
            rows = db.execute(
                "SELECT payload FROM inbox WHERE interview_id = ? AND done_at IS NOT NULL "
                "AND kind != 'start' AND order_ts > ? AND order_ts < ?",
                [interview_id, after, before],
            ).fetchall()
        return {str(json.loads(row[0] or "{}").get("user") or "") for row in rows}

    def start_inbox(self, item_id: int, key: str | None) -> None:
        """Handling begins; ``key`` (what the interview showed) is kept from the first try."""
        with self.store.write() as db:
            db.execute(
                "UPDATE inbox SET started_key = COALESCE(started_key, ?), "
                "attempts = attempts + 1 WHERE id = ?",
                [key, item_id],
            )

    def finish_inbox(self, item_id: int, *, error: str | None = None) -> None:
        with self.store.write() as db:
            db.execute(
                "UPDATE inbox SET done_at = ?, last_error = ? WHERE id = ? AND done_at IS NULL",
                [precise_now(), error, item_id],
            )

    def adopt_inbox(self, owner: str) -> list[InboxItem]:
        """Unhandled items whose process died (or that nobody holds), now held by ``owner``."""
        now = time.time()
        with self.store.write() as db:
            rows = list(db.table("inbox").rows_where("done_at IS NULL", order_by="id"))
            taken = []
            for row in rows:
                if not _claimable(row["claimed_by"], row["claimed_at"], owner, now):
                    continue
                cursor = db.execute(
                    "UPDATE inbox SET claimed_by = ?, claimed_at = ? "
                    "WHERE id = ? AND done_at IS NULL AND claimed_by IS ?",
                    [owner, now, row["id"], row["claimed_by"]],
                )
                if cursor.rowcount == 1:
                    taken.append(_inbox({**row, "claimed_by": owner, "claimed_at": now}))
        return taken

    # threads: where an interview is shown, and who works on it --------------------------

    def thread(self, interview_id: str) -> ThreadRecord | None:
        with self.store.read() as db:
            rows = list(db.table("threads").rows_where("interview_id = ?", [interview_id]))
        return _thread(rows[0]) if rows else None

    def threads(self, *, prefix: str | None = None) -> list[ThreadRecord]:
        """Every thread (with ``prefix``: of one team or channel), oldest first."""
        where = "substr(interview_id, 1, ?) = ?" if prefix else None
        args = [len(prefix), prefix] if prefix else None
        with self.store.read() as db:
            rows = list(db.table("threads").rows_where(where, args, order_by="rowid"))
        return [_thread(row) for row in rows]

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
            with self.store.write() as db:
                db.execute(
                    "INSERT OR IGNORE INTO threads (interview_id, channel, thread_ts) "
                    "VALUES (?, ?, ?)",
                    [interview_id, *thread],
                )
                holder, held_at = db.execute(
                    "SELECT holder, held_at FROM threads WHERE interview_id = ?", [interview_id]
                ).fetchone()
                if _claimable(holder, held_at, owner, now, reentrant=True):
                    db.execute(
                        "UPDATE threads SET holder = ?, held_at = ? WHERE interview_id = ?",
                        [owner, now, interview_id],
                    )
                    return
            if time.monotonic() + pause > deadline:
                raise Busy(interview_id)
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def release_thread(self, interview_id: str, owner: str) -> None:
        with self.store.write() as db:
            db.execute(
                "UPDATE threads SET holder = NULL, held_at = NULL WHERE interview_id = ? "
                "AND holder = ?",
                [interview_id, owner],
            )

    # outbox: messages to send, in order, per interview ----------------------------------

    def enqueue(
        self,
        interview_id: str,
        items: Sequence[Item],
        *,
        shown_key: str | None = None,
        forget_question: bool = False,
        finish_inbox: int | None = None,
    ) -> list[int]:
        """Queue messages for one interview, all or nothing, together with what the thread
        now shows (``shown_key``), the question whose buttons were retired
        (``forget_question``) and the inbox item this handled."""
        with self.store.write() as db:
            ids = _add(db, interview_id, items)
            if shown_key is not None:
                db.execute(
                    "UPDATE threads SET shown_key = ? WHERE interview_id = ?",
                    [shown_key, interview_id],
                )
            if forget_question:
                db.execute(
                    "UPDATE threads SET question = NULL, question_ts = NULL WHERE interview_id = ?",
                    [interview_id],
                )
            if finish_inbox is not None:
                db.execute(
                    "UPDATE inbox SET done_at = ? WHERE id = ? AND done_at IS NULL",
                    [precise_now(), finish_inbox],
                )
        return ids

    def claim_next(self, interview_id: str, owner: str) -> OutboxItem | None:
        """The interview's oldest unsent message, now claimed by ``owner``; None when there
        is none, it waits for a retry, or another live process is sending it."""
        now = time.time()
        with self.store.write() as db:
            rows = list(
                db.table("outbox").rows_where(
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
            cursor = db.execute(
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
        then: Sequence[Item] = (),
        question: tuple[str, dict[str, Any], str] | None = None,
        sent_ts: str | None = None,
    ) -> bool:
        """Mark a claimed message sent, queue what follows from it (``then``), and when it
        was the question the thread is on (``question``: its shown key, the question and its
        message id) remember that message. False if the claim had been taken over."""
        with self.store.write() as db:
            cursor = db.execute(
                "UPDATE outbox SET delivered_at = ?, last_error = NULL, sent_ts = ? "
                "WHERE id = ? AND claimed_by = ? AND delivered_at IS NULL",
                [precise_now(), sent_ts, item_id, owner],
            )
            if cursor.rowcount != 1:
                return False
            interview_id = db.execute(
                "SELECT interview_id FROM outbox WHERE id = ?", [item_id]
            ).fetchone()[0]
            if question is not None:
                key, body, ts = question
                db.execute(
                    "UPDATE threads SET question = ?, question_ts = ? "
                    "WHERE interview_id = ? AND shown_key = ?",
                    [json.dumps(body), ts, interview_id, key],
                )
            _add(db, interview_id, then)
        return True

    def last_sent_ts(self, interview_id: str, before: int) -> str | None:
        """The Slack id of the newest message sent for this interview before item ``before``."""
        with self.store.read() as db:
            row = db.execute(
                "SELECT sent_ts FROM outbox WHERE interview_id = ? AND id < ? "
                "AND sent_ts IS NOT NULL ORDER BY id DESC LIMIT 1",
                [interview_id, before],
            ).fetchone()
        return str(row[0]) if row else None

    def rewrite(self, item_id: int, owner: str, kind: str, payload: dict[str, Any]) -> None:
        """Turn a claimed message into another (a memo file into memo text) in its place in
        the queue; the claim is let go so the next claim sends it."""
        with self.store.write() as db:
            db.execute(
                "UPDATE outbox SET kind = ?, payload = ?, attempts = 0, claimed_by = NULL, "
                "claimed_at = NULL, not_before = 0 WHERE id = ? AND claimed_by = ?",
                [kind, json.dumps(payload), item_id, owner],
            )

    def progress(self, item_id: int, owner: str, payload: dict[str, Any]) -> None:
        """Save how far a multi-part message got, so a retry sends only the rest."""
        with self.store.write() as db:
            db.execute(
                "UPDATE outbox SET payload = ? WHERE id = ? AND claimed_by = ?",
                [json.dumps(payload), item_id, owner],
            )

    def retry_later(self, item_id: int, owner: str, error: str, not_before: float) -> None:
        """A send failed: let the claim go and wait until ``not_before`` (epoch seconds)."""
        with self.store.write() as db:
            db.execute(
                "UPDATE outbox SET claimed_by = NULL, claimed_at = NULL, last_error = ?, "
                "not_before = ? WHERE id = ? AND claimed_by = ?",
                [error[:500], not_before, item_id, owner],
            )

    def give_up(self, item_id: int, owner: str, error: str) -> None:
        """A send that can never work (the channel is gone): stop trying, keep the record."""
        with self.store.write() as db:
            db.execute(
                "UPDATE outbox SET gave_up_at = ?, last_error = ? WHERE id = ? AND claimed_by = ?",
                [precise_now(), error[:500], item_id, owner],
            )

    def outbox(self, interview_id: str | None = None) -> list[OutboxItem]:
        """Every kept message (of one interview), oldest first."""
        where, args = ("interview_id = ?", [interview_id]) if interview_id else (None, None)
        with self.store.read() as db:
            rows = list(db.table("outbox").rows_where(where, args, order_by="id"))
        return [_outbox(row) for row in rows]

    def outbox_due(self, owner: str) -> tuple[list[str], float | None]:
        """Interviews with a message ``owner`` may send now, and the earliest time (epoch
        seconds) one that waits for a retry becomes due."""
        now = time.time()
        with self.store.read() as db:
            rows = db.execute(
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

    def prune(self, *, older_than: float = 3600.0, failed_older_than: float = 30 * 86400) -> int:
        """Forget sent messages and handled inbox items older than ``older_than`` seconds
        (and abandoned messages after ``failed_older_than``). Returns rows deleted."""

        def cutoff(age: float) -> str:
            moment = datetime.fromtimestamp(time.time() - age, UTC)
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

        with self.store.write() as db:
            # The newest sent message of each interview stays (its payload emptied): a retry
            # looks for its own copy in the thread only after that one.
            newest = "SELECT MAX(id) FROM outbox WHERE sent_ts IS NOT NULL GROUP BY interview_id"
            gone = db.execute(
                f"DELETE FROM outbox WHERE (delivered_at < ? AND id NOT IN ({newest})) "
                "OR gave_up_at < ?",
                [cutoff(older_than), cutoff(failed_older_than)],
            ).rowcount
            db.execute(
                "UPDATE outbox SET payload = '{}' WHERE delivered_at < ? AND payload != '{}'",
                [cutoff(older_than)],
            )
            gone += db.execute("DELETE FROM inbox WHERE done_at < ?", [cutoff(older_than)]).rowcount
        return int(gone)

    # answer messages: a Slack message ts -> the engine's answer seq -----------------

    def note_answer(self, interview_id: str, ts: str, seq: int) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO answer_messages (interview_id, ts, seq) VALUES (?, ?, ?)",
                [interview_id, ts, seq],
            )

    def answer_of(self, interview_id: str, ts: str) -> int | None:
        """The seq of the answer the message ``ts`` gave, or None (it gave none)."""
        with self.store.read() as db:
            row = db.execute(
                "SELECT seq FROM answer_messages WHERE interview_id = ? AND ts = ?",
                [interview_id, ts],
            ).fetchone()
        return int(row[0]) if row else None


def _create_tables(db: Any) -> None:
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
            "order_ts": str,
        },
        pk="id",
        not_null={"interview_id", "kind", "payload", "received_at"},
        defaults={"attempts": 0},
        if_not_exists=True,
    )
    if "order_ts" not in db.table("inbox").columns_dict:  # a database from before the order
        db.execute("ALTER TABLE inbox ADD COLUMN order_ts TEXT")
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
    # Which Slack message was which answer: an edit or deletion names only the message's ts
    # (the engine's answers know nothing of Slack).
    db.table("answer_messages").create(
        {"interview_id": str, "ts": str, "seq": int},
        pk=("interview_id", "ts"),
        if_not_exists=True,
    )
    # The work still to do is a small slice of each table: partial indexes find it.
    db.execute(
        "CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox (interview_id, id) "
        "WHERE delivered_at IS NULL AND gave_up_at IS NULL"
    )
    db.execute("CREATE INDEX IF NOT EXISTS inbox_waiting ON inbox (id) WHERE done_at IS NULL")
    db.execute(
        "CREATE INDEX IF NOT EXISTS inbox_thread_order ON inbox (interview_id, order_ts, id)"
    )


def _add(db: Any, interview_id: str, items: Iterable[Item]) -> list[int]:
    ids = []
    now = precise_now()
    for kind, payload in items:
        cursor = db.execute(
            "INSERT INTO outbox (interview_id, kind, payload, created_at, attempts, "
            "not_before) VALUES (?, ?, ?, ?, 0, 0)",
            [interview_id, kind, json.dumps(payload), now],
        )
        ids.append(int(cursor.lastrowid or 0))
    return ids


def _outbox(row: dict[str, Any]) -> OutboxItem:
    return OutboxItem.model_validate({**row, "payload": json.loads(row["payload"] or "{}")})


def _inbox(row: dict[str, Any]) -> InboxItem:
    return InboxItem.model_validate({**row, "payload": json.loads(row["payload"] or "{}")})


def _thread(row: dict[str, Any]) -> ThreadRecord:
    question = json.loads(row["question"]) if row.get("question") else None
    return ThreadRecord.model_validate({**row, "question": question})
