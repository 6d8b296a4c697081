"""A memo's status (proposed, accepted, rejected), set the same way from every front end:
the store's row and the status line of the memo's markdown change together, so an export
says what the buttons and ``advisor memo accept`` said."""

from __future__ import annotations

from graph.memo import restatus
from graph.store import MemoRecord, MemoStatus, Store, utc_now


def set_status(
    store: Store, memo_id: str, status: MemoStatus, by: str, *, at: str | None = None
) -> MemoRecord:
    """Decide a memo: ValueError for a status the store does not know, KeyError for an
    unknown memo."""
    memo = store.get_memo(memo_id)
    if memo is None:
        raise KeyError(memo_id)
    now = at or utc_now()
    markdown = restatus(memo.markdown, status, by=by, date=now[:10])
    return store.set_memo_status(memo.id, status, by, markdown=markdown, at=now)
