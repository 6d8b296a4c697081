"""The most replies one interview takes, and what it says when it has had them.

A real interview needs a few dozen replies; a thread that keeps receiving messages (anyone can
post "asdf" or "what is RAG?" in it for ever) would otherwise grow the database and each
reply's cost without bound. Past the limit a reply is neither recorded nor run; an interview
still open may still be finished with ``memo`` or ended with ``cancel``, so nothing said so
far is lost.
"""

from __future__ import annotations

from graph.answers import parse_command
from graph.turns import Reply

MAX_REPLIES = 300  # replies the graph takes per interview (the answers table's seq)
_ENDINGS = ("memo", "cancel")  # still taken past the limit while the interview is open


def over_limit(taken: int | None, text: str, *, is_open: bool, memo_id: str | None) -> Reply | None:
    """The answer to a reply past the limit, or None when the reply is taken as usual.

    ``taken`` is the seq of the latest answer the graph took (None: an interview from before
    seqs were kept, never limited)."""
    if taken is None or taken < MAX_REPLIES:
        return None
    command = parse_command(text)
    if is_open and command is not None and command.kind in _ENDINGS:
        return None
    if memo_id is not None:
        saved = f"Everything answered before is saved, and memo {memo_id} stays as written."
    else:
        saved = "Everything answered before is saved."
    finish = " Reply 'memo' to write the memo from what I have." if is_open else ""
    return Reply(
        text=f"This interview has reached its limit of {MAX_REPLIES} replies, so this reply "
        f"was not recorded. {saved}{finish} To go on, start a new interview "
        "(in Slack: /advisor <use case> in a channel; in a terminal: advisor chat)."
    )
