"""What the database holds, and the retention policy that keeps it from growing without bound.

LangGraph's SqliteSaver stores a full checkpoint (the whole interview state) for every step
of every thread, plus the writes of each step: about 17 checkpoints for one finished
interview. A finished interview only needs its latest checkpoint and that checkpoint's own
writes (the review interrupt that a revision such as "change volume to 50k" resumes), so
:func:`compact_thread` and :func:`compact_finished` drop the rest. An open interview likewise
resumes from its latest checkpoint and the interrupt written against it: :func:`compact`
(``advisor db compact``) and the engine, every ``COMPACT_EVERY`` replies, compact those too.
:func:`prune` removes old finished interviews' checkpoints and answers (memos, the team's
decision records, stay unless asked) and old processed Slack event ids.
:func:`stats` reports sizes and counts.

Checkpoint rows are read through SqliteSaver's own API (``list``, ``delete_thread``); plain
SQL is used only for what it lacks (keep-latest deletion). Work is done in BEGIN IMMEDIATE
transactions of at most ``BATCH`` threads, each re-reading the statuses it acts on under
the write lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel

from knowledge.db import connect, db_path

log = logging.getLogger(__name__)

FINISHED = ("done", "cancelled")
ALL = ("open", *FINISHED)
# An open interview is compacted by the engine every this many replies (and by `db compact`).
COMPACT_EVERY = 50
EVENTS_KEEP = timedelta(days=7)  # Slack retries an event within minutes; a week is ample
# Threads per write transaction: a running `advisor serve` waits a fraction of a second for
# the write lock, never its whole busy timeout, however large the backlog.
BATCH = 50
# Tables that grow with interviews (bytes per interview counts these and their indexes).
INTERVIEW_TABLES = ("checkpoints", "writes", "interviews", "answers", "memos", "usage")
# A front end's own tables that grow with interviews, registered by the front end (the Slack
# app registers its inbox, outbox and thread map in bot/slack/tables.py), so graph/ names
# none: table -> the column naming a row's interview (its rows go with a pruned interview),
# or None when rows are not linked to one.
FRONT_END_TABLES: dict[str, str | None] = {}


def register_front_end_tables(tables: dict[str, str | None]) -> None:
    """Count these tables in :func:`stats` and prune their linked rows in :func:`prune`."""
    FRONT_END_TABLES.update(tables)


Lock = AbstractContextManager[object]
Target = SqliteSaver | sqlite3.Connection | str | os.PathLike[str] | None


class DbStats(BaseModel):
    """Sizes and counts for one database file."""

    path: str
    file_bytes: int
    wal_bytes: int
    total_bytes: int
    page_size: int
    page_count: int
    freelist_count: int
    tables: dict[str, int]  # rows per table
    table_bytes: dict[str, int]  # bytes of pages per table, its indexes included
    interviews_by_status: dict[str, int]
    interviews: int
    threads: int  # checkpoint threads (one per interview that got as far as its first step)
    checkpoints_per_interview_avg: float
    checkpoints_per_interview_max: int
    interview_bytes: int  # pages held by the tables in INTERVIEW_TABLES
    bytes_per_interview: int


class PruneResult(BaseModel):
    """What :func:`prune` removed (or, with ``dry_run``, would remove)."""

    cutoff: str
    events_cutoff: str
    dry_run: bool
    interviews: int  # finished interviews older than the cutoff that had something removed
    interviews_deleted: int  # their rows removed too (no memo, or include_memos)
    checkpoints: int
    writes: int
    answers: int
    memos: int
    usage: int
    front_end_rows: int  # rows of registered front-end tables linked to removed records
    events: int
    open_kept: int  # open interviews older than the cutoff: never pruned
    vacuumed: bool
    bytes_before: int
    bytes_after: int


class Compaction(BaseModel):
    threads: int
    checkpoints: int
    writes: int
    skipped: list[str] = []  # threads left whole because a DeltaChannel needs their history


# -- the checkpointer, inside our transaction ----------------------------------------------


class _Saver(SqliteSaver):
    """SqliteSaver's own queries run inside a transaction the caller holds.

    ``SqliteSaver.cursor()`` commits after every call, which would end a BEGIN IMMEDIATE
    half-way; this one leaves commit and rollback to the caller. SqliteSaver does not
    implement ``prune`` (the base class raises NotImplementedError), so it is done here to
    the base class's contract.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        self.is_setup = True  # the caller ran setup() before taking the transaction
        self.last = Compaction(threads=0, checkpoints=0, writes=0)

    @contextmanager
    def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
        cur = self.conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: each namespace keeps its newest checkpoint and that checkpoint's
        writes; ``delete``: the threads go entirely."""
        self.last = Compaction(threads=0, checkpoints=0, writes=0)
        for thread_id in thread_ids:
            checkpoints, writes = _count(self.conn, thread_id)
            if strategy == "delete":
                self.delete_thread(thread_id)
                self._tally(checkpoints, writes)
                continue
            if strategy != "keep_latest":
                raise ValueError(f"unknown prune strategy {strategy!r}")
            if checkpoints <= 1 and not self._stale_writes(thread_id):
                continue
            if not self._keep_latest(thread_id):
                self.last.skipped.append(thread_id)
                continue
            left = _count(self.conn, thread_id)
            self._tally(checkpoints - left[0], writes - left[1])

    def _tally(self, checkpoints: int, writes: int) -> None:
        self.last.threads += 1
        self.last.checkpoints += checkpoints
        self.last.writes += writes

    def _stale_writes(self, thread_id: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM writes w WHERE thread_id = ? AND NOT EXISTS (SELECT 1 FROM"
            " checkpoints c WHERE c.thread_id = w.thread_id AND c.checkpoint_ns ="
            " w.checkpoint_ns AND c.checkpoint_id = w.checkpoint_id) LIMIT 1",
            (thread_id,),
        ).fetchone()
        return row is not None

    def _keep_latest(self, thread_id: str) -> bool:
        namespaces = [
            ns
            for (ns,) in self.conn.execute(
                "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ?", (thread_id,)
            )
        ]
        keep: dict[str, str] = {}
        for ns in namespaces:
            config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
            found = [*self.list(config, limit=1)]  # run to the end, so its cursors close
            if not found:
                continue
            latest = found[0]
            # A DeltaChannel rebuilds its value from ancestors' writes until the last
            # snapshot: dropping them would silently empty it (see BaseCheckpointSaver.prune).
            if any(latest.metadata.get("counters_since_delta_snapshot") or {}):
                log.warning("thread %s uses a DeltaChannel; not compacted", thread_id)
                return False
            keep[ns] = latest.config["configurable"]["checkpoint_id"]
        for ns, checkpoint_id in keep.items():
            args = (thread_id, ns, checkpoint_id)
            where = "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id != ?"
            self.conn.execute(f"DELETE FROM checkpoints WHERE {where}", args)
            self.conn.execute(f"DELETE FROM writes WHERE {where}", args)
        # Writes whose checkpoint is gone (a namespace with none left) belong to nothing.
        self.conn.execute(
            "DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns NOT IN"
            " (SELECT checkpoint_ns FROM checkpoints WHERE thread_id = ?)",
            (thread_id, thread_id),
        )
        return True


def _count(conn: sqlite3.Connection, thread_id: str) -> tuple[int, int]:
    checkpoints = conn.execute(
        "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)
    ).fetchone()[0]
    writes = conn.execute("SELECT COUNT(*) FROM writes WHERE thread_id = ?", (thread_id,))
    return int(checkpoints), int(writes.fetchone()[0])


# -- connections and transactions --------------------------------------------------------


@contextmanager
def _connection(target: Target) -> Iterator[tuple[sqlite3.Connection, Lock]]:
    """A connection for ``target`` and the lock that serialises its users.

    An engine's SqliteSaver shares one connection across threads behind its own lock, so
    retention work on it holds that lock for the whole transaction.
    """
    if isinstance(target, SqliteSaver):
        yield target.conn, target.lock
    elif isinstance(target, sqlite3.Connection):
        yield target, nullcontext()
    else:
        conn = _open_existing(target)
        try:
            yield conn, nullcontext()
        finally:
            conn.close()


def _open_existing(path: str | os.PathLike[str] | None) -> sqlite3.Connection:
    file = db_path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no database at {file}")
    return connect(file)


@contextmanager
def _immediate(conn: sqlite3.Connection, *, commit: bool = True) -> Iterator[None]:
    """One BEGIN IMMEDIATE transaction: the write lock is taken before the first read, so
    what is read (statuses, latest checkpoints) cannot change before the deletes."""
    if conn.in_transaction:
        raise RuntimeError("retention needs a connection with no transaction open")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT" if commit else "ROLLBACK")


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows}


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f'PRAGMA table_info("{table}")'))


def _setup_checkpoints(conn: sqlite3.Connection, saver: SqliteSaver | None = None) -> bool:
    """Bring existing checkpoint tables up to the installed saver's schema (its setup()
    commits, so it runs before our transaction). False when there are none."""
    if "checkpoints" not in _tables(conn):
        return False
    (saver or SqliteSaver(conn)).setup()
    return True


def _finished(
    conn: sqlite3.Connection,
    interview_ids: Iterable[str] | None,
    statuses: Sequence[str] = FINISHED,
) -> list[str]:
    """Interviews with one of ``statuses`` (finished ones by default): all of them, or those
    among ``interview_ids``."""
    if "interviews" not in _tables(conn):
        return []
    marks = ", ".join("?" for _ in statuses)
    sql = f"SELECT id FROM interviews WHERE status IN ({marks})"
    if interview_ids is None:
        return sorted(row[0] for row in conn.execute(sql, tuple(statuses)))
    found: set[str] = set()
    for interview_id in set(interview_ids):
        found.update(row[0] for row in conn.execute(f"{sql} AND id = ?", (*statuses, interview_id)))
    return sorted(found)


# -- compaction ----------------------------------------------------------------------------


def _batches(items: Sequence[str]) -> Iterator[Sequence[str]]:
    size = BATCH  # read at call time, so a test can shrink it
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _compact(
    target: Target, interview_ids: Iterable[str] | None, statuses: Sequence[str] = FINISHED
) -> Compaction:
    engine = target if isinstance(target, SqliteSaver) else None
    total = Compaction(threads=0, checkpoints=0, writes=0)
    with _connection(target) as (conn, lock), lock:
        if not _setup_checkpoints(conn, engine):
            return total
        saver = _Saver(conn)
        candidates = _finished(conn, interview_ids, statuses)
        for batch in _batches(candidates):
            with _immediate(conn):  # statuses are read again under the write lock
                saver.prune(_finished(conn, batch, statuses), strategy="keep_latest")
            total.threads += saver.last.threads
            total.checkpoints += saver.last.checkpoints
            total.writes += saver.last.writes
            total.skipped += saver.last.skipped
        if total.checkpoints and not isinstance(target, SqliteSaver | sqlite3.Connection):
            _truncate_wal(conn)  # a maintenance run, not the engine's hook: tidy the WAL too
    return total


def compact_finished(
    db_path: str | os.PathLike[str] | None = None,
    *,
    interview_ids: Iterable[str] | None = None,
) -> int:
    """Keep only the latest checkpoint (and its writes) of every finished interview, or of
    the finished ones among ``interview_ids``. Open interviews are not touched. Returns the
    number of checkpoint rows removed."""
    return _compact(db_path, interview_ids).checkpoints


def compact(
    db_path: str | os.PathLike[str] | None = None,
    *,
    interview_ids: Iterable[str] | None = None,
) -> Compaction:
    """Keep only the latest checkpoint (and its writes) of every interview, open ones too, or
    of those among ``interview_ids``, with the counts of threads, checkpoints and writes.

    An open interview resumes from its latest checkpoint and the interrupt written against
    it, which are kept; the superseded checkpoints are its history, which nothing reads."""
    return _compact(db_path, interview_ids, ALL)


def compact_thread(target: Target, interview_id: str, *, open_too: bool = False) -> int:
    """Compact one interview if it is finished (or, with ``open_too``, still open): the
    engine calls this when an interview ends, and every ``COMPACT_EVERY`` replies while it
    runs, so an interview keeps a handful of checkpoints instead of one per step.

    ``target`` is the engine's SqliteSaver (its lock is held while this runs, because the
    saver's connection is shared across threads), a connection no other thread is using,
    or a database path. Returns the number of checkpoint rows removed. A busy or locked
    database never fails the caller's turn: the thread stays as it is (logged) and the next
    call, or ``advisor db compact``, catches up.
    """
    try:
        return _compact(target, [interview_id], ALL if open_too else FINISHED).checkpoints
    except sqlite3.OperationalError:
        log.warning("interview %s: compaction deferred", interview_id, exc_info=True)
        return 0


# -- prune ---------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _cutoff(now: datetime, age: timedelta) -> datetime:
    if age < timedelta(0):
        raise ValueError("the age to keep cannot be negative")
    try:
        return _utc(now) - age
    except OverflowError:  # older than year 1: nothing is that old
        return datetime.min.replace(tzinfo=UTC)


def prune(
    older_than: timedelta,
    *,
    now: datetime,
    dry_run: bool = False,
    include_memos: bool = False,
    events_older_than: timedelta = EVENTS_KEEP,
    vacuum: bool = False,
    db_path: str | os.PathLike[str] | None = None,
) -> PruneResult:
    """Apply the retention policy as of ``now``.

    Finished (done or cancelled) interviews last updated before ``now - older_than`` lose
    their checkpoints and answers. Their memos and interview rows stay (the team's decision
    record) unless ``include_memos``; an interview that never produced a memo goes entirely,
    usage rows with it. Processed event ids older than ``events_older_than`` go too. Open
    interviews are never pruned. ``dry_run`` counts the same deletions and rolls them back;
    ``vacuum`` then rebuilds the file so the freed pages go back to the disk.
    """
    cutoff = _cutoff(now, older_than)
    events_cutoff = _cutoff(now, events_older_than)
    conn = _open_existing(db_path)
    try:
        before = _file_bytes(conn)[2]
        _setup_checkpoints(conn)
        counts = _prune(conn, cutoff, events_cutoff, include_memos, dry_run)
        vacuumed = vacuum and not dry_run
        if vacuumed:
            _vacuum(conn)
        elif not dry_run:
            _truncate_wal(conn)
        after = _file_bytes(conn)[2]
    finally:
        conn.close()
    return PruneResult(
        cutoff=_iso(cutoff),
        events_cutoff=_iso(events_cutoff),
        dry_run=dry_run,
        vacuumed=vacuumed,
        bytes_before=before,
        bytes_after=after,
        **counts,
    )


_PRUNED = ("checkpoints", "writes", "answers", "memos", "usage", "front_end_rows")


def _old_finished(
    conn: sqlite3.Connection, cutoff: datetime, ids: Sequence[str] | None = None
) -> tuple[list[tuple[str, bool]], int]:
    """Finished interviews last updated before ``cutoff`` as (id, has a memo), and how many
    open ones are that old (never pruned). Dates that cannot be read are kept: pruning is
    never a guess."""
    tables = _tables(conn)
    if "interviews" not in tables:
        return [], 0
    memo = "EXISTS (SELECT 1 FROM memos m WHERE m.interview_id = i.id)"
    sql = f"SELECT id, status, updated_at, {memo if 'memos' in tables else '0'} FROM interviews i"
    if ids is None:
        rows = conn.execute(sql).fetchall()
    else:
        rows = [r for i in ids for r in conn.execute(f"{sql} WHERE id = ?", (i,)).fetchall()]
    old: list[tuple[str, bool]] = []
    open_kept = 0
    for interview_id, status, updated_at, has_memo in rows:
        when = _parse(updated_at)
        if when is None or when >= cutoff:
            continue
        if status in FINISHED:
            old.append((interview_id, bool(has_memo)))
        elif status == "open":
            open_kept += 1
    return old, open_kept


def _prune(
    conn: sqlite3.Connection,
    cutoff: datetime,
    events_cutoff: datetime,
    include_memos: bool,
    dry_run: bool,
) -> dict[str, int]:
    tables = _tables(conn)
    counts = dict.fromkeys(("interviews", "interviews_deleted", *_PRUNED, "events"), 0)
    candidates, counts["open_kept"] = _old_finished(conn, cutoff)
    saver = _Saver(conn) if "checkpoints" in tables else None
    linked = [
        (table, column)
        for table, column in FRONT_END_TABLES.items()
        if column is not None and _has_column(conn, table, column)
    ]

    def delete(table: str, where: str, args: Sequence[object]) -> int:
        if table not in tables:
            return 0
        return int(conn.execute(f"DELETE FROM {table} WHERE {where}", args).rowcount)

    # A dry run makes the same deletions and rolls each batch back, so its counts are exact.
    for batch in _batches([interview_id for interview_id, _ in candidates]):
        with _immediate(conn, commit=not dry_run):
            old, _ = _old_finished(conn, cutoff, batch)  # again, under the write lock
            for interview_id, memo in old:
                found = dict.fromkeys(_PRUNED, 0)
                if saver is not None:
                    saver.prune([interview_id], strategy="delete")
                    found["checkpoints"] = saver.last.checkpoints
                    found["writes"] = saver.last.writes
                found["answers"] = delete("answers", "interview_id = ?", (interview_id,))
                delete("answer_messages", "interview_id = ?", (interview_id,))  # their Slack ts
                gone = 0
                if include_memos:
                    found["memos"] = delete("memos", "interview_id = ?", (interview_id,))
                if include_memos or not memo:
                    found["usage"] = delete("usage", "interview_id = ?", (interview_id,))
                    for table, column in linked:
                        found["front_end_rows"] += delete(table, f"{column} = ?", (interview_id,))
                    gone = delete("interviews", "id = ?", (interview_id,))
                if gone or any(found.values()):  # pruned before, nothing new: not counted
                    counts["interviews"] += 1
                    counts["interviews_deleted"] += gone
                    for key, n in found.items():
                        counts[key] += n
    if "events" in tables:
        with _immediate(conn, commit=not dry_run):
            stale = [
                (event_id,)
                for event_id, at in conn.execute("SELECT event_id, at FROM events").fetchall()
                if (when := _parse(at)) is not None and when < events_cutoff
            ]
            if stale:
                done = conn.executemany("DELETE FROM events WHERE event_id = ?", stale)
                counts["events"] = done.rowcount
    return counts


# -- size on disk ---------------------------------------------------------------------------


def _truncate_wal(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the file and cut it to zero: deletions pass through the WAL, which
    otherwise keeps its high-water size. Gives up quietly while others are reading."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _vacuum(conn: sqlite3.Connection) -> None:
    conn.execute("VACUUM")  # rebuilds the file without its free pages (outside a transaction)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # and empties the WAL it went through


def vacuum(db_path: str | os.PathLike[str] | None = None) -> tuple[int, int]:
    """Give freed pages back to the disk. Returns (bytes before, bytes after), WAL included."""
    conn = _open_existing(db_path)
    try:
        before = _file_bytes(conn)[2]
        _vacuum(conn)
        return before, _file_bytes(conn)[2]
    finally:
        conn.close()


# -- stats ---------------------------------------------------------------------------------


def _file_bytes(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(main file, WAL, total) bytes of the database ``conn`` has open."""
    name = conn.execute("PRAGMA database_list").fetchone()[2]
    main = Path(name).stat().st_size if name and Path(name).exists() else 0
    wal_file = Path(f"{name}-wal")
    wal = wal_file.stat().st_size if name and wal_file.exists() else 0
    return main, wal, main + wal


def _shadow_tables(conn: sqlite3.Connection) -> set[str]:
    """FTS5 and other virtual tables' storage: counted under their virtual table."""
    rows = conn.execute("PRAGMA table_list").fetchall()
    return {row[1] for row in rows if row[2] == "shadow"}


def _bytes_by_table(conn: sqlite3.Connection) -> dict[str, int]:
    """Bytes of pages per table, its indexes folded in (dbstat; empty if not compiled in)."""
    owner = {
        name: table for name, table in conn.execute("SELECT name, tbl_name FROM sqlite_master")
    }
    try:
        rows = conn.execute("SELECT name, pgsize FROM dbstat WHERE aggregate = 1").fetchall()
    except sqlite3.OperationalError:
        return {}
    out: dict[str, int] = {}
    for name, size in rows:
        table = owner.get(name, name)
        out[table] = out.get(table, 0) + int(size)
    return out


def stats(db_path: str | os.PathLike[str] | None = None) -> DbStats:
    """Sizes and counts for the database (FileNotFoundError if there is none yet)."""
    conn = _open_existing(db_path)
    try:
        return _stats(conn)
    finally:
        conn.close()


def _stats(conn: sqlite3.Connection) -> DbStats:
    main, wal, total = _file_bytes(conn)
    tables = _tables(conn)
    hidden = _shadow_tables(conn)
    rows: dict[str, int] = {}
    for table in sorted(tables - hidden):
        if table.startswith("sqlite_"):
            continue
        rows[table] = int(conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
    by_status: dict[str, int] = {}
    if "interviews" in tables:
        for status, n in conn.execute("SELECT status, COUNT(*) FROM interviews GROUP BY status"):
            by_status[str(status)] = int(n)
    per_thread: list[int] = []
    if "checkpoints" in tables:
        per_thread = [
            int(n) for (n,) in conn.execute("SELECT COUNT(*) FROM checkpoints GROUP BY thread_id")
        ]
    sizes = _bytes_by_table(conn)
    for name in hidden:  # an FTS index's storage shows under the index's own name
        base = name.rsplit("_", 1)[0]
        if name in sizes and base in rows:
            sizes[base] = sizes.get(base, 0) + sizes.pop(name)
    sizes = {name: size for name, size in sizes.items() if name in rows}
    interviews = rows.get("interviews", 0)
    interview_bytes = sum(sizes.get(t, 0) for t in (*INTERVIEW_TABLES, *FRONT_END_TABLES))
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    return DbStats(
        path=str(conn.execute("PRAGMA database_list").fetchone()[2]),
        file_bytes=main,
        wal_bytes=wal,
        total_bytes=total,
        page_size=page_size,
        page_count=int(conn.execute("PRAGMA page_count").fetchone()[0]),
        freelist_count=int(conn.execute("PRAGMA freelist_count").fetchone()[0]),
        tables=rows,
        table_bytes=dict(sorted(sizes.items())),
        interviews_by_status=dict(sorted(by_status.items())),
        interviews=interviews,
        threads=len(per_thread),
        checkpoints_per_interview_avg=(
            round(sum(per_thread) / len(per_thread), 2) if per_thread else 0.0
        ),
        checkpoints_per_interview_max=max(per_thread, default=0),
        interview_bytes=interview_bytes,
        bytes_per_interview=interview_bytes // interviews if interviews else 0,
    )
