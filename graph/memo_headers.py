"""Memo headers read with the standard library alone.

`advisor memo list` is run often and should start about as fast as Python does, so its
read path needs neither pydantic nor sqlite-utils (which imports numpy when it is
installed). :class:`graph.store.Store` uses the same query.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

MEMO_STATUSES: tuple[str, ...] = ("proposed", "accepted", "rejected")


@dataclass(frozen=True)
class MemoHeader:
    """A memo without its markdown and assessment: what a listing needs."""

    id: str
    interview_id: str
    version: int
    status: str
    approach: str
    use_case: str
    created_at: str


_COLUMNS = "id, interview_id, version, status, approach, use_case, created_at"
_LATEST = (
    " WHERE version = (SELECT MAX(version) FROM memos AS m"
    " WHERE m.interview_id = memos.interview_id)"
)


def memo_headers(conn: sqlite3.Connection, *, latest_only: bool = True) -> list[MemoHeader]:
    """Memos newest first, header columns only (listing 10,000 memos stays fast); [] when
    the database has no memos table yet."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'memos'").fetchone() is None:
        return []
    where = _LATEST if latest_only else ""
    sql = f"SELECT {_COLUMNS} FROM memos{where} ORDER BY created_at DESC, version DESC"
    return [
        MemoHeader(str(a), str(b), int(c), str(d), str(e), str(f), str(g))
        for a, b, c, d, e, f, g in conn.execute(sql).fetchall()
    ]


__all__ = ["MEMO_STATUSES", "MemoHeader", "memo_headers"]
